//! Replies from the fediverse (the first part of federated replies): a signed Create of a Note
//! answering one of our articles joins its thread, sanitised, once; and a site comment that
//! answers it reaches its author, mentioned, at their server's inbox.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;
use crate::peer::{ActorOpts, Peer};

const WAIT: Duration = Duration::from_secs(15);

fn remote_comments(thread: &Value) -> Vec<Value> {
    thread["comments"].as_array().expect("comments").iter().filter(|c| c["origin"] == "remote").cloned().collect()
}

/// A reply to an article is stored in its thread with its author and sanitised content, once
/// however often it is delivered; a site comment answering it is sent to the reply's author,
/// who is addressed and mentioned.
async fn a_reply_joins_the_thread_and_an_answer_reaches_its_author(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &["--retry-base-seconds", "1"]).await else { return };
    let peer = Peer::start().await;
    let alice = peer.add_actor("alice", ActorOpts::default());
    let article = app.put_article("treaty", &article_json("Peace treaty talks")).await;
    let article_id = text(&article["ap_id"]).to_string();

    let content = r#"<p>Good news at last.<script>alert(1)</script> <a href="javascript:alert(1)">x</a></p>"#;
    let create = create_of(&peer, "alice", mastodon_note(&peer, "alice", 1, &article_id, content));
    // Delivered twice, as a server retrying does: signed anew (a second later, so the Date
    // and the signature differ; the very same signature would be refused as a replay).
    for attempt in 0..2 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(1100)).await;
        }
        let response = peer.signed_post("alice", &app.url("/inbox"), &create).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
    let thread = app.thread("treaty").await;
    let replies = remote_comments(&thread);
    assert_eq!(replies.len(), 1, "stored once: {thread}");
    let reply = &replies[0];
    assert_eq!(reply["ap_id"], create["object"]["id"]);
    assert_eq!(reply["status"], "visible");
    assert_eq!(reply["depth"], 1);
    assert_eq!(reply["author"]["handle"], format!("@alice@{}", peer.base.trim_start_matches("http://")));
    let content = text(&reply["content"]);
    assert!(content.contains("Good news at last."), "{content}");
    assert!(!content.contains("script") && !content.contains("javascript:"), "{content}");

    // A site user answers the federated reply.
    let answer = comment_json("Maria Petrova", "Agreed, finally.", Some(text(&reply["id"])));
    app.put_comment("treaty", "c1", &answer).await;
    let received = peer.wait_for(|all| all.iter().any(|r| r.kind() == "Create"), WAIT).await;
    let delivered = received.iter().find(|r| r.kind() == "Create").expect("a Create");
    assert_eq!(delivered.path, "/inbox", "the author's server, at its shared inbox");
    assert_eq!(delivered.verified, Ok(()));
    let note = &delivered.activity["object"];
    assert_eq!(note["inReplyTo"], create["object"]["id"]);
    assert!(note["tag"]
        .as_array()
        .expect("tags")
        .iter()
        .any(|t| t["type"] == "Mention" && t["href"] == alice.as_str()));
    assert!(delivered.activity["cc"].as_array().expect("cc").iter().any(|c| c == alice.as_str()));
}

/// A Create whose Note is attributed to someone else than the signer is refused, and a reply
/// to something that is not ours is not stored.
async fn replies_not_by_their_signer_or_elsewhere_are_not_stored(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let peer = Peer::start().await;
    peer.add_actor("alice", ActorOpts::default());
    peer.add_actor("mallory", ActorOpts::default());
    let article = app.put_article("treaty", &article_json("Peace treaty talks")).await;

    let mut forged =
        create_of(&peer, "mallory", mastodon_note(&peer, "mallory", 1, text(&article["ap_id"]), "<p>I am alice</p>"));
    forged["object"]["attributedTo"] = json!(peer.actor_id("alice"));
    let response = peer.signed_post("mallory", &app.url("/inbox"), &forged).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    let elsewhere = create_of(
        &peer,
        "alice",
        mastodon_note(&peer, "alice", 2, "https://elsewhere.example/notes/1", "<p>Hello</p>"),
    );
    let response = peer.signed_post("alice", &app.url("/inbox"), &elsewhere).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED, "acknowledged, not stored");
    assert!(remote_comments(&app.thread("treaty").await).is_empty());
}

both_backends!(
    a_reply_joins_the_thread_and_an_answer_reaches_its_author,
    replies_not_by_their_signer_or_elsewhere_are_not_stored,
);
