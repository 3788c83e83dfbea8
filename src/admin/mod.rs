//! Administration: users, the areas in scope and service settings.

pub mod areas;
pub mod settings;
pub mod users;

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use crate::web::{ADMIN, PageCtx, RequestCtx, RouteDef, get, post, render};
use crate::{AppState, Result};

pub fn routes() -> Vec<RouteDef> {
    use crate::web::Access::SignedIn;
    vec![
        get("/admin", ADMIN, index),
        get("/admin/users", ADMIN, users::users_page),
        get("/admin/users/new", ADMIN, users::user_new_form),
        post("/admin/users", ADMIN, users::user_create),
        get("/admin/users/{id}", ADMIN, users::user_page),
        post("/admin/users/{id}/role", ADMIN, users::user_role),
        post("/admin/users/{id}/disable", ADMIN, users::user_disable),
        post("/admin/users/{id}/enable", ADMIN, users::user_enable),
        post(
            "/admin/users/{id}/reset-password",
            ADMIN,
            users::user_reset_password,
        ),
        post(
            "/admin/users/{id}/reset-two-factor",
            ADMIN,
            users::user_reset_two_factor,
        ),
        get("/admin/areas", ADMIN, areas::areas_page),
        post("/admin/areas", ADMIN, areas::area_add),
        post("/admin/areas/{id}/remove", ADMIN, areas::area_remove),
        get("/admin/settings", ADMIN, settings::settings_form),
        post("/admin/settings", ADMIN, settings::settings_submit),
        get("/api/v1/areas", SignedIn, areas::list_areas),
        post("/api/v1/areas", ADMIN, areas::add_area),
        get("/api/v1/users", ADMIN, users::list_users),
        post("/api/v1/users", ADMIN, users::invite_user),
        get("/api/v1/settings", ADMIN, settings::get_settings),
    ]
}

#[derive(Template)]
#[template(path = "admin/index.html")]
struct IndexPage {
    page: PageCtx,
}

async fn index(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response> {
    render(&IndexPage {
        page: PageCtx::new(&state, &ctx, "Administration"),
    })
}

/// This capability's part of the OpenAPI document (src/api puts the parts together).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(areas::list_areas, areas::add_area, users::list_users, users::invite_user, settings::get_settings),
    tags((name = "admin", description = "Users, areas in scope, settings and the audit log"))
)]
pub struct ApiDoc;
