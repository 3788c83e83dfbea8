//! Summary statistics for the cost of care exercise: quartiles (as Excel's QUARTILE.INC and
//! Python's `statistics.quantiles(method="inclusive")` compute them, so a council's analyst
//! gets the same figures from the export) and outliers by Tukey's fences.

/// The quartiles of whole-pence values: (lower quartile, median, upper quartile), each by
/// linear interpolation between the sorted values at position p × (n − 1), rounded half up to
/// the penny. None for no values.
pub fn quartiles(values: &[i64]) -> Option<(i64, i64, i64)> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_unstable();
    let q = |num: i64, den: i64| -> i64 {
        // position = num/den × (n − 1), as a whole part and a remainder over den
        let pos = num * (v.len() as i64 - 1);
        let (i, rem) = ((pos / den) as usize, pos % den);
        if rem == 0 || i + 1 >= v.len() {
            return v[i];
        }
        // v[i] + (v[i+1] − v[i]) × rem/den, rounded half up
        let (a, b) = (v[i] as i128, v[i + 1] as i128);
        crate::cost::div_round_half_up(a * den as i128 + (b - a) * rem as i128, den as i128)
    };
    Some((q(1, 4), q(1, 2), q(3, 4)))
}

/// Whether a value lies outside Tukey's fences: below Q1 − 1.5 × IQR or above Q3 + 1.5 × IQR.
pub fn is_outlier(value: i64, (q1, _, q3): (i64, i64, i64)) -> bool {
    let iqr = q3 - q1;
    // ×2 to keep the half in whole numbers: 2v < 2·q1 − 3·iqr or 2v > 2·q3 + 3·iqr
    2 * value < 2 * q1 - 3 * iqr || 2 * value > 2 * q3 + 3 * iqr
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quartiles_as_excel_quartile_inc() {
        // Excel: QUARTILE.INC({1,2,3,4}, 1) = 1.75, 2 = 2.5, 3 = 3.25 (in pence: ×100).
        assert_eq!(quartiles(&[100, 200, 300, 400]), Some((175, 250, 325)));
        // Odd count: {10,20,30,40,50}: 20, 30, 40.
        assert_eq!(quartiles(&[50, 10, 40, 20, 30]), Some((20, 30, 40)));
        // One value: all three are it.
        assert_eq!(quartiles(&[777]), Some((777, 777, 777)));
        // Half a penny rounds up: {1, 2}: Q1 = 1.25 -> 1, median 1.5 -> 2, Q3 1.75 -> 2.
        assert_eq!(quartiles(&[1, 2]), Some((1, 2, 2)));
        assert_eq!(quartiles(&[]), None);
    }

    #[test]
    fn outliers_outside_tukeys_fences() {
        let q = quartiles(&[100, 200, 300, 400]).unwrap(); // 175, 250, 325; IQR 150
        // Fences: 175 − 225 = −50 and 325 + 225 = 550.
        assert!(!is_outlier(550, q));
        assert!(is_outlier(551, q));
        assert!(!is_outlier(-50, q));
        assert!(is_outlier(-51, q));
    }
}
