//! CQC data in: the three forms of CQC's public data (latest ratings, the care directory and
//! API location records), kept with their history, searchable and shown.

pub mod identity;
pub mod own;
pub mod pages;
pub mod parse;
pub mod picture;
pub mod queries;
pub mod records;
pub mod store;
pub mod summary;
pub mod sync;

use chrono::NaiveDate;

use crate::audit::{self, Actor};
use crate::import::{FileError, RowProblem, summarise_problems};
use crate::{AppError, AppState};
pub use records::Kind;

#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The edition (date of the data); by default the latest publication date in the file.
    pub edition: Option<NaiveDate>,
    /// Import the valid rows and hand back the rejected ones, instead of refusing the file.
    pub skip_invalid: bool,
    /// How to read what the file cannot say for itself (the order of slashed dates).
    pub parse: parse::ParseOptions,
}

#[derive(Debug)]
pub enum ImportOutcome {
    Imported(store::ImportRow),
    /// The same file (same bytes) was imported before: nothing changed.
    AlreadyImported(store::ImportRow),
}

#[derive(Debug)]
pub struct ImportResult {
    pub outcome: ImportOutcome,
    /// Which kind of file it was, and (when it was worked out from the file) why.
    pub kind: Kind,
    pub detected: Option<String>,
    pub warnings: Vec<String>,
    pub unknown_columns: Vec<String>,
    /// The rejected rows as CSV (with a "problem" column), when rows were skipped.
    pub rejects_csv: Option<String>,
    pub problems: Vec<RowProblem>,
}

#[derive(Debug)]
pub enum ImportFailure {
    /// The file as a whole cannot be used.
    File(FileError),
    /// Some rows are invalid; nothing was imported.
    Rows {
        report: String,
        problems: Vec<RowProblem>,
    },
    Internal(AppError),
}

impl std::fmt::Display for ImportFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImportFailure::File(e) => write!(f, "{e}"),
            ImportFailure::Rows { report, .. } => write!(f, "{report}"),
            ImportFailure::Internal(e) => write!(f, "{e}"),
        }
    }
}

impl From<AppError> for ImportFailure {
    fn from(e: AppError) -> Self {
        ImportFailure::Internal(e)
    }
}

impl From<sqlx::Error> for ImportFailure {
    fn from(e: sqlx::Error) -> Self {
        ImportFailure::Internal(e.into())
    }
}

fn rejects_csv(header: &[String], rows: &[(usize, Vec<String>, String)]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut h: Vec<String> = vec!["row".into(), "problem".into()];
    // The header is copied from the upload too: a formula there is as live as in a cell.
    h.extend(header.iter().map(|c| crate::export::neutralise(c)));
    let _ = w.write_record(&h);
    for (row, cells, reason) in rows {
        let mut rec = vec![row.to_string(), reason.clone()];
        rec.extend(cells.iter().map(|c| crate::export::neutralise(c)));
        let _ = w.write_record(&rec);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// Moves the data version on, inside the transaction that changes the data.
pub async fn bump_data_version(tx: &mut crate::db::Tx) -> Result<(), sqlx::Error> {
    tx.execute(
        "INSERT INTO data_version (id, version) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET version = data_version.version + 1",
        vec![],
    )
    .await?;
    Ok(())
}

/// Reads, checks and stores one file: all or nothing, idempotent, recorded. The CLI and the
/// upload page both call this.
pub async fn import_file(
    state: &AppState,
    actor: &Actor,
    kind: Kind,
    file_name: &str,
    bytes: &[u8],
    opts: &ImportOptions,
) -> Result<ImportResult, ImportFailure> {
    import_owned(
        state,
        actor,
        Some(kind),
        file_name,
        bytes.to_vec().into(),
        opts,
    )
    .await
}

/// The same, taking the file's bytes (no copy of a file of tens of MB). With no kind, which
/// CQC file it is is worked out from its content (see `parse::auto`) and said.
pub async fn import_owned(
    state: &AppState,
    actor: &Actor,
    kind: Option<Kind>,
    file_name: &str,
    bytes: axum::body::Bytes,
    opts: &ImportOptions,
) -> Result<ImportResult, ImportFailure> {
    let started = std::time::Instant::now();
    let started_at = state.clock.now();
    // Only the base name is kept: a name like ../x.csv says nothing about where it came from.
    let file_name = file_name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(file_name)
        .to_string();
    // The hash of the content once unpacked (streamed, nothing kept), so the same data
    // gzipped or not is the same file. The parsers unpack as they read.
    let sha = crate::import::expanded_hash(&file_name, &bytes, &crate::import::Limits::CQC)
        .map_err(ImportFailure::File)?;
    let owned = bytes;
    let already = |prev: store::ImportRow| ImportResult {
        kind: Kind::parse(&prev.kind).unwrap_or(Kind::Ratings),
        detected: None,
        outcome: ImportOutcome::AlreadyImported(prev),
        warnings: vec![],
        unknown_columns: vec![],
        rejects_csv: None,
        problems: vec![],
    };
    if let Some(prev) = store::import_by_hash(&state.db, kind, &sha).await? {
        return Ok(already(prev));
    }
    // Reading a file of tens of MB is CPU work: off the async workers, so pages stay quick
    // while an import runs.
    let name_for_parse = file_name.clone();
    let parse_opts = opts.parse;
    let parsed = tokio::task::spawn_blocking(move || match kind {
        None => {
            parse::auto(&name_for_parse, &owned, &parse_opts).map(|(k, why, p)| (k, Some(why), p))
        }
        Some(k) => match k {
            Kind::Ratings => parse::ratings(&name_for_parse, &owned, &parse_opts),
            Kind::Directory => parse::directory(&name_for_parse, &owned, &parse_opts),
            Kind::ApiRecords | Kind::Sync => parse::api_records(&name_for_parse, &owned),
        }
        .map(|p| (k, None, p)),
    })
    .await
    .map_err(|e| ImportFailure::Internal(AppError::Internal(anyhow::anyhow!("{e}"))))?
    .map_err(ImportFailure::File)?;
    let (kind, detected, parsed) = parsed;
    tracing::debug!(
        ms = started.elapsed().as_millis() as u64,
        rows = parsed.batch.rows_read,
        "file read and checked"
    );
    if !parsed.problems.is_empty() && !opts.skip_invalid {
        return Err(ImportFailure::Rows {
            report: summarise_problems(&file_name, &parsed.problems),
            problems: parsed.problems,
        });
    }
    let batch = parsed.batch;
    if batch.locations.is_empty() {
        return Err(ImportFailure::File(FileError(format!(
            "{file_name}: no valid rows to import"
        ))));
    }
    let edition = opts
        .edition
        .or(batch.latest_date)
        .unwrap_or_else(|| state.clock.now().date_naive());
    let rows_rejected = parsed.rejected_rows.len() as i64;
    let mut tx = state.db.begin().await?;
    let applied = store::apply(&mut tx, &batch, kind, edition).await?;
    tracing::debug!(ms = started.elapsed().as_millis() as u64, "written");
    let rows_in = batch.rows_read as i64 - rows_rejected;
    let inserted: Result<i64, sqlx::Error> = tx
        .scalar(
            "INSERT INTO cqc_imports (kind, file_name, sha256, edition, rows_read, rows_in, rows_changed, rows_rejected, warnings, unknown_columns, started_at, duration_ms, actor) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
            crate::args![
                kind.as_str(),
                &file_name,
                &sha,
                edition,
                batch.rows_read as i64,
                rows_in,
                applied.new_locations + applied.new_ratings,
                rows_rejected,
                serde_json::to_string(&batch.warnings).unwrap_or_default(),
                serde_json::to_string(&batch.unknown_columns).unwrap_or_default(),
                started_at,
                started.elapsed().as_millis() as i64,
                &actor.name,
            ],
        )
        .await;
    let id = match inserted {
        Ok(id) => id,
        // The same file imported at the same moment by someone else, who committed first.
        Err(e) if crate::web::error::is_unique_violation(&e) => {
            drop(tx);
            if let Some(prev) = store::import_by_hash(&state.db, Some(kind), &sha).await? {
                return Ok(already(prev));
            }
            return Err(e.into());
        }
        Err(e) => return Err(e.into()),
    };
    let rejects = (!parsed.rejected_rows.is_empty())
        .then(|| rejects_csv(&parsed.header, &parsed.rejected_rows));
    if let Some(csv) = &rejects {
        tx.execute(
            "INSERT INTO cqc_import_rejects (import_id, csv) VALUES ($1, $2)",
            crate::args![id, csv.as_str()],
        )
        .await?;
    }
    bump_data_version(&mut tx).await?;
    audit::entry("cqc.import", "cqc_import", id)
        .after(serde_json::json!({
            "kind": kind.as_str(), "file_name": file_name, "sha256": sha, "edition": edition,
            "rows_read": batch.rows_read, "rows_in": rows_in, "rows_rejected": rows_rejected,
            "new_locations": applied.new_locations, "new_ratings": applied.new_ratings,
        }))
        .write(&mut tx, actor, started_at)
        .await?;
    // For the test of an interrupted import: stop here, everything written but not yet
    // committed, so the test can kill the process at exactly this point.
    if let Some(ms) = std::env::var("CAREMARKET_TEST_PAUSE_BEFORE_COMMIT_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        eprintln!("caremarket: written, pausing before commit");
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
    let row: store::ImportRow = tx
        .fetch_one("SELECT * FROM cqc_imports WHERE id = $1", crate::args![id])
        .await?;
    tx.commit().await?;
    tracing::debug!(ms = started.elapsed().as_millis() as u64, "committed");
    Ok(ImportResult {
        kind,
        detected,
        outcome: ImportOutcome::Imported(row),
        warnings: batch.warnings,
        unknown_columns: batch.unknown_columns,
        rejects_csv: rejects,
        problems: parsed.problems,
    })
}

/// Every route of this capability, pages and JSON API, each with its access rule.
pub fn routes() -> Vec<crate::web::RouteDef> {
    let mut v = Vec::new();
    v.extend(pages::routes());
    v
}

/// This capability's part of the OpenAPI document (src/api puts the parts together).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(pages::api_locations, pages::api_location, pages::api_provider, pages::api_imports),
    tags((name = "cqc", description = "CQC locations, providers, ratings and imports"))
)]
pub struct ApiDoc;
