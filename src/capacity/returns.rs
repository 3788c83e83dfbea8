//! Provider returns: returns the admin defines (fields, frequency, which providers), by
//! default a monthly workforce return; providers fill them in; due and overdue are tracked;
//! the council sees each provider's and the market's trend. The workforce return feeds the
//! risk tool (staff turnover, agency use).

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use std::collections::BTreeMap;

use crate::audit::{self, Actor};
use crate::web::forms::FormErrors;
use crate::{AppError, AppState, Result, args};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Field {
    pub key: String,
    pub label: String,
    /// number, percent or yes_no
    pub kind: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct DefinitionDb {
    id: i64,
    name: String,
    frequency: String,
    fields: String,
    providers: String,
    due_days: i64,
    active: bool,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Definition {
    pub id: i64,
    pub name: String,
    pub frequency: String,
    pub fields: Vec<Field>,
    /// Empty: every provider with care homes
    pub providers: Vec<String>,
    pub due_days: i64,
    pub active: bool,
}

impl From<DefinitionDb> for Definition {
    fn from(d: DefinitionDb) -> Self {
        Definition {
            id: d.id,
            name: d.name,
            frequency: d.frequency,
            fields: serde_json::from_str(&d.fields).unwrap_or_default(),
            providers: d
                .providers
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect(),
            due_days: d.due_days,
            active: d.active,
        }
    }
}

/// The workforce return (issue 7's default): what the risk tool reads.
pub fn workforce_fields() -> Vec<Field> {
    [
        ("staff_headcount", "Staff headcount", "number"),
        ("leavers", "Leavers in the period", "number"),
        ("vacancies", "Staff vacancies", "number"),
        ("agency_hours", "Agency hours in the period", "number"),
        (
            "training_pct",
            "Mandatory training completed (%)",
            "percent",
        ),
        ("manager_in_post", "Registered manager in post", "yes_no"),
    ]
    .iter()
    .map(|(k, l, t)| Field {
        key: k.to_string(),
        label: l.to_string(),
        kind: t.to_string(),
    })
    .collect()
}

/// The default workforce return, put in place once (a settings flag, like the themes).
pub async fn seed_defaults(db: &crate::db::Db) -> anyhow::Result<()> {
    if crate::admin::settings::seeded(db, "returns_seeded").await? {
        return Ok(());
    }
    let mut tx = db.begin().await?;
    tx.execute(
        "INSERT INTO return_definitions (name, frequency, fields, providers, due_days, active, created_by, created_at) VALUES ($1, $2, $3, '', 10, $4, 'caremarket', $5) ON CONFLICT (name) DO NOTHING",
        args!["Workforce return", "monthly", serde_json::to_string(&workforce_fields())?, true, crate::clock::Clock::now(&crate::clock::SystemClock)],
    )
    .await?;
    crate::admin::settings::mark_seeded(&mut tx, "returns_seeded").await?;
    tx.commit().await?;
    Ok(())
}

pub async fn definitions(state: &AppState) -> Result<Vec<Definition>> {
    let rows: Vec<DefinitionDb> = state
        .db
        .q()
        .fetch_all(
            "SELECT id, name, frequency, fields, providers, due_days, active FROM return_definitions ORDER BY id",
            args![],
        )
        .await?;
    Ok(rows.into_iter().map(Definition::from).collect())
}

pub async fn definition(state: &AppState, id: i64) -> Result<Definition> {
    definitions(state)
        .await?
        .into_iter()
        .find(|d| d.id == id)
        .ok_or(AppError::NotFound)
}

/// Reads fields written one a line as "key: Label (number|percent|yes/no)".
pub fn parse_fields(text: &str) -> std::result::Result<Vec<Field>, String> {
    let mut out: Vec<Field> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (key, rest) = line
            .split_once(':')
            .ok_or_else(|| format!("Line {}: write key: Label (number)", i + 1))?;
        let key = key.trim().to_lowercase();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!(
                "Line {}: a key is letters, digits and underscores, like agency_hours",
                i + 1
            ));
        }
        let rest = rest.trim();
        let (label, kind) = match rest.rsplit_once('(') {
            Some((l, k)) => (l.trim(), k.trim_end_matches(')').trim().to_lowercase()),
            None => (rest, "number".to_string()),
        };
        let kind = match kind.as_str() {
            "number" => "number",
            "percent" | "%" => "percent",
            "yes/no" | "yes_no" => "yes_no",
            other => {
                return Err(format!(
                    "Line {}: {other:?} is not a kind: use number, percent or yes/no",
                    i + 1
                ));
            }
        };
        if label.is_empty() {
            return Err(format!("Line {}: give the field a label", i + 1));
        }
        if out.iter().any(|f| f.key == key) {
            return Err(format!("Line {}: {key} is listed twice", i + 1));
        }
        out.push(Field {
            key,
            label: label.to_string(),
            kind: kind.to_string(),
        });
    }
    if out.is_empty() {
        return Err("Give at least one field".into());
    }
    Ok(out)
}

/// Adds a return definition (admin).
pub async fn define(
    state: &AppState,
    actor: &Actor,
    name: &str,
    frequency: &str,
    fields: &str,
    providers: &str,
) -> Result<std::result::Result<i64, FormErrors>> {
    let mut e = FormErrors::default();
    if name.trim().is_empty() {
        e.add("name", "Enter the return's name");
    }
    if !matches!(frequency, "weekly" | "monthly" | "quarterly") {
        e.add("frequency", "Select how often the return is due");
    }
    let parsed = parse_fields(fields).map_err(|m| e.add("fields", m)).ok();
    let provs: Vec<String> = providers
        .split([',', '\n'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    for p in &provs {
        let n: i64 = state
            .db
            .q()
            .scalar(
                "SELECT COUNT(*) FROM cqc_providers WHERE provider_id = $1",
                args![p],
            )
            .await?;
        if n == 0 {
            e.add(
                "providers",
                format!("{p} is not a provider in the CQC data"),
            );
        }
    }
    if e.is_empty() {
        let clash: i64 = state
            .db
            .q()
            .scalar(
                "SELECT COUNT(*) FROM return_definitions WHERE LOWER(name) = LOWER($1)",
                args![name.trim()],
            )
            .await?;
        if clash > 0 {
            e.add(
                "name",
                format!("There is already a return called {}", name.trim()),
            );
        }
    }
    let Some(fields) = parsed.filter(|_| e.is_empty()) else {
        return Ok(Err(e));
    };
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let id: i64 = tx
        .scalar(
            "INSERT INTO return_definitions (name, frequency, fields, providers, due_days, active, created_by, created_at) VALUES ($1, $2, $3, $4, 10, $5, $6, $7) RETURNING id",
            args![name.trim(), frequency, serde_json::to_string(&fields).unwrap_or_default(), provs.join(","), true, &actor.name, now],
        )
        .await?;
    audit::entry("return.define", "return_definition", id)
        .after(serde_json::json!({"name": name.trim(), "frequency": frequency, "fields": fields, "providers": provs}))
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    Ok(Ok(id))
}

/// The period a day falls in: (first day, last day).
pub fn period_of(frequency: &str, d: NaiveDate) -> (NaiveDate, NaiveDate) {
    match frequency {
        "weekly" => {
            let start = d - Duration::days(d.weekday().num_days_from_monday() as i64);
            (start, start + Duration::days(6))
        }
        "quarterly" => {
            let m = (d.month0() / 3) * 3 + 1;
            let start = NaiveDate::from_ymd_opt(d.year(), m, 1).expect("date");
            let next = start
                .checked_add_months(chrono::Months::new(3))
                .expect("date");
            (start, next - Duration::days(1))
        }
        _ => {
            let start = NaiveDate::from_ymd_opt(d.year(), d.month(), 1).expect("date");
            let next = start
                .checked_add_months(chrono::Months::new(1))
                .expect("date");
            (start, next - Duration::days(1))
        }
    }
}

/// Periods in a year, for turning a period's leavers into a yearly rate.
fn per_year(frequency: &str) -> f64 {
    match frequency {
        "weekly" => 52.0,
        "quarterly" => 4.0,
        _ => 12.0,
    }
}

/// One period of one return for one provider: submitted, due, or overdue.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PeriodStatus {
    pub definition_id: i64,
    pub name: String,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub due: NaiveDate,
    pub submitted_at: Option<DateTime<Utc>>,
    /// submitted, due (not yet late), overdue, or open (the period has not ended)
    pub state: String,
}

/// The last `n` periods of every return that applies to a provider (the current one too).
pub async fn provider_periods(
    state: &AppState,
    provider_id: &str,
    n: usize,
) -> Result<Vec<PeriodStatus>> {
    let today = state.clock.now().date_naive();
    let subs: Vec<(i64, NaiveDate, DateTime<Utc>)> = state
        .db
        .q()
        .fetch_all(
            "SELECT definition_id, period_start, submitted_at FROM return_submissions WHERE provider_id = $1",
            args![provider_id],
        )
        .await?;
    let mut out = Vec::new();
    for d in definitions(state).await?.into_iter().filter(|d| d.active) {
        if !d.providers.is_empty() && !d.providers.iter().any(|p| p == provider_id) {
            continue;
        }
        let mut day = today;
        for _ in 0..n {
            let (start, end) = period_of(&d.frequency, day);
            let due = end + Duration::days(d.due_days);
            let submitted = subs
                .iter()
                .find(|s| s.0 == d.id && s.1 == start)
                .map(|s| s.2);
            let st = match submitted {
                Some(_) => "submitted",
                None if end >= today => "open",
                None if due >= today => "due",
                None => "overdue",
            };
            out.push(PeriodStatus {
                definition_id: d.id,
                name: d.name.clone(),
                period_start: start,
                period_end: end,
                due,
                submitted_at: submitted,
                state: st.into(),
            });
            day = start - Duration::days(1);
        }
    }
    Ok(out)
}

/// A provider files (or corrects) its return for a period.
pub async fn submit(
    state: &AppState,
    actor: &Actor,
    provider_id: &str,
    definition_id: i64,
    period_start: NaiveDate,
    answers: &BTreeMap<String, String>,
) -> Result<std::result::Result<(), FormErrors>> {
    let d = definition(state, definition_id).await?;
    let (start, _) = period_of(&d.frequency, period_start);
    let mut e = FormErrors::default();
    if start != period_start {
        e.add("period", "That is not the start of a period of this return");
    }
    let mut values = serde_json::Map::new();
    for f in &d.fields {
        let raw = answers.get(&f.key).map(|s| s.trim()).unwrap_or("");
        let v: Option<f64> = match f.kind.as_str() {
            "yes_no" => match raw {
                "yes" => Some(1.0),
                "no" => Some(0.0),
                _ => None,
            },
            _ => raw
                .parse::<f64>()
                .ok()
                .filter(|v| *v >= 0.0 && (f.kind != "percent" || *v <= 100.0) && v.is_finite()),
        };
        match v {
            Some(v) => {
                values.insert(f.key.clone(), serde_json::json!(v));
            }
            None => e.add(
                &format!("answer-{}", f.key),
                match f.kind.as_str() {
                    "yes_no" => format!("{}: select yes or no", f.label),
                    "percent" => format!("{}: enter a percentage from 0 to 100", f.label),
                    _ => format!("{}: enter a number, 0 or more", f.label),
                },
            ),
        }
    }
    if let (Some(h), Some(l)) = (values.get("staff_headcount"), values.get("leavers"))
        && l.as_f64() > h.as_f64()
    {
        e.add(
            "answer-leavers",
            "Leavers cannot be more than the staff headcount",
        );
    }
    if !e.is_empty() {
        return Ok(Err(e));
    }
    let now = state.clock.now();
    let answers = serde_json::Value::Object(values).to_string();
    let mut tx = state.db.begin().await?;
    tx.execute(
        "INSERT INTO return_submissions (definition_id, provider_id, period_start, answers, submitted_by, submitted_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (definition_id, provider_id, period_start) DO UPDATE SET answers = excluded.answers, submitted_by = excluded.submitted_by, submitted_at = excluded.submitted_at",
        args![definition_id, provider_id, period_start, &answers, &actor.name, now],
    )
    .await?;
    audit::entry(
        "return.submit",
        "return_submission",
        format!("{definition_id}/{provider_id}/{period_start}"),
    )
    .after(serde_json::json!({"answers": answers}))
    .write(&mut tx, actor, now)
    .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// The workforce figures the risk tool reads, per provider, from its latest workforce
/// return: (yearly turnover %, agency hours a week per member of staff).
pub async fn workforce_signals(
    state: &AppState,
) -> Result<BTreeMap<String, (Option<f64>, Option<f64>)>> {
    let defs = definitions(state).await?;
    let Some(w) = defs.iter().find(|d| d.name == "Workforce return") else {
        return Ok(BTreeMap::new());
    };
    let rows: Vec<(String, NaiveDate, String)> = state
        .db
        .q()
        .fetch_all(
            "SELECT provider_id, period_start, answers FROM return_submissions WHERE definition_id = $1 ORDER BY period_start",
            args![w.id],
        )
        .await?;
    let weeks = 52.0 / per_year(&w.frequency);
    let mut out = BTreeMap::new();
    for (p, _, a) in rows {
        let v: serde_json::Value = serde_json::from_str(&a).unwrap_or_default();
        let head = v["staff_headcount"].as_f64().filter(|h| *h > 0.0);
        // Multiplied before dividing, so that 3 of 40 a month is 90% a year exactly.
        let turnover = head.and_then(|h| {
            v["leavers"]
                .as_f64()
                .map(|l| l * per_year(&w.frequency) * 100.0 / h)
        });
        let agency = head.and_then(|h| v["agency_hours"].as_f64().map(|x| x / h / weeks));
        // Later periods overwrite earlier ones: the latest return counts.
        out.insert(p, (turnover, agency));
    }
    Ok(out)
}

/// The market's trend: per period, how many providers filed and the sum of each numeric
/// field (percentages as the mean).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Trend {
    pub period_start: NaiveDate,
    pub returns: u64,
    /// (field label, value)
    pub values: Vec<(String, f64)>,
}

pub async fn trend(
    state: &AppState,
    definition_id: i64,
    provider: Option<&str>,
) -> Result<Vec<Trend>> {
    let d = definition(state, definition_id).await?;
    let rows: Vec<(String, NaiveDate, String)> = state
        .db
        .q()
        .fetch_all(
            "SELECT provider_id, period_start, answers FROM return_submissions WHERE definition_id = $1 ORDER BY period_start",
            args![definition_id],
        )
        .await?;
    let mut by: BTreeMap<NaiveDate, Vec<serde_json::Value>> = BTreeMap::new();
    for (p, start, a) in rows {
        if provider.is_some_and(|x| x != p) {
            continue;
        }
        by.entry(start)
            .or_default()
            .push(serde_json::from_str(&a).unwrap_or_default());
    }
    Ok(by
        .into_iter()
        .map(|(start, vs)| Trend {
            period_start: start,
            returns: vs.len() as u64,
            values: d
                .fields
                .iter()
                .map(|f| {
                    let xs: Vec<f64> = vs.iter().filter_map(|v| v[&f.key].as_f64()).collect();
                    let sum: f64 = xs.iter().sum();
                    let v = if f.kind == "number" {
                        sum
                    } else if xs.is_empty() {
                        0.0
                    } else {
                        // Percentages and yes/no: the mean (yes/no as the share saying yes).
                        ((sum / xs.len() as f64)
                            * if f.kind == "yes_no" { 100.0 } else { 1.0 }
                            * 10.0)
                            .round()
                            / 10.0
                    };
                    (f.label.clone(), v)
                })
                .collect(),
        })
        .collect())
}

/// Providers with overdue returns (for the council), most overdue first.
pub async fn overdue(state: &AppState) -> Result<Vec<(String, String, u64)>> {
    let providers: Vec<(String, Option<String>)> = state
        .db
        .q()
        .fetch_all(
            "SELECT DISTINCT p.provider_id, p.name FROM cqc_providers p JOIN cqc_locations l ON l.provider_id = p.provider_id WHERE l.care_home = $1 AND l.deregistration_date IS NULL AND p.provider_id IN (SELECT DISTINCT provider_id FROM users WHERE provider_id IS NOT NULL)",
            args![true],
        )
        .await?;
    let mut out = Vec::new();
    for (id, name) in providers {
        let n = provider_periods(state, &id, 6)
            .await?
            .iter()
            .filter(|p| p.state == "overdue")
            .count() as u64;
        if n > 0 {
            out.push((id.clone(), name.unwrap_or(id), n));
        }
    }
    out.sort_by(|a, b| b.2.cmp(&a.2).then(a.1.cmp(&b.1)));
    Ok(out)
}
