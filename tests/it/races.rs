//! Races the database closes: people doing the same thing at the same moment get one
//! result, and whoever lost is told why, with nothing half done.

use axum::http::StatusCode;
use caremarket_core::Role;

use crate::brokerage_requests::{A, B, C, framework, raise, st, statuses};
use crate::capacity::{PROVIDER, provider_user, put, residential};
use crate::support::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_brokers_placing_one_person_at_once_make_one_open_placement() {
    let app = TestApp::with_api_records().await;
    let p = provider_user(&app, PROVIDER).await;
    let csrf = p.csrf().await;
    let r = put(
        &p,
        &csrf,
        "1-131732334",
        serde_json::json!({"version": 0, "figures": [residential(30, 28, 2)]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mut brokers = Vec::new();
    for _ in 0..4 {
        brokers.push(app.signed_in(Role::Broker).await.0);
    }
    for round in 0..5 {
        let case = format!("ASC-20{round}");
        let tasks: Vec<_> = brokers
            .iter()
            .map(|c| {
                let c = c.clone();
                let case = case.clone();
                tokio::spawn(async move {
                    c.post_form(
                        "/capacity/placements",
                        &[
                            ("case_reference", &case),
                            ("location_id", "1-131732334"),
                            ("bed_type", "residential"),
                            ("funder", "council"),
                            ("weekly_fee", "850"),
                            ("top_up", ""),
                            ("start_date", "01/10/2026"),
                        ],
                    )
                    .await
                })
            })
            .collect();
        let mut created = 0;
        for t in tasks {
            let r = t.await.unwrap();
            match r.status {
                StatusCode::SEE_OTHER => created += 1,
                StatusCode::UNPROCESSABLE_ENTITY => assert!(
                    r.body.contains("already placed") || r.body.contains("placed by someone else"),
                    "{}",
                    r.body
                ),
                s => panic!("{s}: {}", r.body),
            }
        }
        assert_eq!(created, 1, "round {round}");
        let open: i64 = app
            .db()
            .q()
            .scalar(
                "SELECT COUNT(*) FROM placements WHERE case_reference = $1 AND end_date IS NULL",
                caremarket::args![&case],
            )
            .await
            .unwrap();
        assert_eq!(open, 1, "round {round}");
    }
    // The database keeps it whatever the code does.
    let r = app
        .db()
        .q()
        .execute(
            "INSERT INTO placements (case_reference, location_id, bed_type, funder, weekly_fee_pence, top_up_pence, start_date, created_by, created_at, updated_at) \
             SELECT case_reference, location_id, bed_type, funder, weekly_fee_pence, top_up_pence, '2026-11-01', created_by, created_at, updated_at FROM placements WHERE case_reference = 'ASC-200'",
            vec![],
        )
        .await;
    assert!(
        r.is_err(),
        "a second open placement is refused by the database"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_brokers_skipping_at_once_skip_one_provider() {
    let app = TestApp::with_api_records().await;
    framework(&app).await;
    let (b1, _) = app.signed_in(Role::Broker).await;
    let (b2, _) = app.signed_in(Role::Broker).await;
    let id = raise(&b1, "ASC-0000300", "standard").await;
    let path = format!("/brokerage/requests/{id}/skip");
    // Both brokers have the page open at the same version.
    let page = b1.get(&format!("/brokerage/requests/{id}")).await;
    let version = page
        .body
        .split("name=\"version\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("the form carries the version")
        .to_string();
    let go = |c: crate::support::Client, v: String, why: &'static str| {
        let path = path.clone();
        tokio::spawn(async move {
            c.post_form(&path, &[("reason", why), ("version", &v)])
                .await
        })
    };
    let t1 = go(b1.clone(), version.clone(), "C phoned: full");
    let t2 = go(b2.clone(), version.clone(), "C is full this week");
    let (r1, r2) = (t1.await.unwrap(), t2.await.unwrap());
    let mut codes = [r1.status.as_u16(), r2.status.as_u16()];
    codes.sort();
    assert_eq!(codes, [303, 409], "{} / {}", r1.body, r2.body);
    let lost = if r1.status == StatusCode::CONFLICT {
        &r1
    } else {
        &r2
    };
    assert!(
        lost.body
            .contains("Someone changed this request after you opened it")
    );
    // One provider skipped; the next is offered; B was never passed over unseen.
    assert_eq!(statuses(&app, id).await, st(&[(C, "skipped"), (A, "open")]));
    let skips: i64 = app
        .db()
        .q()
        .scalar(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'care_request.skip'",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(skips, 1);
    // A stale page is refused even when nothing else would stop it.
    let r = b2
        .post_form(&path, &[("reason", "A too"), ("version", &version)])
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(statuses(&app, id).await, st(&[(C, "skipped"), (A, "open")]));
    let _ = B;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_annual_survey_submitted_twice_at_once_is_stored_once() {
    let app = TestApp::with_api_records().await;
    let p = provider_user(&app, PROVIDER).await;
    // Two tabs of the same user, and a colleague.
    let q = provider_user(&app, PROVIDER).await;
    let tasks: Vec<_> = [p.clone(), p.clone(), q.clone(), q]
        .into_iter()
        .map(|c| {
            tokio::spawn(async move {
                c.post_form(
                    "/quality/survey",
                    &[
                        ("q_relationship", "4"),
                        ("q_communication", "4"),
                        ("q_payments", "3"),
                    ],
                )
                .await
                .status
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            StatusCode::SEE_OTHER => ok += 1,
            StatusCode::UNPROCESSABLE_ENTITY => {}
            s => panic!("{s}"),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(app.count("questionnaire_responses").await, 1);
}

#[tokio::test]
async fn the_upgrade_that_adds_the_index_names_the_people_placed_twice() {
    // A database from before the index, where the race had already let two in.
    let app = TestApp::new().await;
    let db = app.db();
    db.q()
        .execute("DROP INDEX placements_one_open", vec![])
        .await
        .unwrap();
    db.q()
        .execute("DELETE FROM schema_migrations WHERE version >= 32", vec![])
        .await
        .unwrap();
    for start in ["2026-10-01", "2026-10-02"] {
        db.q()
            .execute(
                "INSERT INTO placements (case_reference, location_id, bed_type, funder, weekly_fee_pence, start_date, created_by, created_at, updated_at) \
                 VALUES ('ASC-77', '1-1', 'residential', 'council', 85000, $1, 't', '2026-10-01T00:00:00Z', '2026-10-01T00:00:00Z')",
                caremarket::args![chrono::NaiveDate::parse_from_str(start, "%Y-%m-%d").unwrap()],
            )
            .await
            .unwrap();
    }
    let e = caremarket::db::migrate(db).await.unwrap_err().to_string();
    assert!(
        e.contains("more than one open placement") && e.contains("ASC-77"),
        "{e}"
    );
}
