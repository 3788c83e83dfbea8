//! Cost of care (Leeds care home quality, 2017, §3.3, the Liverpool City Region care home redesign (Priority 3) P3a): the council's own cost models, line by line
//! (`caremarket_core::cost` does the arithmetic), its fee rates and their history, the gap
//! between the two with its annual budget effect, and named uplift scenarios.

pub mod ascfr;
pub mod pages;
pub mod return_pages;
pub mod returns;

use caremarket_core::cost::{
    self, CareHomeInputs, CareHomeService, CostModel, Field, HomeCareInputs, InputSource, Line,
    Uplift,
};
use chrono::{DateTime, NaiveDate, Utc};

use crate::audit::{self, Actor};
use crate::web::forms::FormErrors;
use crate::{AppError, AppState, Result, args};

/// The services modelled, in the order pages list them.
pub const SERVICES: [(&str, &str); 5] = [
    ("residential", "Residential care"),
    ("nursing", "Nursing care"),
    (
        "dementia_residential",
        "Residential care for people with dementia",
    ),
    ("dementia_nursing", "Nursing care for people with dementia"),
    ("home_care", "Home care"),
];

pub fn service_label(key: &str) -> Option<&'static str> {
    SERVICES.iter().find(|(k, _)| *k == key).map(|(_, l)| *l)
}

/// One service's inputs: a care home model or the home care model.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "model", rename_all = "snake_case")]
pub enum Model {
    CareHome(CareHomeInputs),
    HomeCare(HomeCareInputs),
}

impl Model {
    /// The documented defaults for a service, or None for an unknown service.
    pub fn default_for(service: &str) -> Option<Model> {
        if service == "home_care" {
            return Some(Model::HomeCare(HomeCareInputs::default()));
        }
        CareHomeService::from_key(service).map(|v| Model::CareHome(CareHomeInputs::defaults(v)))
    }

    pub fn fields(&self) -> Vec<Field> {
        match self {
            Model::CareHome(_) => CareHomeInputs::fields(),
            Model::HomeCare(_) => HomeCareInputs::fields(),
        }
    }

    pub fn get(&self, key: &str) -> Option<i64> {
        match self {
            Model::CareHome(m) => m.get(key),
            Model::HomeCare(m) => m.get(key),
        }
    }

    pub fn set(&mut self, key: &str, v: i64) -> std::result::Result<(), String> {
        match self {
            Model::CareHome(m) => m.set(key, v),
            Model::HomeCare(m) => m.set(key, v),
        }
    }

    pub fn lines(&self) -> Vec<Line> {
        match self {
            Model::CareHome(m) => m.lines(),
            Model::HomeCare(m) => m.lines(),
        }
    }

    pub fn total(&self) -> i64 {
        cost::total(&self.lines())
    }

    pub fn sources(&self) -> Vec<InputSource> {
        match self {
            Model::CareHome(m) => cost::care_home_sources(m.variant),
            Model::HomeCare(_) => cost::home_care_sources(),
        }
    }

    pub fn with(&self, uplifts: &[Uplift]) -> Model {
        match self {
            Model::CareHome(m) => Model::CareHome(cost::apply(m, uplifts)),
            Model::HomeCare(m) => Model::HomeCare(cost::apply(m, uplifts)),
        }
    }

    /// What one unit of the service is.
    pub fn per(&self) -> &'static str {
        match self {
            Model::CareHome(_) => "per resident per week",
            Model::HomeCare(_) => "per contact hour",
        }
    }

    /// What the budget counts: placements a week or hours a week.
    pub fn volume_unit(&self) -> &'static str {
        match self {
            Model::CareHome(_) => "placements",
            Model::HomeCare(_) => "hours a week",
        }
    }
}

/// A service's model as the council keeps it, with who changed it last (None: defaults).
pub async fn model(
    state: &AppState,
    service: &str,
) -> Result<(Model, Option<(String, DateTime<Utc>)>)> {
    let default = Model::default_for(service).ok_or(AppError::NotFound)?;
    let row: Option<(String, String, DateTime<Utc>)> = state
        .db
        .q()
        .fetch_optional(
            "SELECT inputs, updated_by, updated_at FROM cost_models WHERE service = $1",
            args![service],
        )
        .await?;
    Ok(match row {
        Some((json, by, at)) => match serde_json::from_str::<Model>(&json) {
            // Stored by this code; checked again in case a later version's ranges differ.
            Ok(m) if validate(&m).is_empty() => (m, Some((by, at))),
            _ => (default, None),
        },
        None => (default, None),
    })
}

fn validate(m: &Model) -> Vec<cost::Invalid> {
    match m {
        Model::CareHome(x) => x.validate(),
        Model::HomeCare(x) => x.validate(),
    }
}

/// Reads a model's form (one text box a field, named by its key) over `base`.
pub fn model_from_form(
    base: &Model,
    get: impl Fn(&str) -> String,
) -> std::result::Result<Model, FormErrors> {
    let mut m = base.clone();
    let mut e = FormErrors::default();
    for f in base.fields() {
        let typed = get(f.key);
        match f.unit.parse(&typed) {
            Ok(v) => {
                if let Err(why) = m.set(f.key, v) {
                    e.add(f.key, why);
                }
            }
            Err(why) => e.add(f.key, format!("{}: {why}", f.label)),
        }
    }
    for i in validate(&m) {
        if !e.has(i.key) {
            e.add(i.key, i.message);
        }
    }
    if e.is_empty() { Ok(m) } else { Err(e) }
}

/// Saves a service's model (audited with the totals before and after).
pub async fn save_model(state: &AppState, actor: &Actor, service: &str, m: &Model) -> Result<()> {
    let (before, _) = model(state, service).await?;
    let now = state.clock.now();
    let json = serde_json::to_string(m).map_err(|e| AppError::Internal(e.into()))?;
    let mut tx = state.db.begin().await?;
    tx.execute(
        "INSERT INTO cost_models (service, inputs, updated_by, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (service) DO UPDATE SET inputs = excluded.inputs, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        args![service, &json, &actor.name, now],
    )
    .await?;
    audit::entry("cost_model.update", "cost_model", service)
        .before(serde_json::json!({"total_pence": before.total(), "inputs": before}))
        .after(serde_json::json!({"total_pence": m.total(), "inputs": m}))
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// A fee rate the council pays, from a date (a new row for each uplift keeps the history).
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct FeeRate {
    pub id: i64,
    pub service: String,
    /// Like "standard" or "enhanced"
    pub band: String,
    /// A week (care homes) or an hour (home care), in pence
    pub rate_pence: i64,
    pub effective_from: NaiveDate,
    /// Placements (care homes) or hours a week (home care) bought at this rate, in hundredths
    pub volume_hundredths: i64,
    pub note: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

pub async fn fee_rates(state: &AppState) -> Result<Vec<FeeRate>> {
    Ok(state
        .db
        .q()
        .fetch_all(
            "SELECT * FROM fee_rates ORDER BY service, band, effective_from, id",
            args![],
        )
        .await?)
}

/// The rate in force on `on` for each service and band: the latest that has started.
pub fn current_rates(all: &[FeeRate], on: NaiveDate) -> Vec<&FeeRate> {
    let mut out: Vec<&FeeRate> = Vec::new();
    for r in all.iter().filter(|r| r.effective_from <= on) {
        match out
            .iter_mut()
            .find(|c| c.service == r.service && c.band == r.band)
        {
            Some(c) if (c.effective_from, c.id) < (r.effective_from, r.id) => *c = r,
            Some(_) => {}
            None => out.push(r),
        }
    }
    out
}

/// The uplift from the rate before, in basis points (None for a band's first rate).
pub fn uplift_bps(all: &[FeeRate], r: &FeeRate) -> Option<i64> {
    let before = all
        .iter()
        .filter(|x| {
            x.service == r.service
                && x.band == r.band
                && (x.effective_from, x.id) < (r.effective_from, r.id)
        })
        .max_by_key(|x| (x.effective_from, x.id))?;
    (before.rate_pence > 0).then(|| {
        cost::div_round_half_up(
            i128::from(r.rate_pence - before.rate_pence) * 10_000,
            i128::from(before.rate_pence),
        )
    })
}

/// What a fee rate form gave.
#[derive(Debug, Clone, Default)]
pub struct FeeInput {
    pub service: String,
    pub band: String,
    pub rate: String,
    pub effective_from: String,
    pub volume: String,
    pub note: String,
}

pub async fn add_fee_rate(
    state: &AppState,
    actor: &Actor,
    f: &FeeInput,
) -> Result<std::result::Result<i64, FormErrors>> {
    let mut e = FormErrors::default();
    if service_label(&f.service).is_none() {
        e.add("service", "Select the service");
    }
    let band = f.band.trim();
    if band.is_empty() || band.chars().count() > 60 {
        e.add(
            "band",
            "Enter the band, like standard or enhanced (up to 60 characters)",
        );
    }
    let rate = match caremarket_core::money::parse_pounds(&f.rate) {
        Ok(0) | Err(_) => {
            e.add(
                "rate",
                "Enter the rate in pounds, like 850.00 a week or 24.10 an hour",
            );
            0
        }
        Ok(p) => p,
    };
    let from = match caremarket_core::cqc::parse_date(&f.effective_from, false) {
        Ok(d) => Some(d),
        Err(_) => {
            e.add(
                "effective_from",
                "Enter the date the rate starts, like 01/04/2026",
            );
            None
        }
    };
    let volume = if f.volume.trim().is_empty() {
        0
    } else {
        match caremarket_core::money::parse_hundredths(&f.volume, false) {
            Ok(v) => v,
            Err(why) => {
                e.add("volume", format!("Placements or hours a week {why}"));
                0
            }
        }
    };
    let note = f.note.trim();
    if note.chars().count() > 200 {
        e.add("note", "Keep the note to 200 characters");
    }
    let (Some(from), true) = (from, e.is_empty()) else {
        return Ok(Err(e));
    };
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let id: i64 = tx
        .scalar(
            "INSERT INTO fee_rates (service, band, rate_pence, effective_from, volume_hundredths, note, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            args![&f.service, band, rate, from, volume, note, &actor.name, now],
        )
        .await?;
    audit::entry("fee_rate.create", "fee_rate", id.to_string())
        .after(serde_json::json!({"service": f.service, "band": band, "rate_pence": rate, "effective_from": from, "volume_hundredths": volume}))
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    Ok(Ok(id))
}

/// One service's modelled cost against the fees in force.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Gap {
    pub service: String,
    pub label: String,
    /// The modelled cost, per resident per week or per contact hour (pence)
    pub modelled_pence: i64,
    pub band: Option<String>,
    pub fee_pence: Option<i64>,
    /// modelled − fee: positive when the fee is below the modelled cost
    pub gap_pence: Option<i64>,
    pub volume_hundredths: i64,
    /// The volume is the placements register's open placements of the bed type, because
    /// none was entered with the fee
    pub volume_from_register: bool,
    /// gap × volume × 52 weeks
    pub annual_effect_pence: Option<i64>,
}

/// Every service against each band's current fee (a service without fees gets one row).
pub async fn gaps(state: &AppState) -> Result<Vec<Gap>> {
    gaps_of(state, &models(state).await?).await
}

/// Every service's model as the council keeps it, in [`SERVICES`] order.
async fn models(state: &AppState) -> Result<Vec<Model>> {
    let mut v = Vec::new();
    for (service, _) in SERVICES {
        v.push(model(state, service).await?.0);
    }
    Ok(v)
}

/// The gaps for models already read (one a service, in [`SERVICES`] order).
async fn gaps_of(state: &AppState, models: &[Model]) -> Result<Vec<Gap>> {
    let all = fee_rates(state).await?;
    let today = state.clock.now().date_naive();
    let current = current_rates(&all, today);
    let register = crate::capacity::placements::open_by_bed_type(state, None).await?;
    let mut out = Vec::new();
    for ((service, label), m) in SERVICES.into_iter().zip(models) {
        let modelled = m.total();
        // Care home services' placements come from the register when none were entered
        // with a single band's fee (the register cannot tell bands apart).
        let from_register = (service != "home_care")
            .then(|| register.get(service).map(|r| r.0))
            .flatten();
        let rates: Vec<&&FeeRate> = current.iter().filter(|r| r.service == service).collect();
        if rates.is_empty() {
            out.push(Gap {
                service: service.into(),
                label: label.into(),
                modelled_pence: modelled,
                band: None,
                fee_pence: None,
                gap_pence: None,
                volume_hundredths: 0,
                volume_from_register: false,
                annual_effect_pence: None,
            });
        }
        let single = rates.len() == 1;
        for r in rates {
            let gap = cost::fee_gap(r.rate_pence, modelled);
            let (volume, volume_from_register) = match from_register {
                Some(n) if single && r.volume_hundredths == 0 => (n * 100, true),
                _ => (r.volume_hundredths, false),
            };
            out.push(Gap {
                service: service.into(),
                label: label.into(),
                modelled_pence: modelled,
                band: Some(r.band.clone()),
                fee_pence: Some(r.rate_pence),
                gap_pence: Some(gap),
                volume_hundredths: volume,
                volume_from_register,
                annual_effect_pence: Some(cost::annual_effect(gap, volume, cost::WEEKS_PER_YEAR)),
            });
        }
    }
    Ok(out)
}

/// A named set of uplifts applied to every model.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Scenario {
    pub id: i64,
    pub name: String,
    #[schema(value_type = Vec<Object>)]
    pub uplifts: Vec<Uplift>,
    /// When the uplifts take effect, if the scenario says
    pub effective_from: Option<NaiveDate>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct ScenarioDb {
    id: i64,
    name: String,
    uplifts: String,
    effective_from: Option<NaiveDate>,
    created_by: String,
    created_at: DateTime<Utc>,
}

impl ScenarioDb {
    fn into_scenario(self) -> Scenario {
        Scenario {
            id: self.id,
            name: self.name,
            uplifts: serde_json::from_str(&self.uplifts).unwrap_or_default(),
            effective_from: self.effective_from,
            created_by: self.created_by,
            created_at: self.created_at,
        }
    }
}

pub async fn scenarios(state: &AppState) -> Result<Vec<Scenario>> {
    let rows: Vec<ScenarioDb> = state
        .db
        .q()
        .fetch_all("SELECT * FROM cost_scenarios ORDER BY id", args![])
        .await?;
    Ok(rows.into_iter().map(ScenarioDb::into_scenario).collect())
}

pub async fn scenario(state: &AppState, id: i64) -> Result<Scenario> {
    let row: Option<ScenarioDb> = state
        .db
        .q()
        .fetch_optional("SELECT * FROM cost_scenarios WHERE id = $1", args![id])
        .await?;
    row.map(ScenarioDb::into_scenario).ok_or(AppError::NotFound)
}

/// The scenario form: a name and any of the uplifts (empty boxes are left out).
#[derive(Debug, Clone, Default)]
pub struct ScenarioInput {
    pub name: String,
    /// New National Living Wage, pounds an hour
    pub pay_to: String,
    /// A pay award, %
    pub pay_percent: String,
    /// Employer pension, %
    pub pension_to: String,
    /// CPI on things bought, %
    pub non_staff_percent: String,
    /// Flat uplifts, % each, in turn ("2, 2" for the 2017 Leeds care home quality report's two 2% uplifts)
    pub flat_percents: String,
    /// From when (optional), like 01/04/2026
    pub effective_from: String,
}

pub fn uplifts_from(i: &ScenarioInput) -> std::result::Result<Vec<Uplift>, FormErrors> {
    let mut e = FormErrors::default();
    let mut v = Vec::new();
    let pct = |s: &str| caremarket_core::money::parse_hundredths(s, false);
    if !i.pay_to.trim().is_empty() {
        match caremarket_core::money::parse_pounds(&i.pay_to) {
            Ok(p) if p > 0 => v.push(Uplift::PayTo { pence_per_hour: p }),
            _ => e.add("pay_to", "Enter the new hourly wage in pounds, like 12.71"),
        }
    }
    for (field, text, make) in [
        (
            "pay_percent",
            &i.pay_percent,
            Uplift::PayPercent as fn(i64) -> Uplift,
        ),
        (
            "pension_to",
            &i.pension_to,
            Uplift::PensionTo as fn(i64) -> Uplift,
        ),
        (
            "non_staff_percent",
            &i.non_staff_percent,
            Uplift::NonStaffPercent as fn(i64) -> Uplift,
        ),
    ] {
        if !text.trim().is_empty() {
            match pct(text) {
                Ok(b) if b <= 10_000 => v.push(make(b)),
                _ => e.add(field, "Enter a percentage from 0 to 100, like 3.8"),
            }
        }
    }
    for part in i
        .flat_percents
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        match pct(part) {
            Ok(b) if b <= 10_000 => v.push(Uplift::FlatPercent(b)),
            _ => {
                e.add(
                    "flat_percents",
                    "Enter each flat uplift as a percentage, separated by commas, like 2, 2",
                );
                break;
            }
        }
    }
    let name = i.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        e.add(
            "name",
            "Name the scenario, like NLW April 2026 and CPI (up to 100 characters)",
        );
    }
    if v.is_empty() && e.is_empty() {
        e.add("pay_to", "Give at least one uplift");
    }
    if e.is_empty() { Ok(v) } else { Err(e) }
}

pub async fn add_scenario(
    state: &AppState,
    actor: &Actor,
    i: &ScenarioInput,
) -> Result<std::result::Result<i64, FormErrors>> {
    let uplifts = match uplifts_from(i) {
        Ok(u) => u,
        Err(e) => return Ok(Err(e)),
    };
    let from = match i.effective_from.trim() {
        "" => None,
        t => {
            match caremarket_core::cqc::parse_date(t, false) {
                Ok(d) => Some(d),
                Err(_) => {
                    let mut e = FormErrors::default();
                    e.add("effective_from", "Enter the date the uplifts take effect, like 01/04/2026, or leave it empty");
                    return Ok(Err(e));
                }
            }
        }
    };
    let now = state.clock.now();
    let json = serde_json::to_string(&uplifts).map_err(|e| AppError::Internal(e.into()))?;
    let mut tx = state.db.begin().await?;
    let id: i64 = tx
        .scalar(
            "INSERT INTO cost_scenarios (name, uplifts, effective_from, created_by, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            args![i.name.trim(), &json, from, &actor.name, now],
        )
        .await?;
    audit::entry("cost_scenario.create", "cost_scenario", id.to_string())
        .after(
            serde_json::json!({"name": i.name.trim(), "uplifts": uplifts, "effective_from": from}),
        )
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    Ok(Ok(id))
}

pub async fn remove_scenario(state: &AppState, actor: &Actor, id: i64) -> Result<()> {
    let s = scenario(state, id).await?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    tx.execute("DELETE FROM cost_scenarios WHERE id = $1", args![id])
        .await?;
    audit::entry("cost_scenario.delete", "cost_scenario", id.to_string())
        .before(serde_json::json!({"name": s.name, "uplifts": s.uplifts}))
        .write(&mut tx, actor, now)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// One service under a scenario.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ServiceEffect {
    pub service: String,
    pub label: String,
    pub per: String,
    #[schema(value_type = Object)]
    pub comparison: cost::Comparison,
    /// Placements or hours a week at the rates in force (hundredths)
    pub volume_hundredths: i64,
    /// The difference a unit × volume × 52 weeks
    pub annual_effect_pence: i64,
}

/// A scenario against the base, service by service, with the budget effect a year.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ScenarioResult {
    pub scenario: Scenario,
    pub services: Vec<ServiceEffect>,
    pub annual_effect_pence: i64,
    /// With a date: the effect from it to the end of its financial year (31 March), as
    /// days left ÷ 365 of the year's effect, and that financial year's first calendar year
    pub in_year: Option<(i64, i32)>,
}

/// The part of a year's effect from `from` to the end of its financial year (31 March), in
/// whole days of 365, rounded half up.
pub fn in_year_effect(annual_pence: i64, from: NaiveDate) -> (i64, i32) {
    use chrono::Datelike;
    let fy = if from.month() >= 4 {
        from.year()
    } else {
        from.year() - 1
    };
    let end = NaiveDate::from_ymd_opt(fy + 1, 3, 31).unwrap_or(from);
    let days = (end - from).num_days() + 1;
    (
        cost::div_round_half_up(i128::from(annual_pence) * i128::from(days), 365),
        fy,
    )
}

pub async fn scenario_result(state: &AppState, id: i64) -> Result<ScenarioResult> {
    let scenario = scenario(state, id).await?;
    let models = models(state).await?;
    // The same volumes as the gap table (entered, or from the register).
    let gaps = gaps_of(state, &models).await?;
    let mut services = Vec::new();
    for ((service, label), base) in SERVICES.into_iter().zip(&models) {
        let after = base.with(&scenario.uplifts);
        let comparison = cost::compare(&base.lines(), &after.lines());
        let volume: i64 = gaps
            .iter()
            .filter(|g| g.service == service)
            .map(|g| g.volume_hundredths)
            .sum();
        services.push(ServiceEffect {
            service: service.into(),
            label: label.into(),
            per: base.per().into(),
            annual_effect_pence: cost::annual_effect(
                comparison.difference,
                volume,
                cost::WEEKS_PER_YEAR,
            ),
            comparison,
            volume_hundredths: volume,
        });
    }
    let annual_effect_pence = services.iter().map(|s| s.annual_effect_pence).sum();
    Ok(ScenarioResult {
        in_year: scenario
            .effective_from
            .map(|d| in_year_effect(annual_effect_pence, d)),
        scenario,
        services,
        annual_effect_pence,
    })
}

/// Every route of this capability, pages and JSON API, each with its access rule.
pub fn routes() -> Vec<crate::web::RouteDef> {
    let mut v = Vec::new();
    v.extend(pages::routes());
    v.extend(return_pages::routes());
    v
}

/// This capability's part of the OpenAPI document (src/api puts the parts together).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(pages::api_overview, pages::api_model, pages::api_scenario, return_pages::api_returns),
    tags((name = "cost_of_care", description = "Cost of care models line by line, fee rates and the gap, uplift scenarios"))
)]
pub struct ApiDoc;
