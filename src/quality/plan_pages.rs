//! Action plans and their items: progress by providers, sign-off by the council; pages and
//! API.

use askama::Template;
use axum::Json;
use axum::extract::{Form, Path, State};
use axum::response::Response;
use caremarket_core::Role;

use crate::audit::Actor;
use crate::web::forms::FormErrors;
use crate::web::layout::render_status;
use crate::web::redirect_with_flash;
use crate::web::roles::{COMMISSIONERS, COMMISSIONERS_AND_PROVIDERS};
use crate::web::{PageCtx, RequestCtx, RouteDef, get, post};
use crate::{AppError, AppState, Result};

pub fn routes() -> Vec<RouteDef> {
    vec![
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
    ]
}

use super::plans::{self, Item, Plan};

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
    let acting = u.acting_for()?;
    let provider = acting.provider();
    let status = errors.status();
    render_status(
        status,
        &PlansPage {
            page: PageCtx::new(state, ctx, "Action plans"),
            plans: plans::plans(state, provider).await?,
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
    if !super::location_visible(state, ctx, &p.location_id).await? {
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
    if !super::location_visible(state, ctx, &plan.location_id).await? {
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
    if !super::location_visible(&state, &ctx, &plan.location_id).await? {
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
