//! District centres from an ONS postcode directory (ONSPD or NSPL, CSV, may be gzipped):
//! read as a stream (the full directory is about a gigabyte), live postcodes only (no
//! termination date), averaged by district, and stored in one transaction.

use std::collections::BTreeMap;
use std::io::Read;

use crate::audit::{self, Actor};
use crate::{AppState, Result, args};

/// What a load did.
#[derive(Debug, Default, PartialEq)]
pub struct Loaded {
    pub postcodes: u64,
    pub skipped: u64,
    pub districts: usize,
}

/// Reads the directory and replaces the district centres. Columns are found by name: the
/// postcode (pcd, pcds or pcd7), lat, long, and doterm (termination) when present. Rows
/// without coordinates (ONS writes 99.999999 for "none") or terminated are skipped.
pub async fn import(
    state: &AppState,
    actor: &Actor,
    name: &str,
    reader: impl Read,
) -> std::result::Result<Loaded, String> {
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
    let headers = rdr
        .headers()
        .map_err(|e| format!("{name}: cannot read the header: {e}"))?
        .clone();
    let col = |names: &[&str]| {
        headers
            .iter()
            .position(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)))
    };
    let (Some(pc), Some(lat), Some(long)) = (
        col(&["pcds", "pcd", "pcd7", "postcode"]),
        col(&["lat", "latitude"]),
        col(&["long", "longitude"]),
    ) else {
        return Err(format!(
            "{name}: the postcode directory needs columns pcds (or pcd), lat and long"
        ));
    };
    let term = col(&["doterm"]);
    let mut sums: BTreeMap<String, (f64, f64, u64)> = BTreeMap::new();
    let mut out = Loaded::default();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| format!("{name}: row {}: {e}", i + 2))?;
        let get = |c: usize| rec.get(c).unwrap_or("").trim();
        let (Ok(la), Ok(lo)) = (get(lat).parse::<f64>(), get(long).parse::<f64>()) else {
            out.skipped += 1;
            continue;
        };
        let terminated = term.is_some_and(|t| !get(t).is_empty());
        let Some(district) = caremarket_core::cqc::normalise_postcode(get(pc))
            .as_deref()
            .and_then(caremarket_core::cqc::postcode_district)
            .map(str::to_string)
        else {
            out.skipped += 1;
            continue;
        };
        if terminated || la.abs() > 90.0 || lo.abs() > 180.0 || la > 99.0 {
            out.skipped += 1;
            continue;
        }
        let e = sums.entry(district).or_insert((0.0, 0.0, 0));
        e.0 += la;
        e.1 += lo;
        e.2 += 1;
        out.postcodes += 1;
    }
    if sums.is_empty() {
        return Err(format!("{name} has no live postcodes with coordinates"));
    }
    out.districts = sums.len();
    let now = state.clock.now();
    let result: Result<()> = async {
        let mut tx = state.db.begin().await?;
        tx.execute("DELETE FROM postcode_districts", args![]).await?;
        for (d, (la, lo, n)) in &sums {
            tx.execute(
                "INSERT INTO postcode_districts (district, latitude, longitude, postcodes, source, imported_at) VALUES ($1, $2, $3, $4, $5, $6)",
                args![d, la / *n as f64, lo / *n as f64, *n as i64, name, now],
            )
            .await?;
        }
        audit::entry("postcodes.import", "postcode_districts", name)
            .after(serde_json::json!({"postcodes": out.postcodes, "districts": out.districts, "skipped": out.skipped}))
            .write(&mut tx, actor, now)
            .await?;
        tx.commit().await?;
        Ok(())
    }
    .await;
    result.map_err(|e| e.to_string())?;
    Ok(out)
}
