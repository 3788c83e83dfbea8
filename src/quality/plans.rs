//! Action plans (Leicester domiciliary support, 2018, §4.11: "Where a provider receives a non-compliant grade, the local
//! authority will issue an action plan, and monitor the provider"): items with an owner, a
//! due date, a status and evidence; RAG from the dates; the provider records progress on its
//! own plan and the council signs items off.

use caremarket_core::quality::{Rag, rag};
use chrono::{DateTime, NaiveDate, Utc};

use crate::audit::{self, Actor};
use crate::db::Tx;
use crate::web::forms::FormErrors;
use crate::{AppError, AppState, Result, args};

/// Items due within this many days are amber.
pub const AMBER_DAYS: i64 = 14;

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct Plan {
    pub id: i64,
    pub location_id: String,
    pub visit_id: Option<i64>,
    pub title: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct Item {
    pub id: i64,
    pub plan_id: i64,
    pub description: String,
    pub owner: String,
    pub due_date: NaiveDate,
    pub status: String,
    pub evidence: String,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
    pub signed_off_by: Option<String>,
    pub signed_off_at: Option<DateTime<Utc>>,
}

impl Item {
    pub fn rag(&self, today: NaiveDate) -> Rag {
        rag(
            self.due_date,
            self.status == "signed_off",
            today,
            AMBER_DAYS,
        )
    }
}

/// Opens a plan, inside the caller's transaction (also used when a visit with a C or D
/// grade is confirmed).
pub async fn open_plan(
    tx: &mut Tx,
    actor: &Actor,
    now: DateTime<Utc>,
    location_id: &str,
    visit_id: Option<i64>,
    title: &str,
) -> Result<i64> {
    let id: i64 = tx
        .scalar(
            "INSERT INTO action_plans (location_id, visit_id, title, created_by, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            args![location_id, visit_id, title, &actor.name, now],
        )
        .await?;
    audit::entry("action_plan.create", "action_plan", id)
        .after(
            serde_json::json!({"location_id": location_id, "visit_id": visit_id, "title": title}),
        )
        .write(tx, actor, now)
        .await?;
    Ok(id)
}

pub async fn create(
    state: &AppState,
    actor: &Actor,
    location_id: &str,
    title: &str,
) -> Result<std::result::Result<i64, FormErrors>> {
    let mut e = FormErrors::default();
    let known = crate::cqc::queries::location_exists(&state.db, location_id.trim()).await?;
    if !known {
        e.add(
            "location_id",
            "Enter the CQC location ID of a location in the CQC data",
        );
    }
    if title.trim().is_empty() {
        e.add("title", "Enter what the plan is for");
    }
    if !e.is_empty() {
        return Ok(Err(e));
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let id = open_plan(&mut tx, actor, now, location_id.trim(), None, title.trim()).await?;
    tx.commit().await?;
    Ok(Ok(id))
}

pub async fn plan(state: &AppState, id: i64) -> Result<Option<(Plan, Vec<Item>)>> {
    let p: Option<Plan> = state
        .db
        .q()
        .fetch_optional("SELECT * FROM action_plans WHERE id = $1", args![id])
        .await?;
    let Some(p) = p else { return Ok(None) };
    let items = state
        .db
        .q()
        .fetch_all(
            "SELECT * FROM action_items WHERE plan_id = $1 ORDER BY due_date, id",
            args![id],
        )
        .await?;
    Ok(Some((p, items)))
}

pub async fn plans(state: &AppState, provider: Option<&str>) -> Result<Vec<Plan>> {
    Ok(match provider {
        None => state.db.q().fetch_all("SELECT * FROM action_plans ORDER BY created_at DESC, id DESC", args![]).await?,
        Some(p) => {
            state
                .db
                .q()
                .fetch_all(
                    "SELECT a.* FROM action_plans a JOIN cqc_locations l ON l.location_id = a.location_id WHERE l.provider_id = $1 ORDER BY a.created_at DESC, a.id DESC",
                    args![p],
                )
                .await?
        }
    })
}

pub async fn add_item(
    state: &AppState,
    actor: &Actor,
    plan_id: i64,
    description: &str,
    owner: &str,
    due: &str,
) -> Result<std::result::Result<i64, FormErrors>> {
    let mut e = FormErrors::default();
    if description.trim().is_empty() {
        e.add("description", "Enter what needs to be done");
    }
    if owner.trim().is_empty() {
        e.add("owner", "Enter who owns the action");
    }
    let due = caremarket_core::cqc::parse_date(due, false).ok();
    if due.is_none() {
        e.add("due_date", "Enter the due date, like 31/01/2027");
    }
    if !e.is_empty() {
        return Ok(Err(e));
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let exists: i64 = tx
        .scalar(
            "SELECT COUNT(*) FROM action_plans WHERE id = $1",
            args![plan_id],
        )
        .await?;
    if exists == 0 {
        return Err(AppError::NotFound);
    }
    let id: i64 = tx
        .scalar(
            "INSERT INTO action_items (plan_id, description, owner, due_date, status, updated_by, updated_at) VALUES ($1, $2, $3, $4, 'open', $5, $6) RETURNING id",
            args![plan_id, description.trim(), owner.trim(), due, &actor.name, now],
        )
        .await?;
    audit::entry("action_item.create", "action_item", id)
        .after(serde_json::json!({"plan_id": plan_id, "description": description.trim(), "owner": owner.trim(), "due_date": due}))
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    Ok(Ok(id))
}

pub async fn item(state: &AppState, id: i64) -> Result<Option<Item>> {
    Ok(state
        .db
        .q()
        .fetch_optional("SELECT * FROM action_items WHERE id = $1", args![id])
        .await?)
}

/// Progress on an item (the provider's, or an officer's): in progress or done, with evidence.
/// A signed-off item is closed.
pub async fn progress(
    state: &AppState,
    actor: &Actor,
    id: i64,
    status: &str,
    evidence: &str,
) -> Result<std::result::Result<(), FormErrors>> {
    if !matches!(status, "open" | "in_progress" | "done") {
        let mut e = FormErrors::default();
        e.add("status", "Select the item's status");
        return Ok(Err(e));
    }
    let before = item(state, id).await?.ok_or(AppError::NotFound)?;
    if before.status == "signed_off" {
        return Err(AppError::Conflict("This item has been signed off".into()));
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    tx.execute(
        "UPDATE action_items SET status = $1, evidence = $2, updated_by = $3, updated_at = $4 WHERE id = $5 AND status <> 'signed_off'",
        args![status, evidence.trim(), &actor.name, now, id],
    )
    .await?;
    audit::entry("action_item.progress", "action_item", id)
        .before(serde_json::json!({"status": before.status, "evidence": before.evidence}))
        .after(serde_json::json!({"status": status, "evidence": evidence.trim()}))
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// The council signs a done item off.
pub async fn sign_off(state: &AppState, actor: &Actor, id: i64) -> Result<()> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let n = tx
        .execute(
            "UPDATE action_items SET status = 'signed_off', signed_off_by = $1, signed_off_at = $2 WHERE id = $3 AND status = 'done'",
            args![&actor.name, now, id],
        )
        .await?;
    if n != 1 {
        return Err(AppError::Conflict(
            "Only an item marked done can be signed off".into(),
        ));
    }
    audit::entry("action_item.sign_off", "action_item", id)
        .after(serde_json::json!({"status": "signed_off"}))
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    Ok(())
}
