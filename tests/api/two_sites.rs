//! Two threadbridge sites federating with each other over loopback, each on its own database:
//! site A follows site B's site actor by its handle; B's articles and comments reach A as a
//! followed article with its thread; A's commenters answer it and B's commenters answer back,
//! each reply landing in the other's thread where it belongs.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;

const WAIT: Duration = Duration::from_secs(20);

async fn admin_send(app: &TestApp, method: Method, path: &str, body: &Value) -> (StatusCode, Value) {
    let response =
        app.client.request(method, app.url(path)).bearer_auth(TOKEN).json(body).send().await.expect("admin request");
    (response.status(), body_json(response).await)
}

/// Polls `read` every 50 ms until `done` holds of what it gives, and returns that; panics with
/// the last value after [`WAIT`].
async fn eventually<F, Fut>(what: &str, read: F, done: impl Fn(&Value) -> bool) -> Value
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Value>,
{
    let deadline = Instant::now() + WAIT;
    loop {
        let value = read().await;
        if done(&value) {
            return value;
        }
        if Instant::now() >= deadline {
            panic!("{what}: not seen within {WAIT:?}; last:\n{value:#}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn following(app: &TestApp) -> Value {
    app.admin_get("/api/admin/following").await.1
}

async fn followed_articles(app: &TestApp) -> Value {
    app.admin_get("/api/admin/following/articles").await.1
}

/// The thread, or null while the article is not there.
async fn thread_or_null(app: &TestApp, key: &str) -> Value {
    let (status, body) = app.admin_get(&format!("/api/admin/articles/{key}/thread")).await;
    if status == StatusCode::OK {
        body
    } else {
        Value::Null
    }
}

fn comment_with<'a>(thread: &'a Value, text: &str) -> Option<&'a Value> {
    thread["comments"].as_array()?.iter().find(|c| c["content"].as_str().is_some_and(|s| s.contains(text)))
}

fn host(app: &TestApp) -> String {
    app.address.trim_start_matches("http://").to_string()
}

both_backends!(a_site_follows_another_and_their_readers_answer_each_other);

async fn a_site_follows_another_and_their_readers_answer_each_other(backend: Backend) {
    let Some(a) = spawn_app(backend).await else { return };
    let b = spawn_app(backend).await.expect("the second site's database");

    // A follows B's site by its handle; B accepts.
    let handle = format!("@site@{}", host(&b));
    let (status, asked) = admin_send(&a, Method::POST, "/api/admin/following", &json!({ "actor": handle })).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{asked}");
    assert_eq!(asked["actor"], json!(b.site_actor()));
    eventually("A's follow accepted", || following(&a), |f| f["items"][0]["state"] == "accepted").await;
    let b_followers = b.followers().await;
    assert_eq!(b_followers.len(), 1, "{b_followers:?}");
    assert_eq!(b_followers[0]["actor"], json!(a.site_actor()));

    // B publishes: A keeps it as a followed article.
    let published = b.put_article("summit", &article_json("Summit in Moscow")).await;
    let b_article_id = published["ap_id"].as_str().expect("ap_id").to_string();
    let list = eventually("B's article at A", || followed_articles(&a), |l| l["total"] == 1).await;
    let mirror = &list["items"][0];
    let key = mirror["key"].as_str().expect("key").to_string();
    assert!(key.starts_with("f-"), "{mirror}");
    assert_eq!(mirror["ap_id"], json!(b_article_id));
    assert_eq!(mirror["followed"]["author_ap_id"], json!(b.site_actor()));
    // Sent as a Note (the default): its title leads, then the summary and the link.
    assert_eq!(mirror["title"], "Summit in Moscow", "{mirror}");
    assert!(mirror["content"].as_str().is_some_and(|c| c.contains("Talks on a peace treaty restart.")), "{mirror}");
    assert_eq!(mirror["author"]["handle"], json!(format!("@site@{}", host(&b))), "{mirror}");
    assert_eq!(mirror["author"]["url"], json!(b.site_actor()), "{mirror}");
    // It is not A's to serve, nor in A's outbox.
    let (status, _) = a.ap_get(&a.url(&format!("/articles/{key}"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, outbox) = a.ap_get(&a.url("/users/site/outbox")).await;
    assert_eq!(outbox["totalItems"], 0, "{outbox}");
    // Nor can A's admin rewrite it.
    let (status, body) = a.admin_put(&format!("/api/admin/articles/{key}"), &article_json("Mine now")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // A comment on B's site reaches A's copy of the thread (A follows B's site).
    b.put_comment("summit", "c1", &comment_json("maria", "Finally some diplomacy.", None)).await;
    let thread = eventually(
        "B's comment in A's thread",
        || thread_or_null(&a, &key),
        |t| comment_with(t, "Finally some diplomacy.").is_some(),
    )
    .await;
    let from_b = comment_with(&thread, "Finally some diplomacy.").expect("B's comment");
    assert_eq!(from_b["origin"], "remote");
    assert_eq!(from_b["parent"], Value::Null);
    assert_eq!(from_b["author"]["handle"], json!(format!("@maria@{}", host(&b))));

    // A's reader answers B's article: it lands in B's thread, from A's reader.
    a.put_comment(&key, "a1", &comment_json("ivan", "Read this from site A.", None)).await;
    let thread = eventually(
        "A's reply in B's thread",
        || thread_or_null(&b, "summit"),
        |t| comment_with(t, "Read this from site A.").is_some(),
    )
    .await;
    let from_a = comment_with(&thread, "Read this from site A.").expect("A's reply");
    assert_eq!(from_a["origin"], "remote");
    assert_eq!(from_a["status"], "visible");
    assert_eq!(from_a["parent"], Value::Null);
    assert_eq!(from_a["author"]["handle"], json!(format!("@ivan@{}", host(&a))));
    assert_eq!(from_a["ap_id"], json!(a.url(&format!("/articles/{key}/comments/a1"))));
    let reply_key = from_a["id"].as_str().expect("id").to_string();

    // B's reader answers A's reader: A's thread shows it under A's comment.
    b.put_comment("summit", "c2", &comment_json("olga", "Welcome, site A.", Some(&reply_key))).await;
    let thread = eventually(
        "B's answer in A's thread",
        || thread_or_null(&a, &key),
        |t| comment_with(t, "Welcome, site A.").is_some(),
    )
    .await;
    let answer = comment_with(&thread, "Welcome, site A.").expect("B's answer");
    assert_eq!(answer["parent"], "a1");
    assert_eq!(answer["depth"], 2);
    assert_eq!(answer["author"]["handle"], json!(format!("@olga@{}", host(&b))));

    // B edits its article: A's copy follows.
    let mut edited = article_json("Summit in Moscow, updated");
    edited["updated"] = json!("2015-09-23T08:00:00+03:00");
    b.put_article("summit", &edited).await;
    eventually("the edit at A", || thread_or_null(&a, &key), |t| t["article"]["title"] == "Summit in Moscow, updated")
        .await;

    // B deletes its article: A's copy is deleted too, and A's readers can no longer answer it.
    let (status, _) = b.admin_delete("/api/admin/articles/summit").await;
    assert_eq!(status, StatusCode::OK);
    eventually("the deletion at A", || followed_articles(&a), |l| l["total"] == 0).await;
    assert_eq!(a.thread(&key).await["article"]["status"], "deleted");
    let (status, body) =
        a.admin_put(&format!("/api/admin/articles/{key}/comments/a2"), &comment_json("ivan", "Too late?", None)).await;
    assert_eq!(status, StatusCode::GONE, "{body}");

    // A unfollows: B no longer has A as a follower.
    let (status, body) =
        admin_send(&a, Method::DELETE, "/api/admin/following", &json!({ "actor": b.site_actor() })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(following(&a).await["total"], 0);
    let deadline = Instant::now() + WAIT;
    while !b.followers().await.is_empty() {
        assert!(Instant::now() < deadline, "B still lists A as a follower");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // B's next article does not reach A (A holds no followed article since B's deletion).
    b.put_article("later", &article_json("Later news")).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(followed_articles(&a).await["total"], 0);
}

both_backends!(following_refuses_what_cannot_be_followed);

async fn following_refuses_what_cannot_be_followed(backend: Backend) {
    let Some(a) = spawn_app(backend).await else { return };
    for (body, why) in [
        (json!({}), "no actor"),
        (json!({ "actor": "" }), "empty"),
        (json!({ "actor": "not a handle" }), "not a handle"),
        (json!({ "actor": format!("@nobody@{}", host(&a)) }), "unknown account"),
        (json!({ "actor": a.site_actor() }), "itself"),
    ] {
        let (status, answer) = admin_send(&a, Method::POST, "/api/admin/following", &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{why}: {answer}");
        assert!(answer["error"].is_string(), "{why}: {answer}");
    }
    assert_eq!(following(&a).await["total"], 0);
    let (status, _) =
        admin_send(&a, Method::DELETE, "/api/admin/following", &json!({ "actor": "https://x.example/u" })).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
