//! `caremarket simulate brokerage`: a year of synthetic demand shaped like the 2018 Leicester domiciliary support report (83 new
//! cases a month, 26 providers with limited spare hours and random declines) placed by the
//! offer cascade and by batch matching, on the same arrivals and the same answers.

use caremarket_core::money::show_hundredths;
use caremarket_core::simulate::{Outcome, SimConfig, simulate};

#[derive(clap::Args)]
pub struct BrokerageSimArgs {
    /// Seed of the synthetic year (the same seed gives the same year)
    #[arg(long, default_value_t = SimConfig::default().seed)]
    pub seed: u64,
    /// Days to run
    #[arg(long, default_value_t = SimConfig::default().days)]
    pub days: i64,
    /// New cases a month
    #[arg(long, default_value_t = SimConfig::default().new_cases_per_month)]
    pub cases_a_month: f64,
    /// Spare hours a week each provider has on each of its lots at the start
    #[arg(long, default_value_t = SimConfig::default().capacity_hours_per_provider_lot as f64 / 100.0)]
    pub spare_hours: f64,
    /// Chance a provider with room still declines an offer
    #[arg(long, default_value_t = SimConfig::default().decline_probability)]
    pub decline: f64,
    /// Days between matching batches
    #[arg(long, default_value_t = SimConfig::default().matching_every_days)]
    pub matching_every_days: i64,
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
}

pub fn brokerage(a: &BrokerageSimArgs) -> anyhow::Result<()> {
    if !(0.0..=1.0).contains(&a.decline) {
        anyhow::bail!("--decline is a chance between 0 and 1, not {}", a.decline);
    }
    if a.days < 1 || a.cases_a_month < 0.0 || a.spare_hours < 0.0 || a.matching_every_days < 1 {
        anyhow::bail!(
            "--days and --matching-every-days must be 1 or more, --cases-a-month and --spare-hours not negative"
        );
    }
    let c = SimConfig {
        seed: a.seed,
        days: a.days,
        new_cases_per_month: a.cases_a_month,
        capacity_hours_per_provider_lot: (a.spare_hours * 100.0).round() as i64,
        decline_probability: a.decline,
        matching_every_days: a.matching_every_days,
        ..SimConfig::default()
    };
    let started = std::time::Instant::now();
    let r = simulate(&c);
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    println!(
        "{} days, {} new cases a month over {} lots, {} providers ({} a lot), {} spare hours a week per provider and lot, {:.0}% of offers declined by providers with room, seed {}",
        c.days,
        c.new_cases_per_month,
        c.lots,
        c.providers,
        c.providers_per_lot,
        show_hundredths(c.capacity_hours_per_provider_lot),
        c.decline_probability * 100.0,
        c.seed
    );
    println!(
        "{:<10} {:>8} {:>7} {:>8} {:>16} {:>16} {:>18} {:>8} {:>14}",
        "method",
        "requests",
        "placed",
        "waiting",
        "hours placed/wk",
        "mean wait (days)",
        "longest wait (days)",
        "offers",
        "waiting at once"
    );
    let line = |name: &str, o: &Outcome| {
        println!(
            "{:<10} {:>8} {:>7} {:>8} {:>16} {:>16} {:>18} {:>8} {:>14}",
            name,
            o.requests,
            o.placed,
            o.still_waiting,
            show_hundredths(o.placed_hours),
            show_hundredths(o.mean_wait_hundredths_days),
            o.longest_wait_days,
            o.offers_made,
            show_hundredths(o.mean_waiting_at_once)
        )
    };
    line("cascade", &r.cascade);
    line("matching", &r.matching);
    println!("simulated in {:.2} s", started.elapsed().as_secs_f64());
    Ok(())
}
