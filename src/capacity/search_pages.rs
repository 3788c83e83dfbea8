//! Find a bed: the brokers' search over every home's latest vacancies, as a page, CSV or
//! XLSX, and the API.

use askama::Template;
use axum::Json;
use axum::extract::{Query, State};
use axum::response::Response;

use super::{Hit, SearchQuery};
use crate::export::{Table, Value};
use crate::web::roles::COUNCIL;
use crate::web::{PageCtx, RequestCtx, RouteDef, get, render};
use crate::{AppState, Result};

pub fn routes() -> Vec<RouteDef> {
    vec![
        get("/capacity", COUNCIL, search_page),
        get("/api/v1/capacity/search", COUNCIL, api_search),
    ]
}

fn hits_table(hits: &[Hit]) -> Table {
    Table {
        title: "Vacancies".into(),
        headers: [
            "Location ID",
            "Home",
            "Postcode",
            "Council",
            "CQC rating",
            "Distance (km)",
            "Bed type",
            "Vacant",
            "Reserved",
            "Capacity",
            "Updated",
            "Updated by",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        rows: hits
            .iter()
            .map(|h| {
                vec![
                    Value::Text(h.location_id.clone()),
                    Value::Text(h.name.clone()),
                    Value::Text(h.postcode.clone().unwrap_or_default()),
                    Value::Text(h.local_authority.clone().unwrap_or_default()),
                    Value::Text(h.rating.clone().unwrap_or_default()),
                    Value::Decimal(h.distance_km),
                    Value::Text(h.bed_type.clone()),
                    Value::Int(h.vacant),
                    Value::Int(h.reserved),
                    Value::Int(h.capacity),
                    Value::Text(h.updated_at.format("%Y-%m-%d %H:%M").to_string()),
                    Value::Text(h.updated_by.clone()),
                ]
            })
            .collect(),
    }
}

#[derive(Template)]
#[template(path = "capacity/search.html")]
struct SearchPage {
    page: PageCtx,
    q: SearchQuery,
    bed_types: Vec<super::BedType>,
    hits: Vec<Hit>,
    note: Option<String>,
    qs: String,
}

impl SearchPage {
    fn km(&self, d: &Option<f64>) -> String {
        d.map(|v| format!("{v:.1} km"))
            .unwrap_or_else(|| "–".into())
    }
    fn label(&self, key: &str) -> String {
        self.bed_types
            .iter()
            .find(|b| b.key == key)
            .map(|b| b.label.clone())
            .unwrap_or_else(|| key.to_string())
    }
}

async fn search_page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Query(q): Query<SearchQuery>,
) -> Result<Response> {
    let (hits, note) = super::search(&state, &q).await?;
    if let Some(fmt) = q.format.as_deref() {
        return crate::export::download(&hits_table(&hits), fmt, "vacancies");
    }
    let qs = serde_urlencoded::to_string(
        [
            ("bed_type", &q.bed_type),
            ("accepting", &q.accepting),
            ("district", &q.district),
            ("min_rating", &q.min_rating),
            ("specialism", &q.specialism),
            ("area", &q.area),
        ]
        .iter()
        .filter_map(|(k, v)| v.as_deref().filter(|v| !v.is_empty()).map(|v| (*k, v)))
        .collect::<Vec<_>>(),
    )
    .unwrap_or_default();
    render(&SearchPage {
        page: PageCtx::new(&state, &ctx, "Find a care home bed"),
        bed_types: super::bed_types(&state).await?.to_vec(),
        hits,
        note,
        qs,
        q,
    })
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct SearchResult {
    pub hits: Vec<Hit>,
    pub note: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/capacity/search", tag = "capacity", params(SearchQuery), responses((status = 200, body = SearchResult)))]
pub async fn api_search(
    State(state): State<AppState>,
    Query(q): Query<SearchQuery>,
) -> Result<Json<SearchResult>> {
    let (hits, note) = super::search(&state, &q).await?;
    Ok(Json(SearchResult { hits, note }))
}
