//! What stands between a guesser and an account: failure counts kept in the database (so
//! every server sees them), attempts on one account taken one at a time, Argon2's work
//! bounded across everyone, and refused requests counted rather than audited one by one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use caremarket_core::throttle::Failures;
use chrono::{DateTime, Duration, Utc};

use crate::db::Db;
use crate::{AppState, Result, args};

/// Attempts taken in turn per key in this server: one at a time on an account, a few at a
/// time from an address. Parallel guesses then see each other's failures (a burst of a
/// thousand at once from one address, each at another account, meets the address's count
/// after the first few), and parallel correct sign-ins are never counted against each other.
/// Argon2 runs a couple at a time whatever happens (see `password`), so the turns cost
/// colleagues behind one proxy nothing.
#[derive(Default)]
pub struct Turns {
    keys: Mutex<HashMap<String, Weak<tokio::sync::Semaphore>>>,
}

/// How many attempts from one address are checked at once.
pub const ADDRESS_TURNS: usize = 4;

impl Turns {
    /// Waits for one of `at_once` turns on `key`.
    pub async fn take(&self, key: &str, at_once: usize) -> tokio::sync::OwnedSemaphorePermit {
        let turns = {
            let mut keys = self.keys.lock().expect("turns");
            if keys.len() > 10_000 {
                keys.retain(|_, w| w.strong_count() > 0);
            }
            match keys.get(key).and_then(Weak::upgrade) {
                Some(l) => l,
                None => {
                    let l = Arc::new(tokio::sync::Semaphore::new(at_once));
                    keys.insert(key.to_string(), Arc::downgrade(&l));
                    l
                }
            }
        };
        turns
            .acquire_owned()
            .await
            .expect("a turns semaphore is never closed")
    }
}

pub fn account_key(email: &str) -> String {
    format!("account:{}", email.trim().to_lowercase())
}

/// An address as the throttle counts it: an IPv6 client holds a whole /64 and can move
/// within it at will, so it is counted by that prefix.
pub fn counted_address(addr: &str) -> String {
    match addr.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        _ => addr.to_string(),
    }
}

pub fn address_key(addr: &str) -> String {
    format!("address:{}", counted_address(addr))
}

pub fn pair_key(email: &str, addr: &str) -> String {
    format!(
        "pair:{}|{}",
        email.trim().to_lowercase(),
        counted_address(addr)
    )
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

#[cfg(test)]
mod tests {
    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        assert_eq!(
            super::counted_address("2001:db8:1:2:aaaa::1"),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            super::counted_address("2001:db8:1:2:bbbb:cccc:dddd:eeee"),
            "2001:db8:1:2::/64"
        );
        assert_eq!(super::counted_address("::ffff:192.0.2.1"), "192.0.2.1");
        assert_eq!(super::counted_address("192.0.2.1"), "192.0.2.1");
        assert_eq!(super::counted_address("local"), "local");
    }
}
