//! The market in figures for a slice (England, a region or a council; a service type) as at a
//! date, and which editions the answer rests on.

use caremarket_core::cqc::Rating;
use caremarket_core::market::{LocationFacts, Summary, summarise};
use chrono::NaiveDate;
use std::collections::{HashMap, HashSet};

use crate::db::Db;
use crate::{Result, args};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize, utoipa::ToSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum ServiceType {
    /// Any care home (CQC's "Care home?" = Y)
    CareHome,
    CareHomeWithNursing,
    CareHomeWithoutNursing,
    HomeCare,
    SupportedLiving,
}

impl ServiceType {
    pub fn parse(s: &str) -> Option<ServiceType> {
        match s.trim().to_lowercase().replace('_', "-").as_str() {
            "care-home" | "care-homes" => Some(ServiceType::CareHome),
            "care-home-with-nursing" | "nursing" => Some(ServiceType::CareHomeWithNursing),
            "care-home-without-nursing" | "residential" => {
                Some(ServiceType::CareHomeWithoutNursing)
            }
            "home-care" | "domiciliary" => Some(ServiceType::HomeCare),
            "supported-living" => Some(ServiceType::SupportedLiving),
            _ => None,
        }
    }

    /// The CQC service type this corresponds to, where it is one.
    pub fn cqc_service_name(self) -> Option<&'static str> {
        self.cqc_service()
    }

    fn cqc_service(self) -> Option<&'static str> {
        match self {
            ServiceType::CareHome => None,
            ServiceType::CareHomeWithNursing => Some("Care home service with nursing"),
            ServiceType::CareHomeWithoutNursing => Some("Care home service without nursing"),
            ServiceType::HomeCare => Some("Domiciliary care service"),
            ServiceType::SupportedLiving => Some("Supported living service"),
        }
    }
}

#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct Slice {
    /// A council (local authority) as CQC names it, e.g. Leeds
    pub area: Option<String>,
    /// A region as CQC names it, e.g. North West
    pub region: Option<String>,
    pub service_type: Option<ServiceType>,
    /// The market as at this date (YYYY-MM-DD); default: the latest data
    pub as_at: Option<NaiveDate>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct EditionRef {
    pub kind: String,
    pub edition: NaiveDate,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Coverage {
    /// Locations in the slice with a known number of beds (beds come from the care directory
    /// and API records; the latest-ratings file has none).
    pub beds_known_for: u64,
    pub locations: u64,
    /// Locations whose service types are known (needed for service-type slices).
    pub service_types_known_for: u64,
    /// The editions this answer rests on.
    pub editions: Vec<EditionRef>,
    /// Said when part of the answer is not known, rather than guessed.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct MarketSummary {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub figures: Summary,
    pub coverage: Coverage,
}

#[derive(sqlx::FromRow)]
struct LocRow {
    location_id: String,
    care_home: Option<bool>,
    beds: Option<i64>,
}

/// The editions that define "the market" as at a date: for each kind of file, the latest
/// edition on or before it. Before every loaded edition, the earliest, with a note.
pub async fn editions_as_at(
    db: &Db,
    as_at: Option<NaiveDate>,
) -> Result<(Vec<EditionRef>, Vec<String>)> {
    let mut notes = Vec::new();
    let rows: Vec<(String, NaiveDate)> = match as_at {
        None => db
            .q()
            .fetch_all(
                "SELECT kind, MAX(edition) FROM cqc_location_editions GROUP BY kind ORDER BY kind",
                args![],
            )
            .await?,
        Some(d) => {
            let r: Vec<(String, NaiveDate)> = db
                .q()
                .fetch_all(
                    "SELECT kind, MAX(edition) FROM cqc_location_editions WHERE edition <= $1 GROUP BY kind ORDER BY kind",
                    args![d],
                )
                .await?;
            if r.is_empty() {
                let earliest: Vec<(String, NaiveDate)> = db
                    .q()
                    .fetch_all("SELECT kind, MIN(edition) FROM cqc_location_editions GROUP BY kind ORDER BY kind", args![])
                    .await?;
                if let Some(e) = earliest.iter().map(|e| e.1).min() {
                    notes.push(format!(
                        "No data loaded is as old as {d}: the earliest edition is {e}. Locations are those registered in that edition; homes that closed before it are not known, and ratings are those published on or before {d}."
                    ));
                }
                earliest
            } else {
                r
            }
        }
    };
    Ok((
        rows.into_iter()
            .map(|(kind, edition)| EditionRef { kind, edition })
            .collect(),
        notes,
    ))
}

/// Latest overall rating of every location, published on or before the date.
pub async fn overall_ratings_as_at(
    db: &Db,
    as_at: Option<NaiveDate>,
) -> Result<HashMap<String, Rating>> {
    Ok(overall_ratings_dated_as_at(db, as_at)
        .await?
        .into_iter()
        .map(|(k, (_, r))| (k, r))
        .collect())
}

/// The same with each rating's publication date: each location's own rating by the rule in
/// `caremarket_core::own_rating` (today's as kept on the locations' rows at import time).
pub async fn overall_ratings_dated_as_at(
    db: &Db,
    as_at: Option<NaiveDate>,
) -> Result<HashMap<String, (NaiveDate, Rating)>> {
    if as_at.is_none() {
        let rows: Vec<(String, String, NaiveDate)> = db
            .q()
            .fetch_all(
                "SELECT location_id, overall_rating, overall_date FROM cqc_locations WHERE overall_date IS NOT NULL",
                args![],
            )
            .await?;
        return Ok(rows
            .into_iter()
            .filter_map(|(id, r, d)| Some((id, (d, Rating::parse(&r)?))))
            .collect());
    }
    Ok(super::own::own_ratings_as_at(db, as_at)
        .await?
        .into_iter()
        .filter_map(|(id, o)| Some((id, o.overall.rating.map(|(r, d)| (d, r))?)))
        .collect())
}

/// SQL: location `l` is still registered at the date bound as parameter `param` (`$2`,
/// or `?` for a query builder that numbers them): no deregistration date on or before it,
/// and not called deregistered by CQC without a date. Written once for every figure and
/// list (the market, search and data quality lists, the bed search).
pub fn registered_at(param: &str) -> String {
    format!(
        "(l.deregistration_date IS NULL OR l.deregistration_date > {param}) \
         AND NOT (l.deregistration_date IS NULL AND LOWER(COALESCE(l.registration_status, '')) = 'deregistered')"
    )
}

/// The IDs of the locations in the market as at the date (see [`editions_as_at`]).
///
/// A file (ratings, directory, API records) is a snapshot: its latest edition lists the
/// market. A sync run records only the locations that changed, so for sync a location
/// counts from its first sync until CQC gives it a deregistration date.
///
/// Whatever the source, a location is never in the market on or after its deregistration
/// date (CQC's API lists deregistered locations beside registered ones, and a later ratings
/// file or directory can still list a home the API knows has closed), nor when CQC gives it
/// as deregistered without a date. The date is the one asked about, or else the data's own
/// date (the latest edition loaded): one clock for every figure.
pub async fn locations_as_at(
    db: &Db,
    editions: &[EditionRef],
    as_at: Option<NaiveDate>,
) -> Result<HashSet<String>> {
    let Some(market_date) = as_at.or(editions.iter().map(|e| e.edition).max()) else {
        return Ok(HashSet::new());
    };
    let registered = registered_at("$2");
    let mut set = HashSet::new();
    for e in editions {
        let rows: Vec<(String,)> = if e.kind == "sync" {
            db.q()
                .fetch_all(
                    &format!("SELECT DISTINCT le.location_id FROM cqc_location_editions le JOIN cqc_locations l ON l.location_id = le.location_id \
                     WHERE le.kind = 'sync' AND le.edition <= $1 AND {registered}"),
                    args![e.edition, market_date],
                )
                .await?
        } else {
            db.q()
                .fetch_all(
                    &format!("SELECT le.location_id FROM cqc_location_editions le JOIN cqc_locations l ON l.location_id = le.location_id \
                     WHERE le.kind = $1 AND le.edition = $3 AND {registered}"),
                    args![e.kind.as_str(), market_date, e.edition],
                )
                .await?
        };
        set.extend(rows.into_iter().map(|r| r.0));
    }
    Ok(set)
}

/// The rules every market figure uses, said beside the figures (in `coverage.notes` and on
/// the pages).
pub fn rule_notes(market_date: Option<NaiveDate>) -> Vec<String> {
    let date = market_date
        .map(|d| d.format("%-d %B %Y").to_string())
        .unwrap_or_else(|| "the data's own date".into());
    vec![
        format!(
            "In the market: the locations listed by the latest edition of each file loaded (or synced from CQC's API), never one deregistered on or before {date}, whatever file listed it; a home registered under several location IDs is counted once."
        ),
        "A location's rating: the latest published of its location-wide (Overall) rating and its own service group's rating (Care Homes for a care home), under either CQC framework; values that are not ratings (Not Rated, Inspected but not rated) never replace one.".into(),
        match market_date {
            Some(_) => format!("Ages of ratings are measured from {date}, the data's own date."),
            None => "Ages of ratings are measured from the data's own date (no CQC data is loaded yet).".into(),
        },
    ]
}

pub async fn summary(db: &Db, slice: &Slice) -> Result<MarketSummary> {
    let (editions, mut notes) = editions_as_at(db, slice.as_at).await?;
    let present = locations_as_at(db, &editions, slice.as_at).await?;
    let mut sql =
        String::from("SELECT location_id, care_home, beds FROM cqc_locations WHERE 1 = 1");
    let mut a = Vec::new();
    if let Some(area) = slice
        .area
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        a.push(crate::db::Arg::from(area.to_lowercase()));
        sql.push_str(&format!(" AND LOWER(local_authority) = ${}", a.len()));
    }
    if let Some(region) = slice
        .region
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        a.push(crate::db::Arg::from(region.to_lowercase()));
        sql.push_str(&format!(" AND LOWER(region) = ${}", a.len()));
    }
    let rows: Vec<LocRow> = db.q().fetch_all(&sql, a).await?;
    let known_services: HashSet<String> = {
        let r: Vec<(String,)> = db
            .q()
            .fetch_all("SELECT DISTINCT location_id FROM cqc_location_services WHERE kind = 'service_type'", args![])
            .await?;
        r.into_iter().map(|x| x.0).collect()
    };
    let with_service: Option<HashSet<String>> = match slice
        .service_type
        .and_then(|s| s.cqc_service())
    {
        None => None,
        Some(svc) => {
            let r: Vec<(String,)> = db
                .q()
                .fetch_all(
                    "SELECT location_id FROM cqc_location_services WHERE kind = 'service_type' AND value = $1",
                    args![svc],
                )
                .await?;
            Some(r.into_iter().map(|x| x.0).collect())
        }
    };
    let ratings = overall_ratings_as_at(db, slice.as_at).await?;
    let index = super::identity::load(db).await?;
    let (present, merged) =
        super::identity::one_per_home(present, &index, |id| ratings.contains_key(id));
    let market_date = slice.as_at.or(editions.iter().map(|e| e.edition).max());
    notes.extend(rule_notes(market_date));
    if !merged.dual.is_empty() {
        notes.push(format!(
            "{} homes in the data loaded are registered under two location IDs at once (dual registration, or a file still listing an old registration): each is counted once.",
            merged.dual.len()
        ));
    }
    let mut facts = Vec::new();
    let mut services_known = 0u64;
    for r in rows
        .into_iter()
        .filter(|r| present.contains(&r.location_id))
    {
        let keep = match (slice.service_type, &with_service) {
            (Some(ServiceType::CareHome), _) => r.care_home == Some(true),
            (Some(_), Some(set)) => set.contains(&r.location_id),
            _ => true,
        };
        if !keep {
            continue;
        }
        if known_services.contains(&r.location_id) {
            services_known += 1;
        }
        facts.push(LocationFacts {
            beds: r.beds,
            overall: ratings.get(&r.location_id).copied(),
        });
    }
    let figures = summarise(facts);
    if figures.locations > 0 && figures.beds_known_for < figures.locations {
        notes.push(format!(
            "Beds known for {} of {} locations: bed figures cover only those.",
            figures.beds_known_for, figures.locations
        ));
    }
    if with_service.is_some() {
        notes.push(format!(
            "Service types known for {services_known} of the locations in the area: a location whose service types no loaded file gives is not counted."
        ));
    }
    Ok(MarketSummary {
        coverage: Coverage {
            beds_known_for: figures.beds_known_for,
            locations: figures.locations,
            service_types_known_for: services_known,
            editions,
            notes,
        },
        figures,
    })
}
