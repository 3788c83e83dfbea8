//! Numbers in words for people: thousands separators and plurals ("1 record is",
//! "31,959 records are"), so that no summary line reads "1 records are".

/// A whole number with thousands separators: 31959 → "31,959".
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A count with the words that agree with it: `count(1, "record is", "records are")` is
/// "1 record is"; any other number takes the plural, zero included ("0 records are").
pub fn count(n: impl TryInto<i64>, one: &str, many: &str) -> String {
    // Counts of rows and records (usize) never exceed i64 in practice; saturate if one did.
    let n = n.try_into().unwrap_or(i64::MAX);
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped_in_threes_from_the_right() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(31_959), "31,959");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(-74_184), "-74,184");
        assert_eq!(thousands(i64::MIN), "-9,223,372,036,854,775,808");
    }

    #[test]
    fn one_takes_the_singular_and_every_other_number_the_plural() {
        assert_eq!(count(1, "record is", "records are"), "1 record is");
        assert_eq!(count(0, "record is", "records are"), "0 records are");
        assert_eq!(count(2, "plan", "plans"), "2 plans");
        assert_eq!(count(74_184usize, "row", "rows"), "74,184 rows");
    }
}
