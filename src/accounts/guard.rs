//! What stands between a guesser and an account: failure counts kept in the database (so
//! every server sees them), attempts on one account taken one at a time, Argon2's work
//! bounded across everyone, and refused requests counted rather than audited one by one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use caremarket_core::throttle::Failures;
use chrono::{DateTime, Duration, Utc};

use crate::db::Db;
use crate::{AppState, Result, args};

/// One attempt at a time per key (an account) in this server: parallel guesses then see each
/// other's failures, and parallel correct sign-ins are never counted against each other.
#[derive(Default)]
pub struct Turns {
    keys: Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>,
}

impl Turns {
    pub async fn take(&self, key: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            let mut keys = self.keys.lock().expect("turns");
            if keys.len() > 10_000 {
                keys.retain(|_, w| w.strong_count() > 0);
            }
            match keys.get(key).and_then(Weak::upgrade) {
                Some(l) => l,
                None => {
                    let l = Arc::new(tokio::sync::Mutex::new(()));
                    keys.insert(key.to_string(), Arc::downgrade(&l));
                    l
                }
            }
        };
        lock.lock_owned().await
    }
}

pub fn account_key(email: &str) -> String {
    format!("account:{}", email.trim().to_lowercase())
}

pub fn address_key(addr: &str) -> String {
    format!("address:{addr}")
}

pub fn pair_key(email: &str, addr: &str) -> String {
    format!("pair:{}|{addr}", email.trim().to_lowercase())
}

pub fn second_factor_key(user_id: i64) -> String {
    format!("second_factor:{user_id}")
}

pub async fn count(db: &Db, key: &str, since: DateTime<Utc>) -> Result<u32> {
    let n: i64 = db
        .q()
        .scalar(
            "SELECT COUNT(*) FROM login_failures WHERE throttle_key = $1 AND failed_at > $2",
            args![key, since],
        )
        .await?;
    Ok(n as u32)
}

/// The three counts the sign-in rule looks at.
pub async fn sign_in_failures(
    db: &Db,
    email: &str,
    addr: &str,
    since: DateTime<Utc>,
) -> Result<Failures> {
    Ok(Failures {
        pair: count(db, &pair_key(email, addr), since).await?,
        address: count(db, &address_key(addr), since).await?,
        account: count(db, &account_key(email), since).await?,
    })
}

/// Records one event under each key, and now and then forgets events older than a day.
pub async fn record(db: &Db, keys: &[&str], now: DateTime<Utc>) -> Result<()> {
    let mut tx = db.begin().await?;
    for key in keys {
        tx.execute(
            "INSERT INTO login_failures (throttle_key, failed_at) VALUES ($1, $2)",
            args![*key, now],
        )
        .await?;
    }
    tx.commit().await?;
    if crate::web::random_hex(1).as_bytes()[0] == b'0' {
        db.q()
            .execute(
                "DELETE FROM login_failures WHERE failed_at < $1",
                args![now - Duration::days(1)],
            )
            .await?;
    }
    Ok(())
}

pub async fn forget(db: &Db, key: &str) -> Result<()> {
    db.q()
        .execute(
            "DELETE FROM login_failures WHERE throttle_key = $1",
            args![key],
        )
        .await?;
    Ok(())
}

/// Counts a request a throttle refused (by kind and day): a flood leaves a number, not
/// thousands of audit rows.
pub async fn count_refused(state: &AppState, kind: &str) -> Result<()> {
    let day = state.clock.now().date_naive();
    state
        .db
        .q()
        .execute(
            "INSERT INTO refused_requests (kind, day, n) VALUES ($1, $2, 1) ON CONFLICT (kind, day) DO UPDATE SET n = refused_requests.n + 1",
            args![kind, day],
        )
        .await?;
    tracing::warn!(kind, "request refused by a throttle");
    Ok(())
}

/// Refused requests by kind over the last days, for the audit log page.
pub async fn refused_since(db: &Db, since: chrono::NaiveDate) -> Result<Vec<(String, i64)>> {
    Ok(db
        .q()
        .fetch_all(
            "SELECT kind, CAST(SUM(n) AS BIGINT) FROM refused_requests WHERE day >= $1 GROUP BY kind ORDER BY kind",
            args![since],
        )
        .await?)
}
