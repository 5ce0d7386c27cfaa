//! The admin API for the actors the site follows, and their posts (followed articles).
//!
//! - `POST /api/admin/following` `{"actor": "@user@host" | actor id}`: the site follows it
//!   (202; the follow is `pending` until the actor accepts).
//! - `GET /api/admin/following?page=&per_page=`: followed actors and the state of each follow.
//! - `DELETE /api/admin/following` `{"actor": actor id}`: unfollows (an `Undo` is sent).
//! - `GET /api/admin/following/articles?page=&per_page=`: the followed articles received,
//!   newest first; each is read and answered under its key like the site's own articles.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::paging::{self, page_view, PageView};
use super::views;
use crate::federation::following;
use crate::http::error::{AppError, AppResult};
use crate::http::extract::{Admin, AppJson, AppQuery};
use crate::startup::AppState;
use crate::store::following::Following;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/admin/following", get(list).post(follow).delete(unfollow))
        .route("/api/admin/following/articles", get(articles))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActorBody {
    actor: Option<String>,
}

impl ActorBody {
    fn actor(self) -> AppResult<String> {
        self.actor
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty() && a.len() <= 2048)
            .ok_or_else(|| AppError::unprocessable("actor: a handle (@user@host) or an actor id is required"))
    }
}

#[derive(Serialize)]
struct FollowingView {
    actor: String,
    handle: Option<String>,
    inbox: String,
    /// `pending` (no answer yet), `accepted` or `rejected`.
    state: &'static str,
    since: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<Following> for FollowingView {
    fn from(f: Following) -> FollowingView {
        FollowingView {
            actor: f.ap_id,
            handle: f.handle,
            inbox: f.inbox,
            state: f.state.as_str(),
            since: f.since,
            updated_at: f.updated_at,
        }
    }
}

async fn follow(_: Admin, State(state): State<AppState>, AppJson(body): AppJson<ActorBody>) -> AppResult<Response> {
    let target = body.actor()?;
    let following = following::follow(&state, &target).await?;
    Ok((StatusCode::ACCEPTED, Json(FollowingView::from(following))).into_response())
}

async fn unfollow(_: Admin, State(state): State<AppState>, AppJson(body): AppJson<ActorBody>) -> AppResult<Response> {
    let actor = body.actor()?;
    let removed = following::unfollow(&state, &actor)
        .await?
        .ok_or_else(|| AppError::not_found(format!("the site does not follow {actor}")))?;
    Ok(Json(FollowingView::from(removed)).into_response())
}

async fn list(
    _: Admin,
    State(state): State<AppState>,
    AppQuery(q): AppQuery<paging::PageQuery>,
) -> AppResult<Response> {
    let (page, per_page, offset) = paging::bounds(q.page, q.per_page);
    let found = state.store.following(offset, per_page).await?;
    Ok(Json(page_view(found, page, per_page, FollowingView::from)).into_response())
}

async fn articles(
    _: Admin,
    State(state): State<AppState>,
    AppQuery(q): AppQuery<paging::PageQuery>,
) -> AppResult<Response> {
    let (page, per_page, offset) = paging::bounds(q.page, q.per_page);
    let found = state.store.followed_articles(offset, per_page).await?;
    let render = state.renderer();
    let items = found.items.iter().map(|a| views::article(&render, a)).collect();
    Ok(Json(PageView { items, total: found.total, page, per_page }).into_response())
}
