//! Admin pages for users: list with last sign-in, invite, change role, disable or enable,
//! and send a password-reset link.

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use caremarket_core::Role;
use serde::Deserialize;

use crate::accounts::store::{self, UserRow};
use crate::accounts::{self, NewAccount};
use crate::audit::{self, Actor};
use crate::web::forms::{FormErrors, opt};
use crate::web::layout::render_status;
use crate::web::redirect_with_flash;
use crate::web::{PageCtx, RequestCtx, render};
use crate::{AppError, AppState, Result, args};

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub provider_id: Option<String>,
    /// active, invited (no password yet) or disabled
    pub status: String,
    pub two_factor: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub last_sign_in_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<&UserRow> for UserView {
    fn from(u: &UserRow) -> Self {
        UserView {
            id: u.id,
            email: u.email.clone(),
            display_name: u.display_name.clone(),
            role: u.role.clone(),
            provider_id: u.provider_id.clone(),
            status: if u.disabled {
                "disabled"
            } else if u.password_hash.is_none() {
                "invited"
            } else {
                "active"
            }
            .into(),
            two_factor: u.totp_enabled,
            created_at: u.created_at,
            last_sign_in_at: u.last_sign_in_at,
        }
    }
}

impl UserView {
    pub fn role_label(&self) -> String {
        self.role
            .parse::<Role>()
            .map(|r| r.label().to_string())
            .unwrap_or_default()
    }
    pub fn last_sign_in(&self) -> String {
        self.last_sign_in_at
            .map(|t| t.format("%d %b %Y %H:%M").to_string())
            .unwrap_or_else(|| "Never".into())
    }
}

/// Enabled admins other than `except`: the service must never be left without one.
async fn other_enabled_admins(state: &AppState, except: i64) -> Result<i64> {
    Ok(state
        .db
        .q()
        .scalar(
            "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = FALSE AND id <> $1",
            args![except],
        )
        .await?)
}

pub async fn change_role(
    state: &AppState,
    actor: &Actor,
    id: i64,
    role: Role,
    provider_id: Option<String>,
) -> Result<Result<(), FormErrors>> {
    let before = store::user_by_id(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut errors = FormErrors::default();
    let a = NewAccount {
        email: before.email.clone(),
        display_name: before.display_name.clone(),
        role,
        provider_id,
    };
    accounts::validate_new_account(&a, &mut errors);
    if before.role == "admin" && role != Role::Admin && other_enabled_admins(state, id).await? == 0
    {
        errors.add(
            "role",
            "This is the only enabled administrator: make another user an administrator first",
        );
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    tx.execute(
        "UPDATE users SET role = $1, provider_id = $2 WHERE id = $3",
        args![role.as_str(), a.provider_id.as_deref(), id],
    )
    .await?;
    // A new role takes effect at the next sign-in: end the user's sessions now.
    store::delete_sessions_of(&mut tx, id, None).await?;
    let after = store::user_by_id_tx(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    audit::entry("user.change_role", "user", id)
        .before(before.audit_json())
        .after(after.audit_json())
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

pub async fn set_disabled(
    state: &AppState,
    actor: &Actor,
    id: i64,
    disabled: bool,
) -> Result<Result<(), String>> {
    let before = store::user_by_id(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if disabled && before.role == "admin" && other_enabled_admins(state, id).await? == 0 {
        return Ok(Err(
            "This is the only enabled administrator and cannot be disabled".into(),
        ));
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    tx.execute(
        "UPDATE users SET disabled = $1 WHERE id = $2",
        args![disabled, id],
    )
    .await?;
    if disabled {
        store::delete_sessions_of(&mut tx, id, None).await?;
        // Tokens stop working too: a disabled user's token is refused at authentication,
        // and revoking them makes that visible on the token list.
        tx.execute(
            "UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
            args![now, id],
        )
        .await?;
    }
    let after = store::user_by_id_tx(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    audit::entry(
        if disabled {
            "user.disable"
        } else {
            "user.enable"
        },
        "user",
        id,
    )
    .before(before.audit_json())
    .after(after.audit_json())
    .write(&mut tx, actor, now)
    .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Admin turns off a user's second factor (lost phone and codes); they set it up again at
/// their next sign-in if their role needs it.
pub async fn reset_two_factor(state: &AppState, actor: &Actor, id: i64) -> Result<()> {
    let before = store::user_by_id(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    tx.execute(
        "UPDATE users SET totp_enabled = FALSE, totp_secret = NULL, totp_last_step = NULL WHERE id = $1",
        args![id],
    )
    .await?;
    tx.execute("DELETE FROM recovery_codes WHERE user_id = $1", args![id])
        .await?;
    store::delete_sessions_of(&mut tx, id, None).await?;
    let after = store::user_by_id_tx(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    audit::entry("user.reset_two_factor", "user", id)
        .before(before.audit_json())
        .after(after.audit_json())
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Reading the user list is a read of staff personal data: it is audited.
pub async fn list_audited(state: &AppState, actor: &Actor) -> Result<Vec<UserView>> {
    let users = store::list_users(&state.db).await?;
    let mut tx = state.db.begin().await?;
    audit::entry("user.list", "user", "")
        .after(serde_json::json!({"count": users.len()}))
        .write(&mut tx, actor, state.clock.now())
        .await?;
    tx.commit().await?;
    Ok(users.iter().map(UserView::from).collect())
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    page: PageCtx,
    users: Vec<UserView>,
}

pub async fn users_page(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response> {
    render(&UsersPage {
        page: PageCtx::new(&state, &ctx, "Users"),
        users: list_audited(&state, &Actor::from_ctx(&ctx)).await?,
    })
}

#[derive(Template)]
#[template(path = "admin/user_new.html")]
struct NewUserPage {
    page: PageCtx,
    errors: FormErrors,
    email: String,
    display_name: String,
    role: String,
    provider_id: String,
    roles: Vec<(String, String, String)>,
}

fn role_choices() -> Vec<(String, String, String)> {
    Role::ALL
        .iter()
        .map(|r| {
            (
                r.as_str().to_string(),
                r.label().to_string(),
                r.description().to_string(),
            )
        })
        .collect()
}

pub async fn user_new_form(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response> {
    render(&NewUserPage {
        page: PageCtx::new(&state, &ctx, "Invite a user"),
        errors: FormErrors::default(),
        email: String::new(),
        display_name: String::new(),
        role: String::new(),
        provider_id: String::new(),
        roles: role_choices(),
    })
}

#[derive(Deserialize)]
pub struct NewUserForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    provider_id: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/user_link.html")]
struct LinkPage {
    page: PageCtx,
    heading: String,
    email: String,
    link: String,
    mail_configured: bool,
    user_id: i64,
}

pub async fn user_create(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Form(f): Form<NewUserForm>,
) -> Result<Response> {
    let mut errors = FormErrors::default();
    let role = f.role.parse::<Role>();
    if role.is_err() {
        errors.add("role", "Select the user's role");
    }
    let account = NewAccount {
        email: f.email.trim().to_lowercase(),
        display_name: f.display_name.trim().to_string(),
        role: role.clone().unwrap_or(Role::Viewer),
        provider_id: opt(&f.provider_id),
    };
    if role.is_ok() {
        accounts::validate_new_account(&account, &mut errors);
    } else if account.email.is_empty() {
        errors.add("email", "Enter an email address");
    }
    if errors.is_empty()
        && store::user_by_email(&state.db, &account.email)
            .await?
            .is_some()
    {
        errors.add("email", "A user with this email address already exists");
    }
    if !errors.is_empty() {
        return render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &NewUserPage {
                page: PageCtx::new(&state, &ctx, "Invite a user"),
                errors,
                email: f.email,
                display_name: f.display_name,
                role: f.role,
                provider_id: f.provider_id.unwrap_or_default(),
                roles: role_choices(),
            },
        );
    }
    let (id, link) = accounts::invite(&state, &Actor::from_ctx(&ctx), &account).await?;
    render(&LinkPage {
        page: PageCtx::new(&state, &ctx, "Invitation sent"),
        heading: "Invitation sent".into(),
        email: account.email,
        link,
        mail_configured: state.config.smtp_url.is_some(),
        user_id: id,
    })
}

#[derive(Template)]
#[template(path = "admin/user.html")]
struct UserPage {
    page: PageCtx,
    errors: FormErrors,
    user: UserView,
    roles: Vec<(String, String, String)>,
    role: String,
    provider_id: String,
    is_self: bool,
}

async fn user_view(
    state: &AppState,
    ctx: &RequestCtx,
    id: i64,
    errors: FormErrors,
    role: Option<String>,
    provider_id: Option<String>,
) -> Result<Response> {
    let u = store::user_by_id(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let status = errors.status();
    let view = UserView::from(&u);
    render_status(
        status,
        &UserPage {
            page: PageCtx::new(state, ctx, format!("User {}", u.email)),
            errors,
            role: role.unwrap_or_else(|| u.role.clone()),
            provider_id: provider_id.unwrap_or_else(|| u.provider_id.clone().unwrap_or_default()),
            is_self: ctx.user.as_ref().is_some_and(|me| me.id == id),
            user: view,
            roles: role_choices(),
        },
    )
}

pub async fn user_page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    // A user's record is staff personal data: reading it is audited.
    if store::user_by_id(&state.db, id).await?.is_some() {
        let mut tx = state.db.begin().await?;
        audit::entry("user.read", "user", id)
            .write(&mut tx, &Actor::from_ctx(&ctx), state.clock.now())
            .await?;
        tx.commit().await?;
    }
    user_view(&state, &ctx, id, FormErrors::default(), None, None).await
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
    provider_id: Option<String>,
}

pub async fn user_role(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
    Form(f): Form<RoleForm>,
) -> Result<Response> {
    let Ok(role) = f.role.parse::<Role>() else {
        let mut e = FormErrors::default();
        e.add("role", "Select the user's role");
        return user_view(&state, &ctx, id, e, Some(f.role), f.provider_id).await;
    };
    match change_role(
        &state,
        &Actor::from_ctx(&ctx),
        id,
        role,
        opt(&f.provider_id),
    )
    .await?
    {
        Ok(()) => Ok(redirect_with_flash(
            &state,
            &format!("/admin/users/{id}"),
            "Role changed",
        )),
        Err(e) => user_view(&state, &ctx, id, e, Some(f.role), f.provider_id).await,
    }
}

pub async fn user_disable(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    match set_disabled(&state, &Actor::from_ctx(&ctx), id, true).await? {
        Ok(()) => Ok(redirect_with_flash(
            &state,
            &format!("/admin/users/{id}"),
            "User disabled: their sessions and tokens no longer work",
        )),
        Err(msg) => {
            let mut e = FormErrors::default();
            e.add("disable", msg);
            user_view(&state, &ctx, id, e, None, None).await
        }
    }
}

pub async fn user_enable(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    set_disabled(&state, &Actor::from_ctx(&ctx), id, false)
        .await?
        .map_err(AppError::Conflict)?;
    Ok(redirect_with_flash(
        &state,
        &format!("/admin/users/{id}"),
        "User enabled",
    ))
}

pub async fn user_reset_password(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    let u = store::user_by_id(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if u.disabled {
        return Err(AppError::Conflict(
            "Enable the user before resetting their password".into(),
        ));
    }
    let link = accounts::send_reset(&state, &Actor::from_ctx(&ctx), &u).await?;
    render(&LinkPage {
        page: PageCtx::new(&state, &ctx, "Password reset link sent"),
        heading: "Password reset link sent".into(),
        email: u.email,
        link,
        mail_configured: state.config.smtp_url.is_some(),
        user_id: id,
    })
}

pub async fn user_reset_two_factor(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    reset_two_factor(&state, &Actor::from_ctx(&ctx), id).await?;
    Ok(redirect_with_flash(
        &state,
        &format!("/admin/users/{id}"),
        "Two-factor authentication reset",
    ))
}

// The JSON API (/api/v1): the same rules as the pages above, for programs.

use crate::web::json::{ApiJson, validation_problem};
use axum::Json;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;

#[utoipa::path(get, path = "/api/v1/users", tag = "admin", responses((status = 200, body = Vec<UserView>)))]
pub async fn list_users(
    State(state): State<AppState>,
    ctx: RequestCtx,
) -> Result<Json<Vec<UserView>>> {
    Ok(Json(list_audited(&state, &Actor::from_ctx(&ctx)).await?))
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
pub async fn invite_user(
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
