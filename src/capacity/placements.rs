//! The register of council- and NHS-funded care home placements: the council's case
//! reference (never a name), the home, bed type, funder, weekly fee and any third-party
//! top-up, start, and end with its reason. It gives the people affected when a home is at
//! risk, and occupancy by funder.

use caremarket_core::money::parse_pounds;
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::BTreeMap;

use crate::audit::{self, Actor};
use crate::export::{Table, Value};
use crate::web::forms::FormErrors;
use crate::{AppState, Result, args};

pub const FUNDERS: [(&str, &str); 4] = [
    ("council", "Council"),
    ("nhs_chc", "NHS Continuing Health Care"),
    ("joint", "Joint council and NHS"),
    ("other_council", "Another council"),
];

pub const END_REASONS: [(&str, &str); 6] = [
    ("died", "Died"),
    ("moved_home", "Moved to another home"),
    ("hospital", "Long stay in hospital"),
    ("returned_home", "Returned home"),
    ("home_closed", "The home closed"),
    ("other", "Other"),
];

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct Placement {
    pub id: i64,
    pub case_reference: String,
    pub location_id: String,
    pub bed_type: String,
    pub funder: String,
    pub weekly_fee_pence: i64,
    pub top_up_pence: i64,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub end_reason: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A case reference is the council's, not a person's name or NHS number: 3 to 30 letters,
/// digits, hyphens, slashes or underscores, with at least one digit.
pub fn check_case_reference(s: &str) -> std::result::Result<String, String> {
    let t = s.trim();
    if caremarket_core::privacy::check(t)
        .iter()
        .any(|f| f.message().contains("NHS"))
    {
        return Err("This looks like an NHS number: enter the council's case reference".into());
    }
    let ok_chars = t
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '/' | '_'));
    if t.len() < 3 || t.len() > 30 || !ok_chars || !t.chars().any(|c| c.is_ascii_digit()) {
        return Err(
            "Enter the council's case reference (3 to 30 letters and digits, with at least one digit), not a name"
                .into(),
        );
    }
    Ok(t.to_uppercase())
}

/// What a form or a file row gives.
#[derive(Debug, Clone, Default)]
pub struct PlacementInput {
    pub case_reference: String,
    pub location_id: String,
    pub bed_type: String,
    pub funder: String,
    pub weekly_fee: String,
    pub top_up: String,
    pub start_date: String,
}

struct Checked {
    case_reference: String,
    location_id: String,
    bed_type: String,
    funder: &'static str,
    fee: i64,
    top_up: i64,
    start: NaiveDate,
}

/// Checks a placement against the rules that need no other placement; problems by field.
async fn check(
    state: &AppState,
    p: &PlacementInput,
) -> Result<std::result::Result<Checked, Vec<(&'static str, String)>>> {
    let mut e = Vec::new();
    let case = check_case_reference(&p.case_reference)
        .map_err(|m| e.push(("case_reference", m)))
        .ok();
    let home = super::home(state, p.location_id.trim()).await?;
    if home.is_none() {
        e.push((
            "location_id",
            "Enter the CQC location ID of a care home, like 1-131732334".to_string(),
        ));
    }
    let types = super::bed_types(state).await?;
    let bed = types
        .iter()
        .find(|t| {
            t.key.eq_ignore_ascii_case(p.bed_type.trim())
                || t.label.eq_ignore_ascii_case(p.bed_type.trim())
        })
        .map(|t| t.key.clone());
    if bed.is_none() {
        e.push(("bed_type", "Select the bed type".to_string()));
    }
    let funder = crate::import::choice(&FUNDERS, &p.funder);
    if funder.is_none() {
        e.push(("funder", "Select who funds the placement".to_string()));
    }
    let fee = parse_pounds(&p.weekly_fee)
        .map_err(|m| e.push(("weekly_fee", format!("Weekly fee: {m}"))))
        .ok();
    let top_up = if p.top_up.trim().is_empty() {
        Some(0)
    } else {
        parse_pounds(&p.top_up)
            .map_err(|m| e.push(("top_up", format!("Top-up: {m}"))))
            .ok()
    };
    let start = caremarket_core::cqc::parse_date(&p.start_date, false)
        .map_err(|_| {
            e.push((
                "start_date",
                "Enter the start date, like 01/11/2026".to_string(),
            ))
        })
        .ok();
    match (case, home, bed, funder, fee, top_up, start) {
        (
            Some(case_reference),
            Some(h),
            Some(bed_type),
            Some(funder),
            Some(fee),
            Some(top_up),
            Some(start),
        ) if e.is_empty() => Ok(Ok(Checked {
            case_reference,
            location_id: h.location_id,
            bed_type,
            funder,
            fee,
            top_up,
            start,
        })),
        _ => Ok(Err(e)),
    }
}

/// Adds a placement. A person (case reference) has one open placement at a time.
pub async fn add(
    state: &AppState,
    actor: &Actor,
    p: &PlacementInput,
) -> Result<std::result::Result<i64, FormErrors>> {
    let c = match check(state, p).await? {
        Ok(c) => c,
        Err(problems) => {
            let mut e = FormErrors::default();
            for (f, m) in problems {
                e.add(f, m);
            }
            return Ok(Err(e));
        }
    };
    let open: Option<(String, NaiveDate)> = state
        .db
        .q()
        .fetch_optional(
            "SELECT location_id, start_date FROM placements WHERE case_reference = $1 AND end_date IS NULL",
            args![&c.case_reference],
        )
        .await?;
    if let Some((loc, since)) = open {
        let mut e = FormErrors::default();
        e.add(
            "case_reference",
            format!(
                "{} is already placed at {loc} since {}: end that placement first",
                c.case_reference,
                since.format("%-d %B %Y")
            ),
        );
        return Ok(Err(e));
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let inserted: std::result::Result<i64, sqlx::Error> = tx
        .scalar(
            "INSERT INTO placements (case_reference, location_id, bed_type, funder, weekly_fee_pence, top_up_pence, start_date, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
            args![&c.case_reference, &c.location_id, &c.bed_type, c.funder, c.fee, c.top_up, c.start, &actor.name, now],
        )
        .await;
    let id = match inserted {
        Ok(id) => id,
        // Someone placed the same person a moment ago: the database kept it to one.
        Err(e) if crate::web::error::is_unique_violation(&e) => {
            drop(tx);
            let mut e = FormErrors::default();
            e.add(
                "case_reference",
                format!(
                    "{} was placed by someone else a moment ago: end that placement first",
                    c.case_reference
                ),
            );
            return Ok(Err(e));
        }
        Err(e) => return Err(e.into()),
    };
    audit::entry("placement.create", "placement", id)
        .after(serde_json::json!({"case_reference": c.case_reference, "location_id": c.location_id, "funder": c.funder, "weekly_fee_pence": c.fee, "top_up_pence": c.top_up, "start_date": c.start}))
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    Ok(Ok(id))
}

/// Ends a placement on a date, with its reason.
pub async fn end(
    state: &AppState,
    actor: &Actor,
    id: i64,
    end_date: &str,
    reason: &str,
) -> Result<std::result::Result<(), FormErrors>> {
    let p: Placement = state
        .db
        .q()
        .fetch_optional("SELECT * FROM placements WHERE id = $1", args![id])
        .await?
        .ok_or(crate::AppError::NotFound)?;
    let mut e = FormErrors::default();
    let d = caremarket_core::cqc::parse_date(end_date, false).ok();
    match d {
        None => e.add(
            &format!("end_date-{id}"),
            "Enter the end date, like 30/11/2026",
        ),
        Some(d) if d < p.start_date => e.add(
            &format!("end_date-{id}"),
            format!(
                "The end date cannot be before the start, {}",
                p.start_date.format("%-d %B %Y")
            ),
        ),
        _ => {}
    }
    let r = crate::import::choice(&END_REASONS, reason);
    if r.is_none() {
        e.add(
            &format!("end_reason-{id}"),
            "Select why the placement ended",
        );
    }
    if p.end_date.is_some() {
        e.add(
            &format!("end_date-{id}"),
            "This placement has already ended",
        );
    }
    if !e.is_empty() {
        return Ok(Err(e));
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    tx.execute(
        "UPDATE placements SET end_date = $1, end_reason = $2, updated_at = $3 WHERE id = $4 AND end_date IS NULL",
        args![d, r, now, id],
    )
    .await?;
    audit::entry("placement.end", "placement", id)
        .after(serde_json::json!({"end_date": d, "end_reason": r}))
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// A placement with its home's name, for lists.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PlacementRow {
    #[serde(flatten)]
    pub placement: Placement,
    pub home: String,
}

pub async fn list(state: &AppState, open_only: bool) -> Result<Vec<PlacementRow>> {
    let rows: Vec<Placement> = state
        .db
        .q()
        .fetch_all(
            "SELECT * FROM placements WHERE ($1 = 0 OR end_date IS NULL) ORDER BY start_date DESC, id DESC",
            args![if open_only { 1i64 } else { 0 }],
        )
        .await?;
    let names: BTreeMap<String, String> = state
        .db
        .q()
        .fetch_all::<(String, String)>(
            "SELECT l.location_id, l.name FROM cqc_locations l WHERE l.location_id IN (SELECT location_id FROM placements)",
            args![],
        )
        .await?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .map(|p| PlacementRow {
            home: names.get(&p.location_id).cloned().unwrap_or_default(),
            placement: p,
        })
        .collect())
}

/// Each home with open placements: how many each funder pays for, against the beds its
/// provider reports occupied (the rest are self-funders or others).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Funding {
    pub location_id: String,
    pub home: String,
    pub council: i64,
    pub nhs: i64,
    pub other: i64,
    pub weekly_pence: i64,
    /// Occupied beds from the provider's figures, when given
    pub occupied: Option<i64>,
    /// Occupied beds not in the register (self-funders, other funders), when known
    pub not_in_register: Option<i64>,
}

/// Open placements today by bed type, in every home or in one council's (by name as CQC
/// gives it): (count, of which with a third-party top-up, the top-ups' weekly total in pence).
pub async fn open_by_bed_type(
    state: &AppState,
    council: Option<&str>,
) -> Result<BTreeMap<String, (i64, i64, i64)>> {
    let today = state.clock.now().date_naive();
    let rows: Vec<(String, i64, i64, i64)> = state
        .db
        .q()
        .fetch_all(
            "SELECT p.bed_type, COUNT(*), CAST(SUM(CASE WHEN p.top_up_pence > 0 THEN 1 ELSE 0 END) AS BIGINT), CAST(COALESCE(SUM(p.top_up_pence), 0) AS BIGINT) \
             FROM placements p LEFT JOIN cqc_locations l ON l.location_id = p.location_id \
             WHERE p.start_date <= $1 AND (p.end_date IS NULL OR p.end_date > $1) AND ($2 = '' OR LOWER(l.local_authority) = LOWER($2)) \
             GROUP BY p.bed_type ORDER BY p.bed_type",
            args![today, council.unwrap_or("")],
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|(b, n, t, p)| (b, (n, t, p)))
        .collect())
}

pub async fn funding(state: &AppState) -> Result<Vec<Funding>> {
    let open = list(state, true).await?;
    let mut by: BTreeMap<String, Funding> = BTreeMap::new();
    for r in &open {
        let p = &r.placement;
        let f = by.entry(p.location_id.clone()).or_insert_with(|| Funding {
            location_id: p.location_id.clone(),
            home: r.home.clone(),
            council: 0,
            nhs: 0,
            other: 0,
            weekly_pence: 0,
            occupied: None,
            not_in_register: None,
        });
        match p.funder.as_str() {
            "council" | "joint" => f.council += 1,
            "nhs_chc" => f.nhs += 1,
            _ => f.other += 1,
        }
        f.weekly_pence += p.weekly_fee_pence;
    }
    for f in by.values_mut() {
        let occ: Option<i64> = state
            .db
            .q()
            .scalar_optional(
                "SELECT CAST(SUM(occupied) AS BIGINT) FROM capacity_figures WHERE location_id = $1",
                args![&f.location_id],
            )
            .await?
            .flatten();
        f.occupied = occ;
        f.not_in_register = occ.map(|o| o - f.council - f.nhs - f.other);
    }
    let mut out: Vec<Funding> = by.into_values().collect();
    out.sort_by(|a, b| a.home.cmp(&b.home));
    Ok(out)
}

const COLUMNS: &[crate::import::ColumnSpec] = &[
    crate::import::col(
        "case_reference",
        &["casereference", "caseref", "reference"],
        true,
    ),
    crate::import::col("location_id", &["locationid", "cqclocationid"], true),
    crate::import::col("bed_type", &["bedtype"], true),
    crate::import::col("funder", &["funder", "funding"], true),
    crate::import::col("weekly_fee", &["weeklyfee", "fee", "weeklyfeepounds"], true),
    crate::import::col("top_up", &["topup", "thirdpartytopup"], false),
    crate::import::col("start_date", &["startdate", "start"], true),
    crate::import::col("end_date", &["enddate", "end"], false),
    crate::import::col("end_reason", &["endreason"], false),
];

/// The register as a file, with the columns an upload takes.
pub async fn export(state: &AppState) -> Result<Table> {
    let rows = list(state, false).await?;
    Ok(Table {
        title: "Placements".into(),
        headers: [
            "Case reference",
            "Location ID",
            "Bed type",
            "Funder",
            "Weekly fee",
            "Top-up",
            "Start date",
            "End date",
            "End reason",
            "Home",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        rows: rows
            .iter()
            .map(|r| {
                let p = &r.placement;
                vec![
                    Value::Text(p.case_reference.clone()),
                    Value::Text(p.location_id.clone()),
                    Value::Text(p.bed_type.clone()),
                    Value::Text(p.funder.clone()),
                    Value::Text(format!(
                        "{}.{:02}",
                        p.weekly_fee_pence / 100,
                        p.weekly_fee_pence % 100
                    )),
                    Value::Text(format!(
                        "{}.{:02}",
                        p.top_up_pence / 100,
                        p.top_up_pence % 100
                    )),
                    Value::Text(p.start_date.to_string()),
                    Value::Text(p.end_date.map(|d| d.to_string()).unwrap_or_default()),
                    Value::Text(p.end_reason.clone().unwrap_or_default()),
                    Value::Text(r.home.clone()),
                ]
            })
            .collect(),
    })
}

/// Loads placements from a file: all or nothing; the same placement (case reference, home,
/// start) again updates it, so loading a file twice changes nothing.
pub async fn import(
    state: &AppState,
    actor: &Actor,
    name: &str,
    bytes: &[u8],
) -> std::result::Result<usize, String> {
    let grids = crate::import::open(name, bytes).map_err(|e| e.0)?;
    let (g, cols) = crate::import::find_header(name, &grids, COLUMNS).map_err(|e| e.0)?;
    let grid = &grids[g];
    let mut problems = Vec::new();
    let mut rows = Vec::new();
    for r in crate::import::data_rows(grid, &cols) {
        let input = PlacementInput {
            case_reference: r.cell("case_reference"),
            location_id: r.cell("location_id"),
            bed_type: r.cell("bed_type"),
            funder: r.cell("funder"),
            weekly_fee: r.cell("weekly_fee"),
            top_up: r.cell("top_up"),
            start_date: r.cell("start_date"),
        };
        let column = |f: &str| match f {
            "weekly_fee" | "top_up" | "start_date" | "case_reference" | "location_id"
            | "bed_type" | "funder" => f.to_string(),
            _ => "case_reference".into(),
        };
        match check(state, &input).await.map_err(|e| e.to_string())? {
            Err(ps) => {
                for (f, m) in ps {
                    let k = column(f);
                    // A file's reader wants the value's fault, not the form's wording.
                    let why = match f {
                        "funder" => "is not a funder: use council, nhs_chc, joint or other_council"
                            .to_string(),
                        "bed_type" => "is not a bed type".to_string(),
                        "location_id" => "is not a care home in the CQC data".to_string(),
                        "start_date" => "is not a date, like 01/11/2026".to_string(),
                        _ => m,
                    };
                    problems.push(r.problem(&k, &r.cell(&k), &why));
                }
            }
            Ok(c) => {
                let end = match r.cell("end_date") {
                    v if v.is_empty() => None,
                    v => match caremarket_core::cqc::parse_date(&v, false) {
                        Ok(d) if d >= c.start => Some(d),
                        Ok(_) => {
                            problems.push(r.problem("end_date", &v, "is before the start date"));
                            None
                        }
                        Err(e) => {
                            problems.push(r.problem("end_date", &v, &e.0));
                            None
                        }
                    },
                };
                let reason = match r.cell("end_reason") {
                    v if v.is_empty() => None,
                    v => match crate::import::choice(&END_REASONS, &v) {
                        Some(k) => Some(k),
                        None => {
                            problems.push(r.problem("end_reason", &v, "is not an end reason: use died, moved_home, hospital, returned_home, home_closed or other"));
                            None
                        }
                    },
                };
                if r.cell("end_date").is_empty() != r.cell("end_reason").is_empty() {
                    problems.push(r.problem(
                        "end_reason",
                        &r.cell("end_reason"),
                        "give both the end date and the end reason, or neither",
                    ));
                }
                rows.push((c, end, reason));
            }
        }
    }
    // One open placement a person, within the file.
    let mut open: BTreeMap<&str, usize> = BTreeMap::new();
    for (c, end, _) in &rows {
        if end.is_none() {
            *open.entry(c.case_reference.as_str()).or_default() += 1;
        }
    }
    for (case, n) in open {
        if n > 1 {
            problems.push(crate::import::RowProblem::new(
                0,
                "Case reference",
                case,
                format!("has {n} open placements in the file: a person has one at a time"),
            ));
        }
    }
    if !problems.is_empty() {
        return Err(crate::import::summarise_problems(name, &problems));
    }
    if rows.is_empty() {
        return Err(format!("{name} has no placements in it"));
    }
    let now = state.clock.now();
    let result: Result<usize> = async {
        let mut tx = state.db.begin().await?;
        for (c, end, reason) in &rows {
            if end.is_none() {
                // An open placement in the file for someone already placed elsewhere.
                let other: Option<(String, NaiveDate)> = tx
                    .fetch_optional(
                        "SELECT location_id, start_date FROM placements WHERE case_reference = $1 AND end_date IS NULL AND NOT (location_id = $2 AND start_date = $3)",
                        args![&c.case_reference, &c.location_id, c.start],
                    )
                    .await?;
                if let Some((loc, since)) = other {
                    return Err(crate::AppError::Unprocessable(format!(
                        "{name}: {} is already placed at {loc} since {}: end that placement first, or give this row its end date; nothing was imported",
                        c.case_reference,
                        since.format("%-d %B %Y")
                    )));
                }
            }
            tx.execute(
                "INSERT INTO placements (case_reference, location_id, bed_type, funder, weekly_fee_pence, top_up_pence, start_date, end_date, end_reason, created_by, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) \
                 ON CONFLICT (case_reference, location_id, start_date) DO UPDATE SET bed_type = excluded.bed_type, funder = excluded.funder, weekly_fee_pence = excluded.weekly_fee_pence, top_up_pence = excluded.top_up_pence, end_date = excluded.end_date, end_reason = excluded.end_reason, updated_at = excluded.updated_at",
                args![&c.case_reference, &c.location_id, &c.bed_type, c.funder, c.fee, c.top_up, c.start, *end, *reason, &actor.name, now],
            )
            .await?;
        }
        audit::entry("placements.import", "placements", name)
            .after(serde_json::json!({"file_name": name, "placements": rows.len()}))
            .write(&mut tx, actor, now)
            .await?;
        tx.commit().await?;
        Ok(rows.len())
    }
    .await;
    result.map_err(|e| match e {
        crate::AppError::Db(d) if crate::web::error::is_unique_violation(&d) => format!(
            "{name}: someone placed a person in this file while it was being loaded; nothing was imported: load it again"
        ),
        e => e.to_string(),
    })
}
