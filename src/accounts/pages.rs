//! Thin handlers for the accounts pages: parse, call `accounts`, render.

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{SignIn, session, tokens};
use crate::audit::Actor;
use crate::web::forms::FormErrors;
use crate::web::layout::render_status;
use crate::web::redirect_with_flash;
use crate::web::{PageCtx, RequestCtx, render};
use crate::{AppError, AppState, Result};

/// Only local paths are followed after sign-in, so a link cannot send users elsewhere.
/// Browsers drop tabs and line breaks from a Location header and treat "\\" as "/", so
/// "/%09/evil.example" would become "//evil.example": only a plain local path is followed.
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(|c| c.is_control() || c.is_whitespace())
                && !n.to_ascii_lowercase().contains("%09")
                && !n.to_ascii_lowercase().contains("%0a")
                && !n.to_ascii_lowercase().contains("%0d")
                && !n.to_ascii_lowercase().contains("%5c")
                && n.parse::<axum::http::uri::PathAndQuery>().is_ok() =>
        {
            n
        }
        _ => "/",
    }
}

#[derive(Template)]
#[template(path = "accounts/sign_in.html")]
struct SignInPage {
    page: PageCtx,
    errors: FormErrors,
    email: String,
    next: String,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn sign_in_form(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Query(q): Query<NextQuery>,
) -> Result<Response> {
    if ctx.user.as_ref().is_some_and(|u| u.fully_signed_in()) {
        return Ok(Redirect::to(safe_next(q.next.as_deref())).into_response());
    }
    render(&SignInPage {
        page: PageCtx::new(&state, &ctx, "Sign in"),
        errors: FormErrors::default(),
        email: String::new(),
        next: safe_next(q.next.as_deref()).to_string(),
    })
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

pub async fn sign_in_submit(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Form(f): Form<SignInForm>,
) -> Result<Response> {
    let next = safe_next(f.next.as_deref()).to_string();
    let mut errors = FormErrors::default();
    if f.email.trim().is_empty() {
        errors.add("email", "Enter your email address");
    }
    if f.password.is_empty() {
        errors.add("password", "Enter your password");
    }
    if errors.is_empty() {
        match super::sign_in(&state, &ctx, &f.email, &f.password).await? {
            SignIn::Done {
                token,
                next: forced,
            } => {
                let to = if forced.is_empty() {
                    next.as_str()
                } else {
                    forced
                };
                let mut r = Redirect::to(to).into_response();
                r.headers_mut()
                    .append(header::SET_COOKIE, session::cookie(&state, &token));
                return Ok(r);
            }
            SignIn::Refused(msg) => errors.add("email", msg),
        }
    }
    render_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        &SignInPage {
            page: PageCtx::new(&state, &ctx, "Sign in"),
            errors,
            email: f.email,
            next,
        },
    )
}

pub async fn sign_out(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response> {
    super::sign_out(&state, &ctx).await?;
    let mut r = redirect_with_flash(&state, "/sign-in", "You have signed out");
    r.headers_mut()
        .append(header::SET_COOKIE, session::clear_cookie(&state));
    Ok(r)
}

#[derive(Template)]
#[template(path = "accounts/two_factor.html")]
struct TwoFactorPage {
    page: PageCtx,
    errors: FormErrors,
}

pub async fn two_factor_form(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response> {
    let u = ctx.user()?;
    if u.fully_signed_in() {
        return Ok(Redirect::to("/").into_response());
    }
    if !u.totp_enabled {
        return Ok(Redirect::to("/account/two-factor/set-up").into_response());
    }
    render(&TwoFactorPage {
        page: PageCtx::new(&state, &ctx, "Enter your security code"),
        errors: FormErrors::default(),
    })
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

pub async fn two_factor_submit(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Form(f): Form<CodeForm>,
) -> Result<Response> {
    match super::second_factor(&state, &ctx, &f.code).await? {
        Ok(()) => Ok(Redirect::to("/").into_response()),
        Err(msg) => {
            let mut errors = FormErrors::default();
            errors.add("code", msg);
            render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &TwoFactorPage {
                    page: PageCtx::new(&state, &ctx, "Enter your security code"),
                    errors,
                },
            )
        }
    }
}

#[derive(Template)]
#[template(path = "accounts/totp_setup.html")]
struct TotpSetupPage {
    page: PageCtx,
    errors: FormErrors,
    secret: String,
    secret_grouped: String,
    uri: String,
    required: bool,
}

async fn totp_setup_page(
    state: &AppState,
    ctx: &RequestCtx,
    errors: FormErrors,
) -> Result<Response> {
    let u = ctx.user()?;
    if u.totp_enabled {
        return Ok(Redirect::to("/account").into_response());
    }
    let secret = super::totp_begin(state, u.id).await?;
    let service = state.settings().service_name.clone();
    let grouped = secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).to_string())
        .collect::<Vec<_>>()
        .join(" ");
    let status = errors.status();
    render_status(
        status,
        &TotpSetupPage {
            page: PageCtx::new(state, ctx, "Set up two-factor authentication"),
            errors,
            uri: super::totp::otpauth_uri(&secret, &service, &u.email),
            secret_grouped: grouped,
            secret,
            required: !u.fully_signed_in(),
        },
    )
}

pub async fn totp_setup_form(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response> {
    totp_setup_page(&state, &ctx, FormErrors::default()).await
}

#[derive(Template)]
#[template(path = "accounts/recovery_codes.html")]
struct RecoveryCodesPage {
    page: PageCtx,
    codes: Vec<String>,
}

pub async fn totp_setup_submit(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Form(f): Form<CodeForm>,
) -> Result<Response> {
    match super::totp_confirm(&state, &ctx, &f.code).await? {
        Ok(codes) => {
            // The session has just passed the second factor: show the full navigation.
            let mut ctx = ctx.clone();
            if let Some(u) = ctx.user.as_mut()
                && let crate::web::AuthVia::Session { mfa_passed, .. } = &mut u.via
            {
                *mfa_passed = true;
                u.totp_enabled = true;
            }
            render(&RecoveryCodesPage {
                page: PageCtx::new(&state, &ctx, "Your recovery codes"),
                codes,
            })
        }
        Err(msg) => {
            let mut errors = FormErrors::default();
            errors.add("code", msg);
            totp_setup_page(&state, &ctx, errors).await
        }
    }
}

pub async fn recovery_codes_regenerate(
    State(state): State<AppState>,
    ctx: RequestCtx,
) -> Result<Response> {
    let codes = super::regenerate_recovery_codes(&state, &ctx).await?;
    render(&RecoveryCodesPage {
        page: PageCtx::new(&state, &ctx, "Your recovery codes"),
        codes,
    })
}

#[derive(Template)]
#[template(path = "accounts/account.html")]
struct AccountPage {
    page: PageCtx,
    email: String,
    role: String,
    provider_id: String,
    totp_enabled: bool,
    recovery_left: i64,
}

pub async fn account(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response> {
    let u = ctx.user()?;
    render(&AccountPage {
        page: PageCtx::new(&state, &ctx, "Your account"),
        email: u.email.clone(),
        role: u.role.label().to_string(),
        provider_id: u.provider_id.clone().unwrap_or_default(),
        totp_enabled: u.totp_enabled,
        recovery_left: super::unused_recovery_codes(&state, u.id).await?,
    })
}

#[derive(Template)]
#[template(path = "accounts/password.html")]
struct PasswordPage {
    page: PageCtx,
    errors: FormErrors,
    /// Signed in with a one-time password: say why this page comes first.
    first_time: bool,
    end_tokens: bool,
    live_tokens: usize,
}

async fn password_page(
    state: &AppState,
    ctx: &RequestCtx,
    errors: FormErrors,
    end_tokens: bool,
) -> Result<PasswordPage> {
    let u = ctx.user()?;
    let live_tokens = tokens::list(state, u.id)
        .await?
        .iter()
        .filter(|t| t.revoked_at.is_none() && !t.expired(state.clock.now()))
        .count();
    Ok(PasswordPage {
        page: PageCtx::new(state, ctx, "Change your password"),
        errors,
        first_time: u.must_change_password,
        end_tokens,
        live_tokens,
    })
}

pub async fn password_form(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response> {
    render(&password_page(&state, &ctx, FormErrors::default(), true).await?)
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
    /// Ticked by default: tokens made while the old password was known end with it.
    end_tokens: Option<String>,
}

pub async fn password_submit(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Form(f): Form<PasswordForm>,
) -> Result<Response> {
    let end_tokens = f.end_tokens.is_some();
    match super::change_password(
        &state,
        &ctx,
        &f.current_password,
        &f.new_password,
        &f.confirm_password,
        end_tokens,
    )
    .await?
    {
        Ok(()) => Ok(redirect_with_flash(
            &state,
            "/account",
            "Your password has been changed",
        )),
        Err(errors) => render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &password_page(&state, &ctx, errors, end_tokens).await?,
        ),
    }
}

#[derive(Template)]
#[template(path = "accounts/tokens.html")]
struct TokensPage {
    page: PageCtx,
    errors: FormErrors,
    tokens: Vec<tokens::TokenRow>,
    new_token: Option<String>,
    name: String,
    days: String,
    days_hint: String,
    now: chrono::DateTime<chrono::Utc>,
}

async fn tokens_view(
    state: &AppState,
    ctx: &RequestCtx,
    errors: FormErrors,
    new_token: Option<String>,
    (name, days): (String, String),
) -> Result<Response> {
    let u = ctx.user()?;
    let status = errors.status();
    let s = state.settings();
    render_status(
        status,
        &TokensPage {
            page: PageCtx::new(state, ctx, "API tokens"),
            errors,
            tokens: tokens::list(state, u.id).await?,
            new_token,
            name,
            days,
            days_hint: format!(
                "From 1 to {} days; leave empty for {} days. It stops working after that, and when you change your password.",
                s.token_max_days,
                s.token_default_days.min(s.token_max_days)
            ),
            now: state.clock.now(),
        },
    )
}

pub async fn tokens_page(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response> {
    tokens_view(
        &state,
        &ctx,
        FormErrors::default(),
        None,
        Default::default(),
    )
    .await
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    name: String,
    /// How many days it lasts; empty for the service's default.
    #[serde(default)]
    days: String,
}

pub async fn token_create(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Form(f): Form<TokenForm>,
) -> Result<Response> {
    let u = ctx.user()?;
    let name = f.name.trim().to_string();
    let mut errors = FormErrors::default();
    if name.is_empty() {
        errors.add(
            "name",
            "Enter a name for the token, like \"Vacancy upload from our care system\"",
        );
    } else if name.chars().count() > 100 {
        errors.add("name", "Token name must be 100 characters or fewer");
    }
    let days = match f.days.trim() {
        "" => None,
        d => match d.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                errors.add("days", "Enter how many days the token lasts, like 90");
                None
            }
        },
    };
    if errors.is_empty()
        && let Err(m) = tokens::check_days(&state, days)
    {
        errors.add("days", &m);
    }
    if !errors.is_empty() {
        return tokens_view(&state, &ctx, errors, None, (f.name, f.days)).await;
    }
    let (_, token) = tokens::create(
        &state,
        &Actor::from_ctx(&ctx),
        u.id,
        &tokens::NewToken {
            name: &name,
            days,
            parent: None,
        },
    )
    .await?;
    tokens_view(
        &state,
        &ctx,
        FormErrors::default(),
        Some(token),
        Default::default(),
    )
    .await
}

pub async fn token_revoke(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    let u = ctx.user()?;
    tokens::revoke(&state, &Actor::from_ctx(&ctx), u.id, id).await?;
    Ok(redirect_with_flash(
        &state,
        "/account/tokens",
        "The token has been revoked",
    ))
}

#[derive(Template)]
#[template(path = "accounts/notifications.html")]
struct NotificationsPage {
    page: PageCtx,
    items: Vec<crate::mail::Notification>,
}

pub async fn notifications(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response> {
    let u = ctx.user()?;
    render(&NotificationsPage {
        page: PageCtx::new(&state, &ctx, "Notifications"),
        items: crate::mail::list_for(&state, u.id).await?,
    })
}

#[derive(Template)]
#[template(path = "accounts/reset_request.html")]
struct ResetRequestPage {
    page: PageCtx,
    errors: FormErrors,
    email: String,
    sent: bool,
}

pub async fn reset_request_form(
    State(state): State<AppState>,
    ctx: RequestCtx,
) -> Result<Response> {
    render(&ResetRequestPage {
        page: PageCtx::new(&state, &ctx, "Reset your password"),
        errors: FormErrors::default(),
        email: String::new(),
        sent: false,
    })
}

#[derive(Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    email: String,
}

pub async fn reset_request_submit(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Form(f): Form<EmailForm>,
) -> Result<Response> {
    let mut errors = FormErrors::default();
    if !crate::web::forms::valid_email(&f.email) {
        errors.add(
            "email",
            "Enter an email address in the correct format, like name@council.gov.uk",
        );
        return render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &ResetRequestPage {
                page: PageCtx::new(&state, &ctx, "Reset your password"),
                errors,
                email: f.email,
                sent: false,
            },
        );
    }
    // The same answer whether or not the account exists.
    super::request_reset(&state, &Actor::from_ctx(&ctx), &f.email).await?;
    render(&ResetRequestPage {
        page: PageCtx::new(&state, &ctx, "Check your email"),
        errors,
        email: f.email,
        sent: true,
    })
}

#[derive(Template)]
#[template(path = "accounts/set_password.html")]
struct SetPasswordPage {
    page: PageCtx,
    errors: FormErrors,
    email: String,
    invitation: bool,
    token: String,
}

pub async fn set_password_form(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(token): Path<String>,
) -> Result<Response> {
    let Some((link, user)) = super::valid_link(&state, &token).await? else {
        return Err(AppError::NotFound);
    };
    render(&SetPasswordPage {
        page: PageCtx::new(&state, &ctx, "Set your password"),
        errors: FormErrors::default(),
        email: user.email,
        invitation: link.purpose == "invitation",
        token,
    })
}

#[derive(Deserialize)]
pub struct SetPasswordForm {
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

pub async fn set_password_submit(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(token): Path<String>,
    Form(f): Form<SetPasswordForm>,
) -> Result<Response> {
    let Some((link, user)) = super::valid_link(&state, &token).await? else {
        return Err(AppError::NotFound);
    };
    match super::set_password_from_link(&state, &ctx, &token, &f.new_password, &f.confirm_password)
        .await?
    {
        Ok(()) => Ok(redirect_with_flash(
            &state,
            "/sign-in",
            "Your password has been set: you can now sign in",
        )),
        Err(errors) => render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &SetPasswordPage {
                page: PageCtx::new(&state, &ctx, "Set your password"),
                errors,
                email: user.email,
                invitation: link.purpose == "invitation",
                token,
            },
        ),
    }
}

// The JSON API (/api/v1): the same rules as the pages above, for programs.

use crate::web::json::ApiJson;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub id: i64,
    pub email: String,
    pub role: String,
    pub provider_id: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/me", tag = "accounts", responses((status = 200, body = Me), (status = 401, description = "Not signed in")))]
pub async fn me(ctx: RequestCtx) -> Result<Json<Me>> {
    let u = ctx.user()?;
    Ok(Json(Me {
        id: u.id,
        email: u.email.clone(),
        role: u.role.as_str().into(),
        provider_id: u.provider_id.clone(),
    }))
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "accounts", responses((status = 200, body = Vec<tokens::TokenRow>)))]
pub async fn list_tokens(
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
pub async fn create_token(
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
pub async fn revoke_token(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    tokens::revoke(&state, &Actor::from_ctx(&ctx), ctx.user()?.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
