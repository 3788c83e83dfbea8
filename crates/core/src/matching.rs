//! Matching a batch of waiting requests to providers' declared spare hours, all at once.
//!
//! The cascade ([`crate::brokerage::Cascade`]) offers one request at a time, best-ranked
//! provider first. When hours are short, first come first served can strand them: a small
//! package takes the room a larger one needed, while another provider that could have taken
//! the small one is left with hours no one gets. A broker looking at the whole waiting list
//! at once can do better, and this suggests how: place as many hours as possible, then use
//! better-ranked providers, then favour the people who have waited longest.
//!
//! Placing whole requests exactly is bin packing, which is hard in general. So [`suggest`]
//! solves the *flow relaxation* exactly — as if a request's hours could be split across
//! providers — with a min-cost flow (successive shortest paths, integer costs), and then
//! rounds that to whole requests and improves the rounding with simple moves (keeping a
//! plain packing instead when that places more). No plan can place more than the
//! relaxation's flow, reported as [`Plan::upper_bound_hours`], so
//! `upper_bound_hours - placed_hours` bounds how far a suggestion can be from the best.
//!
//! Hours are hundredths of an hour a week throughout (1050 = 10.50 hours a week).

use std::cmp::Reverse;
use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

/// A request for care waiting to be placed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// Ids should be unique: they name the request in the plan and break ties.
    pub id: i64,
    /// The locality the care is in; only providers on this lot can take it.
    pub lot: i64,
    /// Hours of care a week, hundredths. A request for no hours (or fewer) is not a request
    /// for care, and is left unplaced.
    pub hours: i64,
    /// Days on the awaiting care list so far.
    pub waiting_days: i64,
}

/// A provider's room on one lot: one row per provider per lot, as a provider's capacity is
/// declared lot by lot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offerable {
    pub provider: String,
    pub lot: i64,
    /// The provider's place in the lot's rank order, 1 best (offered first).
    pub rank: u32,
    /// Hundredths of an hour a week the provider declared free on this lot.
    pub spare_hours: i64,
}

/// One request suggested to one provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub request: i64,
    pub provider: String,
    pub lot: i64,
    pub hours: i64,
    pub rank: u32,
}

/// The suggestion for a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// In the order the requests were given.
    pub assignments: Vec<Assignment>,
    pub placed_hours: i64,
    /// Ids of the requests not placed, in the order they were given.
    pub unplaced: Vec<i64>,
    /// The most hours any plan could place (the flow relaxation's value):
    /// `placed_hours <= upper_bound_hours`, and the difference bounds the gap to the best
    /// possible plan.
    pub upper_bound_hours: i64,
}

/// Suggests which provider each waiting request should be offered to. Each request goes
/// wholly to at most one provider on its own lot with enough spare hours left; the plan
/// places as many hours as it can, then prefers better-ranked providers, then longer-waiting
/// requests. Deterministic: ties are broken by request ids and provider names.
///
/// A provider-lot given twice is taken once, with the better rank and the smaller spare
/// hours (never promising more than every row allows); negative spare hours count as none.
pub fn suggest(requests: &[Request], offerable: &[Offerable]) -> Plan {
    let p = Problem::new(requests, offerable);
    let (upper, flow) = p.relaxation();
    let mut ours = p.round(&flow);
    p.improve(&mut ours);
    // Rounding is a heuristic, and on awkward batches another simple packing does better:
    // largest first, each to the provider it fills most tightly (improved the same way), or
    // even the naive greedy (requests in the order given, each to the best-ranked provider
    // with room). Taking the best of the three (ties keep the rounding, which honours ranks
    // and waits) guarantees the suggestion never places fewer hours than the naive greedy.
    let mut packed = p.best_fit_decreasing();
    p.improve(&mut packed);
    let mut chosen = ours;
    for other in [packed, p.greedy()] {
        if p.placed_hours(&other) > p.placed_hours(&chosen) {
            chosen = other;
        }
    }
    p.upgrade(&mut chosen);
    p.plan(&chosen, upper)
}

/// One provider's room on one lot, merged from the offerable rows.
struct Slot {
    provider: String,
    lot: i64,
    rank: u32,
    spare: i64,
}

/// Where each request is placed: the index of its slot, if any.
type Placing = Vec<Option<usize>>;

struct Problem<'a> {
    requests: &'a [Request],
    /// Ordered by lot, then rank, then provider: a lower index is a better choice on its lot.
    slots: Vec<Slot>,
    /// For each request, the slots with room on its lot in rank order (none if it asks for
    /// no hours).
    choices: Vec<Vec<usize>>,
    /// Request indices, longest-waiting first, then larger, then by id: who is rounded first.
    priority: Vec<usize>,
}

impl<'a> Problem<'a> {
    fn new(requests: &'a [Request], offerable: &[Offerable]) -> Problem<'a> {
        let mut merged: BTreeMap<(i64, &str), (u32, i64)> = BTreeMap::new();
        for o in offerable {
            let spare = o.spare_hours.max(0);
            merged
                .entry((o.lot, o.provider.as_str()))
                .and_modify(|(rank, s)| {
                    *rank = (*rank).min(o.rank);
                    *s = (*s).min(spare);
                })
                .or_insert((o.rank, spare));
        }
        let mut slots: Vec<Slot> = merged
            .into_iter()
            .filter(|(_, (_, spare))| *spare > 0)
            .map(|((lot, provider), (rank, spare))| Slot {
                provider: provider.to_string(),
                lot,
                rank,
                spare,
            })
            .collect();
        slots.sort_by(|a, b| (a.lot, a.rank, &a.provider).cmp(&(b.lot, b.rank, &b.provider)));
        let mut by_lot: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
        for (j, s) in slots.iter().enumerate() {
            by_lot.entry(s.lot).or_default().push(j);
        }
        let choices = requests
            .iter()
            .map(|r| match by_lot.get(&r.lot) {
                Some(v) if r.hours > 0 => v.clone(),
                _ => vec![],
            })
            .collect();
        let mut priority: Vec<usize> = (0..requests.len()).collect();
        priority.sort_by_key(|&i| {
            let r = &requests[i];
            (Reverse(r.waiting_days), Reverse(r.hours), r.id, i)
        });
        Problem {
            requests,
            slots,
            choices,
            priority,
        }
    }

    /// The flow relaxation: its value, and for each request the hours it sends to each of
    /// its choices.
    ///
    /// Network: source → request (capacity its hours), request → slot on its lot (capacity
    /// its hours), slot → sink (capacity the spare hours). Every path has the same length, so
    /// a maximum flow maximises hours; among maximum flows the cost picks better ranks
    /// first, then longer waits. A unit's cost is `rank * K + (longest wait - its wait)`
    /// with `K` larger than any possible total of the wait terms, so rank comes first
    /// strictly (costs are i128 so that `K` cannot overflow).
    fn relaxation(&self) -> (i64, Vec<Vec<i64>>) {
        let n = self.requests.len();
        let live: Vec<usize> = (0..n).filter(|&i| !self.choices[i].is_empty()).collect();
        let waits = live.iter().map(|&i| self.requests[i].waiting_days);
        let (longest, shortest) = (waits.clone().max().unwrap_or(0), waits.min().unwrap_or(0));
        let total: i128 = live.iter().map(|&i| self.requests[i].hours as i128).sum();
        let k = (total + 1) * (longest as i128 - shortest as i128 + 1);
        let (source, sink) = (0, 1);
        let slot_node = |j: usize| 2 + n + j;
        let mut g = Graph::new(2 + n + self.slots.len());
        let mut edges: Vec<Vec<usize>> = vec![vec![]; n];
        for &i in &live {
            let r = &self.requests[i];
            g.add(source, 2 + i, r.hours, 0);
            let wait = (longest - r.waiting_days) as i128;
            for &j in &self.choices[i] {
                let cost = self.slots[j].rank as i128 * k + wait;
                edges[i].push(g.add(2 + i, slot_node(j), r.hours, cost));
            }
        }
        for (j, s) in self.slots.iter().enumerate() {
            g.add(slot_node(j), sink, s.spare, 0);
        }
        let value = g.min_cost_max_flow(source, sink);
        let flow = edges
            .iter()
            .map(|es| es.iter().map(|&e| g.flow(e)).collect())
            .collect();
        (value, flow)
    }

    /// Spare hours left on each slot with requests placed as `at` says.
    fn room(&self, at: &Placing) -> Vec<i64> {
        let mut rem: Vec<i64> = self.slots.iter().map(|s| s.spare).collect();
        for (i, s) in at.iter().enumerate() {
            if let Some(j) = s {
                rem[*j] -= self.requests[i].hours;
            }
        }
        rem
    }

    /// The first slot for request `i`, in rank order, with room for it.
    fn first_fit(&self, i: usize, rem: &[i64], except: Option<usize>) -> Option<usize> {
        let h = self.requests[i].hours;
        self.choices[i]
            .iter()
            .copied()
            .find(|&j| Some(j) != except && rem[j] >= h)
    }

    /// Whole requests from the relaxation, longest-waiting first: each to the slot carrying
    /// most of its flow if it still fits, else to the best-ranked slot where it fits.
    fn round(&self, flow: &[Vec<i64>]) -> Placing {
        let mut at: Placing = vec![None; self.requests.len()];
        let mut rem: Vec<i64> = self.slots.iter().map(|s| s.spare).collect();
        for &i in &self.priority {
            let h = self.requests[i].hours;
            let carrying = self.choices[i]
                .iter()
                .zip(&flow[i])
                .filter(|(_, f)| **f > 0)
                // Most flow; on a tie the better-ranked (lower index) slot.
                .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                .map(|(j, _)| *j);
            let slot = carrying
                .filter(|&j| rem[j] >= h)
                .or_else(|| self.first_fit(i, &rem, None));
            if let Some(j) = slot {
                rem[j] -= h;
                at[i] = Some(j);
            }
        }
        at
    }

    /// Simple improvements, each of which places strictly more hours (so this ends): an
    /// unplaced request that now fits somewhere goes there; or a placed request moves to
    /// another provider on its lot to make room for it; or two placed requests swap
    /// providers to make room; or, failing all that, it takes the place of a smaller
    /// request, which is then put elsewhere if it fits.
    fn improve(&self, at: &mut Placing) {
        'again: loop {
            let mut rem = self.room(at);
            for &u in &self.priority {
                if at[u].is_some() || self.choices[u].is_empty() {
                    continue;
                }
                let h = self.requests[u].hours;
                if let Some(j) = self.first_fit(u, &rem, None) {
                    at[u] = Some(j);
                    continue 'again;
                }
                // Move one placed request from slot j to another slot with room.
                for &j in &self.choices[u] {
                    let need = h - rem[j];
                    let mut movable: Vec<usize> = self
                        .priority
                        .iter()
                        .copied()
                        .filter(|&r| at[r] == Some(j) && self.requests[r].hours >= need)
                        .collect();
                    movable.sort_by_key(|&r| self.requests[r].hours);
                    for r in movable {
                        if let Some(q) = self.first_fit(r, &rem, Some(j)) {
                            at[r] = Some(q);
                            at[u] = Some(j);
                            continue 'again;
                        }
                    }
                }
                // Exchange two placed requests between providers so that one has room.
                for &j in &self.choices[u] {
                    for &r in &self.priority {
                        if at[r] != Some(j) {
                            continue;
                        }
                        let hr = self.requests[r].hours;
                        let other = self.priority.iter().copied().find(|&o| {
                            let ho = self.requests[o].hours;
                            at[o].is_some_and(|q| {
                                q != j
                                    && self.slots[q].lot == self.slots[j].lot
                                    && rem[q] + ho >= hr
                            }) && rem[j] + hr - ho >= h
                        });
                        if let Some(o) = other {
                            at[r] = at[o];
                            at[o] = Some(j);
                            at[u] = Some(j);
                            continue 'again;
                        }
                    }
                }
                // Replace a smaller placed request (the smallest that makes room; among
                // equals the one rounded last), then re-place it if it fits anywhere.
                for &j in &self.choices[u] {
                    let smaller = self
                        .priority
                        .iter()
                        .rev()
                        .copied()
                        .filter(|&r| {
                            at[r] == Some(j)
                                && self.requests[r].hours < h
                                && rem[j] + self.requests[r].hours >= h
                        })
                        .min_by_key(|&r| self.requests[r].hours);
                    if let Some(r) = smaller {
                        at[r] = None;
                        at[u] = Some(j);
                        rem = self.room(at);
                        at[r] = self.first_fit(r, &rem, None);
                        continue 'again;
                    }
                }
            }
            break;
        }
    }

    /// Moves placed requests, longest-waiting first, to better-ranked providers on their lot
    /// with room: the same hours, better ranks. Each move lowers a slot index, so this ends.
    fn upgrade(&self, at: &mut Placing) {
        let mut rem = self.room(at);
        loop {
            let mut moved = false;
            for &i in &self.priority {
                let Some(j) = at[i] else { continue };
                let h = self.requests[i].hours;
                let better = self.choices[i]
                    .iter()
                    .copied()
                    .find(|&q| q < j && self.slots[q].rank < self.slots[j].rank && rem[q] >= h);
                if let Some(q) = better {
                    rem[j] += h;
                    rem[q] -= h;
                    at[i] = Some(q);
                    moved = true;
                }
            }
            if !moved {
                return;
            }
        }
    }

    /// Largest first, each to the provider it fills most tightly (then better rank).
    fn best_fit_decreasing(&self) -> Placing {
        let mut at: Placing = vec![None; self.requests.len()];
        let mut rem: Vec<i64> = self.slots.iter().map(|s| s.spare).collect();
        let mut order = self.priority.clone();
        order.sort_by_key(|&i| Reverse(self.requests[i].hours));
        for i in order {
            let h = self.requests[i].hours;
            let best = self.choices[i]
                .iter()
                .copied()
                .filter(|&j| rem[j] >= h)
                .min_by_key(|&j| (rem[j], j));
            if let Some(j) = best {
                rem[j] -= h;
                at[i] = Some(j);
            }
        }
        at
    }

    /// The naive greedy: requests in the order given, each to the best-ranked provider on
    /// its lot with room.
    fn greedy(&self) -> Placing {
        let mut at: Placing = vec![None; self.requests.len()];
        let mut rem: Vec<i64> = self.slots.iter().map(|s| s.spare).collect();
        for (i, slot) in at.iter_mut().enumerate() {
            *slot = self.first_fit(i, &rem, None);
            if let Some(j) = *slot {
                rem[j] -= self.requests[i].hours;
            }
        }
        at
    }

    fn placed_hours(&self, at: &Placing) -> i64 {
        at.iter()
            .zip(self.requests)
            .filter(|(s, _)| s.is_some())
            .map(|(_, r)| r.hours)
            .sum()
    }

    fn plan(&self, at: &Placing, upper_bound_hours: i64) -> Plan {
        let mut assignments = Vec::new();
        let mut unplaced = Vec::new();
        for (r, s) in self.requests.iter().zip(at) {
            match s {
                Some(j) => {
                    let slot = &self.slots[*j];
                    assignments.push(Assignment {
                        request: r.id,
                        provider: slot.provider.clone(),
                        lot: slot.lot,
                        hours: r.hours,
                        rank: slot.rank,
                    });
                }
                None => unplaced.push(r.id),
            }
        }
        Plan {
            placed_hours: self.placed_hours(at),
            assignments,
            unplaced,
            upper_bound_hours,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Min-cost flow

struct Edge {
    to: usize,
    cap: i64,
    cost: i128,
}

/// A residual graph: edge `e`'s reverse is `e ^ 1`.
struct Graph {
    edges: Vec<Edge>,
    out: Vec<Vec<usize>>,
}

impl Graph {
    fn new(nodes: usize) -> Graph {
        Graph {
            edges: vec![],
            out: vec![vec![]; nodes],
        }
    }

    fn add(&mut self, from: usize, to: usize, cap: i64, cost: i128) -> usize {
        let e = self.edges.len();
        self.edges.push(Edge { to, cap, cost });
        self.edges.push(Edge {
            to: from,
            cap: 0,
            cost: -cost,
        });
        self.out[from].push(e);
        self.out[to].push(e + 1);
        e
    }

    /// What flows on edge `e` (as added): its reverse's residual capacity.
    fn flow(&self, e: usize) -> i64 {
        self.edges[e ^ 1].cap
    }

    /// Successive shortest paths (Bellman-Ford with a queue): each augmentation is along a
    /// cheapest path in the residual graph, so the flow stays the cheapest for its value, and
    /// it ends at a maximum flow. Starting costs are not negative, so there is never a
    /// negative cycle. Returns the flow's value.
    fn min_cost_max_flow(&mut self, source: usize, sink: usize) -> i64 {
        let n = self.out.len();
        let mut total = 0;
        loop {
            let mut dist: Vec<Option<i128>> = vec![None; n];
            let mut via = vec![usize::MAX; n];
            let mut queued = vec![false; n];
            let mut queue = VecDeque::from([source]);
            dist[source] = Some(0);
            queued[source] = true;
            while let Some(u) = queue.pop_front() {
                queued[u] = false;
                let du = dist[u].expect("queued nodes have a distance");
                for &e in &self.out[u] {
                    let edge = &self.edges[e];
                    if edge.cap <= 0 {
                        continue;
                    }
                    let nd = du + edge.cost;
                    if dist[edge.to].is_none_or(|d| nd < d) {
                        dist[edge.to] = Some(nd);
                        via[edge.to] = e;
                        if !queued[edge.to] {
                            queued[edge.to] = true;
                            queue.push_back(edge.to);
                        }
                    }
                }
            }
            if dist[sink].is_none() {
                return total;
            }
            let mut push = i64::MAX;
            let mut v = sink;
            while v != source {
                let e = via[v];
                push = push.min(self.edges[e].cap);
                v = self.edges[e ^ 1].to;
            }
            let mut v = sink;
            while v != source {
                let e = via[v];
                self.edges[e].cap -= push;
                self.edges[e ^ 1].cap += push;
                v = self.edges[e ^ 1].to;
            }
            total += push;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn req(id: i64, lot: i64, hours: i64, waiting_days: i64) -> Request {
        Request {
            id,
            lot,
            hours,
            waiting_days,
        }
    }

    fn off(provider: &str, lot: i64, rank: u32, spare_hours: i64) -> Offerable {
        Offerable {
            provider: provider.into(),
            lot,
            rank,
            spare_hours,
        }
    }

    fn who(plan: &Plan, request: i64) -> Option<&str> {
        plan.assignments
            .iter()
            .find(|a| a.request == request)
            .map(|a| a.provider.as_str())
    }

    /// An independent naive greedy: requests in input order, each to the best-ranked
    /// provider on its lot that still has room.
    fn naive_greedy(requests: &[Request], offerable: &[Offerable]) -> i64 {
        let mut rem: BTreeMap<(i64, String), (u32, i64)> = BTreeMap::new();
        for o in offerable {
            rem.insert((o.lot, o.provider.clone()), (o.rank, o.spare_hours));
        }
        let mut placed = 0;
        for r in requests.iter().filter(|r| r.hours > 0) {
            let best = rem
                .iter_mut()
                .filter(|((lot, _), (_, spare))| *lot == r.lot && *spare >= r.hours)
                .min_by(|a, b| (a.1.0, &a.0.1).cmp(&(b.1.0, &b.0.1)));
            if let Some((_, (_, spare))) = best {
                *spare -= r.hours;
                placed += r.hours;
            }
        }
        placed
    }

    /// The most hours any whole-request plan can place, by trying every one.
    fn brute_force(requests: &[Request], offerable: &[Offerable]) -> i64 {
        fn go(i: usize, requests: &[Request], offerable: &[Offerable], rem: &mut [i64]) -> i64 {
            let Some(r) = requests.get(i) else { return 0 };
            let mut best = go(i + 1, requests, offerable, rem);
            if r.hours <= 0 {
                return best;
            }
            for (j, o) in offerable.iter().enumerate() {
                if o.lot == r.lot && rem[j] >= r.hours {
                    rem[j] -= r.hours;
                    best = best.max(r.hours + go(i + 1, requests, offerable, rem));
                    rem[j] += r.hours;
                }
            }
            best
        }
        let mut rem: Vec<i64> = offerable.iter().map(|o| o.spare_hours.max(0)).collect();
        go(0, requests, offerable, &mut rem)
    }

    /// Every promise a plan makes: capacity per provider-lot, each request at most once and
    /// only on its lot with its own hours, the totals add up, and nothing beats the bound.
    fn check(requests: &[Request], offerable: &[Offerable], plan: &Plan) {
        let mut used: BTreeMap<(i64, &str), i64> = BTreeMap::new();
        let mut seen = std::collections::BTreeSet::new();
        for a in &plan.assignments {
            let r = requests.iter().find(|r| r.id == a.request).unwrap();
            assert!(seen.insert(a.request), "request {} placed twice", a.request);
            assert_eq!(a.lot, r.lot);
            assert_eq!(a.hours, r.hours);
            let o = offerable
                .iter()
                .find(|o| o.lot == a.lot && o.provider == a.provider)
                .expect("assigned to a provider on the request's lot");
            assert_eq!(a.rank, o.rank);
            *used.entry((a.lot, a.provider.as_str())).or_default() += a.hours;
        }
        for ((lot, p), u) in used {
            let o = offerable
                .iter()
                .find(|o| o.lot == lot && o.provider == p)
                .unwrap();
            assert!(u <= o.spare_hours, "{p} on lot {lot} over capacity");
        }
        for r in requests {
            assert_ne!(seen.contains(&r.id), plan.unplaced.contains(&r.id));
        }
        let total: i64 = plan.assignments.iter().map(|a| a.hours).sum();
        assert_eq!(plan.placed_hours, total);
        assert!(plan.placed_hours <= plan.upper_bound_hours);
    }

    #[test]
    fn places_everyone_where_greedy_by_rank_strands_hours() {
        // A (rank 1) has 10 hours, B (rank 2) 10.50. Offered in turn to the best provider
        // with room, 3.50 and 7.00 split across A and B and 10.00 fits nowhere. All three
        // fit: 10.00 with A, 3.50 + 7.00 with B.
        let requests = [req(1, 1, 350, 0), req(2, 1, 700, 0), req(3, 1, 1000, 0)];
        let offerable = [off("A", 1, 1, 1000), off("B", 1, 2, 1050)];
        assert_eq!(naive_greedy(&requests, &offerable), 1050);
        let plan = suggest(&requests, &offerable);
        check(&requests, &offerable, &plan);
        assert_eq!(plan.placed_hours, 2050);
        assert_eq!(plan.upper_bound_hours, 2050);
        assert!(plan.unplaced.is_empty());
        assert_eq!(who(&plan, 3), Some("A"));
        assert_eq!(who(&plan, 1), Some("B"));
        assert_eq!(who(&plan, 2), Some("B"));
    }

    #[test]
    fn a_request_on_a_lot_with_no_providers_stays_unplaced() {
        let requests = [req(1, 7, 500, 30), req(2, 1, 500, 0)];
        let offerable = [off("A", 1, 1, 5000), off("B", 2, 1, 5000)];
        let plan = suggest(&requests, &offerable);
        check(&requests, &offerable, &plan);
        assert_eq!(plan.unplaced, vec![1]);
        assert_eq!(who(&plan, 2), Some("A"));
        assert_eq!(plan.upper_bound_hours, 500);
    }

    #[test]
    fn better_rank_then_longer_wait() {
        // Room with both: the better-ranked provider gets it.
        let offerable = [off("B", 1, 2, 1000), off("A", 1, 1, 1000)];
        let plan = suggest(&[req(1, 1, 700, 0)], &offerable);
        assert_eq!(who(&plan, 1), Some("A"));
        // Room for one of two equal requests: the one waiting longer.
        let requests = [req(1, 1, 700, 2), req(2, 1, 700, 9)];
        let plan = suggest(&requests, &[off("A", 1, 1, 1000)]);
        assert_eq!(plan.unplaced, vec![1]);
        assert_eq!(who(&plan, 2), Some("A"));
        // But hours come first: a larger request beats a longer wait.
        let requests = [req(1, 1, 700, 9), req(2, 1, 900, 2)];
        let plan = suggest(&requests, &[off("A", 1, 1, 1000)]);
        assert_eq!(plan.unplaced, vec![1]);
    }

    #[test]
    fn no_hours_no_room_and_duplicate_rows() {
        let requests = [req(1, 1, 0, 5), req(2, 1, -100, 5), req(3, 1, 400, 5)];
        // A appears twice: the better rank (1) and the smaller spare (300) count; B has none.
        let offerable = [
            off("A", 1, 3, 900),
            off("A", 1, 1, 300),
            off("B", 1, 2, -50),
            off("C", 1, 4, 400),
        ];
        let plan = suggest(&requests, &offerable);
        assert_eq!(plan.unplaced, vec![1, 2]);
        assert_eq!(who(&plan, 3), Some("C"));
        assert_eq!(plan.upper_bound_hours, 400);
        let empty = suggest(&[], &[]);
        assert_eq!(empty.placed_hours, 0);
        assert!(empty.assignments.is_empty());
    }

    #[test]
    fn moves_a_placed_request_to_make_room() {
        // 5.00 (waiting 10) and 8.00; A has 8.00 spare, B 5.00. The flow sends each where it
        // fits, so the plan places both.
        let requests = [req(1, 1, 500, 10), req(2, 1, 800, 1)];
        let offerable = [off("A", 1, 1, 800), off("B", 1, 2, 500)];
        let plan = suggest(&requests, &offerable);
        check(&requests, &offerable, &plan);
        assert_eq!(plan.placed_hours, 1300);
        assert_eq!(who(&plan, 2), Some("A"));
        assert_eq!(who(&plan, 1), Some("B"));
        // Had rounding put 5.00 on A (the best rank), improvement moves it to B to make room.
        let p = Problem::new(&requests, &offerable);
        let mut at = vec![Some(0), None];
        p.improve(&mut at);
        assert_eq!(at, vec![Some(1), Some(0)]);
    }

    #[test]
    fn a_larger_request_takes_a_smaller_ones_place() {
        // Only A has room: 3.00 placed there leaves 7.00 unplaced; swapping them places more.
        let requests = [req(1, 1, 300, 10), req(2, 1, 700, 1)];
        let offerable = [off("A", 1, 1, 800)];
        let p = Problem::new(&requests, &offerable);
        let mut at = vec![Some(0), None];
        p.improve(&mut at);
        assert_eq!(at, vec![None, Some(0)]);
        assert_eq!(suggest(&requests, &offerable).unplaced, vec![1]);
    }

    #[test]
    fn the_same_batch_gives_the_same_plan() {
        let requests: Vec<Request> = (0..12)
            .map(|i| req(i, i % 3, 350 + (i * 175) % 1400, (i * 7) % 5))
            .collect();
        let offerable: Vec<Offerable> = (0..9)
            .map(|j| {
                off(
                    &format!("P{j}"),
                    j % 3,
                    (j / 3 + 1) as u32,
                    900 + 300 * (j % 4),
                )
            })
            .collect();
        let a = suggest(&requests, &offerable);
        let b = suggest(&requests, &offerable);
        assert_eq!(a, b);
        check(&requests, &offerable, &a);
        assert!(a.placed_hours >= naive_greedy(&requests, &offerable));
    }

    fn instance() -> impl Strategy<Value = (Vec<Request>, Vec<Offerable>)> {
        let requests = proptest::collection::vec((0i64..3, 1i64..30, 0i64..20), 0..8);
        // Each provider-lot at most once: a subset of 4 providers x 3 lots.
        let offerable =
            proptest::collection::vec((any::<bool>(), 1u32..5, 0i64..40), 12).prop_map(|v| {
                v.into_iter()
                    .enumerate()
                    .filter(|(_, (on, _, _))| *on)
                    .map(|(k, (_, rank, spare))| {
                        off(&format!("P{}", k % 4), (k / 4) as i64, rank, spare * 50)
                    })
                    .collect::<Vec<_>>()
            });
        (requests, offerable).prop_map(|(rs, os)| {
            let rs = rs
                .into_iter()
                .enumerate()
                .map(|(i, (lot, h, w))| req(i as i64 + 1, lot, h * 50, w))
                .collect();
            (rs, os)
        })
    }

    proptest! {
        /// For random small batches: capacity holds per provider-lot, each request is placed
        /// at most once and only on its lot, the plan never beats the relaxation's bound nor
        /// the best possible (by brute force), and never places less than the naive greedy.
        #[test]
        fn plans_keep_their_promises((requests, offerable) in instance()) {
            let plan = suggest(&requests, &offerable);
            check(&requests, &offerable, &plan);
            let best = brute_force(&requests, &offerable);
            prop_assert!(plan.placed_hours <= best);
            prop_assert!(best <= plan.upper_bound_hours);
            prop_assert!(plan.placed_hours >= naive_greedy(&requests, &offerable));
            prop_assert_eq!(&plan, &suggest(&requests, &offerable));
        }
    }
}
