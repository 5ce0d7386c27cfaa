//! The admin API for federation: followers, and the deliveries the outbox makes.
//!
//! - `GET /api/admin/followers?page=&per_page=`
//! - `GET /api/admin/deliveries?state=pending|failed|done&page=&per_page=`
//! - `GET /api/admin/deliveries/{id}`, `POST /api/admin/deliveries/{id}/retry`
//! - `POST /api/admin/articles/{key}/resend`: the article and its comments, as they are now, to
//!   every current follower.
//! - `GET /api/admin/outbox`: counts of activities and deliveries.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::paging::{self, page_view};
use crate::domain::Key;
use crate::http::error::{AppError, AppResult};
use crate::http::extract::{Admin, AppPath, AppQuery};
use crate::startup::AppState;
use crate::store::federation::{Delivery, DeliveryState, Follower};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/admin/followers", get(followers))
        .route("/api/admin/deliveries", get(deliveries))
        .route("/api/admin/deliveries/{id}", get(delivery))
        .route("/api/admin/deliveries/{id}/retry", post(retry))
        .route("/api/admin/articles/{key}/resend", post(resend))
        .route("/api/admin/outbox", get(outbox))
}

#[derive(Deserialize)]
struct Paging {
    page: Option<i64>,
    per_page: Option<i64>,
    state: Option<String>,
}

impl Paging {
    /// (page from 1, per page 1..=500, offset)
    fn bounds(&self) -> (i64, i64, i64) {
        paging::bounds(self.page, self.per_page)
    }
}

#[derive(Serialize)]
struct FollowerView {
    /// The follower's actor id.
    actor: String,
    handle: Option<String>,
    inbox: String,
    shared_inbox: Option<String>,
    /// The local actor followed (`site` for the site).
    follows: String,
    since: DateTime<Utc>,
}

impl From<Follower> for FollowerView {
    fn from(f: Follower) -> FollowerView {
        FollowerView {
            actor: f.ap_id,
            handle: f.handle,
            inbox: f.inbox,
            shared_inbox: f.shared_inbox,
            follows: f.local_username,
            since: f.since,
        }
    }
}

async fn followers(_: Admin, State(state): State<AppState>, AppQuery(q): AppQuery<Paging>) -> AppResult<Response> {
    let (page, per_page, offset) = q.bounds();
    let found = state.store.followers(offset, per_page).await?;
    Ok(Json(page_view(found, page, per_page, FollowerView::from)).into_response())
}

#[derive(Serialize)]
struct DeliveryView {
    id: i64,
    /// The activity's id and type.
    activity: String,
    activity_type: String,
    inbox: String,
    state: String,
    attempts: i64,
    last_status: Option<i64>,
    last_error: Option<String>,
    /// When it will be tried (pending deliveries only).
    next_attempt_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

fn delivery_view(state: &AppState, d: Delivery) -> DeliveryView {
    let next_attempt_at = (d.state == "pending").then(|| DateTime::from_timestamp_millis(d.next_attempt_ms)).flatten();
    DeliveryView {
        id: d.id,
        activity: state.urls.activity(&d.activity_uuid),
        activity_type: d.activity_kind,
        inbox: d.inbox,
        state: d.state,
        attempts: d.attempts,
        last_status: d.last_status,
        last_error: d.last_error,
        next_attempt_at,
        created_at: d.created_at,
        updated_at: d.updated_at,
    }
}

async fn deliveries(_: Admin, State(state): State<AppState>, AppQuery(q): AppQuery<Paging>) -> AppResult<Response> {
    let filter = match q.state.as_deref() {
        None | Some("") => None,
        Some(s) => Some(
            DeliveryState::parse(s)
                .ok_or_else(|| AppError::bad_request(format!("state must be pending, failed or done, not '{s}'")))?,
        ),
    };
    let (page, per_page, offset) = q.bounds();
    let found = state.store.deliveries(filter, offset, per_page).await?;
    Ok(Json(page_view(found, page, per_page, |d| delivery_view(&state, d))).into_response())
}

async fn delivery(_: Admin, State(state): State<AppState>, AppPath(id): AppPath<i64>) -> AppResult<Response> {
    let found =
        state.store.delivery(id).await?.ok_or_else(|| AppError::not_found(format!("delivery {id} does not exist")))?;
    Ok(Json(delivery_view(&state, found)).into_response())
}

/// Makes a delivery pending and due now: a failed one is tried again, a pending one at once.
async fn retry(_: Admin, State(state): State<AppState>, AppPath(id): AppPath<i64>) -> AppResult<Response> {
    let now = Utc::now().timestamp_millis();
    let found = state
        .store
        .retry_delivery(id, now)
        .await?
        .ok_or_else(|| AppError::not_found(format!("delivery {id} does not exist")))?;
    state.outbox.notify_one();
    tracing::info!(delivery = id, "delivery retried by the admin");
    Ok((StatusCode::ACCEPTED, Json(delivery_view(&state, found))).into_response())
}

async fn resend(_: Admin, State(state): State<AppState>, AppPath(key): AppPath<Key>) -> AppResult<Response> {
    let article = state
        .store
        .article(&key)
        .await?
        .ok_or_else(|| AppError::not_found(format!("article '{key}' does not exist")))?;
    let queued = state.store.resend_article(article.id).await?;
    state.outbox.notify_one();
    tracing::info!(article = %key, queued, "article resent");
    Ok((StatusCode::ACCEPTED, Json(Resent { article: key, activities_queued: queued })).into_response())
}

/// What `POST /api/admin/articles/{key}/resend` queued.
#[derive(Serialize)]
struct Resent {
    article: Key,
    activities_queued: u64,
}

/// `GET /api/admin/outbox`: activities queued, and their deliveries by state.
#[derive(Serialize)]
struct OutboxView {
    activities: i64,
    deliveries: DeliveryCounts,
}

#[derive(Serialize)]
struct DeliveryCounts {
    pending: i64,
    done: i64,
    failed: i64,
}

async fn outbox(_: Admin, State(state): State<AppState>) -> AppResult<Response> {
    let counts = state.store.outbox_counts().await?;
    let deliveries = DeliveryCounts { pending: counts.pending, done: counts.done, failed: counts.failed };
    Ok(Json(OutboxView { activities: counts.activities, deliveries }).into_response())
}
