//! One attempt: sign the activity for one inbox and POST it.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use url::Url;

use super::schedule;
use crate::federation::fetch::{self, read_capped};
use crate::federation::signatures::{self, SigningKey};

pub const CONTENT_TYPE: &str = "application/activity+json";
/// How much of an error answer is kept for the admin.
const ERROR_BODY_BYTES: usize = 512;

/// An activity ready to go anywhere: its bytes, their digest and the key that signs them.
pub struct Prepared {
    pub body: Bytes,
    pub digest: String,
    pub key: Arc<SigningKey>,
}

impl Prepared {
    pub fn new(payload: String, key: Arc<SigningKey>) -> Prepared {
        let body = Bytes::from(payload);
        let digest = signatures::digest_header(&body);
        Prepared { body, digest, key }
    }
}

fn signing_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    SLOTS
        .get_or_init(|| tokio::sync::Semaphore::new(std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)))
}

/// What one attempt got.
#[derive(Debug, Default)]
pub struct Attempt {
    /// None: no answer (network error, time-out).
    pub status: Option<u16>,
    pub retry_after: Option<Duration>,
    pub error: Option<String>,
    /// The request cannot succeed as it is (an unsafe inbox): not retried.
    pub permanent: bool,
}

impl Attempt {
    fn failed(error: String, permanent: bool) -> Attempt {
        Attempt { error: Some(error), permanent, ..Attempt::default() }
    }
}

pub async fn attempt(client: &reqwest::Client, prepared: Arc<Prepared>, inbox: &str, dev: bool) -> Attempt {
    let url = match Url::parse(inbox) {
        Ok(url) => url,
        Err(e) => return Attempt::failed(format!("not a URL: {e}"), true),
    };
    if let Err(e) = fetch::check_url(&url, dev) {
        return Attempt::failed(e.to_string(), true);
    }
    // RSA signing is CPU work: off the async threads, on a bounded number of blocking threads
    // (a few per core: enough to keep every core signing while others wait on the network).
    let _signer = signing_slots().acquire().await;
    let signing = {
        let (prepared, url) = (prepared.clone(), url.clone());
        tokio::task::spawn_blocking(move || {
            signatures::sign_post(&prepared.key, &url, &prepared.digest, CONTENT_TYPE, chrono::Utc::now())
        })
        .await
    };
    let signed = match signing {
        Ok(Ok(signed)) => signed,
        Ok(Err(e)) => return Attempt::failed(format!("cannot sign: {e}"), true),
        Err(e) => return Attempt::failed(format!("signing stopped: {e}"), false),
    };
    let request = client
        .post(url)
        .header("Content-Type", CONTENT_TYPE)
        .header("Date", signed.date)
        .header("Digest", prepared.digest.as_str())
        .header("Signature", signed.signature)
        .body(prepared.body.clone());
    let response = match request.send().await {
        Ok(response) => response,
        Err(e) => return Attempt::failed(describe(&e), false),
    };
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| schedule::parse_retry_after(v, chrono::Utc::now()));
    let error = if status.is_success() {
        None
    } else if status.is_redirection() {
        let to = response.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("?");
        Some(format!("redirected to {to} (redirects are not followed)"))
    } else {
        // A little of the answer helps the admin; a huge one is cut, not read.
        let body = read_capped(response, 64 * 1024).await.ok().flatten().unwrap_or_default();
        let text = String::from_utf8_lossy(&body[..body.len().min(ERROR_BODY_BYTES)]).into_owned();
        Some(format!("HTTP {}: {}", status.as_u16(), text.trim()))
    };
    Attempt { status: Some(status.as_u16()), retry_after, error, permanent: false }
}

fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    // The full chain says why (refused, DNS, TLS ...).
    let mut message = format!("{kind}: {e}");
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        message.push_str(&format!(": {inner}"));
        source = inner.source();
    }
    message
}
