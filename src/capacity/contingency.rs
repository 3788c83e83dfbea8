//! Contingency: emergency and out-of-hours contacts per provider and home, and each
//! provider's business continuity plan, with plans not reviewed in a year listed as overdue.
//! Council staff (admin, commissioner, broker) see every provider's; a provider's own users
//! keep their own and see no other's.

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};

use crate::audit::{self, Actor};
use crate::web::forms::{FormErrors, Pairs, field};
use crate::web::layout::render_status;
use crate::web::redirect_with_flash;
use crate::web::roles::{COMMISSIONERS_AND_BROKERS, COMMISSIONERS_BROKERS_AND_PROVIDERS};
use crate::web::{PageCtx, RequestCtx, RouteDef, get, post, render};
use crate::{AppError, AppState, Result, args};

/// A plan is due for review a year after its last review.
pub const REVIEW_MONTHS: u32 = 12;

pub fn routes() -> Vec<RouteDef> {
    vec![
        get("/capacity/contingency", COMMISSIONERS_AND_BROKERS, overview),
        get(
            "/capacity/contingency/{provider}",
            COMMISSIONERS_BROKERS_AND_PROVIDERS,
            provider_page,
        ),
        post(
            "/capacity/contingency/{provider}/contacts",
            COMMISSIONERS_BROKERS_AND_PROVIDERS,
            contact_add,
        ),
        post(
            "/capacity/contingency/{provider}/plan",
            COMMISSIONERS_BROKERS_AND_PROVIDERS,
            plan_save,
        ),
        post(
            "/capacity/contingency/contacts/{id}/remove",
            COMMISSIONERS_BROKERS_AND_PROVIDERS,
            contact_remove,
        ),
    ]
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct Contact {
    pub id: i64,
    pub provider_id: String,
    pub location_id: Option<String>,
    pub contact_role: String,
    pub contact_name: String,
    pub phone: String,
    pub email: String,
    pub out_of_hours: bool,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct Plan {
    pub provider_id: String,
    pub reviewed_on: NaiveDate,
    pub covers_staffing: bool,
    pub covers_evacuation: bool,
    pub covers_utilities: bool,
    pub covers_provider_failure: bool,
    pub notes: String,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

impl Plan {
    pub fn review_due(&self) -> NaiveDate {
        self.reviewed_on
            .checked_add_months(chrono::Months::new(REVIEW_MONTHS))
            .unwrap_or(self.reviewed_on)
    }
    /// What the plan does not cover yet.
    pub fn gaps(&self) -> Vec<&'static str> {
        [
            (self.covers_staffing, "staffing"),
            (self.covers_evacuation, "evacuating people who need support"),
            (self.covers_utilities, "utilities"),
            (self.covers_provider_failure, "provider failure"),
        ]
        .iter()
        .filter(|(c, _)| !c)
        .map(|(_, l)| *l)
        .collect()
    }
}

/// The provider this user may see: council staff any, a provider user only their own.
fn allowed(ctx: &RequestCtx, provider: &str) -> Result<()> {
    if !ctx.user()?.acting_for()?.may_see(Some(provider)) {
        return Err(AppError::NotFound);
    }
    Ok(())
}

async fn provider_name(state: &AppState, id: &str) -> Result<Option<String>> {
    let known: Option<Option<String>> = state
        .db
        .q()
        .fetch_optional::<(Option<String>,)>(
            "SELECT name FROM cqc_providers WHERE provider_id = $1",
            args![id],
        )
        .await?
        .map(|r| r.0);
    Ok(known.map(|n| n.unwrap_or_else(|| id.to_string())))
}

async fn contacts(state: &AppState, provider: Option<&str>) -> Result<Vec<Contact>> {
    Ok(state
        .db
        .q()
        .fetch_all(
            "SELECT * FROM contingency_contacts WHERE ($1 = '' OR provider_id = $1) ORDER BY provider_id, location_id, id",
            args![provider.unwrap_or_default()],
        )
        .await?)
}

async fn plan(state: &AppState, provider: &str) -> Result<Option<Plan>> {
    Ok(state
        .db
        .q()
        .fetch_optional(
            "SELECT * FROM continuity_plans WHERE provider_id = $1",
            args![provider],
        )
        .await?)
}

/// A provider's plan as the overview lists it.
pub struct PlanRow {
    pub provider_id: String,
    pub name: String,
    pub plan: Option<Plan>,
    pub overdue: bool,
    pub contacts: usize,
    pub out_of_hours: usize,
}

#[derive(Template)]
#[template(path = "capacity/contingency.html")]
struct OverviewPage {
    page: PageCtx,
    rows: Vec<PlanRow>,
    overdue: usize,
}

/// Every provider with a plan or a contact, overdue reviews first.
async fn overview(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response> {
    let plans: Vec<Plan> = state
        .db
        .q()
        .fetch_all("SELECT * FROM continuity_plans", args![])
        .await?;
    let all = contacts(&state, None).await?;
    let mut ids: Vec<String> = plans
        .iter()
        .map(|p| p.provider_id.clone())
        .chain(all.iter().map(|c| c.provider_id.clone()))
        .collect();
    ids.sort();
    ids.dedup();
    let today = state.clock.now().date_naive();
    let mut rows = Vec::new();
    for id in ids {
        let plan = plans.iter().find(|p| p.provider_id == id).cloned();
        rows.push(PlanRow {
            name: provider_name(&state, &id)
                .await?
                .unwrap_or_else(|| id.clone()),
            overdue: plan.as_ref().is_none_or(|p| p.review_due() < today),
            contacts: all.iter().filter(|c| c.provider_id == id).count(),
            out_of_hours: all
                .iter()
                .filter(|c| c.provider_id == id && c.out_of_hours)
                .count(),
            provider_id: id,
            plan,
        });
    }
    rows.sort_by(|a, b| b.overdue.cmp(&a.overdue).then(a.name.cmp(&b.name)));
    render(&OverviewPage {
        page: PageCtx::new(&state, &ctx, "Contingency"),
        overdue: rows.iter().filter(|r| r.overdue).count(),
        rows,
    })
}

#[derive(Template)]
#[template(path = "capacity/contingency_provider.html")]
struct ProviderPage {
    page: PageCtx,
    errors: FormErrors,
    provider_id: String,
    name: String,
    homes: Vec<(String, String)>,
    contacts: Vec<Contact>,
    plan: Option<Plan>,
    overdue: bool,
    typed: Pairs,
}

impl ProviderPage {
    /// (field, label, ticked now)
    fn covers(&self) -> Vec<(&'static str, &'static str, bool)> {
        let p = self.plan.as_ref();
        vec![
            (
                "covers_staffing",
                "Staffing",
                p.is_some_and(|p| p.covers_staffing),
            ),
            (
                "covers_evacuation",
                "Fire evacuation of people who need support",
                p.is_some_and(|p| p.covers_evacuation),
            ),
            (
                "covers_utilities",
                "Utilities",
                p.is_some_and(|p| p.covers_utilities),
            ),
            (
                "covers_provider_failure",
                "Provider failure",
                p.is_some_and(|p| p.covers_provider_failure),
            ),
        ]
    }
    fn typed(&self, k: &str) -> String {
        field(&self.typed, k)
    }
    fn home_name(&self, id: &Option<String>) -> String {
        match id {
            None => "The provider as a whole".into(),
            Some(i) => self
                .homes
                .iter()
                .find(|(h, _)| h == i)
                .map(|(_, n)| n.clone())
                .unwrap_or_else(|| i.clone()),
        }
    }
}

async fn provider_view(
    state: &AppState,
    ctx: &RequestCtx,
    provider: &str,
    errors: FormErrors,
    typed: Pairs,
) -> Result<Response> {
    allowed(ctx, provider)?;
    let name = provider_name(state, provider)
        .await?
        .ok_or(AppError::NotFound)?;
    let homes: Vec<(String, String)> = state
        .db
        .q()
        .fetch_all(
            "SELECT location_id, name FROM cqc_locations WHERE provider_id = $1 AND care_home = $2 ORDER BY name",
            args![provider, true],
        )
        .await?;
    let plan = plan(state, provider).await?;
    let today = state.clock.now().date_naive();
    render_status(
        errors.status(),
        &ProviderPage {
            page: PageCtx::new(state, ctx, format!("Contingency: {name}")),
            overdue: plan.as_ref().is_none_or(|p| p.review_due() < today),
            contacts: contacts(state, Some(provider)).await?,
            provider_id: provider.to_string(),
            name,
            homes,
            plan,
            errors,
            typed,
        },
    )
}

async fn provider_page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(p): Path<String>,
) -> Result<Response> {
    provider_view(&state, &ctx, &p, FormErrors::default(), Pairs::new()).await
}

async fn contact_add(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(p): Path<String>,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    allowed(&ctx, &p)?;
    provider_name(&state, &p).await?.ok_or(AppError::NotFound)?;
    let mut e = FormErrors::default();
    let (role, name, phone, email) = (
        field(&f, "contact_role"),
        field(&f, "contact_name"),
        field(&f, "phone"),
        field(&f, "email"),
    );
    let home = field(&f, "location_id");
    if role.trim().is_empty() {
        e.add(
            "contact_role",
            "Enter the contact's role, like on-call manager",
        );
    }
    if name.trim().is_empty() {
        e.add("contact_name", "Enter the contact's name");
    }
    let digits = phone.chars().filter(|c| c.is_ascii_digit()).count();
    if !(10..=13).contains(&digits)
        || phone
            .chars()
            .any(|c| !(c.is_ascii_digit() || " +()-".contains(c)))
    {
        e.add("phone", "Enter a telephone number, like 01752 123456");
    }
    if !email.trim().is_empty() && !email.contains('@') {
        e.add(
            "email",
            "Enter an email address, like duty@provider.example",
        );
    }
    if !home.is_empty() {
        let ours: i64 = state
            .db
            .q()
            .scalar(
                "SELECT COUNT(*) FROM cqc_locations WHERE location_id = $1 AND provider_id = $2",
                args![&home, &p],
            )
            .await?;
        if ours == 0 {
            e.add("location_id", "Select one of the provider's homes");
        }
    }
    if !e.is_empty() {
        return provider_view(&state, &ctx, &p, e, f).await;
    }
    let actor = Actor::from_ctx(&ctx);
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let id: i64 = tx
        .scalar(
            "INSERT INTO contingency_contacts (provider_id, location_id, contact_role, contact_name, phone, email, out_of_hours, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            args![&p, (!home.is_empty()).then_some(home.clone()), role.trim(), name.trim(), phone.trim(), email.trim(), !field(&f, "out_of_hours").is_empty(), &actor.name, now],
        )
        .await?;
    audit::entry("contingency.contact_add", "contingency_contact", id)
        .after(serde_json::json!({"provider": p, "location": home, "role": role.trim()}))
        .write(&mut tx, &actor, now)
        .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &state,
        &format!("/capacity/contingency/{p}"),
        "Contact added",
    ))
}

async fn contact_remove(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
) -> Result<Response> {
    let contact: Contact = state
        .db
        .q()
        .fetch_optional(
            "SELECT * FROM contingency_contacts WHERE id = $1",
            args![id],
        )
        .await?
        .ok_or(AppError::NotFound)?;
    let p = contact.provider_id.clone();
    allowed(&ctx, &p)?;
    let actor = Actor::from_ctx(&ctx);
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    tx.execute("DELETE FROM contingency_contacts WHERE id = $1", args![id])
        .await?;
    // What the contact was: once removed, the audit log is the only record of it.
    audit::entry("contingency.contact_remove", "contingency_contact", id)
        .before(serde_json::to_value(&contact).unwrap_or_default())
        .write(&mut tx, &actor, now)
        .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &state,
        &format!("/capacity/contingency/{p}"),
        "Contact removed",
    ))
}

async fn plan_save(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(p): Path<String>,
    Form(f): Form<Pairs>,
) -> Result<Response> {
    allowed(&ctx, &p)?;
    provider_name(&state, &p).await?.ok_or(AppError::NotFound)?;
    let mut e = FormErrors::default();
    let today = state.clock.now().date_naive();
    let reviewed = caremarket_core::cqc::parse_date(&field(&f, "reviewed_on"), false).ok();
    match reviewed {
        None => e.add(
            "reviewed_on",
            "Enter the date the plan was last reviewed, like 01/10/2026",
        ),
        Some(d) if d > today => e.add("reviewed_on", "The review date cannot be in the future"),
        _ => {}
    }
    if !e.is_empty() {
        return provider_view(&state, &ctx, &p, e, f).await;
    }
    let tick = |k: &str| !field(&f, k).is_empty();
    let actor = Actor::from_ctx(&ctx);
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let before: Option<Plan> = tx
        .fetch_optional(
            "SELECT * FROM continuity_plans WHERE provider_id = $1",
            args![&p],
        )
        .await?;
    let after = serde_json::json!({
        "reviewed_on": reviewed,
        "covers_staffing": tick("covers_staffing"),
        "covers_evacuation": tick("covers_evacuation"),
        "covers_utilities": tick("covers_utilities"),
        "covers_provider_failure": tick("covers_provider_failure"),
        "notes": field(&f, "notes").trim(),
    });
    tx.execute(
        "INSERT INTO continuity_plans (provider_id, reviewed_on, covers_staffing, covers_evacuation, covers_utilities, covers_provider_failure, notes, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (provider_id) DO UPDATE SET reviewed_on = excluded.reviewed_on, covers_staffing = excluded.covers_staffing, covers_evacuation = excluded.covers_evacuation, covers_utilities = excluded.covers_utilities, covers_provider_failure = excluded.covers_provider_failure, notes = excluded.notes, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        args![&p, reviewed, tick("covers_staffing"), tick("covers_evacuation"), tick("covers_utilities"), tick("covers_provider_failure"), field(&f, "notes").trim(), &actor.name, now],
    )
    .await?;
    let mut entry = audit::entry("contingency.plan", "continuity_plan", &p).after(after);
    if let Some(b) = before {
        entry = entry.before(serde_json::json!({
            "reviewed_on": b.reviewed_on,
            "covers_staffing": b.covers_staffing,
            "covers_evacuation": b.covers_evacuation,
            "covers_utilities": b.covers_utilities,
            "covers_provider_failure": b.covers_provider_failure,
            "notes": b.notes,
        }));
    }
    entry.write(&mut tx, &actor, now).await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &state,
        &format!("/capacity/contingency/{p}"),
        "Business continuity plan saved",
    ))
}
