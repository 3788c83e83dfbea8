//! Care home capacity: the rules for a home's bed figures, how fresh they are, and distances
//! for the brokers' search (the Liverpool City Region care home redesign (Priority 3): "one view of care home capacity across councils").

use serde::{Deserialize, Serialize};

/// One bed type's figures at one home, as its provider keeps them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BedFigures {
    /// Registered or commissioned beds of this type.
    pub capacity: i64,
    pub occupied: i64,
    /// Vacant and accepting admissions now.
    pub vacant: i64,
    /// Vacant but reserved (for a named admission).
    pub reserved: i64,
    /// Closed to admissions (with a reason and a date).
    pub closed: i64,
}

impl BedFigures {
    pub fn accounted(&self) -> i64 {
        self.occupied + self.vacant + self.reserved + self.closed
    }
}

/// A broken rule: which field, and what to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// "capacity", "occupied", "vacant", "reserved", "closed", "closed_reason" or
    /// "over_registered"
    pub field: &'static str,
    pub message: String,
}

/// Checks one bed type's figures: none negative; occupied + vacant + reserved + closed never
/// above capacity; beds closed need a reason.
pub fn check_figures(label: &str, f: &BedFigures, closed_reason: &str) -> Vec<Problem> {
    let mut out = Vec::new();
    for (field, name, v) in [
        ("capacity", "capacity", f.capacity),
        ("occupied", "occupied beds", f.occupied),
        ("vacant", "vacant beds", f.vacant),
        ("reserved", "reserved beds", f.reserved),
        ("closed", "closed beds", f.closed),
    ] {
        if v < 0 {
            out.push(Problem {
                field,
                message: format!("{label}: {name} cannot be negative"),
            });
        }
    }
    if out.is_empty() && f.accounted() > f.capacity {
        out.push(Problem {
            field: "occupied",
            message: format!(
                "{label}: occupied, vacant, reserved and closed beds add up to {}, more than the capacity of {}",
                f.accounted(),
                f.capacity
            ),
        });
    }
    if f.closed > 0 && closed_reason.trim().is_empty() {
        out.push(Problem {
            field: "closed_reason",
            message: format!("{label}: say why beds are closed to admissions"),
        });
    }
    out
}

/// A home's capacity across bed types must stay within the beds CQC registers it for, unless
/// the user confirms why (a registration change not yet in CQC's data, say).
pub fn check_registered(
    total_capacity: i64,
    registered: Option<i64>,
    reason: &str,
) -> Option<Problem> {
    match registered {
        Some(r) if total_capacity > r && reason.trim().is_empty() => Some(Problem {
            field: "over_registered",
            message: format!(
                "Capacity adds up to {total_capacity} beds, more than the {r} CQC registers the home for: correct it, or say why"
            ),
        }),
        _ => None,
    }
}

/// How fresh a figure is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Freshness {
    Fresh,
    /// Older than the amber threshold (7 days by default)
    Amber,
    /// Older than the red threshold (14 days by default)
    Red,
}

pub fn freshness(age_days: i64, amber_days: i64, red_days: i64) -> Freshness {
    if age_days > red_days {
        Freshness::Red
    } else if age_days > amber_days {
        Freshness::Amber
    } else {
        Freshness::Fresh
    }
}

/// Great-circle distance in kilometres (haversine, mean Earth radius 6,371 km).
pub fn haversine_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6371.0 * a.sqrt().asin()
}

/// The centre of a postcode district from the locations in it: the mean latitude and
/// longitude (a district spans a few kilometres, where the mean is as good as any centroid).
pub fn centre(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    if points.is_empty() {
        return None;
    }
    let n = points.len() as f64;
    Some((
        points.iter().map(|p| p.0).sum::<f64>() / n,
        points.iter().map(|p| p.1).sum::<f64>() / n,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(capacity: i64, occupied: i64, vacant: i64, reserved: i64, closed: i64) -> BedFigures {
        BedFigures {
            capacity,
            occupied,
            vacant,
            reserved,
            closed,
        }
    }

    #[test]
    fn figures_add_up_within_capacity() {
        assert!(check_figures("Nursing", &f(40, 35, 3, 1, 1), "Refurbishment").is_empty());
        assert!(check_figures("Nursing", &f(40, 40, 0, 0, 0), "").is_empty());
        let p = check_figures("Nursing", &f(40, 38, 3, 0, 0), "");
        assert_eq!(p.len(), 1);
        assert_eq!(
            p[0].message,
            "Nursing: occupied, vacant, reserved and closed beds add up to 41, more than the capacity of 40"
        );
        let p = check_figures("Respite", &f(2, -1, 0, 0, 0), "");
        assert_eq!(p[0].message, "Respite: occupied beds cannot be negative");
        let p = check_figures("Residential", &f(10, 5, 0, 0, 2), " ");
        assert_eq!(p[0].field, "closed_reason");
    }

    #[test]
    fn capacity_within_registered_beds_unless_confirmed() {
        assert!(check_registered(30, Some(30), "").is_none());
        assert!(
            check_registered(31, None, "").is_none(),
            "unknown registration"
        );
        assert_eq!(
            check_registered(31, Some(30), "").unwrap().field,
            "over_registered"
        );
        assert!(check_registered(31, Some(30), "New wing registered in May").is_none());
    }

    #[test]
    fn freshness_by_age() {
        assert_eq!(freshness(7, 7, 14), Freshness::Fresh);
        assert_eq!(freshness(8, 7, 14), Freshness::Amber);
        assert_eq!(freshness(14, 7, 14), Freshness::Amber);
        assert_eq!(freshness(15, 7, 14), Freshness::Red);
    }

    #[test]
    fn distances_on_the_globe() {
        // Plymouth (50.3755, -4.1427) to Exeter (50.7184, -3.5339): about 57 km.
        let d = haversine_km(50.3755, -4.1427, 50.7184, -3.5339);
        assert!((d - 57.0).abs() < 1.5, "{d}");
        assert_eq!(haversine_km(50.0, -4.0, 50.0, -4.0), 0.0);
        // A degree of latitude is about 111.2 km everywhere.
        assert!((haversine_km(10.0, 5.0, 11.0, 5.0) - 111.19).abs() < 0.05);
        assert_eq!(centre(&[(50.0, -4.0), (51.0, -3.0)]), Some((50.5, -3.5)));
        assert_eq!(centre(&[]), None);
    }
}
