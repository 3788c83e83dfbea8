//! The council's own Quality Assurance Framework (QAF): a graded outcome per domain and
//! overall (seed 003 §4.9: A Excellent, B Good, C Compliant, D Non-compliant), and the RAG
//! status of action plan items worked out from their dates.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// A grade scale, best first. The default is seed 003's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GradeScale {
    /// (code, name), best first, e.g. ("A", "Excellent")
    pub grades: Vec<(String, String)>,
}

impl Default for GradeScale {
    fn default() -> Self {
        GradeScale {
            grades: [
                ("A", "Excellent"),
                ("B", "Good"),
                ("C", "Compliant"),
                ("D", "Non-compliant"),
            ]
            .iter()
            .map(|(c, n)| (c.to_string(), n.to_string()))
            .collect(),
        }
    }
}

impl GradeScale {
    /// Position of a grade on the scale (0 = best), or None when it is not on it.
    pub fn rank(&self, code: &str) -> Option<usize> {
        self.grades
            .iter()
            .position(|(c, _)| c.eq_ignore_ascii_case(code.trim()))
    }
    pub fn code(&self, rank: usize) -> Option<&str> {
        self.grades.get(rank).map(|(c, _)| c.as_str())
    }
    pub fn name(&self, code: &str) -> Option<&str> {
        self.rank(code).map(|r| self.grades[r].1.as_str())
    }
    /// The worst two grades call for an action plan by default (C Compliant, D
    /// Non-compliant in seed 003: "Where a provider receives a non-compliant grade, the local
    /// authority will issue an action plan").
    pub fn needs_action_plan(&self, code: &str) -> bool {
        self.rank(code).is_some_and(|r| r + 2 >= self.grades.len())
    }
}

/// How domain grades make the overall grade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OverallRule {
    /// The overall grade is the lowest domain grade (the default: a provider is only as good
    /// as its weakest area).
    #[default]
    Lowest,
    /// The median domain grade, rounding towards the lower grade on a tie.
    Median,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GradeError {
    NoDomains,
    NotOnScale(String),
}

/// The overall grade from the domain grades.
pub fn overall_grade(
    scale: &GradeScale,
    domain_grades: &[&str],
    rule: OverallRule,
) -> Result<String, GradeError> {
    if domain_grades.is_empty() {
        return Err(GradeError::NoDomains);
    }
    let mut ranks = Vec::with_capacity(domain_grades.len());
    for g in domain_grades {
        ranks.push(
            scale
                .rank(g)
                .ok_or_else(|| GradeError::NotOnScale(g.to_string()))?,
        );
    }
    ranks.sort_unstable();
    let r = match rule {
        OverallRule::Lowest => *ranks.last().expect("not empty"),
        // Ranks grow worse; the upper median is the lower grade on a tie.
        OverallRule::Median => ranks[ranks.len() / 2],
    };
    Ok(scale.code(r).expect("rank from the scale").to_string())
}

/// An action plan item's status as the council reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rag {
    Red,
    Amber,
    Green,
    /// Done and signed off: no longer RAG-rated.
    Complete,
}

/// Overdue is red, due within `amber_days` amber, otherwise green; complete items are done.
pub fn rag(due: NaiveDate, complete: bool, today: NaiveDate, amber_days: i64) -> Rag {
    if complete {
        Rag::Complete
    } else if due < today {
        Rag::Red
    } else if (due - today).num_days() <= amber_days {
        Rag::Amber
    } else {
        Rag::Green
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowest_domain_makes_the_overall_grade() {
        let s = GradeScale::default();
        assert_eq!(
            overall_grade(&s, &["A", "B", "A", "C", "B"], OverallRule::Lowest),
            Ok("C".into())
        );
        assert_eq!(
            overall_grade(&s, &["a", "a"], OverallRule::Lowest),
            Ok("A".into())
        );
        assert_eq!(
            overall_grade(&s, &["A", "B", "C", "D"], OverallRule::Median),
            Ok("C".into())
        );
        assert_eq!(
            overall_grade(&s, &["A", "B", "B"], OverallRule::Median),
            Ok("B".into())
        );
        assert_eq!(
            overall_grade(&s, &[], OverallRule::Lowest),
            Err(GradeError::NoDomains)
        );
        assert_eq!(
            overall_grade(&s, &["E"], OverallRule::Lowest),
            Err(GradeError::NotOnScale("E".into()))
        );
        assert!(s.needs_action_plan("C") && s.needs_action_plan("D") && !s.needs_action_plan("B"));
        assert_eq!(s.name("d"), Some("Non-compliant"));
    }

    #[test]
    fn rag_from_dates() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        let today = d(2026, 11, 24);
        assert_eq!(rag(d(2026, 11, 23), false, today, 14), Rag::Red);
        assert_eq!(rag(d(2026, 11, 24), false, today, 14), Rag::Amber);
        assert_eq!(rag(d(2026, 12, 8), false, today, 14), Rag::Amber);
        assert_eq!(rag(d(2026, 12, 9), false, today, 14), Rag::Green);
        assert_eq!(rag(d(2020, 1, 1), true, today, 14), Rag::Complete);
    }

    proptest::proptest! {
        #[test]
        fn lowest_is_never_better_than_any_domain(grades in proptest::collection::vec(0usize..4, 1..10)) {
            let s = GradeScale::default();
            let codes: Vec<&str> = grades.iter().map(|&r| s.code(r).unwrap()).collect();
            let o = overall_grade(&s, &codes, OverallRule::Lowest).unwrap();
            let or = s.rank(&o).unwrap();
            proptest::prop_assert!(grades.iter().all(|&g| or >= g));
            proptest::prop_assert!(grades.contains(&or));
            let m = s.rank(&overall_grade(&s, &codes, OverallRule::Median).unwrap()).unwrap();
            proptest::prop_assert!(m <= or);
        }

        #[test]
        fn rag_gets_worse_as_the_day_nears(due_offset in -100i64..100, amber in 0i64..30) {
            let today = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
            let due = today + chrono::Duration::days(due_offset);
            let rank = |r: Rag| match r { Rag::Green => 0, Rag::Amber => 1, Rag::Red => 2, Rag::Complete => 3 };
            let a = rag(due, false, today, amber);
            let b = rag(due, false, today + chrono::Duration::days(1), amber);
            proptest::prop_assert!(rank(b) >= rank(a));
        }
    }
}
