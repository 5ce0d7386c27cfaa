//! Fetching in the background, bounded: the chain of unknown parents above a reply, up to
//! [`MAX_CHAIN`] posts, stored top down when it leads into one of our threads; and the crawl of a
//! stored reply's `replies` collection and of its conversation's `context` collection
//! (FEP-7888), so that replies that were not sent to us join too.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use url::Url;

use super::post::reply_from_object;
use super::{blocked, known_place, store_reply, Known, Place};
use crate::domain::is_web;
use crate::federation::fetch::{self, same_origin};
use crate::federation::wire::{Collection, Id, Object, Payload, Ref};
use crate::http::error::AppError;
use crate::startup::AppState;
use crate::store::federation::RemoteActor;
use crate::store::inbound::RemoteReply;

/// How many unknown parents are fetched to find out whether a reply belongs to a thread here.
pub const MAX_CHAIN: usize = 8;
/// How many replies one crawl of a `replies` collection may add, and how many pages it reads.
const CRAWL_ITEMS: usize = 40;
const CRAWL_PAGES: usize = 4;
/// How deep crawling goes below the reply that started it.
const CRAWL_DEPTH: usize = 3;
/// Background fetching (parent chains and crawls) at once, for one app.
const BACKGROUND_JOBS: usize = 8;
/// The longest one background job may take.
const BACKGROUND_TIME: Duration = Duration::from_secs(120);

/// What background fetching shares within one running app (in `AppState`, so that two apps in
/// one process share nothing): the bound on jobs at once, and the conversations crawled lately.
#[derive(Clone)]
pub struct Background {
    slots: Arc<Semaphore>,
    recent_contexts: moka::sync::Cache<String, ()>,
}

impl Default for Background {
    fn default() -> Self {
        Background {
            slots: Arc::new(Semaphore::new(BACKGROUND_JOBS)),
            recent_contexts: moka::sync::Cache::builder()
                .max_capacity(crate::startup::memory::RECENT_CONTEXTS)
                .time_to_live(Duration::from_secs(600))
                .build(),
        }
    }
}

/// Runs a background job (chain or crawl) under the app's bound and a time limit.
fn spawn_background<F>(state: &AppState, what: &'static str, job: F)
where
    F: std::future::Future<Output = Result<(), AppError>> + Send + 'static,
{
    let slots = state.background.slots.clone();
    tokio::spawn(async move {
        let Ok(_permit) = slots.acquire().await else { return };
        match tokio::time::timeout(BACKGROUND_TIME, job).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::info!(what, error = %e.message, "background fetching stopped"),
            Err(_) => tracing::info!(what, "background fetching took too long: stopped"),
        }
    });
}

pub(super) fn spawn_chain(state: &AppState, reply: RemoteReply, object: Object, in_reply_to: String) {
    let job_state = state.clone();
    spawn_background(state, "parent chain", async move {
        let state = job_state;
        if let Some(place) = fetch_chain(&state, &in_reply_to).await? {
            store_reply(&state, &place, &reply, None).await?;
            spawn_crawl(&state, object, 0);
        }
        Ok(())
    });
}

/// Follows `inReplyTo` from `start` through posts we do not hold, up to [`MAX_CHAIN`] of them,
/// and stores them, top down, when the chain leads into one of our threads. Returns where the
/// reply below them goes.
async fn fetch_chain(state: &AppState, start: &str) -> Result<Option<Place>, AppError> {
    let mut fetched: Vec<(Object, RemoteActor)> = Vec::new();
    let mut next = start.to_string();
    let mut place = loop {
        match known_place(state, &next).await? {
            Known::Here(place) => break *place,
            Known::Nowhere => return Ok(None),
            Known::Unknown if fetched.len() >= MAX_CHAIN => {
                tracing::info!(start, "reply ignored: its chain of parents is too long");
                return Ok(None);
            }
            Known::Unknown => {}
        }
        let Some((post, author)) = fetch_post(state, &next).await? else { return Ok(None) };
        let Some(parent) = post.in_reply_to.as_ref().map(|parent| parent.id().to_string()) else {
            tracing::info!(start, top = next, "reply ignored: its thread starts elsewhere");
            return Ok(None);
        };
        fetched.push((post, author));
        next = parent;
    };
    for (post, author) in fetched.iter().rev() {
        let reply = reply_from_object(post, author)?;
        store_reply(state, &place, &reply, None).await?;
        let stored = state.store.remote_reply(&reply.ap_id).await?;
        // A tombstoned ancestor is not stored: what is below it cannot be placed.
        let Some(stored) = stored else { return Ok(None) };
        place = Place { article: place.article, parent: Some((stored.comment_id, stored.key)) };
    }
    Ok(Some(place))
}

/// Fetches a post and its author from their servers; None (logged) when either is refused.
pub(super) async fn fetch_post(state: &AppState, id: &str) -> Result<Option<(Object, RemoteActor)>, AppError> {
    let Ok(url) = Url::parse(id) else { return Ok(None) };
    if blocked(state, &url).await? || state.store.is_tombstoned(id).await? {
        return Ok(None);
    }
    let post: Object = match fetch::get_typed(&state.client, &url, Some(&state.site_key), state.config.dev).await {
        Ok(post) => post,
        Err(e) => {
            tracing::info!(id, error = %e, "cannot fetch a post of the chain");
            return Ok(None);
        }
    };
    // Only public posts are stored: a non-public ancestor ends the chain, a crawled one is passed.
    if !post.is_post() || !post.is_public() {
        return Ok(None);
    }
    let Some(author_id) = post.author() else { return Ok(None) };
    let author_url = author_id.url();
    if !same_origin(author_url, &url) || blocked(state, author_url).await? {
        return Ok(None);
    }
    let author = match state.store.remote_actor(author_id.as_str()).await? {
        Some(actor) => actor,
        None => match fetch::fetch_actor(&state.client, author_url, Some(&state.site_key), state.config.dev).await {
            Ok(actor) if actor.ap_id == author_id.as_str() => {
                state.store.upsert_remote_actor(&actor).await?;
                actor
            }
            _ => return Ok(None),
        },
    };
    Ok(Some((post, author)))
}

/// Crawls a stored reply's `replies` collection and its conversation's `context` collection
/// (FEP-7888 / FEP-f228) in the background (see [`crawl`]).
pub(super) fn spawn_crawl(state: &AppState, post: Object, depth: usize) {
    let has_context = foreign_context(state, &post).is_some();
    if depth >= CRAWL_DEPTH || (post.replies.is_none() && !has_context) {
        return;
    }
    let job_state = state.clone();
    spawn_background(state, "replies crawl", async move { crawl(&job_state, &post, depth).await });
}

/// The post's `context` collection when it is another server's (ours we hold already) and was
/// not crawled in the last minutes (every reply of a conversation names the same one).
fn foreign_context(state: &AppState, post: &Object) -> Option<Url> {
    let url = match (&post.context, &post.conversation) {
        (Some(context), _) => context.clone(),
        (None, Some(conversation)) => Url::parse(conversation).ok()?,
        (None, None) => return None,
    };
    let url = Some(url).filter(is_web)?;
    (!url.as_str().starts_with(state.urls.base()) && !state.background.recent_contexts.contains_key(url.as_str()))
        .then_some(url)
}

/// Reads up to [`CRAWL_PAGES`] pages of a post's `replies` collection, and of its `context`
/// collection, and stores the posts found there that are new here and answer something held here
/// (each fetched from its own server), at most [`CRAWL_ITEMS`] per collection.
async fn crawl(state: &AppState, post: &Object, depth: usize) -> Result<(), AppError> {
    let mut found = match &post.replies {
        Some(replies) => collection_items(state, replies, post.id.url()).await,
        None => Vec::new(),
    };
    if let Some(context) = foreign_context(state, post) {
        state.background.recent_contexts.insert(context.to_string(), ());
        if !blocked(state, &context).await? {
            let collection = fetch_collection(state, &context, &context).await;
            found.extend(items_from(state, collection, &context).await);
        }
    }
    for id in found {
        if state.store.remote_reply(&id).await?.is_some() || state.store.is_tombstoned(&id).await? {
            continue;
        }
        let Some((found_post, author)) = fetch_post(state, &id).await? else { continue };
        let Some(parent) = found_post.in_reply_to.as_ref().map(|parent| parent.id().to_string()) else { continue };
        let Ok(reply) = reply_from_object(&found_post, &author) else { continue };
        if let Known::Here(place) = known_place(state, &parent).await? {
            store_reply(state, &place, &reply, None).await?;
            spawn_crawl(state, found_post, depth + 1);
        }
    }
    Ok(())
}

/// The ids a collection lists (embedded, or fetched from `owner`'s server): see [`items_from`].
async fn collection_items(state: &AppState, collection: &Ref<Collection>, owner: &Url) -> Vec<String> {
    let collection = match collection {
        Ref::Object(embedded) => Some((**embedded).clone()),
        Ref::Id(id) => fetch_collection(state, id.url(), owner).await,
    };
    items_from(state, collection, owner).await
}

/// The ids listed from `page` on, following `first` (when the collection lists nothing itself)
/// and `next` for up to [`CRAWL_PAGES`] pages and [`CRAWL_ITEMS`] ids.
async fn items_from(state: &AppState, mut page: Option<Collection>, owner: &Url) -> Vec<String> {
    let mut items: Vec<String> = Vec::new();
    for _ in 0..CRAWL_PAGES {
        let Some(current) = page.take() else { break };
        items.extend(current.items().filter_map(Payload::id).map(Id::to_string));
        if items.len() >= CRAWL_ITEMS {
            break;
        }
        let listed = current.items().next().is_some();
        page = match (listed, &current.first, &current.next) {
            (false, Some(Ref::Object(first)), _) => Some((**first).clone()),
            (false, Some(Ref::Id(first)), _) => fetch_collection(state, first.url(), owner).await,
            (_, _, Some(Ref::Id(next))) => fetch_collection(state, next.url(), owner).await,
            (_, _, Some(Ref::Object(next))) => match &next.id {
                Some(next) => fetch_collection(state, next.url(), owner).await,
                None => None,
            },
            (_, _, None) => None,
        };
    }
    items.truncate(CRAWL_ITEMS);
    items
}

/// A page of a collection, from `owner`'s server.
async fn fetch_collection(state: &AppState, url: &Url, owner: &Url) -> Option<Collection> {
    if !same_origin(url, owner) {
        return None;
    }
    fetch::get_typed(&state.client, url, Some(&state.site_key), state.config.dev).await.ok()
}
