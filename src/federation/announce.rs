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

use super::reactions;
use super::wire::{Activity, ActivityKind, Id, Payload};
use crate::http::error::AppError;
use crate::startup::AppState;
use crate::store::federation::RemoteActor;
use crate::store::inbound::ReactionKind;

/// Handles an `Announce` verified as sent by `actor`. An embedded activity (it has an `object`
/// of its own; a Hubzilla post carries an `actor` too, so that alone does not tell) is a relay;
/// anything else, a post or its id, is a boost.
pub async fn receive(state: &AppState, actor: &RemoteActor, activity: &Activity) -> Result<(), AppError> {
    let relayed = match &activity.object {
        Some(Payload::Activity(inner)) => inner,
        Some(other @ Payload::OtherActivity(_)) => {
            let kind = other.type_name();
            tracing::info!(relayer = %actor.ap_id, kind, "relayed activity ignored: only posts are taken, refetched");
            return Ok(());
        }
        _ => {
            let id = activity.id.as_ref().map(Id::as_str);
            let object = activity.object_id().map(Id::as_str);
            return reactions::react(state, actor, id, object, ReactionKind::Announce).await;
        }
    };
    match (relayed.kind, relayed.object_id()) {
        (ActivityKind::Create | ActivityKind::Update, Some(post)) => {
            let is_update = relayed.kind == ActivityKind::Update;
            super::replies::relayed(state, actor, post.as_str(), is_update).await
        }
        (kind, _) => {
            let kind = format!("{kind:?}");
            tracing::info!(relayer = %actor.ap_id, kind, "relayed activity ignored: only posts are taken, refetched");
            Ok(())
        }
    }
}
