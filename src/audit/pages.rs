//! The audit log for admins: filter, page through, export as CSV.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::{AuditFilter, AuditRow, PAGE_SIZE, search};
use crate::web::{ADMIN, PageCtx, RequestCtx, RouteDef, get, render};
use crate::{AppState, Result};

pub fn routes() -> Vec<RouteDef> {
    vec![
        get("/admin/audit", ADMIN, audit_page),
        get("/admin/audit.csv", ADMIN, audit_csv),
        get("/api/v1/audit", ADMIN, list_audit),
    ]
}

#[derive(Template)]
#[template(path = "audit/index.html")]
struct AuditLogPage {
    page: PageCtx,
    rows: Vec<AuditRow>,
    total: i64,
    f: AuditFilter,
    page_no: i64,
    pages: i64,
    query: String,
    from: String,
    to: String,
}

fn filter_query(f: &AuditFilter) -> String {
    let pairs: Vec<(&str, String)> = [
        ("actor", f.actor.clone()),
        ("action", f.action.clone()),
        ("entity", f.entity.clone()),
        ("entity_id", f.entity_id.clone()),
        ("from", f.from.map(|d| d.to_string())),
        ("to", f.to.map(|d| d.to_string())),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.filter(|v| !v.is_empty()).map(|v| (k, v)))
    .collect();
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

async fn audit_page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Query(f): Query<AuditFilter>,
) -> Result<Response> {
    let (rows, total) = search(&state.db, &f, None).await?;
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    render(&AuditLogPage {
        page: PageCtx::new(&state, &ctx, "Audit log"),
        rows,
        total,
        page_no: f.page.unwrap_or(1).clamp(1, pages),
        pages,
        query: filter_query(&f),
        from: f.from.map(|d| d.to_string()).unwrap_or_default(),
        to: f.to.map(|d| d.to_string()).unwrap_or_default(),
        f,
    })
}

pub use crate::export::csv_cell;

async fn audit_csv(
    State(state): State<AppState>,
    Query(f): Query<AuditFilter>,
) -> Result<Response> {
    let (rows, _) = search(&state.db, &f, Some(1_000_000)).await?;
    let mut out = String::from(
        "id,at,user_id,actor,action,entity,entity_id,before,after,request_id,client_address\r\n",
    );
    for r in rows {
        let cells = [
            r.id.to_string(),
            r.at.to_rfc3339(),
            r.user_id.map(|v| v.to_string()).unwrap_or_default(),
            r.actor,
            r.action,
            r.entity,
            r.entity_id,
            r.before_json.unwrap_or_default(),
            r.after_json.unwrap_or_default(),
            r.request_id,
            r.client_address,
        ];
        out.push_str(
            &cells
                .iter()
                .map(|c| csv_cell(c))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push_str("\r\n");
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"audit-log.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}

// The JSON API (/api/v1): the same rules as the pages above, for programs.

use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    pub total: i64,
    pub page: i64,
    pub entries: Vec<AuditRow>,
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "admin", params(AuditFilter), responses((status = 200, body = AuditPage)))]
pub async fn list_audit(
    State(state): State<AppState>,
    Query(f): Query<AuditFilter>,
) -> Result<Json<AuditPage>> {
    let (entries, total) = search(&state.db, &f, None).await?;
    Ok(Json(AuditPage {
        total,
        page: f.page.unwrap_or(1).max(1),
        entries,
    }))
}
