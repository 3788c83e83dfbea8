//! A small migration runner with the SQL embedded in the binary, so a council can run the one
//! file it downloaded. Each engine has its own folder (`migrations/sqlite`, `migrations/postgres`)
//! because DDL is where the engines differ most; versions must stay in step.

use super::{Db, Engine};
use sqlx::AssertSqlSafe;

pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

macro_rules! migrations {
    ($dir:literal: $($v:literal $name:literal),+ $(,)?) => {
        &[$(Migration { version: $v, name: $name, sql: include_str!(concat!("../../migrations/", $dir, "/", $name, ".sql")) }),+]
    };
}

pub const MIGRATIONS_SQLITE: &[Migration] = migrations!("sqlite":
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
pub const MIGRATIONS_POSTGRES: &[Migration] = migrations!("postgres":
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

pub async fn migrate(db: &Db) -> anyhow::Result<usize> {
    let list = match db.engine() {
        Engine::Sqlite => MIGRATIONS_SQLITE,
        Engine::Postgres => MIGRATIONS_POSTGRES,
    };
    let create = "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)";
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
        let done: Vec<i64> = {
            let rows: Vec<(i64,)> = db
                .q()
                .fetch_all("SELECT version FROM schema_migrations ORDER BY version", vec![])
                .await?;
            rows.into_iter().map(|r| r.0).collect()
        };
        let mut ran = 0;
        for m in list.iter().filter(|m| !done.contains(&m.version)) {
            guard(db, m.version).await?;
            match db {
                Db::Sqlite(p) => {
                    let mut tx = p.begin().await?;
                    sqlx::raw_sql(AssertSqlSafe(m.sql)).execute(&mut *tx).await.map_err(|e| {
                        anyhow::anyhow!("migration {} failed: {e}", m.name)
                    })?;
                    sqlx::query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
                        .bind(m.version)
                        .bind(m.name)
                        .bind(chrono::Utc::now().to_rfc3339())
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                }
                Db::Postgres(p) => {
                    let mut tx = p.begin().await?;
                    sqlx::raw_sql(AssertSqlSafe(m.sql)).execute(&mut *tx).await.map_err(|e| {
                        anyhow::anyhow!("migration {} failed: {e}", m.name)
                    })?;
                    sqlx::query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
                        .bind(m.version)
                        .bind(m.name)
                        .bind(chrono::Utc::now().to_rfc3339())
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
