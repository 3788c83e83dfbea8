//! The brokerage commands as processes: `simulate brokerage` (a year shaped like the 2018 Leicester domiciliary support report)
//! and `bench brokerage` (requests raised at once and answered through the API), small.

use std::process::Command;

use crate::support::TestDb;

fn caremarket(url: &str, args: &[&str]) -> (bool, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_caremarket"))
        .args(args)
        .env("CAREMARKET_DATABASE_URL", url)
        .env("CAREMARKET_LOG", "warn")
        .output()
        .expect("run caremarket");
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
async fn a_simulated_year_through_the_cascade_and_through_matching() {
    let db = TestDb::new().await;
    let (ok, out) = caremarket(&db.url, &["simulate", "brokerage", "--json"]);
    assert!(ok, "{out}");
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    for m in ["cascade", "matching"] {
        let o = &r[m];
        let n = o["requests"].as_i64().unwrap();
        // 83 new cases a month for a year: 996, give or take chance.
        assert!((896..=1096).contains(&n), "{m}: {n}");
        assert_eq!(
            o["placed"].as_i64().unwrap() + o["still_waiting"].as_i64().unwrap(),
            n
        );
        // About 11.5 hours a case: the hours placed agree with the cases placed.
        let per_case = o["placed_hours"].as_f64().unwrap() / o["placed"].as_f64().unwrap();
        assert!((1000.0..1300.0).contains(&per_case), "{m}: {per_case}");
    }
    assert_eq!(r["cascade"]["requests"], r["matching"]["requests"]);
    let (ok, out) = caremarket(&db.url, &["simulate", "brokerage", "--days", "90"]);
    assert!(ok, "{out}");
    assert!(out.contains("cascade") && out.contains("matching"), "{out}");
    let (ok, out) = caremarket(&db.url, &["simulate", "brokerage", "--decline", "2"]);
    assert!(!ok);
    assert!(
        out.contains("--decline is a chance between 0 and 1"),
        "{out}"
    );
}

#[tokio::test]
async fn the_brokerage_benchmark_runs_and_checks_the_cascade() {
    let db = TestDb::new().await;
    let (ok, out) = caremarket(&db.url, &["migrate"]);
    assert!(ok, "{out}");
    let (ok, out) = caremarket(&db.url, &["bench", "brokerage", "--requests", "10"]);
    assert!(!ok);
    assert!(out.contains("load the records first"), "{out}");
    let api = crate::cqc::api_path();
    let (ok, out) = caremarket(&db.url, &["import", "api-records", &api]);
    assert!(ok, "{out}");
    let (ok, out) = caremarket(
        &db.url,
        &["bench", "brokerage", "--requests", "40", "--providers", "5"],
    );
    assert!(ok, "{out}");
    assert!(out.contains("40 requests raised"), "{out}");
    assert!(
        out.contains("accepted twice: 0, offers left open: 0"),
        "{out}"
    );
}

#[tokio::test]
async fn the_re_ranking_command_keeps_a_proposal() {
    let app = crate::support::TestApp::with_api_records().await;
    crate::brokerage_requests::framework(&app).await;
    let db = &app.db;
    let (ok, out) = caremarket(
        &db.url,
        &[
            "brokerage",
            "rerank",
            "--lot",
            "Nowhere",
            "--from",
            "01/04/2018",
            "--to",
            "31/03/2019",
            "--effective-from",
            "01/05/2019",
        ],
    );
    assert!(!ok);
    assert!(
        out.contains("no lot called \"Nowhere\"; the lots are: Plymouth North"),
        "{out}"
    );
    let (ok, out) = caremarket(
        &db.url,
        &[
            "brokerage",
            "rerank",
            "--lot",
            "plymouth north",
            "--from",
            "01/04/2018",
            "--to",
            "soon",
            "--effective-from",
            "01/05/2019",
        ],
    );
    assert!(!ok);
    assert!(
        out.contains("--period-to: Enter the last day of the year looked at"),
        "{out}"
    );
    let (ok, out) = caremarket(
        &db.url,
        &[
            "brokerage",
            "rerank",
            "--lot",
            "plymouth north",
            "--from",
            "01/04/2018",
            "--to",
            "31/03/2019",
            "--effective-from",
            "01/05/2019",
        ],
    );
    assert!(ok, "{out}");
    assert!(out.contains("kept as a proposal"), "{out}");
    // The framework (A then B) with no offers, no concerns and no QAF visits: the order comes
    // from CQC's ratings alone, and both lines are there.
    assert!(
        out.contains(crate::brokerage_requests::A) && out.contains(crate::brokerage_requests::B)
    );
    assert_eq!(app.count("rankings").await, 1);
}
