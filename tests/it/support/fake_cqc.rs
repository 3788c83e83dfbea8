//! A fake CQC public API on a loopback port: the changes feed and `/locations/{id}` over the
//! 421 Devon and Plymouth care home records of February 2021, with CQC's quirks on request
//! (IDs in the feed that then 404, the soft 429 inside an HTTP 200 body, real 429s with
//! Retry-After) and a hang to stop a client mid-run. It counts what it was asked.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, TimeZone, Utc};
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::sync::{Arc, Mutex};

pub const KEY: &str = "fake-cqc-key";
pub const BASE_PATH: &str = "/public/v1";

/// The shared sample: one API location record a line.
pub fn sample_jsonl() -> String {
    let shared = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/data/cqc_api_sw_care_homes_2021-02/cqc_api_locations_care_homes_devon_plymouth_2021-02.jsonl"
    );
    if let Ok(s) = std::fs::read_to_string(shared) {
        return s;
    }
    let bundled = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/cqc/cqc_api_locations_care_homes_devon_plymouth_2021-02.jsonl.gz"
    );
    let gz = std::fs::read(bundled).expect("the CQC API sample (shared/data or data/cqc)");
    let mut s = String::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_string(&mut s)
        .expect("gzip");
    s
}

/// When the sample's changes happened in the fake feed.
pub fn sample_changed_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2021, 2, 1, 12, 0, 0).unwrap()
}

/// What the fake does wrong, and when. Request numbers count `/locations/{id}` requests
/// (or changes-feed requests) from 1, over the server's life.
#[derive(Debug, Clone, Default)]
pub struct Quirks {
    /// IDs listed in the changes feed whose `/locations/{id}` answers 404.
    pub missing: Vec<String>,
    /// Location requests answered 200 with a soft-429 body.
    pub soft_429: HashSet<usize>,
    /// Location requests answered 429 with `Retry-After: 1`.
    pub hard_429: HashSet<usize>,
    /// Changes-feed requests answered 200 with a soft-429 body.
    pub soft_429_changes: HashSet<usize>,
    /// This ID is rate limited (soft 429) every time it is asked for.
    pub always_limited: Option<String>,
    /// Location requests after this many hang (then fail): a client stuck mid-run.
    pub hang_after: Option<usize>,
    /// The most IDs one page of the changes feed holds, whatever perPage asks.
    pub max_per_page: usize,
}

#[derive(Default)]
struct Counters {
    location_requests: usize,
    changes_requests: usize,
    per_id: HashMap<String, usize>,
    refused: usize,
    changes_queries: Vec<HashMap<String, String>>,
}

struct Shared {
    records: HashMap<String, String>,
    changes: Mutex<Vec<(DateTime<Utc>, String)>>,
    quirks: Mutex<Quirks>,
    counters: Mutex<Counters>,
}

pub struct FakeCqc {
    /// Base URL the client is given, e.g. http://127.0.0.1:PORT/public/v1
    pub url: String,
    /// The sample's location IDs, in file order.
    pub ids: Vec<String>,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeCqc {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeCqc {
    /// Serves the sample, every record changed at [`sample_changed_at`], with the missing IDs
    /// of `quirks` spread through the feed.
    pub async fn start(quirks: Quirks) -> FakeCqc {
        Self::start_with(quirks, "").await
    }

    /// The same, serving these records (JSON lines) beside the sample's.
    pub async fn start_with(quirks: Quirks, extra: &str) -> FakeCqc {
        let mut records = HashMap::new();
        let mut ids = Vec::new();
        let all = sample_jsonl() + "\n" + extra;
        for line in all.lines().filter(|l| !l.trim().is_empty()) {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let id = v["locationId"].as_str().unwrap().to_string();
            ids.push(id.clone());
            records.insert(id, line.to_string());
        }
        let at = sample_changed_at();
        let mut changes: Vec<(DateTime<Utc>, String)> =
            ids.iter().map(|id| (at, id.clone())).collect();
        for (i, m) in quirks.missing.iter().enumerate() {
            let pos = ((i + 1) * changes.len() / (quirks.missing.len() + 1)).min(changes.len());
            changes.insert(pos, (at, m.clone()));
        }
        let quirks = Quirks {
            max_per_page: if quirks.max_per_page == 0 {
                100
            } else {
                quirks.max_per_page
            },
            ..quirks
        };
        let shared = Arc::new(Shared {
            records,
            changes: Mutex::new(changes),
            quirks: Mutex::new(quirks),
            counters: Mutex::new(Counters::default()),
        });
        let app = Router::new()
            .route(&format!("{BASE_PATH}/changes/location"), get(changes_feed))
            .route(&format!("{BASE_PATH}/locations/{{id}}"), get(location))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeCqc {
            url: format!("http://{addr}{BASE_PATH}"),
            ids,
            shared,
            task,
        }
    }

    /// The feed order of every ID (sample and missing ones) changed at `at`.
    pub fn feed_ids(&self) -> Vec<String> {
        self.shared
            .changes
            .lock()
            .unwrap()
            .iter()
            .map(|c| c.1.clone())
            .collect()
    }

    /// Lists these IDs as changed again at `at`.
    pub fn add_changes(&self, ids: &[String], at: DateTime<Utc>) {
        let mut c = self.shared.changes.lock().unwrap();
        c.extend(ids.iter().map(|id| (at, id.clone())));
    }

    pub fn set_quirks(&self, f: impl FnOnce(&mut Quirks)) {
        f(&mut self.shared.quirks.lock().unwrap());
    }

    pub fn location_requests(&self) -> usize {
        self.shared.counters.lock().unwrap().location_requests
    }

    pub fn changes_requests(&self) -> usize {
        self.shared.counters.lock().unwrap().changes_requests
    }

    /// How often `/locations/{id}` was asked for this ID.
    pub fn requests_for(&self, id: &str) -> usize {
        self.shared
            .counters
            .lock()
            .unwrap()
            .per_id
            .get(id)
            .copied()
            .unwrap_or(0)
    }

    /// Requests refused for a wrong key or User-Agent.
    pub fn refused(&self) -> usize {
        self.shared.counters.lock().unwrap().refused
    }

    pub fn changes_queries(&self) -> Vec<HashMap<String, String>> {
        self.shared.counters.lock().unwrap().changes_queries.clone()
    }
}

fn json(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn soft_429() -> Response {
    json(
        StatusCode::OK,
        r#"{"statusCode": 429, "message": "Rate limit is exceeded. Try again in 1 seconds."}"#
            .into(),
    )
}

/// CQC's gateway wants the subscription key; we also insist on a User-Agent that names the
/// client, as CQC asks.
fn refuse(s: &Shared, headers: &HeaderMap) -> Option<Response> {
    let key = headers
        .get("ocp-apim-subscription-key")
        .and_then(|v| v.to_str().ok());
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let refused = if key != Some(KEY) {
        Some(json(
            StatusCode::UNAUTHORIZED,
            r#"{"statusCode": 401, "message": "Access denied due to invalid subscription key."}"#
                .into(),
        ))
    } else if !(ua.starts_with("caremarket/") && ua.contains("(+https://")) {
        Some(json(
            StatusCode::FORBIDDEN,
            r#"{"statusCode": 403, "message": "Say who you are in the User-Agent."}"#.into(),
        ))
    } else {
        None
    };
    if refused.is_some() {
        s.counters.lock().unwrap().refused += 1;
    }
    refused
}

async fn changes_feed(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = refuse(&s, &headers) {
        return r;
    }
    let n = {
        let mut c = s.counters.lock().unwrap();
        c.changes_requests += 1;
        c.changes_queries.push(q.clone());
        c.changes_requests
    };
    let quirks = s.quirks.lock().unwrap().clone();
    if quirks.soft_429_changes.contains(&n) {
        return soft_429();
    }
    let time = |k: &str| {
        q.get(k)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    let (Some(start), Some(end)) = (time("startTimestamp"), time("endTimestamp")) else {
        return json(
            StatusCode::BAD_REQUEST,
            r#"{"statusCode": 400, "message": "startTimestamp and endTimestamp are required"}"#
                .into(),
        );
    };
    let page: usize = q
        .get("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1);
    let per: usize = q
        .get("perPage")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1000)
        .clamp(1, quirks.max_per_page);
    let all: Vec<String> = s
        .changes
        .lock()
        .unwrap()
        .iter()
        .filter(|(t, _)| *t >= start && *t < end)
        .map(|(_, id)| id.clone())
        .collect();
    let pages = all.len().div_ceil(per);
    let items: Vec<&String> = all.iter().skip((page - 1) * per).take(per).collect();
    json(
        StatusCode::OK,
        serde_json::json!({
            "total": all.len(), "page": page, "totalPages": pages, "perPage": per,
            "changes": items,
        })
        .to_string(),
    )
}

async fn location(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(r) = refuse(&s, &headers) {
        return r;
    }
    let n = {
        let mut c = s.counters.lock().unwrap();
        c.location_requests += 1;
        *c.per_id.entry(id.clone()).or_default() += 1;
        c.location_requests
    };
    let quirks = s.quirks.lock().unwrap().clone();
    if quirks.hang_after.is_some_and(|k| n > k) {
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
        return json(StatusCode::SERVICE_UNAVAILABLE, "{}".into());
    }
    if quirks.soft_429.contains(&n) || quirks.always_limited.as_deref() == Some(id.as_str()) {
        return soft_429();
    }
    if quirks.hard_429.contains(&n) {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "1")],
            "Too many requests",
        )
            .into_response();
    }
    match s.records.get(&id) {
        Some(r) if !quirks.missing.contains(&id) => json(StatusCode::OK, r.clone()),
        _ => json(
            StatusCode::NOT_FOUND,
            r#"{"statusCode": 404, "message": "Resource not found"}"#.into(),
        ),
    }
}
