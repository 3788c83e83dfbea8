//! The smaller holes of the security review: contracted locations under the contracts
//! register's rule, request ids the server's own, audit rows with before and after,
//! cross-site requests refused by origin, HSTS over https, a length cap on free text, and
//! names caught in concerns.

use axum::http::{Method, StatusCode};
use caremarket::config::Config;
use caremarket_core::Role;

use crate::capacity::{PROVIDER, provider_user};
use crate::support::TestApp;

#[tokio::test]
async fn contracted_locations_are_listed_only_to_those_who_may_read_the_contracts() {
    let app = TestApp::with_api_records().await;
    let (c, _) = app.signed_in(Role::Commissioner).await;
    let r = crate::quality::upload_register(
        &c,
        "Location ID,Contract type,Start date,End date,Lots,Status,Reference\n1-131732334,Residential,01/04/2024,,,Active,C-1\n",
    )
    .await;
    assert!(
        r.status.is_success() || r.status.is_redirection(),
        "{}",
        r.body
    );
    let drill = "/market/locations?by=contracted&group=all&measure=locations";
    let r = c.get(drill).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Manor House"), "{}", r.body);
    let (viewer, _) = app.signed_in(Role::Viewer).await;
    let provider = provider_user(&app, PROVIDER).await;
    for who in [&viewer, &provider] {
        assert_eq!(
            who.get("/quality/contracts").await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(who.get(drill).await.status, StatusCode::FORBIDDEN);
        let csv = who.get(&format!("{drill}&format=csv")).await;
        assert_eq!(csv.status, StatusCode::FORBIDDEN);
        assert!(!csv.body.contains("1-131732334"));
        // The dashboard keeps its contracted figures, without the lists behind them.
        let d = who.get("/market").await;
        assert_eq!(d.status, StatusCode::OK);
        assert!(!d.body.contains("by=contracted"), "no links to the lists");
    }
    assert!(c.get("/market").await.body.contains("by=contracted"));
}

#[tokio::test]
async fn the_request_id_is_the_servers_and_the_audit_log_keeps_it() {
    let app = TestApp::new().await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    let csrf = admin.csrf().await;
    let r = admin
        .request(
            Method::POST,
            "/admin/areas",
            Some("application/x-www-form-urlencoded"),
            format!("csrf_token={csrf}&name=Leeds&ons_code=E08000035"),
            &[("x-request-id", "forged-by-the-client")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let ours = r.headers["x-request-id"].to_str().unwrap().to_string();
    assert_ne!(ours, "forged-by-the-client");
    let logged: String = app
        .db()
        .q()
        .scalar(
            "SELECT request_id FROM audit_log WHERE action = 'area.add' ORDER BY id DESC LIMIT 1",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(logged, ours);
}

#[tokio::test]
async fn contingency_plans_and_removed_contacts_keep_what_they_were_in_the_audit_log() {
    let app = TestApp::with_api_records().await;
    let p = provider_user(&app, PROVIDER).await;
    let url = format!("/capacity/contingency/{PROVIDER}");
    for (date, notes) in [("01/10/2026", "first plan"), ("15/10/2026", "second plan")] {
        let r = p
            .post_form(
                &format!("{url}/plan"),
                &[
                    ("reviewed_on", date),
                    ("covers_staffing", "yes"),
                    ("notes", notes),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    }
    let (before, after): (Option<String>, Option<String>) = app
        .db()
        .q()
        .fetch_one(
            "SELECT before_json, after_json FROM audit_log WHERE action = 'contingency.plan' ORDER BY id DESC LIMIT 1",
            vec![],
        )
        .await
        .unwrap();
    let (before, after) = (before.unwrap(), after.unwrap());
    assert!(
        before.contains("first plan") && before.contains("2026-10-01"),
        "{before}"
    );
    assert!(
        after.contains("second plan") && after.contains("covers_staffing"),
        "{after}"
    );
    let r = p
        .post_form(
            &format!("{url}/contacts"),
            &[
                ("contact_role", "On-call manager"),
                ("contact_name", "Sam Duty"),
                ("phone", "01752 123456"),
                ("email", "duty@homes.example"),
                ("location_id", "1-131732334"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let id: i64 = app
        .db()
        .q()
        .scalar("SELECT MAX(id) FROM contingency_contacts", vec![])
        .await
        .unwrap();
    let r = p
        .post_form(&format!("/capacity/contingency/contacts/{id}/remove"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let before: Option<String> = app
        .db()
        .q()
        .scalar(
            "SELECT before_json FROM audit_log WHERE action = 'contingency.contact_remove'",
            vec![],
        )
        .await
        .unwrap();
    let before = before.unwrap();
    assert!(
        before.contains("Sam Duty") && before.contains("01752 123456"),
        "{before}"
    );
}

#[tokio::test]
async fn requests_from_another_site_are_refused_by_their_origin() {
    let app = TestApp::new().await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    let csrf = admin.csrf().await;
    let form = |name: &str| format!("csrf_token={csrf}&name={name}&ons_code=E08000035");
    let post = |extra: Vec<(&'static str, &'static str)>, name: &'static str| {
        let admin = admin.clone();
        let body = form(name);
        async move {
            admin
                .request(
                    Method::POST,
                    "/admin/areas",
                    Some("application/x-www-form-urlencoded"),
                    body,
                    &extra,
                )
                .await
        }
    };
    // A valid token is not enough from another site.
    let r = post(vec![("origin", "https://evil.example")], "Evil").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = post(vec![("sec-fetch-site", "cross-site")], "Evil").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = post(vec![("origin", "null")], "Evil").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(app.count("areas").await, 0);
    // Our own origin (the public address), the same site, or a browser that says nothing.
    let r = post(
        vec![
            ("origin", "http://caremarket.test"),
            ("sec-fetch-site", "same-origin"),
        ],
        "Leeds",
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(app.count("areas").await, 1);
}

#[tokio::test]
async fn hsts_is_sent_when_served_over_https_only() {
    let plain = TestApp::new().await;
    let r = plain.client().get("/sign-in").await;
    assert!(!r.headers.contains_key("strict-transport-security"));
    let mut config = Config::for_tests();
    config.public_url = "https://care.council.gov.uk".into();
    config.secure_cookies = true;
    let tls = TestApp::with_config(config).await;
    let r = tls.client().get("/sign-in").await;
    assert_eq!(
        r.headers["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
}

#[tokio::test]
async fn free_text_has_a_limit_the_form_states() {
    let app = TestApp::with_api_records().await;
    let (c, _) = app.signed_in(Role::Commissioner).await;
    let page = c.get("/quality/concerns").await;
    assert!(page.body.contains("maxlength=\"10000\""));
    assert!(page.body.contains("You can enter up to 10,000 characters"));
    let long = "a".repeat(10_001);
    let r = c
        .post_form(
            "/quality/concerns",
            &[
                ("location_id", "1-131732334"),
                ("received_date", "01/11/2026"),
                ("source", "complaint"),
                ("severity", "low"),
                ("summary", &long),
                ("confirm_no_names", "yes"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("at most 10000"), "{}", r.body);
    assert_eq!(app.count("concerns").await, 0);
}

#[tokio::test]
async fn a_concern_naming_a_resident_or_giving_a_birth_date_is_stopped_for_a_check() {
    let app = TestApp::with_api_records().await;
    let (c, _) = app.signed_in(Role::Commissioner).await;
    for (text, says) in [
        (
            "resident Jane Smith was left in bed all day",
            "looks like a person",
        ),
        (
            "a lady born 01/02/1940 was not given her tablets",
            "looks like a date of birth",
        ),
    ] {
        let r = c
            .post_form(
                "/quality/concerns",
                &[
                    ("location_id", "1-131732334"),
                    ("received_date", "01/11/2026"),
                    ("source", "complaint"),
                    ("severity", "low"),
                    ("summary", text),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{text}");
        assert!(r.body.contains(says), "{text}: {}", r.body);
    }
    assert_eq!(app.count("concerns").await, 0);
}
