//! Golden documents: what the service serves and delivers, compared with the files of
//! tests/golden/ as JSON and then in key order (the order keys go out on the wire), with the
//! volatile values normalised: the service's and the peer's loopback addresses, generated keys,
//! activity uuids and times of the run. A change to the wire
//! shows as a diff of those files in review. `THREADBRIDGE_UPDATE_GOLDEN=1` writes them anew.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{
    article_json, comment_json, create_of, follow_site, mastodon_note, spawn_app, spawn_app_with, spawn_sibling_with,
    Backend, TestApp, TOKEN,
};
use crate::peer::{ActorOpts, Peer};

/// Where the golden files live.
fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Replaces what changes from run to run: the service's and the peer's addresses, keys, uuids,
/// and times within a day of now (dates given by the site stay).
fn normalise(value: &Value, app: &TestApp, peer: Option<&Peer>) -> Value {
    let host = app.address.trim_start_matches("http://").to_string();
    let peer_base = peer.map(|p| p.actor_id("x").trim_end_matches("/users/x").to_string());
    let text = |s: &str| -> String {
        let mut s = s.replace(&app.address, "https://bridge.example").replace(&host, "bridge.example");
        if let Some(base) = &peer_base {
            let peer_host = base.trim_start_matches("http://").to_string();
            s = s.replace(base.as_str(), "https://peer.example").replace(&peer_host, "peer.example");
        }
        for marker in ["/activities/", "#follows/"] {
            if let Some((before, _)) = s.split_once(marker) {
                s = format!("{before}{marker}<uuid>");
            }
        }
        if let Ok(time) = chrono::DateTime::parse_from_rfc3339(&s) {
            if (chrono::Utc::now() - time.with_timezone(&chrono::Utc)).num_hours().abs() < 24 {
                s = "<now>".to_string();
            }
        }
        s
    };
    match value {
        Value::String(s) => Value::String(text(s)),
        Value::Array(items) => Value::Array(items.iter().map(|i| normalise(i, app, peer)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = match k.as_str() {
                        "publicKeyPem" => json!("<pem>"),
                        "publicKeyMultibase" => json!("<multibase>"),
                        _ => normalise(v, app, peer),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Compares `document` with tests/golden/`name`.json, or writes it there when asked to.
fn check(name: &str, document: &Value, mismatches: &mut Vec<String>) {
    let path = golden_dir().join(format!("{name}.json"));
    if std::env::var("THREADBRIDGE_UPDATE_GOLDEN").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(golden_dir()).expect("golden dir");
        std::fs::write(&path, serde_json::to_string_pretty(document).expect("json") + "\n").expect("write golden");
        return;
    }
    let Ok(stored) = std::fs::read_to_string(&path) else {
        mismatches.push(format!("{name}: no {} (THREADBRIDGE_UPDATE_GOLDEN=1 writes it)", path.display()));
        return;
    };
    let stored: Value = serde_json::from_str(&stored).expect("golden file is JSON");
    let now = serde_json::to_string_pretty(document).expect("json");
    if &stored != document {
        mismatches.push(format!("{name}: differs from {}; served now:\n{now}", path.display()));
    } else if now.trim_end() != serde_json::to_string_pretty(&stored).expect("json") {
        // serde_json keeps keys in the order written (activitypub_federation turns on its
        // preserve_order), so the bytes on the wire follow the golden file's order too.
        mismatches.push(format!("{name}: the same JSON as {} with keys in another order:\n{now}", path.display()));
    }
}

/// GETs `path` as ActivityPub (or as `accept`), and keeps its status with the body.
async fn served(app: &TestApp, path: &str, accept: &str) -> Value {
    let url = if path.starts_with("http") { path.to_string() } else { app.url(path) };
    let response = app.client.get(&url).header("Accept", accept).send().await.expect("get");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    json!({ "status": status, "body": body })
}

const AP: &str = "application/activity+json";

/// The site's documents: its actors, an article as Note with and without an image, hashtags and
/// a content warning, a comment at depth 3, a deleted comment, the collections (first and later
/// pages), WebFinger, NodeInfo and host-meta; and what a follower's server receives.
#[tokio::test]
async fn served_and_delivered_documents_match_the_golden_files() {
    let app = spawn_app(Backend::Sqlite).await.expect("sqlite");
    let peer = Peer::start().await;
    peer.add_actor("alice", ActorOpts::default());
    follow_site(&app, &peer, "alice").await;

    let mut full = article_json("Peace treaty talks");
    full["image"] = json!({ "url": "https://news.example/img/treaty.jpg", "alt": "The two ministers" });
    full["sensitive"] = json!(true);
    app.put_article("treaty", &full).await;
    // An activity is rendered when it is fanned out: the article's Create must be out before its
    // comments and its edit change what it would carry.
    let pick = |all: &[crate::peer::Received], kind: &str, object: &str| {
        all.iter().find(|r| r.is_delivered(kind) && (object.is_empty() || r.object_id() == object)).cloned()
    };
    let treaty_id = app.url("/articles/treaty");
    peer.wait_for(|all| pick(all, "Create", &treaty_id).is_some(), Duration::from_secs(60)).await;
    let mut plain = article_json("A plain note");
    plain["tags"] = json!([]);
    plain["summary"] = Value::Null;
    plain["url"] = json!("https://news.example/2015/09/plain");
    app.put_article("plain", &plain).await;
    let comment = |author: &str, text: &str, parent: Option<&str>, n: u32| {
        let mut c = comment_json(author, text, parent);
        c["published"] = json!(format!("2015-09-22T{:02}:{:02}:00Z", 7 + n / 60, n % 60));
        c
    };
    app.put_comment("treaty", "c1", &comment("Ivan Petrov", "<p>First.</p>", None, 1)).await;
    app.put_comment("treaty", "c2", &comment("Анна Смирнова", "<p>Second, to Ivan.</p>", Some("c1"), 2)).await;
    app.put_comment("treaty", "c3", &comment("Ivan Petrov", "<p>Third, deeper.</p>", Some("c2"), 3)).await;
    app.put_comment("treaty", "gone", &comment("Spammer", "<p>Cheap tickets</p>", None, 4)).await;
    let (status, _) = app.admin_delete("/api/admin/articles/treaty/comments/gone").await;
    assert!(status.is_success(), "delete comment: {status}");
    // More replies than a page holds, and more articles than an outbox page.
    for n in 0..21 {
        app.put_comment("plain", &format!("r{n}"), &comment("Reader", &format!("<p>Reply {n}</p>"), None, 10 + n))
            .await;
    }
    for n in 0..20 {
        let mut more = article_json(&format!("Archive {n}"));
        more["url"] = json!(format!("https://news.example/archive/{n}"));
        more["published"] = json!(format!("2014-01-{:02}T06:00:00Z", n + 1));
        app.put_article(&format!("archive-{n}"), &more).await;
    }
    let mut edited = full.clone();
    edited["updated"] = json!("2015-09-23T08:00:00Z");
    edited["content"] = json!("<p>Corrected: the talks restart in October.</p>");
    app.put_article("treaty", &edited).await;
    let (status, _) = app.admin_delete("/api/admin/articles/archive-0").await;
    assert!(status.is_success(), "delete article: {status}");

    // The site follows alice, then stops.
    let alice = json!({ "actor": peer.actor_id("alice") });
    let followed = app.client.post(app.url("/api/admin/following")).bearer_auth(TOKEN).json(&alice).send().await;
    assert!(followed.expect("follow").status().is_success());
    let unfollowed = app.client.delete(app.url("/api/admin/following")).bearer_auth(TOKEN).json(&alice).send().await;
    assert!(unfollowed.expect("unfollow").status().is_success());

    // Articles are the site's own: their author is the site actor.
    let treaty = served(&app, "/articles/treaty", AP).await;
    assert_eq!(treaty["body"]["attributedTo"], app.site_actor());
    let c3 = served(&app, "/articles/treaty/comments/c3", AP).await;
    let commenter = c3["body"]["attributedTo"].as_str().map(str::to_string);

    let mut documents: Vec<(String, Value)> = vec![
        ("actor_site".into(), served(&app, "/users/site", AP).await),
        ("actor_commenter".into(), served(&app, &commenter.expect("the comment's author"), AP).await),
        ("note_with_image_hashtags_warning".into(), treaty),
        ("note_plain".into(), served(&app, "/articles/plain", AP).await),
        ("note_create_activity".into(), served(&app, "/articles/plain/activity", AP).await),
        ("comment_depth_3".into(), c3),
        ("comment_deleted".into(), served(&app, "/articles/treaty/comments/gone", AP).await),
        ("article_deleted".into(), served(&app, "/articles/archive-0", AP).await),
        ("outbox".into(), served(&app, "/users/site/outbox", AP).await),
        ("outbox_page_1".into(), served(&app, "/users/site/outbox?page=1", AP).await),
        ("outbox_page_2".into(), served(&app, "/users/site/outbox?page=2", AP).await),
        ("followers".into(), served(&app, "/users/site/followers", AP).await),
        ("followers_page_1".into(), served(&app, "/users/site/followers?page=1", AP).await),
        ("following".into(), served(&app, "/users/site/following", AP).await),
        ("replies".into(), served(&app, "/articles/plain/replies", AP).await),
        ("replies_page_1".into(), served(&app, "/articles/plain/replies?page=1", AP).await),
        ("replies_page_2".into(), served(&app, "/articles/plain/replies?page=2", AP).await),
        ("comment_replies".into(), served(&app, "/articles/treaty/comments/c1/replies", AP).await),
        ("context".into(), served(&app, "/articles/treaty/context", AP).await),
        ("context_page_1".into(), served(&app, "/articles/treaty/context?page=1", AP).await),
    ];
    let host = app.address.trim_start_matches("http://").to_string();
    let wellknown = [
        ("webfinger", format!("/.well-known/webfinger?resource=acct:site@{host}"), "application/jrd+json"),
        ("nodeinfo_links", "/.well-known/nodeinfo".to_string(), "application/json"),
        ("nodeinfo", "/nodeinfo/2.1".to_string(), "application/json"),
        ("host_meta", "/.well-known/host-meta".to_string(), "application/xrd+xml"),
        ("host_meta_json", "/.well-known/host-meta.json".to_string(), "application/json"),
    ];
    for (name, path, accept) in wellknown {
        documents.push((name.to_string(), served(&app, &path, accept).await));
    }

    // What alice's server received: one of each kind of delivered activity, picked by its object.
    let mut wanted = vec![
        ("delivered_accept", "Accept", String::new()),
        ("delivered_create_article", "Create", app.url("/articles/treaty")),
        ("delivered_create_comment", "Create", app.url("/articles/treaty/comments/c3")),
        ("delivered_update_article", "Update", app.url("/articles/treaty")),
        ("delivered_delete_article", "Delete", app.url("/articles/archive-0")),
        ("delivered_delete_comment", "Delete", app.url("/articles/treaty/comments/gone")),
        ("delivered_follow", "Follow", peer.actor_id("alice")),
        ("delivered_undo_follow", "Undo", String::new()),
    ];
    // A start under another handle domain: the site tells its followers' servers with an Update
    // of itself.
    let _restarted =
        spawn_sibling_with(&app, &["--public-url", app.address.as_str(), "--handle-domain", "news.example"]).await;
    wanted.push(("delivered_update_actor", "Update", app.site_actor()));
    let received =
        peer.wait_for(|all| wanted.iter().all(|(_, k, o)| pick(all, k, o).is_some()), Duration::from_secs(60)).await;
    for (name, kind, object) in &wanted {
        let r = pick(&received, kind, object).unwrap_or_else(|| panic!("{name}: not delivered"));
        documents.push((name.to_string(), r.activity));
    }

    let icon = ["--site-icon", "https://news.example/icon.png"];
    let article_app =
        spawn_app_with(Backend::Sqlite, &[&["--object-type", "article"][..], &icon].concat()).await.expect("sqlite");
    article_app.put_article("treaty", &full).await;
    article_app.put_article("plain", &plain).await;
    let as_article = served(&article_app, "/articles/treaty", AP).await;
    assert_eq!(as_article["body"]["type"], "Article", "{as_article}");
    let plain_article = served(&article_app, "/articles/plain", AP).await;
    let site_with_icon = served(&article_app, "/users/site", AP).await;

    // A site user answers a reply from the fediverse: the answer mentions its author, and is
    // addressed and delivered to them (the second app has no followers, so only to them).
    let mut answered = article_json("Answered from the fediverse");
    answered["url"] = json!("https://news.example/2015/09/answered");
    article_app.put_article("answered", &answered).await;
    let question = mastodon_note(&peer, "alice", 1, &article_app.url("/articles/answered"), "<p>Which talks?</p>");
    let sent = peer.signed_post("alice", &article_app.url("/inbox"), &create_of(&peer, "alice", question)).await;
    assert_eq!(sent.status(), StatusCode::ACCEPTED);
    let thread = article_app.thread("answered").await;
    let question = thread["comments"].as_array().and_then(|c| c.iter().find(|c| c["origin"] == "remote")).cloned();
    let question_key = question.expect("the reply is stored")["id"].as_str().unwrap_or_default().to_string();
    let answer = comment("Maria Petrova", "<p>The peace treaty talks.</p>", Some(&question_key), 5);
    article_app.put_comment("answered", "answer", &answer).await;
    let answer = served(&article_app, "/articles/answered/comments/answer", AP).await;
    let answer_id = article_app.url("/articles/answered/comments/answer");
    let received = peer.wait_for(|all| pick(all, "Create", &answer_id).is_some(), Duration::from_secs(60)).await;
    let delivered_answer = pick(&received, "Create", &answer_id).expect("the answer delivered").activity;

    let mut mismatches = Vec::new();
    for (name, document) in &documents {
        assert_ne!(document["status"], StatusCode::NOT_FOUND.as_u16(), "{name}: {document}");
        check(name, &normalise(document, &app, Some(&peer)), &mut mismatches);
    }
    check("article_with_image_hashtags_warning", &normalise(&as_article, &article_app, None), &mut mismatches);
    check("article_plain", &normalise(&plain_article, &article_app, None), &mut mismatches);
    check("actor_site_with_icon", &normalise(&site_with_icon, &article_app, None), &mut mismatches);
    check("comment_answering_the_fediverse", &normalise(&answer, &article_app, Some(&peer)), &mut mismatches);
    let delivered_answer = normalise(&delivered_answer, &article_app, Some(&peer));
    check("delivered_create_answer_to_the_fediverse", &delivered_answer, &mut mismatches);
    assert!(mismatches.is_empty(), "{} golden documents differ:\n{}", mismatches.len(), mismatches.join("\n"));
}
