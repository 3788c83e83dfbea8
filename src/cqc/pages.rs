//! Pages and API for the CQC data: location search, location and provider profiles, the data
//! quality report, and imports (history and upload).

use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use caremarket_core::Role;
use chrono::NaiveDate;
use std::collections::BTreeMap;

use super::queries::{self, LocationRow, LocationSearch, PAGE_SIZE, RatingRow};
use super::{ImportFailure, ImportOptions, ImportOutcome, Kind, store};
use crate::audit::Actor;
use crate::web::forms::FormErrors;
use crate::web::layout::render_status;
use crate::web::roles::COMMISSIONERS;
use crate::web::{ADMIN, Access, PageCtx, RequestCtx, RouteDef, get, post, render};
use crate::{AppError, AppState, Result, args};

pub fn routes() -> Vec<RouteDef> {
    use Access::*;
    vec![
        get("/locations", SignedIn, search_page),
        get("/locations/{id}", SignedIn, location_page),
        get("/providers/{id}", SignedIn, provider_page),
        get("/data-quality", SignedIn, quality_page),
        get("/imports", COMMISSIONERS, imports_page),
        get("/imports/new", ADMIN, upload_form),
        // CQC's national files are tens of MB: above axum's 2 MB default for a body.
        crate::web::with_body_limit(
            post("/imports", ADMIN, upload_submit),
            crate::web::UPLOAD_LIMIT,
        ),
        get("/imports/{id}/rejects.csv", ADMIN, rejects_csv),
        get("/api/v1/locations", SignedIn, api_locations),
        get("/api/v1/locations/{id}", SignedIn, api_location),
        get("/api/v1/providers/{id}", SignedIn, api_provider),
        get("/api/v1/imports", COMMISSIONERS, api_imports),
    ]
}

/// A rating as a GOV.UK tag, readable without colour.
pub fn rating_tag(r: &str) -> &'static str {
    match r {
        "Outstanding" => "govuk-tag govuk-tag--green",
        "Good" => "govuk-tag govuk-tag--turquoise",
        "Requires improvement" => "govuk-tag govuk-tag--orange",
        "Inadequate" => "govuk-tag govuk-tag--red",
        _ => "govuk-tag govuk-tag--grey",
    }
}

fn fmt_date(d: &Option<NaiveDate>) -> String {
    d.map(|d| d.format("%-d %b %Y").to_string())
        .unwrap_or_default()
}

/// "How old" is measured from the data's own date (the latest edition loaded), as on the
/// dashboard and in the risk tool: one clock everywhere. With no data, today.
async fn as_of(state: &AppState) -> Result<NaiveDate> {
    // From the market picture, built once per data version: the same editions the dashboard
    // reads, without scanning every location's editions on each page.
    let all = crate::cqc::picture::all_facts(state, None).await?;
    Ok(all
        .data_date()
        .unwrap_or_else(|| state.clock.now().date_naive()))
}

#[derive(Template)]
#[template(path = "cqc/search.html")]
struct SearchPage {
    page: PageCtx,
    f: LocationSearch,
    rows: Vec<LocationRow>,
    total: i64,
    page_no: i64,
    pages: i64,
    query: String,
    areas: Vec<String>,
}

impl SearchPage {
    fn v<'a>(&self, o: &'a Option<String>) -> &'a str {
        o.as_deref().unwrap_or("")
    }
    fn tag(&self, r: &Option<String>) -> &'static str {
        rating_tag(r.as_deref().unwrap_or(""))
    }
    fn date(&self, d: &Option<NaiveDate>) -> String {
        fmt_date(d)
    }
}

fn query_string(f: &LocationSearch) -> String {
    let mut f = f.clone();
    f.page = None;
    serde_urlencoded::to_string(&f).unwrap_or_default()
}

async fn search_page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Query(f): Query<LocationSearch>,
) -> Result<Response> {
    let (rows, total) = queries::search(&state.db, &f, as_of(&state).await?, None).await?;
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let areas: Vec<(String,)> = state
        .db
        .q()
        .fetch_all("SELECT DISTINCT local_authority FROM cqc_locations WHERE local_authority IS NOT NULL ORDER BY 1", args![])
        .await?;
    render(&SearchPage {
        page: PageCtx::new(&state, &ctx, "Find a care location"),
        page_no: f.page.unwrap_or(1).clamp(1, pages),
        pages,
        query: query_string(&f),
        f,
        rows,
        total,
        areas: areas.into_iter().map(|a| a.0).collect(),
    })
}

#[derive(Template)]
#[template(path = "cqc/location.html")]
struct LocationPage {
    page: PageCtx,
    l: LocationRow,
    provider_name: String,
    current: Vec<(String, String, String, String)>,
    /// Which part of the own-rating rule decided, and the framework of the rating.
    rule: String,
    framework: Option<String>,
    /// Every registration of this home, earliest first, and whether two are live at once.
    registrations: Vec<super::identity::RegistrationRow>,
    dual: bool,
    timeline: Vec<(String, Vec<RatingRow>)>,
    services: Vec<(String, String)>,
    specialisms: Vec<String>,
    relationships: Vec<(String, String, String, String)>,
}

impl LocationPage {
    fn tag(&self, r: &str) -> &'static str {
        rating_tag(r)
    }
    fn date(&self, d: &Option<NaiveDate>) -> String {
        fmt_date(d)
    }
    fn framework_of(&self, f: &Option<String>) -> &'static str {
        match f.as_deref() {
            Some(f) => caremarket_core::own_rating::Framework::parse(f).label(),
            None => "",
        }
    }
    fn yes_no(&self, b: &Option<bool>) -> &'static str {
        match b {
            Some(true) => "Yes",
            Some(false) => "No",
            None => "Not known",
        }
    }
}

async fn location_page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<String>,
) -> Result<Response> {
    let l = queries::location(&state.db, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    let rels = queries::relationships_of(&state.db, &id).await?;
    // One home across its registrations (however long the chain): every registration is
    // listed and its ratings are one history.
    let registrations = super::identity::registrations_of(&state.db, &id).await?;
    let mut ids = vec![id.clone()];
    for r in &registrations {
        if !ids.contains(&r.location_id) {
            ids.push(r.location_id.clone());
        }
    }
    // Dual registration as the figures count it (cqc::identity::one_per_home): this
    // registration and one CQC links to it directly, both still registered. Two current
    // registrations that only share a predecessor are two homes.
    let live: std::collections::HashSet<&str> = registrations
        .iter()
        .filter(|r| {
            r.deregistration_date.is_none()
                && r.registration_status.as_deref() != Some("Deregistered")
        })
        .map(|r| r.location_id.as_str())
        .collect();
    let dual = live.contains(id.as_str())
        && rels.iter().any(|r| {
            let other = if r.location_id == id {
                &r.related_location_id
            } else {
                &r.location_id
            };
            live.contains(other.as_str())
        });
    let ratings = queries::ratings_of(&state.db, &ids).await?;
    // The current ratings are the location's own (caremarket_core::own_rating, kept on its
    // row at import): the key questions from the same group, with their SAF scores.
    let group = l
        .own_rating_group
        .clone()
        .unwrap_or_else(|| "Overall".into());
    let mut current = Vec::new();
    if let (Some(r), Some(d)) = (&l.overall_rating, l.overall_date) {
        current.push((
            "Overall".to_string(),
            r.clone(),
            d.format("%-d %B %Y").to_string(),
            String::new(),
        ));
    }
    for (d, kept) in [
        ("Safe", &l.safe_rating),
        ("Effective", &l.effective_rating),
        ("Caring", &l.caring_rating),
        ("Responsive", &l.responsive_rating),
        ("Well-led", &l.well_led_rating),
    ] {
        let Some(kept) = kept else { continue };
        let row = ratings.iter().find(|r| {
            r.location_id == id && r.service_group == group && r.domain == d && &r.rating == kept
        });
        current.push((
            d.to_string(),
            kept.clone(),
            row.map(|r| r.publication_date.format("%-d %B %Y").to_string())
                .unwrap_or_default(),
            row.and_then(|r| r.percentage_score)
                .map(|p| format!("{p}%"))
                .unwrap_or_default(),
        ));
    }
    use caremarket_core::own_rating::Decided;
    let decided = l
        .own_rating_basis
        .as_deref()
        .and_then(Decided::parse)
        .unwrap_or(Decided::NotRated);
    let rule = match decided {
        Decided::ServiceGroup => format!("{} ({group})", decided.label()),
        _ => decided.label().to_string(),
    };
    let framework = l.own_rating_framework.as_deref().map(|f| {
        caremarket_core::own_rating::Framework::parse(f)
            .label()
            .to_string()
    });
    let mut by_date: BTreeMap<(NaiveDate, String), Vec<RatingRow>> = BTreeMap::new();
    for r in ratings {
        by_date
            .entry((r.publication_date, r.location_id.clone()))
            .or_default()
            .push(r);
    }
    let timeline = by_date
        .into_iter()
        .rev()
        .map(|((d, loc), rows)| {
            let label = if loc == id {
                d.format("%-d %B %Y").to_string()
            } else {
                format!("{} (as {loc})", d.format("%-d %B %Y"))
            };
            (label, rows)
        })
        .collect();
    let services_all = queries::services_of(&state.db, &id).await?;
    let provider_name = match &l.provider_id {
        Some(p) => queries::provider(&state.db, p)
            .await?
            .and_then(|p| p.name)
            .unwrap_or_else(|| p.clone()),
        None => String::new(),
    };
    render(&LocationPage {
        page: PageCtx::new(&state, &ctx, l.name.clone()),
        provider_name,
        current,
        rule,
        framework,
        registrations: if registrations.len() > 1 {
            registrations
        } else {
            vec![]
        },
        dual,
        timeline,
        specialisms: services_all
            .iter()
            .filter(|s| s.0 == "specialism")
            .map(|s| s.1.clone())
            .collect(),
        services: services_all
            .into_iter()
            .filter(|s| s.0 != "specialism")
            .collect(),
        relationships: rels
            .into_iter()
            .map(|r| {
                let (other, dir) = if r.location_id == id {
                    (r.related_location_id, "is a successor of")
                } else {
                    (r.location_id, "is followed by")
                };
                (
                    other,
                    dir.to_string(),
                    r.relation_type,
                    r.reason.unwrap_or_default(),
                )
            })
            .collect(),
        l,
    })
}

#[derive(Template)]
#[template(path = "cqc/provider.html")]
struct ProviderPage {
    page: PageCtx,
    p: queries::ProviderRow,
    locations: Vec<LocationRow>,
}

impl ProviderPage {
    fn tag(&self, r: &Option<String>) -> &'static str {
        rating_tag(r.as_deref().unwrap_or(""))
    }
}

async fn provider_page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<String>,
) -> Result<Response> {
    let p = queries::provider(&state.db, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    let locations = queries::provider_locations(&state.db, &id).await?;
    render(&ProviderPage {
        page: PageCtx::new(&state, &ctx, p.name.clone().unwrap_or_else(|| id.clone())),
        p,
        locations,
    })
}

#[derive(Template)]
#[template(path = "cqc/quality.html")]
struct QualityPage {
    page: PageCtx,
    area: String,
    lists: Vec<(&'static str, &'static str, i64)>,
    area_q: String,
    decided: Vec<(&'static str, i64)>,
    care_home_bases: Vec<(&'static str, i64)>,
    /// The data's own date, from which ages are measured.
    data_date: String,
}

#[derive(serde::Deserialize)]
struct AreaQuery {
    area: Option<String>,
}

async fn quality_page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Query(q): Query<AreaQuery>,
) -> Result<Response> {
    let area = q.area.clone().filter(|a| !a.trim().is_empty());
    let as_of = as_of(&state).await?;
    let lists = queries::quality_counts(&state.db, area.clone(), as_of).await?;
    let (decided, care_home_bases) = queries::rule_counts(&state.db, area.clone(), as_of).await?;
    render(&QualityPage {
        page: PageCtx::new(&state, &ctx, "Data quality"),
        area_q: area
            .as_ref()
            .map(|a| {
                format!(
                    "&area={}",
                    serde_urlencoded::to_string([("", a)])
                        .unwrap_or_default()
                        .trim_start_matches('=')
                )
            })
            .unwrap_or_default(),
        area: area.unwrap_or_default(),
        lists,
        decided,
        care_home_bases,
        data_date: as_of.format("%-d %B %Y").to_string(),
    })
}

#[derive(Template)]
#[template(path = "cqc/imports.html")]
struct ImportsPage {
    page: PageCtx,
    imports: Vec<store::ImportRow>,
    is_admin: bool,
}

async fn imports_page(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response> {
    render(&ImportsPage {
        page: PageCtx::new(&state, &ctx, "CQC data imports"),
        imports: store::imports(&state.db).await?,
        is_admin: ctx.user.as_ref().is_some_and(|u| u.role == Role::Admin),
    })
}

#[derive(Template)]
#[template(path = "cqc/upload.html")]
struct UploadPage {
    page: PageCtx,
    errors: FormErrors,
    kind: String,
    edition: String,
    date_order: String,
    skip_invalid: bool,
    result: Option<UploadResult>,
}

struct UploadResult {
    heading: String,
    lines: Vec<String>,
    warnings: Vec<String>,
    problems: Vec<crate::import::RowProblem>,
    more_problems: usize,
    rejects_link: Option<String>,
}

async fn upload_form(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response> {
    render(&UploadPage {
        page: PageCtx::new(&state, &ctx, "Import CQC data"),
        errors: FormErrors::default(),
        kind: "auto".into(),
        edition: String::new(),
        date_order: "auto".into(),
        skip_invalid: false,
        result: None,
    })
}

async fn upload_submit(
    State(state): State<AppState>,
    ctx: RequestCtx,
    up: crate::web::forms::Upload,
) -> Result<Response> {
    let kind = up.field("kind").to_string();
    let edition = up.field("edition").trim().to_string();
    let skip_invalid = up.ticked("skip_invalid");
    let date_order_field = up.field("date_order").to_string();
    let file = up.file;
    let mut errors = FormErrors::default();
    // "auto" (the default): worked out from the file, and said.
    let k = Kind::parse(&kind).filter(|k| *k != Kind::Sync);
    if k.is_none() && kind != "auto" && !kind.is_empty() {
        errors.add(
            "kind",
            "Select which CQC file this is, or let caremarket work it out",
        );
    }
    let date_order = caremarket_core::cqc::DateOrder::parse(&date_order_field);
    if date_order.is_none() && !matches!(date_order_field.as_str(), "" | "auto") {
        errors.add("date_order", "Select how the dates are written");
    }
    let ed = if edition.is_empty() {
        None
    } else {
        match caremarket_core::cqc::parse_date(&edition, false) {
            Ok(d) => Some(d),
            Err(_) => {
                errors.add(
                    "edition",
                    "Enter the edition as a date, like 01/02/2021, or leave it empty",
                );
                None
            }
        }
    };
    if file.is_none() {
        errors.add("file", "Select a file to import");
    }
    let reshow = |errors: FormErrors, result: Option<UploadResult>, status: StatusCode| {
        render_status(
            status,
            &UploadPage {
                page: PageCtx::new(&state, &ctx, "Import CQC data"),
                errors,
                kind: kind.clone(),
                edition: edition.clone(),
                date_order: date_order_field.clone(),
                skip_invalid,
                result,
            },
        )
    };
    let (Some((name, bytes)), true) = (file, errors.is_empty()) else {
        return reshow(errors, None, StatusCode::UNPROCESSABLE_ENTITY);
    };
    let opts = ImportOptions {
        edition: ed,
        skip_invalid,
        parse: super::parse::ParseOptions { date_order },
    };
    match super::import_owned(&state, &Actor::from_ctx(&ctx), k, &name, bytes, &opts).await {
        Ok(r) => {
            let (heading, lines, rejects_link) = match &r.outcome {
                ImportOutcome::AlreadyImported(prev) => (
                    "This file was already imported".to_string(),
                    vec![format!(
                        "It is import #{} of {}, edition {}. Nothing has changed.",
                        prev.id,
                        prev.started_at.format("%-d %b %Y %H:%M"),
                        prev.edition
                    )],
                    None,
                ),
                ImportOutcome::Imported(row) => {
                    // The next dashboard should not wait for the new market picture.
                    crate::cqc::picture::warm(&state);
                    // Kept with the import, in its transaction.
                    let link = r
                        .rejects_csv
                        .as_ref()
                        .map(|_| format!("/imports/{}/rejects.csv", row.id));
                    (
                        format!("{} imported", row.file_name),
                        vec![
                            match &r.detected {
                                Some(why) => format!("{} file: {why}", r.kind.label()),
                                None => format!("{} file", r.kind.label()),
                            },
                            format!("Edition {}", row.edition.format("%-d %B %Y")),
                            format!(
                                "{} rows read, {} imported, {} rejected",
                                row.rows_read, row.rows_in, row.rows_rejected
                            ),
                            format!("{} new locations and ratings", row.rows_changed),
                            if r.unknown_columns.is_empty() {
                                "Every column was used".into()
                            } else {
                                format!("Columns not used: {}", r.unknown_columns.join(", "))
                            },
                        ],
                        link,
                    )
                }
            };
            reshow(
                FormErrors::default(),
                Some(UploadResult {
                    heading,
                    lines,
                    warnings: r.warnings,
                    more_problems: r.problems.len().saturating_sub(50),
                    problems: r.problems.into_iter().take(50).collect(),
                    rejects_link,
                }),
                StatusCode::OK,
            )
        }
        Err(ImportFailure::File(e)) => {
            let mut errors = FormErrors::default();
            errors.add("file", e.0);
            reshow(errors, None, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(ImportFailure::Rows { problems, .. }) => {
            let mut errors = FormErrors::default();
            errors.add(
                "file",
                format!("The file has {} problem{}; nothing was imported. Fix them, or tick \"Import the valid rows\".", problems.len(), if problems.len() == 1 { "" } else { "s" }),
            );
            reshow(
                errors,
                Some(UploadResult {
                    heading: "Problems found".into(),
                    lines: vec![],
                    warnings: vec![],
                    more_problems: problems.len().saturating_sub(50),
                    problems: problems.into_iter().take(50).collect(),
                    rejects_link: None,
                }),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(ImportFailure::Internal(e)) => Err(e),
    }
}

async fn rejects_csv(State(state): State<AppState>, Path(id): Path<i64>) -> Result<Response> {
    let csv: Option<String> = state
        .db
        .q()
        .scalar_optional(
            "SELECT csv FROM cqc_import_rejects WHERE import_id = $1",
            args![id],
        )
        .await?;
    let csv = csv.ok_or(AppError::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"import-{id}-rejected-rows.csv\""),
            ),
        ],
        csv,
    )
        .into_response())
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct LocationList {
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
    pub locations: Vec<LocationRow>,
}

#[utoipa::path(get, path = "/api/v1/locations", tag = "cqc", params(LocationSearch), responses((status = 200, body = LocationList)))]
pub async fn api_locations(
    State(state): State<AppState>,
    Query(f): Query<LocationSearch>,
) -> Result<Json<LocationList>> {
    let (locations, total) = queries::search(&state.db, &f, as_of(&state).await?, None).await?;
    Ok(Json(LocationList {
        total,
        page: f.page.unwrap_or(1).max(1),
        per_page: PAGE_SIZE,
        locations,
    }))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct LocationDetail {
    #[serde(flatten)]
    pub location: LocationRow,
    pub ratings: Vec<RatingRow>,
    pub service_types: Vec<String>,
    pub specialisms: Vec<String>,
    pub regulated_activities: Vec<String>,
    pub relationships: Vec<queries::RelationshipRow>,
}

#[utoipa::path(get, path = "/api/v1/locations/{id}", tag = "cqc", params(("id" = String, Path, description = "CQC location ID")),
    responses((status = 200, body = LocationDetail), (status = 404, description = "No such location")))]
pub async fn api_location(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<LocationDetail>> {
    let location = queries::location(&state.db, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    let services = queries::services_of(&state.db, &id).await?;
    let pick = |k: &str| {
        services
            .iter()
            .filter(|s| s.0 == k)
            .map(|s| s.1.clone())
            .collect::<Vec<_>>()
    };
    Ok(Json(LocationDetail {
        ratings: queries::ratings_of(&state.db, std::slice::from_ref(&id)).await?,
        service_types: pick("service_type"),
        specialisms: pick("specialism"),
        regulated_activities: pick("regulated_activity"),
        relationships: queries::relationships_of(&state.db, &id).await?,
        location,
    }))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ProviderDetail {
    #[serde(flatten)]
    pub provider: queries::ProviderRow,
    pub locations: Vec<LocationRow>,
}

#[utoipa::path(get, path = "/api/v1/providers/{id}", tag = "cqc", params(("id" = String, Path, description = "CQC provider ID")),
    responses((status = 200, body = ProviderDetail), (status = 404, description = "No such provider")))]
pub async fn api_provider(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ProviderDetail>> {
    let provider = queries::provider(&state.db, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Json(ProviderDetail {
        locations: queries::provider_locations(&state.db, &id).await?,
        provider,
    }))
}

#[utoipa::path(get, path = "/api/v1/imports", tag = "cqc", responses((status = 200, body = Vec<store::ImportRow>)))]
pub async fn api_imports(State(state): State<AppState>) -> Result<Json<Vec<store::ImportRow>>> {
    Ok(Json(store::imports(&state.db).await?))
}
