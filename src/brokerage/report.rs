//! The printable brokerage report for scrutiny, shaped like the 2018 Leicester domiciliary support report's section 4: the
//! framework (lots, providers, withdrawals), the year's activity, the awaiting care list
//! table (§4.7, reporting dates as columns) and the quality of provision (§4.9: the
//! framework providers by CQC rating and by the council's QAF grade). HTML to print, or PDF.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};

use super::awaiting_pages::{AwaitingQuery, asked, stats_table};
use crate::export::Table;
use crate::web::roles::COUNCIL;
use crate::web::{RouteDef, get};
use crate::{AppError, AppState, Result, args};

pub fn routes() -> Vec<RouteDef> {
    vec![
        get("/brokerage/report", COUNCIL, page),
        get("/brokerage/report.pdf", COUNCIL, pdf),
    ]
}

#[derive(Template)]
#[template(path = "brokerage/report.html")]
struct ReportPage {
    service_name: String,
    today: String,
    qs: String,
    /// What part of the awaiting care list the table covers
    scope: String,
    lots: Vec<(super::Lot, usize)>,
    providers: usize,
    withdrawn: Vec<(String, String, chrono::NaiveDate, String)>,
    raised: i64,
    placed: i64,
    months: i64,
    running: i64,
    hours_in_care: i64,
    table: Table,
    cqc: [usize; 5],
    qaf: Vec<(String, usize)>,
    inline_css: Option<String>,
    for_file: bool,
}

impl ReportPage {
    fn cell(&self, v: &crate::export::Value) -> String {
        v.shown()
    }
    fn hours(&self, h: &i64) -> String {
        caremarket_core::money::show_hundredths(*h)
    }
    fn a_month(&self) -> String {
        let m = self.months.max(1);
        format!("{:.1}", self.raised as f64 / m as f64)
    }
}

pub async fn report_html(state: &AppState, q: &AwaitingQuery, for_file: bool) -> Result<String> {
    let a = asked(state, q);
    if let Some(e) = a.errors.items.first() {
        return Err(AppError::BadRequest(e.message.clone()));
    }
    let today = state.clock.now().date_naive();
    let year_ago = today - chrono::Duration::days(365);
    let mut lots = Vec::new();
    let mut current = std::collections::BTreeSet::new();
    let mut withdrawn = Vec::new();
    for l in super::lots(state).await? {
        let ps = super::providers(state, l.id).await?;
        let now: Vec<&super::LotProvider> =
            ps.iter().filter(|p| p.withdrawn_on.is_none()).collect();
        current.extend(now.iter().map(|p| p.provider_id.clone()));
        for p in ps
            .iter()
            .filter(|p| p.withdrawn_on.is_some_and(|d| d >= year_ago))
        {
            withdrawn.push((
                p.provider_name
                    .clone()
                    .unwrap_or_else(|| p.provider_id.clone()),
                l.name.clone(),
                p.withdrawn_on.unwrap_or(today),
                p.withdrawn_reason.clone().unwrap_or_default(),
            ));
        }
        lots.push((l, now.len()));
    }
    // Quality of provision (Leicester domiciliary support, 2018, §4.9): each provider on the framework counted once.
    let mut cqc = [0usize; 5];
    let scale = state.settings().qaf.scale.clone();
    let mut qaf_counts = vec![0usize; scale.grades.len() + 1];
    for p in &current {
        let (qaf, rating) = super::ranking::quality_levels(state, p, today).await?;
        cqc[rating.map_or(4, |r| r as usize)] += 1;
        let i = qaf.map_or(scale.grades.len(), |g| (g as usize).min(scale.grades.len()));
        qaf_counts[i] += 1;
    }
    let mut qaf: Vec<(String, usize)> = scale
        .grades
        .iter()
        .zip(&qaf_counts)
        .map(|((c, n), k)| (format!("Level {c} = {n}"), *k))
        .collect();
    qaf.push(("Not yet visited".into(), qaf_counts[scale.grades.len()]));
    // The year's activity.
    let since = year_ago.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    let raised: i64 = state
        .db
        .q()
        .scalar(
            "SELECT COUNT(*) FROM care_requests WHERE raised_at >= $1",
            args![since],
        )
        .await?;
    let placed: i64 = state
        .db
        .q()
        .scalar(
            "SELECT COUNT(*) FROM care_requests WHERE raised_at >= $1 AND state = 'placed'",
            args![since],
        )
        .await?;
    let first: Option<chrono::DateTime<chrono::Utc>> = state
        .db
        .q()
        .scalar_optional(
            "SELECT MIN(raised_at) FROM care_requests WHERE raised_at >= $1",
            args![since],
        )
        .await?
        .flatten();
    let months = first.map_or(1, |f| ((today - f.date_naive()).num_days() / 30).max(1));
    let (running, hours_in_care): (i64, Option<i64>) = state
        .db
        .q()
        .fetch_one(
            "SELECT COUNT(*), CAST(SUM(planned_hours) AS BIGINT) FROM packages WHERE end_date IS NULL",
            args![],
        )
        .await?;
    let stays = super::awaiting::stays(state, &a.filter).await?;
    let scope = {
        let mut parts = Vec::new();
        if let Some(l) = a.filter.lot {
            parts.push(super::lot(state, l).await?.name);
        }
        if let Some(s) = &a.filter.service_line {
            parts.push(super::requests::label(&super::SERVICE_LINES, s).to_lowercase());
        }
        if parts.is_empty() {
            "All lots".to_string()
        } else {
            parts.join(", ")
        }
    };
    let page = ReportPage {
        service_name: state.settings().service_name.clone(),
        today: today.format("%-d %B %Y").to_string(),
        qs: serde_urlencoded::to_string([
            ("lot", q.lot.clone().unwrap_or_default()),
            ("service_line", q.service_line.clone().unwrap_or_default()),
            ("dates", q.dates.clone().unwrap_or_default()),
            ("to", q.to.clone().unwrap_or_default()),
        ])
        .unwrap_or_default(),
        scope,
        providers: current.len(),
        lots,
        withdrawn,
        raised,
        placed,
        months,
        running,
        hours_in_care: hours_in_care.unwrap_or(0),
        table: stats_table(&super::awaiting::stats(&stays, &a.dates, a.step)),
        cqc,
        qaf,
        inline_css: for_file.then(|| crate::web::assets::APP_CSS.to_string()),
        for_file,
    };
    page.render()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("template: {e}")))
}

async fn page(State(state): State<AppState>, Query(q): Query<AwaitingQuery>) -> Result<Response> {
    Ok(axum::response::Html(report_html(&state, &q, false).await?).into_response())
}

async fn pdf(State(state): State<AppState>, Query(q): Query<AwaitingQuery>) -> Result<Response> {
    let html = report_html(&state, &q, true).await?;
    crate::export::pdf::respond(html, "brokerage-report.pdf").await
}
