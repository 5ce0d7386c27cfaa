//! The feeds the service polls: `GET /api/admin/feeds` lists them, `POST /api/admin/feeds` adds
//! one (`{url, comments_url?, interval_seconds?, deliver_existing?}`, 201), `DELETE
//! /api/admin/feeds/{id}` removes one (its articles stay), `POST /api/admin/feeds/{id}/poll`
//! polls it now and answers it as it then is. Each is `{id, url, last_polled_at, last_error,
//! items}` with `comments_url`, `interval_seconds`, `deliver_existing`, `next_poll_at` and
//! `failures` beside.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::feeds::{feed_url, DEFAULT_INTERVAL};
use crate::http::error::{AppError, AppResult};
use crate::http::extract::{Admin, AppJson, AppPath};
use crate::startup::AppState;
use crate::store::feeds::{Feed, NewFeed};

/// The bounds of a feed's polling interval (seconds).
const MIN_INTERVAL: i64 = 60;
const MAX_INTERVAL: i64 = 86_400;
/// At most this many of the items a feed holds when it is added are delivered.
const MAX_DELIVER_EXISTING: i64 = 50;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/admin/feeds", get(list).post(add))
        .route("/api/admin/feeds/{id}", delete(remove))
        .route("/api/admin/feeds/{id}/poll", post(poll_now))
}

#[derive(Serialize)]
pub struct FeedView<'a> {
    pub id: i64,
    pub url: &'a str,
    pub comments_url: Option<&'a str>,
    pub interval_seconds: i64,
    pub deliver_existing: i64,
    pub last_polled_at: Option<DateTime<Utc>>,
    pub last_error: Option<&'a str>,
    pub failures: i64,
    pub next_poll_at: DateTime<Utc>,
    /// Articles that came from the feed.
    pub items: i64,
}

#[derive(Serialize)]
struct FeedList<'a> {
    items: Vec<FeedView<'a>>,
    total: usize,
}

pub fn view(feed: &Feed) -> FeedView<'_> {
    FeedView {
        id: feed.id,
        url: &feed.url,
        comments_url: feed.comments_url.as_deref(),
        interval_seconds: feed.interval_seconds,
        deliver_existing: feed.deliver_existing,
        last_polled_at: feed.last_polled_at,
        last_error: feed.last_error.as_deref(),
        failures: feed.failures,
        next_poll_at: feed.next_poll_at,
        items: feed.items,
    }
}

#[derive(Deserialize)]
struct FeedInput {
    url: String,
    comments_url: Option<String>,
    interval_seconds: Option<i64>,
    deliver_existing: Option<i64>,
}

impl FeedInput {
    fn parse(self, dev: bool) -> Result<NewFeed, String> {
        let interval_seconds = self.interval_seconds.unwrap_or(DEFAULT_INTERVAL);
        if !(MIN_INTERVAL..=MAX_INTERVAL).contains(&interval_seconds) {
            return Err(format!("interval_seconds: from {MIN_INTERVAL} to {MAX_INTERVAL}"));
        }
        let deliver_existing = self.deliver_existing.unwrap_or(0);
        if !(0..=MAX_DELIVER_EXISTING).contains(&deliver_existing) {
            return Err(format!("deliver_existing: from 0 to {MAX_DELIVER_EXISTING}"));
        }
        Ok(NewFeed {
            url: feed_url("url", &self.url, dev)?,
            comments_url: self.comments_url.map(|c| feed_url("comments_url", &c, dev)).transpose()?,
            interval_seconds,
            deliver_existing,
        })
    }
}

async fn list(_: Admin, State(state): State<AppState>) -> AppResult<Response> {
    let feeds = state.store.feeds().await?;
    let items: Vec<FeedView> = feeds.iter().map(view).collect();
    Ok(Json(FeedList { total: items.len(), items }).into_response())
}

#[tracing::instrument(skip_all)]
async fn add(_: Admin, State(state): State<AppState>, AppJson(input): AppJson<FeedInput>) -> AppResult<Response> {
    let new = input.parse(state.config.dev).map_err(AppError::unprocessable)?;
    let feed = state.store.add_feed(&new).await?;
    tracing::info!(feed = %feed.url, "feed added");
    Ok((StatusCode::CREATED, Json(view(&feed))).into_response())
}

async fn remove(_: Admin, State(state): State<AppState>, AppPath(id): AppPath<i64>) -> AppResult<Response> {
    let feed = state.store.feed(id).await?.ok_or_else(|| AppError::not_found(format!("no feed {id}")))?;
    state.store.remove_feed(id).await?;
    tracing::info!(feed = %feed.url, "feed removed");
    Ok(Json(view(&feed)).into_response())
}

async fn poll_now(_: Admin, State(state): State<AppState>, AppPath(id): AppPath<i64>) -> AppResult<Response> {
    let feed = state.store.feed(id).await?.ok_or_else(|| AppError::not_found(format!("no feed {id}")))?;
    crate::feeds::poll(&state, &feed).await;
    let feed = state.store.feed(id).await?.ok_or_else(|| AppError::not_found(format!("no feed {id}")))?;
    Ok(Json(view(&feed)).into_response())
}
