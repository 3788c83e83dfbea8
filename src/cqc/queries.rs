//! Reading the CQC data back: search, a location's profile and history, providers, and the
//! data quality report.

use chrono::NaiveDate;

use crate::db::{Arg, Db};
use crate::{Result, args};

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct LocationRow {
    pub location_id: String,
    pub provider_id: Option<String>,
    pub name: String,
    pub care_home: Option<bool>,
    pub location_type: Option<String>,
    pub primary_inspection_category: Option<String>,
    pub inspection_directorate: Option<String>,
    pub street_address: Option<String>,
    pub address_line_2: Option<String>,
    pub city: Option<String>,
    pub county: Option<String>,
    pub postcode: Option<String>,
    pub postcode_district: Option<String>,
    pub local_authority: Option<String>,
    pub region: Option<String>,
    pub onspd_ccg_code: Option<String>,
    pub onspd_ccg: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub beds: Option<i64>,
    pub registration_date: Option<NaiveDate>,
    pub deregistration_date: Option<NaiveDate>,
    pub dormant: Option<bool>,
    pub registered_manager: Option<bool>,
    pub registered_manager_absent_since: Option<NaiveDate>,
    pub url: Option<String>,
    /// The location's own rating (caremarket_core::own_rating), or the value it was given
    /// when not rated ("Not rated", with no date).
    pub overall_rating: Option<String>,
    pub overall_date: Option<NaiveDate>,
    pub safe_rating: Option<String>,
    pub effective_rating: Option<String>,
    pub caring_rating: Option<String>,
    pub responsive_rating: Option<String>,
    pub well_led_rating: Option<String>,
    /// "Registered" or "Deregistered", as CQC's API gives it.
    pub registration_status: Option<String>,
    /// The group its own rating came from ("Overall", "Care Homes"...).
    pub own_rating_group: Option<String>,
    /// inspection, saf, or none when the file did not say.
    pub own_rating_framework: Option<String>,
    /// location_wide, service_group or not_rated: which part of the rule decided.
    pub own_rating_basis: Option<String>,
    /// How it was known to be a care home: flag, service_types, inspection_category.
    pub care_home_basis: Option<String>,
    pub first_edition: NaiveDate,
    pub last_edition: NaiveDate,
    pub updated_edition: NaiveDate,
}

impl LocationRow {
    pub fn address(&self) -> String {
        [
            &self.street_address,
            &self.address_line_2,
            &self.city,
            &self.county,
            &self.postcode,
        ]
        .iter()
        .filter_map(|p| p.as_deref())
        .collect::<Vec<_>>()
        .join(", ")
    }
    pub fn cqc_url(&self) -> String {
        format!("https://www.cqc.org.uk/location/{}", self.location_id)
    }
}

/// Filters of the location search (pages and API alike).
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::IntoParams)]
pub struct LocationSearch {
    /// Part of the location's name
    pub q: Option<String>,
    /// A postcode or the start of one (district, e.g. LS1)
    pub postcode: Option<String>,
    /// Council (local authority), as CQC names it
    pub area: Option<String>,
    /// Region, as CQC names it
    pub region: Option<String>,
    /// Provider ID, or part of the provider's name
    pub provider: Option<String>,
    /// Current overall rating (outstanding, good, requires-improvement, inadequate, not-rated)
    pub rating: Option<String>,
    /// Service type: care-home-with-nursing, care-home-without-nursing, home-care, supported-living
    pub service_type: Option<String>,
    /// yes or no
    pub care_home: Option<String>,
    /// A data quality list: no-beds, never-rated, rating-over-2-years, rating-over-4-years,
    /// inherited, no-registered-manager, dormant
    pub quality: Option<String>,
    pub page: Option<i64>,
}

pub const PAGE_SIZE: i64 = 50;

fn clean(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The WHERE clause and its arguments for a search; `as_of` dates the "older than" lists.
pub fn search_where(f: &LocationSearch, as_of: NaiveDate) -> (String, Vec<Arg>) {
    let mut conds: Vec<String> = Vec::new();
    let mut a: Vec<Arg> = Vec::new();
    macro_rules! add {
        ($cond:expr, $v:expr) => {{
            a.push(Arg::from($v));
            conds.push($cond.replace('?', &format!("${}", a.len())));
        }};
    }
    if let Some(q) = clean(&f.q) {
        add!("LOWER(l.name) LIKE ?", format!("%{}%", q.to_lowercase()));
    }
    if let Some(p) = clean(&f.postcode) {
        let p = p.to_uppercase();
        let compact: String = p.chars().filter(|c| !c.is_whitespace()).collect();
        if compact.len() <= 4 {
            add!("l.postcode_district = ?", compact);
        } else {
            add!("REPLACE(l.postcode, ' ', '') LIKE ?", format!("{compact}%"));
        }
    }
    if let Some(v) = clean(&f.area) {
        add!("LOWER(l.local_authority) = ?", v.to_lowercase());
    }
    if let Some(v) = clean(&f.region) {
        add!("LOWER(l.region) = ?", v.to_lowercase());
    }
    if let Some(v) = clean(&f.provider) {
        a.push(Arg::from(v.clone()));
        let n = a.len();
        a.push(Arg::from(format!("%{}%", v.to_lowercase())));
        conds.push(format!(
            "(l.provider_id = ${n} OR l.provider_id IN (SELECT provider_id FROM cqc_providers WHERE LOWER(name) LIKE ${}))",
            n + 1
        ));
    }
    match clean(&f.rating).as_deref() {
        Some("not-rated") => conds.push("(l.overall_rating IS NULL OR l.overall_rating NOT IN ('Outstanding','Good','Requires improvement','Inadequate'))".into()),
        Some(r) => {
            if let Some(rating) = caremarket_core::cqc::Rating::parse(&r.replace('-', " ")) {
                add!("l.overall_rating = ?", rating.as_str());
            }
        }
        None => {}
    }
    if let Some(st) = clean(&f.service_type).and_then(|s| super::summary::ServiceType::parse(&s)) {
        match st.cqc_service_name() {
            Some(svc) => add!(
                "l.location_id IN (SELECT location_id FROM cqc_location_services WHERE kind = 'service_type' AND value = ?)",
                svc
            ),
            None => conds.push("l.care_home = TRUE".into()),
        }
    }
    match clean(&f.care_home).as_deref() {
        Some("yes") => conds.push("l.care_home = TRUE".into()),
        Some("no") => conds.push("l.care_home = FALSE".into()),
        _ => {}
    }
    match clean(&f.quality).as_deref() {
        Some("no-beds") => conds.push("l.care_home = TRUE AND l.beds IS NULL".into()),
        // "Not rated" is kept to be shown, without a date: a rating proper has one.
        Some("never-rated") => conds.push("l.overall_date IS NULL".into()),
        Some("rating-over-2-years") => add!("l.overall_date < ?", as_of - chrono::Months::new(24)),
        Some("rating-over-4-years") => add!("l.overall_date < ?", as_of - chrono::Months::new(48)),
        Some("inherited") => conds.push(
            "l.location_id IN (SELECT r.location_id FROM cqc_ratings r WHERE r.domain = 'Overall' AND r.service_group = 'Overall' AND r.inherited = TRUE AND r.publication_date = (SELECT l2.overall_date FROM cqc_locations l2 WHERE l2.location_id = r.location_id))".into(),
        ),
        Some("no-registered-manager") => conds.push("l.registered_manager = FALSE".into()),
        Some("dormant") => conds.push("l.dormant = TRUE".into()),
        _ => {}
    }
    // Only locations still registered: in the latest edition of a file that lists them, or
    // synced from CQC's API and not since deregistered (see summary::locations_as_at).
    conds.push(
        "(l.location_id IN (SELECT le.location_id FROM cqc_location_editions le JOIN (SELECT kind, MAX(edition) AS e FROM cqc_location_editions WHERE kind <> 'sync' GROUP BY kind) m ON m.kind = le.kind AND m.e = le.edition) \
          OR (l.deregistration_date IS NULL AND l.location_id IN (SELECT location_id FROM cqc_location_editions WHERE kind = 'sync')))".into(),
    );
    // Never a location deregistered by the data's own date, whichever file listed it.
    add!(super::summary::registered_at("?"), as_of);
    (format!("WHERE {}", conds.join(" AND ")), a)
}

pub async fn search(
    db: &Db,
    f: &LocationSearch,
    as_of: NaiveDate,
    limit: Option<i64>,
) -> Result<(Vec<LocationRow>, i64)> {
    let (w, a) = search_where(f, as_of);
    let total: i64 = db
        .q()
        .scalar(
            &format!("SELECT COUNT(*) FROM cqc_locations l {w}"),
            a.clone(),
        )
        .await?;
    let page = f.page.unwrap_or(1).clamp(1, 1_000_000);
    let lim = limit.unwrap_or(PAGE_SIZE);
    let off = if limit.is_some() {
        0
    } else {
        (page - 1) * PAGE_SIZE
    };
    let rows = db
        .q()
        .fetch_all(&format!("SELECT l.* FROM cqc_locations l {w} ORDER BY l.name, l.location_id LIMIT {lim} OFFSET {off}"), a)
        .await?;
    Ok((rows, total))
}

/// A provider's registered care homes, by name: (location ID, name). What a provider user
/// keeps vacancies and sends cost returns for.
pub async fn provider_care_homes(db: &Db, provider_id: &str) -> Result<Vec<(String, String)>> {
    Ok(db
        .q()
        .fetch_all(
            "SELECT location_id, name FROM cqc_locations WHERE provider_id = $1 AND care_home = $2 AND deregistration_date IS NULL ORDER BY name",
            args![provider_id, true],
        )
        .await?)
}

/// Whether CQC's data knows the location (the check every form naming one makes).
pub async fn location_exists(db: &Db, id: &str) -> Result<bool> {
    let n: i64 = db
        .q()
        .scalar(
            "SELECT COUNT(*) FROM cqc_locations WHERE location_id = $1",
            args![id.trim()],
        )
        .await?;
    Ok(n > 0)
}

pub async fn location(db: &Db, id: &str) -> Result<Option<LocationRow>> {
    Ok(db
        .q()
        .fetch_optional(
            "SELECT * FROM cqc_locations WHERE location_id = $1",
            args![id],
        )
        .await?)
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct RatingRow {
    pub location_id: String,
    pub service_group: String,
    pub domain: String,
    pub rating: String,
    pub publication_date: NaiveDate,
    pub report_type: Option<String>,
    pub inherited: Option<bool>,
    pub source: String,
    /// inspection (2014 framework), saf, or none when the file did not say.
    pub framework: Option<String>,
    /// The Single Assessment Framework's key question score, a percentage.
    pub percentage_score: Option<i64>,
    pub status: Option<String>,
}

/// All ratings of these locations, newest first.
pub async fn ratings_of(db: &Db, ids: &[String]) -> Result<Vec<RatingRow>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let marks: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    Ok(db
        .q()
        .fetch_all(
            &format!(
                "SELECT location_id, service_group, domain, rating, publication_date, report_type, inherited, source, framework, percentage_score, status FROM cqc_ratings \
                 WHERE location_id IN ({}) ORDER BY publication_date DESC, service_group, domain",
                marks.join(",")
            ),
            ids.iter().map(Arg::from).collect(),
        )
        .await?)
}

pub async fn services_of(db: &Db, id: &str) -> Result<Vec<(String, String)>> {
    Ok(db
        .q()
        .fetch_all("SELECT kind, value FROM cqc_location_services WHERE location_id = $1 ORDER BY kind, value", args![id])
        .await?)
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct RelationshipRow {
    pub location_id: String,
    pub related_location_id: String,
    pub relation_type: String,
    pub reason: Option<String>,
}

/// Registration changes in both directions (this location's predecessors and successors).
pub async fn relationships_of(db: &Db, id: &str) -> Result<Vec<RelationshipRow>> {
    Ok(db
        .q()
        .fetch_all(
            "SELECT * FROM cqc_relationships WHERE location_id = $1 OR related_location_id = $1 ORDER BY relation_type",
            args![id],
        )
        .await?)
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct ProviderRow {
    pub provider_id: String,
    pub name: Option<String>,
    pub brand_id: Option<String>,
    pub brand_name: Option<String>,
    pub updated_edition: NaiveDate,
}

pub async fn provider(db: &Db, id: &str) -> Result<Option<ProviderRow>> {
    Ok(db
        .q()
        .fetch_optional(
            "SELECT * FROM cqc_providers WHERE provider_id = $1",
            args![id],
        )
        .await?)
}

pub async fn provider_locations(db: &Db, id: &str) -> Result<Vec<LocationRow>> {
    Ok(db
        .q()
        .fetch_all(
            "SELECT * FROM cqc_locations WHERE provider_id = $1 ORDER BY name",
            args![id],
        )
        .await?)
}

/// The data quality lists, each with its count (for an area, or all).
pub async fn quality_counts(
    db: &Db,
    area: Option<String>,
    as_of: NaiveDate,
) -> Result<Vec<(&'static str, &'static str, i64)>> {
    let mut out = Vec::new();
    for (key, label) in QUALITY_LISTS {
        let f = LocationSearch {
            area: area.clone(),
            quality: Some(key.to_string()),
            ..Default::default()
        };
        let (w, a) = search_where(&f, as_of);
        let n: i64 = db
            .q()
            .scalar(&format!("SELECT COUNT(*) FROM cqc_locations l {w}"), a)
            .await?;
        out.push((*key, *label, n));
    }
    Ok(out)
}

/// How many current locations each part of the own-rating rule decided, and how many were
/// known to be care homes by each part of the care home rule.
pub async fn rule_counts(
    db: &Db,
    area: Option<String>,
    as_of: NaiveDate,
) -> Result<(Vec<(&'static str, i64)>, Vec<(&'static str, i64)>)> {
    use caremarket_core::cqc::CareHomeBasis;
    use caremarket_core::own_rating::Decided;
    let f = LocationSearch {
        area,
        ..Default::default()
    };
    let (w, a) = search_where(&f, as_of);
    // Counts by one column's stored key, a location with none counted under `default`.
    let by = |rows: &[(Option<String>, i64)], key: &str, default: &str| -> i64 {
        rows.iter()
            .filter(|r| r.0.as_deref().unwrap_or(default) == key)
            .map(|r| r.1)
            .sum()
    };
    let rows: Vec<(Option<String>, i64)> = db
        .q()
        .fetch_all(
            &format!("SELECT l.own_rating_basis, COUNT(*) FROM cqc_locations l {w} GROUP BY l.own_rating_basis"),
            a.clone(),
        )
        .await?;
    let decided = Decided::ALL
        .iter()
        .map(|d| (d.label(), by(&rows, d.as_str(), "not_rated")))
        .collect();
    let rows: Vec<(Option<String>, i64)> = db
        .q()
        .fetch_all(
            &format!("SELECT l.care_home_basis, COUNT(*) FROM cqc_locations l {w} AND l.care_home = TRUE GROUP BY l.care_home_basis"),
            a,
        )
        .await?;
    let bases = [
        CareHomeBasis::Flag,
        CareHomeBasis::ServiceTypes,
        CareHomeBasis::InspectionCategory,
    ]
    .iter()
    .map(|b| (b.label(), by(&rows, b.as_str(), "flag")))
    .collect();
    Ok((decided, bases))
}

pub const QUALITY_LISTS: &[(&str, &str)] = &[
    ("no-beds", "Care homes with no beds figure"),
    ("never-rated", "Locations never rated"),
    (
        "rating-over-2-years",
        "Rating published more than 2 years ago",
    ),
    (
        "rating-over-4-years",
        "Rating published more than 4 years ago",
    ),
    (
        "inherited",
        "Current rating inherited from a previous registration",
    ),
    ("no-registered-manager", "No registered manager"),
    ("dormant", "Dormant registrations"),
];
