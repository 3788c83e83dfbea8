//! Pages and API for packages: brokers start them from placed requests, review and end them;
//! providers see their own, record the hours delivered each week (form, API or CSV) and see
//! the banked hours ledger. A provider asking for another provider's package is told it is
//! not found.

use askama::Template;
use axum::Json;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use caremarket_core::Role;
use chrono::NaiveDate;

use super::packages::{self, END_REASONS, LedgerLine, Package, Review};
use crate::audit::Actor;
use crate::web::forms::{FormErrors, Pairs, field};
use crate::web::layout::render_status;
use crate::web::redirect_with_flash;
use crate::web::roles::{
    BROKERS, COMMISSIONERS_AND_BROKERS, COMMISSIONERS_BROKERS_AND_PROVIDERS, PROVIDERS,
};
use crate::web::{PageCtx, RequestCtx, RouteDef, get, post};
use crate::{AppError, AppState, Result};

pub fn routes() -> Vec<RouteDef> {
    vec![
        get(
            "/brokerage/packages",
            COMMISSIONERS_AND_BROKERS,
            packages_page,
        ),
        post("/brokerage/requests/{id}/package", BROKERS, start),
        get(
            "/brokerage/packages/{id}",
            COMMISSIONERS_AND_BROKERS,
            package_page,
        ),
        post("/brokerage/packages/{id}/review", BROKERS, review),
        post("/brokerage/packages/{id}/end", BROKERS, end),
        get("/packages", PROVIDERS, own_packages_page),
        get("/packages/{id}", PROVIDERS, own_package_page),
        post("/packages/{id}/hours", PROVIDERS, record),
        crate::web::with_body_limit(
            post("/packages/hours/import", PROVIDERS, import),
            crate::web::COUNCIL_UPLOAD_LIMIT,
        ),
        get(
            "/api/v1/packages",
            COMMISSIONERS_BROKERS_AND_PROVIDERS,
            api_packages,
        ),
        get(
            "/api/v1/packages/{id}",
            COMMISSIONERS_BROKERS_AND_PROVIDERS,
            api_package,
        ),
        post("/api/v1/packages/{id}/hours", PROVIDERS, api_record),
    ]
}

fn hours(h: &i64) -> String {
    caremarket_core::money::show_hundredths(*h)
}

/// The package, if this user may see it: staff see all, a provider only its own.
async fn visible(state: &AppState, ctx: &RequestCtx, id: i64) -> Result<Package> {
    let p = packages::get(state, id).await?;
    let u = ctx.user()?;
    if !u.acting_for()?.may_see(Some(&p.provider_id)) {
        return Err(AppError::NotFound);
    }
    Ok(p)
}

#[derive(Template)]
#[template(path = "brokerage/packages.html")]
struct PackagesPage {
    page: PageCtx,
    packages: Vec<Package>,
    base: &'static str,
    for_provider: bool,
    errors: FormErrors,
    problems: String,
}

impl PackagesPage {
    fn hours(&self, h: &i64) -> String {
        hours(h)
    }
    fn reason(&self, r: &Option<String>) -> String {
        r.as_deref()
            .map(|k| super::requests::label(&END_REASONS, k).to_string())
            .unwrap_or_default()
    }
}

async fn list_view(
    state: &AppState,
    ctx: &RequestCtx,
    errors: FormErrors,
    problems: String,
) -> Result<Response> {
    let acting = ctx.user()?.acting_for()?;
    let provider = acting.provider();
    render_status(
        errors.status(),
        &PackagesPage {
            page: PageCtx::new(
                state,
                ctx,
                if provider.is_some() {
                    "Your home care packages"
                } else {
                    "Home care packages"
                },
            ),
            packages: packages::list(state, provider).await?,
            base: if provider.is_some() {
                "/packages"
            } else {
                "/brokerage/packages"
            },
            for_provider: provider.is_some(),
            errors,
            problems,
        },
    )
}

async fn packages_page(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response> {
    list_view(&state, &ctx, FormErrors::default(), String::new()).await
}

async fn own_packages_page(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response> {
    list_view(&state, &ctx, FormErrors::default(), String::new()).await
}

#[derive(Template)]
#[template(path = "brokerage/package.html")]
struct PackagePage {
    page: PageCtx,
    p: Package,
    reviews: Vec<Review>,
    ledger: Vec<LedgerLine>,
    balance: i64,
    unrecorded: usize,
    for_provider: bool,
    can_manage: bool,
    errors: FormErrors,
    reasons: Vec<(&'static str, &'static str)>,
    this_week: NaiveDate,
    cap: i64,
    expiry_weeks: i64,
}

impl PackagePage {
    fn hours(&self, h: &i64) -> String {
        hours(h)
    }
    fn reason(&self) -> String {
        self.p
            .end_reason
            .as_deref()
            .map(|k| super::requests::label(&END_REASONS, k).to_string())
            .unwrap_or_default()
    }
}

async fn detail(
    state: &AppState,
    ctx: &RequestCtx,
    id: i64,
    errors: FormErrors,
) -> Result<Response> {
    let p = visible(state, ctx, id).await?;
    let ledger = packages::ledger_of(state, &p).await?;
    let role = ctx.user()?.role;
    let rules = state.settings().brokerage.clone();
    let today = state.clock.now().date_naive();
    render_status(
        errors.status(),
        &PackagePage {
            page: PageCtx::new(state, ctx, format!("Package {}", p.case_ref)),
            reviews: packages::reviews(state, id).await?,
            balance: ledger.last().map_or(0, |l| l.row.balance),
            unrecorded: ledger.iter().filter(|l| !l.recorded).count(),
            ledger,
            for_provider: role == Role::Provider,
            can_manage: matches!(role, Role::Admin | Role::Broker),
            errors,
            reasons: END_REASONS.to_vec(),
            this_week: packages::week_of(&p, p.end_date.map_or(today, |e| e.min(today))),
            cap: rules.bank.cap_hundredths,
            expiry_weeks: rules.bank.expiry_weeks,
            p,
        },
    )
}

async fn package_page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    detail(&state, &ctx, id, FormErrors::default()).await
}

async fn own_package_page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    detail(&state, &ctx, id, FormErrors::default()).await
}

async fn start(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    match packages::start(
        &state,
        &Actor::from_ctx(&ctx),
        id,
        &field(&f, "start_date"),
        &field(&f, "planned_hours"),
        &field(&f, "next_review"),
    )
    .await?
    {
        Ok(p) => Ok(redirect_with_flash(
            &state,
            &format!("/brokerage/packages/{p}"),
            "Care has started: the package is recorded",
        )),
        Err(e) => super::request_pages::request_view(&state, &ctx, id, e).await,
    }
}

async fn review(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    let p = visible(&state, &ctx, id).await?;
    match packages::review(
        &state,
        &Actor::from_ctx(&ctx),
        &p,
        &field(&f, "reviewed_on"),
        &field(&f, "review_hours"),
        &field(&f, "note"),
        &field(&f, "next_review"),
    )
    .await?
    {
        Ok(()) => Ok(redirect_with_flash(
            &state,
            &format!("/brokerage/packages/{id}"),
            "Review recorded",
        )),
        Err(e) => detail(&state, &ctx, id, e).await,
    }
}

async fn end(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    let p = visible(&state, &ctx, id).await?;
    match packages::end(
        &state,
        &Actor::from_ctx(&ctx),
        &p,
        &field(&f, "end_date"),
        &field(&f, "end_reason"),
        &field(&f, "end_note"),
    )
    .await?
    {
        Ok(()) => Ok(redirect_with_flash(
            &state,
            &format!("/brokerage/packages/{id}"),
            "Package ended",
        )),
        Err(e) => detail(&state, &ctx, id, e).await,
    }
}

async fn record_one(
    state: &AppState,
    ctx: &RequestCtx,
    id: i64,
    week: &str,
    delivered: &str,
    source: &str,
) -> Result<std::result::Result<(), FormErrors>> {
    let p = visible(state, ctx, id).await?;
    let mut e = FormErrors::default();
    let w = caremarket_core::cqc::parse_date(week, false).ok();
    if w.is_none() {
        e.add(
            "week_start",
            "Enter the date the week starts, like 07/12/2026",
        );
    }
    let d = caremarket_core::money::parse_hundredths(delivered, false).ok();
    if d.is_none() {
        e.add(
            "delivered",
            "Enter the hours delivered in the week, like 9.5",
        );
    }
    let (Some(w), Some(d)) = (w, d) else {
        return Ok(Err(e));
    };
    match packages::record_hours(state, &Actor::from_ctx(ctx), &p, w, d, source).await? {
        Ok(()) => Ok(Ok(())),
        Err(m) => {
            e.add(
                if m.contains("hours") {
                    "delivered"
                } else {
                    "week_start"
                },
                m,
            );
            Ok(Err(e))
        }
    }
}

async fn record(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    match record_one(
        &state,
        &ctx,
        id,
        &field(&f, "week_start"),
        &field(&f, "delivered"),
        "form",
    )
    .await?
    {
        Ok(()) => Ok(redirect_with_flash(
            &state,
            &format!("/packages/{id}"),
            "Hours recorded",
        )),
        Err(e) => detail(&state, &ctx, id, e).await,
    }
}

async fn import(
    State(state): State<AppState>,
    ctx: RequestCtx,
    up: crate::web::forms::Upload,
) -> Result<Response> {
    let mut errors = FormErrors::default();
    let Some((name, bytes)) = &up.file else {
        errors.add("file", "Select a file of delivered hours (CSV or XLSX)");
        return list_view(&state, &ctx, errors, String::new()).await;
    };
    let acting = ctx.user()?.acting_for()?;
    let provider = acting.provider();
    match packages::import_hours(&state, &Actor::from_ctx(&ctx), provider, name, bytes).await {
        Ok(n) => Ok(redirect_with_flash(
            &state,
            "/packages",
            &format!("{n} weeks of delivered hours loaded from {name}"),
        )),
        Err(report) => {
            errors.add(
                "file",
                "The file was not loaded: nothing has changed. The problems are listed below.",
            );
            list_view(&state, &ctx, errors, report).await
        }
    }
}

// ---------------------------------------------------------------------------------------
// API

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct PackageDetail {
    #[serde(flatten)]
    pub package: Package,
    pub reviews: Vec<Review>,
    pub ledger: Vec<LedgerLine>,
}

#[utoipa::path(get, path = "/api/v1/packages", tag = "brokerage", responses((status = 200, body = Vec<Package>, description = "All packages; a provider's own for provider users")))]
pub async fn api_packages(
    State(state): State<AppState>,
    ctx: RequestCtx,
) -> Result<Json<Vec<Package>>> {
    let acting = ctx.user()?.acting_for()?;
    let provider = acting.provider();
    Ok(Json(packages::list(&state, provider).await?))
}

#[utoipa::path(get, path = "/api/v1/packages/{id}", tag = "brokerage", params(("id" = i64, Path)), responses((status = 200, body = PackageDetail)))]
pub async fn api_package(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
) -> Result<Json<PackageDetail>> {
    let p = visible(&state, &ctx, id).await?;
    Ok(Json(PackageDetail {
        reviews: packages::reviews(&state, id).await?,
        ledger: packages::ledger_of(&state, &p).await?,
        package: p,
    }))
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct HoursBody {
    /// The first day of the week (yyyy-mm-dd or dd/mm/yyyy)
    pub week_start: String,
    /// Hours delivered that week, like "9.5"
    pub delivered: String,
}

#[utoipa::path(post, path = "/api/v1/packages/{id}/hours", tag = "brokerage", params(("id" = i64, Path)), request_body = HoursBody,
    responses((status = 200, body = PackageDetail), (status = 422, description = "What to fix")))]
pub async fn api_record(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
    crate::web::json::ApiJson(b): crate::web::json::ApiJson<HoursBody>,
) -> Result<Response> {
    match record_one(&state, &ctx, id, &b.week_start, &b.delivered, "api").await? {
        Ok(()) => Ok((
            StatusCode::OK,
            api_package(State(state), ctx, Path(id)).await?,
        )
            .into_response()),
        Err(e) => Err(crate::web::json::validation_problem(e)),
    }
}
