//! Home care packages and banked hours (the 2015 Leeds home care design report: outcome-based commissioning). A placed
//! request becomes a package when care starts: provider, start date, planned hours a week,
//! reviews (which may change the plan from a date), and an end with its reason. Providers
//! record the hours delivered each week (form, API or CSV); the ledger of planned against
//! delivered, with time banked, used and lapsed, is worked out when read by
//! `caremarket_core::brokerage::ledger` under the council's cap and expiry.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use caremarket_core::brokerage::{LedgerRow, Week, ledger};

use crate::audit::{self, Actor};
use crate::web::forms::FormErrors;
use crate::{AppError, AppState, Result, args};

pub const END_REASONS: [(&str, &str); 5] = [
    ("hand_back", "Handed back by the provider"),
    ("care_home", "Moved to a care home"),
    ("died", "Died"),
    ("no_longer_needed", "No longer needed"),
    ("other", "Other"),
];

#[derive(Debug, Clone, sqlx::FromRow, Serialize, utoipa::ToSchema)]
pub struct Package {
    pub id: i64,
    pub request_id: Option<i64>,
    pub case_ref: String,
    pub provider_id: String,
    pub provider_name: Option<String>,
    pub lot_id: Option<i64>,
    pub lot_name: Option<String>,
    /// council or health
    pub funding: String,
    /// Hundredths of an hour a week, as first planned (reviews may change it)
    pub planned_hours: i64,
    pub start_date: NaiveDate,
    pub next_review: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub end_reason: Option<String>,
    pub end_note: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow, Serialize, utoipa::ToSchema)]
pub struct Review {
    pub id: i64,
    pub package_id: i64,
    pub reviewed_on: NaiveDate,
    /// Planned hundredths of an hour a week from the review date
    pub planned_hours: i64,
    pub note: String,
    pub by_whom: String,
}

const SELECT: &str = "SELECT k.id, k.request_id, k.case_ref, k.provider_id, p.name AS provider_name, k.lot_id, l.name AS lot_name, k.funding, k.planned_hours, k.start_date, k.next_review, k.end_date, k.end_reason, k.end_note, k.created_by, k.created_at \
    FROM packages k LEFT JOIN cqc_providers p ON p.provider_id = k.provider_id LEFT JOIN lots l ON l.id = k.lot_id";

pub async fn get(state: &AppState, id: i64) -> Result<Package> {
    state
        .db
        .q()
        .fetch_optional(&format!("{SELECT} WHERE k.id = $1"), args![id])
        .await?
        .ok_or(AppError::NotFound)
}

/// Packages, all or one provider's, newest first.
pub async fn list(state: &AppState, provider: Option<&str>) -> Result<Vec<Package>> {
    Ok(state
        .db
        .q()
        .fetch_all(
            &format!("{SELECT} WHERE ($1 = '' OR k.provider_id = $1) ORDER BY k.start_date DESC, k.id DESC"),
            args![provider.unwrap_or("")],
        )
        .await?)
}

pub async fn for_request(state: &AppState, request_id: i64) -> Result<Option<Package>> {
    Ok(state
        .db
        .q()
        .fetch_optional(
            &format!("{SELECT} WHERE k.request_id = $1"),
            args![request_id],
        )
        .await?)
}

pub async fn reviews(state: &AppState, id: i64) -> Result<Vec<Review>> {
    Ok(state
        .db
        .q()
        .fetch_all(
            "SELECT id, package_id, reviewed_on, planned_hours, note, by_whom FROM package_reviews WHERE package_id = $1 ORDER BY reviewed_on, id",
            args![id],
        )
        .await?)
}

fn date(e: &mut FormErrors, field: &str, v: &str, what: &str) -> Option<NaiveDate> {
    match caremarket_core::cqc::parse_date(v, false) {
        Ok(d) => Some(d),
        Err(_) => {
            e.add(field, format!("Enter {what}, like 01/12/2026"));
            None
        }
    }
}

fn hours(e: &mut FormErrors, field: &str, v: &str) -> Option<i64> {
    match caremarket_core::money::parse_hundredths(v, false) {
        Ok(h) if h > 0 && h <= 16_800 => Some(h),
        _ => {
            e.add(field, "Enter the planned hours a week, a number like 10.5");
            None
        }
    }
}

/// Care starts: the placed request becomes a package with its provider.
pub async fn start(
    state: &AppState,
    actor: &Actor,
    request_id: i64,
    start_date: &str,
    planned: &str,
    next_review: &str,
) -> Result<std::result::Result<i64, FormErrors>> {
    let r = super::requests::get(state, request_id).await?;
    let mut e = FormErrors::default();
    let Some(provider) = r.placed_provider.clone().filter(|_| r.state == "placed") else {
        e.add(
            "start_date",
            "Only a placed request becomes a package: a provider must accept it first",
        );
        return Ok(Err(e));
    };
    if for_request(state, request_id).await?.is_some() {
        e.add("start_date", "Care has already started for this request");
        return Ok(Err(e));
    }
    let start = date(&mut e, "start_date", start_date, "the date care starts");
    let planned = if planned.trim().is_empty() {
        Some(r.hours)
    } else {
        hours(&mut e, "planned_hours", planned)
    };
    let review = if next_review.trim().is_empty() {
        None
    } else {
        date(
            &mut e,
            "next_review",
            next_review,
            "the date of the first review",
        )
    };
    if let (Some(s), Some(v)) = (start, review)
        && v <= s
    {
        e.add("next_review", "The first review must be after care starts");
    }
    let (Some(start), Some(planned), true) = (start, planned, e.is_empty()) else {
        return Ok(Err(e));
    };
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let id: i64 = tx
        .scalar(
            "INSERT INTO packages (request_id, case_ref, provider_id, lot_id, funding, planned_hours, start_date, next_review, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            args![request_id, &r.case_ref, &provider, r.lot_id, &r.funding, planned, start, review, &actor.name, now],
        )
        .await?;
    audit::entry("package.start", "package", id)
        .after(serde_json::json!({"request_id": request_id, "case_ref": r.case_ref, "provider_id": provider, "planned_hours": planned, "start_date": start}))
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    Ok(Ok(id))
}

/// A review: the plan from `reviewed_on` (the same hours if unchanged) and the next review.
pub async fn review(
    state: &AppState,
    actor: &Actor,
    p: &Package,
    reviewed_on: &str,
    planned: &str,
    note: &str,
    next_review: &str,
) -> Result<std::result::Result<(), FormErrors>> {
    let mut e = FormErrors::default();
    let on = date(&mut e, "reviewed_on", reviewed_on, "the date of the review");
    let planned = hours(&mut e, "review_hours", planned);
    let next = if next_review.trim().is_empty() {
        None
    } else {
        date(
            &mut e,
            "next_review",
            next_review,
            "the date of the next review",
        )
    };
    if let Some(d) = on
        && (d < p.start_date || p.end_date.is_some_and(|x| d > x))
    {
        e.add("reviewed_on", "The review must fall while the package runs");
    }
    let (Some(on), Some(planned), true) = (on, planned, e.is_empty()) else {
        return Ok(Err(e));
    };
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    tx.execute(
        "INSERT INTO package_reviews (package_id, reviewed_on, planned_hours, note, by_whom, at) VALUES ($1, $2, $3, $4, $5, $6)",
        args![p.id, on, planned, note.trim(), &actor.name, now],
    )
    .await?;
    tx.execute(
        "UPDATE packages SET next_review = $1 WHERE id = $2",
        args![next, p.id],
    )
    .await?;
    audit::entry("package.review", "package", p.id)
        .after(serde_json::json!({"reviewed_on": on, "planned_hours": planned, "note": note.trim(), "next_review": next}))
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// The package ends, with its reason. A hand-back leaves the person needing a provider again:
/// the broker raises a new request for the case (the page offers it).
pub async fn end(
    state: &AppState,
    actor: &Actor,
    p: &Package,
    end_date: &str,
    reason: &str,
    note: &str,
) -> Result<std::result::Result<(), FormErrors>> {
    let mut e = FormErrors::default();
    if p.end_date.is_some() {
        e.add("end_date", "This package has already ended");
        return Ok(Err(e));
    }
    let d = date(&mut e, "end_date", end_date, "the date the package ends");
    if !END_REASONS.iter().any(|(k, _)| *k == reason) {
        e.add("end_reason", "Select why the package ends");
    }
    if reason == "other" && note.trim().is_empty() {
        e.add("end_note", "Say why the package ends");
    }
    if let Some(d) = d
        && d < p.start_date
    {
        e.add("end_date", "The end cannot be before care started");
    }
    let (Some(d), true) = (d, e.is_empty()) else {
        return Ok(Err(e));
    };
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let n = tx
        .execute(
            "UPDATE packages SET end_date = $1, end_reason = $2, end_note = $3 WHERE id = $4 AND end_date IS NULL",
            args![d, reason, (!note.trim().is_empty()).then(|| note.trim().to_string()), p.id],
        )
        .await?;
    if n == 0 {
        e.add("end_date", "This package has already ended");
        return Ok(Err(e));
    }
    audit::entry("package.end", "package", p.id)
        .after(serde_json::json!({"end_date": d, "end_reason": reason, "note": note.trim()}))
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// The weeks of a package: each starts on the start date's day of the week.
pub fn week_of(p: &Package, d: NaiveDate) -> NaiveDate {
    let n = (d - p.start_date).num_days().div_euclid(7);
    p.start_date + chrono::Duration::days(7 * n)
}

/// Records (or corrects) the hours delivered in one week; Err says what is wrong.
pub async fn record_hours(
    state: &AppState,
    actor: &Actor,
    p: &Package,
    week_start: NaiveDate,
    delivered: i64,
    source: &str,
) -> Result<std::result::Result<(), String>> {
    if let Some(m) = week_problem(p, week_start, state.clock.now().date_naive()) {
        return Ok(Err(m));
    }
    if !(0..=16_800).contains(&delivered) {
        return Ok(Err(
            "Enter the hours delivered in the week, from 0 to 168".into()
        ));
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    save_hours(&mut tx, p.id, week_start, delivered, source, actor, now).await?;
    audit::entry("package.hours", "package", p.id)
        .after(
            serde_json::json!({"week_start": week_start, "delivered": delivered, "source": source}),
        )
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

fn week_problem(p: &Package, week: NaiveDate, today: NaiveDate) -> Option<String> {
    if week < p.start_date {
        return Some(format!(
            "The package starts on {}: record weeks from then",
            p.start_date.format("%d/%m/%Y")
        ));
    }
    if week_of(p, week) != week {
        return Some(format!(
            "Weeks of this package start on a {}: {} is not one",
            p.start_date.format("%A"),
            week.format("%d/%m/%Y")
        ));
    }
    if week > today {
        return Some("That week has not started yet".into());
    }
    if let Some(end) = p.end_date
        && week > end
    {
        return Some("The package had ended by then".into());
    }
    None
}

async fn save_hours(
    tx: &mut crate::db::Tx,
    package: i64,
    week: NaiveDate,
    delivered: i64,
    source: &str,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<()> {
    tx.execute(
        "INSERT INTO delivered_hours (package_id, week_start, delivered, source, recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (package_id, week_start) DO UPDATE SET delivered = excluded.delivered, source = excluded.source, recorded_by = excluded.recorded_by, recorded_at = excluded.recorded_at",
        args![package, week, delivered, source, &actor.name, now],
    )
    .await?;
    Ok(())
}

/// One week of a package's ledger.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LedgerLine {
    pub week_start: NaiveDate,
    /// False when the provider has not recorded the week yet: it is taken as delivered as
    /// planned (nothing banked or used) until they do.
    pub recorded: bool,
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub row: LedgerRow,
}

/// The ledger from the start to this week (or the end).
pub async fn ledger_of(state: &AppState, p: &Package) -> Result<Vec<LedgerLine>> {
    let recorded: Vec<(NaiveDate, i64)> = state
        .db
        .q()
        .fetch_all(
            "SELECT week_start, delivered FROM delivered_hours WHERE package_id = $1 ORDER BY week_start",
            args![p.id],
        )
        .await?;
    let recorded: std::collections::HashMap<NaiveDate, i64> = recorded.into_iter().collect();
    let reviews = reviews(state, p.id).await?;
    let today = state.clock.now().date_naive();
    let last = p.end_date.map_or(today, |e| e.min(today));
    let mut weeks = Vec::new();
    let mut starts = Vec::new();
    let mut w = p.start_date;
    while w <= last {
        let mut planned = reviews
            .iter()
            .rev()
            .find(|r| r.reviewed_on <= w)
            .map_or(p.planned_hours, |r| r.planned_hours);
        // The week the package ends is planned only for the days before it ended.
        if let Some(end) = p.end_date {
            let days = (end - w).num_days().clamp(0, 7);
            if days < 7 {
                planned = caremarket_core::cost::div_round_half_up(
                    i128::from(planned) * i128::from(days),
                    7,
                );
            }
        }
        let got = recorded.get(&w).copied();
        weeks.push(Week {
            planned,
            delivered: got.unwrap_or(planned),
        });
        starts.push((w, got.is_some()));
        w += chrono::Duration::days(7);
    }
    let rows = ledger(&weeks, state.settings().brokerage.bank);
    Ok(starts
        .into_iter()
        .zip(rows)
        .map(|((week_start, recorded), row)| LedgerLine {
            week_start,
            recorded,
            row,
        })
        .collect())
}

// ---------------------------------------------------------------------------------------
// Delivered hours from a file

const COLUMNS: &[crate::import::ColumnSpec] = &[
    crate::import::col("package", &["package", "packageid", "package_id"], false),
    crate::import::col("case_ref", &["casereference", "caseref", "case"], false),
    crate::import::col(
        "week",
        &["weekstarting", "weekstart", "week", "weekbeginning"],
        true,
    ),
    crate::import::col(
        "delivered",
        &["delivered", "hoursdelivered", "deliveredhours", "hours"],
        true,
    ),
];

/// Loads delivered hours from a CSV or XLSX file: a package (its number, or the case
/// reference of an open package), the week starting, the hours delivered. A provider may
/// load only its own packages. All or nothing; loading it again changes nothing.
pub async fn import_hours(
    state: &AppState,
    actor: &Actor,
    provider: Option<&str>,
    name: &str,
    bytes: &[u8],
) -> std::result::Result<usize, String> {
    let grids = crate::import::open(name, bytes).map_err(|e| e.0)?;
    let (g, cols) = crate::import::find_header(name, &grids, COLUMNS).map_err(|e| e.0)?;
    if cols.idx("package").is_none() && cols.idx("case_ref").is_none() {
        return Err(format!(
            "{name}: a column must say which package: \"Package\" (its number) or \"Case reference\""
        ));
    }
    let all = list(state, provider).await.map_err(|e| e.to_string())?;
    let today = state.clock.now().date_naive();
    let mut problems = Vec::new();
    let mut rows = Vec::new();
    let mut seen = std::collections::HashMap::new();
    for r in crate::import::data_rows(&grids[g], &cols) {
        let pk = r.cell("package").trim().to_string();
        let case = r.cell("case_ref").trim().to_uppercase();
        let found = if !pk.is_empty() {
            match pk
                .parse::<i64>()
                .ok()
                .and_then(|n| all.iter().find(|p| p.id == n))
            {
                // Both given and not the same package: say so rather than guess which.
                Some(p) if !case.is_empty() && p.case_ref != case => {
                    problems.push(r.problem(
                        "case_ref",
                        &case,
                        &format!("is not the case of package {pk} ({})", p.case_ref),
                    ));
                    continue;
                }
                Some(p) => p,
                None => {
                    problems.push(r.problem(
                        "package",
                        &pk,
                        if provider.is_some() {
                            "is not one of your packages"
                        } else {
                            "is not a package number"
                        },
                    ));
                    continue;
                }
            }
        } else {
            let open: Vec<&Package> = all
                .iter()
                .filter(|p| p.case_ref == case && p.end_date.is_none())
                .collect();
            match open.as_slice() {
                [p] => *p,
                [] => {
                    problems.push(r.problem(
                        "case_ref",
                        &case,
                        if provider.is_some() {
                            "is not the case of one of your open packages"
                        } else {
                            "has no open package"
                        },
                    ));
                    continue;
                }
                _ => {
                    problems.push(r.problem(
                        "case_ref",
                        &case,
                        "has more than one open package: give the package number",
                    ));
                    continue;
                }
            }
        };
        let wv = r.cell("week");
        let Ok(week) = caremarket_core::cqc::parse_date(&wv, false) else {
            problems.push(r.problem("week", &wv, "is not a date, like 07/12/2026"));
            continue;
        };
        if let Some(m) = week_problem(found, week, today) {
            problems.push(r.problem("week", &wv, &m));
            continue;
        }
        let dv = r.cell("delivered");
        let delivered = match caremarket_core::money::parse_hundredths(&dv, false) {
            Ok(h) if h <= 16_800 => h,
            _ => {
                problems.push(r.problem(
                    "delivered",
                    &dv,
                    "is not a number of hours from 0 to 168, like 9.5",
                ));
                continue;
            }
        };
        if let Some(first) = seen.insert((found.id, week), r.number) {
            problems.push(r.problem(
                "week",
                &wv,
                &format!("is the same package and week as row {first}"),
            ));
            continue;
        }
        rows.push((found.id, week, delivered));
    }
    if !problems.is_empty() {
        return Err(crate::import::summarise_problems(name, &problems));
    }
    if rows.is_empty() {
        return Err(format!("{name} has no weeks in it"));
    }
    let now = state.clock.now();
    let result: Result<usize> = async {
        let mut tx = state.db.begin().await?;
        for (p, w, d) in &rows {
            save_hours(&mut tx, *p, *w, *d, "csv", actor, now).await?;
        }
        audit::entry("package.hours.import", "delivered_hours", name)
            .after(serde_json::json!({"weeks": rows.len()}))
            .write(&mut tx, actor, now)
            .await?;
        tx.commit().await?;
        Ok(rows.len())
    }
    .await;
    result.map_err(|e| e.to_string())
}
