//! The council's own Quality Assurance Framework (QAF): a graded outcome per domain and
//! overall (Leicester domiciliary support, 2018, §4.9: A Excellent, B Good, C Compliant, D Non-compliant), and the RAG
//! status of action plan items worked out from their dates.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// A grade scale, best first. The default is the 2018 Leicester domiciliary support report's.
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
    /// Non-compliant in the 2018 Leicester domiciliary support report: "Where a provider receives a non-compliant grade, the local
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

/// One domain of the council's QAF, with the standards a visit records findings against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QafDomain {
    pub name: String,
    pub standards: Vec<String>,
}

/// The council's Quality Assurance Framework: its domains and standards, grade scale and the
/// rule that makes the overall grade. The default is the 2018 Leicester domiciliary support report's QAF, modelled on the CQC key
/// questions, with CQC's quality statements as its standards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Framework {
    pub domains: Vec<QafDomain>,
    pub scale: GradeScale,
    pub rule: OverallRule,
}

impl Default for Framework {
    fn default() -> Self {
        let mut domains: Vec<QafDomain> = Vec::new();
        for (kq, statement) in crate::themes::QUALITY_STATEMENTS {
            match domains.last_mut() {
                Some(d) if d.name == kq => d.standards.push(statement.to_string()),
                _ => domains.push(QafDomain {
                    name: kq.to_string(),
                    standards: vec![statement.to_string()],
                }),
            }
        }
        Framework {
            domains,
            scale: GradeScale::default(),
            rule: OverallRule::Lowest,
        }
    }
}

impl Framework {
    /// The domains as an admin edits them: one a line, "Name: standard; standard; ...".
    pub fn domains_text(&self) -> String {
        self.domains
            .iter()
            .map(|d| format!("{}: {}", d.name, d.standards.join("; ")))
            .collect::<Vec<_>>()
            .join("\n")
    }
    /// The scale as an admin edits it: one grade a line, best first, "A Excellent".
    pub fn scale_text(&self) -> String {
        self.scale
            .grades
            .iter()
            .map(|(c, n)| format!("{c} {n}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Reads domains written one a line as "Name: standard; standard". Names must be unique; a
/// domain may have no standards (findings are then recorded for the domain as a whole).
pub fn parse_domains(text: &str) -> Result<Vec<QafDomain>, String> {
    let mut out: Vec<QafDomain> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (name, rest) = line.split_once(':').unwrap_or((line, ""));
        let name = name.trim();
        if name.is_empty() {
            return Err(format!(
                "Line {}: give the domain a name before the colon",
                i + 1
            ));
        }
        if out.iter().any(|d| d.name.eq_ignore_ascii_case(name)) {
            return Err(format!("Line {}: the domain {name} is listed twice", i + 1));
        }
        let standards: Vec<String> = rest
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        if standards.len() > 30 {
            return Err(format!("Line {}: at most 30 standards a domain", i + 1));
        }
        out.push(QafDomain {
            name: name.to_string(),
            standards,
        });
    }
    if out.is_empty() {
        return Err("Give at least one domain".into());
    }
    if out.len() > 12 {
        return Err("Give at most 12 domains".into());
    }
    Ok(out)
}

/// Reads a grade scale written one grade a line, best first, as "code name" ("A Excellent").
/// Codes are short (1–3 letters or digits) and unique; at least two grades.
pub fn parse_scale(text: &str) -> Result<GradeScale, String> {
    let mut grades: Vec<(String, String)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (code, name) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let code = code.trim().to_uppercase();
        if code.is_empty() || code.len() > 3 || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(format!(
                "Line {}: start with a grade code of 1 to 3 letters or digits, like A",
                i + 1
            ));
        }
        if name.trim().is_empty() {
            return Err(format!(
                "Line {}: give grade {code} a name, like {code} Good",
                i + 1
            ));
        }
        if grades.iter().any(|(c, _)| *c == code) {
            return Err(format!("Line {}: grade {code} is listed twice", i + 1));
        }
        grades.push((code, name.trim().to_string()));
    }
    if grades.len() < 2 {
        return Err("Give at least two grades, best first".into());
    }
    Ok(GradeScale { grades })
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
    fn the_default_framework_is_seed_003s_on_the_cqc_key_questions() {
        let f = Framework::default();
        let names: Vec<&str> = f.domains.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(
            names,
            ["Safe", "Effective", "Caring", "Responsive", "Well-led"]
        );
        let n: Vec<usize> = f.domains.iter().map(|d| d.standards.len()).collect();
        assert_eq!(n, [8, 6, 5, 7, 8]);
        assert_eq!(f.scale, GradeScale::default());
        // What the admin sees reads back to the same framework.
        assert_eq!(parse_domains(&f.domains_text()).unwrap(), f.domains);
        assert_eq!(parse_scale(&f.scale_text()).unwrap(), f.scale);
    }

    #[test]
    fn framework_text_is_checked_line_by_line() {
        let d = parse_domains("Safe: Medicines; Staffing\n\nWell-led\n").unwrap();
        assert_eq!(d[0].standards, ["Medicines", "Staffing"]);
        assert!(d[1].standards.is_empty());
        assert_eq!(
            parse_domains("Safe: a\nsafe: b").unwrap_err(),
            "Line 2: the domain safe is listed twice"
        );
        assert_eq!(
            parse_domains(": a").unwrap_err(),
            "Line 1: give the domain a name before the colon"
        );
        assert!(parse_domains("  \n").is_err());
        let s = parse_scale("1 Outstanding\n2 Good\n3 Poor").unwrap();
        assert_eq!(s.code(2), Some("3"));
        assert!(s.needs_action_plan("2") && !s.needs_action_plan("1"));
        assert_eq!(
            parse_scale("A Good\na Bad").unwrap_err(),
            "Line 2: grade A is listed twice"
        );
        assert_eq!(
            parse_scale("A\nB Bad").unwrap_err(),
            "Line 1: give grade A a name, like A Good"
        );
        assert!(parse_scale("ABCD Long").is_err());
        assert!(parse_scale("A Only").is_err());
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
