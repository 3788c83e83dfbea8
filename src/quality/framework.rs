//! The admin's page for the council's QAF (domains and standards, grade scale, overall grade
//! rule) and the risk tool's weights. Both live in the service settings, so every page and the
//! risk ranking read the same values.

use askama::Template;
use axum::extract::{Form, State};
use axum::response::Response;
use caremarket_core::quality::{Framework, OverallRule, parse_domains, parse_scale};
use caremarket_core::risk::Weights;

use crate::admin::settings::{ServiceSettings, save};
use crate::audit::Actor;
use crate::web::forms::FormErrors;
use crate::web::layout::render_status;
use crate::web::redirect_with_flash;
use crate::web::{PageCtx, RequestCtx};
use crate::{AppState, Result, args};

/// The risk weights as the form lists them: (field, label, value).
fn weight_fields(w: &Weights) -> Vec<(&'static str, &'static str, String)> {
    vec![
        (
            "inadequate",
            "CQC overall: Inadequate",
            w.inadequate.to_string(),
        ),
        (
            "requires_improvement",
            "CQC overall: Requires improvement",
            w.requires_improvement.to_string(),
        ),
        ("good", "CQC overall: Good", w.good.to_string()),
        (
            "outstanding",
            "CQC overall: Outstanding",
            w.outstanding.to_string(),
        ),
        (
            "not_rated",
            "CQC overall: not rated",
            w.not_rated.to_string(),
        ),
        (
            "per_key_question_below_good",
            "Each key question below Good",
            w.per_key_question_below_good.to_string(),
        ),
        (
            "per_year_since_rating",
            "Each full year since the CQC rating",
            w.per_year_since_rating.to_string(),
        ),
        (
            "max_rating_age",
            "At most, for the rating's age",
            w.max_rating_age.to_string(),
        ),
        (
            "manager_absent",
            "No registered manager",
            w.manager_absent.to_string(),
        ),
        (
            "concern_high",
            "Each high-severity concern (last 12 months)",
            w.concern_high.to_string(),
        ),
        (
            "concern_medium",
            "Each medium-severity concern",
            w.concern_medium.to_string(),
        ),
        (
            "concern_low",
            "Each low-severity concern",
            w.concern_low.to_string(),
        ),
        (
            "qaf_grade",
            "Last QAF grade, best first (one number a grade, separated by commas)",
            w.qaf_grade
                .iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        ),
        (
            "qaf_not_visited",
            "Never visited by the council",
            w.qaf_not_visited.to_string(),
        ),
        (
            "per_year_since_qaf",
            "Each full year since the last QAF visit",
            w.per_year_since_qaf.to_string(),
        ),
        (
            "max_qaf_age",
            "At most, for the visit's age",
            w.max_qaf_age.to_string(),
        ),
        (
            "per_overdue_item",
            "Each overdue action plan item",
            w.per_overdue_item.to_string(),
        ),
        (
            "per_10pct_turnover",
            "Each full 10% of yearly staff turnover (workforce return)",
            w.per_10pct_turnover.to_string(),
        ),
        (
            "max_turnover",
            "At most, for staff turnover",
            w.max_turnover.to_string(),
        ),
        (
            "per_agency_hour_per_head",
            "Each full agency hour a week per member of staff (workforce return)",
            w.per_agency_hour_per_head.to_string(),
        ),
        (
            "max_agency",
            "At most, for agency use",
            w.max_agency.to_string(),
        ),
    ]
}

#[derive(Template)]
#[template(path = "admin/quality.html")]
struct FrameworkPage {
    page: PageCtx,
    errors: FormErrors,
    domains: String,
    scale: String,
    rule: String,
    weights: Vec<(&'static str, &'static str, String)>,
}

pub async fn framework_form(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response> {
    let s = state.settings();
    show(&state, &ctx, FormErrors::default(), &s.qaf, &s.risk_weights)
}

fn show(
    state: &AppState,
    ctx: &RequestCtx,
    errors: FormErrors,
    f: &Framework,
    w: &Weights,
) -> Result<Response> {
    show_typed(
        state,
        ctx,
        errors,
        f.domains_text(),
        f.scale_text(),
        rule_key(f.rule).into(),
        weight_fields(w),
    )
}

fn show_typed(
    state: &AppState,
    ctx: &RequestCtx,
    errors: FormErrors,
    domains: String,
    scale: String,
    rule: String,
    weights: Vec<(&'static str, &'static str, String)>,
) -> Result<Response> {
    render_status(
        errors.status(),
        &FrameworkPage {
            page: PageCtx::new(state, ctx, "Quality assurance framework"),
            errors,
            domains,
            scale,
            rule,
            weights,
        },
    )
}

fn rule_key(r: OverallRule) -> &'static str {
    match r {
        OverallRule::Lowest => "lowest",
        OverallRule::Median => "median",
    }
}

use crate::web::forms::{Pairs, field};

/// Grades that confirmed visits carry: the scale may not drop them, or those visits would
/// fall out of the summary tables.
async fn grades_in_use(state: &AppState) -> Result<Vec<String>> {
    let rows: Vec<(String,)> = state
        .db
        .q()
        .fetch_all(
            "SELECT DISTINCT grade FROM qaf_domain_grades g JOIN qaf_visits v ON v.id = g.visit_id WHERE v.status IN ('confirmed', 'submitted')",
            args![],
        )
        .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

pub async fn framework_submit(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    let mut errors = FormErrors::default();
    let domains = parse_domains(&field(&f, "domains"));
    if let Err(e) = &domains {
        errors.add("domains", e.clone());
    }
    let scale = parse_scale(&field(&f, "scale"));
    match &scale {
        Err(e) => errors.add("scale", e.clone()),
        Ok(s) => {
            let missing: Vec<String> = grades_in_use(&state)
                .await?
                .into_iter()
                .filter(|g| s.rank(g).is_none())
                .collect();
            if !missing.is_empty() {
                errors.add(
                    "scale",
                    format!(
                        "Keep grade {} on the scale: visits already carry it",
                        missing.join(", ")
                    ),
                );
            }
        }
    }
    let rule = match field(&f, "rule").as_str() {
        "median" => Some(OverallRule::Median),
        "lowest" => Some(OverallRule::Lowest),
        _ => {
            errors.add("rule", "Select how the overall grade is worked out");
            None
        }
    };
    let typed: Vec<(&'static str, &'static str, String)> = weight_fields(&Weights::default())
        .into_iter()
        .map(|(k, l, _)| (k, l, field(&f, k)))
        .collect();
    let mut w = Weights::default();
    for (k, label, v) in &typed {
        let nums: Option<Vec<i64>> = v
            .split(',')
            .map(|x| {
                x.trim()
                    .parse::<i64>()
                    .ok()
                    .filter(|n| (0..=100).contains(n))
            })
            .collect();
        let ok = match (nums, *k) {
            (Some(ns), "qaf_grade") => {
                let want = scale.as_ref().map(|s| s.grades.len()).unwrap_or(ns.len());
                if ns.len() != want {
                    errors.add(
                        k,
                        format!("Give {want} numbers for the last QAF grade, one for each grade on the scale"),
                    );
                }
                w.qaf_grade = ns;
                true
            }
            (Some(ns), _) if ns.len() == 1 => {
                let n = ns[0];
                match *k {
                    "inadequate" => w.inadequate = n,
                    "requires_improvement" => w.requires_improvement = n,
                    "good" => w.good = n,
                    "outstanding" => w.outstanding = n,
                    "not_rated" => w.not_rated = n,
                    "per_key_question_below_good" => w.per_key_question_below_good = n,
                    "per_year_since_rating" => w.per_year_since_rating = n,
                    "max_rating_age" => w.max_rating_age = n,
                    "manager_absent" => w.manager_absent = n,
                    "concern_high" => w.concern_high = n,
                    "concern_medium" => w.concern_medium = n,
                    "concern_low" => w.concern_low = n,
                    "qaf_not_visited" => w.qaf_not_visited = n,
                    "per_year_since_qaf" => w.per_year_since_qaf = n,
                    "max_qaf_age" => w.max_qaf_age = n,
                    "per_overdue_item" => w.per_overdue_item = n,
                    "per_10pct_turnover" => w.per_10pct_turnover = n,
                    "max_turnover" => w.max_turnover = n,
                    "per_agency_hour_per_head" => w.per_agency_hour_per_head = n,
                    "max_agency" => w.max_agency = n,
                    _ => {}
                }
                true
            }
            _ => false,
        };
        if !ok {
            errors.add(
                k,
                format!("{label}: enter a whole number of points from 0 to 100"),
            );
        }
    }
    match (errors.is_empty(), domains, scale, rule) {
        (true, Ok(domains), Ok(scale), Some(rule)) => {
            let new = ServiceSettings {
                qaf: Framework {
                    domains,
                    scale,
                    rule,
                },
                risk_weights: w,
                ..(*state.settings()).clone()
            };
            save(&state, &Actor::from_ctx(&ctx), new).await?;
            Ok(redirect_with_flash(
                &state,
                "/admin/quality",
                "Quality assurance framework saved",
            ))
        }
        _ => show_typed(
            &state,
            &ctx,
            errors,
            field(&f, "domains"),
            field(&f, "scale"),
            field(&f, "rule"),
            typed,
        ),
    }
}
