//! The site's webhook (`THREADBRIDGE_WEBHOOK_URL`): what the site is told when a federated reply
//! is new, edited, deleted by its author, or approved, rejected or removed by an admin.
//!
//! Events are rows of `webhook_events`, written in the same transaction as the change they
//! report (their payload is built here, in one shape: [`reply_event`], [`deleted_event`],
//! [`moderation_event`]). The worker ([`run`]) claims due rows under a lease (as deliveries are
//! claimed, so several processes share them), POSTs each one signed with
//! HMAC-SHA256 (`X-Threadbridge-Signature: sha256=<hex>` over `"<timestamp>.<body>"`), and
//! retries failures on the deliveries' schedule (`delivery::schedule`): a crash or a site that
//! is down loses nothing, and every event is sent at least once (the site dedupes by
//! `X-Threadbridge-Delivery`).

use std::time::Duration;

use aws_lc_rs::hmac;
use chrono::{DateTime, Utc};
use serde::Serialize;
use url::Url;

use crate::delivery::schedule::{self, Verdict};
use crate::domain::{Key, Status};
use crate::federation::fetch::{read_capped, CONNECT_TIMEOUT, REQUEST_TIMEOUT, USER_AGENT};
use crate::startup::AppState;
use crate::store::federation::Outcome;
use crate::store::inbound::{Attachment, RemoteReply, StoredReply, WebhookEvent};
use crate::store::moderation::{ClaimedEvent, ModeratedReply, Moderation};

/// How often the queue is looked at when nothing wakes the worker (other processes' events,
/// retries coming due).
const POLL: Duration = Duration::from_secs(1);
/// How much of an error answer is kept for the admin.
const ERROR_BODY_BYTES: usize = 512;

/// The JSON body of every event.
#[derive(Serialize)]
struct Payload<'a> {
    /// `reply.created`, `reply.updated`, `reply.deleted`, `reply.approved`, `reply.rejected`,
    /// `reply.removed`.
    event: &'a str,
    /// The article's key.
    article: &'a Key,
    comment: CommentPayload<'a>,
    /// When the event was made.
    at: DateTime<Utc>,
}

/// A reply as the thread endpoint shows it; what is unknown (a deleted reply's text) is null.
#[derive(Serialize)]
struct CommentPayload<'a> {
    /// The reply's thread key (`r-` and 16 hex digits).
    id: &'a Key,
    ap_id: Option<&'a str>,
    /// The key of the item it answers; null: the article.
    parent: Option<&'a Key>,
    origin: &'static str,
    status: Status,
    author: AuthorPayload<'a>,
    content: Option<&'a str>,
    summary: Option<&'a str>,
    language: Option<&'a str>,
    /// Where the author's server shows it.
    url: Option<&'a str>,
    attachments: &'a [Attachment],
    published: Option<DateTime<Utc>>,
    updated: Option<DateTime<Utc>>,
}

#[derive(Serialize)]
struct AuthorPayload<'a> {
    name: Option<&'a str>,
    handle: Option<&'a str>,
    /// The author's profile (their actor id when they have no profile page).
    url: &'a str,
}

fn event_of(event: &str, article: &Key, comment: CommentPayload<'_>) -> WebhookEvent {
    let payload = Payload { event, article, comment, at: Utc::now() };
    // Serialising these plain structs cannot fail; an empty object would only reach the site.
    let payload = serde_json::to_string(&payload).unwrap_or_else(|_| "{}".into());
    WebhookEvent { event: event.to_string(), payload }
}

fn or_id<'a>(url: &'a str, ap_id: &'a str) -> &'a str {
    if url.is_empty() {
        ap_id
    } else {
        url
    }
}

/// The event for a reply as the inbox received it (`reply.created`, `reply.updated`), with the
/// status it is stored with.
pub fn reply_event(
    event: &str,
    article: &Key,
    key: &Key,
    parent: Option<&Key>,
    reply: &RemoteReply,
    status: Status,
) -> WebhookEvent {
    let comment = CommentPayload {
        id: key,
        ap_id: Some(&reply.ap_id),
        parent,
        origin: "remote",
        status,
        author: AuthorPayload {
            name: Some(&reply.author_name),
            handle: Some(&reply.author_handle),
            url: or_id(&reply.author_url, &reply.author_ap_id),
        },
        content: Some(&reply.content),
        summary: reply.summary.as_deref(),
        language: reply.language.as_deref(),
        url: reply.url.as_deref(),
        attachments: &reply.attachments,
        published: Some(reply.published),
        updated: reply.updated,
    };
    event_of(event, article, comment)
}

/// The event for a reply its author deleted (`reply.deleted`): its place, no text.
pub fn deleted_event(reply: &StoredReply) -> WebhookEvent {
    let comment = CommentPayload {
        id: &reply.key,
        ap_id: Some(&reply.ap_id),
        parent: reply.parent_key.as_ref(),
        origin: "remote",
        status: Status::Deleted,
        author: AuthorPayload { name: None, handle: None, url: &reply.author_ap_id },
        content: None,
        summary: None,
        language: None,
        url: None,
        attachments: &[],
        published: Some(reply.published),
        updated: reply.updated,
    };
    event_of("reply.deleted", &reply.article_key, comment)
}

/// The event for an admin's decision on a reply (`reply.approved`, `reply.rejected`,
/// `reply.removed`), with the reply as it now is.
pub fn moderation_event(action: Moderation, reply: &ModeratedReply) -> WebhookEvent {
    let deleted = reply.status == Status::Deleted;
    let comment = CommentPayload {
        id: &reply.key,
        ap_id: Some(&reply.ap_id),
        parent: reply.parent_key.as_ref(),
        origin: "remote",
        status: reply.status,
        author: AuthorPayload {
            name: Some(&reply.author_name),
            handle: Some(&reply.author_handle),
            url: or_id(&reply.author_url, &reply.author_ap_id),
        },
        content: (!deleted).then_some(reply.content.as_str()),
        summary: reply.summary.as_deref(),
        language: reply.language.as_deref(),
        url: reply.remote_url.as_deref(),
        attachments: &reply.attachments,
        published: Some(reply.published),
        updated: reply.updated,
    };
    event_of(action.event(), &reply.article_key, comment)
}

/// `sha256=<hex>`: HMAC-SHA256 with the secret over `"<timestamp>.<body>"`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut context = hmac::Context::with_key(&key);
    context.update(timestamp.to_string().as_bytes());
    context.update(b".");
    context.update(body);
    let tag = context.sign();
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// Where and how events are sent.
struct Target {
    url: Url,
    secret: Option<String>,
    retry_base: Duration,
    lease: Duration,
    client: reqwest::Client,
}

/// Sends the queued events until the task is dropped. Does nothing without a webhook URL.
/// The URL is the operator's own (often on a private network), so unlike fediverse requests it
/// may be a private address; redirects are not followed.
pub async fn run(state: AppState) {
    let config = &state.config;
    let Some(url) = config.webhook_url.clone() else { return };
    if config.webhook_secret.as_deref().is_none_or(str::is_empty) {
        tracing::warn!("THREADBRIDGE_WEBHOOK_SECRET is not set: webhook requests go unsigned");
    }
    let client = match reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .build()
    {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the webhook client: no webhook will be sent");
            return;
        }
    };
    let target = Target {
        url,
        secret: config.webhook_secret.clone().filter(|s| !s.is_empty()),
        retry_base: Duration::from_secs(config.retry_base_seconds),
        lease: Duration::from_secs(config.delivery_lease_seconds),
        client,
    };
    // Events are sent one after another, oldest first; a claim takes no more than can be sent
    // (at the longest request time each) in half its lease.
    let batch = (target.lease.as_secs() / (2 * REQUEST_TIMEOUT.as_secs())).clamp(1, 32) as i64;
    loop {
        let sent = match drain_once(&state, &target, batch).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "claiming webhook events failed; will try again");
                0
            }
        };
        if sent == 0 {
            tokio::select! {
                _ = state.webhook.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    }
}

/// Claims due events and sends them; returns how many were claimed.
#[tracing::instrument(skip_all)]
async fn drain_once(state: &AppState, target: &Target, batch: i64) -> Result<usize, crate::store::StoreError> {
    let now = Utc::now().timestamp_millis();
    let lease_end = now + i64::try_from(target.lease.as_millis()).unwrap_or(i64::MAX / 2);
    let claimed = state.store.claim_webhook_events(now, lease_end, batch).await?;
    for event in &claimed {
        let outcome = send(target, event).await;
        match state.store.record_webhook_outcome(event, &outcome).await {
            Ok(true) => {}
            Ok(false) => tracing::info!(event = event.id, "webhook outcome dropped: the claim ran out"),
            // Unrecorded, the row stays leased and is sent again after the lease: at least once.
            Err(e) => tracing::warn!(event = event.id, error = %e, "recording a webhook outcome failed"),
        }
    }
    Ok(claimed.len())
}

/// One attempt, judged as deliveries are.
async fn send(target: &Target, event: &ClaimedEvent) -> Outcome {
    let timestamp = Utc::now().timestamp();
    let mut request = target
        .client
        .post(target.url.clone())
        .header("Content-Type", "application/json")
        .header("X-Threadbridge-Event", event.event.as_str())
        .header("X-Threadbridge-Delivery", event.id.to_string())
        .header("X-Threadbridge-Timestamp", timestamp.to_string());
    if let Some(secret) = &target.secret {
        request = request.header("X-Threadbridge-Signature", signature(secret, timestamp, event.payload.as_bytes()));
    }
    let (status, retry_after, error) = match request.body(event.payload.clone()).send().await {
        Ok(response) => answer(response).await,
        Err(e) => (None, None, format!("request failed: {}", error_chain(&e))),
    };
    let attempts = event.attempts + 1;
    match schedule::judge(status, retry_after, attempts, target.retry_base) {
        Verdict::Done => Outcome::Done { status: status.unwrap_or(200) },
        Verdict::Retry(delay) => {
            tracing::info!(event = event.id, attempts, ?delay, %error, "webhook failed; will retry");
            let delay_ms = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 4);
            Outcome::Retry { status, error, at_ms: Utc::now().timestamp_millis() + delay_ms }
        }
        Verdict::GiveUp(why) => {
            tracing::warn!(event = event.id, attempts, %why, %error, "webhook given up");
            Outcome::Failed { status, error: format!("{why}; {error}") }
        }
        Verdict::Gone => Outcome::Failed { status, error: format!("refused with 410: not retried; {error}") },
    }
}

/// What an answer says: its status, a `Retry-After`, and a little of an error body.
async fn answer(response: reqwest::Response) -> (Option<u16>, Option<Duration>, String) {
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| schedule::parse_retry_after(v, Utc::now()));
    let error = if status.is_success() {
        String::new()
    } else if status.is_redirection() {
        let to = response.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("?").to_string();
        format!("redirected to {to} (redirects are not followed)")
    } else {
        let body = read_capped(response, 64 * 1024).await.ok().flatten().unwrap_or_default();
        let text = String::from_utf8_lossy(&body[..body.len().min(ERROR_BODY_BYTES)]).into_owned();
        format!("HTTP {}: {}", status.as_u16(), text.trim())
    };
    (Some(status.as_u16()), retry_after, error)
}

fn error_chain(e: &reqwest::Error) -> String {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        message.push_str(&format!(": {inner}"));
        source = inner.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    /// HMAC-SHA256 written out (RFC 2104), to check the library's against.
    fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
        use sha2::{Digest, Sha256};
        let mut block = [0u8; 64];
        block[..key.len()].copy_from_slice(key);
        let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
        let inner = Sha256::new().chain_update(pad(0x36)).chain_update(message).finalize();
        Sha256::new().chain_update(pad(0x5c)).chain_update(inner).finalize().to_vec()
    }

    #[test]
    fn the_signature_is_an_hmac_of_timestamp_dot_body() {
        // RFC 4231, test case 2, checks the written-out HMAC first.
        let known = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(hex(&known), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        let expected = format!("sha256={}", hex(&hmac_sha256(b"s3cret", b"1700000000.{\"a\":1}")));
        assert_eq!(signature("s3cret", 1_700_000_000, br#"{"a":1}"#), expected);
    }

    #[test]
    fn a_deleted_reply_has_no_text() {
        let reply = StoredReply {
            comment_id: 1,
            article_id: 1,
            article_key: Key::from_store("treaty".into()),
            key: Key::from_store("r-0123456789abcdef".into()),
            ap_id: "https://social.example/users/alice/statuses/1".into(),
            parent_key: None,
            author_ap_id: "https://social.example/users/alice".into(),
            status: Status::Deleted,
            published: Utc::now(),
            updated: None,
        };
        let event = deleted_event(&reply);
        let body: serde_json::Value = serde_json::from_str(&event.payload).expect("json");
        assert_eq!(event.event, "reply.deleted");
        assert_eq!(body["article"], "treaty");
        assert_eq!(body["comment"]["id"], "r-0123456789abcdef");
        assert_eq!(body["comment"]["status"], "deleted");
        assert!(body["comment"]["content"].is_null());
        assert_eq!(body["comment"]["author"]["url"], "https://social.example/users/alice");
    }
}
