//! Provider cost returns: providers submit their actual costs line by line (their own homes
//! only); the council sees, per service and line, how many, the quartiles and the median,
//! with outliers flagged. A provider sees its own returns and never another's figures.

use caremarket_core::stats::{is_outlier, quartiles};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

use super::{Model, service_label};
use crate::audit::{self, Actor};
use crate::web::forms::FormErrors;
use crate::{AppError, AppState, Result, args};

/// One return as stored.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CostReturn {
    pub id: i64,
    pub provider_id: String,
    /// The care home ("" for a home care service)
    pub location_id: String,
    pub home: String,
    pub service: String,
    /// The financial year by its first year: 2025 is 2025/26
    pub year: i64,
    /// Line key -> pence (per resident per week, or per contact hour)
    pub lines: BTreeMap<String, i64>,
    pub total_pence: i64,
    pub submitted_by: String,
    pub submitted_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct ReturnDb {
    id: i64,
    provider_id: String,
    location_id: String,
    home: Option<String>,
    service: String,
    year: i64,
    lines: String,
    total_pence: i64,
    submitted_by: String,
    submitted_at: DateTime<Utc>,
}

impl From<ReturnDb> for CostReturn {
    fn from(r: ReturnDb) -> Self {
        CostReturn {
            id: r.id,
            provider_id: r.provider_id,
            location_id: r.location_id,
            home: r.home.unwrap_or_else(|| "Home care service".into()),
            service: r.service,
            year: r.year,
            lines: serde_json::from_str(&r.lines).unwrap_or_default(),
            total_pence: r.total_pence,
            submitted_by: r.submitted_by,
            submitted_at: r.submitted_at,
        }
    }
}

const SELECT: &str = "SELECT r.id, r.provider_id, r.location_id, l.name AS home, r.service, r.year, r.lines, r.total_pence, r.submitted_by, r.submitted_at \
     FROM cost_returns r LEFT JOIN cqc_locations l ON l.location_id = r.location_id AND r.location_id <> ''";

/// Returns, all of them (provider None: the council) or one provider's.
pub async fn list(state: &AppState, provider: Option<&str>) -> Result<Vec<CostReturn>> {
    let rows: Vec<ReturnDb> =
        match provider {
            Some(p) => state
                .db
                .q()
                .fetch_all(
                    &format!(
                        "{SELECT} WHERE r.provider_id = $1 ORDER BY r.year DESC, r.service, home"
                    ),
                    args![p],
                )
                .await?,
            None => {
                state
                    .db
                    .q()
                    .fetch_all(
                        &format!("{SELECT} ORDER BY r.year DESC, r.service, r.provider_id, home"),
                        args![],
                    )
                    .await?
            }
        };
    Ok(rows.into_iter().map(CostReturn::from).collect())
}

/// The lines a return for this service asks for: (key, label), as the model has them.
pub fn lines_for(service: &str) -> Option<Vec<(&'static str, &'static str)>> {
    Some(
        Model::default_for(service)?
            .lines()
            .into_iter()
            .map(|l| (l.key, l.label))
            .collect(),
    )
}

/// What a provider's form gave.
#[derive(Debug, Clone, Default)]
pub struct ReturnInput {
    pub location_id: String,
    pub service: String,
    pub year: String,
    /// line key -> typed pounds
    pub lines: Vec<(String, String)>,
}

/// Saves (or replaces) a provider's return; only for its own homes.
pub async fn submit(
    state: &AppState,
    actor: &Actor,
    provider_id: &str,
    i: &ReturnInput,
) -> Result<std::result::Result<i64, FormErrors>> {
    let mut e = FormErrors::default();
    let Some(lines) = lines_for(&i.service) else {
        e.add("service", "Select the service the costs are for");
        return Ok(Err(e));
    };
    let home_care = i.service == "home_care";
    let location = if home_care {
        String::new()
    } else {
        i.location_id.trim().to_string()
    };
    if !home_care {
        let homes = crate::cqc::queries::provider_care_homes(&state.db, provider_id).await?;
        if !homes.iter().any(|(id, _)| *id == location) {
            // Someone else's home, or none: the same answer, so nothing is revealed.
            e.add("location_id", "Select one of your care homes");
        }
    }
    let this_year = chrono::Datelike::year(&state.clock.now().date_naive());
    let year = match i.year.trim().split('/').next().unwrap_or("").parse::<i64>() {
        Ok(y) if (2015..=this_year as i64 + 1).contains(&y) => y,
        _ => {
            e.add(
                "year",
                format!(
                    "Enter the financial year the costs are for, like {this_year}/{}",
                    (this_year + 1) % 100
                ),
            );
            0
        }
    };
    let mut amounts = BTreeMap::new();
    for (key, label) in &lines {
        let typed = i
            .lines
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default();
        if typed.is_empty() {
            e.add(
                &format!("line_{key}"),
                format!("Enter {label}: 0 if you have none"),
            );
            continue;
        }
        match caremarket_core::money::parse_pounds(&typed) {
            Ok(p) if p <= 10_000_000 => {
                amounts.insert(key.to_string(), p);
            }
            Ok(_) => e.add(
                &format!("line_{key}"),
                format!("{label}: that is more than £100,000"),
            ),
            Err(why) => e.add(&format!("line_{key}"), format!("{label}: {why}")),
        }
    }
    if !e.is_empty() {
        return Ok(Err(e));
    }
    let total: i64 = amounts.values().sum();
    let json = serde_json::to_string(&amounts).map_err(|e| AppError::Internal(e.into()))?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let id: i64 = tx
        .scalar(
            "INSERT INTO cost_returns (provider_id, location_id, service, year, lines, total_pence, submitted_by, submitted_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (provider_id, location_id, service, year) DO UPDATE SET lines = excluded.lines, total_pence = excluded.total_pence, submitted_by = excluded.submitted_by, submitted_at = excluded.submitted_at RETURNING id",
            args![provider_id, &location, &i.service, year, &json, total, &actor.name, now],
        )
        .await?;
    audit::entry("cost_return.submit", "cost_return", id.to_string())
        .after(serde_json::json!({"provider_id": provider_id, "location_id": location, "service": i.service, "year": year, "total_pence": total}))
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    Ok(Ok(id))
}

/// One line of one service in the analysis.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct LineSummary {
    pub service: String,
    pub key: String,
    pub label: String,
    pub count: usize,
    pub lower_quartile_pence: i64,
    pub median_pence: i64,
    pub upper_quartile_pence: i64,
    /// Return ids whose figure lies outside Tukey's fences (Q1 − 1.5 IQR, Q3 + 1.5 IQR)
    pub outliers: Vec<i64>,
}

/// Per service and line (and the total), over one financial year's returns.
pub fn summarise(returns: &[CostReturn], year: i64) -> Vec<LineSummary> {
    let mut out = Vec::new();
    for (service, _) in super::SERVICES {
        let these: Vec<&CostReturn> = returns
            .iter()
            .filter(|r| r.service == service && r.year == year)
            .collect();
        if these.is_empty() {
            continue;
        }
        let mut keys: Vec<(String, String)> = lines_for(service)
            .unwrap_or_default()
            .into_iter()
            .map(|(k, l)| (k.to_string(), l.to_string()))
            .collect();
        keys.push(("total".into(), "Total".into()));
        for (key, label) in keys {
            let vals: Vec<(i64, i64)> = these
                .iter()
                .filter_map(|r| {
                    let v = if key == "total" {
                        Some(r.total_pence)
                    } else {
                        r.lines.get(&key).copied()
                    };
                    v.map(|v| (r.id, v))
                })
                .collect();
            let just: Vec<i64> = vals.iter().map(|(_, v)| *v).collect();
            let Some(q) = quartiles(&just) else { continue };
            out.push(LineSummary {
                service: service.into(),
                key,
                label,
                count: vals.len(),
                lower_quartile_pence: q.0,
                median_pence: q.1,
                upper_quartile_pence: q.2,
                outliers: vals
                    .iter()
                    .filter(|(_, v)| is_outlier(*v, q))
                    .map(|(id, _)| *id)
                    .collect(),
            });
        }
    }
    out
}

/// The analysis as a table for CSV/XLSX.
pub fn summary_table(s: &[LineSummary], year: i64) -> crate::export::Table {
    use crate::export::Value;
    crate::export::Table {
        title: format!("Provider cost returns {year}/{:02}", (year + 1) % 100),
        headers: [
            "Service",
            "Line",
            "Returns",
            "Lower quartile (£)",
            "Median (£)",
            "Upper quartile (£)",
            "Outliers",
        ]
        .map(String::from)
        .to_vec(),
        rows: s
            .iter()
            .map(|l| {
                let p = Value::Pence;
                vec![
                    Value::Text(service_label(&l.service).unwrap_or(&l.service).to_string()),
                    Value::Text(l.label.clone()),
                    Value::Int(l.count as i64),
                    p(l.lower_quartile_pence),
                    p(l.median_pence),
                    p(l.upper_quartile_pence),
                    Value::Int(l.outliers.len() as i64),
                ]
            })
            .collect(),
    }
}
