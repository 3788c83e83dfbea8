//! Care requests and the offer cascade (Leicester domiciliary support, 2018, §4.4–4.7). A broker raises a request with
//! the council's case reference (no names); it goes to its lot's primary provider first,
//! then to the framework in rank order, each offer with a deadline. The rules of the cascade
//! live in `caremarket_core::brokerage::Cascade`; this module keeps it, and does what each
//! step means: offers rows for lookups, notifications, the awaiting care list.
//!
//! Every change is optimistic: read the request, apply the step to its cascade, then write it
//! back only if its version is still the one read. Two providers accepting at the same
//! moment both read version v; one write succeeds, the other finds v gone, reads again and
//! is refused (the request is placed). The expiry task relies on the same check to expire an
//! offer exactly once, however many servers run it and across restarts.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use caremarket_core::brokerage::{
    Cascade, DeclineReason, Event, OfferStatus, Refused, RequestState, case_reference_ok,
};

use crate::audit::{self, Actor};
use crate::db::Tx;
use crate::web::forms::FormErrors;
use crate::{AppError, AppState, Result, args, mail};

pub const NEEDS: [(&str, &str); 8] = [
    ("dementia", "Dementia"),
    ("mental_health", "Mental health"),
    ("learning_disability", "Learning disability"),
    ("physical_disability", "Physical disability"),
    ("end_of_life", "End of life"),
    ("sensory", "Sensory impairment"),
    ("autism", "Autism"),
    ("substance_misuse", "Substance misuse"),
];

pub const TIMES_OF_DAY: [(&str, &str); 5] = [
    ("morning", "Morning"),
    ("lunch", "Lunch"),
    ("tea", "Tea"),
    ("bed", "Bed"),
    ("night", "Night"),
];

pub const DECLINE_REASONS: [(&str, &str); 4] = [
    ("no_capacity", "No capacity"),
    ("cannot_meet_needs", "Cannot meet the person's needs"),
    ("area", "Cannot cover the area"),
    ("other", "Other"),
];

pub fn label<'a>(list: &'a [(&'a str, &'a str)], key: &'a str) -> &'a str {
    list.iter()
        .find(|(k, _)| *k == key)
        .map(|(_, l)| *l)
        .unwrap_or(key)
}

#[derive(Debug, Clone, sqlx::FromRow, Serialize, utoipa::ToSchema)]
pub struct CareRequest {
    pub id: i64,
    /// The council's case reference
    pub case_ref: String,
    /// council or health (NHS Continuing Health Care)
    pub funding: String,
    pub lot_id: i64,
    pub lot_name: String,
    /// general or specialist
    pub service_line: String,
    /// Postcode district
    pub district: String,
    /// Hundredths of an hour a week
    pub hours: i64,
    pub visits_per_day: i64,
    pub visit_minutes: i64,
    /// Space separated: morning lunch tea bed night
    pub times_of_day: String,
    pub double_handed: bool,
    /// Space separated need keys
    pub needs: String,
    pub wanted_start: NaiveDate,
    pub urgency: String,
    /// offering, placed, waiting or withdrawn
    pub state: String,
    pub placed_provider: Option<String>,
    /// cascade or spot
    pub placed_how: Option<String>,
    #[serde(skip)]
    pub cascade: String,
    #[serde(skip)]
    pub next_deadline: Option<i64>,
    pub version: i64,
    pub raised_by: String,
    pub raised_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

impl CareRequest {
    pub fn cascade(&self) -> Result<Cascade> {
        serde_json::from_str(&self.cascade)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("request {}: {e}", self.id)))
    }

    /// "4 visits a day × 30 minutes (morning, lunch, tea, bed), double-handed"
    pub fn pattern(&self) -> String {
        let times: Vec<&str> = self
            .times_of_day
            .split_whitespace()
            .map(|t| label(&TIMES_OF_DAY, t))
            .collect();
        let mut s = format!(
            "{} visit{} a day × {} minutes",
            self.visits_per_day,
            if self.visits_per_day == 1 { "" } else { "s" },
            self.visit_minutes
        );
        if !times.is_empty() {
            s.push_str(&format!(" ({})", times.join(", ").to_lowercase()));
        }
        if self.double_handed {
            s.push_str(", double-handed");
        }
        s
    }

    pub fn needs_list(&self) -> Vec<&str> {
        self.needs
            .split_whitespace()
            .map(|n| label(&NEEDS, n))
            .collect()
    }
}

const SELECT: &str = "SELECT r.id, r.case_ref, r.funding, r.lot_id, l.name AS lot_name, r.service_line, r.district, r.hours, r.visits_per_day, r.visit_minutes, r.times_of_day, r.double_handed, r.needs, r.wanted_start, r.urgency, r.state, r.placed_provider, r.placed_how, r.cascade, r.next_deadline, r.version, r.raised_by, r.raised_at, r.closed_at FROM care_requests r JOIN lots l ON l.id = r.lot_id";

pub async fn get(state: &AppState, id: i64) -> Result<CareRequest> {
    state
        .db
        .q()
        .fetch_optional(&format!("{SELECT} WHERE r.id = $1"), args![id])
        .await?
        .ok_or(AppError::NotFound)
}

/// Requests, all or those in one state, oldest first.
pub async fn list(state: &AppState, in_state: Option<&str>) -> Result<Vec<CareRequest>> {
    Ok(state
        .db
        .q()
        .fetch_all(
            &format!("{SELECT} WHERE ($1 = '' OR r.state = $1) ORDER BY r.raised_at, r.id"),
            args![in_state.unwrap_or("")],
        )
        .await?)
}

/// One offer as the offers table keeps it.
#[derive(Debug, Clone, sqlx::FromRow, Serialize, utoipa::ToSchema)]
pub struct OfferRow {
    pub id: i64,
    pub request_id: i64,
    pub seq: i64,
    pub provider_id: String,
    pub provider_name: Option<String>,
    pub made_at: DateTime<Utc>,
    pub deadline: DateTime<Utc>,
    /// open, accepted, declined, expired, closed or skipped
    pub status: String,
    pub reason: Option<String>,
    pub reason_text: Option<String>,
    pub answered_at: Option<DateTime<Utc>>,
    pub answered_by: Option<String>,
}

const OFFER_SELECT: &str = "SELECT o.id, o.request_id, o.seq, o.provider_id, p.name AS provider_name, o.made_at, o.deadline, o.status, o.reason, o.reason_text, o.answered_at, o.answered_by FROM offers o LEFT JOIN cqc_providers p ON p.provider_id = o.provider_id";

/// A request's offer trail, in the order made.
pub async fn trail(state: &AppState, request_id: i64) -> Result<Vec<OfferRow>> {
    Ok(state
        .db
        .q()
        .fetch_all(
            &format!("{OFFER_SELECT} WHERE o.request_id = $1 ORDER BY o.seq"),
            args![request_id],
        )
        .await?)
}

/// Offers made to one provider (only those with `status`, if given), newest first, each
/// with its request: two queries however many offers there are.
pub async fn offers_to(
    state: &AppState,
    provider_id: &str,
    status: Option<&str>,
) -> Result<Vec<(OfferRow, CareRequest)>> {
    let status = status.unwrap_or("");
    let offers: Vec<OfferRow> = state
        .db
        .q()
        .fetch_all(
            &format!("{OFFER_SELECT} WHERE o.provider_id = $1 AND ($2 = '' OR o.status = $2) ORDER BY o.made_at DESC, o.id DESC"),
            args![provider_id, status],
        )
        .await?;
    let requests: Vec<CareRequest> = state
        .db
        .q()
        .fetch_all(
            &format!("{SELECT} WHERE r.id IN (SELECT request_id FROM offers WHERE provider_id = $1 AND ($2 = '' OR status = $2))"),
            args![provider_id, status],
        )
        .await?;
    let by_id: std::collections::HashMap<i64, CareRequest> =
        requests.into_iter().map(|r| (r.id, r)).collect();
    Ok(offers
        .into_iter()
        .filter_map(|o| by_id.get(&o.request_id).cloned().map(|r| (o, r)))
        .collect())
}

// ---------------------------------------------------------------------------------------
// Raising a request

/// A request as typed into the form or sent to the API.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct NewRequest {
    pub case_ref: String,
    /// council or health
    pub funding: String,
    /// A postcode or its district ("LE4 5AB" or "LE4")
    pub postcode: String,
    pub service_line: String,
    /// Hours a week ("10.5")
    pub hours: String,
    pub visits_per_day: String,
    pub visit_minutes: String,
    #[serde(default)]
    pub times_of_day: Vec<String>,
    #[serde(default)]
    pub double_handed: bool,
    #[serde(default)]
    pub needs: Vec<String>,
    /// dd/mm/yyyy or yyyy-mm-dd
    pub wanted_start: String,
    pub urgency: String,
}

struct Valid {
    case_ref: String,
    district: String,
    hours: i64,
    visits: i64,
    minutes: i64,
    times: String,
    needs: String,
    wanted: NaiveDate,
    response_seconds: i64,
}

async fn validate(
    state: &AppState,
    i: &NewRequest,
) -> Result<std::result::Result<(Valid, super::Lot), FormErrors>> {
    let rules = state.settings().brokerage.clone();
    let mut e = FormErrors::default();
    let case_ref = i.case_ref.trim().to_uppercase();
    if case_ref.is_empty() {
        e.add("case_ref", "Enter the case reference");
    } else if !case_reference_ok(&rules.case_reference_format, &case_ref) {
        e.add(
            "case_ref",
            &if rules.case_reference_format.is_empty() {
                "Enter the case reference: 3 to 20 letters, digits, hyphens or slashes (no names)"
                    .to_string()
            } else {
                format!(
                    "Enter the case reference in the council's format, like {}",
                    rules.case_reference_format
                )
            },
        );
    }
    if !matches!(i.funding.as_str(), "council" | "health") {
        e.add(
            "funding",
            "Select who funds the care: the council or NHS Continuing Health Care",
        );
    }
    if !super::SERVICE_LINES
        .iter()
        .any(|(k, _)| *k == i.service_line)
    {
        e.add("service_line", "Select the service line");
    }
    let district = i
        .postcode
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_uppercase();
    let district_ok = super::normalise_districts(&district) == vec![district.clone()];
    if !district_ok {
        e.add(
            "postcode",
            "Enter the postcode or its district, like LE4 5AB or LE4",
        );
    }
    let hours = match caremarket_core::money::parse_hundredths(&i.hours, false) {
        Ok(h) if h > 0 && h <= 16_800 => h,
        _ => {
            e.add(
                "hours",
                "Enter the hours of care a week, a number like 10.5, more than 0",
            );
            0
        }
    };
    let visits = match i.visits_per_day.trim().parse::<i64>() {
        Ok(v) if (1..=12).contains(&v) => v,
        _ => {
            e.add(
                "visits_per_day",
                "Enter the number of visits a day, a whole number from 1 to 12",
            );
            0
        }
    };
    let minutes = match i.visit_minutes.trim().parse::<i64>() {
        Ok(v) if (15..=720).contains(&v) => v,
        _ => {
            e.add(
                "visit_minutes",
                "Enter the length of a visit in minutes, from 15 to 720",
            );
            0
        }
    };
    if let Some(bad) = i
        .times_of_day
        .iter()
        .find(|t| !TIMES_OF_DAY.iter().any(|(k, _)| k == t))
    {
        e.add(
            "times_of_day",
            format!("{bad:?} is not a time of day this service knows"),
        );
    }
    if let Some(bad) = i.needs.iter().find(|t| !NEEDS.iter().any(|(k, _)| k == t)) {
        e.add("needs", format!("{bad:?} is not a need this service knows"));
    }
    let wanted = match caremarket_core::cqc::parse_date(&i.wanted_start, false) {
        Ok(d) => Some(d),
        Err(_) => {
            e.add(
                "wanted_start",
                "Enter the date care should start, like 27/11/2026",
            );
            None
        }
    };
    let response_seconds = match rules.urgency(&i.urgency) {
        Some(u) => u.response_minutes * 60,
        None => {
            e.add("urgency", "Select how urgent the request is");
            0
        }
    };
    let lot = if district_ok && e.get("service_line").is_none() {
        let lot = super::lot_for(state, &district, &i.service_line).await?;
        if lot.is_none() {
            e.add(
                "postcode",
                format!(
                    "No lot covers {district} for {}: add the district to a lot first",
                    label(&super::SERVICE_LINES, &i.service_line).to_lowercase()
                ),
            );
        }
        lot
    } else {
        None
    };
    let (Some(wanted), Some(lot), true) = (wanted, lot, e.is_empty()) else {
        return Ok(Err(e));
    };
    let keep = |v: &[String], all: &[(&str, &str)]| {
        all.iter()
            .filter(|(k, _)| v.iter().any(|x| x == k))
            .map(|(k, _)| *k)
            .collect::<Vec<_>>()
            .join(" ")
    };
    Ok(Ok((
        Valid {
            case_ref,
            district,
            hours,
            visits,
            minutes,
            times: keep(&i.times_of_day, &TIMES_OF_DAY),
            needs: keep(&i.needs, &NEEDS),
            wanted,
            response_seconds,
        },
        lot,
    )))
}

/// Raises a request and sends its first offers.
pub async fn raise(
    state: &AppState,
    actor: &Actor,
    i: &NewRequest,
) -> Result<std::result::Result<i64, FormErrors>> {
    let (v, lot) = match validate(state, i).await? {
        Ok(x) => x,
        Err(e) => return Ok(Err(e)),
    };
    let open: i64 = state
        .db
        .q()
        .scalar(
            "SELECT COUNT(*) FROM care_requests WHERE case_ref = $1 AND state IN ('offering','waiting')",
            args![&v.case_ref],
        )
        .await?;
    if open > 0 {
        let mut e = FormErrors::default();
        e.add(
            "case_ref",
            "That case already has an open request: find it in the list of requests",
        );
        return Ok(Err(e));
    }
    let order = super::offer_order(state, lot.id).await?;
    let rules = state.settings().brokerage.clone();
    let now = state.clock.now();
    let (c, events) = Cascade::start(
        &order,
        rules.offer_width,
        v.response_seconds,
        now.timestamp(),
    );
    let mut tx = state.db.begin().await?;
    let id: i64 = tx
        .scalar(
            "INSERT INTO care_requests (case_ref, funding, lot_id, service_line, district, hours, visits_per_day, visit_minutes, times_of_day, double_handed, needs, wanted_start, urgency, state, cascade, next_deadline, version, raised_by, raised_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 0, $17, $18) RETURNING id",
            args![
                &v.case_ref, &i.funding, lot.id, &i.service_line, &v.district, v.hours, v.visits,
                v.minutes, &v.times, i.double_handed, &v.needs, v.wanted, &i.urgency,
                state_key(&c.state), cascade_json(&c)?, c.next_deadline(), &actor.name, now
            ],
        )
        .await?;
    let req = CareRequest {
        id,
        case_ref: v.case_ref.clone(),
        funding: i.funding.clone(),
        lot_id: lot.id,
        lot_name: lot.name.clone(),
        service_line: i.service_line.clone(),
        district: v.district.clone(),
        hours: v.hours,
        visits_per_day: v.visits,
        visit_minutes: v.minutes,
        times_of_day: v.times.clone(),
        double_handed: i.double_handed,
        needs: v.needs.clone(),
        wanted_start: v.wanted,
        urgency: i.urgency.clone(),
        state: "offering".into(),
        placed_provider: None,
        placed_how: None,
        cascade: String::new(),
        next_deadline: None,
        version: 0,
        raised_by: actor.name.clone(),
        raised_at: now,
        closed_at: None,
    };
    let empty = Cascade {
        order: vec![],
        width: c.width,
        response_seconds: c.response_seconds,
        offers: vec![],
        next: 0,
        state: RequestState::Offering,
    };
    let mut mails = Vec::new();
    record(&mut tx, &req, &empty, &c, &events, None, now, &mut mails).await?;
    audit::entry("care_request.raise", "care_request", id)
        .after(serde_json::json!({"case_ref": v.case_ref, "funding": i.funding, "lot_id": lot.id, "district": v.district, "hours": v.hours, "urgency": i.urgency, "order": c.order}))
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    for m in mails {
        mail::send_after_commit(state, m);
    }
    Ok(Ok(id))
}

fn cascade_json(c: &Cascade) -> Result<String> {
    serde_json::to_string(c).map_err(|e| AppError::Internal(e.into()))
}

fn state_key(s: &RequestState) -> &'static str {
    match s {
        RequestState::Offering => "offering",
        RequestState::Placed { .. } => "placed",
        RequestState::Waiting => "waiting",
        RequestState::Withdrawn => "withdrawn",
    }
}

fn status_key(s: &OfferStatus) -> (&'static str, Option<String>, Option<String>) {
    match s {
        OfferStatus::Open => ("open", None, None),
        OfferStatus::Accepted => ("accepted", None, None),
        OfferStatus::Declined(r) => match r {
            DeclineReason::NoCapacity => ("declined", Some("no_capacity".into()), None),
            DeclineReason::CannotMeetNeeds => ("declined", Some("cannot_meet_needs".into()), None),
            DeclineReason::Area => ("declined", Some("area".into()), None),
            DeclineReason::Other(t) => ("declined", Some("other".into()), Some(t.clone())),
        },
        OfferStatus::Expired => ("expired", None, None),
        OfferStatus::Closed => ("closed", None, None),
        OfferStatus::Skipped => ("skipped", None, None),
    }
}

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap_or_default()
}

/// Users to tell about a provider's offers: its active provider users.
async fn provider_users(tx: &mut Tx, provider_id: &str) -> Result<Vec<i64>> {
    let rows: Vec<(i64,)> = tx
        .fetch_all(
            "SELECT id FROM users WHERE role = 'provider' AND provider_id = $1 AND disabled = FALSE ORDER BY id",
            args![provider_id],
        )
        .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// The broker who raised the request, if still a user.
async fn raiser(tx: &mut Tx, email: &str) -> Result<Option<i64>> {
    Ok(tx
        .scalar_optional(
            "SELECT id FROM users WHERE email = $1 AND disabled = FALSE",
            args![email],
        )
        .await?)
}

/// What a step of the cascade means beyond the request row: the offers table follows the
/// cascade's offers; providers are told of new offers; the awaiting care list gains or loses
/// the case; the broker hears when the framework is exhausted or a provider is found.
#[allow(clippy::too_many_arguments)]
async fn record(
    tx: &mut Tx,
    req: &CareRequest,
    before: &Cascade,
    after: &Cascade,
    events: &[Event],
    answered_by: Option<&str>,
    now: DateTime<Utc>,
    mails: &mut Vec<i64>,
) -> Result<()> {
    for (seq, o) in after.offers.iter().enumerate() {
        let (status, reason, text) = status_key(&o.status);
        match before.offers.get(seq) {
            Some(b) if b.status == o.status => {}
            Some(_) => {
                let answered = matches!(o.status, OfferStatus::Accepted | OfferStatus::Declined(_));
                tx.execute(
                    "UPDATE offers SET status = $1, reason = $2, reason_text = $3, answered_at = $4, answered_by = $5 WHERE request_id = $6 AND seq = $7",
                    args![
                        status,
                        reason,
                        text,
                        answered.then_some(now),
                        if answered { answered_by } else { None },
                        req.id,
                        seq as i64
                    ],
                )
                .await?;
            }
            None => {
                tx.execute(
                    "INSERT INTO offers (request_id, seq, provider_id, made_at, deadline, status, reason, reason_text) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    args![req.id, seq as i64, &o.provider, at(o.made_at), at(o.deadline), status, reason, text],
                )
                .await?;
            }
        }
    }
    let today = now.date_naive();
    for ev in events {
        match ev {
            Event::Offered { provider, deadline } => {
                let subject = format!("New home care offer: {}", req.case_ref);
                let body = format!(
                    "You are offered a home care package.\n\nCase reference: {}\nArea: {} ({})\nHours a week: {}\nPattern: {}\nNeeds: {}\nWanted from: {}\n\nPlease accept or decline by {} UTC: {}\n",
                    req.case_ref,
                    req.lot_name,
                    req.district,
                    caremarket_core::money::show_hundredths(req.hours),
                    req.pattern(),
                    if req.needs.is_empty() {
                        "none recorded".to_string()
                    } else {
                        req.needs_list().join(", ")
                    },
                    req.wanted_start.format("%d/%m/%Y"),
                    at(*deadline).format("%d/%m/%Y %H:%M"),
                    format_args!("/offers/{}", req.id),
                );
                for u in provider_users(tx, provider).await? {
                    mails.push(mail::queue(tx, u, &subject, &body, now).await?);
                }
            }
            Event::Placed { provider } => {
                tx.execute(
                    "UPDATE awaiting_episodes SET left_on = $1, left_reason = 'placed' WHERE request_id = $2 AND left_on IS NULL",
                    args![today, req.id],
                )
                .await?;
                if let Some(u) = raiser(tx, &req.raised_by).await? {
                    let subject = format!("Provider found: {}", req.case_ref);
                    let body = format!(
                        "{provider} has taken the package for case {} ({} hours a week in {}).\n\n/brokerage/requests/{}\n",
                        req.case_ref,
                        caremarket_core::money::show_hundredths(req.hours),
                        req.lot_name,
                        req.id
                    );
                    mails.push(mail::queue(tx, u, &subject, &body, now).await?);
                }
            }
            Event::Exhausted => {
                let open: i64 = tx
                    .scalar(
                        "SELECT COUNT(*) FROM awaiting_episodes WHERE request_id = $1 AND left_on IS NULL",
                        args![req.id],
                    )
                    .await?;
                if open == 0 {
                    tx.execute(
                        "INSERT INTO awaiting_episodes (request_id, case_ref, funding, lot_id, service_line, hours, joined_on, source) VALUES ($1, $2, $3, $4, $5, $6, $7, 'cascade')",
                        args![req.id, &req.case_ref, &req.funding, req.lot_id, &req.service_line, req.hours, today],
                    )
                    .await?;
                }
                if let Some(u) = raiser(tx, &req.raised_by).await? {
                    let subject = format!("No provider yet: {}", req.case_ref);
                    let body = format!(
                        "Every provider on {} has declined or not answered for case {}. It is on the awaiting care list.\n\n/brokerage/requests/{}\n",
                        req.lot_name, req.case_ref, req.id
                    );
                    mails.push(mail::queue(tx, u, &subject, &body, now).await?);
                }
            }
        }
    }
    if after.state == RequestState::Withdrawn && before.state != RequestState::Withdrawn {
        tx.execute(
            "UPDATE awaiting_episodes SET left_on = $1, left_reason = 'withdrawn' WHERE request_id = $2 AND left_on IS NULL",
            args![today, req.id],
        )
        .await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Steps of the cascade

/// Why a step named by a person was not taken.
#[derive(Debug, Clone, PartialEq)]
pub enum Blocked {
    /// The cascade does not allow it now.
    Refused(Refused),
    /// The request changed since the person saw it (at `seen`); it is at `now`.
    Stale { seen: i64, now: i64 },
}

/// Applies `step` to a request's cascade under the version check, retrying when another
/// step got there first. A step that changes nothing writes nothing. For steps that follow
/// the rules by themselves (an answer to an offer, a deadline passing).
pub async fn step<F>(
    state: &AppState,
    actor: &Actor,
    id: i64,
    action: &str,
    detail: serde_json::Value,
    f: F,
) -> Result<std::result::Result<Vec<Event>, Refused>>
where
    F: FnMut(&mut Cascade, i64) -> std::result::Result<Vec<Event>, Refused>,
{
    match step_from(state, actor, id, None, action, detail, f).await? {
        Ok(events) => Ok(Ok(events)),
        Err(Blocked::Refused(r)) => Ok(Err(r)),
        Err(Blocked::Stale { .. }) => unreachable!("no version was named"),
    }
}

/// The same for a step a person chose on the request as they saw it, at version `seen`: if
/// it has changed since (another broker skipped, a provider answered), nothing is done and
/// they are shown it as it is now. Two brokers skipping at once then skip one provider, not
/// two, one of them never seen by either.
pub async fn step_from<F>(
    state: &AppState,
    actor: &Actor,
    id: i64,
    seen: Option<i64>,
    action: &str,
    detail: serde_json::Value,
    mut f: F,
) -> Result<std::result::Result<Vec<Event>, Blocked>>
where
    F: FnMut(&mut Cascade, i64) -> std::result::Result<Vec<Event>, Refused>,
{
    for _ in 0..50 {
        let req = get(state, id).await?;
        if let Some(seen) = seen
            && req.version != seen
        {
            return Ok(Err(Blocked::Stale {
                seen,
                now: req.version,
            }));
        }
        let before = req.cascade()?;
        let mut after = before.clone();
        let now = state.clock.now();
        let events = match f(&mut after, now.timestamp()) {
            Ok(e) => e,
            Err(r) => return Ok(Err(Blocked::Refused(r))),
        };
        if after == before {
            return Ok(Ok(events));
        }
        let (placed, how) = match &after.state {
            RequestState::Placed { provider } => {
                let accepted = after
                    .offers
                    .iter()
                    .any(|o| o.status == OfferStatus::Accepted && &o.provider == provider);
                (
                    Some(provider.clone()),
                    Some(if accepted { "cascade" } else { "spot" }),
                )
            }
            _ => (None, None),
        };
        let closed = matches!(
            after.state,
            RequestState::Placed { .. } | RequestState::Withdrawn
        )
        .then_some(now);
        // The write comes first in the transaction: on SQLite it takes the write lock at
        // once (waiting its turn) rather than upgrading a read.
        let mut tx = state.db.begin().await?;
        let n = tx
            .execute(
                "UPDATE care_requests SET cascade = $1, state = $2, placed_provider = $3, placed_how = $4, next_deadline = $5, closed_at = $6, version = version + 1 WHERE id = $7 AND version = $8",
                args![
                    cascade_json(&after)?,
                    state_key(&after.state),
                    placed,
                    how,
                    after.next_deadline(),
                    closed,
                    id,
                    req.version
                ],
            )
            .await?;
        if n == 0 {
            // Someone else changed it since we read it: read again and decide again.
            drop(tx);
            continue;
        }
        let mut mails = Vec::new();
        record(
            &mut tx,
            &req,
            &before,
            &after,
            &events,
            Some(&actor.name),
            now,
            &mut mails,
        )
        .await?;
        let mut detail = detail.clone();
        if let Some(m) = detail.as_object_mut() {
            m.insert("state".into(), state_key(&after.state).into());
            m.insert(
                "offered".into(),
                after.offers[before.offers.len().min(after.offers.len())..]
                    .iter()
                    .map(|o| o.provider.clone())
                    .collect::<Vec<_>>()
                    .into(),
            );
        }
        audit::entry(action, "care_request", id)
            .before(serde_json::json!({"state": state_key(&before.state), "version": req.version}))
            .after(detail)
            .write(&mut tx, actor, now)
            .await?;
        tx.commit().await?;
        for m in mails {
            mail::send_after_commit(state, m);
        }
        return Ok(Ok(events));
    }
    Err(AppError::Conflict(
        "The request is changing too fast to update: try again".into(),
    ))
}

pub fn refused_message(r: &Refused) -> &'static str {
    match r {
        Refused::NoOpenOffer => {
            "This offer is no longer open: it was answered, moved on or its deadline passed"
        }
        Refused::NotOffering => "The request is not out to providers now",
        Refused::Closed => "The request is already placed or withdrawn",
        Refused::NotTheRemainingProviders => {
            "The new order must list exactly the providers not yet offered"
        }
    }
}

pub fn decline_reason(code: &str, text: &str) -> std::result::Result<DeclineReason, String> {
    Ok(match code {
        "no_capacity" => DeclineReason::NoCapacity,
        "cannot_meet_needs" => DeclineReason::CannotMeetNeeds,
        "area" => DeclineReason::Area,
        "other" if !text.trim().is_empty() => DeclineReason::Other(text.trim().to_string()),
        "other" => return Err("Say why you are declining".into()),
        _ => return Err("Select why you are declining".into()),
    })
}

/// Offers lapse at their deadline, once; providers are reminded before it. Returns how many
/// offers expired and how many reminders went.
pub async fn expire_due(state: &AppState) -> Result<(usize, usize)> {
    let now = state.clock.now();
    let due: Vec<(i64,)> = state
        .db
        .q()
        .fetch_all(
            "SELECT id FROM care_requests WHERE state = 'offering' AND next_deadline <= $1 ORDER BY next_deadline, id",
            args![now.timestamp()],
        )
        .await?;
    let actor = system_actor();
    let mut expired = 0;
    for (id,) in due {
        let mut n = 0;
        // One request that cannot be moved on (say its record is damaged) must not stop the
        // others lapsing: it is logged and the rest go on.
        let r = step(
            state,
            &actor,
            id,
            "care_request.offer.expire",
            serde_json::json!({}),
            |c, t| {
                let before = c
                    .offers
                    .iter()
                    .filter(|o| o.status == OfferStatus::Expired)
                    .count();
                let ev = c.expire(t);
                n = c
                    .offers
                    .iter()
                    .filter(|o| o.status == OfferStatus::Expired)
                    .count()
                    - before;
                Ok(ev)
            },
        )
        .await;
        if let Err(e) = r {
            tracing::warn!(request = id, error = %e, "could not expire this request's offers");
            continue;
        }
        expired += n;
    }
    let reminders = remind_due(state, now).await?;
    Ok((expired, reminders))
}

async fn remind_due(state: &AppState, now: DateTime<Utc>) -> Result<usize> {
    let minutes = state.settings().brokerage.reminder_minutes;
    if minutes <= 0 {
        return Ok(0);
    }
    let soon = now + chrono::Duration::minutes(minutes);
    let due: Vec<(i64, i64, String, DateTime<Utc>)> = state
        .db
        .q()
        .fetch_all(
            "SELECT id, request_id, provider_id, deadline FROM offers WHERE status = 'open' AND reminded_at IS NULL AND deadline <= $1 AND deadline > $2",
            args![soon, now],
        )
        .await?;
    let mut sent = 0;
    for (offer_id, request_id, provider, deadline) in due {
        let mut tx = state.db.begin().await?;
        // Claimed by the update, so a reminder goes once however many servers look.
        let n = tx
            .execute(
                "UPDATE offers SET reminded_at = $1 WHERE id = $2 AND reminded_at IS NULL AND status = 'open'",
                args![now, offer_id],
            )
            .await?;
        if n == 0 {
            continue;
        }
        let case_ref: String = tx
            .scalar(
                "SELECT case_ref FROM care_requests WHERE id = $1",
                args![request_id],
            )
            .await?;
        let mut mails = Vec::new();
        for u in provider_users(&mut tx, &provider).await? {
            mails.push(
                mail::queue(
                    &mut tx,
                    u,
                    &format!("Reminder: offer for {case_ref} closes soon"),
                    &format!(
                        "The offer for case {case_ref} closes at {} UTC. Accept or decline: /offers/{request_id}\n",
                        deadline.format("%d/%m/%Y %H:%M")
                    ),
                    now,
                )
                .await?,
            );
        }
        tx.commit().await?;
        for m in mails {
            mail::send_after_commit(state, m);
        }
        sent += 1;
    }
    Ok(sent)
}

fn system_actor() -> Actor {
    Actor {
        user_id: None,
        name: "system:offer-expiry".into(),
        request_id: "offer-expiry".into(),
        client_address: "local".into(),
    }
}

/// Runs the expiry task for as long as the server runs. It keeps no state of its own: what
/// is due is read from the database each time, so a restart picks up where it left off.
pub fn spawn_expiry_task(state: AppState) {
    tokio::spawn(async move {
        loop {
            if let Err(e) = expire_due(&state).await {
                tracing::warn!(error = %e, "offer expiry failed; trying again shortly");
            }
            // Approved rankings take effect on their date, here too.
            if let Err(e) = super::ranking::apply_due(&state).await {
                tracing::warn!(error = %e, "applying approved rankings failed; trying again shortly");
            }
            tokio::time::sleep(std::time::Duration::from_secs(10)).await;
        }
    });
}
