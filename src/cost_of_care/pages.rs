//! Pages and API for the cost of care: the models line by line, fee rates and the gap, and
//! uplift scenarios. Commissioners and admins change them; viewers (scrutiny) read.

use askama::Template;
use axum::Json;
use axum::extract::{Form, Path, State};
use axum::response::{IntoResponse, Response};
use caremarket_core::Role;
use caremarket_core::cost::{HOMECARE_ASSOCIATION_MINIMUM_PRICE_2025_26_PENCE, Line};
use caremarket_core::money::pounds;

use super::{FeeInput, Gap, Model, ScenarioInput, ScenarioResult, service_label};
use crate::audit::Actor;
use crate::web::forms::{FormErrors, Pairs, field};
use crate::web::layout::render_status;
use crate::web::redirect_with_flash;
use crate::web::roles::{COMMISSIONERS, COMMISSIONERS_AND_VIEWERS};
use crate::web::{PageCtx, RequestCtx, RouteDef, get, post};
use crate::{AppError, AppState, Result};

pub fn routes() -> Vec<RouteDef> {
    vec![
        get("/cost-of-care", COMMISSIONERS_AND_VIEWERS, overview),
        post("/cost-of-care/fees", COMMISSIONERS, add_fee),
        post("/cost-of-care/scenarios", COMMISSIONERS, add_scenario),
        get(
            "/cost-of-care/scenarios/{id}",
            COMMISSIONERS_AND_VIEWERS,
            scenario_page,
        ),
        get(
            "/cost-of-care/scenarios/{id}/report",
            COMMISSIONERS_AND_VIEWERS,
            scenario_report,
        ),
        post(
            "/cost-of-care/scenarios/{id}/delete",
            COMMISSIONERS,
            remove_scenario,
        ),
        get(
            "/cost-of-care/models/{service}",
            COMMISSIONERS_AND_VIEWERS,
            model_page,
        ),
        post("/cost-of-care/models/{service}", COMMISSIONERS, model_save),
        get(
            "/api/v1/cost-of-care",
            COMMISSIONERS_AND_VIEWERS,
            api_overview,
        ),
        get(
            "/api/v1/cost-of-care/models/{service}",
            COMMISSIONERS_AND_VIEWERS,
            api_model,
        ),
        get(
            "/api/v1/cost-of-care/scenarios/{id}",
            COMMISSIONERS_AND_VIEWERS,
            api_scenario,
        ),
    ]
}

fn can_change(ctx: &RequestCtx) -> Result<bool> {
    Ok(matches!(ctx.user()?.role, Role::Admin | Role::Commissioner))
}

/// Pence as pounds, and a difference with its sign.
fn money(p: i64) -> String {
    pounds(p)
}
fn signed(p: i64) -> String {
    if p > 0 {
        format!("+{}", pounds(p))
    } else {
        pounds(p)
    }
}

#[derive(Template)]
#[template(path = "cost_of_care/overview.html")]
struct OverviewPage {
    page: PageCtx,
    gaps: Vec<Gap>,
    rates: Vec<(super::FeeRate, Option<String>)>,
    scenarios: Vec<super::Scenario>,
    services: Vec<(&'static str, &'static str)>,
    errors: FormErrors,
    fee: FeeInput,
    scen: ScenarioInput,
    can_change: bool,
    hca: String,
    annual_total: i64,
    compare: Compare,
    /// (service label, open placements, with a top-up, average top-up a week)
    top_ups: Vec<(String, i64, i64, i64)>,
}

/// Other councils' 2014-15 unit costs, uplifted, beside the modelled costs.
struct Compare {
    council: String,
    from_index: String,
    to_index: String,
    index_note: &'static str,
    rows: Vec<(String, i64, super::ascfr::UnitCost)>,
}

/// Which council's 2014-15 unit costs to show, and the index to uplift them by.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct CompareQuery {
    pub council: Option<String>,
    /// The index in 2014-15, like 99.6
    pub from_index: Option<String>,
    /// The index now, like 133.9
    pub to_index: Option<String>,
}

/// `gaps` gives each service's modelled cost (read once for the page).
async fn compare(
    state: &AppState,
    q: &CompareQuery,
    errors: &mut FormErrors,
    gaps: &[Gap],
) -> Result<Compare> {
    let council = crate::admin::areas::asked_or_first(state, q.council.as_deref()).await?;
    let mut index = |v: &Option<String>, key: &str, default: i64| -> i64 {
        match v.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            None => default,
            Some(t) => match caremarket_core::money::parse_hundredths(t, false) {
                Ok(x) if x > 0 => x,
                _ => {
                    errors.add(key, "Enter the index as a number above 0, like 133.9");
                    default
                }
            },
        }
    };
    let from = index(
        &q.from_index,
        "from_index",
        super::ascfr::DEFAULT_FROM_INDEX,
    );
    let to = index(&q.to_index, "to_index", super::ascfr::DEFAULT_TO_INDEX);
    let costs = super::ascfr::unit_costs(
        Some(&council).filter(|c| !c.is_empty()).map(|c| c.as_str()),
        from,
        to,
    );
    let mut rows = Vec::new();
    for c in costs {
        let modelled = gaps
            .iter()
            .find(|g| g.service == c.service)
            .map(|g| g.modelled_pence)
            .unwrap_or_default();
        rows.push((
            service_label(&c.service).unwrap_or("").to_string(),
            modelled,
            c,
        ));
    }
    let customised = q.from_index.is_some() || q.to_index.is_some();
    Ok(Compare {
        council,
        from_index: caremarket_core::money::show_hundredths(from),
        to_index: caremarket_core::money::show_hundredths(to),
        index_note: if customised {
            "the index you gave"
        } else {
            super::ascfr::DEFAULT_INDEX_NOTE
        },
        rows,
    })
}

impl OverviewPage {
    fn money(&self, p: &i64) -> String {
        money(*p)
    }
    fn maybe(&self, p: &Option<i64>) -> String {
        p.map(money).unwrap_or_else(|| "–".into())
    }
    fn signed(&self, p: &i64) -> String {
        signed(*p)
    }
    fn hundredths(&self, v: &i64) -> String {
        caremarket_core::money::show_hundredths(*v)
    }
    fn label(&self, s: &str) -> String {
        service_label(s).unwrap_or(s).to_string()
    }
}

async fn view(
    state: &AppState,
    ctx: &RequestCtx,
    mut errors: FormErrors,
    fee: FeeInput,
    scen: ScenarioInput,
    cq: &CompareQuery,
) -> Result<Response> {
    let gaps = super::gaps(state).await?;
    let compare = compare(state, cq, &mut errors, &gaps).await?;
    let all = super::fee_rates(state).await?;
    let rates = all
        .iter()
        .map(|r| {
            (
                r.clone(),
                super::uplift_bps(&all, r)
                    .map(|b| format!("{}%", caremarket_core::money::show_hundredths(b))),
            )
        })
        .collect();
    let annual_total = gaps.iter().filter_map(|g| g.annual_effect_pence).sum();
    render_status(
        errors.status(),
        &OverviewPage {
            page: PageCtx::new(state, ctx, "Cost of care"),
            gaps,
            rates,
            scenarios: super::scenarios(state).await?,
            services: super::SERVICES.to_vec(),
            errors,
            fee,
            scen,
            can_change: can_change(ctx)?,
            hca: pounds(HOMECARE_ASSOCIATION_MINIMUM_PRICE_2025_26_PENCE),
            annual_total,
            compare,
            top_ups: crate::capacity::placements::open_by_bed_type(state, None)
                .await?
                .into_iter()
                .filter(|(_, (_, with, _))| *with > 0)
                .map(|(b, (n, with, total))| {
                    (
                        service_label(&b).map(str::to_string).unwrap_or(b),
                        n,
                        with,
                        caremarket_core::cost::div_round_half_up(total as i128, with as i128),
                    )
                })
                .collect(),
        },
    )
}

async fn overview(
    State(state): State<AppState>,
    ctx: RequestCtx,
    axum::extract::Query(cq): axum::extract::Query<CompareQuery>,
) -> Result<Response> {
    view(
        &state,
        &ctx,
        FormErrors::default(),
        FeeInput::default(),
        ScenarioInput::default(),
        &cq,
    )
    .await
}

async fn add_fee(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    let fee = FeeInput {
        service: field(&f, "service"),
        band: field(&f, "band"),
        rate: field(&f, "rate"),
        effective_from: field(&f, "effective_from"),
        volume: field(&f, "volume"),
        note: field(&f, "note"),
    };
    match super::add_fee_rate(&state, &Actor::from_ctx(&ctx), &fee).await? {
        Ok(_) => Ok(redirect_with_flash(
            &state,
            "/cost-of-care",
            "Fee rate added",
        )),
        Err(e) => {
            view(
                &state,
                &ctx,
                e,
                fee,
                ScenarioInput::default(),
                &CompareQuery::default(),
            )
            .await
        }
    }
}

async fn add_scenario(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    let scen = ScenarioInput {
        name: field(&f, "name"),
        pay_to: field(&f, "pay_to"),
        pay_percent: field(&f, "pay_percent"),
        pension_to: field(&f, "pension_to"),
        non_staff_percent: field(&f, "non_staff_percent"),
        flat_percents: field(&f, "flat_percents"),
        effective_from: field(&f, "effective_from"),
    };
    match super::add_scenario(&state, &Actor::from_ctx(&ctx), &scen).await? {
        Ok(id) => Ok(redirect_with_flash(
            &state,
            &format!("/cost-of-care/scenarios/{id}"),
            "Scenario saved",
        )),
        Err(e) => {
            view(
                &state,
                &ctx,
                e,
                FeeInput::default(),
                scen,
                &CompareQuery::default(),
            )
            .await
        }
    }
}

async fn remove_scenario(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    super::remove_scenario(&state, &Actor::from_ctx(&ctx), id).await?;
    Ok(redirect_with_flash(
        &state,
        "/cost-of-care",
        "Scenario removed",
    ))
}

#[derive(Template)]
#[template(path = "cost_of_care/scenario.html")]
struct ScenarioPage {
    page: PageCtx,
    r: ScenarioResult,
    uplifts: Vec<String>,
    can_change: bool,
}

impl ScenarioPage {
    fn money(&self, p: &i64) -> String {
        money(*p)
    }
    fn signed(&self, p: &i64) -> String {
        signed(*p)
    }
    fn hundredths(&self, v: &i64) -> String {
        caremarket_core::money::show_hundredths(*v)
    }
}

async fn scenario_page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    let r = super::scenario_result(&state, id).await?;
    render_status(
        axum::http::StatusCode::OK,
        &ScenarioPage {
            page: PageCtx::new(&state, &ctx, &r.scenario.name),
            uplifts: r.scenario.uplifts.iter().map(|u| u.describe()).collect(),
            can_change: can_change(&ctx)?,
            r,
        },
    )
}

#[derive(Template)]
#[template(path = "cost_of_care/scenario_report.html")]
struct ScenarioReport {
    service_name: String,
    today: String,
    r: ScenarioResult,
    uplifts: Vec<String>,
}

impl ScenarioReport {
    fn money(&self, p: &i64) -> String {
        money(*p)
    }
    fn signed(&self, p: &i64) -> String {
        signed(*p)
    }
    fn hundredths(&self, v: &i64) -> String {
        caremarket_core::money::show_hundredths(*v)
    }
}

/// A scenario as a printable page (the browser prints it; CSS hides nothing needed).
async fn scenario_report(State(state): State<AppState>, Path(id): Path<i64>) -> Result<Response> {
    let r = super::scenario_result(&state, id).await?;
    let page = ScenarioReport {
        service_name: state.settings().service_name.clone(),
        today: state.clock.now().format("%-d %B %Y").to_string(),
        uplifts: r.scenario.uplifts.iter().map(|u| u.describe()).collect(),
        r,
    };
    let html = page
        .render()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("template: {e}")))?;
    Ok(axum::response::Html(html).into_response())
}

/// One input on the model form: key, label, unit text, value in the box, hint, and where
/// its default comes from.
struct InputRow {
    key: &'static str,
    label: &'static str,
    value: String,
    shown: String,
    help: &'static str,
    source: String,
}

#[derive(Template)]
#[template(path = "cost_of_care/model.html")]
struct ModelPage {
    page: PageCtx,
    service: String,
    label: String,
    per: &'static str,
    lines: Vec<Line>,
    total: i64,
    inputs: Vec<InputRow>,
    changed: Option<(String, String)>,
    errors: FormErrors,
    can_change: bool,
    hca: Option<String>,
}

impl ModelPage {
    fn money(&self, p: &i64) -> String {
        money(*p)
    }
}

async fn model_view(
    state: &AppState,
    ctx: &RequestCtx,
    service: &str,
    errors: FormErrors,
    typed: Option<&Pairs>,
) -> Result<Response> {
    let label = service_label(service).ok_or(AppError::NotFound)?;
    let (m, changed) = super::model(state, service).await?;
    let sources = m.sources();
    let inputs = m
        .fields()
        .into_iter()
        .map(|f| {
            let v = m.get(f.key).unwrap_or(0);
            let s = sources.iter().find(|s| s.key == f.key);
            InputRow {
                key: f.key,
                label: f.label,
                value: typed
                    .map(|t| field(t, f.key))
                    .unwrap_or_else(|| f.unit.edit(v)),
                shown: f.unit.show(v),
                help: f.help,
                source: s
                    .map(|s| {
                        format!(
                            "Default {}: {} ({})",
                            s.value,
                            s.source,
                            s.as_of.format("%-d %B %Y")
                        )
                    })
                    .unwrap_or_default(),
            }
        })
        .collect();
    let lines = m.lines();
    render_status(
        errors.status(),
        &ModelPage {
            page: PageCtx::new(state, ctx, label),
            service: service.to_string(),
            label: label.to_string(),
            per: m.per(),
            total: caremarket_core::cost::total(&lines),
            lines,
            inputs,
            changed: changed.map(|(by, at)| (by, at.format("%-d %B %Y").to_string())),
            errors,
            can_change: can_change(ctx)?,
            hca: matches!(m, Model::HomeCare(_))
                .then(|| pounds(HOMECARE_ASSOCIATION_MINIMUM_PRICE_2025_26_PENCE)),
        },
    )
}

async fn model_page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(service): Path<String>,
) -> Result<Response> {
    model_view(&state, &ctx, &service, FormErrors::default(), None).await
}

async fn model_save(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(service): Path<String>,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    let (base, _) = super::model(&state, &service).await?;
    match super::model_from_form(&base, |k| field(&f, k)) {
        Ok(m) => {
            super::save_model(&state, &Actor::from_ctx(&ctx), &service, &m).await?;
            Ok(redirect_with_flash(
                &state,
                &format!("/cost-of-care/models/{service}"),
                &format!("Model saved: {} {}", pounds(m.total()), m.per()),
            ))
        }
        Err(e) => model_view(&state, &ctx, &service, e, Some(&f)).await,
    }
}

/// Every service's modelled cost against the fees in force.
#[utoipa::path(get, path = "/api/v1/cost-of-care", tag = "cost_of_care",
    responses((status = 200, body = Vec<Gap>)))]
pub async fn api_overview(State(state): State<AppState>) -> Result<Json<Vec<Gap>>> {
    Ok(Json(super::gaps(&state).await?))
}

/// A service's model: its inputs and its lines with their formulas.
#[utoipa::path(get, path = "/api/v1/cost-of-care/models/{service}", tag = "cost_of_care",
    params(("service" = String, Path, description = "residential, nursing, dementia_residential, dementia_nursing or home_care")),
    responses((status = 200, body = Object)))]
pub async fn api_model(
    State(state): State<AppState>,
    Path(service): Path<String>,
) -> Result<Json<serde_json::Value>> {
    let (m, _) = super::model(&state, &service).await?;
    let lines = m.lines();
    Ok(Json(serde_json::json!({
        "service": service,
        "per": m.per(),
        "inputs": m,
        "lines": lines,
        "total_pence": caremarket_core::cost::total(&lines),
        "sources": m.sources(),
    })))
}

#[utoipa::path(get, path = "/api/v1/cost-of-care/scenarios/{id}", tag = "cost_of_care",
    params(("id" = i64, Path)), responses((status = 200, body = ScenarioResult)))]
pub async fn api_scenario(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<ScenarioResult>> {
    Ok(Json(super::scenario_result(&state, id).await?))
}
