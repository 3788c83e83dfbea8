//! `caremarket import population` and `caremarket report sufficiency`.

use clap::Args;

use super::quality::{FileArgs, read};
use crate::AppState;
use crate::audit::Actor;
use crate::config::DbArgs;

#[derive(Args)]
pub struct PopulationArgs {
    /// An ONS single-year-of-age file (code, name, geography, all_ages, age_0 … age_90; CSV
    /// or XLSX, may be gzip-compressed)
    #[command(flatten)]
    pub file: FileArgs,
    /// The year of the estimates; default: from the file name (like mid2020)
    #[arg(long)]
    pub year: Option<i32>,
}

/// An ONS subnational population projection file, persons (AREA_CODE, AREA_NAME, COMPONENT,
/// SEX, AGE_GROUP, then a column a year; CSV or XLSX, may be gzip-compressed).
pub type ProjectionArgs = FileArgs;

pub async fn import_projections(state: &AppState, a: &ProjectionArgs) -> anyhow::Result<()> {
    let (name, bytes, bar) = read(a)?;
    let r =
        crate::sufficiency::projections::import(state, &Actor::cli("import"), &name, &bytes).await;
    bar.finish_and_clear();
    match r {
        Ok(l) => {
            println!(
                "Population projections for {} areas, {} to {}, loaded from {name}",
                l.areas, l.first_year, l.last_year
            );
            Ok(())
        }
        Err(report) => anyhow::bail!("{report}"),
    }
}

#[derive(Args)]
pub struct SufficiencyReportArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// The council, as CQC and ONS name it (like Leeds); default: the first area in scope
    #[arg(long)]
    pub council: Option<String>,
    /// The last year projected
    #[arg(long, default_value_t = 2035)]
    pub to: i32,
    /// FILE.html or FILE.pdf (PDF needs Chromium)
    #[arg(long)]
    pub out: std::path::PathBuf,
}

pub async fn import_population(state: &AppState, a: &PopulationArgs) -> anyhow::Result<()> {
    let (name, bytes, bar) = read(&a.file)?;
    let started = std::time::Instant::now();
    let r =
        crate::sufficiency::import_population(state, &Actor::cli("import"), &name, &bytes, a.year)
            .await;
    bar.finish_and_clear();
    match r {
        Ok(l) => {
            println!(
                "Mid-{} population estimates for {} areas loaded from {name} in {:.1} s",
                l.year,
                l.areas,
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Err(report) => anyhow::bail!("{report}"),
    }
}

pub async fn report_html(state: &AppState, a: &SufficiencyReportArgs) -> anyhow::Result<String> {
    let q = crate::sufficiency::pages::SufficiencyQuery {
        council: a.council.clone(),
        to: Some(a.to.to_string()),
        format: None,
    };
    crate::sufficiency::pages::report_html(state, &q, true)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
}
