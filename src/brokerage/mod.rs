//! Home care brokerage (the 2015 Leeds home care design report and the 2018 Leicester domiciliary support report). This part: lots and the framework behind them.
//! A lot is a locality (a set of postcode districts) for one service line, with one primary
//! provider and framework providers in rank order, as set at tender; providers join or
//! withdraw mid-term and their rows stay with the dates (Leicester domiciliary support, 2018, §4.5). The offer cascade,
//! the awaiting care list and banked hours follow the rules in `caremarket_core::brokerage`.

pub mod awaiting;
pub mod awaiting_pages;
pub mod matching;
pub mod matching_pages;
pub mod package_pages;
pub mod packages;
pub mod pages;
pub mod ranking;
pub mod ranking_pages;
pub mod report;
pub mod request_pages;
pub mod requests;
pub mod rules;

use chrono::{DateTime, NaiveDate, Utc};

use crate::audit::{self, Actor};
use crate::web::forms::FormErrors;
use crate::{AppError, AppState, Result, args};

pub const SERVICE_LINES: [(&str, &str); 2] = [
    ("general", "General home care"),
    ("specialist", "Specialist care with nurse oversight"),
];

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct Lot {
    pub id: i64,
    pub name: String,
    pub service_line: String,
    /// Postcode districts separated by spaces
    pub districts: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// A provider on a lot, now or in the past.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct LotProvider {
    pub id: i64,
    pub lot_id: i64,
    pub provider_id: String,
    pub provider_name: Option<String>,
    /// primary or framework
    pub role: String,
    /// 1 first among the framework; 0 for the primary
    pub rank: i64,
    /// Tender score in hundredths
    pub tender_score: i64,
    pub joined_on: NaiveDate,
    pub withdrawn_on: Option<NaiveDate>,
    pub withdrawn_reason: Option<String>,
}

/// Districts as typed ("ls1, LS2 ls6") in one form: upper case, single spaces, no repeats.
pub fn normalise_districts(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s
        .split(|c: char| c == ',' || c.is_whitespace())
        .map(|d| d.trim().to_uppercase())
        .filter(|d| !d.is_empty())
        .collect();
    v.sort();
    v.dedup();
    v
}

fn is_district(d: &str) -> bool {
    // An outward code: one or two letters, a digit, then an optional digit or letter.
    let letters = d.chars().take_while(|c| c.is_ascii_uppercase()).count();
    let rest = &d[letters..];
    (1..=2).contains(&letters)
        && rest.chars().next().is_some_and(|c| c.is_ascii_digit())
        && rest.len() <= 2
        && rest.chars().all(|c| c.is_ascii_alphanumeric())
}

pub async fn lots(state: &AppState) -> Result<Vec<Lot>> {
    Ok(state
        .db
        .q()
        .fetch_all("SELECT * FROM lots ORDER BY service_line, name", args![])
        .await?)
}

pub async fn lot(state: &AppState, id: i64) -> Result<Lot> {
    state
        .db
        .q()
        .fetch_optional("SELECT * FROM lots WHERE id = $1", args![id])
        .await?
        .ok_or(AppError::NotFound)
}

/// A lot's providers, current first (primary, then framework by rank), then past ones.
pub async fn providers(state: &AppState, lot_id: i64) -> Result<Vec<LotProvider>> {
    Ok(state
        .db
        .q()
        .fetch_all(
            "SELECT lp.id, lp.lot_id, lp.provider_id, p.name AS provider_name, lp.role, lp.rank, lp.tender_score, lp.joined_on, lp.withdrawn_on, lp.withdrawn_reason \
             FROM lot_providers lp LEFT JOIN cqc_providers p ON p.provider_id = lp.provider_id WHERE lp.lot_id = $1 \
             ORDER BY CASE WHEN lp.withdrawn_on IS NULL THEN 0 ELSE 1 END, lp.rank, lp.joined_on, lp.id",
            args![lot_id],
        )
        .await?)
}

/// The order offers go in for a lot: the primary provider, then the framework by rank.
pub async fn offer_order(state: &AppState, lot_id: i64) -> Result<Vec<String>> {
    Ok(providers(state, lot_id)
        .await?
        .into_iter()
        .filter(|p| p.withdrawn_on.is_none())
        .map(|p| p.provider_id)
        .collect())
}

/// The lot of a service line that covers a postcode district (a care request's lot).
pub async fn lot_for(state: &AppState, district: &str, service_line: &str) -> Result<Option<Lot>> {
    let d = district.trim().to_uppercase();
    Ok(lots(state)
        .await?
        .into_iter()
        .find(|l| l.service_line == service_line && l.districts.split(' ').any(|x| x == d)))
}

/// Creates a lot; each district may be in one lot per service line.
pub async fn add_lot(
    state: &AppState,
    actor: &Actor,
    name: &str,
    service_line: &str,
    districts: &str,
) -> Result<std::result::Result<i64, FormErrors>> {
    let mut e = FormErrors::default();
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        e.add(
            "name",
            "Name the lot, like Leeds East (up to 80 characters)",
        );
    }
    if !SERVICE_LINES.iter().any(|(k, _)| *k == service_line) {
        e.add("service_line", "Select the service line");
    }
    let ds = normalise_districts(districts);
    if ds.is_empty() {
        e.add(
            "districts",
            "Enter the postcode districts the lot covers, like LS9 LS14 LS15",
        );
    } else if let Some(bad) = ds.iter().find(|d| !is_district(d)) {
        e.add(
            "districts",
            format!("{bad} is not a postcode district, like LS9"),
        );
    } else {
        for l in lots(state).await? {
            if l.name.eq_ignore_ascii_case(name) {
                e.add("name", format!("There is already a lot called {}", l.name));
            }
            if l.service_line == service_line {
                let taken: Vec<&String> = ds
                    .iter()
                    .filter(|d| l.districts.split(' ').any(|x| x == d.as_str()))
                    .collect();
                if !taken.is_empty() {
                    e.add(
                        "districts",
                        format!(
                            "{} already in {}: a district is in one lot for each service line",
                            taken
                                .iter()
                                .map(|d| d.as_str())
                                .collect::<Vec<_>>()
                                .join(", "),
                            l.name
                        ),
                    );
                }
            }
        }
    }
    if !e.is_empty() {
        return Ok(Err(e));
    }
    let now = state.clock.now();
    let joined = ds.join(" ");
    let mut tx = state.db.begin().await?;
    let id: i64 = tx
        .scalar(
            "INSERT INTO lots (name, service_line, districts, created_by, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            args![name, service_line, &joined, &actor.name, now],
        )
        .await?;
    audit::entry("lot.create", "lot", id.to_string())
        .after(serde_json::json!({"name": name, "service_line": service_line, "districts": joined}))
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    Ok(Ok(id))
}

/// What the add-provider form gave.
#[derive(Debug, Clone, Default)]
pub struct JoinInput {
    pub provider_id: String,
    pub role: String,
    pub tender_score: String,
    pub joined_on: String,
}

/// Adds a provider to a lot: as the primary (the current primary, if any, moves to the top
/// of the framework) or at the end of the framework.
pub async fn join(
    state: &AppState,
    actor: &Actor,
    lot_id: i64,
    i: &JoinInput,
) -> Result<std::result::Result<i64, FormErrors>> {
    let _ = lot(state, lot_id).await?;
    let mut e = FormErrors::default();
    let provider = i.provider_id.trim();
    if crate::cqc::queries::provider(&state.db, provider)
        .await?
        .is_none()
    {
        e.add(
            "provider_id",
            "Enter a CQC provider ID from the CQC data, like 1-101667957",
        );
    }
    if !matches!(i.role.as_str(), "primary" | "framework") {
        e.add("role", "Select primary provider or framework provider");
    }
    let score = if i.tender_score.trim().is_empty() {
        0
    } else {
        match caremarket_core::money::parse_hundredths(&i.tender_score, false) {
            Ok(v) if v <= 10_000 => v,
            _ => {
                e.add(
                    "tender_score",
                    "Enter the tender score out of 100, like 87.5",
                );
                0
            }
        }
    };
    let joined_on = match caremarket_core::cqc::parse_date(&i.joined_on, false) {
        Ok(d) => Some(d),
        Err(_) => {
            e.add(
                "joined_on",
                "Enter the date the provider joins the lot, like 09/10/2017",
            );
            None
        }
    };
    let current = providers(state, lot_id).await?;
    if current
        .iter()
        .any(|p| p.provider_id == provider && p.withdrawn_on.is_none())
    {
        e.add("provider_id", "That provider is already on the lot");
    }
    let (Some(joined_on), true) = (joined_on, e.is_empty()) else {
        return Ok(Err(e));
    };
    let now = state.clock.now();
    let framework_last = current
        .iter()
        .filter(|p| p.withdrawn_on.is_none() && p.role == "framework")
        .map(|p| p.rank)
        .max()
        .unwrap_or(0);
    let has_primary = current
        .iter()
        .any(|p| p.withdrawn_on.is_none() && p.role == "primary");
    let mut tx = state.db.begin().await?;
    if i.role == "primary" && has_primary {
        // The old primary leads the framework: everyone else moves down one.
        tx.execute(
            "UPDATE lot_providers SET rank = rank + 1 WHERE lot_id = $1 AND withdrawn_on IS NULL AND role = 'framework'",
            args![lot_id],
        )
        .await?;
        tx.execute(
            "UPDATE lot_providers SET role = 'framework', rank = 1 WHERE lot_id = $1 AND withdrawn_on IS NULL AND role = 'primary'",
            args![lot_id],
        )
        .await?;
    }
    let rank = if i.role == "primary" {
        0
    } else {
        framework_last + 1
    };
    let id: i64 = tx
        .scalar(
            "INSERT INTO lot_providers (lot_id, provider_id, role, rank, tender_score, joined_on, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            args![lot_id, provider, &i.role, rank, score, joined_on, &actor.name, now],
        )
        .await?;
    audit::entry("lot.provider.join", "lot", lot_id.to_string())
        .after(serde_json::json!({"provider_id": provider, "role": i.role, "rank": rank, "tender_score": score, "joined_on": joined_on}))
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    Ok(Ok(id))
}

/// A provider leaves a lot (merger, buy-out, hand-back): its row stays with the date and
/// reason; the framework closes up behind it. A primary's place is left empty until a
/// commissioner names the next.
pub async fn withdraw(
    state: &AppState,
    actor: &Actor,
    lot_id: i64,
    row_id: i64,
    date: &str,
    reason: &str,
) -> Result<std::result::Result<(), FormErrors>> {
    let mut e = FormErrors::default();
    let row = providers(state, lot_id)
        .await?
        .into_iter()
        .find(|p| p.id == row_id && p.withdrawn_on.is_none())
        .ok_or(AppError::NotFound)?;
    let on = match caremarket_core::cqc::parse_date(date, false) {
        Ok(d) if d >= row.joined_on => Some(d),
        Ok(_) => {
            e.add(
                &format!("withdrawn_on-{row_id}"),
                "The date cannot be before the provider joined",
            );
            None
        }
        Err(_) => {
            e.add(
                &format!("withdrawn_on-{row_id}"),
                "Enter the date the provider leaves, like 31/03/2018",
            );
            None
        }
    };
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 {
        e.add(
            &format!("withdrawn_reason-{row_id}"),
            "Say why, like: bought by another provider",
        );
    }
    let (Some(on), true) = (on, e.is_empty()) else {
        return Ok(Err(e));
    };
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    tx.execute(
        "UPDATE lot_providers SET withdrawn_on = $1, withdrawn_reason = $2 WHERE id = $3 AND withdrawn_on IS NULL",
        args![on, reason, row_id],
    )
    .await?;
    if row.role == "framework" {
        tx.execute(
            "UPDATE lot_providers SET rank = rank - 1 WHERE lot_id = $1 AND withdrawn_on IS NULL AND role = 'framework' AND rank > $2",
            args![lot_id, row.rank],
        )
        .await?;
    }
    audit::entry("lot.provider.withdraw", "lot", lot_id.to_string())
        .before(
            serde_json::json!({"provider_id": row.provider_id, "role": row.role, "rank": row.rank}),
        )
        .after(serde_json::json!({"withdrawn_on": on, "reason": reason}))
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn districts_as_typed() {
        assert_eq!(
            normalise_districts("ls9, LS14  ls9\nls15"),
            vec!["LS14", "LS15", "LS9"]
        );
        for ok in ["LS9", "LS14", "E1", "W1A", "EC1A", "PL6"] {
            assert!(is_district(ok), "{ok}");
        }
        for bad in ["LS", "9LS", "LS123", "L$1", "ABC1"] {
            assert!(!is_district(bad), "{bad}");
        }
    }
}

/// Every route of this capability, pages and JSON API, each with its access rule.
pub fn routes() -> Vec<crate::web::RouteDef> {
    let mut v = Vec::new();
    v.extend(pages::routes());
    v.extend(request_pages::routes());
    v.extend(rules::routes());
    v.extend(awaiting_pages::routes());
    v.extend(package_pages::routes());
    v.extend(ranking_pages::routes());
    v.extend(matching_pages::routes());
    v.extend(report::routes());
    v
}

/// This capability's part of the OpenAPI document (src/api puts the parts together).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(pages::api_lots, request_pages::api_requests, request_pages::api_request, request_pages::api_raise, request_pages::api_offers, request_pages::api_accept, request_pages::api_decline, awaiting_pages::api_awaiting, package_pages::api_packages, package_pages::api_package, package_pages::api_record, ranking_pages::api_rankings, matching_pages::api_plan, matching_pages::api_declare),
    tags((name = "brokerage", description = "Home care lots and the framework, care requests and the offer cascade, providers' offers"))
)]
pub struct ApiDoc;
