//! API bearer tokens: named, shown once, stored as SHA-256, revocable. A token acts with its
//! user's role, so the API follows the same access rules as the pages.

use chrono::{DateTime, Duration, Utc};

use super::store::UserRow;
use crate::audit::{self, Actor};
use crate::web::{AuthVia, CurrentUser, random_hex, token_hash};
use crate::{AppError, AppState, Result, args};

pub const PREFIX: &str = "cm_";

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct TokenRow {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    /// The first characters, to tell tokens apart; the token itself is never stored.
    pub token_prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct TokenJoin {
    token_id: i64,
    last_used_at: Option<DateTime<Utc>>,
    #[sqlx(flatten)]
    user: UserRow,
}

pub async fn authenticate(
    state: &AppState,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<CurrentUser>> {
    if !token.starts_with(PREFIX) || token.len() != PREFIX.len() + 40 {
        return Ok(None);
    }
    let row: Option<TokenJoin> = state
        .db
        .q()
        .fetch_optional(
            "SELECT t.id AS token_id, t.last_used_at, u.* FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL",
            args![token_hash(token)],
        )
        .await?;
    let Some(row) = row else { return Ok(None) };
    if row.user.disabled {
        return Ok(None);
    }
    if row
        .last_used_at
        .is_none_or(|t| now - t > Duration::seconds(60))
    {
        state
            .db
            .q()
            .execute(
                "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2",
                args![now, row.token_id],
            )
            .await?;
    }
    let u = row.user;
    Ok(Some(CurrentUser {
        id: u.id,
        role: u.role()?,
        email: u.email,
        display_name: u.display_name,
        provider_id: u.provider_id,
        totp_enabled: u.totp_enabled,
        via: AuthVia::ApiToken {
            token_id: row.token_id,
        },
    }))
}

pub async fn list(state: &AppState, user_id: i64) -> Result<Vec<TokenRow>> {
    Ok(state
        .db
        .q()
        .fetch_all(
            "SELECT id, user_id, name, token_prefix, created_at, last_used_at, revoked_at FROM api_tokens \
             WHERE user_id = $1 ORDER BY created_at DESC, id DESC",
            args![user_id],
        )
        .await?)
}

/// Creates a token and returns it in full: the only time it is ever shown.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    user_id: i64,
    name: &str,
) -> Result<(TokenRow, String)> {
    let now = state.clock.now();
    let token = format!("{PREFIX}{}", random_hex(20));
    let prefix: String = token.chars().take(PREFIX.len() + 6).collect();
    let mut tx = state.db.begin().await?;
    let id: i64 = tx
        .scalar(
            "INSERT INTO api_tokens (user_id, name, token_hash, token_prefix, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            args![user_id, name, token_hash(&token), &prefix, now],
        )
        .await?;
    audit::entry("api_token.create", "api_token", id)
        .after(serde_json::json!({"user_id": user_id, "name": name, "token_prefix": prefix}))
        .write(&mut tx, actor, now)
        .await?;
    let row: TokenRow = tx
        .fetch_one(
            "SELECT id, user_id, name, token_prefix, created_at, last_used_at, revoked_at FROM api_tokens WHERE id = $1",
            args![id],
        )
        .await?;
    tx.commit().await?;
    Ok((row, token))
}

/// Revokes one of the user's own tokens.
pub async fn revoke(state: &AppState, actor: &Actor, user_id: i64, token_id: i64) -> Result<()> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let n = tx
        .execute(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
            args![now, token_id, user_id],
        )
        .await?;
    if n == 0 {
        return Err(AppError::NotFound);
    }
    audit::entry("api_token.revoke", "api_token", token_id)
        .after(serde_json::json!({"revoked_at": now}))
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    Ok(())
}
