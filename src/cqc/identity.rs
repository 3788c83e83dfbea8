//! One identity per care home across its registrations (the rule is
//! `caremarket_core::identity`): read from the locations and CQC's relationships, used by
//! every count so that a home under two location IDs is counted once.

use caremarket_core::identity::{Homes, Registration, homes, stands_for};
use chrono::NaiveDate;
use std::collections::{HashMap, HashSet};

use crate::db::Db;
use crate::{Result, args};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RegRow {
    pub location_id: String,
    pub registration_date: Option<NaiveDate>,
    pub deregistration_date: Option<NaiveDate>,
}

/// Every registration and the homes they make.
pub struct HomeIndex {
    pub rows: HashMap<String, RegRow>,
    pub homes: Homes,
    /// CQC's relationships, as (location, related location).
    links: Vec<(String, String)>,
}

impl RegRow {
    fn registration(&self) -> Registration<'_> {
        Registration {
            id: &self.location_id,
            registered: self.registration_date,
            deregistered: self.deregistration_date,
        }
    }
}

impl HomeIndex {
    fn registration(&self, id: &str) -> Option<Registration<'_>> {
        self.rows.get(id).map(RegRow::registration)
    }
}

pub async fn load(db: &Db) -> Result<HomeIndex> {
    let rows: Vec<RegRow> = db
        .q()
        .fetch_all(
            "SELECT location_id, registration_date, deregistration_date FROM cqc_locations",
            args![],
        )
        .await?;
    let links: Vec<(String, String)> = db
        .q()
        .fetch_all(
            "SELECT location_id, related_location_id FROM cqc_relationships",
            args![],
        )
        .await?;
    let regs: Vec<Registration> = rows.iter().map(RegRow::registration).collect();
    let pairs: Vec<(&str, &str)> = links
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let homes = homes(&regs, &pairs);
    drop(regs);
    Ok(HomeIndex {
        rows: rows
            .into_iter()
            .map(|r| (r.location_id.clone(), r))
            .collect(),
        homes,
        links,
    })
}

/// What counting one per home changed.
#[derive(Debug, Default, Clone)]
pub struct Merged {
    /// Homes with more than one registration in the market at once (dual registration, or a
    /// file still listing a home's old registration beside its new one): counted once.
    pub dual: Vec<String>,
}

/// Of the locations present, one per home (rule 3 of `caremarket_core::identity`): only
/// registrations in the market at once that CQC links to each other are merged. Two current
/// registrations that merely share a predecessor (a home split in two) stay two.
pub fn one_per_home(
    present: HashSet<String>,
    index: &HomeIndex,
    rated: impl Fn(&str) -> bool,
) -> (HashSet<String>, Merged) {
    let regs: Vec<Registration> = present
        .iter()
        .filter_map(|id| index.registration(id))
        .collect();
    let links: Vec<(&str, &str)> = index
        .links
        .iter()
        .filter(|(a, b)| present.contains(a) && present.contains(b))
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let live = homes(&regs, &links);
    let mut by_home: HashMap<&str, Vec<&str>> = HashMap::new();
    for id in &present {
        by_home.entry(live.key(id)).or_default().push(id);
    }
    let mut keep = HashSet::with_capacity(present.len());
    let mut merged = Merged::default();
    for (key, ids) in by_home {
        if ids.len() == 1 {
            keep.insert(ids[0].to_string());
            continue;
        }
        merged.dual.push(key.to_string());
        let regs: Vec<Registration> = ids.iter().filter_map(|id| index.registration(id)).collect();
        let refs: Vec<&Registration> = regs.iter().collect();
        match stands_for(&refs, &rated) {
            Some(r) => keep.insert(r.id.to_string()),
            None => keep.insert(ids[0].to_string()),
        };
    }
    merged.dual.sort();
    (keep, merged)
}

/// One registration of a home, as its profile lists it.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct RegistrationRow {
    pub location_id: String,
    pub name: String,
    pub provider_id: Option<String>,
    pub provider_name: Option<String>,
    pub registration_date: Option<NaiveDate>,
    pub deregistration_date: Option<NaiveDate>,
    pub registration_status: Option<String>,
}

/// Every registration of the home a location belongs to, earliest first: the IDs linked to it
/// by CQC's relationships however long the chain. Read from the location outwards, so a
/// profile does not load every location.
pub async fn registrations_of(db: &Db, id: &str) -> Result<Vec<RegistrationRow>> {
    let mut seen: Vec<String> = vec![id.to_string()];
    let mut frontier = vec![id.to_string()];
    // A chain longer than 50 registrations is not a home's history.
    for _ in 0..50 {
        if frontier.is_empty() {
            break;
        }
        let marks: Vec<String> = (1..=frontier.len()).map(|i| format!("${i}")).collect();
        let list = marks.join(",");
        let mut a: Vec<crate::db::Arg> = frontier.iter().map(crate::db::Arg::from).collect();
        a.extend(frontier.iter().map(crate::db::Arg::from));
        let more: Vec<String> = (frontier.len() + 1..=2 * frontier.len())
            .map(|i| format!("${i}"))
            .collect();
        let rows: Vec<(String, String)> = db
            .q()
            .fetch_all(
                &format!(
                    "SELECT location_id, related_location_id FROM cqc_relationships WHERE location_id IN ({list}) OR related_location_id IN ({})",
                    more.join(",")
                ),
                a,
            )
            .await?;
        frontier.clear();
        for (x, y) in rows {
            for v in [x, y] {
                if !seen.contains(&v) {
                    seen.push(v.clone());
                    frontier.push(v);
                }
            }
        }
    }
    let marks: Vec<String> = (1..=seen.len()).map(|i| format!("${i}")).collect();
    let mut rows: Vec<RegistrationRow> = db
        .q()
        .fetch_all(
            &format!(
                "SELECT l.location_id, l.name, l.provider_id, p.name AS provider_name, l.registration_date, l.deregistration_date, l.registration_status \
                 FROM cqc_locations l LEFT JOIN cqc_providers p ON p.provider_id = l.provider_id WHERE l.location_id IN ({})",
                marks.join(",")
            ),
            seen.iter().map(crate::db::Arg::from).collect(),
        )
        .await?;
    rows.sort_by(|a, b| {
        (a.registration_date, &a.location_id).cmp(&(b.registration_date, &b.location_id))
    });
    Ok(rows)
}
