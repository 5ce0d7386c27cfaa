//! The admin API the site drives: articles, comments and threads under the site's own keys;
//! imports of a site's earlier discussions ([`import`]) and the feeds it polls ([`feeds`]).
//! Every route takes [`Admin`] (the bearer token) and JSON bodies through [`AppJson`].

pub mod blocks;
pub mod federation;
pub mod feeds;
pub mod following;
pub mod import;
pub mod moderation;
mod paging;
pub mod views;

use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};

use crate::domain::input::{ArticleInput, CommentInput};
use crate::domain::{Key, Upserted};
use crate::http::cache::Rendered;
use crate::http::error::{AppError, AppResult};
use crate::http::extract::{Admin, AppJson, AppPath, AppQuery};
use crate::startup::AppState;

pub fn router(max_body_bytes: usize) -> Router<AppState> {
    Router::new()
        .route("/api/admin/articles", get(list_articles))
        .route("/api/admin/articles/{key}", put(put_article).delete(delete_article).get(get_article))
        .route("/api/admin/articles/{key}/thread", get(get_thread))
        .route("/api/admin/articles/{key}/comments/{ckey}", put(put_comment).delete(delete_comment))
        .merge(moderation::router())
        .merge(blocks::router())
        .merge(following::router())
        .merge(feeds::router())
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .merge(import::router())
}

fn upsert_status(outcome: Upserted) -> StatusCode {
    match outcome {
        Upserted::Created => StatusCode::CREATED,
        Upserted::Updated | Upserted::Unchanged => StatusCode::OK,
    }
}

#[tracing::instrument(skip_all, fields(key = %key))]
async fn put_article(
    _: Admin,
    State(state): State<AppState>,
    AppPath(key): AppPath<Key>,
    AppJson(input): AppJson<ArticleInput>,
) -> AppResult<Response> {
    let draft = input.parse().map_err(AppError::unprocessable)?;
    let (article, outcome) = state.store.upsert_article(&key, &draft).await?;
    state.cache.article_changed(&article.key, article.version);
    state.outbox.notify_one();
    tracing::info!(?outcome, "article stored");
    Ok((upsert_status(outcome), Json(views::article(&state.renderer(), &article))).into_response())
}

/// The site's articles, newest first (deleted and followed ones are not listed).
async fn list_articles(
    _: Admin,
    State(state): State<AppState>,
    AppQuery(q): AppQuery<paging::PageQuery>,
) -> AppResult<Response> {
    let (page, per_page, offset) = paging::bounds(q.page, q.per_page);
    let found = state.store.articles(offset, per_page).await?;
    let render = state.renderer();
    let items = found.items.iter().map(|a| views::article(&render, a)).collect();
    Ok(Json(paging::PageView { items, total: found.total, page, per_page }).into_response())
}

async fn get_article(_: Admin, State(state): State<AppState>, AppPath(key): AppPath<Key>) -> AppResult<Response> {
    let article = state
        .store
        .article(&key)
        .await?
        .ok_or_else(|| AppError::not_found(format!("article '{key}' does not exist")))?;
    Ok(Json(views::article(&state.renderer(), &article)).into_response())
}

#[tracing::instrument(skip_all, fields(key = %key))]
async fn delete_article(_: Admin, State(state): State<AppState>, AppPath(key): AppPath<Key>) -> AppResult<Response> {
    let article = state.store.delete_article(&key).await?;
    state.cache.article_changed(&article.key, article.version);
    state.outbox.notify_one();
    tracing::info!("article deleted");
    Ok(Json(views::article(&state.renderer(), &article)).into_response())
}

/// The thread, served from the cache while the article's version is unchanged (checked on
/// every request, so the site always reads its latest write, whichever process took it).
async fn get_thread(_: Admin, State(state): State<AppState>, AppPath(key): AppPath<Key>) -> AppResult<Response> {
    let cache_key = format!("thread {key}");
    let rendered = state
        .cache
        .get_or_render(state.store.as_ref(), &key, cache_key, Duration::ZERO, || async {
            let thread = state
                .store
                .thread(&key)
                .await?
                .ok_or_else(|| AppError::not_found(format!("article '{key}' does not exist")))?;
            let reactions = state
                .store
                .reaction_counts(thread.article.id)
                .await?
                .into_iter()
                .map(|r| (r.comment_id, views::Reactions { likes: r.likes, announces: r.announces }))
                .collect();
            let view = views::thread(&state.renderer(), &thread.article, &thread.comments, &reactions);
            // Sized up front: a long thread's JSON is megabytes, and doubling copies it each time.
            let estimate = thread.comments.iter().map(|c| c.content.as_str().len() + 512).sum::<usize>();
            let mut body = Vec::with_capacity(estimate + 4096);
            serde_json::to_writer(&mut body, &view).map_err(AppError::internal)?;
            Ok(Rendered { status: StatusCode::OK, content_type: "application/json", body: body.into() })
        })
        .await?;
    Ok(rendered.into_response())
}

#[tracing::instrument(skip_all, fields(key = %article_key, comment = %comment_key))]
async fn put_comment(
    _: Admin,
    State(state): State<AppState>,
    AppPath((article_key, comment_key)): AppPath<(Key, Key)>,
    AppJson(input): AppJson<CommentInput>,
) -> AppResult<Response> {
    let draft = input.parse().map_err(AppError::unprocessable)?;
    let (comment, outcome) = state.store.upsert_comment(&article_key, &comment_key, &draft).await?;
    tracing::info!(?outcome, "comment stored");
    let article = state
        .store
        .article(&article_key)
        .await?
        .ok_or_else(|| AppError::not_found(format!("article '{article_key}' does not exist")))?;
    state.cache.article_changed(&article.key, article.version);
    state.outbox.notify_one();
    let depth = comment_depth(&state, &comment).await?;
    Ok((upsert_status(outcome), Json(views::comment(&state.renderer(), &article, &comment, depth))).into_response())
}

/// A comment's depth, counted up its parents (1 for a reply to the article).
async fn comment_depth(state: &AppState, comment: &crate::domain::Comment) -> AppResult<usize> {
    Ok(usize::try_from(state.store.comment_depth(comment.id).await?).unwrap_or(1))
}

#[tracing::instrument(skip_all, fields(key = %article_key, comment = %comment_key))]
async fn delete_comment(
    _: Admin,
    State(state): State<AppState>,
    AppPath((article_key, comment_key)): AppPath<(Key, Key)>,
) -> AppResult<Response> {
    let comment = state.store.delete_comment(&article_key, &comment_key).await?;
    tracing::info!("comment deleted");
    let article = state
        .store
        .article(&article_key)
        .await?
        .ok_or_else(|| AppError::not_found(format!("article '{article_key}' does not exist")))?;
    state.cache.article_changed(&article.key, article.version);
    state.outbox.notify_one();
    let depth = comment_depth(&state, &comment).await?;
    Ok(Json(views::comment(&state.renderer(), &article, &comment, depth)).into_response())
}
