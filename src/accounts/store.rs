//! The accounts area's SQL, and nothing else.

use caremarket_core::Role;
use chrono::{DateTime, Utc};

use crate::db::{Db, Tx};
use crate::{AppError, Result, args};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub provider_id: Option<String>,
    pub password_hash: Option<String>,
    pub disabled: bool,
    pub totp_secret: Option<String>,
    pub totp_enabled: bool,
    pub totp_last_step: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub password_changed_at: Option<DateTime<Utc>>,
    pub last_sign_in_at: Option<DateTime<Utc>>,
    /// Signed in with a one-time password: must choose their own before anything else.
    pub must_change_password: bool,
}

impl UserRow {
    pub fn role(&self) -> Result<Role> {
        self.role
            .parse()
            .map_err(|e: caremarket_core::role::UnknownRole| AppError::Internal(e.into()))
    }

    /// What the audit log keeps of a user: never the password hash or TOTP secret.
    pub fn audit_json(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "email": self.email,
            "display_name": self.display_name,
            "role": self.role,
            "provider_id": self.provider_id,
            "disabled": self.disabled,
            "totp_enabled": self.totp_enabled,
        })
    }
}

pub async fn user_by_email(db: &Db, email: &str) -> Result<Option<UserRow>> {
    Ok(db
        .q()
        .fetch_optional(
            "SELECT * FROM users WHERE email = $1",
            args![email.trim().to_lowercase()],
        )
        .await?)
}

pub async fn user_by_id(db: &Db, id: i64) -> Result<Option<UserRow>> {
    Ok(db
        .q()
        .fetch_optional("SELECT * FROM users WHERE id = $1", args![id])
        .await?)
}

pub async fn user_by_id_tx(tx: &mut Tx, id: i64) -> Result<Option<UserRow>> {
    Ok(tx
        .fetch_optional("SELECT * FROM users WHERE id = $1", args![id])
        .await?)
}

pub async fn list_users(db: &Db) -> Result<Vec<UserRow>> {
    Ok(db
        .q()
        .fetch_all("SELECT * FROM users ORDER BY email", args![])
        .await?)
}

pub struct NewUser<'a> {
    pub email: &'a str,
    pub display_name: &'a str,
    pub role: Role,
    pub provider_id: Option<&'a str>,
    pub password_hash: Option<&'a str>,
}

pub async fn insert_user(tx: &mut Tx, u: &NewUser<'_>, now: DateTime<Utc>) -> Result<i64> {
    let id: i64 = tx
        .scalar(
            "INSERT INTO users (email, display_name, role, provider_id, password_hash, created_at, password_changed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            args![
                u.email.trim().to_lowercase(),
                u.display_name.trim(),
                u.role.as_str(),
                u.provider_id,
                u.password_hash,
                now,
                u.password_hash.map(|_| now),
            ],
        )
        .await?;
    Ok(id)
}

/// Sets a password the user chose (so any one-time password requirement ends).
pub async fn set_password(tx: &mut Tx, user_id: i64, hash: &str, now: DateTime<Utc>) -> Result<()> {
    tx.execute(
        "UPDATE users SET password_hash = $1, password_changed_at = $2, must_change_password = FALSE WHERE id = $3",
        args![hash, now, user_id],
    )
    .await?;
    Ok(())
}

/// Sets a one-time password someone else will pass on (the CLI): it must be changed at the
/// first sign-in.
pub async fn set_one_time_password(
    tx: &mut Tx,
    user_id: i64,
    hash: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    tx.execute(
        "UPDATE users SET password_hash = $1, password_changed_at = $2, must_change_password = TRUE WHERE id = $3",
        args![hash, now, user_id],
    )
    .await?;
    Ok(())
}

pub async fn delete_sessions_of(tx: &mut Tx, user_id: i64, except: Option<&str>) -> Result<u64> {
    Ok(tx
        .execute(
            "DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2",
            args![user_id, except.unwrap_or("")],
        )
        .await?)
}

pub async fn count_failures(db: &Db, key: &str, since: DateTime<Utc>) -> Result<i64> {
    Ok(db
        .q()
        .scalar(
            "SELECT COUNT(*) FROM login_failures WHERE throttle_key = $1 AND failed_at > $2",
            args![key, since],
        )
        .await?)
}
