//! The concerns log: what the council hears about a location, with its source, severity and
//! outcome. It feeds the risk tool. No names: text that looks like a name or an NHS number
//! is held back until the officer confirms there is none.

use chrono::{DateTime, NaiveDate, Utc};

use crate::audit::{self, Actor};
use crate::web::forms::FormErrors;
use crate::{AppState, Result, args};

pub const SOURCES: [(&str, &str); 5] = [
    ("safeguarding", "Safeguarding alert"),
    ("complaint", "Complaint"),
    ("whistleblowing", "Whistleblowing"),
    ("health_partner", "Feedback from a health partner"),
    ("other", "Other"),
];
pub const SEVERITIES: [&str; 3] = ["low", "medium", "high"];

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct Concern {
    pub id: i64,
    pub location_id: String,
    pub received_date: NaiveDate,
    pub source: String,
    pub severity: String,
    pub summary: String,
    pub outcome: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default)]
pub struct ConcernInput {
    pub location_id: String,
    pub received_date: String,
    pub source: String,
    pub severity: String,
    pub summary: String,
    pub outcome: String,
    pub confirm_no_names: bool,
}

/// Records a concern, or says what to fix. `Err` with a "names" entry means the text looks
/// personal and the officer has not confirmed it is not.
pub async fn record(
    state: &AppState,
    actor: &Actor,
    c: &ConcernInput,
) -> Result<std::result::Result<i64, FormErrors>> {
    let mut e = FormErrors::default();
    let known = crate::cqc::queries::location_exists(&state.db, c.location_id.trim()).await?;
    if !known {
        e.add(
            "location_id",
            "Enter the CQC location ID of a location in the CQC data",
        );
    }
    let date = caremarket_core::cqc::parse_date(&c.received_date, false).ok();
    if date.is_none() {
        e.add(
            "received_date",
            "Enter the date the concern was received, like 24/11/2026",
        );
    }
    if !SOURCES.iter().any(|(k, _)| *k == c.source) {
        e.add("source", "Select where the concern came from");
    }
    if !SEVERITIES.contains(&c.severity.as_str()) {
        e.add("severity", "Select the severity");
    }
    if c.summary.trim().is_empty() {
        e.add("summary", "Describe the concern (without names)");
    }
    if e.is_empty() && !c.confirm_no_names {
        let found = caremarket_core::privacy::check(&format!("{}\n{}", c.summary, c.outcome));
        if !found.is_empty() {
            let what: Vec<String> = found.iter().map(|f| f.message()).collect();
            e.add(
                "summary",
                format!(
                    "{}. Remove names and NHS numbers, or tick the box to confirm there are none.",
                    what.join("; ")
                ),
            );
        }
    }
    if !e.is_empty() {
        return Ok(Err(e));
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let id: i64 = tx
        .scalar(
            "INSERT INTO concerns (location_id, received_date, source, severity, summary, outcome, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            args![c.location_id.trim(), date, &c.source, &c.severity, c.summary.trim(), c.outcome.trim(), &actor.name, now],
        )
        .await?;
    audit::entry("concern.create", "concern", id)
        .after(serde_json::json!({"location_id": c.location_id.trim(), "source": c.source, "severity": c.severity}))
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    Ok(Ok(id))
}

pub async fn list(state: &AppState) -> Result<Vec<Concern>> {
    Ok(state
        .db
        .q()
        .fetch_all(
            "SELECT * FROM concerns ORDER BY received_date DESC, id DESC LIMIT 500",
            args![],
        )
        .await?)
}
