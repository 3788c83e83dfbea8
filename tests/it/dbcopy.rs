//! Outgrowing one file: `db copy` SQLite -> PostgreSQL -> SQLite without loss, and `backup`.

use caremarket::cli::dbtools::{columns, read_table};
use caremarket::db::tables::TABLES;
use caremarket::db::{Db, Engine};
use caremarket_core::Role;
use std::process::Command;

use crate::support::{TestApp, TestDb};

fn run(args: &[&str]) -> (bool, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_caremarket"))
        .args(args)
        .env("CAREMARKET_LOG", "warn")
        .output()
        .unwrap();
    (
        o.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

/// Every table's rows, as typed values printed, for comparing two databases.
async fn dump(db: &Db, pg: &Db) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for t in TABLES {
        let cols = columns(pg, t).await.unwrap();
        let rows = read_table(db, t, &cols).await.unwrap();
        out.push((
            t.to_string(),
            rows.iter().map(|r| format!("{r:?}")).collect(),
        ));
    }
    out
}

async fn populate(app: &TestApp) {
    let (admin, _) = app.signed_in(Role::Admin).await; // TOTP secret, recovery codes, sessions
    admin
        .post_form(
            "/admin/areas",
            &[("name", "Leeds"), ("ons_code", "E08000035")],
        )
        .await;
    admin
        .post_form(
            "/admin/users",
            &[("email", "invited@leeds.test"), ("role", "broker")],
        )
        .await; // link + notification
    admin
        .post_form("/account/tokens", &[("name", "feed")])
        .await;
    admin
        .post_form(
            "/admin/settings",
            &[
                ("service_name", "Leeds Care Market"),
                ("session_idle_minutes", "45"),
                ("session_absolute_hours", "9"),
                ("target_pct", "80"),
                ("mfa_admin", "on"),
            ],
        )
        .await;
    app.user("provider@care.test", Role::Provider, Some("1-101641521"))
        .await;
    app.client()
        .post_form(
            "/sign-in",
            &[
                ("email", "provider@care.test"),
                ("password", "wrong guess here"),
            ],
        )
        .await;
}

#[tokio::test]
async fn db_copy_moves_a_deployment_to_postgres_and_back_without_loss() {
    let app = TestApp::on(Engine::Sqlite).await;
    populate(&app).await;
    let (_, pw) = app
        .user("moving@leeds.test", Role::Commissioner, None)
        .await;
    let pg = TestDb::new_on(Engine::Postgres).await;
    let (ok, out) = run(&["db", "copy", "--from", &app.db.url, "--to", &pg.url]);
    assert!(ok, "{out}");
    assert!(out.contains("row counts checked"), "{out}");

    let pg_db = Db::connect(&pg.url).await.unwrap();
    let a = dump(app.db(), &pg_db).await;
    let b = dump(&pg_db, &pg_db).await;
    for ((t, ra), (_, rb)) in a.iter().zip(&b) {
        assert_eq!(ra, rb, "table {t} differs after the copy");
    }
    let nonempty = a.iter().filter(|(_, r)| !r.is_empty()).count();
    assert!(
        nonempty >= 9,
        "the fixture should fill nearly every table, filled {nonempty}"
    );

    // The copy is a working deployment: sign in there, and new rows get fresh ids.
    let moved = TestApp::on_existing(&pg.url).await;
    moved
        .client()
        .sign_in("moving@leeds.test", &pw, &moved)
        .await;
    moved.user("after@leeds.test", Role::Viewer, None).await;

    // Copying into a database that holds data is refused.
    let (ok, out) = run(&["db", "copy", "--from", &app.db.url, "--to", &pg.url]);
    assert!(!ok && out.contains("already holds data"), "{out}");

    // And back to a new SQLite file.
    let back = TestDb::new_on(Engine::Sqlite).await;
    let (ok, out) = run(&["db", "copy", "--from", &pg.url, "--to", &back.url]);
    assert!(ok, "{out}");
    let back_db = Db::connect(&back.url).await.unwrap();
    assert_eq!(dump(&back_db, &pg_db).await, dump(&pg_db, &pg_db).await);
    pg_db.close().await;
    back_db.close().await;
    moved.state.db.close().await;
}

#[tokio::test]
async fn the_copy_list_names_every_table_of_the_schema() {
    let app = TestApp::new().await;
    let sql = match app.db().engine() {
        Engine::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations' ORDER BY name"
        }
        Engine::Postgres => {
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() AND table_name <> 'schema_migrations' ORDER BY 1"
        }
    };
    let rows: Vec<(String,)> = app.db().q().fetch_all(sql, vec![]).await.unwrap();
    let mut actual: Vec<String> = rows.into_iter().map(|r| r.0).collect();
    let mut listed: Vec<String> = TABLES.iter().map(|t| t.to_string()).collect();
    actual.sort();
    listed.sort();
    assert_eq!(actual, listed);
}

#[tokio::test]
async fn backup_takes_a_consistent_copy_of_a_live_sqlite_database() {
    let app = TestApp::on(Engine::Sqlite).await;
    populate(&app).await;
    let out = std::env::temp_dir().join(format!(
        "caremarket-backup-{}.db",
        crate::support::random_name()
    ));
    // A writer keeps going while the backup runs.
    let writer = {
        let state = app.state.clone();
        tokio::spawn(async move {
            for i in 0..50 {
                let _ = caremarket::admin::areas::add(
                    &state,
                    &caremarket::audit::Actor::cli("t"),
                    "Area",
                    &format!("E06{:06}", 100 + i),
                )
                .await;
            }
        })
    };
    let (ok, msg) = run(&[
        "backup",
        "--database-url",
        &app.db.url,
        "--out",
        out.to_str().unwrap(),
    ]);
    writer.await.unwrap();
    assert!(ok, "{msg}");
    let copy = Db::connect(&format!("sqlite://{}", out.display()))
        .await
        .unwrap();
    let users: i64 = copy
        .q()
        .scalar("SELECT COUNT(*) FROM users", vec![])
        .await
        .unwrap();
    assert_eq!(users, app.count("users").await);
    // Consistent: every area in the copy has its audit row (both written in one transaction).
    let areas: i64 = copy
        .q()
        .scalar("SELECT COUNT(*) FROM areas", vec![])
        .await
        .unwrap();
    let audited: i64 = copy
        .q()
        .scalar(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'area.add'",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(areas, audited);
    copy.close().await;
    let (ok, msg) = run(&[
        "backup",
        "--database-url",
        &app.db.url,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!ok && msg.contains("already exists"));
    let _ = std::fs::remove_file(&out);
    let (ok, msg) = run(&[
        "backup",
        "--database-url",
        "postgres://postgres@127.0.0.1:5432/postgres",
        "--out",
        "/tmp/x.db",
    ]);
    assert!(!ok && msg.contains("pg_dump"), "{msg}");
}
