//! Providers' self-assessments against the council's QAF (the Liverpool City Region care home redesign (Priority 3)'s "Quality Assurance
//! Self-Assessment Tool"): a grade per domain with notes, the overall grade by the council's
//! rule, kept as a history and shown beside the council's latest confirmed grades.

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::response::Response;
use caremarket_core::quality::overall_grade;
use chrono::{DateTime, NaiveDate, Utc};

use crate::audit::{self, Actor};
use crate::web::forms::{FormErrors, Pairs, field};
use crate::web::layout::render_status;
use crate::web::redirect_with_flash;
use crate::web::roles::{COMMISSIONERS, COMMISSIONERS_AND_PROVIDERS};
use crate::web::{PageCtx, RequestCtx, RouteDef, get, post, render};
use crate::{AppError, AppState, Result, args};

pub fn routes() -> Vec<RouteDef> {
    vec![
        get("/quality/self-assessments", COMMISSIONERS, list),
        get(
            "/quality/self-assessments/{location}",
            COMMISSIONERS_AND_PROVIDERS,
            page,
        ),
        post(
            "/quality/self-assessments/{location}",
            COMMISSIONERS_AND_PROVIDERS,
            submit,
        ),
    ]
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SelfAssessment {
    pub id: i64,
    pub location_id: String,
    pub assessed_on: NaiveDate,
    pub grades: String,
    pub overall_grade: String,
    pub submitted_by: String,
    pub submitted_at: DateTime<Utc>,
}

impl SelfAssessment {
    /// (domain, grade, notes)
    pub fn domains(&self) -> Vec<(String, String, String)> {
        serde_json::from_str(&self.grades).unwrap_or_default()
    }
}

pub async fn latest(state: &AppState, location: &str) -> Result<Option<SelfAssessment>> {
    Ok(state
        .db
        .q()
        .fetch_optional(
            "SELECT * FROM qaf_self_assessments WHERE location_id = $1 ORDER BY assessed_on DESC, id DESC LIMIT 1",
            args![location],
        )
        .await?)
}

/// The council's latest confirmed visit to the location: (overall grade, (domain, grade)).
async fn council_latest(
    state: &AppState,
    location: &str,
) -> Result<Option<(NaiveDate, String, Vec<(String, String)>)>> {
    let v: Option<(i64, NaiveDate, Option<String>)> = state
        .db
        .q()
        .fetch_optional(
            "SELECT id, visit_date, overall_grade FROM qaf_visits WHERE location_id = $1 AND status = 'confirmed' ORDER BY visit_date DESC, version DESC LIMIT 1",
            args![location],
        )
        .await?;
    let Some((id, date, overall)) = v else {
        return Ok(None);
    };
    let grades: Vec<(String, String)> = state
        .db
        .q()
        .fetch_all(
            "SELECT domain, grade FROM qaf_domain_grades WHERE visit_id = $1",
            args![id],
        )
        .await?;
    Ok(Some((date, overall.unwrap_or_default(), grades)))
}

async fn visible(state: &AppState, ctx: &RequestCtx, location: &str) -> Result<String> {
    let u = ctx.user()?;
    let name: Option<(String, Option<String>)> = state
        .db
        .q()
        .fetch_optional(
            "SELECT name, provider_id FROM cqc_locations WHERE location_id = $1",
            args![location],
        )
        .await?;
    let (name, provider) = name.ok_or(AppError::NotFound)?;
    if !u.acting_for()?.may_see(provider.as_deref()) {
        return Err(AppError::NotFound);
    }
    Ok(name)
}

#[derive(Template)]
#[template(path = "quality/self_assessment.html")]
struct Page {
    page: PageCtx,
    errors: FormErrors,
    location_id: String,
    name: String,
    /// (index, domain, typed grade, typed notes, council's grade)
    rows: Vec<(usize, String, String, String, String)>,
    grades: Vec<(String, String)>,
    assessed_on: String,
    latest: Option<SelfAssessment>,
    council: Option<(NaiveDate, String)>,
}

async fn view(
    state: &AppState,
    ctx: &RequestCtx,
    location: &str,
    errors: FormErrors,
    typed: Option<&Pairs>,
) -> Result<Response> {
    let name = visible(state, ctx, location).await?;
    let fw = state.settings().qaf.clone();
    let latest = latest(state, location).await?;
    let council = council_latest(state, location).await?;
    let saved = latest.as_ref().map(|l| l.domains()).unwrap_or_default();
    let rows = fw
        .domains
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let (g, n) = match typed {
                Some(t) => (
                    field(t, &format!("grade_{i}")),
                    field(t, &format!("notes_{i}")),
                ),
                None => saved
                    .iter()
                    .find(|s| s.0 == d.name)
                    .map(|s| (s.1.clone(), s.2.clone()))
                    .unwrap_or_default(),
            };
            let c = council
                .as_ref()
                .and_then(|c| c.2.iter().find(|x| x.0 == d.name).map(|x| x.1.clone()))
                .unwrap_or_default();
            (i, d.name.clone(), g, n, c)
        })
        .collect();
    render_status(
        errors.status(),
        &Page {
            page: PageCtx::new(state, ctx, format!("Self-assessment: {name}")),
            errors,
            location_id: location.to_string(),
            name,
            rows,
            grades: fw.scale.grades.clone(),
            assessed_on: typed.map(|t| field(t, "assessed_on")).unwrap_or_default(),
            council: council.map(|c| (c.0, c.1)),
            latest,
        },
    )
}

async fn page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(location): Path<String>,
) -> Result<Response> {
    view(&state, &ctx, &location, FormErrors::default(), None).await
}

async fn submit(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(location): Path<String>,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    visible(&state, &ctx, &location).await?;
    let fw = state.settings().qaf.clone();
    let mut e = FormErrors::default();
    let date = caremarket_core::cqc::parse_date(&field(&f, "assessed_on"), false).ok();
    if date.is_none_or(|d| d > state.clock.now().date_naive()) {
        e.add(
            "assessed_on",
            "Enter the date of the self-assessment, today or before, like 01/11/2026",
        );
    }
    let mut rows = Vec::new();
    for (i, d) in fw.domains.iter().enumerate() {
        let g = field(&f, &format!("grade_{i}"));
        if fw.scale.rank(&g).is_none() {
            e.add(
                &format!("grade_{i}"),
                format!("Select a grade for {}", d.name),
            );
        }
        rows.push((
            d.name.clone(),
            g.trim().to_uppercase(),
            field(&f, &format!("notes_{i}")).trim().to_string(),
        ));
    }
    if !e.is_empty() {
        return view(&state, &ctx, &location, e, Some(&f)).await;
    }
    let codes: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    let overall = overall_grade(&fw.scale, &codes, fw.rule)
        .map_err(|_| AppError::BadRequest("grades not on the scale".into()))?;
    let actor = Actor::from_ctx(&ctx);
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let id: i64 = tx
        .scalar(
            "INSERT INTO qaf_self_assessments (location_id, assessed_on, grades, overall_grade, submitted_by, submitted_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            args![&location, date, serde_json::to_string(&rows).unwrap_or_default(), &overall, &actor.name, now],
        )
        .await?;
    audit::entry("qaf_self_assessment.create", "qaf_self_assessment", id)
        .after(serde_json::json!({"location_id": location, "overall_grade": overall}))
        .write(&mut tx, &actor, now)
        .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &state,
        &format!("/quality/self-assessments/{location}"),
        "Self-assessment sent",
    ))
}

pub struct ListRow {
    pub location_id: String,
    pub name: String,
    pub assessed_on: NaiveDate,
    pub own: String,
    pub council: Option<String>,
    /// Grades the provider's own is better than the council's (negative: harsher)
    pub gap: Option<i64>,
}

#[derive(Template)]
#[template(path = "quality/self_assessments.html")]
struct ListPage {
    page: PageCtx,
    rows: Vec<ListRow>,
}

async fn list(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response> {
    let locs: Vec<(String,)> = state
        .db
        .q()
        .fetch_all(
            "SELECT DISTINCT location_id FROM qaf_self_assessments",
            args![],
        )
        .await?;
    let scale = state.settings().qaf.scale.clone();
    let mut rows = Vec::new();
    for (l,) in locs {
        let Some(s) = latest(&state, &l).await? else {
            continue;
        };
        let council = council_latest(&state, &l).await?.map(|c| c.1);
        let name: Option<String> = state
            .db
            .q()
            .scalar_optional(
                "SELECT name FROM cqc_locations WHERE location_id = $1",
                args![&l],
            )
            .await?;
        let gap = council
            .as_ref()
            .and_then(|c| Some(scale.rank(c)? as i64 - scale.rank(&s.overall_grade)? as i64));
        rows.push(ListRow {
            name: name.unwrap_or_else(|| l.clone()),
            location_id: l,
            assessed_on: s.assessed_on,
            own: s.overall_grade,
            council,
            gap,
        });
    }
    rows.sort_by(|a, b| {
        b.gap
            .unwrap_or(i64::MIN)
            .cmp(&a.gap.unwrap_or(i64::MIN))
            .then(a.name.cmp(&b.name))
    });
    render(&ListPage {
        page: PageCtx::new(&state, &ctx, "Self-assessments"),
        rows,
    })
}
