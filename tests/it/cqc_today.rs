//! Today's CQC data (2024–2026 shapes): deregistered locations in API records, ratings only
//! under the Single Assessment Framework, `Not Rated` under Overall beside a rated `Care
//! Homes` group, files re-saved with US dates, columns where every date is ambiguous, and
//! location-level exports with no `Care Home?` column. Each fixture in
//! tests/it/fixtures/cqc_2025 was written by hand from CQC's published shapes; the figures
//! are checked against tests/it/scripts/expected_2025.py, which reads the raw files with
//! nothing of caremarket's.

use caremarket_core::Role;
use serde_json::Value;
use std::sync::OnceLock;

use crate::cqc::{cli, summary};
use crate::support::{TestApp, TestDb};

const EDITION: &str = "2025-06-30";

fn fixture(name: &str) -> String {
    format!(
        "{}/tests/it/fixtures/cqc_2025/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn expected() -> &'static Value {
    static E: OnceLock<Value> = OnceLock::new();
    E.get_or_init(|| crate::support::script_json("expected_2025.py", &[&fixture(""), EDITION]))
}

/// Imports a fixture through the CLI (the kind worked out from the file), with its output.
fn import(db: &TestDb, file: &str, extra: &[&str]) -> String {
    let path = fixture(file);
    let mut args = vec!["import", path.as_str()];
    args.extend(extra);
    let (ok, out) = cli(db, &args);
    assert!(ok, "{out}");
    out
}

/// The care home figures of a council against the script's.
fn assert_care_homes(db: &TestDb, area: &str, extra: &[&str], x: &Value) {
    let mut args = vec!["--area", area, "--service-type", "care-home"];
    args.extend(extra);
    let s = summary(db, &args);
    assert_eq!(s["locations"], x["care_homes"], "{area} care homes: {s}");
    assert_eq!(s["rated"], x["rated"], "{area} rated: {s}");
    assert_eq!(
        s["good"].as_u64().unwrap() + s["outstanding"].as_u64().unwrap(),
        x["good_or_outstanding"].as_u64().unwrap(),
        "{area}: {s}"
    );
    assert_eq!(s["good_or_outstanding_pct"], x["pct"], "{area}: {s}");
    assert_eq!(s["beds"], x["beds"], "{area} beds: {s}");
}

#[tokio::test]
async fn api_records_with_deregistered_and_saf_only_homes() {
    let db = TestDb::new().await;
    // Worked out from the file, and said.
    let out = import(
        &db,
        "api_records_torbay_2025-06.jsonl",
        &["--edition", EDITION],
    );
    assert!(out.contains("is a CQC API location records file"), "{out}");
    assert!(
        out.contains("1 record is of deregistered locations"),
        "{out}"
    );
    let e = expected();
    // The deregistered home (Inadequate) is not in the market after 31 March 2025: 3 of 4
    // Good or Outstanding, not 3 of 5.
    assert_care_homes(&db, "Torbay", &[], &e["api_torbay"]);
    let all = summary(&db, &["--area", "Torbay"]);
    assert_eq!(all["locations"], e["api_torbay"]["locations"]);
    // Before it closed it was part of the market, and its history is kept.
    assert_care_homes(
        &db,
        "Torbay",
        &["--as-at", "2025-03-30"],
        &e["api_torbay_before_deregistration"],
    );

    let app = TestApp::on_existing(&db.url).await;
    let (c, _) = app.signed_in(Role::Commissioner).await;
    // The SAF-only home: its rating, framework and key question scores.
    let p = c.get("/locations/1-9000000003").await;
    assert!(p.body.contains("Requires improvement"), "{}", p.body);
    assert!(p.body.contains("Single Assessment Framework"), "{}", p.body);
    assert!(p.body.contains("56%"), "{}", p.body);
    // The home rated under both frameworks: the later (SAF, Outstanding) stands, the 2018
    // inspection rating is in its history.
    let j = c.get("/api/v1/locations/1-9000000004").await.json();
    assert_eq!(j["overall_rating"], "Outstanding", "{j}");
    let p = c.get("/locations/1-9000000004").await;
    assert!(
        p.body.contains("Inspection (2014 framework)") && p.body.contains("1 March 2018"),
        "{}",
        p.body
    );
    // The deregistered home keeps its page and history, and says it is deregistered.
    let p = c.get("/locations/1-9000000002").await;
    assert!(p.body.contains("Deregistered"), "{}", p.body);
    assert!(p.body.contains("Inadequate"), "{}", p.body);
}

#[tokio::test]
async fn not_rated_overall_beside_a_rated_care_homes_group() {
    let db = TestDb::new().await;
    let app = TestApp::on_existing(&db.url).await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    // Through the upload page, letting caremarket work out which file it is.
    let body = std::fs::read_to_string(fixture("latest_ratings_halton_2025-06.csv")).unwrap();
    let r = admin
        .post_file(
            "/imports",
            &[("kind", "auto"), ("date_order", "auto")],
            "latest_ratings_halton_2025-06.csv",
            &body,
        )
        .await;
    assert_eq!(r.status, axum::http::StatusCode::OK, "{}", r.body);
    assert!(
        r.body
            .contains("Latest ratings file: it has a row per location"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("2 rows give a value that is not a rating"),
        "{}",
        r.body
    );
    let e = expected();
    assert_care_homes(&db, "Halton", &[], &e["ratings_halton"]);
    let all = summary(&db, &["--area", "Halton"]);
    assert_eq!(all["locations"], e["ratings_halton"]["locations"]);
    // Bridge House: Not Rated under Overall, Good under Care Homes.
    let j = admin.get("/api/v1/locations/1-9100000001").await.json();
    assert_eq!(j["overall_rating"], "Good", "{j}");
    // Dock Lodge: a care home rated only under Homecare is not rated.
    let j = admin.get("/api/v1/locations/1-9100000003").await.json();
    assert_ne!(j["overall_rating"], "Good", "{j}");
    // The data quality page states the rule and how often each part of it decided.
    let q = admin.get("/data-quality").await;
    assert!(q.body.contains("own rating"), "{}", q.body);
    assert!(q.body.contains("Its service group"), "{}", q.body);
}

#[tokio::test]
async fn us_dates_and_ambiguous_dates_are_read_per_column() {
    let db = TestDb::new().await;
    let (ok, out) = cli(
        &db,
        &[
            "import",
            "ratings",
            &fixture("latest_ratings_halton_2025-06_us_dates.csv"),
        ],
    );
    assert!(ok, "{out}");
    assert!(out.contains("dates read month first"), "{out}");
    let e = expected();
    assert_care_homes(&db, "Halton", &[], &e["ratings_halton_us"]);
    let dates: Vec<String> = {
        let app = TestApp::on_existing(&db.url).await;
        let rows: Vec<(chrono::NaiveDate,)> = app
            .db()
            .q()
            .fetch_all(
                "SELECT DISTINCT publication_date FROM cqc_ratings ORDER BY publication_date",
                vec![],
            )
            .await
            .unwrap();
        rows.into_iter().map(|r| r.0.to_string()).collect()
    };
    let want: Vec<String> = e["ratings_halton_us"]["dates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap().to_string())
        .collect();
    assert_eq!(dates, want);

    // Every date ambiguous: read day first and said; --date-order mdy reads them the US way.
    for (order, key) in [(None, "ambiguous_dmy"), (Some("mdy"), "ambiguous_mdy")] {
        let db = TestDb::new().await;
        let path = fixture("latest_ratings_ambiguous_dates.csv");
        let mut args = vec!["import", path.as_str()];
        if let Some(o) = order {
            args.extend(["--date-order", o]);
        }
        let (ok, out) = cli(&db, &args);
        assert!(ok, "{out}");
        if order.is_none() {
            assert!(out.contains("every date could be read either way"), "{out}");
        }
        let app = TestApp::on_existing(&db.url).await;
        let rows: Vec<(chrono::NaiveDate,)> = app
            .db()
            .q()
            .fetch_all(
                "SELECT publication_date FROM cqc_ratings ORDER BY publication_date",
                vec![],
            )
            .await
            .unwrap();
        let got: Vec<String> = rows.into_iter().map(|r| r.0.to_string()).collect();
        assert_eq!(
            serde_json::to_value(&got).unwrap(),
            expected()[key]["dates"],
            "{key}"
        );
    }
    // A column with both kinds is refused whole, naming the column.
    let db = TestDb::new().await;
    let mixed = std::env::temp_dir().join(format!("mixed-{}.csv", crate::support::random_name()));
    let base = std::fs::read_to_string(fixture("latest_ratings_halton_2025-06.csv")).unwrap();
    std::fs::write(&mixed, base.replace("20/11/2020", "11/20/2020")).unwrap();
    let (ok, out) = cli(&db, &["import", mixed.to_str().unwrap()]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("\"Publication Date\" has dates written both day first"),
        "{out}"
    );
    let _ = std::fs::remove_file(mixed);
}

#[tokio::test]
async fn a_location_export_without_a_care_home_column() {
    let db = TestDb::new().await;
    let (ok, out) = cli(
        &db,
        &["import", &fixture("location_export_rutland_2026-01.csv")],
    );
    assert!(ok, "{out}");
    let e = &expected()["export_rutland"];
    assert!(
        out.contains("is a Care directory (HSCA active locations) file"),
        "{out}"
    );
    // The rule and how many rows each part of it decided.
    assert!(
        out.contains(&format!(
            "its service types {}, its primary inspection category {}",
            e["basis"]["service_types"], e["basis"]["inspection_category"]
        )),
        "{out}"
    );
    assert_care_homes(&db, "Rutland", &[], e);
    // Regions as the other files name them.
    let s = summary(&db, &["--region", e["region"].as_str().unwrap()]);
    assert_eq!(s["locations"], e["locations"], "{s}");
    // Key question ratings from their columns.
    let app = TestApp::on_existing(&db.url).await;
    let (c, _) = app.signed_in(Role::Commissioner).await;
    let j = c.get("/api/v1/locations/1-9300000002").await.json();
    assert_eq!(j["well_led_rating"], "Requires improvement", "{j}");

    // The same file and the API records file through the upload page give the same figures.
    let db = TestDb::new().await;
    let app = TestApp::on_existing(&db.url).await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    for (file, said) in [
        (
            "location_export_rutland_2026-01.csv",
            "Care directory (HSCA active locations) file",
        ),
        (
            "api_records_torbay_2025-06.jsonl",
            "CQC API location records file",
        ),
    ] {
        let body = std::fs::read_to_string(fixture(file)).unwrap();
        let r = admin
            .post_file(
                "/imports",
                &[("kind", "auto"), ("edition", "30/06/2025")],
                file,
                &body,
            )
            .await;
        assert_eq!(r.status, axum::http::StatusCode::OK, "{}", r.body);
        assert!(r.body.contains(said), "{}", r.body);
    }
    assert_care_homes(&db, "Rutland", &[], e);
    assert_care_homes(&db, "Torbay", &[], &expected()["api_torbay"]);
}

#[tokio::test]
async fn a_deregistered_home_in_a_sync_run_leaves_the_market() {
    use crate::support::fake_cqc::{FakeCqc, KEY, Quirks};
    let app = TestApp::new().await;
    let extra = std::fs::read_to_string(fixture("api_records_torbay_2025-06.jsonl")).unwrap();
    let fake = FakeCqc::start_with(Quirks::default(), &extra).await;
    let mut o = caremarket::cqc::sync::SyncOptions::new(&fake.url, Some(KEY.to_string()));
    o.since = Some(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2021, 1, 1, 0, 0, 0).unwrap());
    o.backoff_unit = std::time::Duration::from_millis(1);
    let done = caremarket::cqc::sync::sync(
        &app.state,
        &caremarket::audit::Actor::cli("sync-test"),
        &o,
        &|_| {},
    )
    .await
    .unwrap();
    assert_eq!(done.synced, 421 + 6);
    let (c, _) = app.signed_in(Role::Viewer).await;
    let m = c.get("/api/v1/market/summary?area=Torbay").await.json();
    let x = &expected()["api_torbay"];
    let homes = &m["care_homes"];
    assert_eq!(homes["locations"], x["care_homes"], "{m}");
    assert_eq!(homes["rated"], x["rated"], "{m}");
    assert_eq!(homes["good_or_outstanding_pct"], x["pct"], "{m}");
    assert_eq!(homes["beds"], x["beds"], "{m}");
    // The closed home is listed nowhere as current, but keeps its page.
    let list = c.get("/api/v1/locations?area=Torbay").await.json();
    assert_eq!(list["total"], x["locations"], "{list}");
    assert_eq!(
        c.get("/locations/1-9000000002").await.status,
        axum::http::StatusCode::OK
    );
}

#[tokio::test]
async fn a_re_registration_chain_and_a_dual_registration_are_each_one_home() {
    let db = TestDb::new().await;
    // March 2022: the home under its second registration; June 2025: under its third, with
    // the rating it inherited, and a home registered twice at once.
    for (file, edition) in [
        ("api_records_torridge_2022-03.jsonl", "2022-03-01"),
        ("api_records_torridge_2025-06.jsonl", EDITION),
    ] {
        let (ok, out) = cli(&db, &["import", &fixture(file), "--edition", edition]);
        assert!(ok, "{out}");
    }
    let x = &expected()["torridge"];
    assert_eq!(
        x["registrations_in_market"], 4,
        "the script sees the double entry"
    );
    // Counted once each: 3 homes, not 4; beds 75, not 105.
    assert_care_homes(&db, "Torridge", &[], x);
    let s = summary(&db, &["--area", "Torridge"]);
    let notes = s["coverage"]["notes"].to_string();
    assert!(
        notes.contains("registered under two location IDs at once"),
        "{notes}"
    );
    assert!(
        notes.contains("A location's rating: the latest published"),
        "{notes}"
    );

    let app = TestApp::on_existing(&db.url).await;
    let (c, _) = app.signed_in(Role::Commissioner).await;
    // The profile of the current registration lists all three, with their providers and
    // dates, and one rating history (the 2016 rating given to the first registration).
    let p = c.get("/locations/1-9400000003").await;
    assert!(p.body.contains("Registrations of this home"), "{}", p.body);
    for id in [
        "1-9400000001",
        "1-9400000002",
        "1-8400000001",
        "1-8400000003",
    ] {
        assert!(p.body.contains(id), "{id}: {}", p.body);
    }
    assert!(p.body.contains("1 February 2016"), "{}", p.body);
    assert!(p.body.contains("(inherited)"), "{}", p.body);
    // The dual registration is shown as such, once.
    let p = c.get("/locations/1-9400000012").await;
    assert!(p.body.contains("Dual registration"), "{}", p.body);
    // Change over time follows the home: a re-registration, not a closure and a new home.
    let d = c.get("/api/v1/market/summary?area=Torridge").await.json();
    let watch = |key: &str| {
        d["watch"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["key"] == key)
            .map(|w| w["count"].clone())
    };
    assert_eq!(watch("re-registrations"), Some(1.into()), "{d}");
    assert_eq!(watch("deregistrations"), Some(0.into()), "{d}");
    // Nothing new since 2022: the dual pair's second registration is the same home.
    assert_eq!(watch("new-registrations"), Some(0.into()), "{d}");
}

#[tokio::test]
async fn one_clock_the_datas_own_date_decides_how_old() {
    // The data is of 30 June 2025; the machine's clock is later (today). Every page measures
    // a rating's age from the data's date: the data quality page, the dashboard's watch list
    // and the risk tool agree.
    let db = TestDb::new().await;
    import(
        &db,
        "api_records_torbay_2025-06.jsonl",
        &["--edition", EDITION],
    );
    let app = TestApp::on_existing(&db.url).await;
    app.db()
        .q()
        .execute(
            "INSERT INTO areas (name, ons_code, created_at) VALUES ('Torbay', 'E06000027', '2026-01-01T00:00:00Z')",
            vec![],
        )
        .await
        .unwrap();
    let (c, _) = app.signed_in(Role::Commissioner).await;
    // Rated more than 4 years before 30 June 2025: Harbour View (May 2019) only; by the
    // machine's clock Quiet Haven (June 2021) and Homecare Direct (2022) would be too.
    let d = c.get("/api/v1/market/summary?area=Torbay").await.json();
    let over4 = d["watch"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["key"] == "rating-over-4-years")
        .unwrap()["count"]
        .clone();
    assert_eq!(over4, 1, "{d}");
    let q = c.get("/data-quality?area=Torbay").await;
    assert!(
        q.body
            .contains("/locations?quality=rating-over-4-years&#38;area=Torbay\">1<"),
        "{}",
        q.body
    );
    assert!(q.body.contains("30 June 2025"), "{}", q.body);
    // The risk tool: Quiet Haven's rating is 4 whole years old at the data's date.
    let w = caremarket_core::risk::Weights::default();
    let want = (4 * w.per_year_since_rating).min(w.max_rating_age);
    let risk = c.get("/api/v1/quality/risk").await.json();
    let quiet = risk
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["location_id"] == "1-9000000006")
        .unwrap_or_else(|| panic!("{risk}"));
    let age = quiet["contributions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["factor"] == "Age of the CQC rating")
        .unwrap()["points"]
        .clone();
    assert_eq!(age, want, "{quiet}");
}

#[tokio::test]
async fn each_fixture_changes_the_figures_it_should_and_no_other() {
    // The real national file of February 2021, then today's API records and a location
    // export for other councils: England grows by exactly the fixtures' homes in the market,
    // and Leeds, which none of them touches, keeps PRODUCT.md's figures.
    let db = TestDb::new().await;
    let (ok, out) = cli(&db, &["import", "ratings", &crate::cqc::ratings_path()]);
    assert!(ok, "{out}");
    for (file, edition) in [
        ("api_records_torbay_2025-06.jsonl", EDITION),
        ("api_records_torridge_2025-06.jsonl", EDITION),
        ("location_export_rutland_2026-01.csv", "2026-01-31"),
    ] {
        import(&db, file, &["--edition", edition]);
    }
    let e = expected();
    let added = |k: &str| -> u64 {
        ["api_torbay", "torridge", "export_rutland"]
            .iter()
            .map(|f| e[f][k].as_u64().unwrap())
            .sum()
    };
    let england = summary(&db, &["--service-type", "care-home"]);
    assert_eq!(
        england["locations"],
        14_840 + added("care_homes"),
        "{england}"
    );
    assert_eq!(england["rated"], 14_839 + added("rated"), "{england}");
    let leeds = summary(&db, &["--area", "Leeds", "--service-type", "care-home"]);
    assert_eq!(
        (
            leeds["locations"].clone(),
            leeds["good_or_outstanding_pct"].clone()
        ),
        (146.into(), 84.9.into()),
        "{leeds}"
    );
}

/// Brokerage's quality ranking reads each provider's worst current rating: a location CQC
/// calls deregistered never counts, whether the record gives a deregistration date or only
/// the status. Worked by hand: provider 1-8000000002 keeps Old Mill (Inadequate, closed
/// 31 March 2025) from the fixture, gains Mill Lane (Good, registered) and Mill House
/// (Requires improvement, "Deregistered" with no date): its CQC level is Good's (1), where
/// reading every location would give Inadequate's (3).
#[tokio::test]
async fn brokerage_quality_never_reads_a_deregistered_location() {
    let app = TestApp::new().await;
    let mut file = std::fs::read_to_string(fixture("api_records_torbay_2025-06.jsonl")).unwrap();
    let old_mill = file
        .lines()
        .find(|l| l.contains("\"1-9000000002\""))
        .unwrap()
        .to_string();
    let with = |id: &str, name: &str, rating: &str, status: Option<&str>| {
        let mut r: Value = serde_json::from_str(&old_mill).unwrap();
        r["locationId"] = id.into();
        r["name"] = name.into();
        r["currentRatings"]["overall"]["rating"] = rating.into();
        r.as_object_mut().unwrap().remove("deregistrationDate");
        r["registrationStatus"] = status.unwrap_or("Registered").into();
        r.to_string()
    };
    file.push_str(&with("1-9000000101", "Mill Lane", "Good", None));
    file.push('\n');
    file.push_str(&with(
        "1-9000000102",
        "Mill House",
        "Requires improvement",
        Some("Deregistered"),
    ));
    file.push('\n');
    caremarket::cqc::import_file(
        &app.state,
        &caremarket::audit::Actor::cli("test"),
        caremarket::cqc::Kind::ApiRecords,
        "api.jsonl",
        file.as_bytes(),
        &Default::default(),
    )
    .await
    .unwrap();
    let to = chrono::NaiveDate::from_ymd_opt(2025, 6, 30).unwrap();
    let (_, cqc) = caremarket::brokerage::ranking::quality_levels(&app.state, "1-8000000002", to)
        .await
        .unwrap();
    assert_eq!(cqc, Some(1));
    // Both closed locations keep their pages.
    let (c, _) = app.signed_in(Role::Viewer).await;
    for id in ["1-9000000002", "1-9000000102"] {
        assert_eq!(
            c.get(&format!("/locations/{id}")).await.status,
            axum::http::StatusCode::OK
        );
    }
}
