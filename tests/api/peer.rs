//! A test peer: a tiny fediverse server that integration tests run beside threadbridge.
//!
//! It behaves like a Mastodon instance on `http://127.0.0.1:PORT`:
//!
//! - it serves actors (`GET /users/{name}`) with their RSA public keys;
//! - it accepts deliveries on personal inboxes (`POST /users/{name}/inbox`) and on the shared
//!   inbox (`POST /inbox`), verifies each one's draft-cavage HTTP signature, records it, and
//!   answers as the test scripted (202 when verified and nothing was scripted, 401 otherwise);
//! - it sends signed activities to threadbridge as one of its actors, and can spoil a request on
//!   purpose (another actor's key, a wrong digest, no signature...);
//! - it can also sign the RFC 9421 way, as Fedify and WordPress do ([`Rfc9421`]), with its RSA
//!   key or an Ed25519 key published as a FEP-521a `Multikey` ([`Peer::add_ed25519_key`]).
//!
//! Its signature code is written independently of threadbridge's: it uses the `rsa` crate where
//! threadbridge uses aws-lc-rs, so each side checks the other (Ed25519 signing uses aws-lc-rs,
//! but the RFC 9421 signature base, the multibase and the digests are built here).

#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair as _};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE, RETRY_AFTER};
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};
use url::Url;

const ACTIVITY_JSON: &str = "application/activity+json";
const AS_CONTEXT: &str = "https://www.w3.org/ns/activitystreams";
const SECURITY_CONTEXT: &str = "https://w3id.org/security/v1";
const MULTIKEY_CONTEXT: &str = "https://w3id.org/security/multikey/v1";
/// The headers a Mastodon server signs on a POST, in its order.
const OUTGOING_SIGNED_HEADERS: [&str; 5] = ["(request-target)", "host", "date", "digest", "content-type"];
/// The headers an incoming signature must cover.
const REQUIRED_SIGNED_HEADERS: [&str; 4] = ["(request-target)", "host", "date", "digest"];
/// How far a request's Date may be from now, either way.
const MAX_CLOCK_SKEW_SECS: i64 = 3600;

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

/// How an actor of the peer looks.
#[derive(Debug, Clone)]
pub struct ActorOpts {
    /// Advertise `endpoints.sharedInbox` (`{base}/inbox`).
    pub shared_inbox: bool,
    /// The actor's `alsoKnownAs` (left out when empty).
    pub also_known_as: Vec<String>,
    /// An `inbox` elsewhere than the peer's own `{actor}/inbox` (an unsafe address, say).
    pub inbox: Option<String>,
    /// Publish the key apart, as GoToSocial does: keyId `{actor}/main-key`, a document there
    /// that names its owner only in `publicKey.owner`.
    pub key_apart: bool,
}

impl Default for ActorOpts {
    fn default() -> Self {
        ActorOpts { shared_inbox: true, also_known_as: Vec::new(), inbox: None, key_apart: false }
    }
}

impl ActorOpts {
    /// An actor reached only at its own inbox (no shared inbox).
    pub fn personal_inbox_only() -> Self {
        ActorOpts { shared_inbox: false, ..ActorOpts::default() }
    }
}

/// One POST that reached one of the peer's inboxes.
#[derive(Debug, Clone)]
pub struct Received {
    /// The path it was posted to, without the query: `/inbox` or `/users/{name}/inbox`.
    pub path: String,
    /// The body as JSON (a JSON string holding the raw body when it was not JSON).
    pub activity: Value,
    /// The `keyId` of its signature, empty when there was none to read.
    pub key_id: String,
    /// Whether its signature held, or why not.
    pub verified: Result<(), String>,
    /// The status code the peer answered.
    pub answered: u16,
    /// When it arrived.
    pub at: Instant,
}

impl Received {
    /// The activity's `type`, or "?" when it has none.
    pub fn kind(&self) -> &str {
        self.activity.get("type").and_then(Value::as_str).unwrap_or("?")
    }

    /// The activity's `id`, or "" when it has none.
    pub fn id(&self) -> &str {
        self.activity.get("id").and_then(Value::as_str).unwrap_or_default()
    }

    /// The `type` of the activity's object (when embedded), or "?".
    pub fn object_kind(&self) -> &str {
        self.activity.pointer("/object/type").and_then(Value::as_str).unwrap_or("?")
    }

    /// The id of the activity's object, embedded or not, or "".
    pub fn object_id(&self) -> &str {
        let object = self.activity.get("object");
        object.and_then(|o| o.get("id")).or(object).and_then(Value::as_str).unwrap_or_default()
    }

    /// Whether this is a `kind` whose signature held.
    pub fn is_verified(&self, kind: &str) -> bool {
        self.kind() == kind && self.verified.is_ok()
    }

    /// Whether this is a `kind` whose signature held and that the peer accepted (2xx): a
    /// successful delivery.
    pub fn is_delivered(&self, kind: &str) -> bool {
        self.is_verified(kind) && (200..300).contains(&self.answered)
    }
}

/// A scripted answer to one inbox POST.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub retry_after: Option<String>,
    pub delay: Option<Duration>,
}

impl Reply {
    /// Answer with this status code.
    pub fn status(status: u16) -> Self {
        Reply { status, retry_after: None, delay: None }
    }

    /// Add a `Retry-After` header (seconds, or an HTTP date).
    pub fn retry_after(mut self, value: impl Into<String>) -> Self {
        self.retry_after = Some(value.into());
        self
    }

    /// Wait this long before answering.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    async fn into_response(self) -> Response {
        if let Some(delay) = self.delay {
            tokio::time::sleep(delay).await;
        }
        let status = StatusCode::from_u16(self.status).expect("scripted status code");
        match self.retry_after {
            Some(value) => (status, [(RETRY_AFTER, value)]).into_response(),
            None => status.into_response(),
        }
    }
}

/// A running test peer. The server stops when this is dropped.
pub struct Peer {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    state: Arc<PeerState>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

// ---------------------------------------------------------------------------------------------
// The peer's API for tests
// ---------------------------------------------------------------------------------------------

impl Peer {
    /// Binds 127.0.0.1 on a free port and serves in a background task.
    pub async fn start() -> Peer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind test peer");
        let base = format!("http://{}", listener.local_addr().expect("test peer address"));
        let state = Arc::new(PeerState::new(base.clone()));
        let app = router(state.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("test peer server");
        });
        Peer { base, state, server }
    }

    /// Creates an actor with a fresh key pair and returns its id, `{base}/users/{name}`.
    pub fn add_actor(&self, name: &str, opts: ActorOpts) -> String {
        self.add_actors(&[name], opts).remove(0)
    }

    /// Creates several actors that share one fresh key pair (making RSA keys is slow); each
    /// still publishes the key under its own keyId and signs as itself. Returns their ids.
    pub fn add_actors<S: AsRef<str>>(&self, names: &[S], opts: ActorOpts) -> Vec<String> {
        let keypair = activitypub_federation::http_signatures::generate_actor_keypair().expect("generate key pair");
        let private_key = RsaPrivateKey::from_pkcs8_pem(&keypair.private_key).expect("read generated private key");
        let mut actors = self.state.actors();
        for name in names {
            let actor = Actor {
                private_key: private_key.clone(),
                public_pem: keypair.public_key.clone(),
                opts: opts.clone(),
                ed25519: None,
            };
            actors.insert(name.as_ref().to_string(), actor);
        }
        names.iter().map(|name| self.actor_id(name.as_ref())).collect()
    }

    /// Replaces an actor's `alsoKnownAs`.
    pub fn set_also_known_as(&self, name: &str, also_known_as: Vec<String>) {
        let mut actors = self.state.actors();
        let actor = actors.get_mut(name).unwrap_or_else(|| panic!("no actor {name} on the test peer"));
        actor.opts.also_known_as = also_known_as;
    }

    pub fn actor_id(&self, name: &str) -> String {
        format!("{}/users/{name}", self.base)
    }

    pub fn key_id(&self, name: &str) -> String {
        self.state.key_id(name)
    }

    /// The actor's personal inbox URL.
    pub fn inbox(&self, name: &str) -> String {
        format!("{}/inbox", self.actor_id(name))
    }

    pub fn shared_inbox(&self) -> String {
        format!("{}/inbox", self.base)
    }

    /// Serves `document` (a post, a collection) at its `id`, which must be on this peer.
    pub fn serve(&self, document: Value) {
        let id = document["id"].as_str().expect("a document with an id");
        let path = id.strip_prefix(&self.base).expect("a document of this peer").to_string();
        self.serve_at(&path, ACTIVITY_JSON, document);
    }

    /// Serves `document` at `path` of this peer as `media_type`, whatever its `id` says (for
    /// documents that must be refused).
    pub fn serve_at(&self, path: &str, media_type: &'static str, document: Value) {
        self.state.documents.lock().expect("test peer documents").insert(path.to_string(), (media_type, document));
    }

    /// Queues answers for the next POSTs to `path` (e.g. "/inbox"), used in order.
    pub fn script(&self, path: &str, responses: Vec<Reply>) {
        self.state.scripts().entry(path.to_string()).or_default().extend(responses);
    }

    /// Everything received so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        self.state.received().clone()
    }

    /// What was received on one path, oldest first.
    pub fn received_at(&self, path: &str) -> Vec<Received> {
        self.received().into_iter().filter(|r| r.path == path).collect()
    }

    /// Polls every 50 ms until `done` holds for everything received, and returns it; panics
    /// with a list of what did arrive when `timeout` passes first.
    pub async fn wait_for(&self, done: impl Fn(&[Received]) -> bool, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let all = self.received();
            if done(&all) {
                return all;
            }
            if Instant::now() >= deadline {
                panic!("test peer: condition not met within {timeout:?}; received:\n{}", describe(&all));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// POSTs `activity` to `url`, signed by `actor_name` as Mastodon signs.
    pub async fn signed_post(&self, actor_name: &str, url: &str, activity: &Value) -> reqwest::Response {
        self.signed_post_with(actor_name, url, to_body(activity), |_| {}).await
    }

    /// Like `signed_post`, with a raw body, letting `tweak` change the signed headers before
    /// sending (another keyId, a wrong Digest, an old Date...).
    pub async fn signed_post_with(
        &self,
        actor_name: &str,
        url: &str,
        body: Vec<u8>,
        tweak: impl FnOnce(&mut HeaderMap),
    ) -> reqwest::Response {
        let mut headers = self.signed_headers(actor_name, url, &body);
        tweak(&mut headers);
        self.post_raw(url, headers, body).await
    }

    /// The headers of a POST of `body` to `url` signed by `actor_name`: Host, Date, Digest,
    /// Content-Type and Signature. Send them with another body to tamper with it.
    pub fn signed_headers(&self, actor_name: &str, url: &str, body: &[u8]) -> HeaderMap {
        let url = Url::parse(url).expect("valid URL");
        let mut headers = unsigned_headers(body);
        set_header(&mut headers, "host", &host_and_port(&url));
        let target = request_target("POST", &path_and_query(&url));
        let message = signing_string(&target, &headers, &OUTGOING_SIGNED_HEADERS).expect("outgoing headers are set");
        let signature = BASE64.encode(self.state.sign(actor_name, &message));
        let value = format!(
            r#"keyId="{}",algorithm="rsa-sha256",headers="{}",signature="{signature}""#,
            self.key_id(actor_name),
            OUTGOING_SIGNED_HEADERS.join(" "),
        );
        set_header(&mut headers, "signature", &value);
        headers
    }

    /// POSTs `activity` with Content-Type, Date and Digest but no Signature.
    pub async fn unsigned_post(&self, url: &str, activity: &Value) -> reqwest::Response {
        let body = to_body(activity);
        self.post_raw(url, unsigned_headers(&body), body).await
    }

    /// POSTs `body` with exactly these headers.
    pub async fn post_raw(&self, url: &str, headers: HeaderMap, body: Vec<u8>) -> reqwest::Response {
        self.state.client.post(url).headers(headers).body(body).send().await.expect("test peer POST")
    }

    /// A Follow of `target` by `actor_name`, as Mastodon sends it.
    pub fn follow(&self, actor_name: &str, target: &str) -> Value {
        let actor = self.actor_id(actor_name);
        json!({
            "@context": AS_CONTEXT,
            "id": format!("{actor}#follows/{}", uuid::Uuid::new_v4()),
            "type": "Follow",
            "actor": actor,
            "object": target,
        })
    }

    /// An Undo of `object` (typically a Follow built by `follow`) by `actor_name`.
    pub fn undo(&self, actor_name: &str, mut object: Value) -> Value {
        let actor = self.actor_id(actor_name);
        let id = match object.get("id").and_then(Value::as_str) {
            Some(object_id) => format!("{object_id}/undo"),
            None => format!("{actor}#undos/{}", uuid::Uuid::new_v4()),
        };
        if let Some(fields) = object.as_object_mut() {
            fields.remove("@context");
        }
        json!({ "@context": AS_CONTEXT, "id": id, "type": "Undo", "actor": actor, "object": object })
    }

    /// Mastodon's Move of `old_name` to `new_actor_id`.
    pub fn move_to(&self, old_name: &str, new_actor_id: &str) -> Value {
        let old = self.actor_id(old_name);
        json!({
            "@context": AS_CONTEXT,
            "id": format!("{old}#moves/1"),
            "type": "Move",
            "actor": old,
            "object": old,
            "target": new_actor_id,
        })
    }
}

/// The Digest header value for `body`: `SHA-256=<base64>`.
pub fn digest(body: &[u8]) -> String {
    format!("SHA-256={}", BASE64.encode(Sha256::digest(body)))
}

/// A date in the RFC 7231 form HTTP uses: `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn http_date(at: DateTime<Utc>) -> String {
    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

fn to_body(activity: &Value) -> Vec<u8> {
    serde_json::to_vec(activity).expect("serialize activity")
}

fn describe(all: &[Received]) -> String {
    if all.is_empty() {
        return "  (nothing)".to_string();
    }
    let lines: Vec<String> = all
        .iter()
        .map(|r| {
            let (kind, id, path, answered) = (r.kind(), r.id(), &r.path, r.answered);
            format!("  {kind} {id} on {path}, answered {answered} (keyId {:?}, verified {:?})", r.key_id, r.verified)
        })
        .collect();
    lines.join("\n")
}

// ---------------------------------------------------------------------------------------------
// Other ways of signing: RFC 9421, draft-cavage over chosen headers, Ed25519 keys
// ---------------------------------------------------------------------------------------------

/// Which of an actor's keys signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerKey {
    /// The RSA key of `publicKey` (keyId `#main-key`).
    Rsa,
    /// The Ed25519 key of `assertionMethod` (keyId `#ed25519-key`, see `add_ed25519_key`).
    Ed25519,
}

/// How the peer signs a request the RFC 9421 way (`Signature-Input` and `Signature`).
/// [`Rfc9421::fedify`] and [`Rfc9421::wordpress`] are what those send; the builder methods
/// change one thing at a time.
#[derive(Debug, Clone)]
pub struct Rfc9421 {
    pub label: String,
    /// The covered components, in order.
    pub components: Vec<String>,
    /// `created`, seconds since the epoch (the Date header is sent with the same time).
    pub created: i64,
    /// The `alg` parameter; None leaves it out (the key's type then decides).
    pub alg: Option<String>,
    pub key: PeerKey,
    /// The parameters' order, by name, among "alg", "keyid" and "created".
    pub param_order: Vec<&'static str>,
    /// The Content-Digest sent (and signed, when covered); None: the SHA-256 of the body.
    pub content_digest: Option<String>,
}

impl Rfc9421 {
    /// Fedify's: label `sig1`, `@method @target-uri @authority host date content-digest`,
    /// `alg="rsa-v1_5-sha256";keyid=...;created=...`.
    pub fn fedify() -> Self {
        Rfc9421 {
            label: "sig1".into(),
            components: ["@method", "@target-uri", "@authority", "host", "date", "content-digest"]
                .map(String::from)
                .to_vec(),
            created: Utc::now().timestamp(),
            alg: Some("rsa-v1_5-sha256".into()),
            key: PeerKey::Rsa,
            param_order: vec!["alg", "keyid", "created"],
            content_digest: None,
        }
    }

    /// The WordPress ActivityPub plugin's: label `wp`, `@method @target-uri @authority
    /// content-digest`, `created=...;keyid=...;alg="rsa-v1_5-sha256"`.
    pub fn wordpress() -> Self {
        Rfc9421 {
            label: "wp".into(),
            components: ["@method", "@target-uri", "@authority", "content-digest"].map(String::from).to_vec(),
            param_order: vec!["created", "keyid", "alg"],
            ..Rfc9421::fedify()
        }
    }

    /// Fedify's shape, signed with the actor's Ed25519 key (`alg="ed25519"`).
    pub fn ed25519() -> Self {
        Rfc9421 { alg: Some("ed25519".into()), key: PeerKey::Ed25519, ..Rfc9421::fedify() }
    }

    pub fn components(mut self, components: &[&str]) -> Self {
        self.components = components.iter().map(|c| c.to_string()).collect();
        self
    }

    pub fn created_at(mut self, at: DateTime<Utc>) -> Self {
        self.created = at.timestamp();
        self
    }

    pub fn alg(mut self, alg: Option<&str>) -> Self {
        self.alg = alg.map(str::to_string);
        self
    }

    pub fn content_digest(mut self, value: &str) -> Self {
        self.content_digest = Some(value.to_string());
        self
    }

    pub fn label(mut self, label: &str) -> Self {
        self.label = label.to_string();
        self
    }
}

impl Peer {
    /// Gives an actor an Ed25519 key besides its RSA one, published as Fedify does: a
    /// `Multikey` in `assertionMethod`. Returns its keyId, `{actor}#ed25519-key`.
    pub fn add_ed25519_key(&self, name: &str) -> String {
        let pair = Ed25519KeyPair::generate().expect("generate an Ed25519 key");
        let mut actors = self.state.actors();
        let actor = actors.get_mut(name).unwrap_or_else(|| panic!("no actor {name} on the test peer"));
        actor.ed25519 = Some(pair);
        self.ed25519_key_id(name)
    }

    pub fn ed25519_key_id(&self, name: &str) -> String {
        format!("{}#ed25519-key", self.actor_id(name))
    }

    /// Replaces an actor's RSA key pair (a rotated key); its keyId stays the same.
    pub fn rotate_key(&self, name: &str) {
        let keypair = activitypub_federation::http_signatures::generate_actor_keypair().expect("generate key pair");
        let private_key = RsaPrivateKey::from_pkcs8_pem(&keypair.private_key).expect("read generated private key");
        let mut actors = self.state.actors();
        let actor = actors.get_mut(name).unwrap_or_else(|| panic!("no actor {name} on the test peer"));
        actor.private_key = private_key;
        actor.public_pem = keypair.public_key;
    }

    /// The headers of a POST of `body` to `url` signed by `actor_name` the RFC 9421 way, as
    /// `how` says: Host, Date, Content-Type, Content-Digest, Signature-Input and Signature.
    pub fn rfc9421_headers(&self, actor_name: &str, url: &str, body: &[u8], how: &Rfc9421) -> HeaderMap {
        let url = Url::parse(url).expect("valid URL");
        let created = DateTime::from_timestamp(how.created, 0).expect("a valid created time");
        let mut headers = HeaderMap::new();
        set_header(&mut headers, "host", &host_and_port(&url));
        set_header(&mut headers, "date", &http_date(created));
        set_header(&mut headers, "content-type", ACTIVITY_JSON);
        set_header(&mut headers, "content-digest", how.content_digest.as_deref().unwrap_or(&content_digest(body)));
        let key_id = match how.key {
            PeerKey::Rsa => self.key_id(actor_name),
            PeerKey::Ed25519 => self.ed25519_key_id(actor_name),
        };
        let mut params = String::new();
        for name in &how.param_order {
            match *name {
                "alg" => {
                    if let Some(alg) = &how.alg {
                        params.push_str(&format!(";alg=\"{alg}\""));
                    }
                }
                "keyid" => params.push_str(&format!(";keyid=\"{key_id}\"")),
                "created" => params.push_str(&format!(";created={}", how.created)),
                other => panic!("unknown RFC 9421 parameter {other}"),
            }
        }
        let covered = how.components.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(" ");
        let inner_list = format!("({covered}){params}");
        let base = rfc9421_signature_base(&url, &headers, &how.components, &inner_list);
        let signature = match how.key {
            PeerKey::Rsa => self.state.sign(actor_name, &base),
            PeerKey::Ed25519 => self.state.sign_ed25519(actor_name, &base),
        };
        set_header(&mut headers, "signature-input", &format!("{}={inner_list}", how.label));
        set_header(&mut headers, "signature", &format!("{}=:{}:", how.label, BASE64.encode(signature)));
        headers
    }

    /// POSTs `activity` to `url`, signed by `actor_name` the RFC 9421 way.
    pub async fn rfc9421_post(
        &self,
        actor_name: &str,
        url: &str,
        activity: &Value,
        how: &Rfc9421,
    ) -> reqwest::Response {
        let body = to_body(activity);
        let headers = self.rfc9421_headers(actor_name, url, &body, how);
        self.post_raw(url, headers, body).await
    }

    /// The headers of a draft-cavage signed POST of `body` to `url` covering exactly `covered`
    /// (`(request-target)` and header names); Host, Date, Digest, Content-Digest and
    /// Content-Type are all sent. An Ed25519 key signs with `algorithm="hs2019"`.
    pub fn cavage_headers(
        &self,
        actor_name: &str,
        url: &str,
        body: &[u8],
        covered: &[&str],
        key: PeerKey,
    ) -> HeaderMap {
        let url = Url::parse(url).expect("valid URL");
        let mut headers = unsigned_headers(body);
        set_header(&mut headers, "host", &host_and_port(&url));
        set_header(&mut headers, "content-digest", &content_digest(body));
        let target = request_target("POST", &path_and_query(&url));
        let message = signing_string(&target, &headers, covered).expect("covered headers are set");
        let (key_id, algorithm, signature) = match key {
            PeerKey::Rsa => (self.key_id(actor_name), "rsa-sha256", self.state.sign(actor_name, &message)),
            PeerKey::Ed25519 => {
                (self.ed25519_key_id(actor_name), "hs2019", self.state.sign_ed25519(actor_name, &message))
            }
        };
        let value = format!(
            r#"keyId="{key_id}",algorithm="{algorithm}",headers="{}",signature="{}""#,
            covered.join(" "),
            BASE64.encode(signature)
        );
        set_header(&mut headers, "signature", &value);
        headers
    }
}

/// The Content-Digest header value for `body` (RFC 9530): `sha-256=:<base64>:`.
pub fn content_digest(body: &[u8]) -> String {
    format!("sha-256=:{}:", BASE64.encode(Sha256::digest(body)))
}

/// The RFC 9421 signature base of a POST to `url`: a `"component": value` line per covered
/// component, then `"@signature-params": <inner list>`.
fn rfc9421_signature_base(url: &Url, headers: &HeaderMap, components: &[String], inner_list: &str) -> String {
    let mut lines: Vec<String> = components
        .iter()
        .map(|component| {
            let value = match component.as_str() {
                "@method" => "POST".to_string(),
                "@target-uri" => url.as_str().to_string(),
                "@authority" => host_and_port(url).to_ascii_lowercase(),
                "@scheme" => url.scheme().to_string(),
                "@path" => url.path().to_string(),
                "@query" => format!("?{}", url.query().unwrap_or_default()),
                "@request-target" => path_and_query(url),
                derived if derived.starts_with('@') => derived.to_string(),
                header => header_values(headers, header).expect("covered header is set"),
            };
            format!("\"{component}\": {value}")
        })
        .collect();
    lines.push(format!("\"@signature-params\": {inner_list}"));
    lines.join("\n")
}

/// Base58 with the Bitcoin alphabet, as multibase `z` uses it.
fn base58btc(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    // The number in base 58, most significant digit first.
    let mut digits: Vec<u32> = Vec::new();
    for &byte in bytes {
        let mut carry = u32::from(byte);
        for digit in digits.iter_mut().rev() {
            let value = *digit * 256 + carry;
            *digit = value % 58;
            carry = value / 58;
        }
        while carry > 0 {
            digits.insert(0, carry % 58);
            carry /= 58;
        }
    }
    let leading_zeros = bytes.iter().take_while(|&&b| b == 0).count();
    let mut text = "1".repeat(leading_zeros);
    text.extend(digits.iter().map(|&d| char::from(ALPHABET[d as usize])));
    text
}

// ---------------------------------------------------------------------------------------------
// Shared state
// ---------------------------------------------------------------------------------------------

struct Actor {
    private_key: RsaPrivateKey,
    public_pem: String,
    opts: ActorOpts,
    /// A second key, published as a Multikey in `assertionMethod`.
    ed25519: Option<Ed25519KeyPair>,
}

struct PeerState {
    base: String,
    client: reqwest::Client,
    actors: Mutex<HashMap<String, Actor>>,
    received: Mutex<Vec<Received>>,
    scripts: Mutex<HashMap<String, VecDeque<Reply>>>,
    /// Public key PEMs fetched so far, by keyId.
    keys: Mutex<HashMap<String, String>>,
    /// Other documents served (posts, collections), by path, with their media type.
    documents: Mutex<HashMap<String, (&'static str, Value)>>,
}

impl PeerState {
    fn new(base: String) -> Self {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("HTTP client");
        PeerState {
            base,
            client,
            actors: Mutex::default(),
            received: Mutex::default(),
            scripts: Mutex::default(),
            keys: Mutex::default(),
            documents: Mutex::default(),
        }
    }

    fn actors(&self) -> MutexGuard<'_, HashMap<String, Actor>> {
        self.actors.lock().expect("test peer actors")
    }

    fn received(&self) -> MutexGuard<'_, Vec<Received>> {
        self.received.lock().expect("test peer received")
    }

    fn scripts(&self) -> MutexGuard<'_, HashMap<String, VecDeque<Reply>>> {
        self.scripts.lock().expect("test peer scripts")
    }

    fn keys(&self) -> MutexGuard<'_, HashMap<String, String>> {
        self.keys.lock().expect("test peer keys")
    }

    fn next_reply(&self, path: &str) -> Option<Reply> {
        self.scripts().get_mut(path).and_then(VecDeque::pop_front)
    }

    /// RSASSA-PKCS1-v1_5 SHA-256 signature of `message` by `actor_name`.
    fn sign(&self, actor_name: &str, message: &str) -> Vec<u8> {
        let actors = self.actors();
        let actor = actors.get(actor_name).unwrap_or_else(|| panic!("no actor {actor_name} on the test peer"));
        let key = SigningKey::<Sha256>::new(actor.private_key.clone());
        key.sign(message.as_bytes()).to_vec()
    }

    /// Ed25519 signature of `message` by `actor_name`'s second key.
    fn sign_ed25519(&self, actor_name: &str, message: &str) -> Vec<u8> {
        let actors = self.actors();
        let actor = actors.get(actor_name).unwrap_or_else(|| panic!("no actor {actor_name} on the test peer"));
        let pair = actor.ed25519.as_ref().unwrap_or_else(|| panic!("{actor_name} has no Ed25519 key"));
        pair.sign(message.as_bytes()).as_ref().to_vec()
    }

    fn key_id(&self, name: &str) -> String {
        let apart = self.actors().get(name).is_some_and(|a| a.opts.key_apart);
        let actor = format!("{}/users/{name}", self.base);
        if apart {
            format!("{actor}/main-key")
        } else {
            format!("{actor}#main-key")
        }
    }

    /// GoToSocial's key document: the actor's id, type and key, without inboxes.
    fn key_document(&self, name: &str) -> Option<Value> {
        let public_pem = self.actors().get(name).filter(|a| a.opts.key_apart)?.public_pem.clone();
        let id = format!("{}/users/{name}", self.base);
        Some(json!({
            "@context": [AS_CONTEXT, SECURITY_CONTEXT],
            "id": id,
            "type": "Person",
            "preferredUsername": name,
            "publicKey": { "id": self.key_id(name), "owner": id, "publicKeyPem": public_pem },
        }))
    }

    fn actor_document(&self, name: &str) -> Option<Value> {
        let key_id = self.key_id(name);
        let actors = self.actors();
        let actor = actors.get(name)?;
        let id = format!("{}/users/{name}", self.base);
        let mut document = json!({
            "@context": [AS_CONTEXT, SECURITY_CONTEXT],
            "id": id,
            "type": "Person",
            "preferredUsername": name,
            "name": name,
            "inbox": actor.opts.inbox.clone().unwrap_or_else(|| format!("{id}/inbox")),
            "outbox": format!("{id}/outbox"),
            "followers": format!("{id}/followers"),
            "publicKey": {
                "id": key_id,
                "owner": id,
                "publicKeyPem": actor.public_pem,
            },
        });
        if actor.opts.shared_inbox {
            document["endpoints"] = json!({ "sharedInbox": format!("{}/inbox", self.base) });
        }
        if !actor.opts.also_known_as.is_empty() {
            document["alsoKnownAs"] = json!(actor.opts.also_known_as);
        }
        if let Some(pair) = &actor.ed25519 {
            let mut prefixed = vec![0xed, 0x01];
            prefixed.extend_from_slice(pair.public_key().as_ref());
            document["@context"] = json!([AS_CONTEXT, SECURITY_CONTEXT, MULTIKEY_CONTEXT]);
            document["assertionMethod"] = json!([{
                "id": format!("{id}#ed25519-key"),
                "type": "Multikey",
                "controller": id,
                "publicKeyMultibase": format!("z{}", base58btc(&prefixed)),
            }]);
        }
        Some(document)
    }

    /// The PEM of the key `key_id` names, fetched once and then cached.
    async fn public_key(&self, key_id: &str) -> Result<String, String> {
        if let Some(pem) = self.keys().get(key_id) {
            return Ok(pem.clone());
        }
        let pem = fetch_public_key(&self.client, key_id).await?;
        self.keys().insert(key_id.to_string(), pem.clone());
        Ok(pem)
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP handlers
// ---------------------------------------------------------------------------------------------

fn router(state: Arc<PeerState>) -> Router {
    Router::new()
        .route("/users/{name}", get(get_actor))
        .route("/users/{name}/main-key", get(get_key))
        .route("/users/{name}/inbox", post(post_inbox))
        .route("/inbox", post(post_inbox))
        .fallback(get_document)
        .with_state(state)
}

async fn get_actor(State(state): State<Arc<PeerState>>, Path(name): Path<String>) -> Response {
    match state.actor_document(&name) {
        Some(document) => ([(CONTENT_TYPE, ACTIVITY_JSON)], document.to_string()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn get_document(State(state): State<Arc<PeerState>>, uri: Uri) -> Response {
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let document = state.documents.lock().expect("test peer documents").get(path).cloned();
    match document {
        Some((media_type, document)) => ([(CONTENT_TYPE, media_type)], document.to_string()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn get_key(State(state): State<Arc<PeerState>>, Path(name): Path<String>) -> Response {
    match state.key_document(&name) {
        Some(document) => ([(CONTENT_TYPE, ACTIVITY_JSON)], document.to_string()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// An inbox POST as it arrived.
struct Incoming {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
}

async fn post_inbox(
    State(state): State<Arc<PeerState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let at = Instant::now();
    let incoming = Incoming { method, uri, headers, body };
    let (key_id, verified) = check_signature(&state, &incoming).await;
    let path = incoming.uri.path().to_string();
    let reply = state.next_reply(&path);
    let answered = match (&reply, &verified) {
        (Some(reply), _) => reply.status,
        (None, Ok(())) => StatusCode::ACCEPTED.as_u16(),
        (None, Err(_)) => StatusCode::UNAUTHORIZED.as_u16(),
    };
    let refusal = verified.clone().err().unwrap_or_default();
    let activity = body_json(&incoming.body);
    state.received().push(Received { path, activity, key_id, verified, answered, at });
    match reply {
        Some(reply) => reply.into_response().await,
        None if answered == StatusCode::ACCEPTED.as_u16() => StatusCode::ACCEPTED.into_response(),
        None => (StatusCode::UNAUTHORIZED, refusal).into_response(),
    }
}

fn body_json(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

// ---------------------------------------------------------------------------------------------
// Verifying incoming signatures (draft-cavage-http-signatures-12)
// ---------------------------------------------------------------------------------------------

/// The parameters of a `Signature` header.
struct SignatureParams {
    key_id: String,
    algorithm: Option<String>,
    headers: Vec<String>,
    signature: Vec<u8>,
}

/// The signature's keyId (empty when unreadable) and whether the signature holds.
async fn check_signature(state: &PeerState, incoming: &Incoming) -> (String, Result<(), String>) {
    match parse_signature_header(&incoming.headers) {
        Ok(params) => {
            let verified = verify(state, incoming, &params).await;
            (params.key_id, verified)
        }
        Err(reason) => (String::new(), Err(reason)),
    }
}

async fn verify(state: &PeerState, incoming: &Incoming, params: &SignatureParams) -> Result<(), String> {
    check_algorithm(params.algorithm.as_deref())?;
    check_covered_headers(&params.headers)?;
    check_digest(&incoming.headers, &incoming.body)?;
    check_date(&incoming.headers)?;
    let target = request_target(incoming.method.as_str(), &incoming_path_and_query(&incoming.uri));
    let message = signing_string(&target, &incoming.headers, &params.headers)?;
    let pem = state.public_key(&params.key_id).await?;
    verify_rsa_sha256(&pem, &message, &params.signature)
}

fn parse_signature_header(headers: &HeaderMap) -> Result<SignatureParams, String> {
    let value = header_str(headers, "signature")?;
    let mut params = parse_params(value);
    let key_id = params.remove("keyid").ok_or("Signature has no keyId")?;
    let signature = params.remove("signature").ok_or("Signature has no signature")?;
    let signature = BASE64.decode(signature).map_err(|e| format!("signature is not base64: {e}"))?;
    let headers = params.remove("headers").ok_or("Signature has no headers")?;
    let headers = headers.split_whitespace().map(str::to_ascii_lowercase).collect();
    Ok(SignatureParams { key_id, algorithm: params.remove("algorithm"), headers, signature })
}

/// `a="1",b="2"` into {a: 1, b: 2}, with the names lowercased.
fn parse_params(value: &str) -> HashMap<String, String> {
    let mut params = HashMap::new();
    let mut rest = value.trim();
    while let Some((name, after)) = rest.split_once('=') {
        let (value, remaining) = match after.strip_prefix('"') {
            Some(quoted) => quoted.split_once('"').unwrap_or((quoted, "")),
            None => after.split_once(',').unwrap_or((after, "")),
        };
        params.insert(name.trim().to_ascii_lowercase(), value.to_string());
        rest = remaining.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
    }
    params
}

fn check_algorithm(algorithm: Option<&str>) -> Result<(), String> {
    match algorithm {
        None | Some("rsa-sha256" | "hs2019") => Ok(()),
        Some(other) => Err(format!("unsupported signature algorithm {other:?}")),
    }
}

fn check_covered_headers(covered: &[String]) -> Result<(), String> {
    let missing: Vec<&str> =
        REQUIRED_SIGNED_HEADERS.into_iter().filter(|name| !covered.iter().any(|c| c == name)).collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("signature does not cover {}", missing.join(", ")))
    }
}

fn check_digest(headers: &HeaderMap, body: &[u8]) -> Result<(), String> {
    let value = header_str(headers, "digest")?;
    let claimed = value
        .split(',')
        .filter_map(|entry| entry.trim().split_once('='))
        .find(|(algorithm, _)| algorithm.eq_ignore_ascii_case("sha-256"))
        .map(|(_, hash)| hash)
        .ok_or_else(|| format!("Digest has no SHA-256: {value:?}"))?;
    let actual = BASE64.encode(Sha256::digest(body));
    if claimed == actual {
        Ok(())
    } else {
        Err(format!("Digest mismatch: header says {claimed}, body hashes to {actual}"))
    }
}

fn check_date(headers: &HeaderMap) -> Result<(), String> {
    let value = header_str(headers, "date")?;
    let date = DateTime::parse_from_rfc2822(value).map_err(|e| format!("unreadable Date {value:?}: {e}"))?;
    let skew = (Utc::now() - date.with_timezone(&Utc)).num_seconds().abs();
    if skew <= MAX_CLOCK_SKEW_SECS {
        Ok(())
    } else {
        Err(format!("Date {value:?} is {skew} s away from now"))
    }
}

async fn fetch_public_key(client: &reqwest::Client, key_id: &str) -> Result<String, String> {
    let url = key_id.split_once('#').map_or(key_id, |(document, _)| document);
    let response =
        client.get(url).header(ACCEPT, ACTIVITY_JSON).send().await.map_err(|e| format!("fetching key {url}: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("fetching key {url}: HTTP {}", response.status()));
    }
    let document: Value = response.json().await.map_err(|e| format!("key document {url} is not JSON: {e}"))?;
    public_key_pem(&document).ok_or_else(|| format!("no publicKeyPem in {url}"))
}

/// `publicKey.publicKeyPem` of an actor, or `publicKeyPem` of a key document.
fn public_key_pem(document: &Value) -> Option<String> {
    document
        .pointer("/publicKey/publicKeyPem")
        .or_else(|| document.get("publicKeyPem"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn verify_rsa_sha256(pem: &str, message: &str, signature: &[u8]) -> Result<(), String> {
    let key = RsaPublicKey::from_public_key_pem(pem)
        .or_else(|_| RsaPublicKey::from_pkcs1_pem(pem))
        .map_err(|e| format!("unreadable public key PEM: {e}"))?;
    let signature = Signature::try_from(signature).map_err(|e| format!("malformed signature: {e}"))?;
    VerifyingKey::<Sha256>::new(key)
        .verify(message.as_bytes(), &signature)
        .map_err(|_| "signature does not match the key".to_string())
}

// ---------------------------------------------------------------------------------------------
// Signing strings and headers, shared by both directions
// ---------------------------------------------------------------------------------------------

/// The `(request-target)` value: lowercased method, space, path and query.
fn request_target(method: &str, path_and_query: &str) -> String {
    format!("{} {path_and_query}", method.to_ascii_lowercase())
}

/// The string a signature covers: one `name: value` line per covered header.
fn signing_string<S: AsRef<str>>(target: &str, headers: &HeaderMap, covered: &[S]) -> Result<String, String> {
    let lines = covered
        .iter()
        .map(|name| {
            let name = name.as_ref();
            let value = match name {
                "(request-target)" => target.to_string(),
                pseudo if pseudo.starts_with('(') => return Err(format!("unsupported pseudo-header {pseudo}")),
                header => header_values(headers, header)?,
            };
            Ok(format!("{name}: {value}"))
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(lines.join("\n"))
}

/// All values of a header, trimmed and joined with ", ".
fn header_values(headers: &HeaderMap, name: &str) -> Result<String, String> {
    let values = headers
        .get_all(name)
        .iter()
        .map(|value| value.to_str().map(str::trim).map_err(|_| format!("header {name} is not text")))
        .collect::<Result<Vec<_>, String>>()?;
    if values.is_empty() {
        return Err(format!("signed header {name} is missing"));
    }
    Ok(values.join(", "))
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Result<&'a str, String> {
    let value = headers.get(name).ok_or_else(|| format!("no {name} header"))?;
    value.to_str().map_err(|_| format!("header {name} is not text"))
}

fn set_header(headers: &mut HeaderMap, name: &'static str, value: &str) {
    let value = HeaderValue::from_str(value).expect("valid header value");
    headers.insert(HeaderName::from_static(name), value);
}

/// Date, Digest and Content-Type of an outgoing POST of `body`.
fn unsigned_headers(body: &[u8]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    set_header(&mut headers, "date", &http_date(Utc::now()));
    set_header(&mut headers, "digest", &digest(body));
    set_header(&mut headers, "content-type", ACTIVITY_JSON);
    headers
}

fn host_and_port(url: &Url) -> String {
    let host = url.host_str().expect("URL has a host");
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

fn path_and_query(url: &Url) -> String {
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_string(),
    }
}

fn incoming_path_and_query(uri: &Uri) -> String {
    uri.path_and_query().map_or_else(|| uri.path().to_string(), |pq| pq.as_str().to_string())
}
