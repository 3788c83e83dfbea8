//! Figures to hold the assumptions against: the council's placements register, care home
//! beds per 1,000 aged 65+ (today from the data loaded, and June 2021 from the British Red
//! Cross's CQC-derived series), and ASCOF 2A(2) permanent admissions (the 17 areas the bundled
//! LG Inform series covers, England among them). Both series are bundled (data/README.md).

use std::collections::BTreeMap;

use caremarket_core::sufficiency::BedKind;

use crate::{AppState, Result};

const BEDS_2021: &str = include_str!(
    "../../data/sufficiency/cqc_care_home_beds_per_1000_aged_65plus_by_lad_2021_brc_derived.csv"
);
const ASCOF: &str = include_str!(
    "../../data/sufficiency/ascof_permanent_admissions_care_homes_65plus_trafford_peers.csv"
);

/// What the page sets beside the assumptions.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct Comparison {
    /// Open council- and NHS-funded placements in the council's homes, by bed type key
    pub register: BTreeMap<String, i64>,
    /// Beds today per 1,000 aged 65+ (the supply counted here over the latest estimate)
    pub beds_per_1000_now: Option<f64>,
    /// June 2021, CQC active locations (British Red Cross), for a district or unitary council
    pub beds_per_1000_2021: Option<f64>,
    /// (period, rate per 100,000 aged 65+) for the council, latest in the series
    pub ascof_council: Option<(String, f64)>,
    pub ascof_england: Option<(String, f64)>,
}

fn beds_2021(code: &str) -> Option<f64> {
    BEDS_2021
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(','))
        .find(|(c, _)| *c == code)
        .and_then(|(_, v)| v.trim().parse().ok())
}

/// The latest ASCOF 2A(2) rate for an area code.
fn ascof(code: &str) -> Option<(String, f64)> {
    let mut rdr = csv::Reader::from_reader(ASCOF.as_bytes());
    rdr.records()
        .filter_map(|r| r.ok())
        .filter(|r| r.get(0) == Some(code))
        .filter_map(|r| Some((r.get(2)?.to_string(), r.get(6)?.trim().parse().ok()?)))
        .max_by(|a, b| a.0.cmp(&b.0))
}

/// Open placements in a council's homes by bed type (the four long-term types only).
pub async fn register(state: &AppState, council: &str) -> Result<BTreeMap<String, i64>> {
    // No council named: no council's homes (not every home).
    if council.trim().is_empty() {
        return Ok(BTreeMap::new());
    }
    Ok(
        crate::capacity::placements::open_by_bed_type(state, Some(council))
            .await?
            .into_iter()
            .filter(|(k, _)| BedKind::from_key(k).is_some())
            .map(|(k, (n, _, _))| (k, n))
            .collect(),
    )
}

pub async fn comparison(state: &AppState, s: &super::Sufficiency) -> Result<Comparison> {
    let code = s.population.as_ref().map(|p| p.area_code.clone());
    let beds_now: i64 = s.supply.beds.values().sum();
    Ok(Comparison {
        register: register(state, &s.council).await?,
        beds_per_1000_now: s
            .population
            .as_ref()
            .filter(|p| p.aged_65_plus > 0 && s.supply.homes_without_beds == 0 && beds_now > 0)
            .map(|p| beds_now as f64 * 1000.0 / p.aged_65_plus as f64),
        beds_per_1000_2021: code.as_deref().and_then(beds_2021),
        ascof_council: code.as_deref().and_then(ascof),
        ascof_england: ascof("E92000001"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_series_read_as_published() {
        // data/README.md: Plymouth 50.8 beds per 1,000 aged 65+ in June 2021.
        assert!((beds_2021("E06000026").unwrap() - 50.83).abs() < 0.01);
        // England's ASCOF 2A(2) in 2023/24: 566 per 100,000.
        assert_eq!(ascof("E92000001"), Some(("2023/24".to_string(), 566.0)));
        assert_eq!(beds_2021("E99999999"), None);
    }
}
