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

use serde_json::Value;
use sha2::{Digest as _, Sha256};
use tokio::sync::Semaphore;
use url::Url;

use super::fetch::{self, same_origin};
use super::inbox::id_of;
use crate::config::ReplyPolicy;
use crate::domain::html::{looks_like_html, plain_text, sanitize, text_to_html};
use crate::domain::{Article, Comment, Key, Status};
use crate::http::error::AppError;
use crate::startup::AppState;
use crate::store::federation::RemoteActor;
use crate::store::inbound::{Attachment, RemoteReply, StoredReply, WebhookEvent};

/// The object types a reply may have.
const REPLY_TYPES: [&str; 3] = ["Note", "Article", "Page"];
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
pub async fn create(state: &AppState, actor: &RemoteActor, activity: &Value) -> Result<(), AppError> {
    let Some(object) = object_of(state, actor, activity).await? else { return Ok(()) };
    let activity_id = activity.get("id").and_then(Value::as_str);
    receive_post(state, actor, object, false, activity_id).await
}

/// Handles an `Update` verified as sent by `actor`: an edit of its reply, or (a reply not held
/// here) its Create. Updates of actors refresh what we keep of them.
pub async fn update(state: &AppState, actor: &RemoteActor, activity: &Value) -> Result<(), AppError> {
    let kind = activity.get("object").and_then(|o| o.get("type")).and_then(Value::as_str).unwrap_or_default();
    if matches!(kind, "Person" | "Service" | "Application" | "Group" | "Organization") {
        if id_of(activity.get("object")) == Some(actor.ap_id.as_str()) {
            refresh_actor(state, actor).await;
        }
        return Ok(());
    }
    let Some(object) = object_of(state, actor, activity).await? else { return Ok(()) };
    receive_post(state, actor, object, true, None).await
}

/// Handles a `Delete` verified as sent by `actor`: of a Tombstone, an object, or an id.
pub async fn delete(state: &AppState, actor: &RemoteActor, activity: &Value) -> Result<(), AppError> {
    let id = id_of(activity.get("object")).ok_or_else(|| AppError::bad_request("the Delete has no object"))?;
    if id == actor.ap_id {
        tracing::info!(actor = %actor.ap_id, "account deleted: its replies stay until an admin removes them");
        return Ok(());
    }
    let actor_url = Url::parse(&actor.ap_id).map_err(|_| AppError::bad_request("the actor is not a URL"))?;
    if !Url::parse(id).is_ok_and(|u| same_origin(&u, &actor_url)) {
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
async fn object_of(state: &AppState, actor: &RemoteActor, activity: &Value) -> Result<Option<Value>, AppError> {
    let actor_url = Url::parse(&actor.ap_id).map_err(|_| AppError::bad_request("the actor is not a URL"))?;
    let object = activity.get("object").ok_or_else(|| AppError::bad_request("the activity has no object"))?;
    let id = id_of(Some(object)).ok_or_else(|| AppError::bad_request("the object has no id"))?;
    let id_url = Url::parse(id).map_err(|_| AppError::bad_request("the object's id is not a URL"))?;
    if object.is_object() && same_origin(&id_url, &actor_url) {
        return Ok(Some(object.clone()));
    }
    if object.is_object() {
        let kind = object.get("type").and_then(Value::as_str).unwrap_or_default();
        if !REPLY_TYPES.contains(&kind) {
            tracing::info!(actor = %actor.ap_id, kind, "activity ignored: its object is not a post");
            return Ok(None);
        }
    }
    // Embedded from elsewhere (not trusted) or given by id: its own server says what it is.
    if !same_origin(&id_url, &actor_url) && blocked(state, &id_url).await? {
        return Ok(None);
    }
    match fetch::get_document(&state.client, &id_url, Some(&state.site_key), state.config.dev).await {
        Ok(doc) => Ok(Some(doc)),
        Err(e) => {
            tracing::info!(actor = %actor.ap_id, object = id, error = %e, "activity ignored: its object cannot be fetched");
            Ok(None)
        }
    }
}

/// Stores a post sent (or re-sent, `is_update`) by `actor`, if it answers one of our threads;
/// the activity's id is noted as processed with it.
async fn receive_post(
    state: &AppState,
    actor: &RemoteActor,
    object: Value,
    is_update: bool,
    activity_id: Option<&str>,
) -> Result<(), AppError> {
    let kind = object.get("type").and_then(Value::as_str).unwrap_or_default();
    if !REPLY_TYPES.contains(&kind) {
        tracing::info!(actor = %actor.ap_id, kind, "activity ignored: not a post");
        return Ok(());
    }
    if id_of(object.get("attributedTo")) != Some(actor.ap_id.as_str()) {
        return Err(AppError::new(
            axum::http::StatusCode::FORBIDDEN,
            "the object is attributed to someone other than the activity's actor",
        ));
    }
    if !is_public(&object) {
        // A direct message or a followers-only post: never published on the site's pages.
        tracing::info!(actor = %actor.ap_id, kind, "post ignored: not addressed to the public");
        return Ok(());
    }
    let reply = reply_from_object(&object, actor)?;
    if is_update && state.store.remote_reply(&reply.ap_id).await?.is_some() {
        return edit(state, &reply).await;
    }
    let Some(in_reply_to) = id_of(object.get("inReplyTo")).map(str::to_string) else {
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
/// names as plain text, URLs only when they are http(s).
/// Whether a post is addressed to the public (`to` or `cc`: public or unlisted); direct messages
/// and followers-only posts are not. Checked where posts come in: [`receive_post`] (sent to us)
/// and [`fetch_post`] (fetched up a chain or crawled).
fn is_public(object: &Value) -> bool {
    const PUBLIC: [&str; 3] = ["https://www.w3.org/ns/activitystreams#Public", "as:Public", "Public"];
    let addressed = |key: &str| match object.get(key) {
        Some(Value::String(s)) => PUBLIC.contains(&s.as_str()),
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).any(|s| PUBLIC.contains(&s)),
        _ => false,
    };
    addressed("to") || addressed("cc")
}

fn reply_from_object(object: &Value, author: &RemoteActor) -> Result<RemoteReply, AppError> {
    let id = object.get("id").and_then(Value::as_str).ok_or_else(|| AppError::bad_request("the object has no id"))?;
    let author_url = Url::parse(&author.ap_id).map_err(|_| AppError::bad_request("the actor is not a URL"))?;
    if !Url::parse(id).is_ok_and(|u| same_origin(&u, &author_url)) {
        return Err(AppError::bad_request("the object's id is not on its author's server"));
    }
    let content_map = object.get("contentMap").and_then(Value::as_object);
    let html = object
        .get("content")
        .and_then(Value::as_str)
        .or_else(|| content_map.and_then(|m| m.values().find_map(Value::as_str)))
        .unwrap_or_default();
    // PeerTube sends a comment's text as written, marked `text/markdown`: it is read as plain
    // text (paragraphs and line breaks; the markdown is not rendered).
    let html = if is_plain_text(object, html) { text_to_html(html).as_str().to_string() } else { html.to_string() };
    // An Article or Page from a blog: its title leads.
    let title = object.get("name").and_then(Value::as_str).filter(|_| object.get("type") != Some(&"Note".into()));
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
    let language = content_map
        .and_then(|m| m.keys().next().cloned())
        .or_else(|| {
            object
                .get("language")
                .and_then(|l| l.get("identifier").or(Some(l)))
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .filter(|l| is_language_tag(l));
    // A Note's summary is its content warning; an Article's or Page's is an excerpt (WordPress),
    // a warning only when the post is marked sensitive.
    let is_note = object.get("type").and_then(Value::as_str) == Some("Note");
    let sensitive = object.get("sensitive").and_then(Value::as_bool).unwrap_or(false);
    let summary = object
        .get("summary")
        .and_then(Value::as_str)
        .filter(|_| is_note || sensitive)
        .map(|s| plain_text(s, 500))
        .filter(|s| !s.is_empty());
    let time = |k: &str| {
        object
            .get(k)
            .and_then(Value::as_str)
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
        url: web_url(object.get("url")),
        attachments: attachments(object.get("attachment")),
        // A content warning hides the post too (Mastodon sets both; some servers only one).
        sensitive: sensitive || summary.is_some(),
        published: time("published").unwrap_or_else(chrono::Utc::now),
        updated: time("updated"),
    })
}

/// True when a post's content is text, not HTML: marked `text/markdown` or `text/plain`, and
/// without the tags HTML would have.
fn is_plain_text(object: &Value, content: &str) -> bool {
    let media_type = object.get("mediaType").and_then(Value::as_str).unwrap_or_default();
    matches!(media_type, "text/markdown" | "text/plain") && !looks_like_html(content)
}

/// A BCP 47 tag, roughly: letters, digits and hyphens, short.
fn is_language_tag(tag: &str) -> bool {
    !tag.is_empty() && tag.len() <= 35 && tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') && tag != "und"
}

/// The http(s) URL a `url` property gives: a string, a Link, or the first text/html of a list.
fn web_url(value: Option<&Value>) -> Option<String> {
    let candidate = match value? {
        Value::String(s) => Some(s.as_str()),
        Value::Object(link) => link.get("href").and_then(Value::as_str),
        Value::Array(items) => {
            let html = items.iter().find(|i| i.get("mediaType").and_then(Value::as_str) == Some("text/html"));
            return web_url(html.or(items.first()));
        }
        _ => None,
    }?;
    Url::parse(candidate).ok().filter(|u| matches!(u.scheme(), "http" | "https")).map(String::from)
}

fn attachments(value: Option<&Value>) -> Vec<Attachment> {
    let items: Vec<&Value> = match value {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(item @ Value::Object(_)) => vec![item],
        _ => Vec::new(),
    };
    items
        .into_iter()
        .filter_map(|item| {
            let url = web_url(item.get("url")).or_else(|| web_url(item.get("href")))?;
            Some(Attachment {
                url,
                media_type: item.get("mediaType").and_then(Value::as_str).map(|m| plain_text(m, 100)),
                // The description: GoToSocial (and Mastodon, reading) use `summary`, others `name`.
                name: ["summary", "name"]
                    .iter()
                    .filter_map(|k| item.get(*k).and_then(Value::as_str))
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

fn spawn_chain(state: &AppState, reply: RemoteReply, object: Value, in_reply_to: String) {
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
    let mut fetched: Vec<(Value, RemoteActor)> = Vec::new();
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
        let Some(parent) = id_of(post.get("inReplyTo")).map(str::to_string) else {
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
async fn fetch_post(state: &AppState, id: &str) -> Result<Option<(Value, RemoteActor)>, AppError> {
    let Ok(url) = Url::parse(id) else { return Ok(None) };
    if blocked(state, &url).await? || state.store.is_tombstoned(id).await? {
        return Ok(None);
    }
    let post = match fetch::get_document(&state.client, &url, Some(&state.site_key), state.config.dev).await {
        Ok(post) => post,
        Err(e) => {
            tracing::info!(id, error = %e, "cannot fetch a post of the chain");
            return Ok(None);
        }
    };
    // Only public posts are stored: a non-public ancestor ends the chain, a crawled one is passed.
    if !REPLY_TYPES.contains(&post.get("type").and_then(Value::as_str).unwrap_or_default()) || !is_public(&post) {
        return Ok(None);
    }
    let Some(author_id) = id_of(post.get("attributedTo")) else { return Ok(None) };
    let Ok(author_url) = Url::parse(author_id) else { return Ok(None) };
    if !same_origin(&author_url, &url) || blocked(state, &author_url).await? {
        return Ok(None);
    }
    let author = match state.store.remote_actor(author_id).await? {
        Some(actor) => actor,
        None => match fetch::fetch_actor(&state.client, &author_url, Some(&state.site_key), state.config.dev).await {
            Ok(actor) if actor.ap_id == author_id => {
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
fn spawn_crawl(state: &AppState, post: Value, depth: usize) {
    let has_context = foreign_context(state, &post).is_some();
    if depth >= CRAWL_DEPTH || (post.get("replies").is_none() && !has_context) {
        return;
    }
    let state = state.clone();
    spawn_background("replies crawl", async move { crawl(&state, &post, depth).await });
}

/// The post's `context` collection when it is another server's (ours we hold already) and was
/// not crawled in the last minutes (every reply of a conversation names the same one).
fn foreign_context(state: &AppState, post: &Value) -> Option<Url> {
    let context = id_of(post.get("context")).or_else(|| id_of(post.get("conversation")))?;
    let url = Url::parse(context).ok().filter(|u| matches!(u.scheme(), "http" | "https"))?;
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
async fn crawl(state: &AppState, post: &Value, depth: usize) -> Result<(), AppError> {
    let Some(post_id) = post.get("id").and_then(Value::as_str) else { return Ok(()) };
    let Ok(post_url) = Url::parse(post_id) else { return Ok(()) };
    let mut found = match post.get("replies") {
        Some(replies) => collection_items(state, replies, &post_url).await,
        None => Vec::new(),
    };
    if let Some(context) = foreign_context(state, post) {
        RECENT_CONTEXTS.insert(context.to_string(), ());
        if !blocked(state, &context).await? {
            let owner = context.clone();
            found.extend(collection_items(state, &Value::String(context.into()), &owner).await);
        }
    }
    for id in found {
        if state.store.remote_reply(&id).await?.is_some() || state.store.is_tombstoned(&id).await? {
            continue;
        }
        let Some((found_post, author)) = fetch_post(state, &id).await? else { continue };
        let Some(parent) = id_of(found_post.get("inReplyTo")).map(str::to_string) else { continue };
        let Ok(reply) = reply_from_object(&found_post, &author) else { continue };
        if let Known::Here(place) = known_place(state, &parent).await? {
            store_reply(state, &place, &reply, None).await?;
            spawn_crawl(state, found_post, depth + 1);
        }
    }
    Ok(())
}

/// The ids a collection lists (embedded, or fetched from `owner`'s server), following `first`
/// and `next` for up to [`CRAWL_PAGES`] pages and [`CRAWL_ITEMS`] ids.
async fn collection_items(state: &AppState, collection: &Value, owner: &Url) -> Vec<String> {
    let mut page = match collection {
        Value::Object(_) => Some(collection.clone()),
        Value::String(url) => fetch_collection(state, url, owner).await,
        _ => None,
    };
    let mut items: Vec<String> = Vec::new();
    for _ in 0..CRAWL_PAGES {
        let Some(current) = page.take() else { break };
        let list = current.get("orderedItems").or_else(|| current.get("items"));
        for item in list.and_then(Value::as_array).into_iter().flatten() {
            if let Some(id) = id_of(Some(item)) {
                items.push(id.to_string());
            }
        }
        if items.len() >= CRAWL_ITEMS {
            break;
        }
        page = match (list, current.get("first")) {
            (None, Some(first @ Value::Object(_))) => Some(first.clone()),
            (None, Some(Value::String(url))) => fetch_collection(state, url, owner).await,
            _ => match id_of(current.get("next")) {
                Some(url) => fetch_collection(state, url, owner).await,
                None => None,
            },
        };
    }
    items.truncate(CRAWL_ITEMS);
    items
}

/// A page of a collection, from `owner`'s server.
async fn fetch_collection(state: &AppState, url: &str, owner: &Url) -> Option<Value> {
    let url = Url::parse(url).ok().filter(|u| same_origin(u, owner))?;
    fetch::get_document(&state.client, &url, Some(&state.site_key), state.config.dev).await.ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_posts_to_the_public_are_replies_to_publish() {
        let public = "https://www.w3.org/ns/activitystreams#Public";
        assert!(is_public(&serde_json::json!({ "to": [public] })));
        assert!(is_public(&serde_json::json!({ "to": "https://a.example/u/followers", "cc": public })));
        assert!(is_public(&serde_json::json!({ "cc": ["as:Public"] })));
        assert!(!is_public(&serde_json::json!({ "to": ["https://b.example/users/site"], "cc": [] })));
        assert!(!is_public(&serde_json::json!({ "to": ["https://a.example/u/followers"] })));
        assert!(!is_public(&serde_json::json!({ "content": "no addressing" })));
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
        assert_eq!(web_url(Some(&json!("https://a.example/p/1"))).as_deref(), Some("https://a.example/p/1"));
        assert_eq!(web_url(Some(&json!("javascript:alert(1)"))), None);
        assert_eq!(web_url(Some(&json!({"type": "Link", "href": "data:text/html,x"}))), None);
        let list = json!([{"href": "https://a.example/x.json", "mediaType": "application/json"},
                          {"href": "https://a.example/x", "mediaType": "text/html"}]);
        assert_eq!(web_url(Some(&list)).as_deref(), Some("https://a.example/x"));
    }

    #[test]
    fn markdown_text_is_read_as_text() {
        let peertube = json!({"mediaType": "text/markdown"});
        assert!(is_plain_text(&peertube, "first\n\n2 < 3"));
        assert!(!is_plain_text(&peertube, "<p>already HTML</p>"));
        assert!(!is_plain_text(&json!({"mediaType": "text/html"}), "first\n\nsecond"));
        assert!(!is_plain_text(&json!({}), "first\n\nsecond"));
    }

    #[test]
    fn language_tags_are_checked() {
        assert!(is_language_tag("en") && is_language_tag("pt-BR"));
        assert!(!is_language_tag("<b>") && !is_language_tag("") && !is_language_tag("und"));
    }
}
