//! Admin pages: users, areas in scope, settings.

use axum::http::StatusCode;
use caremarket_core::Role;

use crate::support::TestApp;

#[tokio::test]
async fn admin_invites_changes_role_and_sees_last_sign_in() {
    let app = TestApp::new().await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    // Validation re-shows the form with an error summary and keeps what was typed.
    let r = admin
        .post_form(
            "/admin/users",
            &[
                ("email", "not-an-email"),
                ("display_name", "Kim <script>"),
                ("role", "provider"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("govuk-error-summary"));
    assert!(r.body.contains("correct format"));
    assert!(r.body.contains("CQC provider ID"));
    assert!(
        r.body.contains("Kim &#60;script&#62;"),
        "typed text kept and escaped: {}",
        &r.body[r.body.find("display_name\" type").unwrap_or(0)..][..200]
    );
    assert!(!r.body.contains("Kim <script>"));
    let r = admin
        .post_form(
            "/admin/users",
            &[
                ("email", "kim@care.test"),
                ("role", "provider"),
                ("provider_id", "1-101641521"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    // No SMTP in this configuration: the admin is shown the one-time link.
    assert!(r.body.contains("/set-password/"));
    let r = admin
        .post_form(
            "/admin/users",
            &[("email", "KIM@care.test"), ("role", "viewer")],
        )
        .await;
    assert!(r.body.contains("already exists"));

    let list = admin.get("/admin/users").await;
    assert!(list.body.contains("kim@care.test") && list.body.contains("Invited"));
    let id: i64 = app
        .db()
        .q()
        .scalar("SELECT id FROM users WHERE email = 'kim@care.test'", vec![])
        .await
        .unwrap();
    let r = admin
        .post_form(
            &format!("/admin/users/{id}/role"),
            &[("role", "viewer"), ("provider_id", "1-101641521")],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a viewer has no provider ID"
    );
    let r = admin
        .post_form(
            &format!("/admin/users/{id}/role"),
            &[("role", "viewer"), ("provider_id", "")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let role: String = app
        .db()
        .q()
        .scalar(
            "SELECT role FROM users WHERE id = $1",
            caremarket::args![id],
        )
        .await
        .unwrap();
    assert_eq!(role, "viewer");
}

#[tokio::test]
async fn the_last_admin_cannot_be_disabled_or_demoted() {
    let app = TestApp::new().await;
    let (admin, id) = app.signed_in(Role::Admin).await;
    let r = admin
        .post_form(&format!("/admin/users/{id}/role"), &[("role", "viewer")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("only enabled administrator"));
    let r = admin
        .post_form(&format!("/admin/users/{id}/disable"), &[])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(admin.get("/admin/users").await.status, StatusCode::OK);
}

#[tokio::test]
async fn areas_in_scope_are_validated_and_unique() {
    let app = TestApp::new().await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    for (name, code, msg) in [
        ("", "E08000035", "Enter the council"),
        ("Leeds", "E07000001", "E06, E08, E09 or E10"),
        ("Leeds", "", "ONS code, like E08000035"),
    ] {
        let r = admin
            .post_form("/admin/areas", &[("name", name), ("ons_code", code)])
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body.contains(msg), "{msg}");
    }
    let r = admin
        .post_form(
            "/admin/areas",
            &[("name", "Leeds"), ("ons_code", "e08000035")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = admin
        .post_form(
            "/admin/areas",
            &[("name", "Leeds again"), ("ons_code", "E08000035")],
        )
        .await;
    assert!(r.body.contains("already in scope"));
    let api = admin.get("/api/v1/areas").await.json();
    assert_eq!(api[0]["ons_code"], "E08000035");
    let r = admin
        .post_json(
            "/api/v1/areas",
            serde_json::json!({"name": "Leeds", "ons_code": "E08000035"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.content_type(), "application/problem+json");
}

#[tokio::test]
async fn settings_change_the_service_name_and_time_outs() {
    let app = TestApp::new().await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    let r = admin
        .post_form(
            "/admin/settings",
            &[
                ("service_name", ""),
                ("session_idle_minutes", "2"),
                ("session_absolute_hours", "x"),
                ("vacancy_amber_days", "10"),
                ("vacancy_red_days", "10"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("Enter the service name")
            && r.body.contains("5 to 480")
            && r.body.contains("1 to 72")
            && r.body.contains("percentage from 0 to 100")
            && r.body
                .contains("Days before red must be more than days before amber")
    );
    let r = admin
        .post_form(
            "/admin/settings",
            &[
                ("service_name", "Leeds Care Market"),
                ("session_idle_minutes", "10"),
                ("session_absolute_hours", "8"),
                ("target_pct", "85"),
                ("comparator_councils", "Trafford\nStockport"),
                ("vacancy_amber_days", "3"),
                ("vacancy_red_days", "10"),
                ("mfa_admin", "on"),
                ("mfa_broker", "on"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(admin.get("/").await.body.contains("Leeds Care Market"));
    let saved = admin.get("/api/v1/settings").await.json();
    assert_eq!(saved["target_pct"], 85.0);
    assert_eq!(
        (
            saved["vacancy_amber_days"].as_i64(),
            saved["vacancy_red_days"].as_i64()
        ),
        (Some(3), Some(10))
    );
    assert_eq!(
        saved["comparator_councils"],
        serde_json::json!(["Trafford", "Stockport"])
    );
    // Brokers now have to set up two-factor authentication.
    let (_, pw) = app.user("b@leeds.test", Role::Broker, None).await;
    let c = app.client();
    c.get("/sign-in").await;
    let r = c
        .post_form("/sign-in", &[("email", "b@leeds.test"), ("password", &pw)])
        .await;
    assert_eq!(r.location(), "/account/two-factor/set-up");
    // And the new idle time-out applies.
    app.clock.advance(chrono::Duration::minutes(11));
    assert_eq!(admin.get("/").await.status, StatusCode::SEE_OTHER);
}
