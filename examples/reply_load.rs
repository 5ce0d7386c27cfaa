//! A loopback load generator of federated replies for `bench/replies.sh`: signed `Create`s of
//! Notes answering one of threadbridge's articles, POSTed to its shared inbox, with the
//! signatures made before the clock starts.
//!
//! ```sh
//! cargo run --release --example reply_load -- --target http://127.0.0.1:18095 --token benchtoken \
//!     --actor-port 19095 --requests 4000 --concurrency 16 --rounds 3
//! ```
//!
//! 1. It serves its actors (`GET /users/r{j}`: a Person with its RSA public key and inbox) on
//!    127.0.0.1:`--actor-port`, so threadbridge can fetch each key once and keep it.
//! 2. It creates the articles through the admin API: per round, `--articles` measured ones
//!    (`replies-{nonce}-r{round}-a{k}`), and one `replies-{nonce}-warmup` article; the nonce
//!    (the start time) keeps the keys and the Note ids of each run new. With `--reply-to
//!    comment`, each measured article gets a site comment `c1`, and the replies answer it.
//! 3. It signs every request of every round before any timing, on all cores: distinct Note ids
//!    and contents, so distinct digests and signatures (the inbox refuses a signature it has seen).
//!    Each request is kept as the exact bytes to write: `POST /inbox HTTP/1.1` with `Host`,
//!    `Date`, `Digest`, `Content-Type` and a draft-cavage rsa-sha256 `Signature` over
//!    `(request-target) host date digest content-type`, as Mastodon signs.
//! 4. Per round: opens `--concurrency` keep-alive connections, warms up (one reply per actor on
//!    the first connection, one at a time, so each key is fetched once; then one on every other
//!    connection), all to the warm-up article; then fires the round's requests over those
//!    connections, each connection one request at a time, and times from the start to the last
//!    answer. A reply counts as accepted when answered 202.
//! 5. Verifies each round through `GET /api/admin/articles/{key}/thread`: the federated replies
//!    stored must be exactly the Notes sent.
//!
//! One JSON line per round goes to stdout, and a last line with the totals; progress to stderr.
//! With `--server-pid`, each round also reports the CPU time of threadbridge, of this process, of
//! PostgreSQL (`--postgres-db`: its own processes and the backends of that database, not those
//! of other databases on the server) and of the whole machine, from /proc.
//! Everything stays on loopback: the target must be an http://127.x or localhost URL.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use clap::Parser;
use serde_json::{json, Value};
use threadbridge::federation::signatures::{self, SigningKey};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use url::Url;

const ACTIVITY_JSON: &str = "application/activity+json";
const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

#[derive(Parser, Debug, Clone)]
#[command(about = "Signed federated replies to threadbridge's inbox, pre-signed (bench/replies.sh)")]
struct Args {
    /// threadbridge's public URL (loopback only); requests go to `{target}/inbox`.
    #[arg(long)]
    target: Url,
    /// The admin API's bearer token.
    #[arg(long)]
    token: String,
    /// Port of this process's actors on 127.0.0.1.
    #[arg(long, default_value_t = 19095)]
    actor_port: u16,
    /// Replies per round.
    #[arg(long, default_value_t = 4000)]
    requests: usize,
    /// Connections, each with one request in flight.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Timed rounds, each on its own articles.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Articles per round; the replies go to them in turn.
    #[arg(long, default_value_t = 1)]
    articles: usize,
    /// What the replies answer: `article` (the article itself) or `comment` (a site comment on
    /// it, made through the admin API first: replies to replies, the usual case in a thread).
    #[arg(long, default_value = "article", value_parser = ["article", "comment"])]
    reply_to: String,
    /// Remote actors sending the replies, in turn (each has its own key id).
    #[arg(long, default_value_t = 1)]
    actors: usize,
    /// RSA key pairs the actors share.
    #[arg(long, default_value_t = 2)]
    keys: usize,
    /// Length of each reply's HTML content, in bytes (about).
    #[arg(long, default_value_t = 300)]
    content_bytes: usize,
    /// Tokio worker threads of this process.
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Before each round, wait up to this many seconds for the machine to be under 15% busy.
    #[arg(long, default_value_t = 30)]
    wait_idle: u64,
    /// threadbridge's process id, for its CPU time per round.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Also count the CPU time of PostgreSQL: the server's own processes (WAL writer,
    /// checkpointer, ...) and the backends connected to this database (not other databases').
    #[arg(long)]
    postgres_db: Option<String>,
    /// Clock ticks per second of /proc (`getconf CLK_TCK`).
    #[arg(long, default_value_t = 100)]
    clk_tck: u64,
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

// ------------------------------------------------------------------------------ the actors

struct Actors {
    base: String,
    public_pems: Vec<String>,
    count: usize,
    fetches: AtomicU64,
}

impl Actors {
    fn id(&self, j: usize) -> String {
        format!("{}/users/r{j}", self.base)
    }
}

async fn actor_doc(State(actors): State<Arc<Actors>>, Path(name): Path<String>) -> Response {
    let Some(j) = name.strip_prefix('r').and_then(|n| n.parse::<usize>().ok()).filter(|j| *j < actors.count) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    actors.fetches.fetch_add(1, Ordering::Relaxed);
    let id = actors.id(j);
    let doc = json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": id,
        "type": "Person",
        "preferredUsername": format!("r{j}"),
        "name": format!("Reader {j}"),
        "inbox": format!("{id}/inbox"),
        "outbox": format!("{id}/outbox"),
        "followers": format!("{id}/followers"),
        "endpoints": { "sharedInbox": format!("{}/inbox", actors.base) },
        "publicKey": {
            "id": format!("{id}#main-key"),
            "owner": id,
            "publicKeyPem": actors.public_pems[j % actors.public_pems.len()],
        },
    });
    ([(header::CONTENT_TYPE, ACTIVITY_JSON)], doc.to_string()).into_response()
}

// ------------------------------------------------------------------------------ requests

/// One reply, ready to write.
struct Prepared {
    note_id: String,
    bytes: Vec<u8>,
}

struct Plan {
    host: String,
    inbox_path: String,
    site_mention: String,
    content_bytes: usize,
}

/// The reply's HTML, about `content_bytes` long, distinct per `tag`.
fn content(plan: &Plan, tag: &str) -> String {
    let mut text = format!(
        "<p><span class=\"h-card\"><a href=\"{}\" class=\"u-url mention\">@<span>site</span></a></span> \
         Reply {tag}: the council's vote was close, and the tram line will change how the east side gets to work.",
        plan.site_mention
    );
    const FILLER: [&str; 8] = ["Will", "the", "night", "buses", "stay", "on", "Sundays", "too?"];
    let mut i = 0;
    while text.len() + 4 < plan.content_bytes {
        text.push(' ');
        text.push_str(FILLER[i % FILLER.len()]);
        i += 1;
    }
    text.push_str("</p>");
    text
}

/// Signs one Create of a Note by actor `j`, answering `in_reply_to`.
fn prepare(plan: &Plan, actors: &Actors, keys: &[SigningKey], j: usize, status: &str, in_reply_to: &str) -> Prepared {
    let actor = actors.id(j);
    let note_id = format!("{actor}/statuses/{status}");
    let now = chrono::Utc::now();
    let published = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let body = json!({
        "@context": ["https://www.w3.org/ns/activitystreams", { "sensitive": "as:sensitive" }],
        "id": format!("{note_id}/activity"),
        "type": "Create",
        "actor": actor,
        "published": published,
        "to": [PUBLIC],
        "cc": [format!("{actor}/followers"), plan.site_mention],
        "object": {
            "id": note_id,
            "type": "Note",
            "summary": null,
            "inReplyTo": in_reply_to,
            "published": published,
            "url": format!("{}/@r{j}/{status}", actors.base),
            "attributedTo": actor,
            "to": [PUBLIC],
            "cc": [format!("{actor}/followers"), plan.site_mention],
            "sensitive": false,
            "content": content(plan, status),
            "tag": [{ "type": "Mention", "href": plan.site_mention, "name": "@site" }],
        },
    })
    .to_string();
    let digest = signatures::digest_header(body.as_bytes());
    let date = signatures::http_date(now);
    let target = format!("post {}", plan.inbox_path);
    let signature = keys[j]
        .signature_header(&[
            ("(request-target)", &target),
            ("host", &plan.host),
            ("date", &date),
            ("digest", &digest),
            ("content-type", ACTIVITY_JSON),
        ])
        .expect("signing works");
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: reply_load\r\nAccept: */*\r\nContent-Type: {ACTIVITY_JSON}\r\n\
         Date: {date}\r\nDigest: {digest}\r\nSignature: {signature}\r\nContent-Length: {}\r\n\r\n",
        plan.inbox_path,
        plan.host,
        body.len()
    );
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body.as_bytes());
    Prepared { note_id, bytes }
}

// ------------------------------------------------------------------------------ a tiny HTTP/1.1 client

/// One keep-alive connection; reads each answer's status and skips its body.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    async fn open(addr: SocketAddr) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn { stream, buf: Vec::with_capacity(4096) })
    }

    /// Writes the request and reads the answer: its status, and its body (as text, when not 2xx).
    async fn send(&mut self, request: &[u8]) -> anyhow::Result<(u16, String)> {
        self.stream.write_all(request).await?;
        self.buf.clear();
        let mut chunk = [0u8; 4096];
        let head_end = loop {
            if let Some(p) = find(&self.buf, b"\r\n\r\n") {
                break p + 4;
            }
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                bail!("the connection closed before an answer");
            }
            self.buf.extend_from_slice(&chunk[..n]);
        };
        let head = std::str::from_utf8(&self.buf[..head_end]).context("the answer's head is not text")?;
        let status: u16 = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("no status in {head:?}"))?;
        let mut length = None;
        for line in head.split("\r\n").skip(1) {
            if let Some((name, value)) = line.split_once(':') {
                let name = name.trim().to_ascii_lowercase();
                if name == "content-length" {
                    length = value.trim().parse::<usize>().ok();
                } else if name == "transfer-encoding" {
                    bail!("chunked answers are not supported here (status {status})");
                }
            }
        }
        let length = length.with_context(|| format!("no Content-Length (status {status})"))?;
        while self.buf.len() < head_end + length {
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                bail!("the connection closed inside an answer");
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
        let body = if (200..300).contains(&status) {
            String::new()
        } else {
            String::from_utf8_lossy(&self.buf[head_end..head_end + length]).chars().take(300).collect()
        };
        Ok((status, body))
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

// ------------------------------------------------------------------------------ /proc

/// utime + stime of a process, in clock ticks.
fn proc_ticks(pid: &str) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return 0 };
    let Some((_, rest)) = stat.rsplit_once(") ") else { return 0 };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let get = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    get(11) + get(12)
}

/// A `VmRSS:`-style field of /proc/PID/status, in kB.
fn proc_status_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// CPU ticks of the PostgreSQL processes that serve `database`: those that serve no client
/// (WAL writer, checkpointer, ...) and the backends connected to it. A backend's process title
/// is `postgres: CLUSTER: USER DATABASE HOST(PORT) STATE`.
fn postgres_ticks(database: &str) -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else { return 0 };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|name| name.bytes().all(|b| b.is_ascii_digit()))
        .filter(|pid| std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "postgres"))
        .filter(|pid| {
            let title = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let title = String::from_utf8_lossy(&title).replace('\0', " ");
            let rest = title.splitn(3, ": ").nth(2).unwrap_or_default();
            let client = rest.contains('(') || rest.contains("[local]");
            !client || rest.split_whitespace().nth(1) == Some(database)
        })
        .map(|pid| proc_ticks(&pid))
        .sum()
}

/// (busy, total) ticks of all cores.
fn machine_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let first = stat.lines().next().unwrap_or_default();
    let v: Vec<u64> = first.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    let get = |i: usize| v.get(i).copied().unwrap_or(0);
    // user nice system idle iowait irq softirq steal
    let busy = get(0) + get(1) + get(2) + get(5) + get(6) + get(7);
    (busy, busy + get(3) + get(4))
}

#[derive(Clone, Copy, Default)]
struct Ticks {
    server: u64,
    me: u64,
    postgres: u64,
    busy: u64,
    total: u64,
}

fn ticks(args: &Args) -> Ticks {
    let (busy, total) = machine_ticks();
    Ticks {
        server: args.server_pid.map(|p| proc_ticks(&p.to_string())).unwrap_or(0),
        me: proc_ticks("self"),
        postgres: args.postgres_db.as_deref().map(postgres_ticks).unwrap_or(0),
        busy,
        total,
    }
}

async fn wait_idle(seconds: u64) -> Option<u64> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        let (b0, t0) = machine_ticks();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (b1, t1) = machine_ticks();
        let pct = (b1 - b0) * 100 / (t1 - t0).max(1);
        if pct <= 15 {
            return None;
        }
        if Instant::now() >= deadline {
            return Some(pct);
        }
    }
}

// ------------------------------------------------------------------------------ admin API

async fn admin(
    client: &reqwest::Client,
    args: &Args,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> anyhow::Result<Value> {
    let url = args.target.join(path)?;
    let mut request = client.request(method.clone(), url).bearer_auth(&args.token);
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.with_context(|| format!("{method} {path}"))?;
    let status = response.status();
    let text = response.text().await?;
    if !status.is_success() {
        bail!("{method} {path}: {status}: {}", text.chars().take(300).collect::<String>());
    }
    Ok(serde_json::from_str(&text)?)
}

async fn put_article(client: &reqwest::Client, args: &Args, key: &str) -> anyhow::Result<String> {
    let body = json!({
        "title": format!("Reply benchmark {key}: the council approves the new tram line"),
        "url": format!("https://news.example/2026/11/{key}"),
        "content": "<p>The city council voted on Tuesday to approve the long-debated tram line.</p>\
                    <p>Construction starts in spring; the line should open in three years.</p>",
        "summary": "The council approves the tram line.",
        "author": { "username": "news desk", "name": "News Desk" },
        "tags": ["city", "transport"],
        "published": "2026-11-27T09:00:00+03:00",
        "language": "en",
    });
    let article = admin(client, args, reqwest::Method::PUT, &format!("/api/admin/articles/{key}"), Some(&body)).await?;
    article.get("ap_id").and_then(Value::as_str).map(str::to_string).context("the article has no ap_id")
}

/// The ids of the federated replies stored in an article's thread.
async fn stored_replies(client: &reqwest::Client, args: &Args, key: &str) -> anyhow::Result<Vec<String>> {
    let thread = admin(client, args, reqwest::Method::GET, &format!("/api/admin/articles/{key}/thread"), None).await?;
    let comments = thread.get("comments").and_then(Value::as_array).context("the thread has no comments list")?;
    Ok(comments
        .iter()
        .filter(|c| c.get("origin").and_then(Value::as_str) == Some("remote"))
        .filter_map(|c| c.get("ap_id").and_then(Value::as_str).map(str::to_string))
        .collect())
}

// ------------------------------------------------------------------------------ a round

struct Outcome {
    statuses: BTreeMap<u16, u64>,
    errors: Vec<String>,
    latencies_us: Vec<u32>,
    last_done: Option<Instant>,
}

/// Sends `requests[..]` over the connections, each connection taking the next request when it
/// has its answer. Returns when all were answered (or failed).
async fn fire(conns: Vec<Conn>, requests: Arc<Vec<Prepared>>, addr: SocketAddr) -> (Instant, Vec<Outcome>) {
    let next = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(tokio::sync::Barrier::new(conns.len() + 1));
    let mut tasks = tokio::task::JoinSet::new();
    for conn in conns {
        let (next, requests, barrier) = (next.clone(), requests.clone(), barrier.clone());
        tasks.spawn(async move {
            let mut out =
                Outcome { statuses: BTreeMap::new(), errors: vec![], latencies_us: Vec::new(), last_done: None };
            barrier.wait().await;
            let mut conn = Some(conn);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(request) = requests.get(i) else { break };
                let started = Instant::now();
                let c = match conn.take() {
                    Some(c) => c,
                    None => match Conn::open(addr).await {
                        Ok(c) => c,
                        Err(e) => {
                            *out.statuses.entry(0).or_default() += 1;
                            out.errors.push(format!("connect: {e}"));
                            continue;
                        }
                    },
                };
                conn = Some(c);
                let result = conn.as_mut().expect("a connection").send(&request.bytes).await;
                let done = Instant::now();
                out.last_done = Some(done);
                match result {
                    Ok((status, body)) => {
                        *out.statuses.entry(status).or_default() += 1;
                        out.latencies_us.push(done.duration_since(started).as_micros().min(u32::MAX as u128) as u32);
                        if status != 202 && out.errors.len() < 5 {
                            out.errors.push(format!("{status}: {body}"));
                        }
                    }
                    Err(e) => {
                        // The answer is unknown; a fresh connection for the next request.
                        *out.statuses.entry(0).or_default() += 1;
                        if out.errors.len() < 5 {
                            out.errors.push(format!("{e:#}"));
                        }
                        conn = None;
                    }
                }
            }
            out
        });
    }
    let t0 = Instant::now();
    barrier.wait().await;
    let mut outcomes = vec![];
    while let Some(done) = tasks.join_next().await {
        if let Ok(out) = done {
            outcomes.push(out);
        }
    }
    (t0, outcomes)
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    f64::from(sorted[rank.min(sorted.len()) - 1]) / 1000.0
}

// ------------------------------------------------------------------------------ main

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !is_loopback(&args.target) || args.target.scheme() != "http" {
        bail!("the target must be an http:// loopback URL");
    }
    if args.requests == 0 || args.concurrency == 0 || args.rounds == 0 || args.articles == 0 || args.actors == 0 {
        bail!("--requests, --concurrency, --rounds, --articles and --actors must be at least 1");
    }
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(args.workers.max(1)).enable_all().build()?;
    runtime.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let started = Instant::now();
    let keys = args.keys.clamp(1, args.actors);
    let pairs = (0..keys)
        .map(|_| activitypub_federation::http_signatures::generate_actor_keypair())
        .collect::<Result<Vec<_>, _>>()?;
    let actors = Arc::new(Actors {
        base: format!("http://127.0.0.1:{}", args.actor_port),
        public_pems: pairs.iter().map(|p| p.public_key.clone()).collect(),
        count: args.actors,
        fetches: AtomicU64::new(0),
    });
    // One signing key per actor, with its own key id, over the pair it publishes.
    let signing_keys = (0..args.actors)
        .map(|j| SigningKey::from_pem(format!("{}#main-key", actors.id(j)), &pairs[j % pairs.len()].private_key))
        .collect::<Result<Vec<_>, _>>()?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.actor_port))
        .await
        .with_context(|| format!("binding 127.0.0.1:{}", args.actor_port))?;
    let app = Router::new().route("/users/{name}", get(actor_doc)).with_state(actors.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let client = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(120)).build()?;
    let addr: SocketAddr = {
        let host = args.target.host_str().context("no host")?.trim_matches(['[', ']']);
        let ip: std::net::IpAddr = if host == "localhost" { [127, 0, 0, 1].into() } else { host.parse()? };
        SocketAddr::new(ip, args.target.port_or_known_default().unwrap_or(80))
    };
    let plan = Plan {
        host: signatures::host_header(&args.target),
        inbox_path: args.target.join("/inbox")?.path().to_string(),
        site_mention: args.target.join("/users/site")?.to_string(),
        content_bytes: args.content_bytes,
    };

    // Articles: per round, the measured ones; one for the warm-ups. Keys and Note ids carry this
    // run's nonce, so a second run against the same database sends new replies to new threads.
    let nonce = format!("{:x}", chrono::Utc::now().timestamp_millis());
    let warmup_ap_id = put_article(&client, &args, &format!("replies-{nonce}-warmup")).await?;
    let mut round_articles: Vec<Vec<(String, String)>> = vec![];
    for round in 1..=args.rounds {
        let mut list = vec![];
        for k in 1..=args.articles {
            let key = format!("replies-{nonce}-r{round}-a{k}");
            let mut ap_id = put_article(&client, &args, &key).await?;
            if args.reply_to == "comment" {
                let body = json!({ "author": { "username": "Maria Petrova" }, "content": "<p>The first comment.</p>" });
                let path = format!("/api/admin/articles/{key}/comments/c1");
                let comment = admin(&client, &args, reqwest::Method::PUT, &path, Some(&body)).await?;
                ap_id = comment.get("ap_id").and_then(Value::as_str).context("the comment has no ap_id")?.to_string();
            }
            list.push((key, ap_id));
        }
        round_articles.push(list);
    }

    // Every request of every round, signed now, on all cores.
    let warmups_per_round = args.concurrency.max(args.actors);
    let sign_started = Instant::now();
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let mut rounds_warm: Vec<Vec<Prepared>> = vec![];
    let mut rounds_main: Vec<Vec<Prepared>> = vec![];
    let prepared = std::thread::scope(|scope| {
        let (plan, actors, signing_keys) = (&plan, &*actors, &signing_keys);
        let mut specs: Vec<(usize, String, String)> = vec![]; // (actor, status, in_reply_to)
        for round in 1..=args.rounds {
            for w in 0..warmups_per_round {
                specs.push((w % args.actors, format!("{nonce}-w{round}-{w}"), warmup_ap_id.clone()));
            }
            for i in 0..args.requests {
                let (_, ap_id) = &round_articles[round - 1][i % args.articles];
                specs.push((i % args.actors, format!("{nonce}-{round}-{i}"), ap_id.clone()));
            }
        }
        let specs = Arc::new(specs);
        let chunk = specs.len().div_ceil(threads);
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let specs = specs.clone();
                scope.spawn(move || {
                    let end = ((t + 1) * chunk).min(specs.len());
                    let start = (t * chunk).min(end);
                    specs[start..end]
                        .iter()
                        .map(|(j, status, reply_to)| prepare(plan, actors, signing_keys, *j, status, reply_to))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("a signing thread")).collect::<Vec<_>>()
    });
    let mut it = prepared.into_iter();
    for _ in 0..args.rounds {
        rounds_warm.push(it.by_ref().take(warmups_per_round).collect());
        rounds_main.push(it.by_ref().take(args.requests).collect());
    }
    let sign_seconds = sign_started.elapsed().as_secs_f64();
    let signed = args.rounds * (args.requests + warmups_per_round);
    eprintln!(
        "reply_load: {signed} requests signed in {sign_seconds:.1} s ({:.0}/s on {threads} threads)",
        signed as f64 / sign_seconds
    );

    let mut totals = (0u64, 0u64);
    for (round, (warm, main)) in rounds_warm.into_iter().zip(rounds_main).enumerate() {
        let round = round + 1;
        // Connections, then the warm-ups: the actors' keys first, one at a time, on the first.
        let mut conns = vec![];
        for _ in 0..args.concurrency {
            conns.push(Conn::open(addr).await.with_context(|| format!("connecting to {addr}"))?);
        }
        let mut warm = warm.into_iter();
        for request in warm.by_ref().take(args.actors) {
            let (status, body) = conns[0].send(&request.bytes).await?;
            if status != 202 {
                bail!("warm-up reply {} answered {status}: {body}", request.note_id);
            }
        }
        let rest: Vec<Prepared> = warm.collect();
        let mut rest = rest.into_iter();
        let mut warmups = vec![];
        for (c, conn) in conns.iter_mut().enumerate().skip(1) {
            if let Some(request) = rest.next() {
                warmups.push(async move {
                    let answer = conn.send(&request.bytes).await;
                    (c, request.note_id, answer)
                });
            }
        }
        for (c, note, answer) in futures::future::join_all(warmups).await {
            match answer {
                Ok((202, _)) => {}
                Ok((status, body)) => bail!("warm-up reply {note} on connection {c} answered {status}: {body}"),
                Err(e) => bail!("warm-up on connection {c}: {e:#}"),
            }
        }
        let busy = if args.wait_idle > 0 { wait_idle(args.wait_idle).await } else { None };
        if let Some(pct) = busy {
            eprintln!("reply_load: WARNING: the machine is still {pct}% busy before round {round}");
        }

        let requests = Arc::new(main);
        let before = ticks(&args);
        let (t0, outcomes) = fire(conns, requests.clone(), addr).await;
        let after = ticks(&args);
        // Before the thread is read back (its rendering is cached): what the replies cost.
        let rss_kb = args.server_pid.map(|p| proc_status_kb(p, "VmRSS:")).unwrap_or(0);
        let t1 = outcomes.iter().filter_map(|o| o.last_done).max().unwrap_or(t0);
        let seconds = t1.duration_since(t0).as_secs_f64();

        let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
        let mut errors = vec![];
        let mut latencies: Vec<u32> = vec![];
        for o in outcomes {
            for (s, n) in o.statuses {
                *statuses.entry(s).or_default() += n;
            }
            errors.extend(o.errors);
            latencies.extend(o.latencies_us);
        }
        latencies.sort_unstable();
        errors.truncate(10);
        let accepted = statuses.get(&202).copied().unwrap_or(0);

        // What the store holds: exactly the Notes sent, once each.
        let sent: HashSet<&str> = requests.iter().map(|r| r.note_id.as_str()).collect();
        let (mut stored, mut unexpected, mut duplicates) = (0usize, 0usize, 0usize);
        let mut seen = HashSet::new();
        for (key, _) in &round_articles[round - 1] {
            for id in stored_replies(&client, &args, key).await? {
                if !sent.contains(id.as_str()) {
                    unexpected += 1;
                } else if !seen.insert(id) {
                    duplicates += 1;
                } else {
                    stored += 1;
                }
            }
        }
        totals.0 += accepted;
        totals.1 += stored as u64;
        let n = args.requests as f64;
        let us_per = |t: u64| t as f64 / args.clk_tck as f64 * 1e6 / n;
        let machine_us = us_per(after.busy - before.busy);
        let busy_pct = (after.busy - before.busy) as f64 * 100.0 / (after.total - before.total).max(1) as f64;
        let line = json!({
            "round": round,
            "requests": args.requests,
            "concurrency": args.concurrency,
            "articles": args.articles,
            "reply_to": args.reply_to,
            "actors": args.actors,
            "seconds": seconds,
            "accepted": accepted,
            "rate": accepted as f64 / seconds.max(1e-9),
            "statuses": statuses.iter().map(|(s, n)| (s.to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
            "errors": errors,
            "stored": stored,
            "stored_unexpected": unexpected,
            "stored_duplicates": duplicates,
            "latency_ms": {
                "p50": percentile(&latencies, 50.0),
                "p90": percentile(&latencies, 90.0),
                "p99": percentile(&latencies, 99.0),
                "max": percentile(&latencies, 100.0),
            },
            "cpu_us_per_reply": {
                "threadbridge": us_per(after.server - before.server),
                "generator": us_per(after.me - before.me),
                "postgres": us_per(after.postgres - before.postgres),
                "machine": machine_us,
                "other": (machine_us - us_per(after.server - before.server) - us_per(after.me - before.me)
                    - us_per(after.postgres - before.postgres)).max(0.0),
            },
            "machine_busy_pct": busy_pct,
            "server_rss_kb": rss_kb,
            "busy_before_pct": busy,
        });
        println!("{line}");
        eprintln!(
            "reply_load: round {round}: {accepted} of {} accepted in {seconds:.3} s = {:.0}/s; {stored} stored",
            args.requests,
            accepted as f64 / seconds.max(1e-9)
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    println!(
        "{}",
        json!({
            "total": true,
            "accepted": totals.0,
            "stored": totals.1,
            "signed": signed,
            "sign_seconds": sign_seconds,
            "key_fetches": actors.fetches.load(Ordering::Relaxed),
            "actors": args.actors,
            "seconds": started.elapsed().as_secs_f64(),
        })
    );
    Ok(())
}
