//! Pages and API for provider returns.

use askama::Template;
use axum::Json;
use axum::extract::{Form, Path, Query, State};
use axum::response::Response;
use caremarket_core::Role;
use chrono::NaiveDate;
use std::collections::BTreeMap;

use super::returns as rt;
use crate::audit::Actor;
use crate::web::forms::{FormErrors, Pairs, field};
use crate::web::layout::render_status;
use crate::web::redirect_with_flash;
use crate::web::roles::{ADMIN, COMMISSIONERS, PROVIDERS};
use crate::web::{PageCtx, RequestCtx, RouteDef, get, post};
use crate::{AppError, AppState, Result};

pub fn routes() -> Vec<RouteDef> {
    vec![
        get("/capacity/returns", PROVIDERS, mine),
        get("/capacity/returns/{def}/{period}", PROVIDERS, form_page),
        post("/capacity/returns/{def}/{period}", PROVIDERS, submit),
        get("/capacity/returns/overview", COMMISSIONERS, overview),
        post("/capacity/returns/definitions", ADMIN, define),
        get("/api/v1/capacity/returns/trend", COMMISSIONERS, api_trend),
    ]
}

#[derive(Template)]
#[template(path = "capacity/returns.html")]
struct MinePage {
    page: PageCtx,
    periods: Vec<rt::PeriodStatus>,
}

async fn mine(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response> {
    let p = ctx.user()?.acting_for()?.own_provider()?;
    render_status(
        axum::http::StatusCode::OK,
        &MinePage {
            page: PageCtx::new(&state, &ctx, "Your returns"),
            periods: rt::provider_periods(&state, &p, 6).await?,
        },
    )
}

#[derive(Template)]
#[template(path = "capacity/return_form.html")]
struct FormPage {
    page: PageCtx,
    errors: FormErrors,
    d: rt::Definition,
    period: NaiveDate,
    values: BTreeMap<String, String>,
}

impl FormPage {
    /// A yes/no field's answer, typed ("yes") or saved (1).
    fn answered(&self, key: &str, want: &str) -> bool {
        self.values
            .get(key)
            .is_some_and(|v| v == want || (want == "yes" && v == "1") || (want == "no" && v == "0"))
    }
}

async fn show_form(
    state: &AppState,
    ctx: &RequestCtx,
    def: i64,
    period: NaiveDate,
    errors: FormErrors,
    values: BTreeMap<String, String>,
) -> Result<Response> {
    let d = rt::definition(state, def).await?;
    render_status(
        errors.status(),
        &FormPage {
            page: PageCtx::new(state, ctx, d.name.clone()),
            errors,
            d,
            period,
            values,
        },
    )
}

async fn form_page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path((def, period)): Path<(i64, NaiveDate)>,
) -> Result<Response> {
    let p = ctx.user()?.acting_for()?.own_provider()?;
    let prior: Option<String> = state
        .db
        .q()
        .scalar_optional(
            "SELECT answers FROM return_submissions WHERE definition_id = $1 AND provider_id = $2 AND period_start = $3",
            crate::args![def, &p, period],
        )
        .await?;
    let values = prior
        .and_then(|a| serde_json::from_str::<BTreeMap<String, f64>>(&a).ok())
        .map(|m| m.into_iter().map(|(k, v)| (k, format!("{v}"))).collect())
        .unwrap_or_default();
    show_form(&state, &ctx, def, period, FormErrors::default(), values).await
}

async fn submit(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path((def, period)): Path<(i64, NaiveDate)>,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    let p = ctx.user()?.acting_for()?.own_provider()?;
    let d = rt::definition(&state, def).await?;
    let values: BTreeMap<String, String> = d
        .fields
        .iter()
        .map(|x| (x.key.clone(), field(&f, &x.key)))
        .collect();
    match rt::submit(&state, &Actor::from_ctx(&ctx), &p, def, period, &values).await? {
        Ok(()) => Ok(redirect_with_flash(
            &state,
            "/capacity/returns",
            &format!(
                "{} for the period from {} sent",
                d.name,
                period.format("%-d %B %Y")
            ),
        )),
        Err(e) => show_form(&state, &ctx, def, period, e, values).await,
    }
}

#[derive(Template)]
#[template(path = "capacity/returns_overview.html")]
struct OverviewPage {
    page: PageCtx,
    errors: FormErrors,
    /// (definition, its trend)
    trends: Vec<(rt::Definition, Vec<rt::Trend>)>,
    overdue: Vec<(String, String, u64)>,
    is_admin: bool,
    provider: String,
    form: (String, String, String, String),
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct TrendQuery {
    /// A return definition's id (default: every one)
    pub definition: Option<i64>,
    /// One provider's returns only
    pub provider: Option<String>,
}

async fn overview_view(
    state: &AppState,
    ctx: &RequestCtx,
    q: &TrendQuery,
    errors: FormErrors,
    form: (String, String, String, String),
) -> Result<Response> {
    let defs = rt::definitions(state).await?;
    let provider = q.provider.clone().filter(|p| !p.trim().is_empty());
    let mut trends = Vec::new();
    for d in &defs {
        trends.push((
            d.clone(),
            rt::trend(state, d.id, provider.as_deref()).await?,
        ));
    }
    render_status(
        errors.status(),
        &OverviewPage {
            page: PageCtx::new(state, ctx, "Provider returns"),
            overdue: rt::overdue(state).await?,
            is_admin: ctx.user.as_ref().is_some_and(|u| u.role == Role::Admin),
            provider: provider.unwrap_or_default(),
            errors,
            trends,
            form,
        },
    )
}

async fn overview(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Query(q): Query<TrendQuery>,
) -> Result<Response> {
    overview_view(&state, &ctx, &q, FormErrors::default(), Default::default()).await
}

async fn define(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    let form = (
        field(&f, "name"),
        field(&f, "frequency"),
        field(&f, "fields"),
        field(&f, "providers"),
    );
    match rt::define(
        &state,
        &Actor::from_ctx(&ctx),
        &form.0,
        &form.1,
        &form.2,
        &form.3,
    )
    .await?
    {
        Ok(_) => Ok(redirect_with_flash(
            &state,
            "/capacity/returns/overview",
            "Return added",
        )),
        Err(e) => overview_view(&state, &ctx, &TrendQuery::default(), e, form).await,
    }
}

#[utoipa::path(get, path = "/api/v1/capacity/returns/trend", tag = "capacity", params(TrendQuery), responses((status = 200, body = Vec<rt::Trend>)))]
pub async fn api_trend(
    State(state): State<AppState>,
    Query(q): Query<TrendQuery>,
) -> Result<Json<Vec<rt::Trend>>> {
    let defs = rt::definitions(&state).await?;
    let id = q
        .definition
        .or(defs.first().map(|d| d.id))
        .ok_or(AppError::NotFound)?;
    Ok(Json(rt::trend(&state, id, q.provider.as_deref()).await?))
}
