//! The site's webhook: every new, edited, deleted or moderated federated reply is POSTed to
//! `THREADBRIDGE_WEBHOOK_URL`, signed with HMAC-SHA256 (checked here with an HMAC written out
//! over `sha2`), retried on the deliveries' schedule (base 1 s here), watched and retried by the
//! admin, and sent again after a crash. The site is a small server in the test that records
//! what it gets and answers as scripted.

use std::collections::VecDeque;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::both_backends;
use crate::helpers::*;
use crate::moderation::send_reply;
use crate::peer::{ActorOpts, Peer};

const WAIT: Duration = Duration::from_secs(15);
const SECRET: &str = "webhook-test-secret";

/// One request the site received.
#[derive(Debug, Clone)]
struct Hook {
    headers: HeaderMap,
    body: Vec<u8>,
    at: Instant,
}

impl Hook {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    fn event(&self) -> &str {
        self.header("x-threadbridge-event")
    }

    /// Checks the signature as a site would: the timestamp is recent and the HMAC matches.
    fn assert_signed(&self, secret: &str) {
        let timestamp: i64 = self.header("x-threadbridge-timestamp").parse().expect("a unix timestamp");
        assert!((chrono::Utc::now().timestamp() - timestamp).abs() < 60, "a fresh timestamp");
        let mut message = format!("{timestamp}.").into_bytes();
        message.extend_from_slice(&self.body);
        let expected: String = hmac_sha256(secret.as_bytes(), &message).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(self.header("x-threadbridge-signature"), format!("sha256={expected}"));
    }
}

/// HMAC-SHA256 (RFC 2104) over `sha2`, apart from the service's aws-lc-rs.
fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut block = [0u8; 64];
    if key.len() > block.len() {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let padded = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new().chain_update(padded(0x36)).chain_update(message).finalize();
    Sha256::new().chain_update(padded(0x5c)).chain_update(inner).finalize().to_vec()
}

#[derive(Default)]
struct SiteState {
    hooks: Mutex<Vec<Hook>>,
    /// Answers for the next requests (status, delay); then 200 at once.
    script: Mutex<VecDeque<(u16, Duration)>>,
}

/// The site's webhook endpoint, on 127.0.0.1 and a free port; stops when dropped.
struct Site {
    url: String,
    state: Arc<SiteState>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Site {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn receive(State(site): State<Arc<SiteState>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    site.hooks.lock().expect("hooks").push(Hook { headers, body: body.to_vec(), at: Instant::now() });
    let (status, delay) = site.script.lock().expect("script").pop_front().unwrap_or((200, Duration::ZERO));
    tokio::time::sleep(delay).await;
    StatusCode::from_u16(status).expect("status")
}

impl Site {
    async fn start() -> Site {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/hooks/threadbridge", listener.local_addr().expect("addr"));
        let state = Arc::new(SiteState::default());
        let app = Router::new().route("/hooks/threadbridge", post(receive)).with_state(state.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("site server");
        });
        Site { url, state, server }
    }

    fn script(&self, answers: &[(u16, Duration)]) {
        self.state.script.lock().expect("script").extend(answers.iter().copied());
    }

    fn hooks(&self) -> Vec<Hook> {
        self.state.hooks.lock().expect("hooks").clone()
    }

    /// Waits until `n` requests arrived, and returns them.
    async fn wait_for(&self, n: usize) -> Vec<Hook> {
        let deadline = Instant::now() + WAIT;
        loop {
            let hooks = self.hooks();
            if hooks.len() >= n {
                return hooks;
            }
            if Instant::now() >= deadline {
                let events: Vec<&str> = hooks.iter().map(Hook::event).collect();
                panic!("the site got {} requests, not {n}, within {WAIT:?}: {events:?}", hooks.len());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The settings of a service that calls this site.
    fn settings(&self) -> [&str; 6] {
        ["--webhook-url", self.url.as_str(), "--webhook-secret", SECRET, "--retry-base-seconds", "1"]
    }
}

/// `GET /api/admin/webhooks?state=...`.
async fn events(app: &TestApp, state: &str) -> Vec<Value> {
    let (status, body) = app.admin_get(&format!("/api/admin/webhooks?state={state}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"].as_array().cloned().unwrap_or_default()
}

/// Polls the admin's list until the event `id` is in `state`, and returns it.
async fn wait_for_state(app: &TestApp, id: i64, state: &str) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let (status, event) = app.admin_get(&format!("/api/admin/webhooks/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{event}");
        if event["state"] == state {
            return event;
        }
        assert!(Instant::now() < deadline, "event {id} is not {state}: {event}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A federated reply is told to the site signed, with the reply as the thread shows it; a 500
/// is retried after the base delay with the same delivery id; the admin sees it done.
async fn events_are_signed_and_retried_until_the_site_takes_them(backend: Backend) {
    let site = Site::start().await;
    site.script(&[(500, Duration::ZERO)]);
    let Some(app) = spawn_app_with(backend, &site.settings()).await else { return };
    let peer = Peer::start().await;
    peer.add_actor("alice", ActorOpts::default());
    let article = app.put_article("treaty", &article_json("Peace treaty talks")).await;
    let reply = send_reply(&app, &peer, "alice", 1, text(&article["ap_id"]), "Good news at last.").await;

    let hooks = site.wait_for(2).await;
    let (first, second) = (&hooks[0], &hooks[1]);
    for hook in [first, second] {
        hook.assert_signed(SECRET);
        assert_eq!(hook.header("content-type"), "application/json");
        assert_eq!(hook.event(), "reply.created");
    }
    assert_eq!(first.header("x-threadbridge-delivery"), second.header("x-threadbridge-delivery"), "the same event");
    assert_eq!(first.body, second.body, "the same payload");
    let waited = second.at - first.at;
    assert!(waited >= Duration::from_millis(900), "retried after the base delay, not {waited:?}");

    let body = second.json();
    assert_eq!(body["event"], "reply.created");
    assert_eq!(body["article"], "treaty");
    assert!(body["at"].is_string());
    let comment = &body["comment"];
    for field in ["id", "ap_id", "parent", "status", "published"] {
        assert_eq!(comment[field], reply[field], "comment.{field}: {body}");
    }
    assert_eq!(
        (&comment["author"]["name"], &comment["author"]["handle"]),
        (&reply["author"]["name"], &reply["author"]["handle"])
    );
    assert!(text(&comment["content"]).contains("Good news at last."), "{body}");

    let id: i64 = first.header("x-threadbridge-delivery").parse().expect("a numeric delivery id");
    let event = wait_for_state(&app, id, "done").await;
    assert_eq!(
        (&event["attempts"], &event["last_status"], &event["event"]),
        (&json!(2), &json!(200), &json!("reply.created"))
    );
    assert_eq!(event["payload"], body);
    assert!(event["next_attempt_at"].is_null());
    assert_eq!(events(&app, "done").await.len(), 1);
    assert!(events(&app, "pending").await.is_empty());
    let (status, error) = app.admin_get("/api/admin/webhooks?state=sent").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error["error"].as_str().is_some_and(|e| e.contains("state")), "{error}");
    let (status, error) = app.admin_get("/api/admin/webhooks/999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(error["error"].is_string());
}

/// A 4xx is not retried: the event fails, the admin sees why and retries it by hand.
async fn a_refused_event_fails_until_an_admin_retries_it(backend: Backend) {
    let site = Site::start().await;
    site.script(&[(400, Duration::ZERO)]);
    let Some(app) = spawn_app_with(backend, &site.settings()).await else { return };
    let peer = Peer::start().await;
    peer.add_actor("alice", ActorOpts::default());
    let article = app.put_article("treaty", &article_json("Peace treaty talks")).await;
    send_reply(&app, &peer, "alice", 1, text(&article["ap_id"]), "Good news at last.").await;

    let hooks = site.wait_for(1).await;
    let id: i64 = hooks[0].header("x-threadbridge-delivery").parse().expect("id");
    let failed = wait_for_state(&app, id, "failed").await;
    assert_eq!((&failed["attempts"], &failed["last_status"]), (&json!(1), &json!(400)), "{failed}");
    assert!(text(&failed["last_error"]).contains("400"), "{failed}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(site.hooks().len(), 1, "not retried");

    let (status, retried) = app.admin_post(&format!("/api/admin/webhooks/{id}/retry")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{retried}");
    let hooks = site.wait_for(2).await;
    hooks[1].assert_signed(SECRET);
    let done = wait_for_state(&app, id, "done").await;
    assert_eq!((&done["attempts"], &done["last_status"]), (&json!(2), &json!(200)), "{done}");
    let (status, error) = app.admin_post("/api/admin/webhooks/999/retry").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(error["error"].is_string());
}

/// Approving, rejecting and removing a held reply are told to the site in order, each with the
/// reply's new status; a decision that changes nothing sends nothing.
async fn moderation_decisions_reach_the_site(backend: Backend) {
    let site = Site::start().await;
    let mut settings = site.settings().to_vec();
    settings.extend(["--reply-policy", "hold"]);
    let Some(app) = spawn_app_with(backend, &settings).await else { return };
    let peer = Peer::start().await;
    peer.add_actor("alice", ActorOpts::default());
    let article = app.put_article("treaty", &article_json("Peace treaty talks")).await;
    let reply = send_reply(&app, &peer, "alice", 1, text(&article["ap_id"]), "Held for a while.").await;
    let key = text(&reply["id"]).to_string();
    site.wait_for(1).await;
    for step in [
        format!("/api/admin/comments/{key}/approve"),
        format!("/api/admin/comments/{key}/approve"),
        format!("/api/admin/comments/{key}/reject"),
    ] {
        let (status, body) = app.admin_post(&step).await;
        assert_eq!(status, StatusCode::OK, "{step}: {body}");
    }
    app.admin_delete(&format!("/api/admin/comments/{key}")).await;
    app.admin_post(&format!("/api/admin/comments/{key}/approve")).await;
    app.admin_delete(&format!("/api/admin/comments/{key}")).await;

    let hooks = site.wait_for(5).await;
    let told: Vec<(String, Value)> =
        hooks.iter().map(|h| (h.event().to_string(), h.json()["comment"]["status"].clone())).collect();
    let expected = [
        ("reply.created", "pending"),
        ("reply.approved", "visible"),
        ("reply.rejected", "rejected"),
        ("reply.approved", "visible"),
        ("reply.removed", "rejected"),
    ];
    assert_eq!(told, expected.map(|(e, s)| (e.to_string(), json!(s))));
    for hook in &hooks {
        hook.assert_signed(SECRET);
        assert_eq!(hook.json()["comment"]["id"], key.as_str());
        assert_eq!(hook.json()["article"], "treaty");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(site.hooks().len(), 5, "nothing more");
}

// ---------------------------------------------------------------------------------------------
// A crash
// ---------------------------------------------------------------------------------------------

const BIN: &str = env!("CARGO_BIN_EXE_threadbridge");

/// The binary serving on a free port, killed (SIGKILL) when dropped.
struct Serve {
    child: Child,
    app: TestApp,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serve {
    /// Starts `threadbridge serve` over `database_url`, calling `site` (claims last 5 s), and
    /// waits until it answers.
    async fn start(database_url: &str, site: &Site) -> Serve {
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        let address = format!("http://127.0.0.1:{port}");
        let logs = || if std::env::var("TEST_LOG").is_ok() { Stdio::inherit() } else { Stdio::null() };
        let child = Command::new(BIN)
            .arg("serve")
            .env("THREADBRIDGE_PUBLIC_URL", &address)
            .env("THREADBRIDGE_LISTEN", format!("127.0.0.1:{port}"))
            .env("DATABASE_URL", database_url)
            .env("THREADBRIDGE_ADMIN_TOKEN", TOKEN)
            .env("THREADBRIDGE_DEV", "1")
            .env("THREADBRIDGE_RETRY_BASE_SECONDS", "1")
            .env("THREADBRIDGE_DELIVERY_LEASE_SECONDS", "5")
            .env("THREADBRIDGE_WEBHOOK_URL", &site.url)
            .env("THREADBRIDGE_WEBHOOK_SECRET", SECRET)
            .env("RUST_LOG", "info")
            .stdout(logs())
            .stderr(logs())
            .spawn()
            .expect("start threadbridge");
        let serve = Serve { child, app: TestApp::running_at(&address, database_url) };
        for _ in 0..200 {
            if serve.app.client.get(serve.app.url("/health")).send().await.is_ok_and(|r| r.status() == StatusCode::OK) {
                return serve;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("threadbridge did not start on {address}");
    }
}

/// An event whose request was in flight when the process was killed is sent again, the same,
/// by the next process once the dead one's claim runs out.
async fn an_event_in_flight_at_a_crash_is_sent_after_restart(backend: Backend) {
    let dir = tempfile::tempdir().expect("temp dir");
    let Some(database_url) = fresh_database(backend, dir.path()).await else { return };
    let site = Site::start().await;
    // The first request hangs, so the process dies while it is in flight.
    site.script(&[(200, Duration::from_secs(60))]);
    let first = Serve::start(&database_url, &site).await;
    let peer = Peer::start().await;
    peer.add_actor("alice", ActorOpts::default());
    let article = first.app.put_article("treaty", &article_json("Peace treaty talks")).await;
    send_reply(&first.app, &peer, "alice", 1, text(&article["ap_id"]), "Survives a crash.").await;
    let in_flight = site.wait_for(1).await.remove(0);
    drop(first);

    let second = Serve::start(&database_url, &site).await;
    let hooks = site.wait_for(2).await;
    let again = &hooks[1];
    again.assert_signed(SECRET);
    assert_eq!(again.header("x-threadbridge-delivery"), in_flight.header("x-threadbridge-delivery"));
    assert_eq!(again.body, in_flight.body);
    let id: i64 = again.header("x-threadbridge-delivery").parse().expect("id");
    let done = wait_for_state(&second.app, id, "done").await;
    assert_eq!(done["event"], "reply.created");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(site.hooks().len(), 2, "sent once more, not twice");
}

both_backends!(
    events_are_signed_and_retried_until_the_site_takes_them,
    a_refused_event_fails_until_an_admin_retries_it,
    moderation_decisions_reach_the_site,
    an_event_in_flight_at_a_crash_is_sent_after_restart,
);
