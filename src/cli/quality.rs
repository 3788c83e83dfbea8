//! `caremarket import contracts|issues` and `caremarket report quality`.

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::time::Duration;

use crate::AppState;
use crate::audit::Actor;
use crate::config::DbArgs;

#[derive(Args)]
pub struct FileArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// The file to load (CSV or XLSX; may be gzip-compressed)
    pub file: std::path::PathBuf,
}

#[derive(Args)]
pub struct IssuesArgs {
    #[command(flatten)]
    pub file: FileArgs,
    /// Where a row names no themes, tag it with the themes its key phrases suggest
    #[arg(long, default_value_t = false)]
    pub accept_suggestions: bool,
    /// The file has been checked: it holds no names or NHS numbers of people who use services
    #[arg(long, default_value_t = false)]
    pub confirm_no_names: bool,
}

#[derive(Args)]
pub struct QualityReportArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Changes and issues since this date (YYYY-MM-DD); default a year before --as-at
    #[arg(long)]
    pub since: Option<chrono::NaiveDate>,
    /// The report as at this date (YYYY-MM-DD); default today
    #[arg(long)]
    pub as_at: Option<chrono::NaiveDate>,
    /// Only this contract type (residential, nursing, home_care_framework, supported_living, spot)
    #[arg(long)]
    pub contract_type: Option<String>,
    /// FILE.html or FILE.pdf (PDF needs Chromium)
    #[arg(long)]
    pub out: std::path::PathBuf,
}

/// The file named, read whole, with a spinner for the load that follows.
pub(super) fn read(a: &FileArgs) -> anyhow::Result<(String, Vec<u8>, ProgressBar)> {
    let name = a
        .file
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| a.file.display().to_string());
    let bytes = crate::import::read_file(&a.file, &crate::import::Limits::COUNCIL)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let bar = ProgressBar::new_spinner().with_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(format!("loading {name}"));
    bar.enable_steady_tick(Duration::from_millis(120));
    Ok((name, bytes, bar))
}

pub async fn import_contracts(state: &AppState, a: &FileArgs) -> anyhow::Result<()> {
    let (name, bytes, bar) = read(a)?;
    let started = std::time::Instant::now();
    let r = crate::quality::import_register(state, &Actor::cli("import"), &name, &bytes).await;
    bar.finish_and_clear();
    match r {
        Ok(n) => {
            println!(
                "{n} contracts loaded from {name} in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Err(report) => anyhow::bail!("{report}"),
    }
}

pub async fn import_issues(state: &AppState, a: &IssuesArgs) -> anyhow::Result<()> {
    let (name, bytes, bar) = read(&a.file)?;
    let started = std::time::Instant::now();
    let opts = crate::quality::themes::IssueImportOptions {
        accept_suggestions: a.accept_suggestions,
        confirm_no_names: a.confirm_no_names,
    };
    let r =
        crate::quality::themes::import_issues(state, &Actor::cli("import"), &name, &bytes, opts)
            .await;
    bar.finish_and_clear();
    match r {
        Ok(r) => {
            println!(
                "{} issues loaded from {name} in {:.1} s ({} tagged with the suggested themes; {} already recorded)",
                r.added,
                started.elapsed().as_secs_f64(),
                r.tagged_by_suggestion,
                r.already
            );
            Ok(())
        }
        Err(report) => anyhow::bail!(
            "{report}Name the themes in the Themes column, or use --accept-suggestions to take the suggested ones."
        ),
    }
}

pub async fn report_html(state: &AppState, a: &QualityReportArgs) -> anyhow::Result<String> {
    let q = crate::quality::theme_pages::ReportQuery {
        since: a.since.map(|d| d.to_string()),
        as_at: a.as_at.map(|d| d.to_string()),
        contract_type: a.contract_type.clone(),
    };
    crate::quality::theme_pages::report_html(state, &q, true)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
}

pub async fn import_postcodes(state: &AppState, a: &FileArgs) -> anyhow::Result<()> {
    let name = a
        .file
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| a.file.display().to_string());
    let file = std::fs::File::open(&a.file)
        .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", a.file.display()))?;
    let bar = ProgressBar::new_spinner().with_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(format!("reading {name}"));
    bar.enable_steady_tick(Duration::from_millis(120));
    let started = std::time::Instant::now();
    // Streamed: a full directory is about a gigabyte; gzip is undone on the way.
    let reader: Box<dyn std::io::Read> = if name.ends_with(".gz") {
        Box::new(flate2::read::MultiGzDecoder::new(std::io::BufReader::new(
            file,
        )))
    } else {
        Box::new(std::io::BufReader::new(file))
    };
    let r = crate::capacity::postcodes::import(state, &Actor::cli("import"), &name, reader).await;
    bar.finish_and_clear();
    match r {
        Ok(l) => {
            println!(
                "{} postcode districts from {} live postcodes in {name} ({} rows skipped: terminated or without coordinates) in {:.1} s",
                l.districts,
                l.postcodes,
                l.skipped,
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Err(e) => anyhow::bail!("{e}"),
    }
}
