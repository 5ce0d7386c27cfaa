//! Key pairs of local actors. RSA-2048 generation is slow (tens of milliseconds even
//! optimised), so keys are made lazily, on a blocking thread, the first time an actor is served
//! or signs, and stored; the private key stays in the store.

use activitypub_federation::http_signatures::generate_actor_keypair;

use crate::domain::LocalActor;
use crate::store::{Store, StoreError, StoreResult};

/// The actor with a public key, generating and storing a key pair when it has none.
pub async fn with_keys(store: &dyn Store, actor: LocalActor) -> StoreResult<LocalActor> {
    if actor.public_key_pem.is_some() {
        return Ok(actor);
    }
    let keypair = tokio::task::spawn_blocking(generate_actor_keypair)
        .await
        .map_err(|e| StoreError::Other(format!("key generation stopped: {e}")))?
        .map_err(|e| StoreError::Other(format!("key generation failed: {e}")))?;
    store.set_actor_keys_if_missing(actor.id, &keypair.public_key, &keypair.private_key).await
}
