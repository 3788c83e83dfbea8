//! `caremarket bench http`: a small load generator for the project's own server on loopback
//! (the load-test benchmarks; never point it at anything else).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct HttpArgs {
    /// Base URL of a caremarket server, e.g. http://127.0.0.1:8080
    #[arg(long)]
    pub url: String,
    /// Paths to request in turn, e.g. "/market?area=Devon"
    #[arg(long = "path", required = true)]
    pub paths: Vec<String>,
    /// An API token (Authorization: Bearer)
    #[arg(long, env = "CAREMARKET_BENCH_TOKEN")]
    pub token: Option<String>,
    #[arg(long, default_value_t = 50)]
    pub concurrency: usize,
    /// Seconds to run
    #[arg(long, default_value_t = 30)]
    pub duration: u64,
}

/// Plain http to 127.0.0.0/8, ::1 or "localhost", with no user part.
pub fn is_loopback_http(u: &reqwest::Url) -> bool {
    let loopback = match u.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    u.scheme() == "http" && u.username().is_empty() && u.password().is_none() && loopback
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// "N requests in S s: R req/s; p50 …, p95 …, p99 …, max …" for both benches.
fn latencies(all: &mut [Duration], what: &str, secs: f64) -> String {
    all.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "{} requests{what} in {secs:.1} s: {:.0} req/s; p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        all.len(),
        all.len() as f64 / secs,
        ms(percentile(all, 50.0)),
        ms(percentile(all, 95.0)),
        ms(percentile(all, 99.0)),
        ms(all.last().copied().unwrap_or_default()),
    )
}

pub async fn http(a: &HttpArgs) -> anyhow::Result<()> {
    // A load test only ever targets this machine: every URL is parsed (not pattern-matched)
    // and must be plain http to a loopback address, with no user part; redirects are not
    // followed.
    let mut urls = Vec::new();
    for p in &a.paths {
        let u = reqwest::Url::parse(&format!("{}{p}", a.url.trim_end_matches('/')))?;
        if !is_loopback_http(&u) {
            anyhow::bail!(
                "bench http only targets a server on this machine (http://127.0.0.1:PORT), not {u}"
            );
        }
        urls.push(u.to_string());
    }
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(a.concurrency)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let deadline = Instant::now() + Duration::from_secs(a.duration);
    let errors = Arc::new(AtomicU64::new(0));
    let server_errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..a.concurrency {
        let client = client.clone();
        let urls = urls.clone();
        let token = a.token.clone();
        let errors = errors.clone();
        let server_errors = server_errors.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = w;
            while Instant::now() < deadline {
                let url = &urls[i % urls.len()];
                i += 1;
                let t0 = Instant::now();
                let mut req = client.get(url);
                if let Some(t) = &token {
                    req = req.bearer_auth(t);
                }
                match req.send().await {
                    Ok(r) => {
                        let status = r.status();
                        let _ = r.bytes().await;
                        if status.is_server_error() {
                            server_errors.fetch_add(1, Ordering::Relaxed);
                        } else if !status.is_success() {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                        lat.push(t0.elapsed());
                    }
                    Err(_) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await?);
    }
    println!(
        "{}; {} 5xx, {} other errors ({} clients)",
        latencies(&mut all, "", started.elapsed().as_secs_f64()),
        server_errors.load(Ordering::Relaxed),
        errors.load(Ordering::Relaxed),
        a.concurrency
    );
    Ok(())
}

#[derive(clap::Args)]
pub struct VacancyArgs {
    /// Base URL of a caremarket server on this machine, e.g. http://127.0.0.1:8080
    #[arg(long)]
    pub url: String,
    /// One provider user a line: an API token, a space, and the user's care homes' location
    /// IDs separated by commas
    #[arg(long)]
    pub users_file: std::path::PathBuf,
    /// An admin's API token, to count the audit entries before and after
    #[arg(long)]
    pub admin_token: String,
    /// Seconds to run
    #[arg(long, default_value_t = 60)]
    pub duration: u64,
    /// Milliseconds each user waits after a save before reading again (0: no pause, the most
    /// load the server can take; a person at a form pauses far longer)
    #[arg(long, default_value_t = 0)]
    pub pause_ms: u64,
}

/// The last accepted update of each home: (version, occupied).
type Accepted = std::sync::Mutex<std::collections::HashMap<String, (i64, i64)>>;

async fn audit_total(client: &reqwest::Client, base: &str, token: &str) -> anyhow::Result<i64> {
    let v: serde_json::Value = client
        .get(format!("{base}/api/v1/audit?action=vacancies.update"))
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?
        .bytes()
        .await
        .map(|b| serde_json::from_slice(&b).unwrap_or_default())?;
    v["total"]
        .as_i64()
        .ok_or_else(|| anyhow::anyhow!("no total in the audit answer"))
}

/// Each provider user reads one of its homes, then saves new residential figures naming the
/// version it read; a save refused because another user saved first is counted, not retried.
/// Afterwards every home must hold its last accepted figures and every accepted save must be
/// in the audit log.
pub async fn vacancies(a: &VacancyArgs) -> anyhow::Result<()> {
    let base = a.url.trim_end_matches('/').to_string();
    let u = reqwest::Url::parse(&base)?;
    if !is_loopback_http(&u) {
        anyhow::bail!("bench vacancies only targets a server on this machine, not {u}");
    }
    let users: Vec<(String, Vec<String>)> = std::fs::read_to_string(&a.users_file)?
        .lines()
        .filter_map(|l| {
            let (t, homes) = l.trim().split_once(' ')?;
            Some((
                t.to_string(),
                homes.split(',').map(|h| h.trim().to_string()).collect(),
            ))
        })
        .collect();
    if users.is_empty() {
        anyhow::bail!("{} lists no users", a.users_file.display());
    }
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(users.len())
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let audit_before = audit_total(&client, &base, &a.admin_token).await?;
    let accepted: Arc<Accepted> = Arc::default();
    let deadline = Instant::now() + Duration::from_secs(a.duration);
    let counts = Arc::new([
        AtomicU64::new(0),
        AtomicU64::new(0),
        AtomicU64::new(0),
        AtomicU64::new(0),
    ]); // accepted, conflicts, 5xx, other
    let started = Instant::now();
    let pause = Duration::from_millis(a.pause_ms);
    let mut tasks = Vec::new();
    for (n, (token, homes)) in users.iter().cloned().enumerate() {
        let (client, base, accepted, counts) = (
            client.clone(),
            base.clone(),
            accepted.clone(),
            counts.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut round = 0i64;
            // Paced users start spread over one pause, not all in the same millisecond.
            if !pause.is_zero() {
                tokio::time::sleep(pause.mul_f64((n as f64 * 0.618_034).fract())).await;
            }
            while Instant::now() < deadline {
                if round > 0 && !pause.is_zero() {
                    tokio::time::sleep(pause).await;
                }
                let id = &homes[(round as usize + n) % homes.len()];
                round += 1;
                let url = format!("{base}/api/v1/capacity/homes/{id}");
                let t0 = Instant::now();
                let Ok(r) = client.get(&url).bearer_auth(&token).send().await else {
                    counts[3].fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                let home: serde_json::Value = match r.bytes().await.map(|b| serde_json::from_slice(&b)) {
                    Ok(Ok(v)) => v,
                    _ => {
                        counts[3].fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                };
                lat.push(t0.elapsed());
                let version = home["version"].as_i64().unwrap_or(0);
                let cap = home["registered_beds"].as_i64().unwrap_or(20).max(1);
                let occupied = (n as i64 * 7919 + round) % (cap + 1);
                let body = serde_json::json!({"version": version, "figures": [{"bed_type": "residential", "capacity": cap, "occupied": occupied, "vacant": cap - occupied, "reserved": 0, "closed": 0}]});
                let t1 = Instant::now();
                let req = client
                    .put(&url)
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(body.to_string());
                match req.send().await {
                    Ok(r) => {
                        let status = r.status();
                        let reply: serde_json::Value = r
                            .bytes()
                            .await
                            .ok()
                            .and_then(|b| serde_json::from_slice(&b).ok())
                            .unwrap_or_default();
                        lat.push(t1.elapsed());
                        if status.is_success() {
                            counts[0].fetch_add(1, Ordering::Relaxed);
                            let v = reply["version"].as_i64().unwrap_or(0);
                            let mut m = accepted.lock().expect("accepted");
                            let e = m.entry(id.clone()).or_insert((v, occupied));
                            if v >= e.0 {
                                *e = (v, occupied);
                            }
                        } else if status == reqwest::StatusCode::CONFLICT {
                            counts[1].fetch_add(1, Ordering::Relaxed);
                        } else if status.is_server_error() {
                            counts[2].fetch_add(1, Ordering::Relaxed);
                        } else {
                            counts[3].fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Err(_) => {
                        counts[3].fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await?);
    }
    let c = |i: usize| counts[i].load(Ordering::Relaxed);
    println!(
        "{}; saves accepted {}, refused as someone saved first {}, 5xx {}, other errors {} ({} users, {})",
        latencies(
            &mut all,
            " (reads and saves)",
            started.elapsed().as_secs_f64()
        ),
        c(0),
        c(1),
        c(2),
        c(3),
        users.len(),
        if pause.is_zero() {
            "no pause".to_string()
        } else {
            format!("{} ms pause after each save", a.pause_ms)
        }
    );
    // Lost updates: each home must hold its last accepted figures.
    let owner: std::collections::HashMap<&str, &str> = users
        .iter()
        .flat_map(|(t, hs)| hs.iter().map(move |h| (h.as_str(), t.as_str())))
        .collect();
    let last = accepted.lock().expect("accepted").clone();
    let mut lost = 0;
    for (id, (v, occ)) in &last {
        let h: serde_json::Value = client
            .get(format!("{base}/api/v1/capacity/homes/{id}"))
            .bearer_auth(owner[id.as_str()])
            .send()
            .await?
            .bytes()
            .await
            .map(|b| serde_json::from_slice(&b).unwrap_or_default())?;
        let row = h["rows"]
            .as_array()
            .and_then(|r| r.iter().find(|r| r["bed_type"] == "residential"))
            .cloned()
            .unwrap_or_default();
        if h["version"].as_i64() != Some(*v) || row["figures"]["occupied"].as_i64() != Some(*occ) {
            lost += 1;
        }
    }
    let audited = audit_total(&client, &base, &a.admin_token).await? - audit_before;
    println!(
        "lost updates: {lost} of {} homes checked; accepted saves in the audit log: {audited} of {} ({})",
        last.len(),
        c(0),
        if audited == c(0) as i64 && lost == 0 {
            "none lost"
        } else {
            "MISMATCH"
        }
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_targets() {
        let ok = |s: &str| is_loopback_http(&reqwest::Url::parse(s).unwrap());
        assert!(ok("http://127.0.0.1:8080/market"));
        assert!(ok("http://localhost:1/"));
        assert!(ok("http://[::1]:9/"));
        assert!(!ok("http://127.0.0.1.evil.example/"));
        assert!(!ok("http://localhost:x@evil.example/"));
        assert!(!ok("http://127.0.0.1@evil.example/"));
        assert!(!ok("https://127.0.0.1/"));
        assert!(!ok("http://10.0.0.1/"));
        // A path that smuggles a host is parsed as part of the URL it makes.
        assert!(!ok(&format!("{}{}", "http://127.0.0.1", "@evil.example/")));
    }
}
