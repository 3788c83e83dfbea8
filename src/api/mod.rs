//! The JSON API under `/api/v1`. Bearer tokens or a browser session (with an `X-CSRF-Token`
//! header for writes); the same access rules as the pages, because every route is declared
//! with the same [`Access`]. Errors are `application/problem+json`.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use caremarket_core::Role;
use serde::{Deserialize, Serialize};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::accounts::{self, tokens};
use crate::admin::{areas, settings, users};
use crate::audit::{self, Actor, AuditFilter, AuditRow};
use crate::web::forms::FormErrors;
use crate::web::{ADMIN, Access, RequestCtx, RouteDef, delete, get, post};
use crate::{AppError, AppState, Result};

pub fn routes() -> Vec<RouteDef> {
    use Access::*;
    vec![
        get("/api/v1/openapi.json", Public, openapi_json),
        get("/api/v1/me", SignedIn, me),
        get("/api/v1/tokens", SignedIn, list_tokens),
        post("/api/v1/tokens", SignedIn, create_token),
        delete("/api/v1/tokens/{id}", SignedIn, revoke_token),
        get("/api/v1/areas", SignedIn, list_areas),
        post("/api/v1/areas", ADMIN, add_area),
        get("/api/v1/users", ADMIN, list_users),
        post("/api/v1/users", ADMIN, invite_user),
        get("/api/v1/audit", ADMIN, list_audit),
        get("/api/v1/settings", ADMIN, get_settings),
    ]
}

/// JSON body whose rejections become problem+json like every other error.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(JsonRejection::JsonDataError(e)) => Err(AppError::Unprocessable(e.body_text())),
            Err(e) => Err(AppError::BadRequest(e.body_text())),
        }
    }
}

pub(crate) fn validation_problem(errors: FormErrors) -> AppError {
    AppError::Unprocessable(
        errors
            .items
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; "),
    )
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub id: i64,
    pub email: String,
    pub role: String,
    pub provider_id: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/me", tag = "accounts", responses((status = 200, body = Me), (status = 401, description = "Not signed in")))]
async fn me(ctx: RequestCtx) -> Result<Json<Me>> {
    let u = ctx.user()?;
    Ok(Json(Me {
        id: u.id,
        email: u.email.clone(),
        role: u.role.as_str().into(),
        provider_id: u.provider_id.clone(),
    }))
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "accounts", responses((status = 200, body = Vec<tokens::TokenRow>)))]
async fn list_tokens(
    State(state): State<AppState>,
    ctx: RequestCtx,
) -> Result<Json<Vec<tokens::TokenRow>>> {
    Ok(Json(tokens::list(&state, ctx.user()?.id).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct NewToken {
    pub name: String,
    /// How many days it lasts (the service's default when left out; at most its longest)
    #[serde(default)]
    pub days: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub token: tokens::TokenRow,
    /// The token itself: shown this once only.
    pub secret: String,
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "accounts", request_body = NewToken,
    responses((status = 201, body = CreatedToken), (status = 422, description = "Invalid name")))]
async fn create_token(
    State(state): State<AppState>,
    ctx: RequestCtx,
    ApiJson(b): ApiJson<NewToken>,
) -> Result<Response> {
    let name = b.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::Unprocessable(
            "name: enter a name of 1 to 100 characters".into(),
        ));
    }
    let u = ctx.user()?;
    // A token made with a token is its child: it ends when its parent does.
    let parent = match u.via {
        crate::web::AuthVia::ApiToken { token_id } => Some(token_id),
        _ => None,
    };
    let (row, secret) = tokens::create(
        &state,
        &Actor::from_ctx(&ctx),
        u.id,
        &tokens::NewToken {
            name,
            days: b.days,
            parent,
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken { token: row, secret }),
    )
        .into_response())
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "accounts", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, description = "No such token of yours")))]
async fn revoke_token(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    tokens::revoke(&state, &Actor::from_ctx(&ctx), ctx.user()?.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/areas", tag = "admin", responses((status = 200, body = Vec<areas::Area>)))]
async fn list_areas(State(state): State<AppState>) -> Result<Json<Vec<areas::Area>>> {
    Ok(Json(areas::list(&state).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct NewArea {
    pub name: String,
    pub ons_code: String,
}

#[utoipa::path(post, path = "/api/v1/areas", tag = "admin", request_body = NewArea,
    responses((status = 201, body = areas::Area), (status = 409, description = "Already in scope"), (status = 422, description = "Invalid")))]
async fn add_area(
    State(state): State<AppState>,
    ctx: RequestCtx,
    ApiJson(b): ApiJson<NewArea>,
) -> Result<Response> {
    let errors = areas::validate(&b.name, &b.ons_code);
    if !errors.is_empty() {
        return Err(validation_problem(errors));
    }
    let a = areas::add(&state, &Actor::from_ctx(&ctx), &b.name, &b.ons_code).await?;
    Ok((StatusCode::CREATED, Json(a)).into_response())
}

#[utoipa::path(get, path = "/api/v1/users", tag = "admin", responses((status = 200, body = Vec<users::UserView>)))]
async fn list_users(
    State(state): State<AppState>,
    ctx: RequestCtx,
) -> Result<Json<Vec<users::UserView>>> {
    Ok(Json(
        users::list_audited(&state, &Actor::from_ctx(&ctx)).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct NewUser {
    pub email: String,
    #[serde(default)]
    pub display_name: String,
    /// admin, commissioner, broker, provider or viewer
    pub role: String,
    /// Required for provider users, e.g. 1-101641521
    pub provider_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct InvitedUser {
    pub id: i64,
    /// The one-time link to set a password, when e-mail is not configured; otherwise null.
    pub invitation_link: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/users", tag = "admin", request_body = NewUser,
    responses((status = 201, body = InvitedUser), (status = 409, description = "E-mail already used"), (status = 422, description = "Invalid")))]
async fn invite_user(
    State(state): State<AppState>,
    ctx: RequestCtx,
    ApiJson(b): ApiJson<NewUser>,
) -> Result<Response> {
    let role: Role = b
        .role
        .parse()
        .map_err(|e: caremarket_core::role::UnknownRole| {
            AppError::Unprocessable(format!("role: {e}"))
        })?;
    let a = accounts::NewAccount {
        email: b.email.trim().to_lowercase(),
        display_name: b.display_name.trim().into(),
        role,
        provider_id: b
            .provider_id
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty()),
    };
    let mut errors = FormErrors::default();
    accounts::validate_new_account(&a, &mut errors);
    if !errors.is_empty() {
        return Err(validation_problem(errors));
    }
    if accounts::store::user_by_email(&state.db, &a.email)
        .await?
        .is_some()
    {
        return Err(AppError::Conflict(
            "A user with this email address already exists".into(),
        ));
    }
    let (id, link) = accounts::invite(&state, &Actor::from_ctx(&ctx), &a).await?;
    let invitation_link = state.config.smtp_url.is_none().then_some(link);
    Ok((
        StatusCode::CREATED,
        Json(InvitedUser {
            id,
            invitation_link,
        }),
    )
        .into_response())
}

#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    pub total: i64,
    pub page: i64,
    pub entries: Vec<AuditRow>,
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "admin", params(AuditFilter), responses((status = 200, body = AuditPage)))]
async fn list_audit(
    State(state): State<AppState>,
    Query(f): Query<AuditFilter>,
) -> Result<Json<AuditPage>> {
    let (entries, total) = audit::search(&state.db, &f, None).await?;
    Ok(Json(AuditPage {
        total,
        page: f.page.unwrap_or(1).max(1),
        entries,
    }))
}

#[utoipa::path(get, path = "/api/v1/settings", tag = "admin", responses((status = 200, body = settings::ServiceSettings)))]
async fn get_settings(State(state): State<AppState>) -> Json<settings::ServiceSettings> {
    Json((*state.settings()).clone())
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API token from Your account > API tokens"))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "caremarket API", description = "The adult social care market: accounts and administration. Errors are application/problem+json (RFC 9457)."),
    paths(me, list_tokens, create_token, revoke_token, list_areas, add_area, list_users, invite_user, list_audit, get_settings,
        crate::cqc::pages::api_locations, crate::cqc::pages::api_location, crate::cqc::pages::api_provider, crate::cqc::pages::api_imports, crate::market::pages::api_summary, crate::market::pages::api_breakdown, crate::quality::pages::api_summary, crate::quality::pages::api_visits, crate::quality::pages::api_visit, crate::quality::pages::api_plan, crate::quality::pages::api_risk, crate::quality::theme_pages::api_analysis, crate::quality::theme_pages::api_issues, crate::quality::theme_pages::api_issue_create, crate::capacity::pages::api_search, crate::capacity::pages::api_dashboard, crate::capacity::placement_pages::api_list, crate::capacity::at_risk_pages::api_list, crate::capacity::at_risk_pages::api_entry, crate::capacity::return_pages::api_trend, crate::quality::questionnaires::api_results, crate::capacity::pages::api_home, crate::capacity::pages::api_home_save, crate::sufficiency::pages::api_sufficiency, crate::sufficiency::pages::api_population, crate::cost_of_care::pages::api_overview, crate::cost_of_care::pages::api_model, crate::cost_of_care::pages::api_scenario, crate::cost_of_care::return_pages::api_returns, crate::brokerage::pages::api_lots, crate::brokerage::request_pages::api_requests, crate::brokerage::request_pages::api_request, crate::brokerage::request_pages::api_raise, crate::brokerage::request_pages::api_offers, crate::brokerage::request_pages::api_accept, crate::brokerage::request_pages::api_decline, crate::brokerage::awaiting_pages::api_awaiting, crate::brokerage::package_pages::api_packages, crate::brokerage::package_pages::api_package, crate::brokerage::package_pages::api_record, crate::brokerage::ranking_pages::api_rankings, crate::brokerage::matching_pages::api_plan, crate::brokerage::matching_pages::api_declare),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags((name = "accounts", description = "The signed-in user and their API tokens"), (name = "admin", description = "Users, areas in scope, settings and the audit log"), (name = "cqc", description = "CQC locations, providers, ratings and imports"), (name = "market", description = "Market dashboards: figures, breakdowns and comparisons"), (name = "quality", description = "Contracts register, QAF visits and the quality of the contracted market"), (name = "capacity", description = "Care home vacancies: kept by providers, found by brokers"), (name = "sufficiency", description = "Care home demand against supply by bed type, council and year; population estimates"), (name = "cost_of_care", description = "Cost of care models line by line, fee rates and the gap, uplift scenarios"), (name = "brokerage", description = "Home care lots and the framework, care requests and the offer cascade, providers' offers"))
)]
pub struct ApiDoc;

pub async fn openapi_json() -> Response {
    let doc = ApiDoc::openapi();
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        doc.to_pretty_json().unwrap_or_default(),
    )
        .into_response()
}
