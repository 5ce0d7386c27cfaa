//! The site following other actors: another threadbridge site, a Mastodon account, a blog.
//!
//! - [`follow`] resolves a handle (WebFinger) or actor id, and sends a `Follow` from the site
//!   actor through the outbox; the followed actor's `Accept` or `Reject` ([`answer`]) sets the
//!   follow's state; [`unfollow`] sends the `Undo`.
//! - A post that is not a reply, from an actor the site follows (and has been accepted by),
//!   becomes a *followed article* ([`receive_post`]): an article of its own here, key `f-` and
//!   16 hex digits, that the site's commenters can answer like any article (their comments go
//!   to the post's author, mentioned), and whose replies, from anywhere, join its thread. Its
//!   author's `Update` (newer `updated`) edits it and `Delete` deletes it. It is never served
//!   as ours, nor sent to our followers.

use url::Url;

use super::documents::payload;
use super::fetch;
use super::wire::{Activity, ActivityKind, Id, Object, Payload};
use crate::domain::html::{plain_text, sanitize};
use crate::domain::Key;
use crate::http::error::AppError;
use crate::startup::AppState;
use crate::store::federation::{DirectActivity, RemoteActor};
use crate::store::following::{FollowState, FollowedPost, Following, NewFollowing};
use crate::store::inbound::RemoteReply;

/// Follows `target` (a handle or an actor id) as the site actor. A follow already accepted is
/// asked again (its state goes back to pending until the answer).
pub async fn follow(state: &AppState, target: &str) -> Result<Following, AppError> {
    let given_url = Url::parse(target).ok().filter(|url| url.scheme().starts_with("http"));
    // Nothing is asked of a blocked server: its host is checked before WebFinger or the fetch.
    let given_host = match &given_url {
        Some(url) => url.host_str(),
        None => fetch::split_handle(target).map(|(_, host)| host.split(':').next().unwrap_or(host)),
    };
    refuse_blocked(state, given_host, given_url.as_ref().map(Url::as_str)).await?;
    let actor_url = match given_url {
        Some(url) => url,
        None => fetch::webfinger(&state.client, target, state.config.dev)
            .await
            .map_err(|e| AppError::unprocessable(format!("cannot find {target}: {e}")))?,
    };
    let actor = fetch::fetch_actor(&state.client, &actor_url, Some(&state.site_key), state.config.dev)
        .await
        .map_err(|e| AppError::unprocessable(format!("cannot fetch the actor {actor_url}: {e}")))?;
    if actor.ap_id == state.urls.actor(&state.site.username) {
        return Err(AppError::unprocessable("the site cannot follow itself"));
    }
    let inbox = Url::parse(&actor.inbox).map_err(|_| AppError::unprocessable("the actor's inbox is not a URL"))?;
    fetch::check_url(&inbox, state.config.dev)
        .map_err(|e| AppError::unprocessable(format!("the actor's inbox is refused: {e}")))?;
    let actor_host = Url::parse(&actor.ap_id).ok().and_then(|u| u.host_str().map(str::to_string));
    refuse_blocked(state, actor_host.as_deref(), Some(&actor.ap_id)).await?;
    refuse_blocked(state, inbox.host_str(), None).await?;
    state.store.upsert_remote_actor(&actor).await?;
    let uuid = uuid::Uuid::new_v4().to_string();
    let follow_id = state.urls.activity(&uuid);
    let site = state.urls.actor(&state.site.username);
    let activity = state.renderer().follow(follow_id.clone(), site, actor.ap_id.clone(), vec![actor.ap_id.clone()]);
    let following = NewFollowing {
        actor_id: state.site.id,
        ap_id: actor.ap_id.clone(),
        handle: actor.handle.clone(),
        inbox: actor.inbox.clone(),
        follow_id,
    };
    let direct = DirectActivity { kind: "Follow", uuid, payload: payload(activity), inbox: actor.inbox.clone() };
    let stored = state.store.add_following(&following, &direct).await?;
    state.outbox.notify_one();
    tracing::info!(actor = %actor.ap_id, "follow requested");
    Ok(stored)
}

/// 422 when the server `host` or the account `actor` is blocked here (suspended or silenced).
async fn refuse_blocked(state: &AppState, host: Option<&str>, actor: Option<&str>) -> Result<(), AppError> {
    let Some(host) = host else { return Ok(()) };
    match state.store.block_for(host, actor).await? {
        Some(_) => Err(AppError::unprocessable(format!("{} is blocked here", actor.unwrap_or(host)))),
        None => Ok(()),
    }
}

/// Stops following `ap_id`: the follow is removed and an `Undo` of its Follow is sent. None when
/// the site did not follow it.
pub async fn unfollow(state: &AppState, ap_id: &str) -> Result<Option<Following>, AppError> {
    let Some(current) = state.store.following_one(ap_id).await? else { return Ok(None) };
    let uuid = uuid::Uuid::new_v4().to_string();
    let undo = state.renderer().undo_follow(&uuid, &state.site.username, &current.follow_id, ap_id);
    let direct = DirectActivity { kind: "Undo", uuid, payload: payload(undo), inbox: current.inbox.clone() };
    let removed = state.store.remove_following(ap_id, &direct).await?;
    state.outbox.notify_one();
    tracing::info!(actor = ap_id, "unfollowed");
    Ok(removed)
}

/// An `Accept` or `Reject` of one of our Follows, verified as sent by `actor`. Its object is our
/// Follow, embedded or by id; anything else is only logged.
pub async fn answer(
    state: &AppState,
    actor: &RemoteActor,
    activity: &Activity,
    accepted: bool,
) -> Result<(), AppError> {
    let follow_id = activity.object_id().map(Id::as_str);
    let ours = |id: &str| state.urls.activity_uuid(id).is_some();
    let embedded_follow = matches!(&activity.object, Some(Payload::Activity(follow))
        if follow.kind == ActivityKind::Follow && follow.actor_id().as_str() == state.urls.actor(&state.site.username));
    if !follow_id.is_some_and(ours) && !embedded_follow {
        tracing::info!(actor = %actor.ap_id, "Accept/Reject ignored: not of a Follow of ours");
        return Ok(());
    }
    let new_state = if accepted { FollowState::Accepted } else { FollowState::Rejected };
    let changed = state.store.answer_following(&actor.ap_id, follow_id.filter(|id| ours(id)), new_state).await?;
    tracing::info!(actor = %actor.ap_id, state = new_state.as_str(), changed, "follow answered");
    Ok(())
}

/// A post (not a reply) by `actor`, already sanitised into `reply`: kept as a followed article
/// when the site follows `actor` and was accepted. True when it was taken.
pub async fn receive_post(
    state: &AppState,
    actor: &RemoteActor,
    object: &Object,
    reply: &RemoteReply,
) -> Result<bool, AppError> {
    let followed = state.store.following_one(&actor.ap_id).await?;
    if !followed.is_some_and(|f| f.state == FollowState::Accepted) {
        return Ok(false);
    }
    // The post's HTML as a reply's is read (contentMap, plain text), without the bold title a
    // reply gets: a followed article keeps its title apart.
    let content = match &object.name {
        Some(_) => sanitize(object.content.as_deref().unwrap_or(&reply.content)),
        None => crate::domain::html::SafeHtml::from_store(reply.content.clone()),
    };
    let title = object
        .name
        .as_deref()
        .map(|t| plain_text(t, 300))
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| first_line(content.as_str()));
    let url = reply
        .url
        .as_deref()
        .and_then(|u| Url::parse(u).ok())
        .or_else(|| Url::parse(&reply.ap_id).ok())
        .ok_or_else(|| AppError::bad_request("the post has no URL"))?;
    let post = FollowedPost {
        ap_id: reply.ap_id.clone(),
        author_ap_id: actor.ap_id.clone(),
        author_name: Some(reply.author_name.clone()).filter(|n| !n.is_empty()),
        author_handle: Some(reply.author_handle.clone()).filter(|h| !h.is_empty()),
        title,
        url,
        content,
        summary: reply.summary.clone(),
        language: reply.language.clone(),
        sensitive: reply.sensitive,
        published: reply.published,
        updated: reply.updated,
    };
    let key = Key::from_store(followed_key(&post.ap_id));
    let stored = state.store.upsert_followed_article(&key, state.site.id, &post).await?;
    if let Some(article) = &stored {
        state.cache.article_changed(&key, article.version);
    }
    tracing::info!(actor = %actor.ap_id, object = %post.ap_id, key = %key, changed = stored.is_some(), "followed post");
    Ok(true)
}

/// A title for a post without one (a Note): the text of its first paragraph, shortened.
fn first_line(html: &str) -> String {
    let first = html.split("</p>").map(|p| plain_text(p, 80)).find(|t| !t.is_empty());
    first.unwrap_or_else(|| "(untitled)".to_string())
}

/// The key a followed post is stored under: stable for its id.
fn followed_key(ap_id: &str) -> String {
    super::replies::hashed_key("f-", ap_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_is_titled_by_its_first_paragraph() {
        assert_eq!(first_line("<p><strong>Summit</strong></p><p>Talks restart.</p>"), "Summit");
        assert_eq!(first_line("plain words"), "plain words");
        assert_eq!(first_line("<p></p>"), "(untitled)");
    }

    #[test]
    fn followed_keys_are_stable_and_distinct() {
        let a = followed_key("https://b.example/articles/x");
        assert_eq!(a, followed_key("https://b.example/articles/x"));
        assert_ne!(a, followed_key("https://b.example/articles/y"));
        assert!(a.starts_with("f-") && a.len() == 18, "{a}");
    }
}
