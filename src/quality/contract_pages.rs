//! The quality of the contracted market (/quality) and the contracts register behind it:
//! pages and API.

use askama::Template;
use axum::Json;
use axum::extract::{Query, State};
use axum::response::Response;
use caremarket_core::Role;
use chrono::NaiveDate;

use super::CONTRACT_TYPES;
use crate::audit::Actor;
use crate::web::forms::FormErrors;
use crate::web::layout::render_status;
use crate::web::redirect_with_flash;
use crate::web::roles::{COMMISSIONERS, COUNCIL};
use crate::web::{PageCtx, RequestCtx, RouteDef, get, post, render};
use crate::{AppError, AppState, Result};

pub fn routes() -> Vec<RouteDef> {
    vec![
        get("/quality", COUNCIL, summary_page),
        get(
            "/quality/contracts",
            super::CONTRACT_READERS,
            contracts_page,
        ),
        crate::web::with_body_limit(
            post("/quality/contracts", COMMISSIONERS, contracts_upload),
            crate::web::COUNCIL_UPLOAD_LIMIT,
        ),
        get("/api/v1/quality/summary", COUNCIL, api_summary),
    ]
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct SummaryQuery {
    /// residential, nursing, home_care_framework, supported_living or spot; empty for all
    pub contract_type: Option<String>,
    /// As at this date (YYYY-MM-DD); default today
    pub as_at: Option<NaiveDate>,
}

#[derive(Template)]
#[template(path = "quality/summary.html")]
struct SummaryPage {
    page: PageCtx,
    t: super::SummaryTables,
    contract_type: String,
    types: Vec<(String, String)>,
}

async fn tables(state: &AppState, q: &SummaryQuery) -> Result<super::SummaryTables> {
    let ct = q.contract_type.as_deref().filter(|t| !t.is_empty());
    if let Some(t) = ct
        && !CONTRACT_TYPES.iter().any(|(k, _)| *k == t)
    {
        return Err(AppError::BadRequest(format!("unknown contract type {t:?}")));
    }
    super::summary_tables(
        state,
        ct,
        q.as_at.unwrap_or_else(|| state.clock.now().date_naive()),
    )
    .await
}

async fn summary_page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Query(q): Query<SummaryQuery>,
) -> Result<Response> {
    let t = tables(&state, &q).await?;
    render(&SummaryPage {
        page: PageCtx::new(&state, &ctx, "Quality of the contracted market"),
        contract_type: q.contract_type.clone().unwrap_or_default(),
        types: CONTRACT_TYPES
            .iter()
            .map(|(k, l)| (k.to_string(), l.to_string()))
            .collect(),
        t,
    })
}

#[utoipa::path(get, path = "/api/v1/quality/summary", tag = "quality", params(SummaryQuery), responses((status = 200, body = super::SummaryTables)))]
pub async fn api_summary(
    State(state): State<AppState>,
    Query(q): Query<SummaryQuery>,
) -> Result<Json<super::SummaryTables>> {
    Ok(Json(tables(&state, &q).await?))
}

#[derive(Template)]
#[template(path = "quality/contracts.html")]
struct ContractsPage {
    page: PageCtx,
    contracts: Vec<super::Contract>,
    errors: FormErrors,
    problems: String,
    can_upload: bool,
}

async fn contracts_view(
    state: &AppState,
    ctx: &RequestCtx,
    errors: FormErrors,
    problems: String,
) -> Result<Response> {
    let status = errors.status();
    render_status(
        status,
        &ContractsPage {
            page: PageCtx::new(state, ctx, "Contracts register"),
            contracts: super::contracts(state).await?,
            errors,
            problems,
            can_upload: ctx
                .user
                .as_ref()
                .is_some_and(|u| matches!(u.role, Role::Admin | Role::Commissioner)),
        },
    )
}

async fn contracts_page(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response> {
    contracts_view(&state, &ctx, FormErrors::default(), String::new()).await
}

async fn contracts_upload(
    State(state): State<AppState>,
    ctx: RequestCtx,
    up: crate::web::forms::Upload,
) -> Result<Response> {
    let file = up.file;
    let mut errors = FormErrors::default();
    let Some((name, bytes)) = file else {
        errors.add("file", "Select the contracts register file (CSV or XLSX)");
        return contracts_view(&state, &ctx, errors, String::new()).await;
    };
    match super::import_register(&state, &Actor::from_ctx(&ctx), &name, &bytes).await {
        Ok(n) => Ok(redirect_with_flash(
            &state,
            "/quality/contracts",
            &format!("{n} contracts loaded from {name}"),
        )),
        Err(report) => {
            errors.add(
                "file",
                "The register was not loaded: nothing has changed. The problems are listed below.",
            );
            contracts_view(&state, &ctx, errors, report).await
        }
    }
}
