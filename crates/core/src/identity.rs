//! One identity per care home across its registrations.
//!
//! A home that changes provider (or moves, or passes between NHS bodies) is registered again
//! under a new CQC location ID; CQC links the two with `HSCA Predecessor` / `HSCA Successor`
//! relationships, sometimes in chains of three or more. A home can also be registered twice
//! at once (dual registration: two providers, one building). The rule:
//!
//! 1. Location IDs linked by a relationship (either way round, any reason) are one home.
//!    Two registrations at one name and postcode that CQC does not link stay two: the 2021
//!    national file has 46 such pairs of care homes, and CQC counts each (14,840 care homes).
//! 2. The home is known by its latest registration (the latest registration date, then the
//!    highest ID): its key.
//! 3. A figure counts a home once: registrations in the market at the same date that CQC
//!    links to each other (a dual registration, or an old registration still listed beside
//!    its successor) are counted once, by the one still registered, rated, most recently
//!    registered. Two current registrations that only share a predecessor (a home split in
//!    two) are two homes.
//! 4. A home with two registrations in the market at once is a dual registration, and said so.

use chrono::NaiveDate;
use std::collections::HashMap;

/// What the rule needs to know of one registration (one location ID).
#[derive(Debug, Clone, PartialEq)]
pub struct Registration<'a> {
    pub id: &'a str,
    pub registered: Option<NaiveDate>,
    pub deregistered: Option<NaiveDate>,
}

/// The homes: which key each location ID belongs to.
#[derive(Debug, Clone, Default)]
pub struct Homes {
    key_of: HashMap<String, String>,
}

impl Homes {
    /// The home a location ID belongs to (itself when it has no other registration).
    pub fn key<'a>(&'a self, id: &'a str) -> &'a str {
        self.key_of.get(id).map_or(id, String::as_str)
    }
}

fn find(parent: &mut [usize], i: usize) -> usize {
    let mut r = i;
    while parent[r] != r {
        r = parent[r];
    }
    let mut j = i;
    while parent[j] != r {
        let next = parent[j];
        parent[j] = r;
        j = next;
    }
    r
}

/// Rules 1 and 2. `links` are (location, related location) pairs from CQC's relationships;
/// a link to an ID not among `regs` still joins the IDs it links.
pub fn homes(regs: &[Registration<'_>], links: &[(&str, &str)]) -> Homes {
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut ids: Vec<&str> = Vec::new();
    for r in regs {
        if !index.contains_key(r.id) {
            index.insert(r.id, ids.len());
            ids.push(r.id);
        }
    }
    for (a, b) in links {
        for x in [*a, *b] {
            if !index.contains_key(x) {
                index.insert(x, ids.len());
                ids.push(x);
            }
        }
    }
    let mut parent: Vec<usize> = (0..ids.len()).collect();
    let union = |parent: &mut [usize], a: usize, b: usize| {
        let (ra, rb) = (find(parent, a), find(parent, b));
        if ra != rb {
            parent[ra.max(rb)] = ra.min(rb);
        }
    };
    for (a, b) in links {
        union(&mut parent, index[a], index[b]);
    }
    let by_id: HashMap<&str, &Registration> = regs.iter().map(|r| (r.id, r)).collect();
    let mut groups: HashMap<usize, Vec<&str>> = HashMap::new();
    for (i, id) in ids.iter().enumerate() {
        let root = find(&mut parent, i);
        groups.entry(root).or_default().push(id);
    }
    let mut out = Homes::default();
    for (_, mut members) in groups {
        if members.len() < 2 {
            continue;
        }
        members.sort_by_key(|id| (by_id.get(id).and_then(|r| r.registered), id.to_string()));
        let key = members.last().expect("two or more").to_string();
        for m in &members {
            out.key_of.insert(m.to_string(), key.clone());
        }
    }
    out
}

/// Rule 3: which of a home's registrations stands for it, of those given (in the market):
/// still registered, then rated, then the most recently registered, then the highest ID.
pub fn stands_for<'a>(
    candidates: &[&'a Registration<'a>],
    rated: impl Fn(&str) -> bool,
) -> Option<&'a Registration<'a>> {
    candidates
        .iter()
        .max_by_key(|r| {
            (
                r.deregistered.is_none(),
                rated(r.id),
                r.registered,
                r.id.to_string(),
            )
        })
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, dd: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, dd)
    }
    fn reg<'a>(
        id: &'a str,
        registered: Option<NaiveDate>,
        deregistered: Option<NaiveDate>,
    ) -> Registration<'a> {
        Registration {
            id,
            registered,
            deregistered,
        }
    }

    #[test]
    fn a_three_link_chain_is_one_home_known_by_its_latest_registration() {
        let regs = [
            reg("1-A", d(2012, 4, 1), d(2018, 5, 31)),
            reg("1-B", d(2018, 6, 1), d(2022, 3, 31)),
            reg("1-C", d(2022, 4, 1), None),
        ];
        // Links as CQC gives them: each side names the other.
        let h = homes(&regs, &[("1-A", "1-B"), ("1-B", "1-A"), ("1-C", "1-B")]);
        assert_eq!(h.key("1-A"), "1-C");
        assert_eq!(h.key("1-B"), "1-C");
        assert_eq!(h.key("1-C"), "1-C");
        // A home with no other registration is its own.
        assert_eq!(h.key("1-Z"), "1-Z");
    }

    #[test]
    fn dual_registration_and_who_stands_for_the_home() {
        let regs = [
            reg("1-D1", d(2015, 1, 1), None),
            reg("1-D2", d(2019, 1, 1), None),
            reg("1-E", d(2019, 1, 1), None),
        ];
        // Linked by CQC: one home. Not linked (whatever its name and postcode): its own.
        let h = homes(&regs, &[("1-D2", "1-D1")]);
        assert_eq!(h.key("1-D1"), "1-D2");
        assert_eq!(h.key("1-E"), "1-E");
        // The rated one stands for it; both rated: the later registration.
        let cands: Vec<&Registration> = regs[..2].iter().collect();
        assert_eq!(stands_for(&cands, |id| id == "1-D1").unwrap().id, "1-D1");
        assert_eq!(stands_for(&cands, |_| true).unwrap().id, "1-D2");
        // A deregistered one never stands while another is registered.
        let closed = reg("1-F", d(2020, 1, 1), d(2021, 1, 1));
        let cands = vec![&regs[0], &closed];
        assert_eq!(stands_for(&cands, |id| id == "1-F").unwrap().id, "1-D1");
    }
}
