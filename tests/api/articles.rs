//! Articles through the admin API, and what the fediverse sees of them.

use reqwest::StatusCode;
use serde_json::{json, Value};

use futures::future::join_all;

use crate::both_backends;
use crate::helpers::*;

async fn create_update_and_unchanged(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (status, created) =
        app.admin_put("/api/admin/articles/peace-treaty", &article_json("Peace talks resume")).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["ap_id"], app.url("/articles/peace-treaty"));
    assert_eq!(created["author"]["name"], "News Desk");
    assert_eq!(created["author"]["username"], "news desk");
    assert_eq!(created["updated"], Value::Null);

    let (status, again) = app.admin_put("/api/admin/articles/peace-treaty", &article_json("Peace talks resume")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["updated"], Value::Null, "an identical PUT changes nothing");

    let (status, edited) =
        app.admin_put("/api/admin/articles/peace-treaty", &article_json("Peace talks resume in Moscow")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(edited["title"], "Peace talks resume in Moscow");
    assert!(edited["updated"].is_string(), "an edit sets updated: {edited}");

    let (_, note) = app.ap_get(&app.url("/articles/peace-treaty")).await;
    assert!(note["content"].as_str().unwrap_or_default().contains("Peace talks resume in Moscow"));
    assert!(note["updated"].is_string());
}

async fn article_as_note(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let mut body = article_json("Peace <talks> & more");
    body["image"] = json!({ "url": "https://news.example/img/map.webp", "alt": "Map of the islands" });
    app.put_article("a1", &body).await;
    let response = app.client.get(app.url("/articles/a1")).header("Accept", AP).send().await.expect("get");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"].to_str().unwrap_or_default().starts_with("application/activity+json"));
    let note = body_json(response).await;
    assert_eq!(note["type"], "Note");
    assert_eq!(note["id"], app.url("/articles/a1"));
    assert_eq!(note["attributedTo"], app.url("/users/site"));
    assert_eq!(note["to"], json!(["https://www.w3.org/ns/activitystreams#Public"]));
    assert_eq!(note["cc"], json!([app.url("/users/site/followers")]));
    assert_eq!(note["url"], "https://news.example/2015/09/peace-treaty");
    assert_eq!(note["published"], "2015-09-22T03:00:00Z");
    let content = note["content"].as_str().unwrap_or_default();
    assert!(content.contains("Peace &lt;talks&gt; &amp; more"), "title escaped: {content}");
    assert!(content.contains("Talks on a peace treaty restart."), "summary: {content}");
    assert!(content.contains(r#"href="https://news.example/2015/09/peace-treaty""#), "link: {content}");
    assert!(content.contains("#<span>Japan</span>"), "hashtag: {content}");
    assert_eq!(note["contentMap"]["en"], note["content"]);
    assert_eq!(note["tag"][0], json!({ "type": "Hashtag", "href": app.url("/tags/Japan"), "name": "#Japan" }));
    assert_eq!(note["attachment"][0]["url"], "https://news.example/img/map.webp");
    assert_eq!(note["attachment"][0]["name"], "Map of the islands");
    assert_eq!(note["attachment"][0]["mediaType"], "image/webp");
    assert_eq!(note["sensitive"], false);
    assert!(note.get("summary").is_none(), "no content warning unless sensitive");
    assert_eq!(note["context"], app.url("/articles/a1/context"));
    assert_eq!(note["replies"]["id"], app.url("/articles/a1/replies"));
    assert!(note["@context"].is_array());
}

async fn sensitive_article_has_content_warning(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let mut body = article_json("Graphic report");
    body["sensitive"] = json!(true);
    body["summary"] = json!("War imagery");
    app.put_article("cw", &body).await;
    let (_, note) = app.ap_get(&app.url("/articles/cw")).await;
    assert_eq!(note["sensitive"], true);
    assert_eq!(note["summary"], "War imagery");
}

async fn article_type_when_configured(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &["--object-type", "article"]).await else {
        return;
    };
    app.put_article("long-read", &article_json("A long read")).await;
    let (_, object) = app.ap_get(&app.url("/articles/long-read")).await;
    assert_eq!(object["type"], "Article");
    assert_eq!(object["name"], "A long read");
    let content = object["content"].as_str().unwrap_or_default();
    assert!(content.contains("Second paragraph."), "full content: {content}");
}

async fn site_html_is_sanitised(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &["--object-type", "article"]).await else {
        return;
    };
    let mut body = article_json("Clean");
    body["content"] = json!(
        r#"<p onclick="steal()">Text<script>alert(1)</script><a href="javascript:alert(2)">x</a><iframe src="https://evil.example"></iframe><a href="https://ok.example/">ok</a></p>"#
    );
    let stored = app.put_article("clean", &body).await;
    let content = stored["content"].as_str().unwrap_or_default();
    for bad in ["script", "onclick", "javascript:", "iframe"] {
        assert!(!content.contains(bad), "{bad} left in {content}");
    }
    assert!(content.contains(r#"rel="nofollow noopener noreferrer""#), "{content}");
}

async fn deleted_article_is_a_tombstone(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.put_article("gone", &article_json("Soon gone")).await;
    app.put_comment("gone", "c1", &comment_json("Reader One", "First!", None)).await;
    let (status, deleted) = app.admin_delete("/api/admin/articles/gone").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(deleted["status"], "deleted");

    let (status, tombstone) = app.ap_get(&app.url("/articles/gone")).await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(tombstone["type"], "Tombstone");
    assert_eq!(tombstone["id"], app.url("/articles/gone"));
    assert!(tombstone["deleted"].is_string());
    let (status, comment) = app.ap_get(&app.url("/articles/gone/comments/c1")).await;
    assert_eq!(status, StatusCode::GONE, "comments of a deleted article are gone too: {comment}");

    let (status, error) = app.admin_put("/api/admin/articles/gone", &article_json("Back")).await;
    assert_eq!(status, StatusCode::CONFLICT, "a deleted id is not reused: {error}");
    let (status, _) =
        app.admin_put("/api/admin/articles/gone/comments/c2", &comment_json("Reader Two", "late", None)).await;
    assert_eq!(status, StatusCode::GONE);
    let (status, _) = app.admin_delete("/api/admin/articles/gone").await;
    assert_eq!(status, StatusCode::OK, "deleting twice is harmless");
    let (_, outbox) = app.ap_get(&app.url("/users/site/outbox")).await;
    assert_eq!(outbox["totalItems"], 0);
}

async fn outbox_pages_creates_newest_first(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    for i in 0..23 {
        let mut body = article_json(&format!("Article {i}"));
        body["published"] = json!(format!("2020-01-{:02}T10:00:00Z", i + 1));
        app.put_article(&format!("art-{i}"), &body).await;
    }
    let (_, outbox) = app.ap_get(&app.url("/users/site/outbox")).await;
    assert_eq!(outbox["type"], "OrderedCollection");
    assert_eq!(outbox["totalItems"], 23);
    let (_, page1) = app.ap_get(outbox["first"].as_str().unwrap_or_default()).await;
    let items = page1["orderedItems"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 20);
    assert_eq!(items[0]["type"], "Create");
    assert_eq!(items[0]["actor"], app.url("/users/site"));
    assert_eq!(items[0]["object"]["id"], app.url("/articles/art-22"), "newest first");
    let (_, page2) = app.ap_get(page1["next"].as_str().unwrap_or_default()).await;
    let items2 = page2["orderedItems"].as_array().cloned().unwrap_or_default();
    assert_eq!(items2.len(), 3);
    assert_eq!(items2[2]["object"]["id"], app.url("/articles/art-0"));
    assert!(page2.get("next").is_none());
    let (status, activity) = app.ap_get(&app.url("/articles/art-3/activity")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(activity["object"]["id"], app.url("/articles/art-3"));
}

async fn browsers_are_sent_to_the_site(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.put_article("a1", &article_json("Title")).await;
    app.put_comment("a1", "c 1", &comment_json("Reader", "Hello", None)).await;
    let html = |path: &str| app.client.get(app.url(path)).header("Accept", "text/html,application/xhtml+xml").send();
    let article = html("/articles/a1").await.expect("get");
    assert_eq!(article.status(), StatusCode::SEE_OTHER);
    assert_eq!(article.headers()["location"], "https://news.example/2015/09/peace-treaty");
    let comment = html("/articles/a1/comments/c%201").await.expect("get");
    assert_eq!(comment.headers()["location"], "https://news.example/2015/09/peace-treaty#comment-c%201");
    let actor = html("/users/site").await.expect("get");
    assert_eq!(actor.headers()["location"], "https://news.example/");

    for accept in
        ["application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"", "application/activity+json", "*/*"]
    {
        let response = app.client.get(app.url("/articles/a1")).header("Accept", accept).send().await.expect("get");
        assert_eq!(response.status(), StatusCode::OK, "{accept}");
        assert_eq!(body_json(response).await["id"], app.url("/articles/a1"));
    }
}

async fn keys_with_any_characters(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let stored = app.put_article("2015%2F09%2Fmir%20%D0%BC%D0%B8%D1%80", &article_json("Мир и дружба 🕊")).await;
    assert_eq!(stored["key"], "2015/09/mir мир");
    let ap_id = stored["ap_id"].as_str().unwrap_or_default().to_string();
    assert_eq!(ap_id, app.url("/articles/2015%2F09%2Fmir%20%D0%BC%D0%B8%D1%80"));
    let (status, note) = app.ap_get(&ap_id).await;
    assert_eq!(status, StatusCode::OK);
    assert!(note["content"].as_str().unwrap_or_default().contains("Мир и дружба 🕊"));
}

async fn concurrent_puts_store_one_of_each(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let body = article_json("Race");
    let puts = (0..8).map(|_| app.admin_put("/api/admin/articles/race", &body));
    let statuses: Vec<StatusCode> = join_all(puts).await.into_iter().map(|(s, _)| s).collect();
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CREATED).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| s.is_success()), "{statuses:?}");
    let comment = comment_json("Same New Reader", "hi", None);
    let paths: Vec<String> = (0..12).map(|i| format!("/api/admin/articles/race/comments/c{i}")).collect();
    let comments = paths.iter().map(|path| app.admin_put(path, &comment));
    let results = join_all(comments).await;
    assert!(results.iter().all(|(s, _)| *s == StatusCode::CREATED), "{results:?}");
    let thread = app.thread("race").await;
    let handles: std::collections::HashSet<String> = thread["comments"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| c["author"]["handle"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(handles.len(), 1, "one actor for one site user: {handles:?}");
}

async fn comment_answers_say_where_they_sit(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.put_article("a", &article_json("A")).await;
    let first = app.put_comment("a", "c1", &comment_json("Reader One", "top", None)).await;
    let second = app.put_comment("a", "c2", &comment_json("Reader Two", "reply", Some("c1"))).await;
    let third = app.put_comment("a", "c3", &comment_json("Reader One", "reply to reply", Some("c2"))).await;
    assert_eq!(
        (first["depth"].clone(), second["depth"].clone(), third["depth"].clone()),
        (json!(1), json!(2), json!(3))
    );
    assert_eq!(third["parent"], "c2");
    assert_eq!(third["url"], "https://news.example/2015/09/peace-treaty#comment-c3");
    let (status, deleted) = app.admin_delete("/api/admin/articles/a/comments/c2").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((deleted["status"].clone(), deleted["depth"].clone()), (json!("deleted"), json!(2)));
}

async fn racing_puts_of_one_key_are_all_upserts(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    // The author exists already, so nothing else makes the requests wait for each other.
    app.put_article("first", &article_json("First")).await;
    for round in 0..3 {
        let body = article_json(&format!("Round {round}"));
        let path = format!("/api/admin/articles/race-{round}");
        let statuses: Vec<StatusCode> =
            join_all((0..8).map(|_| app.admin_put(&path, &body))).await.into_iter().map(|(s, _)| s).collect();
        assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CREATED).count(), 1, "{statuses:?}");
        assert!(statuses.iter().all(|s| s.is_success()), "{statuses:?}");
        let comment = comment_json("news desk", "same key, many times", None);
        let path = format!("/api/admin/articles/first/comments/race-{round}");
        let statuses: Vec<StatusCode> =
            join_all((0..8).map(|_| app.admin_put(&path, &comment))).await.into_iter().map(|(s, _)| s).collect();
        assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CREATED).count(), 1, "{statuses:?}");
        assert!(statuses.iter().all(|s| s.is_success()), "{statuses:?}");
    }
    assert_eq!(app.thread("first").await["comments"].as_array().map(Vec::len), Some(3));
}

async fn plain_text_keeps_its_angle_brackets(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.put_article("a", &article_json("A")).await;
    let stored =
        app.put_comment("a", "c1", &comment_json("Reader", "if x<y then y>x, <sarcasm>great</sarcasm>", None)).await;
    assert_eq!(stored["content"], "<p>if x&lt;y then y&gt;x, &lt;sarcasm&gt;great&lt;/sarcasm&gt;</p>");
}

async fn negotiated_answers_vary_on_accept(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.put_article("a", &article_json("A")).await;
    app.put_comment("a", "c1", &comment_json("Reader", "hi", None)).await;
    let page = "https://news.example/2015/09/peace-treaty";
    for (path, location) in [
        ("/articles/a", page.to_string()),
        ("/articles/a/context", page.to_string()),
        ("/articles/a/replies", page.to_string()),
        ("/articles/a/activity", page.to_string()),
        ("/articles/a/comments/c1/replies", format!("{page}#comment-c1")),
    ] {
        let browser = app.client.get(app.url(path)).header("Accept", "text/html").send().await.expect("get");
        assert_eq!(browser.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(browser.headers()["location"], location.as_str(), "{path}");
        assert_eq!(browser.headers()["vary"], "Accept", "{path}");
        let server = app.client.get(app.url(path)).header("Accept", AP).send().await.expect("get");
        assert_eq!(server.status(), StatusCode::OK, "{path}");
        assert_eq!(server.headers()["vary"], "Accept", "{path}");
    }
}

async fn tombstones_and_warnings_follow_the_configuration(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &["--object-type", "article"]).await else { return };
    let mut body = article_json("Warned");
    body["sensitive"] = json!(true);
    body["summary"] = json!("Graphic <b>images</b>");
    app.put_article("w", &body).await;
    let (_, object) = app.ap_get(&app.url("/articles/w")).await;
    assert_eq!(object["summary"], "Graphic &lt;b&gt;images&lt;/b&gt;", "site text is escaped");
    app.admin_delete("/api/admin/articles/w").await;
    let (status, tombstone) = app.ap_get(&app.url("/articles/w")).await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(tombstone["formerType"], "Article");
}

async fn placeholders_go_when_nothing_visible_is_left_under_them(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.put_article("d", &article_json("D")).await;
    app.put_comment("d", "p", &comment_json("Reader One", "parent", None)).await;
    app.put_comment("d", "r", &comment_json("Reader Two", "reply", Some("p"))).await;
    app.put_comment("d", "leaf", &comment_json("Reader Three", "visible leaf", None)).await;
    app.admin_delete("/api/admin/articles/d/comments/p").await;
    let ids = |v: &Value| -> Vec<String> {
        v["orderedItems"].as_array().into_iter().flatten().filter_map(|i| i.as_str().map(String::from)).collect()
    };
    let (_, replies) = app.ap_get(&app.url("/articles/d/replies?page=1")).await;
    assert_eq!(ids(&replies), vec![app.url("/articles/d/comments/p"), app.url("/articles/d/comments/leaf")]);
    app.admin_delete("/api/admin/articles/d/comments/r").await;
    let (_, replies) = app.ap_get(&app.url("/articles/d/replies?page=1")).await;
    assert_eq!(ids(&replies), vec![app.url("/articles/d/comments/leaf")], "p holds nothing visible any more");
    let (_, context) = app.ap_get(&app.url("/articles/d/context?page=1")).await;
    assert_eq!(ids(&context), vec![app.url("/articles/d"), app.url("/articles/d/comments/leaf")]);
    let thread = app.thread("d").await;
    assert_eq!(thread["comments"].as_array().map(Vec::len), Some(3), "the admin thread still lists every item");
}

both_backends!(
    racing_puts_of_one_key_are_all_upserts,
    plain_text_keeps_its_angle_brackets,
    negotiated_answers_vary_on_accept,
    tombstones_and_warnings_follow_the_configuration,
    placeholders_go_when_nothing_visible_is_left_under_them,
    comment_answers_say_where_they_sit,
    create_update_and_unchanged,
    article_as_note,
    sensitive_article_has_content_warning,
    article_type_when_configured,
    site_html_is_sanitised,
    deleted_article_is_a_tombstone,
    outbox_pages_creates_newest_first,
    browsers_are_sent_to_the_site,
    keys_with_any_characters,
    concurrent_puts_store_one_of_each,
);
