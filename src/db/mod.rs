//! The two storage engines behind one small interface.
//!
//! SQLite is the embedded default and PostgreSQL the production engine. Queries are written
//! once with `$1` placeholders (both engines accept them) and bound through [`Arg`], so a store
//! function runs unchanged on either. Where the engines differ, a store matches on
//! [`Db::engine`] with both arms side by side. Values keep their native types: dates are
//! `DATE`/`TIMESTAMPTZ` on PostgreSQL and ISO text on SQLite, and always chrono types in Rust.

mod migrate;
mod sqlite_bulk;
pub mod tables;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, FromRow, PgPool, Postgres, Sqlite, SqlitePool, Transaction};
use std::str::FromStr;
use std::time::Duration;

pub use migrate::{MIGRATIONS, migrate};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A value bound to a `$n` placeholder.
#[derive(Debug, Clone)]
pub enum Arg {
    I64(Option<i64>),
    F64(Option<f64>),
    Bool(Option<bool>),
    Text(Option<String>),
    Date(Option<NaiveDate>),
    Time(Option<DateTime<Utc>>),
    Json(Option<serde_json::Value>),
}

macro_rules! arg_from {
    ($t:ty, $v:ident) => {
        impl From<$t> for Arg {
            fn from(x: $t) -> Arg {
                Arg::$v(Some(x.into()))
            }
        }
        impl From<Option<$t>> for Arg {
            fn from(x: Option<$t>) -> Arg {
                Arg::$v(x.map(Into::into))
            }
        }
    };
}
arg_from!(i64, I64);
arg_from!(i32, I64);
arg_from!(u32, I64);
arg_from!(f64, F64);
arg_from!(bool, Bool);
arg_from!(String, Text);
arg_from!(NaiveDate, Date);
arg_from!(DateTime<Utc>, Time);
arg_from!(serde_json::Value, Json);

impl From<&str> for Arg {
    fn from(x: &str) -> Arg {
        Arg::Text(Some(x.to_string()))
    }
}
impl From<&String> for Arg {
    fn from(x: &String) -> Arg {
        Arg::Text(Some(x.clone()))
    }
}
impl From<Option<&str>> for Arg {
    fn from(x: Option<&str>) -> Arg {
        Arg::Text(x.map(str::to_string))
    }
}

/// `args![a, b, c]` turns values into the `Vec<Arg>` a query takes.
#[macro_export]
macro_rules! args {
    () => { Vec::<$crate::db::Arg>::new() };
    ($($x:expr),+ $(,)?) => { vec![$($crate::db::Arg::from($x)),+] };
}

/// A row type readable from either engine (derive `sqlx::FromRow`).
pub trait Row: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}
impl<T> Row for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{}

/// A single value readable from either engine.
pub trait Scalar:
    for<'r> sqlx::Decode<'r, Sqlite>
    + sqlx::Type<Sqlite>
    + for<'r> sqlx::Decode<'r, Postgres>
    + sqlx::Type<Postgres>
    + Send
    + Unpin
{
}
impl<T> Scalar for T where
    T: for<'r> sqlx::Decode<'r, Sqlite>
        + sqlx::Type<Sqlite>
        + for<'r> sqlx::Decode<'r, Postgres>
        + sqlx::Type<Postgres>
        + Send
        + Unpin
{
}

macro_rules! bind_all {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                Arg::I64(v) => q.bind(v),
                Arg::F64(v) => q.bind(v),
                Arg::Bool(v) => q.bind(v),
                Arg::Text(v) => q.bind(v),
                Arg::Date(v) => q.bind(v),
                Arg::Time(v) => q.bind(v),
                Arg::Json(v) => q.bind(v.map(sqlx::types::Json)),
            };
        }
        q
    }};
}

/// The operations shared by a pool and a transaction, written once for both engines.
macro_rules! query_methods {
    ($self:ident, $sqlite:pat => $s:expr, $postgres:pat => $p:expr) => {
        pub async fn execute(&mut $self, sql: &str, args: Vec<Arg>) -> Result<u64, sqlx::Error> {
            let sql = AssertSqlSafe(sql.to_string());
            match $self.conn() {
                $sqlite => Ok(bind_all!(sqlx::query(sql), args).execute($s).await?.rows_affected()),
                $postgres => Ok(bind_all!(sqlx::query(sql), args).execute($p).await?.rows_affected()),
            }
        }
        pub async fn fetch_all<T: Row>(&mut $self, sql: &str, args: Vec<Arg>) -> Result<Vec<T>, sqlx::Error> {
            let sql = AssertSqlSafe(sql.to_string());
            match $self.conn() {
                $sqlite => bind_all!(sqlx::query_as::<_, T>(sql), args).fetch_all($s).await,
                $postgres => bind_all!(sqlx::query_as::<_, T>(sql), args).fetch_all($p).await,
            }
        }
        pub async fn fetch_optional<T: Row>(&mut $self, sql: &str, args: Vec<Arg>) -> Result<Option<T>, sqlx::Error> {
            let sql = AssertSqlSafe(sql.to_string());
            match $self.conn() {
                $sqlite => bind_all!(sqlx::query_as::<_, T>(sql), args).fetch_optional($s).await,
                $postgres => bind_all!(sqlx::query_as::<_, T>(sql), args).fetch_optional($p).await,
            }
        }
        pub async fn fetch_one<T: Row>(&mut $self, sql: &str, args: Vec<Arg>) -> Result<T, sqlx::Error> {
            let sql = AssertSqlSafe(sql.to_string());
            match $self.conn() {
                $sqlite => bind_all!(sqlx::query_as::<_, T>(sql), args).fetch_one($s).await,
                $postgres => bind_all!(sqlx::query_as::<_, T>(sql), args).fetch_one($p).await,
            }
        }
        pub async fn scalar<T: Scalar>(&mut $self, sql: &str, args: Vec<Arg>) -> Result<T, sqlx::Error> {
            let sql = AssertSqlSafe(sql.to_string());
            match $self.conn() {
                $sqlite => bind_all!(sqlx::query_scalar::<_, T>(sql), args).fetch_one($s).await,
                $postgres => bind_all!(sqlx::query_scalar::<_, T>(sql), args).fetch_one($p).await,
            }
        }
        pub async fn scalar_optional<T: Scalar>(&mut $self, sql: &str, args: Vec<Arg>) -> Result<Option<T>, sqlx::Error> {
            let sql = AssertSqlSafe(sql.to_string());
            match $self.conn() {
                $sqlite => bind_all!(sqlx::query_scalar::<_, T>(sql), args).fetch_optional($s).await,
                $postgres => bind_all!(sqlx::query_scalar::<_, T>(sql), args).fetch_optional($p).await,
            }
        }
    };
}

enum ConnRef<'a> {
    Sqlite(&'a SqlitePool),
    Postgres(&'a PgPool),
}

enum TxRef<'a> {
    Sqlite(&'a mut sqlx::SqliteConnection),
    Postgres(&'a mut sqlx::PgConnection),
}

/// The pool is cheap to clone; `&mut self` on queries keeps one signature for pool and tx.
pub struct Conn<'a>(ConnRef<'a>);

impl<'a> Conn<'a> {
    fn conn(&mut self) -> &mut ConnRef<'a> {
        &mut self.0
    }
    query_methods!(self, ConnRef::Sqlite(p) => &**p, ConnRef::Postgres(p) => &**p);
}

/// A transaction on either engine. Dropped without `commit` it rolls back.
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl Tx {
    fn conn(&mut self) -> TxRef<'_> {
        match self {
            Tx::Sqlite(t) => TxRef::Sqlite(t),
            Tx::Postgres(t) => TxRef::Postgres(t),
        }
    }
    query_methods!(self, TxRef::Sqlite(c) => &mut *c, TxRef::Postgres(c) => &mut *c);

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(t) => t.commit().await,
            Tx::Postgres(t) => t.commit().await,
        }
    }

    pub fn engine(&self) -> Engine {
        match self {
            Tx::Sqlite(_) => Engine::Sqlite,
            Tx::Postgres(_) => Engine::Postgres,
        }
    }

    /// SQLite only: runs a one-row statement with `?` placeholders once per row, through the
    /// connection's handle (see `sqlite_bulk`). Returns the rows changed.
    pub async fn sqlite_each_row(
        &mut self,
        sql: &str,
        rows: &[Vec<Arg>],
    ) -> Result<u64, sqlx::Error> {
        match self {
            Tx::Sqlite(t) => {
                let mut h = t.lock_handle().await?;
                sqlite_bulk::insert_rows(h.as_raw_handle(), sql, rows)
            }
            Tx::Postgres(_) => Err(sqlx::Error::Protocol(
                "sqlite_each_row on PostgreSQL".into(),
            )),
        }
    }
}

/// A connection error that waiting may cure (nothing listening yet, the server starting up),
/// as against one it will not (a wrong password, no such database).
fn unreachable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut => true,
        // 57P03: the database system is starting up.
        sqlx::Error::Database(d) => d.code().as_deref() == Some("57P03"),
        _ => false,
    }
}

impl Db {
    /// `sqlite://PATH` (created when missing) or `postgres://...`.
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                // WAL lets pages read while one writer works; NORMAL sync is safe with WAL.
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                // A connection coming back with a transaction still open (its COMMIT or
                // ROLLBACK failed: a full disk, an I/O error) would hold the write lock and
                // answer "database is locked" to everyone else until the server restarted.
                // It is closed instead, which rolls the transaction back; the pool opens a
                // fresh one.
                .after_release(|conn, _| {
                    Box::pin(async move {
                        let mut h = conn.lock_handle().await?;
                        // SAFETY: the handle is held for the call.
                        #[allow(unsafe_code)]
                        let open = unsafe { sqlite_bulk::in_transaction(h.as_raw_handle()) };
                        if open {
                            tracing::warn!(
                                "a database connection still held a transaction after an error: closing it"
                            );
                        }
                        Ok(!open)
                    })
                })
                .connect_with(opts)
                .await?;
            Ok(Db::Sqlite(pool))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let opts = PgConnectOptions::from_str(url)?.application_name("caremarket");
            // At boot the database may come up after caremarket: wait for it a while
            // (CAREMARKET_DB_WAIT_SECONDS, 30 by default), saying so, rather than fail at once.
            let wait = std::env::var("CAREMARKET_DB_WAIT_SECONDS")
                .ok()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(30);
            let deadline = std::time::Instant::now() + Duration::from_secs(wait);
            let mut pause = Duration::from_millis(250);
            let mut tries = 0;
            loop {
                tries += 1;
                // One plain connection first: it fails at once when nothing listens (the
                // pool would keep trying for its whole acquire time).
                match <sqlx::PgConnection as sqlx::Connection>::connect_with(&opts).await {
                    Ok(c) => {
                        let _ = sqlx::Connection::close(c).await;
                        let pool = PgPoolOptions::new()
                            .max_connections(16)
                            .acquire_timeout(Duration::from_secs(10))
                            .connect_with(opts)
                            .await?;
                        return Ok(Db::Postgres(pool));
                    }
                    Err(e) if unreachable(&e) && std::time::Instant::now() < deadline => {
                        tracing::warn!(
                            host = opts.get_host(),
                            port = opts.get_port(),
                            tries,
                            error = %e,
                            "PostgreSQL is not answering yet; trying again"
                        );
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(Duration::from_secs(5));
                    }
                    Err(e) if unreachable(&e) => anyhow::bail!(
                        "cannot reach PostgreSQL at {}:{} after {tries} tries over {wait} s ({e}). Is it running, and is CAREMARKET_DATABASE_URL right? (CAREMARKET_DB_WAIT_SECONDS sets how long to wait)",
                        opts.get_host(),
                        opts.get_port()
                    ),
                    Err(e) => anyhow::bail!(
                        "PostgreSQL at {}:{} refused the connection: {e}. Check the user, password and database name in CAREMARKET_DATABASE_URL",
                        opts.get_host(),
                        opts.get_port()
                    ),
                }
            }
        } else {
            anyhow::bail!(
                "database URL {url:?} is neither sqlite://PATH nor postgres://...; set --database-url or CAREMARKET_DATABASE_URL"
            )
        }
    }

    pub fn engine(&self) -> Engine {
        match self {
            Db::Sqlite(_) => Engine::Sqlite,
            Db::Postgres(_) => Engine::Postgres,
        }
    }

    /// Runs one query on the pool (its own implicit transaction).
    pub fn q(&self) -> Conn<'_> {
        Conn(match self {
            Db::Sqlite(p) => ConnRef::Sqlite(p),
            Db::Postgres(p) => ConnRef::Postgres(p),
        })
    }

    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(p) => Tx::Sqlite(p.begin().await?),
            Db::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        let _: i64 = self.q().scalar("SELECT CAST(1 AS BIGINT)", vec![]).await?;
        Ok(())
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(p) => p.close().await,
            Db::Postgres(p) => p.close().await,
        }
    }
}
