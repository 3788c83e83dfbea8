//! The CQC API sync against a fake CQC API on a loopback port: CQC's quirks (IDs that 404,
//! soft and real 429s), resuming after a failure or a kill, and no duplicate history rows.

use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::time::Duration;

use caremarket::audit::Actor;
use caremarket::clock::Clock;
use caremarket::cqc::sync::{SyncOptions, SyncOutcome, sync};
use chrono::{DateTime, SubsecRound, TimeZone, Utc};

use crate::support::TestApp;
use crate::support::fake_cqc::{self, FakeCqc, Quirks};

fn since() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2021, 1, 1, 0, 0, 0).unwrap()
}

fn options(fake: &FakeCqc) -> SyncOptions {
    let mut o = SyncOptions::new(&fake.url, Some(fake_cqc::KEY.to_string()));
    o.since = Some(since());
    o.backoff_unit = Duration::from_millis(1);
    o.max_attempts = 4;
    o
}

async fn run(app: &TestApp, opts: &SyncOptions) -> anyhow::Result<SyncOutcome> {
    sync(&app.state, &Actor::cli("sync-test"), opts, &|_| {}).await
}

fn missing_ids() -> Vec<String> {
    vec![
        "1-900000001".into(),
        "1-900000002".into(),
        "1-900000003".into(),
    ]
}

/// Overall ratings in the raw sample, worked out without the app's parser: per location, one
/// per distinct report date of the current rating and of each historic rating. Outcomes from
/// before CQC's ratings began ("No action", "Compliance action") are not ratings.
fn expected_overall_ratings() -> i64 {
    const RATINGS: [&str; 7] = [
        "outstanding",
        "good",
        "requires improvement",
        "inadequate",
        "inspected but not rated",
        "insufficient evidence to rate",
        "no published rating",
    ];
    let rating = |v: &serde_json::Value| {
        v.as_str()
            .is_some_and(|r| RATINGS.contains(&r.trim().to_lowercase().as_str()))
    };
    let mut n = 0;
    for line in fake_cqc::sample_jsonl()
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let mut dates = HashSet::new();
        let cur = &v["currentRatings"]["overall"];
        if let (true, Some(d)) = (rating(&cur["rating"]), cur["reportDate"].as_str()) {
            dates.insert(d.to_string());
        }
        for h in v["historicRatings"].as_array().into_iter().flatten() {
            if let (true, Some(d)) = (rating(&h["overall"]["rating"]), h["reportDate"].as_str()) {
                dates.insert(d.to_string());
            }
        }
        n += dates.len() as i64;
    }
    n
}

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    app.db().q().scalar(sql, vec![]).await.unwrap()
}

/// (checkpoint, window_end, window_done)
async fn sync_state(
    db: &caremarket::db::Db,
) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>, i64) {
    db.q()
        .fetch_one(
            "SELECT checkpoint, window_end, window_done FROM cqc_sync_state WHERE id = 1",
            vec![],
        )
        .await
        .unwrap()
}

async fn duplicate_rating_keys(app: &TestApp) -> i64 {
    scalar(
        app,
        "SELECT COUNT(*) FROM (SELECT location_id FROM cqc_ratings GROUP BY location_id, service_group, domain, publication_date HAVING COUNT(*) > 1) d",
    )
    .await
}

#[tokio::test]
async fn full_sync_handles_404s_and_soft_and_hard_429s() {
    let app = TestApp::new().await;
    let fake = FakeCqc::start(Quirks {
        missing: missing_ids(),
        soft_429: HashSet::from([7, 8]),
        hard_429: HashSet::from([150]),
        soft_429_changes: HashSet::from([2]),
        ..Default::default()
    })
    .await;
    let feed = fake.feed_ids();
    assert_eq!(feed.len(), 424);

    let o = run(&app, &options(&fake)).await.expect("sync");

    assert_eq!(o.listed, 424);
    assert_eq!(o.synced, 421);
    assert_eq!(o.not_found, 3);
    assert_eq!(o.rejected, 0);
    assert_eq!(
        o.rate_limited, 4,
        "two soft 429s, one real, one on the feed"
    );
    assert_eq!(o.other_retries, 0);
    assert_eq!(o.batches, 5);
    assert_eq!(o.resumed_at, None);
    assert_eq!(o.window_start, since());
    assert_eq!(o.window_end, app.clock.now().trunc_subsecs(0));

    // The feed caps pages at 100 whatever we ask: five pages, one asked twice after a soft 429.
    assert_eq!(fake.changes_requests(), 6);
    let q = &fake.changes_queries()[0];
    assert_eq!(q["startTimestamp"], "2021-01-01T00:00:00Z");
    assert_eq!(
        q["endTimestamp"],
        o.window_end.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    );
    // Every ID once, the three rate-limited requests once more.
    assert_eq!(fake.location_requests(), 424 + 3);
    assert_eq!(fake.refused(), 0, "key and User-Agent were sent");
    for id in &missing_ids() {
        assert_eq!(
            fake.requests_for(id),
            1,
            "{id} is asked for once and skipped"
        );
    }

    assert_eq!(app.count("cqc_locations").await, 421);
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM cqc_locations WHERE location_id LIKE '1-90000000%'"
        )
        .await,
        0
    );
    let expected = expected_overall_ratings();
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM cqc_ratings WHERE domain = 'Overall'"
        )
        .await,
        expected
    );
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM cqc_ratings WHERE source <> 'sync'"
        )
        .await,
        0
    );
    assert_eq!(duplicate_rating_keys(&app).await, 0);
    // One import row and one audit entry per committed batch.
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM cqc_imports WHERE kind = 'sync'").await,
        5
    );
    assert_eq!(
        scalar(&app, "SELECT CAST(SUM(rows_in) AS BIGINT) FROM cqc_imports").await,
        421
    );
    let edition: chrono::NaiveDate = app
        .db()
        .q()
        .scalar("SELECT MIN(edition) FROM cqc_imports", vec![])
        .await
        .unwrap();
    assert_eq!(edition, o.window_end.date_naive());
    assert_eq!(
        app.audit_actions()
            .await
            .iter()
            .filter(|a| *a == "cqc.import")
            .count(),
        5
    );
    let (checkpoint, window_end, _) = sync_state(app.db()).await;
    assert_eq!(checkpoint, Some(o.window_end));
    assert_eq!(window_end, None, "the window is closed");
}

#[tokio::test]
async fn a_second_sync_without_changes_changes_nothing() {
    let app = TestApp::new().await;
    let fake = FakeCqc::start(Quirks::default()).await;
    let first = run(&app, &options(&fake)).await.unwrap();
    assert_eq!(first.synced, 421);
    let locations = app.count("cqc_locations").await;
    let ratings = app.count("cqc_ratings").await;
    let imports = app.count("cqc_imports").await;
    let audit = app.count("audit_log").await;
    let requests = fake.location_requests();
    let listings = fake.changes_requests();

    // Again within the same second: an empty window, nothing asked of CQC.
    let o = run(&app, &options(&fake)).await.unwrap();
    assert_eq!(
        (o.window_start, o.window_end),
        (first.window_end, first.window_end)
    );
    assert_eq!((o.listed, o.batches), (0, 0));
    assert_eq!(fake.changes_requests(), listings);

    app.clock.advance(chrono::Duration::hours(1));
    let o = run(&app, &options(&fake)).await.unwrap();
    assert!(o.since_ignored, "the checkpoint wins over --since");
    assert_eq!(o.window_start, first.window_end);
    assert_eq!((o.listed, o.synced, o.batches), (0, 0, 0));
    assert_eq!(fake.location_requests(), requests);
    assert_eq!(
        fake.changes_queries().last().unwrap()["startTimestamp"],
        first.window_end.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    );
    assert_eq!(app.count("cqc_locations").await, locations);
    assert_eq!(app.count("cqc_ratings").await, ratings);
    assert_eq!(app.count("cqc_imports").await, imports);
    assert_eq!(app.count("audit_log").await, audit);
    let (checkpoint, _, _) = sync_state(app.db()).await;
    assert_eq!(checkpoint, Some(o.window_end));
    assert!(o.window_end > first.window_end);
}

#[tokio::test]
async fn resyncing_the_same_records_adds_no_history_rows() {
    let app = TestApp::new().await;
    let fake = FakeCqc::start(Quirks::default()).await;
    let first = run(&app, &options(&fake)).await.unwrap();
    let ratings = app.count("cqc_ratings").await;
    let services = app.count("cqc_location_services").await;
    let relationships = app.count("cqc_relationships").await;

    // CQC lists every home as changed again, with nothing new in the records.
    fake.add_changes(&fake.ids, first.window_end + chrono::Duration::minutes(30));
    app.clock.advance(chrono::Duration::hours(1));
    let o = run(&app, &options(&fake)).await.unwrap();
    assert_eq!((o.listed, o.synced, o.not_found), (421, 421, 0));

    assert_eq!(app.count("cqc_locations").await, 421);
    assert_eq!(app.count("cqc_ratings").await, ratings);
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM cqc_ratings WHERE domain = 'Overall'"
        )
        .await,
        expected_overall_ratings()
    );
    assert_eq!(duplicate_rating_keys(&app).await, 0);
    assert_eq!(app.count("cqc_location_services").await, services);
    assert_eq!(app.count("cqc_relationships").await, relationships);
    // Both sightings are recorded, as imports of their own.
    assert_eq!(app.count("cqc_imports").await, 10);
}

#[tokio::test]
async fn a_run_that_gives_up_resumes_without_refetching_committed_batches() {
    let app = TestApp::new().await;
    let fake = FakeCqc::start(Quirks {
        missing: missing_ids(),
        ..Default::default()
    })
    .await;
    let feed = fake.feed_ids();
    // The 151st ID of the feed is in the second batch; CQC keeps rate limiting it.
    let stuck = feed[150].clone();
    fake.set_quirks(|q| q.always_limited = Some(stuck.clone()));
    let mut opts = options(&fake);
    opts.max_attempts = 3;

    let err = run(&app, &opts).await.unwrap_err().to_string();
    assert!(
        err.contains("gave up after 3 attempts") && err.contains("rate limited"),
        "{err}"
    );
    assert!(err.contains(&stuck), "the error names the request: {err}");
    let (checkpoint, window_end, done) = sync_state(app.db()).await;
    assert_eq!(checkpoint, None, "no checkpoint until the window is done");
    assert!(window_end.is_some());
    assert_eq!(done, 100, "the first batch is committed");
    assert_eq!(app.count("cqc_locations").await, 100);
    assert_eq!(app.count("cqc_imports").await, 1);
    let changes_before = fake.changes_requests();

    // CQC stops limiting; a later run (an hour on) finishes the same window.
    fake.set_quirks(|q| q.always_limited = None);
    app.clock.advance(chrono::Duration::hours(1));
    let o = run(&app, &opts).await.unwrap();
    assert_eq!(o.resumed_at, Some(100));
    assert_eq!(o.window_end, window_end.unwrap(), "the same window");
    assert_eq!((o.listed, o.synced, o.not_found), (424, 321, 3));
    assert_eq!(
        fake.changes_requests(),
        changes_before,
        "the feed is not listed again"
    );
    for id in &feed[..100] {
        assert_eq!(
            fake.requests_for(id),
            1,
            "{id} was committed and not fetched again"
        );
    }
    assert_eq!(fake.requests_for(&stuck), 3 + 1);
    assert_eq!(app.count("cqc_locations").await, 421);
    assert_eq!(duplicate_rating_keys(&app).await, 0);
    let (checkpoint, window_end, _) = sync_state(app.db()).await;
    assert_eq!(checkpoint, Some(o.window_end));
    assert_eq!(window_end, None);
}

fn caremarket_sync(db_url: &str, fake: &FakeCqc, key: &str, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_caremarket"));
    c.args(["sync", "cqc"])
        .args(extra)
        .env("CAREMARKET_DATABASE_URL", db_url)
        .env("CAREMARKET_CQC_API_URL", &fake.url)
        .env("CAREMARKET_CQC_API_KEY", key)
        .env("CAREMARKET_CQC_BACKOFF_UNIT_MS", "1")
        .env("CAREMARKET_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// Runs a command to its end off the test's runtime, which keeps serving the fake API.
async fn output(mut c: Command) -> (bool, String) {
    let o = tokio::task::spawn_blocking(move || c.output().expect("run caremarket"))
        .await
        .unwrap();
    (
        o.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

#[tokio::test]
async fn cli_sync_resumes_after_being_killed() {
    let app = TestApp::new().await;
    let url = app.db.url.clone();
    let fake = FakeCqc::start(Quirks {
        missing: missing_ids(),
        hang_after: Some(120),
        soft_429: HashSet::from([3]),
        ..Default::default()
    })
    .await;
    let feed = fake.feed_ids();
    let mut child = caremarket_sync(
        &url,
        &fake,
        fake_cqc::KEY,
        &["--since", "2021-01-01T00:00:00Z", "--batch-size", "50"],
    )
    .spawn()
    .unwrap();
    // Request 121 hangs: by then two batches of 50 are committed and the third is underway.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while fake.location_requests() <= 120 {
        assert!(
            std::time::Instant::now() < deadline,
            "the sync did not get going"
        );
        assert!(child.try_wait().unwrap().is_none(), "the sync ended early");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let (checkpoint, window_end, done) = sync_state(app.db()).await;
    assert_eq!(checkpoint, None);
    assert!(window_end.is_some());
    assert_eq!(done, 100);
    assert_eq!(app.count("cqc_locations").await, 100);

    fake.set_quirks(|q| q.hang_after = None);
    let (ok, out) = output(caremarket_sync(
        &url,
        &fake,
        fake_cqc::KEY,
        &["--batch-size", "50"],
    ))
    .await;
    assert!(ok, "{out}");
    assert!(
        out.contains("Resumed the window 2021-01-01T00:00:00Z to ")
            && out.contains(": 100 of 424 locations were already done"),
        "{out}"
    );
    assert!(
        out.contains("Synced 321 locations (3 not found, 0 retries after rate limiting) up to "),
        "{out}"
    );
    for id in &feed[..100] {
        assert_eq!(
            fake.requests_for(id),
            if *id == feed[2] { 2 } else { 1 },
            "{id}"
        );
    }
    // Request 121 (one more for the soft 429) was for the 120th ID: it hung when the run
    // was killed, and is fetched again, once.
    assert_eq!(fake.requests_for(&feed[119]), 2);
    assert_eq!(fake.requests_for(&feed[120]), 1);
    assert_eq!(fake.changes_requests(), 5, "listed once, by the killed run");
    assert_eq!(app.count("cqc_locations").await, 421);
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM cqc_ratings WHERE domain = 'Overall'"
        )
        .await,
        expected_overall_ratings()
    );
    assert_eq!(duplicate_rating_keys(&app).await, 0);
    let actors: Vec<(String,)> = app
        .db()
        .q()
        .fetch_all("SELECT DISTINCT actor FROM cqc_imports", vec![])
        .await
        .unwrap();
    assert!(
        actors.len() == 1 && actors[0].0.starts_with("cli:"),
        "{actors:?}"
    );
    let (checkpoint, window_end, _) = sync_state(app.db()).await;
    assert!(checkpoint.is_some() && window_end.is_none());

    // Nothing new since: the next run only lists the feed.
    let (ok, out) = output(caremarket_sync(&url, &fake, fake_cqc::KEY, &[])).await;
    assert!(ok, "{out}");
    assert!(
        out.contains("Synced 0 locations (0 not found, 0 retries after rate limiting)"),
        "{out}"
    );
}

#[tokio::test]
async fn cli_sync_needs_a_start_and_a_valid_key() {
    let app = TestApp::new().await;
    let url = app.db.url.clone();
    let fake = FakeCqc::start(Quirks::default()).await;

    let (ok, out) = output(caremarket_sync(&url, &fake, fake_cqc::KEY, &[])).await;
    assert!(!ok);
    assert!(out.contains("--since"), "{out}");

    let (ok, out) = output(caremarket_sync(
        &url,
        &fake,
        "wrong-key",
        &["--since", "2021-01-01T00:00:00Z"],
    ))
    .await;
    assert!(!ok);
    assert!(out.contains("subscription key"), "{out}");
    assert!(!out.contains("wrong-key"), "the key is not echoed: {out}");
    assert_eq!(fake.refused(), 1);
    assert_eq!(fake.location_requests(), 0);
    let (checkpoint, window_end, _) = sync_state(app.db()).await;
    assert_eq!((checkpoint, window_end), (None, None));

    let (ok, out) = output(caremarket_sync(&url, &fake, fake_cqc::KEY, &["--help"])).await;
    assert!(ok, "{out}");
    assert!(
        out.contains("--api-key") && out.contains("CAREMARKET_CQC_API_KEY"),
        "{out}"
    );
    assert!(
        !out.contains("fake-cqc-key"),
        "help does not show the key's value: {out}"
    );
}

/// A sync run records only what changed: the locations synced before stay in the market
/// (search and figures) until CQC deregisters them.
#[tokio::test]
async fn an_incremental_sync_keeps_earlier_locations_in_the_market() {
    let app = TestApp::new().await;
    let fake = FakeCqc::start(Quirks::default()).await;
    let first = run(&app, &options(&fake)).await.unwrap();
    assert_eq!(first.synced, 421);
    let (c, _) = app.signed_in(caremarket_core::Role::Viewer).await;
    let before = c.get("/api/v1/locations?care_home=yes").await.json()["total"].clone();
    assert_eq!(before, 421);
    let market = c.get("/api/v1/market/summary?england=true").await.json();
    assert_eq!(market["care_homes"]["locations"], 421);
    // The next day, two locations change.
    app.clock.advance(chrono::Duration::days(1));
    let ids: Vec<String> = fake.feed_ids().into_iter().take(2).collect();
    fake.add_changes(&ids, app.clock.now() - chrono::Duration::minutes(5));
    let second = run(&app, &options(&fake)).await.unwrap();
    assert_eq!(second.synced, 2);
    let (c, _) = app.signed_in(caremarket_core::Role::Viewer).await;
    assert_eq!(
        c.get("/api/v1/locations?care_home=yes").await.json()["total"],
        421
    );
    let market = c.get("/api/v1/market/summary?england=true").await.json();
    assert_eq!(
        market["care_homes"]["locations"], 421,
        "the other 419 are still registered"
    );
    let gone = market["watch"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["key"] == "deregistrations");
    assert!(
        gone.is_none_or(|w| w["count"] == 0),
        "sync runs are not compared as snapshots"
    );
}
