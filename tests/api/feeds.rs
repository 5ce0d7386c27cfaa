//! Feeds the service polls: a site's RSS served by a test server on loopback, polled through
//! `POST /api/admin/feeds/{id}/poll` with the worker off (`--feed-worker 0`), so the test says
//! when; one test leaves the worker to poll on its own.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode as HttpStatus};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;
use crate::peer::{ActorOpts, Peer};

#[derive(Default)]
struct Served {
    /// The feed document, and its ETag.
    rss: String,
    etag: String,
    /// The `If-None-Match` of every request of the feed.
    conditional: Vec<Option<String>>,
    /// The comment feed (`/comments/`) and its media type.
    comments: String,
    comments_type: &'static str,
    /// The `If-None-Match` of every request of the comment feed.
    comments_conditional: Vec<Option<String>>,
}

/// A site on loopback: `/feed/` (RSS with an ETag, 304 when it matches), `/page` (an HTML
/// page), `/loop` (a redirect to itself) and `/endless` (a body that never ends).
struct Site {
    address: String,
    served: Arc<Mutex<Served>>,
}

impl Site {
    async fn start() -> Site {
        let served = Arc::new(Mutex::new(Served::default()));
        let app = Router::new()
            .route("/feed/", get(feed))
            .route(
                "/page",
                get(|| async {
                    (
                        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                        "<!doctype html><title>Gazette</title><p>Hello</p>",
                    )
                }),
            )
            .route("/loop", get(|| async { (HttpStatus::FOUND, [(header::LOCATION, "/loop")]) }))
            .route("/endless", get(endless))
            .route("/comments/", get(comments))
            .with_state(served.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Site { address, served }
    }

    fn serve(&self, items: &[Item]) {
        let mut served = self.served.lock().expect("lock");
        served.rss = rss(items);
        served.etag = format!("\"v{}\"", served.rss.len());
    }

    fn serve_comments(&self, media_type: &'static str, document: String) {
        let mut served = self.served.lock().expect("lock");
        served.comments = document;
        served.comments_type = media_type;
    }

    fn conditional(&self) -> Vec<Option<String>> {
        self.served.lock().expect("lock").conditional.clone()
    }
}

async fn feed(State(served): State<Arc<Mutex<Served>>>, headers: HeaderMap) -> Response {
    let mut served = served.lock().expect("lock");
    let asked = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).map(str::to_string);
    served.conditional.push(asked.clone());
    if asked.as_deref() == Some(served.etag.as_str()) {
        return HttpStatus::NOT_MODIFIED.into_response();
    }
    (
        [(header::CONTENT_TYPE, "application/rss+xml; charset=UTF-8"), (header::ETAG, served.etag.as_str())],
        served.rss.clone(),
    )
        .into_response()
}

/// The comment feed, with an ETag of its length; 304 when it matches.
async fn comments(State(served): State<Arc<Mutex<Served>>>, headers: HeaderMap) -> Response {
    let mut served = served.lock().expect("lock");
    let asked = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).map(str::to_string);
    served.comments_conditional.push(asked.clone());
    let etag = format!("\"c{}\"", served.comments.len());
    if asked.as_deref() == Some(etag.as_str()) {
        return HttpStatus::NOT_MODIFIED.into_response();
    }
    ([(header::CONTENT_TYPE, served.comments_type.to_string()), (header::ETAG, etag)], served.comments.clone())
        .into_response()
}

async fn endless() -> Response {
    let chunk = Bytes::from(vec![b' '; 64 * 1024]);
    let stream = futures::stream::repeat_with(move || Ok::<_, std::convert::Infallible>(chunk.clone()));
    ([(header::CONTENT_TYPE, "application/rss+xml")], Body::from_stream(stream)).into_response()
}

struct Item {
    guid: &'static str,
    title: &'static str,
    day: u32,
    body: &'static str,
}

fn rss(items: &[Item]) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\" \
         xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\n<channel>\n<title>Harbour Gazette</title>\n\
         <link>https://gazette.example</link>\n<description>News from the harbour town</description>\n",
    );
    for item in items {
        out.push_str(&format!(
            "<item>\n<title>{}</title>\n<link>https://gazette.example/{}/</link>\n<dc:creator><![CDATA[Hannah Editor]]></dc:creator>\n\
             <pubDate>{:02} Mar 2026 09:00:00 +0000</pubDate>\n<category><![CDATA[Harbour News]]></category>\n\
             <guid isPermaLink=\"false\">https://gazette.example/?p={}</guid>\n<description><![CDATA[{}]]></description>\n\
             <content:encoded><![CDATA[<p>{}</p>]]></content:encoded>\n</item>\n",
            item.title, item.guid, item.day, item.guid, item.body, item.body
        ));
    }
    out.push_str("</channel>\n</rss>\n");
    out
}

const NO_WORKER: &[&str] = &["--feed-worker", "0"];

async fn add_feed(app: &TestApp, body: &Value) -> (StatusCode, Value) {
    let response =
        app.client.post(app.url("/api/admin/feeds")).bearer_auth(TOKEN).json(body).send().await.expect("post");
    (response.status(), body_json(response).await)
}

async fn poll(app: &TestApp, id: i64) -> Value {
    let (status, feed) = app.admin_post(&format!("/api/admin/feeds/{id}/poll")).await;
    assert_eq!(status, StatusCode::OK, "{feed}");
    feed
}

/// The site's articles as the admin lists them: `(title, key)`, newest first.
async fn articles(app: &TestApp) -> Vec<(String, String)> {
    let (_, list) = app.admin_get("/api/admin/articles").await;
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|a| (text(&a["title"]).to_string(), text(&a["key"]).to_string()))
        .collect()
}

/// Creates of article objects the follower's server received.
fn creates(peer: &Peer) -> Vec<String> {
    peer.received().iter().filter(|r| r.is_verified("Create")).map(|r| r.object_id().to_string()).collect()
}

/// A feed added with `deliver_existing: 1`: its three items come in at the first poll, the
/// newest alone delivered; later a new item is delivered, an edited one sent as an Update, one
/// that dropped out stays; an unchanged feed is asked with its ETag and answers 304.
async fn a_feed_brings_its_new_items_to_followers(backend: Backend) {
    let Some(app) = spawn_app_with(backend, NO_WORKER).await else { return };
    let peer = Peer::start().await;
    peer.add_actor("alice", ActorOpts::default());
    follow_site(&app, &peer, "alice").await;
    let site = Site::start().await;
    site.serve(&[
        Item { guid: "103", title: "Ferry timetable for the winter", day: 3, body: "Four crossings a day." },
        Item { guid: "102", title: "Harbour fees: the vote", day: 2, body: "Seven to four." },
        Item { guid: "101", title: "The old ferry returns", day: 1, body: "After eleven years." },
    ]);
    let feed_url = format!("{}/feed/", site.address);
    let (status, feed) = add_feed(&app, &json!({ "url": feed_url, "deliver_existing": 1 })).await;
    assert_eq!(status, StatusCode::CREATED, "{feed}");
    assert_eq!(
        (&feed["url"], &feed["items"], &feed["last_polled_at"], &feed["last_error"]),
        (&json!(feed_url), &json!(0), &Value::Null, &Value::Null)
    );
    assert_eq!((&feed["interval_seconds"], &feed["deliver_existing"]), (&json!(900), &json!(1)));
    let id = feed["id"].as_i64().expect("id");

    let polled = poll(&app, id).await;
    assert_eq!((&polled["items"], &polled["last_error"]), (&json!(3), &Value::Null), "{polled}");
    assert!(polled["last_polled_at"].is_string());
    let listed = articles(&app).await;
    let titles: Vec<&str> = listed.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(titles, ["Ferry timetable for the winter", "Harbour fees: the vote", "The old ferry returns"]);
    let newest = app.url(&format!("/articles/{}", listed[0].1));
    let (_, article) = app.admin_get(&format!("/api/admin/articles/{}", listed[0].1)).await;
    assert_eq!(article["url"], "https://gazette.example/103/");
    assert_eq!(article["published"], "2026-03-03T09:00:00Z");
    assert_eq!(article["author"]["name"], "Hannah Editor");
    assert_eq!(article["tags"], json!(["HarbourNews"]));
    assert_eq!(article["content"], "<p>Four crossings a day.</p>");
    peer.wait_for(|_| creates(&peer).contains(&newest), Duration::from_secs(15)).await;

    // A new item, an edited one, one gone.
    site.serve(&[
        Item { guid: "104", title: "Storm closes the quay", day: 4, body: "No crossings today." },
        Item { guid: "103", title: "Ferry timetable for the winter", day: 3, body: "Five crossings a day, not four." },
        Item { guid: "102", title: "Harbour fees: the vote", day: 2, body: "Seven to four." },
    ]);
    let polled = poll(&app, id).await;
    assert_eq!(polled["items"], 4, "{polled}");
    let listed = articles(&app).await;
    assert_eq!(listed.len(), 4, "the item that dropped out of the feed stays: {listed:?}");
    let storm = app.url(&format!("/articles/{}", listed[0].1));
    assert_eq!(listed[0].0, "Storm closes the quay");
    peer.wait_for(
        |all| creates(&peer).contains(&storm) && all.iter().any(|r| r.is_verified("Update") && r.object_id() == newest),
        Duration::from_secs(15),
    )
    .await;
    let (_, edited) = app.admin_get(&format!("/api/admin/articles/{}", listed[1].1)).await;
    assert_eq!(edited["content"], "<p>Five crossings a day, not four.</p>");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut delivered = creates(&peer);
    delivered.sort();
    let mut expected = vec![newest.clone(), storm.clone()];
    expected.sort();
    assert_eq!(delivered, expected, "the archive items were not delivered");

    // Unchanged: asked with the ETag, answered 304, nothing new.
    let polled = poll(&app, id).await;
    assert_eq!((&polled["items"], &polled["last_error"]), (&json!(4), &Value::Null));
    let conditional = site.conditional();
    assert_eq!(conditional.first(), Some(&None), "the first poll is unconditional");
    assert!(conditional.last().is_some_and(|c| c.as_deref().is_some_and(|e| e.starts_with("\"v"))), "{conditional:?}");

    let (_, list) = app.admin_get("/api/admin/feeds").await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list["items"][0]["items"], 4);
    let (status, removed) = app.admin_delete(&format!("/api/admin/feeds/{id}")).await;
    assert_eq!((status, &removed["id"]), (StatusCode::OK, &json!(id)));
    let (_, list) = app.admin_get("/api/admin/feeds").await;
    assert_eq!(list["items"], json!([]));
    assert_eq!(articles(&app).await.len(), 4, "a removed feed's articles stay");
    assert_eq!(app.admin_delete(&format!("/api/admin/feeds/{id}")).await.0, StatusCode::NOT_FOUND);
}

/// What goes wrong with feeds is said in the feed's `last_error`, and each failure doubles the
/// wait before the next poll; a feed that works again is polled at its interval.
async fn a_broken_feed_says_why_and_backs_off(backend: Backend) {
    let Some(app) = spawn_app_with(backend, NO_WORKER).await else { return };
    let site = Site::start().await;
    for (body, message) in [
        (
            json!({ "url": "ftp://gazette.example/feed" }),
            "url: refused URL ftp://gazette.example/feed: not an http(s) URL",
        ),
        (json!({ "url": "https://gazette.example/feed", "interval_seconds": 5 }), "interval_seconds: from 60 to 86400"),
        (json!({ "url": "https://gazette.example/feed", "deliver_existing": 500 }), "deliver_existing: from 0 to 50"),
    ] {
        let (status, answer) = add_feed(&app, &body).await;
        assert_eq!((status, text(&answer["error"])), (StatusCode::UNPROCESSABLE_ENTITY, message));
    }
    let cases = [
        ("/page", "answered an HTML page (text/html; charset=utf-8), not RSS, Atom or JSON Feed"),
        ("/loop", "redirects more than 5 times"),
        ("/endless", "is larger than 10 MiB"),
        ("/missing", "answered 404 Not Found"),
    ];
    for (path, error) in cases {
        let (status, feed) =
            add_feed(&app, &json!({ "url": format!("{}{path}", site.address), "interval_seconds": 600 })).await;
        assert_eq!(status, StatusCode::CREATED, "{feed}");
        let id = feed["id"].as_i64().expect("id");
        let polled = poll(&app, id).await;
        assert!(text(&polled["last_error"]).contains(error), "{path}: {polled}");
        assert_eq!(polled["failures"], 1);
        let again = poll(&app, id).await;
        assert_eq!(again["failures"], 2);
        let wait = chrono::DateTime::parse_from_rfc3339(text(&again["next_poll_at"])).expect("date")
            - chrono::DateTime::parse_from_rfc3339(text(&again["last_polled_at"])).expect("date");
        assert_eq!(wait.num_seconds(), 2400, "twice doubled: {again}");
    }
    let (status, answer) = add_feed(&app, &json!({ "url": format!("{}/page", site.address) })).await;
    assert_eq!((status, text(&answer["error"]).starts_with("the feed")), (StatusCode::CONFLICT, true), "{answer}");
    assert!(articles(&app).await.is_empty());

    // Fixed: the next poll clears the error.
    site.serve(&[Item { guid: "201", title: "Back online", day: 5, body: "Sorry for the trouble." }]);
    let (_, feed) = add_feed(&app, &json!({ "url": format!("{}/feed/", site.address), "interval_seconds": 600 })).await;
    let id = feed["id"].as_i64().expect("id");
    let polled = poll(&app, id).await;
    assert_eq!((&polled["failures"], &polled["last_error"], &polled["items"]), (&json!(0), &Value::Null, &json!(1)));

    // Without dev mode a loopback feed is refused.
    let Some(public) = spawn_app_with(backend, &["--dev", "0"]).await else { return };
    let (status, answer) = add_feed(&public, &json!({ "url": format!("{}/feed/", site.address) })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(&answer["error"]).contains("only https:// is allowed"), "{answer}");
}

/// With the worker on, a feed given in `THREADBRIDGE_FEEDS` is added at start and polled on
/// its own: its item becomes an article without anyone asking.
async fn configured_feeds_are_polled_by_the_worker(backend: Backend) {
    let site = Site::start().await;
    site.serve(&[Item { guid: "301", title: "Polled on its own", day: 6, body: "Nobody asked." }]);
    let feed_url = format!("{}/feed/", site.address);
    let Some(app) = spawn_app_with(backend, &["--feeds", &feed_url]).await else { return };
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let (_, list) = app.admin_get("/api/admin/feeds").await;
        if list["items"][0]["items"] == 1 {
            assert_eq!(list["items"][0]["url"], feed_url);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not polled: {list}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(articles(&app).await[0].0, "Polled on its own");
    // A restart with the same setting adds nothing twice.
    let again = spawn_sibling_with(&app, &["--feeds", &feed_url, "--feed-worker", "0"]).await;
    let (_, list) = again.admin_get("/api/admin/feeds").await;
    assert_eq!(list["total"], 1, "{list}");
}

/// One comment of an Atom comment feed in WordPress's shape (`/comments/feed/atom/`): post 401,
/// comment `id`, answering `answers` (the post's guid or a comment's id).
fn atom_comment(id: u32, answers: &str, name: &str, minute: u32, text: &str) -> String {
    format!(
        "<entry>\n<title type=\"html\">Comment on Ferry timetable by {name}</title>\n\
         <link rel=\"alternate\" href=\"https://gazette.example/401/#comment-{id}\" type=\"text/html\"/>\n\
         <author><name>{name}</name></author>\n<id>https://gazette.example/?p=401#comment-{id}</id>\n\
         <updated>2026-03-07T09:{minute:02}:00Z</updated>\n<published>2026-03-07T09:{minute:02}:00Z</published>\n\
         <content type=\"html\"><![CDATA[<p>{text}</p>]]></content>\n\
         <thr:in-reply-to ref=\"{answers}\" href=\"https://gazette.example/401/\" type=\"text/html\"/>\n</entry>\n"
    )
}

fn atom_comments(entries: &[String]) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\" \
         xmlns:thr=\"http://purl.org/syndication/thread/1.0\" xml:lang=\"en-GB\">\n\
         <title type=\"text\">Comments for Harbour Gazette</title>\n<id>https://gazette.example/comments/feed/atom/</id>\n\
         <updated>2026-03-07T10:00:00Z</updated>\n{}</feed>\n",
        entries.concat()
    )
}

/// A site's comment feed (Atom, threaded with `thr:in-reply-to`) brings its comments under the
/// right article and parent; the ones there at the first poll are not delivered, a later one is.
async fn a_comment_feed_brings_threaded_comments(backend: Backend) {
    let Some(app) = spawn_app_with(backend, NO_WORKER).await else { return };
    let peer = Peer::start().await;
    peer.add_actor("alice", ActorOpts::default());
    follow_site(&app, &peer, "alice").await;
    let site = Site::start().await;
    site.serve(&[Item { guid: "401", title: "Ferry timetable", day: 7, body: "Five crossings a day." }]);
    let post = "https://gazette.example/?p=401";
    let first = atom_comment(11, post, "Ingrid Solberg", 10, "Finally, an evening crossing.");
    let second = atom_comment(12, "https://gazette.example/?p=401#comment-11", "Олег Петров", 20, "Only on weekdays.");
    site.serve_comments("application/atom+xml", atom_comments(&[second.clone(), first.clone()]));
    let (status, feed) = add_feed(
        &app,
        &json!({ "url": format!("{}/feed/", site.address), "comments_url": format!("{}/comments/", site.address) }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{feed}");
    let id = feed["id"].as_i64().expect("id");
    let polled = poll(&app, id).await;
    assert_eq!(polled["last_error"], Value::Null, "{polled}");
    let key = articles(&app).await[0].1.clone();
    let thread = app.thread(&key).await;
    let shape: Vec<(&str, Option<&str>, i64, &str)> = thread["comments"]
        .as_array()
        .expect("comments")
        .iter()
        .map(|c| (text(&c["id"]), c["parent"].as_str(), c["depth"].as_i64().unwrap_or(0), text(&c["author"]["name"])))
        .collect();
    assert_eq!(
        shape,
        [("wp-comment-11", None, 1, "Ingrid Solberg"), ("wp-comment-12", Some("wp-comment-11"), 2, "Олег Петров")]
    );

    let third = atom_comment(13, "https://gazette.example/?p=401#comment-12", "Marta K", 30, "Weekends too from May.");
    site.serve_comments("application/atom+xml", atom_comments(&[third, second, first]));
    poll(&app, id).await;
    let thread = app.thread(&key).await;
    let last = &thread["comments"][2];
    assert_eq!(
        (text(&last["id"]), &last["parent"], &last["depth"]),
        ("wp-comment-13", &json!("wp-comment-12"), &json!(3))
    );
    let delivered = app.url(&format!("/articles/{key}/comments/wp-comment-13"));
    peer.wait_for(|_| creates(&peer).contains(&delivered), Duration::from_secs(15)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let comment_creates: Vec<String> = creates(&peer).into_iter().filter(|c| c.contains("/comments/")).collect();
    assert_eq!(comment_creates, [delivered], "the comments there at the first poll were not delivered");

    // Unchanged: the comment feed is asked with its ETag too.
    let polled = poll(&app, id).await;
    assert_eq!(polled["last_error"], Value::Null, "{polled}");
    let asked = site.served.lock().expect("lock").comments_conditional.clone();
    assert_eq!(asked.first(), Some(&None), "the first poll is unconditional");
    assert!(asked.last().is_some_and(|e| e.as_deref().is_some_and(|e| e.starts_with("\"c"))), "{asked:?}");
    assert_eq!(app.thread(&key).await["comments"].as_array().map(Vec::len), Some(3));
}

/// Without a site-wide comment feed, each item's own (`wfw:commentRss`, RSS in WordPress's
/// shape, which does not say what a comment answers) brings its comments under the article.
async fn an_items_own_comment_feed_is_read(backend: Backend) {
    let Some(app) = spawn_app_with(backend, NO_WORKER).await else { return };
    let site = Site::start().await;
    let rss = rss(&[Item { guid: "501", title: "Quay repairs", day: 8, body: "Work starts Monday." }])
        .replace("</guid>", &format!("</guid>\n<wfw:commentRss>{}/comments/</wfw:commentRss>", site.address));
    let rss =
        rss.replace("<rss version=\"2.0\"", "<rss version=\"2.0\" xmlns:wfw=\"http://wellformedweb.org/CommentAPI/\"");
    {
        let mut served = site.served.lock().expect("lock");
        served.etag = "\"quay\"".into();
        served.rss = rss;
    }
    site.serve_comments(
        "application/rss+xml; charset=UTF-8",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" \
         xmlns:content=\"http://purl.org/rss/1.0/modules/content/\">\n<channel>\n<title>Comments on: Quay repairs</title>\n\
         <link>https://gazette.example/501/</link>\n<description>News</description>\n\
         <item>\n<title>By: Ingrid Solberg</title>\n<link>https://gazette.example/501/#comment-71</link>\n\
         <dc:creator><![CDATA[Ingrid Solberg]]></dc:creator>\n<pubDate>Sun, 08 Mar 2026 10:00:00 +0000</pubDate>\n\
         <guid isPermaLink=\"false\">https://gazette.example/?p=501#comment-71</guid>\n\
         <description><![CDATA[At last.]]></description>\n<content:encoded><![CDATA[<p>At last.</p>]]></content:encoded>\n</item>\n\
         </channel>\n</rss>\n"
            .to_string(),
    );
    let (_, feed) = add_feed(&app, &json!({ "url": format!("{}/feed/", site.address) })).await;
    let polled = poll(&app, feed["id"].as_i64().expect("id")).await;
    assert_eq!(polled["last_error"], Value::Null, "{polled}");
    let key = articles(&app).await[0].1.clone();
    let thread = app.thread(&key).await;
    assert_eq!(thread["comments"].as_array().map(Vec::len), Some(1), "{thread}");
    assert_eq!(
        (text(&thread["comments"][0]["id"]), text(&thread["comments"][0]["content"])),
        ("wp-comment-71", "<p>At last.</p>")
    );
}

both_backends!(
    a_comment_feed_brings_threaded_comments,
    an_items_own_comment_feed_is_read,
    a_feed_brings_its_new_items_to_followers,
    a_broken_feed_says_why_and_backs_off,
    configured_feeds_are_polled_by_the_worker,
);
