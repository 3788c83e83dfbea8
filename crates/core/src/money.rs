//! Money is kept in whole pence; people type and read pounds.

/// Reads an amount in pounds as people type it ("£1,234.50", "850", "850.5") into pence.
/// Refuses negatives, more than two decimal places, and anything that is not a number.
pub fn parse_pounds(s: &str) -> Result<i64, String> {
    let t: String = s
        .trim()
        .trim_start_matches('£')
        .chars()
        .filter(|c| *c != ',' && !c.is_whitespace())
        .collect();
    if t.is_empty() {
        return Err("enter an amount in pounds, like 850.00".into());
    }
    if t.starts_with('-') {
        return Err("an amount cannot be negative".into());
    }
    let (whole, frac) = t.split_once('.').unwrap_or((&t, ""));
    if whole.is_empty() && frac.is_empty()
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return Err(format!("{s:?} is not an amount in pounds, like 850.00"));
    }
    if frac.len() > 2 {
        return Err("give pounds and pence, at most two decimal places".into());
    }
    let pounds: i64 = if whole.is_empty() {
        0
    } else {
        whole
            .parse()
            .map_err(|_| "the amount is too large".to_string())?
    };
    let pence: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().unwrap_or(0) * 10,
        _ => frac.parse::<i64>().unwrap_or(0),
    };
    pounds
        .checked_mul(100)
        .and_then(|p| p.checked_add(pence))
        .ok_or_else(|| "the amount is too large".to_string())
}

/// Pence as pounds for people: "£1,234.50".
pub fn pounds(pence: i64) -> String {
    let sign = if pence < 0 { "-" } else { "" };
    let p = pence.unsigned_abs();
    let whole = (p / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}£{grouped}.{:02}", p % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pounds_typed_as_people_type_them() {
        assert_eq!(parse_pounds("£1,234.50"), Ok(123_450));
        assert_eq!(parse_pounds("850"), Ok(85_000));
        assert_eq!(parse_pounds(" 850.5 "), Ok(85_050));
        assert_eq!(parse_pounds(".99"), Ok(99));
        assert!(parse_pounds("-5").is_err());
        assert!(parse_pounds("12.345").is_err());
        assert!(parse_pounds("ten").is_err());
        assert!(parse_pounds("").is_err());
        assert!(parse_pounds(".").is_err());
        assert!(parse_pounds("99999999999999999999").is_err());
    }

    #[test]
    fn pence_shown_as_pounds() {
        assert_eq!(pounds(123_450), "£1,234.50");
        assert_eq!(pounds(5), "£0.05");
        assert_eq!(pounds(100_000_000), "£1,000,000.00");
        assert_eq!(pounds(-250), "-£2.50");
    }

    proptest::proptest! {
        #[test]
        fn shown_amounts_read_back(p in 0i64..10_000_000_000) {
            proptest::prop_assert_eq!(parse_pounds(&pounds(p)), Ok(p));
        }
    }
}
