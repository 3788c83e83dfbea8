//! Questionnaires for people who use services (answers stored without names, linked to a
//! location and a date) and the providers' annual survey of the council (Leicester domiciliary support, 2018, §4.16:
//! "good or very good"), with result tables: each question's answers on the five-point scale
//! and the share rating it good or very good.

use askama::Template;
use axum::Json;
use axum::extract::{Form, Path, Query, State};
use axum::response::Response;
use chrono::{Datelike, NaiveDate};
use std::collections::BTreeMap;

use crate::audit::{self, Actor};
use crate::web::forms::{FormErrors, Pairs, field};
use crate::web::layout::render_status;
use crate::web::redirect_with_flash;
use crate::web::roles::{COMMISSIONERS, PROVIDERS};
use crate::web::{PageCtx, RequestCtx, RouteDef, get, post};
use crate::{AppError, AppState, Result, args};

/// The five-point scale, best last (stored as 1..=5).
pub const SCALE: [&str; 5] = [
    "Very poor",
    "Poor",
    "Neither good nor poor",
    "Good",
    "Very good",
];

pub fn routes() -> Vec<RouteDef> {
    vec![
        get("/quality/questionnaires", COMMISSIONERS, results_page),
        post(
            "/quality/questionnaires/{id}/responses",
            COMMISSIONERS,
            enter,
        ),
        get("/quality/survey", PROVIDERS, survey_page),
        post("/quality/survey", PROVIDERS, survey_submit),
        get(
            "/api/v1/quality/questionnaires/{id}/results",
            COMMISSIONERS,
            api_results,
        ),
    ]
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Question {
    pub key: String,
    pub text: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct QDb {
    id: i64,
    kind: String,
    title: String,
    questions: String,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Questionnaire {
    pub id: i64,
    pub kind: String,
    pub title: String,
    pub questions: Vec<Question>,
}

fn q(key: &str, text: &str) -> Question {
    Question {
        key: key.into(),
        text: text.into(),
    }
}

/// The two default questionnaires, put in place once (a settings flag).
pub async fn seed_defaults(db: &crate::db::Db) -> anyhow::Result<()> {
    if crate::admin::settings::seeded(db, "questionnaires_seeded").await? {
        return Ok(());
    }
    // The system clock's precision (microseconds), which both engines keep exactly.
    let now = crate::clock::Clock::now(&crate::clock::SystemClock);
    let service_user = vec![
        q(
            "overall",
            "Overall, how would you rate the care and support you receive?",
        ),
        q(
            "respect",
            "How well do staff treat you with dignity and respect?",
        ),
        q("safe", "How safe do you feel?"),
        q(
            "choice",
            "How much choice and control do you have over your daily life?",
        ),
        q(
            "listened",
            "When you raise something, how well are you listened to?",
        ),
    ];
    let provider_survey = vec![
        q(
            "relationship",
            "Your working relationship with the council's contracts team",
        ),
        q(
            "communication",
            "How the council communicates with providers",
        ),
        q("brokerage", "How the brokerage team works with you"),
        q(
            "support",
            "The quality improvement support the council offers",
        ),
        q("payments", "Paying you correctly and on time"),
    ];
    let mut tx = db.begin().await?;
    for (kind, title, qs) in [
        ("service_user", "People who use services", service_user),
        (
            "provider_survey",
            "Providers' survey of the council",
            provider_survey,
        ),
    ] {
        tx.execute(
            "INSERT INTO questionnaires (kind, title, questions, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (title) DO NOTHING",
            args![kind, title, serde_json::to_string(&qs)?, now],
        )
        .await?;
    }
    crate::admin::settings::mark_seeded(&mut tx, "questionnaires_seeded").await?;
    tx.commit().await?;
    Ok(())
}

pub async fn questionnaires(state: &AppState) -> Result<Vec<Questionnaire>> {
    let rows: Vec<QDb> = state
        .db
        .q()
        .fetch_all(
            "SELECT id, kind, title, questions FROM questionnaires ORDER BY id",
            args![],
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| Questionnaire {
            id: r.id,
            kind: r.kind,
            title: r.title,
            questions: serde_json::from_str(&r.questions).unwrap_or_default(),
        })
        .collect())
}

async fn questionnaire(state: &AppState, id: i64) -> Result<Questionnaire> {
    questionnaires(state)
        .await?
        .into_iter()
        .find(|q| q.id == id)
        .ok_or(AppError::NotFound)
}

/// Reads and checks one response's answers: each 1..=5 or left unanswered; at least one.
fn answers(q: &Questionnaire, f: &Pairs, e: &mut FormErrors) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    let mut unreadable = false;
    for x in &q.questions {
        let v = field(f, &format!("q_{}", x.key));
        match v.trim() {
            "" => {}
            s => match s.parse::<i64>() {
                Ok(n) if (1..=5).contains(&n) => {
                    out.insert(x.key.clone(), n);
                }
                _ => {
                    unreadable = true;
                    e.add(
                        &format!("q_{}", x.key),
                        format!("{}: choose an answer", x.text),
                    )
                }
            },
        }
    }
    if out.is_empty() && !unreadable {
        e.add(
            &format!(
                "q_{}",
                q.questions.first().map(|x| x.key.as_str()).unwrap_or("")
            ),
            "Answer at least one question",
        );
    }
    out
}

/// Comments are kept only when they name no one.
fn check_comment(c: &str, confirmed: bool, e: &mut FormErrors) {
    if !confirmed {
        let found = caremarket_core::privacy::check(c);
        if !found.is_empty() {
            let what: Vec<String> = found.iter().map(|f| f.message()).collect();
            e.add(
                "comment",
                format!(
                    "{}. Remove names and NHS numbers, or tick the box to confirm there are none.",
                    what.join("; ")
                ),
            );
        }
    }
}

/// Whom a response is about: a service (people who use it) or a provider (its survey).
enum About<'a> {
    Location(&'a str),
    Provider(&'a str),
}

async fn save(
    state: &AppState,
    actor: &Actor,
    q: &Questionnaire,
    about: About<'_>,
    on: NaiveDate,
    answers: &BTreeMap<String, i64>,
    comment: &str,
) -> Result<i64> {
    let (location, provider) = match about {
        About::Location(l) => (Some(l), None),
        About::Provider(p) => (None, Some(p)),
    };
    let now = state.clock.now();
    // The annual survey carries its year: the database keeps it to one a provider.
    let survey_year = (q.kind == "provider_survey" && provider.is_some()).then(|| on.year() as i64);
    let mut tx = state.db.begin().await?;
    let id: i64 = tx
        .scalar(
            "INSERT INTO questionnaire_responses (questionnaire_id, location_id, provider_id, responded_on, answers, comment, entered_by, entered_at, survey_year) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            args![q.id, location, provider, on, serde_json::to_string(answers).unwrap_or_default(), comment.trim(), &actor.name, now, survey_year],
        )
        .await?;
    audit::entry("questionnaire.response", "questionnaire_response", id)
        .after(serde_json::json!({"questionnaire": q.id, "location_id": location, "provider_id": provider, "responded_on": on}))
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    Ok(id)
}

/// One question's results.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct QuestionResult {
    pub question: String,
    /// Answers per point of the scale, very poor first
    pub counts: [u64; 5],
    pub answered: u64,
    /// Good or very good as a % of those answering, one decimal (half up)
    pub good_or_very_good_pct: Option<f64>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Results {
    pub questionnaire: String,
    pub responses: u64,
    pub questions: Vec<QuestionResult>,
}

#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
pub struct ResultsQuery {
    /// Responses in this calendar year only
    pub year: Option<i32>,
    /// One location's (people who use services) or provider's (survey) responses only
    pub of: Option<String>,
}

pub async fn results(state: &AppState, id: i64, rq: &ResultsQuery) -> Result<Results> {
    let q = questionnaire(state, id).await?;
    let rows: Vec<(Option<String>, Option<String>, NaiveDate, String)> = state
        .db
        .q()
        .fetch_all(
            "SELECT location_id, provider_id, responded_on, answers FROM questionnaire_responses WHERE questionnaire_id = $1",
            args![id],
        )
        .await?;
    let of = rq.of.as_deref().map(str::trim).filter(|o| !o.is_empty());
    let kept: Vec<BTreeMap<String, i64>> = rows
        .into_iter()
        .filter(|r| rq.year.is_none_or(|y| r.2.year() == y))
        .filter(|r| of.is_none_or(|o| r.0.as_deref() == Some(o) || r.1.as_deref() == Some(o)))
        .map(|r| serde_json::from_str(&r.3).unwrap_or_default())
        .collect();
    Ok(Results {
        questionnaire: q.title.clone(),
        responses: kept.len() as u64,
        questions: q
            .questions
            .iter()
            .map(|x| {
                let mut counts = [0u64; 5];
                for a in &kept {
                    if let Some(v) = a.get(&x.key).filter(|v| (1..=5).contains(*v)) {
                        counts[(*v - 1) as usize] += 1;
                    }
                }
                let answered = counts.iter().sum();
                QuestionResult {
                    question: x.text.clone(),
                    good_or_very_good_pct: caremarket_core::market::pct_1dp(
                        counts[3] + counts[4],
                        answered,
                    ),
                    counts,
                    answered,
                }
            })
            .collect(),
    })
}

#[derive(Template)]
#[template(path = "quality/questionnaires.html")]
struct ResultsPage {
    page: PageCtx,
    errors: FormErrors,
    all: Vec<(Questionnaire, Results)>,
    service_user: Option<Questionnaire>,
    q: ResultsQuery,
    typed: Pairs,
    warn_names: bool,
    scale: Vec<(usize, &'static str)>,
}

impl ResultsPage {
    fn typed(&self, k: &str) -> String {
        field(&self.typed, k)
    }
    fn pct(&self, p: &Option<f64>) -> String {
        p.map(|v| format!("{v:.1}%")).unwrap_or_else(|| "–".into())
    }
}

async fn results_view(
    state: &AppState,
    ctx: &RequestCtx,
    q: ResultsQuery,
    errors: FormErrors,
    typed: Pairs,
) -> Result<Response> {
    let qs = questionnaires(state).await?;
    let mut all = Vec::new();
    for x in &qs {
        all.push((x.clone(), results(state, x.id, &q).await?));
    }
    render_status(
        errors.status(),
        &ResultsPage {
            page: PageCtx::new(state, ctx, "Questionnaires"),
            warn_names: errors
                .get("comment")
                .is_some_and(|m| m.contains("tick the box")),
            errors,
            service_user: qs.iter().find(|x| x.kind == "service_user").cloned(),
            all,
            q,
            typed,
            scale: SCALE.iter().enumerate().map(|(i, s)| (i + 1, *s)).collect(),
        },
    )
}

async fn results_page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Query(q): Query<ResultsQuery>,
) -> Result<Response> {
    results_view(&state, &ctx, q, FormErrors::default(), Pairs::new()).await
}

/// The council enters a response from a person who uses services (from a paper form or a
/// call): location and date, answers, a comment without names.
async fn enter(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    let q = questionnaire(&state, id).await?;
    if q.kind != "service_user" {
        return Err(AppError::NotFound);
    }
    let mut e = FormErrors::default();
    let loc = field(&f, "location_id").trim().to_string();
    let known = crate::cqc::queries::location_exists(&state.db, &loc).await?;
    if !known {
        e.add(
            "location_id",
            "Enter the CQC location ID of the service, like 1-131732334",
        );
    }
    let on = caremarket_core::cqc::parse_date(&field(&f, "responded_on"), false).ok();
    if on.is_none() {
        e.add(
            "responded_on",
            "Enter the date of the answers, like 01/11/2026",
        );
    }
    let a = answers(&q, &f, &mut e);
    let comment = field(&f, "comment");
    check_comment(&comment, !field(&f, "confirm_no_names").is_empty(), &mut e);
    match on.filter(|_| e.is_empty()) {
        Some(on) => {
            save(
                &state,
                &Actor::from_ctx(&ctx),
                &q,
                About::Location(&loc),
                on,
                &a,
                &comment,
            )
            .await?;
            Ok(redirect_with_flash(
                &state,
                "/quality/questionnaires",
                "Answers recorded",
            ))
        }
        None => results_view(&state, &ctx, ResultsQuery::default(), e, f).await,
    }
}

#[derive(Template)]
#[template(path = "quality/survey.html")]
struct SurveyPage {
    page: PageCtx,
    errors: FormErrors,
    q: Questionnaire,
    done_this_year: bool,
    typed: Pairs,
    scale: Vec<(usize, &'static str)>,
    warn_names: bool,
}

impl SurveyPage {
    fn typed(&self, k: &str) -> String {
        field(&self.typed, k)
    }
}

async fn survey_q(state: &AppState) -> Result<Questionnaire> {
    questionnaires(state)
        .await?
        .into_iter()
        .find(|q| q.kind == "provider_survey")
        .ok_or(AppError::NotFound)
}

async fn survey_view(
    state: &AppState,
    ctx: &RequestCtx,
    errors: FormErrors,
    typed: Pairs,
) -> Result<Response> {
    let q = survey_q(state).await?;
    let p = ctx.user()?.acting_for()?.own_provider()?;
    let year = state.clock.now().year();
    let done: i64 = state
        .db
        .q()
        .scalar(
            "SELECT COUNT(*) FROM questionnaire_responses WHERE questionnaire_id = $1 AND provider_id = $2 AND responded_on >= $3",
            args![q.id, &p, NaiveDate::from_ymd_opt(year, 1, 1)],
        )
        .await?;
    render_status(
        errors.status(),
        &SurveyPage {
            page: PageCtx::new(state, ctx, "Your survey of the council"),
            warn_names: errors
                .get("comment")
                .is_some_and(|m| m.contains("tick the box")),
            errors,
            q,
            done_this_year: done > 0,
            typed,
            scale: SCALE.iter().enumerate().map(|(i, s)| (i + 1, *s)).collect(),
        },
    )
}

async fn survey_page(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response> {
    survey_view(&state, &ctx, FormErrors::default(), Pairs::new()).await
}

/// A provider answers the annual survey of the council: once a year.
async fn survey_submit(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    let q = survey_q(&state).await?;
    let p = ctx.user()?.acting_for()?.own_provider()?;
    let mut e = FormErrors::default();
    let a = answers(&q, &f, &mut e);
    let comment = field(&f, "comment");
    check_comment(&comment, !field(&f, "confirm_no_names").is_empty(), &mut e);
    let today = state.clock.now().date_naive();
    let done: i64 = state
        .db
        .q()
        .scalar(
            "SELECT COUNT(*) FROM questionnaire_responses WHERE questionnaire_id = $1 AND provider_id = $2 AND responded_on >= $3",
            args![q.id, &p, NaiveDate::from_ymd_opt(today.year(), 1, 1)],
        )
        .await?;
    if done > 0 {
        e.add(
            "comment",
            "Your organisation has already answered this year's survey",
        );
    }
    if !e.is_empty() {
        return survey_view(&state, &ctx, e, f).await;
    }
    match save(
        &state,
        &Actor::from_ctx(&ctx),
        &q,
        About::Provider(&p),
        today,
        &a,
        &comment,
    )
    .await
    {
        Ok(_) => {}
        // Two submits at once: the database let one in.
        Err(crate::AppError::Db(e)) if crate::web::error::is_unique_violation(&e) => {
            let mut e = FormErrors::default();
            e.add(
                "comment",
                "Your organisation has already answered this year's survey",
            );
            return survey_view(&state, &ctx, e, f).await;
        }
        Err(e) => return Err(e),
    }
    Ok(redirect_with_flash(
        &state,
        "/quality/survey",
        "Thank you: your answers are recorded",
    ))
}

#[utoipa::path(get, path = "/api/v1/quality/questionnaires/{id}/results", tag = "quality", params(("id" = i64, Path), ResultsQuery), responses((status = 200, body = Results)))]
pub async fn api_results(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<ResultsQuery>,
) -> Result<Json<Results>> {
    Ok(Json(results(&state, id, &q).await?))
}
