//! Capacity and contingency: care home vacancies kept by providers, found by brokers.
//!
//! Each home's figures (per bed type) carry one version. A save names the version it started
//! from; if someone else saved in between, the save is refused and the other's figures are
//! shown (optimistic concurrency), so two people never silently overwrite each other.

pub mod at_risk;
pub mod at_risk_pages;
pub mod bed_type_pages;
pub mod contingency;
pub mod dashboard;
pub mod dashboard_pages;
pub mod exchange;
pub mod home_pages;
pub mod placement_pages;
pub mod placements;
pub mod postcodes;
pub mod return_pages;
pub mod returns;
pub mod search_pages;

use caremarket_core::capacity::{
    BedFigures, Freshness, centre, check_figures, check_registered, freshness, haversine_km,
};
use caremarket_core::cqc::Rating;
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::audit::{self, Actor};
use crate::web::forms::FormErrors;
use crate::{AppError, AppState, Result, args};

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct BedType {
    pub key: String,
    pub label: String,
    pub position: i64,
    pub active: bool,
}

/// The default bed types, put in place the first time a database is used (a settings flag, so
/// a council that retires one does not get it back; and a fresh copy target stays empty).
pub async fn seed_defaults(db: &crate::db::Db) -> anyhow::Result<()> {
    if crate::admin::settings::seeded(db, "bed_types_seeded").await? {
        return Ok(());
    }
    let mut tx = db.begin().await?;
    for (i, (key, label)) in [
        ("residential", "Residential"),
        ("nursing", "Nursing"),
        ("dementia_residential", "Dementia residential"),
        ("dementia_nursing", "Dementia nursing"),
        ("respite", "Respite"),
    ]
    .iter()
    .enumerate()
    {
        tx.execute(
            "INSERT INTO bed_types (key, label, position, active) VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO NOTHING",
            args![*key, *label, i as i64 + 1, true],
        )
        .await?;
    }
    crate::admin::settings::mark_seeded(&mut tx, "bed_types_seeded").await?;
    tx.commit().await?;
    Ok(())
}

/// The active bed types as last read, and when. Every vacancies read and save needs them, and
/// they change perhaps once a year: kept in memory, dropped when this process changes them, and
/// re-read after `BED_TYPES_FRESH` in case another process (a second server) did.
#[derive(Clone, Default)]
pub struct BedTypeCache(Arc<Mutex<Option<ReadAt>>>);

/// Bed types and when they were read.
type ReadAt = (Instant, Arc<Vec<BedType>>);

const BED_TYPES_FRESH: Duration = Duration::from_secs(10);

impl BedTypeCache {
    fn forget(&self) {
        *self.0.lock().expect("bed types lock") = None;
    }
}

/// The active bed types, in form order.
pub async fn bed_types(state: &AppState) -> Result<Arc<Vec<BedType>>> {
    if let Some((at, types)) = state.bed_types.0.lock().expect("bed types lock").as_ref()
        && at.elapsed() < BED_TYPES_FRESH
    {
        return Ok(types.clone());
    }
    let types: Arc<Vec<BedType>> = Arc::new(
        state
            .db
            .q()
            .fetch_all(
                "SELECT * FROM bed_types WHERE active = $1 ORDER BY position, key",
                args![true],
            )
            .await?,
    );
    *state.bed_types.0.lock().expect("bed types lock") = Some((Instant::now(), types.clone()));
    Ok(types)
}

#[derive(Debug, Clone)]
struct FigureDb {
    bed_type: String,
    capacity: i64,
    occupied: i64,
    vacant: i64,
    reserved: i64,
    closed: i64,
    closed_reason: String,
    closed_since: Option<NaiveDate>,
    updated_by: String,
    updated_at: DateTime<Utc>,
}

/// One bed type's figures at a home, with who last changed them and when.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct FigureRow {
    pub bed_type: String,
    pub label: String,
    #[schema(value_type = Object)]
    pub figures: BedFigures,
    pub closed_reason: String,
    pub closed_since: Option<NaiveDate>,
    pub updated_by: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
    /// fresh, amber (older than 7 days) or red (older than 14), by default
    #[schema(value_type = String)]
    pub freshness: Option<Freshness>,
}

/// A care home's capacity as its provider keeps it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Home {
    pub location_id: String,
    pub name: String,
    pub provider_id: Option<String>,
    pub postcode: Option<String>,
    /// Beds CQC registers the home for
    pub registered_beds: Option<i64>,
    /// 0 before the first save
    pub version: i64,
    pub over_registered_reason: String,
    /// Every active bed type, with figures where the home has them
    pub rows: Vec<FigureRow>,
}

#[derive(sqlx::FromRow)]
struct HomeDb {
    location_id: String,
    name: String,
    provider_id: Option<String>,
    postcode: Option<String>,
    beds: Option<i64>,
    care_home: Option<bool>,
    version: Option<i64>,
    over_registered_reason: Option<String>,
}

fn age_days(now: DateTime<Utc>, at: DateTime<Utc>) -> i64 {
    (now - at).num_days()
}

/// A home's row joined with one of its figure rows (none before the first save).
#[derive(sqlx::FromRow)]
struct HomeFigureDb {
    #[sqlx(flatten)]
    home: HomeDb,
    bed_type: Option<String>,
    capacity: Option<i64>,
    occupied: Option<i64>,
    vacant: Option<i64>,
    reserved: Option<i64>,
    closed: Option<i64>,
    closed_reason: Option<String>,
    closed_since: Option<NaiveDate>,
    updated_by: Option<String>,
    updated_at: Option<DateTime<Utc>>,
}

/// A home with its figures, or None when it is not a care home in the CQC data.
pub async fn home(state: &AppState, location_id: &str) -> Result<Option<Home>> {
    // One read for the home, its version (a save is checked against it) and its figures: the
    // vacancies API reads a home before every save, so round trips count.
    let joined: Vec<HomeFigureDb> = state
        .db
        .q()
        .fetch_all(
            "SELECT l.location_id, l.name, l.provider_id, l.postcode, l.beds, l.care_home, h.version, h.over_registered_reason, \
             f.bed_type, f.capacity, f.occupied, f.vacant, f.reserved, f.closed, f.closed_reason, f.closed_since, f.updated_by, f.updated_at \
             FROM cqc_locations l LEFT JOIN capacity_homes h ON h.location_id = l.location_id \
             LEFT JOIN capacity_figures f ON f.location_id = l.location_id WHERE l.location_id = $1",
            args![location_id],
        )
        .await?;
    let figures: Vec<FigureDb> = joined
        .iter()
        .filter_map(|j| {
            Some(FigureDb {
                bed_type: j.bed_type.clone()?,
                capacity: j.capacity?,
                occupied: j.occupied?,
                vacant: j.vacant?,
                reserved: j.reserved?,
                closed: j.closed?,
                closed_reason: j.closed_reason.clone().unwrap_or_default(),
                closed_since: j.closed_since,
                updated_by: j.updated_by.clone().unwrap_or_default(),
                updated_at: j.updated_at?,
            })
        })
        .collect();
    let Some(h) = joined
        .into_iter()
        .next()
        .map(|j| j.home)
        .filter(|h| h.care_home == Some(true))
    else {
        return Ok(None);
    };
    let types = bed_types(state).await?;
    let s = state.settings();
    let now = state.clock.now();
    let rows = types
        .iter()
        .map(|t| {
            let f = figures.iter().find(|f| f.bed_type == t.key);
            FigureRow {
                bed_type: t.key.clone(),
                label: t.label.clone(),
                figures: f
                    .map(|f| BedFigures {
                        capacity: f.capacity,
                        occupied: f.occupied,
                        vacant: f.vacant,
                        reserved: f.reserved,
                        closed: f.closed,
                    })
                    .unwrap_or_default(),
                closed_reason: f.map(|f| f.closed_reason.clone()).unwrap_or_default(),
                closed_since: f.and_then(|f| f.closed_since),
                updated_by: f.map(|f| f.updated_by.clone()),
                updated_at: f.map(|f| f.updated_at),
                freshness: f.map(|f| {
                    freshness(
                        age_days(now, f.updated_at),
                        s.vacancy_amber_days,
                        s.vacancy_red_days,
                    )
                }),
            }
        })
        .collect();
    let (version, over_registered_reason) = (
        h.version.unwrap_or(0),
        h.over_registered_reason.clone().unwrap_or_default(),
    );
    Ok(Some(Home {
        location_id: h.location_id,
        name: h.name,
        provider_id: h.provider_id,
        postcode: h.postcode,
        registered_beds: h.beds,
        version,
        over_registered_reason,
        rows,
    }))
}

/// The care homes of one provider (a provider user's homes), by name.
pub async fn provider_homes(state: &AppState, provider_id: &str) -> Result<Vec<Home>> {
    let ids = crate::cqc::queries::provider_care_homes(&state.db, provider_id).await?;
    let mut out = Vec::new();
    for (id, _) in ids {
        if let Some(h) = home(state, &id).await? {
            out.push(h);
        }
    }
    Ok(out)
}

/// What a save gives for one bed type.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct FigureInput {
    pub bed_type: String,
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub figures: BedFigures,
    #[serde(default)]
    pub closed_reason: String,
    /// YYYY-MM-DD; default: today, when beds are first closed
    #[serde(default)]
    pub closed_since: Option<NaiveDate>,
}

/// Why a save did not happen.
#[derive(Debug)]
pub enum Refused {
    /// What to fix, by field ("{bed_type}-{field}" or "over_registered").
    Invalid(FormErrors),
    /// Someone else saved first: their figures, as they now stand.
    Conflict(Box<Home>),
}

/// What is wrong with a save of these figures for this home, by field
/// ("{bed type}-{field}", "over_registered" or "bed_type"); empty when nothing is.
pub fn check(current: &Home, input: &[FigureInput], over_registered_reason: &str) -> FormErrors {
    let mut e = FormErrors::default();
    let labels: HashMap<&str, &str> = current
        .rows
        .iter()
        .map(|r| (r.bed_type.as_str(), r.label.as_str()))
        .collect();
    for f in input {
        let Some(label) = labels.get(f.bed_type.as_str()) else {
            e.add("bed_type", format!("{:?} is not a bed type", f.bed_type));
            continue;
        };
        for p in check_figures(label, &f.figures, &f.closed_reason) {
            e.add(&format!("{}-{}", f.bed_type, p.field), p.message);
        }
    }
    // The home's capacity after the save: given bed types replace, others stay.
    let total: i64 = current
        .rows
        .iter()
        .map(|r| {
            input
                .iter()
                .find(|f| f.bed_type == r.bed_type)
                .map(|f| f.figures.capacity)
                .unwrap_or(r.figures.capacity)
        })
        .sum();
    if let Some(p) = check_registered(total, current.registered_beds, over_registered_reason) {
        e.add(p.field, p.message);
    }
    e
}

/// Saves a home's figures if `expected_version` is still the home's version; every bed type
/// given is replaced, those not given are left as they are.
///
/// `current` is the home as the caller has just read it (to check who may keep it): it is not
/// read again, because the version check in the same transaction refuses a save that raced
/// another.
pub async fn save(
    state: &AppState,
    actor: &Actor,
    current: &Home,
    expected_version: i64,
    input: &[FigureInput],
    over_registered_reason: &str,
) -> Result<std::result::Result<i64, Refused>> {
    let location_id = current.location_id.as_str();
    let e = check(current, input, over_registered_reason);
    if !e.is_empty() {
        return Ok(Err(Refused::Invalid(e)));
    }
    let mut tx = state.db.begin().await?;
    let now = state.clock.now();
    match apply(
        &mut tx,
        actor,
        now,
        current,
        expected_version,
        input,
        over_registered_reason,
    )
    .await?
    {
        Some(v) => {
            tx.commit().await?;
            Ok(Ok(v))
        }
        None => {
            drop(tx);
            let now_is = home(state, location_id).await?.ok_or(AppError::NotFound)?;
            Ok(Err(Refused::Conflict(Box::new(now_is))))
        }
    }
}

/// Writes checked figures inside the caller's transaction: the new version, or None when
/// the home's version is no longer `expected_version` (someone else saved first).
pub(crate) async fn apply(
    tx: &mut crate::db::Tx,
    actor: &Actor,
    now: DateTime<Utc>,
    current: &Home,
    expected_version: i64,
    input: &[FigureInput],
    over_registered_reason: &str,
) -> Result<Option<i64>> {
    let location_id = current.location_id.as_str();
    let today = now.date_naive();
    let new_version = expected_version + 1;
    let moved = if expected_version == 0 {
        tx.execute(
            "INSERT INTO capacity_homes (location_id, version, over_registered_reason, updated_by, updated_at) VALUES ($1, 1, $2, $3, $4) ON CONFLICT (location_id) DO NOTHING",
            args![location_id, over_registered_reason.trim(), &actor.name, now],
        )
        .await?
    } else {
        tx.execute(
            "UPDATE capacity_homes SET version = $1, over_registered_reason = $2, updated_by = $3, updated_at = $4 WHERE location_id = $5 AND version = $6",
            args![new_version, over_registered_reason.trim(), &actor.name, now, location_id, expected_version],
        )
        .await?
    };
    if moved != 1 {
        return Ok(None);
    }
    for f in input {
        let before = current.rows.iter().find(|r| r.bed_type == f.bed_type);
        // Only figures that changed get a new "updated by and when".
        let unchanged = before.is_some_and(|b| {
            b.updated_at.is_some()
                && b.figures == f.figures
                && b.closed_reason == f.closed_reason.trim()
        });
        if unchanged {
            continue;
        }
        let since = if f.figures.closed > 0 {
            f.closed_since
                .or(before.and_then(|b| b.closed_since))
                .or(Some(today))
        } else {
            None
        };
        tx.execute(
            "INSERT INTO capacity_figures (location_id, bed_type, capacity, occupied, vacant, reserved, closed, closed_reason, closed_since, updated_by, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (location_id, bed_type) DO UPDATE SET capacity = excluded.capacity, occupied = excluded.occupied, vacant = excluded.vacant, reserved = excluded.reserved, closed = excluded.closed, closed_reason = excluded.closed_reason, closed_since = excluded.closed_since, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
            args![
                location_id,
                &f.bed_type,
                f.figures.capacity,
                f.figures.occupied,
                f.figures.vacant,
                f.figures.reserved,
                f.figures.closed,
                f.closed_reason.trim(),
                since,
                &actor.name,
                now
            ],
        )
        .await?;
    }
    let figures = serde_json::json!(
        input
            .iter()
            .map(|f| serde_json::json!({"bed_type": f.bed_type, "capacity": f.figures.capacity, "occupied": f.figures.occupied, "vacant": f.figures.vacant, "reserved": f.figures.reserved, "closed": f.figures.closed}))
            .collect::<Vec<_>>()
    );
    tx.execute(
        "INSERT INTO capacity_updates (location_id, version, figures, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5)",
        args![location_id, new_version, figures.to_string(), &actor.name, now],
    )
    .await?;
    audit::entry("vacancies.update", "care_home", location_id)
        .before(serde_json::json!({"version": expected_version}))
        .after(serde_json::json!({"version": new_version, "figures": figures}))
        .write(tx, actor, now)
        .await?;
    Ok(Some(new_version))
}

/// What a broker asks for.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct SearchQuery {
    /// A bed type key (residential, nursing, dementia_residential, dementia_nursing, respite)
    pub bed_type: Option<String>,
    /// Only homes with a bed of the type vacant and accepting admissions now (default yes)
    pub accepting: Option<String>,
    /// Postcode district to measure distance from, like PL6
    pub district: Option<String>,
    /// Furthest distance in km (with a district)
    pub within_km: Option<f64>,
    /// Lowest CQC overall rating: outstanding, good, requires_improvement
    pub min_rating: Option<String>,
    /// A CQC specialism the home must have, like Dementia
    pub specialism: Option<String>,
    /// Only homes in this council (as CQC names it)
    pub area: Option<String>,
    /// csv for a download
    pub format: Option<String>,
}

/// One home found.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Hit {
    pub location_id: String,
    pub name: String,
    pub postcode: Option<String>,
    pub local_authority: Option<String>,
    pub rating: Option<String>,
    /// From the district's centre, in km; None without a district or a home's coordinates
    pub distance_km: Option<f64>,
    pub bed_type: String,
    pub vacant: i64,
    pub reserved: i64,
    pub capacity: i64,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
    #[schema(value_type = String)]
    pub freshness: Freshness,
}

/// The centre of a postcode district: from an imported ONS postcode directory where there
/// is one, else from the CQC latitude and longitude of the locations in it. None when
/// neither knows the district.
pub async fn district_centre(state: &AppState, district: &str) -> Result<Option<(f64, f64)>> {
    let ons: Option<(f64, f64)> = state
        .db
        .q()
        .fetch_optional(
            "SELECT latitude, longitude FROM postcode_districts WHERE district = $1",
            args![district.trim().to_uppercase()],
        )
        .await?;
    if ons.is_some() {
        return Ok(ons);
    }
    let pts: Vec<(f64, f64)> = state
        .db
        .q()
        .fetch_all(
            "SELECT latitude, longitude FROM cqc_locations WHERE postcode_district = $1 AND latitude IS NOT NULL AND longitude IS NOT NULL",
            args![district.trim().to_uppercase()],
        )
        .await?;
    Ok(centre(&pts))
}

fn rating_rank(r: &str) -> Option<u8> {
    match Rating::parse(r)? {
        Rating::Outstanding => Some(0),
        Rating::Good => Some(1),
        Rating::RequiresImprovement => Some(2),
        Rating::Inadequate => Some(3),
        _ => None,
    }
}

#[derive(sqlx::FromRow)]
struct HitDb {
    location_id: String,
    name: String,
    postcode: Option<String>,
    local_authority: Option<String>,
    overall_rating: Option<String>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    bed_type: String,
    vacant: i64,
    reserved: i64,
    capacity: i64,
    updated_at: DateTime<Utc>,
    updated_by: String,
}

/// Homes with beds of the type, nearest first (then by name); homes without coordinates
/// come last when measuring from a district.
pub async fn search(state: &AppState, q: &SearchQuery) -> Result<(Vec<Hit>, Option<String>)> {
    let bed_type = q.bed_type.clone().filter(|b| !b.is_empty());
    if let Some(b) = &bed_type
        && !bed_types(state).await?.iter().any(|t| &t.key == b)
    {
        return Err(AppError::BadRequest(format!("unknown bed type {b:?}")));
    }
    let accepting = q.accepting.as_deref() != Some("no");
    let min_rank = match q.min_rating.as_deref().filter(|r| !r.is_empty()) {
        None => None,
        Some(r) => Some(rating_rank(r).ok_or_else(|| {
            AppError::BadRequest(format!(
                "min_rating must be outstanding, good or requires_improvement, not {r:?}"
            ))
        })?),
    };
    let mut note = None;
    let from = match q
        .district
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        None => None,
        Some(d) => {
            let c = district_centre(state, d).await?;
            if c.is_none() {
                note = Some(format!(
                    "No CQC location with coordinates is in {}: distances cannot be given.",
                    d.to_uppercase()
                ));
            }
            c
        }
    };
    let rows: Vec<HitDb> = state
        .db
        .q()
        .fetch_all(
            &format!("SELECT l.location_id, l.name, l.postcode, l.local_authority, l.overall_rating, l.latitude, l.longitude, f.bed_type, f.vacant, f.reserved, f.capacity, f.updated_at, f.updated_by \
             FROM capacity_figures f JOIN cqc_locations l ON l.location_id = f.location_id \
             WHERE ($1 = '' OR f.bed_type = $1) AND ($2 = '' OR l.local_authority = $2) \
             AND {} AND COALESCE(l.dormant, FALSE) = FALSE", crate::cqc::summary::registered_at("$3")),
            // Homes able to take people: a deregistered or dormant registration never is,
            // whatever vacancies it last reported.
            args![
                bed_type.clone().unwrap_or_default(),
                q.area.clone().unwrap_or_default(),
                state.clock.now().date_naive()
            ],
        )
        .await?;
    let specialists: Option<std::collections::HashSet<String>> = match q
        .specialism
        .as_deref()
        .filter(|s| !s.trim().is_empty())
    {
        None => None,
        Some(s) => {
            let ids: Vec<(String,)> = state
                    .db
                    .q()
                    .fetch_all(
                        "SELECT location_id FROM cqc_location_services WHERE kind = 'specialism' AND LOWER(value) LIKE $1",
                        args![format!("%{}%", s.trim().to_lowercase())],
                    )
                    .await?;
            Some(ids.into_iter().map(|r| r.0).collect())
        }
    };
    let s = state.settings();
    let now = state.clock.now();
    let mut hits: Vec<Hit> = rows
        .into_iter()
        .filter(|r| !accepting || r.vacant > 0)
        .filter(|r| {
            min_rank.is_none_or(|m| {
                r.overall_rating
                    .as_deref()
                    .and_then(rating_rank)
                    .is_some_and(|x| x <= m)
            })
        })
        .filter(|r| {
            specialists
                .as_ref()
                .is_none_or(|s| s.contains(&r.location_id))
        })
        .map(|r| {
            let distance_km = match (from, r.latitude, r.longitude) {
                (Some((la, lo)), Some(a), Some(b)) => Some(haversine_km(la, lo, a, b)),
                _ => None,
            };
            Hit {
                freshness: freshness(
                    age_days(now, r.updated_at),
                    s.vacancy_amber_days,
                    s.vacancy_red_days,
                ),
                location_id: r.location_id,
                name: r.name,
                postcode: r.postcode,
                local_authority: r.local_authority,
                rating: r.overall_rating,
                distance_km,
                bed_type: r.bed_type,
                vacant: r.vacant,
                reserved: r.reserved,
                capacity: r.capacity,
                updated_at: r.updated_at,
                updated_by: r.updated_by,
            }
        })
        .filter(|h| {
            q.within_km
                .is_none_or(|k| h.distance_km.is_some_and(|d| d <= k))
        })
        .collect();
    hits.sort_by(|a, b| {
        let key = |h: &Hit| h.distance_km.unwrap_or(f64::INFINITY);
        key(a)
            .total_cmp(&key(b))
            .then(a.name.cmp(&b.name))
            .then(a.bed_type.cmp(&b.bed_type))
    });
    Ok((hits, note))
}

/// Adds a bed type (admin): a key from its label, placed last.
pub async fn add_bed_type(
    state: &AppState,
    actor: &Actor,
    label: &str,
) -> Result<std::result::Result<String, FormErrors>> {
    let label = label.trim();
    let key: String = label
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect::<String>()
        .split('_')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("_");
    let mut e = FormErrors::default();
    if key.is_empty() || label.chars().count() > 40 {
        e.add(
            "label",
            "Enter the bed type's name, up to 40 characters, like Bariatric",
        );
    } else {
        let clash: i64 = state
            .db
            .q()
            .scalar(
                "SELECT COUNT(*) FROM bed_types WHERE key = $1 OR LOWER(label) = LOWER($2)",
                args![&key, label],
            )
            .await?;
        if clash > 0 {
            e.add(
                "label",
                format!("There is already a bed type called {label}"),
            );
        }
    }
    if !e.is_empty() {
        return Ok(Err(e));
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let pos: i64 = tx
        .scalar(
            "SELECT COALESCE(MAX(position), 0) + 1 FROM bed_types",
            args![],
        )
        .await?;
    tx.execute(
        "INSERT INTO bed_types (key, label, position, active) VALUES ($1, $2, $3, $4)",
        args![&key, label, pos, true],
    )
    .await?;
    audit::entry("bed_type.create", "bed_type", &key)
        .after(serde_json::json!({"label": label}))
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    state.bed_types.forget();
    Ok(Ok(key))
}

/// Takes a bed type out of use: homes keep their figures for it, forms stop asking.
pub async fn retire_bed_type(state: &AppState, actor: &Actor, key: &str) -> Result<()> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let n = tx
        .execute(
            "UPDATE bed_types SET active = $1 WHERE key = $2",
            args![false, key],
        )
        .await?;
    if n != 1 {
        return Err(AppError::NotFound);
    }
    audit::entry("bed_type.retire", "bed_type", key)
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    state.bed_types.forget();
    Ok(())
}

/// Every route of this capability, pages and JSON API, each with its access rule.
pub fn routes() -> Vec<crate::web::RouteDef> {
    let mut v = Vec::new();
    v.extend(search_pages::routes());
    v.extend(home_pages::routes());
    v.extend(dashboard_pages::routes());
    v.extend(bed_type_pages::routes());
    v.extend(placement_pages::routes());
    v.extend(at_risk_pages::routes());
    v.extend(return_pages::routes());
    v.extend(contingency::routes());
    v
}

/// This capability's part of the OpenAPI document (src/api puts the parts together).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(search_pages::api_search, dashboard_pages::api_dashboard, placement_pages::api_list, at_risk_pages::api_list, at_risk_pages::api_entry, return_pages::api_trend, home_pages::api_home, home_pages::api_home_save),
    tags((name = "capacity", description = "Care home vacancies: kept by providers, found by brokers"))
)]
pub struct ApiDoc;
