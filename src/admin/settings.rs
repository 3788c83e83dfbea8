//! Service settings an admin changes at run time, kept as key/value rows. Read once at start
//! and after each save (into `AppState`), not on every request.

use askama::Template;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::Response;
use caremarket_core::Role;
use serde::Deserialize;

use crate::audit::{self, Actor};
use crate::db::Db;
use crate::web::forms::FormErrors;
use crate::web::layout::render_status;
use crate::web::redirect_with_flash;
use crate::web::{PageCtx, RequestCtx, render};
use crate::{AppState, Result, args};

#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct ServiceSettings {
    pub service_name: String,
    pub session_idle_minutes: i64,
    pub session_absolute_hours: i64,
    /// Roles that must use a second factor (TOTP) to sign in.
    #[schema(value_type = Vec<String>)]
    pub mfa_required_roles: Vec<Role>,
    /// The council's target for care homes rated Good or Outstanding (%).
    pub target_pct: f64,
    /// Statistical neighbours shown beside the council on the market dashboard.
    pub comparator_councils: Vec<String>,
    /// The council's QAF: domains and standards, grade scale, overall grade rule.
    #[schema(value_type = Object)]
    pub qaf: caremarket_core::quality::Framework,
    /// Points per factor in the risk tool.
    #[schema(value_type = Object)]
    pub risk_weights: caremarket_core::risk::Weights,
    /// Vacancy figures older than this many days show amber, and older than the red
    /// threshold red.
    pub vacancy_amber_days: i64,
    pub vacancy_red_days: i64,
    /// Brokerage: case reference format, offer width and deadlines, banked hours.
    #[schema(value_type = Object)]
    pub brokerage: caremarket_core::brokerage::Rules,
    /// How long a new API token lasts when its maker does not say, and the longest it may.
    pub token_default_days: i64,
    pub token_max_days: i64,
}

impl Default for ServiceSettings {
    fn default() -> Self {
        ServiceSettings {
            service_name: "caremarket".into(),
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            mfa_required_roles: vec![Role::Admin],
            target_pct: 80.0,
            comparator_councils: vec![],
            qaf: Default::default(),
            risk_weights: Default::default(),
            vacancy_amber_days: 7,
            vacancy_red_days: 14,
            brokerage: Default::default(),
            token_default_days: 90,
            token_max_days: 365,
        }
    }
}

impl ServiceSettings {
    fn to_pairs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("service_name", self.service_name.clone()),
            (
                "session_idle_minutes",
                self.session_idle_minutes.to_string(),
            ),
            (
                "session_absolute_hours",
                self.session_absolute_hours.to_string(),
            ),
            ("target_pct", self.target_pct.to_string()),
            ("comparator_councils", self.comparator_councils.join("|")),
            (
                "qaf_framework",
                serde_json::to_string(&self.qaf).unwrap_or_default(),
            ),
            ("vacancy_amber_days", self.vacancy_amber_days.to_string()),
            ("vacancy_red_days", self.vacancy_red_days.to_string()),
            ("token_default_days", self.token_default_days.to_string()),
            ("token_max_days", self.token_max_days.to_string()),
            (
                "brokerage_rules",
                serde_json::to_string(&self.brokerage).unwrap_or_default(),
            ),
            (
                "risk_weights",
                serde_json::to_string(&self.risk_weights).unwrap_or_default(),
            ),
            (
                "mfa_required_roles",
                self.mfa_required_roles
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
        ]
    }
    fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// Whether defaults under this key were put in place already. Defaults are seeded once (a
/// flag in the settings), so what a council deletes or renames does not come back.
pub async fn seeded(db: &Db, key: &str) -> anyhow::Result<bool> {
    let done: Option<String> = db
        .q()
        .scalar_optional("SELECT value FROM settings WHERE key = $1", args![key])
        .await?;
    Ok(done.is_some())
}

/// Marks defaults as seeded, in the transaction that put them in place.
pub async fn mark_seeded(tx: &mut crate::db::Tx, key: &str) -> anyhow::Result<()> {
    tx.execute(
        "INSERT INTO settings (key, value) VALUES ($1, '1') ON CONFLICT (key) DO NOTHING",
        args![key],
    )
    .await?;
    Ok(())
}

pub async fn load(db: &Db) -> anyhow::Result<ServiceSettings> {
    let rows: Vec<(String, String)> = db
        .q()
        .fetch_all("SELECT key, value FROM settings", args![])
        .await?;
    let mut s = ServiceSettings::default();
    for (k, v) in rows {
        match k.as_str() {
            "service_name" => s.service_name = v,
            "session_idle_minutes" => {
                s.session_idle_minutes = v.parse().unwrap_or(s.session_idle_minutes)
            }
            "session_absolute_hours" => {
                s.session_absolute_hours = v.parse().unwrap_or(s.session_absolute_hours)
            }
            "target_pct" => s.target_pct = v.parse().unwrap_or(s.target_pct),
            "comparator_councils" => {
                s.comparator_councils = v
                    .split('|')
                    .map(str::trim)
                    .filter(|x| !x.is_empty())
                    .map(str::to_string)
                    .collect()
            }
            // Kept as JSON; a value this version cannot read leaves the default in place
            // (and the admin page shows what is in force).
            "qaf_framework" => s.qaf = serde_json::from_str(&v).unwrap_or_default(),
            "risk_weights" => s.risk_weights = serde_json::from_str(&v).unwrap_or_default(),
            "brokerage_rules" => s.brokerage = serde_json::from_str(&v).unwrap_or_default(),
            "vacancy_amber_days" => {
                s.vacancy_amber_days = v.parse().unwrap_or(s.vacancy_amber_days)
            }
            "vacancy_red_days" => s.vacancy_red_days = v.parse().unwrap_or(s.vacancy_red_days),
            "token_default_days" => {
                s.token_default_days = v.parse().unwrap_or(s.token_default_days)
            }
            "token_max_days" => s.token_max_days = v.parse().unwrap_or(s.token_max_days),
            "mfa_required_roles" => {
                s.mfa_required_roles = v
                    .split(',')
                    .filter(|x| !x.is_empty())
                    .filter_map(|x| x.parse().ok())
                    .collect()
            }
            _ => {}
        }
    }
    Ok(s)
}

/// A number of days from a form: empty keeps the value in force (a form from before the
/// setting existed), otherwise a whole number from 1 to `max`.
fn days_in(typed: &str, now: i64, max: i64) -> Option<i64> {
    match typed.trim() {
        "" => Some(now),
        t => t.parse::<i64>().ok().filter(|d| (1..=max).contains(d)),
    }
}

/// Saves the settings in one transaction with its audit entry, then refreshes the cache.
pub async fn save(state: &AppState, actor: &Actor, new: ServiceSettings) -> Result<()> {
    let before = state.settings();
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    for (k, v) in new.to_pairs() {
        tx.execute(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            args![k, v],
        )
        .await?;
    }
    audit::entry("settings.update", "settings", "service")
        .before(before.to_json())
        .after(new.to_json())
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    state.replace_settings(new);
    Ok(())
}

#[derive(Template)]
#[template(path = "admin/settings.html")]
struct SettingsPage {
    page: PageCtx,
    errors: FormErrors,
    service_name: String,
    idle: String,
    absolute: String,
    mfa: Vec<(String, String, bool)>,
    target: String,
    comparators: String,
    amber: String,
    red: String,
    token_default: String,
    token_max: String,
}

/// What the form shows, as typed (or as saved).
struct Fields {
    name: String,
    idle: String,
    absolute: String,
    mfa: Vec<Role>,
    target: String,
    comparators: String,
    amber: String,
    red: String,
    token_default: String,
    token_max: String,
}

fn page(state: &AppState, ctx: &RequestCtx, errors: FormErrors, f: Fields) -> SettingsPage {
    SettingsPage {
        page: PageCtx::new(state, ctx, "Service settings"),
        errors,
        service_name: f.name,
        idle: f.idle,
        absolute: f.absolute,
        target: f.target,
        comparators: f.comparators,
        amber: f.amber,
        red: f.red,
        token_default: f.token_default,
        token_max: f.token_max,
        mfa: Role::ALL
            .iter()
            .map(|r| {
                (
                    r.as_str().to_string(),
                    r.label().to_string(),
                    f.mfa.contains(r),
                )
            })
            .collect(),
    }
}

pub async fn settings_form(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response> {
    let s = state.settings();
    render(&page(
        &state,
        &ctx,
        FormErrors::default(),
        Fields {
            name: s.service_name.clone(),
            idle: s.session_idle_minutes.to_string(),
            absolute: s.session_absolute_hours.to_string(),
            mfa: s.mfa_required_roles.clone(),
            target: s.target_pct.to_string(),
            comparators: s.comparator_councils.join("\n"),
            amber: s.vacancy_amber_days.to_string(),
            red: s.vacancy_red_days.to_string(),
            token_default: s.token_default_days.to_string(),
            token_max: s.token_max_days.to_string(),
        },
    ))
}

#[derive(Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    service_name: String,
    #[serde(default)]
    session_idle_minutes: String,
    #[serde(default)]
    session_absolute_hours: String,
    #[serde(default)]
    target_pct: String,
    #[serde(default)]
    comparator_councils: String,
    #[serde(default)]
    vacancy_amber_days: String,
    #[serde(default)]
    vacancy_red_days: String,
    #[serde(default)]
    token_default_days: String,
    #[serde(default)]
    token_max_days: String,
    mfa_admin: Option<String>,
    mfa_commissioner: Option<String>,
    mfa_broker: Option<String>,
    mfa_provider: Option<String>,
    mfa_viewer: Option<String>,
}

pub async fn settings_submit(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Form(f): Form<SettingsForm>,
) -> Result<Response> {
    let mut errors = FormErrors::default();
    let name = f.service_name.trim().to_string();
    if name.is_empty() {
        errors.add("service_name", "Enter the service name");
    } else if name.chars().count() > 80 {
        errors.add(
            "service_name",
            "Service name must be 80 characters or fewer",
        );
    }
    let idle = f
        .session_idle_minutes
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|v| (5..=480).contains(v));
    if idle.is_none() {
        errors.add(
            "session_idle_minutes",
            "Idle time-out must be a whole number of minutes from 5 to 480",
        );
    }
    let absolute = f
        .session_absolute_hours
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|v| (1..=72).contains(v));
    if absolute.is_none() {
        errors.add(
            "session_absolute_hours",
            "Session length must be a whole number of hours from 1 to 72",
        );
    }
    let target = f
        .target_pct
        .trim()
        .trim_end_matches('%')
        .parse::<f64>()
        .ok()
        .filter(|v| (0.0..=100.0).contains(v));
    if target.is_none() {
        errors.add(
            "target_pct",
            "Target must be a percentage from 0 to 100, like 80",
        );
    }
    let comparators: Vec<String> = f
        .comparator_councils
        .split(['\n', ','])
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect();
    if comparators.len() > 20 {
        errors.add("comparator_councils", "Give at most 20 comparator councils");
    }
    // Left empty (a form from before these settings existed), a threshold keeps its value.
    let current = state.settings();
    let days = |v: &str, now: i64| {
        if v.trim().is_empty() {
            Some(now)
        } else {
            v.trim()
                .parse::<i64>()
                .ok()
                .filter(|d| (1..=90).contains(d))
        }
    };
    let (amber, red) = (
        days(&f.vacancy_amber_days, current.vacancy_amber_days),
        days(&f.vacancy_red_days, current.vacancy_red_days),
    );
    if amber.is_none() {
        errors.add(
            "vacancy_amber_days",
            "Days before vacancy figures show amber must be a whole number from 1 to 90",
        );
    }
    match (amber, red) {
        (_, None) => errors.add(
            "vacancy_red_days",
            "Days before vacancy figures show red must be a whole number from 1 to 90",
        ),
        (Some(a), Some(r)) if r <= a => errors.add(
            "vacancy_red_days",
            "Days before red must be more than days before amber",
        ),
        _ => {}
    }
    let token_max = days_in(&f.token_max_days, current.token_max_days, 3650);
    let token_default = days_in(&f.token_default_days, current.token_default_days, 3650);
    match (token_default, token_max) {
        (_, None) => errors.add(
            "token_max_days",
            "The longest an API token may last must be a whole number of days from 1 to 3650",
        ),
        (None, _) => errors.add(
            "token_default_days",
            "How long a new API token lasts must be a whole number of days from 1 to 3650",
        ),
        (Some(d), Some(m)) if d > m => errors.add(
            "token_default_days",
            "How long a new API token lasts cannot be more than the longest it may last",
        ),
        _ => {}
    }
    let mut mfa = Vec::new();
    for (flag, role) in [
        (&f.mfa_admin, Role::Admin),
        (&f.mfa_commissioner, Role::Commissioner),
        (&f.mfa_broker, Role::Broker),
        (&f.mfa_provider, Role::Provider),
        (&f.mfa_viewer, Role::Viewer),
    ] {
        if flag.is_some() {
            mfa.push(role);
        }
    }
    match (errors.is_empty(), idle, absolute, target) {
        (true, Some(idle), Some(absolute), Some(target_pct)) => {
            save(
                &state,
                &Actor::from_ctx(&ctx),
                ServiceSettings {
                    service_name: name,
                    session_idle_minutes: idle,
                    session_absolute_hours: absolute,
                    mfa_required_roles: mfa,
                    target_pct,
                    comparator_councils: comparators,
                    vacancy_amber_days: amber.unwrap_or(7),
                    vacancy_red_days: red.unwrap_or(14),
                    token_default_days: token_default.unwrap_or(90),
                    token_max_days: token_max.unwrap_or(365),
                    ..(*state.settings()).clone()
                },
            )
            .await?;
            Ok(redirect_with_flash(
                &state,
                "/admin/settings",
                "Settings saved",
            ))
        }
        _ => render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page(
                &state,
                &ctx,
                errors,
                Fields {
                    name: f.service_name,
                    idle: f.session_idle_minutes,
                    absolute: f.session_absolute_hours,
                    mfa,
                    target: f.target_pct,
                    comparators: f.comparator_councils,
                    amber: f.vacancy_amber_days,
                    red: f.vacancy_red_days,
                    token_default: f.token_default_days,
                    token_max: f.token_max_days,
                },
            ),
        ),
    }
}

// The JSON API (/api/v1): the same rules as the pages above, for programs.

use axum::Json;

#[utoipa::path(get, path = "/api/v1/settings", tag = "admin", responses((status = 200, body = ServiceSettings)))]
pub async fn get_settings(State(state): State<AppState>) -> Json<ServiceSettings> {
    Json((*state.settings()).clone())
}
