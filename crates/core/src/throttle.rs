//! Sign-in throttling: repeated failures for an account or from an address first slow sign-in
//! and then lock it for a while. The rule sees counts only, never whether the account exists,
//! so its answer cannot reveal that either.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Failures older than this are forgotten; a lock lifts as they age out.
    pub window_minutes: i64,
    pub account_delay_after: u32,
    pub account_lock_after: u32,
    pub address_delay_after: u32,
    pub address_lock_after: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            window_minutes: 15,
            account_delay_after: 3,
            account_lock_after: 10,
            address_delay_after: 10,
            address_lock_after: 50,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Slow the attempt down by this many units of the configured base delay.
    Delay(u32),
    Locked,
}

pub fn decide(account_failures: u32, address_failures: u32, p: &Policy) -> Decision {
    if account_failures >= p.account_lock_after || address_failures >= p.address_lock_after {
        return Decision::Locked;
    }
    let over_account = account_failures.saturating_sub(p.account_delay_after.saturating_sub(1));
    let over_address = address_failures.saturating_sub(p.address_delay_after.saturating_sub(1));
    let units = over_account.max(over_address);
    if units == 0 {
        Decision::Allow
    } else {
        // Grows with each failure but stays short: the lock, not the delay, stops guessing.
        Decision::Delay(units.min(5))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slows_then_locks_an_account() {
        let p = Policy::default();
        assert_eq!(decide(0, 0, &p), Decision::Allow);
        assert_eq!(decide(2, 2, &p), Decision::Allow);
        assert_eq!(decide(3, 3, &p), Decision::Delay(1));
        assert_eq!(decide(5, 5, &p), Decision::Delay(3));
        assert_eq!(decide(9, 9, &p), Decision::Delay(5));
        assert_eq!(decide(10, 10, &p), Decision::Locked);
    }

    #[test]
    fn an_address_trying_many_accounts_is_locked_too() {
        let p = Policy::default();
        assert_eq!(decide(1, 9, &p), Decision::Allow);
        assert_eq!(decide(1, 10, &p), Decision::Delay(1));
        assert_eq!(decide(0, 50, &p), Decision::Locked);
    }

    proptest::proptest! {
        #[test]
        fn more_failures_never_loosen_the_decision(a in 0u32..100, b in 0u32..100) {
            let p = Policy::default();
            let rank = |d: Decision| match d { Decision::Allow => 0, Decision::Delay(n) => n, Decision::Locked => 100 };
            proptest::prop_assert!(rank(decide(a + 1, b, &p)) >= rank(decide(a, b, &p)));
            proptest::prop_assert!(rank(decide(a, b + 1, &p)) >= rank(decide(a, b, &p)));
        }
    }
}
