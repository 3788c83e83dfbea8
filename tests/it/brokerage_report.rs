//! The brokerage report for scrutiny: the framework with the past year's withdrawals, the
//! awaiting care list table as the 2018 Leicester domiciliary support report §4.7 lays it out, and the quality tables of §4.9,
//! whose CQC counts are worked out here straight from the bundled CQC records (each
//! provider by the worst current overall rating of its registered locations).

use std::io::Read;

use axum::http::StatusCode;
use caremarket_core::Role;

use crate::brokerage_awaiting::{SEED_DATES, STAYS};
use crate::brokerage_requests::{A, B, C, framework};
use crate::support::TestApp;

/// Outstanding, Good, Requires improvement, Inadequate, not rated: providers counted by the
/// worst rating of their registered locations in the records file.
fn cqc_counts_from_the_records(providers: &[&str]) -> [usize; 5] {
    let raw = std::fs::read(crate::cqc::api_path()).unwrap();
    let mut text = String::new();
    if raw.starts_with(&[0x1f, 0x8b]) {
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_string(&mut text)
            .unwrap();
    } else {
        text = String::from_utf8(raw).unwrap();
    }
    let mut worst: std::collections::HashMap<String, usize> = Default::default();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let r: serde_json::Value = serde_json::from_str(line).unwrap();
        let p = r["providerId"].as_str().unwrap_or("");
        if !providers.contains(&p) || r["registrationStatus"] != "Registered" {
            continue;
        }
        let level = match r["currentRatings"]["overall"]["rating"].as_str() {
            Some("Outstanding") => 0,
            Some("Good") => 1,
            Some("Requires improvement") => 2,
            Some("Inadequate") => 3,
            _ => continue,
        };
        let w = worst.entry(p.to_string()).or_insert(0);
        *w = (*w).max(level);
    }
    let mut out = [0; 5];
    for p in providers {
        out[worst.get(*p).copied().unwrap_or(4)] += 1;
    }
    out
}

#[tokio::test]
async fn the_report_for_scrutiny() {
    let app = TestApp::with_api_records().await;
    let lot = framework(&app).await;
    let (commissioner, _) = app.signed_in(Role::Commissioner).await;
    // A fourth provider joins and withdraws (Leicester domiciliary support, 2018, §4.5: "bought by another provider").
    let d: (String,) = app
        .db()
        .q()
        .fetch_one(
            "SELECT provider_id FROM cqc_providers WHERE provider_id NOT IN ($1, $2, $3) ORDER BY provider_id LIMIT 1",
            caremarket::args![A, B, C],
        )
        .await
        .unwrap();
    let r = commissioner
        .post_form(
            &format!("{lot}/providers"),
            &[
                ("provider_id", &d.0),
                ("role", "framework"),
                ("tender_score", ""),
                ("joined_on", "01/04/2018"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let lots = commissioner.get("/api/v1/brokerage/lots").await.json();
    let row = lots[0]["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["provider_id"] == d.0.as_str())
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let today = caremarket::clock::Clock::now(&*app.clock).date_naive();
    let r = commissioner
        .post_form(
            &format!("{lot}/providers/{row}/withdraw"),
            &[
                ("withdrawn_on", &today.format("%d/%m/%Y").to_string()),
                ("withdrawn_reason", "Merged with another provider"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let (broker, _) = app.signed_in(Role::Broker).await;
    let r = broker
        .post_file("/brokerage/awaiting/import", &[], "acl.csv", STAYS)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    crate::brokerage_requests::raise(&broker, "ASC-0000901", "standard").await;

    let (viewer, _) = app.signed_in(Role::Viewer).await;
    let q = serde_urlencoded::to_string([("dates", SEED_DATES)]).unwrap();
    let page = viewer.get(&format!("/brokerage/report?{q}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let body = &page.body;
    assert!(
        body.contains("3 providers deliver home care on 1 lots"),
        "{body}"
    );
    assert!(body.contains("1 provider has withdrawn from the framework in the past year"));
    assert!(body.contains("Merged with another provider"));
    assert!(body.contains("raised 1 care requests"));
    // §4.7's figures, as in the awaiting care list test.
    for s in [">27.33<", ">10.88<", ">47<", "18/06/2018"] {
        assert!(body.contains(s), "{s}");
    }
    // §4.9: CQC counts from the records themselves; no QAF visits yet.
    let want = cqc_counts_from_the_records(&[A, B, C]);
    assert_eq!(want, [0, 1, 1, 1, 0], "the records' ratings changed?");
    let cqc = body.split("id=\"report-cqc\"").nth(1).unwrap();
    let cqc = &cqc[..cqc.find("</table>").unwrap()];
    let cells: Vec<usize> = cqc
        .split("govuk-table__cell--numeric\">")
        .skip(1)
        .map(|c| c[..c.find('<').unwrap()].parse().unwrap())
        .collect();
    assert_eq!(cells, want.to_vec());
    let qaf = body.split("id=\"report-qaf\"").nth(1).unwrap();
    assert!(qaf.contains("Level A = Excellent"));
    let qaf = &qaf[..qaf.find("</table>").unwrap()];
    let cells: Vec<usize> = qaf
        .split("govuk-table__cell--numeric\">")
        .skip(1)
        .map(|c| c[..c.find('<').unwrap()].parse().unwrap())
        .collect();
    assert_eq!(cells, vec![0, 0, 0, 0, 3]);
    // A provider does not get it.
    let (p, _) = crate::brokerage_requests::provider(&app, A).await;
    assert_eq!(
        p.get("/brokerage/report").await.status,
        StatusCode::FORBIDDEN
    );
}
