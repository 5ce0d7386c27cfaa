//! What the fediverse sends after a reply: edits and deletions by the owner (and by no one
//! else), ordering (a Delete before its Create), the same activity twice, likes and boosts,
//! parents fetched up the chain, replies found by crawling, the reply policy, objects embedded
//! from another server, and the limits and blocks that refuse a request before it costs us.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;
use crate::peer::{ActorOpts, Peer};

const WAIT: Duration = Duration::from_secs(15);

/// An activity of `kind` by `name` about `object`, with a fresh id.
fn activity(peer: &Peer, name: &str, kind: &str, object: Value) -> Value {
    let actor = peer.actor_id(name);
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{actor}#{}-{}", kind.to_lowercase(), uuid::Uuid::new_v4()),
        "type": kind,
        "actor": actor,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": object,
    })
}

fn remote_comments(thread: &Value) -> Vec<Value> {
    thread["comments"].as_array().expect("comments").iter().filter(|c| c["origin"] == "remote").cloned().collect()
}

fn find<'a>(thread: &'a Value, ap_id: &str) -> Option<&'a Value> {
    thread["comments"].as_array().expect("comments").iter().find(|c| c["ap_id"] == ap_id)
}

async fn post(peer: &Peer, app: &TestApp, name: &str, activity: &Value) -> StatusCode {
    peer.signed_post(name, &app.url("/inbox"), activity).await.status()
}

/// Waits until the thread satisfies `done` (background fetching), or fails with the thread.
async fn wait_for_thread(app: &TestApp, key: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let thread = app.thread(key).await;
        if done(&thread) {
            return thread;
        }
        assert!(tokio::time::Instant::now() < deadline, "the thread never got there: {thread}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The owner edits (newer `updated` only) and deletes its reply; another account's Update or
/// Delete changes nothing; the same Update activity again is not applied twice; a Create that
/// comes after the Delete does not bring the reply back.
async fn the_owner_edits_and_deletes_a_reply_and_no_one_else_can(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let peer = Peer::start().await;
    peer.add_actors(&["alice", "mallory"], ActorOpts::default());
    let article = app.put_article("treaty", &article_json("Peace treaty talks")).await;
    let original = mastodon_note(&peer, "alice", 1, text(&article["ap_id"]), "<p>First take.</p>");
    let id = text(&original["id"]).to_string();
    let create = activity(&peer, "alice", "Create", original.clone());
    assert_eq!(post(&peer, &app, "alice", &create).await, StatusCode::ACCEPTED);

    let mut edited = original.clone();
    edited["content"] = json!("<p>Second take.</p>");
    edited["updated"] = json!("2026-11-27T10:00:00Z");
    let update = activity(&peer, "alice", "Update", edited.clone());
    assert_eq!(post(&peer, &app, "alice", &update).await, StatusCode::ACCEPTED);
    let thread = app.thread("treaty").await;
    let reply = find(&thread, &id).expect("the reply");
    assert!(text(&reply["content"]).contains("Second take."), "{reply}");
    assert_eq!(reply["updated"], "2026-11-27T10:00:00Z");

    // The same Update again, now carrying other content under the same `updated`: an edit is
    // applied only when newer than what is stored (its id does not decide: Hubzilla sends edits
    // under their Create's id).
    let mut replayed = update.clone();
    replayed["object"]["content"] = json!("<p>Sneaky third take.</p>");
    assert_eq!(post(&peer, &app, "alice", &replayed).await, StatusCode::ACCEPTED);
    // An older edit arriving late.
    let mut stale = original.clone();
    stale["content"] = json!("<p>Stale take.</p>");
    stale["updated"] = json!("2026-11-27T09:30:00Z");
    assert_eq!(post(&peer, &app, "alice", &activity(&peer, "alice", "Update", stale)).await, StatusCode::ACCEPTED);
    // Someone else's edit: attributed to them, or claiming alice.
    let mut hijack = edited.clone();
    hijack["content"] = json!("<p>Mallory was here.</p>");
    hijack["updated"] = json!("2026-11-27T12:00:00Z");
    let as_alice = activity(&peer, "mallory", "Update", hijack.clone());
    assert_eq!(post(&peer, &app, "mallory", &as_alice).await, StatusCode::FORBIDDEN);
    hijack["attributedTo"] = json!(peer.actor_id("mallory"));
    let as_mallory = activity(&peer, "mallory", "Update", hijack);
    assert_eq!(post(&peer, &app, "mallory", &as_mallory).await, StatusCode::ACCEPTED);
    let delete_by_mallory = activity(&peer, "mallory", "Delete", json!({"id": id, "type": "Tombstone"}));
    assert_eq!(post(&peer, &app, "mallory", &delete_by_mallory).await, StatusCode::ACCEPTED);
    let thread = app.thread("treaty").await;
    let reply = find(&thread, &id).expect("the reply");
    assert_eq!(reply["status"], "visible", "{reply}");
    assert!(text(&reply["content"]).contains("Second take."), "unchanged by all of those: {reply}");

    // The owner deletes it; the Create again (a new activity) does not revive it.
    let delete = activity(&peer, "alice", "Delete", json!({"id": id, "type": "Tombstone"}));
    assert_eq!(post(&peer, &app, "alice", &delete).await, StatusCode::ACCEPTED);
    let again = activity(&peer, "alice", "Create", original);
    assert_eq!(post(&peer, &app, "alice", &again).await, StatusCode::ACCEPTED);
    let thread = app.thread("treaty").await;
    let reply = find(&thread, &id).expect("kept as a deleted item");
    assert_eq!(reply["status"], "deleted");
    assert_eq!(reply["content"], "");
    assert!(reply["author"].is_null());
    assert_eq!(remote_comments(&thread).len(), 1);
}

/// A Delete that overtakes its Create leaves a tombstone the Create cannot pass; an Update of a
/// reply we never received is taken as its Create.
async fn ordering_is_tolerated(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let peer = Peer::start().await;
    peer.add_actor("alice", ActorOpts::default());
    let article = app.put_article("treaty", &article_json("Peace treaty talks")).await;
    let first = mastodon_note(&peer, "alice", 1, text(&article["ap_id"]), "<p>Deleted before it came.</p>");
    let delete = activity(&peer, "alice", "Delete", json!(first["id"]));
    assert_eq!(post(&peer, &app, "alice", &delete).await, StatusCode::ACCEPTED);
    let create = activity(&peer, "alice", "Create", first.clone());
    assert_eq!(post(&peer, &app, "alice", &create).await, StatusCode::ACCEPTED);
    assert!(find(&app.thread("treaty").await, text(&first["id"])).is_none(), "not stored after its Delete");

    let mut second = mastodon_note(&peer, "alice", 2, text(&article["ap_id"]), "<p>Known by its edit.</p>");
    second["updated"] = json!("2026-11-27T10:00:00Z");
    let update = activity(&peer, "alice", "Update", second.clone());
    assert_eq!(post(&peer, &app, "alice", &update).await, StatusCode::ACCEPTED);
    let thread = app.thread("treaty").await;
    let reply = find(&thread, text(&second["id"])).expect("stored from its Update");
    assert!(text(&reply["content"]).contains("Known by its edit."));
}

/// Likes (and Misskey's EmojiReact) and boosts of the article and a comment are counted once per
/// account, shown in the thread, and undone by Undo (embedded or by id).
async fn likes_and_boosts_are_counted_and_undone(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let peer = Peer::start().await;
    peer.add_actors(&["alice", "bob"], ActorOpts::default());
    let article = app.put_article("treaty", &article_json("Peace treaty talks")).await;
    let comment = app.put_comment("treaty", "c1", &comment_json("Maria Petrova", "A comment", None)).await;
    let article_id = text(&article["ap_id"]).to_string();
    let comment_id = text(&comment["ap_id"]).to_string();

    let alice_like = activity(&peer, "alice", "Like", json!(article_id));
    let bob_like = activity(&peer, "bob", "Like", json!(article_id));
    let mut bob_react = activity(&peer, "bob", "EmojiReact", json!(comment_id));
    bob_react["content"] = json!("👍");
    let alice_boost = activity(&peer, "alice", "Announce", json!(comment_id));
    for (name, a) in [("alice", &alice_like), ("bob", &bob_like), ("bob", &bob_react), ("alice", &alice_boost)] {
        assert_eq!(post(&peer, &app, name, a).await, StatusCode::ACCEPTED);
    }
    // A second Like of the same article by alice (another activity) counts once.
    let alice_again = activity(&peer, "alice", "Like", json!(article_id));
    assert_eq!(post(&peer, &app, "alice", &alice_again).await, StatusCode::ACCEPTED);
    // A like of something that is not ours is not counted.
    let elsewhere = activity(&peer, "alice", "Like", json!("https://elsewhere.example/notes/1"));
    assert_eq!(post(&peer, &app, "alice", &elsewhere).await, StatusCode::ACCEPTED);

    let thread = app.thread("treaty").await;
    assert_eq!(thread["article"]["reactions"], json!({"likes": 2, "announces": 0}));
    let c1 = find(&thread, &comment_id).expect("c1");
    assert_eq!((c1["likes"].clone(), c1["announces"].clone()), (json!(1), json!(1)));

    // Undo: embedded (bob's like), by id (alice's boost); bob cannot undo alice's like.
    let forged_undo = activity(&peer, "bob", "Undo", alice_like.clone());
    assert_eq!(post(&peer, &app, "bob", &forged_undo).await, StatusCode::FORBIDDEN);
    assert_eq!(post(&peer, &app, "bob", &activity(&peer, "bob", "Undo", bob_like)).await, StatusCode::ACCEPTED);
    let by_id = activity(&peer, "alice", "Undo", alice_boost["id"].clone());
    assert_eq!(post(&peer, &app, "alice", &by_id).await, StatusCode::ACCEPTED);
    let thread = app.thread("treaty").await;
    assert_eq!(thread["article"]["reactions"], json!({"likes": 1, "announces": 0}));
    let c1 = find(&thread, &comment_id).expect("c1");
    assert_eq!((c1["likes"].clone(), c1["announces"].clone()), (json!(1), json!(0)));
}

/// A reply to a post we do not hold is placed by fetching its parents from their server, up to
/// the article; a chain that leads elsewhere, or is too long, stores nothing.
async fn unknown_parents_are_fetched_up_the_chain(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let peer = Peer::start().await;
    peer.add_actors(&["bob", "carol", "dave"], ActorOpts::default());
    let article = app.put_article("treaty", &article_json("Peace treaty talks")).await;
    // bob answered the article (we never got it), carol answered bob: carol's reaches us.
    let bobs = mastodon_note(&peer, "bob", 1, text(&article["ap_id"]), "<p>Bob, never delivered.</p>");
    peer.serve(bobs.clone());
    let carols = mastodon_note(&peer, "carol", 1, text(&bobs["id"]), "<p>Carol answers Bob.</p>");
    let create = activity(&peer, "carol", "Create", carols.clone());
    assert_eq!(post(&peer, &app, "carol", &create).await, StatusCode::ACCEPTED);
    let thread = wait_for_thread(&app, "treaty", |t| find(t, text(&carols["id"])).is_some()).await;
    let bob_reply = find(&thread, text(&bobs["id"])).expect("bob's reply, fetched");
    let carol_reply = find(&thread, text(&carols["id"])).expect("carol's reply");
    assert_eq!((bob_reply["depth"].clone(), carol_reply["depth"].clone()), (json!(1), json!(2)));
    assert_eq!(carol_reply["parent"], bob_reply["id"]);
    assert_eq!(bob_reply["author"]["url"], peer.actor_id("bob"));

    // A conversation that starts elsewhere.
    let top = mastodon_note(&peer, "dave", 10, "https://elsewhere.invalid/notes/1", "<p>Not about the article.</p>");
    peer.serve(top.clone());
    let below = mastodon_note(&peer, "carol", 11, text(&top["id"]), "<p>Reply elsewhere.</p>");
    assert_eq!(
        post(&peer, &app, "carol", &activity(&peer, "carol", "Create", below.clone())).await,
        StatusCode::ACCEPTED
    );
    // A chain longer than the bound: 12 posts above the one delivered.
    let mut parent = text(&article["ap_id"]).to_string();
    for n in 0..12 {
        let step = mastodon_note(&peer, "dave", 100 + n, &parent, "<p>step</p>");
        peer.serve(step.clone());
        parent = text(&step["id"]).to_string();
    }
    let deep = mastodon_note(&peer, "carol", 12, &parent, "<p>At the bottom of a long chain.</p>");
    assert_eq!(
        post(&peer, &app, "carol", &activity(&peer, "carol", "Create", deep.clone())).await,
        StatusCode::ACCEPTED
    );
    // Something that is stored after both shows they were dealt with.
    let marker = mastodon_note(&peer, "carol", 13, text(&article["ap_id"]), "<p>marker</p>");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        post(&peer, &app, "carol", &activity(&peer, "carol", "Create", marker.clone())).await,
        StatusCode::ACCEPTED
    );
    let thread = wait_for_thread(&app, "treaty", |t| find(t, text(&marker["id"])).is_some()).await;
    assert!(find(&thread, text(&below["id"])).is_none(), "{thread}");
    assert!(find(&thread, text(&top["id"])).is_none());
    assert!(find(&thread, text(&deep["id"])).is_none(), "too deep: not stored");
    assert_eq!(remote_comments(&thread).len(), 3, "bob, carol, marker: {thread}");
}

/// A stored reply's `replies` collection, and a conversation's `context` collection, are crawled:
/// replies that never reached us join.
async fn replies_of_a_stored_reply_are_crawled(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let peer = Peer::start().await;
    peer.add_actors(&["alice", "erin"], ActorOpts::default());
    let article = app.put_article("treaty", &article_json("Peace treaty talks")).await;
    let mut alices = mastodon_note(&peer, "alice", 1, text(&article["ap_id"]), "<p>Alice.</p>");
    let erins = mastodon_note(&peer, "erin", 1, text(&alices["id"]), "<p>Erin answers Alice elsewhere.</p>");
    peer.serve(erins.clone());
    let replies_id = format!("{}/replies", text(&alices["id"]));
    alices["replies"] = json!({
        "id": replies_id,
        "type": "Collection",
        "first": {
            "type": "CollectionPage",
            "partOf": replies_id,
            "next": format!("{replies_id}?page=2"),
            "items": [],
        },
    });
    peer.serve(json!({
        "id": format!("{replies_id}?page=2"),
        "type": "CollectionPage",
        "partOf": replies_id,
        "items": [erins["id"]],
    }));
    assert_eq!(
        post(&peer, &app, "alice", &activity(&peer, "alice", "Create", alices.clone())).await,
        StatusCode::ACCEPTED
    );
    let thread = wait_for_thread(&app, "treaty", |t| find(t, text(&erins["id"])).is_some()).await;
    let erin = find(&thread, text(&erins["id"])).expect("erin's reply");
    assert_eq!(erin["depth"], 2);
    assert!(text(&erin["content"]).contains("Erin answers Alice"));

    // A conversation's `context` collection (FEP-7888), kept by the peer: frank's answer to
    // erin is listed there (after posts we hold or that are not about our thread).
    let franks =
        mastodon_note(&peer, "erin", 2, text(&erins["id"]), "<p>Frank-like answer, seen only in the context.</p>");
    let unrelated = mastodon_note(&peer, "erin", 3, "https://elsewhere.invalid/1", "<p>Unrelated.</p>");
    peer.serve(franks.clone());
    peer.serve(unrelated.clone());
    let context_id = format!("{}/contexts/1", peer.base);
    peer.serve(json!({
        "id": context_id,
        "type": "OrderedCollection",
        "orderedItems": [alices["id"], erins["id"], unrelated["id"], franks["id"]],
    }));
    let mut grace = mastodon_note(&peer, "alice", 2, text(&article["ap_id"]), "<p>Alice again.</p>");
    grace["context"] = json!(context_id);
    assert_eq!(post(&peer, &app, "alice", &activity(&peer, "alice", "Create", grace)).await, StatusCode::ACCEPTED);
    let thread = wait_for_thread(&app, "treaty", |t| find(t, text(&franks["id"])).is_some()).await;
    assert_eq!(find(&thread, text(&franks["id"])).expect("from the context")["depth"], 3);
    assert!(find(&thread, text(&unrelated["id"])).is_none());
}

/// With the `hold` policy a reply is pending (not in the public `replies` collection) until an
/// admin approves it; an article's own policy overrides the site's.
async fn held_replies_wait_for_approval(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &["--reply-policy", "hold"]).await else { return };
    let peer = Peer::start().await;
    peer.add_actor("alice", ActorOpts::default());
    let article = app.put_article("treaty", &article_json("Peace treaty talks")).await;
    let open = app.put_article("open", &article_json("An open article")).await;
    let (status, _) = app.admin_put("/api/admin/articles/open/reply-policy", &json!({"policy": "open"})).await;
    assert_eq!(status, StatusCode::OK);

    let held = mastodon_note(&peer, "alice", 1, text(&article["ap_id"]), "<p>Please approve me.</p>");
    assert_eq!(
        post(&peer, &app, "alice", &activity(&peer, "alice", "Create", held.clone())).await,
        StatusCode::ACCEPTED
    );
    let shown = mastodon_note(&peer, "alice", 2, text(&open["ap_id"]), "<p>Shown at once.</p>");
    assert_eq!(
        post(&peer, &app, "alice", &activity(&peer, "alice", "Create", shown.clone())).await,
        StatusCode::ACCEPTED
    );

    let thread = app.thread("treaty").await;
    let reply = find(&thread, text(&held["id"])).expect("held reply");
    assert_eq!(reply["status"], "pending");
    let (_, replies) = app.ap_get(&format!("{}/replies", text(&article["ap_id"]))).await;
    assert_eq!(replies["totalItems"], 0, "not shown on the fediverse: {replies}");
    assert_eq!(find(&app.thread("open").await, text(&shown["id"])).expect("shown")["status"], "visible");

    let (status, _) = app.admin_post(&format!("/api/admin/comments/{}/approve", text(&reply["id"]))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(find(&app.thread("treaty").await, text(&held["id"])).expect("approved")["status"], "visible");
    let (_, replies) = app.ap_get(&format!("{}/replies", text(&article["ap_id"]))).await;
    assert_eq!(replies["totalItems"], 1);
}

/// An object embedded from another server is not taken on trust: it is fetched from its own id,
/// and what its server says decides (here: someone else's post, so nothing is stored).
async fn objects_from_another_server_are_fetched_not_trusted(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let peer = Peer::start().await;
    let other = Peer::start().await;
    peer.add_actor("alice", ActorOpts::default());
    other.add_actor("zoe", ActorOpts::default());
    let article = app.put_article("treaty", &article_json("Peace treaty talks")).await;
    let real = mastodon_note(&other, "zoe", 1, text(&article["ap_id"]), "<p>What zoe really wrote.</p>");
    other.serve(real.clone());
    let mut forged = real.clone();
    forged["attributedTo"] = json!(peer.actor_id("alice"));
    forged["content"] = json!("<p>Words put in zoe's post.</p>");
    let status = post(&peer, &app, "alice", &activity(&peer, "alice", "Create", forged)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the fetched post is zoe's, not alice's");
    assert!(remote_comments(&app.thread("treaty").await).is_empty());
}

/// A fetched document is refused when its media type is not ActivityPub JSON, or when its id is
/// on another server than the one it was fetched from: the reply is not stored.
async fn fetched_documents_must_be_activitypub_from_their_own_origin(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let peer = Peer::start().await;
    let other = Peer::start().await;
    peer.add_actor("alice", ActorOpts::default());
    other.add_actor("zoe", ActorOpts::default());
    let article = app.put_article("treaty", &article_json("Peace treaty talks")).await;
    let article_id = text(&article["ap_id"]).to_string();
    // zoe's post, served as a web page; then a document at zoe's server claiming alice's id.
    let as_html = mastodon_note(&other, "zoe", 1, &article_id, "<p>Served as HTML.</p>");
    other.serve_at("/users/zoe/statuses/1", "text/html; charset=utf-8", as_html.clone());
    let mut elsewhere = mastodon_note(&peer, "alice", 2, &article_id, "<p>An id from another origin.</p>");
    other.serve_at("/users/zoe/statuses/2", "application/activity+json", elsewhere.clone());
    elsewhere["id"] = json!(format!("{}/users/zoe/statuses/2", other.base));
    // alice sends both by id (an object given by id is fetched from its own server). Taken,
    // the first would be refused as zoe's (403) and the second stored as alice's: 202 with
    // nothing stored shows both documents were refused when fetched.
    for (n, id) in [(1, text(&as_html["id"]).to_string()), (2, text(&elsewhere["id"]).to_string())] {
        let create = activity(&peer, "alice", "Create", json!(id));
        assert_eq!(post(&peer, &app, "alice", &create).await, StatusCode::ACCEPTED, "case {n}");
    }
    assert!(remote_comments(&app.thread("treaty").await).is_empty(), "nothing stored");
}

/// HTML is sanitised; the content warning, names and links are checked.
async fn what_a_reply_carries_is_sanitised(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let peer = Peer::start().await;
    peer.add_actor("alice", ActorOpts::default());
    let article = app.put_article("treaty", &article_json("Peace treaty talks")).await;
    let mut post_note = mastodon_note(
        &peer,
        "alice",
        1,
        text(&article["ap_id"]),
        r##"<p style="color:red" onclick="steal()">Hi <span class="h-card"><a href="https://m.example/@bob" class="u-url mention">@<span>bob</span></a></span> <a href="https://m.example/tags/peace" class="mention hashtag" rel="tag">#<span>peace</span></a></p><iframe src="https://evil.example"></iframe><img src=x onerror=alert(1)><a href="data:text/html,x">d</a>"##,
    );
    post_note["summary"] = json!("<b>Spoilers</b> ahead");
    post_note["contentMap"] = json!({"en": post_note["content"].clone()});
    post_note["url"] = json!("javascript:alert(1)");
    post_note["attachment"] = json!([
        {"type": "Document", "mediaType": "image/png", "url": "https://m.example/a.png", "name": "A <i>dove</i>"},
        {"type": "Document", "mediaType": "image/png", "url": "javascript:alert(1)"},
    ]);
    assert_eq!(
        post(&peer, &app, "alice", &activity(&peer, "alice", "Create", post_note.clone())).await,
        StatusCode::ACCEPTED
    );
    let thread = app.thread("treaty").await;
    let reply = find(&thread, text(&post_note["id"])).expect("stored");
    let content = text(&reply["content"]);
    for bad in ["style", "onclick", "iframe", "onerror", "data:", "<script"] {
        assert!(!content.contains(bad), "{bad} in {content}");
    }
    assert!(content.contains(r#"href="https://m.example/@bob""#) && content.contains("mention"), "{content}");
    assert!(content.contains("https://m.example/tags/peace"), "{content}");
    assert!(content.contains(r#"rel="nofollow noopener noreferrer""#), "{content}");
    let remote = &reply["remote"];
    assert_eq!(remote["summary"], "Spoilers ahead");
    assert_eq!(remote["language"], "en");
    assert!(remote["url"].is_null(), "a javascript: url is dropped");
    assert_eq!(
        remote["attachments"],
        json!([{"url": "https://m.example/a.png", "media_type": "image/png", "name": "A dove"}])
    );
}

/// Requests refused before they cost anything: too deep, too big, too many from one server,
/// and from a blocked server. Nothing they carry is stored.
async fn limits_and_blocks_refuse_early(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &["--inbox-rate", "1", "--inbox-burst", "4"]).await else { return };
    let peer = Peer::start().await;
    peer.add_actor("alice", ActorOpts::default());
    let article = app.put_article("treaty", &article_json("Peace treaty talks")).await;
    let article_id = text(&article["ap_id"]).to_string();

    let mut deep = mastodon_note(&peer, "alice", 1, &article_id, "<p>deep</p>");
    let mut nested = json!("bottom");
    for _ in 0..40 {
        nested = json!({ "x": nested });
    }
    deep["extra"] = nested;
    let response = peer.signed_post("alice", &app.url("/inbox"), &activity(&peer, "alice", "Create", deep)).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(body_json(response).await["error"].as_str().expect("error").contains("nested"));

    let huge = mastodon_note(&peer, "alice", 2, &article_id, &format!("<p>{}</p>", "x".repeat(1_100_000)));
    let response = peer.signed_post("alice", &app.url("/inbox"), &activity(&peer, "alice", "Create", huge)).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(body_json(response).await["error"].as_str().expect("a JSON error").contains("larger than"));

    // The burst of 4 is spent on: the deep one, one accepted here, and two more; then 429.
    let ok = mastodon_note(&peer, "alice", 3, &article_id, "<p>fine</p>");
    assert_eq!(post(&peer, &app, "alice", &activity(&peer, "alice", "Create", ok.clone())).await, StatusCode::ACCEPTED);
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for n in 0..4 {
        let extra = mastodon_note(&peer, "alice", 10 + n, &article_id, "<p>more</p>");
        let response = peer.signed_post("alice", &app.url("/inbox"), &activity(&peer, "alice", "Create", extra)).await;
        statuses.push(response.status());
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            retry_after = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_string);
        }
    }
    assert!(statuses.contains(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
    let seconds: u64 = retry_after.expect("Retry-After").parse().expect("seconds");
    assert!(seconds >= 1);

    // A blocked server (the peer's host): refused, nothing stored.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let host = peer.base.trim_start_matches("http://").split(':').next().expect("host").to_string();
    let (status, body) = app.admin_put(&format!("/api/admin/blocks/domains/{host}"), &json!({})).await;
    assert!(status.is_success(), "{status} {body}");
    let blocked = mastodon_note(&peer, "alice", 30, &article_id, "<p>blocked</p>");
    let status = post(&peer, &app, "alice", &activity(&peer, "alice", "Create", blocked.clone())).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let thread = app.thread("treaty").await;
    assert!(find(&thread, text(&blocked["id"])).is_none());
    assert!(find(&thread, text(&ok["id"])).is_some());
}

both_backends!(
    the_owner_edits_and_deletes_a_reply_and_no_one_else_can,
    ordering_is_tolerated,
    likes_and_boosts_are_counted_and_undone,
    unknown_parents_are_fetched_up_the_chain,
    replies_of_a_stored_reply_are_crawled,
    held_replies_wait_for_approval,
    objects_from_another_server_are_fetched_not_trusted,
    fetched_documents_must_be_activitypub_from_their_own_origin,
    what_a_reply_carries_is_sanitised,
    limits_and_blocks_refuse_early,
    direct_and_followers_only_replies_are_not_published,
    a_sensitive_reply_without_a_warning_stays_sensitive,
);

/// The service with the article `treaty`, and a test peer whose actor `alice` answers it; the
/// article's id.
async fn treaty_and_alice(backend: Backend) -> Option<(TestApp, Peer, String)> {
    let app = spawn_app(backend).await?;
    let peer = Peer::start().await;
    peer.add_actors(&["alice"], ActorOpts::default());
    let article = app.put_article("treaty", &article_json("Peace treaty talks")).await;
    let article_id = text(&article["ap_id"]).to_string();
    Some((app, peer, article_id))
}

/// A reply addressed to the site alone (a direct message) or to its author's followers only is
/// acknowledged and never stored: the site's pages and collections are public. The same reply
/// made public is stored.
async fn direct_and_followers_only_replies_are_not_published(backend: Backend) {
    let Some((app, peer, article)) = treaty_and_alice(backend).await else { return };
    let followers = format!("{}/followers", peer.actor_id("alice"));
    for (status, to, cc, text_sent) in [
        (1, json!([app.site_actor()]), json!([]), "Only for the site."),
        (2, json!([followers]), json!([app.site_actor()]), "Only for my followers."),
    ] {
        let mut note = mastodon_note(&peer, "alice", status, &article, &format!("<p>{text_sent}</p>"));
        note["to"] = to.clone();
        note["cc"] = cc.clone();
        let mut create = activity(&peer, "alice", "Create", note);
        create["to"] = to;
        create["cc"] = cc;
        assert_eq!(post(&peer, &app, "alice", &create).await, StatusCode::ACCEPTED, "{text_sent}");
    }
    assert!(remote_comments(&app.thread("treaty").await).is_empty());

    let public = mastodon_note(&peer, "alice", 3, &article, "<p>For everyone.</p>");
    assert_eq!(post(&peer, &app, "alice", &activity(&peer, "alice", "Create", public)).await, StatusCode::ACCEPTED);
    let comments = remote_comments(&app.thread("treaty").await);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(text(&comments[0]["content"]).contains("For everyone."));
}

/// A reply marked `sensitive` with no content warning (sensitive media, as Mastodon sends a
/// picture marked sensitive): the site is told, so it can hide the media behind a warning.
async fn a_sensitive_reply_without_a_warning_stays_sensitive(backend: Backend) {
    let Some((app, peer, article)) = treaty_and_alice(backend).await else { return };
    let mut note = mastodon_note(&peer, "alice", 1, &article, "<p>The signing, in pictures.</p>");
    note["sensitive"] = json!(true);
    note["attachment"] = json!([{
        "type": "Document",
        "mediaType": "image/jpeg",
        "url": "https://files.example/signing.jpg",
        "name": "Delegates at the table"
    }]);
    assert_eq!(post(&peer, &app, "alice", &activity(&peer, "alice", "Create", note)).await, StatusCode::ACCEPTED);
    let comments = remote_comments(&app.thread("treaty").await);
    assert_eq!(comments.len(), 1, "{comments:?}");
    let remote = &comments[0]["remote"];
    assert_eq!(remote["sensitive"], true, "{remote}");
    assert!(remote["summary"].is_null(), "{remote}");
    assert_eq!(remote["attachments"][0]["url"], "https://files.example/signing.jpg");
}
