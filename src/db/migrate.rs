//! A small migration runner with the SQL embedded in the binary, so a council can run the one
//! file it downloaded. Each engine has its own folder (`migrations/sqlite`, `migrations/postgres`)
//! because DDL is where the engines differ most; one list names each migration for both.
//! Each applied migration's checksum is kept, and a changed applied file is refused.

use super::{Db, Engine};
use sqlx::AssertSqlSafe;

/// One migration, as both engines apply it.
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

impl Migration {
    pub fn sql(&self, engine: Engine) -> &'static str {
        match engine {
            Engine::Sqlite => self.sqlite,
            Engine::Postgres => self.postgres,
        }
    }
}

/// One list for both engines: a migration named here must exist in both folders or the
/// build fails (include_str!), and a test checks that no file in either folder is missing
/// from the list.
macro_rules! migrations {
    ($($v:literal $name:literal),+ $(,)?) => {
        &[$(Migration {
            version: $v,
            name: $name,
            sqlite: include_str!(concat!("../../migrations/sqlite/", $name, ".sql")),
            postgres: include_str!(concat!("../../migrations/postgres/", $name, ".sql")),
        }),+]
    };
}

pub const MIGRATIONS: &[Migration] = migrations!(
    1 "0001_foundation",
    2 "0002_cqc",
    3 "0003_cqc_sync",
    4 "0004_cqc_rejects",
    5 "0005_data_version",
    6 "0006_quality",
    7 "0007_action_plans",
    8 "0008_concerns",
    9 "0009_themes",
    10 "0010_capacity",
    11 "0011_placements",
    12 "0012_at_risk",
    13 "0013_returns",
    14 "0014_contingency",
    15 "0015_self_assessment",
    16 "0016_questionnaires",
    17 "0017_postcode_districts",
    18 "0018_sufficiency",
    19 "0019_cost_of_care",
    20 "0020_cost_returns",
    21 "0021_population_projections",
    22 "0022_scenario_dates",
    23 "0023_brokerage_lots",
    24 "0024_services_edition",
    25 "0025_care_requests",
    26 "0026_packages",
    27 "0027_rankings",
    28 "0028_provider_capacity",
    29 "0029_one_open_request",
    30 "0030_current_key_questions",
    31 "0031_accounts_security",
    32 "0032_one_open_placement_and_survey",
    33 "0033_todays_cqc_data",
);

/// The checksum recorded beside an applied migration: SHA-256 of its SQL with line endings
/// made `\n`, so a checkout that converts them does not look like an edit.
pub fn checksum(sql: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(sql.replace("\r\n", "\n").as_bytes()))
}

/// Applies the migrations not yet applied, each in its own transaction. Returns how many ran.
/// Checks run before a migration that would fail on data an older version let in: each
/// query returns the rows in the way, and the migration is not applied until they are
/// mended (the message says how). (version, query, what to do)
const GUARDS: &[(i64, &str, &str)] = &[(
    32,
    "SELECT case_reference FROM placements WHERE end_date IS NULL GROUP BY case_reference HAVING COUNT(*) > 1 ORDER BY case_reference",
    "these case references have more than one open placement; end all but one (at /capacity/placements), then start caremarket again",
)];

async fn guard(db: &Db, version: i64) -> anyhow::Result<()> {
    for (v, sql, what) in GUARDS {
        if *v != version {
            continue;
        }
        let rows: Vec<(String,)> = db.q().fetch_all(sql, vec![]).await?;
        if !rows.is_empty() {
            let list: Vec<String> = rows.into_iter().take(20).map(|r| r.0).collect();
            anyhow::bail!(
                "the database cannot be upgraded yet: {what}: {}",
                list.join(", ")
            );
        }
    }
    Ok(())
}

/// The applied migrations: (version, name, checksum where one was recorded).
async fn applied(db: &Db) -> anyhow::Result<Vec<(i64, String, Option<String>)>> {
    Ok(db
        .q()
        .fetch_all(
            "SELECT version, name, checksum FROM schema_migrations ORDER BY version",
            vec![],
        )
        .await?)
}

/// Refuses to go on when an applied migration's file has changed since it was applied (the
/// database was built from other SQL than the files say) or is unknown to this build (the
/// database is newer than the program). A migration applied before checksums were kept has
/// its checksum recorded now. Returns the versions applied.
async fn check_applied(db: &Db, engine: Engine) -> anyhow::Result<Vec<i64>> {
    let applied = applied(db).await?;
    for (version, name, recorded) in &applied {
        let version = *version;
        let Some(m) = MIGRATIONS.iter().find(|m| m.version == version) else {
            anyhow::bail!(
                "the database has migration {version} ({name}) applied, which this version of caremarket does not know: it was made by a newer version; run that version, or restore a backup taken before it"
            );
        };
        let now = checksum(m.sql(engine));
        match recorded {
            None => {
                db.q()
                    .execute(
                        "UPDATE schema_migrations SET checksum = $1 WHERE version = $2",
                        crate::args![now, version],
                    )
                    .await?;
            }
            Some(r) if *r != now => anyhow::bail!(
                "migration {} was changed after it was applied to this database (recorded checksum {}…, the file's now {}…): an applied migration must never be edited; restore its file and put the change in a new migration (see migrations/README.md)",
                m.name,
                &r[..r.len().min(12)],
                &now[..12]
            ),
            Some(_) => {}
        }
    }
    Ok(applied.into_iter().map(|a| a.0).collect())
}

pub async fn migrate(db: &Db) -> anyhow::Result<usize> {
    let engine = db.engine();
    let create = "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL, checksum TEXT)";
    // Two servers starting at once must not both migrate: a session-level advisory lock held
    // on one dedicated connection for the whole run.
    let mut lock = match db {
        Db::Postgres(p) => {
            let mut c = p.acquire().await?;
            sqlx::query("SELECT pg_advisory_lock(727274)")
                .execute(&mut *c)
                .await?;
            Some(c)
        }
        Db::Sqlite(_) => None,
    };
    let result = async {
        db.q().execute(create, vec![]).await?;
        // Databases made before checksums were recorded gain the column; their applied
        // migrations are recorded as they are now, once, below.
        let has_checksum: i64 = db
            .q()
            .scalar(
                match engine {
                    Engine::Sqlite => "SELECT COUNT(*) FROM pragma_table_info('schema_migrations') WHERE name = 'checksum'",
                    Engine::Postgres => "SELECT COUNT(*) FROM information_schema.columns WHERE table_name = 'schema_migrations' AND column_name = 'checksum' AND table_schema = current_schema()",
                },
                vec![],
            )
            .await?;
        if has_checksum == 0 {
            // Two SQLite processes starting at once may both get here (PostgreSQL holds the
            // lock above): the column being there already is what was wanted.
            match db
                .q()
                .execute("ALTER TABLE schema_migrations ADD COLUMN checksum TEXT", vec![])
                .await
            {
                Err(e) if e.to_string().contains("duplicate column") => {}
                r => {
                    r?;
                }
            }
        }
        let done = check_applied(db, engine).await?;
        let mut ran = 0;
        for m in MIGRATIONS.iter().filter(|m| !done.contains(&m.version)) {
            guard(db, m.version).await?;
            let sql = m.sql(engine);
            let record = "INSERT INTO schema_migrations (version, name, applied_at, checksum) VALUES ($1, $2, $3, $4)";
            let now = chrono::Utc::now().to_rfc3339();
            let failed = |e: sqlx::Error| anyhow::anyhow!("migration {} failed: {e}", m.name);
            match db {
                Db::Sqlite(p) => {
                    let mut tx = p.begin().await?;
                    sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut *tx).await.map_err(failed)?;
                    sqlx::query(record)
                        .bind(m.version)
                        .bind(m.name)
                        .bind(now)
                        .bind(checksum(sql))
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                }
                Db::Postgres(p) => {
                    let mut tx = p.begin().await?;
                    sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut *tx).await.map_err(failed)?;
                    sqlx::query(record)
                        .bind(m.version)
                        .bind(m.name)
                        .bind(now)
                        .bind(checksum(sql))
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                }
            }
            ran += 1;
        }
        anyhow::Ok(ran)
    }
    .await;
    if let Some(c) = lock.as_mut() {
        let _ = sqlx::query("SELECT pg_advisory_unlock(727274)")
            .execute(&mut **c)
            .await;
    }
    result
}
