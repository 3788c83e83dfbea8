//! The bed types the council counts vacancies by (an admin's page, under /admin).

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::response::Response;

use crate::audit::Actor;
use crate::web::forms::{FormErrors, Pairs, field};
use crate::web::layout::render_status;
use crate::web::redirect_with_flash;
use crate::web::roles::ADMIN;
use crate::web::{PageCtx, RequestCtx, RouteDef, get, post};
use crate::{AppState, Result};

pub fn routes() -> Vec<RouteDef> {
    vec![
        get("/admin/bed-types", ADMIN, bed_types_page),
        post("/admin/bed-types", ADMIN, bed_type_add),
        post("/admin/bed-types/{key}/retire", ADMIN, bed_type_retire),
    ]
}

#[derive(Template)]
#[template(path = "capacity/bed_types.html")]
struct BedTypesPage {
    page: PageCtx,
    errors: FormErrors,
    types: Vec<super::BedType>,
    typed_label: String,
}

async fn bed_types_view(
    state: &AppState,
    ctx: &RequestCtx,
    errors: FormErrors,
    label: String,
) -> Result<Response> {
    let types: Vec<super::BedType> = state
        .db
        .q()
        .fetch_all(
            "SELECT * FROM bed_types ORDER BY position, key",
            crate::args![],
        )
        .await?;
    render_status(
        errors.status(),
        &BedTypesPage {
            page: PageCtx::new(state, ctx, "Bed types"),
            errors,
            types,
            typed_label: label,
        },
    )
}

async fn bed_types_page(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response> {
    bed_types_view(&state, &ctx, FormErrors::default(), String::new()).await
}

async fn bed_type_add(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    let label = field(&f, "label");
    match super::add_bed_type(&state, &Actor::from_ctx(&ctx), &label).await? {
        Ok(_) => Ok(redirect_with_flash(
            &state,
            "/admin/bed-types",
            &format!("Bed type {} added", label.trim()),
        )),
        Err(e) => bed_types_view(&state, &ctx, e, label).await,
    }
}

async fn bed_type_retire(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(key): Path<String>,
) -> Result<Response> {
    super::retire_bed_type(&state, &Actor::from_ctx(&ctx), &key).await?;
    Ok(redirect_with_flash(
        &state,
        "/admin/bed-types",
        "Bed type taken out of use",
    ))
}
