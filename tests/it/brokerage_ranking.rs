//! The annual re-ranking (Leicester domiciliary support, 2018, §4.13) through the pages: performance from real offers
//! and packages, every component shown, approval from a date, the old order until then, and
//! the history kept. Quality points are set to nothing here so the expected order can be
//! worked from the performance alone:
//!   A declines every offer: acceptance 0 points, answers at once 10 → 10
//!   B accepts every offer: 20 + 10, one package handed back −2 → 28
//!   D is never offered anything: 0
//! so B, A, D (was A, B, D).

use axum::http::StatusCode;
use caremarket_core::Role;

use crate::brokerage_requests::{A, B, C, framework, provider, raise};
use crate::support::TestApp;

async fn order(c: &crate::support::Client) -> Vec<String> {
    let lots = c.get("/api/v1/brokerage/lots").await.json();
    lots[0]["offer_order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn the_framework_is_re_ranked_from_quality_and_performance() {
    let app = TestApp::with_api_records().await;
    let lot_url = framework(&app).await;
    let (commissioner, _) = app.signed_in(Role::Commissioner).await;
    let d: (String,) = app
        .db()
        .q()
        .fetch_one(
            "SELECT provider_id FROM cqc_providers WHERE provider_id NOT IN ($1, $2, $3) ORDER BY provider_id LIMIT 1",
            caremarket::args![A, B, C],
        )
        .await
        .unwrap();
    let d = d.0;
    let r = commissioner
        .post_form(
            &format!("{lot_url}/providers"),
            &[
                ("provider_id", &d),
                ("role", "framework"),
                ("tender_score", "70"),
                ("joined_on", "01/04/2018"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(order(&commissioner).await, vec![C, A, B, d.as_str()]);

    let (broker, _) = app.signed_in(Role::Broker).await;
    let (pa, _) = provider(&app, A).await;
    let (pb, _) = provider(&app, B).await;
    let (pc, _) = provider(&app, C).await;
    let today = caremarket::clock::Clock::now(&*app.clock).date_naive();
    let fmt = |x: chrono::NaiveDate| x.format("%d/%m/%Y").to_string();
    let mut first = 0;
    for n in 0..2 {
        let id = raise(&broker, &format!("ASC-000070{n}"), "standard").await;
        first = if n == 0 { id } else { first };
        for (c, path) in [(&pc, "decline"), (&pa, "decline")] {
            let r = c
                .post_form(
                    &format!("/offers/{id}/{path}"),
                    &[("reason", "no_capacity")],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        }
        let r = pb.post_form(&format!("/offers/{id}/accept"), &[]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
    }
    // B hands one package back.
    let r = broker
        .post_form(
            &format!("/brokerage/requests/{first}/package"),
            &[
                ("start_date", &fmt(today - chrono::Duration::days(10))),
                ("planned_hours", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let pkg = r.location().to_string();
    let r = broker
        .post_form(
            &format!("{pkg}/end"),
            &[("end_date", &fmt(today)), ("end_reason", "hand_back")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    let lot_id = lot_url.rsplit('/').next().unwrap();
    let page = commissioner.get(&format!("{lot_url}/ranking")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("the order is as set at tender"));
    let ask = |eff: String| {
        vec![
            (
                "period_from".to_string(),
                fmt(today - chrono::Duration::days(30)),
            ),
            ("period_to".to_string(), fmt(today)),
            ("effective_from".to_string(), eff),
            ("qaf_best".to_string(), "0".to_string()),
            ("qaf_step".to_string(), "0".to_string()),
            ("cqc_best".to_string(), "0".to_string()),
            ("cqc_step".to_string(), "0".to_string()),
            ("acceptance".to_string(), "20".to_string()),
            ("response".to_string(), "10".to_string()),
            ("response_minutes_per_point".to_string(), "60".to_string()),
            ("per_hand_back".to_string(), "2".to_string()),
            ("per_concern".to_string(), "3".to_string()),
        ]
    };
    let post = |fields: Vec<(String, String)>| {
        let c = commissioner.clone();
        let url = format!("{lot_url}/ranking");
        async move {
            let f: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            c.post_form(&url, &f).await
        }
    };
    let mut bad = ask("someday".into());
    bad[3].1 = "lots".into();
    let r = post(bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Enter the date the new order takes effect"));
    assert!(r.body.contains("Enter a whole number of points"));
    let r = post(ask(fmt(today + chrono::Duration::days(1)))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let proposal = r.location().to_string();

    let rankings = commissioner
        .get(&format!("/api/v1/brokerage/lots/{lot_id}/rankings"))
        .await
        .json();
    let lines = rankings[0]["lines"].as_array().unwrap();
    let got: Vec<(String, i64, i64, i64, i64, i64)> = lines
        .iter()
        .map(|l| {
            let r = &l["ranked"];
            (
                r["provider"].as_str().unwrap().to_string(),
                r["rank"].as_i64().unwrap(),
                r["acceptance_points"].as_i64().unwrap(),
                r["response_points"].as_i64().unwrap(),
                r["penalty_points"].as_i64().unwrap(),
                r["score"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (B.to_string(), 1, 20, 10, 2, 28),
            (A.to_string(), 2, 0, 10, 0, 10),
            (d.clone(), 3, 0, 0, 0, 0),
        ]
    );
    assert_eq!(lines[0]["input"]["acceptance_bps"], 10_000);
    assert_eq!(lines[1]["input"]["acceptance_bps"], 0);
    assert_eq!(lines[0]["input"]["hand_backs"], 1);
    let page = commissioner.get(&proposal).await;
    assert!(page.body.contains("Up 1 (was 2)"), "{}", page.body);
    assert!(page.body.contains("Down 1 (was 1)"));
    assert!(page.body.contains("100.00%"));

    // A broker reads it but cannot decide.
    let r = broker.post_form(&format!("{proposal}/approve"), &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Approved from tomorrow: today's order stands; tomorrow it is the new one.
    let r = commissioner
        .post_form(&format!("{proposal}/approve"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(order(&commissioner).await, vec![C, A, B, d.as_str()]);
    let r = commissioner
        .post_form(&format!("{proposal}/approve"), &[])
        .await;
    assert!(r.body.contains("This ranking was approved already"));
    app.clock.advance(chrono::Duration::days(1));
    let applied = caremarket::brokerage::ranking::apply_due(&app.state)
        .await
        .unwrap();
    assert_eq!(applied, 1);
    let (commissioner, _) = app.signed_in(Role::Commissioner).await;
    assert_eq!(order(&commissioner).await, vec![C, B, A, d.as_str()]);
    assert_eq!(
        caremarket::brokerage::ranking::apply_due(&app.state)
            .await
            .unwrap(),
        0
    );

    // Another proposal, rejected: the order stays; both stay in the history.
    let c2 = commissioner.clone();
    let fields = ask(fmt(today + chrono::Duration::days(2)));
    let f: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = c2.post_form(&format!("{lot_url}/ranking"), &f).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = c2.post_form(&format!("{}/reject", r.location()), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = c2.get(&format!("{lot_url}/ranking")).await;
    assert!(page.body.contains("In force (applied)"));
    assert!(page.body.contains("Rejected"));
    assert_eq!(order(&c2).await, vec![C, B, A, d.as_str()]);
    let actions = app.audit_actions().await;
    for a in [
        "ranking.propose",
        "ranking.approve",
        "ranking.apply",
        "ranking.reject",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a}");
    }
}
