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
    let lower = text.to_lowercase();
    for marker in ["dob", "d.o.b", "date of birth", "born on"] {
        if let Some(p) = lower.find(marker) {
            let end = (p + marker.len() + 14).min(text.len());
            let s: String = text.chars().skip(p).take(end - p).collect();
            out.push(Finding::DateOfBirth(s.trim().to_string()));
            break;
        }
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
}
