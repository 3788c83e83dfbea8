//! Money is kept in whole pence; people type and read pounds. Other two-place figures
//! (percentages, hours, rates per 1,000) are kept the same way, in hundredths.

/// Why a decimal did not read as hundredths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecimalError {
    NotANumber,
    TooManyPlaces,
    TooLarge,
}

/// Reads a non-negative decimal with at most two places ("26.5", ".99", "850") as
/// hundredths. The caller has taken off signs, units and separators: each caller words its
/// own errors.
pub(crate) fn hundredths(t: &str) -> Result<i64, DecimalError> {
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    if (whole.is_empty() && frac.is_empty())
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return Err(DecimalError::NotANumber);
    }
    if frac.len() > 2 {
        return Err(DecimalError::TooManyPlaces);
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| DecimalError::TooLarge)?
    };
    let frac: i64 = format!("{frac:0<2}").parse().unwrap_or(0);
    whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(frac))
        .ok_or(DecimalError::TooLarge)
}

/// A figure with up to two decimal places as people type it into a form ("5.12", "92%",
/// "-1.5" where `negative_ok`), as hundredths. The error finishes a sentence that starts
/// with the field's label. At most nine digits before the point.
pub fn parse_hundredths(s: &str, negative_ok: bool) -> Result<i64, String> {
    let t = s.trim().trim_end_matches('%').trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t),
    };
    if neg && !negative_ok {
        return Err("cannot be negative".into());
    }
    if t.split('.').next().unwrap_or("").len() > 9 {
        return Err("must be a number with at most two decimal places, like 5.25".into());
    }
    let v = hundredths(t)
        .map_err(|_| "must be a number with at most two decimal places, like 5.25".to_string())?;
    Ok(if neg { -v } else { v })
}

/// Hundredths as a plain decimal, as a form's box holds it: 512 -> "5.12", -150 -> "-1.50",
/// 123456 -> "1234.56" (no thousands separators, so [`parse_hundredths`] reads it back).
pub fn show_hundredths(v: i64) -> String {
    format!(
        "{}{}.{:02}",
        if v < 0 { "-" } else { "" },
        v.abs() / 100,
        v.abs() % 100
    )
}

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
    hundredths(&t).map_err(|e| match e {
        DecimalError::NotANumber => format!("{s:?} is not an amount in pounds, like 850.00"),
        DecimalError::TooManyPlaces => "give pounds and pence, at most two decimal places".into(),
        DecimalError::TooLarge => "the amount is too large".into(),
    })
}

/// Pence as pounds for people: "£1,234.50".
pub fn pounds(pence: i64) -> String {
    let sign = if pence < 0 { "-" } else { "" };
    let p = pence.unsigned_abs();
    // Whole pounds of any i64 fit an i64 (|i64::MIN| / 100 does).
    let whole = crate::words::thousands((p / 100) as i64);
    format!("{sign}£{whole}.{:02}", p % 100)
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
    fn hundredths_as_people_type_them() {
        assert_eq!(parse_hundredths("5.12", false), Ok(512));
        assert_eq!(parse_hundredths("5.1", false), Ok(510));
        assert_eq!(parse_hundredths("92%", false), Ok(9200));
        assert_eq!(parse_hundredths("-1.5", true), Ok(-150));
        assert!(parse_hundredths("-1.5", false).is_err());
        assert!(parse_hundredths("1.234", false).is_err());
        assert!(parse_hundredths("", false).is_err());
        assert!(parse_hundredths("1,000", false).is_err());
        assert!(parse_hundredths("1234567890", false).is_err());
        assert_eq!(show_hundredths(-150), "-1.50");
        assert_eq!(show_hundredths(9200), "92.00");
        assert_eq!(show_hundredths(123_456), "1234.56");
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
