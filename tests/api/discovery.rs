//! How a fediverse server finds the site and its people: WebFinger, actors, host-meta, NodeInfo.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;
use crate::peer::{ActorOpts, Peer};

async fn site_actor_is_followable(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let host = app.address.trim_start_matches("http://").to_string();
    let response = app
        .client
        .get(app.url(&format!("/.well-known/webfinger?resource=acct:site@{host}")))
        .send()
        .await
        .expect("webfinger");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/jrd+json");
    let jrd = body_json(response).await;
    assert_eq!(jrd["subject"], format!("acct:site@{host}"));
    let links = jrd["links"].as_array().cloned().unwrap_or_default();
    let self_link = links.iter().find(|l| l["rel"] == "self").expect("self link");
    assert_eq!(self_link["type"], "application/activity+json");
    assert_eq!(self_link["href"], app.url("/users/site"));

    let (status, actor) = app.ap_get(&app.url("/users/site")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(actor["type"], "Person");
    assert_eq!(actor["preferredUsername"], "site");
    assert_eq!(actor["name"], "Military Review");
    assert_eq!(actor["url"], "https://news.example/");
    assert_eq!(actor["inbox"], app.url("/users/site/inbox"));
    assert_eq!(actor["outbox"], app.url("/users/site/outbox"));
    assert_eq!(actor["followers"], app.url("/users/site/followers"));
    assert_eq!(actor["endpoints"]["sharedInbox"], app.url("/inbox"));
    assert_eq!(actor["discoverable"], true);
    assert_eq!(actor["manuallyApprovesFollowers"], false);
    assert_eq!(actor["publicKey"]["id"], app.url("/users/site#main-key"));
    assert_eq!(actor["publicKey"]["owner"], app.url("/users/site"));
    let pem = actor["publicKey"]["publicKeyPem"].as_str().unwrap_or_default();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{pem}");
    // An RSA-2048 SubjectPublicKeyInfo is 294 bytes: 392 base64 characters.
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    assert_eq!(b64.len(), 392, "RSA-2048 key");
    assert!(!actor.to_string().contains("PRIVATE"), "no private key is ever served");

    let (_, followers) = app.ap_get(&app.url("/users/site/followers")).await;
    assert_eq!(followers["type"], "OrderedCollection");
    assert_eq!(followers["totalItems"], 0);
}

async fn webfinger_answers_only_for_its_accounts(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let host = app.address.trim_start_matches("http://").to_string();
    let finger = |resource: String| {
        let url = app.url(&format!("/.well-known/webfinger?resource={resource}"));
        let client = app.client.clone();
        async move { client.get(url).send().await.expect("webfinger").status() }
    };
    assert_eq!(finger(format!("acct:nobody@{host}")).await, StatusCode::NOT_FOUND);
    assert_eq!(finger("acct:site@elsewhere.example".to_string()).await, StatusCode::NOT_FOUND);
    assert_eq!(finger("garbage".to_string()).await, StatusCode::NOT_FOUND);
    assert_eq!(finger(app.url("/users/site")).await, StatusCode::OK);
    let missing = app.client.get(app.url("/.well-known/webfinger")).send().await.expect("webfinger");
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    assert!(body_json(missing).await["error"].is_string());
    let (status, _) = app.ap_get(&app.url("/users/nobody")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// With THREADBRIDGE_HANDLE_DOMAIN, every handle is on the site's own domain: WebFinger answers
/// `acct:NAME@` either domain with the subject on the handle domain and the actor id and
/// profile page as aliases, and the admin API's handles and the author's `fediverse:creator`
/// line use it. Actor ids stay on the service's host.
async fn handles_take_the_site_domain(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &["--handle-domain", "News.Example"]).await else { return };
    let host = app.address.trim_start_matches("http://").to_string();
    for resource in [format!("acct:site@{host}"), "acct:site@news.example".to_string(), app.url("/users/site")] {
        let response = app
            .client
            .get(app.url(&format!("/.well-known/webfinger?resource={resource}")))
            .send()
            .await
            .expect("finger");
        assert_eq!(response.status(), StatusCode::OK, "{resource}");
        let jrd = body_json(response).await;
        assert_eq!(jrd["subject"], "acct:site@news.example", "{resource}");
        let links = jrd["links"].as_array().expect("links");
        let profile = links.iter().find(|l| l["rel"] == "http://webfinger.net/rel/profile-page").expect("profile");
        assert_eq!(jrd["aliases"], json!([app.url("/users/site"), profile["href"]]), "{jrd}");
        assert!(links.iter().any(|l| l["rel"] == "self" && l["href"] == app.url("/users/site").as_str()), "{jrd}");
    }
    let other = app
        .client
        .get(app.url("/.well-known/webfinger?resource=acct:site@other.example"))
        .send()
        .await
        .expect("finger");
    assert_eq!(other.status(), StatusCode::NOT_FOUND);

    let article = app.put_article("treaty", &article_json("Peace treaty talks")).await;
    let handle = text(&article["author"]["handle"]).to_string();
    assert!(handle.ends_with("@news.example") && handle.starts_with('@'), "{handle}");
    assert_eq!(article["fediverse_creator"], format!("<meta name=\"fediverse:creator\" content=\"{handle}\">"));
    assert!(text(&article["author"]["url"]).starts_with(&app.url("/users/")), "ids stay on the service");
    let comment = app.put_comment("treaty", "c1", &comment_json("Ivan Petrov", "<p>Good.</p>", None)).await;
    assert_eq!(comment["author"]["handle"], "@ivan_petrov@news.example");

    // Unset, handles are on the service's host, and the aliases are as before.
    let Some(plain) = spawn_app(backend).await else { return };
    let host = plain.address.trim_start_matches("http://").to_string();
    let response = plain
        .client
        .get(plain.url(&format!("/.well-known/webfinger?resource=acct:site@{host}")))
        .send()
        .await
        .expect("finger");
    let jrd = body_json(response).await;
    assert_eq!(jrd["subject"], format!("acct:site@{host}"));
    assert_eq!(jrd["aliases"], json!([plain.url("/users/site")]));
}

/// A site on loopback that passes `/.well-known/webfinger` on to the service with a redirect
/// (`redirects`), or answers 404 as a site that was not told to; returns its `host:port`.
pub async fn fake_site(listener: tokio::net::TcpListener, service: String, redirects: bool) -> String {
    use axum::response::IntoResponse;
    let host = listener.local_addr().expect("addr").to_string();
    let app = axum::Router::new().route(
        "/.well-known/webfinger",
        axum::routing::get(move |uri: axum::http::Uri| async move {
            if !redirects {
                return StatusCode::NOT_FOUND.into_response();
            }
            let query = uri.query().unwrap_or_default();
            axum::response::Redirect::permanent(&format!("{service}/.well-known/webfinger?{query}")).into_response()
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.expect("fake site") });
    host
}

/// Mastodon's WebFinger step: the JRD for `acct:{user}@{domain}`, asked of `domain` (redirects
/// followed); None when it does not answer 200.
async fn finger(client: &reqwest::Client, user: &str, domain: &str) -> Option<Value> {
    let url = format!("http://{domain}/.well-known/webfinger?resource=acct:{user}@{domain}");
    let response = client.get(url).send().await.ok()?;
    if response.status() != StatusCode::OK {
        return None;
    }
    response.json().await.ok()
}

fn self_link(jrd: &Value) -> Option<String> {
    jrd["links"].as_array()?.iter().find(|l| l["rel"] == "self").and_then(|l| l["href"].as_str()).map(str::to_string)
}

fn split_acct(subject: &str) -> Option<(String, String)> {
    let (user, domain) = subject.strip_prefix("acct:")?.rsplit_once('@')?;
    Some((user.to_string(), domain.to_string()))
}

/// Searching `@user@domain`, as Mastodon resolves it: WebFinger at `domain`; a subject elsewhere
/// is looked up again there and must say the same; the account is the subject, the actor its
/// `self` link.
async fn resolve_handle(client: &reqwest::Client, user: &str, domain: &str) -> Option<(String, String)> {
    let jrd = finger(client, user, domain).await?;
    let subject = jrd["subject"].as_str()?.to_string();
    let (s_user, s_domain) = split_acct(&subject)?;
    if (s_user.as_str(), s_domain.as_str()) != (user, domain) {
        let confirmed = finger(client, &s_user, &s_domain).await?;
        if confirmed["subject"] != subject.as_str() {
            return None;
        }
    }
    Some((subject, self_link(&jrd)?))
}

/// An actor met by its id, as Mastodon names it: WebFinger of `preferredUsername` at the id's
/// host; a subject elsewhere counts only if its own WebFinger leads back to the same actor,
/// else the account stays on the id's host.
async fn handle_of_actor(client: &reqwest::Client, actor_id: &str) -> Option<String> {
    let actor: Value =
        client.get(actor_id).header("Accept", "application/activity+json").send().await.ok()?.json().await.ok()?;
    let user = actor["preferredUsername"].as_str()?;
    let url = url::Url::parse(actor_id).ok()?;
    let id_host = format!("{}:{}", url.host_str()?, url.port_or_known_default()?);
    let jrd = finger(client, user, &id_host).await?;
    let subject = jrd["subject"].as_str()?;
    let (s_user, s_domain) = split_acct(subject)?;
    if s_domain != id_host {
        let back = finger(client, &s_user, &s_domain).await;
        if back.as_ref().and_then(self_link).as_deref() != Some(actor_id) {
            return Some(format!("acct:{user}@{id_host}"));
        }
    }
    Some(subject.to_string())
}

/// Mastodon resolves `@site@<site domain>` both ways when the site passes WebFinger on, and
/// falls back to the service's host when it does not.
async fn mastodon_resolves_the_site_domain_both_ways(backend: Backend) {
    let client = reqwest::Client::builder().no_proxy().build().expect("client");
    for redirects in [true, false] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind site");
        let site_domain = listener.local_addr().expect("addr").to_string();
        let Some(app) = spawn_app_with(backend, &["--handle-domain", &site_domain]).await else { return };
        fake_site(listener, app.url(""), redirects).await;
        let actor = app.url("/users/site");
        let service_host = app.address.trim_start_matches("http://").to_string();

        let searched = resolve_handle(&client, "site", &site_domain).await;
        let met = handle_of_actor(&client, &actor).await;
        if redirects {
            assert_eq!(searched, Some((format!("acct:site@{site_domain}"), actor.clone())));
            assert_eq!(met, Some(format!("acct:site@{site_domain}")));
        } else {
            assert_eq!(searched, None, "the site does not answer WebFinger: @site@{site_domain} is not found");
            assert_eq!(met, Some(format!("acct:site@{service_host}")), "the actor keeps the service's host");
        }
    }
}

/// Changing the handle domain later keeps every follower: at the next start, each followed local
/// actor sends its followers' servers a signed Update of itself (the same id), so they look its
/// handle up again; a start with the same domain sends nothing more.
async fn a_new_handle_domain_is_announced_to_followers(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let peer = Peer::start().await;
    peer.add_actor("alice", ActorOpts::default());
    follow_site(&app, &peer, "alice").await;
    let same_service = ["--public-url", app.address.as_str(), "--handle-domain", "news.example"];
    let _restarted = spawn_sibling_with(&app, &same_service).await;
    let updates = |received: &[crate::peer::Received]| {
        received.iter().filter(|d| d.is_delivered("Update")).cloned().collect::<Vec<_>>()
    };
    let received = peer.wait_for(|r| !updates(r).is_empty(), std::time::Duration::from_secs(20)).await;
    let update = updates(&received).remove(0);
    assert_eq!(update.object_id(), app.url("/users/site"));
    assert_eq!(update.object_kind(), "Person");
    assert_eq!(update.activity["actor"], app.url("/users/site"));
    assert_eq!(app.followers().await.len(), 1, "the follower stays");
    let response = app.client.get(app.url("/.well-known/webfinger?resource=acct:site@news.example")).send().await;
    assert_eq!(response.expect("finger").status(), StatusCode::NOT_FOUND, "the first process still has the old domain");

    let _again = spawn_sibling_with(&app, &same_service).await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(updates(&peer.received()).len(), 1, "the same domain again is not announced");
}

async fn commenters_become_stable_people(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.put_article("a", &article_json("Title")).await;
    let names = ["Alexander Romanov", "SPB 1221", "Vita vko", "Александр Романов", "🔥🔥", "alexander romanov", "site"];
    let mut handles = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let comment = app.put_comment("a", &format!("c{i}"), &comment_json(name, "text", None)).await;
        assert_eq!(comment["author"]["name"], *name, "the display name keeps the original");
        handles.push(comment["author"]["handle"].as_str().unwrap_or_default().to_string());
    }
    let host = app.address.trim_start_matches("http://").to_string();
    assert_eq!(handles[0], format!("@alexander_romanov@{host}"));
    assert_eq!(handles[1], format!("@spb_1221@{host}"));
    assert_eq!(handles[2], format!("@vita_vko@{host}"));
    assert_eq!(handles[3], format!("@aleksandr_romanov@{host}"));
    assert_eq!(handles[4], format!("@user@{host}"));
    assert!(handles[5].starts_with("@alexander_romanov_"), "collision resolved: {}", handles[5]);
    assert!(handles[6].starts_with("@site_"), "the site's own name is never given away: {}", handles[6]);
    let unique: std::collections::HashSet<&String> = handles.iter().collect();
    assert_eq!(unique.len(), names.len());

    // The same site user gets the same actor again.
    let again = app.put_comment("a", "again", &comment_json("alexander romanov", "more", None)).await;
    assert_eq!(again["author"]["handle"], handles[5].as_str());

    for (name, handle) in names.iter().zip(&handles) {
        let username = handle.trim_start_matches('@').split('@').next().unwrap_or_default();
        assert!(username.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'), "{username}");
        let jrd = app
            .client
            .get(app.url(&format!("/.well-known/webfinger?resource=acct:{username}@{host}")))
            .send()
            .await
            .expect("webfinger");
        assert_eq!(jrd.status(), StatusCode::OK, "{handle}");
        let (status, person) = app.ap_get(&app.url(&format!("/users/{username}"))).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(person["type"], "Person");
        assert_eq!(person["name"], *name);
        assert!(person["publicKey"]["publicKeyPem"].is_string());
    }
}

async fn display_name_follows_the_site(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.put_article("a", &article_json("Title")).await;
    let mut body = comment_json("reader42", "hello", None);
    body["author"]["name"] = "Old Name".into();
    app.put_comment("a", "c1", &body).await;
    body["author"]["name"] = "New Name".into();
    let again = app.put_comment("a", "c1", &body).await;
    assert_eq!(again["author"]["name"], "New Name");
    let (_, person) = app.ap_get(again["author"]["url"].as_str().unwrap_or_default()).await;
    assert_eq!(person["name"], "New Name");

    // Documents rendered before the change (and cached) show the new name too.
    let mut article = article_json("Title");
    article["author"]["name"] = "Desk Before".into();
    app.put_article("a", &article).await;
    let (_, note) = app.ap_get(&app.url("/articles/a")).await;
    assert!(note["content"].as_str().unwrap_or_default().contains("By Desk Before"));
    assert_eq!(app.thread("a").await["comments"][0]["author"]["name"], "New Name");
    body["author"]["name"] = "Third Name".into();
    app.put_comment("a", "c1", &body).await;
    article["author"]["name"] = "Desk After".into();
    app.put_article("a", &article).await;
    assert_eq!(app.thread("a").await["comments"][0]["author"]["name"], "Third Name");
    let (_, note) = app.ap_get(&app.url("/articles/a")).await;
    assert!(note["content"].as_str().unwrap_or_default().contains("By Desk After"), "{note}");
}

async fn nodeinfo_and_host_meta(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.put_article("a", &article_json("Title")).await;
    app.put_comment("a", "c1", &comment_json("Reader", "hello", None)).await;
    let (status, links) = app.admin_get("/.well-known/nodeinfo").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(links["links"][0]["rel"], "http://nodeinfo.diaspora.software/ns/schema/2.1");
    let href = links["links"][0]["href"].as_str().unwrap_or_default().to_string();
    assert_eq!(href, app.url("/nodeinfo/2.1"));
    let response = app.client.get(href).send().await.expect("nodeinfo");
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap_or_default()
        .contains("nodeinfo.diaspora.software/ns/schema/2.1"));
    let info = body_json(response).await;
    assert_eq!(info["version"], "2.1");
    assert_eq!(info["software"]["name"], "threadbridge");
    assert_eq!(info["protocols"], serde_json::json!(["activitypub"]));
    assert_eq!(info["openRegistrations"], false);
    assert_eq!(info["usage"]["localPosts"], 2);
    assert_eq!(info["usage"]["users"]["total"], 3, "site, desk and one reader");
    assert_eq!(info["metadata"]["nodeName"], "Military Review");
    app.put_article("b", &article_json("B")).await;
    app.put_comment("b", "c1", &comment_json("Reader", "on b", None)).await;
    app.admin_delete("/api/admin/articles/b").await;
    let (_, info) = app.admin_get("/nodeinfo/2.1").await;
    assert_eq!(info["usage"]["localPosts"], 2, "a deleted article's comments are not counted");

    let xml = app.client.get(app.url("/.well-known/host-meta")).send().await.expect("host-meta");
    assert_eq!(xml.status(), StatusCode::OK);
    let text = xml.text().await.unwrap_or_default();
    assert!(text.contains(&format!("template=\"{}/.well-known/webfinger?resource={{uri}}\"", app.address)), "{text}");
    let (_, health) = app.admin_get("/health").await;
    assert_eq!(health["status"], "ok");
    let (status, unknown) = app.admin_get("/no/such/route").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(unknown["error"].is_string());
    let _: Value = unknown;
    let post = app.client.post(app.url("/users/site/outbox")).send().await.expect("post");
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(body_json(post).await["error"].is_string());
}

both_backends!(
    handles_take_the_site_domain,
    a_new_handle_domain_is_announced_to_followers,
    mastodon_resolves_the_site_domain_both_ways,
    site_actor_is_followable,
    webfinger_answers_only_for_its_accounts,
    commenters_become_stable_people,
    display_name_follows_the_site,
    nodeinfo_and_host_meta,
);
