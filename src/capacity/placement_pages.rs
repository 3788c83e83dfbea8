//! Pages and API for the placements register (council staff: admin, commissioner, broker).

use askama::Template;
use axum::Json;
use axum::extract::{Form, Path, Query, State};
use axum::response::Response;

use super::placements::{self as pl, END_REASONS, FUNDERS, PlacementInput};
use crate::audit::Actor;
use crate::web::forms::{FormErrors, Pairs, field};
use crate::web::layout::render_status;
use crate::web::redirect_with_flash;
use crate::web::roles::COMMISSIONERS_AND_BROKERS;
use crate::web::{PageCtx, RequestCtx, RouteDef, get, post};
use crate::{AppState, Result};

// Case references are personal data in the council's hands: only the council staff who
// place people (commissioners and brokers) open these pages.

pub fn routes() -> Vec<RouteDef> {
    vec![
        get("/capacity/placements", COMMISSIONERS_AND_BROKERS, page),
        post("/capacity/placements", COMMISSIONERS_AND_BROKERS, create),
        get("/capacity/placements.csv", COMMISSIONERS_AND_BROKERS, csv),
        crate::web::with_body_limit(
            post(
                "/capacity/placements/upload",
                COMMISSIONERS_AND_BROKERS,
                upload,
            ),
            crate::web::COUNCIL_UPLOAD_LIMIT,
        ),
        post(
            "/capacity/placements/{id}/end",
            COMMISSIONERS_AND_BROKERS,
            end,
        ),
        get(
            "/api/v1/capacity/placements",
            COMMISSIONERS_AND_BROKERS,
            api_list,
        ),
    ]
}

#[derive(Template)]
#[template(path = "capacity/placements.html")]
struct PlacementsPage {
    page: PageCtx,
    errors: FormErrors,
    p: PlacementInput,
    rows: Vec<pl::PlacementRow>,
    funding: Vec<pl::Funding>,
    bed_types: Vec<super::BedType>,
    funders: Vec<(&'static str, &'static str)>,
    reasons: Vec<(&'static str, &'static str)>,
    all: bool,
    problems: String,
}

impl PlacementsPage {
    fn money(&self, pence: &i64) -> String {
        caremarket_core::money::pounds(*pence)
    }
    fn funder(&self, k: &str) -> String {
        FUNDERS
            .iter()
            .find(|(x, _)| *x == k)
            .map(|(_, l)| l.to_string())
            .unwrap_or_else(|| k.to_string())
    }
    fn reason(&self, k: &Option<String>) -> String {
        k.as_deref()
            .and_then(|k| END_REASONS.iter().find(|(x, _)| *x == k))
            .map(|(_, l)| l.to_string())
            .unwrap_or_default()
    }
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct ListQuery {
    /// "all" to include ended placements
    pub show: Option<String>,
}

async fn view(
    state: &AppState,
    ctx: &RequestCtx,
    errors: FormErrors,
    p: PlacementInput,
    all: bool,
    problems: String,
) -> Result<Response> {
    render_status(
        errors.status(),
        &PlacementsPage {
            page: PageCtx::new(state, ctx, "Care home placements"),
            rows: pl::list(state, !all).await?,
            funding: pl::funding(state).await?,
            bed_types: super::bed_types(state).await?.to_vec(),
            funders: FUNDERS.to_vec(),
            reasons: END_REASONS.to_vec(),
            errors,
            p,
            all,
            problems,
        },
    )
}

async fn page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Query(q): Query<ListQuery>,
) -> Result<Response> {
    view(
        &state,
        &ctx,
        FormErrors::default(),
        PlacementInput::default(),
        q.show.as_deref() == Some("all"),
        String::new(),
    )
    .await
}

async fn create(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    let p = PlacementInput {
        case_reference: field(&f, "case_reference"),
        location_id: field(&f, "location_id"),
        bed_type: field(&f, "bed_type"),
        funder: field(&f, "funder"),
        weekly_fee: field(&f, "weekly_fee"),
        top_up: field(&f, "top_up"),
        start_date: field(&f, "start_date"),
    };
    match pl::add(&state, &Actor::from_ctx(&ctx), &p).await? {
        Ok(_) => Ok(redirect_with_flash(
            &state,
            "/capacity/placements",
            "Placement added",
        )),
        Err(e) => view(&state, &ctx, e, p, false, String::new()).await,
    }
}

async fn end(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    match pl::end(
        &state,
        &Actor::from_ctx(&ctx),
        id,
        &field(&f, "end_date"),
        &field(&f, "end_reason"),
    )
    .await?
    {
        Ok(()) => Ok(redirect_with_flash(
            &state,
            "/capacity/placements",
            "Placement ended",
        )),
        Err(e) => {
            view(
                &state,
                &ctx,
                e,
                PlacementInput::default(),
                false,
                String::new(),
            )
            .await
        }
    }
}

async fn csv(State(state): State<AppState>) -> Result<Response> {
    crate::export::download(&pl::export(&state).await?, "csv", "placements")
}

async fn upload(
    State(state): State<AppState>,
    ctx: RequestCtx,
    up: crate::web::forms::Upload,
) -> Result<Response> {
    let mut errors = FormErrors::default();
    let Some((name, bytes)) = &up.file else {
        errors.add("file", "Select a placements file (CSV or XLSX)");
        return view(
            &state,
            &ctx,
            errors,
            PlacementInput::default(),
            false,
            String::new(),
        )
        .await;
    };
    match pl::import(&state, &Actor::from_ctx(&ctx), name, bytes).await {
        Ok(n) => Ok(redirect_with_flash(
            &state,
            "/capacity/placements",
            &format!("{n} placements loaded from {name}"),
        )),
        Err(report) => {
            errors.add(
                "file",
                "The file was not loaded: nothing has changed. The problems are listed below.",
            );
            view(
                &state,
                &ctx,
                errors,
                PlacementInput::default(),
                false,
                report,
            )
            .await
        }
    }
}

#[utoipa::path(get, path = "/api/v1/capacity/placements", tag = "capacity", responses((status = 200, body = Vec<pl::PlacementRow>)))]
pub async fn api_list(State(state): State<AppState>) -> Result<Json<Vec<pl::PlacementRow>>> {
    Ok(Json(pl::list(&state, false).await?))
}
