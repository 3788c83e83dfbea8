//! The awaiting care list statistics as the 2018 Leicester domiciliary support report §4.7 lays them out, from record-level stays
//! loaded as a council's own records, over the seed's 11 reporting dates (04/04/2018 to
//! 18/06/2018). The expected table was worked out by hand, day by day, in the comments below,
//! not by the code under test. Edge cases: a case that left on a reporting date (ASC-002 on
//! 30/04), a case that came back to the list (ASC-003), a case on the list before the first
//! period (ASC-001), periods of uneven length.

use axum::http::StatusCode;
use caremarket_core::Role;

use crate::support::TestApp;

pub const SEED_DATES: &str = "04/04/2018 10/04/2018 23/04/2018 30/04/2018 07/05/2018 14/05/2018 21/05/2018 28/05/2018 04/06/2018 11/06/2018 18/06/2018";

// Periods: 30/03–04/04 (as long as the gap to the second date, 6 days), 05/04–10/04,
// 11/04–23/04, 24/04–30/04, 01/05–07/05, 08/05–14/05, 15/05–21/05, 22/05–28/05,
// 29/05–04/06, 05/06–11/06, 12/06–18/06.
pub const STAYS: &str = "Case reference,Funding,Lot,Hours,Date joined,Date left,Outcome\n\
ASC-001,LCC,,10,20/03/2018,12/04/2018,placed\n\
ASC-002,Health,,14,02/04/2018,30/04/2018,placed\n\
ASC-003,Council,,7.5,09/04/2018,16/04/2018,placed\n\
ASC-003,Council,,9,02/05/2018,,\n\
ASC-004,Council,Plymouth North,20,25/04/2018,21/05/2018,placed\n\
ASC-005,NHS CHC,Plymouth North,5.25,10/05/2018,11/06/2018,placed\n\
ASC-006,Council,,12.75,01/06/2018,,\n";

/// Worked by hand (waits in whole days from joining to the date, or to leaving if earlier):
/// 04/04: 001 15, 002 2 → council 1, health 1, longest 15, avg 8.50, hours (10+14)/2 12.00
/// 10/04: 001 21, 002 8, 003 1 → 2, 1, 21, 30/3 10.00, 31.5/3 10.50
/// 23/04: 001 23 (left 12/04), 002 21, 003 7 (left 16/04) → 2, 1, 23, 51/3 17.00, 10.50
/// 30/04: 002 28 (leaves that day: counted), 004 5 → 1, 1, 28, 16.50, (14+20)/2 17.00
/// 07/05: 003 back: 5, 004 12 → 2, 0, 12, 8.50, (9+20)/2 14.50
/// 14/05: 003 12, 004 19, 005 4 → 2, 1, 19, 35/3 11.67, 34.25/3 11.42
/// 21/05: 003 19, 004 26 (leaves that day), 005 11 → 2, 1, 26, 56/3 18.67, 11.42
/// 28/05: 003 26, 005 18 → 1, 1, 26, 22.00, 14.25/2 7.13 (7.125 rounded half up)
/// 04/06: 003 33, 005 25, 006 3 → 2, 1, 33, 61/3 20.33, 27/3 9.00
/// 11/06: 003 40, 005 32 (leaves that day), 006 10 → 2, 1, 40, 82/3 27.33, 9.00
/// 18/06: 003 47, 006 17 → 2, 0, 47, 32.00, 21.75/2 10.88 (10.875 rounded half up)
const EXPECTED_CSV: &str = ",04/04/2018,10/04/2018,23/04/2018,30/04/2018,07/05/2018,14/05/2018,21/05/2018,28/05/2018,04/06/2018,11/06/2018,18/06/2018\r\n\
Total number of council cases on the list in period,1,2,2,1,2,2,2,1,2,2,2\r\n\
Total number of health cases on the list in period,1,1,1,1,0,1,1,1,1,1,0\r\n\
Longest wait (days),15,21,23,28,12,19,26,26,33,40,47\r\n\
Average wait (days),8.50,10.00,17.00,16.50,8.50,11.67,18.67,22.00,20.33,27.33,32.00\r\n\
Average hours required,12.00,10.50,10.50,17.00,14.50,11.42,11.42,7.13,9.00,9.00,10.88\r\n";

fn q(s: &str) -> String {
    serde_urlencoded::to_string([("dates", s)]).unwrap()
}

#[tokio::test]
async fn the_seed_table_from_record_level_stays() {
    let app = TestApp::with_api_records().await;
    crate::brokerage_requests::framework(&app).await;
    let (broker, _) = app.signed_in(Role::Broker).await;

    // A bad file: each problem with its row and column; nothing loaded.
    let bad = "Case reference,Funding,Hours,Date joined,Date left\n\
Mrs Smith,Council,10,01/04/2018,\n\
ASC-010,Private,10,01/04/2018,\n\
ASC-011,Council,ten,01/04/2018,\n\
ASC-012,Council,10,05/04/2018,01/04/2018\n";
    let r = broker
        .post_file("/brokerage/awaiting/import", &[], "acl.csv", bad)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    for s in [
        "acl.csv: 4 problems found; nothing was imported.",
        "row 2, column &#34;Case reference&#34;",
        "row 3, column &#34;Funding&#34;",
        "row 4, column &#34;Hours&#34;",
        "row 5, column &#34;Date left&#34;",
    ] {
        assert!(r.body.contains(s), "{s}: {}", r.body);
    }
    assert_eq!(app.count("awaiting_episodes").await, 0);

    let r = broker
        .post_file("/brokerage/awaiting/import", &[], "acl.csv", STAYS)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // Loading it again changes nothing.
    let r = broker
        .post_file("/brokerage/awaiting/import", &[], "acl.csv", STAYS)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(app.count("awaiting_episodes").await, 7);

    let csv = broker
        .get(&format!(
            "/brokerage/awaiting/download?format=csv&{}",
            q(SEED_DATES)
        ))
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.body.replace('"', ""), EXPECTED_CSV);

    // The page shows the same figures, dates as columns.
    let page = broker
        .get(&format!("/brokerage/awaiting?{}", q(SEED_DATES)))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("18/06/2018"));
    assert!(page.body.contains(">27.33<"));
    assert!(page.body.contains(">10.88<"));
    // Waiting now: ASC-003 (back on the list) and ASC-006.
    assert!(page.body.contains("2 waiting now"), "{}", page.body);

    // By lot: only ASC-004 and ASC-005 are on Plymouth North. 14/05: 004 19 days, 005 4 →
    // council 1, health 1, longest 19, average 11.50, hours (20 + 5.25)/2 = 12.625 → 12.63.
    let lots = broker.get("/api/v1/brokerage/lots").await.json();
    let lot = lots[0]["id"].as_i64().unwrap();
    let a = broker
        .get(&format!(
            "/api/v1/brokerage/awaiting?lot={lot}&{}",
            q("08/05/2018 14/05/2018")
        ))
        .await
        .json();
    let s = &a["stats"][1];
    assert_eq!(
        (
            &s["council_cases"],
            &s["health_cases"],
            &s["longest_wait_days"],
            &s["average_wait_hundredths"],
            &s["average_hours_hundredths"]
        ),
        (
            &serde_json::json!(1),
            &serde_json::json!(1),
            &serde_json::json!(19),
            &serde_json::json!(1150),
            &serde_json::json!(1263)
        )
    );
    // XLSX of the same table opens as a workbook.
    let x = broker
        .get_bytes(&format!(
            "/brokerage/awaiting/download?format=xlsx&{}",
            q(SEED_DATES)
        ))
        .await;
    assert_eq!(&x[..2], b"PK");

    // A later file says ASC-006 was placed on 18/06: it leaves the list (still counted on
    // 18/06, the day it left, with a wait of 17 days).
    let later = "Case reference,Funding,Hours,Date joined,Date left\nASC-006,Council,12.75,01/06/2018,18/06/2018\n";
    let r = broker
        .post_file("/brokerage/awaiting/import", &[], "acl-june.csv", later)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(app.count("awaiting_episodes").await, 7);
    let csv = broker
        .get(&format!(
            "/brokerage/awaiting/download?format=csv&{}",
            q(SEED_DATES)
        ))
        .await;
    assert_eq!(csv.body.replace('"', ""), EXPECTED_CSV);
    let page = broker.get("/brokerage/awaiting").await;
    assert!(page.body.contains("1 waiting now"));

    // Scrutiny members see the figures but not the cases.
    let (viewer, _) = app.signed_in(Role::Viewer).await;
    let page = viewer
        .get(&format!("/brokerage/awaiting?{}", q(SEED_DATES)))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(">27.33<"));
    assert!(!page.body.contains("ASC-003"));
    let a = viewer.get("/api/v1/brokerage/awaiting").await.json();
    assert_eq!(a["waiting"], serde_json::json!([]));
    assert!(
        !viewer
            .get("/brokerage/awaiting")
            .await
            .body
            .contains("Load the council")
    );
    let r = viewer
        .post_file("/brokerage/awaiting/import", &[], "acl.csv", STAYS)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // A lot or service line that is not one is said so, not ignored.
    let r = broker
        .get("/brokerage/awaiting?lot=abc&service_line=night")
        .await;
    assert!(r.body.contains("Select a lot from the list"), "{}", r.body);
    assert!(r.body.contains("Select general or specialist care"));
    // A date that cannot be read is said so.
    let r = broker
        .get(&format!(
            "/brokerage/awaiting?{}",
            q("04/04/2018 31/02/2018")
        ))
        .await;
    assert!(r.body.contains("is not a date"), "{}", r.body);
}
