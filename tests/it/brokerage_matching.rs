//! Batch matching through the pages: providers declare spare hours on their lots (form and
//! API), the broker reviews the suggestion for everyone waiting and sends it. Worked by hand:
//! A (second in the lot's order) has 10 spare hours, B (third) 10.5; three people wait, for
//! 3.5, 7 and 10 hours. Offering in turn, best-ranked first, places 3.5 with A and 7 with B
//! and strands the 10; the suggestion places all 20.5: 10 with A, 3.5 and 7 with B.

use axum::http::StatusCode;
use caremarket_core::Role;

use crate::brokerage_requests::{A, B, C, framework, provider};
use crate::support::{Client, TestApp};

async fn waiting_request(broker: &Client, who: [&Client; 3], case: &str, hours: &str) -> i64 {
    let mut f = crate::brokerage_requests::request(case, "standard");
    f.retain(|(k, _)| *k != "hours");
    f.push(("hours", hours));
    let r = broker.post_form("/brokerage/requests", &f).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let id: i64 = r.location().rsplit('/').next().unwrap().parse().unwrap();
    for p in who {
        let r = p
            .post_form(
                &format!("/offers/{id}/decline"),
                &[("reason", "no_capacity")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
    }
    id
}

#[tokio::test]
async fn everyone_waiting_is_matched_to_declared_spare_hours() {
    let app = TestApp::with_api_records().await;
    framework(&app).await;
    let (broker, _) = app.signed_in(Role::Broker).await;
    let (pa, _) = provider(&app, A).await;
    let (pb, _) = provider(&app, B).await;
    let (pc, _) = provider(&app, C).await;
    let small = waiting_request(&broker, [&pc, &pa, &pb], "ASC-0000801", "3.5").await;
    let middle = waiting_request(&broker, [&pc, &pa, &pb], "ASC-0000802", "7").await;
    let large = waiting_request(&broker, [&pc, &pa, &pb], "ASC-0000803", "10").await;

    // Nothing declared yet: nothing to suggest.
    let plan = broker.get("/api/v1/brokerage/matching").await.json();
    assert_eq!(plan["placed_hours"], 0);
    let lots = broker.get("/api/v1/brokerage/lots").await.json();
    let lot = lots[0]["id"].as_i64().unwrap();

    let page = pa.get("/offers").await;
    assert!(page.body.contains("Spare hours a week in Plymouth North"));
    let r = pa
        .post_form(
            "/offers/capacity",
            &[("lot_id", &lot.to_string()), ("spare_hours", "lots")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Enter your spare hours a week"));
    let r = pa
        .post_form(
            "/offers/capacity",
            &[("lot_id", &lot.to_string()), ("spare_hours", "10")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = pb
        .post_json(
            "/api/v1/offers/capacity",
            serde_json::json!({"lot_id": lot, "spare_hours": "10.5"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = pb
        .post_json(
            "/api/v1/offers/capacity",
            serde_json::json!({"lot_id": lot + 1000, "spare_hours": "5"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    let plan = broker.get("/api/v1/brokerage/matching").await.json();
    assert_eq!(plan["placed_hours"], 2050);
    assert_eq!(plan["upper_bound_hours"], 2050);
    let mut got: Vec<(i64, String)> = plan["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["request"].as_i64().unwrap(),
                a["provider"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    let mut want = vec![
        (small, B.to_string()),
        (middle, B.to_string()),
        (large, A.to_string()),
    ];
    want.sort();
    assert_eq!(got, want);
    let page = broker.get("/brokerage/matching").await;
    assert!(
        page.body
            .contains("20.50 of 20.50 hours a week waiting can be placed"),
        "{}",
        page.body
    );

    // The broker sends two of the three.
    let r = broker
        .post_form(
            "/brokerage/matching",
            &[
                ("offer", &format!("{large}:{A}")),
                ("offer", &format!("{small}:{B}")),
                // Not on the lot (a stale or altered form): not sent, and said so.
                ("offer", &format!("{middle}:1-000000000")),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = broker.get("/brokerage/requests").await;
    assert!(
        page.body
            .contains("2 offers sent from the matching; 1 not sent"),
        "{}",
        page.body
    );
    for (id, p, state) in [
        (large, A, "offering"),
        (small, B, "offering"),
        (middle, B, "waiting"),
    ] {
        let d = broker
            .get(&format!("/api/v1/brokerage/requests/{id}"))
            .await
            .json();
        assert_eq!(d["state"], state, "{id}");
        if state == "offering" {
            let offers = d["offers"].as_array().unwrap();
            let last = offers.last().unwrap();
            assert_eq!(
                (last["provider_id"].as_str(), last["status"].as_str()),
                (Some(p), Some("open"))
            );
        }
    }
    // A takes it: it leaves the list.
    let r = pa.post_form(&format!("/offers/{large}/accept"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = broker.get("/brokerage/awaiting").await;
    assert!(page.body.contains("2 waiting now"), "{}", page.body);
    assert!(
        app.audit_actions()
            .await
            .iter()
            .any(|a| a == "care_request.match")
    );
}
