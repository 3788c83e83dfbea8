//! Pages and API for the annual re-ranking: work out a proposal for a lot, read every
//! provider's components and its change from last year, approve it from a date (or reject
//! it), and the history of every ranking.

use askama::Template;
use axum::Json;
use axum::extract::{Form, Path, State};
use axum::response::Response;
use caremarket_core::Role;
use chrono::Datelike;

use super::ranking::{self, Ask, Line, Proposal, WEIGHT_FIELDS};
use crate::audit::Actor;
use crate::web::forms::{FormErrors, Pairs, field};
use crate::web::layout::render_status;
use crate::web::redirect_with_flash;
use crate::web::roles::{COMMISSIONERS, COMMISSIONERS_AND_BROKERS};
use crate::web::{PageCtx, RequestCtx, RouteDef, get, post};
use crate::{AppState, Result};

pub fn routes() -> Vec<RouteDef> {
    vec![
        get(
            "/brokerage/lots/{id}/ranking",
            COMMISSIONERS_AND_BROKERS,
            page,
        ),
        post("/brokerage/lots/{id}/ranking", COMMISSIONERS, propose),
        get(
            "/brokerage/rankings/{id}",
            COMMISSIONERS_AND_BROKERS,
            proposal_page,
        ),
        post("/brokerage/rankings/{id}/approve", COMMISSIONERS, approve),
        post("/brokerage/rankings/{id}/reject", COMMISSIONERS, reject),
        get(
            "/api/v1/brokerage/lots/{id}/rankings",
            COMMISSIONERS_AND_BROKERS,
            api_rankings,
        ),
    ]
}

#[derive(Template)]
#[template(path = "brokerage/ranking.html")]
struct RankingPage {
    page: PageCtx,
    lot: super::Lot,
    history: Vec<Proposal>,
    errors: FormErrors,
    typed: (String, String, String),
    weights: Vec<(String, String, String)>,
    can_decide: bool,
}

async fn view(
    state: &AppState,
    ctx: &RequestCtx,
    lot_id: i64,
    errors: FormErrors,
    typed: Option<(Ask, Vec<(String, String)>)>,
) -> Result<Response> {
    let lot = super::lot(state, lot_id).await?;
    let history = ranking::history(state, lot_id).await?;
    let today = state.clock.now().date_naive();
    let (ask, w) = match typed {
        Some(t) => t,
        None => {
            // Defaults: the last twelve months, taking effect at the start of next month,
            // with the weights last used on this lot (or the defaults).
            let from = today - chrono::Duration::days(365);
            let next = today
                .with_day(1)
                .and_then(|d| d.checked_add_months(chrono::Months::new(1)))
                .unwrap_or(today);
            let w = history.first().map(|p| p.weights()).unwrap_or_default();
            (
                Ask {
                    period_from: from.format("%d/%m/%Y").to_string(),
                    period_to: (today - chrono::Duration::days(1))
                        .format("%d/%m/%Y")
                        .to_string(),
                    effective_from: next.format("%d/%m/%Y").to_string(),
                    weights: vec![],
                },
                ranking::weight_values(&w),
            )
        }
    };
    let weights = WEIGHT_FIELDS
        .iter()
        .map(|(k, l)| {
            let v = w
                .iter()
                .find(|(x, _)| x == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            (k.to_string(), l.to_string(), v)
        })
        .collect();
    render_status(
        errors.status(),
        &RankingPage {
            page: PageCtx::new(state, ctx, format!("Re-ranking: {}", lot.name)),
            lot,
            history,
            errors,
            typed: (ask.period_from, ask.period_to, ask.effective_from),
            weights,
            can_decide: matches!(ctx.user()?.role, Role::Admin | Role::Commissioner),
        },
    )
}

async fn page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    view(&state, &ctx, id, FormErrors::default(), None).await
}

async fn propose(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    let weights: Vec<(String, String)> = WEIGHT_FIELDS
        .iter()
        .map(|(k, _)| (k.to_string(), field(&f, k)))
        .collect();
    let ask = Ask {
        period_from: field(&f, "period_from"),
        period_to: field(&f, "period_to"),
        effective_from: field(&f, "effective_from"),
        weights: weights.clone(),
    };
    match ranking::propose(&state, &Actor::from_ctx(&ctx), id, &ask).await? {
        Ok(r) => Ok(redirect_with_flash(
            &state,
            &format!("/brokerage/rankings/{r}"),
            "New ranking worked out: check it, then approve or reject it",
        )),
        Err(e) => view(&state, &ctx, id, e, Some((ask, weights))).await,
    }
}

#[derive(Template)]
#[template(path = "brokerage/ranking_proposal.html")]
struct ProposalPage {
    page: PageCtx,
    p: Proposal,
    lot: super::Lot,
    lines: Vec<(Line, String)>,
    can_decide: bool,
    errors: FormErrors,
    /// The council's QAF grades, best first, as "A (Excellent)"
    qaf_names: Vec<String>,
}

impl ProposalPage {
    fn grade(&self, l: &Line) -> String {
        l.input
            .qaf_level
            .and_then(|g| self.qaf_names.get(g as usize).cloned())
            .unwrap_or_else(|| "Not visited".into())
    }
    fn cqc(&self, l: &Line) -> &'static str {
        match l.input.cqc_level {
            Some(0) => "Outstanding",
            Some(1) => "Good",
            Some(2) => "Requires improvement",
            Some(3) => "Inadequate",
            _ => "Not rated",
        }
    }
    fn acceptance(&self, l: &Line) -> String {
        l.input
            .acceptance_bps
            .map(|b| format!("{}.{:02}%", b / 100, b % 100))
            .unwrap_or_else(|| "No offers".into())
    }
    fn response(&self, l: &Line) -> String {
        l.input
            .median_response_minutes
            .map(|m| format!("{m} min"))
            .unwrap_or_else(|| "–".into())
    }
    fn change(&self, l: &Line) -> String {
        match l.input.previous_rank {
            Some(p) if p > l.ranked.rank => format!("Up {} (was {p})", p - l.ranked.rank),
            Some(p) if p < l.ranked.rank => format!("Down {} (was {p})", l.ranked.rank - p),
            Some(_) => "No change".into(),
            None => "New".into(),
        }
    }
}

async fn proposal_view(
    state: &AppState,
    ctx: &RequestCtx,
    id: i64,
    errors: FormErrors,
) -> Result<Response> {
    let p = ranking::get(state, id).await?;
    let lot = super::lot(state, p.lot_id).await?;
    let mut lines = Vec::new();
    for l in p.lines()? {
        let name = super::request_pages::provider_name(state, &l.ranked.provider)
            .await?
            .unwrap_or_else(|| l.ranked.provider.clone());
        lines.push((l, name));
    }
    let scale = state.settings().qaf.scale.clone();
    render_status(
        errors.status(),
        &ProposalPage {
            page: PageCtx::new(state, ctx, format!("Ranking of {}", lot.name)),
            p,
            lot,
            lines,
            can_decide: matches!(ctx.user()?.role, Role::Admin | Role::Commissioner),
            errors,
            qaf_names: scale
                .grades
                .iter()
                .map(|(c, n)| format!("{c} ({n})"))
                .collect(),
        },
    )
}

async fn proposal_page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    proposal_view(&state, &ctx, id, FormErrors::default()).await
}

async fn decide(state: &AppState, ctx: &RequestCtx, id: i64, approve: bool) -> Result<Response> {
    match ranking::decide(state, &Actor::from_ctx(ctx), id, approve).await? {
        Ok(()) => Ok(redirect_with_flash(
            state,
            &format!("/brokerage/rankings/{id}"),
            if approve {
                "Ranking approved: it takes effect from its date"
            } else {
                "Ranking rejected: the order stays as it is"
            },
        )),
        Err(m) => {
            let mut e = FormErrors::default();
            e.add("decision", m);
            proposal_view(state, ctx, id, e).await
        }
    }
}

async fn approve(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    decide(&state, &ctx, id, true).await
}

async fn reject(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    decide(&state, &ctx, id, false).await
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RankingAnswer {
    #[serde(flatten)]
    pub proposal: Proposal,
    pub lines: Vec<Line>,
}

#[utoipa::path(get, path = "/api/v1/brokerage/lots/{id}/rankings", tag = "brokerage", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<RankingAnswer>, description = "Every ranking of the lot, newest first, with each provider's inputs and components")))]
pub async fn api_rankings(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<Vec<RankingAnswer>>> {
    let _ = super::lot(&state, id).await?;
    let mut out = Vec::new();
    for p in ranking::history(&state, id).await? {
        out.push(RankingAnswer {
            lines: p.lines()?,
            proposal: p,
        });
    }
    Ok(Json(out))
}
