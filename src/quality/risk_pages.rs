//! The risk tool: every location ranked by points that add up to its score, the visit plan
//! as CSV, and the API.

use askama::Template;
use axum::Json;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};

use crate::web::roles::COMMISSIONERS;
use crate::web::{PageCtx, RequestCtx, RouteDef, get, render};
use crate::{AppState, Result};

pub fn routes() -> Vec<RouteDef> {
    vec![
        get("/quality/risk", COMMISSIONERS, risk_page),
        get("/quality/risk.csv", COMMISSIONERS, risk_csv),
        get("/api/v1/quality/risk", COMMISSIONERS, api_risk),
    ]
}

#[derive(Template)]
#[template(path = "quality/risk.html")]
struct RiskPage {
    page: PageCtx,
    rows: Vec<super::risk::Ranked>,
    why: String,
    factors: Vec<&'static str>,
    w: caremarket_core::risk::Weights,
    /// "A 0, B 2, C 8, D 15"
    qaf_points: String,
}

async fn risk_page(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response> {
    let (rows, why) = super::risk::ranked(&state, state.clock.now().date_naive()).await?;
    render(&RiskPage {
        page: PageCtx::new(&state, &ctx, "Risk tool"),
        rows,
        why,
        factors: caremarket_core::risk::FACTORS.to_vec(),
        qaf_points: {
            let s = state.settings();
            s.qaf
                .scale
                .grades
                .iter()
                .enumerate()
                .map(|(i, (c, _))| {
                    let p = s
                        .risk_weights
                        .qaf_grade
                        .get(i)
                        .or(s.risk_weights.qaf_grade.last())
                        .copied()
                        .unwrap_or(0);
                    format!("{c} {p}")
                })
                .collect::<Vec<_>>()
                .join(", ")
        },
        w: state.settings().risk_weights.clone(),
    })
}

#[derive(serde::Deserialize)]
pub struct TopQuery {
    /// How many locations from the top of the list make the visit plan
    top: Option<usize>,
}

/// The visit plan: the top of the ranked list as CSV, with each factor's points.
async fn risk_csv(State(state): State<AppState>, Query(q): Query<TopQuery>) -> Result<Response> {
    let (rows, _) = super::risk::ranked(&state, state.clock.now().date_naive()).await?;
    let mut headers = vec![
        "Rank".to_string(),
        "Location ID".into(),
        "Location".into(),
        "Score".into(),
    ];
    headers.extend(caremarket_core::risk::FACTORS.iter().map(|f| f.to_string()));
    let t = crate::export::Table {
        title: "Visit plan".into(),
        headers,
        rows: rows
            .iter()
            .take(q.top.unwrap_or(usize::MAX))
            .enumerate()
            .map(|(i, r)| {
                use crate::export::Value::{Int, Text};
                let mut v = vec![
                    Int(i as i64 + 1),
                    Text(r.location_id.clone()),
                    Text(r.name.clone()),
                    Int(r.score),
                ];
                v.extend(r.contributions.iter().map(|c| Int(c.points)));
                v
            })
            .collect(),
    };
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"visit-plan.csv\"",
            ),
        ],
        t.to_csv(),
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/v1/quality/risk", tag = "quality", responses((status = 200, body = Vec<super::risk::Ranked>)))]
pub async fn api_risk(State(state): State<AppState>) -> Result<Json<Vec<super::risk::Ranked>>> {
    Ok(Json(
        super::risk::ranked(&state, state.clock.now().date_naive())
            .await?
            .0,
    ))
}
