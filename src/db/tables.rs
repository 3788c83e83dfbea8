//! Every table of the schema, parents before children, for whole-deployment copies. A test
//! checks this list against the live schema, so a new table cannot be forgotten.

pub const TABLES: &[&str] = &[
    "users",
    "sessions",
    "login_failures",
    "recovery_codes",
    "one_time_links",
    "api_tokens",
    "notifications",
    "areas",
    "settings",
    "audit_log",
    "cqc_imports",
    "cqc_providers",
    "cqc_locations",
    "cqc_location_services",
    "cqc_ratings",
    "cqc_location_editions",
    "cqc_relationships",
    "cqc_sync_state",
    "cqc_import_rejects",
    "data_version",
    "contracts",
    "qaf_visits",
    "qaf_domain_grades",
];
