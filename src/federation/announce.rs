//! `Announce`: a boost of one of our articles or comments, or another actor's activity relayed
//! whole, as Lemmy and PieFed communities relay their members' posts (FEP-1b12) and WordPress
//! blogs their authors'.
//!
//! - A boost (the object is a post, or its id) is counted by [`super::reactions`].
//! - A relayed `Create` or `Update` is not taken from the relayer's copy: the post it names is
//!   fetched from its own server, by its id, and handled as its author's (the `attributedTo` of
//!   what that server serves), see [`super::replies::relayed`].
//! - Any other relayed activity (a vote, a `Delete`, an `Undo`, a moderator's `Remove`...) is
//!   logged and ignored: the relayer cannot vouch for another actor's activity, and there is no
//!   document to fetch that would confirm it.

use serde_json::Value;

use super::reactions;
use crate::http::error::AppError;
use crate::startup::AppState;
use crate::store::federation::RemoteActor;
use crate::store::inbound::ReactionKind;

/// Handles an `Announce` verified as sent by `actor`.
pub async fn receive(state: &AppState, actor: &RemoteActor, activity: &Value) -> Result<(), AppError> {
    let Some(inner) = activity.get("object").filter(|object| is_activity(object)) else {
        let id = activity.get("id").and_then(Value::as_str);
        let object = super::inbox::id_of(activity.get("object"));
        return reactions::react(state, actor, id, object, ReactionKind::Announce).await;
    };
    let kind = inner.get("type").and_then(Value::as_str).unwrap_or_default();
    let post = super::inbox::id_of(inner.get("object"));
    match (kind, post) {
        ("Create" | "Update", Some(post)) => super::replies::relayed(state, actor, post, kind == "Update").await,
        _ => {
            tracing::info!(relayer = %actor.ap_id, kind, "relayed activity ignored: only posts are taken, refetched");
            Ok(())
        }
    }
}

/// True for an embedded activity (it has an `object` of its own), as opposed to a post: a
/// Hubzilla post carries an `actor` too, so that alone does not tell.
fn is_activity(object: &Value) -> bool {
    object.is_object() && object.get("object").is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn relayed_activities_are_told_from_posts() {
        assert!(is_activity(&json!({"type": "Create", "actor": "https://a.example/u/x", "object": {"type": "Note"}})));
        assert!(is_activity(&json!({"type": "Like", "object": "https://b.example/post/1"})));
        assert!(!is_activity(&json!({"type": "Note", "actor": "https://hub.example/channel/x", "content": "hi"})));
        assert!(!is_activity(&json!("https://b.example/post/1")));
    }
}
