//! What an import produces, whichever file it came from: providers, locations (every field
//! optional except the ID, so an absent column stays unknown), ratings and registration
//! changes. `store` writes a [`Batch`] in one transaction.

use caremarket_core::cqc::{CareHomeBasis, Domain, Rating};
use caremarket_core::own_rating::Framework;
use chrono::NaiveDate;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Ratings,
    Directory,
    ApiRecords,
    Sync,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Ratings => "ratings",
            Kind::Directory => "directory",
            Kind::ApiRecords => "api_records",
            Kind::Sync => "sync",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Kind::Ratings => "Latest ratings",
            Kind::Directory => "Care directory (HSCA active locations)",
            Kind::ApiRecords => "CQC API location records",
            Kind::Sync => "CQC API sync",
        }
    }
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "ratings" => Some(Kind::Ratings),
            "directory" => Some(Kind::Directory),
            "api_records" | "api-records" => Some(Kind::ApiRecords),
            "sync" => Some(Kind::Sync),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProviderRecord {
    pub provider_id: String,
    pub name: Option<String>,
    pub brand_id: Option<String>,
    pub brand_name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct LocationRecord {
    pub location_id: String,
    pub provider_id: Option<String>,
    pub name: Option<String>,
    pub care_home: Option<bool>,
    pub location_type: Option<String>,
    pub primary_inspection_category: Option<String>,
    pub inspection_directorate: Option<String>,
    pub street_address: Option<String>,
    pub address_line_2: Option<String>,
    pub city: Option<String>,
    pub county: Option<String>,
    pub postcode: Option<String>,
    pub local_authority: Option<String>,
    pub region: Option<String>,
    pub onspd_ccg_code: Option<String>,
    pub onspd_ccg: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub beds: Option<i64>,
    pub registration_date: Option<NaiveDate>,
    pub deregistration_date: Option<NaiveDate>,
    /// "Registered" or "Deregistered", as the API gives it.
    pub registration_status: Option<String>,
    /// How the file told whether it is a care home.
    pub care_home_basis: Option<CareHomeBasis>,
    pub dormant: Option<bool>,
    pub registered_manager: Option<bool>,
    pub registered_manager_absent_since: Option<NaiveDate>,
    pub url: Option<String>,
    /// None: this file says nothing about them; Some: the full list (replaces the old one).
    pub services: Option<Vec<(&'static str, String)>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RatingRecord {
    pub location_id: String,
    pub service_group: String,
    pub domain: Domain,
    pub rating: Rating,
    pub publication_date: NaiveDate,
    pub report_type: Option<String>,
    pub inherited: Option<bool>,
    pub framework: Framework,
    /// The Single Assessment Framework's key question score (a percentage).
    pub percentage_score: Option<i64>,
    /// CQC's status for an assessment's rating ("Current" and the like).
    pub status: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Relationship {
    pub location_id: String,
    pub related_location_id: String,
    pub relation_type: String,
    pub reason: Option<String>,
}

/// Everything one file gives, ready to store.
#[derive(Debug, Default)]
pub struct Batch {
    pub providers: Vec<ProviderRecord>,
    pub locations: Vec<LocationRecord>,
    pub ratings: Vec<RatingRecord>,
    pub relationships: Vec<Relationship>,
    /// The latest date seen in the file (publication or report dates): the default edition.
    pub latest_date: Option<NaiveDate>,
    pub rows_read: usize,
    pub warnings: Vec<String>,
    pub unknown_columns: Vec<String>,
}

/// Trims and collapses empty (and CQC's "-" placeholder) to None. Control characters (a
/// JSON record can carry "\u0000", which PostgreSQL cannot store) are dropped.
pub fn text(s: &str) -> Option<String> {
    let t = s.trim().trim_matches('\u{a0}');
    if t.is_empty() || t == "-" {
        None
    } else if t.chars().any(crate::import::is_stray_control) {
        text(&t.replace(crate::import::is_stray_control, ""))
    } else {
        Some(t.to_string())
    }
}

/// CQC location and provider IDs: most are digits, a hyphen and digits (1-101641521); NHS
/// trusts and their sites keep their ODS codes (RXX, R0A02). Letters, digits and hyphens,
/// up to 20 characters, starting with a letter or digit.
pub fn valid_cqc_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 20
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
}
