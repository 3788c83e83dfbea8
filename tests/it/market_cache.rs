//! The market picture is built once per data version however many people ask at once, ahead
//! of the first request after an import or a start, and from one row per location.

use caremarket_core::Role;

use crate::support::TestApp;
use crate::support::TestDb;
use crate::support::served::Served;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_first_requests_after_an_import_share_one_build() {
    let app = TestApp::new().await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    let records = std::fs::read_to_string(crate::cqc::api_path()).unwrap();
    let r = admin
        .post_file(
            "/imports",
            &[("kind", "api_records")],
            "api.jsonl",
            &records,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let before = app.state.market_cache.lock().unwrap().builds();
    let (viewer_id, _) = app.user("scrutiny@council.test", Role::Viewer, None).await;
    let token = app.token(viewer_id).await;
    let mut tasks = Vec::new();
    for i in 0..50 {
        let c = app.client().with_bearer(&token);
        tasks.push(tokio::spawn(async move {
            let path = if i % 2 == 0 {
                "/market?area=Plymouth"
            } else {
                "/api/v1/market/summary?area=Devon"
            };
            c.get(path).await.status.as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let builds = app.state.market_cache.lock().unwrap().builds() - before;
    assert!(
        builds <= 1,
        "the market picture was built {builds} times for one data version"
    );
    // One build at most; and at least one since the import (ahead of the requests or by them).
    assert_eq!(
        app.state.market_cache.lock().unwrap().builds(),
        before.max(1),
        "one build in all since the import"
    );
}

#[tokio::test]
async fn todays_ratings_from_the_rows_match_the_history() {
    // Two independent ways to today's ratings: the columns kept at import time, and the
    // rating history worked through as at a date after every publication.
    let app = TestApp::with_api_records().await;
    let today = caremarket::cqc::picture::all_facts(&app.state, None)
        .await
        .unwrap();
    let later = chrono::NaiveDate::from_ymd_opt(2099, 1, 1).unwrap();
    let history = caremarket::cqc::picture::all_facts(&app.state, Some(later))
        .await
        .unwrap();
    assert_eq!(today.facts.len(), history.facts.len());
    assert!(today.facts.len() > 400);
    let by_id: std::collections::HashMap<_, _> = history
        .facts
        .iter()
        .map(|f| (f.location_id.clone(), f.clone()))
        .collect();
    let mut with_key_questions = 0;
    for f in &today.facts {
        let h = &by_id[&f.location_id];
        assert_eq!(f.overall, h.overall, "{}", f.location_id);
        assert_eq!(f.overall_date, h.overall_date, "{}", f.location_id);
        assert_eq!(f.key_questions, h.key_questions, "{}", f.location_id);
        with_key_questions += f.key_questions.iter().any(Option::is_some) as usize;
    }
    assert!(with_key_questions > 300, "{with_key_questions}");
}

#[tokio::test]
async fn a_cold_server_with_the_national_file_answers_fifty_clients_within_bounded_memory() {
    let db = TestDb::new().await;
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_caremarket"))
        .args([
            "import",
            "ratings",
            "data/cqc/cqc_latest_ratings_overall_domain_national_2021-02.csv.gz",
        ])
        .env("CAREMARKET_DATABASE_URL", &db.url)
        .env("CAREMARKET_LOG", "warn")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let app = TestApp::on_existing(&db.url).await;
    let (id, _) = app.user("scrutiny@council.test", Role::Viewer, None).await;
    let token = app.token(id).await;
    let server = Served::start(&db, &[]);
    let auth = format!("Bearer {token}");
    let server = std::sync::Arc::new(server);
    let threads: Vec<_> = (0..50)
        .map(|i| {
            let s = server.clone();
            let auth = auth.clone();
            std::thread::spawn(move || {
                let path = match i % 3 {
                    0 => "/market",
                    1 => "/market?area=Leeds",
                    _ => "/api/v1/market/summary?area=Leicester",
                };
                s.request("GET", path, &[("Authorization", &auth)], b"").0
            })
        })
        .collect();
    let statuses: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let peak = server.peak_mib();
    eprintln!("cold start, national file, 50 clients: server peak {peak:.0} MB");
    // 50 builds at once took 1.25 GB; one shared build is a small part of that.
    assert!(peak < 300.0, "peak {peak:.0} MB");
}
