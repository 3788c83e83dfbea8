//! ONS subnational population projections (the SNPP "persons" CSV: AREA_CODE, AREA_NAME,
//! COMPONENT, SEX, AGE_GROUP, then one column a year), loaded as the cumulative older age
//! counts per area and year. Where they cover a year, sufficiency uses them in place of the
//! growth rates.

use std::collections::BTreeMap;

use crate::audit::{self, Actor};
use crate::import::RowProblem;
use crate::{AppState, Result, args};

const COLUMNS: &[crate::import::ColumnSpec] = &[
    crate::import::col("area_code", &["areacode", "code"], true),
    crate::import::col("area_name", &["areaname", "name"], true),
    crate::import::col("component", &["component"], false),
    crate::import::col("sex", &["sex"], false),
    crate::import::col("age_group", &["agegroup", "age"], true),
];

/// What a load did.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Loaded {
    pub areas: usize,
    pub first_year: i32,
    pub last_year: i32,
}

/// (all ages, 65+, 75+, 85+) being summed for one area and year.
type Sums = [i64; 4];

/// The age a group starts at: "65" -> 65, "90 and over" -> 90, "All ages" -> None (the
/// total), anything else is a problem.
fn age_of(group: &str) -> std::result::Result<Option<u32>, ()> {
    let g = group.trim().to_lowercase();
    if g == "all ages" || g == "all" {
        return Ok(None);
    }
    let digits: String = g.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().map(Some).map_err(|_| ())
}

/// Loads a projection file, all or nothing; loading an area's years again replaces them.
pub async fn import(
    state: &AppState,
    actor: &Actor,
    name: &str,
    bytes: &[u8],
) -> std::result::Result<Loaded, String> {
    let grids = crate::import::open(name, bytes).map_err(|e| e.0)?;
    let (g, cols) = crate::import::find_header(name, &grids, COLUMNS).map_err(|e| e.0)?;
    let grid = &grids[g];
    // The year columns: headers that are years.
    let years: Vec<(usize, i32)> = cols
        .headers
        .iter()
        .enumerate()
        .filter_map(|(i, h)| {
            let y: i32 = h.trim().parse().ok()?;
            (1971..=2100).contains(&y).then_some((i, y))
        })
        .collect();
    if years.is_empty() {
        return Err(format!(
            "{name}: no year columns (like 2025) after AREA_CODE, AREA_NAME, SEX and AGE_GROUP"
        ));
    }
    let mut problems: Vec<RowProblem> = Vec::new();
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let mut sums: BTreeMap<(String, i32), Sums> = BTreeMap::new();
    let mut has_total: BTreeMap<(String, i32), i64> = BTreeMap::new();
    for r in crate::import::data_rows(grid, &cols) {
        // Only the population, persons: male and female rows would count people twice.
        let component = r.cell("component");
        if !component.trim().is_empty() && !component.trim().eq_ignore_ascii_case("population") {
            continue;
        }
        let sex = r.cell("sex");
        if !sex.trim().is_empty() && !sex.trim().eq_ignore_ascii_case("persons") {
            continue;
        }
        let code = r.cell("area_code").trim().to_string();
        if code.is_empty() {
            problems.push(r.problem(
                "area_code",
                "",
                "is empty: every row needs its area's ONS code",
            ));
            continue;
        }
        names.insert(code.clone(), r.cell("area_name").trim().to_string());
        let group = r.cell("age_group");
        let Ok(age) = age_of(&group) else {
            problems.push(r.problem(
                "age_group",
                &group,
                "is not an age (like 65, or 90 and over) or All ages",
            ));
            continue;
        };
        for (c, y) in &years {
            let v = r.at(*c);
            let t = v.trim();
            let n = match t.parse::<f64>() {
                // Projections are published rounded or to decimals; people are whole.
                Ok(x) if x >= 0.0 && x.is_finite() => x.round() as i64,
                _ => {
                    problems.push(RowProblem::new(
                        r.number,
                        &cols.headers[*c],
                        t,
                        "is not a number of people",
                    ));
                    continue;
                }
            };
            let e = sums.entry((code.clone(), *y)).or_default();
            match age {
                None => {
                    *has_total.entry((code.clone(), *y)).or_default() += n;
                }
                Some(a) => {
                    e[0] += n;
                    if a >= 65 {
                        e[1] += n;
                    }
                    if a >= 75 {
                        e[2] += n;
                    }
                    if a >= 85 {
                        e[3] += n;
                    }
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(crate::import::summarise_problems(name, &problems));
    }
    if sums.is_empty() {
        return Err(format!("{name} has no persons rows"));
    }
    // The file's own "All ages" total wins where it gives one (ages may be cut off above).
    for (k, total) in has_total {
        if let Some(s) = sums.get_mut(&k) {
            s[0] = total;
        }
    }
    let now = state.clock.now();
    let loaded = Loaded {
        areas: names.len(),
        first_year: years.iter().map(|y| y.1).min().unwrap_or(0),
        last_year: years.iter().map(|y| y.1).max().unwrap_or(0),
    };
    let result: Result<()> = async {
        let mut tx = state.db.begin().await?;
        for ((code, year), s) in &sums {
            tx.execute(
                "INSERT INTO population_projections (area_code, area_name, year, all_ages, aged_65_plus, aged_75_plus, aged_85_plus, source, imported_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (area_code, year) DO UPDATE SET area_name = excluded.area_name, all_ages = excluded.all_ages, aged_65_plus = excluded.aged_65_plus, aged_75_plus = excluded.aged_75_plus, aged_85_plus = excluded.aged_85_plus, source = excluded.source, imported_at = excluded.imported_at",
                args![code, names.get(code).map(String::as_str).unwrap_or(""), *year as i64, s[0], s[1], s[2], s[3], name, now],
            )
            .await?;
        }
        audit::entry("population.projections.import", "population_projections", name)
            .after(serde_json::json!({"areas": loaded.areas, "from": loaded.first_year, "to": loaded.last_year}))
            .write(&mut tx, actor, now)
            .await?;
        tx.commit().await?;
        Ok(())
    }
    .await;
    result.map_err(|e| e.to_string())?;
    Ok(loaded)
}

/// A council's projected populations by year (by its name or ONS code).
pub async fn for_council(
    state: &AppState,
    council: &str,
) -> Result<Vec<(i32, caremarket_core::sufficiency::Bands, String)>> {
    let rows: Vec<(i64, i64, i64, i64, String)> = state
        .db
        .q()
        .fetch_all(
            "SELECT year, aged_65_plus, aged_75_plus, aged_85_plus, source FROM population_projections \
             WHERE LOWER(area_name) = LOWER($1) OR area_code = $1 ORDER BY year",
            args![council.trim()],
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|(y, a, b, c, s)| {
            (
                y as i32,
                caremarket_core::sufficiency::Bands::from_cumulative(a, b, c),
                s,
            )
        })
        .collect())
}
