//! A location's own rating: the one rule, written once, that every figure uses (the market
//! picture, the watch list, the risk tool, brokerage's quality ranking and every report).
//!
//! CQC publishes several ratings for one location: the location-wide ("Overall") rating, a
//! rating per service group (`Care Homes`, `Homecare`, `Supported Living`... in the "Latest
//! ratings" file, `asgRatings[]` in the API), ratings per population group (GP practices and
//! hospitals), and since 2024 ratings under the Single Assessment Framework beside those of
//! the earlier inspection framework. The rule:
//!
//! 1. Only what was published on or before the date asked about counts.
//! 2. The candidates are the location-wide rating and the rating of the location's own
//!    service group (`Care Homes` for a care home, `Homecare` for home care, `Supported
//!    Living` for supported living; any service group when the location's kind is not
//!    known). Population groups never stand for the location.
//! 3. A value that is not a rating (`Not Rated`, `Inspected but not rated`, `No published
//!    rating`, `Not applicable`, `Regulations met`) never replaces a rating: the latest
//!    rating before it stands. `Insufficient evidence to rate` does replace it (CQC found it
//!    could not rate), though it is not one of the four.
//! 4. Of the candidates left, the latest published wins, whichever framework it came from;
//!    on the same date the location-wide rating wins over a service group's, and the Single
//!    Assessment Framework over the earlier framework.
//! 5. With no candidate, the location has no rating; the latest value it was given (say
//!    `Not Rated`) is kept to be shown.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::cqc::Rating;

/// Which of CQC's assessment frameworks a published rating came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Framework {
    /// The file does not say (the "Latest ratings" file and location exports).
    NotSaid,
    /// Inspections under the key lines of enquiry (2014 to 2023): the API's
    /// `currentRatings` and `historicRatings`.
    Inspection,
    /// The Single Assessment Framework (from 2024): the API's `assessment[]`.
    Saf,
}

impl Framework {
    pub fn as_str(self) -> &'static str {
        match self {
            Framework::NotSaid => "not_said",
            Framework::Inspection => "inspection",
            Framework::Saf => "saf",
        }
    }
    /// The stored form: none where the file did not say.
    pub fn stored(self) -> Option<&'static str> {
        (self != Framework::NotSaid).then(|| self.as_str())
    }
    pub fn parse(s: &str) -> Framework {
        match s {
            "inspection" => Framework::Inspection,
            "saf" => Framework::Saf,
            _ => Framework::NotSaid,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Framework::NotSaid => "Not said by the file",
            Framework::Inspection => "Inspection (2014 framework)",
            Framework::Saf => "Single Assessment Framework",
        }
    }
}

/// What a service or population group name stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Group {
    /// The rating of the location as a whole (`Overall`).
    LocationWide,
    /// A service group of adult social care.
    Service(ServiceKind),
    /// A population group (older people, working age people...) or any other group.
    Population,
}

/// The kinds of adult social care a service group, or a location, can be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ServiceKind {
    CareHome,
    HomeCare,
    SupportedLiving,
    /// Shared Lives, extra care housing and the like.
    Other,
}

/// Names as CQC writes them, in any case and spacing.
pub fn group_of(name: &str) -> Group {
    let k: String = name
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect::<String>()
        .to_lowercase();
    match k.as_str() {
        "" | "overall" | "location" => Group::LocationWide,
        "carehomes"
        | "carehome"
        | "carehomeservices"
        | "residentialhomes"
        | "nursinghomes"
        | "residentialandnursingcare" => Group::Service(ServiceKind::CareHome),
        "homecare" | "homecareagencies" | "domiciliarycare" | "homecareservices" => {
            Group::Service(ServiceKind::HomeCare)
        }
        "supportedliving" | "supportedlivingservices" => {
            Group::Service(ServiceKind::SupportedLiving)
        }
        "sharedlives" | "extracarehousing" | "extracarehousingservices" => {
            Group::Service(ServiceKind::Other)
        }
        _ => Group::Population,
    }
}

/// One published rating of a location, at the overall level of its group.
#[derive(Debug, Clone, PartialEq)]
pub struct Published<'a> {
    pub group: &'a str,
    pub rating: Rating,
    /// None for a value given without a date (a `Not Rated` row).
    pub date: Option<NaiveDate>,
    pub framework: Framework,
}

/// Why the rule chose what it chose: counted on the data quality page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Decided {
    /// The location-wide rating.
    LocationWide,
    /// The location-wide value is not a rating (or is older): its service group's rating.
    ServiceGroup,
    /// Nothing that counts as a rating was published: the location is not rated.
    NotRated,
}

impl Decided {
    pub const ALL: [Decided; 3] = [
        Decided::LocationWide,
        Decided::ServiceGroup,
        Decided::NotRated,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Decided::LocationWide => "location_wide",
            Decided::ServiceGroup => "service_group",
            Decided::NotRated => "not_rated",
        }
    }
    pub fn parse(s: &str) -> Option<Decided> {
        Decided::ALL.into_iter().find(|d| d.as_str() == s)
    }
    pub fn label(self) -> &'static str {
        match self {
            Decided::LocationWide => "The location-wide (Overall) rating",
            Decided::ServiceGroup => {
                "Its service group's rating (the Overall value is not a rating, or older)"
            }
            Decided::NotRated => "No rating published: not rated",
        }
    }
}

/// The outcome of the rule for one location.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnRating {
    /// The rating that stands, with its date, group and framework; None when not rated.
    pub rating: Option<(Rating, NaiveDate)>,
    pub group: Option<String>,
    pub framework: Option<Framework>,
    pub decided: Decided,
    /// The latest value given when no rating stands ("Not Rated" and the like), to show.
    pub shown: Option<Rating>,
}

/// Whether a value replaces the rating before it (rule 3).
pub fn stands(r: Rating) -> bool {
    r.is_rated() || r == Rating::InsufficientEvidence
}

/// The rule (see the module's documentation). `kind` is the location's own kind of service,
/// when known; `as_at` the date asked about (None: everything loaded).
pub fn own_rating(
    published: &[Published<'_>],
    kind: Option<ServiceKind>,
    as_at: Option<NaiveDate>,
) -> OwnRating {
    let in_time = |p: &&Published| match (p.date, as_at) {
        (Some(d), Some(a)) => d <= a,
        (Some(_), None) => true,
        (None, _) => true,
    };
    let own_group = |p: &Published| match group_of(p.group) {
        Group::LocationWide => Some(true),
        Group::Service(k) => match kind {
            None => Some(false),
            Some(own) => (k == own).then_some(false),
        },
        Group::Population => None,
    };
    // (date, location-wide first, SAF first): the greatest wins.
    let mut best: Option<(NaiveDate, bool, bool, &Published)> = None;
    let mut shown: Option<(Option<NaiveDate>, Rating)> = None;
    for p in published.iter().filter(in_time) {
        let Some(location_wide) = own_group(p) else {
            continue;
        };
        match (stands(p.rating), p.date) {
            (true, Some(d)) => {
                let key = (d, location_wide, p.framework == Framework::Saf);
                if best.is_none_or(|(bd, bl, bs, _)| key > (bd, bl, bs)) {
                    best = Some((key.0, key.1, key.2, p));
                }
            }
            _ => {
                if shown.is_none_or(|(sd, _)| p.date > sd) {
                    shown = Some((p.date, p.rating));
                }
            }
        }
    }
    match best {
        Some((d, location_wide, _, p)) => OwnRating {
            rating: Some((p.rating, d)),
            group: Some(p.group.to_string()),
            framework: Some(p.framework),
            decided: if location_wide {
                Decided::LocationWide
            } else {
                Decided::ServiceGroup
            },
            shown: None,
        },
        None => OwnRating {
            rating: None,
            group: None,
            framework: None,
            decided: Decided::NotRated,
            shown: shown.map(|s| s.1),
        },
    }
}

/// The kind of service a location is, for rule 2: a care home is one; otherwise home care
/// or supported living where its service types say exactly one of them; otherwise unknown.
pub fn location_kind(care_home: Option<bool>, service_types: &[&str]) -> Option<ServiceKind> {
    if care_home == Some(true) {
        return Some(ServiceKind::CareHome);
    }
    let has = |needle: &str| {
        service_types
            .iter()
            .any(|s| s.to_lowercase().contains(needle))
    };
    match (has("domiciliary"), has("supported living")) {
        (true, false) => Some(ServiceKind::HomeCare),
        (false, true) => Some(ServiceKind::SupportedLiving),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, dd: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, dd).unwrap()
    }
    fn p(group: &str, rating: Rating, date: Option<NaiveDate>, f: Framework) -> Published<'_> {
        Published {
            group,
            rating,
            date,
            framework: f,
        }
    }
    use Framework::*;
    use Rating::*;

    #[test]
    fn location_wide_rating_stands() {
        let r = own_rating(
            &[p("Overall", Good, Some(d(2019, 5, 1)), NotSaid)],
            Some(ServiceKind::CareHome),
            None,
        );
        assert_eq!(r.rating, Some((Good, d(2019, 5, 1))));
        assert_eq!(r.decided, Decided::LocationWide);
    }

    #[test]
    fn not_rated_overall_beside_a_rated_care_homes_group() {
        // The 2025 "Latest ratings" file: Overall "Not Rated" with no date, Care Homes Good.
        let r = own_rating(
            &[
                p("Overall", NotRated, None, NotSaid),
                p("Care Homes", Good, Some(d(2025, 3, 4)), NotSaid),
            ],
            Some(ServiceKind::CareHome),
            None,
        );
        assert_eq!(r.rating, Some((Good, d(2025, 3, 4))));
        assert_eq!(r.decided, Decided::ServiceGroup);
        assert_eq!(r.group.as_deref(), Some("Care Homes"));
    }

    #[test]
    fn another_service_groups_rating_does_not_stand_for_a_care_home() {
        let r = own_rating(
            &[
                p("Overall", NotRated, None, NotSaid),
                p("Homecare", Inadequate, Some(d(2025, 3, 4)), NotSaid),
            ],
            Some(ServiceKind::CareHome),
            None,
        );
        assert_eq!(r.rating, None);
        assert_eq!(r.decided, Decided::NotRated);
        assert_eq!(r.shown, Some(NotRated));
        // Kind unknown: any service group's rating stands.
        let r = own_rating(
            &[p("Homecare", Inadequate, Some(d(2025, 3, 4)), NotSaid)],
            None,
            None,
        );
        assert_eq!(r.rating, Some((Inadequate, d(2025, 3, 4))));
    }

    #[test]
    fn population_groups_never_stand() {
        let r = own_rating(
            &[p("Older people", Outstanding, Some(d(2020, 1, 1)), NotSaid)],
            None,
            None,
        );
        assert_eq!(r.decided, Decided::NotRated);
    }

    #[test]
    fn latest_of_the_two_frameworks_wins() {
        // A 2019 inspection rating and a 2025 SAF rating: the SAF one is current.
        let both = [
            p("Overall", Good, Some(d(2019, 6, 1)), Inspection),
            p("Care Homes", RequiresImprovement, Some(d(2025, 2, 10)), Saf),
        ];
        let r = own_rating(&both, Some(ServiceKind::CareHome), None);
        assert_eq!(r.rating, Some((RequiresImprovement, d(2025, 2, 10))));
        assert_eq!(r.framework, Some(Saf));
        // As at 2024 the inspection rating still stood.
        let r = own_rating(&both, Some(ServiceKind::CareHome), Some(d(2024, 12, 31)));
        assert_eq!(r.rating, Some((Good, d(2019, 6, 1))));
        assert_eq!(r.decided, Decided::LocationWide);
    }

    #[test]
    fn saf_only_rated_home() {
        let r = own_rating(
            &[p("Care Homes", Outstanding, Some(d(2025, 7, 1)), Saf)],
            Some(ServiceKind::CareHome),
            None,
        );
        assert_eq!(r.rating, Some((Outstanding, d(2025, 7, 1))));
        assert_eq!(r.framework, Some(Saf));
    }

    #[test]
    fn same_date_location_wide_then_saf_wins() {
        let r = own_rating(
            &[
                p("Care Homes", Good, Some(d(2025, 1, 1)), Saf),
                p(
                    "Overall",
                    RequiresImprovement,
                    Some(d(2025, 1, 1)),
                    Inspection,
                ),
            ],
            Some(ServiceKind::CareHome),
            None,
        );
        assert_eq!(r.rating, Some((RequiresImprovement, d(2025, 1, 1))));
        let r = own_rating(
            &[
                p("Overall", Good, Some(d(2025, 1, 1)), Saf),
                p(
                    "Overall",
                    RequiresImprovement,
                    Some(d(2025, 1, 1)),
                    Inspection,
                ),
            ],
            None,
            None,
        );
        assert_eq!(r.rating, Some((Good, d(2025, 1, 1))));
    }

    #[test]
    fn values_that_are_not_ratings_leave_the_rating_standing() {
        for later in [
            InspectedNotRated,
            NotRated,
            NoPublishedRating,
            NotApplicable,
            RegulationsMet,
        ] {
            let r = own_rating(
                &[
                    p("Overall", Good, Some(d(2019, 1, 1)), NotSaid),
                    p("Overall", later, Some(d(2021, 1, 1)), NotSaid),
                ],
                None,
                None,
            );
            assert_eq!(r.rating, Some((Good, d(2019, 1, 1))), "{later:?}");
        }
        // Insufficient evidence to rate replaces it.
        let r = own_rating(
            &[
                p("Overall", Good, Some(d(2019, 1, 1)), NotSaid),
                p(
                    "Overall",
                    InsufficientEvidence,
                    Some(d(2021, 1, 1)),
                    NotSaid,
                ),
            ],
            None,
            None,
        );
        assert_eq!(r.rating, Some((InsufficientEvidence, d(2021, 1, 1))));
    }

    #[test]
    fn only_what_was_published_by_the_date_counts() {
        let r = own_rating(
            &[p("Overall", Good, Some(d(2025, 1, 1)), NotSaid)],
            None,
            Some(d(2024, 1, 1)),
        );
        assert_eq!(r.decided, Decided::NotRated);
    }

    #[test]
    fn groups_and_kinds() {
        assert_eq!(group_of("Overall"), Group::LocationWide);
        assert_eq!(
            group_of("Care Homes"),
            Group::Service(ServiceKind::CareHome)
        );
        assert_eq!(
            group_of("care homes"),
            Group::Service(ServiceKind::CareHome)
        );
        assert_eq!(group_of("Homecare"), Group::Service(ServiceKind::HomeCare));
        assert_eq!(
            group_of("Supported Living"),
            Group::Service(ServiceKind::SupportedLiving)
        );
        assert_eq!(group_of("Older people"), Group::Population);
        assert_eq!(location_kind(Some(true), &[]), Some(ServiceKind::CareHome));
        assert_eq!(
            location_kind(Some(false), &["Domiciliary care service"]),
            Some(ServiceKind::HomeCare)
        );
        assert_eq!(
            location_kind(
                None,
                &["Domiciliary care service", "Supported living service"]
            ),
            None
        );
    }
}
