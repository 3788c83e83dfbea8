//! QAF visits: the form, submission, confirmation by a second officer and corrections;
//! pages and API. Provider users see their own locations' visits only.

use askama::Template;
use axum::Json;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use caremarket_core::Role;

use super::{Visit, VisitInput};
use crate::audit::Actor;
use crate::web::forms::FormErrors;
use crate::web::layout::render_status;
use crate::web::redirect_with_flash;
use crate::web::roles::{COMMISSIONERS, COMMISSIONERS_AND_PROVIDERS};
use crate::web::{PageCtx, RequestCtx, RouteDef, get, post, render};
use crate::{AppError, AppState, Result};

pub fn routes() -> Vec<RouteDef> {
    vec![
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

/// Provider users see only visits to their own provider's locations; others are "not found".
async fn visible(state: &AppState, ctx: &RequestCtx, v: &Visit) -> Result<bool> {
    super::location_visible(state, ctx, &v.location_id).await
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
    let acting = u.acting_for()?;
    let provider = acting.provider();
    render(&VisitsPage {
        page: PageCtx::new(&state, &ctx, "Quality assurance visits"),
        visits: super::visits(&state, provider).await?,
        can_record: matches!(u.role, Role::Admin | Role::Commissioner),
    })
}

#[utoipa::path(get, path = "/api/v1/quality/visits", tag = "quality", responses((status = 200, body = Vec<Visit>)))]
pub async fn api_visits(
    State(state): State<AppState>,
    ctx: RequestCtx,
) -> Result<Json<Vec<Visit>>> {
    let u = ctx.user()?;
    let acting = u.acting_for()?;
    let provider = acting.provider();
    Ok(Json(super::visits(&state, provider).await?))
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
