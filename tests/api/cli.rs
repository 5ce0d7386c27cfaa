//! The binary as an operator runs it: `migrate`, `serve`, restarts, bad settings.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::*;

const BIN: &str = env!("CARGO_BIN_EXE_threadbridge");

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

struct Server {
    child: Child,
    address: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start(database_url: &str) -> Server {
    let port = free_port();
    let address = format!("http://127.0.0.1:{port}");
    let child = Command::new(BIN)
        .arg("serve")
        .env("DATABASE_URL", database_url)
        .env("THREADBRIDGE_LISTEN", format!("127.0.0.1:{port}"))
        .env("THREADBRIDGE_PUBLIC_URL", &address)
        .env("THREADBRIDGE_ADMIN_TOKEN", TOKEN)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start threadbridge");
    let server = Server { child, address };
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if let Ok(r) = client.get(format!("{}/health", server.address)).send().await {
            if r.status() == StatusCode::OK {
                return server;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("threadbridge did not start on {}", server.address);
}

#[tokio::test]
async fn migrate_then_serve_and_restart_keeps_everything() {
    let dir = tempfile::tempdir().expect("dir");
    let database_url = format!("sqlite://{}", dir.path().join("site.db").display());
    let status = Command::new(BIN).arg("migrate").env("DATABASE_URL", &database_url).status().expect("migrate");
    assert!(status.success());
    assert!(dir.path().join("site.db").exists(), "the database file is created");

    let client = reqwest::Client::new();
    let server = start(&database_url).await;
    let response = client
        .put(format!("{}/api/admin/articles/kept", server.address))
        .bearer_auth(TOKEN)
        .json(&article_json("Kept across restarts"))
        .send()
        .await
        .expect("put");
    assert_eq!(response.status(), StatusCode::CREATED);
    let actor_url = format!("{}/users/site", server.address);
    let before = body_json(client.get(&actor_url).header("Accept", AP).send().await.expect("actor")).await;
    drop(server);

    let server = start(&database_url).await;
    let article =
        client.get(format!("{}/api/admin/articles/kept", server.address)).bearer_auth(TOKEN).send().await.expect("get");
    assert_eq!(article.status(), StatusCode::OK);
    assert_eq!(body_json(article).await["title"], "Kept across restarts");
    let actor_url = format!("{}/users/site", server.address);
    let after = body_json(client.get(&actor_url).header("Accept", AP).send().await.expect("actor")).await;
    assert_eq!(before["publicKey"]["publicKeyPem"], after["publicKey"]["publicKeyPem"], "the site keeps its key");
}

#[test]
fn bad_settings_stop_with_a_message() {
    let output = Command::new(BIN)
        .arg("serve")
        .env("THREADBRIDGE_PUBLIC_URL", "ftp://news.example")
        .env("DATABASE_URL", "sqlite::memory:")
        .env("THREADBRIDGE_LISTEN", "127.0.0.1:0")
        .output()
        .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("THREADBRIDGE_PUBLIC_URL"), "{stderr}");

    for domain in ["https://news.example", "news..example", "news.example/blog"] {
        let output = Command::new(BIN)
            .arg("serve")
            .env("THREADBRIDGE_HANDLE_DOMAIN", domain)
            .env("DATABASE_URL", "sqlite::memory:")
            .env("THREADBRIDGE_LISTEN", "127.0.0.1:0")
            .output()
            .expect("run");
        assert!(!output.status.success(), "{domain}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("THREADBRIDGE_HANDLE_DOMAIN must be a bare host"), "{domain}: {stderr}");
    }

    let output = Command::new(BIN).arg("migrate").env("DATABASE_URL", "mysql://x").output().expect("run");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("DATABASE_URL"));
}

/// `threadbridge doctor`, run beside `serve` with its settings, passes when the site redirects
/// WebFinger to the service, and names the fix (exiting non-zero) when it does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_checks_what_operators_get_wrong() {
    for redirects in [true, false] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind site");
        let site_domain = listener.local_addr().expect("addr").to_string();
        let Some(app) = spawn_app_with(Backend::Sqlite, &["--handle-domain", &site_domain]).await else { return };
        crate::discovery::fake_site(listener, app.url(""), redirects).await;
        let output = tokio::task::spawn_blocking({
            let (public, domain) = (app.url(""), site_domain.clone());
            move || {
                Command::new(BIN)
                    .arg("doctor")
                    .env("THREADBRIDGE_PUBLIC_URL", public)
                    .env("THREADBRIDGE_HANDLE_DOMAIN", domain)
                    .env("THREADBRIDGE_DEV", "1")
                    .env("RUST_LOG", "off")
                    .output()
                    .expect("run doctor")
            }
        })
        .await
        .expect("doctor");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.contains(&format!("ok    the public URL {} answers", app.url(""))), "{stdout}");
        assert!(stdout.contains("ok    NodeInfo answers") && stdout.contains("ok    host-meta answers"), "{stdout}");
        assert!(stdout.contains("ok    TLS is not in use (dev mode)"), "{stdout}");
        let finger = format!("WebFinger on {site_domain} names {}", app.url("/users/site"));
        if redirects {
            assert!(output.status.success(), "{stdout}");
            assert!(
                stdout.contains(&format!("ok    {finger}")) && stdout.ends_with("all 5 checks passed\n"),
                "{stdout}"
            );
        } else {
            assert!(!output.status.success(), "{stdout}");
            assert!(stdout.contains(&format!("FAIL  {finger}")), "{stdout}");
            assert!(stdout.contains("fix: GET") && stdout.contains("404") && stdout.contains("redirect"), "{stdout}");
            assert!(stdout.ends_with("1 of 5 checks failed\n"), "{stdout}");
        }
    }
    // Outside dev mode, plain http is a failure of its own, and a service that is not running too.
    let output = Command::new(BIN)
        .arg("doctor")
        .env("THREADBRIDGE_PUBLIC_URL", format!("http://127.0.0.1:{}", free_port()))
        .env("RUST_LOG", "off")
        .output()
        .expect("run doctor");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success());
    assert!(stdout.contains("FAIL  TLS is in use") && stdout.contains("FAIL  the public URL"), "{stdout}");
}
