//! The one middleware every request passes: it gives the request an id, finds who is signed in
//! (session cookie or API bearer token), enforces CSRF on state-changing requests made with a
//! cookie, renders errors as pages or problem+json, and adds security headers. It lives with
//! the assembly of the service, not in `web`, because finding who is signed in is the accounts
//! capability's work, and `web` is the layer every capability (accounts too) builds on.

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use std::net::SocketAddr;
use tracing::Instrument;

use crate::AppState;
use crate::accounts;
use crate::web::error::{AppError, ErrorInfo};
use crate::web::request::*;
use crate::web::{Access, is_api, random_hex, same_secret};

/// Forms larger than this are refused before CSRF parsing; uploads use multipart instead.
const FORM_LIMIT: usize = 2 * 1024 * 1024;

fn client_address(req: &Request, trust_proxy: bool) -> String {
    if trust_proxy
        && let Some(v) = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
        // The proxy we trust appends the address it saw: the rightmost entry. Entries to its
        // left are whatever the client sent and prove nothing.
        && let Some(last) = v.rsplit(',').next().map(str::trim).filter(|s| !s.is_empty())
    {
        return last.to_string();
    }
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "local".into())
}

/// The client's own `X-Request-Id`, when it sent a plausible one: logged beside ours so a
/// caller can find its request, never used as ours (the audit log's request id must be the
/// server's, not whatever a client chose).
fn client_request_id(req: &Request) -> Option<String> {
    req.headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        .map(str::to_string)
}

fn is_safe(m: &Method) -> bool {
    matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

pub async fn pipeline(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let rid = random_hex(8);
    let client_rid = client_request_id(&req).unwrap_or_default();
    let span = tracing::info_span!("request", request_id = %rid, client_request_id = %client_rid, method = %req.method(), path = %req.uri().path());
    async move {
        let started = std::time::Instant::now();
        let api = is_api(req.uri().path());
        let path = req.uri().path().to_string();
        let (mut res, ctx) = match handle(&state, rid.clone(), req, next).await {
            Ok(r) => r,
            Err((e, ctx)) => (e.into_response(), ctx),
        };
        if let Some(info) = res.extensions().get::<ErrorInfo>().cloned() {
            res = render_error(&state, info, api, &rid, &path, ctx.as_ref()).await;
        }
        let h = res.headers_mut();
        h.insert("x-request-id", HeaderValue::from_str(&rid).unwrap_or(HeaderValue::from_static("-")));
        h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
        h.insert("x-frame-options", HeaderValue::from_static("DENY"));
        h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
        h.insert(
            "content-security-policy",
            HeaderValue::from_static("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
        );
        // Served over https: browsers keep to it (a year, with subdomains).
        if state.config.public_url.starts_with("https://") {
            h.insert(
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=31536000; includeSubDomains"),
            );
        }
        if !h.contains_key(header::CACHE_CONTROL) {
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        let status = res.status().as_u16();
        let ms = started.elapsed().as_millis() as u64;
        if status >= 500 {
            tracing::error!(status, ms, "served");
        } else {
            tracing::info!(status, ms, "served");
        }
        res
    }
    .instrument(span)
    .await
}

type Failed = (AppError, Option<RequestCtx>);

async fn handle(
    state: &AppState,
    rid: String,
    req: Request,
    next: Next,
) -> Result<(Response, Option<RequestCtx>), Failed> {
    let now = state.clock.now();
    let client = client_address(&req, state.config.trust_proxy);
    let path = req.uri().path().to_string();
    let api = is_api(&path);
    let headers = req.headers().clone();

    // Who is calling: an API bearer token, else a session cookie.
    let mut user = None;
    let mut session_csrf = None;
    let mut clear_session_cookie = false;
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .map(str::to_string);
    if let Some(token) = &bearer {
        match accounts::tokens::authenticate(state, token, now).await {
            Ok(Some(u)) => user = Some(u),
            Ok(None) => return Err((AppError::Unauthorized, None)),
            Err(e) => return Err((e, None)),
        }
    } else if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        match accounts::session::load(state, &token, now).await {
            Ok(Some((u, csrf))) => {
                user = Some(u);
                session_csrf = Some(csrf);
            }
            Ok(None) => clear_session_cookie = true,
            Err(e) => return Err((e, None)),
        }
    }

    // CSRF: a signed-in browser's token lives in its session; before sign-in a random token in
    // its own cookie is echoed by the form (double submit).
    let anon_csrf = cookie(&headers, CSRF_COOKIE)
        .filter(|t| t.len() == 32 && t.chars().all(|c| c.is_ascii_hexdigit()));
    let mut new_anon_csrf = None;
    let csrf_token = match (&session_csrf, &anon_csrf) {
        (Some(t), _) => t.clone(),
        (None, Some(t)) => t.clone(),
        (None, None) => {
            let t = random_hex(16);
            new_anon_csrf = Some(t.clone());
            t
        }
    };
    let flash = cookie(&headers, FLASH_COOKIE).and_then(|f| {
        serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("m={f}"))
            .ok()
            .and_then(|v| v.into_iter().next().map(|(_, m)| m))
    });
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .chars()
        .take(200)
        .collect();
    let ctx = RequestCtx {
        request_id: rid,
        client_address: client,
        user,
        csrf_token: csrf_token.clone(),
        flash: flash.clone(),
        path,
        user_agent,
    };

    // Text nobody types and PostgreSQL cannot store is refused here, once, for every route.
    let req = match screen_text(req).await {
        Ok(r) => r,
        Err(e) => return Err((e, Some(ctx))),
    };
    let mut req = req;
    if !is_safe(req.method()) && bearer.is_none() && !same_origin(&headers, state) {
        tracing::warn!("state-changing request from another site refused");
        return Err((AppError::Csrf, Some(ctx)));
    }
    if !is_safe(req.method()) && bearer.is_none() {
        let expected = session_csrf.or(anon_csrf);
        let (parts, body) = req.into_parts();
        let (ok, body) = csrf_submitted_ok(&parts, body, expected.as_deref()).await;
        if !ok {
            tracing::warn!("CSRF token missing or wrong");
            return Err((AppError::Csrf, Some(ctx)));
        }
        req = Request::from_parts(parts, body);
    }

    req.extensions_mut().insert(ctx.clone());
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    if let Some(t) = new_anon_csrf {
        h.append(
            header::SET_COOKIE,
            set_cookie(CSRF_COOKIE, &t, None, state.config.secure_cookies),
        );
    }
    if clear_session_cookie && !h.contains_key(header::SET_COOKIE) {
        h.append(
            header::SET_COOKIE,
            set_cookie(SESSION_COOKIE, "", Some(0), state.config.secure_cookies),
        );
    }
    // A flash message is shown once: cleared by the first page that is not a redirect.
    if flash.is_some() && !res.status().is_redirection() && !api {
        res.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(FLASH_COOKIE, "", Some(0), state.config.secure_cookies),
        );
    }
    Ok((res, Some(ctx)))
}

/// A second line against cross-site requests, beside the CSRF token: browsers say where a
/// request comes from (`Sec-Fetch-Site`, and `Origin` on every POST). A request from
/// another site is refused; one that says nothing (an older browser, a script) is left to
/// the token.
fn same_origin(headers: &HeaderMap, state: &AppState) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && site.eq_ignore_ascii_case("cross-site")
    {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    if origin == "null" {
        return false;
    }
    let ours = origin_of(&state.config.public_url);
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // Our public address, or the host the browser asked (a server reached by another name
    // than its configured one still serves its own forms).
    origin.eq_ignore_ascii_case(&ours)
        || origin
            .split_once("://")
            .is_some_and(|(_, h)| !host.is_empty() && h.eq_ignore_ascii_case(host))
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split('/').next().unwrap_or("");
            format!("{scheme}://{host}")
        }
        None => url.to_string(),
    }
}

/// JSON bodies are read whole by the handlers' extractor too; this is its limit.
const JSON_LIMIT: usize = 2 * 1024 * 1024;

/// Refuses control characters (NUL above all) in the path, the query string and urlencoded
/// or JSON bodies. Multipart fields are checked as they are read (`forms::Upload`). The
/// body is handed back intact.
async fn screen_text(req: Request) -> Result<Request, AppError> {
    let raw_path = req.uri().path();
    if let Some(c) =
        crate::web::text::stray_control(&String::from_utf8_lossy(&percent_decode(raw_path)))
    {
        return Err(AppError::BadRequest(format!(
            "The address contains a control character (U+{:04X}).",
            c as u32
        )));
    }
    if let Some(q) = req.uri().query()
        && let Ok(pairs) = serde_urlencoded::from_str::<Vec<(String, String)>>(q)
    {
        crate::web::text::check_pairs("The address's", &pairs)?;
    }
    if is_safe(req.method()) {
        return Ok(req);
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    // The media type without its parameters ("; charset=utf-8"), as the extractors read it.
    let media = content_type.split(';').next().unwrap_or("").trim();
    let form = media == "application/x-www-form-urlencoded";
    let json = media == "application/json" || media.ends_with("+json");
    if !form && !json {
        return Ok(req);
    }
    let (parts, body) = req.into_parts();
    let limit = if form { FORM_LIMIT } else { JSON_LIMIT };
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        AppError::TooLarge(format!(
            "The request is larger than {} MB, more than any form or API call here takes.",
            limit / (1024 * 1024)
        ))
    })?;
    if form {
        if let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes) {
            crate::web::text::check_pairs("The form's", &pairs)?;
        }
    } else if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes) {
        crate::web::text::check_json(&v)?;
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// `%XX` escapes decoded (a path's own bytes, before any router sees them).
fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) =
                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
        {
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// Finds the submitted CSRF token (an `X-CSRF-Token` header, or the `csrf_token` field of a
/// urlencoded or multipart form) and compares it with the expected one. Never the query
/// string: a token there ends up in history and logs. The body is buffered and handed back
/// intact.
async fn csrf_submitted_ok(parts: &Parts, body: Body, expected: Option<&str>) -> (bool, Body) {
    let Some(expected) = expected else {
        return (false, body);
    };
    if let Some(h) = parts
        .headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
    {
        return (same_secret(h, expected), body);
    }
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let Ok(bytes) = axum::body::to_bytes(body, FORM_LIMIT).await else {
            return (false, Body::empty());
        };
        let ok = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
            .ok()
            .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "csrf_token"))
            .is_some_and(|(_, t)| same_secret(&t, expected));
        return (ok, Body::from(bytes));
    }
    if content_type.starts_with("multipart/form-data") {
        let Ok(bytes) = axum::body::to_bytes(body, crate::web::UPLOAD_LIMIT).await else {
            return (false, Body::empty());
        };
        let ok = multipart_field(&bytes, "csrf_token").is_some_and(|t| same_secret(&t, expected));
        return (ok, Body::from(bytes));
    }
    (false, body)
}

/// The value of a small text field of a multipart body, looked for in its first parts (our
/// forms put the token first, before any file).
fn multipart_field(body: &[u8], name: &str) -> Option<String> {
    let head = &body[..body.len().min(16 * 1024)];
    let text = String::from_utf8_lossy(head);
    let marker = format!("name=\"{name}\"");
    let at = text.find(&marker)?;
    let rest = &text[at + marker.len()..];
    let start = rest.find("\r\n\r\n")? + 4;
    let value = &rest[start..];
    let end = value.find("\r\n")?;
    Some(value[..end].trim().to_string())
}

async fn render_error(
    state: &AppState,
    info: ErrorInfo,
    api: bool,
    rid: &str,
    path: &str,
    ctx: Option<&RequestCtx>,
) -> Response {
    if api {
        let body = serde_json::json!({
            "type": "about:blank",
            "title": info.title,
            "status": info.status.as_u16(),
            "detail": info.detail,
            "instance": path,
            "request_id": rid,
        });
        let mut res = (info.status, body.to_string()).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if info.status == StatusCode::UNAUTHORIZED {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        return res;
    }
    let ctx = ctx.cloned().unwrap_or_else(|| RequestCtx {
        request_id: rid.to_string(),
        client_address: String::new(),
        user: None,
        csrf_token: String::new(),
        flash: None,
        path: path.to_string(),
        user_agent: String::new(),
    });
    crate::web::layout::error_page(state, &ctx, &info).await
}

/// What a user signed in with a one-time password may open before choosing their own.
const OPEN_BEFORE_PASSWORD_CHANGE: &[&str] = &["/account/password", "/sign-out"];

/// The single guard in front of every route: it applies the route's declared [`Access`].
pub async fn guard(access: Access, req: Request, next: Next) -> Response {
    let Some(ctx) = req.extensions().get::<RequestCtx>() else {
        return AppError::Internal(anyhow::anyhow!("pipeline not installed")).into_response();
    };
    let api = is_api(&ctx.path);
    let refuse_signed_out = |req: &Request| -> Response {
        if api {
            AppError::Unauthorized.into_response()
        } else {
            let target = req
                .uri()
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            let next = serde_urlencoded::to_string([("next", target)]).unwrap_or_default();
            Redirect::to(&format!("/sign-in?{next}")).into_response()
        }
    };
    match (access, &ctx.user) {
        (Access::Public, _) => {}
        (_, None) => return refuse_signed_out(&req),
        (Access::SecondFactor, Some(_)) => {}
        (Access::SignedIn | Access::Roles(_), Some(u)) if !u.fully_signed_in() => {
            if api {
                return AppError::Unauthorized.into_response();
            }
            return Redirect::to(if u.totp_enabled {
                "/sign-in/two-factor"
            } else {
                "/account/two-factor/set-up"
            })
            .into_response();
        }
        // A one-time password opens only the page to choose one's own (and signing out).
        // Tokens an admin made with `caremarket user token` (an integration's account) are
        // not sessions signed in with that password, and keep working.
        (Access::SignedIn | Access::Roles(_), Some(u))
            if u.must_change_password
                && u.session_hash().is_some()
                && !OPEN_BEFORE_PASSWORD_CHANGE.contains(&ctx.path.as_str()) =>
        {
            if api {
                return AppError::ForbiddenBecause(
                    "This account signed in with a one-time password: choose your own at /account/password first.".into(),
                )
                .into_response();
            }
            return Redirect::to("/account/password").into_response();
        }
        (Access::SignedIn, Some(_)) => {}
        (Access::Roles(roles), Some(u)) => {
            if !roles.contains(&u.role) {
                return AppError::Forbidden.into_response();
            }
        }
    }
    next.run(req).await
}
