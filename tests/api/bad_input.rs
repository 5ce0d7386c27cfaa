//! Bad input gets a clear 4xx with a JSON message naming the problem, and stores nothing.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;

/// A PUT written byte by byte on a socket: the status and the whole response.
async fn raw_put(app: &TestApp, path: &str, json: &Value) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = json.to_string();
    let host = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.expect("connect");
    let head = format!(
        "PUT {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(format!("{head}{body}").as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, response)
}

/// Asserts a JSON error whose message mentions `needle`.
fn assert_error(status: StatusCode, body: &Value, expected: StatusCode, needle: &str) {
    assert_eq!(status, expected, "{body}");
    let message = body["error"].as_str().unwrap_or_default();
    assert!(message.to_lowercase().contains(&needle.to_lowercase()), "error '{message}' should mention '{needle}'");
}

async fn article_fields_are_checked(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let path = "/api/admin/articles/bad";
    let base = article_json("Good title");
    let with = |field: &str, value: Value| {
        let mut body = base.clone();
        body[field] = value;
        body
    };
    let missing_title = json!({ "url": "https://news.example/a", "content": "x", "author": { "username": "a" } });
    let cases: Vec<(Value, &str)> = vec![
        (missing_title, "title"),
        (with("title", json!(5)), "title"),
        (with("title", json!("   ")), "title"),
        (with("url", json!("ftp://news.example/a")), "url"),
        (with("author", json!({ "name": "no username" })), "username"),
        (with("tags", json!(["fine", "not fine"])), "not fine"),
        (with("published", json!("22.09.2015")), "published"),
        (with("image", json!({ "url": "not a url" })), "image.url"),
        (with("language", json!("English")), "language"),
        (with("sensitive", json!("yes")), "sensitive"),
    ];
    for (body, needle) in cases {
        let (status, error) = app.admin_put(path, &body).await;
        assert_error(status, &error, StatusCode::UNPROCESSABLE_ENTITY, needle);
    }
    let syntax = app
        .client
        .put(app.url(path))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body("{\"title\": ")
        .send()
        .await
        .expect("put");
    assert_eq!(syntax.status(), StatusCode::BAD_REQUEST);
    assert!(body_json(syntax).await["error"].is_string());
    let not_json = app.client.put(app.url(path)).bearer_auth(TOKEN).body("title=x").send().await.expect("put");
    assert_eq!(not_json.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(body_json(not_json).await["error"].as_str().unwrap_or_default().contains("application/json"));

    let (status, _) = app.admin_get(path).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing was stored");
    let (status, _) = app.ap_get(&app.url("/articles/bad")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn oversized_bodies_are_refused(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &["--max-body-bytes", "65536"]).await else {
        return;
    };
    let mut body = article_json("Huge");
    body["content"] = json!(format!("<p>{}</p>", "x".repeat(70_000)));
    let (status, error) = app.admin_put("/api/admin/articles/huge", &body).await;
    assert_error(status, &error, StatusCode::PAYLOAD_TOO_LARGE, "larger than the limit");
    let (status, _) = app.admin_get("/api/admin/articles/huge").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn comment_errors(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.put_article("a", &article_json("A")).await;
    app.put_article("b", &article_json("B")).await;
    app.put_comment("b", "in-b", &comment_json("Reader", "in b", None)).await;
    app.put_comment("a", "c1", &comment_json("Reader", "first", None)).await;

    let (status, error) = app.admin_put("/api/admin/articles/nope/comments/c1", &comment_json("R", "x", None)).await;
    assert_error(status, &error, StatusCode::NOT_FOUND, "nope");
    let (status, error) =
        app.admin_put("/api/admin/articles/a/comments/c2", &comment_json("R", "x", Some("in-b"))).await;
    assert_error(status, &error, StatusCode::UNPROCESSABLE_ENTITY, "parent 'in-b'");
    let (status, error) = app.admin_put("/api/admin/articles/a/comments/c2", &comment_json("R", "x", Some("c2"))).await;
    assert_error(status, &error, StatusCode::UNPROCESSABLE_ENTITY, "parent 'c2'");
    let (status, error) = app.admin_put("/api/admin/articles/a/comments/c2", &comment_json("R", "  ", None)).await;
    assert_error(status, &error, StatusCode::UNPROCESSABLE_ENTITY, "content");
    let (status, error) = app.admin_put("/api/admin/articles/a/comments/c2", &json!({ "content": "no author" })).await;
    assert_error(status, &error, StatusCode::UNPROCESSABLE_ENTITY, "author");
    let (status, error) =
        app.admin_put("/api/admin/articles/a/comments/c1", &comment_json("Someone Else", "first", None)).await;
    assert_error(status, &error, StatusCode::CONFLICT, "author");
    let (status, error) =
        app.admin_put("/api/admin/articles/a/comments/c1", &comment_json("Reader", "first", Some("c1"))).await;
    assert_error(status, &error, StatusCode::UNPROCESSABLE_ENTITY, "parent");

    let (status, error) = app.admin_delete("/api/admin/articles/a/comments/missing").await;
    assert_error(status, &error, StatusCode::NOT_FOUND, "missing");
    let (status, error) = app.admin_delete("/api/admin/articles/missing").await;
    assert_error(status, &error, StatusCode::NOT_FOUND, "missing");
    let (status, error) = app.admin_get("/api/admin/articles/missing/thread").await;
    assert_error(status, &error, StatusCode::NOT_FOUND, "missing");

    let thread = app.thread("a").await;
    let ids: Vec<&str> = thread["comments"].as_array().into_iter().flatten().filter_map(|c| c["id"].as_str()).collect();
    assert_eq!(ids, vec!["c1"], "nothing else was stored");
    assert_eq!(thread["comments"][0]["content"], "<p>first</p>");

    app.admin_delete("/api/admin/articles/a/comments/c1").await;
    let (status, error) =
        app.admin_put("/api/admin/articles/a/comments/c1", &comment_json("Reader", "back", None)).await;
    assert_error(status, &error, StatusCode::CONFLICT, "deleted");
}

async fn admin_needs_the_token(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let path = app.url("/api/admin/articles/a");
    let none = app.client.put(&path).json(&article_json("A")).send().await.expect("put");
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert!(body_json(none).await["error"].is_string());
    let wrong = app.client.put(&path).bearer_auth("guess").json(&article_json("A")).send().await.expect("put");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let (status, _) = app.admin_get("/api/admin/articles/a").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing stored by refused requests");
}

async fn no_token_configured_refuses_everything(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &["--admin-token", ""]).await else {
        return;
    };
    let (status, error) = app.admin_put("/api/admin/articles/a", &article_json("A")).await;
    assert_error(status, &error, StatusCode::FORBIDDEN, "THREADBRIDGE_ADMIN_TOKEN");
}

async fn odd_input_never_crashes(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let response = app
        .client
        .put(app.url("/api/admin/articles/deep"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(deep)
        .send()
        .await
        .expect("put");
    assert!(response.status().is_client_error());
    let long_key = "k".repeat(300);
    let (status, _) = app.admin_put(&format!("/api/admin/articles/{long_key}"), &article_json("A")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    app.put_article("paged", &article_json("Paged")).await;
    for bad_page in ["-1", "0", "1.5", "many"] {
        let (status, error) = app.ap_get(&app.url(&format!("/articles/paged/replies?page={bad_page}"))).await;
        assert_error(status, &error, StatusCode::BAD_REQUEST, "page");
    }
    let (status, error) = app.ap_get(&app.url("/articles/paged/replies?page=1&page=2")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error["error"].is_string(), "a JSON error: {error}");
    let (status, _) = app.ap_get(&app.url("/users/site/outbox?page=abc")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let mut body = article_json("\u{202e}Unicode \u{0000} title");
    body["content"] = json!("<p>nul \u{0000} and emoji 🧨</p>");
    let (status, _) = app.admin_put("/api/admin/articles/ctl", &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "control characters in a title are refused");
    let (_, health) = app.admin_get("/health").await;
    assert_eq!(health["status"], "ok", "still serving");
}

/// Values a database would choke on are refused before they reach it.
async fn values_both_databases_can_hold(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.put_article("a", &article_json("A")).await;
    for when in ["0000-06-01T00:00:00Z", "9999-12-31T23:00:00-05:00"] {
        let mut body = comment_json("Reader", "old", None);
        body["published"] = json!(when);
        let (status, error) = app.admin_put("/api/admin/articles/a/comments/old", &body).await;
        assert_error(status, &error, StatusCode::UNPROCESSABLE_ENTITY, "published");
        let mut article = article_json("Old");
        article["published"] = json!(when);
        let (status, error) = app.admin_put("/api/admin/articles/old", &article).await;
        assert_error(status, &error, StatusCode::UNPROCESSABLE_ENTITY, "published");
    }
    let mut body = article_json("Alt");
    body["image"] = json!({ "url": "https://news.example/i.jpg", "alt": "a\u{0}b" });
    let (status, error) = app.admin_put("/api/admin/articles/alt", &body).await;
    assert_error(status, &error, StatusCode::UNPROCESSABLE_ENTITY, "image.alt");
    body["image"] = json!({ "url": "https://news.example/i.jpg", "alt": "x".repeat(2_000) });
    let (status, error) = app.admin_put("/api/admin/articles/alt", &body).await;
    assert_error(status, &error, StatusCode::UNPROCESSABLE_ENTITY, "image.alt");
    let mut body = article_json("Nul in content");
    body["content"] = json!("<p>nul \u{0} here</p>");
    let (status, stored) = app.admin_put("/api/admin/articles/nul", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{stored}");
    assert!(!stored["content"].as_str().unwrap_or_default().contains('\u{0}'));
    let (status, _) =
        app.admin_put("/api/admin/articles/a/comments/nul", &comment_json("Reader", "a\u{0}b", None)).await;
    assert!(status.is_success(), "NUL in a comment is dropped, not stored: {status}");
    let thread = app.thread("a").await;
    assert!(!thread.to_string().contains("\\u0000"), "{thread}");

    // URL libraries fold `%2E` into dot segments, so these go out as raw HTTP, as curl sends them.
    for path in ["/api/admin/articles/%2E", "/api/admin/articles/%2E%2E", "/api/admin/articles/a/comments/%2E%2E"] {
        let (status, body) = raw_put(&app, path, &article_json("Dots")).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(body.contains("cannot be '.' or '..'"), "{path}: {body}");
    }
    let (status, body) = raw_put(&app, "/api/admin/articles/%2E%2E", &json!({})).await;
    assert_eq!(status, 400, "the key is checked before the body: {body}");
    assert!(body.contains("'..'"), "{body}");
    let mut only_script = comment_json("R", "<script>alert(1)</script>", None);
    only_script["format"] = json!("html");
    let (status, error) = app.admin_put("/api/admin/articles/a/comments/empty", &only_script).await;
    assert_error(status, &error, StatusCode::UNPROCESSABLE_ENTITY, "no text");
    let ids: Vec<String> = app.thread("a").await["comments"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["id"].as_str().map(String::from))
        .collect();
    assert_eq!(ids, vec!["nul".to_string()], "only the NUL comment was stored");
}

both_backends!(
    values_both_databases_can_hold,
    article_fields_are_checked,
    oversized_bodies_are_refused,
    comment_errors,
    admin_needs_the_token,
    no_token_configured_refuses_everything,
    odd_input_never_crashes,
);
