//! GET routes for every id we mint. Each answers ActivityPub JSON (`application/activity+json`,
//! whatever JSON-LD `Accept` the client sent), a 410 Tombstone when deleted, or a redirect to the
//! site's page when a browser asks (`Accept: text/html`).

use activitypub_federation::FEDERATION_CONTENT_TYPE;
use axum::extract::State;
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};

use super::documents::{with_context, OrderedCollection, OrderedCollectionPage, Post};
use super::keys;
use super::render::{RepliesPreview, PAGE_SIZE};
use crate::domain::{ActorKind, Article, Comment, CommentAuthor, Key, Status};
use crate::http::cache::Rendered;
use crate::http::error::{AppError, AppResult};
use crate::http::extract::{AppPath, AppQuery, Wants};
use crate::startup::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users/{username}", get(actor))
        .route("/users/{username}/outbox", get(outbox))
        .route("/users/{username}/followers", get(followers))
        .route("/users/{username}/following", get(following))
        .route("/articles/{key}", get(article))
        .route("/articles/{key}/activity", get(article_activity))
        .route("/articles/{key}/replies", get(article_replies))
        .route("/articles/{key}/context", get(context))
        .route("/articles/{key}/comments/{ckey}", get(comment))
        .route("/articles/{key}/comments/{ckey}/replies", get(comment_replies))
        .layer(axum::middleware::map_response(vary_on_accept))
}

/// Each of these URLs answers JSON or a redirect depending on `Accept`: caches must key on it.
async fn vary_on_accept(mut response: Response) -> Response {
    response.headers_mut().insert(header::VARY, header::HeaderValue::from_static("Accept"));
    response
}

/// An ActivityPub document with its `@context`.
fn ok<T: Serialize>(document: T) -> Response {
    ([(header::CONTENT_TYPE, FEDERATION_CONTENT_TYPE)], axum::Json(with_context(document))).into_response()
}

/// An ActivityPub document with its `@context`, rendered for the cache.
fn rendered<T: Serialize>(status: StatusCode, document: T) -> Rendered {
    let body = serde_json::to_vec(&with_context(document)).unwrap_or_default();
    Rendered { status, content_type: FEDERATION_CONTENT_TYPE, body: body.into() }
}

/// How long a cached thread document is served without asking the store whether its article
/// changed (changes made by this process are seen at once; see `http::cache`).
const FRESH_FOR: std::time::Duration = std::time::Duration::from_secs(1);

/// The site page a thread document stands for, where browsers are sent.
enum Page<'a> {
    /// An article (or one of its collections), by its raw key.
    Article(&'a str),
    /// A comment (or its replies), by its article's and its own raw keys.
    Comment(&'a str, &'a str),
}

/// A document of an article's thread (the article, a comment, a collection): for a browser, a
/// redirect to its page on the site; for a server, the document from the cache or rendered by
/// `render`.
async fn thread_document<F, Fut>(
    state: &AppState,
    page: Page<'_>,
    wants: Wants,
    uri: &Uri,
    render: F,
) -> AppResult<Response>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = AppResult<Rendered>>,
{
    let article = match page {
        Page::Article(raw) | Page::Comment(raw, _) => parse_key(raw)?,
    };
    if wants == Wants::Html {
        let location = match page {
            Page::Article(raw) => find_article(state, raw).await?.url.to_string(),
            Page::Comment(key, ckey) => {
                let (article, comment) = find_comment(state, key, ckey).await?;
                state.renderer().comment_url(&article, &comment)
            }
        };
        return Ok(Redirect::to(&location).into_response());
    }
    let key = format!("ap {}", uri.path_and_query().map(|p| p.as_str()).unwrap_or_else(|| uri.path()));
    let rendered = state.cache.get_or_render(state.store.as_ref(), &article, key, FRESH_FOR, render).await?;
    Ok(rendered.into_response())
}

fn gone(article: &Article) -> AppError {
    AppError::new(StatusCode::GONE, format!("article '{}' was deleted", article.key))
}

/// An article that is not deleted (410 when it is).
async fn live_article(state: &AppState, raw: &str) -> AppResult<Article> {
    let article = find_article(state, raw).await?;
    match article.deleted_at {
        Some(_) => Err(gone(&article)),
        None => Ok(article),
    }
}

#[derive(Deserialize)]
pub struct PageQuery {
    page: Option<String>,
}

impl PageQuery {
    /// The page asked for, from 1; `None` for the collection itself.
    fn number(&self) -> AppResult<Option<i64>> {
        match self.page.as_deref() {
            None => Ok(None),
            Some("true") => Ok(Some(1)),
            Some(raw) => match raw.parse::<i64>() {
                Ok(n) if (1..=1_000_000).contains(&n) => Ok(Some(n)),
                _ => Err(AppError::bad_request(format!("page must be a number from 1, not '{raw}'"))),
            },
        }
    }
}

async fn local_actor(state: &AppState, username: &str) -> AppResult<crate::domain::LocalActor> {
    state
        .store
        .actor_by_username(username)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no actor '{username}' here")))
}

async fn actor(State(state): State<AppState>, AppPath(username): AppPath<String>, wants: Wants) -> AppResult<Response> {
    let actor = local_actor(&state, &username).await?;
    if wants == Wants::Html {
        return Ok(Redirect::to(state.config.site_url().as_str()).into_response());
    }
    let actor = keys::with_keys(state.store.as_ref(), actor).await?;
    let domains = attribution_domains(&state, &actor).await?;
    Ok(ok(state.renderer().actor(&actor, &domains)))
}

/// The domains whose pages may name `actor` as their author (Mastodon shows the author on link
/// previews of those pages): the hosts of the articles they wrote, and the site's own. Empty for
/// an actor who wrote none.
pub(crate) async fn attribution_domains(state: &AppState, actor: &crate::domain::LocalActor) -> AppResult<Vec<String>> {
    let urls = state.store.article_urls_by(actor.id, 200).await?;
    let mut domains: Vec<String> =
        urls.iter().filter_map(|u| url::Url::parse(u).ok()?.host_str().map(str::to_string)).collect();
    if !domains.is_empty() {
        domains.extend(state.config.site_url().host_str().map(str::to_string));
    }
    domains.sort();
    domains.dedup();
    Ok(domains)
}

async fn outbox(
    State(state): State<AppState>,
    AppPath(username): AppPath<String>,
    AppQuery(q): AppQuery<PageQuery>,
) -> AppResult<Response> {
    let actor = local_actor(&state, &username).await?;
    let render = state.renderer();
    let id = state.urls.outbox(&actor.username);
    if actor.kind == ActorKind::Person {
        let total = state.store.comment_count_by(actor.id).await?;
        return Ok(ok(render.collection_count(id, total)));
    }
    let page = q.number()?;
    let Some(page) = page else {
        let total = state.store.articles(0, 0).await?.total;
        return Ok(ok(render.collection(&id, total)));
    };
    let articles = state.store.articles((page - 1) * PAGE_SIZE, PAGE_SIZE).await?;
    let mut items = Vec::with_capacity(articles.items.len());
    for article in &articles.items {
        let object = article_object(&state, article).await?;
        items.push(render.create(article, &state.site, object));
    }
    Ok(ok(render.collection_page(&id, page, articles.total, items)))
}

async fn followers(State(state): State<AppState>, AppPath(username): AppPath<String>) -> AppResult<Response> {
    let actor = local_actor(&state, &username).await?;
    let total = state.store.followers_count(actor.id).await?;
    Ok(ok(state.renderer().collection_count(state.urls.followers(&actor.username), total)))
}

/// Whom an actor follows, as a count: the site actor's accepted follows (see `following`); commenters
/// follow no one.
async fn following(State(state): State<AppState>, AppPath(username): AppPath<String>) -> AppResult<Response> {
    let actor = local_actor(&state, &username).await?;
    let total = if actor.id == state.site.id { state.store.accepted_following_count().await? } else { 0 };
    Ok(ok(state.renderer().collection_count(state.urls.following(&actor.username), total)))
}

fn parse_key(raw: &str) -> AppResult<Key> {
    Key::parse(raw).map_err(AppError::not_found)
}

async fn find_article(state: &AppState, raw: &str) -> AppResult<Article> {
    let key = parse_key(raw)?;
    state.store.article(&key).await?.ok_or_else(|| AppError::not_found(format!("no article '{key}'")))
}

/// One of the site's own articles: a followed article is another server's post, served there.
fn own(article: Article) -> AppResult<Article> {
    match &article.followed {
        Some(followed) => {
            Err(AppError::not_found(format!("'{}' is {}, not an article of this site", article.key, followed.ap_id)))
        }
        None => Ok(article),
    }
}

/// The first page of an item's replies, to embed in the object.
/// The first page of an item's replies, embedded in the item (and in the activities that carry it).
pub async fn replies_preview(
    state: &AppState,
    article: &Article,
    parent: Option<i64>,
) -> Result<RepliesPreview, crate::store::StoreError> {
    let mut replies = state.store.replies(article.id, parent, 0, PAGE_SIZE + 1).await?;
    let has_more = replies.len() as i64 > PAGE_SIZE;
    replies.truncate(PAGE_SIZE as usize);
    let render = state.renderer();
    let item_ids = replies.iter().map(|r| render.item_id(&article.key, &r.key, r.remote_ap_id.as_deref())).collect();
    Ok(RepliesPreview { item_ids, has_more })
}

async fn article_object(state: &AppState, article: &Article) -> AppResult<Post> {
    let preview = replies_preview(state, article, None).await?;
    Ok(state.renderer().article(article, &state.site, preview))
}

async fn article(
    State(state): State<AppState>,
    AppPath(raw): AppPath<String>,
    wants: Wants,
    uri: Uri,
) -> AppResult<Response> {
    thread_document(&state, Page::Article(&raw), wants, &uri, || async {
        let article = own(find_article(&state, &raw).await?)?;
        if article.deleted_at.is_some() {
            let id = state.urls.article(&article.key);
            let render = state.renderer();
            let tombstone = render.tombstone(id, article.deleted_at.as_ref(), render.article_type());
            return Ok(rendered(StatusCode::GONE, tombstone));
        }
        Ok(rendered(StatusCode::OK, article_object(&state, &article).await?))
    })
    .await
}

async fn article_activity(
    State(state): State<AppState>,
    AppPath(raw): AppPath<String>,
    wants: Wants,
    uri: Uri,
) -> AppResult<Response> {
    thread_document(&state, Page::Article(&raw), wants, &uri, || async {
        let article = own(live_article(&state, &raw).await?)?;
        let object = article_object(&state, &article).await?;
        Ok(rendered(StatusCode::OK, state.renderer().create(&article, &state.site, object)))
    })
    .await
}

/// A `replies` collection: its front, or one page of item ids.
async fn replies_collection(
    state: &AppState,
    article: &Article,
    parent: Option<&Comment>,
    page: Option<i64>,
) -> AppResult<Rendered> {
    let render = state.renderer();
    let id = state.urls.replies(&article.key, parent.map(|c| &c.key));
    let parent_id = parent.map(|c| c.id);
    let total = state.store.reply_count(article.id, parent_id).await?;
    let Some(page) = page else {
        return Ok(rendered(StatusCode::OK, render.collection(&id, total)));
    };
    let replies = state.store.replies(article.id, parent_id, (page - 1) * PAGE_SIZE, PAGE_SIZE).await?;
    let items = replies.iter().map(|r| render.item_id(&article.key, &r.key, r.remote_ap_id.as_deref())).collect();
    Ok(rendered(StatusCode::OK, render.collection_page(&id, page, total, items)))
}

async fn article_replies(
    State(state): State<AppState>,
    AppPath(raw): AppPath<String>,
    AppQuery(q): AppQuery<PageQuery>,
    wants: Wants,
    uri: Uri,
) -> AppResult<Response> {
    let page = q.number()?;
    thread_document(&state, Page::Article(&raw), wants, &uri, || async {
        let article = live_article(&state, &raw).await?;
        replies_collection(&state, &article, None, page).await
    })
    .await
}

/// The thread as one collection (FEP-7888): the article, then every shown comment in thread
/// order.
async fn context(
    State(state): State<AppState>,
    AppPath(raw): AppPath<String>,
    AppQuery(q): AppQuery<PageQuery>,
    wants: Wants,
    uri: Uri,
) -> AppResult<Response> {
    let (key, page) = (parse_key(&raw)?, q.number()?);
    thread_document(&state, Page::Article(&raw), wants, &uri, || async {
        let thread =
            state.store.thread(&key).await?.ok_or_else(|| AppError::not_found(format!("no article '{key}'")))?;
        if thread.article.deleted_at.is_some() {
            return Err(gone(&thread.article));
        }
        let render = state.renderer();
        let mut ids = vec![render.article_id(&thread.article)];
        let shown = crate::domain::thread::shown(&thread.comments);
        ids.extend(thread.comments.iter().filter(|c| shown.contains(&c.id)).map(|c| render.comment_id(&key, c)));
        let id = state.urls.context(&key);
        let total = ids.len() as i64;
        // The thread is the site's: FEP-7888 has a context say who owns it.
        let owner = Some(state.urls.actor(&state.site.username));
        Ok(match page {
            None => {
                rendered(StatusCode::OK, OrderedCollection { attributed_to: owner, ..render.collection(&id, total) })
            }
            Some(page) => {
                let start = ((page - 1) * PAGE_SIZE) as usize;
                let items: Vec<String> = ids.into_iter().skip(start).take(PAGE_SIZE as usize).collect();
                let page = render.collection_page(&id, page, total, items);
                rendered(StatusCode::OK, OrderedCollectionPage { attributed_to: owner, ..page })
            }
        })
    })
    .await
}

async fn find_comment(state: &AppState, key: &str, ckey: &str) -> AppResult<(Article, Comment)> {
    let (article_key, comment_key) = (parse_key(key)?, parse_key(ckey)?);
    state
        .store
        .comment(&article_key, &comment_key)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no comment '{comment_key}' in article '{article_key}'")))
}

async fn comment(
    State(state): State<AppState>,
    AppPath((key, ckey)): AppPath<(String, String)>,
    wants: Wants,
    uri: Uri,
) -> AppResult<Response> {
    thread_document(&state, Page::Comment(&key, &ckey), wants, &uri, || async {
        let (article, comment) = find_comment(&state, &key, &ckey).await?;
        let render = state.renderer();
        if article.deleted_at.is_some() || comment.is_deleted() || comment.status != Status::Visible {
            let deleted = comment.deleted_at.or(article.deleted_at);
            return Ok(rendered(StatusCode::GONE, render.comment_tombstone(&article, &comment, deleted.as_ref())));
        }
        let CommentAuthor::Local(author) = &comment.author else {
            // A federated reply is served by its own server, under its own id.
            let id = render.comment_id(&article.key, &comment);
            return Err(AppError::not_found(format!("'{}' is a federated reply; its id is {id}", comment.key)));
        };
        let preview = replies_preview(&state, &article, Some(comment.id)).await?;
        Ok(rendered(StatusCode::OK, render.comment(&article, &comment, author, preview)))
    })
    .await
}

async fn comment_replies(
    State(state): State<AppState>,
    AppPath((key, ckey)): AppPath<(String, String)>,
    AppQuery(q): AppQuery<PageQuery>,
    wants: Wants,
    uri: Uri,
) -> AppResult<Response> {
    let page = q.number()?;
    thread_document(&state, Page::Comment(&key, &ckey), wants, &uri, || async {
        let (article, comment) = find_comment(&state, &key, &ckey).await?;
        if article.deleted_at.is_some() {
            return Err(gone(&article));
        }
        replies_collection(&state, &article, Some(&comment), page).await
    })
    .await
}
