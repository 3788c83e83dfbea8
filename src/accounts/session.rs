//! Sessions kept in the database: the cookie holds a random token, the table its SHA-256, so a
//! copy of the database cannot be used to sign in. Idle and absolute time-outs come from the
//! admin's settings.

use axum::http::HeaderValue;
use chrono::{DateTime, Duration, Utc};

use super::store::UserRow;
use crate::db::Tx;
use crate::web::request::{SESSION_COOKIE, set_cookie};
use crate::web::{AuthVia, CurrentUser, RequestCtx, random_hex, token_hash};
use crate::{AppState, Result, args};

#[derive(sqlx::FromRow)]
struct SessionJoin {
    csrf_token: String,
    mfa_passed: bool,
    session_created_at: DateTime<Utc>,
    last_seen_at: DateTime<Utc>,
    #[sqlx(flatten)]
    user: UserRow,
}

/// Starts a session; returns the cookie value. `mfa_passed` is false while the second factor
/// is still to be given or set up.
pub async fn create(
    tx: &mut Tx,
    user_id: i64,
    mfa_passed: bool,
    ctx: &RequestCtx,
    now: DateTime<Utc>,
) -> Result<String> {
    let token = random_hex(32);
    tx.execute(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, mfa_passed, created_at, last_seen_at, client_address, user_agent) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        args![token_hash(&token), user_id, random_hex(16), mfa_passed, now, now, &ctx.client_address, &ctx.user_agent],
    )
    .await?;
    Ok(token)
}

pub fn cookie(state: &AppState, token: &str) -> HeaderValue {
    // No Max-Age: a browser session cookie; the server enforces the time-outs.
    set_cookie(SESSION_COOKIE, token, None, state.config.secure_cookies)
}

pub fn clear_cookie(state: &AppState) -> HeaderValue {
    set_cookie(SESSION_COOKIE, "", Some(0), state.config.secure_cookies)
}

/// The user behind a session cookie, or None when it is unknown, timed out, or its user is
/// disabled (then the session row is removed).
pub async fn load(
    state: &AppState,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<(CurrentUser, String)>> {
    if token.len() != 64 {
        return Ok(None);
    }
    let hash = token_hash(token);
    let row: Option<SessionJoin> = state
        .db
        .q()
        .fetch_optional(
            "SELECT s.csrf_token, s.mfa_passed, s.created_at AS session_created_at, s.last_seen_at, u.* \
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1",
            args![&hash],
        )
        .await?;
    let Some(row) = row else { return Ok(None) };
    let settings = state.settings();
    let idle = Duration::minutes(settings.session_idle_minutes);
    let absolute = Duration::hours(settings.session_absolute_hours);
    if row.user.disabled || now - row.last_seen_at > idle || now - row.session_created_at > absolute
    {
        state
            .db
            .q()
            .execute("DELETE FROM sessions WHERE token_hash = $1", args![&hash])
            .await?;
        return Ok(None);
    }
    // Touch at most once a minute: a write on every request would serialise SQLite. Best
    // effort: a page must not fail because the time cannot be written (a full disk).
    if now - row.last_seen_at > Duration::seconds(60)
        && let Err(e) = state
            .db
            .q()
            .execute(
                "UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2",
                args![now, &hash],
            )
            .await
    {
        tracing::warn!(error = %e, "could not record when a session was last used");
    }
    let u = row.user;
    let user = CurrentUser {
        id: u.id,
        role: u.role()?,
        email: u.email,
        display_name: u.display_name,
        provider_id: u.provider_id,
        totp_enabled: u.totp_enabled,
        must_change_password: u.must_change_password,
        via: AuthVia::Session {
            token_hash: hash,
            mfa_passed: row.mfa_passed,
        },
    };
    Ok(Some((user, row.csrf_token)))
}

pub async fn destroy(tx: &mut Tx, hash: &str) -> Result<()> {
    tx.execute("DELETE FROM sessions WHERE token_hash = $1", args![hash])
        .await?;
    Ok(())
}
