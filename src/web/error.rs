//! One error type for the whole service. Handlers return `Result<_, AppError>`; the response is
//! an HTML page in the service's style for pages and `application/problem+json` (RFC 9457) for
//! `/api`, chosen by `web::pipeline`, which knows the request path. 5xx causes are logged with
//! the request id and never sent to the client.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("Page not found")]
    NotFound,
    #[error("You need to sign in")]
    Unauthorized,
    #[error("You do not have access to this page")]
    Forbidden,
    /// Refused, with the reason and what to do.
    #[error("{0}")]
    ForbiddenBecause(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("The form has expired")]
    Csrf,
    #[error("Too many requests")]
    TooManyRequests,
    /// A body or file larger than the route takes (the message says the limit).
    #[error("{0}")]
    TooLarge(String),
    /// Something the request needs is not on this server (e.g. Chromium for PDF).
    #[error("{0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("internal error: {0}")]
    Internal(#[from] anyhow::Error),
}

/// Carried from `into_response` to the pipeline, which renders it for pages or the API.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    pub status: StatusCode,
    pub title: String,
    pub detail: String,
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden | AppError::ForbiddenBecause(_) | AppError::Csrf => {
                StatusCode::FORBIDDEN
            }
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Db(e) if is_unique_violation(e) => StatusCode::CONFLICT,
            AppError::Db(e) if is_storage_full(e) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Db(_) | AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn info(&self) -> ErrorInfo {
        let status = self.status();
        let (title, detail) = match self {
            AppError::NotFound => (
                "Page not found".to_string(),
                "If you typed the web address, check it is correct. If you pasted the web address, check you copied the entire address.".to_string(),
            ),
            AppError::Unauthorized => ("You need to sign in".into(), "Sign in to use this service.".into()),
            AppError::Forbidden => (
                "You do not have access to this page".into(),
                "Your account's role does not allow this. Ask your administrator if you need access.".into(),
            ),
            AppError::ForbiddenBecause(m) => ("You cannot do this yet".into(), m.clone()),
            AppError::Csrf => (
                "The form has expired".into(),
                "For your security the form could not be sent. Go back, reload the page and try again.".into(),
            ),
            AppError::TooManyRequests => ("Too many requests".into(), "Wait a few minutes and try again.".into()),
            AppError::BadRequest(m) => ("There is a problem with the request".into(), m.clone()),
            AppError::TooLarge(m) => ("The file is too large".into(), m.clone()),
            AppError::Unavailable(m) => ("This is not available on this server".into(), m.clone()),
            AppError::Conflict(m) => ("There is a conflict".into(), m.clone()),
            AppError::Unprocessable(m) => ("There is a problem".into(), m.clone()),
            AppError::Db(e) if is_unique_violation(e) => (
                "There is a conflict".into(),
                "A record with these details already exists.".into(),
            ),
            AppError::Db(e) if is_storage_full(e) => (
                "Sorry, nothing can be saved at the moment".into(),
                "The server has run out of disk space, so what you sent was not saved. Pages can still be read. Tell your administrator, and try again once they say it is mended.".into(),
            ),
            AppError::Db(_) | AppError::Internal(_) => (
                "Sorry, there is a problem with the service".into(),
                "Try again later. If it keeps happening, tell your administrator and give them the request reference below.".into(),
            ),
        };
        ErrorInfo {
            status,
            title,
            detail,
        }
    }
}

/// The database could not write because its disk is full (SQLite's SQLITE_FULL, code 13;
/// PostgreSQL's disk_full, 53100).
pub fn is_storage_full(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => {
            matches!(d.code().as_deref(), Some("13") | Some("53100"))
                || d.message().contains("database or disk is full")
        }
        sqlx::Error::Io(io) => io.raw_os_error() == Some(28),
        _ => false,
    }
}

pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let info = self.info();
        if info.status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let mut res = info.status.into_response();
        res.extensions_mut().insert(info);
        res
    }
}
