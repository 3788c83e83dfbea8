//! Thematic analysis (Leicester quality of regulated care, 2023, §4.11–4.18): the council's themes, the issues found in CQC
//! reports and QA visits tagged with them, counts by theme, and the training offers that meet
//! each theme with the providers to signpost to them.

use caremarket_core::themes::{self as core_themes, QUALITY_STATEMENTS};
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::audit::{self, Actor};
use crate::db::Db;
use crate::web::forms::FormErrors;
use crate::{AppError, AppState, Result, args};

pub const SOURCES: [(&str, &str); 3] = [
    ("cqc_report", "CQC inspection report"),
    ("qaf_visit", "Council QA visit"),
    ("other", "Other"),
];

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct Theme {
    pub id: i64,
    pub name: String,
    pub position: i64,
    /// One phrase a line
    pub key_phrases: String,
    /// One quality statement a line
    pub quality_statements: String,
    pub training_need: bool,
    pub active: bool,
}

fn lines(s: &str) -> Vec<String> {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

impl Theme {
    pub fn phrases(&self) -> Vec<String> {
        lines(&self.key_phrases)
    }
    pub fn statements(&self) -> Vec<String> {
        lines(&self.quality_statements)
    }
}

/// Puts the 2023 Leicester quality of regulated care report's 19 themes in place the first time a database is used. Done once (a
/// settings flag), so a council that deletes or renames a theme does not get it back.
pub async fn seed_defaults(db: &Db) -> anyhow::Result<()> {
    if crate::admin::settings::seeded(db, "themes_seeded").await? {
        return Ok(());
    }
    let mut tx = db.begin().await?;
    for (i, t) in core_themes::default_themes().iter().enumerate() {
        tx.execute(
            "INSERT INTO themes (name, position, key_phrases, quality_statements, training_need, active) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING",
            args![&t.name, i as i64 + 1, t.key_phrases.join("\n"), t.quality_statements.join("\n"), t.training_need, true],
        )
        .await?;
    }
    crate::admin::settings::mark_seeded(&mut tx, "themes_seeded").await?;
    tx.commit().await?;
    Ok(())
}

pub async fn themes(state: &AppState, active_only: bool) -> Result<Vec<Theme>> {
    let all: Vec<Theme> = state
        .db
        .q()
        .fetch_all("SELECT * FROM themes ORDER BY position, id", args![])
        .await?;
    Ok(all
        .into_iter()
        .filter(|t| t.active || !active_only)
        .collect())
}

pub async fn theme(state: &AppState, id: i64) -> Result<Theme> {
    state
        .db
        .q()
        .fetch_optional("SELECT * FROM themes WHERE id = $1", args![id])
        .await?
        .ok_or(AppError::NotFound)
}

#[derive(Debug, Clone, Default)]
pub struct ThemeInput {
    pub name: String,
    pub key_phrases: String,
    pub quality_statements: Vec<String>,
    pub training_need: bool,
    pub active: bool,
}

/// Adds a theme (`id` None) or changes one. Names are unique; statements must be CQC's.
pub async fn save_theme(
    state: &AppState,
    actor: &Actor,
    id: Option<i64>,
    t: &ThemeInput,
) -> Result<std::result::Result<i64, FormErrors>> {
    let mut e = FormErrors::default();
    let name = t.name.trim();
    if name.is_empty() {
        e.add("name", "Enter the theme's name");
    } else if name.chars().count() > 80 {
        e.add("name", "The theme's name must be 80 characters or fewer");
    } else {
        let clash: i64 = state
            .db
            .q()
            .scalar(
                "SELECT COUNT(*) FROM themes WHERE LOWER(name) = LOWER($1) AND id <> $2",
                args![name, id.unwrap_or(0)],
            )
            .await?;
        if clash > 0 {
            e.add("name", format!("There is already a theme called {name}"));
        }
    }
    for s in &t.quality_statements {
        if !core_themes::is_quality_statement(s) {
            e.add(
                "quality_statements",
                format!("{s:?} is not one of CQC's quality statements"),
            );
        }
    }
    if !e.is_empty() {
        return Ok(Err(e));
    }
    // Keep statements in CQC's order, however they arrived.
    let statements: Vec<&str> = QUALITY_STATEMENTS
        .iter()
        .map(|(_, s)| *s)
        .filter(|s| {
            t.quality_statements
                .iter()
                .any(|x| x.eq_ignore_ascii_case(s))
        })
        .collect();
    let phrases = lines(&t.key_phrases).join("\n");
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let (id, before) = match id {
        Some(id) => {
            let before: Option<Theme> = tx
                .fetch_optional("SELECT * FROM themes WHERE id = $1", args![id])
                .await?;
            let before = before.ok_or(AppError::NotFound)?;
            tx.execute(
                "UPDATE themes SET name = $1, key_phrases = $2, quality_statements = $3, training_need = $4, active = $5 WHERE id = $6",
                args![name, &phrases, statements.join("\n"), t.training_need, t.active, id],
            )
            .await?;
            (id, Some(before))
        }
        None => {
            let pos: i64 = tx
                .scalar("SELECT COALESCE(MAX(position), 0) + 1 FROM themes", args![])
                .await?;
            let id: i64 = tx
                .scalar(
                    "INSERT INTO themes (name, position, key_phrases, quality_statements, training_need, active) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                    args![name, pos, &phrases, statements.join("\n"), t.training_need, t.active],
                )
                .await?;
            (id, None)
        }
    };
    let mut entry = audit::entry(
        if before.is_some() {
            "theme.update"
        } else {
            "theme.create"
        },
        "theme",
        id,
    );
    if let Some(b) = before {
        entry = entry.before(serde_json::to_value(b).unwrap_or_default());
    }
    entry
        .after(serde_json::json!({"name": name, "key_phrases": phrases, "quality_statements": statements, "training_need": t.training_need, "active": t.active}))
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    Ok(Ok(id))
}

/// Themes suggested for a text, with the phrases that matched (active themes only).
pub fn suggest(themes: &[Theme], text: &str) -> Vec<(i64, Vec<String>)> {
    let phrases: Vec<Vec<String>> = themes.iter().map(Theme::phrases).collect();
    let refs: Vec<&[String]> = phrases.iter().map(Vec::as_slice).collect();
    core_themes::suggest(text, &refs)
        .into_iter()
        .map(|(i, hits)| (themes[i].id, hits))
        .collect()
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct Issue {
    pub id: i64,
    pub location_id: String,
    pub source: String,
    pub found_date: NaiveDate,
    pub text: String,
    pub visit_id: Option<i64>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default)]
pub struct IssueInput {
    pub location_id: String,
    pub source: String,
    pub found_date: String,
    pub text: String,
    pub visit_id: Option<i64>,
    /// Themes the officer confirmed.
    pub theme_ids: Vec<i64>,
    pub confirm_no_names: bool,
}

/// Records an issue with the themes the officer confirmed. Each tag remembers whether the
/// system had suggested it, so the key phrases can be judged by how often officers keep them.
pub async fn record_issue(
    state: &AppState,
    actor: &Actor,
    i: &IssueInput,
) -> Result<std::result::Result<i64, FormErrors>> {
    let mut e = FormErrors::default();
    let loc = i.location_id.trim();
    let known = crate::cqc::queries::location_exists(&state.db, loc).await?;
    if !known {
        e.add(
            "location_id",
            "Enter the CQC location ID of a location in the CQC data, like 1-1000587219",
        );
    }
    if !SOURCES.iter().any(|(k, _)| *k == i.source) {
        e.add("source", "Select where the issue was found");
    }
    let date = caremarket_core::cqc::parse_date(&i.found_date, false).ok();
    if date.is_none() {
        e.add(
            "found_date",
            "Enter the date of the report or visit, like 14/06/2023",
        );
    }
    if i.text.trim().is_empty() {
        e.add("text", "Describe the issue found");
    }
    if let Some(v) = i.visit_id {
        let at: Option<String> = state
            .db
            .q()
            .scalar_optional("SELECT location_id FROM qaf_visits WHERE id = $1", args![v])
            .await?;
        if at.as_deref() != Some(loc) {
            e.add(
                "location_id",
                format!("Visit {v} was not to this location: record the issue against the visit's location"),
            );
        }
    }
    let all = themes(state, false).await?;
    if i.theme_ids.is_empty() {
        e.add("themes", "Select at least one theme");
    }
    for id in &i.theme_ids {
        if !all.iter().any(|t| t.id == *id) {
            e.add("themes", "Select themes from the list");
        }
    }
    if e.is_empty() && !i.confirm_no_names {
        let found = caremarket_core::privacy::check(&i.text);
        if !found.is_empty() {
            let what: Vec<String> = found.iter().map(|f| f.message()).collect();
            e.add(
                "text",
                format!(
                    "{}. Remove names and NHS numbers, or tick the box to confirm there are none.",
                    what.join("; ")
                ),
            );
        }
    }
    if !e.is_empty() {
        return Ok(Err(e));
    }
    let active: Vec<Theme> = all.iter().filter(|t| t.active).cloned().collect();
    let suggested: BTreeSet<i64> = suggest(&active, &i.text)
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let chosen: BTreeSet<i64> = i.theme_ids.iter().copied().collect();
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let id: i64 = tx
        .scalar(
            "INSERT INTO qa_issues (location_id, source, found_date, text, visit_id, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            args![loc, &i.source, date, i.text.trim(), i.visit_id, &actor.name, now],
        )
        .await?;
    for t in &chosen {
        tx.execute(
            "INSERT INTO qa_issue_themes (issue_id, theme_id, suggested) VALUES ($1, $2, $3)",
            args![id, *t, suggested.contains(t)],
        )
        .await?;
    }
    audit::entry("qa_issue.create", "qa_issue", id)
        .after(serde_json::json!({"location_id": loc, "source": i.source, "themes": chosen}))
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    Ok(Ok(id))
}

/// An issue with its themes' names and the location's name, for lists.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct IssueRow {
    #[serde(flatten)]
    pub issue: Issue,
    pub location_name: String,
    pub themes: Vec<String>,
}

/// Which locations an analysis covers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scope {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Only locations under a contract in force on `to` (of this type, when given).
    pub contracted: bool,
    pub contract_type: Option<String>,
    /// Only locations in this council (CQC's local authority).
    pub council: Option<String>,
}

async fn issues_in(state: &AppState, scope: &Scope) -> Result<Vec<Issue>> {
    let all: Vec<Issue> = state
        .db
        .q()
        .fetch_all(
            "SELECT * FROM qa_issues WHERE found_date >= $1 AND found_date <= $2 ORDER BY found_date DESC, id DESC",
            // Open ends as plain four-digit years: SQLite compares dates as ISO text, in
            // which chrono's MIN and MAX (signed six-digit years) sort wrongly.
            args![
                scope.from.unwrap_or(NaiveDate::from_ymd_opt(1, 1, 1).expect("date")),
                scope.to.unwrap_or(NaiveDate::from_ymd_opt(9999, 12, 31).expect("date"))
            ],
        )
        .await?;
    let keep: Option<BTreeSet<String>> = if scope.contracted {
        let on = scope.to.unwrap_or_else(|| state.clock.now().date_naive());
        Some(
            super::contracts(state)
                .await?
                .into_iter()
                .filter(|c| {
                    c.in_force(on)
                        && scope
                            .contract_type
                            .as_deref()
                            .is_none_or(|t| c.contract_type == t)
                })
                .map(|c| c.location_id)
                .collect(),
        )
    } else {
        None
    };
    let council: Option<BTreeSet<String>> = match &scope.council {
        Some(c) => {
            let ids: Vec<String> = state
                .db
                .q()
                .fetch_all(
                    "SELECT location_id FROM cqc_locations WHERE local_authority = $1",
                    args![c],
                )
                .await?
                .into_iter()
                .map(|(id,): (String,)| id)
                .collect();
            Some(ids.into_iter().collect())
        }
        None => None,
    };
    Ok(all
        .into_iter()
        .filter(|i| keep.as_ref().is_none_or(|k| k.contains(&i.location_id)))
        .filter(|i| council.as_ref().is_none_or(|k| k.contains(&i.location_id)))
        .collect())
}

async fn tags(state: &AppState) -> Result<HashMap<i64, Vec<i64>>> {
    let rows: Vec<(i64, i64)> = state
        .db
        .q()
        .fetch_all("SELECT issue_id, theme_id FROM qa_issue_themes", args![])
        .await?;
    let mut m: HashMap<i64, Vec<i64>> = HashMap::new();
    for (i, t) in rows {
        m.entry(i).or_default().push(t);
    }
    Ok(m)
}

/// (location name, provider id, provider name) by location id.
async fn location_names(
    state: &AppState,
    ids: &BTreeSet<String>,
) -> Result<HashMap<String, (String, String, String)>> {
    // One read for every location with issues, not one a location.
    let rows: Vec<(String, String, Option<String>, Option<String>)> = state
        .db
        .q()
        .fetch_all(
            "SELECT l.location_id, l.name, l.provider_id, p.name FROM cqc_locations l LEFT JOIN cqc_providers p ON p.provider_id = l.provider_id WHERE l.location_id IN (SELECT location_id FROM qa_issues)",
            args![],
        )
        .await?;
    Ok(rows
        .into_iter()
        .filter(|r| ids.contains(&r.0))
        .map(|(id, n, pid, pn)| {
            let provider = pid.clone().unwrap_or_default();
            (id, (n, provider, pn.or(pid).unwrap_or_default()))
        })
        .collect())
}

pub async fn issue_rows(state: &AppState, scope: &Scope) -> Result<Vec<IssueRow>> {
    let issues = issues_in(state, scope).await?;
    let tags = tags(state).await?;
    let names: HashMap<i64, String> = themes(state, false)
        .await?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    let locs = location_names(
        state,
        &issues.iter().map(|i| i.location_id.clone()).collect(),
    )
    .await?;
    Ok(issues
        .into_iter()
        .map(|i| IssueRow {
            location_name: locs
                .get(&i.location_id)
                .map(|l| l.0.clone())
                .unwrap_or_default(),
            themes: tags
                .get(&i.id)
                .map(|ts| ts.iter().filter_map(|t| names.get(t).cloned()).collect())
                .unwrap_or_default(),
            issue: i,
        })
        .collect())
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct Offer {
    pub id: i64,
    pub title: String,
    pub delivered_by: String,
    pub details: String,
    pub active: bool,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// Training offers with the ids of the themes each meets.
pub async fn offers(state: &AppState) -> Result<Vec<(Offer, Vec<i64>)>> {
    let offers: Vec<Offer> = state
        .db
        .q()
        .fetch_all("SELECT * FROM training_offers ORDER BY title, id", args![])
        .await?;
    let links: Vec<(i64, i64)> = state
        .db
        .q()
        .fetch_all(
            "SELECT offer_id, theme_id FROM training_offer_themes",
            args![],
        )
        .await?;
    Ok(offers
        .into_iter()
        .map(|o| {
            let t = links
                .iter()
                .filter(|(oid, _)| *oid == o.id)
                .map(|(_, t)| *t)
                .collect();
            (o, t)
        })
        .collect())
}

#[derive(Debug, Clone, Default)]
pub struct OfferInput {
    pub title: String,
    pub delivered_by: String,
    pub details: String,
    pub theme_ids: Vec<i64>,
}

pub async fn add_offer(
    state: &AppState,
    actor: &Actor,
    o: &OfferInput,
) -> Result<std::result::Result<i64, FormErrors>> {
    let mut e = FormErrors::default();
    if o.title.trim().is_empty() {
        e.add("title", "Enter the training offer's title");
    }
    if o.delivered_by.trim().is_empty() {
        e.add(
            "delivered_by",
            "Enter who delivers it, like Skills for Care",
        );
    }
    let all = themes(state, false).await?;
    if o.theme_ids.is_empty()
        || o.theme_ids
            .iter()
            .any(|id| !all.iter().any(|t| t.id == *id))
    {
        e.add("themes", "Select the themes the offer meets");
    }
    if !e.is_empty() {
        return Ok(Err(e));
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let id: i64 = tx
        .scalar(
            "INSERT INTO training_offers (title, delivered_by, details, active, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            args![o.title.trim(), o.delivered_by.trim(), o.details.trim(), true, &actor.name, now],
        )
        .await?;
    let chosen: BTreeSet<i64> = o.theme_ids.iter().copied().collect();
    for t in &chosen {
        tx.execute(
            "INSERT INTO training_offer_themes (offer_id, theme_id) VALUES ($1, $2)",
            args![id, *t],
        )
        .await?;
    }
    audit::entry("training_offer.create", "training_offer", id)
        .after(serde_json::json!({"title": o.title.trim(), "delivered_by": o.delivered_by.trim(), "themes": chosen}))
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    Ok(Ok(id))
}

/// Withdraws an offer (kept for the record, no longer counted as meeting its themes).
pub async fn withdraw_offer(state: &AppState, actor: &Actor, id: i64) -> Result<()> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let n = tx
        .execute(
            "UPDATE training_offers SET active = $1 WHERE id = $2 AND active = $3",
            args![false, id, true],
        )
        .await?;
    if n != 1 {
        return Err(AppError::NotFound);
    }
    audit::entry("training_offer.withdraw", "training_offer", id)
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// A provider to signpost to a theme's offers: it had issues under the theme in the period.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Signpost {
    pub provider_id: String,
    pub provider_name: String,
    pub issues: u64,
}

/// One theme's line in the analysis (Leicester quality of regulated care, 2023, §4.12 and §4.15).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ThemeCount {
    pub theme_id: i64,
    pub theme: String,
    pub issues: u64,
    pub locations: u64,
    pub quality_statements: Vec<String>,
    /// Active training offers that meet the theme: (title, delivered by)
    pub offers: Vec<(String, String)>,
    pub training_need: bool,
    /// A training need with issues and no offer to meet it (Leicester quality of regulated care, 2023, §4.15: "areas to
    /// explore further").
    pub gap: bool,
    pub signpost: Vec<Signpost>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Analysis {
    pub issues: u64,
    pub locations: u64,
    pub untagged: u64,
    /// Every active theme, most issues first.
    pub themes: Vec<ThemeCount>,
}

pub async fn analysis(state: &AppState, scope: &Scope) -> Result<Analysis> {
    let ths = themes(state, true).await?;
    let issues = issues_in(state, scope).await?;
    let tags = tags(state).await?;
    let index: HashMap<i64, usize> = ths.iter().enumerate().map(|(i, t)| (t.id, i)).collect();
    let per_issue: Vec<Vec<usize>> = issues
        .iter()
        .map(|i| {
            tags.get(&i.id)
                .map(|ts| ts.iter().filter_map(|t| index.get(t).copied()).collect())
                .unwrap_or_default()
        })
        .collect();
    let counted = core_themes::counts(ths.len(), &per_issue);
    let locs = location_names(
        state,
        &issues.iter().map(|i| i.location_id.clone()).collect(),
    )
    .await?;
    let offers = offers(state).await?;
    let mut out = Vec::new();
    for (ti, n) in counted {
        let t = &ths[ti];
        let mut locations = BTreeSet::new();
        let mut providers: BTreeMap<String, (String, u64)> = BTreeMap::new();
        for (issue, tagged) in issues.iter().zip(&per_issue) {
            if tagged.contains(&ti) {
                locations.insert(issue.location_id.clone());
                if let Some((_, pid, pname)) = locs.get(&issue.location_id) {
                    let e = providers.entry(pid.clone()).or_insert((pname.clone(), 0));
                    e.1 += 1;
                }
            }
        }
        let meets: Vec<(String, String)> = offers
            .iter()
            .filter(|(o, ts)| o.active && ts.contains(&t.id))
            .map(|(o, _)| (o.title.clone(), o.delivered_by.clone()))
            .collect();
        let mut signpost: Vec<Signpost> = providers
            .into_iter()
            .map(|(id, (name, n))| Signpost {
                provider_id: id,
                provider_name: name,
                issues: n,
            })
            .collect();
        signpost.sort_by(|a, b| {
            b.issues
                .cmp(&a.issues)
                .then(a.provider_name.cmp(&b.provider_name))
        });
        out.push(ThemeCount {
            theme_id: t.id,
            theme: t.name.clone(),
            issues: n,
            locations: locations.len() as u64,
            quality_statements: t.statements(),
            gap: t.training_need && n > 0 && meets.is_empty(),
            offers: meets,
            training_need: t.training_need,
            signpost,
        });
    }
    Ok(Analysis {
        issues: issues.len() as u64,
        locations: issues
            .iter()
            .map(|i| i.location_id.as_str())
            .collect::<BTreeSet<_>>()
            .len() as u64,
        untagged: per_issue.iter().filter(|t| t.is_empty()).count() as u64,
        themes: out,
    })
}

const ISSUE_COLUMNS: &[crate::import::ColumnSpec] = &[
    crate::import::col("location_id", &["locationid", "cqclocationid"], true),
    crate::import::col(
        "date",
        &[
            "date",
            "reportdate",
            "visitdate",
            "founddate",
            "publicationdate",
        ],
        true,
    ),
    crate::import::col("source", &["source", "foundin"], false),
    crate::import::col("text", &["issue", "text", "finding", "description"], true),
    crate::import::col("themes", &["themes", "theme"], false),
];

fn source_key(s: &str) -> Option<&'static str> {
    let n = caremarket_core::cqc::normalise_header(s);
    match n.as_str() {
        "" | "cqc" | "cqcreport" | "cqcinspectionreport" | "inspectionreport" => Some("cqc_report"),
        "qafvisit" | "qavisit" | "visit" | "councilqavisit" => Some("qaf_visit"),
        "other" => Some("other"),
        _ => None,
    }
}

/// One row of an issues file: (location, date, source, text, [(theme id, suggested)]).
type IssueRowIn = (String, NaiveDate, &'static str, String, Vec<(i64, bool)>);

/// How an issues file is loaded.
#[derive(Debug, Clone, Copy, Default)]
pub struct IssueImportOptions {
    /// Where a row's Themes cell is empty, tag it with the suggested themes (kept marked as
    /// suggested) instead of refusing the file.
    pub accept_suggestions: bool,
    /// The officer has checked the file holds no names of people who use services.
    pub confirm_no_names: bool,
}

/// What a load did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IssueImport {
    pub added: usize,
    /// The same location, date and text already recorded: left as they are.
    pub already: usize,
    pub tagged_by_suggestion: usize,
}

/// Loads issues found in CQC reports or visits from a CSV/XLSX file: all or nothing, each
/// problem with its row, column, value and reason. Themes are named in a Themes column
/// (separated by semicolons); a row with none is refused with the suggested themes in the
/// message, unless the officer accepts suggestions. Loading the same file again adds nothing.
pub async fn import_issues(
    state: &AppState,
    actor: &Actor,
    name: &str,
    bytes: &[u8],
    opts: IssueImportOptions,
) -> std::result::Result<IssueImport, String> {
    let grids = crate::import::open(name, bytes).map_err(|e| e.0)?;
    let (g, cols) = crate::import::find_header(name, &grids, ISSUE_COLUMNS).map_err(|e| e.0)?;
    let grid = &grids[g];
    let all = themes(state, false).await.map_err(|e| e.to_string())?;
    let active: Vec<Theme> = all.iter().filter(|t| t.active).cloned().collect();
    let known: BTreeSet<String> = {
        let ids: Vec<(String,)> = state
            .db
            .q()
            .fetch_all("SELECT location_id FROM cqc_locations", args![])
            .await
            .map_err(|e| e.to_string())?;
        ids.into_iter().map(|r| r.0).collect()
    };
    let mut problems = Vec::new();
    let mut rows: Vec<IssueRowIn> = Vec::new();
    let mut tagged_by_suggestion = 0;
    for r in crate::import::data_rows(grid, &cols) {
        let cell = |k: &str| r.cell(k);
        let mut bad = |k: &str, v: &str, why: &str| problems.push(r.problem(k, v, why));
        let loc = cell("location_id");
        if !known.contains(&loc) {
            bad("location_id", &loc, "is not a location in the CQC data");
        }
        let d = cell("date");
        let date = match caremarket_core::cqc::parse_date(&d, false) {
            Ok(x) => Some(x),
            Err(e) => {
                bad("date", &d, &e.0);
                None
            }
        };
        let src = cell("source");
        let source = source_key(&src);
        if source.is_none() {
            bad(
                "source",
                &src,
                "is not a source: use CQC report, QA visit or other",
            );
        }
        let text = cell("text");
        if text.is_empty() {
            bad("text", "", "the issue is empty");
        } else if !opts.confirm_no_names {
            let found = caremarket_core::privacy::check(&text);
            if !found.is_empty() {
                let what: Vec<String> = found.iter().map(|f| f.message()).collect();
                bad(
                    "text",
                    &text,
                    &format!(
                        "{}: remove it, or confirm the file holds no names",
                        what.join("; ")
                    ),
                );
            }
        }
        let suggested: BTreeSet<i64> = suggest(&active, &text)
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let named = cell("themes");
        let mut tags: Vec<(i64, bool)> = Vec::new();
        for n in named.split(';').map(str::trim).filter(|n| !n.is_empty()) {
            match all.iter().find(|t| t.name.eq_ignore_ascii_case(n)) {
                Some(t) if !tags.iter().any(|(id, _)| *id == t.id) => {
                    tags.push((t.id, suggested.contains(&t.id)))
                }
                Some(_) => {}
                None => bad("themes", n, "is not one of the themes"),
            }
        }
        if named.is_empty() && !text.is_empty() {
            if opts.accept_suggestions && !suggested.is_empty() {
                tags = suggested.iter().map(|id| (*id, true)).collect();
                tagged_by_suggestion += 1;
            } else {
                let names: Vec<&str> = active
                    .iter()
                    .filter(|t| suggested.contains(&t.id))
                    .map(|t| t.name.as_str())
                    .collect();
                let why = if names.is_empty() {
                    "no themes given, and none suggested by the key phrases: name them".to_string()
                } else {
                    format!(
                        "no themes given; the key phrases suggest: {}",
                        names.join("; ")
                    )
                };
                bad("themes", "", &why);
            }
        }
        if let (Some(date), Some(source)) = (date, source) {
            rows.push((loc, date, source, text, tags));
        }
    }
    if !problems.is_empty() {
        return Err(crate::import::summarise_problems(name, &problems));
    }
    if rows.is_empty() {
        return Err(format!("{name} has no issues in it"));
    }
    let now = state.clock.now();
    let result: Result<IssueImport> = async {
        let mut tx = state.db.begin().await?;
        let mut out = IssueImport {
            tagged_by_suggestion,
            ..Default::default()
        };
        for (loc, date, source, text, tags) in &rows {
            let seen: i64 = tx
                .scalar(
                    "SELECT COUNT(*) FROM qa_issues WHERE location_id = $1 AND found_date = $2 AND text = $3",
                    args![loc, *date, text],
                )
                .await?;
            if seen > 0 {
                out.already += 1;
                continue;
            }
            let id: i64 = tx
                .scalar(
                    "INSERT INTO qa_issues (location_id, source, found_date, text, visit_id, created_by, created_at) VALUES ($1, $2, $3, $4, NULL, $5, $6) RETURNING id",
                    args![loc, *source, *date, text, &actor.name, now],
                )
                .await?;
            for (t, suggested) in tags {
                tx.execute(
                    "INSERT INTO qa_issue_themes (issue_id, theme_id, suggested) VALUES ($1, $2, $3)",
                    args![id, *t, *suggested],
                )
                .await?;
            }
            out.added += 1;
        }
        audit::entry("qa_issues.import", "qa_issues", name)
            .after(serde_json::json!({"file_name": name, "added": out.added, "already": out.already, "tagged_by_suggestion": out.tagged_by_suggestion}))
            .write(&mut tx, actor, now)
            .await?;
        tx.commit().await?;
        Ok(out)
    }
    .await;
    result.map_err(|e| e.to_string())
}
