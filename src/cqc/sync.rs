//! Live sync with CQC's public API (`caremarket sync cqc`).
//!
//! A run works on one time window, `[checkpoint, now)`: the changes feed lists the locations
//! that changed in it, then each one is fetched from `/locations/{id}` and stored like an
//! imported file of API records, one batch per transaction. The window and its list of IDs
//! are kept in `cqc_sync_state` with how many IDs are committed, so a run that was stopped
//! carries on with the same window and never fetches a committed batch again; the checkpoint
//! moves to the window's end only when every ID of it is done.

use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use reqwest::StatusCode;
use reqwest::header::{HeaderValue, RETRY_AFTER};

use super::{Kind, parse, store};
use crate::audit::{self, Actor};
use crate::import::content_hash;
use crate::{AppState, args};

pub const DEFAULT_API_URL: &str = "https://api.service.cqc.org.uk/public/v1";
pub const KEY_HEADER: &str = "Ocp-Apim-Subscription-Key";

/// CQC asks API users to say who they are: a named client can be contacted rather than
/// blocked when its traffic looks wrong.
pub fn user_agent() -> String {
    format!(
        "caremarket/{} (+https://github.com/caremarket; council market data sync)",
        env!("CARGO_PKG_VERSION")
    )
}

/// How to reach the API and how patient to be with it. No `Debug`: it holds the key.
#[derive(Clone)]
pub struct SyncOptions {
    pub api_url: String,
    pub api_key: Option<String>,
    /// Where the very first window starts; once a checkpoint is stored it is ignored.
    pub since: Option<DateTime<Utc>>,
    /// Locations per transaction (and per checkpoint of progress).
    pub batch_size: usize,
    /// IDs asked for per page of the changes feed (the API may send fewer).
    pub changes_per_page: usize,
    /// What one second of a back-off lasts: tests shrink it so the suite stays fast.
    pub backoff_unit: Duration,
    /// The longest wait, in seconds, whatever the API hints.
    pub max_backoff_secs: u64,
    /// Attempts per request before the run gives up.
    pub max_attempts: u32,
    pub timeout: Duration,
}

impl SyncOptions {
    pub fn new(api_url: impl Into<String>, api_key: Option<String>) -> SyncOptions {
        SyncOptions {
            api_url: api_url.into(),
            api_key,
            since: None,
            batch_size: 100,
            changes_per_page: 500,
            backoff_unit: Duration::from_secs(1),
            max_backoff_secs: 60,
            max_attempts: 8,
            timeout: Duration::from_secs(60),
        }
    }
}

/// What a run is doing, for a progress bar.
#[derive(Debug, Clone)]
pub enum Progress {
    Listing {
        page: u64,
        pages: u64,
    },
    /// `fetched` IDs of `total` asked for; the first `committed` of them are stored for good.
    Fetching {
        fetched: usize,
        committed: usize,
        total: usize,
    },
    RateLimited {
        wait: Duration,
    },
}

#[derive(Debug, Clone, Default)]
pub struct SyncOutcome {
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    /// IDs of the window already committed when this run started (it resumed a stopped run).
    pub resumed_at: Option<usize>,
    /// IDs the changes feed listed for the window.
    pub listed: usize,
    /// Locations stored by this run.
    pub synced: usize,
    /// IDs from the changes feed that the API then answered 404 for.
    pub not_found: usize,
    /// Records the parser refused (kept out, named in the import's warnings).
    pub rejected: usize,
    /// Requests repeated after a 429, real or inside a 200 body.
    pub rate_limited: u32,
    /// Requests repeated after a server error or a network failure.
    pub other_retries: u32,
    pub batches: usize,
    /// `since` was given but a checkpoint already existed, so it was not used.
    pub since_ignored: bool,
}

#[derive(Debug, sqlx::FromRow)]
struct SyncState {
    checkpoint: Option<DateTime<Utc>>,
    window_start: Option<DateTime<Utc>>,
    window_end: Option<DateTime<Utc>>,
    window_ids: Option<String>,
    window_done: i64,
}

/// Pulls the changes since the checkpoint and stores them. See the module comment.
pub async fn sync(
    state: &AppState,
    actor: &Actor,
    opts: &SyncOptions,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> anyhow::Result<SyncOutcome> {
    let mut api = Api::new(opts, progress)?;
    let db = &state.db;
    db.q()
        .execute(
            "INSERT INTO cqc_sync_state (id, checkpoint, updated_at) VALUES (1, NULL, $1) ON CONFLICT (id) DO NOTHING",
            args![state.clock.now()],
        )
        .await?;
    let st: SyncState = db
        .q()
        .fetch_one(
            "SELECT checkpoint, window_start, window_end, window_ids, window_done FROM cqc_sync_state WHERE id = 1",
            args![],
        )
        .await?;
    let mut out = SyncOutcome::default();
    let (start, end, ids, mut done) = match (st.window_start, st.window_end, &st.window_ids) {
        (Some(start), Some(end), Some(json)) => {
            let ids: Vec<String> = serde_json::from_str(json)
                .map_err(|e| anyhow::anyhow!("the stored sync window is unreadable: {e}"))?;
            let done = (st.window_done.max(0) as usize).min(ids.len());
            out.resumed_at = Some(done);
            out.since_ignored = opts.since.is_some();
            (start, end, ids, done)
        }
        _ => {
            let start = match (st.checkpoint, opts.since) {
                (Some(c), since) => {
                    out.since_ignored = since.is_some();
                    c
                }
                (None, Some(s)) => s.trunc_subsecs(0),
                (None, None) => anyhow::bail!(
                    "no CQC sync has run on this database yet: give --since (e.g. --since 2024-01-01T00:00:00Z) for where the first window starts"
                ),
            };
            // Whole seconds: the API is sent seconds, so the stored boundary is exactly the
            // one it saw and the next window neither skips nor repeats a fraction of one.
            let end = state.clock.now().trunc_subsecs(0);
            if end <= start {
                if st.checkpoint.is_some() {
                    // Run again within the second the last one ended: already up to date.
                    out.window_start = start;
                    out.window_end = start;
                    return Ok(out);
                }
                anyhow::bail!("--since {start} is not in the past");
            }
            let ids = api.changes(start, end).await?;
            // The window is kept only once its IDs are listed: a run stopped while listing
            // has committed nothing, and the next one may as well take a fresh window.
            let n = db
                .q()
                .execute(
                    "UPDATE cqc_sync_state SET window_start = $1, window_end = $2, window_ids = $3, window_done = 0, updated_at = $4 WHERE id = 1 AND window_end IS NULL",
                    args![start, end, serde_json::to_string(&ids)?, state.clock.now()],
                )
                .await?;
            if n != 1 {
                anyhow::bail!("another CQC sync is running on this database; try again later");
            }
            (start, end, ids, 0)
        }
    };
    out.window_start = start;
    out.window_end = end;
    out.listed = ids.len();

    let edition = end.date_naive();
    let batch_size = opts.batch_size.max(1);
    progress(Progress::Fetching {
        fetched: done,
        committed: done,
        total: ids.len(),
    });
    while done < ids.len() {
        let upto = (done + batch_size).min(ids.len());
        let started = std::time::Instant::now();
        let started_at = state.clock.now();
        let mut lines: Vec<u8> = Vec::new();
        let mut warnings: Vec<String> = Vec::new();
        for (i, id) in ids[done..upto].iter().enumerate() {
            progress(Progress::Fetching {
                fetched: done + i,
                committed: done,
                total: ids.len(),
            });
            match api.location(id).await? {
                Some(record) => {
                    serde_json::to_writer(&mut lines, &record)?;
                    lines.push(b'\n');
                }
                None => {
                    out.not_found += 1;
                    warnings.push(format!(
                        "location {id} is in the changes feed but the API answers 404: skipped"
                    ));
                }
            }
        }
        // Named by the window and the IDs' positions in it: unique even when a resumed run
        // uses another batch size.
        let name = format!(
            "cqc-api-changes-{}-{}-ids-{}-{upto}",
            stamp(start),
            stamp(end),
            done + 1
        );
        let mut tx = state.db.begin().await?;
        // First statement of the transaction: it takes the write lock and proves no other
        // run committed this batch meanwhile.
        let n = tx
            .execute(
                "UPDATE cqc_sync_state SET window_done = $1, updated_at = $2 WHERE id = 1 AND window_end = $3 AND window_done = $4",
                args![upto as i64, state.clock.now(), end, done as i64],
            )
            .await?;
        if n != 1 {
            anyhow::bail!("another CQC sync is running on this database; try again later");
        }
        if !lines.is_empty() {
            let parsed = parse::api_records(&name, &lines).map_err(|e| anyhow::anyhow!("{e}"))?;
            // One bad record from CQC must not stall every later sync: it is kept out and
            // named in the import's warnings.
            for p in &parsed.problems {
                warnings.push(format!("{}: {} {}", p.column, p.value, p.reason));
            }
            let batch = parsed.batch;
            warnings.extend(batch.warnings.iter().cloned());
            let rejected = parsed.rejected_rows.len();
            let applied = store::apply(&mut tx, &batch, Kind::Sync, edition).await?;
            // cqc_imports keeps one row per content (its unique index is how a re-sent file
            // is spotted), but the same records seen in a later window are a new sighting:
            // the window and batch are part of what is hashed.
            let mut hashed = format!("{name}\n").into_bytes();
            hashed.extend_from_slice(&lines);
            let sha = content_hash(&hashed);
            let rows_in = batch.rows_read as i64 - rejected as i64;
            let import_id: i64 = tx
                .scalar(
                    "INSERT INTO cqc_imports (kind, file_name, sha256, edition, rows_read, rows_in, rows_changed, rows_rejected, warnings, unknown_columns, started_at, duration_ms, actor) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
                    args![
                        Kind::Sync.as_str(),
                        &name,
                        &sha,
                        edition,
                        batch.rows_read as i64,
                        rows_in,
                        applied.new_locations + applied.new_ratings,
                        rejected as i64,
                        serde_json::to_string(&warnings)?,
                        serde_json::to_string(&batch.unknown_columns)?,
                        started_at,
                        started.elapsed().as_millis() as i64,
                        &actor.name,
                    ],
                )
                .await?;
            crate::cqc::bump_data_version(&mut tx).await?;
            audit::entry("cqc.import", "cqc_import", import_id)
                .after(serde_json::json!({
                    "kind": Kind::Sync.as_str(), "file_name": name, "sha256": sha,
                    "edition": edition, "window_start": start, "window_end": end,
                    "ids": upto - done, "rows_read": batch.rows_read, "rows_in": rows_in,
                    "rows_rejected": rejected, "not_found": upto - done - batch.rows_read,
                    "new_locations": applied.new_locations, "new_ratings": applied.new_ratings,
                }))
                .write(&mut tx, actor, started_at)
                .await?;
            out.synced += batch.locations.len();
            out.rejected += rejected;
        }
        tx.commit().await?;
        out.batches += 1;
        done = upto;
        progress(Progress::Fetching {
            fetched: done,
            committed: done,
            total: ids.len(),
        });
    }

    let n = db
        .q()
        .execute(
            "UPDATE cqc_sync_state SET checkpoint = $1, window_start = NULL, window_end = NULL, window_ids = NULL, window_done = 0, updated_at = $2 WHERE id = 1 AND window_end = $3",
            args![end, state.clock.now(), end],
        )
        .await?;
    if n != 1 {
        anyhow::bail!("another CQC sync is running on this database; try again later");
    }
    out.rate_limited = api.rate_limited;
    out.other_retries = api.other_retries;
    Ok(out)
}

/// The timestamp form the changes feed takes.
fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

struct Api<'a> {
    http: reqwest::Client,
    base: String,
    key: Option<HeaderValue>,
    opts: &'a SyncOptions,
    progress: &'a (dyn Fn(Progress) + Send + Sync),
    rate_limited: u32,
    other_retries: u32,
}

/// Why a request is tried again.
enum Retry {
    RateLimited(Option<u64>),
    Transient(String),
}

impl<'a> Api<'a> {
    fn new(
        opts: &'a SyncOptions,
        progress: &'a (dyn Fn(Progress) + Send + Sync),
    ) -> anyhow::Result<Api<'a>> {
        let http = reqwest::Client::builder()
            .user_agent(user_agent())
            .timeout(opts.timeout)
            .connect_timeout(Duration::from_secs(10))
            .build()?;
        let key = match opts.api_key.as_deref().map(str::trim) {
            Some(k) if !k.is_empty() => {
                let mut v = HeaderValue::from_str(k).map_err(|_| {
                    anyhow::anyhow!("the CQC API key holds characters a header cannot carry")
                })?;
                v.set_sensitive(true);
                Some(v)
            }
            _ => None,
        };
        Ok(Api {
            http,
            base: opts.api_url.trim_end_matches('/').to_string(),
            key,
            opts,
            progress,
            rate_limited: 0,
            other_retries: 0,
        })
    }

    /// Every ID the changes feed lists for the window, in its order, each once.
    async fn changes(
        &mut self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> anyhow::Result<Vec<String>> {
        let mut ids: Vec<String> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut listed = 0usize;
        let mut total = None;
        let mut page = 1u64;
        loop {
            let url = reqwest::Url::parse_with_params(
                &format!("{}/changes/location", self.base),
                &[
                    ("startTimestamp", stamp(start)),
                    ("endTimestamp", stamp(end)),
                    ("page", page.to_string()),
                    ("perPage", self.opts.changes_per_page.to_string()),
                ],
            )?;
            let v = self.get(url).await?.ok_or_else(|| {
                anyhow::anyhow!("the CQC API has no changes feed at {}", self.base)
            })?;
            let changes = v.get("changes").and_then(|c| c.as_array()).ok_or_else(|| {
                anyhow::anyhow!("the CQC changes feed answered without a list of changes")
            })?;
            for c in changes {
                let id = c
                    .as_str()
                    .or_else(|| c.get("locationId").and_then(|x| x.as_str()))
                    .map(str::trim)
                    .unwrap_or_default();
                listed += 1;
                if !super::records::valid_cqc_id(id) {
                    tracing::warn!(
                        id,
                        "the changes feed listed something that is not a location ID"
                    );
                    continue;
                }
                if seen.insert(id.to_string()) {
                    ids.push(id.to_string());
                }
            }
            total = total.or(v.get("total").and_then(|t| t.as_u64()));
            let pages = v.get("totalPages").and_then(|t| t.as_u64()).unwrap_or(1);
            (self.progress)(Progress::Listing { page, pages });
            // An empty page also ends the listing: a feed whose totalPages is off by one
            // must not keep us asking for ever.
            if page >= pages || changes.is_empty() {
                break;
            }
            page += 1;
        }
        if let Some(t) = total.filter(|&t| t as usize != listed) {
            tracing::warn!(
                total = t,
                listed,
                "the changes feed's total differs from the IDs it listed"
            );
        }
        Ok(ids)
    }

    /// One location record; None when the API says it does not exist.
    async fn location(&mut self, id: &str) -> anyhow::Result<Option<serde_json::Value>> {
        let url = reqwest::Url::parse(&format!("{}/locations/{id}", self.base))?;
        self.get(url).await
    }

    /// GET with back-off. Ok(None) is a 404, in the status line or in the body.
    async fn get(&mut self, url: reqwest::Url) -> anyhow::Result<Option<serde_json::Value>> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let retry = match self.try_get(&url).await? {
                Ok(v) => return Ok(v),
                Err(r) => r,
            };
            let why = match &retry {
                Retry::RateLimited(_) => "rate limited (429)".to_string(),
                Retry::Transient(e) => e.clone(),
            };
            if attempt >= self.opts.max_attempts {
                anyhow::bail!(
                    "CQC API {}: gave up after {attempt} attempts: {why}",
                    url.path()
                );
            }
            let secs = match retry {
                Retry::RateLimited(hint) => {
                    self.rate_limited += 1;
                    hint.unwrap_or(1u64 << (attempt - 1).min(10))
                }
                Retry::Transient(_) => {
                    self.other_retries += 1;
                    1u64 << (attempt - 1).min(10)
                }
            }
            .clamp(1, self.opts.max_backoff_secs.max(1));
            let wait = self.opts.backoff_unit * secs as u32;
            tracing::debug!(url = %url.path(), attempt, ?wait, why, "CQC API: retrying");
            (self.progress)(Progress::RateLimited { wait });
            tokio::time::sleep(wait).await;
        }
    }

    /// One request: the answer, or why to try again, or an error not worth retrying.
    async fn try_get(
        &self,
        url: &reqwest::Url,
    ) -> anyhow::Result<Result<Option<serde_json::Value>, Retry>> {
        let mut req = self
            .http
            .get(url.clone())
            .header("Accept", "application/json");
        if let Some(k) = &self.key {
            req = req.header(KEY_HEADER, k.clone());
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => return Ok(Err(Retry::Transient(format!("{e}")))),
        };
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|s| s.trim().parse::<u64>().ok());
        let body = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => return Ok(Err(Retry::Transient(format!("reading the answer: {e}")))),
        };
        match status {
            StatusCode::NOT_FOUND => return Ok(Ok(None)),
            StatusCode::TOO_MANY_REQUESTS => {
                return Ok(Err(Retry::RateLimited(
                    retry_after.or_else(|| seconds_hint(&String::from_utf8_lossy(&body))),
                )));
            }
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => anyhow::bail!(
                "the CQC API refused the request ({status}): check the subscription key (--api-key or CAREMARKET_CQC_API_KEY)"
            ),
            s if s.is_server_error() => {
                return Ok(Err(Retry::Transient(format!("the API answered {s}"))));
            }
            s if !s.is_success() => {
                anyhow::bail!("CQC API {}: answered {s}: {}", url.path(), snippet(&body))
            }
            _ => {}
        }
        let v: serde_json::Value = match serde_json::from_slice(&body) {
            Ok(v) => v,
            // Gateways in front of the API answer 200 with an HTML page when overloaded.
            Err(_) => {
                return Ok(Err(Retry::Transient(format!(
                    "the answer is not JSON: {}",
                    snippet(&body)
                ))));
            }
        };
        // CQC's gateway sometimes reports its rate limit (and other refusals) inside an HTTP
        // 200 body: {"statusCode": 429, "message": "Rate limit is exceeded. Try again in 1 seconds."}
        let code = v.get("statusCode").and_then(|c| {
            c.as_u64()
                .or_else(|| c.as_str().and_then(|s| s.trim().parse().ok()))
        });
        let message = v
            .get("message")
            .and_then(|m| m.as_str())
            .unwrap_or_default();
        match code {
            None | Some(200..=299) => Ok(Ok(Some(v))),
            Some(429) => Ok(Err(Retry::RateLimited(seconds_hint(message)))),
            Some(404) => Ok(Ok(None)),
            Some(401 | 403) => anyhow::bail!(
                "the CQC API refused the request ({message}): check the subscription key (--api-key or CAREMARKET_CQC_API_KEY)"
            ),
            Some(c) if c >= 500 => Ok(Err(Retry::Transient(format!(
                "the API answered {c} {message}"
            )))),
            Some(c) => anyhow::bail!("CQC API {}: answered {c}: {message}", url.path()),
        }
    }
}

/// The seconds in "Try again in 7 seconds."
fn seconds_hint(message: &str) -> Option<u64> {
    let words: Vec<&str> = message.split_whitespace().collect();
    words
        .windows(2)
        .find(|w| w[0].eq_ignore_ascii_case("in"))
        .and_then(|w| w[1].trim_end_matches(['.', ',']).parse().ok())
}

fn snippet(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(body);
    let s = s.trim();
    match s.char_indices().nth(200) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

// The command line: `caremarket sync cqc`.

#[derive(clap::Args)]
pub struct SyncCqcArgs {
    #[command(flatten)]
    pub db: crate::config::DbArgs,
    /// Base address of CQC's public API
    #[arg(long, env = "CAREMARKET_CQC_API_URL", default_value = DEFAULT_API_URL)]
    pub api_url: String,
    /// CQC API subscription key (sent as Ocp-Apim-Subscription-Key)
    #[arg(long, env = "CAREMARKET_CQC_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Where the first sync starts (RFC 3339, e.g. 2024-01-01T00:00:00Z); later runs carry
    /// on from the stored checkpoint
    #[arg(long)]
    pub since: Option<DateTime<Utc>>,
    /// Locations stored per transaction
    #[arg(long, default_value_t = 100)]
    pub batch_size: usize,
    /// Length of one second of back-off, in milliseconds (for tests)
    #[arg(
        long,
        env = "CAREMARKET_CQC_BACKOFF_UNIT_MS",
        default_value_t = 1000,
        hide = true
    )]
    pub backoff_unit_ms: u64,
}

/// Runs a sync with a progress bar and prints a summary line.
pub async fn cli(state: &AppState, a: &SyncCqcArgs) -> anyhow::Result<()> {
    use indicatif::{ProgressBar, ProgressStyle};
    let mut opts = SyncOptions::new(&a.api_url, a.api_key.clone());
    opts.since = a.since;
    opts.batch_size = a.batch_size.max(1);
    opts.backoff_unit = Duration::from_millis(a.backoff_unit_ms);
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{spinner} {msg} {wide_bar} {pos}/{len} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar.set_message("listing changes");
    let progress = {
        let bar = bar.clone();
        move |p: Progress| match p {
            Progress::Listing { page, pages } => {
                bar.set_message(format!("listing changes (page {page} of {pages})"))
            }
            Progress::Fetching {
                fetched,
                committed,
                total,
            } => {
                bar.set_message(format!("fetching locations ({committed} stored)"));
                bar.set_length(total as u64);
                bar.set_position(fetched as u64);
            }
            Progress::RateLimited { wait } => {
                bar.set_message(format!("rate limited, waiting {:.1} s", wait.as_secs_f64()))
            }
        }
    };
    let result = sync(state, &Actor::cli("sync"), &opts, &progress).await;
    bar.finish_and_clear();
    let o = result?;
    if o.since_ignored {
        println!("--since was not used: this database carries on from its stored checkpoint");
    }
    if let Some(n) = o.resumed_at {
        println!(
            "Resumed the window {} to {}: {n} of {} locations were already done",
            stamp(o.window_start),
            stamp(o.window_end),
            o.listed
        );
    }
    let rejected = if o.rejected > 0 {
        format!(", {} rejected", o.rejected)
    } else {
        String::new()
    };
    let other = if o.other_retries > 0 {
        format!(", {} retries after errors", o.other_retries)
    } else {
        String::new()
    };
    println!(
        "Synced {} locations ({} not found{rejected}, {} retries after rate limiting{other}) up to {}",
        o.synced,
        o.not_found,
        o.rate_limited,
        stamp(o.window_end)
    );
    Ok(())
}
