//! Static assets, embedded in the binary so a council runs one file with no CDN.

use axum::http::header;
use axum::response::IntoResponse;

use super::{Access, RouteDef, get};

pub const APP_CSS: &str = include_str!("../../static/app.css");

async fn app_css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        APP_CSS,
    )
}

pub fn routes() -> Vec<RouteDef> {
    vec![get("/static/app.css", Access::Public, app_css)]
}
