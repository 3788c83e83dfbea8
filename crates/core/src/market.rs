//! Market figures: counts by rating and the shares of Good or Outstanding, of locations and
//! of beds, with percentages rounded half up to one decimal place in integer arithmetic.

use crate::cqc::Rating;
use serde::Serialize;

/// What the summary needs to know of one location.
#[derive(Debug, Clone, Copy)]
pub struct LocationFacts {
    pub beds: Option<i64>,
    /// The latest overall rating as at the date asked about, if any.
    pub overall: Option<Rating>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    pub locations: u64,
    pub rated: u64,
    pub outstanding: u64,
    pub good: u64,
    pub requires_improvement: u64,
    pub inadequate: u64,
    /// Other published values (Insufficient evidence to rate, Inspected but not rated).
    pub other_rating: u64,
    pub never_rated: u64,
    pub good_or_outstanding: u64,
    /// Good + Outstanding as a % of `rated`, one decimal, half up.
    pub good_or_outstanding_pct: Option<f64>,
    /// Sum of known beds.
    pub beds: i64,
    pub beds_known_for: u64,
    pub beds_in_rated: i64,
    pub beds_good_or_outstanding: i64,
    /// Beds in Good or Outstanding homes as a % of beds in rated homes.
    pub beds_good_or_outstanding_pct: Option<f64>,
}

/// `num / den` as a percentage rounded half up to one decimal place, computed in integers so
/// that 63 of 80 is exactly 78.8 (78.75 rounds up).
pub fn pct_1dp(num: u64, den: u64) -> Option<f64> {
    if den == 0 {
        return None;
    }
    let tenths = (2000 * num as u128 + den as u128) / (2 * den as u128);
    Some(tenths as f64 / 10.0)
}

pub fn summarise<I: IntoIterator<Item = LocationFacts>>(locations: I) -> Summary {
    let mut s = Summary::default();
    for l in locations {
        s.locations += 1;
        if let Some(b) = l.beds {
            s.beds += b;
            s.beds_known_for += 1;
        }
        match l.overall {
            Some(r) if r.is_rated() => {
                s.rated += 1;
                match r {
                    Rating::Outstanding => s.outstanding += 1,
                    Rating::Good => s.good += 1,
                    Rating::RequiresImprovement => s.requires_improvement += 1,
                    _ => s.inadequate += 1,
                }
                if let Some(b) = l.beds {
                    s.beds_in_rated += b;
                    if r.is_good_or_outstanding() {
                        s.beds_good_or_outstanding += b;
                    }
                }
            }
            Some(_) => s.other_rating += 1,
            None => s.never_rated += 1,
        }
    }
    s.good_or_outstanding = s.good + s.outstanding;
    s.good_or_outstanding_pct = pct_1dp(s.good_or_outstanding, s.rated);
    s.beds_good_or_outstanding_pct =
        pct_1dp(s.beds_good_or_outstanding as u64, s.beds_in_rated as u64);
    s
}

/// Care home size bands of the market position statements (Leeds care home quality, 2017, §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum SizeBand {
    /// Fewer than 10 beds
    Small,
    /// 10 to 49 beds
    Medium,
    /// 50 beds or more
    Large,
}

impl SizeBand {
    pub const ALL: [SizeBand; 3] = [SizeBand::Small, SizeBand::Medium, SizeBand::Large];
    pub fn of(beds: i64) -> SizeBand {
        match beds {
            ..=9 => SizeBand::Small,
            10..=49 => SizeBand::Medium,
            _ => SizeBand::Large,
        }
    }
    pub fn key(self) -> &'static str {
        match self {
            SizeBand::Small => "small",
            SizeBand::Medium => "medium",
            SizeBand::Large => "large",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            SizeBand::Small => "Small (fewer than 10 beds)",
            SizeBand::Medium => "Medium (10 to 49 beds)",
            SizeBand::Large => "Large (50 beds or more)",
        }
    }
}

/// The service types the dashboard compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum ServiceGroup {
    CareHomeWithNursing,
    CareHomeWithoutNursing,
    HomeCare,
    SupportedLiving,
}

impl ServiceGroup {
    pub const ALL: [ServiceGroup; 4] = [
        ServiceGroup::CareHomeWithNursing,
        ServiceGroup::CareHomeWithoutNursing,
        ServiceGroup::HomeCare,
        ServiceGroup::SupportedLiving,
    ];
    /// From CQC's service type names (the directory's "Service type - ..." columns and the
    /// API's gacServiceTypes descriptions use the same words).
    pub fn from_cqc(name: &str) -> Option<ServiceGroup> {
        let n = name.to_lowercase();
        if n.contains("care home service with nursing") {
            Some(ServiceGroup::CareHomeWithNursing)
        } else if n.contains("care home service without nursing") {
            Some(ServiceGroup::CareHomeWithoutNursing)
        } else if n.contains("domiciliary care") {
            Some(ServiceGroup::HomeCare)
        } else if n.contains("supported living") {
            Some(ServiceGroup::SupportedLiving)
        } else {
            None
        }
    }
    pub fn key(self) -> &'static str {
        match self {
            ServiceGroup::CareHomeWithNursing => "care-home-with-nursing",
            ServiceGroup::CareHomeWithoutNursing => "care-home-without-nursing",
            ServiceGroup::HomeCare => "home-care",
            ServiceGroup::SupportedLiving => "supported-living",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            ServiceGroup::CareHomeWithNursing => "Care homes with nursing",
            ServiceGroup::CareHomeWithoutNursing => "Care homes without nursing",
            ServiceGroup::HomeCare => "Home care",
            ServiceGroup::SupportedLiving => "Supported living",
        }
    }
}

/// Service user bands / specialisms the dashboard compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Specialism {
    Dementia,
    LearningDisabilityOrAutism,
    MentalHealth,
    PhysicalDisability,
    OlderPeople,
    YoungerAdults,
}

impl Specialism {
    pub const ALL: [Specialism; 6] = [
        Specialism::Dementia,
        Specialism::LearningDisabilityOrAutism,
        Specialism::MentalHealth,
        Specialism::PhysicalDisability,
        Specialism::OlderPeople,
        Specialism::YoungerAdults,
    ];
    /// From the directory's "Service user band - ..." names and the API's specialisms, which
    /// word the same bands differently ("Older People" / "Caring for adults over 65 yrs").
    pub fn from_cqc(name: &str) -> Option<Specialism> {
        let n = name.to_lowercase();
        if n.contains("dementia") {
            Some(Specialism::Dementia)
        } else if n.contains("learning disab") || n.contains("autis") {
            Some(Specialism::LearningDisabilityOrAutism)
        } else if n.contains("mental health") {
            Some(Specialism::MentalHealth)
        } else if n.contains("physical disab") {
            Some(Specialism::PhysicalDisability)
        } else if n.contains("older people") || n.contains("over 65") {
            Some(Specialism::OlderPeople)
        } else if n.contains("younger adults") || n.contains("under 65") {
            Some(Specialism::YoungerAdults)
        } else {
            None
        }
    }
    pub fn key(self) -> &'static str {
        match self {
            Specialism::Dementia => "dementia",
            Specialism::LearningDisabilityOrAutism => "learning-disability-or-autism",
            Specialism::MentalHealth => "mental-health",
            Specialism::PhysicalDisability => "physical-disability",
            Specialism::OlderPeople => "older-people",
            Specialism::YoungerAdults => "younger-adults",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Specialism::Dementia => "Dementia",
            Specialism::LearningDisabilityOrAutism => "Learning disability or autism",
            Specialism::MentalHealth => "Mental health",
            Specialism::PhysicalDisability => "Physical disability",
            Specialism::OlderPeople => "Older people",
            Specialism::YoungerAdults => "Younger adults",
        }
    }
}

/// How many locations rate below Good on a key question, of those rated on it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct KeyQuestionFigure {
    pub rated: u64,
    pub below_good: u64,
    pub below_good_pct: Option<f64>,
}

pub fn key_question_figure<I: IntoIterator<Item = Option<Rating>>>(
    ratings: I,
) -> KeyQuestionFigure {
    let mut f = KeyQuestionFigure::default();
    for r in ratings.into_iter().flatten() {
        if r.is_rated() {
            f.rated += 1;
            if r.is_below_good() {
                f.below_good += 1;
            }
        }
    }
    f.below_good_pct = pct_1dp(f.below_good, f.rated);
    f
}

/// The gap to a target in percentage points (positive: above the target).
pub fn gap_points(actual: Option<f64>, target: f64) -> Option<f64> {
    actual.map(|a| ((a - target) * 10.0).round() / 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_is_half_up_to_one_decimal() {
        assert_eq!(pct_1dp(63, 80), Some(78.8)); // 78.75
        assert_eq!(pct_1dp(124, 146), Some(84.9)); // 84.93
        assert_eq!(pct_1dp(1, 3), Some(33.3));
        assert_eq!(pct_1dp(2, 3), Some(66.7));
        assert_eq!(pct_1dp(1, 8), Some(12.5));
        assert_eq!(pct_1dp(1, 16), Some(6.3)); // 6.25
        assert_eq!(pct_1dp(0, 0), None);
    }

    #[test]
    fn bands_groups_and_specialisms() {
        assert_eq!(SizeBand::of(9), SizeBand::Small);
        assert_eq!(SizeBand::of(10), SizeBand::Medium);
        assert_eq!(SizeBand::of(49), SizeBand::Medium);
        assert_eq!(SizeBand::of(50), SizeBand::Large);
        assert_eq!(
            ServiceGroup::from_cqc("Care home service with nursing"),
            Some(ServiceGroup::CareHomeWithNursing)
        );
        assert_eq!(
            ServiceGroup::from_cqc("Care home service without nursing"),
            Some(ServiceGroup::CareHomeWithoutNursing)
        );
        assert_eq!(
            ServiceGroup::from_cqc("Domiciliary care service"),
            Some(ServiceGroup::HomeCare)
        );
        assert_eq!(
            Specialism::from_cqc("Caring for adults over 65 yrs"),
            Some(Specialism::OlderPeople)
        );
        assert_eq!(
            Specialism::from_cqc("Older People"),
            Some(Specialism::OlderPeople)
        );
        assert_eq!(
            Specialism::from_cqc("Learning disabilities or autistic spectrum disorder"),
            Some(Specialism::LearningDisabilityOrAutism)
        );
        assert_eq!(
            Specialism::from_cqc("Mental health conditions"),
            Some(Specialism::MentalHealth)
        );
        assert_eq!(Specialism::from_cqc("Sensory impairments"), None);
        let kq = key_question_figure([
            Some(Rating::Good),
            Some(Rating::Inadequate),
            Some(Rating::InspectedNotRated),
            None,
        ]);
        assert_eq!(
            (kq.rated, kq.below_good, kq.below_good_pct),
            (2, 1, Some(50.0))
        );
        assert_eq!(gap_points(Some(84.9), 80.0), Some(4.9));
        assert_eq!(gap_points(Some(75.5), 80.0), Some(-4.5));
    }

    #[test]
    fn counts_beds_and_ratings() {
        let f = |beds, r| LocationFacts { beds, overall: r };
        let s = summarise([
            f(Some(10), Some(Rating::Good)),
            f(Some(30), Some(Rating::Inadequate)),
            f(None, Some(Rating::Outstanding)),
            f(Some(5), Some(Rating::InsufficientEvidence)),
            f(Some(7), None),
        ]);
        assert_eq!((s.locations, s.rated, s.good_or_outstanding), (5, 3, 2));
        assert_eq!(s.good_or_outstanding_pct, Some(66.7));
        assert_eq!(
            (
                s.beds,
                s.beds_known_for,
                s.beds_in_rated,
                s.beds_good_or_outstanding
            ),
            (52, 4, 40, 10)
        );
        assert_eq!(s.beds_good_or_outstanding_pct, Some(25.0));
        assert_eq!((s.other_rating, s.never_rated), (1, 1));
    }
}
