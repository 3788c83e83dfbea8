//! caremarket's integration tests: one binary (linking the app once), one module per area.
//! Each test gets its own database on the engine named by CAREMARKET_TEST_ENGINE.

mod support;

mod accounts;
mod admin;
mod api;
mod audit;
mod authz;
mod brokerage;
mod brokerage_awaiting;
mod brokerage_cli;
mod brokerage_matching;
mod brokerage_packages;
mod brokerage_ranking;
mod brokerage_report;
mod brokerage_requests;
mod browser;
mod browser_brokerage;
mod browser_market;
mod capacity;
mod cli;
mod cost_of_care;
mod cqc;
mod cqc_sync;
mod cqc_today;
mod dbcopy;
mod hardening;
mod market;
mod market_cache;
mod migrations;
mod quality;
mod races;
mod recovery;
mod sign_in_security;
mod sufficiency;
mod text_input;
mod themes;
mod uploads;
