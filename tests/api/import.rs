//! Importing a site's existing discussions: WordPress (WXR), Disqus and threadbridge JSON files
//! in each exporter's shape (tests/fixtures/import), through `POST /api/admin/import`.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;
use crate::peer::{ActorOpts, Peer};

pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/import/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub async fn import(app: &TestApp, query: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let response = app
        .client
        .post(app.url(&format!("/api/admin/import{query}")))
        .bearer_auth(TOKEN)
        .body(body)
        .send()
        .await
        .expect("import");
    (response.status(), body_json(response).await)
}

/// A comment as the admin thread lists it: `(id, parent, depth, status, author name)`.
type Row = (String, Option<String>, i64, String, Option<String>);

/// Each comment of the admin thread, in order.
fn shape(thread: &Value) -> Vec<Row> {
    thread["comments"]
        .as_array()
        .expect("comments")
        .iter()
        .map(|c| {
            (
                text(&c["id"]).to_string(),
                c["parent"].as_str().map(str::to_string),
                c["depth"].as_i64().expect("depth"),
                text(&c["status"]).to_string(),
                c["author"]["name"].as_str().map(str::to_string),
            )
        })
        .collect()
}

fn row(
    id: &str,
    parent: Option<&str>,
    depth: i64,
    status: &str,
    author: Option<&str>,
) -> (String, Option<String>, i64, String, Option<String>) {
    (id.to_string(), parent.map(str::to_string), depth, status.to_string(), author.map(str::to_string))
}

async fn activities(app: &TestApp) -> i64 {
    let (status, outbox) = app.admin_get("/api/admin/outbox").await;
    assert_eq!(status, StatusCode::OK, "{outbox}");
    outbox["activities"].as_i64().expect("activities")
}

/// A WordPress export as WordPress writes it: the published post and page come in with their
/// dates, featured image, hashtags and threaded comments as the export marks them; the draft,
/// the attachment, spam and the pingback do not. Nothing reaches the site's follower, and
/// every imported comment is at once an ActivityPub object someone can answer.
async fn a_wordpress_export_comes_in_as_it_was(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let peer = Peer::start().await;
    peer.add_actor("alice", ActorOpts::default());
    follow_site(&app, &peer, "alice").await;
    let before = activities(&app).await;

    let (status, summary) = import(&app, "", fixture("wordpress.xml")).await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    assert_eq!(summary["format"], "wxr");
    assert_eq!(summary["articles"], json!({ "imported": 2, "updated": 0, "unchanged": 0 }));
    assert_eq!(summary["comments"], json!({ "imported": 6, "updated": 0, "unchanged": 0 }));
    assert_eq!(
        summary["skipped"],
        json!({
            "its post is not imported": 1,
            "not a post or page (attachment)": 1,
            "not published (draft)": 1,
            "pingback": 1,
            "spam": 1
        })
    );
    assert_eq!((summary["error_count"].as_i64(), summary["errors"].as_array().map(Vec::len)), (Some(0), Some(0)));

    let thread = app.thread("wp-41").await;
    let article = &thread["article"];
    assert_eq!(article["title"], "The old ferry returns to the harbour");
    assert_eq!(article["url"], "https://gazette.example/2015/09/22/the-old-ferry-returns/");
    assert_eq!(article["published"], "2015-09-22T03:00:00Z");
    assert_eq!(article["author"]["name"], "Hannah Editor");
    assert_eq!(article["tags"], json!(["HarbourNews", "ferries"]));
    assert_eq!(article["image"]["url"], "https://gazette.example/wp-content/uploads/2015/09/ferry-at-dawn.jpg");
    assert_eq!(article["summary"], "The Margarethe is back after eleven years.");
    let content = text(&article["content"]);
    assert!(
        content.starts_with("<p>After eleven years in a shipyard up the coast, the <strong>Margarethe</strong>"),
        "{content}"
    );
    assert!(
        content.contains("<p>Crowds lined the quay &amp; the brass band played.<br>The mayor spoke briefly.</p>"),
        "{content}"
    );
    assert!(content.contains("<blockquote>"), "{content}");
    assert_eq!(
        shape(&thread),
        [
            row("wp-comment-501", None, 1, "visible", Some("Ingrid Solberg")),
            row("wp-comment-502", Some("wp-comment-501"), 2, "visible", Some("Tomás Reyes")),
            row("wp-comment-503", Some("wp-comment-502"), 3, "visible", Some("Ingrid Solberg")),
            row("wp-comment-504", None, 1, "deleted", None),
            row("wp-comment-505", Some("wp-comment-504"), 2, "visible", Some("Marta K")),
            row("wp-comment-508", None, 1, "pending", Some("new reader")),
        ]
    );
    let comments = thread["comments"].as_array().expect("comments");
    assert_eq!(comments[0]["content"], "<p>My grandfather worked on her engines.<br>Wonderful to see her back.</p>");
    assert_eq!(comments[0]["published"], "2015-09-22T04:15:00Z");

    // Readers see the shown comments and the placeholder that keeps Marta's reply; not the held one.
    let public: Value = app
        .client
        .get(app.url("/api/public/articles/wp-41/thread"))
        .send()
        .await
        .expect("public")
        .json()
        .await
        .expect("json");
    let shown: Vec<&str> = public["comments"].as_array().expect("comments").iter().map(|c| text(&c["id"])).collect();
    assert_eq!(shown, ["wp-comment-501", "wp-comment-502", "wp-comment-503", "wp-comment-504", "wp-comment-505"]);

    // The articles are listed newest first, the post before the page.
    let (_, list) = app.admin_get("/api/admin/articles").await;
    let keys: Vec<&str> = list["items"].as_array().expect("items").iter().map(|a| text(&a["key"])).collect();
    assert_eq!(keys, ["wp-41", "wp-2"]);

    // A 2015 comment is an object with its place in the thread.
    let (status, note) = app.ap_get(&app.url("/articles/wp-41/comments/wp-comment-503")).await;
    assert_eq!(status, StatusCode::OK, "{note}");
    assert_eq!(note["inReplyTo"], app.url("/articles/wp-41/comments/wp-comment-502"));
    assert_eq!(note["published"], "2015-09-22T05:02:00Z");
    assert!(text(&note["content"]).contains("a box of them"), "{note}");

    assert_eq!(activities(&app).await, before, "an import queues nothing for followers");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let creates = peer.received().iter().filter(|r| r.is_verified("Create")).count();
    assert_eq!(creates, 0, "the follower's server received no Create");

    // Again: nothing changes.
    let (status, again) = import(&app, "?format=wxr", fixture("wordpress.xml")).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["articles"], json!({ "imported": 0, "updated": 0, "unchanged": 2 }));
    assert_eq!(again["comments"], json!({ "imported": 0, "updated": 0, "unchanged": 6 }));
    assert_eq!(app.thread("wp-41").await, thread);
}

/// A Disqus export: threads become articles when they have posts, a reply that comes before
/// the post it answers still lands under it, a deleted post keeps its reply, spam and the
/// deleted thread's posts stay out.
async fn a_disqus_export_keeps_its_tree(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let (status, summary) = import(&app, "", fixture("disqus.xml")).await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    assert_eq!(summary["format"], "disqus");
    assert_eq!(summary["articles"]["imported"], 1);
    assert_eq!(summary["comments"]["imported"], 5);
    assert_eq!(
        summary["skipped"],
        json!({
            "a Disqus thread without posts": 1,
            "a deleted Disqus thread": 1,
            "its article is not in the file (or was not imported)": 1,
            "spam": 1
        })
    );
    let thread = app.thread("disqus-4130988112").await;
    assert_eq!(thread["article"]["title"], "The old ferry returns to the harbour | Harbour Gazette");
    assert_eq!(thread["article"]["published"], "2015-09-22T03:05:11Z");
    assert_eq!(
        shape(&thread),
        [
            row("disqus-2261340101", None, 1, "visible", Some("Ingrid Solberg")),
            row("disqus-2261340250", Some("disqus-2261340101"), 2, "visible", Some("Tomás Reyes")),
            row("disqus-2261340377", Some("disqus-2261340250"), 3, "visible", Some("Ingrid Solberg")),
            row("disqus-2261341000", None, 1, "deleted", None),
            row("disqus-2261341022", Some("disqus-2261341000"), 2, "visible", Some("Marta K")),
        ]
    );
    let (_, again) = import(&app, "?format=disqus", fixture("disqus.xml")).await;
    assert_eq!(again["comments"], json!({ "imported": 0, "updated": 0, "unchanged": 5 }));
}

/// threadbridge's JSON, in the shape of a real discussion: quotes, a deleted comment with
/// replies, names with spaces, digits and Cyrillic, a numeric id, a held and a spam comment.
async fn a_json_discussion_keeps_its_shape(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let (status, summary) = import(&app, "?format=json", fixture("discussion.json")).await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    assert_eq!(summary["articles"]["imported"], 1);
    assert_eq!(summary["comments"]["imported"], 8);
    assert_eq!(summary["skipped"], json!({ "spam": 1 }));
    let thread = app.thread("harbour-fees-2016").await;
    assert_eq!(
        shape(&thread),
        [
            row("c1", None, 1, "visible", Some("Alexander Romanov")),
            row("c2", Some("c1"), 2, "visible", Some("SPB 1221")),
            row("c3", Some("c2"), 3, "visible", Some("Vita vko")),
            row("c4", None, 1, "deleted", None),
            row("c5", Some("c4"), 2, "visible", Some("Дмитрий Соколов")),
            row("c6", Some("c5"), 3, "visible", Some("Alexander Romanov")),
            row("7", None, 1, "visible", Some("Hannah Editor")),
            row("c9", Some("7"), 2, "pending", Some("new reader")),
        ]
    );
    let comments = thread["comments"].as_array().expect("comments");
    assert_eq!(
        comments[2]["content"],
        "<blockquote><p><cite>SPB 1221</cite> wrote:</p><p>The two harbour ward members and the greens.</p></blockquote><p>As you would expect. laughing</p>"
    );
    assert_eq!(
        comments[4]["author"]["handle"],
        format!("@dmitrii_sokolov@{}", app.address.trim_start_matches("http://"))
    );
    assert_eq!(
        thread["article"]["content"],
        "<p>The council voted seven to four for the new fees.</p><p>Fishing boats are exempt until 2018.</p>"
    );

    // The source changed: a comment edited, one deleted since. Those two are updated.
    let edited = String::from_utf8(fixture("discussion.json"))
        .expect("utf-8")
        .replace("Seven to four. Who voted against?", "Seven to four. Who voted against it?")
        .replace(
            "\"published\": \"2016-03-14T19:25:00+01:00\", \"text\"",
            "\"published\": \"2016-03-14T19:25:00+01:00\", \"deleted\": true, \"text\"",
        );
    let (status, summary) = import(&app, "", edited.into_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    assert_eq!(summary["comments"], json!({ "imported": 0, "updated": 2, "unchanged": 6 }), "{summary}");
    let thread = app.thread("harbour-fees-2016").await;
    assert_eq!(thread["comments"][0]["content"], "<p>Seven to four. Who voted against it?</p>");
    assert_eq!((&thread["comments"][5]["status"], &thread["comments"][5]["content"]), (&json!("deleted"), &json!("")));
}

/// Bad files: each answer names the place, stores nothing past it, and a fixed file finishes
/// the import without duplicates.
async fn bad_files_are_refused_at_their_place(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &["--import-max-megabytes", "1"]).await else { return };
    let wxr = String::from_utf8(fixture("wordpress.xml")).expect("utf-8");

    let (status, answer) = import(&app, "", b"<html><body>Not an export</body></html>".to_vec()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(text(&answer["error"]).starts_with("line 1: not a WordPress export"), "{answer}");

    let (status, answer) = import(&app, "?format=disqus", wxr.clone().into_bytes()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(text(&answer["error"]).contains("the root element is <rss>, not a Disqus export's <disqus>"), "{answer}");

    let (status, answer) = import(&app, "?format=json", b"{\"article\": {\"key\": \"k\", \"title\": ".to_vec()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(text(&answer["error"]).starts_with("line 1: EOF while parsing"), "{answer}");

    let bomb = "<?xml version=\"1.0\"?>\n<!DOCTYPE rss [\n<!ENTITY lol \"lol\">\n<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n]>\n<rss xmlns:wp=\"http://wordpress.org/export/1.2/\"><channel>\n<item><title>&lol3;</title></item></channel></rss>";
    let (status, answer) = import(&app, "?format=wxr", bomb.as_bytes().to_vec()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(text(&answer["error"]).starts_with("line 8: the entity '&lol3;' is not one of XML's own"), "{answer}");

    let huge = vec![b' '; 2 * 1024 * 1024];
    let (status, answer) = import(&app, "?format=json", huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
    assert!(text(&answer["error"]).contains("larger than 1 MiB (THREADBRIDGE_IMPORT_MAX_MB)"), "{answer}");

    let (_, list) = app.admin_get("/api/admin/articles").await;
    assert_eq!(list["total"], 0, "nothing is stored from a refused file: {list}");

    // Cut off inside the draft, after the post: the post and its comments are stored.
    let cut = wxr.find("<wp:comment_id>601</wp:comment_id>").expect("comment 601");
    let (status, answer) = import(&app, "", wxr.as_bytes()[..cut].to_vec()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(text(&answer["error"]).contains("the file ends inside an element"), "{answer}");
    assert_eq!((&answer["articles"]["imported"], &answer["comments"]["imported"]), (&json!(1), &json!(6)), "{answer}");
    // The whole file then: the rest comes in, nothing twice.
    let (status, answer) = import(&app, "", wxr.into_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["articles"], json!({ "imported": 1, "updated": 0, "unchanged": 1 }), "{answer}");
    assert_eq!(answer["comments"], json!({ "imported": 0, "updated": 0, "unchanged": 6 }), "{answer}");
    assert_eq!(app.thread("wp-41").await["comments"].as_array().map(Vec::len), Some(6));

    let (status, _) = import(&app, "?format=csv", b"{}".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let response = app.client.post(app.url("/api/admin/import")).body("{}").send().await.expect("post");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

/// A WordPress site that used Disqus: the posts come from the WXR, the comments from Disqus.
/// The Disqus thread of a post (the same link) is that post: its comments join the post's
/// thread instead of making a second article of the same page; again, nothing changes.
async fn a_disqus_thread_of_a_stored_article_joins_it(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let (status, _) = import(&app, "", fixture("wordpress.xml")).await;
    assert_eq!(status, StatusCode::OK);
    for round in ["first", "again"] {
        let (status, summary) = import(&app, "", fixture("disqus.xml")).await;
        assert_eq!(status, StatusCode::OK, "{summary}");
        assert_eq!(summary["articles"], json!({ "imported": 0, "updated": 0, "unchanged": 0 }), "{round}: {summary}");
        assert_eq!(
            summary["skipped"]["an article already has its link (its comments go there)"], 1,
            "{round}: {summary}"
        );
        let expected = if round == "first" {
            json!({ "imported": 5, "updated": 0, "unchanged": 0 })
        } else {
            json!({ "imported": 0, "updated": 0, "unchanged": 5 })
        };
        assert_eq!(summary["comments"], expected, "{round}: {summary}");
    }
    let thread = app.thread("wp-41").await;
    let ids: Vec<&str> = thread["comments"].as_array().expect("comments").iter().map(|c| text(&c["id"])).collect();
    assert_eq!(ids.len(), 11, "{ids:?}");
    assert!(ids.contains(&"disqus-2261340377") && ids.contains(&"wp-comment-503"), "{ids:?}");
    let (_, list) = app.admin_get("/api/admin/articles").await;
    assert_eq!(list["total"], 2, "no second article for the same page: {list}");
}

both_backends!(
    a_disqus_thread_of_a_stored_article_joins_it,
    a_wordpress_export_comes_in_as_it_was,
    a_disqus_export_keeps_its_tree,
    a_json_discussion_keeps_its_shape,
    bad_files_are_refused_at_their_place,
);

const BIN: &str = env!("CARGO_BIN_EXE_threadbridge");

/// `threadbridge import` as an operator runs it: the format guessed, the summary as the last
/// line, exit 0; again, nothing changes; a broken file exits 1 with the summary still last; a
/// missing file says so.
#[test]
fn the_import_command_prints_a_summary_and_exits_by_result() {
    let dir = tempfile::tempdir().expect("dir");
    let database_url = format!("sqlite://{}", dir.path().join("site.db").display());
    let run = |file: &std::path::Path| {
        std::process::Command::new(BIN)
            .arg("import")
            .arg(file)
            .env("DATABASE_URL", &database_url)
            .env("THREADBRIDGE_PUBLIC_URL", "https://bridge.example")
            .env("RUST_LOG", "warn")
            .output()
            .expect("run import")
    };
    let last_line = |output: &std::process::Output| {
        String::from_utf8_lossy(&output.stdout).lines().last().unwrap_or_default().to_string()
    };
    let disqus = dir.path().join("export.xml");
    std::fs::write(&disqus, fixture("disqus.xml")).expect("write");
    let output = run(&disqus);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(
        last_line(&output),
        "disqus: imported 1 articles and 5 comments, updated 0, unchanged 0, skipped 4 (a Disqus thread without \
         posts: 1; a deleted Disqus thread: 1; its article is not in the file (or was not imported): 1; spam: 1), 0 errors"
    );
    let output = run(&disqus);
    assert!(output.status.success());
    assert!(last_line(&output).starts_with("disqus: imported 0 articles and 0 comments, updated 0, unchanged 6,"));

    let broken = dir.path().join("broken.xml");
    let wxr = String::from_utf8(fixture("wordpress.xml")).expect("utf-8");
    std::fs::write(
        &broken,
        wxr.replace(
            "</wp:comment_content>\n\t\t\t<wp:comment_approved><![CDATA[0]]>",
            "<wp:comment_approved><![CDATA[0]]>",
        ),
    )
    .expect("write");
    let output = run(&broken);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("the import stopped at line 198:"), "{stderr}");
    assert!(last_line(&output).ends_with("0 errors; stopped at line 198: ill-formed document: expected `</wp:comment_content>`, but `</wp:comment>` was found"), "{}", last_line(&output));

    let output = run(&dir.path().join("missing.xml"));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("cannot open"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// On a terminal, a big import redraws one line: the bar, items per second and the time left,
/// and ends at 100% before the summary. Run under `script`, which gives it a real terminal; the
/// capture is kept in target/tmp/import/progress.txt.
#[test]
fn a_big_import_shows_its_progress_on_a_terminal() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("threads.jsonl");
    let mut lines = String::new();
    for a in 0..1500 {
        let comments: Vec<Value> = (0..12)
            .map(|c| {
                json!({
                    "id": format!("a{a}-c{c}"),
                    "parent": (c > 0).then(|| format!("a{a}-c{}", c / 2)),
                    "author": format!("Reader {}", (a * 7 + c) % 300),
                    "published": "2019-05-01T10:00:00Z",
                    "text": "A reader's comment, long enough to look like one.\n\nWith a second paragraph."
                })
            })
            .collect();
        let thread = json!({
            "article": { "key": format!("a{a}"), "title": format!("Article {a}"), "published": "2019-05-01T09:00:00Z", "text": "Body." },
            "comments": comments
        });
        lines.push_str(&thread.to_string());
        lines.push('\n');
    }
    std::fs::write(&file, lines).expect("write");
    let database_url = format!("sqlite://{}", dir.path().join("site.db").display());
    let command = format!("{BIN} import {}", file.display());
    let output = std::process::Command::new("script")
        .args(["--quiet", "--return", "--command", &command, "/dev/null"])
        .env("DATABASE_URL", &database_url)
        .env("THREADBRIDGE_PUBLIC_URL", "https://bridge.example")
        .env("RUST_LOG", "warn")
        .output()
        .expect("script (util-linux) runs the command on a terminal");
    let capture = String::from_utf8_lossy(&output.stdout).to_string();
    let kept = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tmp/import");
    std::fs::create_dir_all(&kept).expect("dir");
    std::fs::write(kept.join("progress.txt"), &capture).expect("keep the capture");
    assert!(output.status.success(), "{capture}");
    let frames: Vec<&str> =
        capture.split('\r').map(|f| f.trim_end_matches("\u{1b}[K")).filter(|f| f.starts_with('[')).collect();
    assert!(frames.len() >= 3, "the line is redrawn as the import goes: {capture:?}");
    assert!(frames.iter().any(|f| f.contains("% ") && f.contains(" left")), "a frame with the time left: {frames:?}");
    let last = frames.last().expect("a frame");
    assert!(last.starts_with("[########################] 100%") && last.contains("19500 items"), "{last}");
    assert!(
        capture
            .trim_end()
            .ends_with("json: imported 1500 articles and 18000 comments, updated 0, unchanged 0, skipped 0, 0 errors"),
        "{capture}"
    );
}
