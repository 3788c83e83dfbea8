//! Moving a deployment between engines (`db copy`), and SQLite backups (`backup`).

use chrono::{DateTime, NaiveDate, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Row};
use std::path::Path;

use crate::db::tables::TABLES;
use crate::db::{Arg, Db, Engine};

/// Column types as PostgreSQL names them; the PostgreSQL side of a copy gives the truth,
/// since SQLite's declared types are only affinities.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Int,
    Float,
    Bool,
    Text,
    Date,
    Time,
    Json,
}

fn kind(data_type: &str) -> anyhow::Result<Kind> {
    Ok(match data_type {
        "bigint" | "integer" | "smallint" => Kind::Int,
        "double precision" | "real" | "numeric" => Kind::Float,
        "boolean" => Kind::Bool,
        "text" | "character varying" | "character" => Kind::Text,
        "date" => Kind::Date,
        "timestamp with time zone" => Kind::Time,
        "json" | "jsonb" => Kind::Json,
        other => anyhow::bail!("column type {other} cannot be copied yet"),
    })
}

/// The columns of a table with their kinds, read from a PostgreSQL database.
pub async fn columns(pg: &Db, table: &str) -> anyhow::Result<Vec<(String, Kind)>> {
    let rows: Vec<(String, String)> = pg
        .q()
        .fetch_all(
            "SELECT column_name::text, data_type::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
            crate::args![table],
        )
        .await?;
    rows.into_iter().map(|(c, t)| Ok((c, kind(&t)?))).collect()
}

fn from_sqlite(row: &SqliteRow, i: usize, k: Kind) -> Result<Arg, sqlx::Error> {
    Ok(match k {
        Kind::Int => Arg::I64(row.try_get(i)?),
        Kind::Float => Arg::F64(row.try_get(i)?),
        Kind::Bool => Arg::Bool(row.try_get(i)?),
        Kind::Text => Arg::Text(row.try_get(i)?),
        Kind::Date => Arg::Date(row.try_get::<Option<NaiveDate>, _>(i)?),
        Kind::Time => Arg::Time(row.try_get::<Option<DateTime<Utc>>, _>(i)?),
        Kind::Json => Arg::Json(
            row.try_get::<Option<sqlx::types::Json<serde_json::Value>>, _>(i)?
                .map(|j| j.0),
        ),
    })
}

fn from_pg(row: &PgRow, i: usize, k: Kind) -> Result<Arg, sqlx::Error> {
    Ok(match k {
        Kind::Int => Arg::I64(match row.try_get::<Option<i64>, _>(i) {
            Ok(v) => v,
            Err(_) => row.try_get::<Option<i32>, _>(i)?.map(i64::from),
        }),
        Kind::Float => Arg::F64(row.try_get(i)?),
        Kind::Bool => Arg::Bool(row.try_get(i)?),
        Kind::Text => Arg::Text(row.try_get(i)?),
        Kind::Date => Arg::Date(row.try_get(i)?),
        Kind::Time => Arg::Time(row.try_get(i)?),
        Kind::Json => Arg::Json(
            row.try_get::<Option<sqlx::types::Json<serde_json::Value>>, _>(i)?
                .map(|j| j.0),
        ),
    })
}

/// Every row of a table as typed values, in primary-key order.
pub async fn read_table(
    db: &Db,
    table: &str,
    cols: &[(String, Kind)],
) -> anyhow::Result<Vec<Vec<Arg>>> {
    let list = cols
        .iter()
        .map(|c| c.0.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!("SELECT {list} FROM {table} ORDER BY 1");
    let mut out = Vec::new();
    match db {
        Db::Sqlite(p) => {
            for row in sqlx::query(AssertSqlSafe(sql)).fetch_all(p).await? {
                out.push(
                    cols.iter()
                        .enumerate()
                        .map(|(i, c)| from_sqlite(&row, i, c.1))
                        .collect::<Result<Vec<_>, _>>()?,
                );
            }
        }
        Db::Postgres(p) => {
            for row in sqlx::query(AssertSqlSafe(sql)).fetch_all(p).await? {
                out.push(
                    cols.iter()
                        .enumerate()
                        .map(|(i, c)| from_pg(&row, i, c.1))
                        .collect::<Result<Vec<_>, _>>()?,
                );
            }
        }
    }
    Ok(out)
}

async fn schema_version(db: &Db) -> anyhow::Result<i64> {
    Ok(db
        .q()
        .scalar_optional::<i64>("SELECT MAX(version) FROM schema_migrations", vec![])
        .await
        .unwrap_or(None)
        .unwrap_or(0))
}

/// Copies a whole deployment into an empty database on the other engine, in one transaction
/// on the target: it ends with every row there, or none.
pub async fn copy(from: &str, to: &str) -> anyhow::Result<()> {
    let src = Db::connect(from).await?;
    let dst = Db::connect(to).await?;
    let pg = match (src.engine(), dst.engine()) {
        (Engine::Sqlite, Engine::Postgres) => &dst,
        (Engine::Postgres, Engine::Sqlite) => &src,
        _ => anyhow::bail!(
            "db copy moves between SQLite and PostgreSQL; for a copy on the same engine use `caremarket backup` (SQLite) or pg_dump (PostgreSQL)"
        ),
    };
    crate::db::migrate(&dst).await?;
    let (sv, dv) = (schema_version(&src).await?, schema_version(&dst).await?);
    if sv != dv {
        anyhow::bail!(
            "the source is at schema version {sv} and this caremarket at {dv}: run `caremarket migrate --database-url {from}` first"
        );
    }
    for t in TABLES {
        let n: i64 = dst
            .q()
            .scalar(&format!("SELECT COUNT(*) FROM {t}"), vec![])
            .await?;
        if n > 0 {
            anyhow::bail!(
                "the target already holds data ({n} rows in {t}); copy only into an empty database"
            );
        }
    }
    let mut plan = Vec::new();
    let mut total = 0u64;
    for t in TABLES {
        let cols = columns(pg, t).await?;
        let n: i64 = src
            .q()
            .scalar(&format!("SELECT COUNT(*) FROM {t}"), vec![])
            .await?;
        total += n as u64;
        plan.push((*t, cols, n));
    }
    let bar = ProgressBar::new(total).with_style(
        ProgressStyle::with_template("{msg:>16} [{bar:40}] {pos}/{len} rows ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let started = std::time::Instant::now();
    let mut tx = dst.begin().await?;
    for (t, cols, _) in &plan {
        bar.set_message(t.to_string());
        let rows = read_table(&src, t, cols).await?;
        if dst.engine() == Engine::Postgres {
            refuse_nul(t, cols, &rows)?;
        }
        let list = cols
            .iter()
            .map(|c| c.0.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        // Multi-row INSERTs: one statement per row is several times slower.
        let per_stmt = (500 / cols.len().max(1)).max(1);
        for chunk in rows.chunks(per_stmt) {
            let mut sql = format!("INSERT INTO {t} ({list}) VALUES ");
            let mut args = Vec::with_capacity(chunk.len() * cols.len());
            for (r, row) in chunk.iter().enumerate() {
                if r > 0 {
                    sql.push_str(", ");
                }
                sql.push('(');
                for c in 0..cols.len() {
                    if c > 0 {
                        sql.push_str(", ");
                    }
                    sql.push_str(&format!("${}", r * cols.len() + c + 1));
                }
                sql.push(')');
                args.extend(row.iter().cloned());
            }
            tx.execute(&sql, args).await?;
            bar.inc(chunk.len() as u64);
        }
        if dst.engine() == Engine::Postgres && cols.iter().any(|c| c.0 == "id") {
            // Rows came with their ids: move each identity past them.
            tx.execute(
                &format!("SELECT setval(pg_get_serial_sequence('{t}', 'id'), COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM {t}"),
                vec![],
            )
            .await?;
        }
    }
    tx.commit().await?;
    bar.finish_and_clear();
    for (t, _, n) in &plan {
        let m: i64 = dst
            .q()
            .scalar(&format!("SELECT COUNT(*) FROM {t}"), vec![])
            .await?;
        if m != *n {
            anyhow::bail!("{t}: copied {m} rows of {n}");
        }
    }
    println!(
        "Copied {total} rows in {} tables from {} to {} in {:.1} s; row counts checked",
        plan.len(),
        redact(from),
        redact(to),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// PostgreSQL cannot store NUL in text (SQLite can, and older versions of caremarket let it
/// in): name the row and column so it can be mended in the source before copying again.
fn refuse_nul(table: &str, cols: &[(String, Kind)], rows: &[Vec<Arg>]) -> anyhow::Result<()> {
    for row in rows {
        for (c, v) in row.iter().enumerate() {
            let bad = match v {
                Arg::Text(Some(s)) => s.contains('\0'),
                Arg::Json(Some(j)) => j.to_string().contains("\\u0000"),
                _ => false,
            };
            if bad {
                let key = match row.first() {
                    Some(Arg::I64(Some(i))) => i.to_string(),
                    Some(Arg::Text(Some(s))) => format!("{s:?}"),
                    _ => "?".into(),
                };
                anyhow::bail!(
                    "cannot copy table {table}, row {} = {key}: column {} holds a NUL character, which PostgreSQL cannot store. Remove it in the source (for example: UPDATE {table} SET {} = replace({}, char(0), '') WHERE {} = {key}) and copy again; nothing was copied",
                    cols[0].0,
                    cols[c].0,
                    cols[c].0,
                    cols[c].0,
                    cols[0].0
                );
            }
        }
    }
    Ok(())
}

/// A URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// A consistent copy of a SQLite database, taken while the service runs (`VACUUM INTO` reads
/// one snapshot). PostgreSQL is backed up with its own tool, pg_dump.
pub async fn backup(url: &str, out: &Path) -> anyhow::Result<()> {
    let db = Db::connect(url).await?;
    let Db::Sqlite(pool) = &db else {
        anyhow::bail!(
            "backup is for SQLite; back up PostgreSQL with: pg_dump --format=custom --file=caremarket.dump DATABASE_URL"
        );
    };
    if out.exists() {
        anyhow::bail!("{} already exists: choose a new file name", out.display());
    }
    let started = std::time::Instant::now();
    let path = out.to_string_lossy().replace('\'', "''");
    sqlx::query(AssertSqlSafe(format!("VACUUM INTO '{path}'")))
        .execute(pool)
        .await?;
    let size = std::fs::metadata(out)?.len();
    println!(
        "Backed up to {} ({:.1} MB) in {:.1} s",
        out.display(),
        size as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
