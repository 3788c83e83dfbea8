//! Home care brokerage rules, free of storage: the offer cascade as a state machine, the
//! awaiting care list statistics as the 2018 Leicester domiciliary support report §4.7 reports them, and banked hours.
//!
//! Hours are hundredths of an hour throughout (1050 = 10.50 hours a week).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

// n / d rounded half up (half away from zero), as the cost of care rounds pence.
use crate::cost::div_round_half_up as div_round;

/// Who pays: the council, or the NHS (Continuing Health Care).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Funding {
    Council,
    Health,
}

// ---------------------------------------------------------------------------------------
// The awaiting care list

/// One stay on the awaiting care list: a case joins when no provider can start its care and
/// leaves when one is found (or it is withdrawn). A case may come back: a new episode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Episode {
    pub case_reference: String,
    pub funding: Funding,
    pub joined: NaiveDate,
    /// The day it left the list (it is not on the list that day); None while waiting.
    pub left: Option<NaiveDate>,
    /// Hours of care a week needed, in hundredths.
    pub hours_hundredths: i64,
}

impl Episode {
    /// Whether the case was on the list on any day from `from` to `to`, both included.
    fn on_list_between(&self, from: NaiveDate, to: NaiveDate) -> bool {
        self.joined <= to && self.left.is_none_or(|l| l > from && l > self.joined)
    }

    /// Whole days waited by `date`: from joining to the reporting date, or to leaving if it
    /// left first.
    fn waited(&self, date: NaiveDate) -> i64 {
        let end = match self.left {
            Some(l) if l < date => l,
            _ => date,
        };
        (end - self.joined).num_days().max(0)
    }
}

/// One reporting date's column of the 2018 Leicester domiciliary support report §4.7's table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListStats {
    pub date: NaiveDate,
    /// "Total number of LCC cases on ACL in period"
    pub council_cases: i64,
    /// "Total number of Health cases on ACL in period"
    pub health_cases: i64,
    /// "Longest Wait", whole days; None when no one was on the list
    pub longest_wait_days: Option<i64>,
    /// "Average Wait" over council and health cases together, in hundredths of a day
    /// (rounded half up)
    pub average_wait_hundredths: Option<i64>,
    /// "Avg. hours required", hundredths of an hour a week (rounded half up)
    pub average_hours_hundredths: Option<i64>,
}

/// The statistics for each reporting date. The period of a date runs from the day after the
/// previous reporting date to the date itself (the first date's period is the
/// `first_period_days` days ending on it). A case counts once in a period, by its latest
/// episode on the list in it; its wait is whole days from joining that episode to the
/// reporting date, or to the day it left if it left first.
pub fn list_stats(
    episodes: &[Episode],
    dates: &[NaiveDate],
    first_period_days: i64,
) -> Vec<ListStats> {
    let mut sorted = dates.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out = Vec::new();
    for (i, &date) in sorted.iter().enumerate() {
        let from = match i {
            0 => date - chrono::Duration::days(first_period_days.max(1) - 1),
            _ => sorted[i - 1] + chrono::Duration::days(1),
        };
        // The latest episode of each case on the list in the period.
        let mut by_case: std::collections::BTreeMap<&str, &Episode> = Default::default();
        for e in episodes.iter().filter(|e| e.on_list_between(from, date)) {
            let slot = by_case.entry(e.case_reference.as_str()).or_insert(e);
            if e.joined > slot.joined {
                *slot = e;
            }
        }
        let these: Vec<&Episode> = by_case.into_values().collect();
        let n = these.len() as i128;
        let waits: Vec<i64> = these.iter().map(|e| e.waited(date)).collect();
        out.push(ListStats {
            date,
            council_cases: these
                .iter()
                .filter(|e| e.funding == Funding::Council)
                .count() as i64,
            health_cases: these
                .iter()
                .filter(|e| e.funding == Funding::Health)
                .count() as i64,
            longest_wait_days: waits.iter().copied().max(),
            average_wait_hundredths: (n > 0)
                .then(|| div_round(waits.iter().map(|w| *w as i128).sum::<i128>() * 100, n)),
            average_hours_hundredths: (n > 0)
                .then(|| div_round(these.iter().map(|e| e.hours_hundredths as i128).sum(), n)),
        });
    }
    out
}

/// Reporting dates every `step_days` from `first` to `last` (weekly: 7).
pub fn reporting_dates(first: NaiveDate, last: NaiveDate, step_days: i64) -> Vec<NaiveDate> {
    let mut v = Vec::new();
    let mut d = first;
    while d <= last {
        v.push(d);
        d += chrono::Duration::days(step_days.max(1));
    }
    v
}

// ---------------------------------------------------------------------------------------
// A council's brokerage rules

/// How urgent a request is, and how long a provider has to answer its offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Urgency {
    pub key: String,
    pub label: String,
    pub response_minutes: i64,
}

/// The rules a council sets for brokerage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Rules {
    /// The council's case reference format: `9` a digit, `A` a letter, anything else itself
    /// ("ASC-9999999"). Empty: 3 to 20 letters, digits, `-` or `/`.
    pub case_reference_format: String,
    /// How many providers hold the offer at once (1: one at a time, in rank order)
    pub offer_width: usize,
    pub urgencies: Vec<Urgency>,
    /// Providers are reminded this many minutes before an offer's deadline
    pub reminder_minutes: i64,
    pub bank: BankRules,
    /// Days between the awaiting care list's reporting dates (7: weekly)
    pub reporting_step_days: i64,
}

impl Default for Rules {
    fn default() -> Self {
        let u = |k: &str, l: &str, m| Urgency {
            key: k.into(),
            label: l.into(),
            response_minutes: m,
        };
        Rules {
            case_reference_format: String::new(),
            offer_width: 1,
            urgencies: vec![
                u("standard", "Standard", 24 * 60),
                u("hospital_discharge", "Hospital discharge", 4 * 60),
                u("crisis", "Crisis (care breaking down)", 2 * 60),
            ],
            reminder_minutes: 60,
            bank: BankRules {
                cap_hundredths: 2000,
                expiry_weeks: 12,
            },
            reporting_step_days: 7,
        }
    }
}

impl Rules {
    pub fn urgency(&self, key: &str) -> Option<&Urgency> {
        self.urgencies.iter().find(|u| u.key == key)
    }
}

/// Whether `s` is a case reference in the council's `format` (see [`Rules`]).
pub fn case_reference_ok(format: &str, s: &str) -> bool {
    if format.is_empty() {
        let n = s.chars().count();
        return (3..=20).contains(&n)
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '/');
    }
    let (f, v): (Vec<char>, Vec<char>) = (format.chars().collect(), s.chars().collect());
    f.len() == v.len()
        && f.iter().zip(&v).all(|(f, c)| match f {
            '9' => c.is_ascii_digit(),
            'A' => c.is_ascii_alphabetic(),
            other => other.eq_ignore_ascii_case(c),
        })
}

// ---------------------------------------------------------------------------------------
// The offer cascade

/// Why a provider said no.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclineReason {
    NoCapacity,
    CannotMeetNeeds,
    Area,
    Other(String),
}

/// Where one offer stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfferStatus {
    Open,
    Accepted,
    Declined(DeclineReason),
    /// The deadline passed with no answer
    Expired,
    /// Closed because another provider accepted, or the request was withdrawn
    Closed,
    /// A broker moved past it before an answer (with a reason, audited)
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    pub provider: String,
    /// Seconds since the epoch, to keep this free of clocks
    pub made_at: i64,
    pub deadline: i64,
    pub status: OfferStatus,
}

/// Where a request stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    /// Offers out (or about to be)
    Offering,
    Placed {
        provider: String,
    },
    /// Every provider in the order has said no or let the offer lapse: on the awaiting care
    /// list until a broker acts
    Waiting,
    Withdrawn,
}

/// What happened, for notifications and the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Offered { provider: String, deadline: i64 },
    Placed { provider: String },
    Exhausted,
}

/// Why an action was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The provider has no open offer for this request (never had one, answered, or lapsed)
    NoOpenOffer,
    /// The request is placed, waiting or withdrawn
    NotOffering,
    /// The request is already placed or withdrawn: nothing more can be done with it
    Closed,
    /// A new order must list exactly the providers not yet offered
    NotTheRemainingProviders,
}

/// One request's cascade: the lot's primary provider first, then the framework in rank
/// order, `width` offers open at once (1 by default), each with a deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cascade {
    pub order: Vec<String>,
    pub width: usize,
    pub response_seconds: i64,
    pub offers: Vec<Offer>,
    /// The next provider in `order` not yet offered
    pub next: usize,
    pub state: RequestState,
}

impl Cascade {
    /// A cascade over `order` (duplicates are offered once); offers go out at `now`.
    pub fn start(
        order: &[String],
        width: usize,
        response_seconds: i64,
        now: i64,
    ) -> (Cascade, Vec<Event>) {
        let mut seen = std::collections::HashSet::new();
        let order: Vec<String> = order
            .iter()
            .filter(|p| seen.insert((*p).clone()))
            .cloned()
            .collect();
        let mut c = Cascade {
            order,
            width: width.max(1),
            response_seconds: response_seconds.max(1),
            offers: vec![],
            next: 0,
            state: RequestState::Offering,
        };
        let ev = c.refill(now);
        (c, ev)
    }

    pub fn open_offers(&self) -> impl Iterator<Item = &Offer> {
        self.offers.iter().filter(|o| o.status == OfferStatus::Open)
    }

    /// Every offer still open ends as `to` (closed when the request is placed or withdrawn,
    /// skipped when a broker moves past it).
    fn close_open(&mut self, to: OfferStatus) {
        for o in self
            .offers
            .iter_mut()
            .filter(|o| o.status == OfferStatus::Open)
        {
            o.status = to.clone();
        }
    }

    /// Opens offers to the next providers until `width` are open or the order runs out;
    /// with none open and none left, the request waits.
    fn refill(&mut self, now: i64) -> Vec<Event> {
        let mut ev = Vec::new();
        if self.state != RequestState::Offering {
            return ev;
        }
        while self.open_offers().count() < self.width && self.next < self.order.len() {
            let provider = self.order[self.next].clone();
            self.next += 1;
            let deadline = now + self.response_seconds;
            self.offers.push(Offer {
                provider: provider.clone(),
                made_at: now,
                deadline,
                status: OfferStatus::Open,
            });
            ev.push(Event::Offered { provider, deadline });
        }
        if self.open_offers().count() == 0 {
            self.state = RequestState::Waiting;
            ev.push(Event::Exhausted);
        }
        ev
    }

    fn open_index(&self, provider: &str, now: i64) -> Result<usize, Refused> {
        if self.state != RequestState::Offering {
            return Err(Refused::NotOffering);
        }
        self.offers
            .iter()
            .position(|o| {
                o.provider == provider && o.status == OfferStatus::Open && now < o.deadline
            })
            .ok_or(Refused::NoOpenOffer)
    }

    /// The provider takes the package: placed, and every other open offer closes. An answer
    /// at or after the deadline is too late (the offer has lapsed, even if not yet marked).
    pub fn accept(&mut self, provider: &str, now: i64) -> Result<Vec<Event>, Refused> {
        let i = self.open_index(provider, now)?;
        self.offers[i].status = OfferStatus::Accepted;
        self.close_open(OfferStatus::Closed);
        self.state = RequestState::Placed {
            provider: provider.to_string(),
        };
        Ok(vec![Event::Placed {
            provider: provider.to_string(),
        }])
    }

    /// The provider says no: the next provider is offered.
    pub fn decline(
        &mut self,
        provider: &str,
        reason: DeclineReason,
        now: i64,
    ) -> Result<Vec<Event>, Refused> {
        let i = self.open_index(provider, now)?;
        self.offers[i].status = OfferStatus::Declined(reason);
        Ok(self.refill(now))
    }

    /// Marks every open offer whose deadline has come as expired, once, and offers on.
    pub fn expire(&mut self, now: i64) -> Vec<Event> {
        if self.state != RequestState::Offering {
            return vec![];
        }
        let mut any = false;
        for o in self
            .offers
            .iter_mut()
            .filter(|o| o.status == OfferStatus::Open && o.deadline <= now)
        {
            o.status = OfferStatus::Expired;
            any = true;
        }
        if any { self.refill(now) } else { vec![] }
    }

    /// The broker withdraws the request (the person no longer needs care, say).
    pub fn withdraw(&mut self) -> Result<(), Refused> {
        if matches!(
            self.state,
            RequestState::Placed { .. } | RequestState::Withdrawn
        ) {
            return Err(Refused::Closed);
        }
        self.close_open(OfferStatus::Closed);
        self.state = RequestState::Withdrawn;
        Ok(())
    }

    /// The providers not yet offered, in the order they will be.
    pub fn remaining(&self) -> &[String] {
        &self.order[self.next.min(self.order.len())..]
    }

    /// A broker moves past the open offers (the provider is known to be full, say): they
    /// close as skipped and the next providers are offered.
    pub fn skip(&mut self, now: i64) -> Result<Vec<Event>, Refused> {
        if self.state != RequestState::Offering {
            return Err(Refused::NotOffering);
        }
        self.close_open(OfferStatus::Skipped);
        Ok(self.refill(now))
    }

    /// A broker re-orders the providers not yet offered: `rest` must hold exactly them.
    pub fn reorder(&mut self, rest: &[String]) -> Result<(), Refused> {
        if matches!(
            self.state,
            RequestState::Placed { .. } | RequestState::Withdrawn
        ) {
            return Err(Refused::Closed);
        }
        let mut a = self.remaining().to_vec();
        let mut b = rest.to_vec();
        a.sort();
        b.sort();
        if a != b {
            return Err(Refused::NotTheRemainingProviders);
        }
        self.order.truncate(self.next);
        self.order.extend(rest.iter().cloned());
        Ok(())
    }

    /// A waiting request goes round again: to `order` (the lot's providers today, say, or
    /// ones that have since declared capacity), each offered afresh.
    pub fn reopen(&mut self, order: &[String], now: i64) -> Result<Vec<Event>, Refused> {
        if self.state != RequestState::Waiting {
            return Err(Refused::NotOffering);
        }
        let mut seen = std::collections::HashSet::new();
        self.order.truncate(self.next);
        self.order
            .extend(order.iter().filter(|p| seen.insert((*p).clone())).cloned());
        self.state = RequestState::Offering;
        Ok(self.refill(now))
    }

    /// A spot purchase: the broker places the package with a provider directly (on the
    /// framework or not); open offers close.
    pub fn spot(&mut self, provider: &str) -> Result<Vec<Event>, Refused> {
        if matches!(
            self.state,
            RequestState::Placed { .. } | RequestState::Withdrawn
        ) {
            return Err(Refused::Closed);
        }
        self.close_open(OfferStatus::Closed);
        self.state = RequestState::Placed {
            provider: provider.to_string(),
        };
        Ok(vec![Event::Placed {
            provider: provider.to_string(),
        }])
    }

    /// The earliest deadline still open: when the expiry task must next look.
    pub fn next_deadline(&self) -> Option<i64> {
        self.open_offers().map(|o| o.deadline).min()
    }
}

// ---------------------------------------------------------------------------------------
// Banked hours

/// A council's rules for banked time (outcome-based commissioning, the 2015 Leeds home care design report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankRules {
    /// The most a person may hold, hundredths of an hour
    pub cap_hundredths: i64,
    /// Weeks after the week it was banked that an hour lapses
    pub expiry_weeks: i64,
}

/// One week's planned and delivered hours (hundredths).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Week {
    pub planned: i64,
    pub delivered: i64,
}

/// One week of the ledger (hundredths of an hour).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LedgerRow {
    pub planned: i64,
    pub delivered: i64,
    /// Unused planned time put in the bank this week
    pub banked: i64,
    /// Unused time not banked because the bank was at its cap
    pub over_cap: i64,
    /// Delivered beyond the plan, taken from the bank
    pub used: i64,
    /// Delivered beyond the plan with nothing in the bank to cover it
    pub uncovered: i64,
    /// Banked time that lapsed this week
    pub expired: i64,
    /// In the bank at the end of the week
    pub balance: i64,
}

/// The ledger week by week: time not used goes into the bank (up to the cap), time used
/// beyond the plan comes out of it oldest first, and time banked lapses `expiry_weeks` after
/// the week it was banked (at the start of that week, before any use).
pub fn ledger(weeks: &[Week], rules: BankRules) -> Vec<LedgerRow> {
    // Lots in the bank: (week banked, hours left)
    let mut lots: std::collections::VecDeque<(usize, i64)> = Default::default();
    let mut out = Vec::new();
    for (i, w) in weeks.iter().enumerate() {
        let mut row = LedgerRow {
            planned: w.planned,
            delivered: w.delivered,
            ..Default::default()
        };
        while let Some(&(at, left)) = lots.front() {
            if (i - at) as i64 >= rules.expiry_weeks.max(1) {
                row.expired += left;
                lots.pop_front();
            } else {
                break;
            }
        }
        let unused = w.planned - w.delivered;
        if unused > 0 {
            let held: i64 = lots.iter().map(|l| l.1).sum();
            let room = (rules.cap_hundredths - held).max(0);
            row.banked = unused.min(room);
            row.over_cap = unused - row.banked;
            if row.banked > 0 {
                lots.push_back((i, row.banked));
            }
        } else if unused < 0 {
            let mut need = -unused;
            while need > 0 {
                let Some(front) = lots.front_mut() else { break };
                let take = need.min(front.1);
                front.1 -= take;
                need -= take;
                row.used += take;
                if front.1 == 0 {
                    lots.pop_front();
                }
            }
            row.uncovered = need;
        }
        row.balance = lots.iter().map(|l| l.1).sum();
        out.push(row);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%d/%m/%Y").unwrap()
    }

    fn ep(case: &str, f: Funding, joined: &str, left: Option<&str>, hours: i64) -> Episode {
        Episode {
            case_reference: case.into(),
            funding: f,
            joined: d(joined),
            left: left.map(d),
            hours_hundredths: hours,
        }
    }

    #[test]
    fn case_references_follow_the_councils_format() {
        assert!(case_reference_ok("", "ASC-1234567"));
        assert!(!case_reference_ok("", "AB"));
        assert!(!case_reference_ok("", "Mrs Smith"));
        assert!(case_reference_ok("ASC-9999999", "ASC-0012345"));
        assert!(case_reference_ok("ASC-9999999", "asc-0012345"));
        assert!(!case_reference_ok("ASC-9999999", "ASC-001234"));
        assert!(!case_reference_ok("ASC-9999999", "ASC-00123X5"));
        assert!(case_reference_ok("AA999", "LE123"));
        assert!(!case_reference_ok("AA999", "L1123"));
    }

    #[test]
    fn list_statistics_worked_by_hand() {
        use Funding::*;
        let episodes = vec![
            // Waiting since 20 March: 15 days by 4 April, 21 by 10 April.
            ep("A", Council, "20/03/2018", None, 1000),
            // Placed on the first reporting date: on the list until 3 April, so counted for
            // 4 April with 15 days (20 March to 4 April), gone by 10 April.
            ep("B", Health, "20/03/2018", Some("04/04/2018"), 1400),
            // Joins 6 April: 4 days by 10 April.
            ep("C", Council, "06/04/2018", None, 700),
            // Comes back: a first stay from 1 April, placed 2 April (1 day), counted for
            // 4 April; a second stay from 8 April, counted for 10 April (2 days).
            ep("D", Council, "01/04/2018", Some("02/04/2018"), 2000),
            ep("D", Council, "08/04/2018", None, 1000),
        ];
        let dates = [d("04/04/2018"), d("10/04/2018")];
        let s = list_stats(&episodes, &dates, 7);
        // 4 April, period 29 March – 4 April: A (15), B (15, health), D (1).
        assert_eq!((s[0].council_cases, s[0].health_cases), (2, 1));
        assert_eq!(s[0].longest_wait_days, Some(15));
        // (15 + 15 + 1) / 3 = 10.333… -> 10.33
        assert_eq!(s[0].average_wait_hundredths, Some(1033));
        // (10 + 14 + 20) / 3 = 14.666… -> 14.67
        assert_eq!(s[0].average_hours_hundredths, Some(1467));
        // 10 April, period 5–10 April: A (21), C (4), D (2); B left on 4 April.
        assert_eq!((s[1].council_cases, s[1].health_cases), (3, 0));
        assert_eq!(s[1].longest_wait_days, Some(21));
        // (21 + 4 + 2) / 3 = 9.00
        assert_eq!(s[1].average_wait_hundredths, Some(900));
        // (10 + 7 + 10) / 3 = 9.00
        assert_eq!(s[1].average_hours_hundredths, Some(900));
        // No one on the list: zeros and no averages.
        let empty = list_stats(&[], &dates, 7);
        assert_eq!(empty[0].council_cases, 0);
        assert_eq!(empty[0].average_wait_hundredths, None);
    }

    #[test]
    fn weekly_reporting_dates() {
        let v = reporting_dates(d("04/04/2018"), d("18/04/2018"), 7);
        assert_eq!(v, vec![d("04/04/2018"), d("11/04/2018"), d("18/04/2018")]);
    }

    fn order(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("P{i}")).collect()
    }

    #[test]
    fn cascade_decline_then_accept() {
        let (mut c, ev) = Cascade::start(&order(3), 1, 86_400, 0);
        assert_eq!(
            ev,
            vec![Event::Offered {
                provider: "P0".into(),
                deadline: 86_400
            }]
        );
        // P1 has no offer yet.
        assert_eq!(c.accept("P1", 10), Err(Refused::NoOpenOffer));
        let ev = c.decline("P0", DeclineReason::NoCapacity, 100).unwrap();
        assert_eq!(
            ev,
            vec![Event::Offered {
                provider: "P1".into(),
                deadline: 86_500
            }]
        );
        assert_eq!(
            c.accept("P1", 200).unwrap(),
            vec![Event::Placed {
                provider: "P1".into()
            }]
        );
        assert_eq!(
            c.state,
            RequestState::Placed {
                provider: "P1".into()
            }
        );
        // Nobody else can accept now.
        assert_eq!(c.accept("P1", 300), Err(Refused::NotOffering));
    }

    #[test]
    fn cascade_expiry_happens_once_and_runs_out_to_waiting() {
        let (mut c, _) = Cascade::start(&order(2), 1, 100, 0);
        assert!(c.expire(99).is_empty());
        // Too late to accept at the deadline itself.
        assert_eq!(c.accept("P0", 100), Err(Refused::NoOpenOffer));
        let ev = c.expire(100);
        assert_eq!(
            ev,
            vec![Event::Offered {
                provider: "P1".into(),
                deadline: 200
            }]
        );
        assert!(c.expire(100).is_empty(), "expiry happens once");
        assert_eq!(c.expire(250), vec![Event::Exhausted]);
        assert_eq!(c.state, RequestState::Waiting);
        assert_eq!(
            c.offers
                .iter()
                .filter(|o| o.status == OfferStatus::Expired)
                .count(),
            2
        );
    }

    #[test]
    fn top_n_at_once_and_the_first_to_accept_wins() {
        let (mut c, ev) = Cascade::start(&order(4), 2, 100, 0);
        assert_eq!(ev.len(), 2);
        c.accept("P1", 5).unwrap();
        assert_eq!(c.accept("P0", 6), Err(Refused::NotOffering));
        assert_eq!(c.offers[0].status, OfferStatus::Closed);
    }

    #[test]
    fn banked_hours_by_hand() {
        // Cap 10 h, lapse after 3 weeks. Planned 10 h each week.
        let rules = BankRules {
            cap_hundredths: 1000,
            expiry_weeks: 3,
        };
        let w = |p: i64, dl: i64| Week {
            planned: p * 100,
            delivered: dl * 100,
        };
        let rows = ledger(
            &[
                w(10, 6),
                w(10, 2),
                w(10, 13),
                w(10, 10),
                w(10, 10),
                w(10, 20),
            ],
            rules,
        );
        // Week 0: 4 unused, banked; balance 4.
        assert_eq!((rows[0].banked, rows[0].balance), (400, 400));
        // Week 1: 8 unused, room for 6 (cap 10): banked 6, 2 over the cap; balance 10.
        assert_eq!(
            (rows[1].banked, rows[1].over_cap, rows[1].balance),
            (600, 200, 1000)
        );
        // Week 2: 3 over the plan, taken from week 0's lot (4 -> 1); balance 7.
        assert_eq!((rows[2].used, rows[2].balance), (300, 700));
        // Week 3: week 0's last hour lapses; balance 6.
        assert_eq!((rows[3].expired, rows[3].balance), (100, 600));
        // Week 4: week 1's 6 lapse; balance 0.
        assert_eq!((rows[4].expired, rows[4].balance), (600, 0));
        // Week 5: 10 over the plan, nothing banked: uncovered.
        assert_eq!((rows[5].used, rows[5].uncovered), (0, 1000));
    }

    #[derive(Debug, Clone)]
    enum Act {
        Accept(usize, i64),
        Decline(usize, i64),
        Expire(i64),
        Withdraw,
        Skip(i64),
        Reorder(u64),
        Spot(usize),
        Reopen(i64),
    }

    fn act() -> impl Strategy<Value = Act> {
        prop_oneof![
            (0usize..6, 0i64..500).prop_map(|(p, t)| Act::Accept(p, t)),
            (0usize..6, 0i64..500).prop_map(|(p, t)| Act::Decline(p, t)),
            (0i64..500).prop_map(Act::Skip),
            any::<u64>().prop_map(Act::Reorder),
            (0usize..3).prop_map(Act::Spot),
            (0i64..500).prop_map(Act::Reopen),
            (0i64..500).prop_map(Act::Expire),
            Just(Act::Withdraw),
        ]
    }

    /// The seed's 11 irregular reporting dates (Leicester domiciliary support, 2018, §4.7).
    fn seed_dates() -> Vec<NaiveDate> {
        [
            "04/04/2018",
            "10/04/2018",
            "23/04/2018",
            "30/04/2018",
            "07/05/2018",
            "14/05/2018",
            "21/05/2018",
            "28/05/2018",
            "04/06/2018",
            "11/06/2018",
            "18/06/2018",
        ]
        .iter()
        .map(|x| d(x))
        .collect()
    }

    /// (council cases, health cases, longest wait, average wait, average hours)
    type Column = (i64, i64, Option<i64>, Option<i64>, Option<i64>);

    /// The same statistics worked out the slow way, day by day, to check `list_stats`.
    fn naive(episodes: &[Episode], dates: &[NaiveDate]) -> Vec<Column> {
        let mut out = Vec::new();
        for (i, date) in dates.iter().enumerate() {
            let from = if i == 0 {
                *date - chrono::Duration::days(6)
            } else {
                dates[i - 1] + chrono::Duration::days(1)
            };
            let mut chosen: Vec<&Episode> = Vec::new();
            let mut cases: Vec<&str> = episodes.iter().map(|e| e.case_reference.as_str()).collect();
            cases.sort();
            cases.dedup();
            for case in cases {
                let mut best: Option<&Episode> = None;
                for e in episodes.iter().filter(|e| e.case_reference == case) {
                    let mut day = from;
                    let mut on = false;
                    while day <= *date {
                        if e.joined <= day && e.left.is_none_or(|l| day < l) {
                            on = true;
                        }
                        day += chrono::Duration::days(1);
                    }
                    if on && best.is_none_or(|b| e.joined > b.joined) {
                        best = Some(e);
                    }
                }
                chosen.extend(best);
            }
            let waits: Vec<i64> = chosen
                .iter()
                .map(|e| {
                    let mut n = 0;
                    let mut day = e.joined;
                    while day < *date && e.left.is_none_or(|l| day < l) {
                        n += 1;
                        day += chrono::Duration::days(1);
                    }
                    n
                })
                .collect();
            let n = chosen.len() as i64;
            let avg = |total: i64| (n > 0).then(|| (2 * total + n) / (2 * n));
            out.push((
                chosen
                    .iter()
                    .filter(|e| e.funding == Funding::Council)
                    .count() as i64,
                chosen
                    .iter()
                    .filter(|e| e.funding == Funding::Health)
                    .count() as i64,
                waits.iter().copied().max(),
                avg(waits.iter().sum::<i64>() * 100),
                avg(chosen.iter().map(|e| e.hours_hundredths).sum()),
            ));
        }
        out
    }

    fn episode() -> impl Strategy<Value = (u8, bool, i64, Option<i64>, i64)> {
        // case A..H, health or not, joined day 0..90 from 15 March 2018, stay 0..60 days or
        // still waiting, hours 1..40
        (
            0u8..8,
            any::<bool>(),
            0i64..90,
            proptest::option::of(0i64..60),
            100i64..4000,
        )
    }

    proptest! {
        /// Record-level episodes over the seed's 11 reporting dates (cases placed on a
        /// reporting date and cases coming back included by chance and by construction):
        /// `list_stats` agrees with the day-by-day working.
        #[test]
        fn list_stats_agree_with_the_day_by_day_working(raw in proptest::collection::vec(episode(), 0..25)) {
            let start = d("15/03/2018");
            let mut episodes: Vec<Episode> = raw
                .iter()
                .map(|(c, h, j, stay, hours)| {
                    let joined = start + chrono::Duration::days(*j);
                    Episode {
                        case_reference: format!("ASC-{}", (b'A' + c) as char),
                        funding: if *h { Funding::Health } else { Funding::Council },
                        joined,
                        left: stay.map(|s| joined + chrono::Duration::days(s.max(1))),
                        hours_hundredths: *hours,
                    }
                })
                .collect();
            // Always one placed on a reporting date and one that comes back.
            episodes.push(ep("ASC-X", Funding::Council, "30/04/2018", Some("07/05/2018"), 900));
            episodes.push(ep("ASC-Y", Funding::Health, "01/05/2018", Some("03/05/2018"), 1200));
            episodes.push(ep("ASC-Y", Funding::Health, "20/05/2018", None, 1500));
            let dates = seed_dates();
            let fast: Vec<_> = list_stats(&episodes, &dates, 7)
                .into_iter()
                .map(|s| (s.council_cases, s.health_cases, s.longest_wait_days, s.average_wait_hundredths, s.average_hours_hundredths))
                .collect();
            prop_assert_eq!(fast, naive(&episodes, &dates));
        }

        /// Whatever happens, brokers' actions included: never more open offers than the
        /// width; never two acceptances; an accepted offer means placed with that provider,
        /// and placed stays placed; and once every deadline has passed, the
        /// request is placed, waiting or withdrawn.
        #[test]
        fn the_cascade_keeps_its_promises(n in 1usize..6, width in 1usize..3, acts in proptest::collection::vec(act(), 0..30)) {
            let (mut c, _) = Cascade::start(&order(n), width, 50, 0);
            let mut now = 0;
            let mut placed: Option<String> = None;
            for a in acts {
                match a {
                    Act::Accept(p, t) => { now = now.max(t); let _ = c.accept(&format!("P{p}"), now); }
                    Act::Decline(p, t) => { now = now.max(t); let _ = c.decline(&format!("P{p}"), DeclineReason::Area, now); }
                    Act::Expire(t) => { now = now.max(t); c.expire(now); }
                    Act::Withdraw => if now % 7 == 0 { let _ = c.withdraw(); },
                    Act::Skip(t) => { now = now.max(t); let _ = c.skip(now); }
                    Act::Reorder(seed) => {
                        let mut rest = c.remaining().to_vec();
                        if !rest.is_empty() { let k = (seed as usize) % rest.len(); rest.rotate_left(k); }
                        let _ = c.reorder(&rest);
                    }
                    Act::Spot(p) => if now % 5 == 0 { let _ = c.spot(&format!("S{p}")); },
                    Act::Reopen(t) => { now = now.max(t); let _ = c.reopen(&order(n), now); }
                }
                prop_assert!(c.open_offers().count() <= width);
                let accepted = c.offers.iter().filter(|o| o.status == OfferStatus::Accepted).count();
                prop_assert!(accepted <= 1);
                if let Some(o) = c.offers.iter().find(|o| o.status == OfferStatus::Accepted) {
                    prop_assert_eq!(&c.state, &RequestState::Placed { provider: o.provider.clone() });
                }
                if c.state != RequestState::Offering {
                    prop_assert_eq!(c.open_offers().count(), 0);
                }
                // No provider holds two open offers for one request.
                let mut seen = std::collections::HashSet::new();
                prop_assert!(c.open_offers().all(|o| seen.insert(o.provider.clone())));
                // A placed request stays placed, with the same provider.
                if let Some(p) = &placed { prop_assert_eq!(&c.state, &RequestState::Placed { provider: p.clone() }); }
                if let RequestState::Placed { provider } = &c.state { placed = Some(provider.clone()); }
            }
            // Run the clock out: every request ends placed, waiting or withdrawn.
            for _ in 0..=n { now += 1_000; c.expire(now); }
            prop_assert!(c.state != RequestState::Offering);
        }

        /// The bank never holds more than the cap or less than nothing, and every hour is
        /// accounted for: banked = used + expired + balance.
        #[test]
        fn banked_hours_are_all_accounted_for(weeks in proptest::collection::vec((0i64..2000, 0i64..2000), 0..40), cap in 0i64..3000, exp in 1i64..10) {
            let ws: Vec<Week> = weeks.iter().map(|(p, d)| Week { planned: *p, delivered: *d }).collect();
            let rows = ledger(&ws, BankRules { cap_hundredths: cap, expiry_weeks: exp });
            let mut banked = 0; let mut out = 0;
            for r in &rows {
                prop_assert!(r.balance >= 0 && r.balance <= cap);
                banked += r.banked; out += r.used + r.expired;
                prop_assert_eq!(banked - out, r.balance);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Annual re-ranking (Leicester domiciliary support, 2018, §4.13: "work goes to the highest-quality provider available")

/// What the re-ranking weighs for one provider on a lot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RankInput {
    pub provider: String,
    /// Last year's place (1 first), to break ties and to show the change
    pub previous_rank: Option<usize>,
    /// The council's QAF level, best first as the council's scale orders it: 0 for the best
    /// (A), 1 for B… None when not yet visited
    pub qaf_level: Option<u8>,
    /// CQC overall rating as 0 Outstanding, 1 Good, 2 Requires improvement, 3 Inadequate;
    /// None when not rated
    pub cqc_level: Option<u8>,
    /// Offers accepted over offers made in the year, basis points; None with no offers
    pub acceptance_bps: Option<i64>,
    /// Median minutes to answer an offer; None with no offers
    pub median_response_minutes: Option<i64>,
    pub hand_backs: i64,
    pub concerns: i64,
}

/// Points for each component (configurable by the council).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RankWeights {
    /// Points for the best QAF level, less `qaf_step` for each level below it
    pub qaf_best: i64,
    pub qaf_step: i64,
    /// Points for Outstanding, less `cqc_step` for each rating below it
    pub cqc_best: i64,
    pub cqc_step: i64,
    /// Points for a 100% acceptance rate (in proportion below it)
    pub acceptance: i64,
    /// Points for answering at once, less one for each `response_minutes_per_point`, not
    /// below zero
    pub response: i64,
    pub response_minutes_per_point: i64,
    /// Points taken off for each hand-back and each concern
    pub per_hand_back: i64,
    pub per_concern: i64,
}

impl Default for RankWeights {
    fn default() -> Self {
        RankWeights {
            qaf_best: 40,
            qaf_step: 10,
            cqc_best: 30,
            cqc_step: 10,
            acceptance: 20,
            response: 10,
            response_minutes_per_point: 60,
            per_hand_back: 2,
            per_concern: 3,
        }
    }
}

/// One provider's new place with every component shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ranked {
    pub provider: String,
    pub rank: usize,
    pub previous_rank: Option<usize>,
    pub qaf_points: i64,
    pub cqc_points: i64,
    pub acceptance_points: i64,
    pub response_points: i64,
    pub penalty_points: i64,
    pub score: i64,
}

/// The new order: highest score first; ties keep last year's order (those new to the lot
/// after), then by provider ID so the result never depends on input order.
pub fn rerank(inputs: &[RankInput], w: RankWeights) -> Vec<Ranked> {
    let mut v: Vec<Ranked> = inputs
        .iter()
        .map(|i| {
            let qaf = i
                .qaf_level
                .map(|l| (w.qaf_best - w.qaf_step * i64::from(l)).max(0))
                .unwrap_or(0);
            let cqc = i
                .cqc_level
                .map(|l| (w.cqc_best - w.cqc_step * i64::from(l)).max(0))
                .unwrap_or(0);
            let acc = i
                .acceptance_bps
                .map(|b| {
                    div_round(
                        i128::from(w.acceptance) * i128::from(b.clamp(0, 10_000)),
                        10_000,
                    )
                })
                .unwrap_or(0);
            let resp = i
                .median_response_minutes
                .map(|m| (w.response - m.max(0) / w.response_minutes_per_point.max(1)).max(0))
                .unwrap_or(0);
            let pen = w.per_hand_back * i.hand_backs.max(0) + w.per_concern * i.concerns.max(0);
            Ranked {
                provider: i.provider.clone(),
                rank: 0,
                previous_rank: i.previous_rank,
                qaf_points: qaf,
                cqc_points: cqc,
                acceptance_points: acc,
                response_points: resp,
                penalty_points: pen,
                score: qaf + cqc + acc + resp - pen,
            }
        })
        .collect();
    v.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then(
                a.previous_rank
                    .unwrap_or(usize::MAX)
                    .cmp(&b.previous_rank.unwrap_or(usize::MAX)),
            )
            .then(a.provider.cmp(&b.provider))
    });
    for (i, r) in v.iter_mut().enumerate() {
        r.rank = i + 1;
    }
    v
}

#[cfg(test)]
mod rerank_tests {
    use super::*;

    #[allow(clippy::too_many_arguments)]
    fn input(
        p: &str,
        prev: Option<usize>,
        qaf: Option<u8>,
        cqc: Option<u8>,
        acc: Option<i64>,
        resp: Option<i64>,
        hb: i64,
        con: i64,
    ) -> RankInput {
        RankInput {
            provider: p.into(),
            previous_rank: prev,
            qaf_level: qaf,
            cqc_level: cqc,
            acceptance_bps: acc,
            median_response_minutes: resp,
            hand_backs: hb,
            concerns: con,
        }
    }

    #[test]
    fn scores_and_order_worked_by_hand() {
        let w = RankWeights::default();
        let r = rerank(
            &[
                // QAF B (30) + CQC Good (20) + 75% acceptance (15) + 2 h median (10 − 2 = 8)
                // − 1 hand-back (2) = 71
                input(
                    "P1",
                    Some(1),
                    Some(1),
                    Some(1),
                    Some(7_500),
                    Some(120),
                    1,
                    0,
                ),
                // QAF A (40) + Good (20) + 50% (10) + 30 min (10) − 1 concern (3) = 77
                input("P2", Some(2), Some(0), Some(1), Some(5_000), Some(30), 0, 1),
                // Not visited (0) + Requires improvement (10) + no offers (0, 0) = 10
                input("P3", Some(3), None, Some(2), None, None, 0, 0),
                // New to the lot, the same 10 as P3: after P3, who was on it last year
                input("P0", None, None, Some(2), None, None, 0, 0),
            ],
            w,
        );
        let order: Vec<(&str, i64)> = r.iter().map(|x| (x.provider.as_str(), x.score)).collect();
        assert_eq!(order, vec![("P2", 77), ("P1", 71), ("P3", 10), ("P0", 10)]);
        assert_eq!(r[1].response_points, 8);
        assert_eq!(r[1].penalty_points, 2);
        assert_eq!(r[0].rank, 1);
        assert_eq!(r[0].previous_rank, Some(2));
    }

    #[test]
    fn the_order_does_not_depend_on_the_input_order() {
        let a = input("A", None, Some(2), None, None, None, 0, 0);
        let b = input("B", None, Some(2), None, None, None, 0, 0);
        let w = RankWeights::default();
        assert_eq!(rerank(&[a.clone(), b.clone()], w), rerank(&[b, a], w));
    }
}
