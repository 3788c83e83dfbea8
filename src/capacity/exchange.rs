//! Vacancies as a file, for providers with many homes and for exchange with the council's
//! other systems. The columns (a download has them all; an upload needs the first seven):
//!
//! Location ID, Bed type (key or name), Capacity, Occupied, Vacant, Reserved, Closed,
//! Closed reason, Version, Home, Last updated, Updated by
//!
//! An upload is all or nothing. A home whose figures in the file equal its saved ones is left
//! alone (so loading the same file twice changes nothing); a home whose figures differ is
//! saved only if the file's Version, when given, is still the home's version.

use caremarket_core::capacity::BedFigures;
use std::collections::BTreeMap;

use super::{FigureInput, Home};
use crate::audit::Actor;
use crate::export::{Table, Value};
use crate::import::{ColumnSpec, RowProblem};
use crate::{AppState, Result, args};

const COLUMNS: &[ColumnSpec] = &[
    crate::import::col("location_id", &["locationid", "cqclocationid"], true),
    crate::import::col("bed_type", &["bedtype"], true),
    crate::import::col("capacity", &["capacity"], true),
    crate::import::col("occupied", &["occupied"], true),
    crate::import::col("vacant", &["vacant", "vacantaccepting"], true),
    crate::import::col("reserved", &["reserved", "vacantreserved"], true),
    crate::import::col("closed", &["closed"], true),
    crate::import::col("closed_reason", &["closedreason", "whyclosed"], false),
    crate::import::col("version", &["version"], false),
];

/// The homes a user keeps: a provider user's own, or (None) every home with figures.
async fn homes_for(state: &AppState, provider: Option<&str>) -> Result<Vec<Home>> {
    match provider {
        Some(p) => super::provider_homes(state, p).await,
        None => {
            let ids: Vec<(String,)> = state
                .db
                .q()
                .fetch_all(
                    "SELECT h.location_id FROM capacity_homes h JOIN cqc_locations l ON l.location_id = h.location_id ORDER BY l.name",
                    args![],
                )
                .await?;
            let mut out = Vec::new();
            for (id,) in ids {
                if let Some(h) = super::home(state, &id).await? {
                    out.push(h);
                }
            }
            Ok(out)
        }
    }
}

pub async fn export(state: &AppState, provider: Option<&str>) -> Result<Table> {
    let homes = homes_for(state, provider).await?;
    let mut rows = Vec::new();
    for h in &homes {
        for r in h.rows.iter().filter(|r| r.updated_at.is_some()) {
            rows.push(vec![
                Value::Text(h.location_id.clone()),
                Value::Text(r.bed_type.clone()),
                Value::Int(r.figures.capacity),
                Value::Int(r.figures.occupied),
                Value::Int(r.figures.vacant),
                Value::Int(r.figures.reserved),
                Value::Int(r.figures.closed),
                Value::Text(r.closed_reason.clone()),
                Value::Int(h.version),
                Value::Text(h.name.clone()),
                Value::Text(
                    r.updated_at
                        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                        .unwrap_or_default(),
                ),
                Value::Text(r.updated_by.clone().unwrap_or_default()),
            ]);
        }
    }
    Ok(Table {
        title: "Vacancies".into(),
        headers: [
            "Location ID",
            "Bed type",
            "Capacity",
            "Occupied",
            "Vacant",
            "Reserved",
            "Closed",
            "Closed reason",
            "Version",
            "Home",
            "Last updated",
            "Updated by",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        rows,
    })
}

/// What an upload did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Loaded {
    pub homes_saved: usize,
    pub homes_unchanged: usize,
}

/// Loads a vacancies file: all or nothing, every problem with its row, column and value.
pub async fn import(
    state: &AppState,
    actor: &Actor,
    provider: Option<&str>,
    name: &str,
    bytes: &[u8],
) -> std::result::Result<Loaded, String> {
    let grids = crate::import::open(name, bytes).map_err(|e| e.0)?;
    let (g, cols) = crate::import::find_header(name, &grids, COLUMNS).map_err(|e| e.0)?;
    let grid = &grids[g];
    let types = super::bed_types(state).await.map_err(|e| e.to_string())?;
    let mut problems = Vec::new();
    // Per home, in file order: (first row, version given, figures)
    let mut by_home: BTreeMap<String, (usize, Option<i64>, Vec<FigureInput>)> = BTreeMap::new();
    let mut homes: BTreeMap<String, Home> = BTreeMap::new();
    let mut unreadable = std::collections::BTreeSet::new();
    for r in crate::import::data_rows(grid, &cols) {
        let cell = |k: &str| r.cell(k);
        let row = r.number;
        let mut unreadable_row = false;
        let mut bad = |k: &str, v: &str, why: &str| problems.push(r.problem(k, v, why));
        let id = cell("location_id");
        if !homes.contains_key(&id) {
            match super::home(state, &id).await.map_err(|e| e.to_string())? {
                Some(h) if provider.is_none_or(|p| h.provider_id.as_deref() == Some(p)) => {
                    homes.insert(id.clone(), h);
                }
                Some(_) => {
                    bad("location_id", &id, "is not one of your care homes");
                    continue;
                }
                None => {
                    bad("location_id", &id, "is not a care home in the CQC data");
                    continue;
                }
            }
        }
        let bt = cell("bed_type");
        let Some(t) = types
            .iter()
            .find(|t| t.key.eq_ignore_ascii_case(&bt) || t.label.eq_ignore_ascii_case(&bt))
        else {
            bad(
                "bed_type",
                &bt,
                &format!(
                    "is not a bed type: use {}",
                    types
                        .iter()
                        .map(|t| t.key.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            continue;
        };
        let mut nums = [0i64; 5];
        for (j, k) in ["capacity", "occupied", "vacant", "reserved", "closed"]
            .iter()
            .enumerate()
        {
            let v = cell(k);
            match v.parse::<i64>() {
                Ok(n) => nums[j] = n,
                Err(_) if v.is_empty() => {}
                Err(_) => {
                    bad(k, &v, "is not a whole number");
                    unreadable_row = true;
                }
            }
        }
        let version = match cell("version") {
            v if v.is_empty() => None,
            v => match v.parse::<i64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    bad("version", &v, "is not a whole number");
                    unreadable_row = true;
                    None
                }
            },
        };
        if unreadable_row {
            // The row's own mistakes are enough: its home's rules are not checked on top.
            unreadable.insert(id.clone());
            continue;
        }
        let e = by_home
            .entry(id.clone())
            .or_insert((row, version, Vec::new()));
        if version.is_some() && e.1.is_some() && version != e.1 {
            bad(
                "version",
                &cell("version"),
                "differs from the version on the home's other rows",
            );
        }
        if e.2.iter().any(|f| f.bed_type == t.key) {
            bad("bed_type", &bt, "is given twice for this home");
            continue;
        }
        e.2.push(FigureInput {
            bed_type: t.key.clone(),
            figures: BedFigures {
                capacity: nums[0],
                occupied: nums[1],
                vacant: nums[2],
                reserved: nums[3],
                closed: nums[4],
            },
            closed_reason: cell("closed_reason"),
            closed_since: None,
        });
    }
    // The rules, home by home, reported against the home's first row.
    let mut changed = Vec::new();
    let mut unchanged = 0;
    for (id, (row, version, input)) in &by_home {
        let Some(h) = homes.get(id) else { continue };
        if unreadable.contains(id) {
            continue;
        }
        for item in super::check(h, input, &h.over_registered_reason).items {
            problems.push(RowProblem::new(*row, "Location ID", id, item.message));
        }
        let same = input.iter().all(|f| {
            h.rows.iter().any(|r| {
                r.bed_type == f.bed_type
                    && r.updated_at.is_some()
                    && r.figures == f.figures
                    && r.closed_reason == f.closed_reason.trim()
            })
        });
        if same {
            unchanged += 1;
            continue;
        }
        if let Some(v) = version
            && *v != h.version
        {
            problems.push(RowProblem::new(
                *row,
                "Version",
                &v.to_string(),
                format!(
                    "the home's figures were saved again since (now version {}): download the figures again",
                    h.version
                ),
            ));
        }
        changed.push((h, version.unwrap_or(h.version), input));
    }
    if !problems.is_empty() {
        return Err(crate::import::summarise_problems(name, &problems));
    }
    if by_home.is_empty() {
        return Err(format!("{name} has no vacancies in it"));
    }
    let result: Result<std::result::Result<usize, String>> = async {
        let mut tx = state.db.begin().await?;
        let now = state.clock.now();
        for (h, version, input) in &changed {
            let applied =
                super::apply(&mut tx, actor, now, h, *version, input, &h.over_registered_reason)
                    .await?;
            if applied.is_none() {
                // Someone saved this home while the file was loading: nothing is kept.
                return Ok(Err(format!(
                    "{name}: the figures of {} ({}) were saved by someone else while the file loaded; nothing was imported. Load it again.",
                    h.name, h.location_id
                )));
            }
        }
        tx.commit().await?;
        Ok(Ok(changed.len()))
    }
    .await;
    match result {
        Ok(Ok(n)) => Ok(Loaded {
            homes_saved: n,
            homes_unchanged: unchanged,
        }),
        Ok(Err(msg)) => Err(msg),
        Err(e) => Err(e.to_string()),
    }
}
