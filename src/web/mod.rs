//! What every page and API call shares: the request's context (who is signed in, CSRF token,
//! cookies), route declarations with their access rule, the page layout, forms, JSON bodies,
//! errors and static assets. Every capability builds on this layer; it depends on none of them.

pub mod assets;
pub mod error;
pub mod forms;
pub mod json;
pub mod layout;
pub mod request;
pub mod roles;
pub mod text;

use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, MethodRouter, on};
use caremarket_core::Role;

pub use layout::{PageCtx, render};
pub use request::{ActingFor, AuthVia, CurrentUser, RequestCtx};

use crate::AppState;

/// Who may call a route. Declared beside every route (authorisation as data) and checked by
/// one guard before the handler runs; the route × role matrix test keeps its own copy.
/// Row-level rules (a provider user and *their own* locations) are checked by the area's
/// functions, which know the row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not.
    Public,
    /// Signed in with a password but the second factor still to give (or to set up).
    SecondFactor,
    /// Any signed-in user of any role.
    SignedIn,
    /// Signed-in users of these roles only.
    Roles(&'static [Role]),
}

pub use roles::ADMIN;

impl Access {
    /// Whether a fully signed-in user of this role may open a route declared with it.
    pub fn allows(&self, role: Role) -> bool {
        match self {
            Access::Public | Access::SecondFactor | Access::SignedIn => true,
            Access::Roles(r) => r.contains(&role),
        }
    }
}

pub struct RouteDef {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    pub handler: MethodRouter<AppState>,
}

pub fn route<H, T>(method: Method, path: &'static str, access: Access, handler: H) -> RouteDef
where
    H: Handler<T, AppState>,
    T: 'static,
{
    let filter = MethodFilter::try_from(method.clone()).expect("a standard HTTP method");
    RouteDef {
        method,
        path,
        access,
        handler: on(filter, handler),
    }
}

pub fn get<H: Handler<T, AppState>, T: 'static>(
    path: &'static str,
    access: Access,
    h: H,
) -> RouteDef {
    route(Method::GET, path, access, h)
}

pub fn post<H: Handler<T, AppState>, T: 'static>(
    path: &'static str,
    access: Access,
    h: H,
) -> RouteDef {
    route(Method::POST, path, access, h)
}

pub fn put<H: Handler<T, AppState>, T: 'static>(
    path: &'static str,
    access: Access,
    h: H,
) -> RouteDef {
    route(Method::PUT, path, access, h)
}

pub fn delete<H: Handler<T, AppState>, T: 'static>(
    path: &'static str,
    access: Access,
    h: H,
) -> RouteDef {
    route(Method::DELETE, path, access, h)
}

/// The largest upload accepted (a CQC file; and the largest request body at all).
pub const UPLOAD_LIMIT: usize = 64 * 1024 * 1024;

/// The largest file a council or provider upload page takes (registers, returns, hours).
pub const COUNCIL_UPLOAD_LIMIT: usize = crate::import::Limits::COUNCIL.max_file_bytes as usize;

/// Lets a route take bodies up to `bytes` (uploads), instead of axum's 2 MB default.
pub fn with_body_limit(mut r: RouteDef, bytes: usize) -> RouteDef {
    r.handler = r.handler.layer(axum::extract::DefaultBodyLimit::max(bytes));
    r
}

/// Is this path part of the JSON API (errors as problem+json, 401 rather than a redirect)?
pub fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

/// Random bytes as lowercase hex, for tokens and ids.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::getrandom(&mut buf).expect("the operating system's random source");
    hex::encode(buf)
}

/// SHA-256 of a secret token, as stored: a stolen database copy gives no usable sessions.
pub fn token_hash(token: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

/// Constant-time comparison for secrets.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Redirect with a one-time success message shown on the next page.
pub fn redirect_with_flash(state: &AppState, to: &str, message: &str) -> axum::response::Response {
    let mut r = axum::response::IntoResponse::into_response(axum::response::Redirect::to(to));
    let v = serde_urlencoded::to_string([("m", message)]).unwrap_or_default();
    let v = v.trim_start_matches("m=");
    r.headers_mut().append(
        axum::http::header::SET_COOKIE,
        request::set_cookie(
            request::FLASH_COOKIE,
            v,
            Some(60),
            state.config.secure_cookies,
        ),
    );
    r
}
