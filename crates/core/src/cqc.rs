//! CQC's vocabulary: ratings and their spellings, key questions, dates as CQC files write
//! them, Y/N flags, postcodes, and the Single Assessment Framework scoring rule.

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A published CQC rating, or one of the other values a rating cell can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Rating {
    Outstanding,
    Good,
    RequiresImprovement,
    Inadequate,
    InsufficientEvidence,
    InspectedNotRated,
    NoPublishedRating,
    /// "Not Rated": a location (or group) given no rating, often with no date.
    NotRated,
    /// "Regulations met": services CQC checks but does not rate.
    RegulationsMet,
    /// "Not applicable": the group or key question does not apply.
    NotApplicable,
}

impl Rating {
    pub const FOUR: [Rating; 4] = [
        Rating::Outstanding,
        Rating::Good,
        Rating::RequiresImprovement,
        Rating::Inadequate,
    ];

    /// Normalises the spellings found in CQC files and the API: case, spacing and the
    /// "Requires Improvement" / "Requires improvement" drift.
    pub fn parse(s: &str) -> Option<Rating> {
        let k: String = s
            .chars()
            .filter(|c| c.is_alphanumeric())
            .collect::<String>()
            .to_lowercase();
        Some(match k.as_str() {
            "outstanding" => Rating::Outstanding,
            "good" => Rating::Good,
            "requiresimprovement" => Rating::RequiresImprovement,
            "inadequate" => Rating::Inadequate,
            "insufficientevidencetorate" | "insufficientevidence" => Rating::InsufficientEvidence,
            "inspectedbutnotrated" | "inspectednotrated" => Rating::InspectedNotRated,
            "nopublishedrating" | "notyetrated" => Rating::NoPublishedRating,
            // CQC's SAF feeds also write "No Approved Rating" and "Evidence requirements
            // partially / not yet scored" for a group or key question not rated yet.
            "notrated" | "noapprovedrating" | "evidencerequirementspartiallynotyetscored" => {
                Rating::NotRated
            }
            "regulationsmet" => Rating::RegulationsMet,
            "notapplicable" | "na" => Rating::NotApplicable,
            _ => return None,
        })
    }

    /// The stored form (and CQC's own spelling).
    pub fn as_str(self) -> &'static str {
        match self {
            Rating::Outstanding => "Outstanding",
            Rating::Good => "Good",
            Rating::RequiresImprovement => "Requires improvement",
            Rating::Inadequate => "Inadequate",
            Rating::InsufficientEvidence => "Insufficient evidence to rate",
            Rating::InspectedNotRated => "Inspected but not rated",
            Rating::NoPublishedRating => "No published rating",
            Rating::NotRated => "Not rated",
            Rating::RegulationsMet => "Regulations met",
            Rating::NotApplicable => "Not applicable",
        }
    }

    /// One of the four ratings that count as "rated".
    pub fn is_rated(self) -> bool {
        Rating::FOUR.contains(&self)
    }

    pub fn is_good_or_outstanding(self) -> bool {
        matches!(self, Rating::Good | Rating::Outstanding)
    }

    /// Below Good: Requires improvement or Inadequate.
    pub fn is_below_good(self) -> bool {
        matches!(self, Rating::RequiresImprovement | Rating::Inadequate)
    }
}

impl fmt::Display for Rating {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The overall rating and the five key questions ("Domain" in newer files, "Key Question" in
/// older ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Domain {
    Overall,
    Safe,
    Effective,
    Caring,
    Responsive,
    WellLed,
}

impl Domain {
    pub const KEY_QUESTIONS: [Domain; 5] = [
        Domain::Safe,
        Domain::Effective,
        Domain::Caring,
        Domain::Responsive,
        Domain::WellLed,
    ];

    pub fn parse(s: &str) -> Option<Domain> {
        let k: String = s
            .chars()
            .filter(|c| c.is_alphanumeric())
            .collect::<String>()
            .to_lowercase();
        Some(match k.as_str() {
            "overall" => Domain::Overall,
            "safe" => Domain::Safe,
            "effective" => Domain::Effective,
            "caring" => Domain::Caring,
            "responsive" => Domain::Responsive,
            "wellled" => Domain::WellLed,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Domain::Overall => "Overall",
            Domain::Safe => "Safe",
            Domain::Effective => "Effective",
            Domain::Caring => "Caring",
            Domain::Responsive => "Responsive",
            Domain::WellLed => "Well-led",
        }
    }
}

/// Spreadsheet serials taken as dates: 1 Oct 1954 to 24 Jan 2119.
pub const SERIAL_MIN: f64 = 20_000.0;
pub const SERIAL_MAX: f64 = 80_000.0;

/// Why a date cell could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadDate(pub String);

/// Reads a date as CQC files write it: `dd/mm/yyyy` (optionally followed by ` - 00:00` as
/// in the old care directory), ISO `yyyy-mm-dd` (optionally with a time), or a spreadsheet
/// serial number (1900 system, with Excel's phantom 29 Feb 1900; `date1904` for the 1904
/// system).
pub fn parse_date(s: &str, date1904: bool) -> Result<NaiveDate, BadDate> {
    parse_date_in(s, date1904, DateOrder::DayFirst)
}

/// Which comes first in a date written with slashes: `dd/mm/yyyy` (the UK's) or
/// `mm/dd/yyyy` (a file re-saved by a spreadsheet with US settings). ISO dates and serial
/// numbers do not depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DateOrder {
    DayFirst,
    MonthFirst,
}

impl DateOrder {
    pub fn parse(s: &str) -> Option<DateOrder> {
        match s.trim().to_lowercase().as_str() {
            "dmy" | "day-first" | "uk" => Some(DateOrder::DayFirst),
            "mdy" | "month-first" | "us" => Some(DateOrder::MonthFirst),
            _ => None,
        }
    }
    pub fn pattern(self) -> &'static str {
        match self {
            DateOrder::DayFirst => "dd/mm/yyyy",
            DateOrder::MonthFirst => "mm/dd/yyyy",
        }
    }
}

/// How a column's date order was decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderBasis {
    /// The importer was told (`--date-order`).
    Told,
    /// A value settles it: a first part over 12 (day first) or a second part over 12 (month
    /// first); the example is kept to say so.
    Value(String),
    /// Every value could be read either way: read day first, as the UK writes dates.
    AllAmbiguous,
    /// No value with slashes (ISO dates, serial numbers or none): the order does not matter.
    NotNeeded,
}

/// Decides the order of one column from all its values, never per row: a column with a first
/// part over 12 is day first, one with a second part over 12 month first; a column with both
/// cannot be read without being told.
pub fn decide_date_order<'a>(
    values: impl IntoIterator<Item = &'a str>,
    told: Option<DateOrder>,
) -> Result<(DateOrder, OrderBasis), String> {
    if let Some(o) = told {
        return Ok((o, OrderBasis::Told));
    }
    let mut day_first: Option<&str> = None;
    let mut month_first: Option<&str> = None;
    let mut slashed = false;
    for v in values {
        let t = v.trim();
        let date_part = t.split([' ', 'T']).next().unwrap_or(t);
        let parts: Vec<&str> = date_part.split(['/', '.', '-']).collect();
        if parts.len() != 3 || parts[0].len() == 4 || parts[2].len() != 4 {
            continue;
        }
        let (Ok(a), Ok(b)) = (parts[0].parse::<u32>(), parts[1].parse::<u32>()) else {
            continue;
        };
        slashed = true;
        if a > 12 && b <= 12 {
            day_first.get_or_insert(t);
        } else if b > 12 && a <= 12 {
            month_first.get_or_insert(t);
        }
    }
    match (day_first, month_first) {
        (Some(d), Some(m)) => Err(format!(
            "has dates written both day first ({d:?}) and month first ({m:?}); say which with --date-order dmy or mdy"
        )),
        (Some(d), None) => Ok((DateOrder::DayFirst, OrderBasis::Value(d.to_string()))),
        (None, Some(m)) => Ok((DateOrder::MonthFirst, OrderBasis::Value(m.to_string()))),
        (None, None) if slashed => Ok((DateOrder::DayFirst, OrderBasis::AllAmbiguous)),
        (None, None) => Ok((DateOrder::DayFirst, OrderBasis::NotNeeded)),
    }
}

/// [`parse_date`] with the order of a column's slashed dates decided.
pub fn parse_date_in(s: &str, date1904: bool, order: DateOrder) -> Result<NaiveDate, BadDate> {
    let t = s.trim();
    let bad = |why: &str| BadDate(why.to_string());
    if t.is_empty() {
        return Err(bad("the date is empty"));
    }
    // Spreadsheet serial numbers (a date cell that lost its format), possibly with a
    // fraction of a day. Only a plausible range is taken (1954 to 2119): a bare year such
    // as "2024", or any other number, is not a date.
    let is_serial = t.chars().all(|c| c.is_ascii_digit() || c == '.')
        && t.chars().filter(|c| *c == '.').count() <= 1;
    if is_serial && let Ok(n) = t.parse::<f64>() {
        if !(SERIAL_MIN..=SERIAL_MAX).contains(&n) {
            return Err(bad("is not a date (a number, but not a spreadsheet date)"));
        }
        let days = n.floor() as i64;
        let base = if date1904 {
            NaiveDate::from_ymd_opt(1904, 1, 1).expect("valid")
        } else {
            // Serial 1 is 1900-01-01 and Excel counts a 29 Feb 1900 that never was, so for
            // every serial in range the base is 30 Dec 1899.
            NaiveDate::from_ymd_opt(1899, 12, 30).expect("valid")
        };
        return Ok(base + Duration::days(days));
    }
    let date_part = t.split([' ', 'T']).next().unwrap_or(t);
    let nums: Vec<&str> = date_part.split(['/', '-', '.']).collect();
    if nums.len() != 3
        || nums
            .iter()
            .any(|p| p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(bad("is not a date: use dd/mm/yyyy or yyyy-mm-dd"));
    }
    let (y, m, d) = if nums[0].len() == 4 {
        (nums[0], nums[1], nums[2])
    } else if nums[2].len() == 4 {
        match order {
            DateOrder::DayFirst => (nums[2], nums[1], nums[0]),
            DateOrder::MonthFirst => (nums[2], nums[0], nums[1]),
        }
    } else {
        return Err(bad("has no four-digit year: use dd/mm/yyyy or yyyy-mm-dd"));
    };
    let (y, m, d): (i32, u32, u32) = (
        y.parse().map_err(|_| bad("bad year"))?,
        m.parse().map_err(|_| bad("bad month"))?,
        d.parse().map_err(|_| bad("bad day"))?,
    );
    if !(1..=12).contains(&m) {
        return Err(bad("has no such month"));
    }
    NaiveDate::from_ymd_opt(y, m, d)
        .ok_or_else(|| bad("is not a real date (no such day in that month)"))
}

/// Y/N flags: `Y`, `Yes`, `TRUE`, `1` and their opposites; empty is unknown.
pub fn parse_flag(s: &str) -> Result<Option<bool>, String> {
    match s.trim().to_lowercase().as_str() {
        "" | "-" => Ok(None),
        "y" | "yes" | "true" | "1" => Ok(Some(true)),
        "n" | "no" | "false" | "0" => Ok(Some(false)),
        other => Err(format!("{other:?} is not Y or N")),
    }
}

/// A UK postcode in its usual form: upper case, one space before the inward code. Returns
/// None for text that cannot be a postcode.
pub fn normalise_postcode(s: &str) -> Option<String> {
    let compact: String = s
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{a0}')
        .collect::<String>()
        .to_uppercase();
    if !(5..=7).contains(&compact.len()) || !compact.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    let (outward, inward) = compact.split_at(compact.len() - 3);
    let inward_ok = inward.as_bytes()[0].is_ascii_digit()
        && inward.as_bytes()[1].is_ascii_alphabetic()
        && inward.as_bytes()[2].is_ascii_alphabetic();
    let outward_ok = outward.as_bytes()[0].is_ascii_alphabetic();
    (inward_ok && outward_ok).then(|| format!("{outward} {inward}"))
}

/// The outward code (postcode district) of a normalised postcode, e.g. "LS1" of "LS1 4AP".
pub fn postcode_district(postcode: &str) -> Option<&str> {
    postcode.split(' ').next().filter(|d| !d.is_empty())
}

/// How a location was known to be a care home (or not), counted in each import's summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CareHomeBasis {
    /// The file's own `Care Home?` column (or the API's `careHome`).
    Flag,
    /// A service type "Care home service with nursing" or "... without nursing".
    ServiceTypes,
    /// The primary inspection category (residential social care).
    InspectionCategory,
    /// Nothing in the file says.
    Unknown,
}

impl CareHomeBasis {
    pub fn as_str(self) -> &'static str {
        match self {
            CareHomeBasis::Flag => "flag",
            CareHomeBasis::ServiceTypes => "service_types",
            CareHomeBasis::InspectionCategory => "inspection_category",
            CareHomeBasis::Unknown => "unknown",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            CareHomeBasis::Flag => "the file's Care Home? column",
            CareHomeBasis::ServiceTypes => "its service types",
            CareHomeBasis::InspectionCategory => "its primary inspection category",
            CareHomeBasis::Unknown => "nothing (not known)",
        }
    }
}

/// Whether a location is a care home, for files with no `Care Home?` column (CQC's
/// location-level exports): the flag when there is one; otherwise a care home service type
/// ("Care home service with nursing" or "without nursing") makes it one, and service types
/// without one make it not one; otherwise the primary inspection category decides
/// ("Residential social care" or a category naming care homes is one; any other is not).
pub fn care_home_from(
    flag: Option<bool>,
    service_types: Option<&[&str]>,
    primary_inspection_category: Option<&str>,
) -> (Option<bool>, CareHomeBasis) {
    if let Some(f) = flag {
        return (Some(f), CareHomeBasis::Flag);
    }
    if let Some(types) = service_types.filter(|t| !t.is_empty()) {
        let yes = types
            .iter()
            .any(|t| normalise_header(t).starts_with("carehomeservice"));
        return (Some(yes), CareHomeBasis::ServiceTypes);
    }
    if let Some(c) = primary_inspection_category
        .map(normalise_header)
        .filter(|c| !c.is_empty())
    {
        let yes = c.contains("residentialsocialcare") || c.contains("carehome");
        return (Some(yes), CareHomeBasis::InspectionCategory);
    }
    (None, CareHomeBasis::Unknown)
}

/// CQC's region names as the files write them, in one form: "South West (ADASS Region)" in
/// location exports is "South West"; the old directory's "Yorkshire & Humberside" is
/// "Yorkshire and The Humber" and "East" is "East of England".
pub fn normalise_region(s: &str) -> String {
    let t = s.trim();
    let t = t
        .strip_suffix("(ADASS Region)")
        .or_else(|| t.strip_suffix("(ADASS region)"))
        .unwrap_or(t)
        .trim();
    match normalise_header(t).as_str() {
        "yorkshirehumberside"
        | "yorkshireandhumberside"
        | "yorkshireandthehumber"
        | "yorkshirethehumber" => "Yorkshire and The Humber".into(),
        "east" | "eastofengland" | "eastern" => "East of England".into(),
        _ => t.replace(" & ", " and "),
    }
}

/// Column names are matched ignoring case, spacing and punctuation ("Care Home?" = "care
/// home", "Location ID" = "LocationID").
pub fn normalise_header(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .collect::<String>()
        .to_lowercase()
}

/// The Single Assessment Framework (from November 2023): quality statements scored 1–4 per
/// key question; the key question's score is the sum as a percentage of the maximum, rounded
/// half up to a whole number; then ≤ 38% Inadequate, 39–62% Requires improvement, 63–87%
/// Good, ≥ 88% Outstanding.
pub mod saf {
    use super::{Domain, Rating};

    /// How many quality statements each key question has (Safe 8, Effective 6, Caring 5,
    /// Responsive 7, Well-led 8: 34 in all).
    pub fn statements(kq: Domain) -> usize {
        match kq {
            Domain::Safe => 8,
            Domain::Effective => 6,
            Domain::Caring => 5,
            Domain::Responsive => 7,
            Domain::WellLed => 8,
            Domain::Overall => 34,
        }
    }

    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum ScoreError {
        WrongCount { expected: usize, got: usize },
        OutOfRange(u8),
    }

    /// The key question's percentage, rounded half up, from its statement scores.
    pub fn percentage(scores: &[u8]) -> Result<u32, ScoreError> {
        if let Some(&s) = scores.iter().find(|s| !(1..=4).contains(*s)) {
            return Err(ScoreError::OutOfRange(s));
        }
        let sum: u32 = scores.iter().map(|&s| s as u32).sum();
        let max = 4 * scores.len() as u32;
        if max == 0 {
            return Err(ScoreError::WrongCount {
                expected: 1,
                got: 0,
            });
        }
        // Integer arithmetic: round(100 * sum / max) half up = floor((200 * sum + max) / (2 * max)).
        Ok((200 * sum + max) / (2 * max))
    }

    pub fn rating_for_percentage(pct: u32) -> Rating {
        match pct {
            0..=38 => Rating::Inadequate,
            39..=62 => Rating::RequiresImprovement,
            63..=87 => Rating::Good,
            _ => Rating::Outstanding,
        }
    }

    /// Scores a key question from all its statement scores.
    pub fn key_question(kq: Domain, scores: &[u8]) -> Result<(u32, Rating), ScoreError> {
        let expected = statements(kq);
        if scores.len() != expected {
            return Err(ScoreError::WrongCount {
                expected,
                got: scores.len(),
            });
        }
        let pct = percentage(scores)?;
        Ok((pct, rating_for_percentage(pct)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rating_spellings() {
        assert_eq!(
            Rating::parse("Requires Improvement"),
            Some(Rating::RequiresImprovement)
        );
        assert_eq!(
            Rating::parse("requires improvement "),
            Some(Rating::RequiresImprovement)
        );
        assert_eq!(Rating::parse("GOOD"), Some(Rating::Good));
        assert_eq!(
            Rating::parse("Insufficient evidence to rate"),
            Some(Rating::InsufficientEvidence)
        );
        assert_eq!(
            Rating::parse("Inspected but not rated"),
            Some(Rating::InspectedNotRated)
        );
        assert_eq!(
            Rating::parse("No published rating"),
            Some(Rating::NoPublishedRating)
        );
        assert_eq!(Rating::parse("Excellent"), None);
        assert!(Rating::Good.is_rated() && !Rating::InspectedNotRated.is_rated());
    }

    #[test]
    fn domains_old_and_new() {
        assert_eq!(Domain::parse("Well-led"), Some(Domain::WellLed));
        assert_eq!(Domain::parse("Well led"), Some(Domain::WellLed));
        assert_eq!(Domain::parse("Overall"), Some(Domain::Overall));
        assert_eq!(Domain::parse("Kind"), None);
    }

    #[test]
    fn dates_in_every_form() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        assert_eq!(parse_date("14/08/2018", false), Ok(d(2018, 8, 14)));
        assert_eq!(parse_date("2018-08-14", false), Ok(d(2018, 8, 14)));
        assert_eq!(parse_date("2018-08-14T00:00:00", false), Ok(d(2018, 8, 14)));
        assert_eq!(parse_date("16/11/2015 - 00:00", false), Ok(d(2015, 11, 16)));
        // Spreadsheet serials: 43326 is 14 Aug 2018 in Excel (and 41864 in the 1904 system);
        // a bare year or another number is not a date.
        assert_eq!(parse_date("43326", false), Ok(d(2018, 8, 14)));
        assert_eq!(parse_date("43326.75", false), Ok(d(2018, 8, 14)));
        assert_eq!(parse_date("41864", true), Ok(d(2018, 8, 14)));
        assert!(parse_date("2024", false).is_err());
        assert!(parse_date("1", false).is_err());
        assert!(parse_date("1e3", false).is_err());
        assert!(parse_date("-43326", false).is_err());
        assert!(
            parse_date("31/02/2020", false)
                .unwrap_err()
                .0
                .contains("not a real date")
        );
        assert!(parse_date("13/13/2020", false).is_err());
        assert!(parse_date("yesterday", false).is_err());
        assert!(parse_date("", false).is_err());
        assert!(parse_date("01/02/20", false).is_err());
    }

    #[test]
    fn date_order_decided_per_column() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        // A 13 or more in the first part: day first.
        let (o, b) = decide_date_order(["03/04/2025", "14/04/2025"], None).unwrap();
        assert_eq!(o, DateOrder::DayFirst);
        assert_eq!(b, OrderBasis::Value("14/04/2025".into()));
        // In the second part: month first, with times as spreadsheets write them.
        let (o, _) =
            decide_date_order(["3/4/2025 10:30:00 AM", "4/14/2025 12:00:00 PM"], None).unwrap();
        assert_eq!(o, DateOrder::MonthFirst);
        assert_eq!(
            parse_date_in("4/14/2025 12:00:00 PM", false, o),
            Ok(d(2025, 4, 14))
        );
        assert_eq!(parse_date_in("3/4/2025", false, o), Ok(d(2025, 3, 4)));
        // Every value ambiguous: day first, said.
        let (o, b) = decide_date_order(["03/04/2025", "05/06/2024", ""], None).unwrap();
        assert_eq!((o, b), (DateOrder::DayFirst, OrderBasis::AllAmbiguous));
        assert_eq!(parse_date_in("03/04/2025", false, o), Ok(d(2025, 4, 3)));
        // Both kinds in one column: refused rather than guessed per row; being told settles it.
        assert!(decide_date_order(["14/04/2025", "04/14/2025"], None).is_err());
        assert_eq!(
            decide_date_order(["14/04/2025", "04/14/2025"], Some(DateOrder::MonthFirst)).unwrap(),
            (DateOrder::MonthFirst, OrderBasis::Told)
        );
        // ISO and serials do not need an order.
        assert_eq!(
            decide_date_order(["2025-04-03", "45000"], None).unwrap().1,
            OrderBasis::NotNeeded
        );
        assert_eq!(
            parse_date_in("2025-04-03", false, DateOrder::MonthFirst),
            Ok(d(2025, 4, 3))
        );
        assert_eq!(DateOrder::parse("mdy"), Some(DateOrder::MonthFirst));
    }

    #[test]
    fn care_home_from_the_columns_a_file_has() {
        use CareHomeBasis::*;
        assert_eq!(
            care_home_from(Some(false), Some(&["Care home service with nursing"]), None),
            (Some(false), Flag)
        );
        assert_eq!(
            care_home_from(
                None,
                Some(&[
                    "Care home service without nursing",
                    "Domiciliary care service"
                ]),
                None
            ),
            (Some(true), ServiceTypes)
        );
        assert_eq!(
            care_home_from(
                None,
                Some(&["Domiciliary care service"]),
                Some("Residential social care")
            ),
            (Some(false), ServiceTypes)
        );
        assert_eq!(
            care_home_from(None, None, Some("Residential social care")),
            (Some(true), InspectionCategory)
        );
        assert_eq!(
            care_home_from(
                None,
                Some(&[]),
                Some("Community based adult social care services")
            ),
            (Some(false), InspectionCategory)
        );
        assert_eq!(care_home_from(None, None, None), (None, Unknown));
        assert_eq!(normalise_region("South West (ADASS Region)"), "South West");
        assert_eq!(
            normalise_region("Yorkshire & Humberside"),
            "Yorkshire and The Humber"
        );
        assert_eq!(normalise_region("East"), "East of England");
        assert_eq!(normalise_region("North West"), "North West");
    }

    #[test]
    fn values_beside_the_four_ratings() {
        assert_eq!(Rating::parse("Not Rated"), Some(Rating::NotRated));
        assert_eq!(
            Rating::parse("Regulations met"),
            Some(Rating::RegulationsMet)
        );
        assert_eq!(Rating::parse("Not applicable"), Some(Rating::NotApplicable));
        assert_eq!(
            Rating::parse("Insufficient evidence to rate"),
            Some(Rating::InsufficientEvidence)
        );
        assert!(!Rating::NotRated.is_rated());
    }

    #[test]
    fn flags_and_postcodes() {
        assert_eq!(parse_flag("Y"), Ok(Some(true)));
        assert_eq!(parse_flag(" n "), Ok(Some(false)));
        assert_eq!(parse_flag(""), Ok(None));
        assert!(parse_flag("maybe").is_err());
        assert_eq!(normalise_postcode("ls14ap").as_deref(), Some("LS1 4AP"));
        assert_eq!(
            normalise_postcode(" EX1\u{a0}2QE ").as_deref(),
            Some("EX1 2QE")
        );
        assert_eq!(normalise_postcode("SW1A 1AA").as_deref(), Some("SW1A 1AA"));
        assert_eq!(normalise_postcode("not a postcode"), None);
        assert_eq!(postcode_district("LS1 4AP"), Some("LS1"));
        assert_eq!(normalise_header("Care Home?"), "carehome");
        assert_eq!(
            normalise_header(" Service / Population Group "),
            "servicepopulationgroup"
        );
    }

    #[test]
    fn saf_thresholds_and_rounding() {
        use saf::*;
        // Safe, 8 statements: all 3s = 24/32 = 75% Good; all 4 = 100% Outstanding.
        assert_eq!(key_question(Domain::Safe, &[3; 8]), Ok((75, Rating::Good)));
        assert_eq!(
            key_question(Domain::Safe, &[4; 8]),
            Ok((100, Rating::Outstanding))
        );
        assert_eq!(
            key_question(Domain::Safe, &[1; 8]),
            Ok((25, Rating::Inadequate))
        );
        // Caring, 5 statements: 3,3,3,3,2 = 14/20 = 70% Good; 2,2,2,2,2 = 50% RI.
        assert_eq!(
            key_question(Domain::Caring, &[3, 3, 3, 3, 2]),
            Ok((70, Rating::Good))
        );
        assert_eq!(
            key_question(Domain::Caring, &[2; 5]),
            Ok((50, Rating::RequiresImprovement))
        );
        // Boundaries: 62.5% rounds half up to 63 = Good (Safe 20/32); 37.5% -> 38 Inadequate
        // (Safe 12/32); 87.5% -> 88 Outstanding (Safe 28/32).
        assert_eq!(
            key_question(Domain::Safe, &[3, 3, 3, 3, 2, 2, 2, 2]),
            Ok((63, Rating::Good))
        );
        assert_eq!(
            key_question(Domain::Safe, &[2, 2, 2, 2, 1, 1, 1, 1]),
            Ok((38, Rating::Inadequate))
        );
        assert_eq!(
            key_question(Domain::Safe, &[4, 4, 4, 4, 3, 3, 3, 3]),
            Ok((88, Rating::Outstanding))
        );
        // Responsive, 7 statements: 18/28 = 64.29% -> 64 Good; 17/28 = 60.7 -> 61 RI.
        assert_eq!(
            key_question(Domain::Responsive, &[3, 3, 3, 3, 2, 2, 2]),
            Ok((64, Rating::Good))
        );
        assert_eq!(
            key_question(Domain::Responsive, &[3, 3, 3, 2, 2, 2, 2]),
            Ok((61, Rating::RequiresImprovement))
        );
        assert_eq!(
            key_question(Domain::Safe, &[3; 7]),
            Err(ScoreError::WrongCount {
                expected: 8,
                got: 7
            })
        );
        assert_eq!(
            key_question(Domain::Caring, &[5, 3, 3, 3, 3]),
            Err(ScoreError::OutOfRange(5))
        );
        let total: usize = Domain::KEY_QUESTIONS.iter().map(|&k| statements(k)).sum();
        assert_eq!(total, 34);
    }

    proptest::proptest! {
        #[test]
        fn saf_percentage_matches_rounded_real_division(scores in proptest::collection::vec(1u8..=4, 1..10)) {
            let pct = saf::percentage(&scores).unwrap();
            let sum: u32 = scores.iter().map(|&s| s as u32).sum();
            let exact = 100.0 * sum as f64 / (4.0 * scores.len() as f64);
            // Half up; compare with a tolerance-free check on the two candidates.
            let expected = (exact + 0.5).floor() as u32;
            // Floating point can put an exact .5 a hair below; accept only that case.
            proptest::prop_assert!(pct == expected || ((exact * 2.0).fract() == 0.0 && pct == expected + 1));
            proptest::prop_assert!((25..=100).contains(&pct));
        }
    }
}
