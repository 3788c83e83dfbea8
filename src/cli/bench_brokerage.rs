//! `caremarket bench brokerage`: many care requests raised at once, with the framework's
//! providers answering through the API, until every request is placed or waiting. The server
//! runs in this process on a loopback port; the broker and the provider users are HTTP
//! clients with API tokens, as a council's and providers' systems would be. Prints the time
//! to raise them, the time until all are resolved, offers and answers a second, and checks
//! the cascade's promises held (no request accepted twice, none left with an offer open).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use caremarket_core::Role;

use crate::accounts::{self, NewAccount};
use crate::app::AppState;
use crate::audit::Actor;
use crate::config::{Config, DbArgs};
use crate::db::Db;

#[derive(clap::Args)]
pub struct BrokerageArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Care requests raised at once
    #[arg(long, default_value_t = 1000)]
    pub requests: usize,
    /// Providers on the lot (the first from the CQC data: the primary, then the framework)
    #[arg(long, default_value_t = 26)]
    pub providers: usize,
    /// Chance a provider with room still declines an offer
    #[arg(long, default_value_t = 0.3)]
    pub decline: f64,
    /// Requests the broker's system sends at a time
    #[arg(long, default_value_t = 50)]
    pub concurrency: usize,
}

async fn user_with_token(
    state: &AppState,
    email: &str,
    role: Role,
    provider: Option<&str>,
) -> anyhow::Result<String> {
    let actor = Actor::cli("bench-brokerage");
    let pw = crate::accounts::password::generate();
    let id = accounts::create_with_password(
        state,
        &actor,
        &NewAccount {
            email: email.into(),
            display_name: String::new(),
            role,
            provider_id: provider.map(str::to_string),
        },
        &pw,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let (_, token) = accounts::tokens::create(
        state,
        &actor,
        id,
        &accounts::tokens::NewToken::named("bench"),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(token)
}

pub async fn brokerage(a: &BrokerageArgs) -> anyhow::Result<()> {
    let db = Db::connect(&a.db.database_url).await?;
    crate::db::migrate(&db).await?;
    let engine = db.engine();
    let state = AppState::with_system_clock(db.clone(), Config::for_cli()).await?;
    let providers: Vec<(String,)> = db
        .q()
        .fetch_all(
            "SELECT provider_id FROM cqc_providers ORDER BY provider_id LIMIT $1",
            crate::args![a.providers as i64],
        )
        .await?;
    if providers.len() < a.providers {
        anyhow::bail!(
            "the database has {} CQC providers; load the records first (caremarket import api-records FILE)",
            providers.len()
        );
    }
    let providers: Vec<String> = providers.into_iter().map(|p| p.0).collect();
    let run = format!("{:x}", std::process::id());
    let actor = Actor::cli("bench-brokerage");
    // A lot of its own, so a run never meets another run's requests.
    let district = format!("ZE{}", 1 + std::process::id() % 98);
    let lot = match crate::brokerage::add_lot(
        &state,
        &actor,
        &format!("Benchmark {run}"),
        "general",
        &district,
    )
    .await?
    {
        Ok(id) => id,
        Err(e) => anyhow::bail!(
            "cannot add the benchmark's lot for {district} (use a fresh database): {:?}",
            e.items.first().map(|i| i.message.clone())
        ),
    };
    let today = state
        .clock
        .now()
        .date_naive()
        .format("%d/%m/%Y")
        .to_string();
    for (i, p) in providers.iter().enumerate() {
        let j = crate::brokerage::JoinInput {
            provider_id: p.clone(),
            role: if i == 0 { "primary" } else { "framework" }.into(),
            tender_score: String::new(),
            joined_on: today.clone(),
        };
        if let Err(e) = crate::brokerage::join(&state, &actor, lot, &j).await? {
            anyhow::bail!(
                "cannot add {p} to the lot: {:?}",
                e.items.first().map(|i| i.message.clone())
            );
        }
    }
    let broker = user_with_token(
        &state,
        &format!("bench-broker-{run}@council.test"),
        Role::Broker,
        None,
    )
    .await?;
    let mut tokens = Vec::new();
    for (i, p) in providers.iter().enumerate() {
        tokens.push((
            p.clone(),
            user_with_token(
                &state,
                &format!("bench-{run}-{i}@provider.test"),
                Role::Provider,
                Some(p),
            )
            .await?,
        ));
    }

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let router = crate::app::router(state.clone())
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(a.concurrency + tokens.len())
        .redirect(reqwest::redirect::Policy::none())
        .build()?;

    // Providers: each has room for a share of the requests and a little more, answers every
    // open offer it sees, and looks again shortly when it has none.
    let capacity = a.requests / a.providers + 5;
    let done = Arc::new(AtomicBool::new(false));
    let answers = Arc::new(AtomicU64::new(0));
    let too_late = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for (i, (_, token)) in tokens.iter().enumerate() {
        let (client, base, token) = (client.clone(), base.clone(), token.clone());
        let (done, answers, too_late) = (done.clone(), answers.clone(), too_late.clone());
        let decline = a.decline;
        workers.push(tokio::spawn(async move {
            // The same seeded decisions on both engines (no cryptographic randomness needed).
            let mut rng = caremarket_core::eval::Rng::new(0x9E37_79B9_7F4A_7C15 ^ (i as u64 + 1));
            let mut taken = 0usize;
            let mut lat = Vec::new();
            while !done.load(Ordering::Relaxed) {
                let offers: serde_json::Value = match client
                    .get(format!("{base}/api/v1/offers?status=open"))
                    .bearer_auth(&token)
                    .send()
                    .await
                {
                    Ok(r) => r
                        .bytes()
                        .await
                        .ok()
                        .and_then(|b| serde_json::from_slice(&b).ok())
                        .unwrap_or_default(),
                    Err(_) => serde_json::Value::Null,
                };
                let open: Vec<i64> = offers
                    .as_array()
                    .map(|v| {
                        v.iter()
                            .filter(|o| o["status"] == "open")
                            .filter_map(|o| o["request_id"].as_i64())
                            .collect()
                    })
                    .unwrap_or_default();
                if open.is_empty() {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
                for id in open {
                    let t0 = Instant::now();
                    let r = if taken >= capacity {
                        client
                            .post(format!("{base}/api/v1/offers/{id}/decline"))
                            .bearer_auth(&token)
                            .header(reqwest::header::CONTENT_TYPE, "application/json")
                            .body(serde_json::json!({"reason": "no_capacity"}).to_string())
                            .send()
                            .await
                    } else if ((rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < decline {
                        client
                            .post(format!("{base}/api/v1/offers/{id}/decline"))
                            .bearer_auth(&token)
                            .header(reqwest::header::CONTENT_TYPE, "application/json")
                            .body(serde_json::json!({"reason": "area"}).to_string())
                            .send()
                            .await
                    } else {
                        let r = client
                            .post(format!("{base}/api/v1/offers/{id}/accept"))
                            .bearer_auth(&token)
                            .send()
                            .await;
                        if r.as_ref().is_ok_and(|r| r.status().is_success()) {
                            taken += 1;
                        }
                        r
                    };
                    lat.push(t0.elapsed());
                    answers.fetch_add(1, Ordering::Relaxed);
                    if r.as_ref()
                        .is_ok_and(|r| r.status() == reqwest::StatusCode::CONFLICT)
                    {
                        too_late.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            lat
        }));
    }

    // The broker's system raises them all, `concurrency` at a time.
    let started = Instant::now();
    let sem = Arc::new(tokio::sync::Semaphore::new(a.concurrency.max(1)));
    let failed = Arc::new(AtomicU64::new(0));
    let mut raises = Vec::new();
    for n in 0..a.requests {
        let permit = sem.clone().acquire_owned().await?;
        let (client, base, token, failed) =
            (client.clone(), base.clone(), broker.clone(), failed.clone());
        let district = district.clone();
        raises.push(tokio::spawn(async move {
            let hours = ["3.5", "7", "10.5", "14", "21"][n % 5];
            let r = client
                .post(format!("{base}/api/v1/brokerage/requests"))
                .bearer_auth(&token)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(
                    serde_json::json!({
                        "case_ref": format!("BENCH-{n:06}"),
                        "funding": if n % 9 == 0 { "health" } else { "council" },
                        "postcode": district,
                        "service_line": "general",
                        "hours": hours,
                        "visits_per_day": "2",
                        "visit_minutes": "30",
                        "wanted_start": "2026-12-01",
                        "urgency": "standard",
                    })
                    .to_string(),
                )
                .send()
                .await;
            if !r.is_ok_and(|r| r.status() == reqwest::StatusCode::CREATED) {
                failed.fetch_add(1, Ordering::Relaxed);
            }
            drop(permit);
        }));
    }
    for r in raises {
        r.await?;
    }
    let raised_in = started.elapsed();
    // Until nothing is with providers any more.
    loop {
        let open: i64 = db
            .q()
            .scalar(
                "SELECT COUNT(*) FROM care_requests WHERE lot_id = $1 AND state = 'offering'",
                crate::args![lot],
            )
            .await?;
        if open == 0 {
            break;
        }
        if started.elapsed() > Duration::from_secs(1800) {
            anyhow::bail!("{open} requests still with providers after 30 minutes");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let resolved_in = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let mut lat = Vec::new();
    for w in workers {
        lat.extend(w.await?);
    }
    lat.sort();
    let counts: Vec<(String, i64)> = db
        .q()
        .fetch_all(
            "SELECT state, COUNT(*) FROM care_requests WHERE lot_id = $1 GROUP BY state ORDER BY state",
            crate::args![lot],
        )
        .await?;
    let offers: i64 = db
        .q()
        .scalar(
            "SELECT COUNT(*) FROM offers o JOIN care_requests r ON r.id = o.request_id WHERE r.lot_id = $1",
            crate::args![lot],
        )
        .await?;
    // The cascade's promises, checked on what was stored.
    let twice: i64 = db
        .q()
        .scalar(
            "SELECT COUNT(*) FROM (SELECT o.request_id FROM offers o JOIN care_requests r ON r.id = o.request_id WHERE r.lot_id = $1 AND o.status = 'accepted' GROUP BY o.request_id HAVING COUNT(*) > 1) x",
            crate::args![lot],
        )
        .await?;
    let still_open: i64 = db
        .q()
        .scalar(
            "SELECT COUNT(*) FROM offers o JOIN care_requests r ON r.id = o.request_id WHERE r.lot_id = $1 AND o.status = 'open'",
            crate::args![lot],
        )
        .await?;
    let mismatched: i64 = db
        .q()
        .scalar(
            "SELECT COUNT(*) FROM care_requests r WHERE r.lot_id = $1 AND r.state = 'placed' AND NOT EXISTS (SELECT 1 FROM offers o WHERE o.request_id = r.id AND o.status = 'accepted' AND o.provider_id = r.placed_provider)",
            crate::args![lot],
        )
        .await?;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let pct = |p: f64| {
        lat.get(((p / 100.0) * (lat.len().max(1) - 1) as f64).round() as usize)
            .copied()
            .unwrap_or_default()
    };
    let n_answers = answers.load(Ordering::Relaxed);
    println!(
        "{engine:?}: {} requests raised in {:.2} s ({:.0}/s, {} refused); all resolved in {:.2} s; {}",
        a.requests,
        raised_in.as_secs_f64(),
        a.requests as f64 / raised_in.as_secs_f64(),
        failed.load(Ordering::Relaxed),
        resolved_in.as_secs_f64(),
        counts
            .iter()
            .map(|(s, n)| format!("{n} {s}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  {offers} offers made ({:.1} a request) to {} providers; {n_answers} answers ({:.0}/s; p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms), {} after the offer had closed; accepted twice: {twice}, offers left open: {still_open}, placed without its accepted offer: {mismatched}",
        offers as f64 / a.requests.max(1) as f64,
        a.providers,
        n_answers as f64 / resolved_in.as_secs_f64(),
        ms(pct(50.0)),
        ms(pct(95.0)),
        ms(lat.last().copied().unwrap_or_default()),
        too_late.load(Ordering::Relaxed),
    );
    if twice > 0 || still_open > 0 || mismatched > 0 {
        anyhow::bail!("the cascade's promises did not hold");
    }
    Ok(())
}
