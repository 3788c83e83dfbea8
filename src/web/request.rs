//! What a handler knows about the request: who is signed in and how, its id and address, the
//! CSRF token and the one-time message; and the service's cookies. The request pipeline
//! (src/app/pipeline.rs) fills these in before any handler runs.

use axum::extract::FromRequestParts;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::request::Parts;
use caremarket_core::Role;

use super::error::AppError;

pub const SESSION_COOKIE: &str = "cm_session";
pub const CSRF_COOKIE: &str = "cm_csrf";
pub const FLASH_COOKIE: &str = "cm_flash";

#[derive(Debug, Clone)]
pub enum AuthVia {
    Session {
        token_hash: String,
        mfa_passed: bool,
    },
    ApiToken {
        token_id: i64,
    },
}

#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub provider_id: Option<String>,
    pub totp_enabled: bool,
    /// Signed in with a one-time password: only the password change is open until then.
    pub must_change_password: bool,
    pub via: AuthVia,
}

/// Whom a signed-in user acts for: the council (every provider's rows), or one provider
/// (that provider's rows only). See [`CurrentUser::acting_for`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActingFor {
    Council,
    Provider(String),
}

impl ActingFor {
    /// The provider a provider user acts for; None for council staff.
    pub fn provider(&self) -> Option<&str> {
        match self {
            ActingFor::Council => None,
            ActingFor::Provider(p) => Some(p),
        }
    }

    /// Whether a row belonging to `provider` (None: a row of no provider) is this user's to
    /// see or change: every row for council staff, their own provider's only for a provider.
    pub fn may_see(&self, provider: Option<&str>) -> bool {
        match self {
            ActingFor::Council => true,
            ActingFor::Provider(p) => provider == Some(p.as_str()),
        }
    }

    /// The provider, where a page is a provider's own (offers, returns, packages): council
    /// staff never reach these routes (the route table lets only providers in), and are
    /// refused if they did.
    pub fn own_provider(self) -> Result<String, AppError> {
        match self {
            ActingFor::Provider(p) => Ok(p),
            ActingFor::Council => Err(AppError::Forbidden),
        }
    }
}

impl CurrentUser {
    pub fn is(&self, role: Role) -> bool {
        self.role == role
    }

    /// Whom this user acts for: the one answer to "which provider's rows may they see" used
    /// by every capability. A provider user whose account names no provider acts for no
    /// one and is refused (403) wherever it is asked; accounts are never made that way, but
    /// a database edited by hand could hold one.
    pub fn acting_for(&self) -> Result<ActingFor, AppError> {
        match (self.role, &self.provider_id) {
            (Role::Provider, Some(p)) => Ok(ActingFor::Provider(p.clone())),
            (Role::Provider, None) => Err(AppError::Forbidden),
            _ => Ok(ActingFor::Council),
        }
    }
    pub fn fully_signed_in(&self) -> bool {
        match self.via {
            AuthVia::Session { mfa_passed, .. } => mfa_passed,
            AuthVia::ApiToken { .. } => true,
        }
    }
    pub fn session_hash(&self) -> Option<&str> {
        match &self.via {
            AuthVia::Session { token_hash, .. } => Some(token_hash),
            AuthVia::ApiToken { .. } => None,
        }
    }
}

/// What a handler knows about the request beyond its own parameters.
#[derive(Debug, Clone)]
pub struct RequestCtx {
    pub request_id: String,
    pub client_address: String,
    pub user: Option<CurrentUser>,
    pub csrf_token: String,
    pub flash: Option<String>,
    pub path: String,
    pub user_agent: String,
}

impl RequestCtx {
    /// The signed-in user; the route guard has already refused anyone else.
    pub fn user(&self) -> Result<&CurrentUser, AppError> {
        self.user.as_ref().ok_or(AppError::Unauthorized)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestCtx {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<RequestCtx>()
            .cloned()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("request context missing")))
    }
}

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

pub fn set_cookie(name: &str, value: &str, max_age: Option<i64>, secure: bool) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).expect("cookie values are ASCII")
}
