//! Accounts: sign-in and sign-out, sessions, passwords, the second factor (TOTP and recovery
//! codes), invitations and password resets by one-time link, and API tokens.
//! The functions here hold the rules; `pages` only parses and renders.

pub mod guard;
pub mod pages;
pub mod password;
pub mod session;
pub mod store;
pub mod tokens;
pub mod totp;

use axum::http::Method;
use caremarket_core::Role;
use caremarket_core::throttle::{self, Decision};
use chrono::{DateTime, Duration, Utc};

use crate::audit::{self, Actor};
use crate::db::Tx;
use crate::web::forms::{FormErrors, valid_email};
use crate::web::{Access, RequestCtx, RouteDef, random_hex, route, token_hash};
use crate::{AppError, AppState, Result, args};
use store::UserRow;

pub fn routes() -> Vec<RouteDef> {
    use Access::*;
    use pages::*;
    vec![
        route(Method::GET, "/api/v1/me", SignedIn, me),
        route(Method::GET, "/api/v1/tokens", SignedIn, list_tokens),
        route(Method::POST, "/api/v1/tokens", SignedIn, create_token),
        route(
            Method::DELETE,
            "/api/v1/tokens/{id}",
            SignedIn,
            revoke_token,
        ),
        route(Method::GET, "/sign-in", Public, sign_in_form),
        route(Method::POST, "/sign-in", Public, sign_in_submit),
        route(
            Method::GET,
            "/sign-in/two-factor",
            SecondFactor,
            two_factor_form,
        ),
        route(
            Method::POST,
            "/sign-in/two-factor",
            SecondFactor,
            two_factor_submit,
        ),
        route(
            Method::GET,
            "/account/two-factor/set-up",
            SecondFactor,
            totp_setup_form,
        ),
        route(
            Method::POST,
            "/account/two-factor/set-up",
            SecondFactor,
            totp_setup_submit,
        ),
        route(Method::POST, "/sign-out", SecondFactor, sign_out),
        route(Method::GET, "/account", SignedIn, account),
        route(Method::GET, "/account/password", SignedIn, password_form),
        route(Method::POST, "/account/password", SignedIn, password_submit),
        route(
            Method::POST,
            "/account/two-factor/recovery-codes",
            SignedIn,
            recovery_codes_regenerate,
        ),
        route(Method::GET, "/account/tokens", SignedIn, tokens_page),
        route(Method::POST, "/account/tokens", SignedIn, token_create),
        route(
            Method::POST,
            "/account/tokens/{id}/revoke",
            SignedIn,
            token_revoke,
        ),
        route(Method::GET, "/notifications", SignedIn, notifications),
        route(Method::GET, "/password-reset", Public, reset_request_form),
        route(
            Method::POST,
            "/password-reset",
            Public,
            reset_request_submit,
        ),
        route(
            Method::GET,
            "/set-password/{token}",
            Public,
            set_password_form,
        ),
        route(
            Method::POST,
            "/set-password/{token}",
            Public,
            set_password_submit,
        ),
    ]
}

fn throttle_policy() -> throttle::Policy {
    throttle::Policy::default()
}

pub enum SignIn {
    /// Signed in; the cookie value and where to go next.
    Done { token: String, next: &'static str },
    /// The same message whether the account exists or not.
    Refused(String),
}

pub const WRONG_CREDENTIALS: &str = "Enter a correct email address and password";
pub const LOCKED: &str = "You have tried to sign in too many times. Wait 15 minutes and try again.";

/// Checks the password under the throttling rule (see `caremarket_core::throttle`) and
/// starts a session. Every failure is in the audit log (never the password), with the lock
/// it led to; attempts refused while locked are counted.
pub async fn sign_in(
    state: &AppState,
    ctx: &RequestCtx,
    email: &str,
    password: &str,
) -> Result<SignIn> {
    let policy = throttle_policy();
    let email = email.trim().to_lowercase();
    let addr = ctx.client_address.as_str();
    // One attempt at a time on this account (in this server): parallel guesses see each
    // other's failures; parallel correct sign-ins do not count against each other.
    let _address_turn = state
        .sign_in_turns
        .take(&guard::address_key(addr), guard::ADDRESS_TURNS)
        .await;
    let _turn = state
        .sign_in_turns
        .take(&guard::account_key(&email), 1)
        .await;
    let now = state.clock.now();
    let since = now - Duration::minutes(policy.window_minutes);
    let failures = guard::sign_in_failures(&state.db, &email, addr, since).await?;
    match throttle::decide(failures, &policy) {
        Decision::Locked => {
            guard::count_refused(state, "sign_in_while_locked").await?;
            return Ok(SignIn::Refused(LOCKED.into()));
        }
        Decision::Delay(units) => {
            tokio::time::sleep(std::time::Duration::from_millis(
                state.config.throttle_delay_ms * units as u64,
            ))
            .await;
        }
        Decision::Allow => {}
    }
    let user = store::user_by_email(&state.db, &email).await?;
    // Argon2 takes tens of milliseconds of CPU: off the async workers.
    let ok = password::verify_async(
        password,
        user.as_ref().and_then(|u| u.password_hash.as_deref()),
    )
    .await;
    let user = match user {
        Some(u) if ok && !u.disabled => u,
        other => {
            let (pair, account, address) = (
                guard::pair_key(&email, addr),
                guard::account_key(&email),
                guard::address_key(addr),
            );
            guard::record(&state.db, &[&pair, &account, &address], now).await?;
            let after = failures.plus_one();
            let locked = throttle::decide(after, &policy) == Decision::Locked;
            let reason = match &other {
                None => "no such account",
                Some(u) if u.disabled => "account disabled",
                Some(_) => "wrong password",
            };
            let mut tx = state.db.begin().await?;
            let entity_id = other.as_ref().map(|u| u.id.to_string()).unwrap_or_default();
            let typed: String = email.chars().take(254).collect();
            audit::entry("session.sign_in_failed", "user", &entity_id)
                .after(serde_json::json!({"email": typed, "reason": reason, "failures_in_window": after.pair, "from_everywhere": after.account}))
                .write(&mut tx, &Actor::from_ctx(ctx), now)
                .await?;
            if locked {
                // Which count reached its lock: this address and this account, this address
                // on every account, or this account from everywhere.
                let scope = if after.pair >= policy.pair_lock_after {
                    "this address, this account"
                } else if after.address >= policy.address_lock_after {
                    "this address, every account"
                } else {
                    "this account, every address"
                };
                audit::entry("session.locked", "user", &entity_id)
                    .after(serde_json::json!({"email": typed, "scope": scope, "minutes": policy.window_minutes}))
                    .write(&mut tx, &Actor::from_ctx(ctx), now)
                    .await?;
            }
            tx.commit().await?;
            // The attempt that reaches the lock says so at once.
            return Ok(SignIn::Refused(
                if locked { LOCKED } else { WRONG_CREDENTIALS }.into(),
            ));
        }
    };
    // This address knows the password: its own failures on this account are forgotten. The
    // account's failures from elsewhere, and this address's on other accounts, stand.
    guard::forget(&state.db, &guard::pair_key(&email, addr)).await?;
    let role = user.role()?;
    let needs_second = user.totp_enabled;
    let must_set_up = !user.totp_enabled && state.settings().mfa_required_roles.contains(&role);
    let mut tx = state.db.begin().await?;
    let token = session::create(&mut tx, user.id, !(needs_second || must_set_up), ctx, now).await?;
    tx.execute(
        "UPDATE users SET last_sign_in_at = $1 WHERE id = $2",
        args![now, user.id],
    )
    .await?;
    let actor = Actor {
        user_id: Some(user.id),
        name: user.email.clone(),
        ..Actor::from_ctx(ctx)
    };
    audit::entry("session.sign_in", "user", user.id)
        .after(serde_json::json!({"second_factor_pending": needs_second || must_set_up, "must_change_password": user.must_change_password}))
        .write(&mut tx, &actor, now)
        .await?;
    tx.commit().await?;
    let next = if needs_second {
        "/sign-in/two-factor"
    } else if must_set_up {
        "/account/two-factor/set-up"
    } else if user.must_change_password {
        "/account/password"
    } else {
        ""
    };
    Ok(SignIn::Done { token, next })
}

pub async fn sign_out(state: &AppState, ctx: &RequestCtx) -> Result<()> {
    let u = ctx.user()?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    if let Some(h) = u.session_hash() {
        session::destroy(&mut tx, h).await?;
    }
    audit::entry("session.sign_out", "user", u.id)
        .write(&mut tx, &Actor::from_ctx(ctx), now)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Changes the signed-in user's password; every other session of theirs ends.
pub async fn change_password(
    state: &AppState,
    ctx: &RequestCtx,
    current: &str,
    new: &str,
    confirm: &str,
    end_tokens: bool,
) -> Result<Result<(), FormErrors>> {
    let u = ctx.user()?;
    let row = store::user_by_id(&state.db, u.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut errors = FormErrors::default();
    if !password::verify_async(current, row.password_hash.as_deref()).await {
        errors.add("current_password", "Your current password is not correct");
    }
    check_new_password(&mut errors, new, confirm, &row.email);
    // A one-time password typed again would end the requirement while its giver still
    // knows it.
    if errors.is_empty() && password::verify_async(new, row.password_hash.as_deref()).await {
        errors.add(
            "new_password",
            "Choose a password different from the one you have now",
        );
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let now = state.clock.now();
    let hash = password::hash_async(new).await?;
    let mut tx = state.db.begin().await?;
    store::set_password(&mut tx, u.id, &hash, now).await?;
    let ended = store::delete_sessions_of(&mut tx, u.id, u.session_hash()).await?;
    let revoked = if end_tokens {
        tokens::revoke_all_of(&mut tx, u.id, now).await?
    } else {
        0
    };
    audit::entry("user.change_password", "user", u.id)
        .after(serde_json::json!({"other_sessions_ended": ended, "tokens_revoked": revoked, "was_one_time": row.must_change_password}))
        .write(&mut tx, &Actor::from_ctx(ctx), now)
        .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

pub fn check_new_password(errors: &mut FormErrors, new: &str, confirm: &str, email: &str) {
    if new.is_empty() {
        errors.add("new_password", "Enter a new password");
    } else if let Err(p) = caremarket_core::password::check(new, email) {
        errors.add("new_password", p.message());
    } else if new != confirm {
        errors.add("confirm_password", "The passwords do not match");
    }
}

/// What an admin (or the CLI) gives to create an account.
pub struct NewAccount {
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub provider_id: Option<String>,
}

pub fn validate_new_account(a: &NewAccount, errors: &mut FormErrors) {
    if a.email.trim().is_empty() {
        errors.add("email", "Enter an email address");
    } else if !valid_email(&a.email) {
        errors.add(
            "email",
            "Enter an email address in the correct format, like name@council.gov.uk",
        );
    }
    match (&a.role, &a.provider_id) {
        (Role::Provider, None) => errors.add(
            "provider_id",
            "Enter the CQC provider ID this user works for, like 1-101641521",
        ),
        (Role::Provider, Some(p)) if !valid_provider_id(p) => errors.add(
            "provider_id",
            "Enter a CQC provider ID in the correct format, like 1-101641521",
        ),
        (r, Some(_)) if *r != Role::Provider => errors.add(
            "provider_id",
            "Only provider users have a CQC provider ID: leave it empty",
        ),
        _ => {}
    }
}

/// CQC IDs look like 1-101641521 (a digit, a hyphen, digits).
pub fn valid_provider_id(s: &str) -> bool {
    let mut parts = s.trim().splitn(2, '-');
    matches!((parts.next(), parts.next()), (Some(a), Some(b)) if !a.is_empty() && a.chars().all(|c| c.is_ascii_digit()) && b.len() >= 5 && b.chars().all(|c| c.is_ascii_digit()))
}

pub const INVITATION_DAYS: i64 = 7;
pub const RESET_HOURS: i64 = 2;

/// Creates the user with no password and sends an invitation: a one-time link, valid for
/// `INVITATION_DAYS`, to set one. Returns the user id and the link.
pub async fn invite(state: &AppState, actor: &Actor, a: &NewAccount) -> Result<(i64, String)> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let id = store::insert_user(
        &mut tx,
        &store::NewUser {
            email: &a.email,
            display_name: &a.display_name,
            role: a.role,
            provider_id: a.provider_id.as_deref(),
            password_hash: None,
        },
        now,
    )
    .await?;
    let row = store::user_by_id_tx(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    audit::entry("user.create", "user", id)
        .after(row.audit_json())
        .write(&mut tx, actor, now)
        .await?;
    let link = issue_link(
        &mut tx,
        id,
        "invitation",
        now + Duration::days(INVITATION_DAYS),
        now,
        state,
    )
    .await?;
    let service = state.settings().service_name.clone();
    let body = format!(
        "You have been invited to use {service} as {role}.\n\nSet your password here (the link works once, for {INVITATION_DAYS} days):\n{link}\n\nIf you did not expect this, ignore this message.",
        role = a.role.label()
    );
    let nid = crate::mail::queue(
        &mut tx,
        id,
        &format!("You have been invited to {service}"),
        &body,
        now,
    )
    .await?;
    tx.commit().await?;
    crate::mail::send_after_commit(state, nid);
    Ok((id, link))
}

/// Creates a user with a one-time password (the CLI and the demo print it): they choose
/// their own at the first sign-in.
pub async fn create_with_one_time_password(
    state: &AppState,
    actor: &Actor,
    a: &NewAccount,
    password: &str,
) -> Result<i64> {
    create(state, actor, a, password, true).await
}

/// Creates a user with a password they chose (tests and benchmarks).
pub async fn create_with_password(
    state: &AppState,
    actor: &Actor,
    a: &NewAccount,
    password: &str,
) -> Result<i64> {
    create(state, actor, a, password, false).await
}

async fn create(
    state: &AppState,
    actor: &Actor,
    a: &NewAccount,
    password: &str,
    one_time: bool,
) -> Result<i64> {
    let now = state.clock.now();
    let hash = password::hash_async(password).await?;
    let mut tx = state.db.begin().await?;
    let id = store::insert_user(
        &mut tx,
        &store::NewUser {
            email: &a.email,
            display_name: &a.display_name,
            role: a.role,
            provider_id: a.provider_id.as_deref(),
            password_hash: Some(&hash),
        },
        now,
    )
    .await?;
    if one_time {
        store::set_one_time_password(&mut tx, id, &hash, now).await?;
    }
    let row = store::user_by_id_tx(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    audit::entry("user.create", "user", id)
        .after(row.audit_json())
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    Ok(id)
}

async fn issue_link(
    tx: &mut Tx,
    user_id: i64,
    purpose: &str,
    expires: DateTime<Utc>,
    now: DateTime<Utc>,
    state: &AppState,
) -> Result<String> {
    // A new link replaces any unused one of the same purpose.
    tx.execute(
        "UPDATE one_time_links SET used_at = $1 WHERE user_id = $2 AND purpose = $3 AND used_at IS NULL",
        args![now, user_id, purpose],
    )
    .await?;
    let token = random_hex(32);
    tx.execute(
        "INSERT INTO one_time_links (token_hash, user_id, purpose, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        args![token_hash(&token), user_id, purpose, now, expires],
    )
    .await?;
    Ok(format!("{}/set-password/{token}", state.config.public_url))
}

/// Reset links asked for one account in an hour, and from one address.
pub const RESETS_PER_ACCOUNT_HOUR: u32 = 3;
pub const RESETS_PER_ADDRESS_HOUR: u32 = 10;
/// While a link sent this recently is unused, asking again sends nothing new.
pub const RESET_RESEND_MINUTES: i64 = 15;

/// Sends a password-reset link to the account, if it exists and is enabled. The caller shows
/// the same page either way, so the form cannot be used to find accounts. Throttled per
/// account and per address; one live link at a time; a refused request is counted, not
/// audited or mailed.
pub async fn request_reset(state: &AppState, actor: &Actor, email: &str) -> Result<Option<String>> {
    let email = email.trim().to_lowercase();
    let acct = format!("reset:{}", guard::account_key(&email));
    let addr = format!("reset:{}", guard::address_key(&actor.client_address));
    let _turn = state.sign_in_turns.take(&acct, 1).await;
    let now = state.clock.now();
    let hour_ago = now - Duration::hours(1);
    if guard::count(&state.db, &acct, hour_ago).await? >= RESETS_PER_ACCOUNT_HOUR
        || guard::count(&state.db, &addr, hour_ago).await? >= RESETS_PER_ADDRESS_HOUR
    {
        guard::count_refused(state, "password_reset").await?;
        return Ok(None);
    }
    // Counted whether the account exists or not: otherwise the limit would tell.
    guard::record(&state.db, &[&acct, &addr], now).await?;
    let Some(user) = store::user_by_email(&state.db, &email).await? else {
        return Ok(None);
    };
    if user.disabled {
        return Ok(None);
    }
    let recent: i64 = state
        .db
        .q()
        .scalar(
            "SELECT COUNT(*) FROM one_time_links WHERE user_id = $1 AND purpose = 'password_reset' AND used_at IS NULL AND expires_at > $2 AND created_at > $3",
            args![user.id, now, now - Duration::minutes(RESET_RESEND_MINUTES)],
        )
        .await?;
    if recent > 0 {
        // The link already sent still works: a second one would only cancel it.
        guard::count_refused(state, "password_reset_link_live").await?;
        return Ok(None);
    }
    Ok(Some(send_reset(state, actor, &user).await?))
}

/// Issues and mails a reset link; also used by an admin's "reset password".
pub async fn send_reset(state: &AppState, actor: &Actor, user: &UserRow) -> Result<String> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let link = issue_link(
        &mut tx,
        user.id,
        "password_reset",
        now + Duration::hours(RESET_HOURS),
        now,
        state,
    )
    .await?;
    let service = state.settings().service_name.clone();
    let body = format!(
        "Someone asked to reset the password of your {service} account.\n\nSet a new password here (the link works once, for {RESET_HOURS} hours):\n{link}\n\nIf it was not you, ignore this message: your password has not changed."
    );
    let nid = crate::mail::queue(
        &mut tx,
        user.id,
        &format!("Reset your {service} password"),
        &body,
        now,
    )
    .await?;
    audit::entry("user.password_reset_link", "user", user.id)
        .after(serde_json::json!({"expires_in_hours": RESET_HOURS}))
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    crate::mail::send_after_commit(state, nid);
    Ok(link)
}

#[derive(sqlx::FromRow)]
pub struct LinkRow {
    pub user_id: i64,
    pub purpose: String,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

/// A one-time link that can still be used, with its user.
pub async fn valid_link(state: &AppState, token: &str) -> Result<Option<(LinkRow, UserRow)>> {
    let link: Option<LinkRow> = state
        .db
        .q()
        .fetch_optional(
            "SELECT user_id, purpose, expires_at, used_at FROM one_time_links WHERE token_hash = $1",
            args![token_hash(token)],
        )
        .await?;
    let Some(link) = link else { return Ok(None) };
    if link.used_at.is_some() || link.expires_at <= state.clock.now() {
        return Ok(None);
    }
    let Some(user) = store::user_by_id(&state.db, link.user_id).await? else {
        return Ok(None);
    };
    if user.disabled {
        return Ok(None);
    }
    Ok(Some((link, user)))
}

/// Sets the password from a one-time link; the link is spent and every session ends.
pub async fn set_password_from_link(
    state: &AppState,
    ctx: &RequestCtx,
    token: &str,
    new: &str,
    confirm: &str,
) -> Result<Result<(), FormErrors>> {
    let Some((link, user)) = valid_link(state, token).await? else {
        return Err(AppError::NotFound);
    };
    let mut errors = FormErrors::default();
    check_new_password(&mut errors, new, confirm, &user.email);
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let now = state.clock.now();
    let hash = password::hash_async(new).await?;
    let mut tx = state.db.begin().await?;
    // Spend the link only if nobody spent it in the meantime (two tabs, one link).
    let n = tx
        .execute(
            "UPDATE one_time_links SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL",
            args![now, token_hash(token)],
        )
        .await?;
    if n != 1 {
        return Err(AppError::NotFound);
    }
    store::set_password(&mut tx, user.id, &hash, now).await?;
    let sessions = store::delete_sessions_of(&mut tx, user.id, None).await?;
    // Whoever knew the old password may have made tokens with it.
    let revoked = tokens::revoke_all_of(&mut tx, user.id, now).await?;
    let actor = Actor {
        user_id: Some(user.id),
        name: user.email.clone(),
        ..Actor::from_ctx(ctx)
    };
    audit::entry(
        if link.purpose == "invitation" {
            "user.accept_invitation"
        } else {
            "user.reset_password"
        },
        "user",
        user.id,
    )
    .after(serde_json::json!({"sessions_ended": sessions, "tokens_revoked": revoked}))
    .write(&mut tx, &actor, now)
    .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Starts TOTP set-up: keeps a new secret (not yet enabled) and returns it.
pub async fn totp_begin(state: &AppState, user_id: i64) -> Result<String> {
    let row = store::user_by_id(&state.db, user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if let (Some(s), false) = (&row.totp_secret, row.totp_enabled) {
        return Ok(s.clone());
    }
    if row.totp_enabled {
        return Err(AppError::Conflict(
            "Two-factor authentication is already set up".into(),
        ));
    }
    let secret = totp::new_secret();
    state
        .db
        .q()
        .execute(
            "UPDATE users SET totp_secret = $1 WHERE id = $2 AND totp_enabled = FALSE",
            args![&secret, user_id],
        )
        .await?;
    Ok(secret)
}

/// Confirms set-up with a code from the app; enables TOTP, marks this session as having
/// passed the second factor and returns fresh recovery codes (shown once).
pub async fn totp_confirm(
    state: &AppState,
    ctx: &RequestCtx,
    code: &str,
) -> Result<Result<Vec<String>, String>> {
    let u = ctx.user()?;
    let row = store::user_by_id(&state.db, u.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let Some(secret) = row.totp_secret.clone().filter(|_| !row.totp_enabled) else {
        return Ok(Err("Two-factor authentication is already set up".into()));
    };
    let now = state.clock.now();
    let Some(step) = totp::verify(&secret, code, now) else {
        return Ok(Err(
            "Enter the 6-digit code your authenticator app shows now".into(),
        ));
    };
    let mut tx = state.db.begin().await?;
    tx.execute(
        "UPDATE users SET totp_enabled = TRUE, totp_last_step = $1 WHERE id = $2",
        args![step as i64, u.id],
    )
    .await?;
    let codes = replace_recovery_codes(&mut tx, u.id).await?;
    if let Some(h) = u.session_hash() {
        tx.execute(
            "UPDATE sessions SET mfa_passed = TRUE WHERE token_hash = $1",
            args![h],
        )
        .await?;
    }
    audit::entry("user.totp_enable", "user", u.id)
        .write(&mut tx, &Actor::from_ctx(ctx), now)
        .await?;
    tx.commit().await?;
    Ok(Ok(codes))
}

async fn replace_recovery_codes(tx: &mut Tx, user_id: i64) -> Result<Vec<String>> {
    tx.execute(
        "DELETE FROM recovery_codes WHERE user_id = $1",
        args![user_id],
    )
    .await?;
    let mut codes = Vec::new();
    for _ in 0..10 {
        let raw = random_hex(5);
        let code = format!("{}-{}", &raw[..5], &raw[5..]);
        tx.execute(
            "INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)",
            args![user_id, token_hash(&code)],
        )
        .await?;
        codes.push(code);
    }
    Ok(codes)
}

pub async fn regenerate_recovery_codes(state: &AppState, ctx: &RequestCtx) -> Result<Vec<String>> {
    let u = ctx.user()?;
    if !u.totp_enabled {
        return Err(AppError::Conflict(
            "Set up two-factor authentication first".into(),
        ));
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let codes = replace_recovery_codes(&mut tx, u.id).await?;
    audit::entry("user.recovery_codes_regenerate", "user", u.id)
        .write(&mut tx, &Actor::from_ctx(ctx), now)
        .await?;
    tx.commit().await?;
    Ok(codes)
}

/// The second step of sign-in: a TOTP code (each used once) or an unused recovery code.
/// Wrong codes are counted on their own (a correct password does not clear them), slowed
/// and locked as password guesses are, and each one is in the audit log.
pub async fn second_factor(
    state: &AppState,
    ctx: &RequestCtx,
    code: &str,
) -> Result<Result<(), String>> {
    let u = ctx.user()?;
    let policy = throttle_policy();
    let key = guard::second_factor_key(u.id);
    let _turn = state.sign_in_turns.take(&key, 1).await;
    let now = state.clock.now();
    let fails = guard::count(
        &state.db,
        &key,
        now - Duration::minutes(policy.window_minutes),
    )
    .await?;
    match throttle::decide_second_factor(fails, &policy) {
        Decision::Locked => {
            guard::count_refused(state, "second_factor_while_locked").await?;
            return Ok(Err(LOCKED.into()));
        }
        Decision::Delay(units) => {
            tokio::time::sleep(std::time::Duration::from_millis(
                state.config.throttle_delay_ms * units as u64,
            ))
            .await;
        }
        Decision::Allow => {}
    }
    let row = store::user_by_id(&state.db, u.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut tx = state.db.begin().await?;
    let mut method = None;
    if let (true, Some(secret)) = (row.totp_enabled, &row.totp_secret)
        && let Some(step) = totp::verify(secret, code, now)
        && row.totp_last_step.is_none_or(|last| (step as i64) > last)
    {
        // Conditional on the last step, so two tabs sending the same code at once cannot
        // both succeed.
        let n = tx
            .execute(
                "UPDATE users SET totp_last_step = $1 WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
                args![step as i64, u.id],
            )
            .await?;
        if n == 1 {
            method = Some("totp");
        }
    }
    if method.is_none() {
        let typed = code.trim().to_lowercase();
        let n = tx
            .execute(
                "UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
                args![now, u.id, token_hash(&typed)],
            )
            .await?;
        if n == 1 {
            method = Some("recovery_code");
        }
    }
    let Some(method) = method else {
        tx.execute(
            "INSERT INTO login_failures (throttle_key, failed_at) VALUES ($1, $2)",
            args![&key, now],
        )
        .await?;
        let locked = throttle::decide_second_factor(fails + 1, &policy) == Decision::Locked;
        audit::entry("session.second_factor_failed", "user", u.id)
            .after(serde_json::json!({"failures_in_window": fails + 1}))
            .write(&mut tx, &Actor::from_ctx(ctx), now)
            .await?;
        if locked {
            audit::entry("session.second_factor_locked", "user", u.id)
                .after(serde_json::json!({"minutes": policy.window_minutes}))
                .write(&mut tx, &Actor::from_ctx(ctx), now)
                .await?;
        }
        tx.commit().await?;
        return Ok(Err(if locked {
            LOCKED.into()
        } else {
            "Enter the 6-digit code from your authenticator app, or a recovery code".into()
        }));
    };
    tx.execute(
        "DELETE FROM login_failures WHERE throttle_key = $1",
        args![&key],
    )
    .await?;
    if let Some(h) = u.session_hash() {
        tx.execute(
            "UPDATE sessions SET mfa_passed = TRUE WHERE token_hash = $1",
            args![h],
        )
        .await?;
    }
    audit::entry("session.second_factor", "user", u.id)
        .after(serde_json::json!({"method": method}))
        .write(&mut tx, &Actor::from_ctx(ctx), now)
        .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

pub async fn unused_recovery_codes(state: &AppState, user_id: i64) -> Result<i64> {
    Ok(state
        .db
        .q()
        .scalar(
            "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
            args![user_id],
        )
        .await?)
}

/// This capability's part of the OpenAPI document (src/api puts the parts together).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(pages::me, pages::list_tokens, pages::create_token, pages::revoke_token),
    tags((name = "accounts", description = "The signed-in user and their API tokens"))
)]
pub struct ApiDoc;
