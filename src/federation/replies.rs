//! Replies from the fediverse: a `Create` of a Note (or Article, Page) whose `inReplyTo` is one of
//! our articles or comments, or a federated reply already stored, joins that thread.
//!
//! What is taken so far: the object embedded in the Create, by the signer (`attributedTo` must
//! be the activity's actor, and the object's id on the actor's server), its HTML sanitised. A
//! reply to something we do not hold is logged and not stored (following a chain of unknown
//! parents, Update, Delete and moderation are still to come).

use serde_json::Value;
use sha2::{Digest as _, Sha256};
use url::Url;

use super::fetch::same_origin;
use super::inbox::id_of;
use crate::domain::html::sanitize;
use crate::domain::Key;
use crate::http::error::AppError;
use crate::startup::AppState;
use crate::store::federation::{RemoteActor, RemoteReply};

/// The object types a reply may have.
const REPLY_TYPES: [&str; 3] = ["Note", "Article", "Page"];

/// Handles a `Create` already verified as signed by `author`.
pub async fn create(state: &AppState, author: &RemoteActor, activity: &Value) -> Result<(), AppError> {
    let Some(object) = activity.get("object").filter(|o| o.is_object()) else {
        tracing::info!(actor = %author.ap_id, "Create ignored: its object is not embedded");
        return Ok(());
    };
    let kind = object.get("type").and_then(Value::as_str).unwrap_or_default();
    if !REPLY_TYPES.contains(&kind) {
        tracing::info!(actor = %author.ap_id, kind, "Create ignored: not a post");
        return Ok(());
    }
    let id = object.get("id").and_then(Value::as_str).ok_or_else(|| AppError::bad_request("the object has no id"))?;
    let author_url = Url::parse(&author.ap_id).map_err(|_| AppError::bad_request("the actor is not a URL"))?;
    if !Url::parse(id).is_ok_and(|u| same_origin(&u, &author_url)) {
        return Err(AppError::bad_request("the object's id is not on its author's server"));
    }
    if id_of(object.get("attributedTo")) != Some(author.ap_id.as_str()) {
        return Err(AppError::new(
            axum::http::StatusCode::FORBIDDEN,
            "the object is attributed to someone other than the activity's actor",
        ));
    }
    let Some(in_reply_to) = id_of(object.get("inReplyTo")) else {
        tracing::info!(actor = %author.ap_id, object = id, "Create ignored: not a reply");
        return Ok(());
    };
    let Some((article_key, parent_key)) = thread_item(state, in_reply_to).await? else {
        tracing::info!(object = id, in_reply_to, "reply ignored: it does not answer one of our threads");
        return Ok(());
    };
    let Some(article) = state.store.article(&article_key).await?.filter(|a| a.deleted_at.is_none()) else {
        tracing::info!(object = id, "reply ignored: its article is gone");
        return Ok(());
    };
    let parent_id = match &parent_key {
        None => None,
        Some(key) => match state.store.comment(&article.key, key).await? {
            Some((_, parent)) => Some(parent.id),
            None => {
                tracing::info!(object = id, "reply ignored: its parent is not stored");
                return Ok(());
            }
        },
    };
    let html = object
        .get("content")
        .and_then(Value::as_str)
        .or_else(|| {
            object.get("contentMap").and_then(Value::as_object).and_then(|m| m.values().find_map(Value::as_str))
        })
        .unwrap_or_default();
    let content = sanitize(html);
    if content.as_str().trim().is_empty() {
        return Err(AppError::unprocessable("the reply has no content left once sanitised"));
    }
    let published = object
        .get("published")
        .and_then(Value::as_str)
        .and_then(|p| chrono::DateTime::parse_from_rfc3339(p).ok())
        .map(|p| p.with_timezone(&chrono::Utc))
        .unwrap_or_else(chrono::Utc::now);
    let reply = RemoteReply {
        key: reply_key(id),
        ap_id: id.to_string(),
        author_ap_id: author.ap_id.clone(),
        author_name: author.name.clone().unwrap_or_default(),
        author_handle: author.handle.clone().unwrap_or_default(),
        author_url: author.ap_id.clone(),
        content: content.as_str().to_string(),
        published,
    };
    let new = state.store.add_remote_reply(article.id, parent_id, &reply).await?;
    if let Some(version) = state.store.article_version(&article.key).await? {
        state.cache.article_changed(&article.key, version);
    }
    tracing::info!(object = id, article = %article.key, new, "federated reply stored");
    Ok(())
}

/// The article (and comment) an `inReplyTo` names: one of our ids, or a reply we hold.
async fn thread_item(state: &AppState, in_reply_to: &str) -> Result<Option<(Key, Option<Key>)>, AppError> {
    if let Some((article, comment)) = state.urls.item_of(in_reply_to) {
        let parse = |k: &str| Key::parse(k).ok();
        return Ok(match comment {
            None => parse(&article).map(|a| (a, None)),
            Some(c) => parse(&article).zip(parse(&c)).map(|(a, c)| (a, Some(c))),
        });
    }
    Ok(state.store.remote_reply_item(in_reply_to).await?.map(|(a, c)| (a, Some(c))))
}

/// The thread key of a federated reply: stable for its id, apart from the site's own keys.
fn reply_key(ap_id: &str) -> String {
    let digest = Sha256::digest(ap_id.as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("r-{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_keys_are_stable_and_distinct() {
        let a = reply_key("https://mastodon.example/users/alice/statuses/1");
        assert_eq!(a, reply_key("https://mastodon.example/users/alice/statuses/1"));
        assert_ne!(a, reply_key("https://mastodon.example/users/alice/statuses/2"));
        assert!(a.starts_with("r-") && a.len() == 18, "{a}");
    }
}
