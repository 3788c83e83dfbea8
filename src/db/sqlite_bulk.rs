//! Bulk inserts on SQLite through the connection's own handle: one prepared single-row
//! statement, bound and stepped per row, inside the caller's transaction. Going through the
//! driver costs about a microsecond per bound value (the national ratings file has two
//! million); this costs what SQLite itself costs.

// The one place caremarket calls C: SQLite's own API, each call's safety said beside it.
#![allow(unsafe_code)]

use libsqlite3_sys as ffi;
use std::ffi::{CStr, CString, c_int};
use std::ptr::{NonNull, null_mut};

use super::Arg;

fn error(db: *mut ffi::sqlite3, what: &str) -> sqlx::Error {
    // SAFETY: db is a live connection handle; sqlite3_errmsg returns a NUL-terminated string
    // owned by SQLite, copied here before any other call on the handle.
    let msg = unsafe { CStr::from_ptr(ffi::sqlite3_errmsg(db)) }
        .to_string_lossy()
        .to_string();
    sqlx::Error::Protocol(format!("{what}: {msg}"))
}

/// Runs `sql` (one statement with `?` placeholders) once per row.
///
/// # Safety contract
/// `db` must come from `LockedSqliteHandle::as_raw_handle`, held for the whole call so that
/// the driver's worker makes no call on the handle meanwhile.
pub fn insert_rows(
    db: NonNull<ffi::sqlite3>,
    sql: &str,
    rows: &[Vec<Arg>],
) -> Result<u64, sqlx::Error> {
    let db = db.as_ptr();
    let c_sql = CString::new(sql).map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
    let mut stmt: *mut ffi::sqlite3_stmt = null_mut();
    // SAFETY: db is valid (see above); stmt is written by SQLite and finalized below on every
    // path.
    unsafe {
        if ffi::sqlite3_prepare_v2(db, c_sql.as_ptr(), -1, &mut stmt, null_mut()) != ffi::SQLITE_OK
        {
            return Err(error(db, "preparing a bulk insert"));
        }
        let result = (|| {
            let mut n = 0u64;
            for row in rows {
                for (i, v) in row.iter().enumerate() {
                    let idx = (i + 1) as c_int;
                    let rc = match v {
                        Arg::I64(Some(x)) => ffi::sqlite3_bind_int64(stmt, idx, *x),
                        Arg::F64(Some(x)) => ffi::sqlite3_bind_double(stmt, idx, *x),
                        Arg::Bool(Some(b)) => ffi::sqlite3_bind_int64(stmt, idx, *b as i64),
                        Arg::Text(Some(t)) => bind_text(stmt, idx, t),
                        Arg::Date(Some(d)) => bind_text(stmt, idx, &d.to_string()),
                        Arg::Time(Some(t)) => bind_text(
                            stmt,
                            idx,
                            &t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false),
                        ),
                        Arg::Json(Some(j)) => bind_text(stmt, idx, &j.to_string()),
                        _ => ffi::sqlite3_bind_null(stmt, idx),
                    };
                    if rc != ffi::SQLITE_OK {
                        return Err(error(db, "binding a value"));
                    }
                }
                match ffi::sqlite3_step(stmt) {
                    ffi::SQLITE_DONE => n += ffi::sqlite3_changes(db) as u64,
                    _ => return Err(error(db, "inserting a row")),
                }
                ffi::sqlite3_reset(stmt);
            }
            Ok(n)
        })();
        ffi::sqlite3_finalize(stmt);
        result
    }
}

/// SAFETY: stmt is a live prepared statement; SQLITE_TRANSIENT makes SQLite copy the bytes.
unsafe fn bind_text(stmt: *mut ffi::sqlite3_stmt, idx: c_int, t: &str) -> c_int {
    unsafe {
        ffi::sqlite3_bind_text(
            stmt,
            idx,
            t.as_ptr().cast(),
            t.len() as c_int,
            ffi::SQLITE_TRANSIENT(),
        )
    }
}

/// Whether the connection has a transaction open (SQLite is not in autocommit mode).
///
/// # Safety
/// `db` must come from `LockedSqliteHandle::as_raw_handle`, held for the call.
pub unsafe fn in_transaction(db: std::ptr::NonNull<ffi::sqlite3>) -> bool {
    // SAFETY: the caller holds the connection's handle; the call only reads its state.
    unsafe { ffi::sqlite3_get_autocommit(db.as_ptr()) == 0 }
}
