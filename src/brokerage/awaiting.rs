//! The awaiting care list (Leicester domiciliary support, 2018, §4.6–4.7): everyone waiting for a long-term home care
//! provider. Stays on the list come from the cascade (a case joins when the framework is
//! exhausted and leaves when a provider is found or the request is withdrawn) and from a
//! council's own records, imported, so the history scrutiny has seen carries on. The
//! statistics are `caremarket_core::brokerage::list_stats`, column by column as in the seed.

use chrono::NaiveDate;

use caremarket_core::brokerage::{Episode, Funding, ListStats, list_stats};

use crate::audit::{self, Actor};
use crate::{AppState, Result, args};

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct Stay {
    pub id: i64,
    pub request_id: Option<i64>,
    pub case_ref: String,
    /// council or health
    pub funding: String,
    pub lot_id: Option<i64>,
    pub lot_name: Option<String>,
    pub service_line: String,
    /// Hundredths of an hour a week
    pub hours: i64,
    pub joined_on: NaiveDate,
    pub left_on: Option<NaiveDate>,
    pub left_reason: Option<String>,
    /// cascade or import
    pub source: String,
}

/// Which part of the list: a lot, a service line, or all.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct Filter {
    pub lot: Option<i64>,
    pub service_line: Option<String>,
}

pub async fn stays(state: &AppState, f: &Filter) -> Result<Vec<Stay>> {
    let all: Vec<Stay> = state
        .db
        .q()
        .fetch_all(
            "SELECT e.id, e.request_id, e.case_ref, e.funding, e.lot_id, l.name AS lot_name, e.service_line, e.hours, e.joined_on, e.left_on, e.left_reason, e.source \
             FROM awaiting_episodes e LEFT JOIN lots l ON l.id = e.lot_id ORDER BY e.joined_on, e.id",
            args![],
        )
        .await?;
    Ok(all
        .into_iter()
        .filter(|s| f.lot.is_none_or(|l| s.lot_id == Some(l)))
        .filter(|s| {
            f.service_line
                .as_deref()
                .filter(|x| !x.is_empty())
                .is_none_or(|l| s.service_line == l)
        })
        .collect())
}

pub fn episodes(stays: &[Stay]) -> Vec<Episode> {
    stays
        .iter()
        .map(|s| Episode {
            case_reference: s.case_ref.clone(),
            funding: if s.funding == "health" {
                Funding::Health
            } else {
                Funding::Council
            },
            joined: s.joined_on,
            left: s.left_on,
            hours_hundredths: s.hours,
        })
        .collect()
}

/// The statistics for each reporting date; the first date's period is `step` days long.
pub fn stats(stays: &[Stay], dates: &[NaiveDate], step: i64) -> Vec<ListStats> {
    list_stats(&episodes(stays), dates, step)
}

/// Reporting dates from what was asked: a list ("04/04/2018 10/04/2018 ..."), or every
/// `step` days back from `to` (today by default), 11 of them as in the seed.
pub fn dates_from(
    list: &str,
    to: Option<NaiveDate>,
    step: i64,
    today: NaiveDate,
) -> std::result::Result<Vec<NaiveDate>, String> {
    let list = list.trim();
    if !list.is_empty() {
        let mut v = Vec::new();
        for t in list
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|t| !t.is_empty())
        {
            match caremarket_core::cqc::parse_date(t, false) {
                Ok(d) => v.push(d),
                Err(_) => return Err(format!("{t:?} is not a date: write dates like 04/04/2018")),
            }
        }
        if v.len() > 60 {
            return Err("Ask for 60 reporting dates or fewer".into());
        }
        v.sort_unstable();
        v.dedup();
        return Ok(v);
    }
    let last = to.unwrap_or(today);
    let step = step.max(1);
    let first = last - chrono::Duration::days(step * 10);
    Ok(caremarket_core::brokerage::reporting_dates(
        first, last, step,
    ))
}

// ---------------------------------------------------------------------------------------
// Import of a council's own records

const COLUMNS: &[crate::import::ColumnSpec] = &[
    crate::import::col(
        "case_ref",
        &["casereference", "caseref", "reference", "case"],
        true,
    ),
    crate::import::col("funding", &["funding", "funder", "fundedby"], true),
    crate::import::col("lot", &["lot", "area", "locality"], false),
    crate::import::col("service_line", &["serviceline", "service"], false),
    crate::import::col(
        "hours",
        &["hours", "hoursrequired", "hoursperweek", "weeklyhours"],
        true,
    ),
    crate::import::col(
        "joined",
        &["joined", "datejoined", "added", "dateadded", "onlistfrom"],
        true,
    ),
    crate::import::col(
        "left",
        &["left", "dateleft", "removed", "dateremoved", "offlist"],
        false,
    ),
    crate::import::col(
        "left_reason",
        &["leftreason", "reasonleft", "outcome"],
        false,
    ),
];

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Imported {
    pub added: usize,
    pub updated: usize,
}

struct Row {
    case_ref: String,
    funding: &'static str,
    lot_id: Option<i64>,
    service_line: String,
    /// Whether the file said the service line (or the lot, which has one)
    line_given: bool,
    hours: i64,
    joined: NaiveDate,
    left: Option<NaiveDate>,
    left_reason: Option<String>,
}

/// Loads stays on the list from a CSV or XLSX file: case reference, funding (council or
/// health; LCC, LA, NHS and CHC are understood), lot (optional, by name), service line
/// (general by default), hours a week, the date joined and, once gone, the date left. All or
/// nothing; a stay is known by its case and the date it joined, so loading the same file
/// again changes nothing, and a later file can add the dates people left (what a later file
/// leaves empty, such as the lot, is kept as it was).
pub async fn import(
    state: &AppState,
    actor: &Actor,
    name: &str,
    bytes: &[u8],
) -> std::result::Result<Imported, String> {
    let grids = crate::import::open(name, bytes).map_err(|e| e.0)?;
    let (g, cols) = crate::import::find_header(name, &grids, COLUMNS).map_err(|e| e.0)?;
    let lots = super::lots(state).await.map_err(|e| e.to_string())?;
    let mut problems = Vec::new();
    let mut rows = Vec::new();
    let mut seen = std::collections::HashMap::new();
    for r in crate::import::data_rows(&grids[g], &cols) {
        let case_ref = r.cell("case_ref").trim().to_uppercase();
        if case_ref.is_empty() {
            problems.push(r.problem(
                "case_ref",
                "",
                "is empty: every row needs the case reference",
            ));
            continue;
        }
        if !caremarket_core::brokerage::case_reference_ok("", &case_ref) {
            problems.push(r.problem(
                "case_ref",
                &case_ref,
                "is not a case reference (3 to 20 letters, digits, hyphens or slashes; no names)",
            ));
            continue;
        }
        let f = r.cell("funding");
        let funding = match f.trim().to_lowercase().as_str() {
            "council" | "lcc" | "la" | "local authority" | "asc" | "social care" => "council",
            "health" | "nhs" | "chc" | "nhs chc" | "continuing health care" => "health",
            _ => {
                problems.push(r.problem("funding", &f, "is neither council nor health"));
                continue;
            }
        };
        let lot_name = r.cell("lot").trim().to_string();
        let lot = if lot_name.is_empty() {
            None
        } else {
            match lots.iter().find(|l| l.name.eq_ignore_ascii_case(&lot_name)) {
                Some(l) => Some(l),
                None => {
                    problems.push(r.problem("lot", &lot_name, "is not the name of a lot here"));
                    continue;
                }
            }
        };
        let line_typed = r.cell("service_line").trim().to_lowercase();
        let service_line = match line_typed.as_str() {
            "" => lot
                .map(|l| l.service_line.clone())
                .unwrap_or_else(|| "general".into()),
            "general" => "general".into(),
            "specialist" => "specialist".into(),
            _ => {
                problems.push(r.problem(
                    "service_line",
                    &line_typed,
                    "is neither general nor specialist",
                ));
                continue;
            }
        };
        let h = r.cell("hours");
        let hours = match caremarket_core::money::parse_hundredths(&h, false) {
            Ok(v) if v > 0 && v <= 16_800 => v,
            _ => {
                problems.push(r.problem("hours", &h, "is not a number of hours a week, like 10.5"));
                continue;
            }
        };
        let j = r.cell("joined");
        let joined = match caremarket_core::cqc::parse_date(&j, false) {
            Ok(d) => d,
            Err(_) => {
                problems.push(r.problem("joined", &j, "is not a date, like 04/04/2018"));
                continue;
            }
        };
        let l = r.cell("left");
        let left = if l.trim().is_empty() {
            None
        } else {
            match caremarket_core::cqc::parse_date(&l, false) {
                Ok(d) if d >= joined => Some(d),
                Ok(_) => {
                    problems.push(r.problem(
                        "left",
                        &l,
                        "is before the date the case joined the list",
                    ));
                    continue;
                }
                Err(_) => {
                    problems.push(r.problem("left", &l, "is not a date, like 18/06/2018"));
                    continue;
                }
            }
        };
        if let Some(first) = seen.insert((case_ref.clone(), joined), r.number) {
            problems.push(r.problem(
                "joined",
                &j,
                &format!("is the same case and date as row {first}: a stay once a file"),
            ));
            continue;
        }
        let reason = r.cell("left_reason").trim().to_string();
        rows.push(Row {
            case_ref,
            funding,
            lot_id: lot.map(|l| l.id),
            line_given: !line_typed.is_empty() || lot.is_some(),
            service_line,
            hours,
            joined,
            left,
            left_reason: (!reason.is_empty()).then_some(reason),
        });
    }
    if !problems.is_empty() {
        return Err(crate::import::summarise_problems(name, &problems));
    }
    if rows.is_empty() {
        return Err(format!("{name} has no stays on the list in it"));
    }
    let now = state.clock.now();
    let result: Result<Imported> = async {
        let mut tx = state.db.begin().await?;
        let mut out = Imported { added: 0, updated: 0 };
        for r in &rows {
            let n = tx
                .execute(
                    "UPDATE awaiting_episodes SET funding = $1, lot_id = COALESCE($2, lot_id), service_line = COALESCE($3, service_line), hours = $4, left_on = COALESCE($5, left_on), left_reason = COALESCE($6, left_reason) WHERE case_ref = $7 AND joined_on = $8 AND source = 'import'",
                    args![r.funding, r.lot_id, r.line_given.then_some(r.service_line.as_str()), r.hours, r.left, r.left_reason.as_deref(), &r.case_ref, r.joined],
                )
                .await?;
            if n == 0 {
                tx.execute(
                    "INSERT INTO awaiting_episodes (case_ref, funding, lot_id, service_line, hours, joined_on, left_on, left_reason, source) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'import')",
                    args![&r.case_ref, r.funding, r.lot_id, &r.service_line, r.hours, r.joined, r.left, r.left_reason.as_deref()],
                )
                .await?;
                out.added += 1;
            } else {
                out.updated += 1;
            }
        }
        audit::entry("awaiting.import", "awaiting_episodes", name)
            .after(serde_json::json!({"rows": rows.len(), "added": out.added, "updated": out.updated}))
            .write(&mut tx, actor, now)
            .await?;
        tx.commit().await?;
        Ok(out)
    }
    .await;
    result.map_err(|e| e.to_string())
}
