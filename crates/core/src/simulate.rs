//! A year of synthetic home care requests placed two ways, to compare them on the same
//! demand: the offer cascade (each request offered to its lot's providers one at a time, in
//! rank order, as [`crate::brokerage::Cascade`] does), and batch matching (every so many
//! days the waiting requests are matched all at once with [`crate::matching::suggest`]).
//!
//! The shape follows the seeds: Leicester places about 83 new home care cases a month with
//! 26 framework providers, and about 1,800 people are in care at any time (so a package
//! lasts about 90 weeks on average); the hours needed average about 11.5 a week. Providers
//! are modelled by the spare hours they have on each of their lots: a placed package uses
//! its hours of that spare until it ends.
//!
//! Both methods see the same arrivals, and the same answers: whether a provider declines
//! the n-th offer of a request, and how long it takes to answer, is drawn from the seed, the
//! request, the provider and n, not from a shared stream, so it does not depend on what
//! else happened. Time runs in whole hours. Deterministic for a seed (on one platform: the
//! draws use `f64::exp` and `f64::ln`).
//!
//! Hours of care are hundredths of an hour a week (1050 = 10.50 hours a week).

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};

use serde::{Deserialize, Serialize};

use crate::cost::div_round_half_up;
use crate::matching::{self, Offerable, Request};

/// What to simulate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimConfig {
    pub seed: u64,
    pub days: i64,
    pub new_cases_per_month: f64,
    /// Localities; each request's lot is drawn uniformly.
    pub lots: usize,
    pub providers: usize,
    /// Each lot has this many providers (drawn from all of them) in a random rank order;
    /// providers serve several lots.
    pub providers_per_lot: usize,
    /// The chance a provider with room still declines an offer.
    pub decline_probability: f64,
    /// Providers answer after a whole number of hours drawn uniformly from 0 to this.
    pub answer_hours_max: i64,
    /// An offer not answered within this many hours lapses, and the next is made.
    pub response_deadline_hours: i64,
    /// Packages last an exponentially distributed time with this mean.
    pub mean_package_weeks: f64,
    /// Spare hundredths of an hour a week each provider has on each of its lots at the start.
    pub capacity_hours_per_provider_lot: i64,
    /// Days between matching batches.
    pub matching_every_days: i64,
}

/// The seeds' shape. Capacity: 300 spare hours a week on each of 32 provider-lots (9,600
/// in all) leaves a handful waiting at a time for most of the year with either method. Only
/// the spare hours are modelled, and packages placed in the run last 90 weeks on average, so
/// the hours in use grow all year (about 8,700 by its end); a steady state would need about
/// twice this room, and with less (25,000, say) the list grows in the last months.
impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 3,
            days: 365,
            new_cases_per_month: 83.0,
            lots: 4,
            providers: 26,
            providers_per_lot: 8,
            decline_probability: 0.35,
            answer_hours_max: 30,
            response_deadline_hours: 24,
            mean_package_weeks: 90.0,
            capacity_hours_per_provider_lot: 30_000,
            matching_every_days: 1,
        }
    }
}

/// How one method did over the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// Requests that arrived.
    pub requests: usize,
    pub placed: usize,
    /// Not placed by the end of the run.
    pub still_waiting: usize,
    /// Hundredths of an hour a week, over the placed requests.
    pub placed_hours: i64,
    /// Mean days from arrival to placement over placed requests, in hundredths (rounded half
    /// up); 0 if no one was placed.
    pub mean_wait_hundredths_days: i64,
    /// Whole days of the longest wait: arrival to placement, or to the end of the run for
    /// those still waiting (as the awaiting care list's "Longest Wait" counts them).
    pub longest_wait_days: i64,
    pub offers_made: usize,
    /// The number arrived but not yet placed, counted at the end of each day and averaged,
    /// in hundredths.
    pub mean_waiting_at_once: i64,
}

/// Both methods on the same demand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimReport {
    pub config: SimConfig,
    pub cascade: Outcome,
    pub matching: Outcome,
}

/// Runs the year both ways.
pub fn simulate(c: &SimConfig) -> SimReport {
    let world = World::new(c);
    SimReport {
        config: c.clone(),
        cascade: world.run(Method::Cascade).0,
        matching: world.run(Method::Matching).0,
    }
}

// ---------------------------------------------------------------------------------------
// Randomness

/// SplitMix64: tiny, fast, and good enough for a simulation; each stream is seeded from the
/// run's seed mixed with a constant of its own.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

const ARRIVALS: u64 = 0x6172_7269_7661_6c73;
const MARKET: u64 = 0x6d61_726b_6574_2121;
const ANSWERS: u64 = 0x616e_7377_6572_7321;

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in 0..n (n > 0), without modulo bias.
    fn below(&mut self, n: u64) -> u64 {
        let limit = u64::MAX - u64::MAX % n;
        loop {
            let x = self.next_u64();
            if x < limit {
                return x % n;
            }
        }
    }

    /// Poisson by Knuth's method, in pieces of mean at most 30 so `exp(-mean)` stays
    /// well away from underflow.
    fn poisson(&mut self, mean: f64) -> u64 {
        if !mean.is_finite() {
            return 0;
        }
        let mut left = mean.max(0.0);
        let mut n = 0;
        while left > 0.0 {
            let m = left.min(30.0);
            left -= m;
            let floor = (-m).exp();
            let mut p = 1.0;
            loop {
                p *= self.unit();
                if p <= floor {
                    break;
                }
                n += 1;
            }
        }
        n
    }
}

/// Hours of care a week needed (hundredths) and weights out of 100: mean 11.52 hours.
const HOURS: [(i64, u64); 9] = [
    (350, 7),
    (525, 10),
    (700, 14),
    (875, 14),
    (1050, 16),
    (1400, 16),
    (1750, 12),
    (2100, 8),
    (2800, 3),
];

/// How a provider answers the `nth` offer (from 0) of `request`: after how many hours, and
/// whether it declines even with room. Drawn afresh from the seed and the three numbers, so
/// both methods get the same answer to the same offer.
fn answer(c: &SimConfig, request: usize, provider: usize, nth: u32) -> (i64, bool) {
    let mut key = SplitMix64(c.seed ^ ANSWERS).next_u64();
    for x in [request as u64, provider as u64, nth as u64] {
        key = SplitMix64(key ^ x).next_u64();
    }
    let mut rng = SplitMix64(key);
    let hours = rng.below(c.answer_hours_max.max(0) as u64 + 1) as i64;
    (hours, rng.unit() < c.decline_probability)
}

// ---------------------------------------------------------------------------------------
// The world both methods share

#[derive(Debug, Clone)]
struct Arrival {
    /// Hour of arrival from the start.
    at: i64,
    lot: usize,
    hours: i64,
    /// Hours the package lasts once placed.
    lasts: i64,
}

struct World<'c> {
    c: &'c SimConfig,
    names: Vec<String>,
    /// Each lot's providers (indices into `names`) in rank order.
    lots: Vec<Vec<usize>>,
    /// In order of arrival; a request's id is its index.
    arrivals: Vec<Arrival>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Cascade,
    Matching,
}

impl<'c> World<'c> {
    fn new(c: &'c SimConfig) -> World<'c> {
        let mut market = SplitMix64(c.seed ^ MARKET);
        let names: Vec<String> = (0..c.providers).map(|i| format!("P{:02}", i + 1)).collect();
        let per_lot = c.providers_per_lot.min(c.providers);
        let lots: Vec<Vec<usize>> = (0..c.lots)
            .map(|_| {
                // A partial Fisher-Yates shuffle: the first `per_lot` in a random order.
                let mut all: Vec<usize> = (0..c.providers).collect();
                for k in 0..per_lot {
                    let pick = k + market.below((all.len() - k) as u64) as usize;
                    all.swap(k, pick);
                }
                all.truncate(per_lot);
                all
            })
            .collect();
        let mut rng = SplitMix64(c.seed ^ ARRIVALS);
        let per_day = c.new_cases_per_month * 12.0 / 365.0;
        let mean_lasts = (c.mean_package_weeks * 7.0 * 24.0).max(0.0);
        let total_weight: u64 = HOURS.iter().map(|h| h.1).sum();
        let mut arrivals = Vec::new();
        if c.lots > 0 {
            for day in 0..c.days.max(0) {
                for _ in 0..rng.poisson(per_day) {
                    let at = day * 24 + rng.below(24) as i64;
                    let lot = rng.below(c.lots as u64) as usize;
                    let mut w = rng.below(total_weight);
                    let hours = HOURS
                        .iter()
                        .find(|(_, weight)| {
                            let here = w < *weight;
                            w = w.saturating_sub(*weight);
                            here
                        })
                        .map_or(HOURS[0].0, |h| h.0);
                    let lasts = (-(1.0 - rng.unit()).ln() * mean_lasts).ceil().max(1.0) as i64;
                    arrivals.push(Arrival {
                        at,
                        lot,
                        hours,
                        lasts,
                    });
                }
            }
        }
        arrivals.sort_by_key(|a| a.at);
        World {
            c,
            names,
            lots,
            arrivals,
        }
    }

    /// A run's outcome, and each request's hour of placement.
    fn run(&self, method: Method) -> (Outcome, Vec<Option<i64>>) {
        let mut s = State::new(self, method);
        s.go();
        let end = self.c.days.max(0) * 24;
        let placed: Vec<(usize, i64)> = s
            .placed_at
            .iter()
            .enumerate()
            .filter_map(|(i, t)| t.map(|t| (i, t)))
            .collect();
        let wait_hours: i64 = placed.iter().map(|(i, t)| t - self.arrivals[*i].at).sum();
        let outcome = Outcome {
            requests: self.arrivals.len(),
            placed: placed.len(),
            still_waiting: self.arrivals.len() - placed.len(),
            placed_hours: placed.iter().map(|(i, _)| self.arrivals[*i].hours).sum(),
            mean_wait_hundredths_days: match placed.len() {
                0 => 0,
                n => div_round_half_up(wait_hours as i128 * 100, 24 * n as i128),
            },
            longest_wait_days: self
                .arrivals
                .iter()
                .zip(&s.placed_at)
                .map(|(a, t)| (t.unwrap_or(end) - a.at) / 24)
                .max()
                .unwrap_or(0),
            offers_made: s.offers_made,
            mean_waiting_at_once: match self.c.days {
                ..=0 => 0,
                d => div_round_half_up(s.waiting_sum as i128 * 100, d as i128),
            },
        };
        (outcome, s.placed_at)
    }
}

// ---------------------------------------------------------------------------------------
// One run

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Reply {
    /// No answer by the deadline.
    Lapsed,
    Declines,
    /// Takes it, if it has room when it answers.
    Accepts,
}

/// What happens; at one hour, in this order: the day's count, packages ending (freeing
/// room), answers, arrivals, then the day's brokerage (re-offers or the matching batch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Count,
    Ends {
        lot: usize,
        slot: usize,
        hours: i64,
    },
    Answer {
        request: usize,
        slot: usize,
        reply: Reply,
    },
    Arrives(usize),
    Day,
}

struct State<'w, 'c> {
    w: &'w World<'c>,
    method: Method,
    /// (hour, order within the hour, sequence, event), earliest first.
    queue: BinaryHeap<Reverse<(i64, u8, u64, Ev)>>,
    seq: u64,
    /// Spare hours on each lot's providers, by rank position.
    spare: Vec<Vec<i64>>,
    /// Offers made so far of each request to each of its lot's providers (by rank position).
    offers_to: Vec<Vec<u32>>,
    placed_at: Vec<Option<i64>>,
    offers_made: usize,
    arrived: usize,
    placed: usize,
    waiting_sum: i64,
    /// Cascade: requests every provider has said no to, re-offered from the top each day.
    exhausted: BTreeSet<usize>,
    /// Matching: requests waiting with no offer out, for the next batch.
    pool: BTreeSet<usize>,
}

impl<'w, 'c> State<'w, 'c> {
    fn new(w: &'w World<'c>, method: Method) -> State<'w, 'c> {
        let c = w.c;
        let mut s = State {
            w,
            method,
            queue: BinaryHeap::new(),
            seq: 0,
            spare: w
                .lots
                .iter()
                .map(|l| vec![c.capacity_hours_per_provider_lot.max(0); l.len()])
                .collect(),
            offers_to: w
                .arrivals
                .iter()
                .map(|a| vec![0; w.lots[a.lot].len()])
                .collect(),
            placed_at: vec![None; w.arrivals.len()],
            offers_made: 0,
            arrived: 0,
            placed: 0,
            waiting_sum: 0,
            exhausted: BTreeSet::new(),
            pool: BTreeSet::new(),
        };
        for (i, a) in w.arrivals.iter().enumerate() {
            s.at(a.at, Ev::Arrives(i));
        }
        for d in 0..c.days.max(0) {
            s.at(d * 24, Ev::Day);
            s.at((d + 1) * 24, Ev::Count);
        }
        s
    }

    fn at(&mut self, hour: i64, ev: Ev) {
        let order = match ev {
            Ev::Count => 0,
            Ev::Ends { .. } => 1,
            Ev::Answer { .. } => 2,
            Ev::Arrives(_) => 3,
            Ev::Day => 4,
        };
        self.seq += 1;
        self.queue.push(Reverse((hour, order, self.seq, ev)));
    }

    fn go(&mut self) {
        let end = self.w.c.days.max(0) * 24;
        while let Some(Reverse((t, _, _, ev))) = self.queue.pop() {
            // The last day's count is at the end hour; nothing else then counts.
            if t > end || (t == end && ev != Ev::Count) {
                break;
            }
            match ev {
                Ev::Count => self.waiting_sum += (self.arrived - self.placed) as i64,
                Ev::Ends { lot, slot, hours } => self.spare[lot][slot] += hours,
                Ev::Arrives(i) => {
                    self.arrived += 1;
                    match self.method {
                        Method::Cascade => self.offer_from(i, 0, t),
                        Method::Matching => {
                            self.pool.insert(i);
                        }
                    }
                }
                Ev::Answer {
                    request,
                    slot,
                    reply,
                } => self.answered(request, slot, reply, t),
                Ev::Day => match self.method {
                    Method::Cascade => {
                        for i in std::mem::take(&mut self.exhausted) {
                            self.offer_from(i, 0, t);
                        }
                    }
                    Method::Matching => {
                        if (t / 24) % self.w.c.matching_every_days.max(1) == 0 {
                            self.batch(t);
                        }
                    }
                },
            }
        }
    }

    /// Cascade: offers `i` to its lot's provider at rank position `slot`, or, past the last
    /// one, puts it on the list until tomorrow.
    fn offer_from(&mut self, i: usize, slot: usize, t: i64) {
        if slot < self.w.lots[self.w.arrivals[i].lot].len() {
            self.offer(i, slot, t);
        } else {
            self.exhausted.insert(i);
        }
    }

    /// Sends the offer and schedules its answer (or its lapse at the deadline).
    fn offer(&mut self, i: usize, slot: usize, t: i64) {
        let c = self.w.c;
        let provider = self.w.lots[self.w.arrivals[i].lot][slot];
        let nth = self.offers_to[i][slot];
        self.offers_to[i][slot] += 1;
        self.offers_made += 1;
        let (after, declines) = answer(c, i, provider, nth);
        let deadline = c.response_deadline_hours.max(1);
        let (when, reply) = match (after >= deadline, declines) {
            (true, _) => (t + deadline, Reply::Lapsed),
            (false, true) => (t + after, Reply::Declines),
            (false, false) => (t + after, Reply::Accepts),
        };
        self.at(
            when,
            Ev::Answer {
                request: i,
                slot,
                reply,
            },
        );
    }

    fn answered(&mut self, i: usize, slot: usize, reply: Reply, t: i64) {
        let a = &self.w.arrivals[i];
        let (lot, hours) = (a.lot, a.hours);
        match self.method {
            Method::Cascade => {
                if reply == Reply::Accepts && self.spare[lot][slot] >= hours {
                    self.spare[lot][slot] -= hours;
                    self.place(i, slot, t);
                } else {
                    self.offer_from(i, slot + 1, t);
                }
            }
            // The batch held the hours when it made the offer.
            Method::Matching => {
                if reply == Reply::Accepts {
                    self.place(i, slot, t);
                } else {
                    self.spare[lot][slot] += hours;
                    self.pool.insert(i);
                }
            }
        }
    }

    fn place(&mut self, i: usize, slot: usize, t: i64) {
        let a = &self.w.arrivals[i];
        debug_assert!(self.spare[a.lot][slot] >= 0, "capacity exceeded");
        self.placed_at[i] = Some(t);
        self.placed += 1;
        let ends = Ev::Ends {
            lot: a.lot,
            slot,
            hours: a.hours,
        };
        self.at(t + a.lasts, ends);
    }

    /// Matching: the waiting requests with no offer out, matched to today's spare hours;
    /// each suggested provider is offered its request, holding the hours until it answers.
    fn batch(&mut self, t: i64) {
        let w = self.w;
        let requests: Vec<Request> = self
            .pool
            .iter()
            .map(|&i| {
                let a = &w.arrivals[i];
                Request {
                    id: i as i64,
                    lot: a.lot as i64,
                    hours: a.hours,
                    waiting_days: (t - a.at) / 24,
                }
            })
            .collect();
        if requests.is_empty() {
            return;
        }
        let mut offerable = Vec::new();
        for (lot, providers) in w.lots.iter().enumerate() {
            for (slot, &p) in providers.iter().enumerate() {
                if self.spare[lot][slot] > 0 {
                    offerable.push(Offerable {
                        provider: w.names[p].clone(),
                        lot: lot as i64,
                        rank: slot as u32 + 1,
                        spare_hours: self.spare[lot][slot],
                    });
                }
            }
        }
        let plan = matching::suggest(&requests, &offerable);
        for a in plan.assignments {
            let (i, lot, slot) = (a.request as usize, a.lot as usize, a.rank as usize - 1);
            self.spare[lot][slot] -= a.hours;
            debug_assert!(self.spare[lot][slot] >= 0, "the plan over-commits");
            self.pool.remove(&i);
            self.offer(i, slot, t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(c: SimConfig) -> SimConfig {
        SimConfig { days: 60, ..c }
    }

    #[test]
    fn the_same_seed_gives_the_same_report() {
        let c = small(SimConfig::default());
        assert_eq!(simulate(&c), simulate(&c));
        let other = simulate(&SimConfig {
            seed: 4,
            ..c.clone()
        });
        assert_ne!(other.cascade, simulate(&c).cascade);
    }

    #[test]
    fn a_year_brings_about_83_cases_a_month() {
        for seed in 1..=5 {
            let c = SimConfig {
                seed,
                ..SimConfig::default()
            };
            let n = World::new(&c).arrivals.len() as f64;
            let expected = 83.0 * 12.0;
            assert!((n - expected).abs() <= expected * 0.1, "seed {seed}: {n}");
        }
    }

    #[test]
    fn the_hours_average_about_eleven_and_a_half() {
        let c = SimConfig::default();
        let w = World::new(&c);
        let mean = w.arrivals.iter().map(|a| a.hours).sum::<i64>() / w.arrivals.len() as i64;
        assert!((1050..=1250).contains(&mean), "{mean}");
        // Each lot has its own rank order of distinct providers.
        for l in &w.lots {
            assert_eq!(l.len(), 8);
            assert_eq!(l.iter().collect::<BTreeSet<_>>().len(), 8);
        }
    }

    #[test]
    fn plenty_of_room_and_no_declines_place_everyone_quickly() {
        let c = SimConfig {
            capacity_hours_per_provider_lot: 10_000_000,
            decline_probability: 0.0,
            answer_hours_max: 12,
            ..SimConfig::default()
        };
        let r = simulate(&c);
        let w = World::new(&c);
        // Only those arriving in the last day and a half can still be waiting for an answer.
        let late = w
            .arrivals
            .iter()
            .filter(|a| a.at >= c.days * 24 - 36)
            .count();
        for o in [&r.cascade, &r.matching] {
            assert!(o.longest_wait_days <= 1, "{o:?}");
            assert!(o.still_waiting <= late, "{o:?}");
            assert_eq!(o.placed + o.still_waiting, o.requests);
        }
        // The cascade's first offer is always taken.
        assert_eq!(r.cascade.offers_made, r.cascade.requests);
    }

    #[test]
    fn no_room_places_no_one() {
        let c = small(SimConfig {
            capacity_hours_per_provider_lot: 0,
            ..SimConfig::default()
        });
        let r = simulate(&c);
        for o in [&r.cascade, &r.matching] {
            assert_eq!(o.placed, 0);
            assert_eq!(o.placed_hours, 0);
            assert_eq!(o.still_waiting, o.requests);
            assert!(o.requests > 0);
            assert_eq!(o.mean_wait_hundredths_days, 0);
        }
        // The cascade still asks every provider each day; matching offers nothing.
        assert!(r.cascade.offers_made > 0);
        assert_eq!(r.matching.offers_made, 0);
    }

    #[test]
    fn placed_hours_are_the_placed_requests_hours() {
        let c = SimConfig::default();
        let w = World::new(&c);
        for m in [Method::Cascade, Method::Matching] {
            let (outcome, placed_at) = w.run(m);
            let sum: i64 = w
                .arrivals
                .iter()
                .zip(&placed_at)
                .filter(|(_, t)| t.is_some())
                .map(|(a, _)| a.hours)
                .sum();
            assert_eq!(outcome.placed_hours, sum);
            assert_eq!(
                outcome.placed,
                placed_at.iter().filter(|t| t.is_some()).count()
            );
            // No one is placed before they arrive.
            for (a, t) in w.arrivals.iter().zip(&placed_at) {
                assert!(t.is_none_or(|t| t >= a.at));
            }
        }
    }

    #[test]
    fn matching_places_at_least_the_cascades_hours_by_default() {
        let r = simulate(&SimConfig::default());
        assert!(
            r.matching.placed_hours >= r.cascade.placed_hours,
            "{:?}\n{:?}",
            r.cascade,
            r.matching
        );
    }
}
