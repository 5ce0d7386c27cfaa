//! Moderation through the admin API: reply policies per article, the queue of held federated
//! replies (approve, reject, remove), reports sent as `Flag`s, and blocks of servers and
//! accounts, one by one or from a Mastodon blocklist. Replies and reports arrive signed from a
//! test peer, as a fediverse server sends them.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;
use crate::peer::{ActorOpts, Peer};

/// A Create of a public Note by `name` of `peer` (Mastodon's shape), answering `in_reply_to`.
pub fn reply_create(peer: &Peer, name: &str, status: u32, in_reply_to: &str, content: &str) -> Value {
    create_of(peer, name, mastodon_note(peer, name, status, in_reply_to, content))
}

/// Sends a reply by `name` to the article `article_ap_id`, accepted; returns its thread item.
pub async fn send_reply(app: &TestApp, peer: &Peer, name: &str, status: u32, article_ap_id: &str, text: &str) -> Value {
    let create = reply_create(peer, name, status, article_ap_id, &format!("<p>{text}</p>"));
    let response = peer.signed_post(name, &app.url("/inbox"), &create).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED, "Create by {name}");
    let note_id = create["object"]["id"].clone();
    let key = article_key(article_ap_id);
    let thread = app.thread(&key).await;
    thread["comments"]
        .as_array()
        .expect("comments")
        .iter()
        .find(|c| c["ap_id"] == note_id)
        .cloned()
        .unwrap_or_else(|| panic!("the reply is not in the thread: {thread}"))
}

/// The article key at the end of its id (`.../articles/{key}`).
fn article_key(ap_id: &str) -> String {
    ap_id.rsplit('/').next().expect("key").to_string()
}

/// A request with a raw body and content type, as a careless client sends it.
async fn admin_raw(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    content_type: &str,
    body: &str,
) -> (StatusCode, Value) {
    let response = app
        .client
        .request(method, app.url(path))
        .bearer_auth(TOKEN)
        .header("Content-Type", content_type)
        .body(body.to_string())
        .send()
        .await
        .expect("request");
    (response.status(), body_json(response).await)
}

/// Asserts a refusal: this status, and a JSON error naming the problem.
fn refused(got: (StatusCode, Value), status: StatusCode, mentions: &str) {
    let (got_status, body) = got;
    assert_eq!(got_status, status, "{body}");
    let error = body["error"].as_str().unwrap_or_else(|| panic!("a JSON error, got {body}"));
    assert!(error.to_lowercase().contains(&mentions.to_lowercase()), "'{error}' should mention '{mentions}'");
}

/// `GET /api/admin/moderation?status=...`: the items.
async fn queue(app: &TestApp, status: &str) -> Vec<Value> {
    let (code, body) = app.admin_get(&format!("/api/admin/moderation?status={status}")).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body["total"].as_u64(), body["items"].as_array().map(|a| a.len() as u64), "{body}");
    body["items"].as_array().cloned().unwrap_or_default()
}

/// `totalItems` of an article's replies collection, as the fediverse reads it.
async fn shown_replies(app: &TestApp, article_ap_id: &str) -> i64 {
    let (status, body) = app.ap_get(&format!("{article_ap_id}/replies")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["totalItems"].as_i64().expect("totalItems")
}

/// `GET /api/admin/blocks`.
async fn blocks(app: &TestApp) -> Value {
    let (status, body) = app.admin_get("/api/admin/blocks").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

// ---------------------------------------------------------------------------------------------
// Held replies
// ---------------------------------------------------------------------------------------------

/// With the site holding replies, a federated reply waits in the queue (not shown on the
/// fediverse) until approved; it can be rejected again, and removed; every decision refreshes
/// what the fediverse reads at once. Local comments and unknown ids are refused.
async fn held_replies_wait_for_an_admin(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &["--reply-policy", "hold"]).await else { return };
    let peer = Peer::start().await;
    peer.add_actor("alice", ActorOpts::default());
    let article = app.put_article("treaty", &article_json("Peace treaty talks")).await;
    let article_id = text(&article["ap_id"]).to_string();
    assert_eq!(shown_replies(&app, &article_id).await, 0);

    let reply = send_reply(&app, &peer, "alice", 1, &article_id, "Good news at last.").await;
    assert_eq!(reply["status"], "pending");
    let key = text(&reply["id"]).to_string();
    assert!(key.starts_with("r-") && key.len() == 18, "{key}");
    assert_eq!(shown_replies(&app, &article_id).await, 0, "a held reply is not shown");

    let pending = queue(&app, "pending").await;
    assert_eq!(pending.len(), 1, "{pending:?}");
    let item = &pending[0];
    assert_eq!(item["article"], "treaty");
    assert_eq!(item["id"], key.as_str());
    assert_eq!(item["ap_id"], reply["ap_id"]);
    assert_eq!(item["status"], "pending");
    assert_eq!(item["origin"], "remote");
    assert_eq!(item["depth"], 1);
    assert_eq!(item["author"], reply["author"]);
    assert_eq!(item["url"], reply["url"]);
    assert!(text(&item["content"]).contains("Good news at last."));
    assert!(item["moderated_at"].is_null());
    let (status, same) = app.admin_get("/api/admin/moderation").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(same["items"], json!(pending), "pending is the default");

    // Approved: shown, on the fediverse too.
    let (status, approved) = app.admin_post(&format!("/api/admin/comments/{key}/approve")).await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    assert_eq!(approved["status"], "visible");
    assert!(approved["moderated_at"].is_string());
    assert!(queue(&app, "pending").await.is_empty());
    assert_eq!(queue(&app, "visible").await.len(), 1);
    assert_eq!(app.thread("treaty").await["comments"][0]["status"], "visible");
    assert_eq!(shown_replies(&app, &article_id).await, 1);
    let (status, again) = app.admin_post(&format!("/api/admin/comments/{key}/approve")).await;
    assert_eq!((status, &again["status"]), (StatusCode::OK, &json!("visible")), "approving twice is harmless");

    // Rejected: hidden again.
    let (status, rejected) = app.admin_post(&format!("/api/admin/comments/{key}/reject")).await;
    assert_eq!((status, &rejected["status"]), (StatusCode::OK, &json!("rejected")), "{rejected}");
    assert_eq!(queue(&app, "rejected").await.len(), 1);
    assert_eq!(shown_replies(&app, &article_id).await, 0);

    // Approved once more, then removed: rejected, with the time of the decision.
    app.admin_post(&format!("/api/admin/comments/{key}/approve")).await;
    assert_eq!(shown_replies(&app, &article_id).await, 1);
    let (status, removed) = app.admin_delete(&format!("/api/admin/comments/{key}")).await;
    assert_eq!((status, &removed["status"]), (StatusCode::OK, &json!("rejected")), "{removed}");
    assert!(removed["moderated_at"].is_string());
    assert_eq!(shown_replies(&app, &article_id).await, 0);
    let (status, one) = app.admin_get(&format!("/api/admin/comments/{key}")).await;
    assert_eq!((status, &one["status"]), (StatusCode::OK, &json!("rejected")));

    // Local comments are the site's to moderate; unknown ids are not found.
    app.put_comment("treaty", "c1", &comment_json("Maria Petrova", "A local comment.", None)).await;
    for action in ["approve", "reject"] {
        refused(
            app.admin_post(&format!("/api/admin/comments/c1/{action}")).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "local",
        );
    }
    refused(app.admin_delete("/api/admin/comments/c1").await, StatusCode::UNPROCESSABLE_ENTITY, "local");
    let local =
        app.thread("treaty").await["comments"].as_array().expect("comments").iter().find(|c| c["id"] == "c1").cloned();
    assert_eq!(local.expect("c1")["status"], "visible", "the refusals changed nothing");
    refused(
        app.admin_post("/api/admin/comments/r-0000000000000000/approve").await,
        StatusCode::NOT_FOUND,
        "r-0000000000000000",
    );
    refused(
        app.admin_delete("/api/admin/comments/r-0000000000000000").await,
        StatusCode::NOT_FOUND,
        "no federated reply",
    );
    refused(app.admin_get("/api/admin/moderation?status=deleted").await, StatusCode::BAD_REQUEST, "status");
    assert_eq!(app.admin_get("/api/admin/webhooks").await.1["total"], 0, "no webhook URL, no events");
}

/// An article's own policy overrides the site's: GET shows both and what applies; `null`
/// returns to the default. Bad bodies, unknown and deleted articles are refused.
async fn an_article_holds_or_opens_its_replies(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let peer = Peer::start().await;
    peer.add_actor("alice", ActorOpts::default());
    let article = app.put_article("treaty", &article_json("Peace treaty talks")).await;
    let article_id = text(&article["ap_id"]).to_string();
    let path = "/api/admin/articles/treaty/reply-policy";

    let (status, policy) = app.admin_get(path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(policy, json!({"article": "treaty", "policy": null, "default": "open", "effective": "open"}));

    let (status, policy) = app.admin_put(path, &json!({"policy": "hold"})).await;
    assert_eq!((status, &policy["policy"], &policy["effective"]), (StatusCode::OK, &json!("hold"), &json!("hold")));
    let held = send_reply(&app, &peer, "alice", 1, &article_id, "Held, this one.").await;
    assert_eq!(held["status"], "pending");

    let (status, policy) = app.admin_put(path, &json!({"policy": null})).await;
    assert_eq!((status, &policy["policy"], &policy["effective"]), (StatusCode::OK, &Value::Null, &json!("open")));
    let open = send_reply(&app, &peer, "alice", 2, &article_id, "Shown at once.").await;
    assert_eq!(open["status"], "visible");

    // Refusals store nothing.
    app.admin_put(path, &json!({"policy": "hold"})).await;
    refused(app.admin_put(path, &json!({"policy": "sometimes"})).await, StatusCode::UNPROCESSABLE_ENTITY, "policy");
    refused(app.admin_put(path, &json!({})).await, StatusCode::UNPROCESSABLE_ENTITY, "policy");
    refused(
        app.admin_put(path, &json!({"policy": "open", "extra": 1})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "extra",
    );
    refused(
        admin_raw(&app, reqwest::Method::PUT, path, "application/json", "{\"policy\":").await,
        StatusCode::BAD_REQUEST,
        "",
    );
    refused(
        admin_raw(&app, reqwest::Method::PUT, path, "text/plain", "hold").await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "json",
    );
    assert_eq!(app.admin_get(path).await.1["policy"], "hold");
    refused(
        app.admin_put("/api/admin/articles/nope/reply-policy", &json!({"policy": "hold"})).await,
        StatusCode::NOT_FOUND,
        "nope",
    );
    refused(app.admin_get("/api/admin/articles/nope/reply-policy").await, StatusCode::NOT_FOUND, "nope");
    app.admin_delete("/api/admin/articles/treaty").await;
    refused(app.admin_put(path, &json!({"policy": "open"})).await, StatusCode::GONE, "deleted");
}

// ---------------------------------------------------------------------------------------------
// Reports
// ---------------------------------------------------------------------------------------------

/// A Flag becomes an open report; the admin lists and closes it. Bad filters and unknown
/// reports are refused.
async fn reports_are_listed_and_closed(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let peer = Peer::start().await;
    let alice = peer.add_actor("alice", ActorOpts::default());
    let article = app.put_article("treaty", &article_json("Peace treaty talks")).await;
    let flag = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/flags/1", peer.base),
        "type": "Flag",
        "actor": alice,
        "content": "Misleading headline",
        "object": [app.site_actor(), article["ap_id"]],
    });
    let response = peer.signed_post("alice", &app.url("/inbox"), &flag).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);

    let (status, open) = app.admin_get("/api/admin/reports?status=open").await;
    assert_eq!(status, StatusCode::OK, "{open}");
    assert_eq!(open["total"], 1, "{open}");
    let report = &open["items"][0];
    assert_eq!(report["reporter"], alice.as_str());
    assert_eq!(report["activity"], flag["id"]);
    assert_eq!(report["comment"], "Misleading headline");
    assert_eq!(report["objects"], json!([app.site_actor(), article["ap_id"]]));
    assert_eq!(report["status"], "open");
    assert!(report["closed_at"].is_null());
    let id = report["id"].as_i64().expect("id");

    let (status, closed) = app.admin_post(&format!("/api/admin/reports/{id}/close")).await;
    assert_eq!((status, &closed["status"]), (StatusCode::OK, &json!("closed")), "{closed}");
    assert!(closed["closed_at"].is_string());
    let (status, again) = app.admin_post(&format!("/api/admin/reports/{id}/close")).await;
    assert_eq!((status, &again["closed_at"]), (StatusCode::OK, &closed["closed_at"]), "closing twice changes nothing");
    assert_eq!(app.admin_get("/api/admin/reports?status=open").await.1["total"], 0);
    assert_eq!(app.admin_get("/api/admin/reports?status=closed").await.1["total"], 1);
    assert_eq!(app.admin_get("/api/admin/reports").await.1["total"], 1, "no status: all");

    refused(app.admin_get("/api/admin/reports?status=pending").await, StatusCode::BAD_REQUEST, "status");
    refused(app.admin_post("/api/admin/reports/999/close").await, StatusCode::NOT_FOUND, "999");
    refused(app.admin_post("/api/admin/reports/x/close").await, StatusCode::BAD_REQUEST, "");
}

// ---------------------------------------------------------------------------------------------
// Blocks
// ---------------------------------------------------------------------------------------------

/// Domains are normalised (lower case, punycode) and written once: a second PUT changes the
/// severity and reason; accounts are blocked by id in a body. Both are listed and removed.
/// Every malformed request is refused and stores nothing.
async fn blocks_are_written_listed_and_removed(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    // No body: a suspension.
    let response =
        app.client.put(app.url("/api/admin/blocks/domains/Spam.EXAMPLE")).bearer_auth(TOKEN).send().await.expect("put");
    let (status, block) = (response.status(), body_json(response).await);
    assert_eq!(status, StatusCode::CREATED, "{block}");
    assert_eq!(
        (&block["domain"], &block["severity"], &block["reason"]),
        (&json!("spam.example"), &json!("suspend"), &json!(""))
    );
    let (status, block) = app
        .admin_put("/api/admin/blocks/domains/spam.example", &json!({"severity": "silence", "reason": "Spam waves"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{block}");
    assert_eq!((&block["severity"], &block["reason"]), (&json!("silence"), &json!("Spam waves")));
    let (status, idn) = app.admin_put("/api/admin/blocks/domains/b%C3%BCcher.example", &json!({})).await;
    assert_eq!((status, &idn["domain"]), (StatusCode::CREATED, &json!("xn--bcher-kva.example")), "{idn}");

    let actor = "https://social.example/users/troll";
    let (status, block) = app.admin_put("/api/admin/blocks/actors", &json!({"actor": actor, "reason": "abuse"})).await;
    assert_eq!(status, StatusCode::CREATED, "{block}");
    assert_eq!((&block["actor"], &block["severity"]), (&json!(actor), &json!("suspend")));

    let listed = blocks(&app).await;
    let domains: Vec<&Value> = listed["domains"].as_array().expect("domains").iter().map(|d| &d["domain"]).collect();
    assert_eq!(domains, [&json!("spam.example"), &json!("xn--bcher-kva.example")]);
    assert_eq!(listed["actors"].as_array().expect("actors").len(), 1);
    assert_eq!(listed["actors"][0]["actor"], actor);

    // Refusals: nothing changes.
    let put = |path: &str| format!("/api/admin/blocks/domains/{path}");
    for bad in
        ["https%3A%2F%2Fspam.example", "spam.example%2Fpath", "spam.example:443", "*.spam.example", "a%20b.example"]
    {
        refused(app.admin_put(&put(bad), &json!({})).await, StatusCode::UNPROCESSABLE_ENTITY, "");
    }
    refused(
        app.admin_put(&put("ok.example"), &json!({"severity": "noop"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "noop",
    );
    refused(
        app.admin_put(&put("ok.example"), &json!({"severity": "ban"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "severity",
    );
    refused(
        app.admin_put(&put("ok.example"), &json!({"severty": "silence"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "severty",
    );
    refused(
        admin_raw(&app, reqwest::Method::PUT, &put("ok.example"), "text/plain", "silence").await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "json",
    );
    refused(
        admin_raw(&app, reqwest::Method::PUT, &put("ok.example"), "application/json", "{").await,
        StatusCode::BAD_REQUEST,
        "",
    );
    refused(
        app.admin_put("/api/admin/blocks/actors", &json!({"actor": "troll@social.example"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "actor",
    );
    refused(app.admin_put("/api/admin/blocks/actors", &json!({})).await, StatusCode::UNPROCESSABLE_ENTITY, "actor");
    refused(app.admin_delete(&put("ok.example")).await, StatusCode::NOT_FOUND, "not blocked");
    let response = app.client.put(app.url(&put("ok.example"))).json(&json!({})).send().await.expect("put");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "the admin token is needed");
    assert_eq!(blocks(&app).await, listed, "the refusals stored nothing");

    // Removed: one by one; the second time there is nothing to remove.
    let (status, removed) = app.admin_delete("/api/admin/blocks/domains/SPAM.example").await;
    assert_eq!((status, &removed["domain"]), (StatusCode::OK, &json!("spam.example")), "{removed}");
    refused(app.admin_delete("/api/admin/blocks/domains/spam.example").await, StatusCode::NOT_FOUND, "spam.example");
    let delete_actor = |body: Value| {
        let request = app.client.delete(app.url("/api/admin/blocks/actors")).bearer_auth(TOKEN).json(&body);
        async move {
            let response = request.send().await.expect("delete");
            (response.status(), body_json(response).await)
        }
    };
    refused(
        delete_actor(json!({"actor": actor, "severity": "silence"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "only",
    );
    let (status, removed) = delete_actor(json!({"actor": actor})).await;
    assert_eq!((status, &removed["actor"]), (StatusCode::OK, &json!(actor)), "{removed}");
    refused(delete_actor(json!({"actor": actor})).await, StatusCode::NOT_FOUND, "not blocked");
    let left = blocks(&app).await;
    assert_eq!(left["domains"].as_array().map(Vec::len), Some(1));
    assert_eq!(left["actors"], json!([]));
}

/// Suspending a server ends the follows of its accounts (silencing does not); suspending one
/// account ends its own follow.
async fn a_suspension_ends_follows(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let peer = Peer::start().await;
    peer.add_actors(&["alice", "bob"], ActorOpts::default());
    follow_site(&app, &peer, "alice").await;
    follow_site(&app, &peer, "bob").await;
    assert_eq!(app.followers().await.len(), 2);

    let (status, block) = app.admin_put("/api/admin/blocks/actors", &json!({"actor": peer.actor_id("bob")})).await;
    assert_eq!((status, &block["followers_removed"]), (StatusCode::CREATED, &json!(1)), "{block}");
    let left: Vec<Value> = app.followers().await.iter().map(|f| f["actor"].clone()).collect();
    assert_eq!(left, [json!(peer.actor_id("alice"))]);

    // The test peer's host is 127.0.0.1.
    let (status, block) = app.admin_put("/api/admin/blocks/domains/127.0.0.1", &json!({"severity": "silence"})).await;
    assert_eq!((status, &block["followers_removed"]), (StatusCode::CREATED, &json!(0)), "{block}");
    assert_eq!(app.followers().await.len(), 1, "silencing keeps follows");
    let (status, block) = app.admin_put("/api/admin/blocks/domains/127.0.0.1", &json!({"severity": "suspend"})).await;
    assert_eq!((status, &block["followers_removed"]), (StatusCode::OK, &json!(1)), "{block}");
    assert!(app.followers().await.is_empty());
}

/// A Mastodon export is imported: suspend and silence rows written, `noop` and obfuscated rows
/// skipped, unreadable rows answered with their line. Importing it again changes nothing new;
/// a file that is not a blocklist is refused whole.
async fn a_mastodon_blocklist_is_imported(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let import = |content_type: &'static str, csv: &'static str| {
        admin_raw(&app, reqwest::Method::POST, "/api/admin/blocks/import", content_type, csv)
    };
    let csv = "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n\
               spam.example,suspend,false,false,\"Spam, and more spam\",false\n\
               Loud.Example,silence,true,false,,false\n\
               fine.example,noop,true,false,,false\n\
               ba*.example,suspend,false,false,,true\n\
               https://nope.example,suspend,false,false,,false\n\
               odd.example,ban,false,false,,false\n";
    let (status, counts) = import("text/csv", csv).await;
    assert_eq!(status, StatusCode::OK, "{counts}");
    assert_eq!(
        (&counts["imported"], &counts["updated"], &counts["skipped"]),
        (&json!(2), &json!(0), &json!(2)),
        "{counts}"
    );
    let invalid: Vec<&Value> = counts["invalid"].as_array().expect("invalid").iter().map(|i| &i["line"]).collect();
    assert_eq!(invalid, [&json!(6), &json!(7)], "{counts}");
    assert!(text(&counts["invalid"][1]["error"]).contains("severity"), "{counts}");
    let listed = blocks(&app).await;
    let domains: Vec<(&Value, &Value, &Value)> = listed["domains"]
        .as_array()
        .expect("domains")
        .iter()
        .map(|d| (&d["domain"], &d["severity"], &d["reason"]))
        .collect();
    assert_eq!(
        domains,
        [
            (&json!("loud.example"), &json!("silence"), &json!("")),
            (&json!("spam.example"), &json!("suspend"), &json!("Spam, and more spam"))
        ]
    );

    // Columns in another order, without '#'; one row changed, one the same.
    let (status, counts) =
        import("text/csv; charset=utf-8", "domain,severity\nloud.example,suspend\nspam.example,suspend\n").await;
    assert_eq!(status, StatusCode::OK, "{counts}");
    assert_eq!(
        (&counts["imported"], &counts["updated"], &counts["skipped"]),
        (&json!(0), &json!(1), &json!(1)),
        "{counts}"
    );
    assert_eq!(
        blocks(&app).await["domains"][1]["reason"],
        "Spam, and more spam",
        "no comment column: the reason stays"
    );
    let (_, counts) = import("text/csv", "domain,severity,public_comment\nloud.example,suspend,\n").await;
    assert_eq!(
        (&counts["imported"], &counts["updated"], &counts["skipped"]),
        (&json!(0), &json!(0), &json!(1)),
        "{counts}"
    );

    let before = blocks(&app).await;
    refused(import("application/json", "{}").await, StatusCode::UNSUPPORTED_MEDIA_TYPE, "text/csv");
    refused(import("text/csv", "spam2.example,suspend\n").await, StatusCode::UNPROCESSABLE_ENTITY, "header");
    refused(import("text/csv", "").await, StatusCode::UNPROCESSABLE_ENTITY, "empty");
    refused(import("text/csv", "#domain\n\"unclosed.example\n").await, StatusCode::UNPROCESSABLE_ENTITY, "quoted");
    assert_eq!(blocks(&app).await, before, "refused files store nothing");
}

both_backends!(
    held_replies_wait_for_an_admin,
    an_article_holds_or_opens_its_replies,
    reports_are_listed_and_closed,
    blocks_are_written_listed_and_removed,
    a_suspension_ends_follows,
    a_mastodon_blocklist_is_imported,
);
