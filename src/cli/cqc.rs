//! `caremarket import ...` and `caremarket market summary`.

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use std::time::Duration;

use crate::AppState;
use crate::audit::Actor;
use crate::config::DbArgs;
use crate::cqc::summary::{ServiceType, Slice};
use crate::cqc::{ImportFailure, ImportOptions, ImportOutcome, Kind};

/// `caremarket import FILE` works out which CQC file it is; `caremarket import KIND FILE`
/// says so (and is the only way for the council's own files).
#[derive(Args)]
#[command(subcommand_negates_reqs = true)]
pub struct ImportCli {
    #[command(subcommand)]
    pub command: Option<ImportCommand>,
    #[command(flatten)]
    pub auto: AutoImportArgs,
}

#[derive(Args)]
pub struct AutoImportArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// A CQC file of any of its kinds (latest ratings, care directory or location export,
    /// API records): which one is worked out from its columns or content, and said
    pub file: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub how: HowArgs,
}

#[derive(Subcommand)]
pub enum ImportCommand {
    /// CQC "Latest ratings" (long format; CSV, XLSX or ODS)
    Ratings(ImportArgs),
    /// CQC care directory / "HSCA Active Locations" (CSV, XLSX or ODS)
    Directory(ImportArgs),
    /// CQC API location records, one JSON object a line
    ApiRecords(ImportArgs),
    /// The council's contracts register (CSV or XLSX): which locations it buys from
    Contracts(super::quality::FileArgs),
    /// Issues found in CQC reports and QA visits, with their themes (CSV or XLSX)
    Issues(super::quality::IssuesArgs),
    /// An ONS postcode directory (ONSPD or NSPL CSV, may be gzipped): postcode district
    /// centres for the brokers' distance search
    Postcodes(super::quality::FileArgs),
    /// ONS mid-year population estimates by single year of age (for sufficiency)
    Population(super::sufficiency::PopulationArgs),
    /// ONS subnational population projections, persons (for sufficiency)
    Projections(super::sufficiency::ProjectionArgs),
}

#[derive(Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// The file to import (may be gzip-compressed)
    pub file: std::path::PathBuf,
    #[command(flatten)]
    pub how: HowArgs,
}

#[derive(Args)]
pub struct HowArgs {
    /// The date of the data (YYYY-MM-DD); default: the latest publication date in the file
    #[arg(long)]
    pub edition: Option<chrono::NaiveDate>,
    /// Import the valid rows and write the rejected ones to --rejects
    #[arg(long, default_value_t = false)]
    pub skip_invalid: bool,
    /// Where to write rejected rows as CSV (with --skip-invalid)
    #[arg(long)]
    pub rejects: Option<std::path::PathBuf>,
    /// The order of dates written with slashes: dmy (dd/mm/yyyy) or mdy (mm/dd/yyyy, a file
    /// re-saved with US settings). By default decided per column from its values
    #[arg(long, value_parser = parse_date_order)]
    pub date_order: Option<caremarket_core::cqc::DateOrder>,
}

fn parse_date_order(s: &str) -> Result<caremarket_core::cqc::DateOrder, String> {
    caremarket_core::cqc::DateOrder::parse(s).ok_or_else(|| "use dmy or mdy".to_string())
}

#[derive(Subcommand)]
pub enum MarketCommand {
    /// Counts by rating and % Good or Outstanding for a slice of the market
    Summary(SummaryArgs),
}

#[derive(Args)]
pub struct SummaryArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// A council as CQC names it, e.g. Leeds
    #[arg(long)]
    pub area: Option<String>,
    /// A region, e.g. "North West"
    #[arg(long)]
    pub region: Option<String>,
    /// care-home, care-home-with-nursing, care-home-without-nursing, home-care, supported-living
    #[arg(long)]
    pub service_type: Option<String>,
    /// The market as at this date (YYYY-MM-DD)
    #[arg(long)]
    pub as_at: Option<chrono::NaiveDate>,
    /// Break the figures down: rating, service_type, size_band, specialism or key_question
    #[arg(long)]
    pub by: Option<String>,
    /// json, csv or table
    #[arg(long, default_value = "table")]
    pub format: String,
}

/// `market summary --by ...`: the dashboard's breakdown for the area (or England).
async fn market_breakdown(state: &AppState, a: &SummaryArgs, by: &str) -> anyhow::Result<()> {
    use crate::cqc::picture::Scope;
    use crate::market::{By, dashboard};
    let by = By::parse(by).ok_or_else(|| anyhow::anyhow!("unknown breakdown {by:?}: use rating, service_type, size_band, specialism or key_question"))?;
    let scope = Scope {
        area: a.area.iter().cloned().collect(),
        region: a.region.clone(),
        as_at: a.as_at,
    };
    let name = a
        .area
        .clone()
        .or_else(|| a.region.clone())
        .unwrap_or_else(|| "England".into());
    let s = state.settings();
    let d = dashboard(
        state,
        &name,
        &scope,
        s.target_pct,
        &s.comparator_councils,
        false,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let pct = |p: Option<f64>| p.map(|v| format!("{v:.1}")).unwrap_or_default();
    if by == By::KeyQuestion {
        match a.format.as_str() {
            "json" => println!("{}", serde_json::to_string_pretty(&d.by_key_question)?),
            "csv" => {
                println!("key_question,rated,below_good,below_good_pct");
                for k in &d.by_key_question {
                    println!(
                        "{},{},{},{}",
                        k.label,
                        k.figure.rated,
                        k.figure.below_good,
                        pct(k.figure.below_good_pct)
                    );
                }
            }
            _ => {
                println!(
                    "{:<12} {:>8} {:>11} {:>7}",
                    "Key question", "Rated", "Below Good", "%"
                );
                for k in &d.by_key_question {
                    println!(
                        "{:<12} {:>8} {:>11} {:>7}",
                        k.label,
                        k.figure.rated,
                        k.figure.below_good,
                        pct(k.figure.below_good_pct)
                    );
                }
            }
        }
        return Ok(());
    }
    let cells = match by {
        By::Rating => &d.by_rating,
        By::ServiceType => &d.by_service_type,
        By::SizeBand => &d.by_size_band,
        By::Specialism => &d.by_specialism,
        By::KeyQuestion => unreachable!("handled above"),
    };
    match a.format.as_str() {
        "json" => println!("{}", serde_json::to_string_pretty(cells)?),
        "csv" => {
            println!(
                "group,locations,rated,good_or_outstanding,good_or_outstanding_pct,beds,beds_known_for"
            );
            for c in cells {
                let f = &c.summary;
                println!(
                    "{},{},{},{},{},{},{}",
                    c.key,
                    f.locations,
                    f.rated,
                    f.good_or_outstanding,
                    pct(f.good_or_outstanding_pct),
                    f.beds,
                    f.beds_known_for
                );
            }
        }
        _ => {
            println!(
                "{:<32} {:>9} {:>7} {:>9} {:>7} {:>8}",
                "Group", "Locations", "Rated", "Good/Out", "%", "Beds"
            );
            for c in cells {
                let f = &c.summary;
                println!(
                    "{:<32} {:>9} {:>7} {:>9} {:>7} {:>8}",
                    c.label,
                    f.locations,
                    f.rated,
                    f.good_or_outstanding,
                    pct(f.good_or_outstanding_pct),
                    f.beds
                );
            }
        }
    }
    for n in &d.notes {
        eprintln!("note: {n}");
    }
    Ok(())
}

/// Runs an import from the command line with a progress spinner and a summary line.
pub async fn import(
    state: &AppState,
    kind: Option<Kind>,
    file: &std::path::Path,
    a: &HowArgs,
) -> anyhow::Result<()> {
    let name = file.display().to_string();
    let bytes = crate::import::read_file(file, &crate::import::Limits::CQC)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let bar = ProgressBar::new_spinner().with_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(format!(
        "importing {} ({:.1} MB) as {}",
        name,
        bytes.len() as f64 / 1e6,
        kind.map_or("whichever CQC file it is", |k| k.label())
    ));
    bar.enable_steady_tick(Duration::from_millis(120));
    let opts = ImportOptions {
        edition: a.edition,
        skip_invalid: a.skip_invalid,
        parse: crate::cqc::parse::ParseOptions {
            date_order: a.date_order,
        },
    };
    let started = std::time::Instant::now();
    let result = crate::cqc::import_owned(
        state,
        &Actor::cli("import"),
        kind,
        &name,
        bytes.into(),
        &opts,
    )
    .await;
    bar.finish_and_clear();
    let r = match result {
        Ok(r) => r,
        Err(ImportFailure::Rows { report, .. }) => {
            anyhow::bail!(
                "{report}Fix the rows and import again, or use --skip-invalid --rejects FILE to import the valid rows."
            )
        }
        Err(e) => anyhow::bail!("{e}"),
    };
    match &r.outcome {
        ImportOutcome::AlreadyImported(prev) => {
            println!(
                "{name} was already imported (import #{} on {}, edition {}): nothing changed.",
                prev.id,
                prev.started_at.format("%d %b %Y %H:%M"),
                prev.edition
            );
        }
        ImportOutcome::Imported(row) => {
            if let Some(why) = &r.detected {
                println!("{name} is a {} file: {why}", r.kind.label());
            }
            for w in r.warnings.iter().take(20) {
                println!("warning: {w}");
            }
            if r.warnings.len() > 20 {
                println!("warning: ... and {} more", r.warnings.len() - 20);
            }
            if !r.unknown_columns.is_empty() {
                println!("ignored columns: {}", r.unknown_columns.join(", "));
            }
            if let Some(csv) = &r.rejects_csv {
                match &a.rejects {
                    Some(p) => {
                        std::fs::write(p, csv)?;
                        println!(
                            "{} rejected rows written to {}",
                            row.rows_rejected,
                            p.display()
                        );
                    }
                    None => println!(
                        "{} rows rejected (give --rejects FILE to keep them)",
                        row.rows_rejected
                    ),
                }
            }
            println!(
                "Imported {name}: edition {}, {} rows read, {} in, {} rejected, {} new locations and ratings, in {:.2} s (import #{})",
                row.edition,
                row.rows_read,
                row.rows_in,
                row.rows_rejected,
                row.rows_changed,
                started.elapsed().as_secs_f64(),
                row.id
            );
        }
    }
    Ok(())
}

pub async fn market_summary(state: &AppState, a: &SummaryArgs) -> anyhow::Result<()> {
    if let Some(by) = &a.by {
        return market_breakdown(state, a, by).await;
    }
    let service_type = match &a.service_type {
        None => None,
        Some(s) => Some(ServiceType::parse(s).ok_or_else(|| {
            anyhow::anyhow!("unknown service type {s:?}: use care-home, care-home-with-nursing, care-home-without-nursing, home-care or supported-living")
        })?),
    };
    let slice = Slice {
        area: a.area.clone(),
        region: a.region.clone(),
        service_type,
        as_at: a.as_at,
    };
    let s = crate::cqc::summary::summary(&state.db, &slice)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if s.figures.locations == 0 && (slice.area.is_some() || slice.region.is_some()) {
        eprintln!(
            "note: no locations match; check the spelling of the area or region as CQC writes it"
        );
    }
    let f = &s.figures;
    match a.format.as_str() {
        "json" => println!("{}", serde_json::to_string_pretty(&s)?),
        "csv" => {
            println!(
                "locations,rated,outstanding,good,requires_improvement,inadequate,good_or_outstanding_pct,beds,beds_known_for,beds_good_or_outstanding_pct"
            );
            let pct = |p: Option<f64>| p.map(|v| format!("{v:.1}")).unwrap_or_default();
            println!(
                "{},{},{},{},{},{},{},{},{},{}",
                f.locations,
                f.rated,
                f.outstanding,
                f.good,
                f.requires_improvement,
                f.inadequate,
                pct(f.good_or_outstanding_pct),
                f.beds,
                f.beds_known_for,
                pct(f.beds_good_or_outstanding_pct)
            );
        }
        "table" => {
            let pct = |p: Option<f64>| {
                p.map(|v| format!("{v:.1}%"))
                    .unwrap_or_else(|| "n/a".into())
            };
            println!("Locations                 {:>8}", f.locations);
            println!("Rated                     {:>8}", f.rated);
            println!("  Outstanding             {:>8}", f.outstanding);
            println!("  Good                    {:>8}", f.good);
            println!("  Requires improvement    {:>8}", f.requires_improvement);
            println!("  Inadequate              {:>8}", f.inadequate);
            println!(
                "Good or Outstanding       {:>8}",
                pct(f.good_or_outstanding_pct)
            );
            println!("Beds (known for {:>6})   {:>8}", f.beds_known_for, f.beds);
            println!(
                "Beds Good or Outstanding  {:>8}",
                pct(f.beds_good_or_outstanding_pct)
            );
            for e in &s.coverage.editions {
                println!("Edition: {} {}", e.kind, e.edition);
            }
            for n in &s.coverage.notes {
                println!("Note: {n}");
            }
        }
        other => anyhow::bail!("unknown format {other:?}: use json, csv or table"),
    }
    Ok(())
}
