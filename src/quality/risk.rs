//! The risk tool's ranked list: every contracted location (or, with no contracts loaded, the
//! care homes of the areas in scope) scored from what the council knows today.

use caremarket_core::cqc::Rating;
use caremarket_core::quality::GradeScale;
use caremarket_core::risk::{Contribution, RiskInput, Weights, score};
use chrono::NaiveDate;
use std::collections::HashMap;

use crate::{AppState, Result, args};

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Ranked {
    pub location_id: String,
    pub name: String,
    pub score: i64,
    #[schema(value_type = Vec<Object>)]
    pub contributions: Vec<Contribution>,
}

/// Which locations are ranked, and why.
pub async fn scope(state: &AppState, today: NaiveDate) -> Result<(Vec<String>, String)> {
    let contracted: Vec<String> = super::contracts(state)
        .await?
        .into_iter()
        .filter(|c| c.in_force(today))
        .map(|c| c.location_id)
        .collect();
    if !contracted.is_empty() {
        let mut ids = contracted;
        ids.sort();
        ids.dedup();
        return Ok((ids, "the locations with a contract in force".into()));
    }
    let areas: Vec<String> = crate::admin::areas::list(state)
        .await?
        .into_iter()
        .map(|a| a.name.to_lowercase())
        .collect();
    if areas.is_empty() {
        return Ok((
            vec![],
            "no contracts are loaded and no areas are in scope".into(),
        ));
    }
    let all = crate::cqc::picture::all_facts(state, None).await?;
    let ids = all
        .facts
        .iter()
        .filter(|f| {
            f.care_home
                && f.local_authority
                    .as_deref()
                    .is_some_and(|la| areas.contains(&la.to_lowercase()))
        })
        .map(|f| f.location_id.clone())
        .collect();
    Ok((
        ids,
        "the care homes of the areas in scope (no contracts are loaded)".into(),
    ))
}

pub async fn ranked(state: &AppState, today: NaiveDate) -> Result<(Vec<Ranked>, String)> {
    let (ids, why) = scope(state, today).await?;
    let all = crate::cqc::picture::all_facts(state, None).await?;
    // A rating's age is measured from the data's own date, as on the dashboard's watch list
    // and the data quality page; the council's own records (visits, concerns, actions) from
    // today.
    let data_date = all.data_date().unwrap_or(today);
    let facts: HashMap<&str, &crate::cqc::picture::Fact> = all
        .facts
        .iter()
        .map(|f| (f.location_id.as_str(), f.as_ref()))
        .collect();
    let year_ago = today - chrono::Duration::days(365);
    let concern_rows: Vec<(String, String, i64)> = state
        .db
        .q()
        .fetch_all(
            "SELECT location_id, severity, COUNT(*) FROM concerns WHERE received_date >= $1 AND received_date <= $2 GROUP BY location_id, severity",
            args![year_ago, today],
        )
        .await?;
    let mut concerns: HashMap<String, (u32, u32, u32)> = HashMap::new();
    for (loc, sev, n) in concern_rows {
        let e = concerns.entry(loc).or_default();
        match sev.as_str() {
            "high" => e.0 += n as u32,
            "medium" => e.1 += n as u32,
            _ => e.2 += n as u32,
        }
    }
    let visits: Vec<(String, String, NaiveDate)> = state
        .db
        .q()
        .fetch_all("SELECT location_id, overall_grade, visit_date FROM qaf_visits WHERE status = 'confirmed' AND overall_grade IS NOT NULL AND visit_date <= $1", args![today])
        .await?;
    let mut qaf: HashMap<String, (NaiveDate, String)> = HashMap::new();
    for (loc, g, d) in visits {
        let e = qaf.entry(loc).or_insert((d, g.clone()));
        if d > e.0 {
            *e = (d, g);
        }
    }
    let overdue: Vec<(String, i64)> = state
        .db
        .q()
        .fetch_all(
            "SELECT p.location_id, COUNT(*) FROM action_items i JOIN action_plans p ON p.id = i.plan_id WHERE i.status <> 'signed_off' AND i.due_date < $1 GROUP BY p.location_id",
            args![today],
        )
        .await?;
    let overdue: HashMap<String, i64> = overdue.into_iter().collect();
    let names: HashMap<String, String> = {
        let r: Vec<(String, String)> = state
            .db
            .q()
            .fetch_all("SELECT location_id, name FROM cqc_locations", args![])
            .await?;
        r.into_iter().collect()
    };
    let workforce = crate::capacity::returns::workforce_signals(state).await?;
    let settings = state.settings();
    let scale: &GradeScale = &settings.qaf.scale;
    let weights: &Weights = &settings.risk_weights;
    let mut out: Vec<Ranked> = ids
        .iter()
        .map(|id| {
            let f = facts.get(id.as_str());
            let (high, med, low) = concerns.get(id).copied().unwrap_or_default();
            let input = RiskInput {
                overall: f
                    .and_then(|f| f.overall)
                    .filter(|r| r.is_rated() || *r == Rating::InsufficientEvidence),
                key_questions_below_good: f
                    .map(|f| {
                        f.key_questions
                            .iter()
                            .filter(|r| r.is_some_and(|r| r.is_below_good()))
                            .count() as u32
                    })
                    .unwrap_or(0),
                rating_age_days: f
                    .and_then(|f| f.overall_date)
                    .map(|d| (data_date - d).num_days()),
                manager_absent: f.is_some_and(|f| f.registered_manager == Some(false)),
                concerns_high: high,
                concerns_medium: med,
                concerns_low: low,
                qaf_rank: qaf.get(id).and_then(|(_, g)| scale.rank(g)),
                qaf_age_days: qaf.get(id).map(|(d, _)| (today - *d).num_days()),
                overdue_items: overdue.get(id).copied().unwrap_or(0) as u32,
                turnover_pct: f
                    .and_then(|f| f.provider_id.as_ref())
                    .and_then(|p| workforce.get(p))
                    .and_then(|w| w.0),
                agency_hours_per_head: f
                    .and_then(|f| f.provider_id.as_ref())
                    .and_then(|p| workforce.get(p))
                    .and_then(|w| w.1),
            };
            let (s, contributions) = score(&input, weights);
            Ranked {
                location_id: id.clone(),
                name: names.get(id).cloned().unwrap_or_default(),
                score: s,
                contributions,
            }
        })
        .collect();
    out.sort_by(|a, b| b.score.cmp(&a.score).then(a.name.cmp(&b.name)));
    Ok((out, why))
}
