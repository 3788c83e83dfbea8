//! The audit log: every write leaves a row, in the same transaction; the table is append-only
//! in the database itself.

use axum::http::StatusCode;
use caremarket::db::Engine;
use caremarket_core::Role;

use crate::support::{TestApp, engine};

#[tokio::test]
async fn every_write_leaves_an_audit_row() {
    let app = TestApp::new().await;
    let (admin, admin_id) = app.signed_in(Role::Admin).await;
    let (_, pw) = app.user("target@leeds.test", Role::Viewer, None).await;
    let target: i64 = app
        .db()
        .q()
        .scalar(
            "SELECT id FROM users WHERE email = 'target@leeds.test'",
            vec![],
        )
        .await
        .unwrap();

    // Each write through a page or the API, with the audit action it must leave.
    macro_rules! step {
        ($action:expr, $call:expr) => {{
            let before = app.count("audit_log").await;
            let status = $call.await.status;
            assert!(
                status.is_success() || status.is_redirection(),
                "{}: {status}",
                $action
            );
            let recent: Vec<(String,)> = app
                .db()
                .q()
                .fetch_all(
                    "SELECT action FROM audit_log ORDER BY id DESC LIMIT 5",
                    vec![],
                )
                .await
                .unwrap();
            assert!(
                app.count("audit_log").await > before,
                "{} left no audit row",
                $action
            );
            assert!(
                recent.iter().any(|(a,)| a == $action),
                "{} not among {recent:?}",
                $action
            );
        }};
    }
    step!(
        "area.add",
        admin.post_form(
            "/admin/areas",
            &[("name", "Leeds"), ("ons_code", "E08000035")]
        )
    );
    step!(
        "user.create",
        admin.post_form(
            "/admin/users",
            &[("email", "inv@leeds.test"), ("role", "broker")]
        )
    );
    step!(
        "user.change_role",
        admin.post_form(
            &format!("/admin/users/{target}/role"),
            &[("role", "commissioner")]
        )
    );
    step!(
        "user.password_reset_link",
        admin.post_form(&format!("/admin/users/{target}/reset-password"), &[])
    );
    step!(
        "user.disable",
        admin.post_form(&format!("/admin/users/{target}/disable"), &[])
    );
    step!(
        "user.enable",
        admin.post_form(&format!("/admin/users/{target}/enable"), &[])
    );
    step!(
        "settings.update",
        admin.post_form(
            "/admin/settings",
            &[
                ("service_name", "Leeds care market"),
                ("session_idle_minutes", "20"),
                ("session_absolute_hours", "10"),
                ("target_pct", "80"),
                ("mfa_admin", "on")
            ]
        )
    );
    step!(
        "api_token.create",
        admin.post_form("/account/tokens", &[("name", "feed")])
    );
    step!(
        "area.add",
        admin.post_json(
            "/api/v1/areas",
            serde_json::json!({"name": "Leicester", "ons_code": "E06000016"})
        )
    );
    step!("user.list", admin.get("/admin/users"));
    step!("user.read", admin.get(&format!("/admin/users/{target}")));
    let areas: Vec<(i64,)> = app
        .db()
        .q()
        .fetch_all("SELECT id FROM areas", vec![])
        .await
        .unwrap();
    step!(
        "area.remove",
        admin.post_form(&format!("/admin/areas/{}/remove", areas[0].0), &[])
    );
    step!("session.sign_out", admin.post_form("/sign-out", &[]));
    let c = app.client();
    step!(
        "session.sign_in",
        c.post_form(
            "/sign-in",
            &[("email", "target@leeds.test"), ("password", &pw)]
        )
    );
    step!(
        "user.change_password",
        c.post_form(
            "/account/password",
            &[
                ("current_password", &pw),
                ("new_password", "granite meadow pylon"),
                ("confirm_password", "granite meadow pylon")
            ]
        )
    );
    // Before and after are kept, with who and the request id.
    let row: (Option<String>, Option<String>, String, String, Option<i64>) = app
        .db()
        .q()
        .fetch_one(
            "SELECT before_json, after_json, actor, request_id, user_id FROM audit_log WHERE action = 'user.change_role'",
            vec![],
        )
        .await
        .unwrap();
    assert!(row.0.unwrap().contains("\"role\":\"viewer\""));
    assert!(row.1.unwrap().contains("\"role\":\"commissioner\""));
    assert!(row.2.ends_with("@council.test"));
    assert_eq!(row.3.len(), 16);
    assert_eq!(row.4, Some(admin_id));
    // Never a password hash in the log.
    let all: Vec<(Option<String>,)> = app
        .db()
        .q()
        .fetch_all("SELECT after_json FROM audit_log", vec![])
        .await
        .unwrap();
    assert!(
        all.iter()
            .all(|(a,)| !a.clone().unwrap_or_default().contains("argon2"))
    );

    // The admin page filters and exports it.
    let (admin, _) = app.signed_in(Role::Admin).await;
    let page = admin.get("/admin/audit?action=user.disable").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("1 entries"));
    let csv = admin.get("/admin/audit.csv?entity=area").await;
    assert_eq!(csv.content_type(), "text/csv; charset=utf-8");
    assert_eq!(
        csv.body.lines().count(),
        4,
        "header, two adds and a removal: {}",
        csv.body
    );
    let api = admin.get("/api/v1/audit?action=area.add").await.json();
    assert_eq!(api["total"], 2);
}

#[tokio::test]
async fn the_database_refuses_to_change_or_delete_audit_rows() {
    let app = TestApp::new().await;
    app.user("someone@leeds.test", Role::Viewer, None).await;
    assert!(app.count("audit_log").await > 0);
    let upd = app
        .db()
        .q()
        .execute("UPDATE audit_log SET actor = 'nobody'", vec![])
        .await;
    let del = app.db().q().execute("DELETE FROM audit_log", vec![]).await;
    assert!(upd.is_err(), "UPDATE must fail");
    assert!(del.is_err(), "DELETE must fail");
    assert!(format!("{:?}", upd.unwrap_err()).contains("append-only"));
    if engine() == Engine::Postgres {
        let t = app.db().q().execute("TRUNCATE audit_log", vec![]).await;
        assert!(t.is_err(), "TRUNCATE must fail on PostgreSQL");
    }
    assert!(app.count("audit_log").await > 0);
}

#[tokio::test]
async fn csv_export_neutralises_formulas() {
    assert_eq!(
        caremarket::audit::pages::csv_cell("=HYPERLINK(\"x\")"),
        "\"'=HYPERLINK(\"\"x\"\")\""
    );
    assert_eq!(
        caremarket::audit::pages::csv_cell("+44 113"),
        "\"'+44 113\""
    );
    assert_eq!(caremarket::audit::pages::csv_cell("Leeds"), "\"Leeds\"");
}
