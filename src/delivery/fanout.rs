//! Fan-out: an activity queued by a change becomes its JSON and one delivery per inbox.
//!
//! Who receives what:
//! - an article's Create/Update/Delete (sent by the site actor): every follower of the site;
//! - a comment's (sent by its commenter): every follower of the site and of the commenter, and
//!   the author of the federated reply or followed article it answers (addressed and
//!   mentioned in the Note);
//! - once per server: a follower with a shared inbox is reached there.
//!
//! The activity is rendered from the object as it is at fan-out (an edit made meanwhile goes
//! out at once), and the recipients are the followers at that moment.

use url::Url;

use crate::domain::{Article, Comment, CommentAuthor, LocalActor};
use crate::federation::documents::{payload, ActivityType, Object, Timestamp};
use crate::federation::render::answered_remote_author;
use crate::federation::routes::replies_preview;
use crate::federation::{fetch, keys};
use crate::startup::AppState;
use crate::store::federation::ActivityToFanOut;
use crate::store::StoreError;

/// How long fan-out waits for an answered author's server before sending without them.
const KEEP_TRYING_MENTIONED: chrono::Duration = chrono::Duration::minutes(10);

/// Fans out what is waiting; returns how many activities were fanned out. One that cannot be
/// prepared now (the store failed) is logged and left for the next round; the others go on.
pub async fn fan_out_pending(state: &AppState) -> Result<usize, StoreError> {
    let pending = state.store.activities_to_fan_out(20).await?;
    if pending.is_empty() {
        return Ok(0);
    }
    let unavailable = state.store.unavailable_hosts().await?;
    let mut done = 0;
    for activity in &pending {
        let (payload, inboxes) = match prepare(state, activity).await {
            Ok(Some((payload, mut inboxes))) => {
                inboxes.retain(|inbox| !unavailable.iter().any(|h| host_of(inbox).as_deref() == Some(h.as_str())));
                (Some(payload), interleaved_by_server(inboxes))
            }
            Ok(None) => (None, vec![]),
            Err(e) => {
                tracing::warn!(activity = %activity.uuid, error = %e, "cannot prepare an activity; will try again");
                continue;
            }
        };
        if state.store.fan_out(activity.id, payload.as_deref(), &inboxes).await? {
            tracing::info!(activity = %activity.uuid, kind = %activity.kind, inboxes = inboxes.len(), "activity fanned out");
            done += 1;
        }
    }
    Ok(done)
}

/// The inboxes, one server after another in turn: deliveries are claimed in this order, so a
/// claim spreads over the servers instead of bringing more of one than it may take at once.
fn interleaved_by_server(inboxes: Vec<String>) -> Vec<String> {
    let mut by_server: std::collections::BTreeMap<String, std::collections::VecDeque<String>> = Default::default();
    for inbox in inboxes {
        by_server.entry(host_of(&inbox).unwrap_or_default()).or_default().push_back(inbox);
    }
    let mut queues: Vec<_> = by_server.into_values().collect();
    let mut order = Vec::new();
    while !queues.is_empty() {
        for queue in &mut queues {
            order.extend(queue.pop_front());
        }
        queues.retain(|q| !q.is_empty());
    }
    order
}

fn host_of(inbox: &str) -> Option<String> {
    Url::parse(inbox).ok().map(|u| crate::federation::signatures::host_header(&u))
}

/// The activity's JSON and its inboxes, or None when there is nothing to send (the object was
/// deleted before its Create went out, or the row names nothing).
async fn prepare(state: &AppState, activity: &ActivityToFanOut) -> Result<Option<(String, Vec<String>)>, StoreError> {
    let Some(kind) = ActivityType::named(&activity.kind) else {
        tracing::warn!(activity = %activity.uuid, kind = %activity.kind, "an activity of a kind not sent: nothing to send");
        return Ok(None);
    };
    let Some(article_key) = &activity.article else { return Ok(None) };
    let Some(article) = state.store.article(article_key).await? else { return Ok(None) };
    match &activity.comment {
        None => {
            let Some(object) = article_object(state, &article, &kind).await? else { return Ok(None) };
            let site = &state.site;
            let inboxes = state.store.follower_inboxes(&[site.id]).await?;
            Ok(Some((wrap(state, activity, kind, site, object, vec![]), inboxes)))
        }
        Some(comment_key) => {
            let Some((article, comment)) = state.store.comment(&article.key, comment_key).await? else {
                return Ok(None);
            };
            let CommentAuthor::Local(author) = &comment.author else { return Ok(None) };
            // The commenter signs: make sure they have keys before anything is sent.
            let author = keys::with_keys(state.store.as_ref(), author.clone()).await?;
            let Some(object) = comment_object(state, &article, &comment, &author, &kind).await? else {
                return Ok(None);
            };
            let mut inboxes = state.store.follower_inboxes(&[state.site.id, author.id]).await?;
            let mut mentioned = vec![];
            if let Some((remote_author, _)) = answered_remote_author(&article, &comment) {
                match remote_inbox(state, &remote_author).await {
                    Ok(inbox) => inboxes.push(inbox),
                    // Tried again with the next rounds for a while, then sent without them.
                    Err(e) if chrono::Utc::now() - activity.created_at < KEEP_TRYING_MENTIONED => return Err(e),
                    Err(e) => tracing::warn!(actor = %remote_author, error = %e, "the answered author is left out"),
                }
                mentioned.push(remote_author);
            }
            inboxes.sort();
            inboxes.dedup();
            Ok(Some((wrap(state, activity, kind, &author, object, mentioned), inboxes)))
        }
    }
}

/// The activity around its object, addressed publicly, to the actor's followers and to anyone
/// mentioned, as the text that is sent.
fn wrap(
    state: &AppState,
    activity: &ActivityToFanOut,
    kind: ActivityType,
    actor: &LocalActor,
    object: Object,
    mentioned: Vec<String>,
) -> String {
    let id = state.urls.activity(&activity.uuid);
    let published = Some(Timestamp(chrono::Utc::now()));
    payload(state.renderer().public_activity(id, kind, &actor.username, published, object, mentioned))
}

async fn article_object(
    state: &AppState,
    article: &Article,
    kind: &ActivityType,
) -> Result<Option<Object>, StoreError> {
    let render = state.renderer();
    if article.followed.is_some() {
        return Ok(None); // another server's post: only its author sends it
    }
    if matches!(kind, ActivityType::Delete(_)) {
        let id = state.urls.article(&article.key);
        return Ok(Some(Object::Tombstone(render.tombstone(id, article.deleted_at.as_ref(), render.article_type()))));
    }
    if article.deleted_at.is_some() {
        return Ok(None);
    }
    let preview = replies_preview(state, article, None).await?;
    Ok(Some(Object::Post(Box::new(render.article(article, &state.site, preview)))))
}

async fn comment_object(
    state: &AppState,
    article: &Article,
    comment: &Comment,
    author: &LocalActor,
    kind: &ActivityType,
) -> Result<Option<Object>, StoreError> {
    let render = state.renderer();
    if matches!(kind, ActivityType::Delete(_)) {
        return Ok(Some(Object::Tombstone(render.comment_tombstone(article, comment, comment.deleted_at.as_ref()))));
    }
    if comment.is_deleted() || article.deleted_at.is_some() {
        return Ok(None);
    }
    let preview = replies_preview(state, article, Some(comment.id)).await?;
    Ok(Some(Object::Post(Box::new(render.comment(article, comment, author, preview)))))
}

/// Where a remote author is reached: from the store, or fetched (and kept) when unknown.
async fn remote_inbox(state: &AppState, actor_id: &str) -> Result<String, StoreError> {
    if let Some(actor) = state.store.remote_actor(actor_id).await? {
        return Ok(actor.shared_inbox.unwrap_or(actor.inbox));
    }
    let url = Url::parse(actor_id).map_err(|e| StoreError::Other(format!("{actor_id} is not a URL: {e}")))?;
    let actor = fetch::fetch_actor(&state.client, &url, Some(&state.site_key), state.config.dev)
        .await
        .map_err(|e| StoreError::Other(format!("cannot reach the answered author: {e}")))?;
    state.store.upsert_remote_actor(&actor).await?;
    Ok(actor.shared_inbox.unwrap_or(actor.inbox))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inboxes_take_turns_by_server() {
        let inboxes = [
            "https://a.example/1",
            "https://a.example/2",
            "https://a.example/3",
            "https://b.example/1",
            "https://c.example:8443/1",
        ];
        let order = interleaved_by_server(inboxes.iter().map(|s| s.to_string()).collect());
        assert_eq!(
            order,
            [
                "https://a.example/1",
                "https://b.example/1",
                "https://c.example:8443/1",
                "https://a.example/2",
                "https://a.example/3"
            ]
        );
    }
}
