//! Replies from the fediverse: a post (Note, Article, Page) whose `inReplyTo` is one of our
//! articles or comments, or a federated reply already stored, joins that thread.
//!
//! - `Create`: the object is taken as embedded when it is on the actor's own server (and
//!   attributed to the actor); otherwise it is fetched from its own id. When its parent is
//!   unknown, the chain of parents is fetched from their servers, step by step, up to
//!   [`MAX_CHAIN`] posts, in the background (`crawl.rs`); a chain that does not lead into one
//!   of our threads stores nothing. A stored reply's own `replies` collection, and its conversation's
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
//! `THREADBRIDGE_REPLY_POLICY`; a silenced server's replies are always held). A post is read
//! into a reply, sanitised, by `post.rs`.

mod crawl;
mod post;

use url::Url;

use super::fetch::{self, same_origin};
use super::wire::{Activity, ActorKind, Id, Object, Payload};
use crate::config::ReplyPolicy;
use crate::domain::{Article, Comment, Key, Status};
use crate::http::error::AppError;
use crate::startup::AppState;
use crate::store::federation::RemoteActor;
use crate::store::inbound::{RemoteReply, StoredReply, WebhookEvent};
use crawl::{fetch_post, spawn_chain, spawn_crawl};
pub use crawl::{Background, MAX_CHAIN};
pub(super) use post::hashed_key;
use post::reply_from_object;

/// The actor types whose `Update` refreshes what is kept of the actor.
const ACTOR_TYPES: [&str; 5] = ["Person", "Service", "Application", "Group", "Organization"];

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
