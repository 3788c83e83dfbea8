//! Sufficiency: care home demand against supply by bed type, council and year (the 2017 Leeds care home quality report
//! §3.1.5, the Liverpool City Region care home redesign (Priority 3) P3k). Population comes from ONS mid-year estimates (loaded here), the
//! arithmetic from `caremarket_core::sufficiency`, today's beds from the CQC data split by
//! the providers' own figures where "Capacity and contingency" has them, and planned changes
//! from commissioners.

pub mod compare;
pub mod pages;
pub mod projections;

use caremarket_core::money::parse_hundredths;
use caremarket_core::sufficiency::{Assumptions, Bands, BedKind, SupplyChange};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use std::collections::{BTreeMap, HashMap};

use crate::audit::{self, Actor};
use crate::web::forms::FormErrors;
use crate::{AppState, Result, args};

const POPULATION_COLUMNS: &[crate::import::ColumnSpec] = &[
    crate::import::col("code", &["code", "areacode", "ladcode"], true),
    crate::import::col("name", &["name", "areaname", "ladname"], true),
    crate::import::col("geography", &["geography", "geographytype"], false),
    crate::import::col("all_ages", &["allages"], true),
    crate::import::col("age_65", &["age65"], true),
    crate::import::col("age_66", &["age66"], true),
    crate::import::col("age_67", &["age67"], true),
    crate::import::col("age_68", &["age68"], true),
    crate::import::col("age_69", &["age69"], true),
    crate::import::col("age_70", &["age70"], true),
    crate::import::col("age_71", &["age71"], true),
    crate::import::col("age_72", &["age72"], true),
    crate::import::col("age_73", &["age73"], true),
    crate::import::col("age_74", &["age74"], true),
    crate::import::col("age_75", &["age75"], true),
    crate::import::col("age_76", &["age76"], true),
    crate::import::col("age_77", &["age77"], true),
    crate::import::col("age_78", &["age78"], true),
    crate::import::col("age_79", &["age79"], true),
    crate::import::col("age_80", &["age80"], true),
    crate::import::col("age_81", &["age81"], true),
    crate::import::col("age_82", &["age82"], true),
    crate::import::col("age_83", &["age83"], true),
    crate::import::col("age_84", &["age84"], true),
    crate::import::col("age_85", &["age85"], true),
    crate::import::col("age_86", &["age86"], true),
    crate::import::col("age_87", &["age87"], true),
    crate::import::col("age_88", &["age88"], true),
    crate::import::col("age_89", &["age89"], true),
    crate::import::col("age_90", &["age90"], true),
];

/// What a population load did.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Loaded {
    pub year: i32,
    pub areas: usize,
}

/// The year a file's estimates are for, from its name ("..._mid2020_...", "mid-2021"), when
/// the person loading it did not say.
pub fn year_from_name(name: &str) -> Option<i32> {
    let lower = name.to_lowercase();
    let i = lower.find("mid")?;
    let digits: String = lower[i + 3..]
        .trim_start_matches(['-', '_', ' '])
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits
        .get(..4)
        .and_then(|d| d.parse().ok())
        .filter(|y| (1971..=2100).contains(y))
}

/// A count as ONS files write them ("123784", "123784.0"): whole and not negative.
fn count(v: &str) -> std::result::Result<i64, &'static str> {
    let t = v.trim().replace(',', "");
    let whole = t.strip_suffix(".0").unwrap_or(&t);
    whole
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or("is not a whole number of people")
}

/// Loads an ONS population file of the mid-year estimates' shape (code, name, geography,
/// all_ages, age_0 … age_90 where age_90 is 90 and over), keeping for each area the
/// people aged 65+, 75+ and 85+. All or nothing; loading the same year again replaces it.
pub async fn import_population(
    state: &AppState,
    actor: &Actor,
    name: &str,
    bytes: &[u8],
    year: Option<i32>,
) -> std::result::Result<Loaded, String> {
    let Some(year) = year.or_else(|| year_from_name(name)) else {
        return Err(format!(
            "{name}: say which year the estimates are for (the file name does not, like mid2020)"
        ));
    };
    let grids = crate::import::open(name, bytes).map_err(|e| e.0)?;
    let (g, cols) =
        crate::import::find_header(name, &grids, POPULATION_COLUMNS).map_err(|e| e.0)?;
    let mut problems = Vec::new();
    let mut rows = Vec::new();
    let mut seen = HashMap::new();
    for r in crate::import::data_rows(&grids[g], &cols) {
        let code = r.cell("code").trim().to_string();
        let area = r.cell("name").trim().to_string();
        if code.is_empty() {
            problems.push(r.problem("code", "", "is empty: every area needs its ONS code"));
            continue;
        }
        if let Some(first) = seen.insert(code.clone(), r.number) {
            problems.push(r.problem(
                "code",
                &code,
                &format!("is also on row {first}: an area once a file"),
            ));
            continue;
        }
        let mut ages = [0i64; 26];
        let mut ok = true;
        for (i, a) in ages.iter_mut().enumerate() {
            let key = format!("age_{}", 65 + i);
            let v = r.cell(&key);
            match count(&v) {
                Ok(n) => *a = n,
                Err(why) => {
                    problems.push(r.problem(&key, &v, why));
                    ok = false;
                }
            }
        }
        let all = match count(&r.cell("all_ages")) {
            Ok(n) => n,
            Err(why) => {
                problems.push(r.problem("all_ages", &r.cell("all_ages"), why));
                continue;
            }
        };
        if !ok {
            continue;
        }
        let from = |age: usize| ages[age - 65..].iter().sum::<i64>();
        let (p65, p75, p85) = (from(65), from(75), from(85));
        if p65 > all {
            problems.push(r.problem(
                "all_ages",
                &r.cell("all_ages"),
                &format!("is fewer than the {p65} people aged 65 and over in the same row"),
            ));
            continue;
        }
        rows.push((
            code,
            area,
            r.cell("geography").trim().to_string(),
            all,
            p65,
            p75,
            p85,
        ));
    }
    if !problems.is_empty() {
        return Err(crate::import::summarise_problems(name, &problems));
    }
    if rows.is_empty() {
        return Err(format!("{name} has no areas in it"));
    }
    let now = state.clock.now();
    let n = rows.len();
    let result: Result<()> = async {
        let mut tx = state.db.begin().await?;
        for (code, area, geography, all, p65, p75, p85) in &rows {
            tx.execute(
                "INSERT INTO population (area_code, area_name, geography, year, all_ages, aged_65_plus, aged_75_plus, aged_85_plus, source, imported_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                 ON CONFLICT (area_code, year) DO UPDATE SET area_name = excluded.area_name, geography = excluded.geography, all_ages = excluded.all_ages, aged_65_plus = excluded.aged_65_plus, aged_75_plus = excluded.aged_75_plus, aged_85_plus = excluded.aged_85_plus, source = excluded.source, imported_at = excluded.imported_at",
                args![code, area, geography, year as i64, *all, *p65, *p75, *p85, name, now],
            )
            .await?;
        }
        audit::entry("population.import", "population", name)
            .after(serde_json::json!({"year": year, "areas": n}))
            .write(&mut tx, actor, now)
            .await?;
        tx.commit().await?;
        Ok(())
    }
    .await;
    result.map_err(|e| e.to_string())?;
    Ok(Loaded { year, areas: n })
}

/// One area's estimate.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct Population {
    pub area_code: String,
    pub area_name: String,
    pub geography: String,
    pub year: i64,
    pub all_ages: i64,
    pub aged_65_plus: i64,
    pub aged_75_plus: i64,
    pub aged_85_plus: i64,
    pub source: String,
}

impl Population {
    pub fn bands(&self) -> Bands {
        Bands::from_cumulative(self.aged_65_plus, self.aged_75_plus, self.aged_85_plus)
    }
}

/// The latest estimate for a council, by its name as CQC gives it (CQC uses ONS's names).
pub async fn population_of(state: &AppState, council: &str) -> Result<Option<Population>> {
    Ok(state
        .db
        .q()
        .fetch_optional(
            "SELECT area_code, area_name, geography, year, all_ages, aged_65_plus, aged_75_plus, aged_85_plus, source FROM population \
             WHERE LOWER(area_name) = LOWER($1) OR area_code = $1 ORDER BY year DESC, area_code LIMIT 1",
            args![council.trim()],
        )
        .await?)
}

/// Every area loaded, latest year of each, by name (the population page and API).
pub async fn population_list(state: &AppState) -> Result<Vec<Population>> {
    Ok(state
        .db
        .q()
        .fetch_all(
            "SELECT p.area_code, p.area_name, p.geography, p.year, p.all_ages, p.aged_65_plus, p.aged_75_plus, p.aged_85_plus, p.source FROM population p \
             WHERE p.year = (SELECT MAX(year) FROM population q WHERE q.area_code = p.area_code) ORDER BY p.area_name, p.area_code",
            args![],
        )
        .await?)
}

/// A council's assumptions, with who last changed them (None: the defaults).
pub async fn assumptions(
    state: &AppState,
    council: &str,
) -> Result<(Assumptions, Option<(String, DateTime<Utc>)>)> {
    let row: Option<(String, String, DateTime<Utc>)> = state
        .db
        .q()
        .fetch_optional(
            "SELECT assumptions, updated_by, updated_at FROM sufficiency_assumptions WHERE local_authority = $1",
            args![council],
        )
        .await?;
    Ok(match row {
        // Stored by this code; an unreadable row (from a future version) falls back visibly.
        Some((json, by, at)) => match serde_json::from_str(&json) {
            Ok(a) => (a, Some((by, at))),
            Err(_) => (Assumptions::default(), None),
        },
        None => (Assumptions::default(), None),
    })
}

/// The assumption form's fields: (name, label, value as hundredths, negative allowed).
pub fn assumption_fields(a: &Assumptions) -> Vec<(String, String, i64, bool)> {
    let mut v = Vec::new();
    for k in BedKind::ALL {
        let r = a.rates_for(k);
        for (band, label, val) in [
            ("65_74", "65 to 74", r.aged_65_74),
            ("75_84", "75 to 84", r.aged_75_84),
            ("85_plus", "85 and over", r.aged_85_plus),
        ] {
            v.push((
                format!("rate_{}_{band}", k.key()),
                format!("{}: residents per 1,000 aged {label}", k.label()),
                val,
                false,
            ));
        }
    }
    for k in BedKind::ALL {
        let (adm, weeks) = a.admissions_for(k);
        v.push((
            format!("admissions_{}", k.key()),
            format!("{}: admissions a year per 10,000 aged 65+", k.label()),
            adm,
            false,
        ));
        v.push((
            format!("stay_{}", k.key()),
            format!("{}: average length of stay (weeks)", k.label()),
            weeks * 100,
            false,
        ));
    }
    for (key, label, val) in [
        (
            "growth_65_74",
            "Growth a year, aged 65 to 74 (%)",
            a.growth.aged_65_74_bps,
        ),
        (
            "growth_75_84",
            "Growth a year, aged 75 to 84 (%)",
            a.growth.aged_75_84_bps,
        ),
        (
            "growth_85_plus",
            "Growth a year, aged 85 and over (%)",
            a.growth.aged_85_plus_bps,
        ),
        (
            "admission_change",
            "Change in admissions from community alternatives (%)",
            a.admission_change_bps,
        ),
        (
            "length_of_stay_change",
            "Change in length of stay (%)",
            a.length_of_stay_change_bps,
        ),
    ] {
        v.push((key.to_string(), label.to_string(), val, true));
    }
    v.push((
        "target_occupancy".into(),
        "Target occupancy (%)".into(),
        a.target_occupancy_bps,
        false,
    ));
    v
}

/// Reads the assumption form (every field of [`assumption_fields`]) into assumptions.
pub fn assumptions_from_form(
    get: impl Fn(&str) -> String,
) -> std::result::Result<Assumptions, FormErrors> {
    let mut e = FormErrors::default();
    let mut a = Assumptions::default();
    let fields = assumption_fields(&a);
    let mut vals: HashMap<String, i64> = HashMap::new();
    for (name, label, _, negative_ok) in &fields {
        match parse_hundredths(&get(name), *negative_ok) {
            Ok(v) => {
                vals.insert(name.clone(), v);
            }
            Err(why) => e.add(name, format!("{label} {why}")),
        }
    }
    if !e.is_empty() {
        return Err(e);
    }
    let v = |k: &str| vals.get(k).copied().unwrap_or(0);
    for (k, r) in a.rates.iter_mut() {
        r.aged_65_74 = v(&format!("rate_{}_65_74", k.key()));
        r.aged_75_84 = v(&format!("rate_{}_75_84", k.key()));
        r.aged_85_plus = v(&format!("rate_{}_85_plus", k.key()));
    }
    for (k, adm, weeks) in a.admissions.iter_mut() {
        *adm = v(&format!("admissions_{}", k.key()));
        let w = v(&format!("stay_{}", k.key()));
        if w % 100 != 0 {
            e.add(
                &format!("stay_{}", k.key()),
                format!("{}: give the length of stay in whole weeks", k.label()),
            );
        }
        *weeks = w / 100;
    }
    a.growth.aged_65_74_bps = v("growth_65_74");
    a.growth.aged_75_84_bps = v("growth_75_84");
    a.growth.aged_85_plus_bps = v("growth_85_plus");
    a.admission_change_bps = v("admission_change");
    a.length_of_stay_change_bps = v("length_of_stay_change");
    a.target_occupancy_bps = v("target_occupancy");
    if !(1..=10_000).contains(&a.target_occupancy_bps) {
        e.add(
            "target_occupancy",
            "Target occupancy must be more than 0% and at most 100%",
        );
    }
    for (k, label) in [
        ("admission_change", "Change in admissions"),
        ("length_of_stay_change", "Change in length of stay"),
    ] {
        if v(k) <= -10_000 {
            e.add(k, format!("{label} must be more than -100%"));
        }
    }
    if e.is_empty() { Ok(a) } else { Err(e) }
}

/// Saves a council's assumptions (audited, with the previous ones).
pub async fn save_assumptions(
    state: &AppState,
    actor: &Actor,
    council: &str,
    a: &Assumptions,
) -> Result<()> {
    let (before, _) = assumptions(state, council).await?;
    let now = state.clock.now();
    let json = serde_json::to_string(a).map_err(|e| crate::AppError::Internal(e.into()))?;
    let mut tx = state.db.begin().await?;
    tx.execute(
        "INSERT INTO sufficiency_assumptions (local_authority, assumptions, updated_by, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (local_authority) DO UPDATE SET assumptions = excluded.assumptions, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        args![council, &json, &actor.name, now],
    )
    .await?;
    audit::entry("sufficiency.assumptions", "council", council)
        .before(serde_json::to_value(&before).unwrap_or_default())
        .after(serde_json::to_value(a).unwrap_or_default())
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// A planned opening or known closure, as stored.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct Change {
    pub id: i64,
    pub local_authority: String,
    pub bed_type: String,
    /// Positive: beds opening; negative: beds closing
    pub beds: i64,
    pub effective_date: NaiveDate,
    pub description: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

pub async fn changes(state: &AppState, council: &str) -> Result<Vec<Change>> {
    Ok(state
        .db
        .q()
        .fetch_all(
            "SELECT * FROM supply_changes WHERE local_authority = $1 ORDER BY effective_date, id",
            args![council],
        )
        .await?)
}

/// Adds a planned change from the form's text; field errors when it does not make sense.
pub async fn add_change(
    state: &AppState,
    actor: &Actor,
    council: &str,
    bed_type: &str,
    beds: &str,
    date: &str,
    description: &str,
) -> Result<std::result::Result<i64, FormErrors>> {
    let mut e = FormErrors::default();
    if BedKind::from_key(bed_type).is_none() {
        e.add("bed_type", "Select the type of beds");
    }
    let n = match beds.trim().parse::<i64>() {
        Ok(0) => {
            e.add(
                "beds",
                "Enter the beds opening (like 60) or closing (like -25), not 0",
            );
            0
        }
        Ok(n) if n.abs() <= 10_000 => n,
        _ => {
            e.add(
                "beds",
                "Enter a whole number of beds: opening like 60, closing like -25",
            );
            0
        }
    };
    let d = match caremarket_core::cqc::parse_date(date, false) {
        Ok(d) => Some(d),
        Err(_) => {
            e.add(
                "effective_date",
                "Enter the date it happens, like 01/04/2027",
            );
            None
        }
    };
    let description = description.trim();
    if description.is_empty() || description.chars().count() > 200 {
        e.add(
            "description",
            "Say what it is, up to 200 characters, like: New 60-bed nursing home, Seacroft",
        );
    }
    let (Some(d), true) = (d, e.is_empty()) else {
        return Ok(Err(e));
    };
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let id: i64 = tx
        .scalar(
            "INSERT INTO supply_changes (local_authority, bed_type, beds, effective_date, description, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            args![council, bed_type, n, d, description, &actor.name, now],
        )
        .await?;
    audit::entry("sufficiency.change.create", "supply_change", id.to_string())
        .after(serde_json::json!({"council": council, "bed_type": bed_type, "beds": n, "effective_date": d, "description": description}))
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    Ok(Ok(id))
}

pub async fn remove_change(state: &AppState, actor: &Actor, id: i64) -> Result<()> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let before: Option<Change> = tx
        .fetch_optional("SELECT * FROM supply_changes WHERE id = $1", args![id])
        .await?;
    let Some(before) = before else {
        return Err(crate::AppError::NotFound);
    };
    tx.execute("DELETE FROM supply_changes WHERE id = $1", args![id])
        .await?;
    audit::entry("sufficiency.change.delete", "supply_change", id.to_string())
        .before(serde_json::to_value(&before).unwrap_or_default())
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Today's beds in a council's care homes by type, and where the split came from.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct Supply {
    /// Beds by bed type key
    pub beds: BTreeMap<String, i64>,
    /// Beds on the at-risk register (serving notice, closing or closed), by bed type key
    pub at_risk: BTreeMap<String, i64>,
    pub homes: i64,
    /// Homes whose beds are split by their provider's own figures
    pub homes_from_provider_figures: i64,
    /// Homes whose CQC bed count is given to one type by the stated rule
    pub homes_by_rule: i64,
    /// Homes with no bed count in the CQC data loaded (the ratings file has none; the API
    /// records and the care directory do)
    pub homes_without_beds: i64,
}

#[derive(sqlx::FromRow)]
struct HomeBeds {
    location_id: String,
    beds: Option<i64>,
}

/// Today's beds for a council: each registered care home's provider-kept capacity by bed type
/// where it has any for the four long-term types, else its CQC bed count given to one type by
/// [`BedKind::of_home`]. Beds of homes on the at-risk register as serving notice, closing or
/// closed are also counted apart, to be taken off.
pub async fn supply_now(state: &AppState, council: &str) -> Result<Supply> {
    let homes: Vec<HomeBeds> = state
        .db
        .q()
        .fetch_all(
            "SELECT location_id, beds FROM cqc_locations WHERE care_home = $1 AND deregistration_date IS NULL AND LOWER(local_authority) = LOWER($2)",
            args![true, council],
        )
        .await?;
    let services: Vec<(String, String, String)> = state
        .db
        .q()
        .fetch_all(
            "SELECT s.location_id, s.kind, s.value FROM cqc_location_services s JOIN cqc_locations l ON l.location_id = s.location_id \
             WHERE l.care_home = $1 AND l.deregistration_date IS NULL AND LOWER(l.local_authority) = LOWER($2) AND s.kind IN ('service_type', 'specialism')",
            args![true, council],
        )
        .await?;
    let figures: Vec<(String, String, i64)> = state
        .db
        .q()
        .fetch_all(
            "SELECT f.location_id, f.bed_type, f.capacity FROM capacity_figures f JOIN cqc_locations l ON l.location_id = f.location_id \
             WHERE l.care_home = $1 AND l.deregistration_date IS NULL AND LOWER(l.local_authority) = LOWER($2)",
            args![true, council],
        )
        .await?;
    let risky: Vec<(String,)> = state
        .db
        .q()
        .fetch_all(
            "SELECT l.location_id FROM at_risk r JOIN cqc_locations l ON l.location_id = r.location_id OR (r.location_id IS NULL AND l.provider_id = r.provider_id) \
             WHERE r.removed_at IS NULL AND r.status IN ('serving_notice', 'closing', 'closed') AND l.care_home = $1 AND LOWER(l.local_authority) = LOWER($2)",
            args![true, council],
        )
        .await?;
    let risky: std::collections::HashSet<String> = risky.into_iter().map(|r| r.0).collect();
    let mut types: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut specs: HashMap<&str, Vec<&str>> = HashMap::new();
    for (id, kind, value) in &services {
        let m = if kind == "service_type" {
            &mut types
        } else {
            &mut specs
        };
        m.entry(id.as_str()).or_default().push(value.as_str());
    }
    let mut kept: HashMap<&str, Vec<(BedKind, i64)>> = HashMap::new();
    for (id, bt, cap) in &figures {
        if let Some(k) = BedKind::from_key(bt) {
            kept.entry(id.as_str()).or_default().push((k, *cap));
        }
    }
    let mut s = Supply::default();
    for k in BedKind::ALL {
        s.beds.insert(k.key().into(), 0);
        s.at_risk.insert(k.key().into(), 0);
    }
    for h in &homes {
        s.homes += 1;
        let split: Vec<(BedKind, i64)> = match kept.get(h.location_id.as_str()) {
            Some(v) if v.iter().any(|(_, c)| *c > 0) => {
                s.homes_from_provider_figures += 1;
                v.clone()
            }
            _ => match h.beds {
                Some(b) if b > 0 => {
                    s.homes_by_rule += 1;
                    let none = Vec::new();
                    let kind = BedKind::of_home(
                        types.get(h.location_id.as_str()).unwrap_or(&none),
                        specs.get(h.location_id.as_str()).unwrap_or(&none),
                    );
                    vec![(kind, b)]
                }
                _ => {
                    s.homes_without_beds += 1;
                    vec![]
                }
            },
        };
        for (k, n) in split {
            *s.beds.entry(k.key().into()).or_default() += n;
            if risky.contains(&h.location_id) {
                *s.at_risk.entry(k.key().into()).or_default() += n;
            }
        }
    }
    Ok(s)
}

/// Scales each bed type's stock rates so that today's population gives the residents the
/// placements register implies: the register's open placements (council- and NHS-funded)
/// over the share of residents they are (the rest fund themselves). Bed types with no
/// placements keep their rates. Saved and audited like any change to the assumptions.
pub async fn rates_from_register(
    state: &AppState,
    actor: &Actor,
    council: &str,
    funded_share: &str,
) -> Result<std::result::Result<Vec<(BedKind, i64)>, FormErrors>> {
    let mut e = FormErrors::default();
    let share = match parse_hundredths(funded_share, false) {
        Ok(v) if (1..=10_000).contains(&v) => v,
        _ => {
            e.add(
                "funded_share",
                "Enter the share of care home residents the council and NHS fund, like 55",
            );
            return Ok(Err(e));
        }
    };
    let Some(pop) = population_of(state, council).await? else {
        e.add(
            "funded_share",
            format!("Load population estimates for {council} first"),
        );
        return Ok(Err(e));
    };
    let counts = compare::register(state, council).await?;
    if counts.is_empty() {
        e.add(
            "funded_share",
            format!("The placements register has no open placements in {council}'s homes"),
        );
        return Ok(Err(e));
    }
    let (mut a, _) = assumptions(state, council).await?;
    let this_year = state.clock.now().year();
    let projected: Vec<(i32, Bands)> = projections::for_council(state, council)
        .await?
        .into_iter()
        .map(|(y, b, _)| (y, b))
        .collect();
    let bands = caremarket_core::sufficiency::population_at(
        pop.bands(),
        pop.year as i32,
        &projected,
        this_year,
        a.growth,
    );
    let mut done = Vec::new();
    for (k, r) in a.rates.iter_mut() {
        let Some(n) = counts.get(k.key()) else {
            continue;
        };
        // residents = placements ÷ share, rounded half up
        let target = (n * 10_000 * 2 + share) / (2 * share);
        *r = caremarket_core::sufficiency::scale_rates(bands, *r, target);
        done.push((*k, target));
    }
    save_assumptions(state, actor, council, &a).await?;
    Ok(Ok(done))
}

/// Everything the sufficiency page shows for one council.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Sufficiency {
    pub council: String,
    #[schema(value_type = Object)]
    pub population: Option<Population>,
    pub supply: Supply,
    #[schema(value_type = Object)]
    pub assumptions: Assumptions,
    pub changes: Vec<Change>,
    /// The years an imported ONS projection covers and its file, when there is one
    pub projections_used: Option<String>,
    pub from_year: i32,
    pub to_year: i32,
    /// Year × bed type: demand (stock and flow methods), supply and gap
    #[schema(value_type = Vec<Object>)]
    pub rows: Vec<caremarket_core::sufficiency::Row>,
}

/// The projection for a council from this year to `to_year`; no rows without a population.
pub async fn sufficiency(state: &AppState, council: &str, to_year: i32) -> Result<Sufficiency> {
    let population = population_of(state, council).await?;
    let supply = supply_now(state, council).await?;
    let (assumptions, _) = assumptions(state, council).await?;
    let changes = changes(state, council).await?;
    let projected = projections::for_council(state, council).await?;
    let projections_used = match (projected.first(), projected.last()) {
        (Some(f), Some(l)) => Some(format!("{} to {} from {}", f.0, l.0, l.2)),
        _ => None,
    };
    let from_year = state.clock.now().year();
    let to_year = to_year.clamp(from_year, from_year + 30);
    let rows = match &population {
        Some(p) => {
            let base = caremarket_core::sufficiency::Base {
                population: p.bands(),
                population_year: p.year as i32,
                projected: projected.iter().map(|(y, b, _)| (*y, *b)).collect(),
                beds: BedKind::ALL
                    .iter()
                    .map(|k| (*k, supply.beds.get(k.key()).copied().unwrap_or(0)))
                    .collect(),
                at_risk: BedKind::ALL
                    .iter()
                    .map(|k| (*k, supply.at_risk.get(k.key()).copied().unwrap_or(0)))
                    .collect(),
                changes: changes
                    .iter()
                    .filter_map(|c| {
                        Some(SupplyChange {
                            kind: BedKind::from_key(&c.bed_type)?,
                            beds: c.beds,
                            from_year: c.effective_date.year(),
                        })
                    })
                    .collect(),
            };
            caremarket_core::sufficiency::projection(&base, &assumptions, from_year, to_year)
        }
        None => vec![],
    };
    Ok(Sufficiency {
        council: council.to_string(),
        population,
        supply,
        assumptions,
        changes,
        projections_used,
        from_year,
        to_year,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn year_from_ons_file_names() {
        assert_eq!(
            year_from_name("ons_mid2020_population_single_year_of_age_uk_areas.csv"),
            Some(2020)
        );
        assert_eq!(year_from_name("MYE2-mid-2021.csv"), Some(2021));
        assert_eq!(year_from_name("population.csv"), None);
    }
}

/// Every route of this capability, pages and JSON API, each with its access rule.
pub fn routes() -> Vec<crate::web::RouteDef> {
    let mut v = Vec::new();
    v.extend(pages::routes());
    v
}

/// This capability's part of the OpenAPI document (src/api puts the parts together).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(pages::api_sufficiency, pages::api_population),
    tags((name = "sufficiency", description = "Care home demand against supply by bed type, council and year; population estimates"))
)]
pub struct ApiDoc;
