//! Replies from the fediverse: a post (Note, Article, Page) whose `inReplyTo` is one of our
//! articles or comments, or a federated reply already stored, joins that thread.
//!
//! - `Create`: the object is taken as embedded when it is on the actor's own server (and
//!   attributed to the actor); otherwise it is fetched from its own id. When its parent is
//!   unknown, the chain of parents is fetched from their servers, step by step, up to
//!   [`MAX_CHAIN`] posts, in the background; a chain that does not lead into one of our threads
//!   stores nothing. A stored reply's own `replies` collection, and its conversation's
//!   `context` collection (FEP-7888) when another server keeps it, are crawled, bounded, so
//!   replies that were not sent to us join too.
//! - `Update` by the owner edits it when it carries a newer `updated`; an Update of a reply we
//!   do not hold is handled as its Create.
//! - `Delete` by the owner marks it deleted (it stays as a placeholder while it has replies) and
//!   leaves a tombstone, so a Create that arrives late does not bring it back.
//! - A `Create` or `Update` relayed in another actor's `Announce` ([`super::announce`]): the
//!   post is fetched from its own server and handled as its author's ([`relayed`]).
//!
//! New replies are `visible` or `pending` by the reply policy (the article's, else
//! `THREADBRIDGE_REPLY_POLICY`; a silenced server's replies are always held).

use std::time::Duration;

use sha2::{Digest as _, Sha256};
use tokio::sync::Semaphore;
use url::Url;

use super::fetch::{self, same_origin};
use super::wire::objects::{Attachment as WireAttachment, UrlValue};
use super::wire::{Activity, ActorKind, Collection, Id, Object, ObjectKind, OneOrMany, Payload, Ref};
use crate::config::ReplyPolicy;
use crate::domain::html::{looks_like_html, plain_text, sanitize, text_to_html};
use crate::domain::{Article, Comment, Key, Status};
use crate::http::error::AppError;
use crate::startup::AppState;
use crate::store::federation::RemoteActor;
use crate::store::inbound::{Attachment, RemoteReply, StoredReply, WebhookEvent};

/// The actor types whose `Update` refreshes what is kept of the actor.
const ACTOR_TYPES: [&str; 5] = ["Person", "Service", "Application", "Group", "Organization"];
/// How many unknown parents are fetched to find out whether a reply belongs to a thread here.
pub const MAX_CHAIN: usize = 8;
/// How many replies one crawl of a `replies` collection may add, and how many pages it reads.
const CRAWL_ITEMS: usize = 40;
const CRAWL_PAGES: usize = 4;
/// How deep crawling goes below the reply that started it.
const CRAWL_DEPTH: usize = 3;
/// Background fetching (parent chains and crawls) at once, for the whole process.
static BACKGROUND: Semaphore = Semaphore::const_new(8);
/// The longest one background job may take.
const BACKGROUND_TIME: Duration = Duration::from_secs(120);
/// Attachments kept per reply.
const MAX_ATTACHMENTS: usize = 16;

/// Where a reply goes: its article, and the item it answers (None: the article).
struct Place {
    article: Article,
    parent: Option<(i64, Key)>,
}

/// Handles a `Create` verified as sent by `actor`.
pub async fn create(state: &AppState, actor: &RemoteActor, activity: Activity) -> Result<(), AppError> {
    let Some(object) = object_of(state, actor, activity.object).await? else { return Ok(()) };
    receive_post(state, actor, object, false, activity.id.as_ref().map(Id::as_str)).await
}

/// Handles an `Update` verified as sent by `actor`: an edit of its reply, or (a reply not held
/// here) its Create. Updates of actors refresh what we keep of them.
pub async fn update(state: &AppState, actor: &RemoteActor, activity: Activity) -> Result<(), AppError> {
    if let Some(profile) = updated_actor(&activity) {
        if profile.as_str() == actor.ap_id {
            refresh_actor(state, actor).await;
        }
        return Ok(());
    }
    let Some(object) = object_of(state, actor, activity.object).await? else { return Ok(()) };
    receive_post(state, actor, object, true, None).await
}

/// The actor an `Update` carries, when it carries one of the [`ACTOR_TYPES`].
fn updated_actor(activity: &Activity) -> Option<&Id> {
    match activity.object.as_ref()? {
        Payload::Actor(profile) if profile.kind() != ActorKind::Other => Some(&profile.id),
        Payload::Object(object) if object.types.known(&ACTOR_TYPES).is_some() => Some(&object.id),
        _ => None,
    }
}

/// Handles a `Delete` verified as sent by `actor`: of a Tombstone, an object, or an id.
pub async fn delete(state: &AppState, actor: &RemoteActor, activity: &Activity) -> Result<(), AppError> {
    let object = activity.object_id();
    let object = object.ok_or_else(|| AppError::bad_request("the Delete has no object"))?;
    let id = object.as_str();
    if id == actor.ap_id {
        tracing::info!(actor = %actor.ap_id, "account deleted: its replies stay until an admin removes them");
        return Ok(());
    }
    let actor_url = Url::parse(&actor.ap_id).map_err(|_| AppError::bad_request("the actor is not a URL"))?;
    if !same_origin(object.url(), &actor_url) {
        tracing::info!(actor = %actor.ap_id, object = id, "Delete ignored: the object is on another server");
        return Ok(());
    }
    let event = match state.store.remote_reply(id).await? {
        Some(stored) if stored.author_ap_id == actor.ap_id => deleted_event(state, &stored),
        _ => None,
    };
    let deleted = state.store.delete_remote_object(id, &actor.ap_id, event.as_ref()).await?;
    match deleted {
        Some(reply) => {
            article_changed(state, &reply.article_key).await?;
            state.webhook.notify_one();
            tracing::info!(object = id, article = %reply.article_key, "federated reply deleted by its author");
        }
        None => match state.store.delete_followed_article(id, &actor.ap_id).await? {
            Some(key) => {
                article_changed(state, &key).await?;
                tracing::info!(object = id, key = %key, "followed article deleted by its author");
            }
            None => tracing::info!(object = id, "Delete noted (tombstone): no reply of this account here"),
        },
    }
    Ok(())
}

/// Handles a post whose `Create` or `Update` (`is_update`) another actor relayed in an
/// `Announce` (a Lemmy or PieFed community, a WordPress blog). Nothing of the relayer's copy is
/// used: the post is fetched from its own server by `post_id`, and its author is the
/// `attributedTo` of what that server serves. A post that is not served (or is blocked,
/// tombstoned here, not a post), or that would be refused from its author (no content left
/// once sanitised, say), is logged and left: the relayer is not to blame for it.
pub async fn relayed(state: &AppState, relayer: &RemoteActor, post_id: &str, is_update: bool) -> Result<(), AppError> {
    let Some((post, author)) = fetch_post(state, post_id).await? else {
        tracing::info!(relayer = %relayer.ap_id, post = post_id, "relayed post ignored: not fetched from its server");
        return Ok(());
    };
    match receive_post(state, &author, post, is_update, None).await {
        Err(e) if e.status.is_client_error() => {
            tracing::info!(relayer = %relayer.ap_id, post = post_id, reason = %e.message, "relayed post ignored");
            Ok(())
        }
        other => other,
    }
}

/// The post an activity is about, trusted: embedded when it is on the actor's server,
/// otherwise fetched from its own id. None (logged) when there is nothing to take.
async fn object_of(state: &AppState, actor: &RemoteActor, object: Option<Payload>) -> Result<Option<Object>, AppError> {
    let actor_url = Url::parse(&actor.ap_id).map_err(|_| AppError::bad_request("the actor is not a URL"))?;
    let object = object.ok_or_else(|| AppError::bad_request("the activity has no object"))?;
    let id = object.first_id().ok_or_else(|| AppError::bad_request("the object has no id"))?.clone();
    let from_actor = same_origin(id.url(), &actor_url);
    let object = match object {
        Payload::Object(post) if from_actor => return Ok(Some(*post)),
        other => other,
    };
    let embedded_post = match &object {
        Payload::Object(post) => post.is_post(),
        Payload::Activity(_) | Payload::OtherActivity(_) | Payload::Actor(_) => false,
        Payload::Id(_) | Payload::Many(_) => true,
    };
    if !embedded_post {
        let kind = object.type_name();
        match from_actor {
            true => tracing::info!(actor = %actor.ap_id, kind = kind.as_str(), "activity ignored: not a post"),
            false => {
                tracing::info!(actor = %actor.ap_id, kind = kind.as_str(), "activity ignored: its object is not a post")
            }
        }
        return Ok(None);
    }
    // Embedded from elsewhere (not trusted) or given by id: its own server says what it is.
    if !from_actor && blocked(state, id.url()).await? {
        return Ok(None);
    }
    match fetch::get_typed(&state.client, id.url(), Some(&state.site_key), state.config.dev).await {
        Ok(post) => Ok(Some(post)),
        Err(e) => {
            tracing::info!(actor = %actor.ap_id, object = id.as_str(), error = %e, "activity ignored: its object cannot be fetched");
            Ok(None)
        }
    }
}

/// Stores a post sent (or re-sent, `is_update`) by `actor`, if it answers one of our threads;
/// the activity's id is noted as processed with it.
async fn receive_post(
    state: &AppState,
    actor: &RemoteActor,
    object: Object,
    is_update: bool,
    activity_id: Option<&str>,
) -> Result<(), AppError> {
    let kind = object.type_name();
    if !object.is_post() {
        tracing::info!(actor = %actor.ap_id, kind, "activity ignored: not a post");
        return Ok(());
    }
    if object.author().map(Id::as_str) != Some(actor.ap_id.as_str()) {
        return Err(AppError::new(
            axum::http::StatusCode::FORBIDDEN,
            "the object is attributed to someone other than the activity's actor",
        ));
    }
    if !object.is_public() {
        // A direct message or a followers-only post: never published on the site's pages.
        tracing::info!(actor = %actor.ap_id, kind, "post ignored: not addressed to the public");
        return Ok(());
    }
    let reply = reply_from_object(&object, actor)?;
    if is_update && state.store.remote_reply(&reply.ap_id).await?.is_some() {
        return edit(state, &reply).await;
    }
    let Some(in_reply_to) = object.in_reply_to.as_ref().map(|parent| parent.id().to_string()) else {
        if !super::following::receive_post(state, actor, &object, &reply).await? {
            tracing::info!(actor = %actor.ap_id, object = %reply.ap_id, "post ignored: not a reply, nor from an actor followed");
        }
        return Ok(());
    };
    match known_place(state, &in_reply_to).await? {
        Known::Here(place) => {
            store_reply(state, &place, &reply, activity_id).await?;
            spawn_crawl(state, object, 0);
        }
        Known::Nowhere => tracing::info!(object = %reply.ap_id, in_reply_to, "reply ignored: its thread is not ours"),
        Known::Unknown => spawn_chain(state, reply, object, in_reply_to),
    }
    Ok(())
}

async fn edit(state: &AppState, reply: &RemoteReply) -> Result<(), AppError> {
    let Some(stored) = state.store.remote_reply(&reply.ap_id).await? else { return Ok(()) };
    let event = reply_event(
        state,
        "reply.updated",
        &stored.article_key,
        &stored.key,
        stored.parent_key.as_ref(),
        reply,
        stored.status,
    );
    let changed = state.store.update_remote_reply(reply, event.as_ref()).await?;
    if changed {
        article_changed(state, &stored.article_key).await?;
        state.webhook.notify_one();
    }
    tracing::info!(object = %reply.ap_id, changed, "federated reply edit");
    Ok(())
}

/// What an `inReplyTo` leads to without fetching anything.
enum Known {
    /// One of our items, or a reply stored here.
    Here(Box<Place>),
    /// Ours, but gone (a deleted article, an unknown comment): the reply is not stored.
    Nowhere,
    /// Elsewhere: the chain must be fetched to know.
    Unknown,
}

/// One of our articles or comments by its id, with its article when that is not deleted (one
/// read). None when the id is not one of ours, or names nothing (any more).
pub(super) async fn our_item(state: &AppState, id: &str) -> Result<Option<(Article, Option<Comment>)>, AppError> {
    let Some((article, comment)) = state.urls.item_of(id) else { return Ok(None) };
    let Ok(article) = Key::parse(&article) else { return Ok(None) };
    let found = match comment {
        None => state.store.article(&article).await?.map(|a| (a, None)),
        Some(comment) => {
            let Ok(comment) = Key::parse(&comment) else { return Ok(None) };
            state.store.comment(&article, &comment).await?.map(|(a, c)| (a, Some(c)))
        }
    };
    Ok(found.filter(|(a, _)| a.deleted_at.is_none()))
}

async fn known_place(state: &AppState, in_reply_to: &str) -> Result<Known, AppError> {
    if state.urls.item_of(in_reply_to).is_some() {
        return Ok(match our_item(state, in_reply_to).await? {
            Some((article, parent)) => Known::Here(Box::new(Place { article, parent: parent.map(|c| (c.id, c.key)) })),
            None => Known::Nowhere,
        });
    }
    let Some(stored) = state.store.remote_reply(in_reply_to).await? else {
        return Ok(match state.store.followed_article(in_reply_to).await? {
            Some(article) if article.deleted_at.is_none() => Known::Here(Box::new(Place { article, parent: None })),
            Some(_) => Known::Nowhere,
            None => Known::Unknown,
        });
    };
    match state.store.article(&stored.article_key).await?.filter(|a| a.deleted_at.is_none()) {
        Some(article) => Ok(Known::Here(Box::new(Place { article, parent: Some((stored.comment_id, stored.key)) }))),
        None => Ok(Known::Nowhere),
    }
}

/// Stores a new reply at `place`, with the status the reply policy gives it.
async fn store_reply(
    state: &AppState,
    place: &Place,
    reply: &RemoteReply,
    activity_id: Option<&str>,
) -> Result<bool, AppError> {
    let status = status_for(state, place, reply).await?;
    let (parent_id, parent_key) = place.parent.as_ref().map(|(id, key)| (*id, key)).unzip();
    let key = Key::from_store(reply.key.clone());
    let event = reply_event(state, "reply.created", &place.article.key, &key, parent_key, reply, status);
    let version =
        state.store.add_remote_reply(place.article.id, parent_id, reply, status, event.as_ref(), activity_id).await?;
    let new = version.is_some();
    if let Some(version) = version {
        state.cache.article_changed(&place.article.key, version);
        state.webhook.notify_one();
    }
    tracing::info!(object = %reply.ap_id, article = %place.article.key, new, status = status.as_str(), "federated reply stored");
    Ok(new)
}

/// `pending` when the article's policy (or the site's) holds replies, or the author's server
/// is silenced; `visible` otherwise.
async fn status_for(state: &AppState, place: &Place, reply: &RemoteReply) -> Result<Status, AppError> {
    let policy = state.store.article_reply_policy(place.article.id).await?.unwrap_or(state.config.reply_policy);
    let host = Url::parse(&reply.author_ap_id).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_default();
    let silenced = state.store.block_for(&host, Some(&reply.author_ap_id)).await?.is_some_and(|b| !b.suspends());
    Ok(if policy == ReplyPolicy::Hold || silenced { Status::Pending } else { Status::Visible })
}

async fn article_changed(state: &AppState, key: &Key) -> Result<(), AppError> {
    if let Some(version) = state.store.article_version(key).await? {
        state.cache.article_changed(key, version);
    }
    Ok(())
}

/// True (logged) when a URL's server is blocked: nothing is fetched from it.
async fn blocked(state: &AppState, url: &Url) -> Result<bool, AppError> {
    let host = url.host_str().unwrap_or_default();
    let block = state.store.block_for(host, Some(url.as_str())).await?;
    if block.as_ref().is_some_and(|b| b.suspends()) {
        tracing::info!(url = %url, "not fetched: its server or account is blocked");
        return Ok(true);
    }
    Ok(false)
}

/// Reads a post into a reply, sanitised: HTML through the sanitiser, the content warning and
/// names as plain text, URLs only when they are http(s). Only posts addressed to the public
/// ([`Object::is_public`]) come here: [`receive_post`] (sent to us) and [`fetch_post`] (fetched
/// up a chain or crawled) check it.
fn reply_from_object(object: &Object, author: &RemoteActor) -> Result<RemoteReply, AppError> {
    let id = object.id.as_str();
    let author_url = Url::parse(&author.ap_id).map_err(|_| AppError::bad_request("the actor is not a URL"))?;
    if !same_origin(object.id.url(), &author_url) {
        return Err(AppError::bad_request("the object's id is not on its author's server"));
    }
    let html = object.text().unwrap_or_default();
    // PeerTube sends a comment's text as written, marked `text/markdown`: it is read as plain
    // text (paragraphs and line breaks; the markdown is not rendered).
    let html = if is_plain_text(object.media_type.as_deref(), &html) {
        text_to_html(&html).as_str().to_string()
    } else {
        html
    };
    // An Article or Page from a blog: its title leads.
    let is_note = object.kind() == ObjectKind::Note;
    let title = object.name.as_deref().filter(|_| !is_note);
    let html = match title {
        Some(title) if !title.trim().is_empty() => {
            format!("<p><strong>{}</strong></p>{html}", crate::domain::html::escape(&plain_text(title, 300)))
        }
        _ => html,
    };
    let content = sanitize(&html);
    if content.as_str().trim().is_empty() {
        return Err(AppError::unprocessable("the reply has no content left once sanitised"));
    }
    let language = object
        .content_map
        .first_language()
        .or_else(|| object.language.as_ref().map(|l| l.tag()))
        .filter(|l| is_language_tag(l))
        .map(str::to_string);
    // A Note's summary is its content warning; an Article's or Page's is an excerpt (WordPress),
    // a warning only when the post is marked sensitive.
    let sensitive = object.sensitive.unwrap_or(false);
    let summary = object
        .summary
        .as_deref()
        .filter(|_| is_note || sensitive)
        .map(|s| plain_text(s, 500))
        .filter(|s| !s.is_empty());
    let time = |value: &Option<String>| {
        value
            .as_deref()
            .and_then(|p| chrono::DateTime::parse_from_rfc3339(p).ok())
            .map(|p| p.with_timezone(&chrono::Utc))
    };
    Ok(RemoteReply {
        key: reply_key(id),
        ap_id: id.to_string(),
        author_ap_id: author.ap_id.clone(),
        author_name: plain_text(author.name.as_deref().unwrap_or_default(), 200),
        author_handle: plain_text(author.handle.as_deref().unwrap_or_default(), 300),
        author_url: author.ap_id.clone(),
        content: content.as_str().to_string(),
        summary: summary.clone(),
        language,
        url: web_url(&object.url),
        attachments: attachments(&object.attachment),
        // A content warning hides the post too (Mastodon sets both; some servers only one).
        sensitive: sensitive || summary.is_some(),
        published: time(&object.published).unwrap_or_else(chrono::Utc::now),
        updated: time(&object.updated),
    })
}

/// True when a post's content is text, not HTML: marked `text/markdown` or `text/plain`, and
/// without the tags HTML would have.
fn is_plain_text(media_type: Option<&str>, content: &str) -> bool {
    matches!(media_type, Some("text/markdown" | "text/plain")) && !looks_like_html(content)
}

/// A BCP 47 tag, roughly: letters, digits and hyphens, short.
fn is_language_tag(tag: &str) -> bool {
    !tag.is_empty() && tag.len() <= 35 && tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') && tag != "und"
}

/// The http(s) URL a `url` property gives: a string, a Link, or the first text/html of a list.
fn web_url(urls: &OneOrMany<UrlValue>) -> Option<String> {
    let html = urls.iter().find(|u| matches!(u, UrlValue::Link { media_type: Some(m), .. } if m == "text/html"));
    html.or(urls.first()).map(UrlValue::url).filter(|u| is_web(u)).map(Url::to_string)
}

fn is_web(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https")
}

fn attachments(items: &OneOrMany<WireAttachment>) -> Vec<Attachment> {
    items
        .iter()
        .filter_map(|item| {
            let url = web_url(&item.url).or_else(|| item.href.as_ref().filter(|u| is_web(u)).map(Url::to_string))?;
            Some(Attachment {
                url,
                media_type: item.media_type.as_deref().map(|m| plain_text(m, 100)),
                // The description: GoToSocial (and Mastodon, reading) use `summary`, others `name`.
                name: [&item.summary, &item.name]
                    .into_iter()
                    .filter_map(Option::as_deref)
                    .map(|n| plain_text(n, 1500))
                    .find(|n| !n.is_empty()),
            })
        })
        .take(MAX_ATTACHMENTS)
        .collect()
}

/// The thread key of a federated reply: stable for its id, apart from the site's own keys.
fn reply_key(ap_id: &str) -> String {
    hashed_key("r-", ap_id)
}

/// A thread key for a remote object: `prefix` and 16 hex digits of a hash of its id, stable.
pub(super) fn hashed_key(prefix: &str, ap_id: &str) -> String {
    let digest = Sha256::digest(ap_id.as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("{prefix}{hex}")
}

/// A webhook event for a reply change, when the site has a webhook.
fn reply_event(
    state: &AppState,
    event: &str,
    article: &Key,
    key: &Key,
    parent: Option<&Key>,
    reply: &RemoteReply,
    status: Status,
) -> Option<WebhookEvent> {
    state.config.webhook_url.as_ref()?;
    Some(crate::webhook::reply_event(event, article, key, parent, reply, status))
}

fn deleted_event(state: &AppState, stored: &StoredReply) -> Option<WebhookEvent> {
    state.config.webhook_url.as_ref()?;
    Some(crate::webhook::deleted_event(stored))
}

/// Refetches an actor that announced a change of its profile.
async fn refresh_actor(state: &AppState, actor: &RemoteActor) {
    let Ok(url) = Url::parse(&actor.ap_id) else { return };
    match fetch::fetch_actor(&state.client, &url, Some(&state.site_key), state.config.dev).await {
        Ok(fresh) if fresh.ap_id == actor.ap_id => {
            if let Err(e) = state.store.upsert_remote_actor(&fresh).await {
                tracing::warn!(actor = %actor.ap_id, error = %e, "cannot store the refreshed actor");
            }
        }
        Ok(_) => tracing::info!(actor = %actor.ap_id, "profile update ignored: the document names another actor"),
        Err(e) => tracing::info!(actor = %actor.ap_id, error = %e, "profile update: cannot refetch the actor"),
    }
}

/// Runs a background job (chain or crawl) under the process-wide bound and a time limit.
fn spawn_background<F>(what: &'static str, job: F)
where
    F: std::future::Future<Output = Result<(), AppError>> + Send + 'static,
{
    tokio::spawn(async move {
        let Ok(_permit) = BACKGROUND.acquire().await else { return };
        match tokio::time::timeout(BACKGROUND_TIME, job).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::info!(what, error = %e.message, "background fetching stopped"),
            Err(_) => tracing::info!(what, "background fetching took too long: stopped"),
        }
    });
}

fn spawn_chain(state: &AppState, reply: RemoteReply, object: Object, in_reply_to: String) {
    let state = state.clone();
    spawn_background("parent chain", async move {
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
async fn fetch_post(state: &AppState, id: &str) -> Result<Option<(Object, RemoteActor)>, AppError> {
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
fn spawn_crawl(state: &AppState, post: Object, depth: usize) {
    let has_context = foreign_context(state, &post).is_some();
    if depth >= CRAWL_DEPTH || (post.replies.is_none() && !has_context) {
        return;
    }
    let state = state.clone();
    spawn_background("replies crawl", async move { crawl(&state, &post, depth).await });
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
    (!url.as_str().starts_with(state.urls.base()) && !RECENT_CONTEXTS.contains_key(url.as_str())).then_some(url)
}

/// Conversation collections crawled lately.
static RECENT_CONTEXTS: std::sync::LazyLock<moka::sync::Cache<String, ()>> = std::sync::LazyLock::new(|| {
    moka::sync::Cache::builder()
        .max_capacity(crate::startup::memory::RECENT_CONTEXTS)
        .time_to_live(Duration::from_secs(600))
        .build()
});

/// Reads up to [`CRAWL_PAGES`] pages of a post's `replies` collection, and of its `context`
/// collection, and stores the posts found there that are new here and answer something held here
/// (each fetched from its own server), at most [`CRAWL_ITEMS`] per collection.
async fn crawl(state: &AppState, post: &Object, depth: usize) -> Result<(), AppError> {
    let mut found = match &post.replies {
        Some(replies) => collection_items(state, replies, post.id.url()).await,
        None => Vec::new(),
    };
    if let Some(context) = foreign_context(state, post) {
        RECENT_CONTEXTS.insert(context.to_string(), ());
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// A Note with `fields` beside its id and type.
    fn note(fields: Value) -> Object {
        let mut note = json!({ "id": "https://a.example/notes/1", "type": "Note" });
        note.as_object_mut().expect("object").extend(fields.as_object().expect("fields").clone());
        serde_json::from_value(note).expect("note")
    }

    #[test]
    fn only_posts_to_the_public_are_replies_to_publish() {
        let public = "https://www.w3.org/ns/activitystreams#Public";
        assert!(note(json!({ "to": [public] })).is_public());
        assert!(note(json!({ "to": "https://a.example/u/followers", "cc": public })).is_public());
        assert!(note(json!({ "cc": ["as:Public"] })).is_public());
        assert!(!note(json!({ "to": ["https://b.example/users/site"], "cc": [] })).is_public());
        assert!(!note(json!({ "to": ["https://a.example/u/followers"] })).is_public());
        assert!(!note(json!({ "content": "no addressing" })).is_public());
    }

    #[test]
    fn reply_keys_are_stable_and_distinct() {
        let a = reply_key("https://mastodon.example/users/alice/statuses/1");
        assert_eq!(a, reply_key("https://mastodon.example/users/alice/statuses/1"));
        assert_ne!(a, reply_key("https://mastodon.example/users/alice/statuses/2"));
        assert!(a.starts_with("r-") && a.len() == 18, "{a}");
    }

    #[test]
    fn only_web_urls_are_kept() {
        let url_of = |url: Value| web_url(&note(json!({ "url": url })).url);
        assert_eq!(url_of(json!("https://a.example/p/1")).as_deref(), Some("https://a.example/p/1"));
        assert_eq!(url_of(json!("javascript:alert(1)")), None);
        assert_eq!(url_of(json!({"type": "Link", "href": "data:text/html,x"})), None);
        let list = json!([{"href": "https://a.example/x.json", "mediaType": "application/json"},
                          {"href": "https://a.example/x", "mediaType": "text/html"}]);
        assert_eq!(url_of(list).as_deref(), Some("https://a.example/x"));
    }

    #[test]
    fn markdown_text_is_read_as_text() {
        let peertube = Some("text/markdown");
        assert!(is_plain_text(peertube, "first\n\n2 < 3"));
        assert!(!is_plain_text(peertube, "<p>already HTML</p>"));
        assert!(!is_plain_text(Some("text/html"), "first\n\nsecond"));
        assert!(!is_plain_text(None, "first\n\nsecond"));
    }

    #[test]
    fn language_tags_are_checked() {
        assert!(is_language_tag("en") && is_language_tag("pt-BR"));
        assert!(!is_language_tag("<b>") && !is_language_tag("") && !is_language_tag("und"));
    }
}
