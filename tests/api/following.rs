//! Following the site: signed Follows are stored and answered with a signed Accept, Undo and Move
//! change the follow, and every refused request stores nothing. A test peer plays the remote
//! server and checks threadbridge's signatures with its own code.

use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;
use crate::peer::{ActorOpts, Peer};

const WAIT: Duration = Duration::from_secs(15);

fn actors(followers: &[Value]) -> Vec<&str> {
    followers.iter().filter_map(|f| f["actor"].as_str()).collect()
}

/// Changes the keyId a signed request claims; what was signed stays the same.
fn swap_key_id(headers: &mut HeaderMap, from: &str, to: &str) {
    let signature = headers["signature"].to_str().expect("Signature is text").replace(from, to);
    headers.insert("signature", signature.parse().expect("a header value"));
}

/// A signed Follow of the site is answered 202, stored with the follower's inboxes, listed by
/// the admin (paged) and counted by the followers collection, and a signed Accept of that very
/// Follow goes to the follower's own inbox. Following again, through the shared inbox, is
/// accepted again and still makes one follower.
async fn follow_is_stored_listed_and_accepted(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let peer = Peer::start().await;
    let alice = peer.add_actor("alice", ActorOpts::default());

    let follow = peer.follow("alice", &app.site_actor());
    let response = peer.signed_post("alice", &app.url("/users/site/inbox"), &follow).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);

    let received = peer.wait_for(|all| all.iter().any(|r| r.kind() == "Accept"), WAIT).await;
    let accept = received.iter().find(|r| r.kind() == "Accept").expect("an Accept");
    assert_eq!(accept.path, "/users/alice/inbox", "the Accept goes to the follower's own inbox");
    assert_eq!(accept.verified, Ok(()), "the peer verifies the Accept's signature");
    assert_eq!(accept.key_id, format!("{}#main-key", app.site_actor()));
    assert_eq!(accept.activity["actor"], app.site_actor());
    assert_eq!(accept.activity["object"]["id"], follow["id"]);
    assert_eq!(accept.activity["object"]["type"], "Follow");
    assert_eq!(accept.activity["object"]["actor"], alice);

    let followers = app.followers().await;
    assert_eq!(followers.len(), 1, "{followers:?}");
    let follower = &followers[0];
    let mut fields: Vec<&str> = follower.as_object().expect("an object").keys().map(String::as_str).collect();
    fields.sort();
    assert_eq!(fields, ["actor", "follows", "handle", "inbox", "shared_inbox", "since"]);
    assert_eq!(follower["actor"], alice);
    assert_eq!(follower["handle"], format!("@alice@{}", peer.base.trim_start_matches("http://")));
    assert_eq!(follower["inbox"], peer.inbox("alice"));
    assert_eq!(follower["shared_inbox"], peer.shared_inbox());
    assert_eq!(follower["follows"], "site");
    assert!(follower["since"].as_str().is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok()), "{follower}");
    assert_eq!(app.followers_count("site").await, 1);

    // The same person follows again (a lost Accept, say), this time through the shared inbox.
    let again = peer.follow("alice", &app.site_actor());
    let response = peer.signed_post("alice", &app.url("/inbox"), &again).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let again_id = text(&again["id"]).to_string();
    peer.wait_for(|all| all.iter().any(|r| r.is_verified("Accept") && r.object_id() == again_id), WAIT).await;
    assert_eq!(actors(&app.followers().await), [alice.as_str()], "still one follower");
    assert_eq!(app.followers_count("site").await, 1);

    // A second follower; the admin list is paged.
    let bob = peer.add_actor("bob", ActorOpts::default());
    follow_site(&app, &peer, "bob").await;
    let (status, page) = app.admin_get("/api/admin/followers?per_page=1&page=2").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["total"], 2);
    assert_eq!(page["page"], 2);
    assert_eq!(page["per_page"], 1);
    assert_eq!(actors(page["items"].as_array().expect("items")), [bob.as_str()], "oldest first");
    assert_eq!(app.followers_count("site").await, 2);
}

/// Undo of the Follow removes the follower: the admin list and the collection lose it, and the
/// next article goes to the remaining followers only.
async fn undo_removes_the_follower(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let peer = Peer::start().await;
    let other = Peer::start().await;
    peer.add_actor("alice", ActorOpts::default());
    let carol = other.add_actor("carol", ActorOpts::default());
    let follow = follow_site(&app, &peer, "alice").await;
    follow_site(&app, &other, "carol").await;
    assert_eq!(app.followers_count("site").await, 2);

    let response = peer.signed_post("alice", &app.url("/inbox"), &peer.undo("alice", follow)).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(actors(&app.followers().await), [carol.as_str()]);
    assert_eq!(app.followers_count("site").await, 1);

    app.put_article("after-undo", &article_json("After the Undo")).await;
    other.wait_for(|all| all.iter().any(|r| r.is_verified("Create")), WAIT).await;
    let creates: Vec<Value> = app.deliveries("").await.into_iter().filter(|d| d["activity_type"] == "Create").collect();
    let inboxes: Vec<&str> = creates.iter().filter_map(|d| d["inbox"].as_str()).collect();
    assert_eq!(inboxes, [other.shared_inbox().as_str()], "only the remaining follower's server");
}

/// A Move whose new account names the old one in `alsoKnownAs` moves the follow: the new
/// account is listed with its own inbox and gets the next article there; the old one is gone.
async fn move_moves_the_follow(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let peer = Peer::start().await;
    let old = peer.add_actor("old", ActorOpts::personal_inbox_only());
    follow_site(&app, &peer, "old").await;
    let new = peer.add_actor("new", ActorOpts { also_known_as: vec![old.clone()], ..ActorOpts::personal_inbox_only() });

    let response = peer.signed_post("old", &app.url("/inbox"), &peer.move_to("old", &new)).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED, "{}", response.text().await.unwrap_or_default());
    let followers = app.followers().await;
    assert_eq!(actors(&followers), [new.as_str()]);
    assert_eq!(followers[0]["inbox"], peer.inbox("new"));
    assert_eq!(followers[0]["shared_inbox"], Value::Null);
    assert_eq!(app.followers_count("site").await, 1);

    app.put_article("moved", &article_json("After the Move")).await;
    let received = peer.wait_for(|all| all.iter().any(|r| r.is_verified("Create")), WAIT).await;
    let creates: Vec<&str> = received.iter().filter(|r| r.kind() == "Create").map(|r| r.path.as_str()).collect();
    assert_eq!(creates, ["/users/new/inbox"]);
}

/// A Move to an account that does not name the old one in `alsoKnownAs` is refused with 422
/// and the follow stays as it was.
async fn move_without_also_known_as_is_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let peer = Peer::start().await;
    let old = peer.add_actor("old", ActorOpts::default());
    follow_site(&app, &peer, "old").await;
    let stranger = peer.add_actor("stranger", ActorOpts::default());

    let response = peer.signed_post("old", &app.url("/inbox"), &peer.move_to("old", &stranger)).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = body_json(response).await;
    assert!(text(&body["error"]).contains("alsoKnownAs"), "{body}");
    let followers = app.followers().await;
    assert_eq!(actors(&followers), [old.as_str()]);
    assert_eq!(followers[0]["inbox"], peer.inbox("old"));
    assert_eq!(app.followers_count("site").await, 1);
}

/// Asserts that nothing was stored: no follower, no Accept queued.
async fn assert_nothing_stored(app: &TestApp) {
    assert_eq!(app.followers().await, Vec::<Value>::new());
    assert_eq!(app.deliveries("").await, Vec::<Value>::new(), "no Accept is queued");
    assert_eq!(app.followers_count("site").await, 0);
}

/// A Follow of an actor that does not exist here is 404, whichever inbox it reaches, and
/// stores nothing.
async fn follow_of_an_unknown_actor_is_404(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let peer = Peer::start().await;
    peer.add_actor("alice", ActorOpts::default());
    let follow = peer.follow("alice", &app.url("/users/nobody"));

    let response = peer.signed_post("alice", &app.url("/inbox"), &follow).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body = body_json(response).await;
    assert!(body["error"].is_string(), "{body}");
    let response = peer.signed_post("alice", &app.url("/users/nobody/inbox"), &follow).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_nothing_stored(&app).await;
}

/// Follows that are not proven to come from their actor are 401 and store nothing: signed by
/// another actor of the same server, claiming a key that did not sign them, with a body
/// changed after signing, or not signed at all.
async fn unproven_follows_are_401(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let peer = Peer::start().await;
    peer.add_actor("alice", ActorOpts::default());
    peer.add_actor("mallory", ActorOpts::default());
    let inbox = app.url("/users/site/inbox");
    let follow = peer.follow("alice", &app.site_actor());
    let body = serde_json::to_vec(&follow).expect("JSON");

    let by_mallory = peer.signed_post("mallory", &inbox, &follow).await;
    assert_eq!(by_mallory.status(), StatusCode::UNAUTHORIZED, "signed by another actor");

    let alice_key = peer.key_id("alice");
    let mallory_key = peer.key_id("mallory");
    let forged = peer
        .signed_post_with("mallory", &inbox, body.clone(), |headers| swap_key_id(headers, &mallory_key, &alice_key))
        .await;
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED, "alice's keyId, mallory's signature");

    let mut changed = follow.clone();
    changed["object"] = json!(app.url("/users/site"));
    changed["actor"] = json!(peer.actor_id("alice"));
    changed["id"] = json!(format!("{}#follows/changed", peer.actor_id("alice")));
    let headers = peer.signed_headers("alice", &inbox, &body);
    let tampered = peer.post_raw(&inbox, headers, serde_json::to_vec(&changed).expect("JSON")).await;
    assert_eq!(tampered.status(), StatusCode::UNAUTHORIZED, "a body changed after signing");

    let unsigned = peer.unsigned_post(&inbox, &follow).await;
    assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED, "no signature");
    let body = body_json(unsigned).await;
    assert!(body["error"].is_string(), "{body}");

    assert_nothing_stored(&app).await;
}

/// A follower whose inbox is a private address is refused (403) even in dev mode, which allows
/// loopback only, and nothing is stored.
async fn follower_with_a_private_inbox_is_403(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let peer = Peer::start().await;
    peer.add_actor("inside", ActorOpts { inbox: Some("http://10.1.2.3/inbox".into()), ..ActorOpts::default() });

    let follow = peer.follow("inside", &app.site_actor());
    let response = peer.signed_post("inside", &app.url("/users/site/inbox"), &follow).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body = body_json(response).await;
    assert!(text(&body["error"]).contains("inbox"), "{body}");
    assert_nothing_stored(&app).await;
}

/// Outside dev mode the service does not fetch keys from loopback addresses: a Follow signed
/// by a peer on 127.0.0.1 cannot be verified (401) and stores nothing, whether its key is at an
/// http:// or an https:// address (refused as a non-public address before connecting).
async fn outside_dev_mode_loopback_keys_are_not_fetched(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &["--dev", "0"]).await else { return };
    let peer = Peer::start().await;
    peer.add_actor("alice", ActorOpts::default());
    let inbox = app.url("/users/site/inbox");

    let follow = peer.follow("alice", &app.site_actor());
    let response = peer.signed_post("alice", &inbox, &follow).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // The same, as if the peer spoke https: the keyId is not part of what is signed.
    let https = |url: &str| url.replacen("http://", "https://", 1);
    let mut follow = peer.follow("alice", &app.site_actor());
    follow["id"] = json!(https(text(&follow["id"])));
    follow["actor"] = json!(https(&peer.actor_id("alice")));
    let key_id = peer.key_id("alice");
    let response = peer
        .signed_post_with("alice", &inbox, serde_json::to_vec(&follow).expect("JSON"), |headers| {
            swap_key_id(headers, &key_id, &https(&key_id))
        })
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body = body_json(response).await;
    assert!(text(&body["error"]).contains("non-public address"), "{body}");
    assert_nothing_stored(&app).await;
}

/// A server that publishes its key apart from the actor (GoToSocial: keyId `{actor}/main-key`,
/// whose document names the owner in `publicKey.owner` and has no inbox) can follow: the owner
/// is fetched, the signature holds, and the Accept goes to the owner's inbox.
async fn a_key_published_apart_is_followed_to_its_owner(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let peer = Peer::start().await;
    let gts = peer.add_actor("gts", ActorOpts { key_apart: true, ..ActorOpts::default() });
    assert!(peer.key_id("gts").ends_with("/users/gts/main-key"));

    follow_site(&app, &peer, "gts").await;
    let received = peer.wait_for(|all| all.iter().any(|r| r.kind() == "Accept"), WAIT).await;
    let accept = received.iter().find(|r| r.kind() == "Accept").expect("an Accept");
    assert_eq!(accept.path, "/users/gts/inbox");
    assert_eq!(actors(&app.followers().await), [gts.as_str()]);
}

/// A signed request made for another server (its signed `Host` is not ours) is refused, and so
/// is the very same signed request sent a second time (a replay): 401, nothing more stored.
async fn requests_for_another_host_and_replays_are_401(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let peer = Peer::start().await;
    peer.add_actor("alice", ActorOpts::default());
    let inbox = app.url("/users/site/inbox");
    let follow = peer.follow("alice", &app.site_actor());
    let body = serde_json::to_vec(&follow).expect("JSON");

    // Signed for elsewhere.example, then sent here with that Host.
    let elsewhere = peer.signed_headers("alice", "http://elsewhere.example/users/site/inbox", &body);
    let response = peer.post_raw(&inbox, elsewhere, body.clone()).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let error = body_json(response).await;
    assert!(text(&error["error"]).contains("elsewhere.example"), "{error}");
    assert_nothing_stored(&app).await;

    let headers = peer.signed_headers("alice", &inbox, &body);
    let first = peer.post_raw(&inbox, headers.clone(), body.clone()).await;
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let replayed = peer.post_raw(&inbox, headers, body).await;
    assert_eq!(replayed.status(), StatusCode::UNAUTHORIZED);
    let error = body_json(replayed).await;
    assert!(text(&error["error"]).contains("replay"), "{error}");
    peer.wait_for(|all| all.iter().any(|r| r.kind() == "Accept"), WAIT).await;
    let (_, outbox) = app.admin_get("/api/admin/outbox").await;
    assert_eq!(outbox["activities"], 1, "one Accept, for the first request only: {outbox}");
}

both_backends!(
    a_key_published_apart_is_followed_to_its_owner,
    requests_for_another_host_and_replays_are_401,
    follow_is_stored_listed_and_accepted,
    undo_removes_the_follower,
    move_moves_the_follow,
    move_without_also_known_as_is_refused,
    follow_of_an_unknown_actor_is_404,
    unproven_follows_are_401,
    follower_with_a_private_inbox_is_403,
    outside_dev_mode_loopback_keys_are_not_fetched,
);
