//! A soak load for `bench/soak.sh`: hours of mixed traffic like a busy site's, at a steady rate,
//! with threadbridge's memory, descriptors and latencies printed every 10 seconds and every
//! accepted item checked back.
//!
//! ```sh
//! cargo run --release --example soak -- --target http://127.0.0.1:18097 --token benchtoken \
//!     --server-pid PID --sink http://127.0.0.1:19200 --minutes 60 --rate 40
//! ```
//!
//! - **What comes in** (signed draft-cavage, as Mastodon signs, from `--actors` remote actors it
//!   serves on 127.0.0.1:`--actor-port`): replies to the article, to other replies and to the
//!   site's comments; edits (`Update`) and deletions of earlier replies; likes and their `Undo`.
//! - **What the site writes:** comments through the admin API, which threadbridge fans out to
//!   the followers `examples/delivery_sink` keeps (`--sink`, its control address).
//! - **What is read:** public GETs of the article and of replies collections.
//!
//! A new article is published every `--article-seconds`, and the traffic moves to it. Requests
//! start at `--rate` per second whatever the answers' speed, at most `--in-flight` at once; one
//! that finds them all busy is counted as skipped (the generator's own limit, reported).
//!
//! Every 10 s one line: threadbridge's RSS and open descriptors, p50/p99 per request kind over
//! those 10 s, 5xx answers, and the check of the current thread through the admin API: an
//! accepted reply missing or not at its latest edit is **lost**, a deleted one still shown is
//! **undeleted**, a Note stored twice is **duplicated**; with the sink, deliveries verified,
//! duplicated and refused. At the end every thread is checked, and every site comment's
//! `Create` must have reached every follower; the last line is a JSON summary. Exits 1 when
//! anything was lost, duplicated or answered 5xx.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
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
use url::Url;

const ACTIVITY_JSON: &str = "application/activity+json";
const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

#[derive(Parser, Debug, Clone)]
#[command(about = "Hours of mixed federated traffic, checked back (bench/soak.sh)")]
struct Args {
    /// threadbridge's public URL (loopback only).
    #[arg(long)]
    target: Url,
    /// The admin API's bearer token.
    #[arg(long)]
    token: String,
    /// Port of this process's actors on 127.0.0.1.
    #[arg(long, default_value_t = 19097)]
    actor_port: u16,
    /// How long to run.
    #[arg(long, default_value_t = 10.0)]
    minutes: f64,
    /// Requests started per second, of all kinds.
    #[arg(long, default_value_t = 40.0)]
    rate: f64,
    /// Requests in flight at most.
    #[arg(long, default_value_t = 64)]
    in_flight: usize,
    /// Remote actors sending replies and likes.
    #[arg(long, default_value_t = 20)]
    actors: usize,
    /// A new article every this many seconds.
    #[arg(long, default_value_t = 120)]
    article_seconds: u64,
    /// threadbridge's process id, for its RSS and descriptors.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Control address of `examples/delivery_sink` (its first port), whose followers follow
    /// the site; without it deliveries are not checked.
    #[arg(long)]
    sink: Option<Url>,
    /// Followers the sink has: each site comment's Create must reach them all.
    #[arg(long, default_value_t = 6)]
    followers: u64,
}

/// A number below `n`, from a splitmix64 sequence (the mix needs no more than that).
fn roll(n: usize) -> usize {
    static STATE: AtomicU64 = AtomicU64::new(0x5eed_2015_0922);
    let mut z = STATE.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    ((z ^ (z >> 31)) % n.max(1) as u64) as usize
}

fn is_loopback(url: &Url) -> bool {
    matches!(url.host_str(), Some("localhost" | "[::1]")) || url.host_str().is_some_and(|h| h.starts_with("127."))
}

// ------------------------------------------------------------------------------ the mix

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Kind {
    Reply,
    Edit,
    Delete,
    Like,
    Unlike,
    SiteComment,
    GetArticle,
    GetReplies,
}

/// Shares of the requests, in percent.
const MIX: [(Kind, u32); 8] = [
    (Kind::Reply, 20),
    (Kind::Edit, 8),
    (Kind::Delete, 4),
    (Kind::Like, 8),
    (Kind::Unlike, 4),
    (Kind::SiteComment, 6),
    (Kind::GetArticle, 20),
    (Kind::GetReplies, 30),
];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Reply => "reply",
            Kind::Edit => "edit",
            Kind::Delete => "delete",
            Kind::Like => "like",
            Kind::Unlike => "unlike",
            Kind::SiteComment => "site-comment",
            Kind::GetArticle => "get-article",
            Kind::GetReplies => "get-replies",
        }
    }

    fn pick(roll: usize) -> Kind {
        let mut left = (roll % 100) as u32;
        for (kind, share) in MIX {
            if left < share {
                return kind;
            }
            left -= share;
        }
        Kind::GetReplies
    }
}

// ------------------------------------------------------------------------------ what was sent

struct Article {
    key: String,
    ap_id: String,
}

/// A reply this process sent and threadbridge accepted.
struct Reply {
    note_id: String,
    in_reply_to: String,
    actor: usize,
    article: usize,
    /// The edit its content carries (0: as created).
    version: u32,
    deleted: bool,
    /// An edit or deletion of it is in flight: it is neither picked again nor checked.
    busy: bool,
}

struct Like {
    activity_id: String,
    actor: usize,
    object: String,
}

#[derive(Default)]
struct World {
    articles: Vec<Article>,
    replies: Vec<Reply>,
    likes: Vec<Like>,
    /// (article, ap id) of the site's comments.
    site_comments: Vec<(usize, String)>,
    next: u64,
}

impl World {
    fn current(&self) -> usize {
        self.articles.len() - 1
    }

    fn fresh(&mut self) -> u64 {
        self.next += 1;
        self.next
    }
}

#[derive(Default)]
struct Tally {
    /// Latencies (µs) per kind since the last report, and over the whole run.
    window: BTreeMap<Kind, Vec<u32>>,
    all: BTreeMap<Kind, Vec<u32>>,
    statuses: BTreeMap<u16, u64>,
    server_errors: u64,
    transport_errors: u64,
    skipped: u64,
    errors: Vec<String>,
}

struct Soak {
    args: Args,
    client: reqwest::Client,
    keys: Vec<SigningKey>,
    actor_base: String,
    world: Mutex<World>,
    tally: Mutex<Tally>,
    started: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Soak {
    fn actor(&self, j: usize) -> String {
        format!("{}/users/r{j}", self.actor_base)
    }

    fn record(&self, kind: Kind, took: Duration, status: Result<u16, String>) {
        let mut tally = lock(&self.tally);
        let us = u32::try_from(took.as_micros()).unwrap_or(u32::MAX);
        tally.window.entry(kind).or_default().push(us);
        tally.all.entry(kind).or_default().push(us);
        match status {
            Ok(code) => {
                *tally.statuses.entry(code).or_default() += 1;
                if code >= 500 {
                    tally.server_errors += 1;
                    if tally.errors.len() < 20 {
                        tally.errors.push(format!("{}: HTTP {code}", kind.name()));
                    }
                }
            }
            Err(e) => {
                tally.transport_errors += 1;
                if tally.errors.len() < 20 {
                    tally.errors.push(format!("{}: {e}", kind.name()));
                }
            }
        }
    }

    /// POSTs a signed activity by actor `j` to the shared inbox; its status.
    async fn post_signed(&self, j: usize, activity: &Value) -> Result<u16, String> {
        let inbox = self.args.target.join("/inbox").map_err(|e| e.to_string())?;
        let body = activity.to_string();
        let digest = signatures::digest_header(body.as_bytes());
        let signed = signatures::sign_post(&self.keys[j], &inbox, &digest, ACTIVITY_JSON, chrono::Utc::now())
            .map_err(|e| e.to_string())?;
        let response = self
            .client
            .post(inbox)
            .header(header::CONTENT_TYPE, ACTIVITY_JSON)
            .header("Date", signed.date)
            .header("Digest", digest)
            .header("Signature", signed.signature)
            .body(body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        Ok(response.status().as_u16())
    }

    async fn admin(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> anyhow::Result<(u16, Value)> {
        let mut request = self.client.request(method, self.args.target.join(path)?).bearer_auth(&self.args.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
    }

    async fn get(&self, url: &str) -> Result<u16, String> {
        let response =
            self.client.get(url).header(header::ACCEPT, ACTIVITY_JSON).send().await.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        response.bytes().await.map_err(|e| e.to_string())?;
        Ok(status)
    }

    async fn new_article(&self, n: usize) -> anyhow::Result<()> {
        let key = format!("soak-{}-{n}", self.started.load(Ordering::Relaxed));
        let body = json!({
            "title": format!("Soak article {n}: the tram line, week {n}"),
            "url": format!("https://news.example/soak/{n}"),
            "content": "<p>The council voted for the tram line. Works start in May.</p>",
            "author": { "username": "Editorial desk" },
        });
        let (status, article) =
            self.admin(reqwest::Method::PUT, &format!("/api/admin/articles/{key}"), Some(&body)).await?;
        if !(200..300).contains(&status) {
            bail!("PUT article {key}: HTTP {status}: {article}");
        }
        let ap_id = article.get("ap_id").and_then(Value::as_str).context("the article has no ap_id")?.to_string();
        lock(&self.world).articles.push(Article { key, ap_id });
        Ok(())
    }

    /// One request of `kind`; a kind with nothing to act on (no reply to edit yet) reads instead.
    async fn one(self: Arc<Self>, kind: Kind) {
        let started = Instant::now();
        let status = match kind {
            Kind::Reply => self.reply().await,
            Kind::Edit | Kind::Delete => self.change(kind).await,
            Kind::Like => self.like().await,
            Kind::Unlike => self.unlike().await,
            Kind::SiteComment => self.site_comment().await,
            Kind::GetArticle => {
                let url = lock(&self.world).articles.last().map(|a| a.ap_id.clone()).unwrap_or_default();
                self.get(&url).await
            }
            Kind::GetReplies => {
                let url = {
                    let world = lock(&self.world);
                    let article = world.current();
                    let comments: Vec<&(usize, String)> =
                        world.site_comments.iter().filter(|c| c.0 == article).collect();
                    match roll(3) {
                        0 if !comments.is_empty() => {
                            format!("{}/replies?page=1", comments[roll(comments.len())].1)
                        }
                        1 => format!("{}/replies", world.articles[article].ap_id),
                        _ => format!("{}/replies?page=1", world.articles[article].ap_id),
                    }
                };
                self.get(&url).await
            }
        };
        self.record(kind, started.elapsed(), status);
    }

    async fn reply(&self) -> Result<u16, String> {
        let (j, n, article, in_reply_to) = {
            let mut world = lock(&self.world);
            let n = world.fresh();
            let article = world.current();
            let j = (n as usize) % self.keys.len();
            let replies: Vec<&Reply> = world.replies.iter().filter(|r| r.article == article && !r.deleted).collect();
            let comments: Vec<&(usize, String)> = world.site_comments.iter().filter(|c| c.0 == article).collect();
            let target = match n % 4 {
                1 if !replies.is_empty() => replies[roll(replies.len())].note_id.clone(),
                2 if !comments.is_empty() => comments[roll(comments.len())].1.clone(),
                _ => world.articles[article].ap_id.clone(),
            };
            (j, n, article, target)
        };
        let actor = self.actor(j);
        let note_id = format!("{actor}/statuses/{}-{n}", self.started.load(Ordering::Relaxed));
        let note = self.note(j, &note_id, &in_reply_to, 0, None);
        let create = json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{note_id}/activity"),
            "type": "Create",
            "actor": actor,
            "to": [PUBLIC],
            "object": note,
        });
        let status = self.post_signed(j, &create).await?;
        if status == 202 {
            let reply = Reply { note_id, in_reply_to, actor: j, article, version: 0, deleted: false, busy: false };
            lock(&self.world).replies.push(reply);
        }
        Ok(status)
    }

    fn note(&self, j: usize, id: &str, in_reply_to: &str, version: u32, updated: Option<String>) -> Value {
        let published = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let mut note = json!({
            "id": id,
            "type": "Note",
            "attributedTo": self.actor(j),
            "inReplyTo": in_reply_to,
            "published": published,
            "updated": updated,
            "to": [PUBLIC],
            "content": format!("<p>On the tram line: the night buses must stay. [v{version}]</p>"),
        });
        if updated.is_none() {
            note.as_object_mut().map(|n| n.remove("updated"));
        }
        note
    }

    /// An edit or a deletion of a reply of the current article nobody else is changing.
    async fn change(&self, kind: Kind) -> Result<u16, String> {
        let picked = {
            let mut world = lock(&self.world);
            let article = world.current();
            let candidates: Vec<usize> = (0..world.replies.len())
                .filter(|&i| world.replies[i].article == article && !world.replies[i].deleted && !world.replies[i].busy)
                .collect();
            match candidates.len() {
                0 => None,
                n => {
                    let i = candidates[roll(n)];
                    world.replies[i].busy = true;
                    let reply = &world.replies[i];
                    Some((i, reply.actor, reply.note_id.clone(), reply.version + 1, reply.in_reply_to.clone()))
                }
            }
        };
        let Some((i, j, note_id, version, in_reply_to)) = picked else {
            return self.reply().await;
        };
        let actor = self.actor(j);
        let activity = if kind == Kind::Edit {
            let updated = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            let note = self.note(j, &note_id, &in_reply_to, version, Some(updated));
            json!({ "id": format!("{note_id}/edit/{version}"), "type": "Update", "actor": actor, "to": [PUBLIC], "object": note })
        } else {
            json!({ "id": format!("{note_id}/delete"), "type": "Delete", "actor": actor, "to": [PUBLIC],
                    "object": { "id": note_id, "type": "Tombstone" } })
        };
        let status = self.post_signed(j, &activity).await;
        let mut world = lock(&self.world);
        let reply = &mut world.replies[i];
        reply.busy = false;
        if status == Ok(202) {
            if kind == Kind::Edit {
                reply.version = version;
            } else {
                reply.deleted = true;
            }
        }
        status
    }

    async fn like(&self) -> Result<u16, String> {
        let (j, n, object) = {
            let mut world = lock(&self.world);
            let n = world.fresh();
            let article = world.current();
            let comments: Vec<&(usize, String)> = world.site_comments.iter().filter(|c| c.0 == article).collect();
            let object = match comments.len() {
                0 => world.articles[article].ap_id.clone(),
                len => comments[(n as usize) % len].1.clone(),
            };
            ((n as usize) % self.keys.len(), n, object)
        };
        let activity_id = format!("{}#likes/{}-{n}", self.actor(j), self.started.load(Ordering::Relaxed));
        let like = json!({ "@context": "https://www.w3.org/ns/activitystreams", "id": activity_id,
                           "type": "Like", "actor": self.actor(j), "object": object });
        let status = self.post_signed(j, &like).await?;
        if status == 202 {
            lock(&self.world).likes.push(Like { activity_id, actor: j, object });
        }
        Ok(status)
    }

    async fn unlike(&self) -> Result<u16, String> {
        let Some(like) = lock(&self.world).likes.pop() else {
            return self.like().await;
        };
        let actor = self.actor(like.actor);
        let undo = json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{}/undo", like.activity_id),
            "type": "Undo",
            "actor": actor,
            "object": { "id": like.activity_id, "type": "Like", "actor": actor, "object": like.object },
        });
        self.post_signed(like.actor, &undo).await
    }

    async fn site_comment(&self) -> Result<u16, String> {
        let (n, article, key) = {
            let mut world = lock(&self.world);
            let n = world.fresh();
            let article = world.current();
            (n, article, world.articles[article].key.clone())
        };
        let body = json!({
            "author": { "username": format!("Reader {}", n % 12) },
            "content": format!("<p>Site comment {n}: the works schedule is in the council minutes.</p>"),
        });
        let path = format!("/api/admin/articles/{key}/comments/s{n}");
        let (status, comment) =
            self.admin(reqwest::Method::PUT, &path, Some(&body)).await.map_err(|e| format!("{e:#}"))?;
        if let Some(ap_id) = comment.get("ap_id").and_then(Value::as_str).filter(|_| (200..300).contains(&status)) {
            lock(&self.world).site_comments.push((article, ap_id.to_string()));
        }
        Ok(status)
    }

    /// What this process knows of an article's replies no request is changing: (note id,
    /// version, deleted).
    fn settled(&self, article: usize) -> Vec<(String, u32, bool)> {
        let world = lock(&self.world);
        let replies = world.replies.iter().filter(|r| r.article == article && !r.busy);
        replies.map(|r| (r.note_id.clone(), r.version, r.deleted)).collect()
    }

    /// Checks one article's thread against what was accepted: (lost, undeleted, duplicated).
    /// Only replies settled both before and after the thread is read are judged, so a reply
    /// accepted, edited or deleted while it is read is judged next time.
    async fn check(&self, article: usize) -> anyhow::Result<(u64, u64, u64)> {
        let key = lock(&self.world).articles[article].key.clone();
        let before = self.settled(article);
        let (status, thread) =
            self.admin(reqwest::Method::GET, &format!("/api/admin/articles/{key}/thread"), None).await?;
        if status != 200 {
            bail!("GET thread {key}: HTTP {status}");
        }
        let after: std::collections::HashSet<(String, u32, bool)> = self.settled(article).into_iter().collect();
        let mut stored: HashMap<String, Vec<(String, String)>> = HashMap::new();
        for c in thread.get("comments").and_then(Value::as_array).context("a thread has comments")? {
            if c.get("origin").and_then(Value::as_str) != Some("remote") {
                continue;
            }
            let ap_id = c.get("ap_id").and_then(Value::as_str).unwrap_or_default().to_string();
            let status = c.get("status").and_then(Value::as_str).unwrap_or_default().to_string();
            let content = c.get("content").and_then(Value::as_str).unwrap_or_default().to_string();
            stored.entry(ap_id).or_default().push((status, content));
        }
        let duplicated = stored.values().filter(|v| v.len() > 1).count() as u64;
        let (mut lost, mut undeleted) = (0, 0);
        for reply in before.into_iter().filter(|r| after.contains(r)) {
            let (note_id, version, deleted) = &reply;
            let found = stored.get(note_id).and_then(|v| v.first());
            if *deleted {
                if found.is_some_and(|(status, _)| status != "deleted") {
                    undeleted += 1;
                }
            } else if !found
                .is_some_and(|(status, content)| status == "visible" && content.contains(&format!("[v{version}]")))
            {
                lost += 1;
            }
        }
        Ok((lost, undeleted, duplicated))
    }

    async fn sink_stats(&self) -> Option<Value> {
        let sink = self.args.sink.as_ref()?;
        let response = self.client.get(sink.join("/control/stats").ok()?).send().await.ok()?;
        response.json::<Value>().await.ok()
    }
}

// ------------------------------------------------------------------------------ the actors

struct Actors {
    base: String,
    public_pems: Vec<String>,
    count: usize,
}

async fn actor_doc(State(actors): State<Arc<Actors>>, Path(name): Path<String>) -> Response {
    let Some(j) = name.strip_prefix('r').and_then(|n| n.parse::<usize>().ok()).filter(|j| *j < actors.count) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let id = format!("{}/users/r{j}", actors.base);
    let doc = json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": id,
        "type": "Person",
        "preferredUsername": format!("r{j}"),
        "name": format!("Soak reader {j}"),
        "inbox": format!("{id}/inbox"),
        "outbox": format!("{id}/outbox"),
        "publicKey": { "id": format!("{id}#main-key"), "owner": id, "publicKeyPem": actors.public_pems[j] },
    });
    ([(header::CONTENT_TYPE, ACTIVITY_JSON)], doc.to_string()).into_response()
}

// ------------------------------------------------------------------------------ reporting

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((sorted.len() as f64) * p / 100.0).ceil().max(1.0) as usize;
    f64::from(sorted[rank.min(sorted.len()) - 1]) / 1000.0
}

fn proc_status_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0)
}

fn latencies(by_kind: &BTreeMap<Kind, Vec<u32>>) -> (String, Value) {
    let mut line = String::new();
    let mut figures = serde_json::Map::new();
    for (kind, values) in by_kind {
        let mut sorted = values.clone();
        sorted.sort_unstable();
        let (p50, p99) = (percentile(&sorted, 50.0), percentile(&sorted, 99.0));
        line.push_str(&format!(" {} {p50:.0}/{p99:.0}", kind.name()));
        figures.insert(
            kind.name().to_string(),
            json!({ "n": sorted.len(), "p50_ms": p50, "p99_ms": p99,
            "max_ms": sorted.last().map_or(0.0, |v| f64::from(*v) / 1000.0) }),
        );
    }
    (line, Value::Object(figures))
}

fn deliveries(stats: &Option<Value>) -> (u64, u64, u64) {
    let create = stats.as_ref().and_then(|s| s.pointer("/by_type/Create"));
    let field = |name: &str| create.and_then(|c| c.get(name)).and_then(Value::as_u64).unwrap_or(0);
    (field("verified"), field("duplicates"), field("failed"))
}

// ------------------------------------------------------------------------------ main

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !is_loopback(&args.target) || args.sink.as_ref().is_some_and(|s| !is_loopback(s)) {
        bail!("the target and the sink must be loopback URLs");
    }
    if !(args.rate > 0.0 && args.minutes > 0.0) || args.actors == 0 {
        bail!("--rate, --minutes and --actors must be above 0");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    runtime.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let pairs = (0..args.actors)
        .map(|_| activitypub_federation::http_signatures::generate_actor_keypair())
        .collect::<Result<Vec<_>, _>>()?;
    let actor_base = format!("http://127.0.0.1:{}", args.actor_port);
    let keys = (0..args.actors)
        .map(|j| SigningKey::from_pem(format!("{actor_base}/users/r{j}#main-key"), &pairs[j].private_key))
        .collect::<Result<Vec<_>, _>>()?;
    let actors = Arc::new(Actors {
        base: actor_base.clone(),
        public_pems: pairs.iter().map(|p| p.public_key.clone()).collect(),
        count: args.actors,
    });
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.actor_port))
        .await
        .with_context(|| format!("binding 127.0.0.1:{}", args.actor_port))?;
    let app = Router::new().route("/users/{name}", get(actor_doc)).with_state(actors);
    tokio::spawn(async move { axum::serve(listener, app).await });

    let client = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(60)).build()?;
    let soak = Arc::new(Soak {
        args: args.clone(),
        client,
        keys,
        actor_base,
        world: Mutex::new(World::default()),
        tally: Mutex::new(Tally::default()),
        started: AtomicU64::new(chrono::Utc::now().timestamp() as u64),
    });
    soak.new_article(1).await?;

    let slots = Arc::new(tokio::sync::Semaphore::new(args.in_flight));
    let run_for = Duration::from_secs_f64(args.minutes * 60.0);
    let article_every = Duration::from_secs(args.article_seconds.max(10));
    let start = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let (mut next_report, mut next_article, mut articles) = (Duration::from_secs(10), article_every, 1);
    let (mut lost, mut undeleted, mut duplicated) = (0u64, 0u64, 0u64);
    let rss_kb = |pid: Option<u32>| pid.map_or(0, |p| proc_status_kb(p, "VmRSS:"));
    let mut rss_max = 0u64;
    println!("# t_s rss_mib fds started skipped 5xx lost undeleted duplicated deliveries(verified/dup/refused) | p50/p99 ms per kind");
    while start.elapsed() < run_for {
        tick.tick().await;
        match slots.clone().try_acquire_owned() {
            Ok(permit) => {
                let kind = Kind::pick(roll(100));
                let soak = soak.clone();
                tokio::spawn(async move {
                    soak.one(kind).await;
                    drop(permit);
                });
            }
            Err(_) => lock(&soak.tally).skipped += 1,
        }
        if start.elapsed() >= next_article {
            next_article += article_every;
            articles += 1;
            if let Err(e) = soak.new_article(articles).await {
                lock(&soak.tally).errors.push(format!("new article: {e:#}"));
            }
        }
        if start.elapsed() >= next_report {
            next_report += Duration::from_secs(10);
            let current = lock(&soak.world).current();
            let (l, u, d) = soak.check(current).await.unwrap_or((0, 0, 0));
            let stats = soak.sink_stats().await;
            let (verified, dup, refused) = deliveries(&stats);
            let rss = rss_kb(args.server_pid);
            rss_max = rss_max.max(rss);
            let mut tally = lock(&soak.tally);
            let (line, _) = latencies(&tally.window);
            tally.window.clear();
            let started: u64 = tally.statuses.values().sum::<u64>() + tally.transport_errors;
            println!(
                "{:5.0} {:7.1} {:4} {:7} {:5} {:4} {l:3} {u:3} {d:3} {verified}/{dup}/{refused} |{line}",
                start.elapsed().as_secs_f64(),
                rss as f64 / 1024.0,
                args.server_pid.map_or(0, open_fds),
                started,
                tally.skipped,
                tally.server_errors,
            );
            (lost, undeleted, duplicated) = (lost.max(l), undeleted.max(u), duplicated.max(d));
        }
    }
    // Let what is in flight finish, then check everything.
    let _ = tokio::time::timeout(Duration::from_secs(60), slots.acquire_many(args.in_flight as u32)).await;
    let count = lock(&soak.world).articles.len();
    let (mut final_lost, mut final_undeleted, mut final_duplicated) = (0, 0, 0);
    for article in 0..count {
        let (l, u, d) = soak.check(article).await?;
        (final_lost, final_undeleted, final_duplicated) = (final_lost + l, final_undeleted + u, final_duplicated + d);
    }
    let site_comments: Vec<String> = lock(&soak.world).site_comments.iter().map(|c| c.1.clone()).collect();
    let mut undelivered = 0u64;
    if let Some(sink) = &args.sink {
        for object in &site_comments {
            let mut url = sink.join("/control/wait")?;
            url.query_pairs_mut()
                .append_pair("type", "Create")
                .append_pair("object", object)
                .append_pair("count", &args.followers.to_string())
                .append_pair("timeout", "30");
            let reached = soak.client.get(url).send().await?.json::<Value>().await?;
            if reached.get("reached") != Some(&Value::Bool(true)) {
                undelivered += 1;
            }
        }
    }
    let (verified, dup, refused) = deliveries(&soak.sink_stats().await);
    let tally = lock(&soak.tally);
    let (_, figures) = latencies(&tally.all);
    let world = lock(&soak.world);
    let summary = json!({
        "minutes": args.minutes,
        "rate": args.rate,
        "requests": tally.statuses.values().sum::<u64>() + tally.transport_errors,
        "skipped": tally.skipped,
        "statuses": tally.statuses,
        "server_errors": tally.server_errors,
        "transport_errors": tally.transport_errors,
        "articles": count,
        "replies_accepted": world.replies.len(),
        "replies_deleted": world.replies.iter().filter(|r| r.deleted).count(),
        "site_comments": site_comments.len(),
        "lost": final_lost.max(lost),
        "undeleted": final_undeleted.max(undeleted),
        "duplicated": final_duplicated.max(duplicated),
        "deliveries": { "verified": verified, "duplicated": dup, "refused": refused, "comments_not_reaching_all": undelivered },
        "rss_max_mib": rss_max as f64 / 1024.0,
        "latency": figures,
        "errors": tally.errors,
    });
    println!("{summary}");
    let bad = tally.server_errors + final_lost.max(lost) + final_undeleted + final_duplicated + dup + undelivered;
    if bad > 0 {
        std::process::exit(1);
    }
    Ok(())
}
