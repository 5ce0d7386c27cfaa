//! The embed as a reader meets it, in a real browser: headless Chromium (Debian's `chromium` and
//! `chromedriver`), driven over WebDriver by the few commands written here.
//!
//! A site page on loopback carries the one `<script>` line; the thread appears under it, nested,
//! with its placeholder and content warning; the reader answers a comment with their handle and
//! lands on their own server's interaction page (a fake server on loopback answering WebFinger
//! with a subscribe template); the handle is remembered; the keyboard reaches and opens the
//! actions; the site can frame the page instead; and the page reads with JavaScript off.
//! Screenshots (light and dark, wide and narrow, and without JavaScript) are saved under
//! `target/tmp/browser/` for a person to look at; their paths are printed.
//!
//! Without chromedriver the test prints `SKIPPED` and passes, unless
//! `THREADBRIDGE_REQUIRE_BROWSER=1` (set by CI, whose `.ci/run` installs the packages).

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::Query;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::peer::{ActorOpts, Peer};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
const SHADOW: &str = "shadow-6066-11e4-a52e-4f735466cecf";

// ---------------------------------------------------------------------------------------------
// A WebDriver client: just what these tests use
// ---------------------------------------------------------------------------------------------

struct Browser {
    http: reqwest::Client,
    session: String,
    driver: Child,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn chromedriver() -> Option<&'static str> {
    ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"].into_iter().find(|p| std::path::Path::new(p).exists())
}

impl Browser {
    /// A fresh headless Chromium, with JavaScript on or off; None when none is installed.
    async fn start(javascript: bool) -> Option<Browser> {
        let Some(driver_bin) = chromedriver() else {
            assert!(
                std::env::var("THREADBRIDGE_REQUIRE_BROWSER").as_deref() != Ok("1"),
                "THREADBRIDGE_REQUIRE_BROWSER=1 but chromedriver is not installed (apt-get install chromium chromium-driver)"
            );
            eprintln!("SKIPPED: no chromedriver (apt-get install chromium chromium-driver)");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr").port();
        let driver = Command::new(driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let http = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(60)).build().expect("client");
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while http.get(format!("{base}/status")).send().await.is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut options = json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1200,1000", "--force-device-scale-factor=1"],
        });
        if !javascript {
            options["prefs"] = json!({ "profile.managed_default_content_settings.javascript": 2 });
        }
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome", "goog:chromeOptions": options } } });
        let answer: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .expect("new session")
            .json()
            .await
            .expect("session json");
        let session = answer["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {answer}"));
        Some(Browser { http, session: format!("{base}/session/{session}"), driver })
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method.clone(), format!("{}{path}", self.session));
        if let Some(body) = body {
            request = request.json(&body);
        } else if method == reqwest::Method::POST {
            request = request.json(&json!({}));
        }
        let answer: Value = request.send().await.expect("webdriver").json().await.expect("webdriver json");
        if answer["value"].get("error").is_some() {
            panic!("webdriver {method} {path}: {}", answer["value"]);
        }
        answer["value"].clone()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None).await
    }

    async fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    async fn run(&self, script: &str) -> Value {
        self.post("/execute/sync", json!({ "script": script, "args": [] })).await
    }

    /// Runs `script` until it returns something truthy; that value.
    async fn wait_for(&self, what: &str, script: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let value = self.run(script).await;
            if !(value.is_null() || value == json!(false) || value == json!("")) {
                return value;
            }
            assert!(Instant::now() < deadline, "waited 15 s for {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn find(&self, css: &str) -> String {
        let found = self.post("/element", json!({ "using": "css selector", "value": css })).await;
        found[ELEMENT].as_str().expect("element").to_string()
    }

    /// An element inside the shadow root of `host` (the embed's container).
    async fn find_in_shadow(&self, host: &str, css: &str) -> String {
        let host = self.find(host).await;
        let shadow = self.get(&format!("/element/{host}/shadow")).await;
        let shadow = shadow[SHADOW].as_str().expect("shadow root");
        let found =
            self.post(&format!("/shadow/{shadow}/element"), json!({ "using": "css selector", "value": css })).await;
        found[ELEMENT].as_str().expect("element").to_string()
    }

    async fn click(&self, element: &str) {
        self.post(&format!("/element/{element}/click"), json!({})).await;
    }

    async fn type_into(&self, element: &str, text: &str) {
        self.post(&format!("/element/{element}/value"), json!({ "text": text })).await;
    }

    /// Presses keys (WebDriver key codes, e.g. "\u{E004}" for Tab) one after another.
    async fn press(&self, keys: &[&str]) {
        let actions: Vec<Value> = keys
            .iter()
            .flat_map(|k| [json!({ "type": "keyDown", "value": k }), json!({ "type": "keyUp", "value": k })])
            .collect();
        self.post("/actions", json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": actions }] })).await;
    }

    async fn window(&self, width: u32, height: u32) {
        self.post("/window/rect", json!({ "width": width, "height": height })).await;
    }

    async fn color_scheme(&self, scheme: &str) {
        let features = json!([{ "name": "prefers-color-scheme", "value": scheme }]);
        self.post(
            "/goog/cdp/execute",
            json!({ "cmd": "Emulation.setEmulatedMedia", "params": { "features": features } }),
        )
        .await;
    }

    /// Saves a screenshot of the window as `target/tmp/browser/{name}.png`; prints its path.
    async fn screenshot(&self, name: &str) {
        let png = self.get("/screenshot").await;
        let bytes = base64::engine::general_purpose::STANDARD.decode(png.as_str().expect("png")).expect("base64");
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, bytes).expect("write screenshot");
        println!("screenshot: {}", path.display());
    }
}

// ---------------------------------------------------------------------------------------------
// The site and the reader's server, on loopback
// ---------------------------------------------------------------------------------------------

/// The site's article page (the one line of the embed under its text) and a page framing the
/// thread instead, served on `listener`.
async fn serve_site(listener: tokio::net::TcpListener, app_base: String) {
    let article = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>The tram line</title>\
         <style>body {{ font-family: Georgia, serif; margin: 2rem; }} .threadbridge {{ --tb-accent: #b3261e; }}</style></head>\
         <body><h1>The tram line</h1><p>The council voted for the tram line. Works start in May.</p>\
         <script src=\"{app_base}/embed.js\" data-article=\"tram\" async></script></body></html>"
    );
    let framed = format!(
        "<!doctype html><html><body><h1>Framed</h1><iframe id=\"thread\" title=\"Discussion\" \
         src=\"{app_base}/embed/articles/tram\" style=\"width:100%;height:600px;border:0\"></iframe></body></html>"
    );
    let app = Router::new()
        .route("/article", get(move || async move { Html(article) }))
        .route("/framed", get(move || async move { Html(framed) }));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("site") });
}

/// A listener for the site, and its origin.
async fn site_listener() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind site");
    let origin = format!("http://{}", listener.local_addr().expect("addr"));
    (listener, origin)
}

/// A reader's server: WebFinger with Mastodon's subscribe template (or, not `templates`, with
/// none, as some servers answer), and the interaction page it points to, which records what it
/// was asked to open.
async fn reader_server(opened: Arc<Mutex<Vec<String>>>, templates: bool) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind reader server");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let here = base.clone();
    let app = Router::new()
        .route(
            "/.well-known/webfinger",
            get(move |Query(q): Query<HashMap<String, String>>| async move {
                let mut links = vec![json!({ "rel": "self", "type": "application/activity+json",
                                             "href": format!("{here}/users/reader") })];
                if templates {
                    links.push(json!({ "rel": "http://ostatus.org/schema/1.0/subscribe",
                                       "template": format!("{here}/authorize_interaction?uri={{uri}}") }));
                }
                let body = json!({ "subject": q.get("resource").cloned().unwrap_or_default(), "links": links });
                (
                    [(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"), (header::CONTENT_TYPE, "application/jrd+json")],
                    body.to_string(),
                )
                    .into_response()
            }),
        )
        .route(
            "/authorize_interaction",
            get(move |Query(q): Query<HashMap<String, String>>| async move {
                let uri = q.get("uri").cloned().unwrap_or_default();
                opened.lock().expect("opened").push(uri.clone());
                Html(format!("<!doctype html><title>Compose</title><h1>Reply to</h1><p id=\"uri\">{uri}</p>"))
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await.expect("reader server") });
    base
}

/// A thread with a reply nested under a comment, a deleted comment keeping its reply, a quote,
/// and a federated reply behind a content warning.
async fn thread(app: &TestApp) {
    let peer = Peer::start().await;
    peer.add_actor("alice", ActorOpts::default());
    let article = app.put_article("tram", &article_json("The tram line")).await;
    app.put_comment("tram", "c1", &comment_json("Анна Смирнова", "<p>Finally, after twenty years.</p>", None)).await;
    app.put_comment("tram", "c2", &comment_json("Ivan Petrov", "<p>Agreed. The 7 bus is always full.</p>", Some("c1")))
        .await;
    app.put_comment("tram", "c3", &comment_json("Spammer", "<p>Cheap tickets here</p>", None)).await;
    app.put_comment(
        "tram",
        "c4",
        &comment_json("Maria Lopez", "Quote: Ivan Petrov\nThe 7 bus is always full.\n\nNot on Sundays.", Some("c3")),
    )
    .await;
    assert_eq!(app.admin_delete("/api/admin/articles/tram/comments/c3").await.0, StatusCode::OK);
    let mut note = mastodon_note(&peer, "alice", 7, text(&article["ap_id"]), "<p>The works will be loud at night.</p>");
    note["summary"] = json!("Construction noise");
    let response = peer.signed_post("alice", &app.url("/inbox"), &create_of(&peer, "alice", note)).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
}

const COMMENTS: &str =
    "const root = document.querySelector('.threadbridge') && document.querySelector('.threadbridge').shadowRoot;
    if (!root || !root.querySelector('li.tb-comment')) return null;
    return Array.from(root.querySelectorAll('li.tb-comment')).map(li => {
      let depth = 0; for (let e = li.parentElement; e; e = e.parentElement) if (e.tagName === 'LI') depth++;
      return [li.id, depth, li.querySelector('h3').textContent.replace(/\\s+/g, ' ').trim()];
    });";

// ---------------------------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_sees_the_thread_and_replies_from_their_own_server() {
    let Some(browser) = Browser::start(true).await else { return };
    // The site may also frame the page: it names its origin in THREADBRIDGE_EMBED_ORIGINS.
    let (listener, site) = site_listener().await;
    let Some(app) = spawn_app_with(Backend::Sqlite, &["--embed-origins", &site]).await else { return };
    thread(&app).await;
    serve_site(listener, app.url("")).await;
    let opened = Arc::new(Mutex::new(Vec::new()));
    let reader = reader_server(opened.clone(), true).await;

    // The one script line puts the whole thread under the article, nested as it is.
    browser.goto(&format!("{site}/article")).await;
    let comments = browser.wait_for("the thread", COMMENTS).await;
    let rows: Vec<(String, u64, String)> = comments
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| (text(&r[0]).to_string(), r[1].as_u64().unwrap_or(99), text(&r[2]).to_string()))
        .collect();
    let ids: Vec<(&str, u64)> = rows.iter().map(|(id, depth, _)| (id.as_str(), *depth)).collect();
    assert_eq!(ids[1..], [("comment-c1", 0), ("comment-c2", 1), ("comment-c3", 0), ("comment-c4", 1)], "{rows:?}");
    assert!(rows[1].2.contains("Анна Смирнова @anna_smirnova@"), "{rows:?}");
    assert!(!rows[1].2.contains("UTC"), "times are in the reader's locale: {rows:?}");
    assert_eq!(rows[3].2, "Deleted comment");
    let texts = browser
        .run(
            "const r = document.querySelector('.threadbridge').shadowRoot; return [r.querySelector('h2').textContent, \
              r.querySelector('#comment-c4 blockquote').textContent, r.querySelector('.tb-cw summary').textContent, \
              r.querySelector('.tb-cw').open, getComputedStyle(r.querySelector('.tb-name')).color];",
        )
        .await;
    assert_eq!(texts[0], "Discussion (5 comments)");
    assert!(text(&texts[1]).contains("Ivan Petrov wrote:") && text(&texts[1]).contains("always full"), "{texts}");
    assert_eq!(texts[2], "Content warning: Construction noise");
    assert_eq!(texts[3], false, "the content warning starts folded");
    assert_eq!(texts[4], "rgb(179, 38, 30)", "the site's --tb-accent reaches the thread");
    for (scheme, width, height) in
        [("light", 1200, 1000), ("light", 390, 1000), ("dark", 1200, 1000), ("dark", 390, 1000)]
    {
        browser.color_scheme(scheme).await;
        browser.window(width, height).await;
        browser.screenshot(&format!("embed-{scheme}-{}", if width > 600 { "wide" } else { "narrow" })).await;
    }
    browser.color_scheme("light").await;
    browser.window(1200, 1000).await;

    // Reply to Ivan's comment: the handle, then the reader's own server for that exact comment.
    let summary = browser.find_in_shadow(".threadbridge", "#comment-c2 > article details.tb-action > summary").await;
    browser.click(&summary).await;
    let input = browser.find_in_shadow(".threadbridge", "#comment-c2 > article input[name=handle]").await;
    let handle = format!("@reader@{}", reader.trim_start_matches("http://"));
    browser.type_into(&input, &handle).await;
    let reply = browser.find_in_shadow(".threadbridge", "#comment-c2 > article button[value=reply]").await;
    browser.click(&reply).await;
    let comment_id = app.url("/articles/tram/comments/c2");
    let href = browser
        .wait_for(
            "the link to the reader's server",
            "const a = document.querySelector('.threadbridge').shadowRoot.querySelector('#comment-c2 .tb-continue'); return a && a.href;",
        )
        .await;
    let href = url::Url::parse(text(&href)).expect("a URL");
    assert_eq!(href.as_str().split('?').next(), Some(format!("{reader}/authorize_interaction").as_str()));
    let uri = href.query_pairs().find(|(k, _)| k == "uri").map(|(_, v)| v.to_string());
    assert_eq!(uri.as_deref(), Some(comment_id.as_str()), "{href}");
    browser.screenshot("embed-reply-flow").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while opened.lock().expect("opened").is_empty() {
        assert!(Instant::now() < deadline, "the reader's server was not opened");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(opened.lock().expect("opened")[0], comment_id, "their server opens that exact comment");

    // The handle is remembered on the reader's device.
    let handles = browser.get("/window/handles").await;
    let main = browser.get("/window").await;
    for other in handles.as_array().expect("handles").iter().filter(|h| **h != main) {
        browser.post("/window", json!({ "handle": other })).await;
        browser.call(reqwest::Method::DELETE, "/window", None).await;
    }
    browser.post("/window", json!({ "handle": main })).await;
    browser.goto(&format!("{site}/article")).await;
    browser.wait_for("the thread again", COMMENTS).await;
    let remembered = browser
        .run("return document.querySelector('.threadbridge').shadowRoot.querySelector('#comment-c1 input[name=handle]').value;")
        .await;
    assert_eq!(remembered, handle.as_str());

    // A server that names no interaction page: the reader is told to paste the address.
    let quiet = reader_server(opened.clone(), false).await;
    let summary = browser.find_in_shadow(".threadbridge", "#comment-c1 > article details.tb-action > summary").await;
    browser.click(&summary).await;
    let input = browser.find_in_shadow(".threadbridge", "#comment-c1 > article input[name=handle]").await;
    browser.post(&format!("/element/{input}/clear"), json!({})).await;
    browser.type_into(&input, &format!("@reader@{}", quiet.trim_start_matches("http://"))).await;
    let reply = browser.find_in_shadow(".threadbridge", "#comment-c1 > article button[value=reply]").await;
    browser.click(&reply).await;
    let told = browser
        .wait_for(
            "the fallback",
            "const s = document.querySelector('.threadbridge').shadowRoot.querySelector('#comment-c1 .tb-status'); \
             return s && s.textContent.includes('Paste') && s.textContent;",
        )
        .await;
    assert!(text(&told).contains("did not say where to reply"), "{told}");
    assert_eq!(opened.lock().expect("opened").len(), 1, "nothing more was opened");

    // On a fresh page, the keyboard reaches the first action and opens it.
    browser.goto(&format!("{site}/article?again")).await;
    browser.wait_for("the thread once more", COMMENTS).await;
    browser.press(&["\u{E004}"]).await;
    let focused = browser
        .run("const a = document.querySelector('.threadbridge').shadowRoot.activeElement; return a && a.textContent;")
        .await;
    assert_eq!(focused, "Reply from the fediverse");
    browser.press(&["\u{E007}"]).await;
    let open = browser
        .run("return document.querySelector('.threadbridge').shadowRoot.querySelector('.tb-join details').open;")
        .await;
    assert_eq!(open, true, "Enter opens it");

    // The site frames the page instead.
    browser.goto(&format!("{site}/framed")).await;
    let frame = browser.find("#thread").await;
    browser.post("/frame", json!({ "id": { ELEMENT: frame } })).await;
    let heading = browser
        .wait_for("the framed thread", "const h = document.querySelector('h2'); return h && h.textContent;")
        .await;
    assert_eq!(heading, "Discussion (5 comments)");
    browser.post("/frame/parent", json!({})).await;
    browser.screenshot("embed-framed").await;

    // Without JavaScript, the embed page reads the same, with the address to paste.
    let Some(plain) = Browser::start(false).await else { return };
    plain.goto(&app.url("/embed/articles/tram")).await;
    let page = plain
        .run("return [document.querySelectorAll('li.tb-comment').length, document.querySelector('#comment-c2 time').textContent, \
              document.querySelector('#comment-c2 input').value, document.querySelectorAll('form').length];")
        .await;
    assert_eq!(page[0], 5);
    assert!(text(&page[1]).ends_with("UTC"), "{page}");
    assert_eq!(page[2], app.url("/articles/tram/comments/c2").as_str());
    assert_eq!(page[3], 0, "no script ran");
    let summary = plain.find("#comment-c2 > article details.tb-action > summary").await;
    plain.click(&summary).await;
    plain.screenshot("embed-no-javascript").await;
}
