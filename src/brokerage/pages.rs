//! Pages and API for lots and the framework. Commissioners and admins set them up; brokers
//! read them (they decide whom offers go to).

use askama::Template;
use axum::Json;
use axum::extract::{Form, Path, State};
use axum::response::Response;
use caremarket_core::Role;

use super::{JoinInput, Lot, LotProvider, SERVICE_LINES};
use crate::audit::Actor;
use crate::web::forms::{FormErrors, Pairs, field};
use crate::web::layout::render_status;
use crate::web::redirect_with_flash;
use crate::web::roles::{COMMISSIONERS, COMMISSIONERS_AND_BROKERS};
use crate::web::{PageCtx, RequestCtx, RouteDef, get, post};
use crate::{AppState, Result};

pub fn routes() -> Vec<RouteDef> {
    vec![
        get("/brokerage/lots", COMMISSIONERS_AND_BROKERS, lots_page),
        post("/brokerage/lots", COMMISSIONERS, add_lot),
        get("/brokerage/lots/{id}", COMMISSIONERS_AND_BROKERS, lot_page),
        post("/brokerage/lots/{id}/providers", COMMISSIONERS, join),
        post(
            "/brokerage/lots/{id}/providers/{row}/withdraw",
            COMMISSIONERS,
            withdraw,
        ),
        get(
            "/api/v1/brokerage/lots",
            COMMISSIONERS_AND_BROKERS,
            api_lots,
        ),
    ]
}

fn line_label(k: &str) -> String {
    SERVICE_LINES
        .iter()
        .find(|(x, _)| *x == k)
        .map(|(_, l)| l.to_string())
        .unwrap_or_else(|| k.to_string())
}

#[derive(Template)]
#[template(path = "brokerage/lots.html")]
struct LotsPage {
    page: PageCtx,
    lots: Vec<(Lot, Vec<String>)>,
    lines: Vec<(&'static str, &'static str)>,
    errors: FormErrors,
    typed: (String, String, String),
    can_change: bool,
}

impl LotsPage {
    fn line(&self, k: &str) -> String {
        line_label(k)
    }
}

async fn lots_view(
    state: &AppState,
    ctx: &RequestCtx,
    errors: FormErrors,
    typed: (String, String, String),
) -> Result<Response> {
    let mut lots = Vec::new();
    for l in super::lots(state).await? {
        let order = super::providers(state, l.id)
            .await?
            .into_iter()
            .filter(|p| p.withdrawn_on.is_none())
            .map(|p| p.provider_name.unwrap_or(p.provider_id))
            .collect();
        lots.push((l, order));
    }
    render_status(
        errors.status(),
        &LotsPage {
            page: PageCtx::new(state, ctx, "Lots and the framework"),
            lots,
            lines: SERVICE_LINES.to_vec(),
            errors,
            typed,
            can_change: matches!(ctx.user()?.role, Role::Admin | Role::Commissioner),
        },
    )
}

async fn lots_page(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response> {
    lots_view(&state, &ctx, FormErrors::default(), Default::default()).await
}

async fn add_lot(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    let typed = (
        field(&f, "name"),
        field(&f, "service_line"),
        field(&f, "districts"),
    );
    match super::add_lot(&state, &Actor::from_ctx(&ctx), &typed.0, &typed.1, &typed.2).await? {
        Ok(id) => Ok(redirect_with_flash(
            &state,
            &format!("/brokerage/lots/{id}"),
            "Lot added",
        )),
        Err(e) => lots_view(&state, &ctx, e, typed).await,
    }
}

#[derive(Template)]
#[template(path = "brokerage/lot.html")]
struct LotPage {
    page: PageCtx,
    lot: Lot,
    line: String,
    current: Vec<LotProvider>,
    past: Vec<LotProvider>,
    errors: FormErrors,
    join: JoinInput,
    can_change: bool,
}

impl LotPage {
    fn score(&self, v: &i64) -> String {
        caremarket_core::money::show_hundredths(*v)
    }
}

async fn lot_view(
    state: &AppState,
    ctx: &RequestCtx,
    id: i64,
    errors: FormErrors,
    join: JoinInput,
) -> Result<Response> {
    let lot = super::lot(state, id).await?;
    let (current, past): (Vec<LotProvider>, Vec<LotProvider>) = super::providers(state, id)
        .await?
        .into_iter()
        .partition(|p| p.withdrawn_on.is_none());
    render_status(
        errors.status(),
        &LotPage {
            page: PageCtx::new(state, ctx, &lot.name),
            line: line_label(&lot.service_line),
            lot,
            current,
            past,
            errors,
            join,
            can_change: matches!(ctx.user()?.role, Role::Admin | Role::Commissioner),
        },
    )
}

async fn lot_page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    lot_view(
        &state,
        &ctx,
        id,
        FormErrors::default(),
        JoinInput::default(),
    )
    .await
}

async fn join(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    let i = JoinInput {
        provider_id: field(&f, "provider_id"),
        role: field(&f, "role"),
        tender_score: field(&f, "tender_score"),
        joined_on: field(&f, "joined_on"),
    };
    match super::join(&state, &Actor::from_ctx(&ctx), id, &i).await? {
        Ok(_) => Ok(redirect_with_flash(
            &state,
            &format!("/brokerage/lots/{id}"),
            "Provider added to the lot",
        )),
        Err(e) => lot_view(&state, &ctx, id, e, i).await,
    }
}

async fn withdraw(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path((id, row)): Path<(i64, i64)>,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    match super::withdraw(
        &state,
        &Actor::from_ctx(&ctx),
        id,
        row,
        &field(&f, "withdrawn_on"),
        &field(&f, "withdrawn_reason"),
    )
    .await?
    {
        Ok(()) => Ok(redirect_with_flash(
            &state,
            &format!("/brokerage/lots/{id}"),
            "Provider withdrawn from the lot",
        )),
        Err(e) => lot_view(&state, &ctx, id, e, JoinInput::default()).await,
    }
}

/// A lot with the order its offers go in.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct LotAnswer {
    #[serde(flatten)]
    pub lot: Lot,
    /// Provider IDs: the primary first, then the framework by rank
    pub offer_order: Vec<String>,
    /// Everyone who has been on the lot, withdrawn ones with their dates
    pub providers: Vec<LotProvider>,
}

#[utoipa::path(get, path = "/api/v1/brokerage/lots", tag = "brokerage",
    responses((status = 200, body = Vec<LotAnswer>)))]
pub async fn api_lots(State(state): State<AppState>) -> Result<Json<Vec<LotAnswer>>> {
    let mut out = Vec::new();
    for lot in super::lots(&state).await? {
        out.push(LotAnswer {
            offer_order: super::offer_order(&state, lot.id).await?,
            providers: super::providers(&state, lot.id).await?,
            lot,
        });
    }
    Ok(Json(out))
}
