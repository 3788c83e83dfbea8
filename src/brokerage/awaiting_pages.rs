//! The awaiting care list page: who is waiting now, and the statistics as the 2018 Leicester domiciliary support report §4.7
//! sets them out (reporting dates as columns), for the whole list, a lot or a service line;
//! as a chart, CSV and XLSX; and the import of a council's own records.

use askama::Template;
use axum::Json;
use axum::extract::{Query, State};
use axum::response::Response;
use caremarket_core::Role;
use caremarket_core::brokerage::ListStats;
use chrono::NaiveDate;

use super::awaiting::{self, Filter, Stay};
use crate::audit::Actor;
use crate::export::{Table, Value};
use crate::web::forms::FormErrors;
use crate::web::layout::render_status;
use crate::web::redirect_with_flash;
use crate::web::roles::{BROKERS, COUNCIL};
use crate::web::{PageCtx, RequestCtx, RouteDef, get, post};
use crate::{AppState, Result};

// Scrutiny members (viewers) see the statistics; the list of cases is for the council's
// own brokerage and commissioning staff.

pub fn routes() -> Vec<RouteDef> {
    vec![
        get("/brokerage/awaiting", COUNCIL, page),
        get("/brokerage/awaiting/download", COUNCIL, download),
        crate::web::with_body_limit(
            post("/brokerage/awaiting/import", BROKERS, import),
            crate::web::COUNCIL_UPLOAD_LIMIT,
        ),
        get("/api/v1/brokerage/awaiting", COUNCIL, api_awaiting),
    ]
}

#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct AwaitingQuery {
    /// A lot's id
    pub lot: Option<String>,
    /// general or specialist
    pub service_line: Option<String>,
    /// Reporting dates, like "04/04/2018 10/04/2018"; empty for weekly dates
    pub dates: Option<String>,
    /// The last weekly reporting date (today when empty)
    pub to: Option<String>,
    /// csv or xlsx, for downloads
    pub format: Option<String>,
}

pub(super) struct Asked {
    pub filter: Filter,
    pub dates: Vec<NaiveDate>,
    pub step: i64,
    pub errors: FormErrors,
}

pub(super) fn asked(state: &AppState, q: &AwaitingQuery) -> Asked {
    let mut errors = FormErrors::default();
    let step = state.settings().brokerage.reporting_step_days.max(1);
    let today = state.clock.now().date_naive();
    let lot = match q.lot.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => match s.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                errors.add("lot", "Select a lot from the list");
                None
            }
        },
    };
    if let Some(l) = q.service_line.as_deref().filter(|s| !s.is_empty())
        && !super::SERVICE_LINES.iter().any(|(k, _)| *k == l)
    {
        errors.add("service_line", "Select general or specialist care");
    }
    let to = match q.to.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(t) => match caremarket_core::cqc::parse_date(t, false) {
            Ok(d) => Some(d),
            Err(_) => {
                errors.add("to", "Enter the last reporting date, like 18/06/2018");
                None
            }
        },
    };
    let dates = match awaiting::dates_from(q.dates.as_deref().unwrap_or(""), to, step, today) {
        Ok(d) => d,
        Err(m) => {
            errors.add("dates", m);
            awaiting::dates_from("", None, step, today).unwrap_or_default()
        }
    };
    // With the dates given, the first period is as long as the gap to the second.
    let step = match dates.as_slice() {
        [a, b, ..] if q.dates.as_deref().is_some_and(|d| !d.trim().is_empty()) => {
            (*b - *a).num_days().max(1)
        }
        _ => step,
    };
    Asked {
        filter: Filter {
            lot,
            service_line: q.service_line.clone().filter(|s| !s.is_empty()),
        },
        dates,
        step,
        errors,
    }
}

/// The seed's table: one column a reporting date, one row a figure, in the seed's words.
pub fn stats_table(stats: &[ListStats]) -> Table {
    let opt = |v: Option<i64>, f: fn(i64) -> Value| v.map(f).unwrap_or(Value::Empty);
    let row = |label: &str, f: &dyn Fn(&ListStats) -> Value| {
        let mut r = vec![Value::Text(label.to_string())];
        r.extend(stats.iter().map(f));
        r
    };
    let mut headers = vec!["".to_string()];
    headers.extend(stats.iter().map(|s| s.date.format("%d/%m/%Y").to_string()));
    Table {
        title: "Awaiting care list".into(),
        headers,
        rows: vec![
            row(
                "Total number of council cases on the list in period",
                &|s| Value::Int(s.council_cases),
            ),
            row("Total number of health cases on the list in period", &|s| {
                Value::Int(s.health_cases)
            }),
            row("Longest wait (days)", &|s| {
                opt(s.longest_wait_days, Value::Int)
            }),
            row("Average wait (days)", &|s| {
                opt(s.average_wait_hundredths, Value::Hundredths)
            }),
            row("Average hours required", &|s| {
                opt(s.average_hours_hundredths, Value::Hundredths)
            }),
        ],
    }
}

#[derive(Template)]
#[template(path = "brokerage/awaiting.html")]
struct AwaitingPage {
    page: PageCtx,
    errors: FormErrors,
    table: Table,
    chart: String,
    waiting: Vec<(Stay, i64)>,
    show_cases: bool,
    can_load: bool,
    lots: Vec<super::Lot>,
    lines: Vec<(&'static str, &'static str)>,
    q: AwaitingQuery,
    lot: Option<i64>,
    query: String,
    problems: String,
}

impl AwaitingPage {
    fn cell(&self, v: &Value) -> String {
        v.shown()
    }
    fn hours(&self, h: &i64) -> String {
        caremarket_core::money::show_hundredths(*h)
    }
    fn is_lot(&self, id: &i64) -> bool {
        self.lot == Some(*id)
    }
    fn text<'a>(&self, v: &'a Option<String>) -> &'a str {
        v.as_deref().unwrap_or("")
    }
}

async fn view(
    state: &AppState,
    ctx: &RequestCtx,
    q: AwaitingQuery,
    mut errors: FormErrors,
    problems: String,
) -> Result<Response> {
    let a = asked(state, &q);
    for e in a.errors.items.iter() {
        errors.add(&e.field, e.message.clone());
    }
    let stays = awaiting::stays(state, &a.filter).await?;
    let stats = awaiting::stats(&stays, &a.dates, a.step);
    let today = state.clock.now().date_naive();
    let waiting: Vec<(Stay, i64)> = stays
        .into_iter()
        .filter(|s| s.left_on.is_none())
        .map(|s| {
            let d = (today - s.joined_on).num_days().max(0);
            (s, d)
        })
        .collect();
    let max = stats
        .iter()
        .map(|s| s.council_cases + s.health_cases)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let chart = crate::charts::line_chart(
        "awaiting-chart",
        "Cases on the awaiting care list in each period",
        "Council and health cases together on the list in the period ending on each reporting date; the table gives the figures.",
        &stats
            .iter()
            .map(|s| {
                let n = s.council_cases + s.health_cases;
                (s.date.format("%d/%m").to_string(), n as f64, n.to_string())
            })
            .collect::<Vec<_>>(),
        max * 1.15,
    );
    let role = ctx.user()?.role;
    let query = serde_urlencoded::to_string([
        ("lot", q.lot.clone().unwrap_or_default()),
        ("service_line", q.service_line.clone().unwrap_or_default()),
        ("dates", q.dates.clone().unwrap_or_default()),
        ("to", q.to.clone().unwrap_or_default()),
    ])
    .unwrap_or_default();
    render_status(
        errors.status(),
        &AwaitingPage {
            page: PageCtx::new(state, ctx, "Awaiting care list"),
            errors,
            table: stats_table(&stats),
            chart,
            waiting,
            show_cases: role != Role::Viewer,
            can_load: matches!(role, Role::Admin | Role::Broker),
            lots: super::lots(state).await?,
            lines: super::SERVICE_LINES.to_vec(),
            lot: a.filter.lot,
            q,
            query,
            problems,
        },
    )
}

async fn page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Query(q): Query<AwaitingQuery>,
) -> Result<Response> {
    view(&state, &ctx, q, FormErrors::default(), String::new()).await
}

async fn download(
    State(state): State<AppState>,
    Query(q): Query<AwaitingQuery>,
) -> Result<Response> {
    let a = asked(&state, &q);
    if let Some(e) = a.errors.items.first() {
        return Err(crate::AppError::BadRequest(e.message.clone()));
    }
    let stays = awaiting::stays(&state, &a.filter).await?;
    let t = stats_table(&awaiting::stats(&stays, &a.dates, a.step));
    let fmt = q.format.as_deref().unwrap_or("csv");
    crate::export::download(&t, fmt, "awaiting-care-list")
}

async fn import(
    State(state): State<AppState>,
    ctx: RequestCtx,
    up: crate::web::forms::Upload,
) -> Result<Response> {
    let mut errors = FormErrors::default();
    let Some((name, bytes)) = &up.file else {
        errors.add("file", "Select a file of stays on the list (CSV or XLSX)");
        return view(
            &state,
            &ctx,
            AwaitingQuery::default(),
            errors,
            String::new(),
        )
        .await;
    };
    match awaiting::import(&state, &Actor::from_ctx(&ctx), name, bytes).await {
        Ok(i) => Ok(redirect_with_flash(
            &state,
            "/brokerage/awaiting",
            &format!(
                "{} stays loaded from {name} ({} new, {} already known)",
                i.added + i.updated,
                i.added,
                i.updated
            ),
        )),
        Err(report) => {
            errors.add(
                "file",
                "The file was not loaded: nothing has changed. The problems are listed below.",
            );
            view(&state, &ctx, AwaitingQuery::default(), errors, report).await
        }
    }
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AwaitingAnswer {
    #[schema(value_type = Vec<Object>)]
    pub stats: Vec<ListStats>,
    /// Everyone on the list now (empty for scrutiny members)
    pub waiting: Vec<Stay>,
}

#[utoipa::path(get, path = "/api/v1/brokerage/awaiting", tag = "brokerage", params(AwaitingQuery),
    responses((status = 200, body = AwaitingAnswer), (status = 400, description = "A date could not be read")))]
pub async fn api_awaiting(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Query(q): Query<AwaitingQuery>,
) -> Result<Json<AwaitingAnswer>> {
    let a = asked(&state, &q);
    if let Some(e) = a.errors.items.first() {
        return Err(crate::AppError::BadRequest(e.message.clone()));
    }
    let stays = awaiting::stays(&state, &a.filter).await?;
    let stats = awaiting::stats(&stays, &a.dates, a.step);
    let waiting = if ctx.user()?.role == Role::Viewer {
        vec![]
    } else {
        stays.into_iter().filter(|s| s.left_on.is_none()).collect()
    };
    Ok(Json(AwaitingAnswer { stats, waiting }))
}
