//! Spawns threadbridge on port 0 over a real database: a fresh SQLite file, or a fresh
//! PostgreSQL database. PostgreSQL tests need a server at THREADBRIDGE_TEST_POSTGRES_URL
//! (default postgres://postgres@127.0.0.1:5432/postgres); without one they are skipped with a
//! message, unless THREADBRIDGE_REQUIRE_POSTGRES=1 (as in CI), where they fail.

use std::sync::Once;

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
    let database_url = match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.path().join("threadbridge.db").display()),
        Backend::Postgres => fresh_postgres_database().await?,
    };
    Some(start_on(database_url, dir, extra).await)
}

/// A second service process (in this test process) on the same database as `app`.
pub async fn spawn_sibling(app: &TestApp) -> TestApp {
    start_on(app.database_url.clone(), tempfile::tempdir().expect("temp dir"), &[]).await
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

/// A JSON body, or `null` when the body is not JSON.
pub async fn body_json(response: Response) -> Value {
    let text = response.text().await.expect("body");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

impl TestApp {
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
