//! Who sent an inbox request: its HTTP signature (draft-cavage or RFC 9421, see [`signatures`])
//! is checked against the signer's key, fetched from the signer's server and kept (refetched
//! once when a signature fails, for rotated keys). A request signed for another host, or seen
//! before (a replay), is refused. Every failure is a 401, so a sender that "double-knocks" can
//! retry in another signature format.
//!
//! The store keeps one key per actor: the one its last verified request was signed with. An
//! actor that alternates between keys (Fedify's RSA and Ed25519 ones) costs a fetch at each
//! change, and is verified all the same.

use axum::http::{HeaderMap, Method, Uri};
use url::Url;

use super::fetch;
use super::inbox::unauthorized;
use super::signatures::{self, CheckedSignature, InboundRequest, SignatureError};
use crate::http::error::AppError;
use crate::startup::AppState;
use crate::store::federation::RemoteActor;

/// A stored key is trusted this long before the actor is fetched again.
const KEY_FRESH_FOR: chrono::Duration = chrono::Duration::hours(24);

/// Checks the request's signature and returns the remote actor that made it.
pub async fn signer(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<RemoteActor, AppError> {
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    check_host(state, headers)?;
    // The Host is ours: RFC 9421's `@authority` and `@target-uri` are rebuilt from our own
    // public URL, so a signature made for another host does not verify.
    let authority = state.config.domain().to_ascii_lowercase();
    let request = InboundRequest {
        method: method.as_str(),
        scheme: state.config.public_url.scheme(),
        authority: &authority,
        path_and_query: path,
        headers,
        body: Some(body),
    };
    let checked = signatures::check_inbound(&request, chrono::Utc::now()).map_err(|e| unauthorized(e.to_string()))?;
    if state.seen_signatures.contains_key(&fingerprint(&checked.signature)) {
        return Err(replayed());
    }
    let owner = Url::parse(checked.key_owner_url()).map_err(|_| unauthorized("the keyId is not a URL"))?;
    let cached = match state.signer_keys.get(&checked.key_id) {
        Some(actor) => Some(actor),
        None => state.store.remote_actor_by_key(&checked.key_id).await?,
    }
    .filter(|a| chrono::Utc::now() - a.fetched_at < KEY_FRESH_FOR);
    if let Some(actor) = cached {
        if let Some(pem) = &actor.public_key_pem {
            if checked.verify(pem).is_ok() {
                remember(state, &checked)?;
                state.signer_keys.insert(checked.key_id.clone(), actor.clone());
                return Ok(actor);
            }
        }
    }
    // Unknown, stale or rotated: fetch the key's owner and try once more (never from a
    // suspended server: its key is not fetched).
    let key_host = owner.host_str().unwrap_or_default();
    if state.store.block_for(key_host, Some(owner.as_str())).await?.is_some_and(|b| b.suspends()) {
        return Err(AppError::new(axum::http::StatusCode::FORBIDDEN, format!("{key_host} is blocked here")));
    }
    let actor = fetch::fetch_key_owner(&state.client, &owner, Some(&state.site_key), state.config.dev, &checked.key_id)
        .await
        .map_err(|e| unauthorized(format!("cannot get the signer's key: {e}")))?;
    if actor.key_id.as_deref() != Some(checked.key_id.as_str()) {
        return Err(unauthorized(format!("{} does not publish the key {}", actor.ap_id, checked.key_id)));
    }
    let pem = actor.public_key_pem.as_deref().ok_or_else(|| unauthorized("the signer publishes no key"))?;
    checked.verify(pem).map_err(|e: SignatureError| unauthorized(e.to_string()))?;
    remember(state, &checked)?;
    state.store.upsert_remote_actor(&actor).await?;
    state.signer_keys.insert(checked.key_id.clone(), actor.clone());
    Ok(actor)
}

/// Records a verified signature; refused when it was recorded already (the same request sent
/// twice, even at the same moment).
fn remember(state: &AppState, checked: &CheckedSignature) -> Result<(), AppError> {
    if state.seen_signatures.entry(fingerprint(&checked.signature)).or_insert(()).is_fresh() {
        Ok(())
    } else {
        Err(replayed())
    }
}

/// What is remembered of a signature: 128 bits of its SHA-256 (an RSA signature is 256 bytes).
fn fingerprint(signature: &[u8]) -> u128 {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, signature);
    let mut first = [0u8; 16];
    first.copy_from_slice(&digest.as_ref()[..16]);
    u128::from_be_bytes(first)
}

fn replayed() -> AppError {
    unauthorized("this signed request was received before (a replay)")
}

/// The request must have been meant for us: its `Host` (which the signature covers) is our
/// public host, so a request signed for another server cannot be replayed here.
fn check_host(state: &AppState, headers: &HeaderMap) -> Result<(), AppError> {
    let got = headers.get("host").and_then(|v| v.to_str().ok()).unwrap_or_default().to_ascii_lowercase();
    let ours = state.config.domain().to_ascii_lowercase();
    let default_port = if state.config.public_url.scheme() == "https" { ":443" } else { ":80" };
    if got == ours || got.strip_suffix(default_port) == Some(ours.as_str()) {
        Ok(())
    } else {
        Err(unauthorized(format!("the request is for host '{got}', not for {ours}")))
    }
}
