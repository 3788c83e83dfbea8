//! Pages and API for the at-risk register.

use askama::Template;
use axum::Json;
use axum::extract::{Form, Path, Query, State};
use axum::response::Response;
use caremarket_core::Role;

use super::at_risk::{self as ar, EntryInput, STATUSES};
use crate::audit::Actor;
use crate::web::forms::{FormErrors, Pairs, field};
use crate::web::layout::render_status;
use crate::web::redirect_with_flash;
use crate::web::roles::{COMMISSIONERS, COMMISSIONERS_AND_BROKERS};
use crate::web::{PageCtx, RequestCtx, RouteDef, get, post};
use crate::{AppState, Result};

// Commissioners keep the register; brokers read it and work the closure checklist.

pub fn routes() -> Vec<RouteDef> {
    vec![
        get("/capacity/at-risk", COMMISSIONERS_AND_BROKERS, list_page),
        post("/capacity/at-risk", COMMISSIONERS, open),
        get(
            "/capacity/at-risk/{id}",
            COMMISSIONERS_AND_BROKERS,
            entry_page,
        ),
        post("/capacity/at-risk/{id}/status", COMMISSIONERS, status),
        post("/capacity/at-risk/{id}/remove", COMMISSIONERS, remove),
        post("/capacity/at-risk/{id}/actions", COMMISSIONERS, action_add),
        post(
            "/capacity/at-risk/actions/{id}/done",
            COMMISSIONERS,
            action_done,
        ),
        post(
            "/capacity/at-risk/checklist/{id}/moved",
            COMMISSIONERS_AND_BROKERS,
            moved,
        ),
        get(
            "/api/v1/capacity/at-risk",
            COMMISSIONERS_AND_BROKERS,
            api_list,
        ),
        get(
            "/api/v1/capacity/at-risk/{id}",
            COMMISSIONERS_AND_BROKERS,
            api_entry,
        ),
    ]
}

#[derive(Template)]
#[template(path = "capacity/at_risk.html")]
struct ListPage {
    page: PageCtx,
    errors: FormErrors,
    i: EntryInput,
    rows: Vec<ar::Listed>,
    statuses: Vec<(&'static str, &'static str)>,
    can_edit: bool,
    all: bool,
}

impl ListPage {
    fn label<'a>(&self, k: &'a str) -> &'a str {
        ar::status_label(k)
    }
}

fn can_edit(ctx: &RequestCtx) -> bool {
    ctx.user
        .as_ref()
        .is_some_and(|u| matches!(u.role, Role::Admin | Role::Commissioner))
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct ListQuery {
    pub show: Option<String>,
}

async fn list_view(
    state: &AppState,
    ctx: &RequestCtx,
    errors: FormErrors,
    i: EntryInput,
    all: bool,
) -> Result<Response> {
    render_status(
        errors.status(),
        &ListPage {
            page: PageCtx::new(state, ctx, "At-risk register"),
            rows: ar::register(state, all).await?,
            statuses: STATUSES[..5].to_vec(),
            can_edit: can_edit(ctx),
            errors,
            i,
            all,
        },
    )
}

async fn list_page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Query(q): Query<ListQuery>,
) -> Result<Response> {
    let i = EntryInput {
        status: "monitoring".into(),
        ..Default::default()
    };
    list_view(
        &state,
        &ctx,
        FormErrors::default(),
        i,
        q.show.as_deref() == Some("all"),
    )
    .await
}

async fn open(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    let i = EntryInput {
        subject: field(&f, "subject"),
        status: field(&f, "status"),
        reason: field(&f, "reason"),
        council_funded: field(&f, "council_funded"),
        nhs_funded: field(&f, "nhs_funded"),
        self_funded: field(&f, "self_funded"),
    };
    match ar::open(&state, &Actor::from_ctx(&ctx), &i).await? {
        Ok(id) => Ok(redirect_with_flash(
            &state,
            &format!("/capacity/at-risk/{id}"),
            "Added to the at-risk register",
        )),
        Err(e) => list_view(&state, &ctx, e, i, false).await,
    }
}

#[derive(Template)]
#[template(path = "capacity/at_risk_entry.html")]
struct EntryPage {
    page: PageCtx,
    errors: FormErrors,
    d: ar::Detail,
    statuses: Vec<(&'static str, &'static str)>,
    can_edit: bool,
}

impl EntryPage {
    fn label<'a>(&self, k: &'a str) -> &'a str {
        ar::status_label(k)
    }
}

async fn entry_view(
    state: &AppState,
    ctx: &RequestCtx,
    id: i64,
    errors: FormErrors,
) -> Result<Response> {
    let d = ar::detail(state, id).await?;
    render_status(
        errors.status(),
        &EntryPage {
            page: PageCtx::new(state, ctx, format!("At risk: {}", d.entry.name)),
            statuses: STATUSES.to_vec(),
            can_edit: can_edit(ctx),
            errors,
            d,
        },
    )
}

async fn entry_page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    entry_view(&state, &ctx, id, FormErrors::default()).await
}

fn back(state: &AppState, id: i64, msg: &str) -> Response {
    redirect_with_flash(state, &format!("/capacity/at-risk/{id}"), msg)
}

async fn status(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    match ar::change_status(
        &state,
        &Actor::from_ctx(&ctx),
        id,
        &field(&f, "status"),
        &field(&f, "note"),
    )
    .await?
    {
        Ok(()) => Ok(back(&state, id, "Status changed")),
        Err(e) => entry_view(&state, &ctx, id, e).await,
    }
}

async fn remove(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    ar::remove(&state, &Actor::from_ctx(&ctx), id, &field(&f, "note")).await?;
    Ok(back(&state, id, "Taken off the register"))
}

async fn action_add(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    match ar::add_action(
        &state,
        &Actor::from_ctx(&ctx),
        id,
        &field(&f, "description"),
        &field(&f, "owner"),
        &field(&f, "due_date"),
    )
    .await?
    {
        Ok(()) => Ok(back(&state, id, "Action added")),
        Err(e) => entry_view(&state, &ctx, id, e).await,
    }
}

async fn action_done(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    let entry = ar::action_done(&state, &Actor::from_ctx(&ctx), id).await?;
    Ok(back(&state, entry, "Action done"))
}

async fn moved(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(item): Path<i64>,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    match ar::moved(
        &state,
        &Actor::from_ctx(&ctx),
        item,
        &field(&f, "moved_to"),
        &field(&f, "moved_on"),
    )
    .await?
    {
        Ok(entry) => Ok(back(
            &state,
            entry,
            "Move recorded; the placement at the closing home has ended",
        )),
        Err(e) => {
            let entry: i64 = state
                .db
                .q()
                .scalar(
                    "SELECT entry_id FROM closure_checklist WHERE id = $1",
                    crate::args![item],
                )
                .await?;
            entry_view(&state, &ctx, entry, e).await
        }
    }
}

#[utoipa::path(get, path = "/api/v1/capacity/at-risk", tag = "capacity", responses((status = 200, body = Vec<ar::Listed>)))]
pub async fn api_list(State(state): State<AppState>) -> Result<Json<Vec<ar::Listed>>> {
    Ok(Json(ar::register(&state, true).await?))
}

#[utoipa::path(get, path = "/api/v1/capacity/at-risk/{id}", tag = "capacity", params(("id" = i64, Path)), responses((status = 200, body = ar::Detail)))]
pub async fn api_entry(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<ar::Detail>> {
    Ok(Json(ar::detail(&state, id).await?))
}
