//! Pages and API for thematic analysis: the issues log with suggested themes, the themes
//! (configurable), counts by theme with training offers and signposting, the training
//! catalogue and the QA report.

use askama::Template;
use axum::Json;
use axum::extract::{Form, Path, Query, State};
use axum::response::Response;
use caremarket_core::Role;
use caremarket_core::themes::QUALITY_STATEMENTS;
use chrono::NaiveDate;

use super::themes::{self as th, IssueInput, OfferInput, Scope, ThemeInput};
use crate::audit::Actor;
use crate::export::{Table, Value};
use crate::web::forms::FormErrors;
use crate::web::layout::render_status;
use crate::web::redirect_with_flash;
use crate::web::roles::{COMMISSIONERS, COUNCIL};
use crate::web::{PageCtx, RequestCtx, RouteDef, get, post, render};
use crate::{AppError, AppState, Result};

pub fn routes() -> Vec<RouteDef> {
    vec![
        get("/quality/themes", COUNCIL, analysis_page),
        get("/quality/themes/manage", COMMISSIONERS, manage_page),
        get("/quality/themes/new", COMMISSIONERS, theme_new),
        post("/quality/themes/new", COMMISSIONERS, theme_create),
        get("/quality/themes/{id}", COMMISSIONERS, theme_edit),
        post("/quality/themes/{id}", COMMISSIONERS, theme_update),
        get("/quality/issues", COMMISSIONERS, issues_page),
        post("/quality/issues", COMMISSIONERS, issue_create),
        crate::web::with_body_limit(
            post("/quality/issues/upload", COMMISSIONERS, issues_upload),
            crate::web::COUNCIL_UPLOAD_LIMIT,
        ),
        get("/quality/training", COUNCIL, training_page),
        post("/quality/training", COMMISSIONERS, offer_create),
        post(
            "/quality/training/{id}/withdraw",
            COMMISSIONERS,
            offer_withdraw,
        ),
        get("/quality/report", COUNCIL, report_page),
        get("/quality/report.pdf", COUNCIL, report_pdf),
        get("/api/v1/quality/themes", COUNCIL, api_analysis),
        get("/api/v1/quality/issues", COMMISSIONERS, api_issues),
        post("/api/v1/quality/issues", COMMISSIONERS, api_issue_create),
    ]
}

/// The period and locations an analysis covers, as a query string gives them.
#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
pub struct ScopeQuery {
    /// First day of the period (YYYY-MM-DD)
    pub from: Option<String>,
    /// Last day of the period (YYYY-MM-DD)
    pub to: Option<String>,
    /// "all" for every location with issues; otherwise the contracted market (default)
    pub locations: Option<String>,
    /// Only this contract type (with the contracted market)
    pub contract_type: Option<String>,
    /// Only locations in this council (as CQC names it)
    pub council: Option<String>,
    /// csv or xlsx, for the table as a download
    pub format: Option<String>,
}

fn parse_day(s: &Option<String>, what: &str) -> Result<Option<NaiveDate>> {
    match s.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(v) => caremarket_core::cqc::parse_date(v, false)
            .map(Some)
            .map_err(|_| AppError::BadRequest(format!("{what} must be a date like 2023-06-30"))),
    }
}

impl ScopeQuery {
    fn scope(&self) -> Result<Scope> {
        let ct = self.contract_type.clone().filter(|t| !t.trim().is_empty());
        if let Some(t) = &ct
            && !super::CONTRACT_TYPES.iter().any(|(k, _)| k == t)
        {
            return Err(AppError::BadRequest(format!("unknown contract type {t:?}")));
        }
        Ok(Scope {
            from: parse_day(&self.from, "from")?,
            to: parse_day(&self.to, "to")?,
            contracted: self.locations.as_deref() != Some("all"),
            contract_type: ct,
            council: self.council.clone().filter(|c| !c.trim().is_empty()),
        })
    }
    /// The same scope as a query string, for links and downloads.
    fn query(&self) -> String {
        let pairs: Vec<(&str, &str)> = [
            ("from", &self.from),
            ("to", &self.to),
            ("locations", &self.locations),
            ("contract_type", &self.contract_type),
            ("council", &self.council),
        ]
        .iter()
        .filter_map(|(k, v)| v.as_deref().filter(|v| !v.is_empty()).map(|v| (*k, v)))
        .collect();
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
}

fn analysis_table(a: &th::Analysis) -> Table {
    Table {
        title: "Issues by theme".into(),
        headers: [
            "Theme",
            "Issues",
            "Locations",
            "Training offers",
            "No offer (gap)",
            "Providers to signpost",
            "CQC quality statements",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        rows: a
            .themes
            .iter()
            .map(|t| {
                vec![
                    Value::Text(t.theme.clone()),
                    Value::Int(t.issues as i64),
                    Value::Int(t.locations as i64),
                    Value::Text(
                        t.offers
                            .iter()
                            .map(|(o, by)| format!("{o} ({by})"))
                            .collect::<Vec<_>>()
                            .join("; "),
                    ),
                    Value::Text(if t.gap { "Yes".into() } else { String::new() }),
                    Value::Text(
                        t.signpost
                            .iter()
                            .map(|s| s.provider_name.clone())
                            .collect::<Vec<_>>()
                            .join("; "),
                    ),
                    Value::Text(t.quality_statements.join("; ")),
                ]
            })
            .collect(),
    }
}

fn theme_chart(a: &th::Analysis, id: &str) -> String {
    let bars: Vec<(String, f64, String)> = a
        .themes
        .iter()
        .filter(|t| t.issues > 0)
        .map(|t| (t.theme.clone(), t.issues as f64, t.issues.to_string()))
        .collect();
    crate::charts::bar_chart(
        id,
        "Issues by theme",
        &format!(
            "{} issues at {} locations, counted under each theme they concern, most first.",
            a.issues, a.locations
        ),
        &bars,
        None,
    )
}

#[derive(Template)]
#[template(path = "quality/themes.html")]
struct AnalysisPage {
    page: PageCtx,
    a: th::Analysis,
    q: ScopeQuery,
    qs: String,
    chart: String,
    types: Vec<(String, String)>,
}

async fn analysis_page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Query(q): Query<ScopeQuery>,
) -> Result<Response> {
    let a = th::analysis(&state, &q.scope()?).await?;
    if let Some(fmt) = q.format.as_deref() {
        return crate::export::download(&analysis_table(&a), fmt, "issues-by-theme");
    }
    render(&AnalysisPage {
        page: PageCtx::new(&state, &ctx, "Issues by theme"),
        chart: theme_chart(&a, "themes-chart"),
        qs: q.query(),
        types: super::CONTRACT_TYPES
            .iter()
            .map(|(k, l)| (k.to_string(), l.to_string()))
            .collect(),
        a,
        q,
    })
}

#[utoipa::path(get, path = "/api/v1/quality/themes", tag = "quality", params(ScopeQuery), responses((status = 200, body = th::Analysis)))]
pub async fn api_analysis(
    State(state): State<AppState>,
    Query(q): Query<ScopeQuery>,
) -> Result<Json<th::Analysis>> {
    Ok(Json(th::analysis(&state, &q.scope()?).await?))
}

#[derive(Template)]
#[template(path = "quality/themes_manage.html")]
struct ManagePage {
    page: PageCtx,
    themes: Vec<th::Theme>,
}

async fn manage_page(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response> {
    render(&ManagePage {
        page: PageCtx::new(&state, &ctx, "Themes"),
        themes: th::themes(&state, false).await?,
    })
}

#[derive(Template)]
#[template(path = "quality/theme_form.html")]
struct ThemeForm {
    page: PageCtx,
    errors: FormErrors,
    id: Option<i64>,
    t: ThemeInput,
    /// (key question, [(statement, checked)])
    statements: Vec<(String, Vec<(String, bool)>)>,
}

fn theme_form(
    state: &AppState,
    ctx: &RequestCtx,
    errors: FormErrors,
    id: Option<i64>,
    t: ThemeInput,
) -> Result<Response> {
    let mut groups: Vec<(String, Vec<(String, bool)>)> = Vec::new();
    for (kq, s) in QUALITY_STATEMENTS {
        let checked = t
            .quality_statements
            .iter()
            .any(|x| x.eq_ignore_ascii_case(s));
        match groups.last_mut() {
            Some((k, v)) if k == kq => v.push((s.to_string(), checked)),
            _ => groups.push((kq.to_string(), vec![(s.to_string(), checked)])),
        }
    }
    render_status(
        errors.status(),
        &ThemeForm {
            page: PageCtx::new(
                state,
                ctx,
                if id.is_some() {
                    "Change a theme"
                } else {
                    "Add a theme"
                },
            ),
            errors,
            id,
            t,
            statements: groups,
        },
    )
}

async fn theme_new(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response> {
    theme_form(
        &state,
        &ctx,
        FormErrors::default(),
        None,
        ThemeInput {
            training_need: true,
            active: true,
            ..Default::default()
        },
    )
}

async fn theme_edit(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    let t = th::theme(&state, id).await?;
    theme_form(
        &state,
        &ctx,
        FormErrors::default(),
        Some(id),
        ThemeInput {
            name: t.name.clone(),
            key_phrases: t.key_phrases.clone(),
            quality_statements: t.statements(),
            training_need: t.training_need,
            active: t.active,
        },
    )
}

// Repeated checkboxes (statement, theme) all arrive when the form is read as pairs.
use crate::web::forms::{Pairs, all_of, field};

fn ids_of(f: &Pairs, name: &str) -> Vec<i64> {
    // A value that is not a number is not one of the listed themes: it is kept as -1 so that
    // validation says so instead of the value vanishing.
    all_of(f, name)
        .iter()
        .map(|v| v.trim().parse().unwrap_or(-1))
        .collect()
}

fn theme_input(f: &Pairs) -> ThemeInput {
    ThemeInput {
        name: field(f, "name"),
        key_phrases: field(f, "key_phrases"),
        quality_statements: all_of(f, "statement"),
        training_need: !field(f, "training_need").is_empty(),
        active: !field(f, "active").is_empty(),
    }
}

async fn theme_create(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    let t = theme_input(&f);
    match th::save_theme(&state, &Actor::from_ctx(&ctx), None, &t).await? {
        Ok(_) => Ok(redirect_with_flash(
            &state,
            "/quality/themes/manage",
            &format!("Theme {} added", t.name.trim()),
        )),
        Err(e) => theme_form(&state, &ctx, e, None, t),
    }
}

async fn theme_update(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    th::theme(&state, id).await?;
    let t = theme_input(&f);
    match th::save_theme(&state, &Actor::from_ctx(&ctx), Some(id), &t).await? {
        Ok(_) => Ok(redirect_with_flash(
            &state,
            "/quality/themes/manage",
            &format!("Theme {} saved", t.name.trim()),
        )),
        Err(e) => theme_form(&state, &ctx, e, Some(id), t),
    }
}

#[derive(Template)]
#[template(path = "quality/issues.html")]
struct IssuesPage {
    page: PageCtx,
    errors: FormErrors,
    i: IssueInput,
    sources: Vec<(String, String)>,
    /// (id, name, checked, phrases that suggested it)
    themes: Vec<(i64, String, bool, String)>,
    suggested: bool,
    warn_names: bool,
    issues: Vec<th::IssueRow>,
    /// The problems of a refused issues file, row by row
    problems: String,
}

async fn issues_view(
    state: &AppState,
    ctx: &RequestCtx,
    errors: FormErrors,
    i: IssueInput,
    suggestions: Option<Vec<(i64, Vec<String>)>>,
) -> Result<Response> {
    issues_view_with(state, ctx, errors, i, suggestions, String::new()).await
}

async fn issues_view_with(
    state: &AppState,
    ctx: &RequestCtx,
    errors: FormErrors,
    i: IssueInput,
    suggestions: Option<Vec<(i64, Vec<String>)>>,
    problems: String,
) -> Result<Response> {
    let themes = th::themes(state, true).await?;
    let sugg = suggestions.clone().unwrap_or_default();
    let rows = th::issue_rows(
        state,
        &Scope {
            contracted: false,
            ..Default::default()
        },
    )
    .await?;
    render_status(
        errors.status(),
        &IssuesPage {
            page: PageCtx::new(state, ctx, "Issues found"),
            warn_names: errors
                .get("text")
                .is_some_and(|m| m.contains("tick the box")),
            errors,
            sources: th::SOURCES
                .iter()
                .map(|(k, l)| (k.to_string(), l.to_string()))
                .collect(),
            themes: themes
                .iter()
                .map(|t| {
                    let hit = sugg.iter().find(|(id, _)| *id == t.id);
                    (
                        t.id,
                        t.name.clone(),
                        i.theme_ids.contains(&t.id),
                        hit.map(|(_, p)| p.join(", ")).unwrap_or_default(),
                    )
                })
                .collect(),
            suggested: suggestions.is_some(),
            issues: rows.into_iter().take(500).collect(),
            problems,
            i,
        },
    )
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct IssuesQuery {
    /// Record an issue found on this QA visit: the form starts with its location and date.
    pub visit: Option<i64>,
}

async fn issues_page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Query(q): Query<IssuesQuery>,
) -> Result<Response> {
    let mut i = IssueInput::default();
    if let Some(id) = q.visit {
        let (v, _) = super::visit(&state, id).await?.ok_or(AppError::NotFound)?;
        i.location_id = v.location_id;
        i.found_date = v.visit_date.format("%d/%m/%Y").to_string();
        i.source = "qaf_visit".into();
        i.visit_id = Some(id);
    }
    issues_view(&state, &ctx, FormErrors::default(), i, None).await
}

/// "Suggest themes" re-shows the form with the suggested themes ticked (nothing is saved);
/// "Save issue" records it with the themes the officer left ticked.
async fn issue_create(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    let mut i = IssueInput {
        location_id: field(&f, "location_id"),
        source: field(&f, "source"),
        found_date: field(&f, "found_date"),
        text: field(&f, "text"),
        visit_id: field(&f, "visit_id").trim().parse().ok(),
        theme_ids: ids_of(&f, "theme"),
        confirm_no_names: !field(&f, "confirm_no_names").is_empty(),
    };
    if field(&f, "action") == "suggest" {
        let themes = th::themes(&state, true).await?;
        let s = th::suggest(&themes, &i.text);
        i.theme_ids = s.iter().map(|(id, _)| *id).collect();
        let mut errors = FormErrors::default();
        if i.text.trim().is_empty() {
            errors.add("text", "Describe the issue found, then ask for suggestions");
        }
        return issues_view(&state, &ctx, errors, i, Some(s)).await;
    }
    match th::record_issue(&state, &Actor::from_ctx(&ctx), &i).await? {
        Ok(_) => Ok(redirect_with_flash(
            &state,
            "/quality/issues",
            "Issue recorded",
        )),
        Err(e) => issues_view(&state, &ctx, e, i, None).await,
    }
}

/// A file of issues (CSV or XLSX): all or nothing, with the problems row by row.
async fn issues_upload(
    State(state): State<AppState>,
    ctx: RequestCtx,
    up: crate::web::forms::Upload,
) -> Result<Response> {
    let mut errors = FormErrors::default();
    let Some((name, bytes)) = &up.file else {
        errors.add("file", "Select a file of issues (CSV or XLSX)");
        return issues_view(&state, &ctx, errors, IssueInput::default(), None).await;
    };
    let opts = th::IssueImportOptions {
        accept_suggestions: up.ticked("accept_suggestions"),
        confirm_no_names: up.ticked("file_confirm_no_names"),
    };
    match th::import_issues(&state, &Actor::from_ctx(&ctx), name, bytes, opts).await {
        Ok(r) => Ok(redirect_with_flash(
            &state,
            "/quality/issues",
            &format!(
                "{} issues loaded from {name} ({} tagged with the suggested themes; {} already recorded)",
                r.added, r.tagged_by_suggestion, r.already
            ),
        )),
        Err(report) => {
            errors.add(
                "file",
                "The file was not loaded: nothing has changed. The problems are listed below.",
            );
            issues_view_with(&state, &ctx, errors, IssueInput::default(), None, report).await
        }
    }
}

#[utoipa::path(get, path = "/api/v1/quality/issues", tag = "quality", params(ScopeQuery), responses((status = 200, body = Vec<th::IssueRow>)))]
pub async fn api_issues(
    State(state): State<AppState>,
    Query(q): Query<ScopeQuery>,
) -> Result<Json<Vec<th::IssueRow>>> {
    let mut scope = q.scope()?;
    // The API lists every issue unless asked for the contracted market.
    scope.contracted = q.locations.as_deref() == Some("contracted");
    Ok(Json(th::issue_rows(&state, &scope).await?))
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct NewIssue {
    pub location_id: String,
    /// cqc_report, qaf_visit or other
    pub source: String,
    /// YYYY-MM-DD
    pub found_date: String,
    pub text: String,
    /// Theme ids; leave out to be told the suggested ones (nothing is saved)
    #[serde(default)]
    pub themes: Option<Vec<i64>>,
    #[serde(default)]
    pub confirm_no_names: bool,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct IssueCreated {
    pub id: Option<i64>,
    /// Suggested themes: (theme id, phrases that matched)
    pub suggested: Vec<(i64, Vec<String>)>,
}

#[utoipa::path(post, path = "/api/v1/quality/issues", tag = "quality", request_body = NewIssue, responses((status = 200, body = IssueCreated), (status = 422, description = "What to fix")))]
pub async fn api_issue_create(
    State(state): State<AppState>,
    ctx: RequestCtx,
    crate::web::json::ApiJson(b): crate::web::json::ApiJson<NewIssue>,
) -> Result<Json<IssueCreated>> {
    let themes = th::themes(&state, true).await?;
    let suggested = th::suggest(&themes, &b.text);
    let Some(ids) = b.themes else {
        return Ok(Json(IssueCreated {
            id: None,
            suggested,
        }));
    };
    let i = IssueInput {
        location_id: b.location_id,
        source: b.source,
        found_date: b.found_date,
        text: b.text,
        visit_id: None,
        theme_ids: ids,
        confirm_no_names: b.confirm_no_names,
    };
    match th::record_issue(&state, &Actor::from_ctx(&ctx), &i).await? {
        Ok(id) => Ok(Json(IssueCreated {
            id: Some(id),
            suggested,
        })),
        Err(e) => Err(crate::web::json::validation_problem(e)),
    }
}

#[derive(Template)]
#[template(path = "quality/training.html")]
struct TrainingPage {
    page: PageCtx,
    errors: FormErrors,
    o: OfferInput,
    /// (offer, theme names, providers to signpost)
    offers: Vec<(th::Offer, String, String)>,
    themes: Vec<(i64, String, bool)>,
    can_edit: bool,
}

async fn training_view(
    state: &AppState,
    ctx: &RequestCtx,
    errors: FormErrors,
    o: OfferInput,
) -> Result<Response> {
    let themes = th::themes(state, false).await?;
    let a = th::analysis(state, &Scope::default()).await?;
    let offers = th::offers(state)
        .await?
        .into_iter()
        .map(|(offer, ids)| {
            let names: Vec<String> = themes
                .iter()
                .filter(|t| ids.contains(&t.id))
                .map(|t| t.name.clone())
                .collect();
            let mut providers: Vec<String> = a
                .themes
                .iter()
                .filter(|t| ids.contains(&t.theme_id))
                .flat_map(|t| t.signpost.iter().map(|s| s.provider_name.clone()))
                .collect();
            providers.sort();
            providers.dedup();
            (offer, names.join("; "), providers.join("; "))
        })
        .collect();
    render_status(
        errors.status(),
        &TrainingPage {
            page: PageCtx::new(state, ctx, "Training offers"),
            errors,
            themes: themes
                .iter()
                .filter(|t| t.active)
                .map(|t| (t.id, t.name.clone(), o.theme_ids.contains(&t.id)))
                .collect(),
            o,
            offers,
            can_edit: ctx
                .user
                .as_ref()
                .is_some_and(|u| matches!(u.role, Role::Admin | Role::Commissioner)),
        },
    )
}

async fn training_page(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response> {
    training_view(&state, &ctx, FormErrors::default(), OfferInput::default()).await
}

async fn offer_create(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    let o = OfferInput {
        title: field(&f, "title"),
        delivered_by: field(&f, "delivered_by"),
        details: field(&f, "details"),
        theme_ids: ids_of(&f, "theme"),
    };
    match th::add_offer(&state, &Actor::from_ctx(&ctx), &o).await? {
        Ok(_) => Ok(redirect_with_flash(
            &state,
            "/quality/training",
            &format!("Training offer {} added", o.title.trim()),
        )),
        Err(e) => training_view(&state, &ctx, e, o).await,
    }
}

async fn offer_withdraw(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    th::withdraw_offer(&state, &Actor::from_ctx(&ctx), id).await?;
    Ok(redirect_with_flash(
        &state,
        "/quality/training",
        "Training offer withdrawn",
    ))
}

#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct ReportQuery {
    /// Changes and issues since this date (YYYY-MM-DD); default a year before `as_at`
    pub since: Option<String>,
    /// As at this date; default today
    pub as_at: Option<String>,
    pub contract_type: Option<String>,
}

#[derive(Template)]
#[template(path = "quality/report.html")]
struct ReportPage {
    service_name: String,
    today: String,
    since: NaiveDate,
    as_at: NaiveDate,
    scope_label: String,
    qs: String,
    t: super::SummaryTables,
    /// (rating, count at `since`, count at `as_at`)
    changes: Vec<(String, u64, u64)>,
    a: th::Analysis,
    chart: String,
    inline_css: Option<String>,
    for_file: bool,
}

/// The QA report in the shape of the 2023 Leicester quality of regulated care report: ratings of the contracted market, how they have
/// changed since a date, the themes of the issues found, and the training offers.
pub async fn report_html(state: &AppState, q: &ReportQuery, for_file: bool) -> Result<String> {
    let as_at = parse_day(&q.as_at, "as_at")?.unwrap_or_else(|| state.clock.now().date_naive());
    let since = parse_day(&q.since, "since")?.unwrap_or_else(|| {
        as_at
            .checked_sub_months(chrono::Months::new(12))
            .unwrap_or(as_at)
    });
    let ct = q.contract_type.clone().filter(|t| !t.is_empty());
    let sq = ScopeQuery {
        from: Some(since.to_string()),
        to: Some(as_at.to_string()),
        contract_type: ct.clone(),
        ..Default::default()
    };
    let scope = sq.scope()?;
    let t = super::summary_tables(state, ct.as_deref(), as_at).await?;
    let before = super::summary_tables(state, ct.as_deref(), since).await?;
    let changes = t
        .by_cqc
        .iter()
        .zip(&before.by_cqc)
        .map(|((label, now), (_, then))| (label.clone(), *then, *now))
        .collect();
    let a = th::analysis(state, &scope).await?;
    let scope_label = match &ct {
        Some(k) => super::CONTRACT_TYPES
            .iter()
            .find(|(x, _)| x == k)
            .map(|(_, l)| format!("{} contracts", l.to_lowercase()))
            .unwrap_or_default(),
        None => "all contracts".into(),
    };
    let page = ReportPage {
        service_name: state.settings().service_name.clone(),
        today: state.clock.now().format("%-d %B %Y").to_string(),
        since,
        as_at,
        scope_label,
        qs: serde_urlencoded::to_string([
            ("since", since.to_string()),
            ("as_at", as_at.to_string()),
            ("contract_type", ct.unwrap_or_default()),
        ])
        .unwrap_or_default(),
        t,
        changes,
        chart: theme_chart(&a, "report-themes"),
        a,
        inline_css: for_file.then(|| crate::web::assets::APP_CSS.to_string()),
        for_file,
    };
    page.render()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("template: {e}")))
}

async fn report_page(
    State(state): State<AppState>,
    Query(q): Query<ReportQuery>,
) -> Result<Response> {
    use axum::response::IntoResponse;
    Ok(axum::response::Html(report_html(&state, &q, false).await?).into_response())
}

async fn report_pdf(
    State(state): State<AppState>,
    Query(q): Query<ReportQuery>,
) -> Result<Response> {
    let html = report_html(&state, &q, true).await?;
    crate::export::pdf::respond(html, "quality-report.pdf").await
}
