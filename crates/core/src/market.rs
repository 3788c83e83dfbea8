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
