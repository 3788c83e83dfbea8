//! The application state and the router, assembled from each area's route declarations, and
//! the request pipeline every request passes.

pub mod pipeline;

use axum::Router;
use axum::middleware::{from_fn, from_fn_with_state};
use std::sync::{Arc, RwLock};

use crate::admin::settings::ServiceSettings;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::db::Db;
use crate::web::{self, Access, RouteDef};

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    settings: Arc<RwLock<Arc<ServiceSettings>>>,
    /// Market figures per data version and date (see `market::all_facts`).
    pub market_cache: Arc<std::sync::Mutex<crate::cqc::picture::MarketCache>>,
    /// Market dashboards per data version, scope and settings (see `market::dashboard`).
    pub dashboard_cache: Arc<std::sync::Mutex<crate::market::DashboardCache>>,
    /// The active bed types (see `capacity::bed_types`).
    pub bed_types: crate::capacity::BedTypeCache,
    /// Sign-in attempts on one account, one at a time (see `accounts::guard`).
    pub sign_in_turns: Arc<crate::accounts::guard::Turns>,
}

impl AppState {
    /// Builds the state and loads the admin's settings from the database.
    pub async fn new(db: Db, config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<AppState> {
        crate::quality::themes::seed_defaults(&db).await?;
        crate::capacity::seed_defaults(&db).await?;
        crate::capacity::returns::seed_defaults(&db).await?;
        crate::quality::questionnaires::seed_defaults(&db).await?;
        let settings = crate::admin::settings::load(&db).await?;
        Ok(AppState {
            db,
            config: Arc::new(config),
            clock,
            settings: Arc::new(RwLock::new(Arc::new(settings))),
            market_cache: Default::default(),
            dashboard_cache: Default::default(),
            bed_types: Default::default(),
            sign_in_turns: Default::default(),
        })
    }

    pub async fn with_system_clock(db: Db, config: Config) -> anyhow::Result<AppState> {
        Self::new(db, config, Arc::new(SystemClock)).await
    }

    /// The settings as last saved. Cheap: an `Arc` clone, no database round trip per page.
    pub fn settings(&self) -> Arc<ServiceSettings> {
        self.settings.read().expect("settings lock").clone()
    }

    pub(crate) fn replace_settings(&self, s: ServiceSettings) {
        *self.settings.write().expect("settings lock") = Arc::new(s);
    }
}

/// Every route of the service with its access rule. The authorisation matrix test walks this.
pub fn all_routes() -> Vec<RouteDef> {
    let mut v = Vec::new();
    v.extend(web::assets::routes());
    v.extend(crate::site::routes());
    v.extend(crate::api::routes());
    v.extend(crate::accounts::routes());
    v.extend(crate::admin::routes());
    v.extend(crate::audit::routes());
    v.extend(crate::cqc::routes());
    v.extend(crate::market::routes());
    v.extend(crate::quality::routes());
    v.extend(crate::capacity::routes());
    v.extend(crate::sufficiency::routes());
    v.extend(crate::cost_of_care::routes());
    v.extend(crate::brokerage::routes());
    v
}

/// (method, path, access) of every route, for tests and documentation.
pub fn route_table() -> Vec<(axum::http::Method, &'static str, Access)> {
    all_routes()
        .into_iter()
        .map(|r| (r.method, r.path, r.access))
        .collect()
}

/// Who may open the page at `path` (its GET route), from the route table; None when there is
/// no such page. The header menu asks this, so it never shows a link its reader may not open.
pub fn page_access(path: &str) -> Option<Access> {
    static PAGES: std::sync::OnceLock<std::collections::HashMap<&'static str, Access>> =
        std::sync::OnceLock::new();
    PAGES
        .get_or_init(|| {
            route_table()
                .into_iter()
                .filter(|(m, _, _)| m == axum::http::Method::GET)
                .map(|(_, p, a)| (p, a))
                .collect()
        })
        .get(path)
        .copied()
}

pub fn router(state: AppState) -> Router {
    let mut router: Router<AppState> = Router::new();
    for r in all_routes() {
        let access = r.access;
        let handler = r
            .handler
            .route_layer(from_fn(move |req, next| pipeline::guard(access, req, next)));
        router = router.route(r.path, handler);
    }
    router
        .fallback(|| async { crate::AppError::NotFound })
        .layer(from_fn_with_state(state.clone(), pipeline::pipeline))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            64 * 1024 * 1024,
        ))
        .with_state(state)
}
