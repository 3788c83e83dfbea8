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
    let secs = started.elapsed().as_secs_f64();
    all.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{} requests in {secs:.1} s: {:.0} req/s; p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {} 5xx, {} other errors ({} clients)",
        all.len(),
        all.len() as f64 / secs,
        ms(percentile(&all, 50.0)),
        ms(percentile(&all, 95.0)),
        ms(percentile(&all, 99.0)),
        ms(all.last().copied().unwrap_or_default()),
        server_errors.load(Ordering::Relaxed),
        errors.load(Ordering::Relaxed),
        a.concurrency
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
