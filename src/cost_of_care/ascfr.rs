//! Other councils' care home unit costs from the 2014-15 PSS-EX1 / ASC-FR council-level file
//! (bundled, data/README.md), uplifted by a stated price index, to set beside a council's
//! modelled costs. The file is wide: a column per council, region and England.

use std::sync::OnceLock;

/// The bundled file, built into the binary like the demo's CQC data.
const BUNDLED: &[u8] =
    include_bytes!("../../data/ascfr/pss-exp-eng-14-15-fin-coun-lev-unit-cost.csv.gz");

/// The rows compared, per modelled care home service: long-term support for people aged 65
/// and over, all provision, £ a week. Physical support stands for general care; support with
/// memory and cognition for dementia care.
const ROWS: [(&str, &str, &str); 4] = [
    ("residential", "Physical support", "Residential"),
    ("nursing", "Physical support", "Nursing"),
    (
        "dementia_residential",
        "Support with memory and cognition",
        "Residential",
    ),
    (
        "dementia_nursing",
        "Support with memory and cognition",
        "Nursing",
    ),
];

/// The price index the 2014-15 costs are uplifted by, by default: ONS CPI all items
/// (series D7BT, 2015 = 100), annual averages for 2014 (99.6) and 2024 (133.9). A council
/// may give its own on the page.
pub const DEFAULT_FROM_INDEX: i64 = 9_960;
pub const DEFAULT_TO_INDEX: i64 = 13_390;
pub const DEFAULT_INDEX_NOTE: &str = "ONS consumer prices index (all items, series D7BT, 2015 = 100): 2014 average 99.6, 2024 average 133.9";

/// The file read once: (column names, rows of (key columns, values)).
struct Sheet {
    areas: Vec<String>,
    rows: Vec<(Vec<String>, Vec<Option<i64>>)>,
}

fn sheet() -> &'static Result<Sheet, String> {
    static SHEET: OnceLock<Result<Sheet, String>> = OnceLock::new();
    SHEET.get_or_init(|| {
        let name = "pss-exp-eng-14-15-fin-coun-lev-unit-cost.csv.gz";
        let bytes = crate::import::gunzip_if_needed(name, BUNDLED).map_err(|e| e.0)?;
        let text = crate::import::text::windows_1252(&bytes);
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut areas = Vec::new();
        let mut rows = Vec::new();
        for rec in rdr.records() {
            let rec = rec.map_err(|e| format!("{name}: {e}"))?;
            if rec.get(0) == Some("Support type") {
                areas = rec.iter().skip(6).map(|s| s.trim().to_string()).collect();
                continue;
            }
            if areas.is_empty() || rec.len() < 7 {
                continue;
            }
            let keys = rec.iter().take(6).map(|s| s.trim().to_string()).collect();
            // "." and ":" (no cost) and blanks become None; £ a week to pence.
            let values = rec
                .iter()
                .skip(6)
                .map(|v| caremarket_core::money::parse_pounds(v).ok())
                .collect();
            rows.push((keys, values));
        }
        if areas.is_empty() {
            return Err(format!("{name} has no header row"));
        }
        Ok(Sheet { areas, rows })
    })
}

/// A column's area name without its code: "102 - Cumbria" -> "Cumbria".
fn area_name(col: &str) -> &str {
    col.split_once(" - ").map(|(_, n)| n).unwrap_or(col).trim()
}

/// One service's 2014-15 unit costs (pence a week) for a council, its region and England.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct UnitCost {
    pub service: String,
    pub council: Option<i64>,
    pub england: Option<i64>,
    /// The council's figure uplifted by the index (None without a council figure)
    pub council_uplifted: Option<i64>,
    pub england_uplifted: Option<i64>,
}

/// The comparison for a council (by name as ONS and CQC give it; None: England only).
pub fn unit_costs(council: Option<&str>, from_index: i64, to_index: i64) -> Vec<UnitCost> {
    let Ok(s) = sheet() else { return vec![] };
    let col = |want: &str| {
        s.areas
            .iter()
            .position(|a| area_name(a).eq_ignore_ascii_case(want.trim()))
    };
    let england = col("England");
    let council_col = council.and_then(col);
    let up = |v: Option<i64>| {
        v.and_then(|p| caremarket_core::cost::uplift_by_index(p, from_index, to_index))
    };
    ROWS.iter()
        .map(|(service, reason, setting)| {
            let row = s.rows.iter().find(|(k, _)| {
                k[0] == "Long term"
                    && k[1] == "Age 65 and over"
                    && k[2] == *reason
                    && k[3] == *setting
                    && k[4] == "Unit costs"
                    && k[5] == "All"
            });
            let get = |c: Option<usize>| {
                row.and_then(|(_, v)| c.and_then(|c| v.get(c).copied().flatten()))
            };
            let (council, england) = (get(council_col), get(england));
            UnitCost {
                service: service.to_string(),
                council,
                england,
                council_uplifted: up(council),
                england_uplifted: up(england),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cumbria_and_england_residential_as_the_file_gives_them() {
        // data/README.md (from the file's own row): Cumbria £581.16, England £533.74.
        let c = unit_costs(Some("Cumbria"), 10_000, 10_000);
        let r = c.iter().find(|u| u.service == "residential").unwrap();
        assert_eq!(r.council, Some(58_116));
        assert_eq!(r.england, Some(53_374));
        assert_eq!(r.council_uplifted, Some(58_116));
        // Uplifted from 100 to 125: × 1.25 = £726.45.
        let c = unit_costs(Some("cumbria"), 10_000, 12_500);
        assert_eq!(c[0].council_uplifted, Some(72_645));
        assert_eq!(unit_costs(Some("Nowhere"), 10_000, 10_000)[0].council, None);
    }
}
