//! API bearer tokens: named, shown once, stored as SHA-256, revocable, and expiring (the
//! default and longest lifetimes are service settings). A token acts with its user's role,
//! so the API follows the same access rules as the pages. A token made with another token
//! is that token's child and ends with it; a password change or reset ends them all.

use chrono::{DateTime, Duration, Utc};

use super::store::UserRow;
use crate::audit::{self, Actor};
use crate::db::Tx;
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
    /// When it stops working. Tokens made before tokens expired have a year from creation.
    pub expires_at: Option<DateTime<Utc>>,
    /// The token it was made with, if it was made through the API.
    pub parent_id: Option<i64>,
}

impl TokenRow {
    /// When it stops working (see [`TokenRow::expires_at`]).
    pub fn expires(&self) -> DateTime<Utc> {
        self.expires_at
            .unwrap_or(self.created_at + Duration::days(LEGACY_DAYS))
    }
    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        self.expires() <= now
    }
}

/// The life of a token made before tokens expired.
const LEGACY_DAYS: i64 = 365;

const COLUMNS: &str =
    "id, user_id, name, token_prefix, created_at, last_used_at, revoked_at, expires_at, parent_id";

#[derive(sqlx::FromRow)]
struct TokenJoin {
    token_id: i64,
    last_used_at: Option<DateTime<Utc>>,
    token_created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    parent_id: Option<i64>,
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
            "SELECT t.id AS token_id, t.last_used_at, t.created_at AS token_created_at, t.expires_at, t.parent_id, u.* FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL",
            args![token_hash(token)],
        )
        .await?;
    let Some(row) = row else { return Ok(None) };
    let expires = row
        .expires_at
        .unwrap_or(row.token_created_at + Duration::days(LEGACY_DAYS));
    if row.user.disabled || expires <= now {
        return Ok(None);
    }
    // A token made with a token works only while every token above it does: a child made
    // at the moment its parent was revoked (and so missed by the revocation) still ends.
    if let Some(parent) = row.parent_id {
        let dead: i64 = state
            .db
            .q()
            .scalar(
                "WITH RECURSIVE chain(id, parent_id, revoked_at) AS ( \
                   SELECT id, parent_id, revoked_at FROM api_tokens WHERE id = $1 \
                   UNION ALL SELECT t.id, t.parent_id, t.revoked_at FROM api_tokens t JOIN chain c ON t.id = c.parent_id) \
                 SELECT COUNT(*) FROM chain WHERE revoked_at IS NOT NULL",
                args![parent],
            )
            .await?;
        if dead > 0 {
            return Ok(None);
        }
    }
    if row
        .last_used_at
        .is_none_or(|t| now - t > Duration::seconds(60))
    {
        // Best effort: a read must not fail because the time of last use cannot be written
        // (a full disk, a busy SQLite file).
        if let Err(e) = state
            .db
            .q()
            .execute(
                "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2",
                args![now, row.token_id],
            )
            .await
        {
            tracing::warn!(error = %e, "could not record when an API token was last used");
        }
    }
    let u = row.user;
    Ok(Some(CurrentUser {
        id: u.id,
        role: u.role()?,
        email: u.email,
        display_name: u.display_name,
        provider_id: u.provider_id,
        totp_enabled: u.totp_enabled,
        must_change_password: u.must_change_password,
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
            &format!("SELECT {COLUMNS} FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC, id DESC"),
            args![user_id],
        )
        .await?)
}

/// What a new token is: its name, how many days it lasts (the service's default when not
/// said), and the token it is made with, if any.
pub struct NewToken<'a> {
    pub name: &'a str,
    pub days: Option<i64>,
    pub parent: Option<i64>,
}

impl<'a> NewToken<'a> {
    pub fn named(name: &'a str) -> NewToken<'a> {
        NewToken {
            name,
            days: None,
            parent: None,
        }
    }
}

/// Checks a requested lifetime against the service's longest: the reason when it is not one.
pub fn check_days(state: &AppState, days: Option<i64>) -> std::result::Result<i64, String> {
    let s = state.settings();
    match days {
        None => Ok(s.token_default_days.min(s.token_max_days)),
        Some(d) if d >= 1 && d <= s.token_max_days => Ok(d),
        Some(_) => Err(format!(
            "A token can last from 1 to {} days",
            s.token_max_days
        )),
    }
}

/// Creates a token and returns it in full: the only time it is ever shown.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    user_id: i64,
    new: &NewToken<'_>,
) -> Result<(TokenRow, String)> {
    let days = check_days(state, new.days).map_err(AppError::Unprocessable)?;
    let now = state.clock.now();
    let mut expires = now + Duration::days(days);
    // A child never outlives its parent: otherwise a token about to expire could make
    // another for a year, and that one another, for ever.
    if let Some(parent) = new.parent {
        let p: Option<TokenRow> = state
            .db
            .q()
            .fetch_optional(
                &format!("SELECT {COLUMNS} FROM api_tokens WHERE id = $1 AND revoked_at IS NULL"),
                args![parent],
            )
            .await?;
        let p = p.ok_or(AppError::Unauthorized)?;
        expires = expires.min(p.expires());
    }
    let token = format!("{PREFIX}{}", random_hex(20));
    let prefix: String = token.chars().take(PREFIX.len() + 6).collect();
    let mut tx = state.db.begin().await?;
    let id: i64 = tx
        .scalar(
            "INSERT INTO api_tokens (user_id, name, token_hash, token_prefix, created_at, expires_at, parent_id) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            args![user_id, new.name, token_hash(&token), &prefix, now, expires, new.parent],
        )
        .await?;
    audit::entry("api_token.create", "api_token", id)
        .after(serde_json::json!({"user_id": user_id, "name": new.name, "token_prefix": prefix, "expires_at": expires, "parent_id": new.parent}))
        .write(&mut tx, actor, now)
        .await?;
    let row: TokenRow = tx
        .fetch_one(
            &format!("SELECT {COLUMNS} FROM api_tokens WHERE id = $1"),
            args![id],
        )
        .await?;
    tx.commit().await?;
    Ok((row, token))
}

/// The tokens made, directly or not, with these ones (through revoked ones too: a token
/// made at the moment its parent was revoked is still found when an ancestor is).
async fn descendants(tx: &mut Tx, roots: &[i64]) -> Result<Vec<i64>> {
    let mut found: Vec<i64> = Vec::new();
    let mut frontier = roots.to_vec();
    while !frontier.is_empty() {
        let marks: Vec<String> = (1..=frontier.len()).map(|i| format!("${i}")).collect();
        let rows: Vec<(i64,)> = tx
            .fetch_all(
                &format!(
                    "SELECT id FROM api_tokens WHERE parent_id IN ({})",
                    marks.join(",")
                ),
                frontier.iter().map(|&i| crate::db::Arg::from(i)).collect(),
            )
            .await?;
        frontier = rows
            .into_iter()
            .map(|r| r.0)
            .filter(|i| !found.contains(i) && !roots.contains(i))
            .collect();
        found.extend(&frontier);
    }
    Ok(found)
}

async fn revoke_ids(tx: &mut Tx, ids: &[i64], now: DateTime<Utc>) -> Result<()> {
    for id in ids {
        tx.execute(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
            args![now, *id],
        )
        .await?;
    }
    Ok(())
}

/// Revokes one of the user's own tokens, and every token made with it.
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
    let children = descendants(&mut tx, &[token_id]).await?;
    revoke_ids(&mut tx, &children, now).await?;
    audit::entry("api_token.revoke", "api_token", token_id)
        .after(serde_json::json!({"revoked_at": now, "also_revoked": children}))
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Revokes every live token of a user (a password change or reset, an account disabled),
/// in the caller's transaction; how many.
pub async fn revoke_all_of(tx: &mut Tx, user_id: i64, now: DateTime<Utc>) -> Result<u64> {
    let own: Vec<(i64,)> = tx
        .fetch_all(
            "SELECT id FROM api_tokens WHERE user_id = $1 AND revoked_at IS NULL",
            args![user_id],
        )
        .await?;
    let own: Vec<i64> = own.into_iter().map(|r| r.0).collect();
    let mut all = own.clone();
    all.extend(descendants(tx, &own).await?);
    revoke_ids(tx, &all, now).await?;
    Ok(all.len() as u64)
}
