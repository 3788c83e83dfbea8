//! caremarket's domain rules, kept free of I/O so that they can be tested on their own and
//! reused by the web pages, the JSON API and the CLI alike.

pub mod brokerage;
pub mod capacity;
pub mod cost;
pub mod cqc;
pub mod eval;
pub mod identity;
pub mod market;
pub mod matching;
pub mod money;
pub mod own_rating;
pub mod password;
pub mod privacy;
pub mod quality;
pub mod risk;
pub mod role;
pub mod simulate;
pub mod stats;
pub mod sufficiency;
pub mod themes;
pub mod throttle;
pub mod totp;
pub mod words;

pub use role::Role;
