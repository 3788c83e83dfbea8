//! Care requests and the offer cascade through the pages and API: the lot's primary provider
//! first, then the framework in rank order; providers see only their own offers; declines
//! and lapsed offers move on; two providers accepting at once cannot both win; an offer
//! lapses exactly once, across a restart; brokers skip, re-order, offer again, place by spot
//! purchase and withdraw, with reasons in the audit log.

use axum::http::StatusCode;
use caremarket_core::Role;

use crate::support::{Client, TestApp};

// Real providers from the bundled Devon and Plymouth records.
pub const A: &str = "1-101667957";
pub const B: &str = "1-101693962";
pub const C: &str = "1-101706804";

/// A lot for PL5 and PL6 (general care): C the primary, then A and B on the framework.
pub async fn framework(app: &TestApp) -> String {
    let (c, _) = app.signed_in(Role::Commissioner).await;
    let r = c
        .post_form(
            "/brokerage/lots",
            &[
                ("name", "Plymouth North"),
                ("service_line", "general"),
                ("districts", "PL5 PL6"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let lot = r.location().to_string();
    for (p, role) in [(C, "primary"), (A, "framework"), (B, "framework")] {
        let r = c
            .post_form(
                &format!("{lot}/providers"),
                &[
                    ("provider_id", p),
                    ("role", role),
                    ("tender_score", "80"),
                    ("joined_on", "01/04/2018"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    }
    lot
}

/// A provider user, signed in.
pub struct ProviderUser {
    pub c: Client,
    pub id: i64,
    email: String,
    pw: String,
}

impl ProviderUser {
    /// Signs in again (after the clock has moved past the session's idle time).
    pub async fn again(&mut self, app: &TestApp) {
        self.c = app.client();
        self.c.sign_in(&self.email, &self.pw, app).await;
    }
}

pub async fn provider_user(app: &TestApp, id: &str) -> ProviderUser {
    let email = format!("{}-{}@provider.test", id, crate::support::random_name());
    let (uid, pw) = app.user(&email, Role::Provider, Some(id)).await;
    let c = app.client();
    c.sign_in(&email, &pw, app).await;
    ProviderUser {
        c,
        id: uid,
        email,
        pw,
    }
}

pub async fn provider(app: &TestApp, id: &str) -> (Client, i64) {
    let p = provider_user(app, id).await;
    (p.c, p.id)
}

pub fn request<'a>(case_ref: &'a str, urgency: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("case_ref", case_ref),
        ("funding", "council"),
        ("postcode", "PL6 5AB"),
        ("service_line", "general"),
        ("hours", "10.5"),
        ("visits_per_day", "3"),
        ("visit_minutes", "30"),
        ("times_of_day", "morning"),
        ("times_of_day", "tea"),
        ("needs", "dementia"),
        ("wanted_start", "01/12/2026"),
        ("urgency", urgency),
    ]
}

/// Raises a request as the broker; returns its id.
pub async fn raise(broker: &Client, case_ref: &str, urgency: &str) -> i64 {
    let r = broker
        .post_form("/brokerage/requests", &request(case_ref, urgency))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    r.location().rsplit('/').next().unwrap().parse().unwrap()
}

async fn notes_for(app: &TestApp, user: i64) -> Vec<String> {
    let rows: Vec<(String,)> = app
        .db()
        .q()
        .fetch_all(
            "SELECT subject FROM notifications WHERE user_id = $1 ORDER BY id",
            caremarket::args![user],
        )
        .await
        .unwrap();
    rows.into_iter().map(|r| r.0).collect()
}

pub async fn statuses(app: &TestApp, id: i64) -> Vec<(String, String)> {
    app.db()
        .q()
        .fetch_all(
            "SELECT provider_id, status FROM offers WHERE request_id = $1 ORDER BY seq",
            caremarket::args![id],
        )
        .await
        .unwrap()
}

pub fn st(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[tokio::test]
async fn a_request_goes_down_the_lot_until_a_provider_takes_it() {
    let app = TestApp::with_api_records().await;
    framework(&app).await;
    let broker_email = format!("broker-{}@council.test", crate::support::random_name());
    let (broker_id, broker_pw) = app.user(&broker_email, Role::Broker, None).await;
    let broker = app.client();
    broker.sign_in(&broker_email, &broker_pw, &app).await;
    let mut a = provider_user(&app, A).await;
    let mut b = provider_user(&app, B).await;
    let (pa, pa_id) = (a.c.clone(), a.id);
    let pb = b.c.clone();
    let (pc, pc_id) = provider(&app, C).await;

    // What a broker gets wrong is said plainly, and kept.
    let mut bad = request("Mrs Jones", "standard");
    bad.retain(|(k, _)| *k != "hours");
    bad.push(("hours", "lots"));
    let r = broker.post_form("/brokerage/requests", &bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("no names"), "{}", r.body);
    assert!(r.body.contains("Enter the hours of care a week"));
    assert!(r.body.contains("value=\"lots\""));
    let mut elsewhere = request("ASC-0000001", "standard");
    elsewhere.retain(|(k, _)| *k != "postcode");
    elsewhere.push(("postcode", "EX1 1AA"));
    let r = broker.post_form("/brokerage/requests", &elsewhere).await;
    assert!(r.body.contains("No lot covers EX1"), "{}", r.body);
    assert_eq!(app.count("care_requests").await, 0);

    let id = raise(&broker, "ASC-0000001", "standard").await;
    // The primary provider first, alone, told at once.
    assert_eq!(statuses(&app, id).await, st(&[(C, "open")]));
    assert_eq!(
        notes_for(&app, pc_id).await,
        vec!["New home care offer: ASC-0000001"]
    );
    let mine = pc.get("/api/v1/offers").await.json();
    assert_eq!(mine.as_array().unwrap().len(), 1);
    let o = &mine[0];
    assert_eq!(
        (
            o["case_ref"].as_str(),
            o["area"].as_str(),
            o["hours"].as_str(),
            o["status"].as_str()
        ),
        (
            Some("ASC-0000001"),
            Some("Plymouth North"),
            Some("10.50"),
            Some("open")
        )
    );
    assert_eq!(o["pattern"], "3 visits a day × 30 minutes (morning, tea)");
    assert_eq!(o["needs"], serde_json::json!(["Dementia"]));
    // Nothing else about the request reaches the provider.
    let keys: Vec<&String> = o.as_object().unwrap().keys().collect();
    for k in ["funding", "raised_by", "postcode", "order", "offers"] {
        assert!(!keys.iter().any(|x| *x == k), "{k} in {o}");
    }
    // Others see nothing of it, and cannot answer it.
    assert_eq!(pa.get("/api/v1/offers").await.json(), serde_json::json!([]));
    assert_eq!(
        pa.get(&format!("/offers/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    let r = pb.post_form(&format!("/offers/{id}/accept"), &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // C declines: "other" needs words; then A is offered.
    let r = pc
        .post_form(&format!("/offers/{id}/decline"), &[("reason", "other")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Say why you are declining"));
    let r = pc
        .post_form(
            &format!("/offers/{id}/decline"),
            &[("reason", "no_capacity")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        statuses(&app, id).await,
        st(&[(C, "declined"), (A, "open")])
    );
    assert_eq!(notes_for(&app, pa_id).await.len(), 1);
    let page = pc.get(&format!("/offers/{id}")).await;
    assert!(page.body.contains("Declined"));
    assert!(!page.body.contains("Accept the package"));

    // A lets it lapse: after the standard 24 hours the expiry task moves on to B.
    app.clock.advance(chrono::Duration::hours(23));
    let (expired, reminded) = caremarket::brokerage::requests::expire_due(&app.state)
        .await
        .unwrap();
    assert_eq!((expired, reminded), (0, 1), "a reminder an hour before");
    assert_eq!(
        notes_for(&app, pa_id).await[1],
        "Reminder: offer for ASC-0000001 closes soon"
    );
    app.clock.advance(chrono::Duration::hours(1));
    let (expired, _) = caremarket::brokerage::requests::expire_due(&app.state)
        .await
        .unwrap();
    assert_eq!(expired, 1);
    assert_eq!(
        statuses(&app, id).await,
        st(&[(C, "declined"), (A, "expired"), (B, "open")])
    );
    // A day on, everyone signs in again.
    a.again(&app).await;
    b.again(&app).await;
    let broker = app.client();
    broker.sign_in(&broker_email, &broker_pw, &app).await;
    let r =
        a.c.post_json(
            &format!("/api/v1/offers/{id}/accept"),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);

    // B accepts through the API: placed; the broker hears.
    let r =
        b.c.post_json(
            &format!("/api/v1/offers/{id}/accept"),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["status"], "accepted");
    let d = broker
        .get(&format!("/api/v1/brokerage/requests/{id}"))
        .await
        .json();
    assert_eq!(d["state"], "placed");
    assert_eq!(d["placed_provider"], B);
    assert_eq!(d["placed_how"], "cascade");
    assert!(
        notes_for(&app, broker_id)
            .await
            .contains(&"Provider found: ASC-0000001".to_string())
    );
    let page = broker.get(&format!("/brokerage/requests/{id}")).await;
    for s in [
        "No capacity",
        "No answer by the deadline",
        "Accepted",
        "Placed",
    ] {
        assert!(page.body.contains(s), "{s}");
    }
    // Never on the awaiting care list: a provider took it straight away.
    assert_eq!(app.count("awaiting_episodes").await, 0);
    // A second open request for the same case is refused; a new one after placing is fine.
    let actions = app.audit_actions().await;
    for a in [
        "care_request.raise",
        "care_request.offer.decline",
        "care_request.offer.expire",
        "care_request.offer.accept",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a}");
    }
}

#[tokio::test]
async fn two_providers_accepting_at_the_same_moment_one_wins() {
    let app = TestApp::with_api_records().await;
    framework(&app).await;
    let (commissioner, _) = app.signed_in(Role::Commissioner).await;
    // Offers go to three providers at once here.
    let page = commissioner.get("/brokerage/rules").await;
    assert_eq!(page.status, StatusCode::OK);
    let r = commissioner
        .post_form(
            "/brokerage/rules",
            &[
                ("case_reference_format", "ASC-9999999"),
                ("offer_width", "3"),
                ("response-standard", "1440"),
                ("response-hospital_discharge", "240"),
                ("response-crisis", "120"),
                ("reminder_minutes", "60"),
                ("bank_cap", "20"),
                ("bank_expiry_weeks", "12"),
                ("reporting_step_days", "7"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let (broker, _) = app.signed_in(Role::Broker).await;
    let r = broker
        .post_form("/brokerage/requests", &request("ASC-12", "standard"))
        .await;
    assert!(r.body.contains("like ASC-9999999"), "{}", r.body);
    let (pa, _) = provider(&app, A).await;
    let (pb, _) = provider(&app, B).await;
    let (pc, _) = provider(&app, C).await;
    for n in 0..8 {
        let id = raise(&broker, &format!("ASC-000000{n}"), "hospital_discharge").await;
        assert_eq!(
            statuses(&app, id).await,
            st(&[(C, "open"), (A, "open"), (B, "open")])
        );
        let path = format!("/api/v1/offers/{id}/accept");
        let (ra, rb, rc) = tokio::join!(
            pa.post_json(&path, serde_json::json!({})),
            pb.post_json(&path, serde_json::json!({})),
            pc.post_json(&path, serde_json::json!({})),
        );
        let codes = [ra.status, rb.status, rc.status];
        assert_eq!(
            codes.iter().filter(|c| **c == StatusCode::OK).count(),
            1,
            "{codes:?}"
        );
        assert_eq!(
            codes.iter().filter(|c| **c == StatusCode::CONFLICT).count(),
            2,
            "{codes:?}"
        );
        let s = statuses(&app, id).await;
        assert_eq!(s.iter().filter(|x| x.1 == "accepted").count(), 1, "{s:?}");
        assert_eq!(s.iter().filter(|x| x.1 == "closed").count(), 2, "{s:?}");
        let winner = &s.iter().find(|x| x.1 == "accepted").unwrap().0;
        let d = broker
            .get(&format!("/api/v1/brokerage/requests/{id}"))
            .await
            .json();
        assert_eq!(d["placed_provider"].as_str(), Some(winner.as_str()));
    }
}

#[tokio::test]
async fn an_offer_lapses_exactly_once_across_a_restart() {
    let app = TestApp::with_api_records().await;
    framework(&app).await;
    let (broker, _) = app.signed_in(Role::Broker).await;
    let (_, pa_id) = provider(&app, A).await;
    let (pc, _) = provider(&app, C).await;
    let id = raise(&broker, "ASC-0000009", "crisis").await;
    let r = pc
        .post_form(&format!("/offers/{id}/decline"), &[("reason", "area")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // The server stops; the deadline passes while it is down; it starts again (a second
    // process on the same database, as during a rolling restart), and both look at once.
    app.clock.advance(chrono::Duration::hours(3));
    let restarted = TestApp::on_existing(&app.db.url).await;
    restarted.clock.advance(chrono::Duration::hours(3));
    let (x, y) = tokio::join!(
        caremarket::brokerage::requests::expire_due(&app.state),
        caremarket::brokerage::requests::expire_due(&restarted.state),
    );
    assert_eq!(x.unwrap().0 + y.unwrap().0, 1);
    assert_eq!(
        statuses(&app, id).await,
        st(&[(C, "declined"), (A, "expired"), (B, "open")])
    );
    let expiries = app
        .audit_actions()
        .await
        .into_iter()
        .filter(|a| a == "care_request.offer.expire")
        .count();
    assert_eq!(expiries, 1);
    // Looking again finds nothing more to do.
    let (again, _) = caremarket::brokerage::requests::expire_due(&restarted.state)
        .await
        .unwrap();
    assert_eq!(again, 0);
    // A was offered once and told once; nothing was sent twice.
    assert_eq!(notes_for(&app, pa_id).await.len(), 1);
}

/// The version of a request a broker's page shows (its forms send it back).
async fn seen(broker: &crate::support::Client, id: i64) -> String {
    broker
        .get(&format!("/api/v1/brokerage/requests/{id}"))
        .await
        .json()["version"]
        .as_i64()
        .expect("the request's version")
        .to_string()
}

#[tokio::test]
async fn brokers_skip_reorder_offer_again_spot_purchase_and_withdraw() {
    let app = TestApp::with_api_records().await;
    framework(&app).await;
    let (broker, broker_id) = app.signed_in(Role::Broker).await;
    let (pa, _) = provider(&app, A).await;
    let (pb, _) = provider(&app, B).await;
    let (pc, _) = provider(&app, C).await;
    let id = raise(&broker, "ASC-0000100", "standard").await;
    let path = format!("/brokerage/requests/{id}");

    // Re-order what is left (B before A), with a reason; skip C.
    let r = broker
        .post_form(
            &format!("{path}/reorder"),
            &[
                ("version", &seen(&broker, id).await),
                (&format!("position-{A}"), "2"),
                (&format!("position-{B}"), "1"),
                ("reason", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Say why"));
    let r = broker
        .post_form(
            &format!("{path}/reorder"),
            &[
                ("version", &seen(&broker, id).await),
                (&format!("position-{A}"), "2"),
                (&format!("position-{B}"), "1"),
                ("reason", "B has carers in PL6 this week"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = broker
        .post_form(
            &format!("{path}/skip"),
            &[
                ("version", &seen(&broker, id).await),
                ("reason", "C told us by phone it is full"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(statuses(&app, id).await, st(&[(C, "skipped"), (B, "open")]));
    // B and then A decline: the framework is exhausted and the case joins the awaiting list.
    let r = pb
        .post_json(
            &format!("/api/v1/offers/{id}/decline"),
            serde_json::json!({"reason": "cannot_meet_needs"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = pa
        .post_json(
            &format!("/api/v1/offers/{id}/decline"),
            serde_json::json!({"reason": "other", "text": "No dementia-trained carers free"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let d = broker
        .get(&format!("/api/v1/brokerage/requests/{id}"))
        .await
        .json();
    assert_eq!(d["state"], "waiting");
    assert!(
        notes_for(&app, broker_id)
            .await
            .contains(&"No provider yet: ASC-0000100".to_string())
    );
    let open: i64 = app
        .db()
        .q()
        .scalar(
            "SELECT COUNT(*) FROM awaiting_episodes WHERE request_id = $1 AND left_on IS NULL",
            caremarket::args![id],
        )
        .await
        .unwrap();
    assert_eq!(open, 1);
    let page = broker.get(&path).await;
    assert!(page.body.contains("No dementia-trained carers free"));
    // Offered again from the top; C now has room and takes it: it leaves the list.
    let r = broker
        .post_form(
            &format!("{path}/reopen"),
            &[
                ("version", &seen(&broker, id).await),
                ("reason", "C has capacity again"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = pc.post_form(&format!("/offers/{id}/accept"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let left: Option<String> = app
        .db()
        .q()
        .scalar(
            "SELECT left_reason FROM awaiting_episodes WHERE request_id = $1",
            caremarket::args![id],
        )
        .await
        .unwrap();
    assert_eq!(left.as_deref(), Some("placed"));
    // Placed: nothing more can be done with it.
    let r = broker
        .post_form(
            &format!("{path}/withdraw"),
            &[
                ("version", &seen(&broker, id).await),
                ("reason", "no longer needed"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("already placed or withdrawn"));

    // Another request: a spot purchase with a provider off the framework.
    let id2 = raise(&broker, "ASC-0000101", "standard").await;
    let r = broker
        .post_form(
            &format!("/brokerage/requests/{id2}/spot"),
            &[
                ("version", &seen(&broker, id2).await),
                ("provider_id", "1-000000000"),
                ("reason", "x"),
            ],
        )
        .await;
    assert!(r.body.contains("Enter a CQC provider ID"));
    let other: (String,) = app
        .db()
        .q()
        .fetch_one(
            "SELECT provider_id FROM cqc_providers WHERE provider_id NOT IN ($1, $2, $3) ORDER BY provider_id LIMIT 1",
            caremarket::args![A, B, C],
        )
        .await
        .unwrap();
    let r = broker
        .post_form(
            &format!("/brokerage/requests/{id2}/spot"),
            &[
                ("version", &seen(&broker, id2).await),
                ("provider_id", &other.0),
                ("reason", "Only provider with a double-up team"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let d = broker
        .get(&format!("/api/v1/brokerage/requests/{id2}"))
        .await
        .json();
    assert_eq!(
        (d["state"].as_str(), d["placed_how"].as_str()),
        (Some("placed"), Some("spot"))
    );
    assert_eq!(statuses(&app, id2).await, st(&[(C, "closed")]));
    // And one withdrawn while with providers.
    let id3 = raise(&broker, "ASC-0000102", "standard").await;
    let r = broker
        .post_form(
            &format!("/brokerage/requests/{id3}/withdraw"),
            &[
                ("version", &seen(&broker, id3).await),
                ("reason", "Moved to a care home"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(statuses(&app, id3).await, st(&[(C, "closed")]));
    let r = pc.post_form(&format!("/offers/{id3}/accept"), &[]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("no longer open") || r.body.contains("not out to providers"),
        "{}",
        r.body
    );

    // Every step is in the audit log with its reason.
    let reasons: Vec<(String,)> = app
        .db()
        .q()
        .fetch_all(
            "SELECT after_json FROM audit_log WHERE action IN ('care_request.skip', 'care_request.reorder', 'care_request.reopen', 'care_request.spot', 'care_request.withdraw') ORDER BY id",
            caremarket::args![],
        )
        .await
        .unwrap();
    let all: String = reasons.into_iter().map(|r| r.0).collect();
    for why in [
        "B has carers in PL6 this week",
        "C told us by phone it is full",
        "C has capacity again",
        "Only provider with a double-up team",
        "Moved to a care home",
    ] {
        assert!(all.contains(why), "{why}: {all}");
    }
    // Requests list shows what is open and what closed.
    let page = broker.get("/brokerage/requests").await;
    assert!(page.body.contains("ASC-0000101"));
    assert!(page.body.contains("spot purchase"));
}
