//! The vacancies dashboard: free beds by type and council, and how old the figures are.

use askama::Template;
use axum::Json;
use axum::extract::{Query, State};
use axum::response::Response;

use crate::web::roles::COUNCIL;
use crate::web::{PageCtx, RequestCtx, RouteDef, get, render};
use crate::{AppError, AppState, Result};

pub fn routes() -> Vec<RouteDef> {
    vec![
        get("/capacity/dashboard", COUNCIL, dashboard_page),
        get("/api/v1/capacity/dashboard", COUNCIL, api_dashboard),
    ]
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct DashboardQuery {
    /// Only homes in this council (as CQC names it)
    pub area: Option<String>,
    /// Weeks of history (default 12, at most 104)
    pub weeks: Option<i64>,
    /// bed_type, area or time, with format
    pub table: Option<String>,
    /// csv or xlsx
    pub format: Option<String>,
}

#[derive(Template)]
#[template(path = "capacity/dashboard.html")]
struct DashboardPage {
    page: PageCtx,
    d: super::dashboard::Dashboard,
    area: String,
    chart_types: String,
    chart_time: String,
}

impl DashboardPage {
    fn pct(&self, p: &Option<f64>) -> String {
        p.map(|v| format!("{v:.1}%")).unwrap_or_else(|| "–".into())
    }
    fn export(&self, table: &str, format: &str) -> String {
        let mut pairs = vec![("table", table.to_string()), ("format", format.to_string())];
        if !self.area.is_empty() {
            pairs.push(("area", self.area.clone()));
        }
        format!(
            "/capacity/dashboard?{}",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    }
}

async fn dashboard_page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Query(q): Query<DashboardQuery>,
) -> Result<Response> {
    let d = super::dashboard::build(
        &state,
        q.area.as_deref(),
        q.weeks.unwrap_or(12).clamp(1, 104),
    )
    .await?;
    if let Some(fmt) = q.format.as_deref() {
        let which = q.table.as_deref().unwrap_or("bed_type");
        let t = super::dashboard::table(&d, which).ok_or_else(|| {
            AppError::BadRequest(format!(
                "table must be bed_type, area or time, not {which:?}"
            ))
        })?;
        return crate::export::download(&t, fmt, &format!("capacity-{which}"));
    }
    let chart_types = crate::charts::bar_chart(
        "chart-vacant",
        "Vacant beds accepting admissions, by bed type",
        &d.by_bed_type
            .iter()
            .map(|(k, t)| format!("{k}: {} vacant of {}", t.vacant, t.capacity))
            .collect::<Vec<_>>()
            .join(", "),
        &d.by_bed_type
            .iter()
            .map(|(k, t)| (k.clone(), t.vacant as f64, t.vacant.to_string()))
            .collect::<Vec<_>>(),
        None,
    );
    let max = d
        .over_time
        .iter()
        .map(|(_, t)| t.vacant as f64)
        .fold(1.0, f64::max);
    let chart_time = crate::charts::line_chart(
        "chart-time",
        "Vacant beds week by week",
        &d.over_time
            .iter()
            .map(|(w, t)| format!("week ending {w}: {} vacant", t.vacant))
            .collect::<Vec<_>>()
            .join(", "),
        &d.over_time
            .iter()
            .map(|(w, t)| {
                (
                    w.format("%-d %b").to_string(),
                    t.vacant as f64,
                    t.vacant.to_string(),
                )
            })
            .collect::<Vec<_>>(),
        max,
    );
    render(&DashboardPage {
        page: PageCtx::new(&state, &ctx, "Care home capacity"),
        area: q.area.clone().unwrap_or_default(),
        chart_types,
        chart_time,
        d,
    })
}

#[utoipa::path(get, path = "/api/v1/capacity/dashboard", tag = "capacity", params(DashboardQuery), responses((status = 200, body = super::dashboard::Dashboard)))]
pub async fn api_dashboard(
    State(state): State<AppState>,
    Query(q): Query<DashboardQuery>,
) -> Result<Json<super::dashboard::Dashboard>> {
    Ok(Json(
        super::dashboard::build(
            &state,
            q.area.as_deref(),
            q.weeks.unwrap_or(12).clamp(1, 104),
        )
        .await?,
    ))
}
