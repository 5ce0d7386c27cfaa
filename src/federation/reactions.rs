//! Reactions to our articles and comments (`Like`, Misskey's `EmojiReact`, `Announce`), counted
//! once per account and object and removed by `Undo`; and reports (`Flag`) for the admin.

use serde_json::Value;

use super::inbox::id_of;
use crate::domain::html::plain_text;
use crate::domain::Key;
use crate::http::error::AppError;
use crate::startup::AppState;
use crate::store::federation::RemoteActor;
use crate::store::inbound::{NewReaction, NewReport, ReactionKind};

/// The most object ids a report keeps.
const MAX_REPORTED: usize = 100;

/// Counts a Like or Announce by `actor` when its object is one of our articles or comments.
pub async fn react(
    state: &AppState,
    actor: &RemoteActor,
    activity: &Value,
    kind: ReactionKind,
) -> Result<(), AppError> {
    let activity_id =
        activity.get("id").and_then(Value::as_str).ok_or_else(|| AppError::bad_request("the activity has no id"))?;
    let Some(object) = id_of(activity.get("object")) else {
        return Err(AppError::bad_request("the activity has no object"));
    };
    let Some((article_id, comment_id)) = our_item(state, object).await? else {
        tracing::info!(actor = %actor.ap_id, object, kind = kind.as_str(), "reaction ignored: not to one of our items");
        return Ok(());
    };
    let reaction = NewReaction {
        kind,
        activity_ap_id: activity_id.to_string(),
        actor_ap_id: actor.ap_id.clone(),
        article_id,
        comment_id,
        object_ap_id: object.to_string(),
    };
    let new = state.store.add_reaction(&reaction).await?;
    tracing::info!(actor = %actor.ap_id, object, kind = kind.as_str(), new, "reaction counted");
    Ok(())
}

/// Removes the reaction an `Undo` names (embedded, or by the Like/Announce id), if `actor` made it.
pub async fn undo(state: &AppState, actor: &RemoteActor, object: &Value) -> Result<bool, AppError> {
    let Some(id) = id_of(Some(object)) else { return Ok(false) };
    let removed = state.store.remove_reaction(id, &actor.ap_id).await?;
    if removed {
        tracing::info!(actor = %actor.ap_id, reaction = id, "reaction undone");
    }
    Ok(removed)
}

/// The article (and comment) of one of our ids, when it exists and is not deleted.
async fn our_item(state: &AppState, id: &str) -> Result<Option<(i64, Option<i64>)>, AppError> {
    let Some((article, comment)) = state.urls.item_of(id) else { return Ok(None) };
    let Ok(article) = Key::parse(&article) else { return Ok(None) };
    match comment {
        None => Ok(state.store.article(&article).await?.filter(|a| a.deleted_at.is_none()).map(|a| (a.id, None))),
        Some(comment) => {
            let Ok(comment) = Key::parse(&comment) else { return Ok(None) };
            Ok(state
                .store
                .comment(&article, &comment)
                .await?
                .filter(|(a, c)| a.deleted_at.is_none() && !c.is_deleted())
                .map(|(a, c)| (a.id, Some(c.id))))
        }
    }
}

/// Stores a `Flag` as a report for the admin: who sent it, their words, what they report.
pub async fn flag(state: &AppState, actor: &RemoteActor, activity: &Value) -> Result<(), AppError> {
    let objects: Vec<String> = match activity.get("object") {
        Some(Value::Array(items)) => items.iter().filter_map(|i| id_of(Some(i)).map(str::to_string)).collect(),
        other => id_of(other).map(str::to_string).into_iter().collect(),
    };
    if objects.is_empty() {
        return Err(AppError::bad_request("the Flag names nothing"));
    }
    let report = NewReport {
        activity_ap_id: activity.get("id").and_then(Value::as_str).map(str::to_string),
        reporter_ap_id: actor.ap_id.clone(),
        comment: plain_text(activity.get("content").and_then(Value::as_str).unwrap_or_default(), 5000),
        objects: objects.into_iter().take(MAX_REPORTED).collect(),
    };
    let new = state.store.add_report(&report).await?;
    tracing::info!(reporter = %actor.ap_id, new, "report received");
    Ok(())
}
