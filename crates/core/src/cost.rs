//! Cost of care: models a council can read line by line and change, in the way of the "fair
//! cost of care" exercise councils ran for the Market Sustainability and Improvement Fund.
//! There are two: a care home's cost per resident per week (residential, nursing, and each of
//! those for people with dementia) and home care's cost per contact hour.
//!
//! Each model is a set of inputs and a fixed list of [`Line`]s. A line shows its formula with
//! the inputs written in ("24.00 h × £12.21") and its amount in whole pence, so anyone can
//! check the sum with a calculator, argue with one input and see what it moves.
//!
//! # Numbers
//!
//! - Money is `i64` pence; percentages are basis points (1500 = 15.00%); hours and miles are
//!   hundredths (2650 = 26.50 h); travel time is whole seconds. No floating point anywhere.
//! - Every amount is computed exactly, as a fraction of `i128`s, straight from the inputs, and
//!   rounded **once**, half up, to the penny ([`div_round_half_up`]). Nothing is rounded on the
//!   way: head office, the returns and the on-costs work from the exact values of the lines
//!   they depend on, not from the rounded pence shown, so a model never drifts by where it
//!   happened to round.
//! - A line with parts (the on-costs: holiday, sickness, training, employer National Insurance
//!   and pension) is the sum of its parts, each rounded once; the total is the sum of the
//!   rounded lines. So the parts shown add up to the line shown, and the lines shown add up
//!   to the total shown, always. The price of that is that a total can differ by a penny or
//!   two from the exact total rounded; a reader who adds up the page is never out.
//! - The amounts inside a formula's text (a base for a percentage, say) are those exact values
//!   rounded for display only.
//!
//! Each input's default carries its source and date ([`care_home_sources`],
//! [`home_care_sources`]). The statutory ones (the National Living Wage, employer National
//! Insurance, pension auto-enrolment, holiday entitlement, HMRC's mileage rate) say which; the
//! rest are illustrative and say so: a council replaces them with the medians of its own cost
//! of care exercise.

use crate::money::pounds;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize, Serializer};

/// Weeks in a year, for annual budget effects and for turning annual thresholds into weekly
/// ones (as HMRC's own weekly figures do, ÷ 52).
pub const WEEKS_PER_YEAR: i64 = 52;

/// The Homecare Association's Minimum Price for Homecare 2025/26: £32.14 per contact hour,
/// from "Minimum Price for Homecare 2025/26" (Homecare Association, 18 December 2024), built
/// on the National Living Wage of £12.21 from April 2025. A council holds its own home care
/// model against it; the defaults here are not meant to reproduce it.
pub const HOMECARE_ASSOCIATION_MINIMUM_PRICE_2025_26_PENCE: i64 = 3214;

const OVERFLOW: &str =
    "cost of care arithmetic overflowed: an input lies outside the range its Field allows";

/// `n ÷ d` rounded half up to a whole number (for pence: to the penny), so that 0.5p becomes
/// 1p. This is the only place the models round. `d` must be positive. For a negative `n` it
/// rounds the size and keeps the sign (−0.5 becomes −1), so that a saving and a cost of the
/// same size show the same pence.
///
/// # Panics
/// If `d` is not positive, or the result does not fit in an `i64`.
pub fn div_round_half_up(n: i128, d: i128) -> i64 {
    assert!(d > 0, "div_round_half_up needs a positive divisor");
    if n < 0 {
        return -div_round_half_up(-n, d);
    }
    let (q, r) = (n / d, n % d);
    let q = if r >= d - r { q + 1 } else { q };
    i64::try_from(q).expect(OVERFLOW)
}

// ---------------------------------------------------------------------------------------------
// Exact arithmetic

/// An exact amount (usually pence): `n / d` in lowest terms, `d > 0`. Reducing after every step
/// keeps the numbers small: an on-cost's denominator is a few factors of 2, 5 and 13 and the
/// worker's hours, whatever the pay rate, because the rate cancels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Exact {
    n: i128,
    d: i128,
}

fn gcd(a: i128, b: i128) -> i128 {
    let (mut a, mut b) = (a.abs(), b.abs());
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Exact {
    const ZERO: Exact = Exact { n: 0, d: 1 };

    fn new(n: i128, d: i128) -> Self {
        assert!(d > 0, "an exact amount needs a positive denominator");
        let g = gcd(n, d).max(1);
        Exact { n: n / g, d: d / g }
    }

    fn int(v: i64) -> Self {
        Exact { n: v.into(), d: 1 }
    }

    /// This × `num` ÷ `den`.
    fn times(self, num: i64, den: i64) -> Self {
        self * Exact::new(num.into(), den.into())
    }

    /// Rounded once, half up, to the penny.
    fn pence(self) -> i64 {
        div_round_half_up(self.n, self.d)
    }

    fn is_positive(self) -> bool {
        self.n > 0
    }

    /// This ÷ `o`, which must be positive.
    fn over(self, o: Exact) -> Self {
        assert!(o.n > 0, "dividing by an amount that is not positive");
        self * Exact { n: o.d, d: o.n }
    }
}

impl std::ops::Mul for Exact {
    type Output = Exact;
    fn mul(self, o: Exact) -> Exact {
        // Cancel across before multiplying, so the products stay well inside i128.
        let g1 = gcd(self.n, o.d).max(1);
        let g2 = gcd(o.n, self.d).max(1);
        let n = (self.n / g1).checked_mul(o.n / g2).expect(OVERFLOW);
        let d = (self.d / g2).checked_mul(o.d / g1).expect(OVERFLOW);
        Exact::new(n, d)
    }
}

impl std::ops::Add for Exact {
    type Output = Exact;
    fn add(self, o: Exact) -> Exact {
        let g = gcd(self.d, o.d);
        let d = (self.d / g).checked_mul(o.d).expect(OVERFLOW);
        let a = self.n.checked_mul(o.d / g).expect(OVERFLOW);
        let b = o.n.checked_mul(self.d / g).expect(OVERFLOW);
        Exact::new(a.checked_add(b).expect(OVERFLOW), d)
    }
}

impl std::ops::Sub for Exact {
    type Output = Exact;
    fn sub(self, o: Exact) -> Exact {
        self + Exact { n: -o.n, d: o.d }
    }
}

impl std::iter::Sum for Exact {
    fn sum<I: Iterator<Item = Exact>>(iter: I) -> Exact {
        iter.fold(Exact::ZERO, |a, b| a + b)
    }
}

// ---------------------------------------------------------------------------------------------
// Showing numbers in formulas

/// Hundredths as a plain number with thousands separators: 2650 → "26.50".
fn fixed2(v: i64) -> String {
    pounds(v).replacen('£', "", 1)
}

/// Basis points as a percentage: 1207 → "12.07%".
fn pct(bps: i64) -> String {
    format!("{}%", fixed2(bps))
}

/// Whole seconds as people say them: "20 min", "11 min 42 s", "45 s".
fn duration(seconds: i64) -> String {
    match (seconds / 60, seconds % 60) {
        (0, s) => format!("{s} s"),
        (m, 0) => format!("{m} min"),
        (m, s) => format!("{m} min {s} s"),
    }
}

// ---------------------------------------------------------------------------------------------
// Lines

/// One cost line as a page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Line {
    /// Stable, for forms, comparisons and the JSON API: "care_staff", "food"…
    pub key: &'static str,
    pub label: &'static str,
    /// The arithmetic with the inputs written in: "24.00 h × £12.21".
    pub formula: String,
    /// The amount: the sum of `parts` when there are parts, else the exact value rounded once.
    pub pence: i64,
    /// Pay, or a cost of pay (on-costs; non-care staff): what a pay award moves.
    pub staff: bool,
    /// The components of a line that has them (the on-costs), each rounded once; they add up
    /// to `pence`.
    pub parts: Vec<Part>,
}

/// A component of a line, shown beneath it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Part {
    /// "holiday", "sickness", "training", "employer_ni" or "pension"
    pub key: &'static str,
    pub label: &'static str,
    pub formula: String,
    pub pence: i64,
}

impl Line {
    /// A part's pence by key, if the line has that part.
    pub fn part(&self, key: &str) -> Option<i64> {
        self.parts.iter().find(|p| p.key == key).map(|p| p.pence)
    }
}

/// The total of the lines shown: their sum, so it always agrees with them.
pub fn total(lines: &[Line]) -> i64 {
    lines.iter().map(|l| l.pence).sum()
}

/// Builds a model's lines, keeping the exact running sum for the lines (head office, returns)
/// that are a share of the lines above them.
#[derive(Default)]
struct Sheet {
    lines: Vec<Line>,
    exact: Vec<Exact>,
}

impl Sheet {
    fn line(&mut self, key: &'static str, label: &'static str, formula: String, value: Exact) {
        self.push(key, label, formula, value, false);
    }

    fn staff(&mut self, key: &'static str, label: &'static str, formula: String, value: Exact) {
        self.push(key, label, formula, value, true);
    }

    fn push(&mut self, key: &'static str, label: &'static str, f: String, v: Exact, staff: bool) {
        self.lines.push(Line {
            key,
            label,
            formula: f,
            pence: v.pence(),
            staff,
            parts: Vec::new(),
        });
        self.exact.push(v);
    }

    fn with_parts(&mut self, key: &'static str, label: &'static str, f: String, parts: OnCost) {
        self.lines.push(Line {
            key,
            label,
            formula: f,
            pence: parts.parts.iter().map(|p| p.pence).sum(),
            staff: true,
            parts: parts.parts,
        });
        self.exact.push(parts.exact);
    }

    /// The exact sum of every line so far.
    fn above(&self) -> Exact {
        self.exact.iter().copied().sum()
    }
}

// ---------------------------------------------------------------------------------------------
// On-costs

/// What employing someone costs on top of the hours they work: paid time off and training,
/// and the employer's National Insurance and pension contributions. Shared by both models.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnCosts {
    /// Holiday pay as a share of pay for hours worked: 5.6 weeks' statutory leave paid over
    /// the 46.4 weeks worked is 5.6 ÷ 46.4 = 12.07%.
    pub holiday_bps: i64,
    /// Sick pay, as a share of pay for hours worked.
    pub sickness_bps: i64,
    /// Paid training time, as a share of paid hours.
    pub training_bps: i64,
    /// Employer (secondary Class 1) National Insurance on earnings above the threshold.
    pub employer_ni_bps: i64,
    pub ni_secondary_threshold_pence_per_year: i64,
    /// Employer pension contribution on qualifying earnings (above the lower limit).
    pub pension_bps: i64,
    pub pension_lower_limit_pence_per_year: i64,
    /// A typical worker's paid hours a week (hundredths), which decides how much of each
    /// worker's pay lies above the NI threshold and the pension lower limit: those are per
    /// worker, so part-timers cost their employer proportionately less.
    pub paid_hours_per_week_per_worker: i64,
}

impl OnCosts {
    /// The 2025/26 statutory rates, with a full-time 37.50 h week.
    pub fn care_home() -> Self {
        OnCosts {
            holiday_bps: 1207,
            sickness_bps: 250,
            training_bps: 200,
            employer_ni_bps: 1500,
            ni_secondary_threshold_pence_per_year: 500_000,
            pension_bps: 300,
            pension_lower_limit_pence_per_year: 624_000,
            paid_hours_per_week_per_worker: 3750,
        }
    }

    /// The 2025/26 statutory rates, with the shorter paid week usual in home care (30.00 h).
    pub fn home_care() -> Self {
        OnCosts {
            paid_hours_per_week_per_worker: 3000,
            ..OnCosts::care_home()
        }
    }
}

/// A line's on-costs, as parts, and their exact sum.
struct OnCost {
    parts: Vec<Part>,
    exact: Exact,
}

/// The on-costs on base pay `pay` (pence, exact) earned at `rate` pence an hour.
///
/// Holiday, sickness and training are shares of the base pay; together with it they make the
/// gross pay G. National Insurance and pension are charged per worker on weekly earnings above
/// a threshold, so they need a worker's weekly earnings W = rate × paid hours a week ×
/// (1 + the holiday, sickness and training shares): the share of G they fall on is
/// (W − threshold ÷ 52) ÷ W, or nothing when W is within the threshold.
fn on_costs(pay: Exact, rate: i64, oc: &OnCosts) -> OnCost {
    let mut parts = Vec::new();
    let mut exact = Exact::ZERO;
    let base = pounds(pay.pence());
    let mut add = |key, label, formula: String, v: Exact| {
        parts.push(Part {
            key,
            label,
            formula,
            pence: v.pence(),
        });
        exact = exact + v;
    };
    for (key, label, bps) in [
        ("holiday", "Holiday pay", oc.holiday_bps),
        ("sickness", "Sick pay", oc.sickness_bps),
        ("training", "Training time", oc.training_bps),
    ] {
        add(
            key,
            label,
            format!("{base} × {}", pct(bps)),
            pay.times(bps, 10_000),
        );
    }
    let uplift = 10_000 + oc.holiday_bps + oc.sickness_bps + oc.training_bps;
    let gross = pay.times(uplift, 10_000);
    let weekly = Exact::int(rate)
        .times(oc.paid_hours_per_week_per_worker, 100)
        .times(uplift, 10_000);
    for (key, label, bps, per_year, what) in [
        (
            "employer_ni",
            "Employer National Insurance",
            oc.employer_ni_bps,
            oc.ni_secondary_threshold_pence_per_year,
            "threshold",
        ),
        (
            "pension",
            "Employer pension",
            oc.pension_bps,
            oc.pension_lower_limit_pence_per_year,
            "lower limit",
        ),
    ] {
        let threshold = Exact::new(per_year.into(), WEEKS_PER_YEAR.into());
        let above = weekly - threshold;
        let (g, w, t) = (
            pounds(gross.pence()),
            pounds(weekly.pence()),
            pounds(threshold.pence()),
        );
        if above.is_positive() {
            let share = above.over(weekly);
            add(
                key,
                label,
                format!(
                    "{g} gross pay × {} × ({w} weekly pay − {t} {what}) ÷ {w}",
                    pct(bps)
                ),
                gross.times(bps, 10_000) * share,
            );
        } else {
            add(
                key,
                label,
                format!(
                    "{g} gross pay × {} × 0 ({w} weekly pay within the {t} {what})",
                    pct(bps)
                ),
                Exact::ZERO,
            );
        }
    }
    OnCost { parts, exact }
}

// ---------------------------------------------------------------------------------------------
// Care homes

/// The four care home services a council usually sets a fee for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CareHomeService {
    Residential,
    Nursing,
    DementiaResidential,
    DementiaNursing,
}

impl CareHomeService {
    pub const ALL: [CareHomeService; 4] = [
        CareHomeService::Residential,
        CareHomeService::Nursing,
        CareHomeService::DementiaResidential,
        CareHomeService::DementiaNursing,
    ];

    pub fn key(self) -> &'static str {
        match self {
            CareHomeService::Residential => "residential",
            CareHomeService::Nursing => "nursing",
            CareHomeService::DementiaResidential => "dementia_residential",
            CareHomeService::DementiaNursing => "dementia_nursing",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            CareHomeService::Residential => "Residential care",
            CareHomeService::Nursing => "Nursing care",
            CareHomeService::DementiaResidential => "Residential care for people with dementia",
            CareHomeService::DementiaNursing => "Nursing care for people with dementia",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.key() == key)
    }

    /// Whether the home employs registered nurses for this service.
    pub fn is_nursing(self) -> bool {
        matches!(
            self,
            CareHomeService::Nursing | CareHomeService::DementiaNursing
        )
    }
}

/// A care home's costs per resident per week.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CareHomeInputs {
    pub variant: CareHomeService,
    /// Care worker hours per resident per week (hundredths).
    pub care_hours_per_resident_week: i64,
    pub care_pay_pence_per_hour: i64,
    /// Registered nurse hours per resident per week (hundredths); 0 for residential care.
    pub nurse_hours_per_resident_week: i64,
    pub nurse_pay_pence_per_hour: i64,
    pub on_costs: OnCosts,
    /// Management, administration, catering, domestic and maintenance staff, including their
    /// on-costs, per resident per week.
    pub non_care_staff_pence: i64,
    pub food_pence: i64,
    pub utilities_pence: i64,
    /// Care and domestic supplies, repairs and maintenance.
    pub supplies_and_maintenance_pence: i64,
    /// Insurance, business rates, CQC registration fees.
    pub premises_other_pence: i64,
    /// Central overheads, as a share of all the costs above them.
    pub head_office_bps: i64,
    /// What a bed is worth as a going concern (land, buildings, equipment).
    pub capital_value_per_bed_pence: i64,
    /// The yearly return on that capital, as rent or profit, that keeps beds in the market.
    pub return_on_capital_bps: i64,
    /// Beds occupied on average: a resident carries the capital cost of 1 ÷ occupancy beds.
    pub occupancy_bps: i64,
    /// The operator's margin, as a share of operating costs (everything but capital).
    pub return_on_operations_bps: i64,
}

impl CareHomeInputs {
    /// The defaults for a service (see [`care_home_sources`] for where each comes from).
    pub fn defaults(variant: CareHomeService) -> Self {
        let (care_hours, nurse_hours) = match variant {
            CareHomeService::Residential => (2400, 0),
            CareHomeService::Nursing => (2000, 1000),
            CareHomeService::DementiaResidential => (2800, 0),
            CareHomeService::DementiaNursing => (2400, 1000),
        };
        CareHomeInputs {
            variant,
            care_hours_per_resident_week: care_hours,
            care_pay_pence_per_hour: 1221,
            nurse_hours_per_resident_week: nurse_hours,
            nurse_pay_pence_per_hour: 2300,
            on_costs: OnCosts::care_home(),
            non_care_staff_pence: 12_000,
            food_pence: 4000,
            utilities_pence: 3000,
            supplies_and_maintenance_pence: 3500,
            premises_other_pence: 2000,
            head_office_bps: 500,
            capital_value_per_bed_pence: 8_000_000,
            return_on_capital_bps: 600,
            occupancy_bps: 9200,
            return_on_operations_bps: 500,
        }
    }
}

impl Default for CareHomeInputs {
    fn default() -> Self {
        CareHomeInputs::defaults(CareHomeService::Residential)
    }
}

/// A care home's cost per resident per week, line by line: care staff, nursing staff and their
/// on-costs; the other running costs; head office on all of those; the return on operations on
/// everything so far; and the return on capital.
///
/// # Panics
/// If an input lies outside the range [`care_home_fields`] gives it (see
/// [`CostModel::validate`]).
pub fn care_home_lines(i: &CareHomeInputs) -> Vec<Line> {
    let mut s = Sheet::default();
    for (pay_key, pay_label, on_key, on_label, hours, rate) in [
        (
            "care_staff",
            "Care staff pay",
            "care_staff_on_costs",
            "Care staff on-costs",
            i.care_hours_per_resident_week,
            i.care_pay_pence_per_hour,
        ),
        (
            "nursing_staff",
            "Nursing staff pay",
            "nursing_staff_on_costs",
            "Nursing staff on-costs",
            i.nurse_hours_per_resident_week,
            i.nurse_pay_pence_per_hour,
        ),
    ] {
        let pay = Exact::int(rate).times(hours, 100);
        s.staff(
            pay_key,
            pay_label,
            format!("{} h × {}", fixed2(hours), pounds(rate)),
            pay,
        );
        s.with_parts(
            on_key,
            on_label,
            format!(
                "Holiday, sickness, training, employer NI and pension on {}",
                pounds(pay.pence())
            ),
            on_costs(pay, rate, &i.on_costs),
        );
    }
    s.staff(
        "non_care_staff",
        "Non-care staff (management, admin, catering, domestic, maintenance)",
        format!("{} per resident per week", pounds(i.non_care_staff_pence)),
        Exact::int(i.non_care_staff_pence),
    );
    for (key, label, v) in [
        ("food", "Food", i.food_pence),
        ("utilities", "Utilities", i.utilities_pence),
        (
            "supplies_and_maintenance",
            "Supplies, repairs and maintenance",
            i.supplies_and_maintenance_pence,
        ),
        (
            "premises_other",
            "Insurance, rates and registration fees",
            i.premises_other_pence,
        ),
    ] {
        s.line(
            key,
            label,
            format!("{} per resident per week", pounds(v)),
            Exact::int(v),
        );
    }
    share_lines(&mut s, i.head_office_bps, i.return_on_operations_bps);
    let occupancy = i.occupancy_bps.max(1);
    s.line(
        "return_on_capital",
        "Return on capital",
        format!(
            "{} a bed × {} ÷ {WEEKS_PER_YEAR} weeks ÷ {} occupancy",
            pounds(i.capital_value_per_bed_pence),
            pct(i.return_on_capital_bps),
            pct(occupancy)
        ),
        Exact::int(i.capital_value_per_bed_pence)
            .times(i.return_on_capital_bps, 10_000)
            .times(1, WEEKS_PER_YEAR)
            .times(10_000, occupancy),
    );
    s.lines
}

/// Head office on every line so far, then the return on operations on every line so far
/// including head office: both from the exact values, not the rounded pence.
fn share_lines(s: &mut Sheet, head_office_bps: i64, return_on_operations_bps: i64) {
    let above = s.above();
    s.line(
        "head_office",
        "Head office (central overheads)",
        format!(
            "{} × {} (the costs above)",
            pct(head_office_bps),
            pounds(above.pence())
        ),
        above.times(head_office_bps, 10_000),
    );
    let operating = s.above();
    s.line(
        "return_on_operations",
        "Return on operations",
        format!(
            "{} × {} (operating costs, the lines above)",
            pct(return_on_operations_bps),
            pounds(operating.pence())
        ),
        operating.times(return_on_operations_bps, 10_000),
    );
}

// ---------------------------------------------------------------------------------------------
// Home care

/// Home care's costs per contact hour (an hour spent with people, which is what councils buy).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HomeCareInputs {
    pub care_pay_pence_per_hour: i64,
    /// Paid travel time between visits for each contact hour, in whole seconds: minutes are
    /// too coarse to reproduce published models (the UKHCA's 2020/21 travel time is 11.7
    /// minutes, 702 s, per contact hour).
    pub travel_seconds_per_contact_hour: i64,
    /// Miles driven for each contact hour (hundredths).
    pub mileage_hundredths_per_contact_hour: i64,
    /// Paid to care workers for each mile; not pay, so no on-costs.
    pub pence_per_mile: i64,
    pub on_costs: OnCosts,
    /// Registered manager and office staff, rent, IT, insurance, CQC fees, recruitment.
    pub business_costs_pence_per_contact_hour: i64,
    /// Central overheads as a share of the costs above; often 0 because business costs hold
    /// them already.
    pub head_office_bps: i64,
    /// Surplus, as a share of all the costs above.
    pub return_on_operations_bps: i64,
}

impl Default for HomeCareInputs {
    fn default() -> Self {
        HomeCareInputs {
            care_pay_pence_per_hour: 1221,
            travel_seconds_per_contact_hour: 20 * 60,
            mileage_hundredths_per_contact_hour: 450,
            pence_per_mile: 45,
            on_costs: OnCosts::home_care(),
            business_costs_pence_per_contact_hour: 700,
            head_office_bps: 0,
            return_on_operations_bps: 300,
        }
    }
}

/// Home care's cost per contact hour, line by line: pay for the hour and for the travel it
/// needs, the on-costs on both, mileage, running the business, head office and the return.
///
/// # Panics
/// If an input lies outside the range [`home_care_fields`] gives it (see
/// [`CostModel::validate`]).
pub fn home_care_lines(i: &HomeCareInputs) -> Vec<Line> {
    let mut s = Sheet::default();
    let rate = i.care_pay_pence_per_hour;
    let contact = Exact::int(rate);
    s.staff(
        "contact_time_pay",
        "Care worker pay for contact time",
        format!("1.00 h × {}", pounds(rate)),
        contact,
    );
    let secs = i.travel_seconds_per_contact_hour;
    let travel = Exact::int(rate).times(secs, 3600);
    s.staff(
        "travel_time_pay",
        "Care worker pay for travel time",
        if secs % 60 == 0 {
            format!("{} ÷ 60 × {}", duration(secs), pounds(rate))
        } else {
            format!("{secs} s ÷ 3,600 × {}", pounds(rate))
        },
        travel,
    );
    let pay = contact + travel;
    s.with_parts(
        "pay_on_costs",
        "On-costs on contact and travel pay",
        format!(
            "Holiday, sickness, training, employer NI and pension on {}",
            pounds(pay.pence())
        ),
        on_costs(pay, rate, &i.on_costs),
    );
    s.line(
        "mileage",
        "Mileage",
        format!(
            "{} miles × {}",
            fixed2(i.mileage_hundredths_per_contact_hour),
            pounds(i.pence_per_mile)
        ),
        Exact::int(i.pence_per_mile).times(i.mileage_hundredths_per_contact_hour, 100),
    );
    s.line(
        "business_costs",
        "Running the business (office, manager, rent, IT, insurance, fees, recruitment)",
        format!(
            "{} per contact hour",
            pounds(i.business_costs_pence_per_contact_hour)
        ),
        Exact::int(i.business_costs_pence_per_contact_hour),
    );
    share_lines(&mut s, i.head_office_bps, i.return_on_operations_bps);
    s.lines
}

// ---------------------------------------------------------------------------------------------
// Inputs for forms

/// How an input is stored and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Whole pence, shown "£12.21"
    Pence,
    /// Basis points, shown "12.07%"
    Bps,
    /// Hundredths of an hour, shown "26.50 h"
    HundredthsOfHour,
    /// Hundredths of a mile, shown "4.50 miles"
    HundredthsOfMile,
    /// Whole seconds, shown "11 min 42 s"
    Seconds,
}

impl Unit {
    /// A value as a page shows it: "£12.21", "12.07%", "26.50 h", "4.50 miles", "20 min".
    pub fn show(self, v: i64) -> String {
        match self {
            Unit::Pence => pounds(v),
            Unit::Bps => pct(v),
            Unit::HundredthsOfHour => format!("{} h", fixed2(v)),
            Unit::HundredthsOfMile => format!("{} miles", fixed2(v)),
            Unit::Seconds => duration(v),
        }
    }

    /// A value as a form's text box holds it, which [`Unit::parse`] reads back: "12.21",
    /// "12.07", "26.50", "4.50", "702".
    pub fn edit(self, v: i64) -> String {
        match self {
            Unit::Seconds => v.to_string(),
            _ => crate::money::show_hundredths(v),
        }
    }

    /// Reads what someone typed: pounds ("£1,234.50"), a percentage ("12.07" or "12.07%"),
    /// hours or miles (up to two decimal places), or whole seconds.
    pub fn parse(self, s: &str) -> Result<i64, String> {
        let t = s.trim();
        match self {
            Unit::Pence => crate::money::parse_pounds(t),
            Unit::Bps => parse_hundredths(t.trim_end_matches('%'), "a percentage, like 12.07"),
            Unit::HundredthsOfHour => {
                parse_hundredths(t.trim_end_matches('h'), "a number of hours, like 26.50")
            }
            Unit::HundredthsOfMile => parse_hundredths(
                t.trim_end_matches("miles").trim_end_matches("mile"),
                "a number of miles, like 4.50",
            ),
            Unit::Seconds => {
                let t = t.trim_end_matches('s').trim();
                if t.is_empty() || !t.chars().all(|c| c.is_ascii_digit()) {
                    return Err("enter a whole number of seconds, like 702".into());
                }
                t.parse().map_err(|_| "the number is too large".to_string())
            }
        }
    }
}

/// "26.5" → 2650: a non-negative number with at most two decimal places, as hundredths.
fn parse_hundredths(s: &str, what: &str) -> Result<i64, String> {
    use crate::money::DecimalError;
    let t: String = s
        .trim()
        .chars()
        .filter(|c| *c != ',' && !c.is_whitespace())
        .collect();
    if t.starts_with('-') {
        return Err("the value cannot be negative".into());
    }
    crate::money::hundredths(&t).map_err(|e| match e {
        DecimalError::NotANumber => format!("{s:?} is not {what}"),
        DecimalError::TooManyPlaces => "give at most two decimal places".into(),
        DecimalError::TooLarge => "the number is too large".into(),
    })
}

/// What an input is, which decides the uplifts that move it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InputKind {
    /// An hourly pay rate: raised by [`Uplift::PayTo`], [`Uplift::PayPercent`] and
    /// [`Uplift::FlatPercent`].
    PayRate,
    /// Pay costs given as money (non-care staff): [`Uplift::PayPercent`] and
    /// [`Uplift::FlatPercent`].
    StaffCost,
    /// Prices of things bought (food, utilities, mileage rate, business costs…):
    /// [`Uplift::NonStaffPercent`] and [`Uplift::FlatPercent`].
    NonStaffCost,
    /// The value of a bed: [`Uplift::FlatPercent`].
    Capital,
    /// Money set by statute (National Insurance threshold, pension lower limit): no uplift
    /// moves it, because prices rising do not.
    Threshold,
    /// A share (basis points); [`Uplift::PensionTo`] sets the pension one.
    Share,
    /// Hours, miles or travel time: volumes, not prices, so no uplift moves them.
    Quantity,
}

/// One input as a form shows and edits it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Field {
    pub key: &'static str,
    pub label: &'static str,
    pub unit: Unit,
    pub kind: InputKind,
    /// The smallest and largest values allowed, inclusive. The largest are generous; they
    /// exist so the exact arithmetic can never overflow.
    pub min: i64,
    pub max: i64,
    /// Why the input matters, for the form's hint.
    pub help: &'static str,
}

/// An input that breaks its rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Invalid {
    pub key: &'static str,
    pub message: String,
}

const MAX_PAY: i64 = 100_000; // £1,000 an hour
const MAX_HOURS: i64 = 50_000; // 500 h a resident-week: two-to-one care round the clock, and more
const MAX_WEEKLY: i64 = 10_000_000; // £100,000 a resident-week
const MAX_BPS: i64 = 10_000;

fn field(
    key: &'static str,
    label: &'static str,
    unit: Unit,
    kind: InputKind,
    min: i64,
    max: i64,
    help: &'static str,
) -> Field {
    Field {
        key,
        label,
        unit,
        kind,
        min,
        max,
        help,
    }
}

#[rustfmt::skip]
fn on_cost_fields() -> Vec<Field> {
    use InputKind::*;
    use Unit::*;
    vec![
        field("holiday_bps", "Holiday pay", Bps, Share, 0, MAX_BPS,
            "Paid leave as a share of pay for hours worked: 5.6 weeks over 46.4 worked is 12.07%"),
        field("sickness_bps", "Sick pay", Bps, Share, 0, MAX_BPS,
            "Sick pay as a share of pay for hours worked"),
        field("training_bps", "Training time", Bps, Share, 0, MAX_BPS,
            "Paid time in training as a share of paid hours"),
        field("employer_ni_bps", "Employer National Insurance", Bps, Share, 0, MAX_BPS,
            "Employer's Class 1 rate on each worker's earnings above the threshold"),
        field("ni_secondary_threshold_pence_per_year", "National Insurance threshold (a year)",
            Pence, Threshold, 0, 100_000_000,
            "Earnings a year on which the employer pays no National Insurance, per worker"),
        field("pension_bps", "Employer pension", Bps, Share, 0, MAX_BPS,
            "Employer contribution on qualifying earnings (above the lower limit)"),
        field("pension_lower_limit_pence_per_year", "Pension lower limit (a year)",
            Pence, Threshold, 0, 100_000_000,
            "Earnings a year below which no pension contribution is due, per worker"),
        field("paid_hours_per_week_per_worker", "Paid hours a week per worker",
            HundredthsOfHour, Quantity, 1, 16_800,
            "Decides how much of each worker's pay lies above the NI threshold and the \
             pension lower limit"),
    ]
}

/// The care home model's inputs, in the order a form shows them (the service itself is chosen
/// separately, from [`CareHomeService::ALL`]).
#[rustfmt::skip]
pub fn care_home_fields() -> Vec<Field> {
    use InputKind::*;
    use Unit::*;
    let mut f = vec![
        field("care_hours_per_resident_week", "Care hours per resident per week",
            HundredthsOfHour, Quantity, 0, MAX_HOURS,
            "Care worker hours for each resident each week, day and night"),
        field("care_pay_pence_per_hour", "Care worker pay (an hour)", Pence, PayRate, 0, MAX_PAY,
            "At least the National Living Wage"),
        field("nurse_hours_per_resident_week", "Nurse hours per resident per week",
            HundredthsOfHour, Quantity, 0, MAX_HOURS,
            "Registered nurse hours for each resident each week; none in residential care"),
        field("nurse_pay_pence_per_hour", "Nurse pay (an hour)", Pence, PayRate, 0, MAX_PAY,
            "A registered nurse's hourly pay"),
    ];
    f.extend(on_cost_fields());
    f.extend([
        field("non_care_staff_pence", "Non-care staff (per resident per week)", Pence, StaffCost,
            0, MAX_WEEKLY,
            "Management, administration, catering, domestic and maintenance staff, with \
             their on-costs"),
        field("food_pence", "Food (per resident per week)", Pence, NonStaffCost, 0, MAX_WEEKLY,
            "Food and drink"),
        field("utilities_pence", "Utilities (per resident per week)", Pence, NonStaffCost, 0,
            MAX_WEEKLY, "Gas, electricity, water, telephone"),
        field("supplies_and_maintenance_pence", "Supplies and maintenance (per resident per week)",
            Pence, NonStaffCost, 0, MAX_WEEKLY,
            "Care and domestic supplies, repairs and maintenance"),
        field("premises_other_pence", "Insurance, rates and fees (per resident per week)", Pence,
            NonStaffCost, 0, MAX_WEEKLY, "Insurance, business rates, CQC registration fees"),
        field("head_office_bps", "Head office", Bps, Share, 0, MAX_BPS,
            "Central overheads as a share of all the costs above"),
        field("capital_value_per_bed_pence", "Capital value per bed", Pence, Capital, 0,
            1_000_000_000, "What a bed is worth as a going concern: land, buildings, equipment"),
        field("return_on_capital_bps", "Return on capital (a year)", Bps, Share, 0, MAX_BPS,
            "The yearly return, as rent or profit, that keeps beds in the market"),
        field("occupancy_bps", "Occupancy", Bps, Share, 1, MAX_BPS,
            "Beds occupied on average: each resident carries the capital cost of \
             1 ÷ occupancy beds"),
        field("return_on_operations_bps", "Return on operations", Bps, Share, 0, MAX_BPS,
            "The operator's margin on operating costs"),
    ]);
    f
}

/// The home care model's inputs, in the order a form shows them.
#[rustfmt::skip]
pub fn home_care_fields() -> Vec<Field> {
    use InputKind::*;
    use Unit::*;
    let mut f = vec![
        field("care_pay_pence_per_hour", "Care worker pay (an hour)", Pence, PayRate, 0, MAX_PAY,
            "At least the National Living Wage, for contact and travel time alike"),
        field("travel_seconds_per_contact_hour", "Travel time per contact hour", Seconds,
            Quantity, 0, 36_000, "Paid travel between visits for each hour spent with people"),
        field("mileage_hundredths_per_contact_hour", "Miles per contact hour", HundredthsOfMile,
            Quantity, 0, 100_000, "Miles driven between visits for each contact hour"),
        field("pence_per_mile", "Mileage rate (a mile)", Pence, NonStaffCost, 0, 10_000,
            "Paid to care workers for each mile; not pay, so no on-costs"),
    ];
    f.extend(on_cost_fields());
    f.extend([
        field("business_costs_pence_per_contact_hour", "Running the business (per contact hour)",
            Pence, NonStaffCost, 0, 1_000_000,
            "Registered manager and office staff, rent, IT, insurance, CQC fees, recruitment"),
        field("head_office_bps", "Head office", Bps, Share, 0, MAX_BPS,
            "Central overheads as a share of the costs above; often in business costs already"),
        field("return_on_operations_bps", "Surplus", Bps, Share, 0, MAX_BPS,
            "The provider's surplus on all the costs above"),
    ]);
    f
}

macro_rules! slots {
    ($ty:ty { $($key:literal => $($field:ident).+),* $(,)? }) => {
        impl $ty {
            fn slot(&self, key: &str) -> Option<i64> {
                match key {
                    $($key => Some(self.$($field).+),)*
                    _ => None,
                }
            }
            fn slot_mut(&mut self, key: &str) -> Option<&mut i64> {
                match key {
                    $($key => Some(&mut self.$($field).+),)*
                    _ => None,
                }
            }
        }
    };
}

slots!(CareHomeInputs {
    "care_hours_per_resident_week" => care_hours_per_resident_week,
    "care_pay_pence_per_hour" => care_pay_pence_per_hour,
    "nurse_hours_per_resident_week" => nurse_hours_per_resident_week,
    "nurse_pay_pence_per_hour" => nurse_pay_pence_per_hour,
    "holiday_bps" => on_costs.holiday_bps,
    "sickness_bps" => on_costs.sickness_bps,
    "training_bps" => on_costs.training_bps,
    "employer_ni_bps" => on_costs.employer_ni_bps,
    "ni_secondary_threshold_pence_per_year" => on_costs.ni_secondary_threshold_pence_per_year,
    "pension_bps" => on_costs.pension_bps,
    "pension_lower_limit_pence_per_year" => on_costs.pension_lower_limit_pence_per_year,
    "paid_hours_per_week_per_worker" => on_costs.paid_hours_per_week_per_worker,
    "non_care_staff_pence" => non_care_staff_pence,
    "food_pence" => food_pence,
    "utilities_pence" => utilities_pence,
    "supplies_and_maintenance_pence" => supplies_and_maintenance_pence,
    "premises_other_pence" => premises_other_pence,
    "head_office_bps" => head_office_bps,
    "capital_value_per_bed_pence" => capital_value_per_bed_pence,
    "return_on_capital_bps" => return_on_capital_bps,
    "occupancy_bps" => occupancy_bps,
    "return_on_operations_bps" => return_on_operations_bps,
});

slots!(HomeCareInputs {
    "care_pay_pence_per_hour" => care_pay_pence_per_hour,
    "travel_seconds_per_contact_hour" => travel_seconds_per_contact_hour,
    "mileage_hundredths_per_contact_hour" => mileage_hundredths_per_contact_hour,
    "pence_per_mile" => pence_per_mile,
    "holiday_bps" => on_costs.holiday_bps,
    "sickness_bps" => on_costs.sickness_bps,
    "training_bps" => on_costs.training_bps,
    "employer_ni_bps" => on_costs.employer_ni_bps,
    "ni_secondary_threshold_pence_per_year" => on_costs.ni_secondary_threshold_pence_per_year,
    "pension_bps" => on_costs.pension_bps,
    "pension_lower_limit_pence_per_year" => on_costs.pension_lower_limit_pence_per_year,
    "paid_hours_per_week_per_worker" => on_costs.paid_hours_per_week_per_worker,
    "business_costs_pence_per_contact_hour" => business_costs_pence_per_contact_hour,
    "head_office_bps" => head_office_bps,
    "return_on_operations_bps" => return_on_operations_bps,
});

/// What the pages need of either model: its inputs, to show and edit generically, and its
/// lines.
pub trait CostModel: Clone {
    /// The inputs a form shows, in order.
    fn fields() -> Vec<Field>;
    /// An input's value by its field key.
    fn get(&self, key: &str) -> Option<i64>;
    /// Sets an input by its field key, refusing unknown keys and values outside the field's
    /// range (so no negatives, and occupancy within 0.01%..=100%).
    fn set(&mut self, key: &str, value: i64) -> Result<(), String>;
    /// The cost lines, in order.
    fn lines(&self) -> Vec<Line>;

    /// Every input outside its field's range. Inputs built by [`CostModel::set`] and
    /// [`apply`] are always within range; this is for those built or deserialised directly.
    fn validate(&self) -> Vec<Invalid> {
        out_of_ranges(self)
    }
}

fn out_of_ranges<M: CostModel>(m: &M) -> Vec<Invalid> {
    M::fields()
        .into_iter()
        .filter_map(|f| {
            let v = m.get(f.key)?;
            (v < f.min || v > f.max).then(|| Invalid {
                key: f.key,
                message: out_of_range(&f),
            })
        })
        .collect()
}

fn out_of_range(f: &Field) -> String {
    format!(
        "{} must be between {} and {}",
        f.label,
        f.unit.show(f.min),
        f.unit.show(f.max)
    )
}

fn set_checked(
    fields: Vec<Field>,
    slot: Option<&mut i64>,
    key: &str,
    v: i64,
) -> Result<(), String> {
    let f = fields
        .into_iter()
        .find(|f| f.key == key)
        .ok_or_else(|| format!("there is no input called {key:?}"))?;
    let slot = slot.ok_or_else(|| format!("there is no input called {key:?}"))?;
    if v < f.min || v > f.max {
        return Err(out_of_range(&f));
    }
    *slot = v;
    Ok(())
}

impl CostModel for CareHomeInputs {
    fn fields() -> Vec<Field> {
        care_home_fields()
    }
    fn get(&self, key: &str) -> Option<i64> {
        self.slot(key)
    }
    fn set(&mut self, key: &str, value: i64) -> Result<(), String> {
        set_checked(care_home_fields(), self.slot_mut(key), key, value)
    }
    fn lines(&self) -> Vec<Line> {
        care_home_lines(self)
    }
    /// The ranges, and no nurse hours in residential care (a home not registered for nursing
    /// cannot provide it).
    fn validate(&self) -> Vec<Invalid> {
        let mut out = out_of_ranges(self);
        if !self.variant.is_nursing() && self.nurse_hours_per_resident_week > 0 {
            out.push(Invalid {
                key: "nurse_hours_per_resident_week",
                message: format!(
                    "{} has no registered nurses: set nurse hours to 0 or choose a nursing service",
                    self.variant.label()
                ),
            });
        }
        out
    }
}

impl CostModel for HomeCareInputs {
    fn fields() -> Vec<Field> {
        home_care_fields()
    }
    fn get(&self, key: &str) -> Option<i64> {
        self.slot(key)
    }
    fn set(&mut self, key: &str, value: i64) -> Result<(), String> {
        set_checked(home_care_fields(), self.slot_mut(key), key, value)
    }
    fn lines(&self) -> Vec<Line> {
        home_care_lines(self)
    }
}

// ---------------------------------------------------------------------------------------------
// Where the defaults come from

/// Where an input's default comes from, for the page that shows the model's assumptions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputSource {
    pub key: &'static str,
    pub label: &'static str,
    /// The default as shown: "£12.21".
    pub value: String,
    pub source: &'static str,
    #[serde(serialize_with = "iso_date")]
    pub as_of: NaiveDate,
}

fn iso_date<S: Serializer>(d: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&d.format("%Y-%m-%d").to_string())
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a real date")
}

const ILLUSTRATIVE: &str = "Illustrative default; replace with your cost of care exercise's median";
const NLW_2025: &str = "National Living Wage for workers aged 21 and over from 1 April 2025: \
    National Minimum Wage (Amendment) Regulations 2025; GOV.UK National Minimum Wage and \
    National Living Wage rates";

fn on_cost_sources() -> Vec<(&'static str, &'static str, NaiveDate)> {
    let tax_year = date(2025, 4, 6);
    vec![
        (
            "holiday_bps",
            "5.6 weeks' statutory annual leave (Working Time Regulations 1998, regulations 13 \
             and 13A) paid over the 46.4 weeks worked: 5.6 ÷ 46.4 = 12.07%",
            date(2025, 4, 1),
        ),
        ("sickness_bps", ILLUSTRATIVE, date(2025, 4, 1)),
        ("training_bps", ILLUSTRATIVE, date(2025, 4, 1)),
        (
            "employer_ni_bps",
            "Employer (secondary Class 1) National Insurance rate of 15% from 6 April 2025: \
             National Insurance Contributions (Secondary Class 1 Contributions) Act 2025",
            tax_year,
        ),
        (
            "ni_secondary_threshold_pence_per_year",
            "Secondary threshold of £5,000 a year (£96 a week) from 6 April 2025: National \
             Insurance Contributions (Secondary Class 1 Contributions) Act 2025",
            tax_year,
        ),
        (
            "pension_bps",
            "Automatic enrolment employer minimum of 3% of qualifying earnings: Pensions Act \
             2008, section 20",
            tax_year,
        ),
        (
            "pension_lower_limit_pence_per_year",
            "Lower limit of qualifying earnings for 2025/26, £6,240 a year: DWP review of the \
             automatic enrolment earnings thresholds 2025/26",
            tax_year,
        ),
        (
            "paid_hours_per_week_per_worker",
            "Illustrative default; replace with the average paid hours a week from your cost \
             of care exercise or workforce data",
            date(2025, 4, 1),
        ),
    ]
}

fn sourced<M: CostModel>(
    m: &M,
    table: Vec<(&'static str, &'static str, NaiveDate)>,
) -> Vec<InputSource> {
    M::fields()
        .into_iter()
        .filter_map(|f| {
            let (_, source, as_of) = *table.iter().find(|(k, _, _)| *k == f.key)?;
            Some(InputSource {
                key: f.key,
                label: f.label,
                value: f.unit.show(m.get(f.key)?),
                source,
                as_of,
            })
        })
        .collect()
}

/// Where each default of a care home service comes from, in the order of
/// [`care_home_fields`].
pub fn care_home_sources(variant: CareHomeService) -> Vec<InputSource> {
    let april = date(2025, 4, 1);
    let mut table = vec![
        ("care_hours_per_resident_week", ILLUSTRATIVE, april),
        ("care_pay_pence_per_hour", NLW_2025, april),
        (
            "nurse_hours_per_resident_week",
            if variant.is_nursing() {
                ILLUSTRATIVE
            } else {
                "None: a home registered for residential care only provides no nursing"
            },
            april,
        ),
        (
            "nurse_pay_pence_per_hour",
            "Illustrative placeholder, not a published rate: replace with nurse pay from your \
             own cost of care exercise",
            april,
        ),
    ];
    table.extend(on_cost_sources());
    for key in [
        "non_care_staff_pence",
        "food_pence",
        "utilities_pence",
        "supplies_and_maintenance_pence",
        "premises_other_pence",
        "head_office_bps",
        "capital_value_per_bed_pence",
        "return_on_capital_bps",
        "occupancy_bps",
        "return_on_operations_bps",
    ] {
        table.push((key, ILLUSTRATIVE, april));
    }
    sourced(&CareHomeInputs::defaults(variant), table)
}

/// Where each home care default comes from, in the order of [`home_care_fields`].
pub fn home_care_sources() -> Vec<InputSource> {
    let april = date(2025, 4, 1);
    let mut table = vec![
        ("care_pay_pence_per_hour", NLW_2025, april),
        ("travel_seconds_per_contact_hour", ILLUSTRATIVE, april),
        ("mileage_hundredths_per_contact_hour", ILLUSTRATIVE, april),
        (
            "pence_per_mile",
            "HMRC approved mileage allowance payments: 45p a mile for the first 10,000 business \
             miles in a tax year by car or van (unchanged since 6 April 2011)",
            date(2025, 4, 6),
        ),
    ];
    table.extend(on_cost_sources());
    table.extend([
        ("business_costs_pence_per_contact_hour", ILLUSTRATIVE, april),
        (
            "head_office_bps",
            "Illustrative default: home care providers' central costs usually sit in business \
             costs",
            april,
        ),
        (
            "return_on_operations_bps",
            "Homecare Association, Minimum Price for Homecare 2025/26 (18 December 2024), which \
             allows a 3% surplus",
            date(2024, 12, 18),
        ),
    ]);
    sourced(&HomeCareInputs::default(), table)
}

// ---------------------------------------------------------------------------------------------
// Scenarios

/// A change to the inputs, to see what it costs: a new National Living Wage, a pay award,
/// inflation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Uplift {
    /// Every hourly pay rate below this is raised to it (a new National Living Wage).
    PayTo { pence_per_hour: i64 },
    /// Every pay rate, and non-care staff costs, up by this many basis points (a pay award).
    PayPercent(i64),
    /// The employer pension contribution set to this many basis points.
    PensionTo(i64),
    /// Prices of things bought up by this many basis points (CPI): food, utilities, supplies,
    /// premises, business costs and the mileage rate.
    NonStaffPercent(i64),
    /// Every money input (pay, costs, capital) up by this many basis points; statutory
    /// thresholds are left alone. Two in turn compound, as two 2% uplifts do.
    FlatPercent(i64),
}

impl Uplift {
    /// The uplift in words, for a scenario's heading.
    pub fn describe(&self) -> String {
        match *self {
            Uplift::PayTo { pence_per_hour } => {
                format!("Pay raised to at least {} an hour", pounds(pence_per_hour))
            }
            Uplift::PayPercent(b) => format!("Pay up {}", pct(b)),
            Uplift::PensionTo(b) => format!("Employer pension at {}", pct(b)),
            Uplift::NonStaffPercent(b) => format!("Non-staff costs up {}", pct(b)),
            Uplift::FlatPercent(b) => format!("All costs up {}", pct(b)),
        }
    }
}

/// `v` (not negative) up by `bps` (down, if negative; never below zero), rounded half up to
/// the whole unit; held at `i64::MAX` for absurd uplifts, which [`apply`] then clamps.
fn up_by(v: i64, bps: i64) -> i64 {
    let factor = (10_000 + i128::from(bps)).max(0);
    let up = (i128::from(v.max(0)) * factor + 5_000) / 10_000;
    i64::try_from(up).unwrap_or(i64::MAX)
}

/// The inputs with the uplifts applied in turn, each uplifted money input rounded half up to
/// the penny before the next (so two 2% uplifts compound on the rounded amount, as a council's
/// fee letters would). Values are held within their fields' ranges.
pub fn apply<M: CostModel>(inputs: &M, uplifts: &[Uplift]) -> M {
    use InputKind::*;
    let mut out = inputs.clone();
    let fields = M::fields();
    for u in uplifts {
        for f in &fields {
            let Some(v) = out.get(f.key) else { continue };
            let new = match (*u, f.kind) {
                (Uplift::PayTo { pence_per_hour }, PayRate) => v.max(pence_per_hour),
                (Uplift::PayPercent(b), PayRate | StaffCost) => up_by(v, b),
                (Uplift::PensionTo(b), Share) if f.key == "pension_bps" => b,
                (Uplift::NonStaffPercent(b), NonStaffCost) => up_by(v, b),
                (Uplift::FlatPercent(b), PayRate | StaffCost | NonStaffCost | Capital) => {
                    up_by(v, b)
                }
                _ => continue,
            };
            // Clamped into range, so this cannot fail.
            let _ = out.set(f.key, new.clamp(f.min, f.max));
        }
    }
    out
}

/// One line before and after a scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineChange {
    pub key: &'static str,
    pub label: &'static str,
    pub base: i64,
    pub scenario: i64,
    /// scenario − base
    pub difference: i64,
}

/// A model before and after a scenario, line by line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Comparison {
    pub lines: Vec<LineChange>,
    pub base_total: i64,
    pub scenario_total: i64,
    /// scenario − base: the sum of the lines' differences.
    pub difference: i64,
}

/// Lines matched by key (a line missing on one side counts as 0 there).
pub fn compare(base: &[Line], scenario: &[Line]) -> Comparison {
    let find = |ls: &[Line], k: &str| ls.iter().find(|l| l.key == k).map_or(0, |l| l.pence);
    let lines: Vec<LineChange> = base
        .iter()
        .map(|l| (l.key, l.label, l.pence, find(scenario, l.key)))
        .chain(
            scenario
                .iter()
                .filter(|l| !base.iter().any(|b| b.key == l.key))
                .map(|l| (l.key, l.label, 0, l.pence)),
        )
        .map(|(key, label, b, s)| LineChange {
            key,
            label,
            base: b,
            scenario: s,
            difference: s - b,
        })
        .collect();
    let (base_total, scenario_total) = (total(base), total(scenario));
    Comparison {
        lines,
        base_total,
        scenario_total,
        difference: scenario_total - base_total,
    }
}

// ---------------------------------------------------------------------------------------------
// Budgets and fees

/// What a difference per unit comes to over `weeks`, for a budget: `units_per_week_hundredths`
/// is in hundredths whatever the unit, so 100 placements are 10_000 and 12,000.00 home care
/// hours a week are 1_200_000. Rounded half up once, to the penny.
///
/// # Panics
/// If the effect does not fit in an `i64` of pence (over £92 million million).
pub fn annual_effect(diff_per_unit_pence: i64, units_per_week_hundredths: i64, weeks: i64) -> i64 {
    let n = i128::from(diff_per_unit_pence)
        .checked_mul(i128::from(units_per_week_hundredths))
        .and_then(|n| n.checked_mul(i128::from(weeks)))
        .expect("an annual effect too large to count in pence");
    div_round_half_up(n, 100)
}

/// How far a fee falls short of the modelled cost: modelled − fee. Positive means the fee is
/// below the cost (a gap to close); negative, above it.
pub fn fee_gap(fee_pence: i64, modelled_pence: i64) -> i64 {
    modelled_pence - fee_pence
}

/// An old unit cost brought forward by a price index (e.g. a 2014-15 cost by CPI, 2015 =
/// 100.00): amount × to ÷ from, exact and rounded half up once. `None` when `from` is not a
/// positive index.
pub fn uplift_by_index(
    amount_pence: i64,
    from_index_hundredths: i64,
    to_index_hundredths: i64,
) -> Option<i64> {
    (from_index_hundredths > 0).then(|| {
        div_round_half_up(
            i128::from(amount_pence) * i128::from(to_index_hundredths),
            i128::from(from_index_hundredths),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn line<'a>(lines: &'a [Line], key: &str) -> &'a Line {
        lines
            .iter()
            .find(|l| l.key == key)
            .unwrap_or_else(|| panic!("no line {key}"))
    }

    fn pence(lines: &[Line], key: &str) -> i64 {
        line(lines, key).pence
    }

    #[test]
    fn rounds_half_up_once() {
        assert_eq!(div_round_half_up(0, 7), 0);
        assert_eq!(div_round_half_up(5, 10), 1, "0.5 rounds up");
        assert_eq!(div_round_half_up(4, 10), 0);
        assert_eq!(div_round_half_up(15, 10), 2, "1.5 rounds up");
        assert_eq!(div_round_half_up(25, 10), 3, "2.5 rounds up, not to even");
        assert_eq!(div_round_half_up(1_359, 10), 136, "135.9");
        assert_eq!(div_round_half_up(1, 3), 0);
        assert_eq!(div_round_half_up(2, 3), 1);
        assert_eq!(div_round_half_up(10, 1), 10);
        assert_eq!(div_round_half_up(-5, 10), -1, "sizes round alike");
        assert_eq!(div_round_half_up(-4, 10), 0);
        assert_eq!(
            div_round_half_up(i128::from(i64::MAX) * 2, 2),
            i64::MAX,
            "large values exact"
        );
    }

    #[test]
    fn exact_fractions_reduce() {
        let a = Exact::new(6, 8);
        assert_eq!((a.n, a.d), (3, 4));
        let b = Exact::int(1).times(1, 3) + Exact::int(1).times(1, 6);
        assert_eq!((b.n, b.d), (1, 2));
        assert_eq!((Exact::int(2) - Exact::int(5)).n, -3);
        assert_eq!(Exact::new(7, 2).pence(), 4);
    }

    /// Easy numbers: 10.00 h at £10.00 = £100.00 pay; holiday 10%, nothing else; a 30 h week;
    /// NI 10% above £100 a week; pension 5% above £200 a week.
    fn easy_on_costs() -> OnCosts {
        OnCosts {
            holiday_bps: 1000,
            sickness_bps: 0,
            training_bps: 0,
            employer_ni_bps: 1000,
            ni_secondary_threshold_pence_per_year: 520_000,
            pension_bps: 500,
            pension_lower_limit_pence_per_year: 1_040_000,
            paid_hours_per_week_per_worker: 3000,
        }
    }

    #[test]
    fn on_costs_above_the_thresholds() {
        let oc = on_costs(Exact::int(10_000), 1000, &easy_on_costs());
        let p = |k: &str| oc.parts.iter().find(|p| p.key == k).unwrap().pence;
        // Holiday: £100.00 × 10% = £10.00. Gross pay G = £110.00.
        assert_eq!(p("holiday"), 1000);
        assert_eq!((p("sickness"), p("training")), (0, 0));
        // A worker's week: W = £10.00 × 30 h × 1.10 = £330.00. NI threshold £5,200 ÷ 52 =
        // £100.00. NI = £110.00 × 10% × (£330 − £100) ÷ £330 = £11 × 23/33 = £7.6667 → £7.67.
        assert_eq!(p("employer_ni"), 767);
        // Pension lower limit £10,400 ÷ 52 = £200.00: £110 × 5% × (£330 − £200) ÷ £330
        // = £5.50 × 13/33 = £2.1667 → £2.17.
        assert_eq!(p("pension"), 217);
        let ni = &oc.parts[3];
        assert_eq!(
            ni.formula,
            "£110.00 gross pay × 10.00% × (£330.00 weekly pay − £100.00 threshold) ÷ £330.00"
        );
        assert_eq!(oc.parts[0].formula, "£100.00 × 10.00%");
    }

    #[test]
    fn on_costs_below_the_thresholds_are_nothing() {
        // A 5 h week: W = £10 × 5 × 1.10 = £55.00, within both thresholds.
        let oc = OnCosts {
            paid_hours_per_week_per_worker: 500,
            ..easy_on_costs()
        };
        let c = on_costs(Exact::int(10_000), 1000, &oc);
        assert_eq!(c.parts[3].pence, 0);
        assert_eq!(c.parts[4].pence, 0);
        assert_eq!(
            c.parts[3].formula,
            "£110.00 gross pay × 10.00% × 0 (£55.00 weekly pay within the £100.00 threshold)"
        );
        // A 15 h week: W = £165.00: above the NI threshold, below the pension lower limit.
        // NI = £110 × 10% × (£165 − £100) ÷ £165 = £11 × 65/165 = £4.3333 → £4.33.
        let oc = OnCosts {
            paid_hours_per_week_per_worker: 1500,
            ..easy_on_costs()
        };
        let c = on_costs(Exact::int(10_000), 1000, &oc);
        assert_eq!(c.parts[3].pence, 433);
        assert_eq!(c.parts[4].pence, 0);
        assert!(
            c.parts[4]
                .formula
                .contains("within the £200.00 lower limit")
        );
        // Exactly at the threshold (W = £330.00 a week = £17,160 a year): nothing.
        let oc = OnCosts {
            ni_secondary_threshold_pence_per_year: 1_716_000,
            ..easy_on_costs()
        };
        assert_eq!(on_costs(Exact::int(10_000), 1000, &oc).parts[3].pence, 0);
    }

    #[test]
    fn residential_defaults_line_by_line() {
        let ls = care_home_lines(&CareHomeInputs::default());
        let keys: Vec<_> = ls.iter().map(|l| l.key).collect();
        assert_eq!(
            keys,
            [
                "care_staff",
                "care_staff_on_costs",
                "nursing_staff",
                "nursing_staff_on_costs",
                "non_care_staff",
                "food",
                "utilities",
                "supplies_and_maintenance",
                "premises_other",
                "head_office",
                "return_on_operations",
                "return_on_capital"
            ]
        );
        // 24.00 h × £12.21 = £293.04
        let care = line(&ls, "care_staff");
        assert_eq!(
            (care.pence, care.formula.as_str()),
            (29_304, "24.00 h × £12.21")
        );
        let oc = line(&ls, "care_staff_on_costs");
        // Holiday £293.04 × 12.07% = £35.369928 → £35.37
        assert_eq!(oc.part("holiday"), Some(3537));
        // Sickness £293.04 × 2.50% = £7.326 → £7.33
        assert_eq!(oc.part("sickness"), Some(733));
        // Training £293.04 × 2.00% = £5.8608 → £5.86
        assert_eq!(oc.part("training"), Some(586));
        // G = £293.04 × 1.1657 = £341.596728. A worker's week W = £12.21 × 37.5 × 1.1657
        // = £533.744888 (37.5 × 1.1657 = 43.71375 h). T = £5,000 ÷ 52 = £96.153846.
        // NI = £341.596728 × 15% × (533.744888 − 96.153846) ÷ 533.744888
        //    = £51.239509 × 0.819853 = £42.00874 → £42.01
        assert_eq!(oc.part("employer_ni"), Some(4201));
        // Pension: L = £6,240 ÷ 52 = £120.00.
        // £341.596728 × 3% × (533.744888 − 120) ÷ 533.744888 = £10.247902 × 0.775176
        // = £7.943902 → £7.94
        assert_eq!(oc.part("pension"), Some(794));
        assert_eq!(oc.pence, 3537 + 733 + 586 + 4201 + 794);
        assert!(oc.staff);
        // No nurses in residential care.
        assert_eq!(pence(&ls, "nursing_staff"), 0);
        assert_eq!(pence(&ls, "nursing_staff_on_costs"), 0);
        assert_eq!(pence(&ls, "non_care_staff"), 12_000);
        assert_eq!(pence(&ls, "food"), 4000);
        // Head office: 5% of the exact sum above, £293.04 + £98.50937 (exact on-costs)
        // + £120 + £40 + £30 + £35 + £20 = £636.549370 → × 5% = £31.827468 → £31.83.
        // (Rounded lines would give £636.55 × 5% = £31.8275 → £31.83 as well.)
        assert_eq!(pence(&ls, "head_office"), 3183);
        // Return on operations: 5% × (£636.549370 + £31.827468) = 5% × £668.376838
        // = £33.418842 → £33.42.
        assert_eq!(pence(&ls, "return_on_operations"), 3342);
        // Capital: £80,000 × 6% = £4,800 a year ÷ 52 = £92.307692 a week ÷ 92% occupancy
        // = £100.334448 → £100.33.
        let cap = line(&ls, "return_on_capital");
        assert_eq!(cap.pence, 10_033);
        assert_eq!(
            cap.formula,
            "£80,000.00 a bed × 6.00% ÷ 52 weeks ÷ 92.00% occupancy"
        );
        assert_eq!(total(&ls), 80_213);
        assert_eq!(
            total(&ls),
            ls.iter().map(|l| l.pence).sum::<i64>(),
            "the total is the lines' sum"
        );
    }

    #[test]
    fn nursing_defaults_include_nurses() {
        let ls = care_home_lines(&CareHomeInputs::defaults(CareHomeService::Nursing));
        // 20.00 h × £12.21 = £244.20; 10.00 h × £23.00 = £230.00
        assert_eq!(pence(&ls, "care_staff"), 24_420);
        let n = line(&ls, "nursing_staff");
        assert_eq!((n.pence, n.formula.as_str()), (23_000, "10.00 h × £23.00"));
        let oc = line(&ls, "nursing_staff_on_costs");
        // Holiday £230 × 12.07% = £27.761 → £27.76; sickness £5.75; training £4.60.
        assert_eq!(oc.part("holiday"), Some(2776));
        assert_eq!(oc.part("sickness"), Some(575));
        assert_eq!(oc.part("training"), Some(460));
        // G = £230 × 1.1657 = £268.111. W = £23 × 37.5 × 1.1657 = £1,005.41625.
        // NI = £268.111 × 15% × (1005.41625 − 96.153846) ÷ 1005.41625 = £40.21665 × 0.904366
        // = £36.370496 → £36.37.
        assert_eq!(oc.part("employer_ni"), Some(3637));
        // Pension = £268.111 × 3% × (1005.41625 − 120) ÷ 1005.41625 = £8.04333 × 0.880648
        // = £7.08333 → £7.08.
        assert_eq!(oc.part("pension"), Some(708));
        assert_eq!(total(&ls), 107_367);
        let d = care_home_lines(&CareHomeInputs::defaults(
            CareHomeService::DementiaResidential,
        ));
        assert_eq!(pence(&d, "care_staff"), 34_188, "28.00 h × £12.21");
        assert_eq!(total(&d), 87_407);
        let dn = care_home_lines(&CareHomeInputs::defaults(CareHomeService::DementiaNursing));
        assert_eq!(total(&dn), 114_563);
    }

    #[test]
    fn capital_follows_occupancy() {
        let mut i = CareHomeInputs {
            occupancy_bps: 10_000,
            ..CareHomeInputs::default()
        };
        // Full: £4,800 ÷ 52 = £92.307692 → £92.31.
        assert_eq!(pence(&care_home_lines(&i), "return_on_capital"), 9231);
        i.occupancy_bps = 8000;
        // 80%: £92.307692 ÷ 0.8 = £115.384615 → £115.38.
        assert_eq!(pence(&care_home_lines(&i), "return_on_capital"), 11_538);
    }

    #[test]
    fn head_office_and_returns_on_a_simple_home() {
        // Only food at £100.00: head office 10% = £10.00; return on operations 5% of £110.00
        // = £5.50; no capital.
        let mut i = CareHomeInputs::default();
        for k in [
            "care_hours_per_resident_week",
            "non_care_staff_pence",
            "utilities_pence",
            "supplies_and_maintenance_pence",
            "premises_other_pence",
            "capital_value_per_bed_pence",
        ] {
            i.set(k, 0).unwrap();
        }
        i.set("food_pence", 10_000).unwrap();
        i.set("head_office_bps", 1000).unwrap();
        let ls = care_home_lines(&i);
        assert_eq!(pence(&ls, "head_office"), 1000);
        assert_eq!(
            line(&ls, "head_office").formula,
            "10.00% × £100.00 (the costs above)"
        );
        assert_eq!(pence(&ls, "return_on_operations"), 550);
        assert_eq!(pence(&ls, "return_on_capital"), 0);
        assert_eq!(total(&ls), 11_550);
    }

    #[test]
    fn home_care_defaults_line_by_line() {
        let ls = home_care_lines(&HomeCareInputs::default());
        assert_eq!(pence(&ls, "contact_time_pay"), 1221, "1.00 h × £12.21");
        let t = line(&ls, "travel_time_pay");
        // 20 min ÷ 60 × £12.21 = £4.07
        assert_eq!((t.pence, t.formula.as_str()), (407, "20 min ÷ 60 × £12.21"));
        let oc = line(&ls, "pay_on_costs");
        // On £16.28: holiday × 12.07% = £1.964996 → £1.96; sickness 2.5% = £0.407 → £0.41;
        // training 2% = £0.3256 → £0.33.
        assert_eq!(oc.part("holiday"), Some(196));
        assert_eq!(oc.part("sickness"), Some(41));
        assert_eq!(oc.part("training"), Some(33));
        // G = £16.28 × 1.1657 = £18.977596; W = £12.21 × 30 h × 1.1657 = £426.995910.
        // NI = £18.977596 × 15% × (426.995910 − 96.153846) ÷ 426.995910 = £2.846639 × 0.774818
        // = £2.205614 → £2.21. Pension = £0.569328 × (426.995910 − 120) ÷ 426.995910
        // = £0.569328 × 0.718969 = £0.409328 → £0.41.
        assert_eq!(oc.part("employer_ni"), Some(221));
        assert_eq!(oc.part("pension"), Some(41));
        // 4.50 miles × £0.45 = £2.025 → £2.03: mileage bears no on-costs.
        let m = line(&ls, "mileage");
        assert_eq!((m.pence, m.formula.as_str()), (203, "4.50 miles × £0.45"));
        assert!(!m.staff);
        assert_eq!(pence(&ls, "business_costs"), 700);
        assert_eq!(pence(&ls, "head_office"), 0);
        // Surplus 3% × £30.617538 = £0.918526 → £0.92.
        assert_eq!(pence(&ls, "return_on_operations"), 92);
        assert_eq!(total(&ls), 3155);
        assert!(total(&ls) < HOMECARE_ASSOCIATION_MINIMUM_PRICE_2025_26_PENCE);
    }

    /// The UKHCA's Minimum Price for Homecare 2020/21 (April 2020 to March 2021): £20.69 an
    /// hour, reproduced to the penny from inputs alone.
    #[test]
    fn reproduces_ukhca_minimum_price_2020_21() {
        let i = HomeCareInputs {
            // The National Living Wage from 1 April 2020.
            care_pay_pence_per_hour: 872,
            // Travel: £8.72 × t ÷ 3,600 s must round to £1.70, so t lies in 699.7..703.9 s.
            // 11.7 min = 702 s: £8.72 × 702 ÷ 3600 = £1.7004 → £1.70.
            travel_seconds_per_contact_hour: 702,
            // 3.02 miles × 45p = 135.9p → £1.36.
            mileage_hundredths_per_contact_hour: 302,
            pence_per_mile: 45,
            on_costs: OnCosts {
                // Pay P = £8.72 + £1.7004 = £10.4204 exactly (872 × 4302 ÷ 3600 = 1042.04p).
                // Other on-costs must be £1.97, about 18.9% of P:
                //   holiday 12.07% (statutory 5.6 weeks) = 125.774p → 126p
                //   sickness 2.50%                       =  26.051p →  26p
                //   training 4.30%                       =  44.808p →  45p   126+26+45 = 197p
                holiday_bps: 1207,
                sickness_bps: 250,
                training_bps: 430,
                // NI and pension at the 2020/21 statutory rates: 13.8% above £8,788 a year
                // (£169 a week); 3% above £6,240 a year (£120 a week).
                employer_ni_bps: 1380,
                ni_secondary_threshold_pence_per_year: 878_800,
                pension_bps: 300,
                pension_lower_limit_pence_per_year: 624_000,
                // Solving NI + pension = £1.14 for the paid week: G = 1042.04 × 1.1887
                // = 1238.6729p. With 34.00 h: W = £8.72 × 34 × 1.1887 = £352.4258;
                // NI = 1238.6729 × 13.8% × (352.4258 − 169) ÷ 352.4258 = 170.9369 × 0.520468
                // = 88.967p → 89p; pension = 1238.6729 × 3% × (352.4258 − 120) ÷ 352.4258
                // = 37.1602 × 0.659501 = 24.507p → 25p. 89 + 25 = 114p. (34.00 h to 34.20 h
                // all give £1.14.)
                paid_hours_per_week_per_worker: 3400,
            },
            business_costs_pence_per_contact_hour: 520,
            head_office_bps: 0,
            // Surplus on the total cost: the exact cost is 2008.047p (£20.08; the rounded
            // lines add to £20.09), × 3% = 60.24p → £0.60.
            return_on_operations_bps: 300,
        };
        let ls = home_care_lines(&i);
        assert_eq!(
            pence(&ls, "contact_time_pay"),
            872,
            "careworkers' contact time"
        );
        assert_eq!(pence(&ls, "travel_time_pay"), 170, "travel time");
        let oc = line(&ls, "pay_on_costs");
        let part = |k| oc.part(k).unwrap();
        assert_eq!(
            part("employer_ni") + part("pension"),
            114,
            "employers' NI and pensions"
        );
        assert_eq!(
            part("holiday") + part("sickness") + part("training"),
            197,
            "other wage on-costs"
        );
        assert_eq!(pence(&ls, "mileage"), 136, "mileage");
        assert_eq!(
            pence(&ls, "business_costs"),
            520,
            "cost of running the business"
        );
        assert_eq!(pence(&ls, "head_office"), 0);
        assert_eq!(pence(&ls, "return_on_operations"), 60, "surplus");
        assert_eq!(total(&ls), 2069, "Minimum Price £20.69");
        assert_eq!(
            line(&ls, "travel_time_pay").formula,
            "702 s ÷ 3,600 × £8.72"
        );
    }

    #[test]
    fn fields_and_slots_agree() {
        for (fields, c, h) in [
            (care_home_fields(), true, false),
            (home_care_fields(), false, true),
        ] {
            let mut keys: Vec<_> = fields.iter().map(|f| f.key).collect();
            keys.sort_unstable();
            keys.dedup();
            assert_eq!(keys.len(), fields.len(), "keys are unique");
            for f in &fields {
                assert!(f.min >= 0 && f.min <= f.max, "{}", f.key);
                if c {
                    assert!(CareHomeInputs::default().get(f.key).is_some(), "{}", f.key);
                }
                if h {
                    assert!(HomeCareInputs::default().get(f.key).is_some(), "{}", f.key);
                }
            }
        }
        // The slots hold exactly the fields.
        assert_eq!(
            care_home_fields().len(),
            22,
            "every care home input is a field"
        );
        assert_eq!(
            home_care_fields().len(),
            15,
            "every home care input is a field"
        );
        assert!(CareHomeInputs::default().get("nonsense").is_none());
    }

    #[test]
    fn set_checks_ranges() {
        let mut i = CareHomeInputs::default();
        assert_eq!(i.set("food_pence", 4500), Ok(()));
        assert_eq!(i.food_pence, 4500);
        assert_eq!(i.set("holiday_bps", 1300), Ok(()));
        assert_eq!(i.on_costs.holiday_bps, 1300);
        assert!(i.set("food_pence", -1).is_err());
        assert_eq!(
            i.set("occupancy_bps", 0),
            Err("Occupancy must be between 0.01% and 100.00%".into())
        );
        assert!(i.set("occupancy_bps", 10_001).is_err());
        assert!(i.set("occupancy_bps", 10_000).is_ok());
        assert!(i.set("nonsense", 1).is_err());
        assert!(i.validate().is_empty());
        i.nurse_hours_per_resident_week = 100;
        assert_eq!(i.validate()[0].key, "nurse_hours_per_resident_week");
        i.variant = CareHomeService::Nursing;
        assert!(i.validate().is_empty());
        i.occupancy_bps = 0;
        assert_eq!(i.validate()[0].key, "occupancy_bps");
        let mut h = HomeCareInputs::default();
        assert!(h.set("travel_seconds_per_contact_hour", 702).is_ok());
        assert!(h.set("pence_per_mile", -45).is_err());
        assert!(h.validate().is_empty());
    }

    #[test]
    fn every_default_has_a_dated_source() {
        for v in CareHomeService::ALL {
            let s = care_home_sources(v);
            assert_eq!(s.len(), care_home_fields().len(), "{v:?}");
            assert_eq!(CareHomeService::from_key(v.key()), Some(v));
        }
        let s = care_home_sources(CareHomeService::Residential);
        let pay = s
            .iter()
            .find(|s| s.key == "care_pay_pence_per_hour")
            .unwrap();
        assert_eq!(pay.value, "£12.21");
        assert!(
            pay.source
                .contains("National Minimum Wage (Amendment) Regulations 2025")
        );
        assert_eq!(pay.as_of, NaiveDate::from_ymd_opt(2025, 4, 1).unwrap());
        let nurse = s
            .iter()
            .find(|s| s.key == "nurse_pay_pence_per_hour")
            .unwrap();
        assert!(nurse.source.contains("placeholder"));
        let h = home_care_sources();
        assert_eq!(h.len(), home_care_fields().len());
        let mile = h.iter().find(|s| s.key == "pence_per_mile").unwrap();
        assert_eq!(mile.value, "£0.45");
        assert!(mile.source.contains("HMRC"));
        let travel = h
            .iter()
            .find(|s| s.key == "travel_seconds_per_contact_hour")
            .unwrap();
        assert_eq!(travel.value, "20 min");
        assert!(travel.source.starts_with("Illustrative"));
    }

    #[test]
    fn units_show_and_read_back() {
        assert_eq!(Unit::Bps.show(1207), "12.07%");
        assert_eq!(Unit::HundredthsOfHour.show(2650), "26.50 h");
        assert_eq!(Unit::HundredthsOfMile.show(450), "4.50 miles");
        assert_eq!(Unit::Seconds.show(702), "11 min 42 s");
        assert_eq!(Unit::Seconds.show(45), "45 s");
        assert_eq!(Unit::Pence.show(8_000_000), "£80,000.00");
        assert_eq!(Unit::Bps.parse("12.07%"), Ok(1207));
        assert_eq!(Unit::Bps.parse("15"), Ok(1500));
        assert_eq!(Unit::HundredthsOfHour.parse("26.5"), Ok(2650));
        assert_eq!(Unit::HundredthsOfMile.parse("4.5 miles"), Ok(450));
        assert_eq!(Unit::Pence.parse("£80,000"), Ok(8_000_000));
        assert_eq!(Unit::Seconds.parse("702"), Ok(702));
        assert!(Unit::Bps.parse("-1").is_err());
        assert!(Unit::Bps.parse("1.234").is_err());
        assert!(Unit::Seconds.parse("11.5").is_err());
        assert!(Unit::HundredthsOfHour.parse("").is_err());
        for u in [
            Unit::Pence,
            Unit::Bps,
            Unit::HundredthsOfHour,
            Unit::HundredthsOfMile,
            Unit::Seconds,
        ] {
            for v in [0, 5, 1207, 123_456_789] {
                assert_eq!(u.parse(&u.edit(v)), Ok(v), "{u:?} {v}");
            }
        }
    }

    #[test]
    fn scenarios_move_the_right_inputs() {
        let base = CareHomeInputs::defaults(CareHomeService::Nursing);
        // A new National Living Wage of £12.71: care pay rises to it, nurse pay (above) stays.
        let s = apply(
            &base,
            &[Uplift::PayTo {
                pence_per_hour: 1271,
            }],
        );
        assert_eq!(s.care_pay_pence_per_hour, 1271);
        assert_eq!(s.nurse_pay_pence_per_hour, 2300);
        assert_eq!(s.food_pence, base.food_pence);
        // A 5% pay award: £12.21 × 1.05 = £12.8205 → £12.82; £23 → £24.15; non-care staff
        // £120 → £126.
        let s = apply(&base, &[Uplift::PayPercent(500)]);
        assert_eq!(
            (s.care_pay_pence_per_hour, s.nurse_pay_pence_per_hour),
            (1282, 2415)
        );
        assert_eq!(s.non_care_staff_pence, 12_600);
        assert_eq!(s.food_pence, 4000);
        // CPI 3.8% on food: £40 × 1.038 = £41.52; pay unchanged; thresholds never move.
        let s = apply(&base, &[Uplift::NonStaffPercent(380)]);
        assert_eq!(s.food_pence, 4152);
        assert_eq!(s.care_pay_pence_per_hour, 1221);
        assert_eq!(s.non_care_staff_pence, 12_000);
        let s = apply(&base, &[Uplift::PensionTo(500)]);
        assert_eq!(s.on_costs.pension_bps, 500);
        // Two 2% uplifts compound: £40.00 → £40.80 → £41.616 → £41.62; capital too.
        let s = apply(&base, &[Uplift::FlatPercent(200), Uplift::FlatPercent(200)]);
        assert_eq!(s.food_pence, 4162);
        assert_eq!(s.capital_value_per_bed_pence, 8_323_200);
        assert_eq!(s.on_costs.ni_secondary_threshold_pence_per_year, 500_000);
        assert_eq!(
            s.care_hours_per_resident_week,
            base.care_hours_per_resident_week
        );
        // Home care: CPI moves the mileage rate and business costs.
        let h = apply(&HomeCareInputs::default(), &[Uplift::NonStaffPercent(1000)]);
        assert_eq!(
            (h.pence_per_mile, h.business_costs_pence_per_contact_hour),
            (50, 770)
        );
        assert_eq!(
            Uplift::PayTo {
                pence_per_hour: 1271
            }
            .describe(),
            "Pay raised to at least £12.71 an hour"
        );
        // A cut below −100% stops at nothing.
        assert_eq!(apply(&base, &[Uplift::FlatPercent(-20_000)]).food_pence, 0);
        // An absurd uplift stops at the field's maximum, and the model still adds up.
        let s = apply(
            &base,
            &[Uplift::FlatPercent(i64::MAX), Uplift::PensionTo(-5)],
        );
        assert_eq!(s.food_pence, MAX_WEEKLY);
        assert_eq!(s.on_costs.pension_bps, 0);
        let ls = care_home_lines(&s);
        assert_eq!(total(&ls), ls.iter().map(|l| l.pence).sum::<i64>());
    }

    #[test]
    fn comparison_line_by_line() {
        let base = HomeCareInputs::default();
        let scen = apply(
            &base,
            &[Uplift::PayTo {
                pence_per_hour: 1271,
            }],
        );
        let c = compare(&home_care_lines(&base), &home_care_lines(&scen));
        let contact = c
            .lines
            .iter()
            .find(|l| l.key == "contact_time_pay")
            .unwrap();
        assert_eq!(
            (contact.base, contact.scenario, contact.difference),
            (1221, 1271, 50)
        );
        assert_eq!(c.difference, c.scenario_total - c.base_total);
        assert_eq!(
            c.difference,
            c.lines.iter().map(|l| l.difference).sum::<i64>()
        );
        assert_eq!(c.lines.len(), 7);
        assert!(c.difference > 0);
    }

    #[test]
    fn budgets_and_fee_gaps() {
        // 100 placements × £15.00 a week × 52 weeks = £78,000.00
        assert_eq!(annual_effect(1500, 10_000, WEEKS_PER_YEAR), 7_800_000);
        // 12,000.00 hours a week × £0.59 × 52 = £368,160.00
        assert_eq!(annual_effect(59, 1_200_000, 52), 36_816_000);
        // 0.50 h a week × 1p × 1 week = 0.5p → 1p
        assert_eq!(annual_effect(1, 50, 1), 1);
        assert_eq!(annual_effect(-1500, 10_000, 52), -7_800_000);
        // A fee of £750 against a modelled £802.13: £52.13 short.
        assert_eq!(fee_gap(75_000, 80_213), 5213);
        assert_eq!(fee_gap(90_000, 80_213), -9787);
        // £500 in 2014-15 with an index of 100.00 then and 135.27 now: £676.35.
        assert_eq!(uplift_by_index(50_000, 10_000, 13_527), Some(67_635));
        // £1.00 × 100.5 ÷ 100 = 100.5p → 101p (half up).
        assert_eq!(uplift_by_index(100, 10_000, 10_050), Some(101));
        assert_eq!(uplift_by_index(100, 0, 10_050), None);
    }

    #[test]
    fn largest_inputs_do_not_overflow() {
        let mut c = CareHomeInputs::defaults(CareHomeService::DementiaNursing);
        for f in care_home_fields() {
            c.set(f.key, f.max).unwrap();
        }
        let ls = care_home_lines(&c);
        assert_eq!(total(&ls), ls.iter().map(|l| l.pence).sum::<i64>());
        let mut h = HomeCareInputs::default();
        for f in home_care_fields() {
            h.set(f.key, f.max).unwrap();
        }
        assert!(total(&home_care_lines(&h)) > 0);
        // And the smallest.
        for f in care_home_fields() {
            c.set(f.key, f.min).unwrap();
        }
        assert_eq!(total(&care_home_lines(&c)), 0);
    }

    /// Inputs anywhere in their fields' ranges, from one random number per field.
    fn within<M: CostModel>(mut m: M, raw: &[u64]) -> M {
        for (f, r) in M::fields().iter().zip(raw) {
            let span = (f.max - f.min + 1) as u64;
            // Half the time a value of everyday size, half anywhere in range.
            let v = if r % 2 == 0 {
                f.min + ((r / 2) % span.min(50_000)) as i64
            } else {
                f.min + ((r / 2) % span) as i64
            };
            m.set(f.key, v).unwrap();
        }
        m
    }

    fn care_home(raw: &[u64], v: usize) -> CareHomeInputs {
        within(CareHomeInputs::defaults(CareHomeService::ALL[v % 4]), raw)
    }

    fn raw() -> impl Strategy<Value = Vec<u64>> {
        proptest::collection::vec(any::<u64>(), 22)
    }

    proptest! {
        #[test]
        fn lines_add_up_and_are_never_negative(raw in raw(), v in 0usize..4) {
            let h = within(HomeCareInputs::default(), &raw);
            for ls in [care_home_lines(&care_home(&raw, v)), home_care_lines(&h)] {
                prop_assert_eq!(total(&ls), ls.iter().map(|l| l.pence).sum::<i64>());
                for l in &ls {
                    prop_assert!(l.pence >= 0, "{} {}", l.key, l.pence);
                    if !l.parts.is_empty() {
                        prop_assert_eq!(l.pence, l.parts.iter().map(|p| p.pence).sum::<i64>());
                    }
                    prop_assert!(l.parts.iter().all(|p| p.pence >= 0));
                }
            }
        }

        #[test]
        fn more_pay_never_costs_less(
            raw in raw(), v in 0usize..4, which in 0usize..3, more in 0i64..5000
        ) {
            let c = care_home(&raw, v);
            let key = [
                "care_pay_pence_per_hour",
                "nurse_pay_pence_per_hour",
                "non_care_staff_pence",
            ][which];
            let max = care_home_fields().into_iter().find(|f| f.key == key).unwrap().max;
            let mut up = c.clone();
            up.set(key, (c.get(key).unwrap() + more).min(max)).unwrap();
            prop_assert!(total(&care_home_lines(&up)) >= total(&care_home_lines(&c)));
            let h = within(HomeCareInputs::default(), &raw);
            let mut up = h.clone();
            up.care_pay_pence_per_hour = (h.care_pay_pence_per_hour + more).min(MAX_PAY);
            prop_assert!(total(&home_care_lines(&up)) >= total(&home_care_lines(&h)));
        }

        #[test]
        fn no_uplift_changes_nothing(raw in raw(), v in 0usize..4) {
            let c = care_home(&raw, v);
            prop_assert_eq!(&apply(&c, &[Uplift::FlatPercent(0)]), &c);
            prop_assert_eq!(&apply(&c, &[]), &c);
            let h = within(HomeCareInputs::default(), &raw);
            prop_assert_eq!(&apply(&h, &[Uplift::FlatPercent(0)]), &h);
        }

        #[test]
        fn two_two_percent_uplifts_compound(raw in raw(), v in 0usize..4) {
            let c = care_home(&raw, v);
            let s = apply(&c, &[Uplift::FlatPercent(200), Uplift::FlatPercent(200)]);
            for f in care_home_fields() {
                let (before, after) = (c.get(f.key).unwrap(), s.get(f.key).unwrap());
                match f.kind {
                    InputKind::PayRate
                    | InputKind::StaffCost
                    | InputKind::NonStaffCost
                    | InputKind::Capital => {
                        // 1.02 × 1.02 = 1.0404, within 1p (unless held at the field's maximum).
                        let exact = div_round_half_up(i128::from(before) * 10_404, 10_000);
                        if exact <= f.max {
                            prop_assert!(
                                (after - exact).abs() <= 1,
                                "{} {} {} {}", f.key, before, after, exact
                            );
                        }
                    }
                    _ => prop_assert_eq!(after, before, "{}", f.key),
                }
            }
        }

        #[test]
        fn fee_gap_sign(fee in 0i64..10_000_000, modelled in 0i64..10_000_000) {
            let g = fee_gap(fee, modelled);
            prop_assert_eq!(g > 0, fee < modelled);
            prop_assert_eq!(g == 0, fee == modelled);
            prop_assert_eq!(fee + g, modelled);
        }

        #[test]
        fn half_up_matches_the_definition(n in 0i128..1_000_000_000_000, d in 1i128..1_000_000) {
            let q = i128::from(div_round_half_up(n, d));
            // q is the nearest whole number, ties going up: q − ½ ≤ n/d < q + ½.
            prop_assert!(2 * q * d - d <= 2 * n && 2 * n < 2 * q * d + d);
        }
    }
}
