//! Sign-in throttling after the NCSC's guidance: slow repeated failures down first, lock only
//! on a sustained attack, and never let one address's failures stop a correct password
//! typed at another address. Failures are counted three ways:
//!
//! - *pair*: one account from one address (someone guessing one person's password): slowed
//!   from the 3rd failure, and that address locked out of that account from the 10th;
//! - *address*: every account from one address (password spraying): slowed from the 10th,
//!   and that address locked out of sign-in from the 100th;
//! - *account*: one account from every address (a distributed attack on one person): slowed
//!   from the 10th, and locked for everyone only at 100 in the window.
//!
//! The rule sees counts only, never whether the account exists, so its answer cannot reveal
//! that either.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Failures older than this are forgotten; a lock lifts as they age out.
    pub window_minutes: i64,
    pub pair_delay_after: u32,
    pub pair_lock_after: u32,
    pub address_delay_after: u32,
    pub address_lock_after: u32,
    pub account_delay_after: u32,
    pub account_lock_after: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            window_minutes: 15,
            pair_delay_after: 3,
            pair_lock_after: 10,
            address_delay_after: 10,
            address_lock_after: 100,
            account_delay_after: 10,
            account_lock_after: 100,
        }
    }
}

/// Failures in the window, counted three ways (see the module's notes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Failures {
    pub pair: u32,
    pub address: u32,
    pub account: u32,
}

impl Failures {
    /// The counts once one more failure is added to each.
    pub fn plus_one(self) -> Failures {
        Failures {
            pair: self.pair + 1,
            address: self.address + 1,
            account: self.account + 1,
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

/// The longest delay, in units: each attempt waits a few seconds at most. Attempts on one
/// account are taken one at a time, so the delays add up against a guesser.
pub const MAX_DELAY_UNITS: u32 = 5;

pub fn decide(f: Failures, p: &Policy) -> Decision {
    if f.pair >= p.pair_lock_after
        || f.address >= p.address_lock_after
        || f.account >= p.account_lock_after
    {
        return Decision::Locked;
    }
    let over = |n: u32, after: u32| n.saturating_sub(after.saturating_sub(1));
    let units = over(f.pair, p.pair_delay_after)
        .max(over(f.address, p.address_delay_after))
        .max(over(f.account, p.account_delay_after));
    if units == 0 {
        Decision::Allow
    } else {
        Decision::Delay(units.min(MAX_DELAY_UNITS))
    }
}

/// The second factor (authenticator codes): its own count for the account, kept across
/// password sign-ins, slowed and locked as a password guessed from one address is.
pub fn decide_second_factor(failures: u32, p: &Policy) -> Decision {
    decide(
        Failures {
            pair: failures,
            ..Default::default()
        },
        p,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(pair: u32, address: u32, account: u32) -> Failures {
        Failures {
            pair,
            address,
            account,
        }
    }

    #[test]
    fn one_address_guessing_one_account_is_slowed_then_locked_out_of_it() {
        let p = Policy::default();
        assert_eq!(decide(f(0, 0, 0), &p), Decision::Allow);
        assert_eq!(decide(f(2, 2, 2), &p), Decision::Allow);
        assert_eq!(decide(f(3, 3, 3), &p), Decision::Delay(1));
        assert_eq!(decide(f(5, 5, 5), &p), Decision::Delay(3));
        assert_eq!(decide(f(9, 9, 9), &p), Decision::Delay(5));
        assert_eq!(decide(f(10, 10, 10), &p), Decision::Locked);
    }

    #[test]
    fn another_address_with_no_failures_is_only_slowed() {
        // 60 failures on the account from elsewhere: the person's own address (no failures
        // of its own) waits a little, and is not locked out.
        let p = Policy::default();
        assert_eq!(decide(f(0, 0, 60), &p), Decision::Delay(5));
        assert_eq!(decide(f(0, 0, 99), &p), Decision::Delay(5));
        // Only a sustained attack locks the account for everyone.
        assert_eq!(decide(f(0, 0, 100), &p), Decision::Locked);
    }

    #[test]
    fn an_address_trying_many_accounts_is_slowed_then_locked() {
        let p = Policy::default();
        assert_eq!(decide(f(1, 9, 1), &p), Decision::Allow);
        assert_eq!(decide(f(1, 10, 1), &p), Decision::Delay(1));
        assert_eq!(decide(f(0, 100, 0), &p), Decision::Locked);
    }

    #[test]
    fn second_factor_codes_follow_the_same_steps() {
        let p = Policy::default();
        assert_eq!(decide_second_factor(2, &p), Decision::Allow);
        assert_eq!(decide_second_factor(3, &p), Decision::Delay(1));
        assert_eq!(decide_second_factor(10, &p), Decision::Locked);
    }

    proptest::proptest! {
        #[test]
        fn more_failures_never_loosen_the_decision(a in 0u32..200, b in 0u32..200, c in 0u32..200) {
            let p = Policy::default();
            let rank = |d: Decision| match d { Decision::Allow => 0, Decision::Delay(n) => n, Decision::Locked => 100 };
            let base = rank(decide(f(a, b, c), &p));
            proptest::prop_assert!(rank(decide(f(a + 1, b, c), &p)) >= base);
            proptest::prop_assert!(rank(decide(f(a, b + 1, c), &p)) >= base);
            proptest::prop_assert!(rank(decide(f(a, b, c + 1), &p)) >= base);
        }
    }
}
