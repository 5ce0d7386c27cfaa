//! Reactions to our articles and comments (`Like`, Misskey's `EmojiReact`, `Announce`), counted
//! once per account and object and removed by `Undo`; and reports (`Flag`) for the admin.

use super::wire::{Activity, ActivityKind, Id, Payload};
use crate::domain::html::plain_text;
use crate::http::error::AppError;
use crate::startup::AppState;
use crate::store::federation::RemoteActor;
use crate::store::inbound::{NewReaction, NewReport, ReactionKind};

/// The most object ids a report keeps.
const MAX_REPORTED: usize = 100;

/// Counts a Like or Announce (its id `activity_id`) by `actor` when its `object` is one of our
/// articles or comments.
pub async fn react(
    state: &AppState,
    actor: &RemoteActor,
    activity_id: Option<&str>,
    object: Option<&str>,
    kind: ReactionKind,
) -> Result<(), AppError> {
    let activity_id = activity_id.ok_or_else(|| AppError::bad_request("the activity has no id"))?;
    let Some(object) = object else {
        return Err(AppError::bad_request("the activity has no object"));
    };
    // A reaction to a deleted comment (a placeholder) is not counted.
    let item =
        super::replies::our_item(state, object).await?.filter(|(_, c)| !c.as_ref().is_some_and(|c| c.is_deleted()));
    let Some((article_id, comment_id)) = item.map(|(a, c)| (a.id, c.map(|c| c.id))) else {
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

/// Counts a `Like` or an `EmojiReact` by `actor` (see [`react`]).
pub async fn like(state: &AppState, actor: &RemoteActor, activity: &Activity) -> Result<(), AppError> {
    let kind = match activity.kind {
        ActivityKind::EmojiReact => ReactionKind::Emoji,
        _ if is_emoji(activity) => ReactionKind::Emoji,
        _ => ReactionKind::Like,
    };
    let object = activity.object_id().map(Id::as_str);
    react(state, actor, activity.id.as_ref().map(Id::as_str), object, kind).await
}

/// True for a Like that carries an emoji (Misskey's `_misskey_reaction`, or `content`): an
/// emoji reaction, counted beside a plain Like of the same account.
fn is_emoji(activity: &Activity) -> bool {
    [&activity.misskey_reaction, &activity.content].into_iter().flatten().any(|emoji| !emoji.trim().is_empty())
}

/// A `Dislike` (Lemmy's downvote) is not counted, but takes back the account's Like of the
/// object: Lemmy sends only the Dislike when a vote turns from up to down.
pub async fn dislike(state: &AppState, actor: &RemoteActor, activity: &Activity) -> Result<(), AppError> {
    if let Some(object) = activity.object_id().map(Id::as_str) {
        let removed = state.store.remove_reaction_to(ReactionKind::Like, &actor.ap_id, object).await?;
        tracing::info!(actor = %actor.ap_id, object, removed, "dislike: not counted, a like taken back");
    }
    Ok(())
}

/// Removes the reaction an `Undo` names, if `actor` made it: by the activity's id, or (an
/// embedded activity whose id we never saw, as Lemmy re-creates its votes) by its kind and object.
pub async fn undo(state: &AppState, actor: &RemoteActor, object: &Payload) -> Result<bool, AppError> {
    let Some(id) = object.first_id().map(Id::as_str) else { return Ok(false) };
    let mut removed = state.store.remove_reaction(id, &actor.ap_id).await?;
    if let (false, Payload::Activity(undone)) = (removed, object) {
        let kind = match undone.kind {
            ActivityKind::Like if is_emoji(undone) => Some(ReactionKind::Emoji),
            ActivityKind::Like => Some(ReactionKind::Like),
            ActivityKind::EmojiReact => Some(ReactionKind::Emoji),
            ActivityKind::Announce => Some(ReactionKind::Announce),
            _ => None,
        };
        if let (Some(kind), Some(target)) = (kind, undone.object_id()) {
            removed = state.store.remove_reaction_to(kind, &actor.ap_id, target.as_str()).await?;
        }
    }
    if removed {
        tracing::info!(actor = %actor.ap_id, reaction = id, "reaction undone");
    }
    Ok(removed)
}

/// Stores a `Flag` as a report for the admin: who sent it, their words, what they report.
pub async fn flag(state: &AppState, actor: &RemoteActor, activity: &Activity) -> Result<(), AppError> {
    let objects: Vec<String> = match &activity.object {
        Some(Payload::Many(items)) => items.iter().filter_map(Payload::first_id).map(Id::to_string).collect(),
        _ => activity.object_id().map(Id::to_string).into_iter().collect(),
    };
    if objects.is_empty() {
        return Err(AppError::bad_request("the Flag names nothing"));
    }
    let report = NewReport {
        activity_ap_id: activity.id.as_ref().map(Id::to_string),
        reporter_ap_id: actor.ap_id.clone(),
        comment: plain_text(activity.content.as_deref().unwrap_or_default(), 5000),
        objects: objects.into_iter().take(MAX_REPORTED).collect(),
    };
    let new = state.store.add_report(&report).await?;
    tracing::info!(reporter = %actor.ap_id, new, "report received");
    Ok(())
}
