//! Text nobody types: a NUL byte (or another control character) in any input is refused at
//! the edge with a clear message on both engines (PostgreSQL cannot store NUL; SQLite can,
//! so without the check one engine stored it and the other failed with a 500), and nothing
//! is written. `db copy` names the row it cannot copy when an older database holds one.

use axum::http::{Method, StatusCode};
use caremarket::db::Engine;
use caremarket_core::Role;

use crate::support::{TestApp, TestDb};

fn refused(r: &crate::support::Resp, what: &str) {
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{what}: {}", r.body);
    assert!(
        r.body.contains("control character"),
        "{what} should say why: {}",
        r.body
    );
}

#[tokio::test]
async fn nul_and_control_characters_are_refused_everywhere_text_comes_in() {
    let app = TestApp::new().await;
    let audit_before = app.count("audit_log").await;
    let anon = app.client();
    // Signed out: sign-in and the password reset request.
    let r = anon
        .post_form("/sign-in", &[("email", "a\0@x.test"), ("password", "pw")])
        .await;
    refused(&r, "sign-in e-mail");
    let r = anon
        .post_form("/password-reset", &[("email", "someone\0@x.test")])
        .await;
    refused(&r, "password reset e-mail");
    let r = anon.get("/sign-in?next=%2F%00").await;
    refused(&r, "query string signed out");

    let (admin, _) = app.signed_in(Role::Admin).await;
    let r = admin
        .post_form(
            "/admin/areas",
            &[("name", "Leeds\0"), ("ons_code", "E08000035")],
        )
        .await;
    refused(&r, "area name");
    let r = admin
        .post_form(
            "/admin/users",
            &[("email", "new\u{1}@leeds.test"), ("role", "broker")],
        )
        .await;
    refused(&r, "invited e-mail (U+0001)");
    let r = admin
        .post_json(
            "/api/v1/areas",
            serde_json::json!({"name": "Leeds\u{0000}", "ons_code": "E08000035"}),
        )
        .await;
    refused(&r, "JSON string");
    assert!(r.body.contains("/name"), "names the JSON field: {}", r.body);
    let r = admin
        .post_json("/api/v1/tokens", serde_json::json!({"name": "feed\u{0}"}))
        .await;
    refused(&r, "token name");

    let (commissioner, _) = app.signed_in(Role::Commissioner).await;
    let r = commissioner.get("/locations?q=Rose%00Court").await;
    refused(&r, "search query");
    let r = commissioner.get("/locations/1-101%00").await;
    refused(&r, "path");
    let r = commissioner
        .post_file(
            "/quality/contracts",
            &[("note\0", "x")],
            "contracts.csv",
            "Location ID,Contract type\n1-101,Residential\n",
        )
        .await;
    // multer refuses a NUL in a part's headers itself: a 400 all the same.
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "multipart field name: {}",
        r.body
    );
    let r = commissioner
        .post_file(
            "/quality/contracts",
            &[("contract_type", "Residential\0")],
            "contracts.csv",
            "Location ID,Contract type\n1-101,Residential\n",
        )
        .await;
    refused(&r, "multipart field value");

    let (broker, _) = app.signed_in(Role::Broker).await;
    let r = broker
        .request(
            Method::POST,
            "/api/v1/brokerage/requests",
            Some("application/json"),
            r#"{"case_ref": "123\u0000456"}"#.to_string(),
            &[],
        )
        .await;
    refused(&r, "escaped NUL in JSON");
    let r = broker
        .request(
            Method::POST,
            "/api/v1/brokerage/requests",
            Some("application/merge-patch+json; charset=utf-8"),
            r#"{"case_ref": "123\u0000456"}"#.to_string(),
            &[],
        )
        .await;
    refused(&r, "JSON under a +json media type with parameters");

    // Tabs and line breaks are text: a form with them is not refused for it.
    let r = admin
        .post_form(
            "/admin/areas",
            &[("name", "Leeds\r\nCity"), ("ons_code", "E08000035")],
        )
        .await;
    assert_ne!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);

    // Nothing written by any refused request (the last one may have written its own rows).
    let audit_rows: Vec<(String,)> = app
        .db()
        .q()
        .fetch_all(
            "SELECT action FROM audit_log WHERE id > $1 ORDER BY id",
            caremarket::args![audit_before],
        )
        .await
        .unwrap();
    assert!(
        audit_rows
            .iter()
            .all(|(a,)| !a.contains("contract") && !a.contains("token")),
        "{audit_rows:?}"
    );
    assert_eq!(app.count("contracts").await, 0);
    assert_eq!(app.count("api_tokens").await, 0);
}

#[tokio::test]
async fn a_file_cell_with_a_nul_is_read_without_it() {
    // XLSX escapes a NUL as _x0000_; CSV with NUL bytes is not text at all (refused).
    let book = crate::support::sheets::xlsx(&[(
        "Contracts",
        vec![
            vec!["Location ID".into(), "Contract type".into()],
            vec!["1-101".into(), "Resi_x0000_dential".into()],
        ],
    )]);
    let grids = caremarket::import::open("c.xlsx", &book).unwrap();
    assert_eq!(grids[0].cell(1, 1), "Residential");
    let e = caremarket::import::open("c.csv", b"Location ID\n1-101\0\n").unwrap_err();
    assert!(e.0.contains("NUL"), "{e}");
}

#[tokio::test]
async fn db_copy_names_the_row_postgres_cannot_take() {
    let app = TestApp::on(Engine::Sqlite).await;
    app.user("lead@leeds.test", Role::Commissioner, None).await;
    // An older caremarket let a NUL into SQLite.
    app.db()
        .q()
        .execute(
            "UPDATE users SET display_name = 'Lead' || char(0) || 'er' WHERE email = 'lead@leeds.test'",
            vec![],
        )
        .await
        .unwrap();
    let id: i64 = app
        .db()
        .q()
        .scalar(
            "SELECT id FROM users WHERE email = 'lead@leeds.test'",
            vec![],
        )
        .await
        .unwrap();
    let pg = TestDb::new_on(Engine::Postgres).await;
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_caremarket"))
        .args(["db", "copy", "--from", &app.db.url, "--to", &pg.url])
        .env("CAREMARKET_LOG", "warn")
        .output()
        .unwrap();
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!o.status.success(), "{out}");
    assert!(
        out.contains(&format!(
            "table users, row id = {id}: column display_name holds a NUL"
        )),
        "{out}"
    );
    let target = caremarket::db::Db::connect(&pg.url).await.unwrap();
    let n: i64 = target
        .q()
        .scalar("SELECT COUNT(*) FROM users", vec![])
        .await
        .unwrap();
    assert_eq!(n, 0, "nothing copied");
    target.close().await;
}
