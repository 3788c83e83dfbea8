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
            "nopublishedrating" | "notyetrated" | "notrated" => Rating::NoPublishedRating,
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
        (nums[2], nums[1], nums[0])
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
