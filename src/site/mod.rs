//! The site's own pages: the home page, the accessibility statement and the health checks a
//! load balancer calls. They sit above the capabilities, beside the router, not in `web`: the
//! home page reads from the capabilities (the areas in scope now, each role's to-do list
//! later), and `web` is the layer every capability builds on, so it depends on none of them.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::web::{Access, PageCtx, RequestCtx, RouteDef, get, render};
use crate::{AppState, Result};

pub fn routes() -> Vec<RouteDef> {
    use Access::*;
    vec![
        get("/", SignedIn, home),
        get("/accessibility", Public, accessibility),
        get("/healthz", Public, healthz),
        get("/readyz", Public, readyz),
    ]
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    page: PageCtx,
    role: String,
    is_admin: bool,
    /// (name, link to its market dashboard)
    area_names: Vec<(String, String)>,
}

pub async fn home(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response> {
    let u = ctx.user()?;
    let areas = crate::admin::areas::list(&state).await?;
    render(&HomePage {
        page: PageCtx::new(&state, &ctx, ""),
        role: u.role.label().to_string(),
        is_admin: u.role == caremarket_core::Role::Admin,
        area_names: areas
            .into_iter()
            .map(|a| {
                let q =
                    serde_urlencoded::to_string([("area", a.name.as_str())]).unwrap_or_default();
                (a.name, format!("/market?{q}"))
            })
            .collect(),
    })
}

#[derive(Template)]
#[template(path = "accessibility.html")]
struct AccessibilityPage {
    page: PageCtx,
}

pub async fn accessibility(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response> {
    render(&AccessibilityPage {
        page: PageCtx::new(&state, &ctx, "Accessibility statement"),
    })
}

pub async fn healthz() -> &'static str {
    "ok"
}

pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) => "ready".into_response(),
        Err(e) => {
            tracing::error!(error = %e, "database not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}
