//! The HTTP surface: one router made of the federation routes, discovery, the admin API, what
//! readers see (`public`) and a health check, with errors answered as JSON.

pub mod cache;
pub mod error;
pub mod extract;

use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use tower_http::trace::TraceLayer;

use crate::startup::AppState;

pub fn router(state: AppState) -> Router {
    let max_body = state.config.max_body_bytes;
    Router::new()
        .merge(crate::federation::routes::router())
        .merge(crate::federation::inbox::router())
        .merge(crate::federation::wellknown::router())
        .merge(crate::admin::router(max_body))
        .merge(crate::admin::federation::router())
        .merge(crate::public::router())
        .route("/health", get(health))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// `GET /health`'s answer.
#[derive(serde::Serialize)]
struct Health {
    status: &'static str,
}

async fn health() -> Json<Health> {
    Json(Health { status: "ok" })
}

async fn not_found() -> error::AppError {
    error::AppError::new(StatusCode::NOT_FOUND, "no such route")
}

async fn method_not_allowed() -> error::AppError {
    error::AppError::new(StatusCode::METHOD_NOT_ALLOWED, "this route does not take that method")
}
