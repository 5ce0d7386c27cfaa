//! What the site's readers see, without a token: the public thread as JSON (what any site page
//! reads) and as an HTML page a site frames under its article (`page`). Both show exactly what
//! a visitor may see: visible items, and placeholders for the items hidden or deleted above a
//! visible reply; no moderation data, no inboxes.

mod page;

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};

use crate::admin::views::{self, ArticleView, CommentView, Reactions};
use crate::domain::{Key, Status};
use crate::federation::render::Renderer;
use crate::http::cache::Rendered;
use crate::http::error::{AppError, AppResult};
use crate::http::extract::{AppPath, AppQuery};
use crate::startup::AppState;
use crate::store::Thread;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/public/articles/{key}/thread", get(thread).options(preflight))
        .route("/embed/articles/{key}", get(page::embed_page))
        .route("/embed/thread.css", get(page::stylesheet))
        .route("/embed.js", get(page::script))
}

/// `page` (from 1) and `per_page` (1..=500, 100 when left out): a slice of the thread in its
/// depth-first order. Without `page`, the whole thread.
#[derive(Deserialize)]
struct ThreadQuery {
    page: Option<i64>,
    per_page: Option<i64>,
}

impl ThreadQuery {
    /// (first item, items) of the slice asked for; None for the whole thread.
    fn slice(&self) -> AppResult<Option<(usize, usize)>> {
        let per_page = self.per_page.unwrap_or(100);
        if !(1..=500).contains(&per_page) {
            return Err(AppError::bad_request(format!("per_page must be from 1 to 500, not {per_page}")));
        }
        match self.page {
            None if self.per_page.is_some() => Ok(Some((0, per_page as usize))),
            None => Ok(None),
            Some(page) if page >= 1 => Ok(Some(((page - 1).saturating_mul(per_page) as usize, per_page as usize))),
            Some(page) => Err(AppError::bad_request(format!("page must be a number from 1, not {page}"))),
        }
    }
}

#[derive(Serialize)]
struct PublicThread<'a> {
    article: ArticleView<'a>,
    comments: Vec<CommentView<'a>>,
    /// Items of the whole public thread; with `page`, the slice's place in it.
    total: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    page: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    per_page: Option<i64>,
}

impl PublicThread<'_> {
    /// Whether items follow this slice.
    fn has_more(&self) -> bool {
        match (self.page, self.per_page) {
            (Some(page), Some(per_page)) => (page * per_page) < self.total as i64,
            _ => false,
        }
    }
}

/// The public thread, from the document cache while the article is unchanged; `ETag` names the
/// article's version (every change to it or its thread bumps it), so an unchanged thread
/// answers 304 after one cheap query.
async fn thread(
    State(state): State<AppState>,
    AppPath(raw): AppPath<String>,
    AppQuery(q): AppQuery<ThreadQuery>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let key = Key::parse(&raw).map_err(|_| not_found(&raw))?;
    let slice = q.slice()?;
    let version = state.store.article_version(&key).await?.ok_or_else(|| not_found(&raw))?;
    let variant = match slice {
        Some((start, count)) => format!("{start}+{count}"),
        None => "all".to_string(),
    };
    let etag = etag(version, &variant);
    if if_none_match(&headers, &etag) {
        return Ok(with_public_headers(StatusCode::NOT_MODIFIED.into_response(), &etag));
    }
    let cache_key = format!("public thread {key} {variant}");
    let rendered = state
        .cache
        .get_or_render(state.store.as_ref(), &key, cache_key, Duration::ZERO, || render(&state, &key, &q, slice))
        .await?;
    Ok(with_public_headers(rendered.into_response(), &etag))
}

async fn render(state: &AppState, key: &Key, q: &ThreadQuery, slice: Option<(usize, usize)>) -> AppResult<Rendered> {
    let (thread, reactions) = load(state, key).await?;
    let page = build(&state.renderer(), &thread, &reactions, slice, q.page);
    let body = serde_json::to_vec(&page).map_err(AppError::internal)?;
    Ok(Rendered { status: StatusCode::OK, content_type: "application/json", body: body.into() })
}

type ReactionsById = HashMap<Option<i64>, Reactions>;

/// A thread that is not deleted, with the likes and boosts of its items.
async fn load(state: &AppState, key: &Key) -> AppResult<(Thread, ReactionsById)> {
    let thread = state.store.thread(key).await?.ok_or_else(|| not_found(key.as_str()))?;
    if thread.article.deleted_at.is_some() {
        return Err(AppError::new(StatusCode::GONE, format!("article '{key}' was deleted")));
    }
    let reactions = state
        .store
        .reaction_counts(thread.article.id)
        .await?
        .into_iter()
        .map(|r| (r.comment_id, Reactions { likes: r.likes, announces: r.announces }))
        .collect();
    Ok((thread, reactions))
}

/// What a visitor may see of `thread`: its slice `(first item, items)` (None: all), in thread
/// order.
fn build<'a>(
    render: &Renderer<'_>,
    thread: &'a Thread,
    reactions: &ReactionsById,
    slice: Option<(usize, usize)>,
    page: Option<i64>,
) -> PublicThread<'a> {
    let shown = crate::domain::thread::shown(&thread.comments);
    let depths = crate::domain::thread::depths(&thread.comments);
    let mut article = views::article(render, &thread.article);
    article.reactions = Some(reactions.get(&None).copied().unwrap_or_default());
    article.author.username = None;
    let public: Vec<_> = thread.comments.iter().filter(|c| shown.contains(&c.id)).collect();
    let total = public.len();
    let (start, count) = slice.unwrap_or((0, total));
    let comments = public
        .into_iter()
        .skip(start)
        .take(count)
        .map(|c| {
            let mut view = views::comment(render, &thread.article, c, depths.get(&c.id).copied().unwrap_or(1));
            if c.status == Status::Visible {
                let counts = reactions.get(&Some(c.id)).copied().unwrap_or_default();
                (view.likes, view.announces) = (counts.likes, counts.announces);
            } else {
                // A placeholder: it keeps its replies in place and says nothing of itself, not
                // even that it waits for moderation.
                (view.status, view.author, view.content, view.remote) = (Status::Deleted, None, "", None);
            }
            if let Some(author) = view.author.as_mut() {
                author.username = None; // the site's own name for its user
            }
            view
        })
        .collect();
    PublicThread {
        article,
        comments,
        total,
        page: slice.map(|_| page.unwrap_or(1)),
        per_page: slice.map(|(_, count)| count as i64),
    }
}

fn not_found(key: &str) -> AppError {
    AppError::not_found(format!("no article '{key}'"))
}

/// True when the request's `If-None-Match` names `etag` (or is `*`).
pub(super) fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').map(str::trim).any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag))
}

/// The `ETag` of a document of an article at `version`: the build (a new release may render
/// differently), the version and which document (`variant`).
fn etag(version: i64, variant: &str) -> String {
    format!("\"{}-{version}-{variant}\"", env!("CARGO_PKG_VERSION"))
}

/// Any site may read the thread from the browser (no credentials are involved); caches may keep
/// it a few seconds and revalidate it with its `ETag`.
fn with_public_headers(mut response: Response, etag: &str) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("ETag"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=5, must-revalidate"));
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, value);
    }
    response
}

/// The CORS preflight of a cross-origin read that sends `If-None-Match` itself.
async fn preflight() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, OPTIONS"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("If-None-Match"));
    headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400"));
    response
}
