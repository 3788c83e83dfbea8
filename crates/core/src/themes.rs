//! Thematic analysis (Leicester quality of regulated care, 2023, §4.11–4.18): issues found in CQC reports and QA visits are
//! tagged with themes, counted by theme, and each theme is met by training offers. Themes are
//! linked to CQC's 34 quality statements; the system suggests themes from key phrases and the
//! officer confirms them.

use serde::{Deserialize, Serialize};

/// CQC's Single Assessment Framework quality statements, by key question (34 in all:
/// Safe 8, Effective 6, Caring 5, Responsive 7, Well-led 8).
pub const QUALITY_STATEMENTS: [(&str, &str); 34] = [
    ("Safe", "Learning culture"),
    ("Safe", "Safe systems, pathways and transitions"),
    ("Safe", "Safeguarding"),
    ("Safe", "Involving people to manage risks"),
    ("Safe", "Safe environments"),
    ("Safe", "Safe and effective staffing"),
    ("Safe", "Infection prevention and control"),
    ("Safe", "Medicines optimisation"),
    ("Effective", "Assessing needs"),
    ("Effective", "Delivering evidence-based care and treatment"),
    ("Effective", "How staff, teams and services work together"),
    ("Effective", "Supporting people to live healthier lives"),
    ("Effective", "Monitoring and improving outcomes"),
    ("Effective", "Consent to care and treatment"),
    ("Caring", "Kindness, compassion and dignity"),
    ("Caring", "Treating people as individuals"),
    ("Caring", "Independence, choice and control"),
    ("Caring", "Responding to people's immediate needs"),
    ("Caring", "Workforce wellbeing and enablement"),
    ("Responsive", "Person-centred care"),
    ("Responsive", "Care provision, integration and continuity"),
    ("Responsive", "Providing information"),
    ("Responsive", "Listening to and involving people"),
    ("Responsive", "Equity in access"),
    ("Responsive", "Equity in experiences and outcomes"),
    ("Responsive", "Planning for the future"),
    ("Well-led", "Shared direction and culture"),
    ("Well-led", "Capable, compassionate and inclusive leaders"),
    ("Well-led", "Freedom to speak up"),
    ("Well-led", "Workforce equality, diversity and inclusion"),
    ("Well-led", "Governance, management and sustainability"),
    ("Well-led", "Partnerships and communities"),
    ("Well-led", "Learning, improvement and innovation"),
    ("Well-led", "Environmental sustainability"),
];

pub fn is_quality_statement(s: &str) -> bool {
    QUALITY_STATEMENTS
        .iter()
        .any(|(_, q)| q.eq_ignore_ascii_case(s.trim()))
}

/// A theme as configured by the council.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThemeDef {
    pub name: String,
    /// Words or phrases that, found in an issue's text, suggest this theme.
    pub key_phrases: Vec<String>,
    /// The CQC quality statements the theme concerns.
    pub quality_statements: Vec<String>,
    /// Whether the theme counts in the training needs analysis (Leicester quality of regulated care, 2023, §4.12: Covid-19
    /// "has not been included in the analysis of training needs").
    pub training_need: bool,
}

fn def(name: &str, phrases: &[&str], statements: &[&str], training_need: bool) -> ThemeDef {
    ThemeDef {
        name: name.into(),
        key_phrases: phrases.iter().map(|s| s.to_string()).collect(),
        quality_statements: statements.iter().map(|s| s.to_string()).collect(),
        training_need,
    }
}

/// Seed 004's 19 themes, in the seed's order, with the quality statements each concerns and
/// starting key phrases (a council edits both).
pub fn default_themes() -> Vec<ThemeDef> {
    vec![
        def(
            "Medication",
            &[
                "medication",
                "medicines",
                "medicine",
                "MAR chart",
                "controlled drug",
                "PRN",
                "topical cream",
            ],
            &["Medicines optimisation"],
            true,
        ),
        def(
            "Health & Safety",
            &[
                "health and safety",
                "health & safety",
                "risk assessment",
                "legionella",
                "window restrictor",
                "hot water",
                "COSHH",
                "premises",
            ],
            &["Safe environments", "Involving people to manage risks"],
            true,
        ),
        def(
            "Nutrition / Eating & Drinking",
            &[
                "nutrition",
                "eating",
                "drinking",
                "dietary",
                "diet",
                "fluid",
                "hydration",
                "thickener",
                "weight loss",
                "malnutrition",
                "choking",
            ],
            &[
                "Supporting people to live healthier lives",
                "Assessing needs",
            ],
            true,
        ),
        def(
            "Inclusion and person-centred support",
            &[
                "person-centred",
                "person centred",
                "inclusion",
                "activities",
                "preferences",
                "social isolation",
            ],
            &[
                "Person-centred care",
                "Treating people as individuals",
                "Equity in experiences and outcomes",
            ],
            true,
        ),
        def(
            "Infection Prevention and Control",
            &[
                "infection",
                "IPC",
                "hand hygiene",
                "cleanliness",
                "cleaning",
                "PPE",
                "clinical waste",
            ],
            &["Infection prevention and control"],
            true,
        ),
        def(
            "Leadership",
            &[
                "leadership",
                "governance",
                "oversight",
                "audit",
                "audits",
                "quality assurance",
                "registered manager",
                "management",
            ],
            &[
                "Capable, compassionate and inclusive leaders",
                "Governance, management and sustainability",
                "Shared direction and culture",
            ],
            true,
        ),
        def(
            "Staff training & Development",
            &[
                "training",
                "supervision",
                "competency",
                "competencies",
                "induction",
                "appraisal",
            ],
            &[
                "Workforce wellbeing and enablement",
                "Learning, improvement and innovation",
            ],
            true,
        ),
        def(
            "Assessment / care planning / monitoring & review",
            &[
                "care plan",
                "care plans",
                "care planning",
                "assessment",
                "review",
                "monitoring",
                "records",
            ],
            &[
                "Assessing needs",
                "Monitoring and improving outcomes",
                "Delivering evidence-based care and treatment",
            ],
            true,
        ),
        def(
            "Safeguarding / incidents / lessons learnt",
            &[
                "safeguarding",
                "incident",
                "incidents",
                "accident",
                "accidents",
                "lessons learnt",
                "lessons learned",
                "abuse",
            ],
            &["Safeguarding", "Learning culture"],
            true,
        ),
        def(
            "Mental Capacity",
            &[
                "mental capacity",
                "MCA",
                "best interest",
                "best interests",
                "DoLS",
                "deprivation of liberty",
                "consent",
            ],
            &["Consent to care and treatment"],
            true,
        ),
        def(
            "Staffing levels / deployment",
            &[
                "staffing levels",
                "staffing level",
                "deployment",
                "deployed",
                "not enough staff",
                "dependency tool",
                "call bell",
                "call bells",
            ],
            &["Safe and effective staffing"],
            true,
        ),
        def(
            "Moving & Handling",
            &[
                "moving and handling",
                "moving & handling",
                "hoist",
                "transfer",
                "manual handling",
                "sling",
            ],
            &["Involving people to manage risks"],
            true,
        ),
        def(
            "Recruitment",
            &[
                "recruitment",
                "DBS",
                "references",
                "employment history",
                "pre-employment",
            ],
            &["Safe and effective staffing"],
            true,
        ),
        def(
            "Fire Safety",
            &[
                "fire",
                "PEEP",
                "PEEPs",
                "evacuation",
                "fire door",
                "fire doors",
                "fire drill",
            ],
            &["Safe environments"],
            true,
        ),
        def(
            "Pressure area care",
            &[
                "pressure area",
                "pressure ulcer",
                "pressure sore",
                "repositioning",
                "pressure relieving",
                "skin integrity",
            ],
            &[
                "Delivering evidence-based care and treatment",
                "Involving people to manage risks",
            ],
            true,
        ),
        def(
            "Diabetes",
            &[
                "diabetes",
                "diabetic",
                "blood glucose",
                "blood sugar",
                "insulin",
            ],
            &[
                "Delivering evidence-based care and treatment",
                "Supporting people to live healthier lives",
            ],
            true,
        ),
        def(
            "Personal care / Dignity & Control",
            &[
                "dignity",
                "personal care",
                "privacy",
                "choice",
                "control",
                "continence",
                "oral care",
            ],
            &[
                "Kindness, compassion and dignity",
                "Independence, choice and control",
            ],
            true,
        ),
        def(
            "End of Life",
            &[
                "end of life",
                "end-of-life",
                "palliative",
                "advance care plan",
                "DNACPR",
                "ReSPECT",
            ],
            &["Planning for the future"],
            true,
        ),
        def(
            "Covid-19",
            &[
                "covid",
                "covid-19",
                "coronavirus",
                "lateral flow",
                "outbreak",
            ],
            &["Infection prevention and control"],
            false,
        ),
    ]
}

/// Lower-cased words of a text, splitting on anything that is not a letter, digit, hyphen
/// or ampersand (so "MAR chart," and "person-centred" survive as words).
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '&' || c == '\''))
        .map(|w| w.trim_matches(['-', '\'']).to_lowercase())
        .filter(|w| !w.is_empty())
        .collect()
}

/// A text word matches a phrase word when they are the same or the text has the plural
/// ("charts" for "chart", "boxes" for "box"): reports write both.
fn word_matches(text: &str, phrase: &str) -> bool {
    text == phrase
        || text.strip_suffix('s') == Some(phrase)
        || text.strip_suffix("es") == Some(phrase)
}

/// Does the phrase occur in the text as whole words ("fire" is found in "fire doors were
/// propped" but not in "firearms"; "PRN" not in "sprint"; "MAR chart" in "MAR charts")?
pub fn phrase_in(text_words: &[String], phrase: &str) -> bool {
    let p = words(phrase);
    if p.is_empty() || p.len() > text_words.len() {
        return false;
    }
    text_words
        .windows(p.len())
        .any(|w| w.iter().zip(&p).all(|(t, q)| word_matches(t, q)))
}

/// The themes (by index into `themes`) whose key phrases occur in the text, with the
/// phrases that matched, in the themes' order. A suggestion only: the officer confirms.
pub fn suggest(text: &str, themes: &[&[String]]) -> Vec<(usize, Vec<String>)> {
    let w = words(text);
    themes
        .iter()
        .enumerate()
        .filter_map(|(i, phrases)| {
            let hits: Vec<String> = phrases
                .iter()
                .filter(|p| phrase_in(&w, p))
                .cloned()
                .collect();
            (!hits.is_empty()).then_some((i, hits))
        })
        .collect()
}

/// Counts issues per theme: an issue tagged with two themes counts once under each (seed
/// 004 counts "specific issues" under each heading). Returns (theme index, count) for every
/// theme, most issues first, ties in the configured order.
pub fn counts(n_themes: usize, tags: &[Vec<usize>]) -> Vec<(usize, u64)> {
    let mut c = vec![0u64; n_themes];
    for t in tags {
        let mut seen = t.clone();
        seen.sort_unstable();
        seen.dedup();
        for i in seen {
            if i < n_themes {
                c[i] += 1;
            }
        }
    }
    let mut out: Vec<(usize, u64)> = c.into_iter().enumerate().collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nineteen_themes_linked_to_real_statements() {
        let t = default_themes();
        assert_eq!(t.len(), 19);
        assert_eq!(QUALITY_STATEMENTS.len(), 34);
        for kq in ["Safe", "Effective", "Caring", "Responsive", "Well-led"] {
            let n = QUALITY_STATEMENTS.iter().filter(|(k, _)| *k == kq).count();
            let want = match kq {
                "Safe" | "Well-led" => 8,
                "Effective" => 6,
                "Caring" => 5,
                _ => 7,
            };
            assert_eq!(n, want, "{kq}");
        }
        for th in &t {
            assert!(!th.quality_statements.is_empty(), "{}", th.name);
            for s in &th.quality_statements {
                assert!(is_quality_statement(s), "{}: {s}", th.name);
            }
        }
        assert_eq!(t.iter().filter(|x| !x.training_need).count(), 1);
    }

    #[test]
    fn phrases_match_whole_words_only() {
        let w = words("Fire doors were propped open; PRN protocols missing.");
        assert!(phrase_in(&w, "fire doors"));
        assert!(phrase_in(&w, "fire door"), "plural in the text");
        assert!(
            !phrase_in(&words("one fire door"), "fire doors"),
            "not the other way"
        );
        assert!(phrase_in(&w, "prn"));
        assert!(!phrase_in(&w, "fire drill"));
        let w = words("Staff used firearms training in a sprint");
        assert!(!phrase_in(&w, "fire"));
        assert!(!phrase_in(&w, "PRN"));
        assert!(phrase_in(
            &words("care was not person-centred"),
            "person-centred"
        ));
        assert!(!phrase_in(&w, ""));
    }

    #[test]
    fn suggestions_name_the_phrases_that_matched() {
        let t = default_themes();
        let phrases: Vec<&[String]> = t.iter().map(|x| x.key_phrases.as_slice()).collect();
        let s = suggest(
            "MAR charts were not signed and topical cream was not recorded; staff had no medication training.",
            &phrases,
        );
        let names: Vec<&str> = s.iter().map(|(i, _)| t[*i].name.as_str()).collect();
        assert_eq!(names, ["Medication", "Staff training & Development"]);
        assert_eq!(s[0].1, ["medication", "MAR chart", "topical cream"]);
        assert!(suggest("Nothing of note.", &phrases).is_empty());
    }

    #[test]
    fn an_issue_with_two_themes_counts_under_each() {
        // Hand-worked: issue 1 {0}, issue 2 {0, 2}, issue 3 {2, 2 (repeated tag)}, issue 4 {}.
        let c = counts(3, &[vec![0], vec![0, 2], vec![2, 2], vec![]]);
        assert_eq!(c, vec![(0, 2), (2, 2), (1, 0)]);
    }
}
