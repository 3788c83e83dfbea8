//! Quality assurance: the contracts register (which locations the council buys from) and the
//! council's QAF visits with their graded outcomes, and the summary tables of the 2018 Leicester domiciliary support report §4.9
//! (providers by CQC rating and by QAF level, for a contract type and a date).

pub mod concern_pages;
pub mod concerns;
pub mod contract_pages;
pub mod eval;
pub mod framework;
pub mod plan_pages;
pub mod risk_pages;
pub mod visit_pages;

/// Who may read the contracts register (and so which locations the council contracts): the
/// rule of its route, and of every list of contracted locations wherever it is shown.
pub const CONTRACT_READERS: crate::web::Access = crate::web::roles::COMMISSIONERS_AND_BROKERS;

pub fn may_read_contracts(role: caremarket_core::Role) -> bool {
    CONTRACT_READERS.allows(role)
}
pub mod plans;
pub mod questionnaires;
pub mod risk;
pub mod self_assessment;
pub mod theme_pages;
pub mod themes;

use caremarket_core::cqc::Rating;
use caremarket_core::quality::{Framework, GradeScale, overall_grade};
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::HashMap;

use crate::audit::{self, Actor};
use crate::import::FileError;
use crate::web::forms::FormErrors;
use crate::{AppError, AppState, Result, args};

pub const CONTRACT_TYPES: [(&str, &str); 5] = [
    ("residential", "Residential"),
    ("nursing", "Nursing"),
    ("home_care_framework", "Home care framework"),
    ("supported_living", "Supported living"),
    ("spot", "Spot purchase"),
];

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct Contract {
    pub id: i64,
    pub location_id: String,
    pub contract_type: String,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub lots: String,
    pub status: String,
    pub reference: String,
    pub created_at: DateTime<Utc>,
}

impl Contract {
    /// In force on the date: started, not ended, not marked ended.
    pub fn in_force(&self, on: NaiveDate) -> bool {
        self.start_date <= on && self.end_date.is_none_or(|e| e >= on) && self.status != "ended"
    }
}

pub async fn contracts(state: &AppState) -> Result<Vec<Contract>> {
    Ok(state
        .db
        .q()
        .fetch_all(
            "SELECT * FROM contracts ORDER BY contract_type, location_id, start_date",
            args![],
        )
        .await?)
}

/// One contract as read from a register CSV.
struct ContractRow {
    location_id: String,
    contract_type: String,
    start_date: NaiveDate,
    end_date: Option<NaiveDate>,
    lots: String,
    status: String,
    reference: String,
}

const REGISTER_COLUMNS: &[crate::import::ColumnSpec] = &[
    crate::import::col("location_id", &["locationid", "cqclocationid"], true),
    crate::import::col("contract_type", &["contracttype", "type"], true),
    crate::import::col("start_date", &["startdate", "start"], true),
    crate::import::col("end_date", &["enddate", "end"], false),
    crate::import::col("lots", &["lots", "lot"], false),
    crate::import::col("status", &["status"], false),
    crate::import::col("reference", &["reference", "contractreference"], false),
];

/// Loads a contracts register CSV: all or nothing, each problem with row, column, value and
/// reason; the same contract twice (location, type, start) updates it instead of doubling.
pub async fn import_register(
    state: &AppState,
    actor: &Actor,
    name: &str,
    bytes: &[u8],
) -> std::result::Result<usize, String> {
    let grids = crate::import::open(name, bytes).map_err(|e: FileError| e.0)?;
    let (g, cols) = crate::import::find_header(name, &grids, REGISTER_COLUMNS).map_err(|e| e.0)?;
    let grid = &grids[g];
    let mut problems = Vec::new();
    let mut rows = Vec::new();
    for r in crate::import::data_rows(grid, &cols) {
        let cell = |k: &str| r.cell(k);
        let mut bad = |k: &str, v: &str, why: &str| problems.push(r.problem(k, v, why));
        let location_id = cell("location_id");
        if !crate::cqc::records::valid_cqc_id(&location_id) {
            bad("location_id", &location_id, "is not a CQC location ID");
        }
        let ct = cell("contract_type");
        let contract_type = crate::import::choice(&CONTRACT_TYPES, &ct);
        if contract_type.is_none() {
            bad(
                "contract_type",
                &ct,
                "is not a contract type: use residential, nursing, home care framework, supported living or spot",
            );
        }
        let date = |k: &str, bad: &mut dyn FnMut(&str, &str, &str)| -> Option<NaiveDate> {
            let v = cell(k);
            if v.is_empty() {
                return None;
            }
            match caremarket_core::cqc::parse_date(&v, false) {
                Ok(d) => Some(d),
                Err(e) => {
                    bad(k, &v, &e.0);
                    None
                }
            }
        };
        let start = date("start_date", &mut bad);
        if cell("start_date").is_empty() {
            bad("start_date", "", "the start date is empty");
        }
        let end = date("end_date", &mut bad);
        if let (Some(s), Some(e)) = (start, end)
            && e < s
        {
            bad("end_date", &cell("end_date"), "is before the start date");
        }
        let status_raw = cell("status").to_lowercase();
        let status = match status_raw.as_str() {
            "" | "active" | "live" => "active",
            "suspended" => "suspended",
            "ended" | "terminated" | "expired" => "ended",
            _ => {
                bad(
                    "status",
                    &status_raw,
                    "is not a status: use active, suspended or ended",
                );
                "active"
            }
        };
        if let (Some(contract_type), Some(start_date)) = (contract_type, start) {
            rows.push(ContractRow {
                location_id,
                contract_type: contract_type.into(),
                start_date,
                end_date: end,
                lots: cell("lots"),
                status: status.into(),
                reference: cell("reference"),
            });
        }
    }
    if !problems.is_empty() {
        return Err(crate::import::summarise_problems(name, &problems));
    }
    if rows.is_empty() {
        return Err(format!("{name} has no contracts in it"));
    }
    let now = state.clock.now();
    let result: Result<usize> = async {
        let mut tx = state.db.begin().await?;
        for r in &rows {
            tx.execute(
                "INSERT INTO contracts (location_id, contract_type, start_date, end_date, lots, status, reference, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (location_id, contract_type, start_date) DO UPDATE SET end_date = excluded.end_date, lots = excluded.lots, status = excluded.status, reference = excluded.reference",
                args![&r.location_id, &r.contract_type, r.start_date, r.end_date, &r.lots, &r.status, &r.reference, now],
            )
            .await?;
        }
        audit::entry("contracts.import", "contracts", name)
            .after(serde_json::json!({"file_name": name, "contracts": rows.len()}))
            .write(&mut tx, actor, now)
            .await?;
        // The market dashboards show the contracted market: moving the data version on
        // makes them rebuild with the new register.
        crate::cqc::bump_data_version(&mut tx).await?;
        tx.commit().await?;
        Ok(rows.len())
    }
    .await;
    result.map_err(|e| e.to_string())
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct Visit {
    pub id: i64,
    pub location_id: String,
    pub visit_type: String,
    pub announced: bool,
    pub unannounced_reason: Option<String>,
    pub visit_date: NaiveDate,
    pub officers: String,
    pub status: String,
    pub overall_grade: Option<String>,
    pub version: i64,
    pub supersedes_id: Option<i64>,
    pub correction_reason: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
}

/// What a visit form gives.
#[derive(Debug, Clone, Default)]
pub struct VisitInput {
    pub location_id: String,
    pub visit_type: String,
    pub announced: bool,
    pub unannounced_reason: String,
    pub visit_date: String,
    pub officers: String,
    /// Grade per domain, in the framework's order
    pub grades: Vec<String>,
    pub notes: Vec<String>,
    /// Findings per domain, per standard, in the framework's order
    pub findings: Vec<Vec<String>>,
}

pub struct CheckedVisit {
    date: NaiveDate,
    overall: String,
}

pub fn check_visit(
    v: &VisitInput,
    fw: &Framework,
    known_location: bool,
) -> std::result::Result<CheckedVisit, FormErrors> {
    let scale = &fw.scale;
    let mut e = FormErrors::default();
    if !known_location {
        e.add(
            "location_id",
            "Enter the CQC location ID of a location in the CQC data, like 1-1000587219",
        );
    }
    if !matches!(v.visit_type.as_str(), "planned" | "reactive") {
        e.add(
            "visit_type",
            "Select whether the visit was planned or reactive",
        );
    }
    if !v.announced && v.unannounced_reason.trim().is_empty() {
        e.add("unannounced_reason", "Say why the visit was not announced");
    }
    let date = match caremarket_core::cqc::parse_date(&v.visit_date, false) {
        Ok(d) => Some(d),
        Err(_) => {
            e.add("visit_date", "Enter the visit date, like 24/11/2026");
            None
        }
    };
    if v.officers.trim().is_empty() {
        e.add("officers", "Enter the officers who visited");
    }
    for (i, d) in fw.domains.iter().enumerate() {
        if v.grades.get(i).is_none_or(|g| scale.rank(g).is_none()) {
            e.add(
                &format!("grade_{i}"),
                format!("Select a grade for {}", d.name),
            );
        }
    }
    if !e.is_empty() {
        return Err(e);
    }
    let grades: Vec<&str> = v
        .grades
        .iter()
        .take(fw.domains.len())
        .map(String::as_str)
        .collect();
    let overall = overall_grade(scale, &grades, fw.rule).map_err(|_| {
        let mut e = FormErrors::default();
        e.add("grade_0", "The grades are not on the scale");
        e
    })?;
    Ok(CheckedVisit {
        date: date.expect("checked"),
        overall,
    })
}

/// Records a visit as a draft (or, with `supersedes`, a corrected version of a confirmed one).
pub async fn save_visit(
    state: &AppState,
    actor: &Actor,
    v: &VisitInput,
    supersedes: Option<(i64, String)>,
) -> Result<std::result::Result<i64, FormErrors>> {
    let fw = state.settings().qaf.clone();
    let known = crate::cqc::queries::location_exists(&state.db, &v.location_id).await?;
    let checked = match check_visit(v, &fw, known) {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    if let Some((_, reason)) = &supersedes
        && reason.trim().is_empty()
    {
        let mut e = FormErrors::default();
        e.add(
            "correction_reason",
            "Say why the confirmed visit is being corrected",
        );
        return Ok(Err(e));
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let (version, supersedes_id, reason) = match &supersedes {
        Some((old, reason)) => {
            let prev: Option<Visit> = tx
                .fetch_optional("SELECT * FROM qaf_visits WHERE id = $1", args![*old])
                .await?;
            let prev = prev.ok_or(AppError::NotFound)?;
            if prev.status != "confirmed" {
                return Err(AppError::Conflict(
                    "Only a confirmed visit is corrected by a new version; edit a draft directly"
                        .into(),
                ));
            }
            (
                prev.version + 1,
                Some(*old),
                Some(reason.trim().to_string()),
            )
        }
        None => (1, None, None),
    };
    let id: i64 = tx
        .scalar(
            "INSERT INTO qaf_visits (location_id, visit_type, announced, unannounced_reason, visit_date, officers, status, overall_grade, version, supersedes_id, correction_reason, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'draft', $7, $8, $9, $10, $11, $12) RETURNING id",
            args![
                v.location_id.trim(),
                &v.visit_type,
                v.announced,
                (!v.announced).then(|| v.unannounced_reason.trim().to_string()),
                checked.date,
                v.officers.trim(),
                &checked.overall,
                version,
                supersedes_id,
                reason,
                &actor.name,
                now,
            ],
        )
        .await?;
    for (i, d) in fw.domains.iter().enumerate() {
        tx.execute(
            "INSERT INTO qaf_domain_grades (visit_id, domain, grade, notes) VALUES ($1, $2, $3, $4)",
            args![id, &d.name, v.grades[i].trim().to_uppercase(), v.notes.get(i).cloned().unwrap_or_default()],
        )
        .await?;
        for (j, standard) in d.standards.iter().enumerate() {
            let finding = v
                .findings
                .get(i)
                .and_then(|f| f.get(j))
                .map(|f| f.trim())
                .unwrap_or_default();
            if !finding.is_empty() {
                tx.execute(
                    "INSERT INTO qaf_findings (visit_id, domain, standard, finding) VALUES ($1, $2, $3, $4)",
                    args![id, &d.name, standard, finding],
                )
                .await?;
            }
        }
    }
    audit::entry(if supersedes.is_some() { "qaf_visit.correct" } else { "qaf_visit.create" }, "qaf_visit", id)
        .after(serde_json::json!({"location_id": v.location_id, "overall_grade": checked.overall, "grades": v.grades, "supersedes": supersedes_id}))
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    Ok(Ok(id))
}

/// Moves a visit on: draft -> submitted -> confirmed. Confirming a correction supersedes the
/// version it corrects.
pub async fn advance(state: &AppState, actor: &Actor, id: i64, to: &str) -> Result<()> {
    let from = match to {
        "submitted" => "draft",
        "confirmed" => "submitted",
        _ => return Err(AppError::BadRequest(format!("unknown status {to:?}"))),
    };
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let v: Option<Visit> = tx
        .fetch_optional("SELECT * FROM qaf_visits WHERE id = $1", args![id])
        .await?;
    let v = v.ok_or(AppError::NotFound)?;
    let n = tx
        .execute(
            "UPDATE qaf_visits SET status = $1, confirmed_at = $2 WHERE id = $3 AND status = $4",
            args![to, (to == "confirmed").then_some(now), id, from],
        )
        .await?;
    if n != 1 {
        return Err(AppError::Conflict(format!(
            "The visit is {}, so it cannot be {to}",
            v.status
        )));
    }
    if to == "confirmed"
        && let Some(old) = v.supersedes_id
    {
        tx.execute(
            "UPDATE qaf_visits SET status = 'superseded' WHERE id = $1 AND status = 'confirmed'",
            args![old],
        )
        .await?;
    }
    // A C or D grade calls for an action plan (Leicester domiciliary support, 2018, §4.11): one is opened for the visit.
    if to == "confirmed"
        && let Some(g) = v.overall_grade.as_deref()
        && state.settings().qaf.scale.needs_action_plan(g)
    {
        let title = format!(
            "After the QAF visit of {} (grade {g})",
            v.visit_date.format("%-d %B %Y")
        );
        plans::open_plan(&mut tx, actor, now, &v.location_id, Some(id), &title).await?;
    }
    audit::entry(&format!("qaf_visit.{to}"), "qaf_visit", id)
        .before(serde_json::json!({"status": v.status}))
        .after(serde_json::json!({"status": to}))
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn visit(
    state: &AppState,
    id: i64,
) -> Result<Option<(Visit, Vec<(String, String, String)>)>> {
    let v: Option<Visit> = state
        .db
        .q()
        .fetch_optional("SELECT * FROM qaf_visits WHERE id = $1", args![id])
        .await?;
    let Some(v) = v else { return Ok(None) };
    let grades: Vec<(String, String, String)> = state
        .db
        .q()
        .fetch_all(
            "SELECT domain, grade, notes FROM qaf_domain_grades WHERE visit_id = $1",
            args![id],
        )
        .await?;
    // In the framework's order; domains a later framework no longer has follow, as recorded.
    let fw = &state.settings().qaf;
    let pos = |d: &str| {
        fw.domains
            .iter()
            .position(|x| x.name == d)
            .unwrap_or(usize::MAX)
    };
    let mut ordered = grades;
    ordered.sort_by_key(|g| pos(&g.0));
    Ok(Some((v, ordered)))
}

/// A visit's findings per standard: (domain, standard, finding), in the framework's order.
pub async fn findings(state: &AppState, id: i64) -> Result<Vec<(String, String, String)>> {
    let mut rows: Vec<(String, String, String)> = state
        .db
        .q()
        .fetch_all(
            "SELECT domain, standard, finding FROM qaf_findings WHERE visit_id = $1",
            args![id],
        )
        .await?;
    let fw = &state.settings().qaf;
    let pos = |d: &str, s: &str| {
        fw.domains
            .iter()
            .position(|x| x.name == d)
            .map(|i| {
                (
                    i,
                    fw.domains[i]
                        .standards
                        .iter()
                        .position(|x| x == s)
                        .unwrap_or(usize::MAX),
                )
            })
            .unwrap_or((usize::MAX, usize::MAX))
    };
    rows.sort_by_key(|r| pos(&r.0, &r.1));
    Ok(rows)
}

/// Visits, newest first; for a provider user, only their own locations'.
pub async fn visits(state: &AppState, provider: Option<&str>) -> Result<Vec<Visit>> {
    Ok(match provider {
        None => state.db.q().fetch_all("SELECT * FROM qaf_visits ORDER BY visit_date DESC, id DESC", args![]).await?,
        Some(p) => {
            state
                .db
                .q()
                .fetch_all(
                    "SELECT v.* FROM qaf_visits v JOIN cqc_locations l ON l.location_id = v.location_id WHERE l.provider_id = $1 ORDER BY v.visit_date DESC, v.id DESC",
                    args![p],
                )
                .await?
        }
    })
}

/// Which provider a location belongs to (for provider users' row checks).
pub async fn provider_of(state: &AppState, location_id: &str) -> Result<Option<String>> {
    Ok(state
        .db
        .q()
        .scalar_optional::<Option<String>>(
            "SELECT provider_id FROM cqc_locations WHERE location_id = $1",
            args![location_id],
        )
        .await?
        .flatten())
}

/// Seed 003 §4.9: contracted providers by CQC rating and by QAF level, as at a date.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct SummaryTables {
    pub contract_type: Option<String>,
    pub as_at: NaiveDate,
    pub contracted: u64,
    /// Outstanding, Good, Requires improvement, Inadequate, Not yet visited
    pub by_cqc: Vec<(String, u64)>,
    /// A, B, C, D, Not yet visited
    pub by_qaf: Vec<(String, u64)>,
    pub good_or_outstanding_pct: Option<f64>,
}

pub async fn summary_tables(
    state: &AppState,
    contract_type: Option<&str>,
    as_at: NaiveDate,
) -> Result<SummaryTables> {
    let contracted: Vec<String> = {
        let mut ids: Vec<String> = contracts(state)
            .await?
            .into_iter()
            .filter(|c| c.in_force(as_at) && contract_type.is_none_or(|t| c.contract_type == t))
            .map(|c| c.location_id)
            .collect();
        ids.sort();
        ids.dedup();
        ids
    };
    let ratings = crate::cqc::summary::overall_ratings_as_at(&state.db, Some(as_at)).await?;
    // The latest confirmed QAF grade from a visit on or before the date. A corrected visit is
    // superseded once its correction is confirmed, so only the version in force counts.
    let rows: Vec<(String, String, NaiveDate, i64)> = state
        .db
        .q()
        .fetch_all(
            "SELECT location_id, overall_grade, visit_date, version FROM qaf_visits WHERE status = 'confirmed' AND overall_grade IS NOT NULL AND visit_date <= $1",
            args![as_at],
        )
        .await?;
    let mut qaf: HashMap<String, (NaiveDate, i64, String)> = HashMap::new();
    for (loc, grade, date, version) in rows {
        let e = qaf.entry(loc).or_insert((date, version, grade.clone()));
        if (date, version) > (e.0, e.1) {
            *e = (date, version, grade);
        }
    }
    let mut by_cqc: Vec<(String, u64)> = [
        "Outstanding",
        "Good",
        "Requires improvement",
        "Inadequate",
        "Not yet visited",
    ]
    .iter()
    .map(|l| (l.to_string(), 0))
    .collect();
    let scale: GradeScale = state.settings().qaf.scale.clone();
    let mut by_qaf: Vec<(String, u64)> = scale
        .grades
        .iter()
        .map(|(c, n)| (format!("{c} {n}"), 0))
        .collect();
    by_qaf.push(("Not yet visited".into(), 0));
    for id in &contracted {
        let i = match ratings.get(id) {
            Some(Rating::Outstanding) => 0,
            Some(Rating::Good) => 1,
            Some(Rating::RequiresImprovement) => 2,
            Some(Rating::Inadequate) => 3,
            _ => 4,
        };
        by_cqc[i].1 += 1;
        let j = qaf
            .get(id)
            .and_then(|(_, _, g)| scale.rank(g))
            .unwrap_or(scale.grades.len());
        by_qaf[j].1 += 1;
    }
    let rated = by_cqc[..4].iter().map(|x| x.1).sum::<u64>();
    Ok(SummaryTables {
        contract_type: contract_type.map(str::to_string),
        as_at,
        contracted: contracted.len() as u64,
        good_or_outstanding_pct: caremarket_core::market::pct_1dp(by_cqc[0].1 + by_cqc[1].1, rated),
        by_cqc,
        by_qaf,
    })
}

/// Every route of this capability, pages and JSON API, each with its access rule.
pub fn routes() -> Vec<crate::web::RouteDef> {
    let mut v = Vec::new();
    v.extend(contract_pages::routes());
    v.extend(visit_pages::routes());
    v.extend(plan_pages::routes());
    v.extend(concern_pages::routes());
    v.extend(risk_pages::routes());
    v.extend(theme_pages::routes());
    v.extend(self_assessment::routes());
    v.extend(questionnaires::routes());
    // The council's QAF is set by an admin, under /admin like every service setting, but
    // it is quality's: its rules, form and route live here.
    v.push(crate::web::get(
        "/admin/quality",
        crate::web::ADMIN,
        framework::framework_form,
    ));
    v.push(crate::web::post(
        "/admin/quality",
        crate::web::ADMIN,
        framework::framework_submit,
    ));
    v
}

/// This capability's part of the OpenAPI document (src/api puts the parts together).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(contract_pages::api_summary, visit_pages::api_visits, visit_pages::api_visit, plan_pages::api_plan, risk_pages::api_risk, theme_pages::api_analysis, theme_pages::api_issues, theme_pages::api_issue_create, questionnaires::api_results),
    tags((name = "quality", description = "Contracts register, QAF visits and the quality of the contracted market"))
)]
pub struct ApiDoc;

/// Provider users reach only their own provider's locations (visits, plans, items); others are "not found".
pub(crate) async fn location_visible(
    state: &AppState,
    ctx: &crate::web::RequestCtx,
    location_id: &str,
) -> Result<bool> {
    let acting = ctx.user()?.acting_for()?;
    if acting == crate::web::ActingFor::Council {
        return Ok(true);
    }
    let provider = provider_of(state, location_id).await?;
    Ok(acting.may_see(provider.as_deref()))
}
