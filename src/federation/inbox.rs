//! The inboxes: `POST /inbox` (shared) and `POST /users/{username}/inbox`.
//!
//! Every request must be signed (see [`signatures`]) by the activity's own `actor`, whose key is
//! fetched from its server (and kept; refetched once when a signature fails, for rotated
//! keys). Before that, the request's JSON shape is checked ([`limits`]), the sending server's
//! rate, and whether it is blocked. Each activity id is processed once (a `Follow` excepted:
//! it is answered again; and an `Update`, applied only when newer than what is stored).
//!
//! Handled here: `Follow` (answered with a signed `Accept`, delivered like any activity),
//! `Undo` (of a Follow or a reaction), `Move` of a follower, `Accept`/`Reject` of the site's own
//! Follows ([`super::following`]); `Create`, `Update` and `Delete` of
//! replies go to [`super::replies`], `Like`/`Announce`/`Flag` to [`super::reactions`]. Anything
//! else is acknowledged with 202 and logged. Refusals answer a 4xx with `{"error": ...}` and are logged; nothing a refused
//! request asks for is stored (a signer's verified key is kept, as a cache). A signed request
//! from a server marked unavailable shows it is back: deliveries to it resume.

use activitypub_federation::protocol::helpers::deserialize_skip_error;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use super::documents::payload;
use super::fetch::{self, same_origin};
use super::signatures;
use super::wire::{self, ActivityKind, Id, Payload};
use super::{limits, reactions};
use crate::domain::LocalActor;
use crate::http::error::AppError;
use crate::http::extract::AppPath;
use crate::startup::AppState;
use crate::store::federation::{DirectActivity, NewFollower, RemoteActor};

/// The largest activity accepted.
pub const MAX_INBOX_BYTES: usize = 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/inbox", post(shared_inbox))
        .route("/users/{username}/inbox", post(actor_inbox))
        .layer(DefaultBodyLimit::max(MAX_INBOX_BYTES))
}

async fn shared_inbox(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match read_body(body) {
        Ok(body) => body,
        Err(e) => return respond(Err(e)),
    };
    respond(receive(&state, None, &method, &uri, &headers, &body).await)
}

async fn actor_inbox(
    State(state): State<AppState>,
    AppPath(username): AppPath<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match read_body(body) {
        Ok(body) => body,
        Err(e) => return respond(Err(e)),
    };
    let local = match state.store.actor_by_username(&username).await {
        Ok(Some(actor)) => actor,
        Ok(None) => return respond(Err(AppError::not_found(format!("no actor '{username}' here")))),
        Err(e) => return respond(Err(e.into())),
    };
    respond(receive(&state, Some(local), &method, &uri, &headers, &body).await)
}

/// The body, or why it cannot be taken, in our error format (413 above [`MAX_INBOX_BYTES`]).
fn read_body(body: Result<Bytes, BytesRejection>) -> Result<Bytes, AppError> {
    body.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => AppError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the activity is larger than {} KiB", MAX_INBOX_BYTES / 1024),
        ),
        status => AppError::new(status, format!("the body cannot be read: {}", e.body_text())),
    })
}

fn respond(result: Result<(), AppError>) -> Response {
    match result {
        Ok(()) => StatusCode::ACCEPTED.into_response(),
        Err(e) => {
            tracing::info!(status = %e.status, reason = %e.message, "inbox refused an activity");
            e.into_response()
        }
    }
}

pub(crate) fn unauthorized(message: impl Into<String>) -> AppError {
    AppError::new(StatusCode::UNAUTHORIZED, message)
}

/// The id of a property that is a URL, an object with an `id`, or a list of those (the first).
pub(crate) fn id_of(value: Option<&Value>) -> Option<&str> {
    match value? {
        Value::String(s) => Some(s),
        Value::Object(o) => o.get("id").and_then(Value::as_str),
        Value::Array(items) => items.first().and_then(|first| id_of(Some(first))),
        _ => None,
    }
}

async fn receive(
    state: &AppState,
    inbox_owner: Option<LocalActor>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), AppError> {
    // Unsigned is refused first, whatever the body: a sender learns it must sign (401).
    if !headers.contains_key("signature") && !headers.contains_key("signature-input") {
        return Err(unauthorized("the request is not signed (HTTP Signatures or RFC 9421)"));
    }
    let activity: Value =
        serde_json::from_slice(body).map_err(|e| AppError::bad_request(format!("the body is not JSON: {e}")))?;
    if !activity.is_object() {
        return Err(AppError::bad_request("the body is not a JSON object"));
    }
    limits::check_shape(&activity).map_err(AppError::bad_request)?;
    let envelope = Envelope::deserialize(&activity).map_err(|e| AppError::bad_request(e.to_string()))?;
    let kind = envelope.kind.unwrap_or_default();
    let actor_id = id_of(envelope.actor.as_ref()).ok_or_else(|| AppError::bad_request("the activity has no actor"))?;
    let actor_url = Url::parse(actor_id).map_err(|_| AppError::bad_request("the actor is not a URL"))?;
    let host = actor_url.host_str().unwrap_or_default();
    if let Err(wait) = state.inbox_limiter.check(host) {
        return Err(AppError::new(StatusCode::TOO_MANY_REQUESTS, format!("too many requests from {host}"))
            .with_retry_after(wait));
    }
    // Before the signer's key is fetched: nothing is fetched from a blocked server.
    if state.store.block_for(host, Some(actor_id)).await?.is_some_and(|b| b.suspends()) {
        return Err(AppError::new(StatusCode::FORBIDDEN, format!("{actor_id} is blocked here")));
    }
    let signer = super::verify::signer(state, method, uri, headers, body).await?;
    if signer.ap_id != actor_id {
        return Err(unauthorized(format!("signed by {}, not by the activity's actor {actor_id}", signer.ap_id)));
    }
    state.store.server_is_back(&signatures::host_header(&actor_url)).await?;
    let activity_id = envelope.id.as_deref();
    if let Some(id) = activity_id {
        let same = Url::parse(id).map(|id| same_origin(&id, &actor_url)).unwrap_or(false);
        if !same {
            return Err(AppError::bad_request("the activity's id is not on its actor's server"));
        }
        // A Follow is answered every time (its Accept may have been lost). An Update is applied
        // only when newer than what is stored, whatever its id (Hubzilla sends an edit under its
        // Create's id). The rest once.
        if !matches!(kind.as_str(), "Follow" | "Update") && state.store.activity_seen(id).await? {
            tracing::info!(id, kind, "activity ignored: processed before");
            return Ok(());
        }
    }
    match ActivityKind::named(&kind) {
        Some(handled) if handled != ActivityKind::Block => {
            handle(state, inbox_owner, &signer, typed(&activity)?).await?
        }
        _ => tracing::info!(kind, actor = actor_id, "activity ignored: not handled"),
    }
    // A reply's Create is noted as processed in the transaction that stores it.
    if let Some(id) = activity_id.filter(|_| kind != "Create") {
        state.store.record_activity(id).await?;
    }
    Ok(())
}

/// What is read of an activity before its signature is checked, as loosely as senders write it:
/// its `type` (one string), its `actor` (an id, an object with one, or a list: the first, see
/// [`id_of`]) and its `id`. The whole activity is read into its type ([`wire::Activity`]) once
/// the signature holds.
#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type", default, deserialize_with = "deserialize_skip_error")]
    kind: Option<String>,
    #[serde(default)]
    actor: Option<Value>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    id: Option<String>,
}

/// The activity read into its type ([`wire::Activity`]), or why it cannot be (400).
fn typed(activity: &Value) -> Result<wire::Activity, AppError> {
    wire::Activity::read(activity).map_err(|e| AppError::bad_request(format!("the activity cannot be read: {e}")))
}

/// Hands a verified activity, sent by `signer`, to what handles its kind (a `Block` is only
/// acknowledged, before it gets here).
async fn handle(
    state: &AppState,
    inbox_owner: Option<LocalActor>,
    signer: &RemoteActor,
    activity: wire::Activity,
) -> Result<(), AppError> {
    match activity.kind {
        ActivityKind::Follow => follow(state, inbox_owner, signer, &activity).await,
        ActivityKind::Undo => undo(state, signer, &activity).await,
        ActivityKind::Move => move_follower(state, signer, &activity).await,
        ActivityKind::Create => super::replies::create(state, signer, activity).await,
        ActivityKind::Update => super::replies::update(state, signer, activity).await,
        ActivityKind::Delete => super::replies::delete(state, signer, &activity).await,
        ActivityKind::Like | ActivityKind::EmojiReact => reactions::like(state, signer, &activity).await,
        ActivityKind::Dislike => reactions::dislike(state, signer, &activity).await,
        ActivityKind::Announce => super::announce::receive(state, signer, &activity).await,
        ActivityKind::Flag => reactions::flag(state, signer, &activity).await,
        ActivityKind::Accept => super::following::answer(state, signer, &activity, true).await,
        ActivityKind::Reject => super::following::answer(state, signer, &activity, false).await,
        ActivityKind::Block => Ok(()),
    }
}

/// How long the ids of processed activities are kept: longer than any sender retries.
const KEEP_ACTIVITY_IDS: chrono::Duration = chrono::Duration::days(7);

/// Forgets old processed-activity ids, hourly, for as long as the service runs.
pub async fn forget_old_activities(state: AppState) {
    let mut every_hour = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        every_hour.tick().await;
        match state.store.prune_activities(chrono::Utc::now() - KEEP_ACTIVITY_IDS).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(forgotten = n, "old activity ids forgotten"),
            Err(e) => tracing::warn!(error = %e, "cannot forget old activity ids"),
        }
    }
}

/// The local actor a Follow (or the Follow inside an Undo) is for: its `object`.
async fn followed_actor(state: &AppState, object: Option<&str>) -> Result<LocalActor, AppError> {
    let object = object.ok_or_else(|| AppError::bad_request("the Follow has no object"))?;
    let username =
        state.urls.username_of(object).ok_or_else(|| AppError::not_found(format!("{object} is not an actor here")))?;
    state
        .store
        .actor_by_username(&username)
        .await?
        .ok_or_else(|| AppError::not_found(format!("{object} is not an actor here")))
}

async fn follow(
    state: &AppState,
    inbox_owner: Option<LocalActor>,
    follower: &RemoteActor,
    activity: &wire::Activity,
) -> Result<(), AppError> {
    let followed = followed_actor(state, activity.object_id().map(Id::as_str)).await?;
    if inbox_owner.is_some_and(|owner| owner.id != followed.id) {
        return Err(AppError::bad_request("this inbox's actor is not the one followed"));
    }
    let follow_id =
        activity.id.as_ref().map(Id::as_str).ok_or_else(|| AppError::bad_request("the Follow has no id"))?;
    for address in std::iter::once(&follower.inbox).chain(follower.shared_inbox.as_ref()) {
        let safe = Url::parse(address)
            .map_err(|e| e.to_string())
            .and_then(|u| fetch::check_url(&u, state.config.dev).map_err(|e| e.to_string()));
        if let Err(why) = safe {
            return Err(AppError::new(StatusCode::FORBIDDEN, format!("the follower's inbox is refused: {why}")));
        }
    }
    // Accepted every time, so a follower whose first Accept was lost can follow again.
    let uuid = uuid::Uuid::new_v4().to_string();
    let accept = state.renderer().accept(&uuid, &followed.username, &follower.ap_id, follow_id);
    // The Accept is signed by the followed actor: a commenter may have no key yet.
    super::keys::with_keys(state.store.as_ref(), followed.clone()).await?;
    let new = state
        .store
        .add_follower(
            &NewFollower {
                actor_id: followed.id,
                ap_id: follower.ap_id.clone(),
                handle: follower.handle.clone(),
                inbox: follower.inbox.clone(),
                shared_inbox: follower.shared_inbox.clone(),
                follow_id: follow_id.to_string(),
            },
            &DirectActivity { kind: "Accept", uuid, payload: payload(accept), inbox: follower.inbox.clone() },
        )
        .await?;
    state.outbox.notify_one();
    tracing::info!(follower = %follower.ap_id, followed = %followed.username, new, "follow accepted");
    Ok(())
}

async fn undo(state: &AppState, signer: &RemoteActor, activity: &wire::Activity) -> Result<(), AppError> {
    let object = activity.object.as_ref().ok_or_else(|| AppError::bad_request("the Undo has no object"))?;
    match object {
        Payload::Activity(follow) if follow.kind == ActivityKind::Follow => {
            if follow.actor_id().as_str() != signer.ap_id {
                return Err(AppError::new(StatusCode::FORBIDDEN, "only the follower can undo a Follow"));
            }
            let followed = followed_actor(state, follow.object_id().map(Id::as_str)).await?;
            let removed = state.store.remove_follower(followed.id, &signer.ap_id).await?;
            tracing::info!(follower = %signer.ap_id, followed = %followed.username, removed, "unfollowed");
        }
        Payload::Id(id) => {
            // An id alone: the Follow or the reaction it names.
            if !reactions::undo(state, signer, object).await? {
                let removed = state.store.remove_follow(&signer.ap_id, id.as_str()).await?;
                tracing::info!(follower = %signer.ap_id, removed, "unfollowed (by Follow id)");
            }
        }
        Payload::Activity(reaction)
            if matches!(reaction.kind, ActivityKind::Like | ActivityKind::EmojiReact | ActivityKind::Announce) =>
        {
            if reaction.actor_id().as_str() != signer.ap_id {
                return Err(AppError::new(StatusCode::FORBIDDEN, "only its actor can undo a reaction"));
            }
            reactions::undo(state, signer, object).await?;
        }
        _ => tracing::info!(actor = %signer.ap_id, "Undo ignored: not of a Follow or a reaction"),
    }
    Ok(())
}

/// A follower moved to a new account: the follow moves when the new account names the old one
/// in `alsoKnownAs` (fetched fresh from the new account's server).
async fn move_follower(state: &AppState, signer: &RemoteActor, activity: &wire::Activity) -> Result<(), AppError> {
    if activity.object_id().map(Id::as_str) != Some(signer.ap_id.as_str()) {
        return Err(AppError::new(StatusCode::FORBIDDEN, "an account can only move itself"));
    }
    let target = activity.target.as_ref().ok_or_else(|| AppError::bad_request("the Move has no target"))?;
    let new = fetch::fetch_actor(&state.client, target.id().url(), Some(&state.site_key), state.config.dev)
        .await
        .map_err(|e| AppError::unprocessable(format!("cannot fetch the Move's target: {e}")))?;
    if !new.also_known_as.iter().any(|aka| aka == &signer.ap_id) {
        return Err(AppError::unprocessable(format!("{} does not name {} in alsoKnownAs", new.ap_id, signer.ap_id)));
    }
    let safe =
        |address: &String| Url::parse(address).map(|u| fetch::check_url(&u, state.config.dev).is_ok()).unwrap_or(false);
    if !std::iter::once(&new.inbox).chain(new.shared_inbox.as_ref()).all(safe) {
        return Err(AppError::new(StatusCode::FORBIDDEN, "the new account's inbox is refused"));
    }
    state.store.upsert_remote_actor(&new).await?;
    let moved = state.store.move_followers(&signer.ap_id, &new).await?;
    tracing::info!(from = %signer.ap_id, to = %new.ap_id, moved, "follower moved");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_are_read_from_urls_and_objects() {
        assert_eq!(id_of(Some(&json!("https://a.example/u"))), Some("https://a.example/u"));
        assert_eq!(id_of(Some(&json!({ "id": "https://a.example/u" }))), Some("https://a.example/u"));
        assert_eq!(id_of(Some(&json!(3))), None);
        assert_eq!(id_of(None), None);
    }
}
