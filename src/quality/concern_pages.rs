//! Concerns about a provider: the list and the form.

use askama::Template;
use axum::extract::{Form, State};
use axum::response::Response;

use crate::audit::Actor;
use crate::web::forms::FormErrors;
use crate::web::layout::render_status;
use crate::web::redirect_with_flash;
use crate::web::roles::COMMISSIONERS;
use crate::web::{PageCtx, RequestCtx, RouteDef, get, post};
use crate::{AppState, Result};

pub fn routes() -> Vec<RouteDef> {
    vec![
        get("/quality/concerns", COMMISSIONERS, concerns_page),
        post("/quality/concerns", COMMISSIONERS, concern_create),
    ]
}

use super::concerns::{self, Concern, ConcernInput};

#[derive(Template)]
#[template(path = "quality/concerns.html")]
struct ConcernsPage {
    page: PageCtx,
    concerns: Vec<Concern>,
    errors: FormErrors,
    c: ConcernInput,
    sources: Vec<(String, String)>,
    severities: Vec<String>,
    warn_names: bool,
}

async fn concerns_view(
    state: &AppState,
    ctx: &RequestCtx,
    errors: FormErrors,
    c: ConcernInput,
) -> Result<Response> {
    let status = errors.status();
    render_status(
        status,
        &ConcernsPage {
            page: PageCtx::new(state, ctx, "Concerns log"),
            concerns: concerns::list(state).await?,
            warn_names: errors
                .get("summary")
                .is_some_and(|m| m.contains("tick the box")),
            errors,
            c,
            sources: concerns::SOURCES
                .iter()
                .map(|(k, l)| (k.to_string(), l.to_string()))
                .collect(),
            severities: concerns::SEVERITIES.iter().map(|s| s.to_string()).collect(),
        },
    )
}

async fn concerns_page(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response> {
    let c = ConcernInput {
        severity: "medium".into(),
        ..Default::default()
    };
    concerns_view(&state, &ctx, FormErrors::default(), c).await
}

#[derive(serde::Deserialize)]
pub struct ConcernForm {
    #[serde(default)]
    location_id: String,
    #[serde(default)]
    received_date: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    outcome: String,
    confirm_no_names: Option<String>,
}

async fn concern_create(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Form(f): Form<ConcernForm>,
) -> Result<Response> {
    let c = ConcernInput {
        location_id: f.location_id,
        received_date: f.received_date,
        source: f.source,
        severity: f.severity,
        summary: f.summary,
        outcome: f.outcome,
        confirm_no_names: f.confirm_no_names.is_some(),
    };
    match concerns::record(&state, &Actor::from_ctx(&ctx), &c).await? {
        Ok(_) => Ok(redirect_with_flash(
            &state,
            "/quality/concerns",
            "Concern recorded",
        )),
        Err(errors) => concerns_view(&state, &ctx, errors, c).await,
    }
}
