//! Spawns threadbridge on port 0 over a real database: a fresh SQLite file, or a fresh
//! PostgreSQL database. PostgreSQL tests need a server at THREADBRIDGE_TEST_POSTGRES_URL
//! (default postgres://postgres@127.0.0.1:5432/postgres); without one they are skipped with a
//! message, unless THREADBRIDGE_REQUIRE_POSTGRES=1 (as in CI), where they fail.

use std::sync::Once;
use std::time::{Duration, Instant};

use clap::Parser;
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};
use sqlx::Connection;
use threadbridge::config::Cli;
use threadbridge::startup::Application;
use tokio::sync::oneshot;

pub const TOKEN: &str = "test-admin-token";
pub const AP: &str = "application/activity+json";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs an async test body once per back-end: `fn name_sqlite()` and `fn name_postgres()`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::helpers::Backend::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::helpers::Backend::Postgres).await;
                }
            }
        )*
    };
}

pub struct TestApp {
    pub address: String,
    pub database_url: String,
    pub client: Client,
    shutdown: Option<oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

fn init_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var("TEST_LOG").is_ok() {
            tracing_subscriber::fmt().with_env_filter("info").with_test_writer().init();
        }
    });
}

fn postgres_admin_url() -> String {
    std::env::var("THREADBRIDGE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// A fresh, empty PostgreSQL database, or None (with a message) when the server is not there.
async fn fresh_postgres_database() -> Option<String> {
    let admin_url = postgres_admin_url();
    let mut conn = match sqlx::PgConnection::connect(&admin_url).await {
        Ok(conn) => conn,
        Err(e) => {
            if std::env::var("THREADBRIDGE_REQUIRE_POSTGRES").as_deref() == Ok("1") {
                panic!("PostgreSQL is required (THREADBRIDGE_REQUIRE_POSTGRES=1) but {admin_url} is unreachable: {e}");
            }
            eprintln!(
                "SKIPPED: PostgreSQL test, {admin_url} is unreachable ({e}). Start PostgreSQL \
                 (pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start) or set \
                 THREADBRIDGE_TEST_POSTGRES_URL; THREADBRIDGE_REQUIRE_POSTGRES=1 makes this a failure."
            );
            return None;
        }
    };
    let name = format!("tb_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let mut url = url::Url::parse(&admin_url).expect("postgres url");
    url.set_path(&name);
    Some(url.to_string())
}

/// Starts the service with the given extra settings (`--flag value` pairs). Returns None when
/// the back-end is PostgreSQL and no server is reachable (the test is then skipped).
pub async fn spawn_app_with(backend: Backend, extra: &[&str]) -> Option<TestApp> {
    init_logs();
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = fresh_database(backend, dir.path()).await?;
    Some(start_on(database_url, dir, extra).await)
}

/// The URL of a fresh database: a SQLite file in `dir`, or a new PostgreSQL database (None when
/// no server is reachable).
pub async fn fresh_database(backend: Backend, dir: &std::path::Path) -> Option<String> {
    match backend {
        Backend::Sqlite => Some(format!("sqlite://{}", dir.join("threadbridge.db").display())),
        Backend::Postgres => fresh_postgres_database().await,
    }
}

/// The service on a database prepared by the test (an older schema with data, say).
pub async fn spawn_on(database_url: &str) -> TestApp {
    start_on(database_url.to_string(), tempfile::tempdir().expect("temp dir"), &[]).await
}

/// A second service process (in this test process) on the same database as `app`.
pub async fn spawn_sibling(app: &TestApp) -> TestApp {
    spawn_sibling_with(app, &[]).await
}

/// Like `spawn_sibling`, with extra settings.
pub async fn spawn_sibling_with(app: &TestApp, extra: &[&str]) -> TestApp {
    start_on(app.database_url.clone(), tempfile::tempdir().expect("temp dir"), extra).await
}

async fn start_on(database_url: String, dir: tempfile::TempDir, extra: &[&str]) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let address = format!("http://127.0.0.1:{port}");
    let defaults = [
        ("--public-url", address.as_str()),
        ("--database-url", database_url.as_str()),
        ("--admin-token", TOKEN),
        ("--dev", "1"),
        ("--site-name", "Military Review"),
        ("--site-url", "https://news.example/"),
    ];
    let mut args: Vec<String> = vec!["threadbridge".into(), "serve".into()];
    for (flag, value) in defaults {
        if !extra.contains(&flag) {
            args.extend([flag.to_string(), value.to_string()]);
        }
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let config = Cli::try_parse_from(args).expect("test settings").config;
    let app = Application::build(config, listener).await.expect("build app");
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(app.run(async {
        let _ = rx.await;
    }));
    let client = Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    TestApp { address, client, database_url, shutdown: Some(tx), _dir: dir }
}

pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, &[]).await
}

/// A JSON string's text; panics naming the value when it is not a string.
pub fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_else(|| panic!("expected a string, got {value}"))
}

/// A JSON body, or `null` when the body is not JSON.
pub async fn body_json(response: Response) -> Value {
    let text = response.text().await.expect("body");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

impl TestApp {
    /// A handle on a service started elsewhere (a real `threadbridge serve` process), to drive
    /// it through the same helpers.
    pub fn running_at(address: &str, database_url: &str) -> TestApp {
        let client = Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        let dir = tempfile::tempdir().expect("temp dir");
        TestApp {
            address: address.to_string(),
            database_url: database_url.to_string(),
            client,
            shutdown: None,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn admin_put(&self, path: &str, json: &Value) -> (StatusCode, Value) {
        let response = self.client.put(self.url(path)).bearer_auth(TOKEN).json(json).send().await.expect("put");
        (response.status(), body_json(response).await)
    }

    pub async fn admin_get(&self, path: &str) -> (StatusCode, Value) {
        let response = self.client.get(self.url(path)).bearer_auth(TOKEN).send().await.expect("get");
        (response.status(), body_json(response).await)
    }

    pub async fn admin_delete(&self, path: &str) -> (StatusCode, Value) {
        let response = self.client.delete(self.url(path)).bearer_auth(TOKEN).send().await.expect("delete");
        (response.status(), body_json(response).await)
    }

    /// Fetches a URL as a fediverse server does.
    pub async fn ap_get(&self, url: &str) -> (StatusCode, Value) {
        let response = self.client.get(url).header("Accept", AP).send().await.expect("ap get");
        (response.status(), body_json(response).await)
    }

    pub async fn admin_post(&self, path: &str) -> (StatusCode, Value) {
        let response = self.client.post(self.url(path)).bearer_auth(TOKEN).send().await.expect("post");
        (response.status(), body_json(response).await)
    }

    /// The site actor's id.
    pub fn site_actor(&self) -> String {
        self.url("/users/site")
    }

    /// `GET /api/admin/followers`: the items.
    pub async fn followers(&self) -> Vec<Value> {
        let (status, body) = self.admin_get("/api/admin/followers").await;
        assert_eq!(status, StatusCode::OK, "followers: {body}");
        body["items"].as_array().cloned().unwrap_or_default()
    }

    /// `totalItems` of a local actor's followers collection.
    pub async fn followers_count(&self, username: &str) -> i64 {
        let (status, body) = self.ap_get(&self.url(&format!("/users/{username}/followers"))).await;
        assert_eq!(status, StatusCode::OK, "followers collection: {body}");
        body["totalItems"].as_i64().expect("totalItems")
    }

    /// `GET /api/admin/deliveries?state=...` (every state when `state` is empty): the items.
    pub async fn deliveries(&self, state: &str) -> Vec<Value> {
        let (status, body) = self.admin_get(&format!("/api/admin/deliveries?state={state}&per_page=500")).await;
        assert_eq!(status, StatusCode::OK, "deliveries: {body}");
        body["items"].as_array().cloned().unwrap_or_default()
    }

    /// Polls the admin's delivery list every 50 ms until `done` holds, and returns it; panics
    /// with the list when `timeout` passes first.
    pub async fn wait_for_deliveries(&self, done: impl Fn(&[Value]) -> bool, timeout: Duration) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let all = self.deliveries("").await;
            if done(&all) {
                return all;
            }
            if Instant::now() >= deadline {
                panic!("deliveries: condition not met within {timeout:?}:\n{:#}", Value::from(all));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn put_article(&self, key: &str, json: &Value) -> Value {
        let (status, body) = self.admin_put(&format!("/api/admin/articles/{key}"), json).await;
        assert!(status.is_success(), "PUT article {key}: {status} {body}");
        body
    }

    pub async fn put_comment(&self, article: &str, key: &str, json: &Value) -> Value {
        let (status, body) = self.admin_put(&format!("/api/admin/articles/{article}/comments/{key}"), json).await;
        assert!(status.is_success(), "PUT comment {key}: {status} {body}");
        body
    }

    pub async fn thread(&self, article: &str) -> Value {
        let (status, body) = self.admin_get(&format!("/api/admin/articles/{article}/thread")).await;
        assert_eq!(status, StatusCode::OK, "thread {article}: {body}");
        body
    }
}

/// A typical article body.
pub fn article_json(title: &str) -> Value {
    json!({
        "title": title,
        "url": "https://news.example/2015/09/peace-treaty",
        "content": "<p>Russian Foreign Minister said after talks that the dialogue restarts.</p><p>Second paragraph.</p>",
        "summary": "Talks on a peace treaty restart.",
        "author": { "username": "news desk", "name": "News Desk" },
        "tags": ["Japan", "diplomacy"],
        "published": "2015-09-22T06:00:00+03:00",
        "language": "en"
    })
}

pub fn comment_json(author: &str, content: &str, parent: Option<&str>) -> Value {
    let mut value = json!({ "author": { "username": author }, "content": content });
    if let Some(p) = parent {
        value["parent"] = json!(p);
    }
    value
}

/// `name` of `peer` follows the site actor: the Follow is answered 202 and the signed Accept
/// reaches the follower's own inbox. Returns the Follow.
pub async fn follow_site(app: &TestApp, peer: &crate::peer::Peer, name: &str) -> Value {
    let follow = peer.follow(name, &app.site_actor());
    let response = peer.signed_post(name, &app.url("/users/site/inbox"), &follow).await;
    assert_eq!(
        response.status(),
        StatusCode::ACCEPTED,
        "Follow by {name}: {}",
        response.text().await.unwrap_or_default()
    );
    let inbox = format!("/users/{name}/inbox");
    let follow_id = follow["id"].as_str().expect("Follow id").to_string();
    peer.wait_for(
        |all| all.iter().any(|r| r.path == inbox && r.is_verified("Accept") && r.object_id() == follow_id),
        Duration::from_secs(15),
    )
    .await;
    follow
}

/// A public Note by `name` of `peer` (Mastodon's shape), answering `in_reply_to`.
pub fn mastodon_note(peer: &crate::peer::Peer, name: &str, status: u32, in_reply_to: &str, content: &str) -> Value {
    let actor = peer.actor_id(name);
    json!({
        "id": format!("{actor}/statuses/{status}"),
        "type": "Note",
        "attributedTo": actor,
        "inReplyTo": in_reply_to,
        "published": "2026-11-27T09:00:00Z",
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "cc": [format!("{actor}/followers")],
        "content": content,
    })
}

/// The Create of `note` by `name` of `peer` (Mastodon's shape): its id is the note's plus
/// `/activity`.
pub fn create_of(peer: &crate::peer::Peer, name: &str, note: Value) -> Value {
    let actor = peer.actor_id(name);
    let note_id = note["id"].as_str().expect("note id").to_string();
    json!({
        "@context": ["https://www.w3.org/ns/activitystreams"],
        "id": format!("{note_id}/activity"),
        "type": "Create",
        "actor": actor,
        "published": "2026-11-27T09:00:00Z",
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "cc": [format!("{actor}/followers")],
        "object": note,
    })
}
