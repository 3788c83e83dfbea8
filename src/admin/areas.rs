//! The areas in scope: which councils this deployment covers, by name and ONS code. A
//! partnership (e.g. the Liverpool City Region's six councils) has several.

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::audit::{self, Actor};
use crate::web::forms::FormErrors;
use crate::web::layout::render_status;
use crate::web::redirect_with_flash;
use crate::web::{PageCtx, RequestCtx, render};
use crate::{AppError, AppState, Result, args};

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct Area {
    pub id: i64,
    pub name: String,
    /// ONS code of the council, e.g. E08000035 (Leeds)
    pub ons_code: String,
    pub created_at: DateTime<Utc>,
}

pub async fn list(state: &AppState) -> Result<Vec<Area>> {
    Ok(state
        .db
        .q()
        .fetch_all("SELECT * FROM areas ORDER BY name", args![])
        .await?)
}

/// The council a page asked for (trimmed), or else the first area in scope by name, or ""
/// when there are none: the council pages show when none is named.
pub async fn asked_or_first(state: &AppState, asked: Option<&str>) -> Result<String> {
    if let Some(c) = asked.map(str::trim).filter(|c| !c.is_empty()) {
        return Ok(c.to_string());
    }
    Ok(list(state)
        .await?
        .into_iter()
        .next()
        .map(|a| a.name)
        .unwrap_or_default())
}

/// Upper-tier and unitary councils with social care duties have ONS codes E06 (unitary),
/// E08 (metropolitan district), E09 (London borough) or E10 (county).
pub fn valid_ons_code(code: &str) -> bool {
    code.len() == 9
        && ["E06", "E08", "E09", "E10"].contains(&&code[..3])
        && code[3..].chars().all(|c| c.is_ascii_digit())
}

pub fn validate(name: &str, code: &str) -> FormErrors {
    let mut e = FormErrors::default();
    if name.trim().is_empty() {
        e.add("name", "Enter the council's name");
    } else if name.trim().chars().count() > 100 {
        e.add("name", "Council name must be 100 characters or fewer");
    }
    let code = code.trim().to_uppercase();
    if code.is_empty() {
        e.add("ons_code", "Enter the council's ONS code, like E08000035");
    } else if !valid_ons_code(&code) {
        e.add(
            "ons_code",
            "Enter an ONS code of a council with adult social care duties: E06, E08, E09 or E10 followed by 6 digits",
        );
    }
    e
}

pub async fn add(state: &AppState, actor: &Actor, name: &str, code: &str) -> Result<Area> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let id: i64 = tx
        .scalar(
            "INSERT INTO areas (name, ons_code, created_at) VALUES ($1, $2, $3) RETURNING id",
            args![name.trim(), code.trim().to_uppercase(), now],
        )
        .await?;
    let area: Area = tx
        .fetch_one("SELECT * FROM areas WHERE id = $1", args![id])
        .await?;
    audit::entry("area.add", "area", id)
        .after(serde_json::to_value(&area).unwrap_or_default())
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    Ok(area)
}

pub async fn remove(state: &AppState, actor: &Actor, id: i64) -> Result<()> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let area: Option<Area> = tx
        .fetch_optional("SELECT * FROM areas WHERE id = $1", args![id])
        .await?;
    let area = area.ok_or(AppError::NotFound)?;
    tx.execute("DELETE FROM areas WHERE id = $1", args![id])
        .await?;
    audit::entry("area.remove", "area", id)
        .before(serde_json::to_value(&area).unwrap_or_default())
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Template)]
#[template(path = "admin/areas.html")]
struct AreasPage {
    page: PageCtx,
    errors: FormErrors,
    areas: Vec<Area>,
    name: String,
    ons_code: String,
}

pub async fn areas_page(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response> {
    render(&AreasPage {
        page: PageCtx::new(&state, &ctx, "Areas in scope"),
        errors: FormErrors::default(),
        areas: list(&state).await?,
        name: String::new(),
        ons_code: String::new(),
    })
}

#[derive(Deserialize)]
pub struct AreaForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    ons_code: String,
}

pub async fn area_add(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Form(f): Form<AreaForm>,
) -> Result<Response> {
    let mut errors = validate(&f.name, &f.ons_code);
    if errors.is_empty() {
        match add(&state, &Actor::from_ctx(&ctx), &f.name, &f.ons_code).await {
            Ok(a) => {
                return Ok(redirect_with_flash(
                    &state,
                    "/admin/areas",
                    &format!("{} added", a.name),
                ));
            }
            Err(AppError::Db(e)) if crate::web::error::is_unique_violation(&e) => {
                errors.add("ons_code", "This council is already in scope");
            }
            Err(e) => return Err(e),
        }
    }
    render_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        &AreasPage {
            page: PageCtx::new(&state, &ctx, "Areas in scope"),
            errors,
            areas: list(&state).await?,
            name: f.name,
            ons_code: f.ons_code,
        },
    )
}

pub async fn area_remove(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    remove(&state, &Actor::from_ctx(&ctx), id).await?;
    Ok(redirect_with_flash(&state, "/admin/areas", "Area removed"))
}

// The JSON API (/api/v1): the same rules as the pages above, for programs.

use crate::web::json::{ApiJson, validation_problem};
use axum::Json;
use axum::response::IntoResponse;
use utoipa::ToSchema;

#[utoipa::path(get, path = "/api/v1/areas", tag = "admin", responses((status = 200, body = Vec<Area>)))]
pub async fn list_areas(State(state): State<AppState>) -> Result<Json<Vec<Area>>> {
    Ok(Json(list(&state).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct NewArea {
    pub name: String,
    pub ons_code: String,
}

#[utoipa::path(post, path = "/api/v1/areas", tag = "admin", request_body = NewArea,
    responses((status = 201, body = Area), (status = 409, description = "Already in scope"), (status = 422, description = "Invalid")))]
pub async fn add_area(
    State(state): State<AppState>,
    ctx: RequestCtx,
    ApiJson(b): ApiJson<NewArea>,
) -> Result<Response> {
    let errors = validate(&b.name, &b.ons_code);
    if !errors.is_empty() {
        return Err(validation_problem(errors));
    }
    let a = add(&state, &Actor::from_ctx(&ctx), &b.name, &b.ons_code).await?;
    Ok((StatusCode::CREATED, Json(a)).into_response())
}
