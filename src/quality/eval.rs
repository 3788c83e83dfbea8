//! `caremarket eval risk`: does a score built from what was known on a day foresee the next
//! rating? Back-tested on CQC's published rating history of community adult social care
//! services (data/cqc/cqc_rating_history_...csv.gz: 29,459 ratings of 15,648 services).

use caremarket_core::cqc::Rating;
use caremarket_core::eval::{Logistic, auc, auc_interval};
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
- Model: logistic regression fitted on the training years; baseline: the same model with
  the current overall rating only. AUC on the test years with a 95% bootstrap interval
  (1,000 resamples of the test rows, seed 1).";

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

pub fn run(bytes: &[u8]) -> anyhow::Result<String> {
    let services = load(bytes)?;
    let n_ratings: usize = services.values().map(|s| s.ratings.len()).sum();
    let mut train = (vec![], vec![], vec![]);
    let mut test = (vec![], vec![], vec![]);
    let mut ids: Vec<&String> = services.keys().collect();
    ids.sort();
    for year in 2016..=2023 {
        let d = NaiveDate::from_ymd_opt(year, 1, 1).expect("date");
        for id in &ids {
            if let Some((f, b, y)) = sample(&services[*id], d) {
                let t = if d.year() <= 2019 {
                    &mut train
                } else {
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
    let a_full = auc(&s_full, &test.2).unwrap_or(f64::NAN);
    let a_base = auc(&s_base, &test.2).unwrap_or(f64::NAN);
    let (fl, fh) = auc_interval(&s_full, &test.2, 1000, 1).unwrap_or((f64::NAN, f64::NAN));
    let (bl, bh) = auc_interval(&s_base, &test.2, 1000, 1).unwrap_or((f64::NAN, f64::NAN));
    let pos = |v: &Vec<bool>| v.iter().filter(|x| **x).count();
    let mut out = String::new();
    out.push_str(DEFINITION);
    out.push_str(&format!(
        "\n\nData: {} ratings of {} services.\nTraining: {} service-years ({} positive). Test: {} service-years ({} positive).\n",
        n_ratings,
        services.len(),
        train.2.len(),
        pos(&train.2),
        test.2.len(),
        pos(&test.2)
    ));
    out.push_str(&format!(
        "Score (all features):          AUC {a_full:.3} (95% CI {fl:.3} to {fh:.3})\n"
    ));
    out.push_str(&format!(
        "Baseline (current rating only): AUC {a_base:.3} (95% CI {bl:.3} to {bh:.3})\n"
    ));
    let verdict = if fl > bh {
        "The score beats the baseline: the intervals do not overlap."
    } else {
        "The intervals overlap: the score does not clearly beat the baseline."
    };
    out.push_str(&format!(
        "{verdict} Goal AUC >= 0.70: {}.\n",
        if a_full >= 0.70 { "met" } else { "not met" }
    ));
    Ok(out)
}
