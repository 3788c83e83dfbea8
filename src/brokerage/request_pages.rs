//! Pages and API for care requests (brokers) and offers (providers). Handlers stay thin: the
//! cascade's steps are in `requests`.
//!
//! A provider user sees only offers made to its own provider, and of a request only what the
//! offer carries (case reference, area, hours, pattern, needs, wanted start): a request with
//! no offer to its provider is "not found", the same as one that does not exist.

use askama::Template;
use axum::Json;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use caremarket_core::Role;
use caremarket_core::brokerage::Refused;
use serde::Serialize;

use super::requests::{
    self, CareRequest, DECLINE_REASONS, NEEDS, NewRequest, OfferRow, TIMES_OF_DAY, label,
};
use crate::audit::Actor;
use crate::web::forms::{FormErrors, Pairs, all_of, field};
use crate::web::layout::render_status;
use crate::web::redirect_with_flash;
use crate::web::roles::{BROKERS, COMMISSIONERS_AND_BROKERS, PROVIDERS};
use crate::web::{PageCtx, RequestCtx, RouteDef, get, post};
use crate::{AppError, AppState, Result};

pub fn routes() -> Vec<RouteDef> {
    vec![
        get(
            "/brokerage/requests",
            COMMISSIONERS_AND_BROKERS,
            requests_page,
        ),
        get("/brokerage/requests/new", BROKERS, new_page),
        post("/brokerage/requests", BROKERS, raise),
        get(
            "/brokerage/requests/{id}",
            COMMISSIONERS_AND_BROKERS,
            request_page,
        ),
        post("/brokerage/requests/{id}/skip", BROKERS, skip),
        post("/brokerage/requests/{id}/reorder", BROKERS, reorder),
        post("/brokerage/requests/{id}/reopen", BROKERS, reopen),
        post("/brokerage/requests/{id}/spot", BROKERS, spot),
        post("/brokerage/requests/{id}/withdraw", BROKERS, withdraw),
        get("/offers", PROVIDERS, offers_page),
        get("/offers/{id}", PROVIDERS, offer_page),
        post("/offers/{id}/accept", PROVIDERS, accept),
        post("/offers/{id}/decline", PROVIDERS, decline),
        get(
            "/api/v1/brokerage/requests",
            COMMISSIONERS_AND_BROKERS,
            api_requests,
        ),
        post("/api/v1/brokerage/requests", BROKERS, api_raise),
        get(
            "/api/v1/brokerage/requests/{id}",
            COMMISSIONERS_AND_BROKERS,
            api_request,
        ),
        get("/api/v1/offers", PROVIDERS, api_offers),
        post("/api/v1/offers/{id}/accept", PROVIDERS, api_accept),
        post("/api/v1/offers/{id}/decline", PROVIDERS, api_decline),
    ]
}

fn hours(h: &i64) -> String {
    caremarket_core::money::show_hundredths(*h)
}

fn state_label(s: &str) -> &'static str {
    match s {
        "offering" => "With providers",
        "waiting" => "Awaiting care (framework exhausted)",
        "placed" => "Placed",
        "withdrawn" => "Withdrawn",
        _ => "Unknown",
    }
}

fn offer_status_label(s: &str) -> &'static str {
    match s {
        "open" => "Open",
        "accepted" => "Accepted",
        "declined" => "Declined",
        "expired" => "No answer by the deadline",
        "closed" => "Closed",
        "skipped" => "Skipped by a broker",
        _ => "Unknown",
    }
}

// ---------------------------------------------------------------------------------------
// Brokers

#[derive(Template)]
#[template(path = "brokerage/requests.html")]
struct RequestsPage {
    page: PageCtx,
    open: Vec<CareRequest>,
    closed: Vec<CareRequest>,
    can_raise: bool,
    today: chrono::NaiveDate,
}

impl RequestsPage {
    fn hours(&self, h: &i64) -> String {
        hours(h)
    }
    fn state(&self, s: &str) -> &'static str {
        state_label(s)
    }
    fn days(&self, r: &CareRequest) -> i64 {
        (self.today - r.raised_at.date_naive()).num_days()
    }
}

async fn requests_page(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response> {
    let all = requests::list(&state, None).await?;
    let (open, mut closed): (Vec<_>, Vec<_>) = all
        .into_iter()
        .partition(|r| matches!(r.state.as_str(), "offering" | "waiting"));
    closed.reverse();
    closed.truncate(50);
    render_status(
        StatusCode::OK,
        &RequestsPage {
            page: PageCtx::new(&state, &ctx, "Care requests"),
            open,
            closed,
            can_raise: matches!(ctx.user()?.role, Role::Admin | Role::Broker),
            today: state.clock.now().date_naive(),
        },
    )
}

#[derive(Template)]
#[template(path = "brokerage/request_new.html")]
struct NewPage {
    page: PageCtx,
    errors: FormErrors,
    r: NewRequest,
    lines: Vec<(&'static str, &'static str)>,
    urgencies: Vec<(String, String)>,
    times: Vec<(&'static str, &'static str)>,
    needs: Vec<(&'static str, &'static str)>,
    format: String,
}

impl NewPage {
    fn has_time(&self, k: &str) -> bool {
        self.r.times_of_day.iter().any(|x| x == k)
    }
    fn has_need(&self, k: &str) -> bool {
        self.r.needs.iter().any(|x| x == k)
    }
}

fn new_view(
    state: &AppState,
    ctx: &RequestCtx,
    errors: FormErrors,
    r: NewRequest,
) -> Result<Response> {
    let rules = state.settings().brokerage.clone();
    render_status(
        errors.status(),
        &NewPage {
            page: PageCtx::new(state, ctx, "Raise a care request"),
            errors,
            r,
            lines: super::SERVICE_LINES.to_vec(),
            urgencies: rules
                .urgencies
                .iter()
                .map(|u| {
                    (
                        u.key.clone(),
                        format!(
                            "{} (providers answer within {})",
                            u.label,
                            minutes(u.response_minutes)
                        ),
                    )
                })
                .collect(),
            times: TIMES_OF_DAY.to_vec(),
            needs: NEEDS.to_vec(),
            format: if rules.case_reference_format.is_empty() {
                "3 to 20 letters, digits, hyphens or slashes".into()
            } else {
                format!("In the council's format: {}", rules.case_reference_format)
            },
        },
    )
}

fn minutes(m: i64) -> String {
    if m % 60 == 0 {
        let h = m / 60;
        format!("{h} hour{}", if h == 1 { "" } else { "s" })
    } else {
        format!("{m} minutes")
    }
}

async fn new_page(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response> {
    let r = NewRequest {
        funding: "council".into(),
        service_line: "general".into(),
        urgency: "standard".into(),
        ..Default::default()
    };
    new_view(&state, &ctx, FormErrors::default(), r)
}

fn new_request_from(f: &Pairs) -> NewRequest {
    NewRequest {
        case_ref: field(f, "case_ref"),
        funding: field(f, "funding"),
        postcode: field(f, "postcode"),
        service_line: field(f, "service_line"),
        hours: field(f, "hours"),
        visits_per_day: field(f, "visits_per_day"),
        visit_minutes: field(f, "visit_minutes"),
        times_of_day: all_of(f, "times_of_day"),
        double_handed: field(f, "double_handed") == "yes",
        needs: all_of(f, "needs"),
        wanted_start: field(f, "wanted_start"),
        urgency: field(f, "urgency"),
    }
}

async fn raise(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    let r = new_request_from(&f);
    match requests::raise(&state, &Actor::from_ctx(&ctx), &r).await? {
        Ok(id) => Ok(redirect_with_flash(
            &state,
            &format!("/brokerage/requests/{id}"),
            "Request raised and offered",
        )),
        Err(e) => new_view(&state, &ctx, e, r),
    }
}

#[derive(Template)]
#[template(path = "brokerage/request.html")]
struct RequestPage {
    page: PageCtx,
    r: CareRequest,
    trail: Vec<OfferRow>,
    /// Providers not yet offered, with names
    remaining: Vec<(String, String)>,
    placed_name: Option<String>,
    package: Option<super::packages::Package>,
    can_act: bool,
    errors: FormErrors,
}

impl RequestPage {
    fn hours(&self, h: &i64) -> String {
        hours(h)
    }
    fn state(&self, s: &str) -> &'static str {
        state_label(s)
    }
    fn status(&self, s: &str) -> &'static str {
        offer_status_label(s)
    }
    fn reason(&self, o: &OfferRow) -> String {
        match (&o.reason, &o.reason_text) {
            (Some(r), Some(t)) => format!("{}: {t}", label(&DECLINE_REASONS, r)),
            (Some(r), None) => label(&DECLINE_REASONS, r).to_string(),
            _ => String::new(),
        }
    }
    fn line(&self) -> &str {
        label(&super::SERVICE_LINES, &self.r.service_line)
    }
    fn urgency(&self) -> String {
        self.r.urgency.replace('_', " ")
    }
}

/// A provider's name as CQC gives it, if it has one.
pub(super) async fn provider_name(state: &AppState, id: &str) -> Result<Option<String>> {
    Ok(crate::cqc::queries::provider(&state.db, id)
        .await?
        .and_then(|p| p.name))
}

pub(super) async fn request_view(
    state: &AppState,
    ctx: &RequestCtx,
    id: i64,
    errors: FormErrors,
) -> Result<Response> {
    let r = requests::get(state, id).await?;
    let c = r.cascade()?;
    let mut remaining = Vec::new();
    for p in c.remaining() {
        remaining.push((
            p.clone(),
            provider_name(state, p).await?.unwrap_or_else(|| p.clone()),
        ));
    }
    let placed_name = match &r.placed_provider {
        Some(p) => Some(provider_name(state, p).await?.unwrap_or_else(|| p.clone())),
        None => None,
    };
    render_status(
        errors.status(),
        &RequestPage {
            page: PageCtx::new(state, ctx, format!("Care request {}", r.case_ref)),
            trail: requests::trail(state, id).await?,
            remaining,
            placed_name,
            package: super::packages::for_request(state, id).await?,
            can_act: matches!(ctx.user()?.role, Role::Admin | Role::Broker),
            errors,
            r,
        },
    )
}

async fn request_page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    request_view(&state, &ctx, id, FormErrors::default()).await
}

/// A broker's step: a reason is required (it goes in the audit log); refusals re-show the
/// page with the message.
#[allow(clippy::too_many_arguments)] // one call per broker action; a struct would only rename them
async fn broker_step<F>(
    state: &AppState,
    ctx: &RequestCtx,
    id: i64,
    f: &Pairs,
    action: &str,
    done: &str,
    mut extra: serde_json::Value,
    step: F,
) -> Result<Response>
where
    F: FnMut(
        &mut caremarket_core::brokerage::Cascade,
        i64,
    ) -> std::result::Result<Vec<caremarket_core::brokerage::Event>, Refused>,
{
    let reason = field(f, "reason");
    if reason.trim().is_empty() {
        let mut e = FormErrors::default();
        e.add(
            &format!("reason-{action}"),
            "Say why (it is kept in the audit log)",
        );
        return request_view(state, ctx, id, e).await;
    }
    if let Some(m) = extra.as_object_mut() {
        m.insert("reason".into(), reason.trim().into());
    }
    // The version of the request the broker's page showed: the step is taken on that, or
    // not at all.
    let Ok(seen) = field(f, "version").trim().parse::<i64>() else {
        let mut e = FormErrors::default();
        e.add(
            &format!("reason-{action}"),
            "The form did not say which version of the request it was sent from: reload the page and try again",
        );
        return request_view(state, ctx, id, e).await;
    };
    match requests::step_from(
        state,
        &Actor::from_ctx(ctx),
        id,
        Some(seen),
        &format!("care_request.{action}"),
        extra,
        step,
    )
    .await?
    {
        Ok(_) => Ok(redirect_with_flash(
            state,
            &format!("/brokerage/requests/{id}"),
            done,
        )),
        Err(requests::Blocked::Refused(r)) => {
            let mut e = FormErrors::default();
            e.add(&format!("reason-{action}"), requests::refused_message(&r));
            request_view(state, ctx, id, e).await
        }
        Err(requests::Blocked::Stale { .. }) => {
            let mut e = FormErrors::default();
            e.add(
                &format!("reason-{action}"),
                "Someone changed this request after you opened it, so nothing was done. It is shown below as it is now: do it again if you still want to",
            );
            let mut r = request_view(state, ctx, id, e).await?;
            *r.status_mut() = axum::http::StatusCode::CONFLICT;
            Ok(r)
        }
    }
}

async fn skip(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    broker_step(
        &state,
        &ctx,
        id,
        &f,
        "skip",
        "Moved on to the next provider",
        serde_json::json!({}),
        |c, t| c.skip(t),
    )
    .await
}

async fn reorder(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    // The form lists the providers not yet offered, each with a position box.
    let r = requests::get(&state, id).await?;
    let rest = r.cascade()?.remaining().to_vec();
    let mut placed: Vec<(i64, usize, String)> = Vec::new();
    for (i, p) in rest.iter().enumerate() {
        let pos = field(&f, &format!("position-{p}")).trim().parse::<i64>();
        match pos {
            Ok(n) => placed.push((n, i, p.clone())),
            Err(_) => {
                let mut e = FormErrors::default();
                e.add(
                    "reason-reorder",
                    "Give every provider a position, a whole number",
                );
                return request_view(&state, &ctx, id, e).await;
            }
        }
    }
    placed.sort();
    let order: Vec<String> = placed.into_iter().map(|x| x.2).collect();
    let o2 = order.clone();
    broker_step(
        &state,
        &ctx,
        id,
        &f,
        "reorder",
        "Order changed",
        serde_json::json!({"order": order}),
        move |c, _| c.reorder(&o2).map(|_| vec![]),
    )
    .await
}

async fn reopen(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    let r = requests::get(&state, id).await?;
    let order = super::offer_order(&state, r.lot_id).await?;
    broker_step(
        &state,
        &ctx,
        id,
        &f,
        "reopen",
        "Offered to the lot's providers again",
        serde_json::json!({}),
        move |c, t| c.reopen(&order, t),
    )
    .await
}

async fn spot(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    let provider = field(&f, "provider_id").trim().to_string();
    if crate::cqc::queries::provider(&state.db, &provider)
        .await?
        .is_none()
    {
        let mut e = FormErrors::default();
        e.add(
            "provider_id",
            "Enter a CQC provider ID from the CQC data, like 1-101667957",
        );
        return request_view(&state, &ctx, id, e).await;
    }
    let p2 = provider.clone();
    broker_step(
        &state,
        &ctx,
        id,
        &f,
        "spot",
        "Placed by spot purchase",
        serde_json::json!({"provider_id": provider}),
        move |c, _| c.spot(&p2),
    )
    .await
}

async fn withdraw(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    broker_step(
        &state,
        &ctx,
        id,
        &f,
        "withdraw",
        "Request withdrawn",
        serde_json::json!({}),
        |c, _| c.withdraw().map(|_| vec![]),
    )
    .await
}

// ---------------------------------------------------------------------------------------
// Providers

/// What a provider may see of a request it was offered.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OfferView {
    pub request_id: i64,
    pub case_ref: String,
    pub area: String,
    pub district: String,
    /// Hours a week, two decimals
    pub hours: String,
    pub pattern: String,
    pub needs: Vec<String>,
    pub wanted_start: chrono::NaiveDate,
    pub made_at: chrono::DateTime<chrono::Utc>,
    pub deadline: chrono::DateTime<chrono::Utc>,
    /// open, accepted, declined, expired, closed or skipped
    pub status: String,
}

async fn offer_views(
    state: &AppState,
    provider: &str,
    status: Option<&str>,
) -> Result<Vec<OfferView>> {
    Ok(requests::offers_to(state, provider, status)
        .await?
        .iter()
        .map(|(o, r)| view_of(r, o))
        .collect())
}

fn view_of(r: &CareRequest, o: &OfferRow) -> OfferView {
    OfferView {
        request_id: r.id,
        case_ref: r.case_ref.clone(),
        area: r.lot_name.clone(),
        district: r.district.clone(),
        hours: hours(&r.hours),
        pattern: r.pattern(),
        needs: r.needs_list().into_iter().map(str::to_string).collect(),
        wanted_start: r.wanted_start,
        made_at: o.made_at,
        deadline: o.deadline,
        status: o.status.clone(),
    }
}

/// The request as its provider may see it, from the latest offer made to that provider; not
/// found when the provider was never offered it.
async fn own_offer(state: &AppState, ctx: &RequestCtx, id: i64) -> Result<OfferView> {
    let provider = ctx.user()?.acting_for()?.own_provider()?;
    let trail = requests::trail(state, id).await?;
    let Some(o) = trail.iter().rev().find(|o| o.provider_id == provider) else {
        return Err(AppError::NotFound);
    };
    let r = requests::get(state, id).await?;
    Ok(view_of(&r, o))
}

#[derive(Template)]
#[template(path = "brokerage/offers.html")]
struct OffersPage {
    page: PageCtx,
    open: Vec<OfferView>,
    past: Vec<OfferView>,
    /// The provider's lots with the spare hours it last declared on each
    capacity: Vec<(super::Lot, String)>,
    errors: FormErrors,
}

impl OffersPage {
    fn status(&self, s: &str) -> &'static str {
        offer_status_label(s)
    }
}

async fn offers_page(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response> {
    offers_view(&state, &ctx, FormErrors::default()).await
}

pub(super) async fn offers_view(
    state: &AppState,
    ctx: &RequestCtx,
    errors: FormErrors,
) -> Result<Response> {
    let provider = ctx.user()?.acting_for()?.own_provider()?;
    let all = offer_views(state, &provider, None).await?;
    let (open, past) = all.into_iter().partition(|o| o.status == "open");
    let spare = super::matching::spare_of(state, Some(&provider)).await?;
    let capacity = super::matching::lots_of(state, &provider)
        .await?
        .into_iter()
        .map(|l| {
            let s = spare
                .iter()
                .find(|s| s.lot_id == l.id)
                .map(|s| caremarket_core::money::show_hundredths(s.spare_hours))
                .unwrap_or_default();
            (l, s)
        })
        .collect();
    render_status(
        errors.status(),
        &OffersPage {
            page: PageCtx::new(state, ctx, "Offers of home care"),
            open,
            past,
            capacity,
            errors,
        },
    )
}

#[derive(Template)]
#[template(path = "brokerage/offer.html")]
struct OfferPage {
    page: PageCtx,
    o: OfferView,
    errors: FormErrors,
    reasons: Vec<(&'static str, &'static str)>,
    chosen: String,
    text: String,
}

impl OfferPage {
    fn status(&self, s: &str) -> &'static str {
        offer_status_label(s)
    }
}

async fn offer_view(
    state: &AppState,
    ctx: &RequestCtx,
    id: i64,
    errors: FormErrors,
    chosen: String,
    text: String,
) -> Result<Response> {
    let o = own_offer(state, ctx, id).await?;
    render_status(
        errors.status(),
        &OfferPage {
            page: PageCtx::new(state, ctx, format!("Offer: {}", o.case_ref)),
            o,
            errors,
            reasons: DECLINE_REASONS.to_vec(),
            chosen,
            text,
        },
    )
}

async fn offer_page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    offer_view(
        &state,
        &ctx,
        id,
        FormErrors::default(),
        String::new(),
        String::new(),
    )
    .await
}

/// A provider's answer: Ok(()) or what to tell them.
async fn answer(
    state: &AppState,
    ctx: &RequestCtx,
    id: i64,
    decline: Option<(&str, &str)>,
) -> Result<std::result::Result<(), FormErrors>> {
    let _ = own_offer(state, ctx, id).await?;
    let provider = ctx.user()?.acting_for()?.own_provider()?;
    let mut e = FormErrors::default();
    let outcome = match decline {
        None => {
            requests::step(
                state,
                &Actor::from_ctx(ctx),
                id,
                "care_request.offer.accept",
                serde_json::json!({"provider_id": provider}),
                |c, t| c.accept(&provider, t),
            )
            .await?
        }
        Some((code, text)) => match requests::decline_reason(code, text) {
            Ok(reason) => {
                requests::step(
                    state,
                    &Actor::from_ctx(ctx),
                    id,
                    "care_request.offer.decline",
                    serde_json::json!({"provider_id": provider, "reason": code, "text": text}),
                    |c, t| c.decline(&provider, reason.clone(), t),
                )
                .await?
            }
            Err(m) => {
                e.add(
                    if code == "other" {
                        "reason_text"
                    } else {
                        "reason"
                    },
                    m,
                );
                return Ok(Err(e));
            }
        },
    };
    match outcome {
        Ok(_) => Ok(Ok(())),
        Err(r) => {
            e.add("answer", requests::refused_message(&r));
            Ok(Err(e))
        }
    }
}

async fn accept(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    match answer(&state, &ctx, id, None).await? {
        Ok(()) => Ok(redirect_with_flash(
            &state,
            &format!("/offers/{id}"),
            "You have accepted the package",
        )),
        Err(e) => offer_view(&state, &ctx, id, e, String::new(), String::new()).await,
    }
}

async fn decline(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    let (code, text) = (field(&f, "reason"), field(&f, "reason_text"));
    match answer(&state, &ctx, id, Some((&code, &text))).await? {
        Ok(()) => Ok(redirect_with_flash(
            &state,
            "/offers",
            "You have declined the offer",
        )),
        Err(e) => offer_view(&state, &ctx, id, e, code, text).await,
    }
}

// ---------------------------------------------------------------------------------------
// API

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RequestDetail {
    #[serde(flatten)]
    pub request: CareRequest,
    pub offers: Vec<OfferRow>,
    /// Providers not yet offered, in order
    pub remaining: Vec<String>,
}

#[utoipa::path(get, path = "/api/v1/brokerage/requests", tag = "brokerage", responses((status = 200, body = Vec<CareRequest>)))]
pub async fn api_requests(State(state): State<AppState>) -> Result<Json<Vec<CareRequest>>> {
    Ok(Json(requests::list(&state, None).await?))
}

#[utoipa::path(get, path = "/api/v1/brokerage/requests/{id}", tag = "brokerage", params(("id" = i64, Path)), responses((status = 200, body = RequestDetail)))]
pub async fn api_request(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<RequestDetail>> {
    let r = requests::get(&state, id).await?;
    let remaining = r.cascade()?.remaining().to_vec();
    Ok(Json(RequestDetail {
        offers: requests::trail(&state, id).await?,
        remaining,
        request: r,
    }))
}

#[utoipa::path(post, path = "/api/v1/brokerage/requests", tag = "brokerage", request_body = NewRequest,
    responses((status = 201, body = RequestDetail), (status = 422, description = "What to fix")))]
pub async fn api_raise(
    State(state): State<AppState>,
    ctx: RequestCtx,
    crate::web::json::ApiJson(b): crate::web::json::ApiJson<NewRequest>,
) -> Result<Response> {
    match requests::raise(&state, &Actor::from_ctx(&ctx), &b).await? {
        Ok(id) => {
            let Json(d) = api_request(State(state), Path(id)).await?;
            Ok((StatusCode::CREATED, Json(d)).into_response())
        }
        Err(e) => Err(crate::web::json::validation_problem(e)),
    }
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct OffersQuery {
    /// Only offers in this state: open, accepted, declined, expired, closed or skipped
    pub status: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/offers", tag = "brokerage", params(OffersQuery), responses((status = 200, body = Vec<OfferView>)))]
pub async fn api_offers(
    State(state): State<AppState>,
    ctx: RequestCtx,
    axum::extract::Query(q): axum::extract::Query<OffersQuery>,
) -> Result<Json<Vec<OfferView>>> {
    Ok(Json(
        offer_views(
            &state,
            &ctx.user()?.acting_for()?.own_provider()?,
            q.status.as_deref().filter(|s| !s.is_empty()),
        )
        .await?,
    ))
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct DeclineBody {
    /// no_capacity, cannot_meet_needs, area or other
    pub reason: String,
    /// Required with other
    #[serde(default)]
    pub text: String,
}

fn api_outcome(r: std::result::Result<(), FormErrors>, view: OfferView) -> Result<Response> {
    match r {
        Ok(()) => Ok(Json(view).into_response()),
        Err(e) if e.has("answer") => Err(AppError::Conflict(
            e.get("answer").unwrap_or_default().to_string(),
        )),
        Err(e) => Err(crate::web::json::validation_problem(e)),
    }
}

#[utoipa::path(post, path = "/api/v1/offers/{id}/accept", tag = "brokerage", params(("id" = i64, Path, description = "The request's id")),
    responses((status = 200, body = OfferView), (status = 409, description = "The offer is no longer open")))]
pub async fn api_accept(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    let r = answer(&state, &ctx, id, None).await?;
    api_outcome(r, own_offer(&state, &ctx, id).await?)
}

#[utoipa::path(post, path = "/api/v1/offers/{id}/decline", tag = "brokerage", params(("id" = i64, Path, description = "The request's id")), request_body = DeclineBody,
    responses((status = 200, body = OfferView), (status = 409, description = "The offer is no longer open"), (status = 422, description = "What to fix")))]
pub async fn api_decline(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
    crate::web::json::ApiJson(b): crate::web::json::ApiJson<DeclineBody>,
) -> Result<Response> {
    let r = answer(&state, &ctx, id, Some((&b.reason, &b.text))).await?;
    api_outcome(r, own_offer(&state, &ctx, id).await?)
}
