//! Pages and API for batch matching: the suggestion for the awaiting care list (brokers send
//! what they agree with) and providers' declared spare hours.

use askama::Template;
use axum::Json;
use axum::extract::{Form, State};
use axum::response::Response;
use caremarket_core::Role;
use caremarket_core::matching::Plan;

use super::matching;
use super::requests::CareRequest;
use crate::audit::Actor;
use crate::web::forms::{FormErrors, Pairs, all_of, field};
use crate::web::layout::render_status;
use crate::web::redirect_with_flash;
use crate::web::roles::{BROKERS, COMMISSIONERS_AND_BROKERS, PROVIDERS};
use crate::web::{PageCtx, RequestCtx, RouteDef, get, post};
use crate::{AppError, AppState, Result};

pub fn routes() -> Vec<RouteDef> {
    vec![
        get("/brokerage/matching", COMMISSIONERS_AND_BROKERS, page),
        post("/brokerage/matching", BROKERS, send),
        post("/offers/capacity", PROVIDERS, declare),
        get(
            "/api/v1/brokerage/matching",
            COMMISSIONERS_AND_BROKERS,
            api_plan,
        ),
        post("/api/v1/offers/capacity", PROVIDERS, api_declare),
    ]
}

/// One suggested offer as the page shows it.
struct Row {
    request: CareRequest,
    provider: String,
    provider_name: String,
    rank: u32,
}

#[derive(Template)]
#[template(path = "brokerage/matching.html")]
struct MatchingPage {
    page: PageCtx,
    rows: Vec<Row>,
    unplaced: Vec<CareRequest>,
    placed_hours: i64,
    upper_bound_hours: i64,
    waiting_hours: i64,
    can_send: bool,
}

impl MatchingPage {
    fn hours(&self, h: &i64) -> String {
        caremarket_core::money::show_hundredths(*h)
    }
}

async fn page(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response> {
    let (plan, waiting) = matching::plan(&state).await?;
    let mut rows = Vec::new();
    for a in &plan.assignments {
        let Some(r) = waiting.iter().find(|r| r.id == a.request) else {
            continue;
        };
        rows.push(Row {
            request: r.clone(),
            provider: a.provider.clone(),
            provider_name: super::request_pages::provider_name(&state, &a.provider)
                .await?
                .unwrap_or_else(|| a.provider.clone()),
            rank: a.rank,
        });
    }
    let unplaced = waiting
        .iter()
        .filter(|r| plan.unplaced.contains(&r.id))
        .cloned()
        .collect();
    render_status(
        axum::http::StatusCode::OK,
        &MatchingPage {
            page: PageCtx::new(&state, &ctx, "Matching the awaiting care list"),
            rows,
            unplaced,
            placed_hours: plan.placed_hours,
            upper_bound_hours: plan.upper_bound_hours,
            waiting_hours: waiting.iter().map(|r| r.hours).sum(),
            can_send: matches!(ctx.user()?.role, Role::Admin | Role::Broker),
        },
    )
}

async fn send(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    let chosen: Vec<(i64, String)> = all_of(&f, "offer")
        .iter()
        .filter_map(|v| {
            let (id, p) = v.split_once(':')?;
            Some((id.parse().ok()?, p.to_string()))
        })
        .collect();
    if chosen.is_empty() {
        return Ok(redirect_with_flash(
            &state,
            "/brokerage/matching",
            "No offers chosen: nothing sent",
        ));
    }
    let malformed = all_of(&f, "offer").len() - chosen.len();
    let (n, not) = matching::send(&state, &Actor::from_ctx(&ctx), &chosen).await?;
    let not = not + malformed;
    Ok(redirect_with_flash(
        &state,
        "/brokerage/requests",
        &if not == 0 {
            format!("{n} offers sent from the matching")
        } else {
            format!(
                "{n} offers sent from the matching; {not} not sent (the request had moved on, or the provider is not on its lot)"
            )
        },
    ))
}

async fn declare(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    let provider = ctx.user()?.acting_for()?.own_provider()?;
    let lot: i64 = field(&f, "lot_id")
        .parse()
        .map_err(|_| AppError::NotFound)?;
    match matching::declare(
        &state,
        &Actor::from_ctx(&ctx),
        &provider,
        lot,
        &field(&f, "spare_hours"),
    )
    .await?
    {
        Ok(()) => Ok(redirect_with_flash(&state, "/offers", "Spare hours saved")),
        Err(m) => {
            let mut e = FormErrors::default();
            e.add(&format!("spare-{lot}"), m);
            super::request_pages::offers_view(&state, &ctx, e).await
        }
    }
}

#[utoipa::path(get, path = "/api/v1/brokerage/matching", tag = "brokerage",
    responses((status = 200, body = Object, description = "The suggested offers for everyone on the awaiting care list: assignments, unplaced request ids, hours placed and the most any plan could place")))]
pub async fn api_plan(State(state): State<AppState>) -> Result<Json<Plan>> {
    Ok(Json(matching::plan(&state).await?.0))
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct SpareBody {
    pub lot_id: i64,
    /// Spare hours a week on the lot, like "25"
    pub spare_hours: String,
}

#[utoipa::path(post, path = "/api/v1/offers/capacity", tag = "brokerage", request_body = SpareBody,
    responses((status = 200, body = Vec<matching::Spare>), (status = 422, description = "What to fix")))]
pub async fn api_declare(
    State(state): State<AppState>,
    ctx: RequestCtx,
    crate::web::json::ApiJson(b): crate::web::json::ApiJson<SpareBody>,
) -> Result<Json<Vec<matching::Spare>>> {
    let provider = ctx.user()?.acting_for()?.own_provider()?;
    match matching::declare(
        &state,
        &Actor::from_ctx(&ctx),
        &provider,
        b.lot_id,
        &b.spare_hours,
    )
    .await?
    {
        Ok(()) => Ok(Json(matching::spare_of(&state, Some(&provider)).await?)),
        Err(m) => Err(AppError::Unprocessable(m)),
    }
}
