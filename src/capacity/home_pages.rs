//! A care home's vacancies, kept by its provider (or corrected by the council's officers):
//! the form for each home and for all of a provider's homes, the CSV round trip, and the API.
//! Providers keep their own homes' figures; the council's officers can correct any.

use askama::Template;
use axum::Json;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use caremarket_core::capacity::BedFigures;

use super::{FigureInput, Home, Refused};
use crate::audit::Actor;
use crate::web::forms::FormErrors;
use crate::web::layout::render_status;
use crate::web::redirect_with_flash;
use crate::web::roles::COMMISSIONERS_AND_PROVIDERS;
use crate::web::{PageCtx, RequestCtx, RouteDef, get, post, put};
use crate::{AppError, AppState, Result};

pub fn routes() -> Vec<RouteDef> {
    vec![
        get("/capacity/homes", COMMISSIONERS_AND_PROVIDERS, homes_page),
        post("/capacity/homes", COMMISSIONERS_AND_PROVIDERS, homes_save),
        get(
            "/capacity/homes.csv",
            COMMISSIONERS_AND_PROVIDERS,
            homes_csv,
        ),
        crate::web::with_body_limit(
            post(
                "/capacity/homes/upload",
                COMMISSIONERS_AND_PROVIDERS,
                homes_upload,
            ),
            crate::web::COUNCIL_UPLOAD_LIMIT,
        ),
        get(
            "/capacity/homes/{id}",
            COMMISSIONERS_AND_PROVIDERS,
            home_page,
        ),
        post(
            "/capacity/homes/{id}",
            COMMISSIONERS_AND_PROVIDERS,
            home_save,
        ),
        get(
            "/api/v1/capacity/homes/{id}",
            COMMISSIONERS_AND_PROVIDERS,
            api_home,
        ),
        put(
            "/api/v1/capacity/homes/{id}",
            COMMISSIONERS_AND_PROVIDERS,
            api_home_save,
        ),
    ]
}

/// The home, if this user may keep its figures: a provider user only their own provider's.
async fn keepable(state: &AppState, ctx: &RequestCtx, id: &str) -> Result<Home> {
    let acting = ctx.user()?.acting_for()?;
    let h = super::home(state, id).await?.ok_or(AppError::NotFound)?;
    if !acting.may_see(h.provider_id.as_deref()) {
        return Err(AppError::NotFound);
    }
    Ok(h)
}

const FIELDS: [(&str, &str); 5] = [
    ("capacity", "Capacity"),
    ("occupied", "Occupied"),
    ("vacant", "Vacant, accepting"),
    ("reserved", "Vacant, reserved"),
    ("closed", "Closed"),
];

/// A home on a form: its figures as typed (or as saved), errors, and, after a refused save,
/// the figures someone else saved meanwhile.
struct HomeForm {
    home: Home,
    /// (bed type key, label, [(field, label, value)], closed reason, last updated text,
    /// freshness tag class)
    rows: Vec<FormRow>,
    over_registered_reason: String,
    errors: FormErrors,
    conflict: Option<Home>,
}

struct FormRow {
    key: String,
    label: String,
    values: Vec<(&'static str, &'static str, String)>,
    closed_reason: String,
    updated: String,
    tag: &'static str,
}

fn tag(f: Option<caremarket_core::capacity::Freshness>) -> &'static str {
    use caremarket_core::capacity::Freshness::*;
    match f {
        Some(Fresh) => "",
        Some(Amber) => "govuk-tag govuk-tag--yellow",
        Some(Red) => "govuk-tag govuk-tag--red",
        None => "",
    }
}

/// Who last saved a bed type's figures, and when.
fn updated(r: &super::FigureRow) -> String {
    match (&r.updated_by, r.updated_at) {
        (Some(by), Some(at)) => format!("{} by {by}", at.format("%-d %b %Y %H:%M")),
        _ => "Not given yet".into(),
    }
}

impl HomeForm {
    fn saved(home: Home) -> HomeForm {
        let rows = home
            .rows
            .iter()
            .map(|r| {
                let known = r.updated_at.is_some();
                let v = |n: i64| if known { n.to_string() } else { String::new() };
                FormRow {
                    key: r.bed_type.clone(),
                    label: r.label.clone(),
                    values: vec![
                        (FIELDS[0].0, FIELDS[0].1, v(r.figures.capacity)),
                        (FIELDS[1].0, FIELDS[1].1, v(r.figures.occupied)),
                        (FIELDS[2].0, FIELDS[2].1, v(r.figures.vacant)),
                        (FIELDS[3].0, FIELDS[3].1, v(r.figures.reserved)),
                        (FIELDS[4].0, FIELDS[4].1, v(r.figures.closed)),
                    ],
                    closed_reason: r.closed_reason.clone(),
                    updated: updated(r),
                    tag: tag(r.freshness),
                }
            })
            .collect();
        HomeForm {
            over_registered_reason: home.over_registered_reason.clone(),
            home,
            rows,
            errors: FormErrors::default(),
            conflict: None,
        }
    }
}

// Form fields as pairs: f__{home}__{bed type}__{field}, v__{home} (version), r__{home}.
use crate::web::forms::{Pairs, field};

/// Reads one home's part of a form: the figures given (a bed type with every box empty is not
/// given), the version it was edited from, and what to fix.
fn read_home(f: &Pairs, home: &Home) -> (Vec<FigureInput>, i64, String, FormErrors, Vec<FormRow>) {
    let id = &home.location_id;
    let mut errors = FormErrors::default();
    let mut input = Vec::new();
    let mut typed = Vec::new();
    for r in &home.rows {
        let mut values = Vec::new();
        let mut nums = [0i64; 5];
        let mut any = false;
        for (i, (k, label)) in FIELDS.iter().enumerate() {
            let raw = field(f, &format!("f__{id}__{}__{k}", r.bed_type))
                .trim()
                .to_string();
            if !raw.is_empty() {
                any = true;
                match raw.parse::<i64>() {
                    Ok(n) => nums[i] = n,
                    Err(_) => errors.add(
                        &format!("f__{id}__{}__{k}", r.bed_type),
                        format!(
                            "{}: {} must be a whole number, like 3",
                            r.label,
                            label.to_lowercase()
                        ),
                    ),
                }
            }
            values.push((*k, *label, raw));
        }
        let reason = field(f, &format!("f__{id}__{}__closed_reason", r.bed_type));
        if any {
            input.push(FigureInput {
                bed_type: r.bed_type.clone(),
                figures: BedFigures {
                    capacity: nums[0],
                    occupied: nums[1],
                    vacant: nums[2],
                    reserved: nums[3],
                    closed: nums[4],
                },
                closed_reason: reason.clone(),
                closed_since: None,
            });
        }
        typed.push(FormRow {
            key: r.bed_type.clone(),
            label: r.label.clone(),
            values,
            closed_reason: reason,
            updated: updated(r),
            tag: tag(r.freshness),
        });
    }
    let version = field(f, &format!("v__{id}")).trim().parse().unwrap_or(-1);
    let reason = field(f, &format!("r__{id}"));
    (input, version, reason, errors, typed)
}

/// Problems from the store carry "{bed type}-{field}": on the form they are the home's fields.
fn errors_for(home: &str, e: FormErrors) -> FormErrors {
    let mut out = FormErrors::default();
    for item in e.items {
        let f = if item.field == "over_registered" {
            format!("r__{home}")
        } else if let Some((bed, fld)) = item.field.split_once('-') {
            format!("f__{home}__{bed}__{fld}")
        } else {
            format!("v__{home}")
        };
        out.add(&f, item.message);
    }
    out
}

#[derive(Template)]
#[template(path = "capacity/homes.html")]
struct HomesPage {
    page: PageCtx,
    errors: FormErrors,
    homes: Vec<HomeForm>,
    action: String,
    single: bool,
    /// The problems of a refused file, row by row
    problems: String,
}

fn show(
    state: &AppState,
    ctx: &RequestCtx,
    homes: Vec<HomeForm>,
    action: &str,
    single: bool,
) -> Result<Response> {
    show_with(
        state,
        ctx,
        homes,
        action,
        single,
        FormErrors::default(),
        String::new(),
    )
}

fn show_with(
    state: &AppState,
    ctx: &RequestCtx,
    homes: Vec<HomeForm>,
    action: &str,
    single: bool,
    mut errors: FormErrors,
    problems: String,
) -> Result<Response> {
    for h in &homes {
        errors.items.extend(h.errors.items.iter().cloned());
        if h.conflict.is_some() {
            errors.add(
                &format!("v__{}", h.home.location_id),
                format!(
                    "{}: someone else saved new figures while you were editing. Yours were not saved: check theirs below and save again.",
                    h.home.name
                ),
            );
        }
    }
    render_status(
        errors.status(),
        &HomesPage {
            page: PageCtx::new(state, ctx, "Care home vacancies"),
            errors,
            homes,
            action: action.into(),
            single,
            problems,
        },
    )
}

async fn my_homes(state: &AppState, ctx: &RequestCtx) -> Result<Vec<Home>> {
    match ctx.user()?.acting_for()? {
        crate::web::ActingFor::Provider(p) => super::provider_homes(state, &p).await,
        // Council officers reach a home from the search or its profile.
        crate::web::ActingFor::Council => Ok(vec![]),
    }
}

async fn homes_page(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response> {
    let homes = my_homes(&state, &ctx).await?;
    show(
        &state,
        &ctx,
        homes.into_iter().map(HomeForm::saved).collect(),
        "/capacity/homes",
        false,
    )
}

/// Saves every home on the form. Nothing is saved while any figure is wrong; then each home
/// is saved on its own, and a home someone else changed meanwhile is shown again with theirs.
async fn save_homes(
    state: &AppState,
    ctx: &RequestCtx,
    homes: Vec<Home>,
    f: &Pairs,
    action: &str,
    single: bool,
) -> Result<Response> {
    let actor = Actor::from_ctx(ctx);
    // First every home is read and checked: nothing is saved while any figure is wrong.
    let mut reads = Vec::new();
    let mut bad = false;
    for h in homes {
        let (input, version, reason, mut errors, typed) = read_home(f, &h);
        if errors.is_empty() {
            errors = errors_for(&h.location_id, super::check(&h, &input, &reason));
        }
        bad |= !errors.is_empty();
        reads.push((h, input, version, reason, errors, typed));
    }
    let mut forms = Vec::new();
    let mut saved = 0;
    for (h, input, version, reason, errors, typed) in reads {
        if !bad && !input.is_empty() {
            match super::save(state, &actor, &h, version, &input, &reason).await? {
                Ok(_) => {
                    saved += 1;
                    let now = super::home(state, &h.location_id)
                        .await?
                        .ok_or(AppError::NotFound)?;
                    forms.push(HomeForm::saved(now));
                    continue;
                }
                // Checked above; figures cannot turn wrong between the two, but say so if so.
                Err(Refused::Invalid(e)) => {
                    forms.push(HomeForm {
                        home: h.clone(),
                        rows: typed,
                        over_registered_reason: reason,
                        errors: errors_for(&h.location_id, e),
                        conflict: None,
                    });
                    continue;
                }
                Err(Refused::Conflict(theirs)) => {
                    forms.push(HomeForm {
                        home: (*theirs).clone(),
                        rows: typed,
                        over_registered_reason: reason,
                        errors,
                        conflict: Some(*theirs),
                    });
                    continue;
                }
            }
        }
        forms.push(HomeForm {
            home: h,
            rows: typed,
            over_registered_reason: reason,
            errors,
            conflict: None,
        });
    }
    if forms
        .iter()
        .all(|h| h.errors.is_empty() && h.conflict.is_none())
    {
        return Ok(redirect_with_flash(
            state,
            action,
            &format!(
                "Vacancies saved for {saved} home{}",
                if saved == 1 { "" } else { "s" }
            ),
        ));
    }
    show(state, ctx, forms, action, single)
}

async fn homes_save(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    let homes = my_homes(&state, &ctx).await?;
    save_homes(&state, &ctx, homes, &f, "/capacity/homes", false).await
}

async fn homes_csv(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response> {
    let t = super::exchange::export(&state, ctx.user()?.acting_for()?.provider()).await?;
    crate::export::download(&t, "csv", "vacancies")
}

async fn homes_upload(
    State(state): State<AppState>,
    ctx: RequestCtx,
    up: crate::web::forms::Upload,
) -> Result<Response> {
    let acting = ctx.user()?.acting_for()?;
    let provider = acting.provider();
    let forms = || async {
        Ok::<_, AppError>(
            my_homes(&state, &ctx)
                .await?
                .into_iter()
                .map(HomeForm::saved)
                .collect::<Vec<_>>(),
        )
    };
    let mut errors = FormErrors::default();
    let Some((name, bytes)) = &up.file else {
        errors.add("file", "Select a vacancies file (CSV or XLSX)");
        return show_with(
            &state,
            &ctx,
            forms().await?,
            "/capacity/homes",
            false,
            errors,
            String::new(),
        );
    };
    match super::exchange::import(&state, &Actor::from_ctx(&ctx), provider, name, bytes).await {
        Ok(l) => Ok(redirect_with_flash(
            &state,
            "/capacity/homes",
            &format!(
                "{name}: vacancies saved for {} home{}; {} unchanged",
                l.homes_saved,
                if l.homes_saved == 1 { "" } else { "s" },
                l.homes_unchanged
            ),
        )),
        Err(report) => {
            errors.add(
                "file",
                "The file was not loaded: nothing has changed. The problems are listed below.",
            );
            show_with(
                &state,
                &ctx,
                forms().await?,
                "/capacity/homes",
                false,
                errors,
                report,
            )
        }
    }
}

async fn home_page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<String>,
) -> Result<Response> {
    let h = keepable(&state, &ctx, &id).await?;
    show(
        &state,
        &ctx,
        vec![HomeForm::saved(h)],
        &format!("/capacity/homes/{id}"),
        true,
    )
}

async fn home_save(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<String>,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    let h = keepable(&state, &ctx, &id).await?;
    save_homes(
        &state,
        &ctx,
        vec![h],
        &f,
        &format!("/capacity/homes/{id}"),
        true,
    )
    .await
}

#[utoipa::path(get, path = "/api/v1/capacity/homes/{id}", tag = "capacity", params(("id" = String, Path)),
    responses((status = 200, body = Home), (status = 404, description = "Not a care home, or not yours")))]
pub async fn api_home(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<String>,
) -> Result<Json<Home>> {
    Ok(Json(keepable(&state, &ctx, &id).await?))
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct HomeUpdate {
    /// The version the figures were read at (0 before the first save)
    pub version: i64,
    #[serde(default)]
    pub over_registered_reason: String,
    pub figures: Vec<FigureInput>,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Saved {
    pub version: i64,
}

#[utoipa::path(put, path = "/api/v1/capacity/homes/{id}", tag = "capacity", params(("id" = String, Path)), request_body = HomeUpdate,
    responses((status = 200, body = Saved), (status = 409, description = "Someone else saved first: the body holds their figures"), (status = 422, description = "What to fix")))]
pub async fn api_home_save(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<String>,
    crate::web::json::ApiJson(b): crate::web::json::ApiJson<HomeUpdate>,
) -> Result<Response> {
    let current = keepable(&state, &ctx, &id).await?;
    match super::save(
        &state,
        &Actor::from_ctx(&ctx),
        &current,
        b.version,
        &b.figures,
        &b.over_registered_reason,
    )
    .await?
    {
        Ok(version) => Ok(Json(Saved { version }).into_response()),
        Err(Refused::Invalid(e)) => Err(crate::web::json::validation_problem(e)),
        Err(Refused::Conflict(theirs)) => Ok((
            StatusCode::CONFLICT,
            Json(serde_json::json!({
                "title": "Someone else saved new figures first; yours were not saved",
                "status": 409,
                "current": *theirs,
            })),
        )
            .into_response()),
    }
}
