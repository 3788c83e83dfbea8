//! Pages and API for quality assurance.

use askama::Template;
use axum::Json;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use caremarket_core::Role;
use chrono::NaiveDate;

use super::{CONTRACT_TYPES, Visit, VisitInput};
use crate::audit::Actor;
use crate::web::forms::FormErrors;
use crate::web::layout::render_status;
use crate::web::redirect_with_flash;
use crate::web::roles::{COMMISSIONERS, COMMISSIONERS_AND_PROVIDERS, COUNCIL};
use crate::web::{PageCtx, RequestCtx, RouteDef, get, post, render};
use crate::{AppError, AppState, Result};

// Visits are read by commissioners, and by provider users for their own locations' only.

pub fn routes() -> Vec<RouteDef> {
    vec![
        get("/quality", COUNCIL, summary_page),
        get(
            "/quality/contracts",
            super::CONTRACT_READERS,
            contracts_page,
        ),
        crate::web::with_body_limit(
            post("/quality/contracts", COMMISSIONERS, contracts_upload),
            crate::web::COUNCIL_UPLOAD_LIMIT,
        ),
        get("/quality/visits", COMMISSIONERS_AND_PROVIDERS, visits_page),
        get("/quality/visits/new", COMMISSIONERS, visit_new_form),
        post("/quality/visits", COMMISSIONERS, visit_create),
        get(
            "/quality/visits/{id}",
            COMMISSIONERS_AND_PROVIDERS,
            visit_page,
        ),
        post("/quality/visits/{id}/submit", COMMISSIONERS, visit_submit),
        post("/quality/visits/{id}/confirm", COMMISSIONERS, visit_confirm),
        get(
            "/quality/visits/{id}/correct",
            COMMISSIONERS,
            visit_correct_form,
        ),
        post("/quality/visits/{id}/correct", COMMISSIONERS, visit_correct),
        get("/quality/plans", COMMISSIONERS_AND_PROVIDERS, plans_page),
        post("/quality/plans", COMMISSIONERS, plan_create),
        get(
            "/quality/plans/{id}",
            COMMISSIONERS_AND_PROVIDERS,
            plan_page,
        ),
        post("/quality/plans/{id}/items", COMMISSIONERS, item_add),
        post(
            "/quality/items/{id}/progress",
            COMMISSIONERS_AND_PROVIDERS,
            item_progress,
        ),
        post("/quality/items/{id}/sign-off", COMMISSIONERS, item_sign_off),
        get(
            "/api/v1/quality/plans/{id}",
            COMMISSIONERS_AND_PROVIDERS,
            api_plan,
        ),
        get("/quality/concerns", COMMISSIONERS, concerns_page),
        post("/quality/concerns", COMMISSIONERS, concern_create),
        get("/quality/risk", COMMISSIONERS, risk_page),
        get("/quality/risk.csv", COMMISSIONERS, risk_csv),
        get("/api/v1/quality/risk", COMMISSIONERS, api_risk),
        get("/api/v1/quality/summary", COUNCIL, api_summary),
        get(
            "/api/v1/quality/visits",
            COMMISSIONERS_AND_PROVIDERS,
            api_visits,
        ),
        get(
            "/api/v1/quality/visits/{id}",
            COMMISSIONERS_AND_PROVIDERS,
            api_visit,
        ),
    ]
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct SummaryQuery {
    /// residential, nursing, home_care_framework, supported_living or spot; empty for all
    pub contract_type: Option<String>,
    /// As at this date (YYYY-MM-DD); default today
    pub as_at: Option<NaiveDate>,
}

#[derive(Template)]
#[template(path = "quality/summary.html")]
struct SummaryPage {
    page: PageCtx,
    t: super::SummaryTables,
    contract_type: String,
    types: Vec<(String, String)>,
}

async fn tables(state: &AppState, q: &SummaryQuery) -> Result<super::SummaryTables> {
    let ct = q.contract_type.as_deref().filter(|t| !t.is_empty());
    if let Some(t) = ct
        && !CONTRACT_TYPES.iter().any(|(k, _)| *k == t)
    {
        return Err(AppError::BadRequest(format!("unknown contract type {t:?}")));
    }
    super::summary_tables(
        state,
        ct,
        q.as_at.unwrap_or_else(|| state.clock.now().date_naive()),
    )
    .await
}

async fn summary_page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Query(q): Query<SummaryQuery>,
) -> Result<Response> {
    let t = tables(&state, &q).await?;
    render(&SummaryPage {
        page: PageCtx::new(&state, &ctx, "Quality of the contracted market"),
        contract_type: q.contract_type.clone().unwrap_or_default(),
        types: CONTRACT_TYPES
            .iter()
            .map(|(k, l)| (k.to_string(), l.to_string()))
            .collect(),
        t,
    })
}

#[utoipa::path(get, path = "/api/v1/quality/summary", tag = "quality", params(SummaryQuery), responses((status = 200, body = super::SummaryTables)))]
pub async fn api_summary(
    State(state): State<AppState>,
    Query(q): Query<SummaryQuery>,
) -> Result<Json<super::SummaryTables>> {
    Ok(Json(tables(&state, &q).await?))
}

#[derive(Template)]
#[template(path = "quality/contracts.html")]
struct ContractsPage {
    page: PageCtx,
    contracts: Vec<super::Contract>,
    errors: FormErrors,
    problems: String,
    can_upload: bool,
}

async fn contracts_view(
    state: &AppState,
    ctx: &RequestCtx,
    errors: FormErrors,
    problems: String,
) -> Result<Response> {
    let status = errors.status();
    render_status(
        status,
        &ContractsPage {
            page: PageCtx::new(state, ctx, "Contracts register"),
            contracts: super::contracts(state).await?,
            errors,
            problems,
            can_upload: ctx
                .user
                .as_ref()
                .is_some_and(|u| matches!(u.role, Role::Admin | Role::Commissioner)),
        },
    )
}

async fn contracts_page(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response> {
    contracts_view(&state, &ctx, FormErrors::default(), String::new()).await
}

async fn contracts_upload(
    State(state): State<AppState>,
    ctx: RequestCtx,
    up: crate::web::forms::Upload,
) -> Result<Response> {
    let file = up.file;
    let mut errors = FormErrors::default();
    let Some((name, bytes)) = file else {
        errors.add("file", "Select the contracts register file (CSV or XLSX)");
        return contracts_view(&state, &ctx, errors, String::new()).await;
    };
    match super::import_register(&state, &Actor::from_ctx(&ctx), &name, &bytes).await {
        Ok(n) => Ok(redirect_with_flash(
            &state,
            "/quality/contracts",
            &format!("{n} contracts loaded from {name}"),
        )),
        Err(report) => {
            errors.add(
                "file",
                "The register was not loaded: nothing has changed. The problems are listed below.",
            );
            contracts_view(&state, &ctx, errors, report).await
        }
    }
}

/// Provider users see only visits to their own provider's locations; others are "not found".
async fn visible(state: &AppState, ctx: &RequestCtx, v: &Visit) -> Result<bool> {
    location_visible(state, ctx, &v.location_id).await
}

#[derive(Template)]
#[template(path = "quality/visits.html")]
struct VisitsPage {
    page: PageCtx,
    visits: Vec<Visit>,
    can_record: bool,
}

async fn visits_page(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response> {
    let u = ctx.user()?;
    let provider = u.acting_for()?.provider().map(str::to_string);
    render(&VisitsPage {
        page: PageCtx::new(&state, &ctx, "Quality assurance visits"),
        visits: super::visits(&state, provider.as_deref()).await?,
        can_record: matches!(u.role, Role::Admin | Role::Commissioner),
    })
}

#[utoipa::path(get, path = "/api/v1/quality/visits", tag = "quality", responses((status = 200, body = Vec<Visit>)))]
pub async fn api_visits(
    State(state): State<AppState>,
    ctx: RequestCtx,
) -> Result<Json<Vec<Visit>>> {
    let u = ctx.user()?;
    let provider = u.acting_for()?.provider().map(str::to_string);
    Ok(Json(super::visits(&state, provider.as_deref()).await?))
}

/// One domain on the visit form: (index, name, grade, notes, [(index, standard, finding)]).
type DomainRow = (usize, String, String, String, Vec<(usize, String, String)>);

#[derive(Template)]
#[template(path = "quality/visit_form.html")]
struct VisitForm {
    page: PageCtx,
    errors: FormErrors,
    v: VisitInput,
    action: String,
    correcting: Option<i64>,
    correction_reason: String,
    domains: Vec<DomainRow>,
    grades: Vec<(String, String)>,
    rule: &'static str,
}

fn visit_form(
    state: &AppState,
    ctx: &RequestCtx,
    errors: FormErrors,
    v: VisitInput,
    correcting: Option<i64>,
    reason: String,
) -> VisitForm {
    let fw = state.settings().qaf.clone();
    let domains = fw
        .domains
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let findings = d
                .standards
                .iter()
                .enumerate()
                .map(|(j, st)| {
                    let f = v
                        .findings
                        .get(i)
                        .and_then(|f| f.get(j))
                        .cloned()
                        .unwrap_or_default();
                    (j, st.clone(), f)
                })
                .collect();
            (
                i,
                d.name.clone(),
                v.grades.get(i).cloned().unwrap_or_default(),
                v.notes.get(i).cloned().unwrap_or_default(),
                findings,
            )
        })
        .collect();
    VisitForm {
        page: PageCtx::new(
            state,
            ctx,
            if correcting.is_some() {
                "Correct a confirmed visit"
            } else {
                "Record a quality assurance visit"
            },
        ),
        errors,
        action: match correcting {
            Some(id) => format!("/quality/visits/{id}/correct"),
            None => "/quality/visits".into(),
        },
        correcting,
        correction_reason: reason,
        domains,
        grades: fw.scale.grades.clone(),
        rule: match fw.rule {
            caremarket_core::quality::OverallRule::Lowest => "the lowest domain grade",
            caremarket_core::quality::OverallRule::Median => "the middle domain grade",
        },
        v,
    }
}

async fn visit_new_form(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response> {
    let v = VisitInput {
        announced: true,
        visit_type: "planned".into(),
        ..Default::default()
    };
    render(&visit_form(
        &state,
        &ctx,
        FormErrors::default(),
        v,
        None,
        String::new(),
    ))
}

// The visit form's fields are read as pairs: the domains and standards are the council's
// to set.
use crate::web::forms::{Pairs, field};

/// The visit as typed, for the framework in force.
fn visit_input(state: &AppState, f: &Pairs) -> VisitInput {
    let fw = &state.settings().qaf;
    VisitInput {
        location_id: field(f, "location_id").trim().to_string(),
        visit_type: field(f, "visit_type"),
        announced: field(f, "announced") != "no",
        unannounced_reason: field(f, "unannounced_reason"),
        visit_date: field(f, "visit_date"),
        officers: field(f, "officers"),
        grades: (0..fw.domains.len())
            .map(|i| field(f, &format!("grade_{i}")))
            .collect(),
        notes: (0..fw.domains.len())
            .map(|i| field(f, &format!("notes_{i}")))
            .collect(),
        findings: fw
            .domains
            .iter()
            .enumerate()
            .map(|(i, d)| {
                (0..d.standards.len())
                    .map(|j| field(f, &format!("finding_{i}_{j}")))
                    .collect()
            })
            .collect(),
    }
}

async fn visit_create(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    let v = visit_input(&state, &f);
    match super::save_visit(&state, &Actor::from_ctx(&ctx), &v, None).await? {
        Ok(id) => Ok(redirect_with_flash(
            &state,
            &format!("/quality/visits/{id}"),
            "Visit recorded as a draft",
        )),
        Err(errors) => render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &visit_form(&state, &ctx, errors, v, None, String::new()),
        ),
    }
}

#[derive(Template)]
#[template(path = "quality/visit.html")]
struct VisitPage {
    page: PageCtx,
    v: Visit,
    grades: Vec<(String, String, String)>,
    findings: Vec<(String, String, String)>,
    can_act: bool,
    location_name: String,
}

async fn load_visible(
    state: &AppState,
    ctx: &RequestCtx,
    id: i64,
) -> Result<(Visit, Vec<(String, String, String)>)> {
    let (v, grades) = super::visit(state, id).await?.ok_or(AppError::NotFound)?;
    if !visible(state, ctx, &v).await? {
        return Err(AppError::NotFound);
    }
    Ok((v, grades))
}

async fn visit_page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    let (v, grades) = load_visible(&state, &ctx, id).await?;
    let location_name = crate::cqc::queries::location(&state.db, &v.location_id)
        .await?
        .map(|l| l.name)
        .unwrap_or_default();
    render(&VisitPage {
        page: PageCtx::new(&state, &ctx, format!("Visit {id}")),
        can_act: ctx
            .user
            .as_ref()
            .is_some_and(|u| matches!(u.role, Role::Admin | Role::Commissioner)),
        location_name,
        findings: super::findings(&state, id).await?,
        v,
        grades,
    })
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct VisitDetail {
    #[serde(flatten)]
    pub visit: Visit,
    /// (domain, grade, notes)
    pub grades: Vec<(String, String, String)>,
    /// (domain, standard, finding and evidence)
    pub findings: Vec<(String, String, String)>,
}

#[utoipa::path(get, path = "/api/v1/quality/visits/{id}", tag = "quality", params(("id" = i64, Path)),
    responses((status = 200, body = VisitDetail), (status = 404, description = "No such visit, or not yours")))]
pub async fn api_visit(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
) -> Result<Json<VisitDetail>> {
    let (visit, grades) = load_visible(&state, &ctx, id).await?;
    Ok(Json(VisitDetail {
        visit,
        grades,
        findings: super::findings(&state, id).await?,
    }))
}

async fn visit_submit(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    super::advance(&state, &Actor::from_ctx(&ctx), id, "submitted").await?;
    Ok(redirect_with_flash(
        &state,
        &format!("/quality/visits/{id}"),
        "Visit submitted for confirmation",
    ))
}

async fn visit_confirm(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    super::advance(&state, &Actor::from_ctx(&ctx), id, "confirmed").await?;
    Ok(redirect_with_flash(
        &state,
        &format!("/quality/visits/{id}"),
        "Visit confirmed",
    ))
}

async fn visit_correct_form(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    let (v, grades) = super::visit(&state, id).await?.ok_or(AppError::NotFound)?;
    if v.status != "confirmed" {
        return Ok(Redirect::to(&format!("/quality/visits/{id}")).into_response());
    }
    let found = super::findings(&state, id).await?;
    // Matched by name to the framework in force: a domain or standard it no longer has is
    // not carried into the correction.
    let fw = state.settings().qaf.clone();
    let of = |d: &str| grades.iter().find(|g| g.0 == d);
    let input = VisitInput {
        location_id: v.location_id.clone(),
        visit_type: v.visit_type.clone(),
        announced: v.announced,
        unannounced_reason: v.unannounced_reason.clone().unwrap_or_default(),
        visit_date: v.visit_date.format("%d/%m/%Y").to_string(),
        officers: v.officers.clone(),
        grades: fw
            .domains
            .iter()
            .map(|d| of(&d.name).map(|g| g.1.clone()).unwrap_or_default())
            .collect(),
        notes: fw
            .domains
            .iter()
            .map(|d| of(&d.name).map(|g| g.2.clone()).unwrap_or_default())
            .collect(),
        findings: fw
            .domains
            .iter()
            .map(|d| {
                d.standards
                    .iter()
                    .map(|st| {
                        found
                            .iter()
                            .find(|f| f.0 == d.name && f.1 == *st)
                            .map(|f| f.2.clone())
                            .unwrap_or_default()
                    })
                    .collect()
            })
            .collect(),
    };
    render(&visit_form(
        &state,
        &ctx,
        FormErrors::default(),
        input,
        Some(id),
        String::new(),
    ))
}

async fn visit_correct(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    let v = visit_input(&state, &f);
    let reason = field(&f, "correction_reason");
    match super::save_visit(
        &state,
        &Actor::from_ctx(&ctx),
        &v,
        Some((id, reason.clone())),
    )
    .await?
    {
        Ok(new_id) => Ok(redirect_with_flash(
            &state,
            &format!("/quality/visits/{new_id}"),
            "Correction recorded as a draft: confirm it to replace the confirmed visit",
        )),
        Err(errors) => render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &visit_form(&state, &ctx, errors, v, Some(id), reason),
        ),
    }
}

use super::plans::{self, Item, Plan};

/// Provider users reach only their own provider's locations (visits, plans, items); others are "not found".
async fn location_visible(state: &AppState, ctx: &RequestCtx, location_id: &str) -> Result<bool> {
    let acting = ctx.user()?.acting_for()?;
    if acting == crate::web::ActingFor::Council {
        return Ok(true);
    }
    let provider = super::provider_of(state, location_id).await?;
    Ok(acting.may_see(provider.as_deref()))
}

#[derive(Template)]
#[template(path = "quality/plans.html")]
struct PlansPage {
    page: PageCtx,
    plans: Vec<Plan>,
    is_officer: bool,
    errors: FormErrors,
    location_id: String,
    title: String,
}

async fn plans_view(
    state: &AppState,
    ctx: &RequestCtx,
    errors: FormErrors,
    location_id: String,
    title: String,
) -> Result<Response> {
    let u = ctx.user()?;
    let provider = u.acting_for()?.provider().map(str::to_string);
    let status = errors.status();
    render_status(
        status,
        &PlansPage {
            page: PageCtx::new(state, ctx, "Action plans"),
            plans: plans::plans(state, provider.as_deref()).await?,
            is_officer: matches!(u.role, Role::Admin | Role::Commissioner),
            errors,
            location_id,
            title,
        },
    )
}

async fn plans_page(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response> {
    plans_view(
        &state,
        &ctx,
        FormErrors::default(),
        String::new(),
        String::new(),
    )
    .await
}

#[derive(serde::Deserialize)]
pub struct PlanForm {
    #[serde(default)]
    location_id: String,
    #[serde(default)]
    title: String,
}

async fn plan_create(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Form(f): Form<PlanForm>,
) -> Result<Response> {
    match plans::create(&state, &Actor::from_ctx(&ctx), &f.location_id, &f.title).await? {
        Ok(id) => Ok(redirect_with_flash(
            &state,
            &format!("/quality/plans/{id}"),
            "Action plan opened",
        )),
        Err(errors) => plans_view(&state, &ctx, errors, f.location_id, f.title).await,
    }
}

#[derive(Template)]
#[template(path = "quality/plan.html")]
struct PlanPage {
    page: PageCtx,
    p: Plan,
    items: Vec<(Item, &'static str, &'static str)>,
    is_officer: bool,
    errors: FormErrors,
    description: String,
    owner: String,
    due_date: String,
}

fn rag_label(r: caremarket_core::quality::Rag) -> (&'static str, &'static str) {
    use caremarket_core::quality::Rag;
    match r {
        Rag::Red => ("Overdue", "app-rag app-rag--red"),
        Rag::Amber => ("Due soon", "app-rag app-rag--amber"),
        Rag::Green => ("On track", "app-rag app-rag--green"),
        Rag::Complete => ("Signed off", "govuk-tag govuk-tag--grey"),
    }
}

async fn plan_view(
    state: &AppState,
    ctx: &RequestCtx,
    id: i64,
    errors: FormErrors,
    form: (String, String, String),
) -> Result<Response> {
    let (p, items) = plans::plan(state, id).await?.ok_or(AppError::NotFound)?;
    if !location_visible(state, ctx, &p.location_id).await? {
        return Err(AppError::NotFound);
    }
    let today = state.clock.now().date_naive();
    let items = items
        .into_iter()
        .map(|i| {
            let (label, class) = rag_label(i.rag(today));
            (i, label, class)
        })
        .collect();
    let status = errors.status();
    render_status(
        status,
        &PlanPage {
            page: PageCtx::new(state, ctx, format!("Action plan {id}")),
            is_officer: ctx
                .user
                .as_ref()
                .is_some_and(|u| matches!(u.role, Role::Admin | Role::Commissioner)),
            p,
            items,
            errors,
            description: form.0,
            owner: form.1,
            due_date: form.2,
        },
    )
}

async fn plan_page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    plan_view(&state, &ctx, id, FormErrors::default(), Default::default()).await
}

#[derive(serde::Deserialize)]
pub struct ItemForm {
    #[serde(default)]
    description: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    due_date: String,
}

async fn item_add(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
    Form(f): Form<ItemForm>,
) -> Result<Response> {
    match plans::add_item(
        &state,
        &Actor::from_ctx(&ctx),
        id,
        &f.description,
        &f.owner,
        &f.due_date,
    )
    .await?
    {
        Ok(_) => Ok(redirect_with_flash(
            &state,
            &format!("/quality/plans/{id}"),
            "Item added",
        )),
        Err(errors) => {
            plan_view(
                &state,
                &ctx,
                id,
                errors,
                (f.description, f.owner, f.due_date),
            )
            .await
        }
    }
}

#[derive(serde::Deserialize)]
pub struct ProgressForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    evidence: String,
}

async fn item_plan(state: &AppState, ctx: &RequestCtx, item_id: i64) -> Result<(Item, Plan)> {
    let item = plans::item(state, item_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let (plan, _) = plans::plan(state, item.plan_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !location_visible(state, ctx, &plan.location_id).await? {
        return Err(AppError::NotFound);
    }
    Ok((item, plan))
}

async fn item_progress(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
    Form(f): Form<ProgressForm>,
) -> Result<Response> {
    let (_, plan) = item_plan(&state, &ctx, id).await?;
    match plans::progress(&state, &Actor::from_ctx(&ctx), id, &f.status, &f.evidence).await? {
        Ok(()) => Ok(redirect_with_flash(
            &state,
            &format!("/quality/plans/{}", plan.id),
            "Progress recorded",
        )),
        Err(errors) => plan_view(&state, &ctx, plan.id, errors, Default::default()).await,
    }
}

async fn item_sign_off(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    let (_, plan) = item_plan(&state, &ctx, id).await?;
    plans::sign_off(&state, &Actor::from_ctx(&ctx), id).await?;
    Ok(redirect_with_flash(
        &state,
        &format!("/quality/plans/{}", plan.id),
        "Item signed off",
    ))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct PlanDetail {
    #[serde(flatten)]
    pub plan: Plan,
    pub items: Vec<ItemDetail>,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ItemDetail {
    #[serde(flatten)]
    pub item: Item,
    /// red, amber, green or complete, from the due date
    #[schema(value_type = String)]
    pub rag: caremarket_core::quality::Rag,
}

#[utoipa::path(get, path = "/api/v1/quality/plans/{id}", tag = "quality", params(("id" = i64, Path)),
    responses((status = 200, body = PlanDetail), (status = 404, description = "No such plan, or not yours")))]
pub async fn api_plan(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
) -> Result<Json<PlanDetail>> {
    let (plan, items) = plans::plan(&state, id).await?.ok_or(AppError::NotFound)?;
    if !location_visible(&state, &ctx, &plan.location_id).await? {
        return Err(AppError::NotFound);
    }
    let today = state.clock.now().date_naive();
    Ok(Json(PlanDetail {
        plan,
        items: items
            .into_iter()
            .map(|i| ItemDetail {
                rag: i.rag(today),
                item: i,
            })
            .collect(),
    }))
}

use super::concerns::{self, Concern, ConcernInput};

#[derive(Template)]
#[template(path = "quality/concerns.html")]
struct ConcernsPage {
    page: PageCtx,
    concerns: Vec<Concern>,
    errors: FormErrors,
    c: ConcernInput,
    sources: Vec<(String, String)>,
    severities: Vec<String>,
    warn_names: bool,
}

async fn concerns_view(
    state: &AppState,
    ctx: &RequestCtx,
    errors: FormErrors,
    c: ConcernInput,
) -> Result<Response> {
    let status = errors.status();
    render_status(
        status,
        &ConcernsPage {
            page: PageCtx::new(state, ctx, "Concerns log"),
            concerns: concerns::list(state).await?,
            warn_names: errors
                .get("summary")
                .is_some_and(|m| m.contains("tick the box")),
            errors,
            c,
            sources: concerns::SOURCES
                .iter()
                .map(|(k, l)| (k.to_string(), l.to_string()))
                .collect(),
            severities: concerns::SEVERITIES.iter().map(|s| s.to_string()).collect(),
        },
    )
}

async fn concerns_page(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response> {
    let c = ConcernInput {
        severity: "medium".into(),
        ..Default::default()
    };
    concerns_view(&state, &ctx, FormErrors::default(), c).await
}

#[derive(serde::Deserialize)]
pub struct ConcernForm {
    #[serde(default)]
    location_id: String,
    #[serde(default)]
    received_date: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    outcome: String,
    confirm_no_names: Option<String>,
}

async fn concern_create(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Form(f): Form<ConcernForm>,
) -> Result<Response> {
    let c = ConcernInput {
        location_id: f.location_id,
        received_date: f.received_date,
        source: f.source,
        severity: f.severity,
        summary: f.summary,
        outcome: f.outcome,
        confirm_no_names: f.confirm_no_names.is_some(),
    };
    match concerns::record(&state, &Actor::from_ctx(&ctx), &c).await? {
        Ok(_) => Ok(redirect_with_flash(
            &state,
            "/quality/concerns",
            "Concern recorded",
        )),
        Err(errors) => concerns_view(&state, &ctx, errors, c).await,
    }
}

#[derive(Template)]
#[template(path = "quality/risk.html")]
struct RiskPage {
    page: PageCtx,
    rows: Vec<super::risk::Ranked>,
    why: String,
    factors: Vec<&'static str>,
    w: caremarket_core::risk::Weights,
    /// "A 0, B 2, C 8, D 15"
    qaf_points: String,
}

async fn risk_page(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response> {
    let (rows, why) = super::risk::ranked(&state, state.clock.now().date_naive()).await?;
    render(&RiskPage {
        page: PageCtx::new(&state, &ctx, "Risk tool"),
        rows,
        why,
        factors: caremarket_core::risk::FACTORS.to_vec(),
        qaf_points: {
            let s = state.settings();
            s.qaf
                .scale
                .grades
                .iter()
                .enumerate()
                .map(|(i, (c, _))| {
                    let p = s
                        .risk_weights
                        .qaf_grade
                        .get(i)
                        .or(s.risk_weights.qaf_grade.last())
                        .copied()
                        .unwrap_or(0);
                    format!("{c} {p}")
                })
                .collect::<Vec<_>>()
                .join(", ")
        },
        w: state.settings().risk_weights.clone(),
    })
}

#[derive(serde::Deserialize)]
pub struct TopQuery {
    /// How many locations from the top of the list make the visit plan
    top: Option<usize>,
}

/// The visit plan: the top of the ranked list as CSV, with each factor's points.
async fn risk_csv(State(state): State<AppState>, Query(q): Query<TopQuery>) -> Result<Response> {
    let (rows, _) = super::risk::ranked(&state, state.clock.now().date_naive()).await?;
    let mut headers = vec![
        "Rank".to_string(),
        "Location ID".into(),
        "Location".into(),
        "Score".into(),
    ];
    headers.extend(caremarket_core::risk::FACTORS.iter().map(|f| f.to_string()));
    let t = crate::export::Table {
        title: "Visit plan".into(),
        headers,
        rows: rows
            .iter()
            .take(q.top.unwrap_or(usize::MAX))
            .enumerate()
            .map(|(i, r)| {
                use crate::export::Value::{Int, Text};
                let mut v = vec![
                    Int(i as i64 + 1),
                    Text(r.location_id.clone()),
                    Text(r.name.clone()),
                    Int(r.score),
                ];
                v.extend(r.contributions.iter().map(|c| Int(c.points)));
                v
            })
            .collect(),
    };
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"visit-plan.csv\"",
            ),
        ],
        t.to_csv(),
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/v1/quality/risk", tag = "quality", responses((status = 200, body = Vec<super::risk::Ranked>)))]
pub async fn api_risk(State(state): State<AppState>) -> Result<Json<Vec<super::risk::Ranked>>> {
    Ok(Json(
        super::risk::ranked(&state, state.clock.now().date_naive())
            .await?
            .0,
    ))
}
