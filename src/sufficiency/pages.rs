//! Pages, downloads and API for sufficiency. Commissioners and admins change assumptions and
//! planned beds; viewers (scrutiny members) read the results and the report.

use askama::Template;
use axum::Json;
use axum::extract::{Form, Path, Query, State};
use axum::response::{IntoResponse, Response};
use caremarket_core::Role;
use caremarket_core::sufficiency::{BAND_LABELS, BedKind};

use super::Sufficiency;
use crate::audit::Actor;
use crate::export::{Table, Value};
use crate::web::forms::{FormErrors, Pairs, field};
use crate::web::layout::render_status;
use crate::web::redirect_with_flash;
use crate::web::roles::{COMMISSIONERS, COMMISSIONERS_AND_VIEWERS};
use crate::web::{PageCtx, RequestCtx, RouteDef, get, post};
use crate::{AppError, AppState, Result};
use caremarket_core::money::show_hundredths;

// The results are read by the council staff who shape the market and by scrutiny members;
// only commissioners change what they rest on.

pub fn routes() -> Vec<RouteDef> {
    vec![
        get("/sufficiency", COMMISSIONERS_AND_VIEWERS, page),
        get("/sufficiency/download", COMMISSIONERS_AND_VIEWERS, download),
        get(
            "/sufficiency/report",
            COMMISSIONERS_AND_VIEWERS,
            report_page,
        ),
        get(
            "/sufficiency/report.pdf",
            COMMISSIONERS_AND_VIEWERS,
            report_pdf,
        ),
        post("/sufficiency/assumptions", COMMISSIONERS, save_assumptions),
        post("/sufficiency/changes", COMMISSIONERS, add_change),
        post(
            "/sufficiency/rates-from-register",
            COMMISSIONERS,
            rates_from_register,
        ),
        post(
            "/sufficiency/changes/{id}/delete",
            COMMISSIONERS,
            remove_change,
        ),
        get(
            "/sufficiency/population",
            COMMISSIONERS_AND_VIEWERS,
            population_page,
        ),
        crate::web::with_body_limit(
            post("/sufficiency/population", COMMISSIONERS, population_upload),
            crate::web::COUNCIL_UPLOAD_LIMIT,
        ),
        crate::web::with_body_limit(
            post(
                "/sufficiency/projections",
                COMMISSIONERS,
                projections_upload,
            ),
            crate::web::COUNCIL_UPLOAD_LIMIT,
        ),
        get(
            "/api/v1/sufficiency",
            COMMISSIONERS_AND_VIEWERS,
            api_sufficiency,
        ),
        get(
            "/api/v1/population",
            COMMISSIONERS_AND_VIEWERS,
            api_population,
        ),
    ]
}

/// Which council and how far ahead.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct SufficiencyQuery {
    /// The council, by name as CQC and ONS give it (like Leeds) or ONS code; default: the
    /// first area in scope
    pub council: Option<String>,
    /// The last year projected (default 2035)
    pub to: Option<String>,
    /// csv or xlsx (downloads)
    pub format: Option<String>,
}

const DEFAULT_HORIZON: i32 = 2035;

impl SufficiencyQuery {
    async fn council(&self, state: &AppState) -> Result<String> {
        crate::admin::areas::asked_or_first(state, self.council.as_deref()).await
    }

    fn to_year(&self) -> Result<i32> {
        match self.to.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            None => Ok(DEFAULT_HORIZON),
            Some(t) => t
                .parse::<i32>()
                .ok()
                .filter(|y| (2000..=2100).contains(y))
                .ok_or_else(|| {
                    AppError::BadRequest(format!("{t:?} is not a year, like {DEFAULT_HORIZON}"))
                }),
        }
    }
}

/// The result table as the page, the CSV and the XLSX show it.
fn table(s: &Sufficiency) -> Table {
    Table {
        title: format!("Care home sufficiency: {}", s.council),
        headers: [
            "Year",
            "Bed type",
            "People aged 65+",
            "People aged 75+",
            "People aged 85+",
            "Beds needed (stock method)",
            "Beds needed (flow method)",
            "Beds available",
            "Surplus or shortfall (stock method)",
        ]
        .map(String::from)
        .to_vec(),
        rows: s
            .rows
            .iter()
            .map(|r| {
                vec![
                    Value::Int(r.year as i64),
                    Value::Text(r.kind.label().into()),
                    Value::Int(r.population.aged_65_plus()),
                    Value::Int(r.population.aged_75_plus()),
                    Value::Int(r.population.aged_85_plus),
                    Value::Int(r.demand),
                    Value::Int(r.flow_demand),
                    Value::Int(r.supply),
                    Value::Int(r.gap),
                ]
            })
            .collect(),
    }
}

/// One bed type's row in the horizon-year summary.
struct Headline {
    label: &'static str,
    today: i64,
    supply: i64,
    demand: i64,
    flow: i64,
    gap: i64,
}

fn headlines(s: &Sufficiency) -> Vec<Headline> {
    BedKind::ALL
        .iter()
        .filter_map(|k| {
            let last = s.rows.iter().rfind(|r| r.kind == *k)?;
            Some(Headline {
                label: k.label(),
                today: s.supply.beds.get(k.key()).copied().unwrap_or(0),
                supply: last.supply,
                demand: last.demand,
                flow: last.flow_demand,
                gap: last.gap,
            })
        })
        .collect()
}

fn chart(s: &Sufficiency) -> String {
    let mut bars = Vec::new();
    for h in headlines(s) {
        bars.push((
            format!("{}: needed", h.label),
            h.demand as f64,
            format!("{} beds", h.demand),
        ));
        bars.push((
            format!("{}: available", h.label),
            h.supply as f64,
            format!("{} beds", h.supply),
        ));
    }
    crate::charts::bar_chart(
        "sufficiency-chart",
        &format!("Beds needed and available in {}, {}", s.to_year, s.council),
        "For each bed type, the beds needed by the stock method beside the beds available in the last year projected; the same figures are in the table below.",
        &bars,
        None,
    )
}

/// The assumptions as the page lists them: (what, value).
fn assumption_list(s: &Sufficiency) -> Vec<(String, String)> {
    let a = &s.assumptions;
    let mut v = vec![(
        "Population".to_string(),
        match &s.population {
            Some(p) => match &s.projections_used {
                Some(years) => format!(
                    "ONS mid-{} estimate for {} ({}); ONS projections for {years}; the growth rates below for the years after",
                    p.year, p.area_name, p.area_code
                ),
                None => format!(
                    "ONS mid-{} estimate for {} ({}), projected by the growth rates below",
                    p.year, p.area_name, p.area_code
                ),
            },
            None => "none loaded for this council".into(),
        },
    )];
    v.push((
        "Growth a year".into(),
        format!(
            "{}% aged 65 to 74, {}% aged 75 to 84, {}% aged 85 and over, each year rounded to whole people",
            show_hundredths(a.growth.aged_65_74_bps),
            show_hundredths(a.growth.aged_75_84_bps),
            show_hundredths(a.growth.aged_85_plus_bps)
        ),
    ));
    for k in BedKind::ALL {
        let r = a.rates_for(k);
        let (adm, weeks) = a.admissions_for(k);
        v.push((
            format!("{}: stock method", k.label()),
            format!(
                "{} residents per 1,000 aged {}, {} per 1,000 aged {}, {} per 1,000 aged {}",
                show_hundredths(r.aged_65_74),
                BAND_LABELS[0],
                show_hundredths(r.aged_75_84),
                BAND_LABELS[1],
                show_hundredths(r.aged_85_plus),
                BAND_LABELS[2]
            ),
        ));
        v.push((
            format!("{}: flow method", k.label()),
            format!(
                "{} admissions a year per 10,000 aged 65+, staying {weeks} weeks on average",
                show_hundredths(adm)
            ),
        ));
    }
    v.push((
        "Reading the two methods".into(),
        "The stock method's rates count every resident, self-funders too; ASCOF's admissions, on which the flow method's defaults are based, count council-supported admissions only, so with the defaults the flow method shows fewer beds. Set the flow method's admissions to include self-funders (or the stock rates to the funded share) before comparing them".into(),
    ));
    v.push((
        "Levers (both methods)".into(),
        format!(
            "admissions {}% from community alternatives, length of stay {}%, planned at {}% occupancy",
            show_hundredths(a.admission_change_bps),
            show_hundredths(a.length_of_stay_change_bps),
            show_hundredths(a.target_occupancy_bps)
        ),
    ));
    v.push((
        "Beds available".into(),
        format!(
            "{} care homes registered with CQC: {} split by their providers' own figures by bed type, {} given wholly to one type by their CQC registration (with nursing: nursing; Dementia specialism: the dementia type), {} without a bed count in the data loaded; plus planned openings and minus known closures from the year they happen; minus beds in homes on the at-risk register serving notice, closing or closed",
            s.supply.homes,
            s.supply.homes_from_provider_figures,
            s.supply.homes_by_rule,
            s.supply.homes_without_beds
        ),
    ));
    v
}

#[derive(Template)]
#[template(path = "sufficiency/page.html")]
struct SufficiencyPage {
    page: PageCtx,
    s: Sufficiency,
    councils: Vec<String>,
    to: String,
    qs: String,
    headlines: Vec<Headline>,
    chart: String,
    assumptions: Vec<(String, String)>,
    fields: Vec<(String, String, String)>,
    errors: FormErrors,
    change: (String, String, String, String),
    kinds: Vec<(&'static str, &'static str)>,
    can_plan: bool,
    cmp: super::compare::Comparison,
    /// The flow method's admissions, all bed types, per 100,000 aged 65+ (as ASCOF counts)
    flow_admissions_per_100k: String,
    funded_share: String,
}

impl SufficiencyPage {
    fn one_dp(&self, v: &f64) -> String {
        format!("{v:.1}")
    }
    fn register_text(&self) -> String {
        BedKind::ALL
            .iter()
            .filter_map(|k| {
                let n = self.cmp.register.get(k.key())?;
                Some(format!("{n} {}", k.label().to_lowercase()))
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

async fn councils(state: &AppState) -> Result<Vec<String>> {
    let mut v: Vec<String> = crate::admin::areas::list(state)
        .await?
        .into_iter()
        .map(|a| a.name)
        .collect();
    v.dedup();
    Ok(v)
}

#[allow(clippy::too_many_arguments)]
async fn view(
    state: &AppState,
    ctx: &RequestCtx,
    q: &SufficiencyQuery,
    errors: FormErrors,
    typed: Option<Vec<(String, String)>>,
    change: (String, String, String, String),
) -> Result<Response> {
    let council = q.council(state).await?;
    let s = super::sufficiency(state, &council, q.to_year()?).await?;
    let cmp = super::compare::comparison(state, &s).await?;
    let adm: i64 = s.assumptions.admissions.iter().map(|(_, a, _)| a).sum();
    let funded_share = typed
        .as_ref()
        .and_then(|t| {
            t.iter()
                .find(|(k, _)| k == "funded_share")
                .map(|(_, v)| v.clone())
        })
        .unwrap_or_default();
    let fields = super::assumption_fields(&s.assumptions)
        .into_iter()
        .map(|(name, label, v, _)| {
            let shown = typed
                .as_ref()
                .and_then(|t| t.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone()))
                .unwrap_or_else(|| {
                    if name.starts_with("stay_") {
                        (v / 100).to_string()
                    } else {
                        show_hundredths(v)
                    }
                });
            (name, label, shown)
        })
        .collect();
    let role = ctx.user()?.role;
    render_status(
        errors.status(),
        &SufficiencyPage {
            page: PageCtx::new(state, ctx, "Care home sufficiency"),
            councils: councils(state).await?,
            to: s.to_year.to_string(),
            qs: serde_urlencoded::to_string([
                ("council", council.as_str()),
                ("to", &s.to_year.to_string()),
            ])
            .unwrap_or_default(),
            headlines: headlines(&s),
            chart: chart(&s),
            assumptions: assumption_list(&s),
            fields,
            errors,
            change,
            kinds: BedKind::ALL.iter().map(|k| (k.key(), k.label())).collect(),
            can_plan: matches!(role, Role::Admin | Role::Commissioner),
            cmp,
            // per 10,000 (hundredths) -> per 100,000: × 10 ÷ 100
            flow_admissions_per_100k: format!("{:.1}", adm as f64 / 10.0),
            funded_share,
            s,
        },
    )
}

async fn rates_from_register(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    let council = field(&f, "council");
    if council.trim().is_empty() {
        return Err(AppError::BadRequest("which council?".into()));
    }
    match super::rates_from_register(
        &state,
        &Actor::from_ctx(&ctx),
        &council,
        &field(&f, "funded_share"),
    )
    .await?
    {
        Ok(done) => Ok(redirect_with_flash(
            &state,
            &back_to(&council),
            &format!(
                "Stock rates set from the placements register: {}",
                done.iter()
                    .map(|(k, n)| format!("{n} {} residents", k.label().to_lowercase()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
        Err(e) => {
            let q = SufficiencyQuery {
                council: Some(council),
                ..Default::default()
            };
            view(&state, &ctx, &q, e, Some(f.clone()), Default::default()).await
        }
    }
}

async fn page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Query(q): Query<SufficiencyQuery>,
) -> Result<Response> {
    view(
        &state,
        &ctx,
        &q,
        FormErrors::default(),
        None,
        Default::default(),
    )
    .await
}

async fn download(
    State(state): State<AppState>,
    Query(q): Query<SufficiencyQuery>,
) -> Result<Response> {
    let council = q.council(&state).await?;
    let s = super::sufficiency(&state, &council, q.to_year()?).await?;
    let fmt = q.format.as_deref().unwrap_or("csv");
    crate::export::download(
        &table(&s),
        fmt,
        &format!("sufficiency-{}", council.to_lowercase().replace(' ', "-")),
    )
}

fn back_to(council: &str) -> String {
    format!(
        "/sufficiency?{}",
        serde_urlencoded::to_string([("council", council)]).unwrap_or_default()
    )
}

async fn save_assumptions(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    let council = field(&f, "council");
    if council.trim().is_empty() {
        return Err(AppError::BadRequest("which council?".into()));
    }
    match super::assumptions_from_form(|k| field(&f, k)) {
        Ok(a) => {
            super::save_assumptions(&state, &Actor::from_ctx(&ctx), &council, &a).await?;
            Ok(redirect_with_flash(
                &state,
                &back_to(&council),
                "Assumptions saved",
            ))
        }
        Err(e) => {
            let q = SufficiencyQuery {
                council: Some(council),
                ..Default::default()
            };
            view(&state, &ctx, &q, e, Some(f.clone()), Default::default()).await
        }
    }
}

async fn add_change(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    let council = field(&f, "council");
    if council.trim().is_empty() {
        return Err(AppError::BadRequest("which council?".into()));
    }
    let typed = (
        field(&f, "bed_type"),
        field(&f, "beds"),
        field(&f, "effective_date"),
        field(&f, "description"),
    );
    match super::add_change(
        &state,
        &Actor::from_ctx(&ctx),
        &council,
        &typed.0,
        &typed.1,
        &typed.2,
        &typed.3,
    )
    .await?
    {
        Ok(_) => Ok(redirect_with_flash(
            &state,
            &back_to(&council),
            "Planned change added",
        )),
        Err(e) => {
            let q = SufficiencyQuery {
                council: Some(council),
                ..Default::default()
            };
            view(&state, &ctx, &q, e, None, typed).await
        }
    }
}

async fn remove_change(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    super::remove_change(&state, &Actor::from_ctx(&ctx), id).await?;
    Ok(redirect_with_flash(
        &state,
        &back_to(&field(&f, "council")),
        "Planned change removed",
    ))
}

#[derive(Template)]
#[template(path = "sufficiency/report.html")]
struct ReportPage {
    service_name: String,
    today: String,
    s: Sufficiency,
    qs: String,
    headlines: Vec<Headline>,
    chart: String,
    assumptions: Vec<(String, String)>,
    inline_css: Option<String>,
    for_file: bool,
}

/// The printable report: a market position statement's sufficiency section.
pub async fn report_html(state: &AppState, q: &SufficiencyQuery, for_file: bool) -> Result<String> {
    let council = q.council(state).await?;
    let s = super::sufficiency(state, &council, q.to_year()?).await?;
    let page = ReportPage {
        service_name: state.settings().service_name.clone(),
        today: state.clock.now().format("%-d %B %Y").to_string(),
        qs: serde_urlencoded::to_string([
            ("council", council.as_str()),
            ("to", &s.to_year.to_string()),
        ])
        .unwrap_or_default(),
        headlines: headlines(&s),
        chart: chart(&s),
        assumptions: assumption_list(&s),
        inline_css: for_file.then(|| crate::web::assets::APP_CSS.to_string()),
        for_file,
        s,
    };
    page.render()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("template: {e}")))
}

async fn report_page(
    State(state): State<AppState>,
    Query(q): Query<SufficiencyQuery>,
) -> Result<Response> {
    Ok(axum::response::Html(report_html(&state, &q, false).await?).into_response())
}

async fn report_pdf(
    State(state): State<AppState>,
    Query(q): Query<SufficiencyQuery>,
) -> Result<Response> {
    let html = report_html(&state, &q, true).await?;
    crate::export::pdf::respond(html, "sufficiency-report.pdf").await
}

#[derive(Template)]
#[template(path = "sufficiency/population.html")]
struct PopulationPage {
    page: PageCtx,
    areas: Vec<super::Population>,
    errors: FormErrors,
    year: String,
    problems: String,
    can_load: bool,
}

async fn population_view(
    state: &AppState,
    ctx: &RequestCtx,
    errors: FormErrors,
    year: String,
    problems: String,
) -> Result<Response> {
    let role = ctx.user()?.role;
    render_status(
        errors.status(),
        &PopulationPage {
            page: PageCtx::new(state, ctx, "Population"),
            areas: super::population_list(state).await?,
            errors,
            year,
            problems,
            can_load: matches!(role, Role::Admin | Role::Commissioner),
        },
    )
}

async fn population_page(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response> {
    population_view(
        &state,
        &ctx,
        FormErrors::default(),
        String::new(),
        String::new(),
    )
    .await
}

async fn population_upload(
    State(state): State<AppState>,
    ctx: RequestCtx,
    up: crate::web::forms::Upload,
) -> Result<Response> {
    let typed_year = up.fields.get("year").cloned().unwrap_or_default();
    let mut errors = FormErrors::default();
    let year = match typed_year.trim() {
        "" => None,
        t => match t.parse::<i32>() {
            Ok(y) if (1971..=2100).contains(&y) => Some(y),
            _ => {
                errors.add("year", "Enter the year of the estimates, like 2020");
                None
            }
        },
    };
    let Some((name, bytes)) = &up.file else {
        errors.add("file", "Select an ONS population file (CSV or XLSX)");
        return population_view(&state, &ctx, errors, typed_year, String::new()).await;
    };
    if !errors.is_empty() {
        return population_view(&state, &ctx, errors, typed_year, String::new()).await;
    }
    match super::import_population(&state, &Actor::from_ctx(&ctx), name, bytes, year).await {
        Ok(l) => Ok(redirect_with_flash(
            &state,
            "/sufficiency/population",
            &format!(
                "Mid-{} estimates for {} areas loaded from {name}",
                l.year, l.areas
            ),
        )),
        Err(report) => {
            errors.add(
                "file",
                "The file was not loaded: nothing has changed. The problems are listed below.",
            );
            population_view(&state, &ctx, errors, typed_year, report).await
        }
    }
}

async fn projections_upload(
    State(state): State<AppState>,
    ctx: RequestCtx,
    up: crate::web::forms::Upload,
) -> Result<Response> {
    let mut errors = FormErrors::default();
    let Some((name, bytes)) = &up.file else {
        errors.add(
            "projections_file",
            "Select an ONS projection file (CSV or XLSX)",
        );
        return population_view(&state, &ctx, errors, String::new(), String::new()).await;
    };
    match super::projections::import(&state, &Actor::from_ctx(&ctx), name, bytes).await {
        Ok(l) => Ok(redirect_with_flash(
            &state,
            "/sufficiency/population",
            &format!(
                "Projections for {} areas, {} to {}, loaded from {name}",
                l.areas, l.first_year, l.last_year
            ),
        )),
        Err(report) => {
            errors.add(
                "projections_file",
                "The file was not loaded: nothing has changed. The problems are listed below.",
            );
            population_view(&state, &ctx, errors, String::new(), report).await
        }
    }
}

#[utoipa::path(get, path = "/api/v1/sufficiency", tag = "sufficiency", params(SufficiencyQuery),
    responses((status = 200, body = Sufficiency)))]
pub async fn api_sufficiency(
    State(state): State<AppState>,
    Query(q): Query<SufficiencyQuery>,
) -> Result<Json<Sufficiency>> {
    let council = q.council(&state).await?;
    Ok(Json(
        super::sufficiency(&state, &council, q.to_year()?).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/population", tag = "sufficiency",
    responses((status = 200, body = Vec<super::Population>)))]
pub async fn api_population(State(state): State<AppState>) -> Result<Json<Vec<super::Population>>> {
    Ok(Json(super::population_list(&state).await?))
}
