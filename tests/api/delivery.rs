//! Delivery to followers: what publishing, editing and deleting send, to which inboxes, signed
//! by whom; how failures are retried (base delay 1 s here); and that nothing is lost or sent
//! twice when the process is killed or when two processes share one database.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;
use crate::peer::{ActorOpts, Peer, Received, Reply};

const WAIT: Duration = Duration::from_secs(15);
/// Retries in these tests wait 1 s, then 2 s, 4 s...
const FAST_RETRIES: [&str; 2] = ["--retry-base-seconds", "1"];

/// What arrived of one type on one path, oldest first.
fn of_kind<'a>(received: &'a [Received], kind: &str, path: &str) -> Vec<&'a Received> {
    received.iter().filter(|r| r.kind() == kind && r.path == path).collect()
}

/// The admin's deliveries of one activity type.
fn deliveries_of<'a>(deliveries: &'a [Value], kind: &str) -> Vec<&'a Value> {
    deliveries.iter().filter(|d| d["activity_type"] == kind).collect()
}

/// Whether there are deliveries of `kind` and all of them are in `state`.
fn all_in_state(deliveries: &[Value], kind: &str, state: &str) -> bool {
    let of_kind = deliveries_of(deliveries, kind);
    !of_kind.is_empty() && of_kind.iter().all(|d| d["state"] == state)
}

/// Publishing, editing and deleting an article reach every follower, once per server that has a
/// shared inbox and at the own inbox of a follower without one, signed by the site actor and
/// verified by the peer: a Create of the article, an Update whose object has `updated`, and a
/// Delete of a Tombstone. The admin sees every delivery done.
async fn article_changes_reach_every_follower_once_per_shared_inbox(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &FAST_RETRIES).await else { return };
    let shared = Peer::start().await;
    let personal = Peer::start().await;
    for name in ["alice", "bob"] {
        shared.add_actor(name, ActorOpts::default());
        follow_site(&app, &shared, name).await;
    }
    personal.add_actor("carol", ActorOpts::personal_inbox_only());
    follow_site(&app, &personal, "carol").await;

    let article = app.put_article("treaty", &article_json("Peace treaty talks")).await;
    let ap_id = text(&article["ap_id"]).to_string();
    let expected = [(&shared, "/inbox"), (&personal, "/users/carol/inbox")];
    for (peer, path) in expected {
        let received = peer.wait_for(|all| !of_kind(all, "Create", path).is_empty(), WAIT).await;
        let creates = of_kind(&received, "Create", path);
        assert_eq!(creates.len(), 1, "one Create per server");
        let create = creates[0];
        assert_eq!(create.verified, Ok(()));
        assert_eq!(create.key_id, format!("{}#main-key", app.site_actor()));
        assert_eq!(create.activity["actor"], app.site_actor());
        assert_eq!(create.object_id(), ap_id);
        assert!(text(&create.activity["object"]["content"]).contains("Talks on a peace treaty restart."));
    }
    assert!(of_kind(&shared.received(), "Create", "/users/alice/inbox").is_empty());

    // The same article again changes nothing, so nothing is sent.
    app.put_article("treaty", &article_json("Peace treaty talks")).await;
    let (_, outbox) = app.admin_get("/api/admin/outbox").await;
    assert_eq!(outbox["activities"], 4, "three Accepts and the Create: {outbox}");

    let mut edited = article_json("Peace treaty talks");
    edited["content"] = json!("<p>The talks restart in October.</p>");
    edited["summary"] = json!("Talks restart in October.");
    app.put_article("treaty", &edited).await;
    for (peer, path) in expected {
        let received = peer.wait_for(|all| !of_kind(all, "Update", path).is_empty(), WAIT).await;
        let update = of_kind(&received, "Update", path)[0];
        assert_eq!(update.verified, Ok(()));
        assert_eq!(update.object_id(), ap_id);
        assert!(text(&update.activity["object"]["content"]).contains("October"), "{}", update.activity);
        assert!(update.activity["object"]["updated"].is_string(), "an Update's object has `updated`");
    }

    let (status, _) = app.admin_delete("/api/admin/articles/treaty").await;
    assert_eq!(status, StatusCode::OK);
    for (peer, path) in expected {
        let received = peer.wait_for(|all| !of_kind(all, "Delete", path).is_empty(), WAIT).await;
        let delete = of_kind(&received, "Delete", path)[0];
        assert_eq!(delete.verified, Ok(()));
        assert_eq!(delete.object_id(), ap_id);
        assert_eq!(delete.object_kind(), "Tombstone");
    }

    let all = app.wait_for_deliveries(|all| all.len() == 9 && all.iter().all(|d| d["state"] == "done"), WAIT).await;
    for kind in ["Create", "Update", "Delete"] {
        let mut inboxes: Vec<&str> = deliveries_of(&all, kind).iter().filter_map(|d| d["inbox"].as_str()).collect();
        inboxes.sort();
        let mut want = [shared.shared_inbox(), personal.inbox("carol")];
        want.sort();
        assert_eq!(inboxes, want, "{kind}: one delivery per server");
    }
    let (_, done) = app.admin_get("/api/admin/deliveries?state=done").await;
    assert_eq!(done["total"], 9);
    let (status, outbox) = app.admin_get("/api/admin/outbox").await;
    assert_eq!(status, StatusCode::OK);
    // Three Accepts, then a Create, an Update and a Delete to two servers each.
    assert_eq!(outbox, json!({ "activities": 6, "deliveries": { "pending": 0, "done": 9, "failed": 0 } }));
}

/// A comment goes out as a Create of a Note in reply to the article (a reply: to the comment it
/// answers), signed by the commenter's own actor, whose key the peer fetches from the service;
/// deleting the comment sends a Delete of its Tombstone.
async fn comments_go_out_signed_by_their_authors(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &FAST_RETRIES).await else { return };
    let peer = Peer::start().await;
    peer.add_actor("alice", ActorOpts::default());
    follow_site(&app, &peer, "alice").await;
    let article = app.put_article("treaty", &article_json("Peace treaty talks")).await;
    peer.wait_for(|all| all.iter().any(|r| r.is_delivered("Create")), WAIT).await;

    let first = app.put_comment("treaty", "c1", &comment_json("Reader One", "Good news at last.", None)).await;
    let reply = app.put_comment("treaty", "c2", &comment_json("Reader Two", "Too early to tell.", Some("c1"))).await;
    let replies = |all: &[Received]| -> Vec<Received> {
        all.iter().filter(|r| r.kind() == "Create" && r.activity["object"]["inReplyTo"].is_string()).cloned().collect()
    };
    let received = peer.wait_for(|all| replies(all).len() == 2, WAIT).await;
    let notes = replies(&received);
    let find = |id: &Value| notes.iter().find(|r| r.object_id() == text(id)).expect("the comment's Create");

    let one = find(&first["ap_id"]);
    assert_eq!(one.path, "/inbox");
    assert_eq!(one.verified, Ok(()));
    assert_eq!(one.activity["actor"], app.url("/users/reader_one"));
    assert_eq!(one.key_id, app.url("/users/reader_one#main-key"));
    assert_eq!(one.object_kind(), "Note");
    assert_eq!(one.activity["object"]["inReplyTo"], article["ap_id"]);
    assert_eq!(one.activity["object"]["attributedTo"], app.url("/users/reader_one"));

    let two = find(&reply["ap_id"]);
    assert_eq!(two.verified, Ok(()));
    assert_eq!(two.key_id, app.url("/users/reader_two#main-key"));
    assert_eq!(two.activity["object"]["inReplyTo"], first["ap_id"]);

    let (status, _) = app.admin_delete("/api/admin/articles/treaty/comments/c2").await;
    assert_eq!(status, StatusCode::OK);
    let received = peer.wait_for(|all| all.iter().any(|r| r.is_delivered("Delete")), WAIT).await;
    let delete = received.iter().find(|r| r.kind() == "Delete").expect("a Delete");
    assert_eq!(delete.object_id(), text(&reply["ap_id"]));
    assert_eq!(delete.object_kind(), "Tombstone");
    assert_eq!(delete.key_id, app.url("/users/reader_two#main-key"));
}

/// An inbox that answers 503 twice and then 202 gets the Create three times and accepts it
/// once: the delivery ends done after three attempts, and is not sent again.
async fn a_503_twice_then_202_is_delivered_once(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &FAST_RETRIES).await else { return };
    let peer = Peer::start().await;
    peer.add_actor("alice", ActorOpts::default());
    follow_site(&app, &peer, "alice").await;
    peer.script("/inbox", vec![Reply::status(503), Reply::status(503)]);

    app.put_article("treaty", &article_json("Peace treaty talks")).await;
    peer.wait_for(|all| all.iter().any(|r| r.is_delivered("Create")), WAIT).await;
    let all = app.wait_for_deliveries(|all| all_in_state(all, "Create", "done"), WAIT).await;
    let delivery = deliveries_of(&all, "Create")[0];
    assert_eq!(delivery["attempts"], 3, "{delivery}");
    assert_eq!(delivery["last_status"], 202);
    assert_eq!(delivery["last_error"], Value::Null);
    assert_eq!(delivery["next_attempt_at"], Value::Null);

    let received = peer.received();
    let creates = of_kind(&received, "Create", "/inbox");
    let answers: Vec<u16> = creates.iter().map(|r| r.answered).collect();
    assert_eq!(answers, [503, 503, 202], "three requests, one success");
    assert!(creates.iter().all(|r| r.verified.is_ok() && r.id() == creates[0].id()), "the same signed activity");
}

/// A 429 with `Retry-After: 3` is retried no sooner than about three seconds later (the base
/// delay alone would be one second).
async fn retry_after_is_honoured(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &FAST_RETRIES).await else { return };
    let peer = Peer::start().await;
    peer.add_actor("alice", ActorOpts::default());
    follow_site(&app, &peer, "alice").await;
    peer.script("/inbox", vec![Reply::status(429).retry_after("3")]);

    app.put_article("treaty", &article_json("Peace treaty talks")).await;
    // Meanwhile the admin sees when the next attempt is due.
    let waiting = |all: &[Value]| deliveries_of(all, "Create").iter().any(|d| d["last_status"] == 429);
    let all = app.wait_for_deliveries(waiting, WAIT).await;
    let delivery = deliveries_of(&all, "Create")[0];
    assert_eq!((&delivery["state"], &delivery["attempts"]), (&json!("pending"), &json!(1)), "{delivery}");
    let at = |field: &str| chrono::DateTime::parse_from_rfc3339(text(&delivery[field])).expect("a time");
    let due_in = at("next_attempt_at") - at("updated_at");
    assert!(due_in >= chrono::Duration::seconds(2), "due {due_in} after the 429: the base delay, not the 3 s asked");

    let received = peer.wait_for(|all| all.iter().any(|r| r.is_delivered("Create")), WAIT).await;
    let creates = of_kind(&received, "Create", "/inbox");
    assert_eq!(creates.iter().map(|r| r.answered).collect::<Vec<_>>(), [429, 202]);
    let waited = creates[1].at - creates[0].at;
    assert!(waited >= Duration::from_millis(2900), "retried after {waited:?}, before the 3 s asked");
}

/// A 410 Gone from a follower's own inbox removes that follower (admin list and collection);
/// the other follower stays.
async fn gone_inbox_removes_its_follower(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &FAST_RETRIES).await else { return };
    let peer = Peer::start().await;
    peer.add_actor("alice", ActorOpts::personal_inbox_only());
    let bob = peer.add_actor("bob", ActorOpts::default());
    follow_site(&app, &peer, "alice").await;
    follow_site(&app, &peer, "bob").await;
    assert_eq!(app.followers_count("site").await, 2);
    peer.script("/users/alice/inbox", vec![Reply::status(410)]);

    app.put_article("treaty", &article_json("Peace treaty talks")).await;
    let settled = |all: &[Value]| {
        let creates = deliveries_of(all, "Create");
        creates.len() == 2 && creates.iter().all(|d| d["state"] != "pending")
    };
    let all = app.wait_for_deliveries(settled, WAIT).await;
    let gone = deliveries_of(&all, "Create")
        .into_iter()
        .find(|d| d["inbox"] == peer.inbox("alice"))
        .expect("the delivery to alice");
    assert_eq!(gone["state"], "failed");
    assert_eq!(gone["last_status"], 410);
    assert!(peer.received().iter().any(|r| r.path == "/inbox" && r.is_delivered("Create")), "bob's server got it");

    let followers = app.followers().await;
    let actors: Vec<&str> = followers.iter().filter_map(|f| f["actor"].as_str()).collect();
    assert_eq!(actors, [bob.as_str()], "alice is removed");
    assert_eq!(app.followers_count("site").await, 1);
}

/// A 404 fails the delivery at once, without retries; the admin can retry it by hand, and it
/// then goes through.
async fn a_404_fails_without_retries_until_the_admin_retries(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &FAST_RETRIES).await else { return };
    let peer = Peer::start().await;
    peer.add_actor("alice", ActorOpts::default());
    follow_site(&app, &peer, "alice").await;
    peer.script("/inbox", vec![Reply::status(404)]);

    app.put_article("treaty", &article_json("Peace treaty talks")).await;
    let all = app.wait_for_deliveries(|all| all_in_state(all, "Create", "failed"), WAIT).await;
    let failed = deliveries_of(&all, "Create")[0].clone();
    let mut fields: Vec<&str> = failed.as_object().expect("an object").keys().map(String::as_str).collect();
    fields.sort();
    let expected = ["activity", "activity_type", "attempts", "created_at", "id", "inbox", "last_error", "last_status"];
    assert_eq!(fields, [&expected[..], &["next_attempt_at", "state", "updated_at"]].concat());
    let sent = of_kind(&peer.received(), "Create", "/inbox")[0].id().to_string();
    assert_eq!(failed["activity"], sent, "the admin names the activity the peer got");
    assert_eq!(failed["inbox"], peer.shared_inbox());
    assert_eq!(failed["attempts"], 1);
    assert_eq!(failed["last_status"], 404);
    assert!(text(&failed["last_error"]).contains("404"), "{failed}");
    assert_eq!(failed["next_attempt_at"], Value::Null);
    let (_, listed) = app.admin_get("/api/admin/deliveries?state=failed").await;
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["items"][0]["id"], failed["id"]);
    let (_, pending) = app.admin_get("/api/admin/deliveries?state=pending").await;
    assert_eq!(pending["total"], 0, "nothing waits for a retry");

    // Longer than the first retry delay: still one request.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(of_kind(&peer.received(), "Create", "/inbox").len(), 1);

    let (status, retried) = app.admin_post(&format!("/api/admin/deliveries/{}/retry", failed["id"])).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{retried}");
    peer.wait_for(|all| all.iter().any(|r| r.is_delivered("Create")), WAIT).await;
    let all = app.wait_for_deliveries(|all| all_in_state(all, "Create", "done"), WAIT).await;
    assert_eq!(deliveries_of(&all, "Create")[0]["attempts"], 2);
    let (status, _) = app.admin_post("/api/admin/deliveries/999999/retry").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// A Create still waiting for a retry when its article is deleted is given up ("superseded"),
/// so it cannot arrive after the Delete and bring the article back; the Delete is delivered.
async fn a_delete_supersedes_a_create_waiting_for_a_retry(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &["--retry-base-seconds", "30"]).await else { return };
    let peer = Peer::start().await;
    peer.add_actor("alice", ActorOpts::default());
    follow_site(&app, &peer, "alice").await;
    peer.script("/inbox", vec![Reply::status(503)]);

    app.put_article("treaty", &article_json("Peace treaty talks")).await;
    app.wait_for_deliveries(|all| deliveries_of(all, "Create").iter().any(|d| d["attempts"] == 1), WAIT).await;
    let (status, _) = app.admin_delete("/api/admin/articles/treaty").await;
    assert_eq!(status, StatusCode::OK);

    let all = app.wait_for_deliveries(|all| all_in_state(all, "Delete", "done"), WAIT).await;
    let create = deliveries_of(&all, "Create")[0];
    assert_eq!(create["state"], "failed", "{create}");
    assert!(text(&create["last_error"]).contains("superseded"), "{create}");
    let received = peer.received();
    assert_eq!(of_kind(&received, "Create", "/inbox").len(), 1, "only the first, refused, attempt");
}

/// A resend queues the article and its comments again, as they are now, for the current
/// followers, including one who followed after they were published.
async fn resend_sends_the_article_and_its_comments_to_current_followers(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &FAST_RETRIES).await else { return };
    let early = Peer::start().await;
    early.add_actor("early", ActorOpts::default());
    follow_site(&app, &early, "early").await;
    app.put_article("treaty", &article_json("Peace treaty talks")).await;
    app.put_comment("treaty", "c1", &comment_json("Reader One", "Good news at last.", None)).await;
    early.wait_for(|all| all.iter().filter(|r| r.is_delivered("Create")).count() == 2, WAIT).await;
    let peer = Peer::start().await;
    peer.add_actor("late", ActorOpts::default());
    follow_site(&app, &peer, "late").await;

    let (status, body) = app.admin_post("/api/admin/articles/treaty/resend").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body["activities_queued"], 2, "{body}");
    let received = peer.wait_for(|all| of_kind(all, "Create", "/inbox").len() == 2, WAIT).await;
    let mut objects: Vec<&str> = of_kind(&received, "Create", "/inbox").iter().map(|r| r.object_id()).collect();
    objects.sort();
    assert_eq!(objects, [app.url("/articles/treaty"), app.url("/articles/treaty/comments/c1")]);
    assert!(received.iter().all(|r| r.verified.is_ok()));
    early.wait_for(|all| all.iter().filter(|r| r.is_delivered("Create")).count() == 4, WAIT).await;

    let (status, _) = app.admin_post("/api/admin/articles/nothing-here/resend").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

both_backends!(
    a_delete_supersedes_a_create_waiting_for_a_retry,
    article_changes_reach_every_follower_once_per_shared_inbox,
    comments_go_out_signed_by_their_authors,
    a_503_twice_then_202_is_delivered_once,
    retry_after_is_honoured,
    gone_inbox_removes_its_follower,
    a_404_fails_without_retries_until_the_admin_retries,
    resend_sends_the_article_and_its_comments_to_current_followers,
    a_killed_process_delivers_after_restart,
    a_process_killed_mid_request_sends_again_after_restart,
    two_processes_deliver_each_pair_once,
);

// ---------------------------------------------------------------------------------------------
// Crashes and several processes
// ---------------------------------------------------------------------------------------------

const BIN: &str = env!("CARGO_BIN_EXE_threadbridge");

/// A real `threadbridge serve` process, killed (SIGKILL) when dropped.
struct Process {
    child: Child,
}

impl Process {
    /// Starts the binary on `port` over `database_url` (dev mode, retries from 1 s) and waits
    /// until it answers.
    async fn start(database_url: &str, port: u16) -> Process {
        let address = format!("http://127.0.0.1:{port}");
        let logs = || if std::env::var("TEST_LOG").is_ok() { Stdio::inherit() } else { Stdio::null() };
        let child = Command::new(BIN)
            .arg("serve")
            .env("THREADBRIDGE_PUBLIC_URL", &address)
            .env("THREADBRIDGE_LISTEN", format!("127.0.0.1:{port}"))
            .env("DATABASE_URL", database_url)
            .env("THREADBRIDGE_ADMIN_TOKEN", TOKEN)
            .env("THREADBRIDGE_DEV", "1")
            .env("THREADBRIDGE_RETRY_BASE_SECONDS", "1")
            // A crash's claims run out after 5 s here (two minutes by default).
            .env("THREADBRIDGE_DELIVERY_LEASE_SECONDS", "5")
            .env("RUST_LOG", "info")
            .stdout(logs())
            .stderr(logs())
            .spawn()
            .expect("start threadbridge");
        let process = Process { child };
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if let Ok(response) = client.get(format!("{address}/health")).send().await {
                if response.status() == StatusCode::OK {
                    return process;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("threadbridge did not start on {address}");
    }

    /// SIGKILL: no shutdown, no flushing, whatever was in flight is lost.
    fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// The binary running on a fresh database, followed by alice on a test peer.
struct Killable {
    _dir: tempfile::TempDir,
    database_url: String,
    port: u16,
    process: Process,
    app: TestApp,
    peer: Peer,
}

async fn killable(backend: Backend) -> Option<Killable> {
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = fresh_database(backend, dir.path()).await?;
    let port = free_port();
    let process = Process::start(&database_url, port).await;
    let app = TestApp::running_at(&format!("http://127.0.0.1:{port}"), &database_url);
    let peer = Peer::start().await;
    peer.add_actor("alice", ActorOpts::default());
    follow_site(&app, &peer, "alice").await;
    Some(Killable { _dir: dir, database_url, port, process, app, peer })
}

/// A process killed with SIGKILL while a delivery waits for its next attempt delivers it after
/// a restart on the same database: the follower's server, which answered 503 twice, gets the
/// Create accepted exactly once.
async fn a_killed_process_delivers_after_restart(backend: Backend) {
    let Some(Killable { _dir, database_url, port, process, app, peer }) = killable(backend).await else { return };
    peer.script("/inbox", vec![Reply::status(503), Reply::status(503)]);

    app.put_article("treaty", &article_json("Peace treaty talks")).await;
    // Two attempts failed and are recorded; the next is two seconds away. Kill now.
    app.wait_for_deliveries(
        |all| deliveries_of(all, "Create").iter().any(|d| d["attempts"] == 2 && d["state"] == "pending"),
        WAIT,
    )
    .await;
    process.kill();
    assert!(app.client.get(app.url("/health")).send().await.is_err(), "the process is gone");
    assert!(!peer.received().iter().any(|r| r.is_delivered("Create")), "killed before the Create went through");

    let _restarted = Process::start(&database_url, port).await;
    let received = peer.wait_for(|all| all.iter().any(|r| r.is_delivered("Create")), WAIT).await;
    let all = app.wait_for_deliveries(|all| all_in_state(all, "Create", "done"), WAIT).await;
    assert_eq!(deliveries_of(&all, "Create")[0]["attempts"], 3);
    let creates = of_kind(&received, "Create", "/inbox");
    assert_eq!(creates.iter().map(|r| r.answered).collect::<Vec<_>>(), [503, 503, 202]);
    assert!(creates.iter().all(|r| r.verified.is_ok()), "signed by the same key after the restart");
}

/// A process killed with SIGKILL in the middle of a delivery (the request sent, no answer yet)
/// sends it again after a restart, once its claim has run out: at least once, never lost.
async fn a_process_killed_mid_request_sends_again_after_restart(backend: Backend) {
    let Some(Killable { _dir, database_url, port, process, app, peer }) = killable(backend).await else { return };
    peer.script("/inbox", vec![Reply::status(202).delay(Duration::from_secs(30))]);

    app.put_article("treaty", &article_json("Peace treaty talks")).await;
    peer.wait_for(|all| !of_kind(all, "Create", "/inbox").is_empty(), WAIT).await;
    let (_, pending) = app.admin_get("/api/admin/deliveries?state=pending").await;
    assert_eq!(pending["total"], 1, "in flight, not yet recorded: {pending}");
    process.kill();

    let _restarted = Process::start(&database_url, port).await;
    let all = app.wait_for_deliveries(|all| all_in_state(all, "Create", "done"), WAIT).await;
    assert_eq!(deliveries_of(&all, "Create")[0]["attempts"], 1, "the lost attempt was never recorded");
    let received = peer.received();
    let creates = of_kind(&received, "Create", "/inbox");
    assert_eq!(creates.len(), 2, "sent again after the restart");
    assert_eq!(creates[0].id(), creates[1].id(), "the same activity");
    assert!(creates.iter().all(|r| r.verified.is_ok()));
}

/// Two processes on one database share the deliveries of one article to 30 followers, each at
/// its own inbox: every (activity, inbox) pair arrives exactly once in all.
async fn two_processes_deliver_each_pair_once(backend: Backend) {
    // Few slots per process, and a peer that takes its time, so both processes take part. (Each
    // process calls itself by its own address, so its signatures' keyIds tell who sent what.)
    let settings = ["--retry-base-seconds", "1", "--delivery-concurrency", "4"];
    let Some(a) = spawn_app_with(backend, &settings).await else { return };
    let peer = Peer::start().await;
    let names: Vec<String> = (0..30).map(|i| format!("reader{i}")).collect();
    peer.add_actors(&names, ActorOpts::personal_inbox_only());
    for name in &names {
        let follow = peer.follow(name, &a.site_actor());
        let response = peer.signed_post(name, &a.url("/inbox"), &follow).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
    peer.wait_for(|all| all.iter().filter(|r| r.is_delivered("Accept")).count() == names.len(), WAIT).await;
    let b = spawn_sibling_with(&a, &settings).await;
    for name in &names {
        peer.script(&format!("/users/{name}/inbox"), vec![Reply::status(202).delay(Duration::from_millis(400))]);
    }

    a.put_article("treaty", &article_json("Peace treaty talks")).await;
    peer.wait_for(|all| all.iter().filter(|r| r.kind() == "Create").count() >= names.len(), WAIT).await;
    b.wait_for_deliveries(|all| all_in_state(all, "Create", "done"), WAIT).await;
    // Anything sent twice would have been sent by now.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let received = peer.received();
    for name in &names {
        let path = format!("/users/{name}/inbox");
        for kind in ["Accept", "Create"] {
            let got = of_kind(&received, kind, &path);
            assert_eq!(got.len(), 1, "{kind} to {name}: {} times", got.len());
            assert!(got[0].verified.is_ok(), "{:?}", got[0].verified);
        }
    }
    let senders = |address: &str| {
        received.iter().filter(|r| r.kind() == "Create" && r.key_id.starts_with(&format!("{address}/"))).count()
    };
    assert!(senders(&a.address) > 0 && senders(&b.address) > 0, "both processes sent some");
    let (_, outbox) = b.admin_get("/api/admin/outbox").await;
    assert_eq!(outbox["deliveries"], json!({ "pending": 0, "done": 60, "failed": 0 }));
}
