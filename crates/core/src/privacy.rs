//! caremarket never needs the names of people who use services. Free text typed by officers
//! is checked for what looks like a name or an NHS number, so the form can warn before it
//! is saved.

/// What the check found, for the warning message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    NhsNumber(String),
    TitledName(String),
    DateOfBirth(String),
}

impl Finding {
    pub fn message(&self) -> String {
        match self {
            Finding::NhsNumber(s) => format!("\"{s}\" looks like an NHS number"),
            Finding::TitledName(s) => format!("\"{s}\" looks like a person's name"),
            Finding::DateOfBirth(s) => format!("\"{s}\" looks like a date of birth"),
        }
    }
}

/// NHS numbers are 10 digits whose last is a modulus 11 check digit.
pub fn is_nhs_number(digits: &str) -> bool {
    let d: Vec<u32> = digits.chars().filter_map(|c| c.to_digit(10)).collect();
    if d.len() != 10 || digits.chars().filter(|c| c.is_ascii_digit()).count() != 10 {
        return false;
    }
    let sum: u32 = d[..9]
        .iter()
        .enumerate()
        .map(|(i, v)| v * (10 - i as u32))
        .sum();
    let check = 11 - (sum % 11);
    match check {
        11 => d[9] == 0,
        10 => false,
        c => d[9] == c,
    }
}

const TITLES: [&str; 8] = ["mr", "mrs", "ms", "miss", "mx", "dr", "master", "sir"];

/// Words for a person that are followed by their name in notes like "resident Jane Smith".
const PERSON_WORDS: [&str; 10] = [
    "resident",
    "user",
    "client",
    "patient",
    "tenant",
    "customer",
    "lady",
    "gentleman",
    "man",
    "woman",
];

/// Whether a word starts like a name: a capital, then a lower-case letter ("Jane", not "NHS"
/// or "CQC", which are not names).
fn name_like(w: &str) -> bool {
    let mut c = w.chars();
    matches!((c.next(), c.next()), (Some(a), Some(b)) if a.is_uppercase() && b.is_lowercase())
}

/// A date written day/month/year (or with dots or hyphens), as (day, month, year).
fn dmy(w: &str) -> Option<(u32, u32, i32)> {
    let parts: Vec<&str> = w
        .trim_matches(|c: char| !c.is_ascii_digit())
        .split(['/', '.', '-'])
        .collect();
    if parts.len() != 3 || parts[2].len() != 4 {
        return None;
    }
    let (d, m, y) = (
        parts[0].parse().ok()?,
        parts[1].parse().ok()?,
        parts[2].parse().ok()?,
    );
    ((1..=31).contains(&d) && (1..=12).contains(&m)).then_some((d, m, y))
}

pub fn check(text: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    // NHS numbers: 10 digits, alone or as 3-3-4 with spaces or hyphens.
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() && (i == 0 || !chars[i - 1].is_ascii_alphanumeric()) {
            let mut j = i;
            let mut digits = String::new();
            while j < chars.len()
                && (chars[j].is_ascii_digit()
                    || ((chars[j] == ' ' || chars[j] == '-')
                        && j + 1 < chars.len()
                        && chars[j + 1].is_ascii_digit()))
            {
                if chars[j].is_ascii_digit() {
                    digits.push(chars[j]);
                }
                j += 1;
            }
            if digits.len() == 10 && is_nhs_number(&digits) {
                out.push(Finding::NhsNumber(chars[i..j].iter().collect()));
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    for w in words.windows(2) {
        let title = w[0].trim_end_matches('.').to_lowercase();
        let next = w[1].trim_matches(|c: char| !c.is_alphabetic());
        if TITLES.contains(&title.as_str()) && next.chars().next().is_some_and(|c| c.is_uppercase())
        {
            out.push(Finding::TitledName(format!("{} {}", w[0], next)));
        }
    }
    // "resident Jane Smith", "service user Mary", "the gentleman Albert Jones".
    for (i, w) in words.iter().enumerate() {
        let role = w.trim_matches(|c: char| !c.is_alphabetic()).to_lowercase();
        if !PERSON_WORDS.contains(&role.as_str()) {
            continue;
        }
        let name: Vec<&str> = words[i + 1..]
            .iter()
            .map(|n| n.trim_matches(|c: char| !c.is_alphabetic() && c != '\'' && c != '-'))
            .take_while(|n| name_like(n))
            .take(3)
            .collect();
        if !name.is_empty() {
            out.push(Finding::TitledName(format!("{} {}", w, name.join(" "))));
        }
    }
    let lower = text.to_lowercase();
    let mut birth = None;
    for marker in ["dob", "d.o.b", "date of birth", "born on", "born"] {
        // As a word: "stubborn" holds no birth date.
        let at = lower.match_indices(marker).map(|(p, _)| p).find(|&p| {
            !lower[..p]
                .chars()
                .next_back()
                .is_some_and(char::is_alphabetic)
                && !lower[p + marker.len()..]
                    .chars()
                    .next()
                    .is_some_and(char::is_alphabetic)
        });
        if let Some(p) = at {
            // From the lower-cased text, where `p` is: its bytes need not line up with the
            // original's ("İ" lower-cases to two characters).
            let s: String = lower[p..]
                .chars()
                .take(marker.chars().count() + 14)
                .collect();
            birth = Some(s.trim().to_string());
            break;
        }
    }
    // A date long before anything a concern is about (before 1980) is a birth date.
    if birth.is_none() {
        birth = words
            .iter()
            .find(|w| dmy(w).is_some_and(|(_, _, y)| (1900..1980).contains(&y)))
            .map(|w| w.trim_matches(|c: char| !c.is_ascii_digit()).to_string());
    }
    if let Some(b) = birth {
        out.push(Finding::DateOfBirth(b));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nhs_numbers_by_their_check_digit() {
        // 943 476 5919 is the NHS's own example of a valid number.
        assert!(is_nhs_number("9434765919"));
        assert!(!is_nhs_number("9434765918"));
        assert_eq!(
            check("Resident 943 476 5919 fell"),
            vec![Finding::NhsNumber("943 476 5919".into())]
        );
        assert_eq!(
            check("ref 943-476-5919"),
            vec![Finding::NhsNumber("943-476-5919".into())]
        );
        assert!(check("invoice 1234567890").is_empty() || !is_nhs_number("1234567890"));
        assert!(check("rota 20 staff on 3 floors").is_empty());
    }

    #[test]
    fn titled_names_and_birth_dates() {
        assert_eq!(
            check("Mrs Patel said the lift broke"),
            vec![Finding::TitledName("Mrs Patel".into())]
        );
        assert_eq!(
            check("spoke to Dr. Jones"),
            vec![Finding::TitledName("Dr. Jones".into())]
        );
        assert!(
            check("the mr of the home").is_empty(),
            "a lower-case word after is not a name"
        );
        assert!(matches!(
            check("DOB 01/02/1940")[0],
            Finding::DateOfBirth(_)
        ));
        assert!(check("Medication errors on the night shift, two in a week").is_empty());
    }

    #[test]
    fn names_after_a_word_for_a_person_and_birth_dates_without_a_label() {
        assert_eq!(
            check("resident Jane Smith was found on the floor"),
            vec![Finding::TitledName("resident Jane Smith".into())]
        );
        assert_eq!(
            check("The service user Albert said no one came"),
            vec![Finding::TitledName("user Albert".into())]
        );
        assert!(matches!(
            check("born 01/02/1940, lives in the annexe")[..],
            [Finding::DateOfBirth(_)]
        ));
        assert!(matches!(
            check("aged 86 (12.03.1939)")[..],
            [Finding::DateOfBirth(_)]
        ));
        // Not names or birth dates: acronyms after a person word, and recent dates.
        assert!(check("a resident NHS referral was made").is_empty());
        assert!(check("the resident fell on 14/11/2026 at night").is_empty());
        assert!(check("three residents had no call bell").is_empty());
        assert!(check("a stubborn leak in the kitchen").is_empty());
        // Text whose lower case is longer than itself, before the marker.
        assert!(matches!(
            check("İİİİ Ⱥ born 1/2/1940")[..],
            [Finding::DateOfBirth(_)]
        ));
    }
}
