//! The public thread: what a visitor of the site may see, without a token, as any page or the
//! embed reads it from the browser (CORS, ETag and 304, paging).

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;
use crate::moderation::send_reply;
use crate::peer::{ActorOpts, Peer};

async fn public_get(app: &TestApp, path: &str, etag: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(app.url(path)).header("Origin", "https://news.example");
    if let Some(etag) = etag {
        request = request.header("If-None-Match", etag);
    }
    request.send().await.expect("public get")
}

fn ids(thread: &Value) -> Vec<String> {
    thread["comments"].as_array().expect("comments").iter().map(|c| text(&c["id"]).to_string()).collect()
}

/// A thread with everything a visitor must not see: a held federated reply, a deleted comment
/// with a reply below it (shown as a placeholder), one without (not shown). The public thread
/// shows the rest, nested as it is, with no private field; the admin thread still shows all.
async fn the_public_thread_shows_what_a_visitor_may_see(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &["--reply-policy", "hold"]).await else { return };
    let peer = Peer::start().await;
    peer.add_actor("alice", ActorOpts::default());
    let article = app.put_article("tram", &article_json("The tram line")).await;
    app.put_comment("tram", "c1", &comment_json("Анна Смирнова", "<p>Finally.</p>", None)).await;
    app.put_comment("tram", "c2", &comment_json("Ivan Petrov", "<p>Agreed, about time.</p>", Some("c1"))).await;
    app.put_comment("tram", "c3", &comment_json("Spammer", "<p>Buy now</p>", None)).await;
    app.put_comment("tram", "c4", &comment_json("Maria", "<p>Who pays for it?</p>", Some("c3"))).await;
    app.put_comment("tram", "c5", &comment_json("Oleg", "<p>Gone soon.</p>", None)).await;
    assert_eq!(app.admin_delete("/api/admin/articles/tram/comments/c3").await.0, StatusCode::OK);
    assert_eq!(app.admin_delete("/api/admin/articles/tram/comments/c5").await.0, StatusCode::OK);
    let held = send_reply(&app, &peer, "alice", 1, text(&article["ap_id"]), "Held for moderation.").await;
    assert_eq!(held["status"], "pending");

    let response = public_get(&app, "/api/public/articles/tram/thread", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    assert!(response.headers()["content-type"].to_str().expect("a header").starts_with("application/json"));
    let etag = response.headers()["etag"].to_str().expect("etag").to_string();
    let thread: Value = response.json().await.expect("json");
    assert_eq!(ids(&thread), ["c1", "c2", "c3", "c4"], "{thread}");
    assert_eq!(thread["total"], 4);
    assert_eq!(thread["article"]["title"], "The tram line");
    let comments = thread["comments"].as_array().expect("comments");
    assert_eq!(comments[0]["author"]["name"], "Анна Смирнова");
    assert_eq!(comments[0]["content"], "<p>Finally.</p>");
    assert_eq!((&comments[1]["parent"], &comments[1]["depth"]), (&json!("c1"), &json!(2)));
    assert_eq!(comments[2]["status"], "deleted");
    assert!(comments[2]["author"].is_null() && comments[2]["content"] == "", "{}", comments[2]);
    assert_eq!((&comments[3]["parent"], &comments[3]["content"]), (&json!("c3"), &json!("<p>Who pays for it?</p>")));
    let body = thread.to_string();
    for private in ["Held for moderation", "Gone soon", "pending", "inbox", "\"username\":\"", "moderated"] {
        assert!(!body.contains(private), "the public thread shows {private:?}: {body}");
    }
    assert_eq!(
        app.thread("tram").await["comments"].as_array().expect("comments").len(),
        6,
        "the admin thread shows all"
    );

    // Unchanged: 304 with no body. Changed (the held reply approved): the new thread.
    let again = public_get(&app, "/api/public/articles/tram/thread", Some(&etag)).await;
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(again.headers()["etag"], etag.as_str());
    assert!(again.bytes().await.expect("body").is_empty());
    let key = text(&held["id"]);
    assert_eq!(app.admin_post(&format!("/api/admin/comments/{key}/approve")).await.0, StatusCode::OK);
    let changed = public_get(&app, "/api/public/articles/tram/thread", Some(&etag)).await;
    assert_eq!(changed.status(), StatusCode::OK);
    assert_ne!(changed.headers()["etag"], etag.as_str());
    let thread: Value = changed.json().await.expect("json");
    let comments = thread["comments"].as_array().expect("comments");
    assert_eq!(comments.len(), 5);
    let approved = comments.iter().find(|c| c["id"] == *key).expect("the approved reply");
    assert!(text(&approved["content"]).contains("Held for moderation."), "{approved}");
    assert_eq!(approved["author"]["name"], held["author"]["name"]);
}

/// A long thread is read a page at a time, in thread order; a bad page or key is a JSON error.
async fn the_public_thread_pages_and_refuses_bad_requests(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.put_article("long", &article_json("A long discussion")).await;
    for n in 1..=5 {
        let parent = (n % 2 == 0).then(|| format!("c{}", n - 1));
        let body = comment_json(&format!("Reader {n}"), &format!("<p>Comment {n}</p>"), parent.as_deref());
        app.put_comment("long", &format!("c{n}"), &body).await;
    }
    let page: Value =
        public_get(&app, "/api/public/articles/long/thread?page=2&per_page=2", None).await.json().await.expect("json");
    assert_eq!(ids(&page), ["c3", "c4"], "{page}");
    assert_eq!((&page["total"], &page["page"], &page["per_page"]), (&json!(5), &json!(2), &json!(2)));
    let last: Value =
        public_get(&app, "/api/public/articles/long/thread?page=3&per_page=2", None).await.json().await.expect("json");
    assert_eq!(ids(&last), ["c5"]);

    for (path, status) in [
        ("/api/public/articles/nope/thread", StatusCode::NOT_FOUND),
        ("/api/public/articles/long/thread?page=0", StatusCode::BAD_REQUEST),
        ("/api/public/articles/long/thread?per_page=501", StatusCode::BAD_REQUEST),
        ("/api/public/articles/long/thread?page=x", StatusCode::BAD_REQUEST),
    ] {
        let response = public_get(&app, path, None).await;
        assert_eq!(response.status(), status, "{path}");
        let error: Value = response.json().await.expect("a JSON error");
        assert!(error["error"].is_string(), "{path}: {error}");
    }
    assert_eq!(app.admin_delete("/api/admin/articles/long").await.0, StatusCode::OK);
    assert_eq!(public_get(&app, "/api/public/articles/long/thread", None).await.status(), StatusCode::GONE);

    // The preflight of a read that sends If-None-Match itself.
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/public/articles/long/thread"))
        .header("Origin", "https://news.example")
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "if-none-match")
        .send()
        .await
        .expect("preflight");
    assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
    assert!(preflight.headers()["access-control-allow-headers"].to_str().expect("a header").contains("If-None-Match"));
}

/// The article's author is credited on link previews of its page: the admin answer gives the
/// `fediverse:creator` line for the page's head, and the author's actor names the page's domain
/// in `attributionDomains` (what Mastodon checks before showing the author). A commenter who
/// wrote no article has none.
async fn the_author_is_credited_on_link_previews(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let article = app.put_article("treaty", &article_json("Peace treaty talks")).await;
    let handle = text(&article["author"]["handle"]).to_string();
    assert!(handle.starts_with('@') && handle.matches('@').count() == 2, "{handle}");
    assert_eq!(article["fediverse_creator"], format!("<meta name=\"fediverse:creator\" content=\"{handle}\">"));
    let (_, same) = app.admin_get("/api/admin/articles/treaty").await;
    assert_eq!(same["fediverse_creator"], article["fediverse_creator"]);

    let (status, author) = app.ap_get(text(&article["author"]["url"])).await;
    assert_eq!(status, StatusCode::OK);
    let domains = author["attributionDomains"].as_array().expect("attributionDomains");
    assert!(domains.contains(&json!("news.example")), "{author}");
    let context = author["@context"].to_string();
    assert!(context.contains("toot:attributionDomains"), "{context}");

    let comment = app.put_comment("treaty", "c1", &comment_json("Ivan Petrov", "<p>At last.</p>", None)).await;
    let (_, commenter) = app.ap_get(text(&comment["author"]["url"])).await;
    assert_eq!(commenter["type"], "Person");
    assert!(commenter.get("attributionDomains").is_none(), "{commenter}");
}

/// The admin lists the site's articles, newest first, a page at a time.
async fn the_admin_lists_the_articles(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    for (n, day) in [(1, "21"), (2, "23"), (3, "22")] {
        let mut body = article_json(&format!("Article {n}"));
        body["published"] = json!(format!("2015-09-{day}T06:00:00+03:00"));
        app.put_article(&format!("a{n}"), &body).await;
    }
    assert_eq!(app.admin_delete("/api/admin/articles/a1").await.0, StatusCode::OK);
    let (status, page) = app.admin_get("/api/admin/articles?page=1&per_page=1").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!((&page["total"], &page["page"], &page["per_page"]), (&json!(2), &json!(1), &json!(1)));
    assert_eq!(page["items"][0]["key"], "a2");
    assert_eq!(page["items"][0]["title"], "Article 2");
    let (_, all) = app.admin_get("/api/admin/articles").await;
    let keys: Vec<_> = all["items"].as_array().expect("items").iter().map(|a| a["key"].clone()).collect();
    assert_eq!(keys, [json!("a2"), json!("a3")]);
    let refused = app.client.get(app.url("/api/admin/articles")).send().await.expect("no token");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
}

/// The embedded thread reads without JavaScript: nested as it is, a placeholder keeping its
/// reply, a federated reply's content warning folded with its media described, names escaped,
/// and for each item the address to answer it from one's own server. It may be framed only by
/// the configured origins, loads nothing from elsewhere and sets no cookie.
async fn the_embed_page_reads_without_javascript(backend: Backend) {
    let Some(app) =
        spawn_app_with(backend, &["--embed-origins", "https://news.example, https://www.news.example:8443"]).await
    else {
        return;
    };
    let peer = Peer::start().await;
    peer.add_actor("alice", ActorOpts::default());
    let article = app.put_article("tram", &article_json("The tram line")).await;
    app.put_comment("tram", "c1", &comment_json("Анна <Смирнова>", "<p>Finally.</p>", None)).await;
    app.put_comment("tram", "c2", &comment_json("Ivan Petrov", "<p>Agreed.</p>", Some("c1"))).await;
    app.put_comment("tram", "c3", &comment_json("Spammer", "<p>Buy now</p>", None)).await;
    app.put_comment("tram", "c4", &comment_json("Maria", "Quote: Spammer\nBuy now\n\nNo thanks.", Some("c3"))).await;
    assert_eq!(app.admin_delete("/api/admin/articles/tram/comments/c3").await.0, StatusCode::OK);
    let mut note = mastodon_note(&peer, "alice", 7, text(&article["ap_id"]), "<p>The works will be loud.</p>");
    note["summary"] = json!("Noise &amp; dust &gt; 80 dB");
    note["sensitive"] = json!(true);
    note["attachment"] = json!([{ "type": "Document", "mediaType": "image/jpeg",
        "url": "https://files.example/site.jpg", "name": "The building site at night" }]);
    let response = peer.signed_post("alice", &app.url("/inbox"), &create_of(&peer, "alice", note)).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);

    let response = app.client.get(app.url("/embed/articles/tram")).send().await.expect("embed");
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert!(headers["content-type"].to_str().expect("type").starts_with("text/html"));
    let csp = headers["content-security-policy"].to_str().expect("csp").to_string();
    assert!(csp.contains("frame-ancestors https://news.example https://www.news.example:8443"), "{csp}");
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"), "{csp}");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(headers.get("set-cookie").is_none());
    let page = response.text().await.expect("html");

    assert!(page.contains("Discussion <span class=\"tb-count\">(5 comments)</span>"), "{page}");
    // c2 sits in a list of replies inside c1's item; c4 under the placeholder of c3.
    let c1 = page.find("id=\"comment-c1\"").expect("c1");
    let c2 = page.find("id=\"comment-c2\"").expect("c2");
    let c3 = page.find("id=\"comment-c3\"").expect("c3");
    assert!(c1 < c2 && c2 < c3);
    assert_eq!(&page[c1..c2].matches("<ol").count(), &1, "c2 is a reply inside c1: {}", &page[c1..c2]);
    assert!(page[c2..c3].contains("</ol></li>"), "c1's replies end before c3");
    assert!(page[c3..].starts_with("id=\"comment-c3\"><article aria-labelledby=\"tb-by-c3\"><h3 class=\"tb-by\" id=\"tb-by-c3\"><span class=\"tb-deleted\">Deleted comment</span>"));
    assert!(!page.contains("Buy now</p>") || page.contains("<blockquote"), "the deleted text is gone, only quoted");
    assert!(page.contains("Анна &lt;Смирнова&gt;") && !page.contains("Анна <Смирнова>"), "names are escaped");
    assert!(page.contains("<summary>Content warning: Noise &amp; dust &gt; 80 dB</summary>"), "{page}");
    assert!(page.contains("<a href=\"https://files.example/site.jpg\" rel=\"nofollow noopener ugc\" target=\"_blank\">The building site at night</a>"));
    assert!(page.contains(&format!("value=\"{}\"", text(&article["ap_id"]))), "the article's address to paste");
    assert!(page.contains("<time datetime="));
    for outside in ["<script src=\"http", "<link rel=\"stylesheet\" href=\"http", "cdn"] {
        assert!(!page.contains(outside), "the page loads {outside}");
    }

    let css = app.client.get(app.url("/embed/thread.css")).send().await.expect("css");
    assert_eq!(css.status(), StatusCode::OK);
    assert!(css.text().await.expect("css").contains("--tb-accent"));
    let missing = app.client.get(app.url("/embed/articles/nope")).send().await.expect("404");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(missing.json::<Value>().await.expect("json")["error"].is_string());
}

both_backends!(
    the_embed_page_reads_without_javascript,
    the_public_thread_shows_what_a_visitor_may_see,
    the_public_thread_pages_and_refuses_bad_requests,
    the_author_is_credited_on_link_previews,
    the_admin_lists_the_articles,
);
