//! The JSON API under `/api/v1`, assembled. Each capability owns its JSON handlers (beside its
//! pages' handlers) and its part of the OpenAPI document; this module only puts the parts
//! together and serves the document. Bearer tokens or a browser session (with an
//! `X-CSRF-Token` header for writes); the same access rules as the pages, because every route
//! is declared with the same [`Access`]. Errors are `application/problem+json`.

use axum::response::{IntoResponse, Response};
use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::web::{Access, RouteDef, get};

pub fn routes() -> Vec<RouteDef> {
    vec![get("/api/v1/openapi.json", Access::Public, openapi_json)]
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API token from Your account > API tokens"))
                    .build(),
            ),
        );
    }
}

/// What the whole document says of itself: title, errors, and how to authenticate.
#[derive(OpenApi)]
#[openapi(
    info(title = "caremarket API", description = "The adult social care market: accounts and administration. Errors are application/problem+json (RFC 9457)."),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct Base;

/// The OpenAPI document: each capability declares its own paths and tag beside its routes
/// (its `ApiDoc`), and this only puts them together, in the menu's order.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = Base::openapi();
    for part in [
        crate::accounts::ApiDoc::openapi(),
        crate::admin::ApiDoc::openapi(),
        crate::audit::ApiDoc::openapi(),
        crate::cqc::ApiDoc::openapi(),
        crate::market::ApiDoc::openapi(),
        crate::quality::ApiDoc::openapi(),
        crate::capacity::ApiDoc::openapi(),
        crate::sufficiency::ApiDoc::openapi(),
        crate::cost_of_care::ApiDoc::openapi(),
        crate::brokerage::ApiDoc::openapi(),
    ] {
        doc.merge(part);
    }
    doc
}

pub async fn openapi_json() -> Response {
    let doc = openapi();
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        doc.to_pretty_json().unwrap_or_default(),
    )
        .into_response()
}
