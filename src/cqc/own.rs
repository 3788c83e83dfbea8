//! Each location's own rating and key questions, by the one rule in
//! `caremarket_core::own_rating`, from the ratings stored. Used at import time (kept on the
//! location's row for today's picture) and for any other date (the market as at a date), so
//! both answer the same.

use caremarket_core::cqc::{Domain, Rating};
use caremarket_core::own_rating::{
    Framework, OwnRating, Published, ServiceKind, location_kind, own_rating, stands,
};
use chrono::NaiveDate;
use std::collections::HashMap;

/// One stored rating as the rule reads it.
pub type RatingRow = (
    String,
    String,
    String,
    String,
    NaiveDate,
    Option<String>,
    Option<i64>,
);

/// The columns of [`RatingRow`], for the callers' SELECTs.
pub const RATING_COLUMNS: &str =
    "location_id, service_group, domain, rating, publication_date, framework, percentage_score";

/// What the rule reads beside the ratings: each location's care home flag and service
/// types (its kind, for rule 2). Shared by the import-time refresh and the as-at reading.
pub const CARE_HOME_SQL: &str = "SELECT location_id, care_home FROM cqc_locations";
pub const SERVICE_TYPES_SQL: &str =
    "SELECT location_id, value FROM cqc_location_services WHERE kind = 'service_type'";

/// What the rule gives for one location.
#[derive(Debug, Clone)]
pub struct Own {
    pub overall: OwnRating,
    /// Safe, Effective, Caring, Responsive, Well-led: the latest rating proper of each in the
    /// group the overall rating came from, with its SAF score where there is one.
    pub key_questions: [Option<(Rating, Option<i64>)>; 5],
}

/// The kinds of service of locations, from their care home flag and service types.
pub fn kinds(
    care_home: impl IntoIterator<Item = (String, Option<bool>)>,
    service_types: &[(String, String)],
) -> HashMap<String, Option<ServiceKind>> {
    let mut types: HashMap<&str, Vec<&str>> = HashMap::new();
    for (id, v) in service_types {
        types.entry(id.as_str()).or_default().push(v.as_str());
    }
    care_home
        .into_iter()
        .map(|(id, ch)| {
            let k = location_kind(ch, types.get(id.as_str()).map_or(&[][..], |v| v));
            (id, k)
        })
        .collect()
}

/// Applies the rule to every location the rows mention.
pub fn apply(
    rows: &[RatingRow],
    kinds: &HashMap<String, Option<ServiceKind>>,
    as_at: Option<NaiveDate>,
) -> HashMap<String, Own> {
    let mut by_location: HashMap<&str, Vec<&RatingRow>> = HashMap::new();
    for r in rows {
        if as_at.is_none_or(|a| r.4 <= a) {
            by_location.entry(r.0.as_str()).or_default().push(r);
        }
    }
    by_location
        .into_iter()
        .map(|(id, rs)| {
            let parsed: Vec<(&RatingRow, Domain, Rating)> = rs
                .iter()
                .filter_map(|r| Some((*r, Domain::parse(&r.2)?, Rating::parse(&r.3)?)))
                .collect();
            let published: Vec<Published> = parsed
                .iter()
                .filter(|(_, d, _)| *d == Domain::Overall)
                .map(|(r, _, rating)| Published {
                    group: &r.1,
                    rating: *rating,
                    date: Some(r.4),
                    framework: r.5.as_deref().map_or(Framework::NotSaid, Framework::parse),
                })
                .collect();
            let kind = kinds.get(id).copied().flatten();
            let overall = own_rating(&published, kind, as_at);
            let group = overall.group.clone().unwrap_or_else(|| "Overall".into());
            let mut key_questions: [Option<(Rating, Option<i64>)>; 5] = Default::default();
            for (i, kq) in Domain::KEY_QUESTIONS.iter().enumerate() {
                key_questions[i] = parsed
                    .iter()
                    .filter(|(r, d, rating)| d == kq && r.1 == group && stands(*rating))
                    .max_by_key(|(r, _, _)| (r.4, r.5.as_deref() == Some("saf")))
                    .map(|(r, _, rating)| (*rating, r.6));
            }
            (
                id.to_string(),
                Own {
                    overall,
                    key_questions,
                },
            )
        })
        .collect()
}

/// Every location's own rating and key questions as at a date (None: today's, as kept on
/// the locations' rows at import time by the same rule).
pub async fn own_ratings_as_at(
    db: &crate::db::Db,
    as_at: Option<NaiveDate>,
) -> crate::Result<HashMap<String, Own>> {
    use crate::args;
    let d = as_at.unwrap_or(NaiveDate::from_ymd_opt(9999, 12, 31).expect("date"));
    let rows: Vec<RatingRow> = db
        .q()
        .fetch_all(
            &format!("SELECT {RATING_COLUMNS} FROM cqc_ratings WHERE publication_date <= $1"),
            args![d],
        )
        .await?;
    let care_home: Vec<(String, Option<bool>)> = db.q().fetch_all(CARE_HOME_SQL, args![]).await?;
    let types: Vec<(String, String)> = db.q().fetch_all(SERVICE_TYPES_SQL, args![]).await?;
    Ok(apply(&rows, &kinds(care_home, &types), as_at))
}
