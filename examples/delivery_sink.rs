//! A loopback sink of fediverse followers for `bench/delivery.sh`: many servers, many distinct
//! inboxes, and every delivery's HTTP signature checked.
//!
//! ```sh
//! cargo run --release --example delivery_sink -- --target http://127.0.0.1:18090 \
//!     --base-port 19100 --ports 50 --followers 2000
//! ```
//!
//! - It listens on `--ports` consecutive ports of 127.0.0.1 from `--base-port` (each one "a
//!   server"). Follower `f{i}` lives on port `base + i % ports`: `GET /users/f{i}` is its actor
//!   document, with its own inbox `/users/f{i}/inbox` and no `sharedInbox`, so every follower
//!   is a distinct delivery. The followers share a few RSA key pairs (`--keys`); each has its
//!   own key id.
//! - `POST /users/f{i}/inbox` checks the request with threadbridge's own
//!   `signatures::check_request` + `verify` (Date window, Digest of the body, required headers
//!   signed), with the sender's key fetched once per key id and kept, and checks that the key
//!   belongs to the activity's `actor`. Verified deliveries are counted per (activity id, inbox)
//!   and answered 202; a repeated pair counts as a duplicate; a failure is answered 401.
//! - Control, on the first port only:
//!   - `POST /control/follow?concurrency=N`: every follower sends a signed `Follow` of the
//!     target's site actor to its inbox, N at a time; answers when all were answered.
//!   - `GET /control/stats`: counts, as JSON.
//!   - `GET /control/wait?type=Create&object=URL&count=N&timeout=S`: waits (at most S s) until
//!     N distinct inboxes have verified deliveries of activities of that type (and object id),
//!     and answers their counts and the epoch times (ns) of the first and the latest new one.
//!
//! Everything stays on loopback: the target must be an http://127.x or localhost URL.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context as _};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use clap::Parser;
use futures::StreamExt as _;
use serde::Deserialize;
use serde_json::{json, Value};
use threadbridge::federation::signatures::{self, SigningKey};
use tokio::sync::OnceCell;
use url::Url;

const ACTIVITY_JSON: &str = "application/activity+json";

#[derive(Parser, Debug, Clone)]
#[command(about = "Loopback fediverse followers that verify every delivery (bench/delivery.sh)")]
struct Args {
    /// threadbridge's public URL (loopback only).
    #[arg(long)]
    target: Url,
    /// The actor to follow; `{target}/users/site` by default.
    #[arg(long)]
    follow: Option<Url>,
    /// First port; the control endpoints are served there.
    #[arg(long, default_value_t = 19100)]
    base_port: u16,
    /// How many ports ("servers") to serve.
    #[arg(long, default_value_t = 50)]
    ports: u16,
    /// How many followers, spread over the ports.
    #[arg(long, default_value_t = 2000)]
    followers: u32,
    /// How many RSA key pairs the followers share.
    #[arg(long, default_value_t = 4)]
    keys: usize,
    /// Tokio worker threads (the sink shares the cores with threadbridge: keep it small).
    #[arg(long, default_value_t = 1)]
    workers: usize,
}

struct Keypair {
    private_pem: String,
    public_pem: String,
}

/// One activity as the sink saw it.
#[derive(Default)]
struct ActivityStats {
    kind: String,
    object: String,
    /// Follower indexes with a verified delivery.
    inboxes: HashSet<u32>,
    duplicates: u64,
    failed: u64,
    first_ns: u128,
    /// When the latest new inbox was reached.
    last_new_ns: u128,
    /// When each new inbox was reached (epoch ns), in arrival order.
    times: Vec<u128>,
}

#[derive(Default)]
struct Counts {
    activities: HashMap<String, ActivityStats>,
    /// Failures whose body named no activity.
    failed_unparsed: u64,
    /// A few failure reasons, for the report.
    errors: Vec<String>,
}

/// A sender's public key PEM and the actor that owns it, or why it could not be had.
type SenderKey = Result<(String, String), String>;

struct Sink {
    args: Args,
    keypairs: Vec<Keypair>,
    client: reqwest::Client,
    /// Senders' public keys by key id: fetched once (concurrent misses wait for one fetch).
    sender_keys: Mutex<HashMap<String, Arc<OnceCell<SenderKey>>>>,
    key_fetches: Mutex<u64>,
    counts: Mutex<Counts>,
    started: Instant,
}

fn now_ns() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

impl Sink {
    fn port_of(&self, follower: u32) -> u16 {
        self.args.base_port + (follower % u32::from(self.args.ports)) as u16
    }

    fn actor_id(&self, follower: u32) -> String {
        format!("http://127.0.0.1:{}/users/f{follower}", self.port_of(follower))
    }

    fn keypair(&self, follower: u32) -> &Keypair {
        &self.keypairs[follower as usize % self.keypairs.len()]
    }

    /// The follower index of `f{i}` when it lives on this port.
    fn follower_here(&self, name: &str, port_index: u16) -> Option<u32> {
        let i: u32 = name.strip_prefix('f')?.parse().ok()?;
        (i < self.args.followers && i % u32::from(self.args.ports) == u32::from(port_index)).then_some(i)
    }

    /// The public key PEM published for `key_id`, and the id of the actor that owns it.
    async fn sender_key(&self, key_id: &str, owner_url: &str) -> SenderKey {
        let cell = lock(&self.sender_keys).entry(key_id.to_string()).or_default().clone();
        cell.get_or_init(|| async {
            *lock(&self.key_fetches) += 1;
            self.fetch_key(key_id, owner_url).await
        })
        .await
        .clone()
    }

    async fn fetch_key(&self, key_id: &str, owner_url: &str) -> SenderKey {
        let url = Url::parse(owner_url).map_err(|e| format!("keyId owner is not a URL: {e}"))?;
        if !is_loopback(&url) {
            return Err(format!("refusing to fetch a non-loopback key owner {url}"));
        }
        let doc: Value = self
            .client
            .get(url)
            .header(header::ACCEPT, ACTIVITY_JSON)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| format!("fetching {owner_url}: {e}"))?
            .json()
            .await
            .map_err(|e| format!("reading {owner_url}: {e}"))?;
        let key = doc.get("publicKey").ok_or("the key owner has no publicKey")?;
        if key.get("id").and_then(Value::as_str) != Some(key_id) {
            return Err(format!("{owner_url} does not publish {key_id}"));
        }
        let pem = key.get("publicKeyPem").and_then(Value::as_str).ok_or("no publicKeyPem")?;
        let owner = doc.get("id").and_then(Value::as_str).unwrap_or(owner_url);
        Ok((pem.to_string(), owner.to_string()))
    }

    /// Checks one delivery: its signature holds, and the key is the activity's actor's.
    async fn check(&self, uri: &Uri, headers: &HeaderMap, body: &[u8], activity: Option<&Value>) -> Result<(), String> {
        let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let (params, signed) = signatures::check_request("POST", path, headers, Some(body), chrono::Utc::now())
            .map_err(|e| e.to_string())?;
        let (pem, owner) = self.sender_key(&params.key_id, params.key_owner_url()).await?;
        signatures::verify(&params, &signed, &pem).map_err(|e| e.to_string())?;
        let activity = activity.ok_or("the body is not JSON")?;
        let actor = activity.get("actor").and_then(Value::as_str).unwrap_or_default();
        if actor != owner {
            return Err(format!("signed by {owner}, but the actor is {actor}"));
        }
        Ok(())
    }

    fn record(&self, follower: u32, activity: Option<&Value>, result: &Result<(), String>) {
        let at = now_ns();
        let id = activity.and_then(|a| a.get("id")).and_then(Value::as_str);
        let mut counts = lock(&self.counts);
        if let Err(e) = result {
            if counts.errors.len() < 10 {
                counts.errors.push(format!("f{follower}: {e}"));
            }
        }
        let Some(id) = id else {
            counts.failed_unparsed += 1;
            return;
        };
        let stats = counts.activities.entry(id.to_string()).or_insert_with(|| {
            let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
            let object = activity.and_then(|a| a.get("object"));
            ActivityStats {
                kind: text(activity.and_then(|a| a.get("type"))),
                object: match object {
                    Some(Value::Object(o)) => text(o.get("id")),
                    other => text(other),
                },
                ..ActivityStats::default()
            }
        });
        match result {
            Ok(()) => {
                if stats.inboxes.insert(follower) {
                    if stats.first_ns == 0 {
                        stats.first_ns = at;
                    }
                    stats.last_new_ns = at;
                    stats.times.push(at);
                } else {
                    stats.duplicates += 1;
                }
            }
            Err(_) => stats.failed += 1,
        }
    }

    /// Sums the activities of a type (and object id, when given).
    fn summary(&self, kind: Option<&str>, object: Option<&str>) -> Value {
        let counts = lock(&self.counts);
        let (mut n, mut verified, mut duplicates, mut failed, mut first, mut last) = (0, 0, 0, 0, u128::MAX, 0);
        let mut times = vec![];
        for stats in counts.activities.values() {
            if kind.is_some_and(|k| k != stats.kind) || object.is_some_and(|o| o != stats.object) {
                continue;
            }
            n += 1;
            verified += stats.inboxes.len();
            duplicates += stats.duplicates;
            failed += stats.failed;
            if !stats.inboxes.is_empty() {
                first = first.min(stats.first_ns);
                last = last.max(stats.last_new_ns);
            }
            times.extend_from_slice(&stats.times);
        }
        // Stalls: gaps between consecutive deliveries. The longest, and the time lost in gaps
        // over 5 ms (nothing arrived for that long).
        times.sort_unstable();
        let gaps = times.windows(2).map(|w| w[1] - w[0]);
        let (mut max_gap, mut stalled) = (0u128, 0u128);
        for gap in gaps {
            max_gap = max_gap.max(gap);
            if gap > 5_000_000 {
                stalled += gap;
            }
        }
        json!({
            "activities": n,
            "verified": verified,
            "duplicates": duplicates,
            "failed": failed,
            "first_ns": if first == u128::MAX { 0 } else { first }.to_string(),
            "last_ns": last.to_string(),
            "max_gap_ms": max_gap as f64 / 1e6,
            "gaps_over_5ms_ms": stalled as f64 / 1e6,
        })
    }
}

// ------------------------------------------------------------------------------------ routes

type AppState = State<(Arc<Sink>, u16)>;

fn router(sink: Arc<Sink>, port_index: u16) -> Router {
    let mut app = Router::new().route("/users/{name}", get(actor)).route("/users/{name}/inbox", post(inbox));
    if port_index == 0 {
        app = app
            .route("/control/stats", get(stats))
            .route("/control/wait", get(wait))
            .route("/control/follow", post(follow_all));
    }
    app.with_state((sink, port_index))
}

async fn actor(State((sink, port)): AppState, Path(name): Path<String>) -> Response {
    let Some(i) = sink.follower_here(&name, port) else { return StatusCode::NOT_FOUND.into_response() };
    let id = sink.actor_id(i);
    let doc = json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": id,
        "type": "Person",
        "preferredUsername": format!("f{i}"),
        "name": format!("Follower {i}"),
        "inbox": format!("{id}/inbox"),
        "outbox": format!("{id}/outbox"),
        "followers": format!("{id}/followers"),
        "following": format!("{id}/following"),
        "publicKey": { "id": format!("{id}#main-key"), "owner": id, "publicKeyPem": sink.keypair(i).public_pem },
    });
    ([(header::CONTENT_TYPE, ACTIVITY_JSON)], doc.to_string()).into_response()
}

async fn inbox(
    State((sink, port)): AppState,
    Path(name): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(i) = sink.follower_here(&name, port) else { return StatusCode::NOT_FOUND.into_response() };
    let activity: Option<Value> = serde_json::from_slice(&body).ok();
    let result = sink.check(&uri, &headers, &body, activity.as_ref()).await;
    sink.record(i, activity.as_ref(), &result);
    match result {
        Ok(()) => StatusCode::ACCEPTED.into_response(),
        Err(e) => (StatusCode::UNAUTHORIZED, e).into_response(),
    }
}

async fn stats(State((sink, _)): AppState) -> Json<Value> {
    let mut by_kind: HashMap<String, Value> = HashMap::new();
    let kinds: HashSet<String> = lock(&sink.counts).activities.values().map(|s| s.kind.clone()).collect();
    for kind in kinds {
        let summary = sink.summary(Some(&kind), None);
        by_kind.insert(kind, summary);
    }
    let counts = lock(&sink.counts);
    Json(json!({
        "uptime_s": sink.started.elapsed().as_secs_f64(),
        "followers": sink.args.followers,
        "ports": sink.args.ports,
        "key_fetches": *lock(&sink.key_fetches),
        "by_type": by_kind,
        "failed_unparsed": counts.failed_unparsed,
        "errors": counts.errors,
    }))
}

#[derive(Deserialize)]
struct WaitQuery {
    r#type: Option<String>,
    object: Option<String>,
    count: usize,
    timeout: Option<f64>,
}

async fn wait(State((sink, _)): AppState, Query(q): Query<WaitQuery>) -> Json<Value> {
    let deadline = Instant::now() + Duration::from_secs_f64(q.timeout.unwrap_or(60.0).clamp(0.0, 600.0));
    loop {
        let mut summary = sink.summary(q.r#type.as_deref(), q.object.as_deref());
        let reached = summary["verified"].as_u64().unwrap_or(0) >= q.count as u64;
        if reached || Instant::now() >= deadline {
            summary["reached"] = json!(reached);
            return Json(summary);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[derive(Deserialize)]
struct FollowQuery {
    concurrency: Option<usize>,
}

/// Every follower follows the target actor: a signed Follow POSTed to the actor's inbox.
async fn follow_all(State((sink, _)): AppState, Query(q): Query<FollowQuery>) -> Response {
    match follow_all_inner(&sink, q.concurrency.unwrap_or(16).clamp(1, 256)).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => (StatusCode::BAD_GATEWAY, format!("{e:#}")).into_response(),
    }
}

async fn follow_all_inner(sink: &Arc<Sink>, concurrency: usize) -> anyhow::Result<Value> {
    let target = sink.args.follow.clone().unwrap_or(sink.args.target.join("users/site")?);
    let doc: Value = sink
        .client
        .get(target.clone())
        .header(header::ACCEPT, ACTIVITY_JSON)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let followed = doc.get("id").and_then(Value::as_str).context("the followed actor has no id")?.to_string();
    let inbox = Url::parse(doc.get("inbox").and_then(Value::as_str).context("the followed actor has no inbox")?)?;
    if !is_loopback(&inbox) {
        bail!("refusing a non-loopback inbox {inbox}");
    }
    let started = Instant::now();
    let results: Vec<Result<u16, String>> = futures::stream::iter(0..sink.args.followers)
        .map(|i| {
            let (sink, inbox, followed) = (sink.clone(), inbox.clone(), followed.clone());
            async move { send_follow(&sink, i, &inbox, &followed).await }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let mut statuses: HashMap<String, u64> = HashMap::new();
    let mut errors = vec![];
    for r in results {
        match r {
            Ok(status) => *statuses.entry(status.to_string()).or_default() += 1,
            Err(e) => {
                *statuses.entry("error".into()).or_default() += 1;
                if errors.len() < 10 {
                    errors.push(e);
                }
            }
        }
    }
    Ok(json!({
        "followed": followed,
        "inbox": inbox.as_str(),
        "sent": sink.args.followers,
        "statuses": statuses,
        "errors": errors,
        "seconds": started.elapsed().as_secs_f64(),
    }))
}

async fn send_follow(sink: &Sink, i: u32, inbox: &Url, followed: &str) -> Result<u16, String> {
    let actor = sink.actor_id(i);
    let body = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{actor}/follows/{}", uuid::Uuid::new_v4()),
        "type": "Follow",
        "actor": actor,
        "object": followed,
    })
    .to_string();
    // Signed as `sign_post` signs: (request-target) host date digest content-type.
    let key =
        SigningKey::from_pem(format!("{actor}#main-key"), &sink.keypair(i).private_pem).map_err(|e| e.to_string())?;
    let digest = signatures::digest_header(body.as_bytes());
    let date = signatures::http_date(chrono::Utc::now());
    let host = signatures::host_header(inbox);
    let target = format!("post {}", inbox.path());
    let signature = key
        .signature_header(&[
            ("(request-target)", &target),
            ("host", &host),
            ("date", &date),
            ("digest", &digest),
            ("content-type", ACTIVITY_JSON),
        ])
        .map_err(|e| e.to_string())?;
    let response = sink
        .client
        .post(inbox.clone())
        .header(header::CONTENT_TYPE, ACTIVITY_JSON)
        .header(header::DATE, date)
        .header("Digest", digest)
        .header("Signature", signature)
        .body(body)
        .send()
        .await
        .map_err(|e| format!("f{i}: {e}"))?;
    let status = response.status().as_u16();
    if !response.status().is_success() {
        let text = response.text().await.unwrap_or_default();
        return Err(format!("f{i}: HTTP {status}: {}", text.chars().take(200).collect::<String>()));
    }
    Ok(status)
}

// ------------------------------------------------------------------------------------ main

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !is_loopback(&args.target) || args.follow.as_ref().is_some_and(|f| !is_loopback(f)) {
        bail!("the target must be a loopback URL");
    }
    if args.ports == 0 || args.followers == 0 || args.keys == 0 {
        bail!("--ports, --followers and --keys must be at least 1");
    }
    args.base_port.checked_add(args.ports - 1).context("--base-port + --ports is past 65535")?;
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(args.workers.max(1)).enable_all().build()?;
    runtime.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let started = Instant::now();
    let keypairs = (0..args.keys)
        .map(|_| {
            let pair = activitypub_federation::http_signatures::generate_actor_keypair()?;
            Ok(Keypair { private_pem: pair.private_key, public_pem: pair.public_key })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()?;
    let sink = Arc::new(Sink {
        args: args.clone(),
        keypairs,
        client,
        sender_keys: Mutex::new(HashMap::new()),
        key_fetches: Mutex::new(0),
        counts: Mutex::new(Counts::default()),
        started,
    });
    let mut servers = tokio::task::JoinSet::new();
    for index in 0..args.ports {
        let addr = SocketAddr::from(([127, 0, 0, 1], args.base_port + index));
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
        let app = router(sink.clone(), index);
        servers.spawn(async move { axum::serve(listener, app).await });
    }
    eprintln!(
        "delivery_sink: {} followers on 127.0.0.1:{}-{} ({} keys made in {:.1} s); control on port {}",
        args.followers,
        args.base_port,
        args.base_port + args.ports - 1,
        args.keys,
        started.elapsed().as_secs_f64(),
        args.base_port
    );
    if let Some(done) = servers.join_next().await {
        done??;
    }
    Ok(())
}
