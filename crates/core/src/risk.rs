//! The risk tool (Leicester domiciliary support, 2018, §4.8: "a risk tool supporting the local authority in deciding the
//! order in which to assess and visit"): a score per location from transparent, weighted
//! factors. Every factor's points are shown and add up to the score (whole numbers, so the
//! sum is exact).

use crate::cqc::Rating;
use serde::{Deserialize, Serialize};

/// What is known of a location on the day.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RiskInput {
    pub overall: Option<Rating>,
    pub key_questions_below_good: u32,
    /// Days since the current rating was published.
    pub rating_age_days: Option<i64>,
    pub manager_absent: bool,
    pub concerns_high: u32,
    pub concerns_medium: u32,
    pub concerns_low: u32,
    /// The last confirmed QAF grade as a rank on the scale (0 = best), if visited.
    pub qaf_rank: Option<usize>,
    pub qaf_age_days: Option<i64>,
    pub overdue_items: u32,
    /// Staff leaving in a year as a % of headcount, from the latest workforce return.
    pub turnover_pct: Option<f64>,
    /// Agency hours a week for each member of staff, from the latest workforce return.
    pub agency_hours_per_head: Option<f64>,
}

/// Points per factor; configurable, these are the defaults. (Weights saved before a factor
/// existed read with that factor's default.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Weights {
    pub inadequate: i64,
    pub requires_improvement: i64,
    pub good: i64,
    pub outstanding: i64,
    pub not_rated: i64,
    pub per_key_question_below_good: i64,
    pub per_year_since_rating: i64,
    pub max_rating_age: i64,
    pub manager_absent: i64,
    pub concern_high: i64,
    pub concern_medium: i64,
    pub concern_low: i64,
    /// Points for each QAF grade, best first (A, B, C, D)
    pub qaf_grade: Vec<i64>,
    pub qaf_not_visited: i64,
    pub per_year_since_qaf: i64,
    pub max_qaf_age: i64,
    pub per_overdue_item: i64,
    /// Points for each full 10% of yearly staff turnover
    pub per_10pct_turnover: i64,
    pub max_turnover: i64,
    /// Points for each full agency hour a week per member of staff
    pub per_agency_hour_per_head: i64,
    pub max_agency: i64,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            inadequate: 30,
            requires_improvement: 20,
            good: 5,
            outstanding: 0,
            not_rated: 15,
            per_key_question_below_good: 3,
            per_year_since_rating: 2,
            max_rating_age: 10,
            manager_absent: 10,
            concern_high: 8,
            concern_medium: 4,
            concern_low: 1,
            qaf_grade: vec![0, 2, 8, 15],
            qaf_not_visited: 5,
            per_year_since_qaf: 2,
            max_qaf_age: 10,
            per_overdue_item: 5,
            per_10pct_turnover: 1,
            max_turnover: 10,
            per_agency_hour_per_head: 2,
            max_agency: 10,
        }
    }
}

/// One factor's part of the score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Contribution {
    pub factor: &'static str,
    pub points: i64,
}

pub const FACTORS: [&str; 10] = [
    "CQC overall rating",
    "Key questions below Good",
    "Age of the CQC rating",
    "No registered manager",
    "Concerns in the last 12 months",
    "Last QAF grade",
    "Age of the QAF grade",
    "Overdue action plan items",
    "Staff turnover",
    "Agency use",
];

fn years(days: Option<i64>) -> i64 {
    days.map(|d| d.max(0) / 365).unwrap_or(0)
}

/// The score and every factor's contribution, in [`FACTORS`] order.
pub fn score(i: &RiskInput, w: &Weights) -> (i64, Vec<Contribution>) {
    let rating = match i.overall {
        Some(Rating::Inadequate) => w.inadequate,
        Some(Rating::RequiresImprovement) => w.requires_improvement,
        Some(Rating::Good) => w.good,
        Some(Rating::Outstanding) => w.outstanding,
        _ => w.not_rated,
    };
    let rating_age = if i.overall.is_some_and(|r| r.is_rated()) {
        (years(i.rating_age_days) * w.per_year_since_rating).min(w.max_rating_age)
    } else {
        0
    };
    let qaf = match i.qaf_rank {
        Some(r) => w
            .qaf_grade
            .get(r)
            .copied()
            .unwrap_or_else(|| w.qaf_grade.last().copied().unwrap_or(0)),
        None => w.qaf_not_visited,
    };
    let qaf_age = if i.qaf_rank.is_some() {
        (years(i.qaf_age_days) * w.per_year_since_qaf).min(w.max_qaf_age)
    } else {
        0
    };
    let points = [
        rating,
        i.key_questions_below_good as i64 * w.per_key_question_below_good,
        rating_age,
        if i.manager_absent {
            w.manager_absent
        } else {
            0
        },
        i.concerns_high as i64 * w.concern_high
            + i.concerns_medium as i64 * w.concern_medium
            + i.concerns_low as i64 * w.concern_low,
        qaf,
        qaf_age,
        i.overdue_items as i64 * w.per_overdue_item,
        i.turnover_pct
            .map(|t| {
                ((t.max(0.0) / 10.0).floor() as i64 * w.per_10pct_turnover).min(w.max_turnover)
            })
            .unwrap_or(0),
        i.agency_hours_per_head
            .map(|a| (a.max(0.0).floor() as i64 * w.per_agency_hour_per_head).min(w.max_agency))
            .unwrap_or(0),
    ];
    let parts: Vec<Contribution> = FACTORS
        .iter()
        .zip(points)
        .map(|(f, p)| Contribution {
            factor: f,
            points: p,
        })
        .collect();
    (points.iter().sum(), parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_worked_cases() {
        let w = Weights::default();
        // Inadequate (30), 3 key questions below Good (9), rated 2.5 years ago (2 years: 4),
        // no manager (10), one high and two low concerns (8 + 2), QAF D (15) a year ago (2),
        // two overdue items (10): 30+9+4+10+10+15+2+10 = 90.
        let bad = RiskInput {
            overall: Some(Rating::Inadequate),
            key_questions_below_good: 3,
            rating_age_days: Some(913),
            manager_absent: true,
            concerns_high: 1,
            concerns_low: 2,
            qaf_rank: Some(3),
            qaf_age_days: Some(400),
            overdue_items: 2,
            ..Default::default()
        };
        let (s, parts) = score(&bad, &w);
        assert_eq!(s, 90);
        assert_eq!(
            parts.iter().map(|p| p.points).collect::<Vec<_>>(),
            [30, 9, 4, 10, 10, 15, 2, 10, 0, 0]
        );
        // The workforce return: 36% yearly turnover (3 points), 2.5 agency hours a week per
        // head (2 full hours: 4 points); 250% turnover is capped at 10.
        let returns = RiskInput {
            turnover_pct: Some(36.0),
            agency_hours_per_head: Some(2.5),
            ..bad.clone()
        };
        assert_eq!(score(&returns, &w).0, 90 + 3 + 4);
        let churn = RiskInput {
            turnover_pct: Some(250.0),
            ..Default::default()
        };
        assert_eq!(score(&churn, &w).1[8].points, 10);
        // Good (5), rated 6 years ago (12, capped at 10), never visited by the QAF (5): 20.
        let old_good = RiskInput {
            overall: Some(Rating::Good),
            rating_age_days: Some(6 * 365 + 2),
            ..Default::default()
        };
        assert_eq!(score(&old_good, &w).0, 20);
        // Never rated (15), no rating age, never visited (5): 20.
        assert_eq!(score(&RiskInput::default(), &w).0, 20);
        // Outstanding, fresh, QAF A this month: 0.
        let best = RiskInput {
            overall: Some(Rating::Outstanding),
            rating_age_days: Some(30),
            qaf_rank: Some(0),
            qaf_age_days: Some(10),
            ..Default::default()
        };
        assert_eq!(score(&best, &w).0, 0);
    }

    proptest::proptest! {
        #[test]
        fn contributions_add_up_to_the_score(kq in 0u32..6, age in 0i64..5000, high in 0u32..5, med in 0u32..5, low in 0u32..5, overdue in 0u32..8, q in proptest::option::of(0usize..4), absent: bool) {
            let i = RiskInput { overall: Some(Rating::RequiresImprovement), key_questions_below_good: kq, rating_age_days: Some(age), manager_absent: absent, concerns_high: high, concerns_medium: med, concerns_low: low, qaf_rank: q, qaf_age_days: Some(age), overdue_items: overdue, turnover_pct: Some(age as f64 / 20.0), agency_hours_per_head: Some(kq as f64 / 2.0) };
            let (s, parts) = score(&i, &Weights::default());
            proptest::prop_assert_eq!(s, parts.iter().map(|p| p.points).sum::<i64>());
            proptest::prop_assert_eq!(parts.len(), FACTORS.len());
            // More concerns never lower the score.
            let more = RiskInput { concerns_high: high + 1, ..i.clone() };
            proptest::prop_assert!(score(&more, &Weights::default()).0 > s);
        }
    }
}
