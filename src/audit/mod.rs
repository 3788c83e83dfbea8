//! The append-only audit log: every write, and every read of personal data, with who, when,
//! what, before/after as JSON and the request id. Entries are written in the same transaction
//! as the change they record, so there is never a change without its entry.

pub mod pages;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::db::Tx;
use crate::web::RequestCtx;
use crate::{Result, args};

/// Who did it, as the audit log names them.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub name: String,
    pub request_id: String,
    pub client_address: String,
}

impl Actor {
    pub fn from_ctx(ctx: &RequestCtx) -> Actor {
        Actor {
            user_id: ctx.user.as_ref().map(|u| u.id),
            name: ctx
                .user
                .as_ref()
                .map(|u| u.email.clone())
                .unwrap_or_else(|| "anonymous".into()),
            request_id: ctx.request_id.clone(),
            client_address: ctx.client_address.clone(),
        }
    }

    /// The command line, run by whoever has the server's shell.
    pub fn cli(what: &str) -> Actor {
        let who = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
        Actor {
            user_id: None,
            name: format!("cli:{who}"),
            request_id: format!("cli-{what}"),
            client_address: "local".into(),
        }
    }
}

pub struct Entry<'a> {
    action: &'a str,
    entity: &'a str,
    entity_id: String,
    before: Option<Value>,
    after: Option<Value>,
}

/// Starts an entry: `audit::entry("user.create", "user", id).after(..).write(..)`.
pub fn entry<'a>(action: &'a str, entity: &'a str, entity_id: impl ToString) -> Entry<'a> {
    Entry {
        action,
        entity,
        entity_id: entity_id.to_string(),
        before: None,
        after: None,
    }
}

impl Entry<'_> {
    pub fn before(mut self, v: Value) -> Self {
        self.before = Some(v);
        self
    }
    pub fn after(mut self, v: Value) -> Self {
        self.after = Some(v);
        self
    }
    pub async fn write(self, tx: &mut Tx, actor: &Actor, at: DateTime<Utc>) -> Result<()> {
        tx.execute(
            "INSERT INTO audit_log (at, user_id, actor, action, entity, entity_id, before_json, after_json, request_id, client_address) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            args![
                at,
                actor.user_id,
                &actor.name,
                self.action,
                self.entity,
                self.entity_id,
                self.before.map(|v| v.to_string()),
                self.after.map(|v| v.to_string()),
                &actor.request_id,
                &actor.client_address,
            ],
        )
        .await?;
        Ok(())
    }
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct AuditRow {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub user_id: Option<i64>,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
    pub request_id: String,
    pub client_address: String,
}

#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct AuditFilter {
    /// Part of the actor's e-mail address
    pub actor: Option<String>,
    /// Action, e.g. user.create
    pub action: Option<String>,
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    /// On or after this date (YYYY-MM-DD)
    pub from: Option<chrono::NaiveDate>,
    /// On or before this date (YYYY-MM-DD)
    pub to: Option<chrono::NaiveDate>,
    pub page: Option<i64>,
}

fn where_clause(f: &AuditFilter) -> (String, Vec<crate::db::Arg>) {
    let mut conds = Vec::new();
    let mut a: Vec<crate::db::Arg> = Vec::new();
    let mut push = |cond: &str, v: crate::db::Arg, conds: &mut Vec<String>| {
        a.push(v);
        conds.push(cond.replace('?', &format!("${}", a.len())));
    };
    if let Some(v) = crate::web::forms::opt(&f.actor) {
        push(
            "LOWER(actor) LIKE ?",
            format!("%{}%", v.to_lowercase()).into(),
            &mut conds,
        );
    }
    if let Some(v) = crate::web::forms::opt(&f.action) {
        push("action = ?", v.into(), &mut conds);
    }
    if let Some(v) = crate::web::forms::opt(&f.entity) {
        push("entity = ?", v.into(), &mut conds);
    }
    if let Some(v) = crate::web::forms::opt(&f.entity_id) {
        push("entity_id = ?", v.into(), &mut conds);
    }
    if let Some(d) = f.from {
        let t = d.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
        push("at >= ?", t.into(), &mut conds);
    }
    if let Some(d) = f.to {
        let t = (d + chrono::Duration::days(1))
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc();
        push("at < ?", t.into(), &mut conds);
    }
    let w = if conds.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conds.join(" AND "))
    };
    (w, a)
}

pub const PAGE_SIZE: i64 = 50;

/// One page of entries, newest first, and the total matching.
pub async fn search(
    db: &crate::db::Db,
    f: &AuditFilter,
    limit: Option<i64>,
) -> Result<(Vec<AuditRow>, i64)> {
    let (w, a) = where_clause(f);
    let total: i64 = db
        .q()
        .scalar(&format!("SELECT COUNT(*) FROM audit_log {w}"), a.clone())
        .await?;
    let page = f.page.unwrap_or(1).clamp(1, 1_000_000);
    let (lim, off) = match limit {
        Some(l) => (l, 0),
        None => (PAGE_SIZE, (page - 1) * PAGE_SIZE),
    };
    let rows = db
        .q()
        .fetch_all(
            &format!("SELECT * FROM audit_log {w} ORDER BY id DESC LIMIT {lim} OFFSET {off}"),
            a,
        )
        .await?;
    Ok((rows, total))
}

pub fn routes() -> Vec<crate::web::RouteDef> {
    pages::routes()
}

/// This capability's part of the OpenAPI document (src/api puts the parts together).
#[derive(utoipa::OpenApi)]
#[openapi(paths(pages::list_audit))]
pub struct ApiDoc;
