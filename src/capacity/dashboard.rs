//! The capacity dashboard: beds, occupancy and vacancies by bed type and area, now and week by
//! week from the history of accepted updates.

use caremarket_core::capacity::{BedFigures, Freshness, freshness};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use std::collections::{BTreeMap, HashMap};

use crate::export::{Table, Value};
use crate::{AppState, Result, args};

/// Totals over a set of homes' figures.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct Totals {
    pub homes: u64,
    pub capacity: i64,
    pub occupied: i64,
    pub vacant: i64,
    pub reserved: i64,
    pub closed: i64,
    /// Occupied as a % of capacity, one decimal (half up)
    pub occupancy_pct: Option<f64>,
    /// Homes whose figures are older than the red threshold
    pub stale_homes: u64,
}

impl Totals {
    fn add(&mut self, f: &BedFigures) {
        self.capacity += f.capacity;
        self.occupied += f.occupied;
        self.vacant += f.vacant;
        self.reserved += f.reserved;
        self.closed += f.closed;
    }
    fn finish(&mut self) {
        self.occupancy_pct = caremarket_core::market::pct_1dp(
            self.occupied.max(0) as u64,
            self.capacity.max(0) as u64,
        );
    }
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Dashboard {
    pub area: Option<String>,
    pub total: Totals,
    /// (bed type label, totals)
    pub by_bed_type: Vec<(String, Totals)>,
    /// (council, totals)
    pub by_area: Vec<(String, Totals)>,
    /// (week ending, totals as the figures stood at the end of that day)
    pub over_time: Vec<(NaiveDate, Totals)>,
}

#[derive(sqlx::FromRow)]
struct Row {
    location_id: String,
    bed_type: String,
    capacity: i64,
    occupied: i64,
    vacant: i64,
    reserved: i64,
    closed: i64,
    updated_at: DateTime<Utc>,
    local_authority: Option<String>,
}

#[derive(serde::Deserialize)]
struct Saved {
    bed_type: String,
    capacity: i64,
    occupied: i64,
    vacant: i64,
    reserved: i64,
    closed: i64,
}

pub async fn build(state: &AppState, area: Option<&str>, weeks: i64) -> Result<Dashboard> {
    let area = area.map(str::trim).filter(|a| !a.is_empty());
    let rows: Vec<Row> = state
        .db
        .q()
        .fetch_all(
            "SELECT f.location_id, f.bed_type, f.capacity, f.occupied, f.vacant, f.reserved, f.closed, f.updated_at, l.local_authority \
             FROM capacity_figures f JOIN cqc_locations l ON l.location_id = f.location_id WHERE ($1 = '' OR l.local_authority = $1)",
            args![area.unwrap_or_default()],
        )
        .await?;
    let labels: HashMap<String, String> = super::bed_types(state)
        .await?
        .iter()
        .map(|t| (t.key.clone(), t.label.clone()))
        .collect();
    let s = state.settings();
    let now = state.clock.now();
    let mut total = Totals::default();
    let mut by_type: BTreeMap<String, (Totals, std::collections::BTreeSet<String>)> =
        BTreeMap::new();
    let mut by_area: BTreeMap<String, (Totals, std::collections::BTreeSet<String>)> =
        BTreeMap::new();
    let mut homes = std::collections::BTreeSet::new();
    let mut stale = std::collections::BTreeSet::new();
    for r in &rows {
        let f = BedFigures {
            capacity: r.capacity,
            occupied: r.occupied,
            vacant: r.vacant,
            reserved: r.reserved,
            closed: r.closed,
        };
        total.add(&f);
        homes.insert(r.location_id.clone());
        if freshness(
            (now - r.updated_at).num_days(),
            s.vacancy_amber_days,
            s.vacancy_red_days,
        ) == Freshness::Red
        {
            stale.insert(r.location_id.clone());
        }
        let t = by_type
            .entry(
                labels
                    .get(&r.bed_type)
                    .cloned()
                    .unwrap_or(r.bed_type.clone()),
            )
            .or_default();
        t.0.add(&f);
        t.1.insert(r.location_id.clone());
        let a = by_area
            .entry(
                r.local_authority
                    .clone()
                    .unwrap_or_else(|| "Unknown".into()),
            )
            .or_default();
        a.0.add(&f);
        a.1.insert(r.location_id.clone());
    }
    total.homes = homes.len() as u64;
    total.stale_homes = stale.len() as u64;
    total.finish();
    let close = |m: BTreeMap<String, (Totals, std::collections::BTreeSet<String>)>| {
        m.into_iter()
            .map(|(k, (mut t, hs))| {
                t.homes = hs.len() as u64;
                t.stale_homes = hs.iter().filter(|h| stale.contains(*h)).count() as u64;
                t.finish();
                (k, t)
            })
            .collect::<Vec<_>>()
    };
    // Week by week: each home's figures per bed type as they stood at the end of the day,
    // from the accepted updates (each names the bed types it set).
    let in_area: std::collections::BTreeSet<String> = match area {
        None => Default::default(),
        Some(a) => state
            .db
            .q()
            .fetch_all::<(String,)>(
                "SELECT location_id FROM cqc_locations WHERE local_authority = $1",
                args![a],
            )
            .await?
            .into_iter()
            .map(|r| r.0)
            .collect(),
    };
    let updates: Vec<(String, String, DateTime<Utc>)> = state
        .db
        .q()
        .fetch_all(
            "SELECT location_id, figures, updated_at FROM capacity_updates ORDER BY updated_at, id",
            args![],
        )
        .await?;
    let today = now.date_naive();
    let mut over_time = Vec::new();
    for w in (0..weeks.max(1)).rev() {
        let day = today - Duration::days(7 * w);
        let end = day
            .and_hms_opt(23, 59, 59)
            .map(|t| t.and_utc())
            .unwrap_or(now);
        let mut state_at: HashMap<(String, String), BedFigures> = HashMap::new();
        for (loc, figs, at) in &updates {
            if *at > end || (area.is_some() && !in_area.contains(loc)) {
                continue;
            }
            let saved: Vec<Saved> = serde_json::from_str(figs).unwrap_or_default();
            for sv in saved {
                state_at.insert(
                    (loc.clone(), sv.bed_type),
                    BedFigures {
                        capacity: sv.capacity,
                        occupied: sv.occupied,
                        vacant: sv.vacant,
                        reserved: sv.reserved,
                        closed: sv.closed,
                    },
                );
            }
        }
        let mut t = Totals::default();
        let mut hs = std::collections::BTreeSet::new();
        for ((loc, _), f) in &state_at {
            t.add(f);
            hs.insert(loc.clone());
        }
        t.homes = hs.len() as u64;
        t.finish();
        over_time.push((day, t));
    }
    Ok(Dashboard {
        area: area.map(str::to_string),
        total,
        by_bed_type: close(by_type),
        by_area: close(by_area),
        over_time,
    })
}

fn totals_row(label: String, t: &Totals) -> Vec<Value> {
    vec![
        Value::Text(label),
        Value::Int(t.homes as i64),
        Value::Int(t.capacity),
        Value::Int(t.occupied),
        Value::Int(t.vacant),
        Value::Int(t.reserved),
        Value::Int(t.closed),
        Value::Decimal(t.occupancy_pct),
    ]
}

/// One of the dashboard's tables, as the page shows it: "bed_type", "area" or "time".
pub fn table(d: &Dashboard, which: &str) -> Option<Table> {
    let first = match which {
        "bed_type" => "Bed type",
        "area" => "Council",
        "time" => "Week ending",
        _ => return None,
    };
    let headers = [
        first,
        "Homes",
        "Capacity",
        "Occupied",
        "Vacant",
        "Reserved",
        "Closed",
        "Occupancy %",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let rows = match which {
        "bed_type" => d
            .by_bed_type
            .iter()
            .map(|(k, t)| totals_row(k.clone(), t))
            .collect(),
        "area" => d
            .by_area
            .iter()
            .map(|(k, t)| totals_row(k.clone(), t))
            .collect(),
        _ => d
            .over_time
            .iter()
            .map(|(k, t)| totals_row(k.to_string(), t))
            .collect(),
    };
    Some(Table {
        title: format!("Capacity by {}", first.to_lowercase()),
        headers,
        rows,
    })
}
