//! The at-risk register (the Liverpool City Region care home redesign (Priority 3): contingency planning for provider failure): a provider or
//! a home on it with a status, the reason, the people affected, actions with owners, and a
//! full status history. A home that is closing puts its people (from the placements
//! register) on a checklist for the brokers.

use chrono::{DateTime, NaiveDate, Utc};

use crate::audit::{self, Actor};
use crate::web::forms::FormErrors;
use crate::{AppError, AppState, Result, args};

pub const STATUSES: [(&str, &str); 6] = [
    ("monitoring", "Monitoring"),
    ("enhanced_monitoring", "Enhanced monitoring"),
    ("placements_suspended", "Placements suspended"),
    ("serving_notice", "Serving notice"),
    ("closing", "Closing"),
    ("closed", "Closed"),
];

pub fn status_label(k: &str) -> &str {
    STATUSES
        .iter()
        .find(|(x, _)| *x == k)
        .map(|(_, l)| *l)
        .unwrap_or(k)
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct Entry {
    pub id: i64,
    pub provider_id: Option<String>,
    pub location_id: Option<String>,
    pub status: String,
    pub reason: String,
    pub council_funded: i64,
    pub nhs_funded: i64,
    pub self_funded: i64,
    pub opened_by: String,
    pub opened_at: DateTime<Utc>,
    pub removed_at: Option<DateTime<Utc>>,
    pub status_since: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct Change {
    pub id: i64,
    pub entry_id: i64,
    pub from_status: Option<String>,
    pub to_status: String,
    pub note: String,
    pub changed_by: String,
    pub changed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct Action {
    pub id: i64,
    pub entry_id: i64,
    pub description: String,
    pub owner: String,
    pub due_date: NaiveDate,
    pub done: bool,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

/// One person of a closing home, by case reference, until they have moved.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct ChecklistItem {
    pub id: i64,
    pub entry_id: i64,
    pub placement_id: i64,
    pub case_reference: String,
    pub funder: String,
    pub moved_to: Option<String>,
    pub moved_on: Option<NaiveDate>,
}

/// An entry as the register lists it: who, and for how long.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Listed {
    #[serde(flatten)]
    pub entry: Entry,
    pub name: String,
    pub days_on_register: i64,
    pub days_in_status: i64,
}

#[derive(Debug, Clone, Default)]
pub struct EntryInput {
    /// A CQC location ID (a home) or provider ID
    pub subject: String,
    pub status: String,
    pub reason: String,
    pub council_funded: String,
    pub nhs_funded: String,
    pub self_funded: String,
}

/// Open placements at a home by funder: (council, NHS).
async fn placed(state: &AppState, location_id: &str) -> Result<(i64, i64)> {
    let rows: Vec<(String, i64)> = state
        .db
        .q()
        .fetch_all(
            "SELECT funder, COUNT(*) FROM placements WHERE location_id = $1 AND end_date IS NULL GROUP BY funder",
            args![location_id],
        )
        .await?;
    let mut out = (0, 0);
    for (f, n) in rows {
        match f.as_str() {
            "nhs_chc" => out.1 += n,
            _ => out.0 += n,
        }
    }
    Ok(out)
}

fn count(e: &mut FormErrors, field: &str, label: &str, v: &str, default: i64) -> i64 {
    if v.trim().is_empty() {
        return default;
    }
    match v.trim().parse::<i64>() {
        Ok(n) if n >= 0 => n,
        _ => {
            e.add(field, format!("{label} must be a whole number, like 12"));
            0
        }
    }
}

/// Puts a provider or a home on the register. People affected default to the open
/// placements the register holds for a home (self-funders are not in it: enter them).
pub async fn open(
    state: &AppState,
    actor: &Actor,
    i: &EntryInput,
) -> Result<std::result::Result<i64, FormErrors>> {
    let mut e = FormErrors::default();
    let subject = i.subject.trim();
    let is_home = crate::cqc::queries::location_exists(&state.db, subject).await?;
    let is_provider: i64 = state
        .db
        .q()
        .scalar(
            "SELECT COUNT(*) FROM cqc_providers WHERE provider_id = $1",
            args![subject],
        )
        .await?;
    if !is_home && is_provider == 0 {
        e.add(
            "subject",
            "Enter the CQC location ID of a home or the ID of a provider, like 1-131732334",
        );
    }
    if !STATUSES.iter().any(|(k, _)| *k == i.status) || i.status == "closed" {
        e.add("status", "Select the status");
    }
    if i.reason.trim().is_empty() {
        e.add("reason", "Say why it is on the register");
    }
    let (council, nhs) = if is_home {
        placed(state, subject).await?
    } else {
        (0, 0)
    };
    let council = count(
        &mut e,
        "council_funded",
        "Council-funded people",
        &i.council_funded,
        council,
    );
    let nhs = count(
        &mut e,
        "nhs_funded",
        "NHS-funded people",
        &i.nhs_funded,
        nhs,
    );
    let selff = count(&mut e, "self_funded", "Self-funders", &i.self_funded, 0);
    if e.is_empty() {
        let already: i64 = state
            .db
            .q()
            .scalar(
                "SELECT COUNT(*) FROM at_risk WHERE removed_at IS NULL AND (location_id = $1 OR provider_id = $1)",
                args![subject],
            )
            .await?;
        if already > 0 {
            e.add("subject", format!("{subject} is already on the register"));
        }
    }
    if !e.is_empty() {
        return Ok(Err(e));
    }
    let (loc, prov) = if is_home {
        (Some(subject), None)
    } else {
        (None, Some(subject))
    };
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let id: i64 = tx
        .scalar(
            "INSERT INTO at_risk (provider_id, location_id, status, reason, council_funded, nhs_funded, self_funded, opened_by, opened_at, status_since) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
            args![prov, loc, &i.status, i.reason.trim(), council, nhs, selff, &actor.name, now],
        )
        .await?;
    tx.execute(
        "INSERT INTO at_risk_history (entry_id, from_status, to_status, note, changed_by, changed_at) VALUES ($1, NULL, $2, $3, $4, $5)",
        args![id, &i.status, i.reason.trim(), &actor.name, now],
    )
    .await?;
    audit::entry("at_risk.open", "at_risk", id)
        .after(serde_json::json!({"subject": subject, "status": i.status, "council_funded": council, "nhs_funded": nhs, "self_funded": selff}))
        .write(&mut tx, actor, now)
        .await?;
    if i.status == "closing" {
        checklist(&mut tx, id, loc, actor, now).await?;
    }
    tx.commit().await?;
    Ok(Ok(id))
}

/// A closing home's open placements become checklist items (once each).
async fn checklist(
    tx: &mut crate::db::Tx,
    id: i64,
    location_id: Option<&str>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<()> {
    let Some(loc) = location_id else {
        return Ok(());
    };
    let ids: Vec<(i64,)> = tx
        .fetch_all(
            "SELECT id FROM placements WHERE location_id = $1 AND end_date IS NULL",
            args![loc],
        )
        .await?;
    for (pid,) in ids {
        tx.execute(
            "INSERT INTO closure_checklist (entry_id, placement_id, updated_by, updated_at) VALUES ($1, $2, $3, $4) ON CONFLICT (entry_id, placement_id) DO NOTHING",
            args![id, pid, &actor.name, now],
        )
        .await?;
    }
    Ok(())
}

pub async fn entry(state: &AppState, id: i64) -> Result<Entry> {
    state
        .db
        .q()
        .fetch_optional("SELECT * FROM at_risk WHERE id = $1", args![id])
        .await?
        .ok_or(AppError::NotFound)
}

/// Moves an entry to a new status, with a note; the change is kept in the history. Closed
/// takes it off the register.
pub async fn change_status(
    state: &AppState,
    actor: &Actor,
    id: i64,
    to: &str,
    note: &str,
) -> Result<std::result::Result<(), FormErrors>> {
    let e0 = entry(state, id).await?;
    let mut e = FormErrors::default();
    if !STATUSES.iter().any(|(k, _)| *k == to) {
        e.add("status", "Select the new status");
    } else if to == e0.status {
        e.add(
            "status",
            format!("It is already {}", status_label(to).to_lowercase()),
        );
    }
    if note.trim().is_empty() {
        e.add("note", "Say what has changed");
    }
    if e0.removed_at.is_some() {
        e.add("status", "This entry is off the register");
    }
    if !e.is_empty() {
        return Ok(Err(e));
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let n = tx
        .execute(
            "UPDATE at_risk SET status = $1, status_since = $2, removed_at = $3 WHERE id = $4 AND status = $5",
            args![to, now, (to == "closed").then_some(now), id, &e0.status],
        )
        .await?;
    if n != 1 {
        return Err(AppError::Conflict(
            "Someone else changed the status first: reload the page".into(),
        ));
    }
    tx.execute(
        "INSERT INTO at_risk_history (entry_id, from_status, to_status, note, changed_by, changed_at) VALUES ($1, $2, $3, $4, $5, $6)",
        args![id, &e0.status, to, note.trim(), &actor.name, now],
    )
    .await?;
    if to == "closing" {
        checklist(&mut tx, id, e0.location_id.as_deref(), actor, now).await?;
    }
    audit::entry("at_risk.status", "at_risk", id)
        .before(serde_json::json!({"status": e0.status}))
        .after(serde_json::json!({"status": to, "note": note.trim()}))
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Takes an entry off the register without closing (the worry has passed).
pub async fn remove(state: &AppState, actor: &Actor, id: i64, note: &str) -> Result<()> {
    let e0 = entry(state, id).await?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    tx.execute(
        "UPDATE at_risk SET removed_at = $1 WHERE id = $2 AND removed_at IS NULL",
        args![now, id],
    )
    .await?;
    tx.execute(
        "INSERT INTO at_risk_history (entry_id, from_status, to_status, note, changed_by, changed_at) VALUES ($1, $2, $2, $3, $4, $5)",
        args![id, &e0.status, format!("Taken off the register: {}", note.trim()), &actor.name, now],
    )
    .await?;
    audit::entry("at_risk.remove", "at_risk", id)
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn add_action(
    state: &AppState,
    actor: &Actor,
    id: i64,
    description: &str,
    owner: &str,
    due: &str,
) -> Result<std::result::Result<(), FormErrors>> {
    entry(state, id).await?;
    let mut e = FormErrors::default();
    if description.trim().is_empty() {
        e.add("description", "Describe the action");
    }
    if owner.trim().is_empty() {
        e.add("owner", "Enter who owns the action");
    }
    let d = caremarket_core::cqc::parse_date(due, false).ok();
    if d.is_none() {
        e.add("due_date", "Enter the due date, like 31/12/2026");
    }
    if !e.is_empty() {
        return Ok(Err(e));
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let aid: i64 = tx
        .scalar(
            "INSERT INTO at_risk_actions (entry_id, description, owner, due_date, done, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            args![id, description.trim(), owner.trim(), d, false, &actor.name, now],
        )
        .await?;
    audit::entry("at_risk.action", "at_risk_action", aid)
        .after(serde_json::json!({"entry": id, "description": description.trim(), "owner": owner.trim(), "due_date": d}))
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

pub async fn action_done(state: &AppState, actor: &Actor, action: i64) -> Result<i64> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let entry_id: Option<i64> = tx
        .scalar_optional(
            "SELECT entry_id FROM at_risk_actions WHERE id = $1",
            args![action],
        )
        .await?;
    let entry_id = entry_id.ok_or(AppError::NotFound)?;
    tx.execute(
        "UPDATE at_risk_actions SET done = $1, updated_by = $2, updated_at = $3 WHERE id = $4",
        args![true, &actor.name, now, action],
    )
    .await?;
    audit::entry("at_risk.action_done", "at_risk_action", action)
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    Ok(entry_id)
}

/// A broker records that a person from a closing home has moved: the checklist item is
/// ticked and their placement at the closing home ends ("the home closed").
pub async fn moved(
    state: &AppState,
    actor: &Actor,
    item: i64,
    to: &str,
    on: &str,
) -> Result<std::result::Result<i64, FormErrors>> {
    let row: Option<(i64, i64)> = state
        .db
        .q()
        .fetch_optional(
            "SELECT entry_id, placement_id FROM closure_checklist WHERE id = $1",
            args![item],
        )
        .await?;
    let (entry_id, placement_id) = row.ok_or(AppError::NotFound)?;
    let mut e = FormErrors::default();
    let known = crate::cqc::queries::location_exists(&state.db, to.trim()).await?;
    if !known {
        e.add(
            &format!("moved_to-{item}"),
            "Enter the CQC location ID of where the person moved to",
        );
    }
    let d = caremarket_core::cqc::parse_date(on, false).ok();
    if d.is_none() {
        e.add(
            &format!("moved_on-{item}"),
            "Enter the date of the move, like 30/11/2026",
        );
    }
    if !e.is_empty() {
        return Ok(Err(e));
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    tx.execute(
        "UPDATE closure_checklist SET moved_to = $1, moved_on = $2, updated_by = $3, updated_at = $4 WHERE id = $5",
        args![to.trim(), d, &actor.name, now, item],
    )
    .await?;
    tx.execute(
        "UPDATE placements SET end_date = $1, end_reason = 'home_closed', updated_at = $2 WHERE id = $3 AND end_date IS NULL",
        args![d, now, placement_id],
    )
    .await?;
    audit::entry("at_risk.moved", "closure_checklist", item)
        .after(serde_json::json!({"placement": placement_id, "moved_to": to.trim(), "moved_on": d}))
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    Ok(Ok(entry_id))
}

async fn subject_name(state: &AppState, e: &Entry) -> Result<String> {
    let n: Option<String> = match (&e.location_id, &e.provider_id) {
        (Some(l), _) => {
            state
                .db
                .q()
                .scalar_optional(
                    "SELECT name FROM cqc_locations WHERE location_id = $1",
                    args![l],
                )
                .await?
        }
        (_, Some(p)) => state
            .db
            .q()
            .scalar_optional::<Option<String>>(
                "SELECT name FROM cqc_providers WHERE provider_id = $1",
                args![p],
            )
            .await?
            .flatten(),
        _ => None,
    };
    Ok(n.unwrap_or_default())
}

/// An entry with its name and how long it has been on the register and in its status
/// (counted to the day it came off, once it has).
async fn listed(state: &AppState, e: Entry, now: DateTime<Utc>) -> Result<Listed> {
    let until = e.removed_at.unwrap_or(now);
    Ok(Listed {
        name: subject_name(state, &e).await?,
        days_on_register: (until - e.opened_at).num_days(),
        days_in_status: (until - e.status_since).num_days(),
        entry: e,
    })
}

/// Who is on the register and for how long (entries still on it, longest first).
pub async fn register(state: &AppState, include_removed: bool) -> Result<Vec<Listed>> {
    let rows: Vec<Entry> = state
        .db
        .q()
        .fetch_all("SELECT * FROM at_risk ORDER BY opened_at, id", args![])
        .await?;
    let now = state.clock.now();
    let mut out = Vec::new();
    for e in rows
        .into_iter()
        .filter(|e| include_removed || e.removed_at.is_none())
    {
        out.push(listed(state, e, now).await?);
    }
    Ok(out)
}

pub async fn history(state: &AppState, id: i64) -> Result<Vec<Change>> {
    Ok(state
        .db
        .q()
        .fetch_all(
            "SELECT * FROM at_risk_history WHERE entry_id = $1 ORDER BY id",
            args![id],
        )
        .await?)
}

pub async fn actions(state: &AppState, id: i64) -> Result<Vec<Action>> {
    Ok(state
        .db
        .q()
        .fetch_all(
            "SELECT * FROM at_risk_actions WHERE entry_id = $1 ORDER BY due_date, id",
            args![id],
        )
        .await?)
}

pub async fn checklist_items(state: &AppState, id: i64) -> Result<Vec<ChecklistItem>> {
    Ok(state
        .db
        .q()
        .fetch_all(
            "SELECT c.id, c.entry_id, c.placement_id, p.case_reference, p.funder, c.moved_to, c.moved_on FROM closure_checklist c JOIN placements p ON p.id = c.placement_id WHERE c.entry_id = $1 ORDER BY p.case_reference",
            args![id],
        )
        .await?)
}

/// An entry with everything about it, as the API gives it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Detail {
    pub entry: Listed,
    pub history: Vec<Change>,
    pub actions: Vec<Action>,
    pub checklist: Vec<ChecklistItem>,
}

pub async fn detail(state: &AppState, id: i64) -> Result<Detail> {
    let e = entry(state, id).await?;
    Ok(Detail {
        history: history(state, id).await?,
        actions: actions(state, id).await?,
        checklist: checklist_items(state, id).await?,
        entry: listed(state, e, state.clock.now()).await?,
    })
}
