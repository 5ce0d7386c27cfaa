//! The domain of the service's handles (`THREADBRIDGE_HANDLE_DOMAIN`) across restarts: when it
//! changed since the last start, each followed local actor sends its followers' servers an
//! `Update` of itself, so that they look its handle up again. Actor ids never change, so every
//! follower stays.

use activitypub_federation::kinds::activity::UpdateType;

use super::documents::{payload, ActivityType, Object};
use crate::startup::AppState;

/// Records the handle domain and, when it differs from the one of the last start (the public
/// host for a store that never recorded one), queues the Updates. Returns how many actors
/// announced it.
pub async fn announce_if_changed(state: &AppState) -> anyhow::Result<usize> {
    let domain = state.config.handle_domain();
    // Kept per public URL: processes sharing a database share it (tests run siblings on one
    // database under addresses of their own, which must not take each other for a change).
    let name = format!("handle_domain {}", state.urls.base());
    let before = state.store.swap_service_state(&name, &domain).await?.unwrap_or_else(|| state.config.domain());
    if before == domain {
        return Ok(0);
    }
    let mut announced = 0;
    for username in state.store.followed_usernames().await? {
        let Some(actor) = state.store.actor_by_username(&username).await? else { continue };
        let actor = super::keys::with_keys(state.store.as_ref(), actor).await?;
        let domains =
            super::routes::attribution_domains(state, &actor).await.map_err(|e| anyhow::anyhow!(e.message))?;
        let inboxes = state.store.follower_inboxes(&[actor.id]).await?;
        let uuid = uuid::Uuid::new_v4().to_string();
        let render = state.renderer();
        let update = render.public_activity(
            state.urls.activity(&uuid),
            ActivityType::Update(UpdateType::Update),
            &actor.username,
            None,
            Object::Actor(Box::new(render.actor(&actor, &domains))),
            vec![],
        );
        state.store.queue_to_inboxes(actor.id, "Update", &uuid, &payload(update), &inboxes).await?;
        announced += 1;
    }
    tracing::info!(before, domain, announced, "the handle domain changed: followers' servers are told");
    state.outbox.notify_one();
    Ok(announced)
}
