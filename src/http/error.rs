//! One error type for the HTTP layer: a status and a message, answered as `{"error": "..."}`.
//! Server errors answer a generic message; their details go to the log only.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::store::StoreError;

#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    pub message: String,
    /// Answered as `Retry-After` (seconds), with a 429 or 503.
    pub retry_after: Option<std::time::Duration>,
}

impl AppError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> AppError {
        AppError { status, message: message.into(), retry_after: None }
    }

    pub fn with_retry_after(self, wait: std::time::Duration) -> AppError {
        AppError { retry_after: Some(wait), ..self }
    }

    pub fn bad_request(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn unprocessable(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }

    pub fn not_found(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::NOT_FOUND, message)
    }

    /// Logs the cause and answers a 500 that says nothing of it.
    pub fn internal(cause: impl std::fmt::Display) -> AppError {
        tracing::error!(error = %cause, "internal error");
        AppError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
    }
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> AppError {
        match err {
            StoreError::NotFound(m) => AppError::new(StatusCode::NOT_FOUND, m),
            StoreError::Conflict(m) => AppError::new(StatusCode::CONFLICT, m),
            StoreError::Invalid(m) => AppError::new(StatusCode::UNPROCESSABLE_ENTITY, m),
            StoreError::Gone(m) => AppError::new(StatusCode::GONE, m),
            other => AppError::internal(other),
        }
    }
}

/// The body of every error answer: `{"error": "..."}`.
#[derive(serde::Serialize)]
struct ErrorBody {
    error: String,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(ErrorBody { error: self.message })).into_response();
        if let Some(wait) = self.retry_after {
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

pub type AppResult<T> = Result<T, AppError>;
