//! `caremarket eval risk`: does a score built from what was known on a day foresee the next
//! rating? Back-tested on CQC's published rating history of community adult social care
//! services (data/cqc/cqc_rating_history_...csv.gz: 29,459 ratings of 15,648 services), and
//! on the historic and key question ratings of Devon's and Plymouth's care homes in the
//! bundled CQC API records.

use caremarket_core::cqc::{Domain, Rating};
use caremarket_core::eval::{Logistic, auc, auc_interval};
use caremarket_core::risk::{RiskInput, Weights, score};
use chrono::{Datelike, Duration, NaiveDate};
use std::collections::HashMap;

pub const BUNDLED_HISTORY: &[u8] =
    include_bytes!("../../data/cqc/cqc_rating_history_community_asc_2014-10_to_2025-02.csv.gz");

pub const DEFINITION: &str = "\
Definition
- As-at dates: 1 January of each year. Training years 2016-2019, test years 2020-2023 (the
  last as-at date leaves a full 24 months before the data ends in February 2025).
- Population on each date: services registered on it (start on or before, no end or an end
  after it).
- Outcome: the next rating published in the 24 months after the date is Requires
  improvement or Inadequate (no rating in the window counts as no).
- Features, only what was known on the date: current overall rating (or none), whole years
  since it, number of earlier ratings, number of earlier ratings below Good, whether the
  current rating is better or worse than the one before, ownership (for-profit, third
  sector, local authority), whole years since registration. Not used: anything after the
  date, nor the time to the next inspection (CQC re-inspects poor services sooner, so it
  would leak the outcome).
- Scores: (1) the risk tool's own score with its default weights, from the factors this
  history can show (the CQC overall rating and the age of the rating; key questions below
  Good where the records have them; the council's own factors - concerns, QAF grades,
  action plans, returns - are not in any public history and are tested on hand-worked
  cases instead). It is not fitted to this data. (2) Baseline: the current overall rating
  only, as a logistic regression fitted on the training years. (3) For reference, a
  logistic regression on every history feature, fitted on the training years.
- AUC on the test years with a 95% bootstrap interval (1,000 resamples of the test rows,
  seed 1). The score beats the baseline when its interval lies wholly above the baseline's.";

pub const CARE_HOME_DEFINITION: &str = "\
Care homes (Devon and Plymouth, from the CQC API records of February 2021)
- As-at dates: 1 January 2016 to 1 January 2019 (the last leaves 24 months before the
  records were taken). The baseline is fitted on 2016-2017; all scores are tested on
  2018-2019.
- Population: care homes in the records registered on the date. The records hold only homes
  still registered in February 2021, so homes that closed earlier are missing (survivor
  bias: read the figures as indicative).
- Features on the date: the latest overall rating and its age; the latest rating of each key
  question published by then, counted when below Good. Ratings of \"Inspected but not
  rated\" and \"Insufficient evidence to rate\" never replace a rating. Same outcome as above.";

struct Rated {
    date: NaiveDate,
    rating: Rating,
}

struct Service {
    ownership: String,
    start: Option<NaiveDate>,
    end: Option<NaiveDate>,
    ratings: Vec<Rated>,
}

fn stata_day(s: &str) -> Option<NaiveDate> {
    let n: i64 = s.trim().parse::<f64>().ok()? as i64;
    NaiveDate::from_ymd_opt(1960, 1, 1).map(|d| d + Duration::days(n))
}

fn load(bytes: &[u8]) -> anyhow::Result<HashMap<String, Service>> {
    let bytes =
        crate::import::gunzip_if_needed("history", bytes).map_err(|e| anyhow::anyhow!(e.0))?;
    let mut rdr = csv::Reader::from_reader(&bytes[..]);
    let h = rdr.headers()?.clone();
    let col = |n: &str| {
        h.iter()
            .position(|x| x == n)
            .ok_or_else(|| anyhow::anyhow!("the history file has no column {n}"))
    };
    let (c_date, c_rating, c_own, c_loc, c_start, c_end) = (
        col("reportdate")?,
        col("overall")?,
        col("ownership")?,
        col("locationid")?,
        col("location_start_2025")?,
        col("location_end_2025")?,
    );
    let mut out: HashMap<String, Service> = HashMap::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec?;
        let date = NaiveDate::parse_from_str(&rec[c_date], "%Y-%m-%d")
            .map_err(|e| anyhow::anyhow!("row {}: reportdate: {e}", i + 2))?;
        let Some(rating) = Rating::parse(&rec[c_rating]) else {
            continue;
        };
        let s = out
            .entry(rec[c_loc].to_string())
            .or_insert_with(|| Service {
                ownership: rec[c_own].to_string(),
                start: stata_day(&rec[c_start]),
                end: stata_day(&rec[c_end]),
                ratings: vec![],
            });
        s.ratings.push(Rated { date, rating });
    }
    for s in out.values_mut() {
        s.ratings.sort_by_key(|r| r.date);
    }
    Ok(out)
}

fn rank(r: Rating) -> f64 {
    match r {
        Rating::Outstanding => 0.0,
        Rating::Good => 1.0,
        Rating::RequiresImprovement => 2.0,
        Rating::Inadequate => 3.0,
        _ => 1.5,
    }
}

/// One service on one as-at date: full features, the baseline's features, the outcome.
fn sample(s: &Service, d: NaiveDate) -> Option<(Vec<f64>, Vec<f64>, bool)> {
    if s.start.is_some_and(|x| x > d) || s.end.is_some_and(|x| x <= d) {
        return None;
    }
    let known: Vec<&Rated> = s.ratings.iter().filter(|r| r.date <= d).collect();
    let horizon = d.checked_add_months(chrono::Months::new(24))?;
    let next = s.ratings.iter().find(|r| r.date > d && r.date <= horizon);
    let outcome = next.is_some_and(|r| r.rating.is_below_good());
    let cur = known.last().map(|r| r.rating);
    let onehot = |r: Option<Rating>| -> Vec<f64> {
        [
            Some(Rating::Outstanding),
            Some(Rating::Good),
            Some(Rating::RequiresImprovement),
            Some(Rating::Inadequate),
            None,
        ]
        .iter()
        .map(|x| {
            if *x == r.filter(|v| v.is_rated()) {
                1.0
            } else {
                0.0
            }
        })
        .collect()
    };
    let base = onehot(cur);
    let mut full = base.clone();
    full.push(
        known
            .last()
            .map(|r| ((d - r.date).num_days() / 365) as f64)
            .unwrap_or(0.0),
    );
    full.push(known.len().saturating_sub(1) as f64);
    full.push(
        known
            .iter()
            .rev()
            .skip(1)
            .filter(|r| r.rating.is_below_good())
            .count() as f64,
    );
    let trend = match (known.len() >= 2).then(|| {
        (
            rank(known[known.len() - 2].rating),
            rank(known[known.len() - 1].rating),
        )
    }) {
        Some((before, now)) => now - before,
        None => 0.0,
    };
    full.push(trend);
    for o in ["For-profit", "Third sector", "Local Authority"] {
        full.push(if s.ownership == o { 1.0 } else { 0.0 });
    }
    full.push(
        s.start
            .map(|x| ((d - x).num_days().max(0) / 365) as f64)
            .unwrap_or(0.0),
    );
    Some((full, base, outcome))
}

/// The risk tool's score from what a rating history shows.
fn tool_score(
    w: &Weights,
    overall: Option<Rating>,
    rated_on: Option<NaiveDate>,
    kq_below: u32,
    d: NaiveDate,
) -> f64 {
    let input = RiskInput {
        overall: overall.filter(|r| r.is_rated()),
        key_questions_below_good: kq_below,
        rating_age_days: rated_on.map(|r| (d - r).num_days()),
        ..Default::default()
    };
    score(&input, w).0 as f64
}

/// "AUC 0.712 (95% CI 0.704 to 0.720)" and the interval.
fn measured(scores: &[f64], labels: &[bool]) -> (f64, f64, f64) {
    let a = auc(scores, labels).unwrap_or(f64::NAN);
    let (lo, hi) = auc_interval(scores, labels, 1000, 1).unwrap_or((f64::NAN, f64::NAN));
    (a, lo, hi)
}

fn line(label: &str, m: (f64, f64, f64)) -> String {
    format!(
        "{label:<40} AUC {:.3} (95% CI {:.3} to {:.3})\n",
        m.0, m.1, m.2
    )
}

fn verdict(tool: (f64, f64, f64), base: (f64, f64, f64)) -> String {
    let v = if tool.1 > base.2 {
        "The risk tool's score beats the baseline: the intervals do not overlap."
    } else if tool.0 > base.0 {
        "The risk tool's score is above the baseline, but the intervals overlap: not a clear win."
    } else {
        "The risk tool's score does not beat the baseline."
    };
    format!(
        "{v} Goal AUC >= 0.70: {}.\n",
        if tool.0 >= 0.70 { "met" } else { "not met" }
    )
}

pub fn run(bytes: &[u8], api_records: Option<&[u8]>) -> anyhow::Result<String> {
    let mut out = community(bytes)?;
    if let Some(api) = api_records {
        out.push('\n');
        out.push_str(&care_homes(api)?);
    }
    Ok(out)
}

fn community(bytes: &[u8]) -> anyhow::Result<String> {
    let services = load(bytes)?;
    let weights = Weights::default();
    let n_ratings: usize = services.values().map(|s| s.ratings.len()).sum();
    let mut train = (vec![], vec![], vec![]);
    let mut test = (vec![], vec![], vec![]);
    let mut s_tool = Vec::new();
    let mut ids: Vec<&String> = services.keys().collect();
    ids.sort();
    for year in 2016..=2023 {
        let d = NaiveDate::from_ymd_opt(year, 1, 1).expect("date");
        for id in &ids {
            let s = &services[*id];
            if let Some((f, b, y)) = sample(s, d) {
                let t = if d.year() <= 2019 {
                    &mut train
                } else {
                    let last = s.ratings.iter().rfind(|r| r.date <= d);
                    s_tool.push(tool_score(
                        &weights,
                        last.map(|r| r.rating),
                        last.map(|r| r.date),
                        0,
                        d,
                    ));
                    &mut test
                };
                t.0.push(f);
                t.1.push(b);
                t.2.push(y);
            }
        }
    }
    let full = Logistic::fit(&train.0, &train.2, 400);
    let base = Logistic::fit(&train.1, &train.2, 400);
    let s_full: Vec<f64> = test.0.iter().map(|r| full.score(r)).collect();
    let s_base: Vec<f64> = test.1.iter().map(|r| base.score(r)).collect();
    let full_m = measured(&s_full, &test.2);
    let base_m = measured(&s_base, &test.2);
    let tool_m = measured(&s_tool, &test.2);
    let pos = |v: &Vec<bool>| v.iter().filter(|x| **x).count();
    let mut out = String::new();
    out.push_str(DEFINITION);
    out.push_str(&format!(
        "\n\nCommunity services: {} ratings of {} services.\nTraining: {} service-years ({} positive). Test: {} service-years ({} positive).\n",
        n_ratings,
        services.len(),
        train.2.len(),
        pos(&train.2),
        test.2.len(),
        pos(&test.2)
    ));
    out.push_str(&line("Risk tool score (default weights):", tool_m));
    out.push_str(&line("Baseline (current rating only):", base_m));
    out.push_str(&line("Fitted model (every history feature):", full_m));
    out.push_str(&verdict(tool_m, base_m));
    Ok(out)
}

/// A home's registration date, overall ratings and key question ratings.
type Home = (Option<NaiveDate>, Vec<Rated>, Vec<(Domain, Rated)>);

/// The care-home back-test on the API records' historic and key question ratings.
fn care_homes(api: &[u8]) -> anyhow::Result<String> {
    let api =
        crate::import::gunzip_if_needed("api-records", api).map_err(|e| anyhow::anyhow!(e.0))?;
    let parsed =
        crate::cqc::parse::api_records("api-records", &api).map_err(|e| anyhow::anyhow!(e.0))?;
    let batch = parsed.batch;
    let weights = Weights::default();
    // Per home: registration date, overall ratings and key question ratings by date.
    let mut homes: HashMap<&str, Home> = HashMap::new();
    for l in &batch.locations {
        homes.entry(l.location_id.as_str()).or_default().0 = l.registration_date;
    }
    for r in &batch.ratings {
        let h = homes.entry(r.location_id.as_str()).or_default();
        let rated = Rated {
            date: r.publication_date,
            rating: r.rating,
        };
        if r.domain == Domain::Overall {
            h.1.push(rated);
        } else {
            h.2.push((r.domain, rated));
        }
    }
    let mut ids: Vec<&str> = homes.keys().copied().collect();
    ids.sort_unstable();
    let cats = [
        Rating::Outstanding,
        Rating::Good,
        Rating::RequiresImprovement,
        Rating::Inadequate,
    ];
    let (mut train_x, mut train_y) = (vec![], vec![]);
    let (mut test_x, mut test_y, mut s_tool) = (vec![], vec![], vec![]);
    for year in 2016..=2019 {
        let d = NaiveDate::from_ymd_opt(year, 1, 1).expect("date");
        let horizon = d.checked_add_months(chrono::Months::new(24)).expect("date");
        for id in &ids {
            let (reg, overall, kqs) = &homes[id];
            if reg.is_some_and(|r| r > d) {
                continue;
            }
            // Only real ratings: "Inspected but not rated" never replaces one.
            let mut rated: Vec<&Rated> = overall.iter().filter(|r| r.rating.is_rated()).collect();
            rated.sort_by_key(|r| r.date);
            let cur = rated.iter().rfind(|r| r.date <= d);
            let y = rated
                .iter()
                .find(|r| r.date > d && r.date <= horizon)
                .is_some_and(|r| r.rating.is_below_good());
            let kq_below = [
                Domain::Safe,
                Domain::Effective,
                Domain::Caring,
                Domain::Responsive,
                Domain::WellLed,
            ]
            .iter()
            .filter(|k| {
                kqs.iter()
                    .filter(|(dom, r)| dom == *k && r.date <= d && r.rating.is_rated())
                    .max_by_key(|(_, r)| r.date)
                    .is_some_and(|(_, r)| r.rating.is_below_good())
            })
            .count() as u32;
            let onehot: Vec<f64> = cats
                .iter()
                .map(|c| {
                    if cur.map(|r| r.rating) == Some(*c) {
                        1.0
                    } else {
                        0.0
                    }
                })
                .chain([if cur.is_none() { 1.0 } else { 0.0 }])
                .collect();
            if year <= 2017 {
                train_x.push(onehot);
                train_y.push(y);
            } else {
                test_x.push(onehot);
                test_y.push(y);
                s_tool.push(tool_score(
                    &weights,
                    cur.map(|r| r.rating),
                    cur.map(|r| r.date),
                    kq_below,
                    d,
                ));
            }
        }
    }
    let base = Logistic::fit(&train_x, &train_y, 400);
    let s_base: Vec<f64> = test_x.iter().map(|r| base.score(r)).collect();
    let tool_m = measured(&s_tool, &test_y);
    let base_m = measured(&s_base, &test_y);
    let pos = |v: &Vec<bool>| v.iter().filter(|x| **x).count();
    let mut out = String::from(CARE_HOME_DEFINITION);
    out.push_str(&format!(
        "\n\nCare homes: {} records, {} ratings (overall and key questions).\nTraining: {} home-years ({} positive). Test: {} home-years ({} positive).\n",
        homes.len(),
        batch.ratings.len(),
        train_y.len(),
        pos(&train_y),
        test_y.len(),
        pos(&test_y)
    ));
    out.push_str(&line("Risk tool score (default weights):", tool_m));
    out.push_str(&line("Baseline (current rating only):", base_m));
    out.push_str(&verdict(tool_m, base_m));
    Ok(out)
}
