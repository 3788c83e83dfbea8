//! The council's brokerage rules (case reference format, how many providers hold an offer at
//! once, how long each urgency gives them, reminders, banked hours, reporting step), kept
//! with the service settings and changed here by an admin or commissioner.

use askama::Template;
use axum::extract::{Form, State};
use axum::response::Response;
use caremarket_core::brokerage::Rules;

use crate::admin::settings::{self, ServiceSettings};
use crate::audit::Actor;
use crate::web::forms::{FormErrors, Pairs, field};
use crate::web::layout::render_status;
use crate::web::redirect_with_flash;
use crate::web::roles::COMMISSIONERS;
use crate::web::{PageCtx, RequestCtx, RouteDef, get, post};
use crate::{AppState, Result};

pub fn routes() -> Vec<RouteDef> {
    vec![
        get("/brokerage/rules", COMMISSIONERS, page),
        post("/brokerage/rules", COMMISSIONERS, save),
    ]
}

#[derive(Template)]
#[template(path = "brokerage/rules.html")]
struct RulesPage {
    page: PageCtx,
    errors: FormErrors,
    /// (field, label, value)
    fields: Vec<(String, String, String)>,
}

fn fields_of(r: &Rules) -> Vec<(String, String, String)> {
    let mut v = vec![
        (
            "case_reference_format".to_string(),
            "Case reference format (9 a digit, A a letter; empty for any 3 to 20 letters and digits)".to_string(),
            r.case_reference_format.clone(),
        ),
        (
            "offer_width".into(),
            "Providers offered at once (1: one at a time, in rank order)".into(),
            r.offer_width.to_string(),
        ),
    ];
    for u in &r.urgencies {
        v.push((
            format!("response-{}", u.key),
            format!("{}: minutes a provider has to answer", u.label),
            u.response_minutes.to_string(),
        ));
    }
    v.extend([
        (
            "reminder_minutes".into(),
            "Remind the provider this many minutes before the deadline (0: no reminder)".into(),
            r.reminder_minutes.to_string(),
        ),
        (
            "bank_cap".into(),
            "Banked hours: the most a person may hold (hours)".into(),
            caremarket_core::money::show_hundredths(r.bank.cap_hundredths),
        ),
        (
            "bank_expiry_weeks".into(),
            "Banked hours lapse after this many weeks".into(),
            r.bank.expiry_weeks.to_string(),
        ),
        (
            "reporting_step_days".into(),
            "Days between the awaiting care list's reporting dates (7: weekly)".into(),
            r.reporting_step_days.to_string(),
        ),
    ]);
    v
}

async fn page(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response> {
    let r = state.settings().brokerage.clone();
    render_status(
        axum::http::StatusCode::OK,
        &RulesPage {
            page: PageCtx::new(&state, &ctx, "Brokerage rules"),
            errors: FormErrors::default(),
            fields: fields_of(&r),
        },
    )
}

/// Reads the form into new rules, or says what to fix.
pub fn rules_from(current: &Rules, f: &Pairs) -> std::result::Result<Rules, FormErrors> {
    let mut e = FormErrors::default();
    let mut r = current.clone();
    let mut int = |name: &str, lo: i64, hi: i64, msg: &str| -> i64 {
        match field(f, name).trim().parse::<i64>() {
            Ok(v) if (lo..=hi).contains(&v) => v,
            _ => {
                e.add(name, msg);
                lo
            }
        }
    };
    r.offer_width = int(
        "offer_width",
        1,
        26,
        "Enter how many providers hold an offer at once, from 1 to 26",
    ) as usize;
    for u in r.urgencies.iter_mut() {
        u.response_minutes = int(
            &format!("response-{}", u.key),
            5,
            7 * 24 * 60,
            &format!(
                "Enter the minutes providers have to answer a {} offer, from 5 to 10080",
                u.label.to_lowercase()
            ),
        );
    }
    r.reminder_minutes = int(
        "reminder_minutes",
        0,
        24 * 60,
        "Enter the reminder in minutes, from 0 to 1440",
    );
    r.bank.expiry_weeks = int(
        "bank_expiry_weeks",
        1,
        104,
        "Enter the weeks before banked hours lapse, from 1 to 104",
    );
    r.reporting_step_days = int(
        "reporting_step_days",
        1,
        31,
        "Enter the days between reporting dates, from 1 to 31",
    );
    match caremarket_core::money::parse_hundredths(&field(f, "bank_cap"), false) {
        Ok(v) if v <= 100_000 => r.bank.cap_hundredths = v,
        _ => e.add(
            "bank_cap",
            "Enter the most banked hours a person may hold, like 20",
        ),
    }
    let format = field(f, "case_reference_format").trim().to_string();
    if format.chars().count() > 30 {
        e.add(
            "case_reference_format",
            "Enter a format of 30 characters or fewer",
        );
    }
    r.case_reference_format = format;
    if e.is_empty() { Ok(r) } else { Err(e) }
}

async fn save(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    let current = state.settings();
    match rules_from(&current.brokerage, &f) {
        Ok(r) => {
            let new = ServiceSettings {
                brokerage: r,
                ..(*current).clone()
            };
            settings::save(&state, &Actor::from_ctx(&ctx), new).await?;
            Ok(redirect_with_flash(
                &state,
                "/brokerage/rules",
                "Brokerage rules saved",
            ))
        }
        Err(errors) => {
            let typed: Vec<(String, String, String)> = fields_of(&current.brokerage)
                .into_iter()
                .map(|(k, l, _)| {
                    let v = field(&f, &k);
                    (k, l, v)
                })
                .collect();
            render_status(
                errors.status(),
                &RulesPage {
                    page: PageCtx::new(&state, &ctx, "Brokerage rules"),
                    errors,
                    fields: typed,
                },
            )
        }
    }
}
