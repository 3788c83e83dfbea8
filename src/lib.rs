//! caremarket: shape and manage an adult social care market.
//!
//! The crate is laid out by capability (see README "Architecture"): each area owns its routes,
//! store and pages; `web` holds what every page shares; `db` hides the two engines.

pub mod accounts;
pub mod admin;
pub mod api;
pub mod app;
pub mod audit;
pub mod brokerage;
pub mod capacity;
pub mod charts;
pub mod cli;
pub mod clock;
pub mod config;
pub mod cost_of_care;
pub mod cqc;
pub mod db;
pub mod export;
pub mod import;
pub mod mail;
pub mod market;
pub mod quality;
pub mod site;
pub mod sufficiency;
pub mod web;

pub use app::AppState;
pub use web::error::AppError;

pub type Result<T, E = AppError> = std::result::Result<T, E>;
