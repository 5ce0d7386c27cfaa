//! Incoming signatures in every format the inbox accepts: RFC 9421 (`Signature-Input` and
//! `Signature`, as Fedify and WordPress send them) with RSA and Ed25519 keys, and draft-cavage
//! with `Digest` or `Content-Digest`. Every refusal is a 401 (so a double-knocking sender falls
//! back to the other format) and stores nothing. The test peer signs with its own code.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use chrono::Utc;
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::Value;

use crate::both_backends;
use crate::helpers::*;
use crate::peer::{content_digest, ActorOpts, Peer, PeerKey, Rfc9421};

const WAIT: Duration = Duration::from_secs(15);

fn actors(followers: &[Value]) -> Vec<&str> {
    followers.iter().filter_map(|f| f["actor"].as_str()).collect()
}

/// Nothing was stored: no follower, no Accept queued.
async fn assert_nothing_stored(app: &TestApp) {
    assert_eq!(app.followers().await, Vec::<Value>::new());
    assert_eq!(app.deliveries("").await, Vec::<Value>::new(), "no Accept is queued");
}

/// A POST answered 202, and the peer then gets the signed Accept of that Follow.
async fn assert_follow_accepted(peer: &Peer, response: reqwest::Response, follow: &Value) {
    let status = response.status();
    assert_eq!(status, StatusCode::ACCEPTED, "{}", response.text().await.unwrap_or_default());
    let follow_id = text(&follow["id"]).to_string();
    peer.wait_for(|all| all.iter().any(|r| r.is_verified("Accept") && r.object_id() == follow_id), WAIT).await;
}

/// A POST answered 401 with an error that mentions `expected`.
async fn assert_refused(response: reqwest::Response, expected: &str, case: &str) {
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{case}");
    let body = body_json(response).await;
    let error = body["error"].as_str().unwrap_or_else(|| panic!("{case}: no error in {body}"));
    assert!(error.contains(expected), "{case}: '{error}' does not mention '{expected}'");
}

/// Changes one byte of an RFC 9421 `Signature` value (`label=:base64:`).
fn spoil_signature(headers: &mut HeaderMap) {
    let value = headers["signature"].to_str().expect("Signature is text").to_string();
    let (label, encoded) = value.split_once('=').expect("label=value");
    let mut bytes = BASE64.decode(encoded.trim_matches(':')).expect("base64");
    bytes[10] ^= 0x01;
    let spoiled = format!("{label}=:{}:", BASE64.encode(bytes));
    headers.insert("signature", spoiled.parse().expect("a header value"));
}

/// A Follow signed the RFC 9421 way is accepted, stored and answered with a signed Accept: as
/// Fedify signs it (`sig1`, `@target-uri`, `host`, `date`, `alg` first), as WordPress does
/// (`wp`, `created` first), and without `alg` (the RSA key decides).
async fn rfc9421_rsa_follows_are_accepted(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let peer = Peer::start().await;
    let fedify = peer.add_actor("fedify", ActorOpts::default());
    let wordpress = peer.add_actor("wordpress", ActorOpts::personal_inbox_only());
    let no_alg = peer.add_actor("noalg", ActorOpts::default());
    let inbox = app.url("/users/site/inbox");

    let follow = peer.follow("fedify", &app.site_actor());
    let response = peer.rfc9421_post("fedify", &inbox, &follow, &Rfc9421::fedify()).await;
    assert_follow_accepted(&peer, response, &follow).await;
    let followers = app.followers().await;
    assert_eq!(actors(&followers), [fedify.as_str()]);
    assert_eq!(followers[0]["inbox"], peer.inbox("fedify"));
    assert_eq!(followers[0]["shared_inbox"], peer.shared_inbox());

    let follow = peer.follow("wordpress", &app.site_actor());
    let response = peer.rfc9421_post("wordpress", &app.url("/inbox"), &follow, &Rfc9421::wordpress()).await;
    assert_follow_accepted(&peer, response, &follow).await;

    let follow = peer.follow("noalg", &app.site_actor());
    let response = peer.rfc9421_post("noalg", &inbox, &follow, &Rfc9421::fedify().alg(None)).await;
    assert_follow_accepted(&peer, response, &follow).await;

    assert_eq!(actors(&app.followers().await), [fedify.as_str(), wordpress.as_str(), no_alg.as_str()]);
    assert_eq!(app.followers_count("site").await, 3);
}

/// An actor with an Ed25519 key published as a Multikey in `assertionMethod` (Fedify's shape)
/// signs the RFC 9421 way with it, with `alg="ed25519"` and without `alg`; the same actor's
/// RSA key (`publicKey`) still works for draft-cavage, and its Ed25519 key for draft-cavage
/// `hs2019`: the key read is always the one the request names.
async fn ed25519_signatures_are_accepted(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let peer = Peer::start().await;
    let ed = peer.add_actor("ed", ActorOpts::default());
    peer.add_ed25519_key("ed");
    let inbox = app.url("/users/site/inbox");

    let follow = peer.follow("ed", &app.site_actor());
    let response = peer.rfc9421_post("ed", &inbox, &follow, &Rfc9421::ed25519()).await;
    assert_follow_accepted(&peer, response, &follow).await;
    assert_eq!(actors(&app.followers().await), [ed.as_str()]);

    // The key is kept: the next request is checked against it without a fetch.
    let follow = peer.follow("ed", &app.site_actor());
    let response = peer.rfc9421_post("ed", &inbox, &follow, &Rfc9421::ed25519().alg(None)).await;
    assert_follow_accepted(&peer, response, &follow).await;

    // The RSA key, draft-cavage as Mastodon signs.
    let follow = peer.follow("ed", &app.site_actor());
    let response = peer.signed_post("ed", &inbox, &follow).await;
    assert_follow_accepted(&peer, response, &follow).await;

    // The Ed25519 key, draft-cavage with hs2019.
    let follow = peer.follow("ed", &app.site_actor());
    let body = serde_json::to_vec(&follow).expect("JSON");
    let covered = ["(request-target)", "host", "date", "digest"];
    let headers = peer.cavage_headers("ed", &inbox, &body, &covered, PeerKey::Ed25519);
    let response = peer.post_raw(&inbox, headers, body).await;
    assert_follow_accepted(&peer, response, &follow).await;

    assert_eq!(actors(&app.followers().await), [ed.as_str()], "one follower, followed four times");
}

/// Every way an RFC 9421 signature can fail is a 401 naming the problem, and stores nothing:
/// `created` too old or too far ahead; `content-digest` not covered, not matching the body, or
/// of no supported algorithm; `@method` not covered; neither `@target-uri` nor `@authority`
/// covered; signed for another host (sent with that Host, or with ours); spoiled signature
/// bytes; an unknown `alg`, or one that does not fit the key; another actor's keyId; a signer
/// who is not the activity's actor.
async fn rfc9421_refusals_are_401_and_store_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let peer = Peer::start().await;
    peer.add_actor("alice", ActorOpts::default());
    peer.add_actor("mallory", ActorOpts::default());
    let inbox = app.url("/users/site/inbox");
    let follow = peer.follow("alice", &app.site_actor());
    let body = serde_json::to_vec(&follow).expect("JSON");
    let elsewhere = "http://elsewhere.example/users/site/inbox";
    let hours = chrono::Duration::hours;

    let cases: Vec<(&str, Rfc9421, &str)> = vec![
        ("created two hours ago", Rfc9421::fedify().created_at(Utc::now() - hours(2)), "s ago"),
        ("created two hours ahead", Rfc9421::fedify().created_at(Utc::now() + hours(2)), "in the future"),
        (
            "content-digest not covered",
            Rfc9421::fedify().components(&["@method", "@target-uri", "@authority", "host", "date"]),
            "content-digest",
        ),
        (
            "a Content-Digest of another body",
            Rfc9421::fedify().content_digest(&content_digest(b"{}")),
            "Content-Digest",
        ),
        ("an unsupported digest only", Rfc9421::fedify().content_digest("md5=:CY9rzUYh03PK3k6DJie09g==:"), "md5"),
        ("@method not covered", Rfc9421::fedify().components(&["@target-uri", "content-digest"]), "@method"),
        (
            "neither @target-uri nor @authority covered",
            Rfc9421::fedify().components(&["@method", "@path", "host", "content-digest"]),
            "@target-uri",
        ),
        ("an unknown alg", Rfc9421::fedify().alg(Some("hmac-sha256")), "hmac-sha256"),
        ("alg ed25519 with an RSA key", Rfc9421::fedify().alg(Some("ed25519")), "does not fit"),
    ];
    for (case, how, expected) in cases {
        let headers = peer.rfc9421_headers("alice", &inbox, &body, &how);
        assert_refused(peer.post_raw(&inbox, headers, body.clone()).await, expected, case).await;
    }

    // Signed for another server, sent here with its Host.
    let headers = peer.rfc9421_headers("alice", elsewhere, &body, &Rfc9421::fedify());
    assert_refused(peer.post_raw(&inbox, headers, body.clone()).await, "elsewhere.example", "another Host").await;
    // Signed for another server, sent here with our Host: @target-uri is ours, so it fails.
    let mut headers = peer.rfc9421_headers(
        "alice",
        elsewhere,
        &body,
        &Rfc9421::fedify().components(&["@method", "@target-uri", "content-digest"]),
    );
    let ours = inbox.trim_start_matches("http://").split('/').next().expect("host").to_string();
    headers.insert("host", ours.parse().expect("a header value"));
    assert_refused(peer.post_raw(&inbox, headers, body.clone()).await, "does not verify", "signed for another host")
        .await;

    let mut headers = peer.rfc9421_headers("alice", &inbox, &body, &Rfc9421::fedify());
    spoil_signature(&mut headers);
    assert_refused(peer.post_raw(&inbox, headers, body.clone()).await, "does not verify", "spoiled bytes").await;

    // Mallory signs, naming Alice's key.
    let mut headers = peer.rfc9421_headers("mallory", &inbox, &body, &Rfc9421::fedify());
    let input =
        headers["signature-input"].to_str().expect("text").replace(&peer.key_id("mallory"), &peer.key_id("alice"));
    headers.insert("signature-input", input.parse().expect("a header value"));
    assert_refused(peer.post_raw(&inbox, headers, body.clone()).await, "does not verify", "another actor's keyId")
        .await;

    // Mallory signs Alice's Follow with her own key.
    let headers = peer.rfc9421_headers("mallory", &inbox, &body, &Rfc9421::fedify());
    assert_refused(peer.post_raw(&inbox, headers, body.clone()).await, "actor", "another signer").await;

    assert_nothing_stored(&app).await;
}

/// The same RFC 9421 signed request twice: accepted once, then refused as a replay (401), and
/// only one Accept is queued.
async fn rfc9421_replays_are_401(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let peer = Peer::start().await;
    let alice = peer.add_actor("alice", ActorOpts::default());
    let inbox = app.url("/users/site/inbox");
    let follow = peer.follow("alice", &app.site_actor());
    let body = serde_json::to_vec(&follow).expect("JSON");

    let headers = peer.rfc9421_headers("alice", &inbox, &body, &Rfc9421::fedify());
    let first = peer.post_raw(&inbox, headers.clone(), body.clone()).await;
    assert_follow_accepted(&peer, first, &follow).await;
    assert_refused(peer.post_raw(&inbox, headers, body).await, "replay", "the same request again").await;
    let (_, outbox) = app.admin_get("/api/admin/outbox").await;
    assert_eq!(outbox["activities"], 1, "one Accept, for the first request only: {outbox}");
    assert_eq!(actors(&app.followers().await), [alice.as_str()]);
}

/// A signer's key, kept after its first request, rotates: the next request fails with the kept
/// key, the key is fetched again and the request accepted, in either format.
async fn rotated_keys_are_fetched_again(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let peer = Peer::start().await;
    let alice = peer.add_actor("alice", ActorOpts::default());
    let inbox = app.url("/users/site/inbox");

    let follow = peer.follow("alice", &app.site_actor());
    let response = peer.rfc9421_post("alice", &inbox, &follow, &Rfc9421::fedify()).await;
    assert_follow_accepted(&peer, response, &follow).await;

    peer.rotate_key("alice");
    let follow = peer.follow("alice", &app.site_actor());
    let response = peer.rfc9421_post("alice", &inbox, &follow, &Rfc9421::fedify()).await;
    assert_follow_accepted(&peer, response, &follow).await;

    peer.rotate_key("alice");
    let follow = peer.follow("alice", &app.site_actor());
    let response = peer.signed_post("alice", &inbox, &follow).await;
    assert_follow_accepted(&peer, response, &follow).await;
    assert_eq!(actors(&app.followers().await), [alice.as_str()]);
}

/// Draft-cavage may bind the body with a signed `content-digest` (RFC 9530) instead of
/// `digest`: accepted. Signing neither is refused (401).
async fn draft_cavage_with_a_signed_content_digest_is_accepted(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let peer = Peer::start().await;
    let alice = peer.add_actor("alice", ActorOpts::default());
    let inbox = app.url("/users/site/inbox");

    let follow = peer.follow("alice", &app.site_actor());
    let body = serde_json::to_vec(&follow).expect("JSON");
    let headers = peer.cavage_headers("alice", &inbox, &body, &["(request-target)", "host", "date"], PeerKey::Rsa);
    assert_refused(peer.post_raw(&inbox, headers, body.clone()).await, "digest", "no digest signed").await;
    assert_nothing_stored(&app).await;

    let covered = ["(request-target)", "host", "date", "content-digest", "content-type"];
    let headers = peer.cavage_headers("alice", &inbox, &body, &covered, PeerKey::Rsa);
    let response = peer.post_raw(&inbox, headers, body).await;
    assert_follow_accepted(&peer, response, &follow).await;
    assert_eq!(actors(&app.followers().await), [alice.as_str()]);
}

both_backends!(
    rfc9421_rsa_follows_are_accepted,
    ed25519_signatures_are_accepted,
    rfc9421_refusals_are_401_and_store_nothing,
    rfc9421_replays_are_401,
    rotated_keys_are_fetched_again,
    draft_cavage_with_a_signed_content_digest_is_accepted,
);
