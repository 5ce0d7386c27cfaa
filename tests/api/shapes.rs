//! Payloads in the shapes real servers send, delivered signed through the inbox, and what the
//! site then reads in the admin thread (`GET /api/admin/articles/{key}/thread`).
//!
//! The fixtures are under `tests/fixtures/inbound/<software>/`, one activity a file, written
//! here in the shape each server sends (read from their code, their documentation and the
//! payloads Lemmy keeps of them; none copied). Their placeholders are filled in per test:
//! `{{ACTOR}}` (the sending actor on the test peer), `{{PEER}}` (the peer's base URL),
//! `{{ARTICLE}}`, `{{ARTICLE_URL}}` (its page), `{{COMMENT}}` (a site comment's id),
//! `{{COMMENTER}}` (that comment's author), `{{SITE}}`, `{{SITE_URL}}`, `{{SITE_HANDLE}}`
//! (the site actor), `{{BLOG}}` (a WordPress blog actor), and for activities a Lemmy or PieFed
//! community relays, `{{GROUP}}` (the community) and `{{GROUP_PEER}}` (its own server).

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;
use crate::peer::{ActorOpts, Peer};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/inbound");
const ARTICLE: &str = "treaty";
const COMMENT: &str = "c1";
/// The site's address in the test settings (`--site-url`): every local actor's `url`.
const SITE_URL: &str = "https://news.example/";
/// What every kept link carries.
const REL: &str = r#"rel="nofollow noopener noreferrer""#;

/// A fixture with its placeholders filled in; panics naming the file when it cannot be read
/// or a placeholder is left.
fn fixture(path: &str, vars: &[(&str, String)]) -> Value {
    let file = format!("{FIXTURES}/{path}");
    let raw = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file}: {e}"));
    let mut value: Value = serde_json::from_str(&raw).unwrap_or_else(|e| panic!("{file}: {e}"));
    fill(&mut value, vars);
    let filled = value.to_string();
    assert!(!filled.contains("{{"), "{file}: a placeholder is left unfilled: {filled}");
    value
}

/// Replaces `{{NAME}}` in every string of `value`.
fn fill(value: &mut Value, vars: &[(&str, String)]) {
    match value {
        Value::String(s) => {
            for (name, with) in vars {
                *s = s.replace(&format!("{{{{{name}}}}}"), with);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| fill(v, vars)),
        Value::Object(map) => map.values_mut().for_each(|v| fill(v, vars)),
        _ => {}
    }
}

/// One test's world: the service with an article and a site comment on it, and a test peer
/// whose actors send the fixtures.
struct Scene {
    app: TestApp,
    peer: Peer,
    article: String,
    article_url: String,
    comment: String,
}

impl Scene {
    /// The service, the article `treaty` with comment `c1` by Maria Petrova, and a peer with
    /// `names` as actors (sharing one key, as making RSA keys is slow).
    async fn start(backend: Backend, names: &[&str], opts: ActorOpts) -> Option<Scene> {
        let app = spawn_app(backend).await?;
        let peer = Peer::start().await;
        peer.add_actors(names, opts);
        let article = app.put_article(ARTICLE, &article_json("Peace treaty talks")).await;
        let comment = app
            .put_comment(ARTICLE, COMMENT, &comment_json("Maria Petrova", "The second round matters more.", None))
            .await;
        Some(Scene {
            article: text(&article["ap_id"]).to_string(),
            article_url: text(&article["url"]).to_string(),
            comment: text(&comment["ap_id"]).to_string(),
            app,
            peer,
        })
    }

    fn vars(&self, actor: &str) -> Vec<(&'static str, String)> {
        vec![
            ("ACTOR", self.peer.actor_id(actor)),
            ("PEER", self.peer.base.clone()),
            ("ARTICLE", self.article.clone()),
            ("ARTICLE_URL", self.article_url.clone()),
            ("COMMENT", self.comment.clone()),
            ("COMMENTER", self.app.url("/users/maria_petrova")),
            ("SITE", self.app.site_actor()),
            ("SITE_URL", SITE_URL.to_string()),
            ("SITE_HANDLE", format!("@site@{}", self.app.address.trim_start_matches("http://"))),
        ]
    }

    /// Delivers fixture `path` filled in for `actor`, signed by `actor`, to the shared inbox;
    /// it must be accepted (202). Returns the activity sent.
    async fn deliver(&self, actor: &str, path: &str) -> Value {
        self.deliver_with(actor, "/inbox", path, &[]).await
    }

    /// Like `deliver`, to another inbox, with some placeholders set otherwise.
    async fn deliver_with(&self, signer: &str, inbox: &str, path: &str, set: &[(&'static str, String)]) -> Value {
        let activity = fixture(path, &self.vars_with(signer, set));
        self.send(&self.peer, signer, inbox, &activity).await;
        activity
    }

    /// The placeholders for `actor`, some set otherwise.
    fn vars_with(&self, actor: &str, set: &[(&'static str, String)]) -> Vec<(&'static str, String)> {
        let mut vars = self.vars(actor);
        vars.retain(|(name, _)| !set.iter().any(|(other, _)| other == name));
        vars.extend_from_slice(set);
        vars
    }

    /// Posts `activity` to `inbox`, signed by `signer` of `peer`; it must be accepted (202).
    async fn send(&self, peer: &Peer, signer: &str, inbox: &str, activity: &Value) {
        let response = peer.signed_post(signer, &self.app.url(inbox), activity).await;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        assert_eq!(status, StatusCode::ACCEPTED, "{} was refused: {body}", activity["id"]);
    }

    async fn thread(&self) -> Value {
        self.app.thread(ARTICLE).await
    }

    /// `@name@host:port` of an actor of the peer.
    fn handle(&self, name: &str) -> String {
        format!("@{name}@{}", self.peer.base.trim_start_matches("http://"))
    }
}

/// The id of an activity's object (embedded or not).
fn object_id(activity: &Value) -> &str {
    let object = &activity["object"];
    object.get("id").unwrap_or(object).as_str().unwrap_or_else(|| panic!("no object id in {activity}"))
}

fn remote_comments(thread: &Value) -> Vec<&Value> {
    thread["comments"].as_array().expect("comments").iter().filter(|c| c["origin"] == "remote").collect()
}

/// The thread item with this `ap_id`; panics with the thread when there is none.
fn item<'a>(thread: &'a Value, ap_id: &str) -> &'a Value {
    thread["comments"]
        .as_array()
        .expect("comments")
        .iter()
        .find(|c| c["ap_id"] == ap_id)
        .unwrap_or_else(|| panic!("no item {ap_id} in the thread: {thread:#}"))
}

/// (likes, announces) of the article.
fn article_reactions(thread: &Value) -> (i64, i64) {
    let reactions = &thread["article"]["reactions"];
    (reactions["likes"].as_i64().expect("likes"), reactions["announces"].as_i64().expect("announces"))
}

/// (likes, announces) of a thread item.
fn reactions(thread: &Value, ap_id: &str) -> (i64, i64) {
    let item = item(thread, ap_id);
    (item["likes"].as_i64().expect("likes"), item["announces"].as_i64().expect("announces"))
}

/// The opening tag of the link to `href` in `html`; panics when there is none.
fn link<'a>(html: &'a str, href: &str) -> &'a str {
    let at = html.find(&format!("href=\"{href}\"")).unwrap_or_else(|| panic!("no link to {href} in {html}"));
    let start = html[..at].rfind("<a ").unwrap_or_else(|| panic!("the href of {href} is not in a link: {html}"));
    let end = at + html[at..].find('>').expect("the tag ends");
    &html[start..=end]
}

/// The link to `href` is kept, and marked as every link is.
fn assert_link_kept(html: &str, href: &str) {
    let tag = link(html, href);
    assert!(tag.contains(REL), "the link to {href} lacks {REL}: {tag}");
}

/// Nothing that runs, loads or restyles anything is left.
fn assert_harmless(html: &str) {
    for bad in ["<script", "javascript:", "onclick", "onerror", "<img", "<iframe", "<style", "<object", "target="] {
        assert!(!html.contains(bad), "{bad} left in {html}");
    }
}

fn assert_same_instant(value: &Value, expected: &str) {
    let got = chrono::DateTime::parse_from_rfc3339(text(value)).expect("an RFC 3339 time");
    let want = chrono::DateTime::parse_from_rfc3339(expected).expect("an RFC 3339 time");
    assert_eq!(got, want, "{value} is not {expected}");
}

/// A remote reply's author as the site shows it.
fn assert_author(scene: &Scene, reply: &Value, name: &str) {
    let author = &reply["author"];
    assert_eq!(author["name"], name, "{reply}");
    assert_eq!(author["handle"], scene.handle(name), "{reply}");
    assert_eq!(author["url"], scene.peer.actor_id(name), "{reply}");
}

/// A deleted reply stays as a placeholder: no author, no content, no details.
fn assert_deleted(thread: &Value, ap_id: &str) {
    let reply = item(thread, ap_id);
    assert_eq!(reply["status"], "deleted", "{reply}");
    assert!(reply["author"].is_null(), "{reply}");
    assert_eq!(reply["content"], "", "{reply}");
}

/// The community that relays its members' activities (FEP-1b12), on a server of its own.
const GROUP: &str = "worldnews";

/// A second test peer, the community's server, with the community actor on it.
async fn community_server() -> Peer {
    let server = Peer::start().await;
    server.add_actor(GROUP, ActorOpts::default());
    server
}

impl Scene {
    /// Fixture `path` filled in for `member` (an actor of the scene's peer) and the community
    /// on `community`: `{{GROUP}}` (its actor) and `{{GROUP_PEER}}` (its server).
    fn relayed(&self, community: &Peer, member: &str, path: &str) -> Value {
        let set = [("GROUP", community.actor_id(GROUP)), ("GROUP_PEER", community.base.clone())];
        fixture(path, &self.vars_with(member, &set))
    }
}

/// The post inside a relayed activity (`Announce{object: Create{object: post}}`).
fn relayed_post(announce: &Value) -> Value {
    announce["object"]["object"].clone()
}

// ---------------------------------------------------------------------------------------------
// Mastodon
// ---------------------------------------------------------------------------------------------

/// Mastodon: a reply to the article (mention, link, hashtag, content warning, German
/// `contentMap`, an image with alt text, and hostile HTML a server could add) and a reply to a
/// site comment; then an Update carrying `updated`, and a Delete of a Tombstone.
async fn mastodon_replies_are_kept_edited_and_deleted(backend: Backend) {
    let Some(s) = Scene::start(backend, &["alice"], ActorOpts::default()).await else { return };
    let create = s.deliver("alice", "mastodon/create_note_reply.json").await;
    let answer = s.deliver("alice", "mastodon/create_note_reply_to_comment.json").await;

    let thread = s.thread().await;
    assert_eq!(remote_comments(&thread).len(), 2, "{thread:#}");
    let reply = item(&thread, object_id(&create));
    assert_eq!((&reply["origin"], &reply["status"]), (&json!("remote"), &json!("visible")));
    assert_eq!((&reply["parent"], &reply["depth"]), (&Value::Null, &json!(1)));
    assert_author(&s, reply, "alice");
    let content = text(&reply["content"]);
    assert!(content.contains("Endlich wieder Gespräche.") && content.contains("Zweiter Absatz"), "{content}");
    assert_link_kept(content, SITE_URL);
    assert_link_kept(content, "https://example.org/analysis/peace-talks");
    assert_link_kept(content, &format!("{}/tags/diplomatie", s.peer.base));
    assert_harmless(content);
    let remote = &reply["remote"];
    assert_eq!(remote["summary"], "Politics, long thread");
    assert_eq!(remote["sensitive"], true, "a content warning hides the post: {remote}");
    assert_eq!(remote["language"], "de");
    assert_eq!(remote["url"], format!("{}/@alice/113500000000000001", s.peer.base));
    assert_eq!(
        remote["attachments"],
        json!([{
            "url": format!("{}/system/media_attachments/files/113/500/000/000/000/001/original/5c1f0e2a9b7d3e41.jpg", s.peer.base),
            "media_type": "image/jpeg",
            "name": "Two delegations at a long table, flags behind them",
        }])
    );
    assert_same_instant(&reply["published"], "2026-11-27T09:00:00Z");
    assert!(reply["updated"].is_null());

    let second = item(&thread, object_id(&answer));
    assert_eq!((&second["parent"], &second["depth"]), (&json!(COMMENT), &json!(2)));
    assert_eq!(second["remote"]["language"], "en");
    assert!(second["remote"]["summary"].is_null(), "{second}");
    assert_eq!(second["remote"]["attachments"], json!([]));

    s.deliver("alice", "mastodon/update_note.json").await;
    let thread = s.thread().await;
    let reply = item(&thread, object_id(&create));
    let content = text(&reply["content"]);
    assert!(content.contains("die zweite Runde folgt im Dezember") && !content.contains("Zweiter Absatz"), "{content}");
    assert_same_instant(&reply["updated"], "2026-11-27T10:00:00Z");
    assert_eq!(reply["remote"]["summary"], "Politics, long thread (edited)");
    assert_eq!(reply["remote"]["attachments"], json!([]));

    s.deliver("alice", "mastodon/delete_note.json").await;
    let thread = s.thread().await;
    assert_deleted(&thread, object_id(&answer));
    assert_eq!(item(&thread, object_id(&create))["status"], "visible");
}

/// Mastodon: favourites of the article and a comment and a boost of the article are counted
/// per account; Undo (with the Like or Announce embedded) takes them back.
async fn mastodon_favourites_and_boosts_are_counted_and_undone(backend: Backend) {
    let Some(s) = Scene::start(backend, &["alice", "bob"], ActorOpts::default()).await else { return };
    for (actor, path) in [
        ("alice", "mastodon/like.json"),
        ("alice", "mastodon/like_comment.json"),
        ("alice", "mastodon/announce.json"),
        ("bob", "mastodon/like.json"),
    ] {
        s.deliver(actor, path).await;
    }
    let thread = s.thread().await;
    assert_eq!(article_reactions(&thread), (2, 1));
    assert_eq!(reactions(&thread, &s.comment), (1, 0));

    s.deliver("alice", "mastodon/undo_like.json").await;
    s.deliver("alice", "mastodon/undo_announce.json").await;
    let thread = s.thread().await;
    assert_eq!(article_reactions(&thread), (1, 0), "bob's favourite is left");
    assert_eq!(reactions(&thread, &s.comment), (1, 0));
}

// ---------------------------------------------------------------------------------------------
// Misskey and Sharkey
// ---------------------------------------------------------------------------------------------

/// Misskey: a reply with MFM source (`_misskey_content`, `source`), a quote of a site comment
/// (`_misskey_quote`, `quoteUrl`, and the "RE:" link), a custom emoji, a content warning and a
/// file with a caption; reactions (`Like` with `_misskey_reaction`, custom and Unicode) and a
/// renote counted and undone; a Delete of a Tombstone. Sharkey: a reply to the comment, edited.
async fn misskey_and_sharkey_notes_reactions_and_renotes(backend: Backend) {
    let Some(s) = Scene::start(backend, &["mikan", "shiro"], ActorOpts::default()).await else { return };
    let create = s.deliver("mikan", "misskey/create_note_reply.json").await;
    let thread = s.thread().await;
    let reply = item(&thread, object_id(&create));
    assert_eq!((&reply["parent"], &reply["depth"], &reply["status"]), (&Value::Null, &json!(1), &json!("visible")));
    assert_author(&s, reply, "mikan");
    let content = text(&reply["content"]);
    assert!(content.contains("交渉の再開、注目しています :blobcat_thinking:"), "{content}");
    assert_link_kept(content, SITE_URL);
    assert_link_kept(content, &format!("{}/tags/peacetalks", s.peer.base));
    assert_link_kept(content, &s.comment);
    assert_harmless(content);
    let remote = &reply["remote"];
    assert_eq!(remote["summary"], "条約の話 (treaty talk)");
    assert!(remote["language"].is_null(), "Misskey names no language: {remote}");
    assert!(remote["url"].is_null(), "{remote}");
    assert_eq!(
        remote["attachments"],
        json!([{
            "url": format!("{}/files/webpublic-0c8f3e1a-4b2d-4f7e-9a61-2d5c7b9e8f10", s.peer.base),
            "media_type": "image/webp",
            "name": "交渉会場の写真 (photo of the venue)",
        }])
    );
    assert_same_instant(&reply["published"], "2026-11-27T09:14:03.512Z");

    s.deliver("mikan", "misskey/like_reaction.json").await;
    s.deliver("mikan", "misskey/like_unicode_comment.json").await;
    s.deliver("mikan", "misskey/announce_renote.json").await;
    let thread = s.thread().await;
    assert_eq!(article_reactions(&thread), (1, 1));
    assert_eq!(reactions(&thread, &s.comment), (1, 0));
    s.deliver("mikan", "misskey/undo_like.json").await;
    s.deliver("mikan", "misskey/undo_announce.json").await;
    let thread = s.thread().await;
    assert_eq!(article_reactions(&thread), (0, 0));
    assert_eq!(reactions(&thread, &s.comment), (1, 0));

    let answer = s.deliver("shiro", "sharkey/create_note_reply.json").await;
    s.deliver("shiro", "sharkey/update_note.json").await;
    let thread = s.thread().await;
    let edited = item(&thread, object_id(&answer));
    assert_eq!((&edited["parent"], &edited["depth"]), (&json!(COMMENT), &json!(2)));
    assert!(text(&edited["content"]).contains("procedure and <b>venues</b>."), "{edited}");
    assert_same_instant(&edited["updated"], "2026-11-27T10:10:00.000Z");

    s.deliver("mikan", "misskey/delete_note.json").await;
    let thread = s.thread().await;
    assert_deleted(&thread, object_id(&create));
    assert_eq!(item(&thread, object_id(&answer))["status"], "visible");
}

/// Sharkey: a reply to the article quoting a site comment, with MFM source (`_misskey_content`,
/// `source`) and every quote marker (`_misskey_quote`, `quoteUrl`, `quoteUri`, FEP-044f `quote`,
/// a FEP-e232 `Link` tag). The HTML `content` is what is kept, not the MFM; the quote stays what
/// that HTML makes of it, a link to the comment (quotes are kept as HTML: FEDERATION.md); it
/// answers the article, not the comment it quotes, and is no boost of it.
async fn sharkey_quote_of_a_comment_is_kept_as_html(backend: Backend) {
    let Some(s) = Scene::start(backend, &["shiro"], ActorOpts::default()).await else { return };
    let create = s.deliver("shiro", "sharkey/create_note_quote.json").await;
    let thread = s.thread().await;
    assert_eq!(remote_comments(&thread).len(), 1, "{thread:#}");
    let reply = item(&thread, object_id(&create));
    assert_eq!((&reply["parent"], &reply["depth"], &reply["status"]), (&Value::Null, &json!(1), &json!("visible")));
    assert_author(&s, reply, "shiro");
    let content = text(&reply["content"]);
    assert!(content.contains("<b>the second round</b> is where it gets decided"), "the HTML is kept: {content}");
    assert!(!content.contains("**") && !content.contains("$[x2"), "the MFM source is not: {content}");
    assert!(content.contains(&format!("RE: <a href=\"{}\"", s.comment)), "{content}");
    assert_link_kept(content, &s.comment);
    assert_link_kept(content, &format!("{}/tags/treatytalks", s.peer.base));
    assert_harmless(content);
    assert_eq!(reactions(&thread, &s.comment), (0, 0), "a quote is not a boost of the comment");
}

// ---------------------------------------------------------------------------------------------
// Pleroma and Akkoma
// ---------------------------------------------------------------------------------------------

/// Pleroma: a reply to a site comment (content without paragraphs, `summary: ""`, `source` as
/// text, a video whose `url` is a list of Links, an `<object>` that must go), a Like undone by
/// the Like's id, a Delete by the object's id. Akkoma: a reply with an English `contentMap` and
/// a list, `EmojiReact` with a Unicode and a custom emoji.
async fn pleroma_and_akkoma_replies_and_reactions(backend: Backend) {
    let Some(s) = Scene::start(backend, &["lain", "akko"], ActorOpts::default()).await else { return };
    let answer = s.deliver("lain", "pleroma/create_note_reply_to_comment.json").await;
    let create = s.deliver("akko", "akkoma/create_note_reply.json").await;
    let thread = s.thread().await;

    let reply = item(&thread, object_id(&answer));
    assert_eq!((&reply["parent"], &reply["depth"]), (&json!(COMMENT), &json!(2)));
    assert_author(&s, reply, "lain");
    let content = text(&reply["content"]);
    assert!(content.contains("the briefing clip, for reference"), "{content}");
    assert_link_kept(content, SITE_URL);
    assert_link_kept(content, &format!("{}/tag/treaty", s.peer.base));
    assert_harmless(content);
    let remote = &reply["remote"];
    assert!(remote["summary"].is_null(), "an empty summary is no content warning: {remote}");
    assert!(remote["language"].is_null(), "{remote}");
    assert_eq!(
        remote["attachments"],
        json!([{ "url": format!("{}/media/4c9e1f7a2b3d/briefing.mp4", s.peer.base), "media_type": "video/mp4" }])
    );

    let akko = item(&thread, object_id(&create));
    assert_eq!((&akko["parent"], &akko["depth"]), (&Value::Null, &json!(1)));
    assert!(text(&akko["content"]).contains("<li>second meeting</li>"), "{akko}");
    assert_eq!(akko["remote"]["language"], "en");
    assert!(akko["remote"]["summary"].is_null());

    s.deliver("akko", "akkoma/emoji_react.json").await;
    s.deliver("akko", "akkoma/emoji_react_custom.json").await;
    s.deliver("lain", "pleroma/like.json").await;
    let thread = s.thread().await;
    assert_eq!(article_reactions(&thread), (2, 0));
    assert_eq!(reactions(&thread, &s.comment), (1, 0));

    s.deliver("lain", "pleroma/undo_like.json").await;
    s.deliver("lain", "pleroma/delete.json").await;
    let thread = s.thread().await;
    assert_eq!(article_reactions(&thread), (1, 0));
    assert_deleted(&thread, object_id(&answer));
    assert_eq!(item(&thread, object_id(&create))["status"], "visible");
}

/// Akkoma counts a Like and an emoji reaction as two things: an account that likes a comment
/// and reacts to it, then takes back its Like, still reacts to it.
async fn akkoma_reaction_outlives_an_undone_like(backend: Backend) {
    let Some(s) = Scene::start(backend, &["akko"], ActorOpts::default()).await else { return };
    s.deliver("akko", "akkoma/like.json").await;
    s.deliver("akko", "akkoma/emoji_react.json").await;
    assert_eq!(reactions(&s.thread().await, &s.comment), (1, 0));
    s.deliver("akko", "akkoma/undo_like.json").await;
    assert_eq!(reactions(&s.thread().await, &s.comment), (1, 0), "the 🕊️ reaction is still there");
}

// ---------------------------------------------------------------------------------------------
// GoToSocial
// ---------------------------------------------------------------------------------------------

/// GoToSocial signs with a key served apart (`/main-key`), has no shared inbox (it delivers to
/// the site actor's inbox), sends `to` as a string, one `tag` and one `attachment` as objects,
/// `interactionPolicy`, an empty `summary`; a Like of a comment, a boost undone, an edit that
/// adds a content warning, and a Delete without an id whose object is the status's id.
async fn gotosocial_reply_reactions_edit_and_delete(backend: Backend) {
    let opts = ActorOpts { key_apart: true, ..ActorOpts::personal_inbox_only() };
    let Some(s) = Scene::start(backend, &["grace"], opts).await else { return };
    let inbox = "/users/site/inbox";
    let create = s.deliver_with("grace", inbox, "gotosocial/create_note_reply.json", &[]).await;
    let thread = s.thread().await;
    let reply = item(&thread, object_id(&create));
    assert_eq!((&reply["parent"], &reply["depth"], &reply["status"]), (&Value::Null, &json!(1), &json!("visible")));
    assert_author(&s, reply, "grace");
    let content = text(&reply["content"]);
    assert!(content.contains("here is the map everyone keeps asking for."), "{content}");
    assert_link_kept(content, SITE_URL);
    assert_link_kept(content, &format!("{}/tags/islands", s.peer.base));
    assert_harmless(content);
    let remote = &reply["remote"];
    assert!(remote["summary"].is_null(), "{remote}");
    assert_eq!(remote["language"], "en");
    assert_eq!(remote["sensitive"], false, "{remote}");
    assert_eq!(remote["url"], format!("{}/@grace/statuses/01JDQ7ZK3M4N5P6Q7R8S9T0V1W", s.peer.base));
    let attachment = &remote["attachments"][0];
    assert_eq!(
        attachment["url"],
        format!(
            "{}/fileserver/01JDQ6V2XK9B3C4D5E6F7G8H9J/attachment/original/01JDQ7YRTW2A3B4C5D6E7F8G9H.jpeg",
            s.peer.base
        )
    );
    assert_eq!(attachment["media_type"], "image/jpeg");

    s.deliver_with("grace", inbox, "gotosocial/like.json", &[]).await;
    s.deliver_with("grace", inbox, "gotosocial/announce.json", &[]).await;
    let thread = s.thread().await;
    assert_eq!(article_reactions(&thread), (0, 1));
    assert_eq!(reactions(&thread, &s.comment), (1, 0));
    s.deliver_with("grace", inbox, "gotosocial/undo_announce.json", &[]).await;
    assert_eq!(article_reactions(&s.thread().await), (0, 0));

    s.deliver_with("grace", inbox, "gotosocial/update_note.json", &[]).await;
    let thread = s.thread().await;
    let reply = item(&thread, object_id(&create));
    assert!(text(&reply["content"]).contains("map removed until I can check its source."), "{reply}");
    assert_eq!(reply["remote"]["summary"], "unverified map");
    assert_eq!(reply["remote"]["attachments"], json!([]));
    assert_same_instant(&reply["updated"], "2026-11-27T10:20:00Z");

    s.deliver_with("grace", inbox, "gotosocial/delete.json", &[]).await;
    assert_deleted(&s.thread().await, object_id(&create));
}

/// GoToSocial puts an attachment's description in `summary` (as Mastodon prefers to read it
/// since 3.2, and plans to send it): it is the alt text.
async fn gotosocial_alt_text_in_summary_is_kept(backend: Backend) {
    let opts = ActorOpts { key_apart: true, ..ActorOpts::personal_inbox_only() };
    let Some(s) = Scene::start(backend, &["grace"], opts).await else { return };
    let create = s.deliver_with("grace", "/users/site/inbox", "gotosocial/create_note_reply.json", &[]).await;
    let thread = s.thread().await;
    let attachment = &item(&thread, object_id(&create))["remote"]["attachments"][0];
    assert_eq!(attachment["name"], "A map of the disputed islands with the proposed line drawn in red", "{attachment}");
}

// ---------------------------------------------------------------------------------------------
// Lemmy and PieFed
// ---------------------------------------------------------------------------------------------

/// Lemmy: a comment (`mediaType: text/html` with markdown `source`, `audience`,
/// `distinguished`, `language` as an object, microsecond times), votes on the article and a
/// comment (a Dislike is no like), an edit and a Delete by id; a Page that only shares the
/// article's link is not a reply. PieFed: a reply to a site comment with `contentMap` and
/// `language`.
async fn lemmy_and_piefed_comments_votes_edit_and_delete(backend: Backend) {
    let Some(s) = Scene::start(backend, &["lemmy_alpha", "lemmy_beta", "rimu"], ActorOpts::default()).await else {
        return;
    };
    let create = s.deliver("lemmy_alpha", "lemmy/create_comment.json").await;
    let piefed = s.deliver("rimu", "piefed/create_comment.json").await;
    let thread = s.thread().await;

    let reply = item(&thread, object_id(&create));
    assert_eq!((&reply["parent"], &reply["depth"], &reply["status"]), (&Value::Null, &json!(1), &json!("visible")));
    assert_author(&s, reply, "lemmy_alpha");
    let content = text(&reply["content"]);
    assert!(content.contains("<blockquote>") && content.contains("the dialogue restarts"), "{content}");
    assert_link_kept(content, "https://example.org/2015/archive");
    assert_link_kept(content, &s.app.site_actor());
    let remote = &reply["remote"];
    assert_eq!(remote["language"], "fr");
    assert!(remote["summary"].is_null() && remote["url"].is_null(), "{remote}");
    assert_same_instant(&reply["published"], "2026-11-27T10:01:17.336402Z");

    let answer = item(&thread, object_id(&piefed));
    assert_eq!((&answer["parent"], &answer["depth"]), (&json!(COMMENT), &json!(2)));
    assert_author(&s, answer, "rimu");
    assert!(text(&answer["content"]).contains("do you have a source for the second meeting?"), "{answer}");
    assert_eq!(answer["remote"]["language"], "en");
    assert_same_instant(&answer["published"], "2026-11-27T10:12:45.201337+00:00");

    s.deliver("lemmy_alpha", "lemmy/like_post.json").await;
    s.deliver("lemmy_alpha", "lemmy/like_comment.json").await;
    s.deliver("lemmy_beta", "lemmy/dislike_comment.json").await;
    let thread = s.thread().await;
    assert_eq!(article_reactions(&thread), (1, 0));
    assert_eq!(reactions(&thread, &s.comment), (1, 0), "a downvote is not a like");

    s.deliver("lemmy_alpha", "lemmy/update_comment.json").await;
    let thread = s.thread().await;
    let reply = item(&thread, object_id(&create));
    assert!(text(&reply["content"]).contains("(and its correction)"), "{reply}");
    assert_same_instant(&reply["updated"], "2026-11-27T10:30:02.118530Z");

    s.deliver("lemmy_alpha", "lemmy/delete_comment.json").await;
    let page = s.deliver("lemmy_alpha", "lemmy/create_page_link.json").await;
    let thread = s.thread().await;
    assert_deleted(&thread, object_id(&create));
    assert_eq!(remote_comments(&thread).len(), 2, "the Page is no reply: {thread:#}");
    assert!(!thread.to_string().contains(object_id(&page)));
}

/// Lemmy's Undo of a vote embeds the vote with a new id: only its actor, object and type are
/// those of the vote it takes back.
async fn lemmy_undo_of_a_vote_takes_it_back(backend: Backend) {
    let Some(s) = Scene::start(backend, &["lemmy_alpha"], ActorOpts::default()).await else { return };
    s.deliver("lemmy_alpha", "lemmy/like_post.json").await;
    assert_eq!(article_reactions(&s.thread().await), (1, 0));
    s.deliver("lemmy_alpha", "lemmy/undo_like_post.json").await;
    assert_eq!(article_reactions(&s.thread().await), (0, 0), "the vote on the article was undone");
}

/// Lemmy keeps one vote per person: turning an upvote into a downvote sends only the Dislike,
/// which replaces the Like.
async fn lemmy_dislike_replaces_a_like(backend: Backend) {
    let Some(s) = Scene::start(backend, &["lemmy_alpha"], ActorOpts::default()).await else { return };
    s.deliver("lemmy_alpha", "lemmy/like_comment.json").await;
    assert_eq!(reactions(&s.thread().await, &s.comment), (1, 0));
    s.deliver("lemmy_alpha", "lemmy/dislike_comment.json").await;
    assert_eq!(reactions(&s.thread().await, &s.comment), (0, 0), "the upvote became a downvote");
}

/// Lemmy and PieFed communities (`Group`s on another server) relay their members' activities in
/// an `Announce` (FEP-1b12). A relayed Create is stored as the member's reply, read from the
/// member's server (what the community embeds is not used: here it was altered on the way); a
/// relayed Update edits it the same way. Relayed votes and Deletes are ignored: the community
/// cannot vouch for them. PieFed's Announce of a reply to a site comment places it there.
async fn community_announces_store_the_members_replies(backend: Backend) {
    let Some(s) = Scene::start(backend, &["lemmy_gamma", "rimu"], ActorOpts::default()).await else { return };
    let community = community_server().await;
    let mut announce = s.relayed(&community, "lemmy_gamma", "lemmy/announce_create_comment.json");
    let post = relayed_post(&announce);
    s.peer.serve(post.clone());
    announce["object"]["object"]["content"] = json!("<p>Words the community put in its member's mouth.</p>");
    s.send(&community, GROUP, "/inbox", &announce).await;

    let thread = s.thread().await;
    assert_eq!(remote_comments(&thread).len(), 1, "{thread:#}");
    assert_eq!(article_reactions(&thread), (0, 0), "a relayed post is no boost of the article");
    let reply = item(&thread, text(&post["id"]));
    assert_eq!((&reply["parent"], &reply["depth"], &reply["status"]), (&Value::Null, &json!(1), &json!("visible")));
    assert_author(&s, reply, "lemmy_gamma");
    let content = text(&reply["content"]);
    assert!(
        content.contains("The <strong>monitoring commission</strong> is the part nobody talks about."),
        "{content}"
    );
    assert!(!content.contains("Words the community"), "the community's copy was used: {content}");
    assert_link_kept(content, "https://example.org/2015/commission");
    assert_eq!(reply["remote"]["language"], "en");
    assert_same_instant(&reply["published"], "2026-11-27T11:20:44.902311Z");

    let update = s.relayed(&community, "lemmy_gamma", "lemmy/announce_update_comment.json");
    s.peer.serve(relayed_post(&update));
    s.send(&community, GROUP, "/inbox", &update).await;
    let vote = s.relayed(&community, "lemmy_gamma", "lemmy/announce_like_post.json");
    s.send(&community, GROUP, "/inbox", &vote).await;
    let delete = s.relayed(&community, "lemmy_gamma", "lemmy/announce_delete_comment.json");
    s.send(&community, GROUP, "/inbox", &delete).await;
    let thread = s.thread().await;
    let reply = item(&thread, text(&post["id"]));
    assert!(text(&reply["content"]).contains("(it never met)"), "the relayed edit is applied: {reply}");
    assert_same_instant(&reply["updated"], "2026-11-27T11:48:02.774019Z");
    assert_eq!(reply["status"], "visible", "a Delete relayed by the community is not applied");
    assert_eq!(article_reactions(&thread), (0, 0), "a vote relayed by the community is not counted");

    let piefed = s.relayed(&community, "rimu", "piefed/announce_create_comment.json");
    let piefed_post = relayed_post(&piefed);
    s.peer.serve(piefed_post.clone());
    s.send(&community, GROUP, "/inbox", &piefed).await;
    let thread = s.thread().await;
    let answer = item(&thread, text(&piefed_post["id"]));
    assert_eq!((&answer["parent"], &answer["depth"]), (&json!(COMMENT), &json!(2)));
    assert_author(&s, answer, "rimu");
    assert!(text(&answer["content"]).contains("The <em>venue</em> question was settled"), "{answer}");
    assert_eq!(answer["remote"]["language"], "en");
}

/// A community's Announce stores nothing when the member's server does not serve the post it
/// names (the community's copy alone is not believed), nor when the post is a Lemmy `Page`, a
/// new post of the community rather than a reply to us.
async fn community_announces_that_store_nothing(backend: Backend) {
    let Some(s) = Scene::start(backend, &["lemmy_gamma"], ActorOpts::default()).await else { return };
    let community = community_server().await;
    let unserved = s.relayed(&community, "lemmy_gamma", "lemmy/announce_create_comment.json");
    s.send(&community, GROUP, "/inbox", &unserved).await;
    let page = s.relayed(&community, "lemmy_gamma", "lemmy/announce_create_page.json");
    s.peer.serve(relayed_post(&page));
    s.send(&community, GROUP, "/inbox", &page).await;

    let thread = s.thread().await;
    assert!(remote_comments(&thread).is_empty(), "{thread:#}");
    assert_eq!(article_reactions(&thread), (0, 0));
    assert!(!thread.to_string().contains(text(&relayed_post(&page)["id"])));
}

// ---------------------------------------------------------------------------------------------
// PeerTube
// ---------------------------------------------------------------------------------------------

/// PeerTube: a comment (its text as written, `mediaType: text/markdown`, a Mention tag, `url`,
/// `replyApproval`, an LD signature) is shown as paragraphs of text, anything like markup in it
/// escaped; a Delete by id removes it. A Video, even one that links the article, is no reply:
/// nothing is stored for it.
async fn peertube_comment_as_text_and_a_video_ignored(backend: Backend) {
    let Some(s) = Scene::start(backend, &["camille"], ActorOpts::default()).await else { return };
    let create = s.deliver("camille", "peertube/create_comment.json").await;
    let video = s.deliver("camille", "peertube/create_video.json").await;
    let thread = s.thread().await;
    assert_eq!(remote_comments(&thread).len(), 1, "the Video is no reply: {thread:#}");
    assert!(!thread.to_string().contains(&format!("{}\"", object_id(&video))), "{thread:#}");

    let reply = item(&thread, object_id(&create));
    assert_eq!((&reply["parent"], &reply["depth"], &reply["status"]), (&Value::Null, &json!(1), &json!("visible")));
    assert_author(&s, reply, "camille");
    let site = format!("@site@{}", s.app.address.trim_start_matches("http://"));
    assert_eq!(
        text(&reply["content"]),
        format!(
            "<p>{site} Merci pour le résumé.<br>Une question : le deuxième tour sera-t-il &lt;public&gt; ?</p>\
             <p>La conférence de presse en vidéo : https://example.org/press-conference</p>"
        )
    );
    let remote = &reply["remote"];
    assert_eq!(remote["url"], object_id(&create));
    assert!(remote["summary"].is_null() && remote["language"].is_null(), "{remote}");
    assert_eq!(remote["attachments"], json!([]));
    assert_same_instant(&reply["published"], "2026-11-27T11:02:40.118Z");

    s.deliver("camille", "peertube/delete_comment.json").await;
    assert_deleted(&s.thread().await, object_id(&create));
}

// ---------------------------------------------------------------------------------------------
// Hubzilla (and its Zot relatives)
// ---------------------------------------------------------------------------------------------

/// Hubzilla: a reply with `diaspora:guid`, `commentPolicy`, `replyTo`, an `actor` inside the
/// Note, BBCode `source`, `context` and `conversation`, `url` as a list of alternate Links (its
/// clones), an inline image (removed; the attachment stays a link) and an LD signature; then an
/// Update and a Delete that embeds the post.
async fn hubzilla_reply_update_and_delete(backend: Backend) {
    let Some(s) = Scene::start(backend, &["nora"], ActorOpts::default()).await else { return };
    let create = s.deliver("nora", "hubzilla/create_note_reply.json").await;
    let thread = s.thread().await;
    let reply = item(&thread, object_id(&create));
    assert_eq!((&reply["parent"], &reply["depth"], &reply["status"]), (&Value::Null, &json!(1), &json!("visible")));
    assert_author(&s, reply, "nora");
    let content = text(&reply["content"]);
    assert!(
        content.contains("Ein guter Überblick.") && content.contains("<strong>Offene Frage:</strong>"),
        "{content}"
    );
    assert_link_kept(content, SITE_URL);
    assert_link_kept(content, "https://example.org/2015-treaty-text");
    assert_link_kept(content, &format!("{}/search?tag=Abkommen", s.peer.base));
    assert_harmless(content);
    let remote = &reply["remote"];
    assert_eq!(remote["url"], object_id(&create), "the first alternate link, its home");
    assert!(remote["summary"].is_null() && remote["language"].is_null(), "{remote}");
    assert_eq!(
        remote["attachments"],
        json!([{
            "url": format!("{}/photo/9c2e4a7f0b3d-2.jpg", s.peer.base),
            "media_type": "image/jpeg",
            "name": "Unterzeichnung 2015 in Genf",
        }])
    );
    assert_same_instant(&reply["published"], "2026-11-27T11:15:02Z");

    // Hubzilla sends an edit under the id of the Create it edits: an Update is not taken as seen
    // by its id (its newer `updated` decides), so the edit applies.
    s.deliver("nora", "hubzilla/update_note.json").await;
    let thread = s.thread().await;
    let reply = item(&thread, object_id(&create));
    assert!(text(&reply["content"]).contains("Nachtrag"), "{reply}");
    assert_same_instant(&reply["updated"], "2026-11-27T11:40:27Z");

    s.deliver("nora", "hubzilla/delete_note.json").await;
    assert_deleted(&s.thread().await, object_id(&create));
}

// ---------------------------------------------------------------------------------------------
// Friendica
// ---------------------------------------------------------------------------------------------

/// Friendica: a reply whose `content` and German `contentMap` differ (the content is kept, the
/// language read from the map), with `diaspora:guid`, `diaspora:comment`, BBCode `source`, an
/// inline image (removed; the attachment stays a link) and an LD signature; a Like of a comment
/// undone, a share of the article, an Update with `updated`, a Delete of a Tombstone.
async fn friendica_reply_likes_shares_edit_and_delete(backend: Backend) {
    let Some(s) = Scene::start(backend, &["ulrike"], ActorOpts::default()).await else { return };
    let create = s.deliver("ulrike", "friendica/create_note_reply.json").await;
    let thread = s.thread().await;
    let reply = item(&thread, object_id(&create));
    assert_eq!((&reply["parent"], &reply["depth"], &reply["status"]), (&Value::Null, &json!(1), &json!("visible")));
    assert_author(&s, reply, "ulrike");
    let content = text(&reply["content"]);
    assert!(content.contains("Danke für die Zusammenfassung.") && content.contains("Friedensvertrag"), "{content}");
    assert_link_kept(content, SITE_URL);
    assert_link_kept(content, "https://example.org/treaty-faq");
    assert_link_kept(content, &format!("{}/search?tag=Friedensvertrag", s.peer.base));
    assert_harmless(content);
    let remote = &reply["remote"];
    assert_eq!(remote["language"], "de");
    assert!(remote["summary"].is_null(), "{remote}");
    assert_eq!(remote["url"], format!("{}/display/7a3c91e4-1669-d2f5-0b8e-3f21c6d74a90", s.peer.base));
    assert_eq!(
        remote["attachments"],
        json!([{
            "url": format!("{}/photo/4d2e8f61a7c3b905-1.jpg", s.peer.base),
            "media_type": "image/jpeg",
            "name": "Karte der Inseln",
        }])
    );

    s.deliver("ulrike", "friendica/like.json").await;
    s.deliver("ulrike", "friendica/announce.json").await;
    let thread = s.thread().await;
    assert_eq!(article_reactions(&thread), (0, 1));
    assert_eq!(reactions(&thread, &s.comment), (1, 0));
    s.deliver("ulrike", "friendica/undo_like.json").await;
    assert_eq!(reactions(&s.thread().await, &s.comment), (0, 0));

    s.deliver("ulrike", "friendica/update_note.json").await;
    let thread = s.thread().await;
    let reply = item(&thread, object_id(&create));
    let content = text(&reply["content"]);
    assert!(content.contains("(Link korrigiert)"), "{content}");
    assert_link_kept(content, "https://example.org/treaty-faq-2");
    assert_same_instant(&reply["updated"], "2026-11-27T10:45:09Z");

    s.deliver("ulrike", "friendica/delete.json").await;
    assert_deleted(&s.thread().await, object_id(&create));
}

// ---------------------------------------------------------------------------------------------
// WordPress (the ActivityPub plugin)
// ---------------------------------------------------------------------------------------------

/// WordPress: an author's Article answering the article (its `name` shown bold, escaped, before
/// the content; headings and captions kept, images removed, the image attachment kept as a
/// link), the blog actor's Announce of that Create (not a boost of ours, nothing stored twice),
/// the author's Update and the blog's Announce of it, and a short post (Note, no title)
/// answering a site comment, then deleted with the post embedded in the Delete.
async fn wordpress_article_reply_with_title_and_blog_announces(backend: Backend) {
    let Some(s) = Scene::start(backend, &["matthias", "blog"], ActorOpts::default()).await else { return };
    let author = [("ACTOR", s.peer.actor_id("matthias")), ("BLOG", s.peer.actor_id("blog"))];
    let create = s.deliver_with("matthias", "/inbox", "wordpress/create_article_reply.json", &author).await;
    s.deliver_with("blog", "/inbox", "wordpress/announce_create.json", &author).await;

    let thread = s.thread().await;
    assert_eq!(remote_comments(&thread).len(), 1, "{thread:#}");
    assert_eq!(article_reactions(&thread), (0, 0), "the blog relays its author's post; it does not boost ours");
    let reply = item(&thread, object_id(&create));
    assert_eq!((&reply["parent"], &reply["depth"], &reply["status"]), (&Value::Null, &json!(1), &json!("visible")));
    assert_author(&s, reply, "matthias");
    let content = text(&reply["content"]);
    assert!(
        content.starts_with("<p><strong>Answering the report: what changed since 2015 &amp; why</strong></p><p>"),
        "the title leads: {content}"
    );
    assert!(content.contains("<h2>What changed</h2>") && content.contains("<figcaption>"), "{content}");
    assert_link_kept(content, &s.article_url);
    assert_link_kept(content, &format!("{}/tag/diplomacy/", s.peer.base));
    assert_harmless(content);
    let remote = &reply["remote"];
    assert_eq!(remote["language"], "en");
    assert_eq!(remote["url"], format!("{}/2026/11/27/answering-the-report/", s.peer.base));
    assert_eq!(
        remote["attachments"],
        json!([{
            "url": format!("{}/wp-content/uploads/2026/11/delegations-1024x683.jpg", s.peer.base),
            "media_type": "image/jpeg",
            "name": "The two delegations shaking hands in Moscow",
        }])
    );

    s.deliver_with("matthias", "/inbox", "wordpress/update_article.json", &author).await;
    s.deliver_with("blog", "/inbox", "wordpress/announce_update.json", &author).await;
    let thread = s.thread().await;
    assert_eq!(remote_comments(&thread).len(), 1);
    assert_eq!(article_reactions(&thread), (0, 0));
    let reply = item(&thread, object_id(&create));
    assert!(text(&reply["content"]).contains("as of this morning."), "{reply}");
    assert_same_instant(&reply["updated"], "2026-11-27T12:30:00Z");

    let note = s.deliver_with("matthias", "/inbox", "wordpress/create_note_reply_to_comment.json", &author).await;
    let thread = s.thread().await;
    let answer = item(&thread, object_id(&note));
    assert_eq!((&answer["parent"], &answer["depth"]), (&json!(COMMENT), &json!(2)));
    assert_eq!(answer["content"], "<p>Maria is right about the second round; I wrote more about it on the blog.</p>");
    s.deliver_with("matthias", "/inbox", "wordpress/delete_note.json", &author).await;
    assert_deleted(&s.thread().await, object_id(&note));
}

/// WordPress: the blog's Announce of its author's Create, when the Create itself never came, stores
/// the post as the author's (not the blog's), read from the blog at the post's id.
async fn wordpress_blog_announce_alone_stores_the_authors_post(backend: Backend) {
    let Some(s) = Scene::start(backend, &["matthias", "blog"], ActorOpts::default()).await else { return };
    let author = [("ACTOR", s.peer.actor_id("matthias")), ("BLOG", s.peer.actor_id("blog"))];
    let announce = fixture("wordpress/announce_create.json", &s.vars_with("blog", &author));
    let post = relayed_post(&announce);
    s.peer.serve(post.clone());
    s.send(&s.peer, "blog", "/inbox", &announce).await;

    let thread = s.thread().await;
    assert_eq!(remote_comments(&thread).len(), 1, "{thread:#}");
    let reply = item(&thread, text(&post["id"]));
    assert_author(&s, reply, "matthias");
    assert!(
        text(&reply["content"])
            .starts_with("<p><strong>Answering the report: what changed since 2015 &amp; why</strong>"),
        "{reply}"
    );
}

/// An Article's `summary` is its excerpt, not a content warning (Mastodon shows none for
/// Articles and Pages); only a `sensitive` one warns.
async fn wordpress_article_excerpt_is_no_content_warning(backend: Backend) {
    let Some(s) = Scene::start(backend, &["matthias", "blog"], ActorOpts::default()).await else { return };
    let author = [("ACTOR", s.peer.actor_id("matthias")), ("BLOG", s.peer.actor_id("blog"))];
    let create = s.deliver_with("matthias", "/inbox", "wordpress/create_article_reply.json", &author).await;
    let thread = s.thread().await;
    let remote = &item(&thread, object_id(&create))["remote"];
    assert!(remote["summary"].is_null(), "the excerpt is shown as a content warning: {remote}");
}

both_backends!(
    mastodon_replies_are_kept_edited_and_deleted,
    mastodon_favourites_and_boosts_are_counted_and_undone,
    misskey_and_sharkey_notes_reactions_and_renotes,
    pleroma_and_akkoma_replies_and_reactions,
    gotosocial_reply_reactions_edit_and_delete,
    lemmy_and_piefed_comments_votes_edit_and_delete,
    friendica_reply_likes_shares_edit_and_delete,
    wordpress_article_reply_with_title_and_blog_announces,
);

both_backends!(
    akkoma_reaction_outlives_an_undone_like,
    gotosocial_alt_text_in_summary_is_kept,
    lemmy_undo_of_a_vote_takes_it_back,
    lemmy_dislike_replaces_a_like,
    wordpress_article_excerpt_is_no_content_warning,
);

both_backends!(
    sharkey_quote_of_a_comment_is_kept_as_html,
    community_announces_store_the_members_replies,
    community_announces_that_store_nothing,
    peertube_comment_as_text_and_a_video_ignored,
    hubzilla_reply_update_and_delete,
    wordpress_blog_announce_alone_stores_the_authors_post,
);
