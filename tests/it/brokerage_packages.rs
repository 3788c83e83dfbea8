//! Packages and banked hours: a placed request becomes a package when care starts; the
//! provider records delivered hours by form, API and CSV; the ledger banks unused time up to
//! the cap, lapses it after the expiry, and uses it oldest first. The expected ledger below
//! was worked by hand from the rules, not by the code under test.

use axum::http::StatusCode;
use caremarket_core::Role;

use crate::brokerage_requests::{A, C, framework, provider, raise};
use crate::support::TestApp;

#[tokio::test]
async fn a_package_its_delivered_hours_and_the_bank() {
    let app = TestApp::with_api_records().await;
    framework(&app).await;
    let (commissioner, _) = app.signed_in(Role::Commissioner).await;
    // A small bank to see every rule: at most 5 hours, each hour lapsing after 2 weeks.
    let r = commissioner
        .post_form(
            "/brokerage/rules",
            &[
                ("case_reference_format", ""),
                ("offer_width", "1"),
                ("response-standard", "1440"),
                ("response-hospital_discharge", "240"),
                ("response-crisis", "120"),
                ("reminder_minutes", "60"),
                ("bank_cap", "5"),
                ("bank_expiry_weeks", "2"),
                ("reporting_step_days", "7"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let (broker, _) = app.signed_in(Role::Broker).await;
    let (pc, _) = provider(&app, C).await;
    let (pa, _) = provider(&app, A).await;
    let id = raise(&broker, "ASC-0000500", "standard").await;
    let start_path = format!("/brokerage/requests/{id}/package");
    let today = caremarket::clock::Clock::now(&*app.clock).date_naive();
    let start = today - chrono::Duration::days(35);
    let d = |x: chrono::NaiveDate| x.format("%d/%m/%Y").to_string();
    let week = |i: i64| start + chrono::Duration::days(7 * i);

    // Not yet placed: no package.
    let r = broker
        .post_form(
            &start_path,
            &[("start_date", &d(start)), ("planned_hours", "10")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("a provider must accept it first"));
    let r = pc.post_form(&format!("/offers/{id}/accept"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = broker
        .post_form(
            &start_path,
            &[("start_date", "soon"), ("planned_hours", "10")],
        )
        .await;
    assert!(r.body.contains("Enter the date care starts"));
    let r = broker
        .post_form(
            &start_path,
            &[
                ("start_date", &d(start)),
                ("planned_hours", "10"),
                ("next_review", &d(week(6))),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let pkg: i64 = r.location().rsplit('/').next().unwrap().parse().unwrap();
    let r = broker
        .post_form(
            &start_path,
            &[("start_date", &d(start)), ("planned_hours", "10")],
        )
        .await;
    assert!(r.body.contains("already started"));

    // The provider sees it; another provider does not.
    let mine = pc.get("/api/v1/packages").await.json();
    assert_eq!(mine.as_array().unwrap().len(), 1);
    assert_eq!(
        pa.get("/api/v1/packages").await.json(),
        serde_json::json!([])
    );
    assert_eq!(
        pa.get(&format!("/packages/{pkg}")).await.status,
        StatusCode::NOT_FOUND
    );
    let r = pa
        .post_json(
            &format!("/api/v1/packages/{pkg}/hours"),
            serde_json::json!({"week_start": d(week(0)), "delivered": "7"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Week 0 by form, week 1 by API; a week that is not a week of the package is refused.
    let r = pc
        .post_form(
            &format!("/packages/{pkg}/hours"),
            &[
                ("week_start", &d(start + chrono::Duration::days(1))),
                ("delivered", "7"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("is not one"), "{}", r.body);
    let r = pc
        .post_form(
            &format!("/packages/{pkg}/hours"),
            &[("week_start", &d(week(0))), ("delivered", "7")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = pc
        .post_json(
            &format!("/api/v1/packages/{pkg}/hours"),
            serde_json::json!({"week_start": week(1).to_string(), "delivered": "6"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // A review from week 3 raises the plan to 12 hours.
    let r = broker
        .post_form(
            &format!("/brokerage/packages/{pkg}/review"),
            &[
                ("reviewed_on", &d(week(3))),
                ("review_hours", "12"),
                ("note", "More help at lunch"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // Weeks 2 to 4 from a file (by case reference); a bad file loads nothing.
    let bad = format!(
        "Case reference,Week starting,Hours delivered\nASC-0000500,{},12\nASC-0000999,{},3\n",
        d(week(2)),
        d(week(3))
    );
    let r = pc
        .post_file("/packages/hours/import", &[], "hours.csv", &bad)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("row 3, column &#34;Case reference&#34;"),
        "{}",
        r.body
    );
    assert!(
        r.body
            .contains("is not the case of one of your open packages")
    );
    let good = format!(
        "Case reference,Week starting,Hours delivered\nASC-0000500,{},12\nASC-0000500,{},13\nASC-0000500,{},10\n",
        d(week(2)),
        d(week(3)),
        d(week(4))
    );
    for _ in 0..2 {
        let r = pc
            .post_file("/packages/hours/import", &[], "hours.csv", &good)
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    }
    assert_eq!(app.count("delivered_hours").await, 5);

    // By hand (hundredths; cap 500, lapse after 2 weeks, oldest used first):
    // w0 plan 10 got 7: bank 3 → 3
    // w1 plan 10 got 6: 4 unused, room 2 → bank 2, over cap 2 → 5
    // w2 w0's 3 lapse first; plan 10 got 12: use 2 (w1's) → 0
    // w3 plan 12 (review) got 13: 1 beyond the bank → 0
    // w4 plan 12 got 10: bank 2 → 2
    // w5 (this week) not recorded: as planned → 2
    let v = pc.get(&format!("/api/v1/packages/{pkg}")).await.json();
    let rows: Vec<[i64; 9]> = v["ledger"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let g = |k: &str| l[k].as_i64().unwrap();
            [
                g("planned"),
                g("delivered"),
                g("banked"),
                g("over_cap"),
                g("used"),
                g("uncovered"),
                g("expired"),
                g("balance"),
                i64::from(l["recorded"].as_bool().unwrap()),
            ]
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            [1000, 700, 300, 0, 0, 0, 0, 300, 1],
            [1000, 600, 200, 200, 0, 0, 0, 500, 1],
            [1000, 1200, 0, 0, 200, 0, 300, 0, 1],
            [1200, 1300, 0, 0, 0, 100, 0, 0, 1],
            [1200, 1000, 200, 0, 0, 0, 0, 200, 1],
            [1200, 1200, 0, 0, 0, 0, 0, 200, 0],
        ]
    );
    let page = pc.get(&format!("/packages/{pkg}")).await;
    assert!(page.body.contains("1 week not recorded yet"));
    assert!(page.body.contains("2.00 (at most 5.00"));

    // It is handed back: the broker is prompted to find a provider again; no hours after.
    let r = broker
        .post_form(
            &format!("/brokerage/packages/{pkg}/end"),
            &[
                ("end_date", &d(week(4) + chrono::Duration::days(2))),
                ("end_reason", "other"),
            ],
        )
        .await;
    assert!(r.body.contains("Say why the package ends"));
    let r = broker
        .post_form(
            &format!("/brokerage/packages/{pkg}/end"),
            &[
                ("end_date", &d(week(4) + chrono::Duration::days(2))),
                ("end_reason", "hand_back"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = broker.get(&format!("/brokerage/packages/{pkg}")).await;
    assert!(page.body.contains("Raise a new request"));
    assert!(page.body.contains("Handed back by the provider"));
    let r = pc
        .post_json(
            &format!("/api/v1/packages/{pkg}/hours"),
            serde_json::json!({"week_start": d(week(5)), "delivered": "1"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("ended"), "{}", r.body);
    let actions = app.audit_actions().await;
    for a in [
        "package.start",
        "package.hours",
        "package.hours.import",
        "package.review",
        "package.end",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a}");
    }
}
