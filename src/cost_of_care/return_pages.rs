//! Pages and API for provider cost returns: providers submit and see their own; the council
//! sees the analysis (quartiles, medians, outliers) and every return.

use askama::Template;
use axum::Json;
use axum::extract::{Form, Query, State};
use axum::response::Response;
use caremarket_core::money::pounds;

use super::returns::{self as rt, CostReturn, LineSummary, ReturnInput};
use super::service_label;
use crate::audit::Actor;
use crate::web::forms::{FormErrors, Pairs, field};
use crate::web::layout::render_status;
use crate::web::redirect_with_flash;
use crate::web::roles::{
    COMMISSIONERS_AND_VIEWERS, COMMISSIONERS_VIEWERS_AND_PROVIDERS, PROVIDERS,
};
use crate::web::{PageCtx, RequestCtx, RouteDef, get, post};
use crate::{AppState, Result};

pub fn routes() -> Vec<RouteDef> {
    vec![
        get(
            "/cost-of-care/returns",
            COMMISSIONERS_VIEWERS_AND_PROVIDERS,
            page,
        ),
        post("/cost-of-care/returns", PROVIDERS, submit),
        get(
            "/cost-of-care/returns/download",
            COMMISSIONERS_AND_VIEWERS,
            download,
        ),
        get(
            "/api/v1/cost-of-care/returns",
            COMMISSIONERS_VIEWERS_AND_PROVIDERS,
            api_returns,
        ),
    ]
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct ReturnsQuery {
    /// The financial year by its first year (2025 is 2025/26); default: the latest with returns
    pub year: Option<String>,
    /// The service whose lines the provider's form asks for
    pub service: Option<String>,
    /// csv or xlsx (downloads); what=returns for every return rather than the analysis
    pub format: Option<String>,
    pub what: Option<String>,
}

fn year_of(q: &ReturnsQuery, returns: &[CostReturn], now_year: i64) -> i64 {
    q.year
        .as_deref()
        .and_then(|y| y.split('/').next()?.trim().parse().ok())
        .or_else(|| returns.iter().map(|r| r.year).max())
        .unwrap_or(now_year)
}

#[derive(Template)]
#[template(path = "cost_of_care/returns.html")]
struct ReturnsPage {
    page: PageCtx,
    is_provider: bool,
    returns: Vec<CostReturn>,
    summary: Vec<LineSummary>,
    year: i64,
    years: Vec<i64>,
    homes: Vec<(String, String)>,
    services: Vec<(&'static str, &'static str)>,
    service: String,
    lines: Vec<(&'static str, &'static str, String)>,
    input: ReturnInput,
    errors: FormErrors,
}

impl ReturnsPage {
    fn money(&self, p: &i64) -> String {
        pounds(*p)
    }
    fn label(&self, s: &str) -> String {
        service_label(s).unwrap_or(s).to_string()
    }
    fn fy(&self, y: &i64) -> String {
        format!("{y}/{:02}", (y + 1) % 100)
    }
    fn outlier_text(&self, ids: &[i64]) -> String {
        ids.iter()
            .filter_map(|id| self.returns.iter().find(|r| r.id == *id))
            .map(|r| format!("{} ({})", r.home, r.provider_id))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

async fn view(
    state: &AppState,
    ctx: &RequestCtx,
    q: &ReturnsQuery,
    input: ReturnInput,
    errors: FormErrors,
) -> Result<Response> {
    let acting = ctx.user()?.acting_for()?;
    let provider = acting.provider();
    let is_provider = provider.is_some();
    let returns = rt::list(state, provider).await?;
    let now_year = chrono::Datelike::year(&state.clock.now().date_naive()) as i64;
    let year = year_of(q, &returns, now_year);
    let mut years: Vec<i64> = returns.iter().map(|r| r.year).collect();
    years.sort_unstable();
    years.dedup();
    let service = q
        .service
        .clone()
        .filter(|s| service_label(s).is_some())
        .unwrap_or_else(|| input.service.clone());
    let lines = rt::lines_for(&service)
        .unwrap_or_default()
        .into_iter()
        .map(|(k, l)| {
            let typed = input
                .lines
                .iter()
                .find(|(x, _)| x == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            (k, l, typed)
        })
        .collect();
    render_status(
        errors.status(),
        &ReturnsPage {
            page: PageCtx::new(state, ctx, "Cost of care returns"),
            is_provider,
            summary: if is_provider {
                vec![]
            } else {
                rt::summarise(&returns, year)
            },
            homes: match &provider {
                Some(p) => crate::cqc::queries::provider_care_homes(&state.db, p).await?,
                None => vec![],
            },
            returns,
            year,
            years,
            services: super::SERVICES.to_vec(),
            service,
            lines,
            input,
            errors,
        },
    )
}

async fn page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Query(q): Query<ReturnsQuery>,
) -> Result<Response> {
    view(
        &state,
        &ctx,
        &q,
        ReturnInput::default(),
        FormErrors::default(),
    )
    .await
}

async fn submit(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    let provider = ctx.user()?.acting_for()?.own_provider()?;
    let input = ReturnInput {
        location_id: field(&f, "location_id"),
        service: field(&f, "service"),
        year: field(&f, "year"),
        lines: f
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("line_")?.to_string(), v.clone())))
            .collect(),
    };
    match rt::submit(&state, &Actor::from_ctx(&ctx), &provider, &input).await? {
        Ok(_) => Ok(redirect_with_flash(
            &state,
            "/cost-of-care/returns",
            "Your cost return has been sent to the council",
        )),
        Err(e) => {
            let q = ReturnsQuery {
                service: Some(input.service.clone()),
                ..Default::default()
            };
            view(&state, &ctx, &q, input, e).await
        }
    }
}

async fn download(
    State(state): State<AppState>,
    Query(q): Query<ReturnsQuery>,
) -> Result<Response> {
    use crate::export::{Table, Value};
    let returns = rt::list(&state, None).await?;
    let now_year = chrono::Datelike::year(&state.clock.now().date_naive()) as i64;
    let year = year_of(&q, &returns, now_year);
    let fmt = q.format.as_deref().unwrap_or("csv");
    if q.what.as_deref() == Some("returns") {
        let mut keys: Vec<String> = returns
            .iter()
            .flat_map(|r| r.lines.keys().cloned())
            .collect();
        keys.sort();
        keys.dedup();
        let mut headers: Vec<String> = ["Provider ID", "Location ID", "Home", "Service", "Year"]
            .map(String::from)
            .to_vec();
        headers.extend(keys.iter().map(|k| format!("{k} (£)")));
        headers.push("Total (£)".into());
        let t = Table {
            title: format!("Cost returns {year}"),
            headers,
            rows: returns
                .iter()
                .filter(|r| r.year == year)
                .map(|r| {
                    let mut row = vec![
                        Value::Text(r.provider_id.clone()),
                        Value::Text(r.location_id.clone()),
                        Value::Text(r.home.clone()),
                        Value::Text(r.service.clone()),
                        Value::Int(r.year),
                    ];
                    row.extend(keys.iter().map(|k| match r.lines.get(k) {
                        Some(p) => Value::Pence(*p),
                        None => Value::Text(String::new()),
                    }));
                    row.push(Value::Pence(r.total_pence));
                    row
                })
                .collect(),
        };
        return crate::export::download(&t, fmt, &format!("cost-returns-{year}"));
    }
    let s = rt::summarise(&returns, year);
    crate::export::download(
        &rt::summary_table(&s, year),
        fmt,
        &format!("cost-returns-analysis-{year}"),
    )
}

/// What the API gives: a provider its own returns; the council every return and the analysis.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ReturnsAnswer {
    pub returns: Vec<CostReturn>,
    /// Empty for a provider
    pub summary: Vec<LineSummary>,
    pub year: i64,
}

#[utoipa::path(get, path = "/api/v1/cost-of-care/returns", tag = "cost_of_care", params(ReturnsQuery),
    responses((status = 200, body = ReturnsAnswer)))]
pub async fn api_returns(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Query(q): Query<ReturnsQuery>,
) -> Result<Json<ReturnsAnswer>> {
    let acting = ctx.user()?.acting_for()?;
    let provider = acting.provider();
    let returns = rt::list(&state, provider).await?;
    let now_year = chrono::Datelike::year(&state.clock.now().date_naive()) as i64;
    let year = year_of(&q, &returns, now_year);
    Ok(Json(ReturnsAnswer {
        summary: if provider.is_some() {
            vec![]
        } else {
            rt::summarise(&returns, year)
        },
        returns,
        year,
    }))
}
