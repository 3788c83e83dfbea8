//! The migration runner guards itself: one list names every migration for both engines, each
//! applied migration's checksum is kept, and a database built from other SQL than the files
//! (an applied migration edited in place) or by a newer caremarket is refused with a message
//! that says what to do.

use std::collections::BTreeSet;
use std::process::Command;

use caremarket::db::{Db, MIGRATIONS, migrate};

use crate::support::TestDb;

fn folder(engine: &str) -> BTreeSet<String> {
    std::fs::read_dir(format!(
        "{}/migrations/{engine}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
    .filter(|f| f.ends_with(".sql"))
    .collect()
}

#[test]
fn the_list_and_both_folders_name_the_same_migrations_in_order() {
    let listed: BTreeSet<String> = MIGRATIONS
        .iter()
        .map(|m| format!("{}.sql", m.name))
        .collect();
    let sqlite = folder("sqlite");
    let postgres = folder("postgres");
    assert_eq!(
        sqlite, listed,
        "migrations/sqlite against the list in src/db/migrate.rs"
    );
    assert_eq!(
        postgres, listed,
        "migrations/postgres against the list in src/db/migrate.rs"
    );
    for (i, m) in MIGRATIONS.iter().enumerate() {
        assert_eq!(
            m.version,
            i as i64 + 1,
            "{}: versions run 1, 2, 3… with no gap",
            m.name
        );
        assert!(
            m.name.starts_with(&format!("{:04}_", m.version)),
            "{}: the file name begins with its version",
            m.name
        );
    }
}

async fn connect(db: &TestDb) -> Db {
    let d = Db::connect(&db.url).await.unwrap();
    migrate(&d).await.unwrap();
    d
}

fn migrate_cli(db: &TestDb) -> (bool, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_caremarket"))
        .arg("migrate")
        .env("CAREMARKET_DATABASE_URL", &db.url)
        .env("CAREMARKET_LOG", "warn")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.success(), text)
}

#[tokio::test]
async fn every_applied_migration_keeps_the_checksum_of_its_file() {
    let tdb = TestDb::new().await;
    let db = connect(&tdb).await;
    let rows: Vec<(i64, Option<String>)> = db
        .q()
        .fetch_all(
            "SELECT version, checksum FROM schema_migrations ORDER BY version",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), MIGRATIONS.len());
    for ((v, sum), m) in rows.iter().zip(MIGRATIONS) {
        assert_eq!(*v, m.version);
        // SHA-256 of the file on disk, worked out here from the file itself.
        use sha2::{Digest, Sha256};
        let file = std::fs::read_to_string(format!(
            "{}/migrations/{}/{}.sql",
            env!("CARGO_MANIFEST_DIR"),
            match db.engine() {
                caremarket::db::Engine::Sqlite => "sqlite",
                caremarket::db::Engine::Postgres => "postgres",
            },
            m.name
        ))
        .unwrap()
        .replace("\r\n", "\n");
        assert_eq!(
            sum.as_deref(),
            Some(hex::encode(Sha256::digest(file)).as_str()),
            "{}",
            m.name
        );
    }
    // Running again applies nothing and changes nothing.
    assert_eq!(migrate(&db).await.unwrap(), 0);
}

#[tokio::test]
async fn an_applied_migration_edited_in_place_is_refused_with_what_to_do() {
    let tdb = TestDb::new().await;
    let db = connect(&tdb).await;
    // As if 0002_cqc.sql had been edited after this database applied it.
    db.q()
        .execute(
            "UPDATE schema_migrations SET checksum = 'a1b2c3d4e5f60718293a4b5c6d7e8f90' WHERE version = 2",
            vec![],
        )
        .await
        .unwrap();
    db.close().await;
    let (ok, out) = migrate_cli(&tdb);
    assert!(!ok, "{out}");
    assert!(
        out.contains("migration 0002_cqc was changed after it was applied")
            && out.contains("a1b2c3d4e5f6")
            && out.contains("put the change in a new migration"),
        "{out}"
    );
}

#[tokio::test]
async fn a_database_from_a_newer_caremarket_is_refused() {
    let tdb = TestDb::new().await;
    let db = connect(&tdb).await;
    db.q()
        .execute(
            "INSERT INTO schema_migrations (version, name, applied_at, checksum) VALUES (9999, '9999_from_the_future', '2027-01-01T00:00:00Z', 'x')",
            vec![],
        )
        .await
        .unwrap();
    // The newer caremarket's database, opened by this one as it starts.
    db.close().await;
    let db = Db::connect(&tdb.url).await.unwrap();
    let e = migrate(&db).await.unwrap_err().to_string();
    assert!(
        e.contains("9999 (9999_from_the_future)") && e.contains("newer version"),
        "{e}"
    );
}

#[tokio::test]
async fn a_database_from_before_checksums_has_them_recorded_once() {
    let tdb = TestDb::new().await;
    let db = connect(&tdb).await;
    db.q()
        .execute("ALTER TABLE schema_migrations DROP COLUMN checksum", vec![])
        .await
        .unwrap();
    // This version starting on the older database: fresh connections, as a new process has
    // (a pooled SQLite connection may still read the schema as it was before the change).
    db.close().await;
    let db = Db::connect(&tdb.url).await.unwrap();
    assert_eq!(migrate(&db).await.unwrap(), 0);
    let missing: i64 = db
        .q()
        .scalar(
            "SELECT COUNT(*) FROM schema_migrations WHERE checksum IS NULL",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(missing, 0);
    // And from then on an edit is caught.
    db.q()
        .execute(
            "UPDATE schema_migrations SET checksum = 'changed' WHERE version = 33",
            vec![],
        )
        .await
        .unwrap();
    let e = migrate(&db).await.unwrap_err().to_string();
    assert!(e.contains("0033_todays_cqc_data was changed"), "{e}");
}
