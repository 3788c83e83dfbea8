//! The market dashboard pages, drill-downs, CSV exports and API.

use askama::Template;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;

use super::{By, Cell, Dashboard, Scope, dashboard};
use crate::charts::bar_chart;
use crate::cqc::pages::rating_tag;
use crate::export::Table;
use crate::web::{Access, PageCtx, RequestCtx, RouteDef, get, render};
use crate::{AppError, AppState, Result};

pub fn routes() -> Vec<RouteDef> {
    use Access::*;
    vec![
        get("/market", SignedIn, dashboard_page),
        get("/market/locations", SignedIn, drill_page),
        get("/market/export.csv", SignedIn, export_csv),
        get("/market/export.xlsx", SignedIn, export_xlsx),
        get("/market/change", SignedIn, change_page),
        get("/market/report", SignedIn, report_page),
        get("/market/report.pdf", SignedIn, report_pdf),
        get("/api/v1/market/summary", SignedIn, api_summary),
        get("/api/v1/market/breakdown", SignedIn, api_breakdown),
    ]
}

fn drill_pairs(q: &MarketQuery) -> Vec<(&'static str, String)> {
    let mut v: Vec<(&'static str, String)> = Vec::new();
    if let Some(a) = &q.area {
        v.push(("area", a.clone()));
    }
    if q.england == Some(true) {
        v.push(("england", "true".into()));
    }
    if let Some(d) = q.as_at {
        v.push(("as_at", d.to_string()));
    }
    for (k, x) in [("by", &q.by), ("group", &q.group), ("measure", &q.measure)] {
        if let Some(x) = x {
            v.push((k, x.clone()));
        }
    }
    v
}

#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct MarketQuery {
    /// A council as CQC names it; empty: the areas in scope together (or England when none)
    pub area: Option<String>,
    /// England-wide figures, whatever the areas in scope
    pub england: Option<bool>,
    /// As at this date (YYYY-MM-DD)
    pub as_at: Option<NaiveDate>,
    /// For drill-downs, exports and the breakdown API: rating, service_type, size_band,
    /// specialism, key_question (drill-downs also take care_homes)
    pub by: Option<String>,
    pub group: Option<String>,
    /// locations, rated, good_or_outstanding, beds, below_good
    pub measure: Option<String>,
    /// csv or xlsx to download a list instead of showing it
    pub format: Option<String>,
}

/// Turns the query into a scope and a name: one council, the partnership, or England.
async fn scope_of(state: &AppState, q: &MarketQuery) -> Result<(Scope, String)> {
    if let Some(a) = q.area.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        return Ok((
            Scope {
                area: vec![a.to_string()],
                region: None,
                as_at: q.as_at,
            },
            a.to_string(),
        ));
    }
    let areas = if q.england == Some(true) {
        vec![]
    } else {
        crate::admin::areas::list(state).await?
    };
    if areas.is_empty() {
        return Ok((
            Scope {
                as_at: q.as_at,
                ..Default::default()
            },
            "England".into(),
        ));
    }
    let names: Vec<String> = areas.into_iter().map(|a| a.name).collect();
    let label = if names.len() == 1 {
        names[0].clone()
    } else {
        format!("The partnership ({})", names.join(", "))
    };
    Ok((
        Scope {
            area: names,
            region: None,
            as_at: q.as_at,
        },
        label,
    ))
}

async fn build(
    state: &AppState,
    q: &MarketQuery,
    compare: bool,
) -> Result<std::sync::Arc<Dashboard>> {
    let (scope, name) = scope_of(state, q).await?;
    let s = state.settings();
    dashboard(
        state,
        &name,
        &scope,
        s.target_pct,
        &s.comparator_councils,
        compare,
    )
    .await
}

fn scope_query(q: &MarketQuery) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    if let Some(a) = q.area.as_deref().filter(|a| !a.trim().is_empty()) {
        pairs.push(("area", a.to_string()));
    }
    if q.england == Some(true) {
        pairs.push(("england", "true".into()));
    }
    if let Some(d) = q.as_at {
        pairs.push(("as_at", d.to_string()));
    }
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

fn pct(p: Option<f64>) -> String {
    p.map(|v| format!("{v:.1}%")).unwrap_or_else(|| "–".into())
}

fn points(p: Option<f64>) -> String {
    match p {
        Some(v) if v >= 0.0 => format!("+{v:.1} points"),
        Some(v) => format!("{v:.1} points"),
        None => "–".into(),
    }
}

#[derive(Template)]
#[template(path = "market/dashboard.html")]
struct DashboardPage {
    page: PageCtx,
    d: std::sync::Arc<Dashboard>,
    q: String,
    headline: String,
    chart_comparison: String,
    chart_rating: String,
    chart_kq: String,
    chart_size: String,
    as_at: String,
    /// Whether the reader may see which locations the council contracts (the contracts
    /// register's own rule): otherwise the contracted figures are shown without their lists.
    contracts_open: bool,
}

impl DashboardPage {
    fn link(&self, by: &str, group: &str, measure: &str) -> String {
        let sep = if self.q.is_empty() { "" } else { "&" };
        format!(
            "/market/locations?{}{sep}by={by}&group={group}&measure={measure}",
            self.q
        )
    }
    fn pct(&self, p: &Option<f64>) -> String {
        pct(*p)
    }
    fn points(&self, p: &Option<f64>) -> String {
        points(*p)
    }
    fn export(&self, by: &str) -> String {
        let sep = if self.q.is_empty() { "" } else { "&" };
        format!("/market/export.csv?{}{sep}by={by}", self.q)
    }
    fn export_xlsx(&self, by: &str) -> String {
        let sep = if self.q.is_empty() { "" } else { "&" };
        format!("/market/export.xlsx?{}{sep}by={by}", self.q)
    }
    fn tables(&self) -> Vec<(&'static str, &'static str, &'static str, &Vec<Cell>)> {
        vec![
            (
                "service_type",
                "By service type",
                "All locations in scope with the service type",
                &self.d.by_service_type,
            ),
            (
                "size_band",
                "Care homes by size",
                "Care homes with a known number of beds",
                &self.d.by_size_band,
            ),
            (
                "specialism",
                "Care homes by specialism",
                "Care homes registered for the service user band",
                &self.d.by_specialism,
            ),
        ]
    }
}

/// The area against England, the region, the comparators and the target, as bars.
fn comparison_chart(d: &Dashboard, id: &str) -> String {
    let mut bars = vec![(
        d.name.clone(),
        d.care_homes.good_or_outstanding_pct.unwrap_or(0.0),
        pct(d.care_homes.good_or_outstanding_pct),
    )];
    bars.extend(d.comparisons.iter().map(|c| {
        (
            c.name.clone(),
            c.good_or_outstanding_pct.unwrap_or(0.0),
            pct(c.good_or_outstanding_pct),
        )
    }));
    bars.push((
        "Target".to_string(),
        d.target_pct,
        format!("{:.0}%", d.target_pct),
    ));
    let described = bars[..bars.len() - 1]
        .iter()
        .map(|b| format!("{} {}", b.0, b.2))
        .collect::<Vec<_>>()
        .join(", ");
    bar_chart(
        id,
        "Care homes rated Good or Outstanding",
        &format!(
            "Percentage of rated care homes rated Good or Outstanding: {described}. Target {:.0}%.",
            d.target_pct
        ),
        &bars,
        Some(100.0),
    )
}

/// Care homes rated below Good on each key question, as bars.
fn key_question_chart(d: &Dashboard, id: &str) -> String {
    bar_chart(
        id,
        "Care homes rated below Good, by key question",
        &d.by_key_question
            .iter()
            .map(|k| format!("{} {}", k.label, k.figure.below_good))
            .collect::<Vec<_>>()
            .join(", "),
        &d.by_key_question
            .iter()
            .map(|k| {
                (
                    k.label.clone(),
                    k.figure.below_good as f64,
                    format!("{} ({})", k.figure.below_good, pct(k.figure.below_good_pct)),
                )
            })
            .collect::<Vec<_>>(),
        None,
    )
}

fn headline(d: &Dashboard) -> String {
    let s = &d.care_homes;
    match s.good_or_outstanding_pct {
        None => format!("{}: no rated care homes in the loaded data.", d.name),
        Some(p) => {
            let gap = d.gap_to_target.unwrap_or(0.0);
            let vs = if gap >= 0.0 {
                format!(
                    "{gap:.1} percentage points above the target of {:.0}%",
                    d.target_pct
                )
            } else {
                format!(
                    "{:.1} percentage points below the target of {:.0}%",
                    -gap, d.target_pct
                )
            };
            // "In the partnership (...)", not "In The partnership (...)".
            let name = d
                .name
                .strip_prefix("The ")
                .map(|rest| format!("the {rest}"))
                .unwrap_or_else(|| d.name.clone());
            format!(
                "In {name}, {p:.1}% of rated care homes ({} of {}) are rated Good or Outstanding, {vs}.",
                s.good_or_outstanding, s.rated
            )
        }
    }
}

async fn dashboard_page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Query(q): Query<MarketQuery>,
) -> Result<Response> {
    let d = build(&state, &q, true).await?;
    let chart_comparison = comparison_chart(&d, "chart-comparison");
    let chart_rating = bar_chart(
        "chart-rating",
        "Care homes by overall rating",
        &d.by_rating
            .iter()
            .map(|c| format!("{} {}", c.label, c.summary.locations))
            .collect::<Vec<_>>()
            .join(", "),
        &d.by_rating
            .iter()
            .map(|c| {
                (
                    c.label.clone(),
                    c.summary.locations as f64,
                    c.summary.locations.to_string(),
                )
            })
            .collect::<Vec<_>>(),
        None,
    );
    let chart_kq = key_question_chart(&d, "chart-kq");
    let chart_size = crate::charts::stacked_bar_chart(
        "chart-size",
        "Care homes by size and rating",
        &d.by_size_band
            .iter()
            .map(|c| {
                let s = &c.summary;
                format!(
                    "{}: {} Outstanding, {} Good, {} Requires improvement, {} Inadequate",
                    c.label, s.outstanding, s.good, s.requires_improvement, s.inadequate
                )
            })
            .collect::<Vec<_>>()
            .join("; "),
        &["Outstanding", "Good", "Requires improvement", "Inadequate"],
        &d.by_size_band
            .iter()
            .map(|c| {
                let s = &c.summary;
                (
                    c.label.clone(),
                    vec![s.outstanding, s.good, s.requires_improvement, s.inadequate],
                )
            })
            .collect::<Vec<_>>(),
    );
    render(&DashboardPage {
        contracts_open: crate::quality::may_read_contracts(ctx.user()?.role),
        page: PageCtx::new(&state, &ctx, format!("Market: {}", d.name)),
        chart_size,
        q: scope_query(&q),
        headline: headline(&d),
        as_at: q.as_at.map(|d| d.to_string()).unwrap_or_default(),
        chart_comparison,
        chart_rating,
        chart_kq,
        d,
    })
}

#[derive(Template)]
#[template(path = "market/locations.html")]
struct DrillPage {
    page: PageCtx,
    download: String,
    rows: Vec<crate::cqc::queries::LocationRow>,
    title: String,
    back: String,
    beds: i64,
}

impl DrillPage {
    fn tag(&self, r: &Option<String>) -> &'static str {
        rating_tag(r.as_deref().unwrap_or(""))
    }
}

async fn drill_page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Query(q): Query<MarketQuery>,
) -> Result<Response> {
    // Which locations are contracted is the contracts register's: the same rule as its page.
    if q.by.as_deref() == Some("contracted")
        && !crate::quality::may_read_contracts(ctx.user()?.role)
    {
        return Err(AppError::Forbidden);
    }
    let d = build(&state, &q, false).await?;
    let (by, group, measure) = (
        q.by.clone().unwrap_or_default(),
        q.group.clone().unwrap_or_default(),
        q.measure.clone().unwrap_or_else(|| "locations".into()),
    );
    let ids = d.drill(&by, &group, &measure).ok_or(AppError::NotFound)?;
    let mut rows = Vec::new();
    for chunk in ids.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let mut part: Vec<crate::cqc::queries::LocationRow> = state
            .db
            .q()
            .fetch_all(
                &format!(
                    "SELECT * FROM cqc_locations WHERE location_id IN ({}) ORDER BY name",
                    marks.join(",")
                ),
                chunk.iter().map(crate::db::Arg::from).collect(),
            )
            .await?;
        rows.append(&mut part);
    }
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    let beds: i64 = rows.iter().filter_map(|r| r.beds).sum();
    let measure_label = match measure.as_str() {
        "rated" => "rated",
        "good_or_outstanding" => "rated Good or Outstanding",
        "beds" => "with a known number of beds",
        _ => "",
    };
    let group_label = if by == "watch" {
        d.watch
            .iter()
            .find(|w| w.key == group)
            .map(|w| w.label.clone())
            .unwrap_or_default()
    } else if by == "care_homes" {
        "Care homes".to_string()
    } else if by == "contracted" {
        if group == "care_homes" {
            "Contracted care homes".to_string()
        } else {
            "Contracted services".to_string()
        }
    } else {
        format!("{} ({})", group.replace('-', " "), by.replace('_', " "))
    };
    if let Some(fmt) = q.format.as_deref() {
        use crate::export::Value::{Int, Text};
        let t = Table {
            title: "Locations".into(),
            headers: ["Location ID", "Location", "Council", "Rating", "Beds"]
                .iter()
                .map(|h| h.to_string())
                .collect(),
            rows: rows
                .iter()
                .map(|r| {
                    vec![
                        Text(r.location_id.clone()),
                        Text(r.name.clone()),
                        Text(r.local_authority.clone().unwrap_or_default()),
                        Text(
                            r.overall_rating
                                .clone()
                                .unwrap_or_else(|| "Not rated".into()),
                        ),
                        r.beds.map(Int).unwrap_or(Text(String::new())),
                    ]
                })
                .collect(),
        };
        return crate::export::download(&t, fmt, "market-locations");
    }
    render(&DrillPage {
        page: PageCtx::new(&state, &ctx, format!("{}: {group_label}", d.name)),
        download: {
            let mut q2 = q.clone();
            q2.format = None;
            serde_urlencoded::to_string(drill_pairs(&q2)).unwrap_or_default()
        },
        title: format!("{}: {group_label} {measure_label}", d.name)
            .trim()
            .to_string(),
        back: format!("/market?{}", scope_query(&q)),
        beds,
        rows,
    })
}

/// One of the dashboard's tables, with the page's numbers.
pub fn table(d: &Dashboard, by: &str) -> Result<Table> {
    use crate::export::Value::{Decimal, Int, Text};
    let t = |s: &str| s.to_string();
    if by == "key_question" {
        return Ok(Table {
            title: format!("{} key questions", d.name),
            headers: vec![
                t("Key question"),
                t("Care homes rated on it"),
                t("Below Good"),
                t("Below Good %"),
            ],
            rows: d
                .by_key_question
                .iter()
                .map(|k| {
                    vec![
                        Text(k.label.clone()),
                        Int(k.figure.rated as i64),
                        Int(k.figure.below_good as i64),
                        Decimal(k.figure.below_good_pct),
                    ]
                })
                .collect(),
        });
    }
    if by == "comparison" {
        let mut rows = vec![vec![
            Text(d.name.clone()),
            Int(d.care_homes.rated as i64),
            Decimal(d.care_homes.good_or_outstanding_pct),
            Decimal(d.gap_to_target),
        ]];
        rows.extend(d.comparisons.iter().map(|c| {
            vec![
                Text(c.name.clone()),
                Int(c.care_homes_rated as i64),
                Decimal(c.good_or_outstanding_pct),
                Decimal(c.gap_to_target),
            ]
        }));
        return Ok(Table {
            title: format!("{} comparison", d.name),
            headers: vec![
                t("Area"),
                t("Care homes rated"),
                t("Good or Outstanding %"),
                t("Gap to target (points)"),
            ],
            rows,
        });
    }
    if by == "watch" {
        return Ok(Table {
            title: format!("{} watch list", d.name),
            headers: vec![t("List"), t("Locations")],
            rows: d
                .watch
                .iter()
                .map(|w| vec![Text(w.label.clone()), Int(w.count as i64)])
                .collect(),
        });
    }
    let by_v =
        By::parse(by).ok_or_else(|| AppError::BadRequest(format!("unknown breakdown {by:?}")))?;
    let cells = match by_v {
        By::Rating => &d.by_rating,
        By::ServiceType => &d.by_service_type,
        By::SizeBand => &d.by_size_band,
        By::Specialism => &d.by_specialism,
        By::KeyQuestion => unreachable!("handled above"),
    };
    Ok(Table {
        title: format!("{} {}", d.name, by.replace('_', " ")),
        headers: vec![
            t("Group"),
            t("Locations"),
            t("Rated"),
            t("Good or Outstanding"),
            t("Good or Outstanding %"),
            t("Beds"),
            t("Beds known for"),
            t("Beds Good or Outstanding %"),
        ],
        rows: cells
            .iter()
            .map(|c| {
                let s = &c.summary;
                vec![
                    Text(c.label.clone()),
                    Int(s.locations as i64),
                    Int(s.rated as i64),
                    Int(s.good_or_outstanding as i64),
                    Decimal(s.good_or_outstanding_pct),
                    Int(s.beds),
                    Int(s.beds_known_for as i64),
                    Decimal(s.beds_good_or_outstanding_pct),
                ]
            })
            .collect(),
    })
}

fn file_name(d: &Dashboard, by: &str, ext: &str) -> String {
    format!(
        "market-{}-{by}.{ext}",
        d.name
            .to_lowercase()
            .replace(|c: char| !c.is_alphanumeric(), "-")
    )
}

/// The breakdown tables as CSV, with the same numbers as the page.
async fn export_csv(
    State(state): State<AppState>,
    Query(q): Query<MarketQuery>,
) -> Result<Response> {
    let d = build(&state, &q, true).await?;
    let by = q.by.clone().unwrap_or_else(|| "rating".into());
    let t = table(&d, &by)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", file_name(&d, &by, "csv")),
            ),
        ],
        t.to_csv(),
    )
        .into_response())
}

/// The same tables as XLSX.
async fn export_xlsx(
    State(state): State<AppState>,
    Query(q): Query<MarketQuery>,
) -> Result<Response> {
    let d = build(&state, &q, true).await?;
    let by = q.by.clone().unwrap_or_else(|| "rating".into());
    let bytes = table(&d, &by)?
        .to_xlsx()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("xlsx: {e}")))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", file_name(&d, &by, "xlsx")),
            ),
        ],
        bytes,
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/v1/market/summary", tag = "market", params(MarketQuery), responses((status = 200, body = Dashboard)))]
pub async fn api_summary(
    State(state): State<AppState>,
    Query(q): Query<MarketQuery>,
) -> Result<Json<Dashboard>> {
    Ok(Json((*build(&state, &q, true).await?).clone()))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Breakdown {
    pub name: String,
    pub by: String,
    pub cells: Vec<Cell>,
    pub key_questions: Vec<super::KeyQuestionCell>,
}

#[utoipa::path(get, path = "/api/v1/market/breakdown", tag = "market", params(MarketQuery), responses((status = 200, body = Breakdown), (status = 400, description = "Unknown breakdown")))]
pub async fn api_breakdown(
    State(state): State<AppState>,
    Query(q): Query<MarketQuery>,
) -> Result<Json<Breakdown>> {
    let by_s = q.by.clone().unwrap_or_else(|| "rating".into());
    let by = By::parse(&by_s).ok_or_else(|| {
        AppError::BadRequest(format!(
            "by must be rating, service_type, size_band, specialism or key_question, not {by_s:?}"
        ))
    })?;
    let d = build(&state, &q, false).await?;
    let (cells, key_questions) = match by {
        By::Rating => (d.by_rating.clone(), vec![]),
        By::ServiceType => (d.by_service_type.clone(), vec![]),
        By::SizeBand => (d.by_size_band.clone(), vec![]),
        By::Specialism => (d.by_specialism.clone(), vec![]),
        By::KeyQuestion => (vec![], d.by_key_question.clone()),
    };
    Ok(Json(Breakdown {
        name: d.name.clone(),
        by: by.key().into(),
        cells,
        key_questions,
    }))
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ChangeQuery {
    pub area: Option<String>,
    pub england: Option<bool>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// csv or xlsx to download the table
    pub format: Option<String>,
}

/// One point of the comparison over time.
pub struct Point {
    pub date: NaiveDate,
    pub rated: u64,
    pub good_or_outstanding: u64,
    pub pct: Option<f64>,
    pub beds_known_for: u64,
    pub beds_good_or_outstanding: i64,
    pub editions: String,
}

#[derive(Template)]
#[template(path = "market/change.html")]
struct ChangePage {
    page: PageCtx,
    download: String,
    name: String,
    area: String,
    from: String,
    to: String,
    points: Vec<Point>,
    sentence: String,
    chart: String,
    notes: Vec<String>,
}

impl ChangePage {
    fn pct(&self, p: &Option<f64>) -> String {
        pct(*p)
    }
}

/// The market at two dates (and each year between), from the rating history: "a 13.1%
/// increase in the number of beds rated Good or Outstanding (Oct'17-April'19)" (the Liverpool City Region care home redesign (Priority 3)).
async fn change_page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Query(q): Query<ChangeQuery>,
) -> Result<Response> {
    let mq = MarketQuery {
        area: q.area.clone(),
        england: q.england,
        ..Default::default()
    };
    let (scope, name) = scope_of(&state, &mq).await?;
    let (latest_editions, _) = crate::cqc::summary::editions_as_at(&state.db, None).await?;
    let data_date = latest_editions
        .iter()
        .map(|e| e.edition)
        .max()
        .unwrap_or_else(|| state.clock.now().date_naive());
    let to = q.to.unwrap_or(data_date);
    let from = q
        .from
        .unwrap_or_else(|| to.checked_sub_months(chrono::Months::new(24)).unwrap_or(to));
    if from > to {
        return Err(AppError::BadRequest(
            "the start date is after the end date".into(),
        ));
    }
    let mut dates = vec![from];
    let mut d = from;
    while let Some(next) = d.checked_add_months(chrono::Months::new(12)) {
        if next >= to {
            break;
        }
        dates.push(next);
        d = next;
    }
    if to != from {
        dates.push(to);
    }
    let mut points = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    for date in dates {
        let s = Scope {
            as_at: Some(date),
            ..scope.clone()
        };
        let (facts, all) = super::facts(&state, &s).await?;
        let editions = all.editions.clone();
        for note in all.notes.iter().cloned() {
            if !notes.contains(&note) {
                notes.push(note);
            }
        }
        let (sum, _) = super::care_home_summary(&facts);
        points.push(Point {
            date,
            rated: sum.rated,
            good_or_outstanding: sum.good_or_outstanding,
            pct: sum.good_or_outstanding_pct,
            beds_known_for: sum.beds_known_for,
            beds_good_or_outstanding: sum.beds_good_or_outstanding,
            editions: editions
                .iter()
                .map(|e| format!("{} {}", e.kind, e.edition))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let (first, last) = (&points[0], &points[points.len() - 1]);
    let change = |a: i64, b: i64| -> String {
        if a == 0 {
            return "no beds known at the start".into();
        }
        let pct = (b - a) as f64 * 100.0 / a as f64;
        format!(
            "{} of {:.1}%",
            if pct >= 0.0 {
                "an increase"
            } else {
                "a decrease"
            },
            pct.abs()
        )
    };
    let sentence = format!(
        "Between {} and {}, beds in care homes rated Good or Outstanding went from {} to {}: {}. Care homes rated Good or Outstanding went from {} to {}.",
        first.date.format("%-d %B %Y"),
        last.date.format("%-d %B %Y"),
        first.beds_good_or_outstanding,
        last.beds_good_or_outstanding,
        change(
            first.beds_good_or_outstanding,
            last.beds_good_or_outstanding
        ),
        first.good_or_outstanding,
        last.good_or_outstanding
    );
    let chart = crate::charts::line_chart(
        "chart-trend",
        "Care homes rated Good or Outstanding over time",
        &points
            .iter()
            .map(|p| format!("{} {}", p.date, pct(p.pct)))
            .collect::<Vec<_>>()
            .join(", "),
        &points
            .iter()
            .map(|p| {
                (
                    p.date.format("%b %Y").to_string(),
                    p.pct.unwrap_or(0.0),
                    pct(p.pct),
                )
            })
            .collect::<Vec<_>>(),
        100.0,
    );
    if let Some(fmt) = q.format.as_deref() {
        use crate::export::Value::{Decimal, Int, Text};
        let t = Table {
            title: "Change over time".into(),
            headers: [
                "As at",
                "Rated care homes",
                "Good or Outstanding",
                "Good or Outstanding %",
                "Beds in Good or Outstanding homes",
                "Beds known for",
                "Editions",
            ]
            .iter()
            .map(|h| h.to_string())
            .collect(),
            rows: points
                .iter()
                .map(|p| {
                    vec![
                        Text(p.date.to_string()),
                        Int(p.rated as i64),
                        Int(p.good_or_outstanding as i64),
                        Decimal(p.pct),
                        Int(p.beds_good_or_outstanding),
                        Int(p.beds_known_for as i64),
                        Text(p.editions.clone()),
                    ]
                })
                .collect(),
        };
        return crate::export::download(&t, fmt, "market-change");
    }
    let download_q = serde_urlencoded::to_string(
        [
            ("area", q.area.clone().unwrap_or_default()),
            ("from", from.to_string()),
            ("to", to.to_string()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect::<Vec<_>>(),
    )
    .unwrap_or_default();
    render(&ChangePage {
        page: PageCtx::new(&state, &ctx, format!("Change over time: {name}")),
        download: download_q,
        area: q.area.clone().unwrap_or_default(),
        from: from.to_string(),
        to: to.to_string(),
        name,
        points,
        sentence,
        chart,
        notes,
    })
}

#[derive(Template)]
#[template(path = "market/report.html")]
struct ReportPage {
    d: std::sync::Arc<Dashboard>,
    q: String,
    service_name: String,
    today: String,
    as_at: String,
    points: Vec<String>,
    comparison: Table,
    tables: Vec<(usize, Table)>,
    chart_comparison: String,
    chart_kq: String,
    inline_css: Option<String>,
    for_file: bool,
}

impl ReportPage {
    fn cell(&self, v: &crate::export::Value) -> String {
        v.shown()
    }
}

/// The main points, as sentences with their figures (Leeds care home quality, 2017, §2.1: "rated at 48% Good by
/// the Care Quality Commission, in comparison with a national average of 65.5%").
fn report_points(d: &Dashboard) -> Vec<String> {
    let mut p = vec![headline(d)];
    if let Some(c) = &d.contracted
        && let Some(pct) = c.good_or_outstanding_pct
    {
        p.push(format!(
            "{pct:.1}% of the contracted services rated by CQC ({} of {}) are rated Good or Outstanding; {} of them Inadequate.",
            c.good_or_outstanding, c.rated, c.inadequate
        ));
    }
    if let Some(eng) = d.comparisons.iter().find(|c| c.name == "England")
        && let (Some(a), Some(e)) = (
            d.care_homes.good_or_outstanding_pct,
            eng.good_or_outstanding_pct,
        )
    {
        let diff = ((a - e) * 10.0).round() / 10.0;
        p.push(format!(
            "England's figure is {e:.1}%: {} is {:.1} percentage points {}.",
            d.name,
            diff.abs(),
            if diff >= 0.0 { "above it" } else { "below it" }
        ));
    }
    if let Some(b) = d.care_homes.beds_good_or_outstanding_pct {
        p.push(format!(
            "{b:.1}% of beds in rated care homes are in homes rated Good or Outstanding ({} of {} beds; beds known for {} of {} homes).",
            d.care_homes.beds_good_or_outstanding, d.care_homes.beds_in_rated, d.beds_known_for, d.care_homes.locations
        ));
    }
    if let Some(k) = d
        .by_key_question
        .iter()
        .filter(|k| k.figure.below_good > 0)
        .max_by_key(|k| k.figure.below_good)
    {
        p.push(format!(
            "{} is the key question most often rated below Good: {} care homes ({}).",
            k.label,
            k.figure.below_good,
            pct(k.figure.below_good_pct)
        ));
    }
    for w in &d.watch {
        if w.count > 0
            && matches!(
                w.key.as_str(),
                "no-registered-manager" | "rating-over-2-years" | "never-rated"
            )
        {
            p.push(format!("{}: {} locations.", w.label, w.count));
        }
    }
    p
}

pub async fn report_html(state: &AppState, q: &MarketQuery, for_file: bool) -> Result<String> {
    let d = build(state, q, true).await?;
    let mut tables = Vec::new();
    for (i, by) in [
        "rating",
        "size_band",
        "service_type",
        "specialism",
        "key_question",
        "watch",
    ]
    .iter()
    .enumerate()
    {
        tables.push((i + 2, table(&d, by)?));
    }
    let chart_comparison = comparison_chart(&d, "report-comparison");
    let chart_kq = key_question_chart(&d, "report-kq");
    let page = ReportPage {
        q: scope_query(q),
        service_name: state.settings().service_name.clone(),
        today: state.clock.now().format("%-d %B %Y").to_string(),
        as_at: q.as_at.map(|d| d.to_string()).unwrap_or_default(),
        points: report_points(&d),
        comparison: table(&d, "comparison")?,
        tables,
        chart_comparison,
        chart_kq,
        inline_css: for_file.then(|| crate::web::assets::APP_CSS.to_string()),
        for_file,
        d,
    };
    page.render()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("template: {e}")))
}

async fn report_page(
    State(state): State<AppState>,
    Query(q): Query<MarketQuery>,
) -> Result<Response> {
    Ok(axum::response::Html(report_html(&state, &q, false).await?).into_response())
}

async fn report_pdf(
    State(state): State<AppState>,
    Query(q): Query<MarketQuery>,
) -> Result<Response> {
    let html = report_html(&state, &q, true).await?;
    crate::export::pdf::respond(html, "market-report.pdf").await
}
