//! Sufficiency: will there be enough care home beds of each type, year by year?
//!
//! Two methods, side by side, because councils and their advisers use both:
//! - the **stock** method: people in each age band × a placement rate per 1,000 (how many
//!   people of that age live in a care home of the type), adjusted by levers, divided by a
//!   target occupancy to give beds;
//! - the **flow** method (as the Strategy Unit's care home demand simulator works): admissions a
//!   year per 10,000 people aged 65+ × the average length of stay gives the people in homes at
//!   any time (Little's law), divided by the target occupancy.
//!
//! Population is projected from a base year by a growth rate per age band and year, one year
//! at a time, rounded to whole people each year (so a hand-worked table reproduces it).
//! Supply is today's beds plus planned openings and known closures from their year on, minus
//! beds at risk. All arithmetic is in integers; rates carry their own fixed-point scale.

use serde::{Deserialize, Serialize};

// n / d rounded half up (half away from zero), as the cost of care rounds pence.
use crate::cost::div_round_half_up as div_round;

/// The bed types sufficiency is worked out for (the four; respite and any others a
/// council adds for vacancies are not long-term supply).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BedKind {
    Residential,
    Nursing,
    DementiaResidential,
    DementiaNursing,
}

impl BedKind {
    pub const ALL: [BedKind; 4] = [
        BedKind::Residential,
        BedKind::Nursing,
        BedKind::DementiaResidential,
        BedKind::DementiaNursing,
    ];

    /// The key the vacancies pages use for the same bed type.
    pub fn key(self) -> &'static str {
        match self {
            BedKind::Residential => "residential",
            BedKind::Nursing => "nursing",
            BedKind::DementiaResidential => "dementia_residential",
            BedKind::DementiaNursing => "dementia_nursing",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            BedKind::Residential => "Residential",
            BedKind::Nursing => "Nursing",
            BedKind::DementiaResidential => "Dementia residential",
            BedKind::DementiaNursing => "Dementia nursing",
        }
    }

    pub fn from_key(k: &str) -> Option<BedKind> {
        BedKind::ALL.into_iter().find(|b| b.key() == k)
    }

    /// The stated rule for splitting a care home's CQC bed count when its provider has not
    /// said how its beds divide: a home registered for "Care home service with nursing" counts
    /// as nursing, else residential; one with the CQC specialism "Dementia" counts as the
    /// dementia variant. All of a home's beds go to the one type.
    pub fn of_home<S: AsRef<str>>(service_types: &[S], specialisms: &[S]) -> BedKind {
        let nursing = service_types.iter().any(|s| {
            s.as_ref()
                .eq_ignore_ascii_case("Care home service with nursing")
        });
        let dementia = specialisms
            .iter()
            .any(|s| s.as_ref().eq_ignore_ascii_case("Dementia"));
        match (nursing, dementia) {
            (false, false) => BedKind::Residential,
            (true, false) => BedKind::Nursing,
            (false, true) => BedKind::DementiaResidential,
            (true, true) => BedKind::DementiaNursing,
        }
    }
}

/// People in the three disjoint older age bands (rates are per band, so no one counts twice).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bands {
    pub aged_65_74: i64,
    pub aged_75_84: i64,
    pub aged_85_plus: i64,
}

impl Bands {
    /// From the cumulative counts ONS tables give (65+, 75+, 85+).
    pub fn from_cumulative(aged_65_plus: i64, aged_75_plus: i64, aged_85_plus: i64) -> Bands {
        Bands {
            aged_65_74: aged_65_plus - aged_75_plus,
            aged_75_84: aged_75_plus - aged_85_plus,
            aged_85_plus,
        }
    }
    pub fn aged_65_plus(&self) -> i64 {
        self.aged_65_74 + self.aged_75_84 + self.aged_85_plus
    }
    pub fn aged_75_plus(&self) -> i64 {
        self.aged_75_84 + self.aged_85_plus
    }
    fn get(&self, band: usize) -> i64 {
        [self.aged_65_74, self.aged_75_84, self.aged_85_plus][band]
    }
}

/// The age bands' labels, in [`Bands`] order.
pub const BAND_LABELS: [&str; 3] = ["65 to 74", "75 to 84", "85 and over"];

/// Growth a year per band, in basis points (150 = 1.50% a year; may be negative).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Growth {
    pub aged_65_74_bps: i64,
    pub aged_75_84_bps: i64,
    pub aged_85_plus_bps: i64,
}

/// Projects `base` (for `base_year`) to `year`: each band grows by its rate once a year,
/// rounded half up to whole people each year. Years before the base return the base.
pub fn project(base: Bands, base_year: i32, year: i32, g: Growth) -> Bands {
    let mut b = base;
    for _ in base_year..year {
        let grow = |p: i64, bps: i64| div_round(p as i128 * (10_000 + bps) as i128, 10_000);
        b = Bands {
            aged_65_74: grow(b.aged_65_74, g.aged_65_74_bps),
            aged_75_84: grow(b.aged_75_84, g.aged_75_84_bps),
            aged_85_plus: grow(b.aged_85_plus, g.aged_85_plus_bps),
        };
    }
    b
}

/// Placement rates for one bed type: people in such a home per 1,000 people in each band, in
/// hundredths (512 = 5.12 per 1,000).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BandRates {
    pub aged_65_74: i64,
    pub aged_75_84: i64,
    pub aged_85_plus: i64,
}

impl BandRates {
    fn get(&self, band: usize) -> i64 {
        [self.aged_65_74, self.aged_75_84, self.aged_85_plus][band]
    }
}

/// What a council assumes, for one council: placement rates by bed type (stock method),
/// admissions and length of stay by bed type (flow method), growth, levers and occupancy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assumptions {
    /// Stock method: per bed type, residents per 1,000 by band (hundredths).
    pub rates: Vec<(BedKind, BandRates)>,
    /// Flow method: per bed type, permanent admissions a year per 10,000 aged 65+ (hundredths)
    /// and the average length of stay in weeks.
    pub admissions: Vec<(BedKind, i64, i64)>,
    pub growth: Growth,
    /// Change in admissions from community alternatives (extra care, home care), in basis
    /// points: -1000 means 10% fewer people need a bed.
    pub admission_change_bps: i64,
    /// Change in how long people stay, in basis points: +500 means stays 5% longer.
    pub length_of_stay_change_bps: i64,
    /// Beds needed for each occupied bed: 9200 = plan for 92% occupancy.
    pub target_occupancy_bps: i64,
}

impl Default for Assumptions {
    /// Illustrative starting values, to be replaced by the council's own (the sufficiency page
    /// lists them as assumptions). Stock rates: England has about 380,000 care home residents
    /// aged 65+ among 10.5 million people aged 65+, steeply by age (about 5, 25 and 140 per
    /// 1,000 in the three bands); split between bed types roughly 40% residential, 30% nursing,
    /// 18% dementia residential, 12% dementia nursing. Flow: ASCOF 2A(2) permanent admissions
    /// in England were about 560 per 100,000 aged 65+ a year (56 per 10,000), with average
    /// stays of about two years in residential and 18 months in nursing care. Growth: ONS
    /// 2018-based projections give roughly 1.5%, 2.5% and 3% a year for the three bands.
    fn default() -> Self {
        let split = |share_pct: i64| BandRates {
            aged_65_74: 500 * share_pct / 100,
            aged_75_84: 2500 * share_pct / 100,
            aged_85_plus: 14_000 * share_pct / 100,
        };
        Assumptions {
            rates: vec![
                (BedKind::Residential, split(40)),
                (BedKind::Nursing, split(30)),
                (BedKind::DementiaResidential, split(18)),
                (BedKind::DementiaNursing, split(12)),
            ],
            admissions: vec![
                (BedKind::Residential, 2200, 104),
                (BedKind::Nursing, 1800, 78),
                (BedKind::DementiaResidential, 1000, 104),
                (BedKind::DementiaNursing, 600, 78),
            ],
            growth: Growth {
                aged_65_74_bps: 150,
                aged_75_84_bps: 250,
                aged_85_plus_bps: 300,
            },
            admission_change_bps: 0,
            length_of_stay_change_bps: 0,
            target_occupancy_bps: 9200,
        }
    }
}

impl Assumptions {
    pub fn rates_for(&self, kind: BedKind) -> BandRates {
        self.rates
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, r)| *r)
            .unwrap_or_default()
    }

    /// (admissions a year per 10,000 aged 65+ in hundredths, length of stay in weeks).
    pub fn admissions_for(&self, kind: BedKind) -> (i64, i64) {
        self.admissions
            .iter()
            .find(|(k, _, _)| *k == kind)
            .map(|(_, a, w)| (*a, *w))
            .unwrap_or_default()
    }

    /// What is wrong with these assumptions, if anything.
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if !(1..=10_000).contains(&self.target_occupancy_bps) {
            p.push("Target occupancy must be more than 0% and at most 100%".into());
        }
        if self.admission_change_bps <= -10_000 || self.length_of_stay_change_bps <= -10_000 {
            p.push("A change cannot take admissions or stays to nothing or below".into());
        }
        if self
            .rates
            .iter()
            .any(|(_, r)| r.aged_65_74 < 0 || r.aged_75_84 < 0 || r.aged_85_plus < 0)
            || self.admissions.iter().any(|(_, a, w)| *a < 0 || *w < 0)
        {
            p.push("Rates, admissions and lengths of stay cannot be negative".into());
        }
        p
    }
}

/// People in homes of one type implied by the rates (before levers and occupancy), in
/// hundredths of a person.
pub fn residents_hundredths(pop: Bands, r: BandRates) -> i64 {
    let n: i128 = (0..3).map(|b| pop.get(b) as i128 * r.get(b) as i128).sum();
    // people × (hundredths per 1,000) / 1,000 = hundredths of people
    div_round(n, 1_000)
}

/// Rates scaled, keeping their shape across the age bands, so that they give `target`
/// residents (e.g. the placements register's count grossed up for self-funders). Rates that
/// are all zero take the default age profile (5, 25 and 140 per 1,000). Each rate is rounded
/// half up to hundredths.
pub fn scale_rates(pop: Bands, r: BandRates, target: i64) -> BandRates {
    let shape = if r.aged_65_74 == 0 && r.aged_75_84 == 0 && r.aged_85_plus == 0 {
        BandRates {
            aged_65_74: 500,
            aged_75_84: 2_500,
            aged_85_plus: 14_000,
        }
    } else {
        r
    };
    let now = residents_hundredths(pop, shape);
    if now <= 0 {
        return r;
    }
    let scale = |x: i64| div_round(x as i128 * target as i128 * 100, now as i128);
    BandRates {
        aged_65_74: scale(shape.aged_65_74),
        aged_75_84: scale(shape.aged_75_84),
        aged_85_plus: scale(shape.aged_85_plus),
    }
}

/// Beds of one type needed by the stock method:
/// Σ band people × rate / 1,000 × (1 + admission change) × (1 + stay change) / occupancy,
/// computed exactly and rounded half up to whole beds once at the end.
pub fn stock_demand(pop: Bands, kind: BedKind, a: &Assumptions) -> i64 {
    let r = a.rates_for(kind);
    // people × rate(hundredths per 1,000): scale 100 × 1,000
    let residents: i128 = (0..3).map(|b| pop.get(b) as i128 * r.get(b) as i128).sum();
    let num = residents
        * (10_000 + a.admission_change_bps) as i128
        * (10_000 + a.length_of_stay_change_bps) as i128
        * 10_000;
    let den = 100_000i128 * 10_000 * 10_000 * a.target_occupancy_bps.max(1) as i128;
    div_round(num, den)
}

/// Beds of one type needed by the flow method:
/// people 65+ × admissions per 10,000 a year × (1 + admission change) × stay in weeks / 52 ×
/// (1 + stay change) / occupancy, rounded half up once.
pub fn flow_demand(aged_65_plus: i64, kind: BedKind, a: &Assumptions) -> i64 {
    let (adm, weeks) = a.admissions_for(kind);
    let num = aged_65_plus as i128
        * adm as i128
        * (10_000 + a.admission_change_bps) as i128
        * weeks as i128
        * (10_000 + a.length_of_stay_change_bps) as i128
        * 10_000;
    let den = 10_000i128 * 100 * 10_000 * 52 * 10_000 * a.target_occupancy_bps.max(1) as i128;
    div_round(num, den)
}

/// A planned opening (positive) or known closure (negative) of beds of one type, from a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplyChange {
    pub kind: BedKind,
    pub beds: i64,
    /// The first year the change counts in (the year of its date).
    pub from_year: i32,
}

/// Beds of one type in `year`: today's, plus changes from their year on, minus beds at risk
/// (those on the at-risk register, assumed lost from now on). Never below zero.
pub fn supply(
    current: i64,
    changes: &[SupplyChange],
    at_risk: i64,
    kind: BedKind,
    year: i32,
) -> i64 {
    let changed: i64 = changes
        .iter()
        .filter(|c| c.kind == kind && c.from_year <= year)
        .map(|c| c.beds)
        .sum();
    (current + changed - at_risk).max(0)
}

/// One year and bed type of the result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    pub year: i32,
    pub kind: BedKind,
    pub population: Bands,
    /// Beds needed, stock method
    pub demand: i64,
    /// Beds needed, flow method
    pub flow_demand: i64,
    pub supply: i64,
    /// supply − demand (stock method): negative is a shortfall
    pub gap: i64,
}

/// What the projection starts from for one council.
#[derive(Debug, Clone)]
pub struct Base {
    pub population: Bands,
    pub population_year: i32,
    /// Projected populations by year (an imported ONS subnational projection), used in place
    /// of the growth rates for the years they cover and as the start for the years after.
    pub projected: Vec<(i32, Bands)>,
    /// Today's beds by type.
    pub beds: Vec<(BedKind, i64)>,
    pub at_risk: Vec<(BedKind, i64)>,
    pub changes: Vec<SupplyChange>,
}

/// The population in `year`: the latest known figure at or before it (the estimate or a
/// projection), grown by the growth rates for the years after that.
pub fn population_in(base: &Base, year: i32, g: Growth) -> Bands {
    population_at(
        base.population,
        base.population_year,
        &base.projected,
        year,
        g,
    )
}

/// [`population_in`] from the estimate and the projections alone.
pub fn population_at(
    estimate: Bands,
    estimate_year: i32,
    projected: &[(i32, Bands)],
    year: i32,
    g: Growth,
) -> Bands {
    let (from_year, from) = std::iter::once((estimate_year, estimate))
        .chain(projected.iter().copied())
        .filter(|(y, _)| *y <= year)
        .max_by_key(|(y, _)| *y)
        .unwrap_or((estimate_year, estimate));
    project(from, from_year, year, g)
}

/// Demand, supply and gap for each year from `from` to `to` (inclusive) and bed type.
pub fn projection(base: &Base, a: &Assumptions, from: i32, to: i32) -> Vec<Row> {
    let get = |v: &[(BedKind, i64)], k: BedKind| {
        v.iter()
            .filter(|(x, _)| *x == k)
            .map(|(_, n)| *n)
            .sum::<i64>()
    };
    let mut out = Vec::new();
    for year in from..=to {
        let pop = population_in(base, year, a.growth);
        for kind in BedKind::ALL {
            let demand = stock_demand(pop, kind, a);
            let supply = supply(
                get(&base.beds, kind),
                &base.changes,
                get(&base.at_risk, kind),
                kind,
                year,
            );
            out.push(Row {
                year,
                kind,
                population: pop,
                demand,
                flow_demand: flow_demand(pop.aged_65_plus(), kind, a),
                supply,
                gap: supply - demand,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bands_from_cumulative_ons_counts() {
        // Leeds mid-2020 (ONS): 65+ 123,784; 75+ 57,254; 85+ 16,280.
        let b = Bands::from_cumulative(123_784, 57_254, 16_280);
        assert_eq!(b.aged_65_74, 66_530);
        assert_eq!(b.aged_75_84, 40_974);
        assert_eq!(b.aged_85_plus, 16_280);
        assert_eq!(b.aged_65_plus(), 123_784);
        assert_eq!(b.aged_75_plus(), 57_254);
    }

    #[test]
    fn projection_rounds_to_whole_people_each_year() {
        // Worked by hand: 1,000 at +10% a year: 1,100; 1,210; 1,331.
        // 1,005 at +2.5%: 1,030.125 -> 1,030; 1,055.75 -> 1,056; 1,082.4 -> 1,082.
        // 333 at -1.5%: 328.005 -> 328; 323.08 -> 323; 318.155 -> 318.
        let base = Bands {
            aged_65_74: 1_000,
            aged_75_84: 1_005,
            aged_85_plus: 333,
        };
        let g = Growth {
            aged_65_74_bps: 1_000,
            aged_75_84_bps: 250,
            aged_85_plus_bps: -150,
        };
        assert_eq!(project(base, 2020, 2020, g), base);
        assert_eq!(project(base, 2020, 2019, g), base);
        let y1 = project(base, 2020, 2021, g);
        assert_eq!(
            (y1.aged_65_74, y1.aged_75_84, y1.aged_85_plus),
            (1_100, 1_030, 328)
        );
        let y3 = project(base, 2020, 2023, g);
        assert_eq!(
            (y3.aged_65_74, y3.aged_75_84, y3.aged_85_plus),
            (1_331, 1_082, 318)
        );
    }

    fn simple() -> Assumptions {
        Assumptions {
            rates: vec![(
                BedKind::Residential,
                BandRates {
                    aged_65_74: 200,   // 2 per 1,000
                    aged_75_84: 1_000, // 10 per 1,000
                    aged_85_plus: 5_000,
                },
            )],
            admissions: vec![(BedKind::Residential, 2_600, 104)],
            growth: Growth::default(),
            admission_change_bps: 0,
            length_of_stay_change_bps: 0,
            target_occupancy_bps: 10_000,
        }
    }

    #[test]
    fn stock_demand_by_hand() {
        let pop = Bands {
            aged_65_74: 50_000,
            aged_75_84: 30_000,
            aged_85_plus: 10_000,
        };
        let mut a = simple();
        // 50,000 × 2/1,000 = 100; 30,000 × 10/1,000 = 300; 10,000 × 50/1,000 = 500: 900 beds.
        assert_eq!(stock_demand(pop, BedKind::Residential, &a), 900);
        assert_eq!(stock_demand(pop, BedKind::Nursing, &a), 0);
        // At 90% occupancy: 900 / 0.9 = 1,000 beds.
        a.target_occupancy_bps = 9_000;
        assert_eq!(stock_demand(pop, BedKind::Residential, &a), 1_000);
        // 10% fewer admissions and 5% longer stays: 900 × 0.9 × 1.05 / 0.9 = 945.
        a.admission_change_bps = -1_000;
        a.length_of_stay_change_bps = 500;
        assert_eq!(stock_demand(pop, BedKind::Residential, &a), 945);
        // 92%: 900 / 0.92 = 978.26 -> 978 (levers off).
        a.admission_change_bps = 0;
        a.length_of_stay_change_bps = 0;
        a.target_occupancy_bps = 9_200;
        assert_eq!(stock_demand(pop, BedKind::Residential, &a), 978);
    }

    #[test]
    fn rates_scaled_to_a_register_count_keep_their_shape() {
        let pop = Bands {
            aged_65_74: 50_000,
            aged_75_84: 30_000,
            aged_85_plus: 10_000,
        };
        let r = BandRates {
            aged_65_74: 200,
            aged_75_84: 1_000,
            aged_85_plus: 5_000,
        };
        // 100 + 300 + 500 = 900 residents now; 450 wanted: every rate halves.
        assert_eq!(residents_hundredths(pop, r), 90_000);
        let half = scale_rates(pop, r, 450);
        assert_eq!(
            (half.aged_65_74, half.aged_75_84, half.aged_85_plus),
            (100, 500, 2_500)
        );
        assert_eq!(residents_hundredths(pop, half), 45_000);
        // All zero: the default profile, 250 + 750 + 1,400 = 2,400 residents per those
        // rates; 240 wanted: a tenth of 5, 25 and 140 per 1,000.
        let z = scale_rates(pop, BandRates::default(), 240);
        assert_eq!(
            (z.aged_65_74, z.aged_75_84, z.aged_85_plus),
            (50, 250, 1_400)
        );
    }

    #[test]
    fn flow_demand_by_hand() {
        let mut a = simple();
        // 90,000 aged 65+ × 26 per 10,000 = 234 admissions a year; × 104 weeks / 52 = 2 years:
        // 468 people in homes at any time.
        assert_eq!(flow_demand(90_000, BedKind::Residential, &a), 468);
        // At 92% occupancy: 468 / 0.92 = 508.7 -> 509.
        a.target_occupancy_bps = 9_200;
        assert_eq!(flow_demand(90_000, BedKind::Residential, &a), 509);
        // 20% fewer admissions: 468 × 0.8 / 0.92 = 406.96 -> 407.
        a.admission_change_bps = -2_000;
        assert_eq!(flow_demand(90_000, BedKind::Residential, &a), 407);
    }

    #[test]
    fn supply_counts_changes_from_their_year_and_takes_off_beds_at_risk() {
        let changes = [
            SupplyChange {
                kind: BedKind::Nursing,
                beds: 60,
                from_year: 2027,
            },
            SupplyChange {
                kind: BedKind::Nursing,
                beds: -25,
                from_year: 2029,
            },
            SupplyChange {
                kind: BedKind::Residential,
                beds: 40,
                from_year: 2026,
            },
        ];
        assert_eq!(supply(500, &changes, 30, BedKind::Nursing, 2026), 470);
        assert_eq!(supply(500, &changes, 30, BedKind::Nursing, 2027), 530);
        assert_eq!(supply(500, &changes, 30, BedKind::Nursing, 2029), 505);
        assert_eq!(supply(10, &changes, 0, BedKind::Nursing, 2029), 45);
        assert_eq!(supply(0, &changes, 100, BedKind::Nursing, 2026), 0);
    }

    #[test]
    fn split_rule_for_cqc_beds() {
        let with = ["Care home service with nursing"];
        let without = ["Care home service without nursing"];
        assert_eq!(BedKind::of_home(&without, &[]), BedKind::Residential);
        assert_eq!(
            BedKind::of_home(&without, &["Dementia"]),
            BedKind::DementiaResidential
        );
        assert_eq!(
            BedKind::of_home(&with, &["Caring for adults over 65 yrs"]),
            BedKind::Nursing
        );
        assert_eq!(
            BedKind::of_home(&with, &["Dementia", "Mental health conditions"]),
            BedKind::DementiaNursing
        );
    }

    #[test]
    fn projection_table_has_every_year_and_type() {
        let base = Base {
            population: Bands {
                aged_65_74: 50_000,
                aged_75_84: 30_000,
                aged_85_plus: 10_000,
            },
            population_year: 2020,
            projected: vec![],
            beds: vec![(BedKind::Residential, 950)],
            at_risk: vec![],
            changes: vec![],
        };
        let a = simple();
        let rows = projection(&base, &a, 2025, 2035);
        assert_eq!(rows.len(), 11 * 4);
        let r = rows
            .iter()
            .find(|r| r.year == 2025 && r.kind == BedKind::Residential)
            .unwrap();
        assert_eq!((r.demand, r.supply, r.gap), (900, 950, 50));
    }

    #[test]
    fn projections_replace_growth_for_the_years_they_cover() {
        let est = Bands {
            aged_65_74: 1_000,
            aged_75_84: 1_000,
            aged_85_plus: 1_000,
        };
        let p2025 = Bands {
            aged_65_74: 2_000,
            aged_75_84: 500,
            aged_85_plus: 100,
        };
        let base = Base {
            population: est,
            population_year: 2020,
            projected: vec![(2025, p2025)],
            beds: vec![],
            at_risk: vec![],
            changes: vec![],
        };
        let g = Growth {
            aged_65_74_bps: 1_000,
            aged_75_84_bps: 1_000,
            aged_85_plus_bps: 1_000,
        };
        // 2021 grows from the 2020 estimate; 2025 is the projection; 2026 grows from it.
        assert_eq!(population_in(&base, 2021, g).aged_65_74, 1_100);
        assert_eq!(population_in(&base, 2025, g), p2025);
        let y = population_in(&base, 2026, g);
        assert_eq!(
            (y.aged_65_74, y.aged_75_84, y.aged_85_plus),
            (2_200, 550, 110)
        );
    }

    #[test]
    fn default_assumptions_are_valid() {
        assert!(Assumptions::default().problems().is_empty());
        for k in BedKind::ALL {
            assert_eq!(BedKind::from_key(k.key()), Some(k));
        }
    }

    proptest! {
        #[test]
        fn more_people_never_means_fewer_beds(p in 0i64..2_000_000, extra in 0i64..100_000, band in 0usize..3) {
            let a = Assumptions::default();
            let base = Bands { aged_65_74: p, aged_75_84: p / 2, aged_85_plus: p / 5 };
            let mut more = base;
            match band { 0 => more.aged_65_74 += extra, 1 => more.aged_75_84 += extra, _ => more.aged_85_plus += extra }
            for k in BedKind::ALL {
                prop_assert!(stock_demand(more, k, &a) >= stock_demand(base, k, &a));
                prop_assert!(flow_demand(more.aged_65_plus(), k, &a) >= flow_demand(base.aged_65_plus(), k, &a));
            }
        }

        #[test]
        fn lower_occupancy_target_never_means_fewer_beds(p in 0i64..2_000_000, occ in 5_000i64..10_000) {
            let mut a = Assumptions::default();
            let pop = Bands { aged_65_74: p, aged_75_84: p / 2, aged_85_plus: p / 5 };
            a.target_occupancy_bps = occ + 1;
            let tighter: Vec<i64> = BedKind::ALL.iter().map(|k| stock_demand(pop, *k, &a)).collect();
            a.target_occupancy_bps = occ;
            for (k, t) in BedKind::ALL.iter().zip(tighter) {
                prop_assert!(stock_demand(pop, *k, &a) >= t);
            }
        }
    }
}
