//! A whole reader discussion, built through the admin API and read back as the site (the admin
//! thread) and as the fediverse (Notes, actors, `replies` and `context` collections) see it.
//!
//! The discussion has the shape of the real one in /work/shared/samples/discussion.json (43
//! comments, nested up to 4 levels, a deleted comment that still has replies, three `Quote:`
//! comments, names with spaces, digits, mixed case and Cyrillic, +03:00 timestamps, siblings
//! published out of key order, two siblings published at the same minute) but its content is
//! our own: readers talking about a town's new tram line.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, FixedOffset, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;

const ARTICLE: &str = "tram-line-12-opens";

/// The day of the discussion; every comment is published at `{DAY}T{time}:00+03:00`.
const DAY: &str = "2024-05-14";

/// The one comment deleted (after its replies exist).
const DELETED: &str = "c02";

/// Every commenter: the site username (also how the site shows them) and the WebFinger-safe
/// username the bridge is expected to give them.
const USERS: &[(&str, &str)] = &[
    ("Maria Petrova", "maria_petrova"),
    ("KRD 4410", "krd_4410"),
    ("Tom tko", "tom_tko"),
    ("Ирина Соколова", "irina_sokolova"),
    ("Old Depot", "old_depot"),
    ("viktor_88", "viktor_88"),
    ("Sam Brook", "sam_brook"),
    ("NightOwl 7", "nightowl_7"),
    ("Lena K", "lena_k"),
    ("River side", "river_side"),
    ("Pavel Orlov", "pavel_orlov"),
    ("bus fan 1990", "bus_fan_1990"),
    ("Green Wave", "green_wave"),
];

/// One comment as the site has it.
struct Row {
    key: &'static str,
    /// The comment it answers; `None` answers the article.
    parent: Option<&'static str>,
    author: &'static str,
    /// `HH:MM` on [`DAY`], Moscow time.
    time: &'static str,
    /// Plain text, as readers type it.
    text: &'static str,
}

const fn row(
    key: &'static str,
    parent: Option<&'static str>,
    author: &'static str,
    time: &'static str,
    text: &'static str,
) -> Row {
    Row { key, parent, author, time, text }
}

/// The discussion, in the order the site stores it (a parent always comes before its replies).
#[rustfmt::skip]
const ROWS: &[Row] = &[
    row("c01", None,        "Maria Petrova",  "08:05", "Rode the new line from the station to the river this morning. Twelve minutes, and the driver waited for a man with a pram."),
    row("c02", Some("c01"), "KRD 4410",       "08:09", "Twelve minutes only if every light is green. I counted four stops where we stood for nothing."),
    row("c03", Some("c02"), "Tom tko",        "08:14", "The lights at the bridge are still on the old timing.\nThe city says tram priority switches on in June."),
    row("c04", Some("c03"), "Maria Petrova",  "08:20", "Quote: Tom tko\nThe lights at the bridge are still on the old timing.\n\nThen twelve minutes will become nine. I can wait until June."),
    row("c05", Some("c03"), "KRD 4410",       "08:17", "June of which year, though?"),
    row("c06", Some("c02"), "Ирина Соколова", "08:12", "I stood at the bridge at eight and the trams did get a green wave. Maybe it was luck."),
    row("c07", Some("c01"), "Old Depot",      "08:30", "My grandfather drove the old line on this same street until 1968. Nice to see rails back."),
    row("c08", Some("c07"), "viktor_88",      "08:41", "Quote: Old Depot\nMy grandfather drove the old line on this same street until 1968.\n\nThere is a photo of that depot in the town museum, second floor."),
    row("c09", None,        "Sam Brook",      "08:06", "How much is a ticket? The operator's page still shows the bus fares."),
    row("c10", None,        "NightOwl 7",     "08:11", "Does it run after midnight? The timetable stops at 23:40."),
    row("c11", Some("c10"), "Lena K",         "08:25", "Weekends until 01:00, from what the driver told me."),
    row("c12", None,        "River side",     "08:11", "Finally something for the east bank. We waited eleven years for this."),
    row("c13", None,        "Pavel Orlov",    "08:15", "The stop at the market is too short for two cars. Half of the second car opens onto the grass."),
    row("c14", Some("c13"), "bus fan 1990",   "08:22", "They are 32-metre cars, the platform was built for the shorter model."),
    row("c15", Some("c14"), "Pavel Orlov",    "08:35", "So who signed off on that?"),
    row("c16", Some("c15"), "bus fan 1990",   "08:52", "Quote: Pavel Orlov\nSo who signed off on that?\n\nThe same office that ordered the cars. The platform gets extended in the autumn."),
    row("c17", None,        "Green Wave",     "08:19", "Quiet, clean and on time 🚋 Best thing the council did in years."),
    row("c18", None,        "Tom tko",        "08:24", "The ticket machines take cards now, no need for coins."),
    row("c19", None,        "Lena K",         "08:23", "Single ticket 1.20, day pass 4.00. Same as the buses."),
    row("c20", Some("c19"), "Ирина Соколова", "08:40", "Transfers to buses & trolleys are free for an hour."),
    row("c21", None,        "KRD 4410",       "08:33", "Parking along the route is gone. Shops will feel it."),
    row("c22", None,        "Sam Brook",      "08:38", "Cheaper than parking at the station anyway."),
    row("c23", None,        "Old Depot",      "08:44", "Who keeps the overhead wires clear in winter? Ice was the reason the old line closed."),
    row("c24", Some("c23"), "Maria Petrova",  "09:02", "They heat the wires at night now, there was a piece about it last week."),
    row("c25", Some("c23"), "NightOwl 7",     "08:58", "The old line closed because buses were cheaper, not because of ice."),
    row("c26", None,        "viktor_88",      "08:47", "My kids took it to school today and came home proud of themselves."),
    row("c27", None,        "River side",     "08:55", "Rails on the bridge are loud. Hope they add the rubber pads."),
    row("c28", None,        "Green Wave",     "09:05", "Two more lines are planned, one to the hospital and one to the airport."),
    row("c29", None,        "Pavel Orlov",    "09:12", "Any word on bikes? The tram has a space but the sign says no bikes at peak."),
    row("c30", Some("c29"), "Lena K",         "09:20", "Peak is 7 to 9 and 16 to 18. Outside of that, bikes are fine."),
    row("c31", Some("c30"), "Tom tko",        "09:31", "Folded bikes are always allowed, it says so at the door."),
    row("c32", None,        "bus fan 1990",   "09:15", "The number 4 bus is cut back to the station from Monday. Check your route."),
    row("c33", None,        "Ирина Соколова", "09:26", "The announcements are in two languages. Nice touch for visitors."),
    row("c34", None,        "Sam Brook",      "09:40", "How is the wheelchair access? My mother uses one."),
    row("c35", Some("c34"), "KRD 4410",       "10:03", "Low floor all the way, and the ramp comes out at the middle door."),
    row("c36", None,        "Maria Petrova",  "09:48", "The first week is free for everyone.\n\nFrom Monday the usual fares apply."),
    row("c37", None,        "NightOwl 7",     "10:10", "Saw a fox crossing the tracks near the depot at dawn."),
    row("c38", Some("c37"), "Old Depot",      "10:21", "He lives there. The depot staff call him the inspector."),
    row("c39", None,        "River side",     "10:35", "Construction took two years but the street looks better than before."),
    row("c40", None,        "viktor_88",      "11:02", "Some trees were cut for the line. The new ones are tiny."),
    row("c41", None,        "Green Wave",     "11:40", "Does anyone know if the museum tram will run on holidays?"),
    row("c42", Some("c41"), "Lena K",         "12:15", "First Sunday of the month, from the old depot, according to the poster."),
    row("c43", None,        "Tom tko",        "13:30", "Rode it again tonight. Empty and fast, just how I like it."),
];

// ----- The table, read independently of the service -----

fn find(key: &str) -> &'static Row {
    ROWS.iter().find(|r| r.key == key).unwrap_or_else(|| panic!("no row {key}"))
}

fn published(row: &Row) -> String {
    format!("{DAY}T{}:00+03:00", row.time)
}

fn instant(row: &Row) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(&published(row)).expect("table timestamp")
}

/// The same instant as the service writes it in ActivityPub (`...Z`, seconds).
fn utc_string(row: &Row) -> String {
    instant(row).with_timezone(&Utc).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn is_deleted(row: &Row) -> bool {
    row.key == DELETED
}

/// Direct replies to `parent` (None: the article), by time; equal times keep the table's
/// (storage) order.
fn children(parent: Option<&str>) -> Vec<&'static Row> {
    let mut kids: Vec<&Row> = ROWS.iter().filter(|r| r.parent == parent).collect();
    kids.sort_by_key(|r| instant(r)); // stable
    kids
}

/// What the fediverse is shown of a thread item: visible ones, and a deleted one only while it
/// still has replies (as a placeholder that keeps them attached).
fn shown(row: &Row) -> bool {
    !is_deleted(row) || !children(Some(row.key)).is_empty()
}

fn shown_children(parent: Option<&str>) -> Vec<&'static Row> {
    children(parent).into_iter().filter(|r| shown(r)).collect()
}

/// The whole thread as readers see it: depth first, siblings by time.
fn thread_order() -> Vec<&'static Row> {
    fn walk(parent: Option<&str>, out: &mut Vec<&'static Row>) {
        for kid in children(parent) {
            out.push(kid);
            walk(Some(kid.key), out);
        }
    }
    let mut out = Vec::new();
    walk(None, &mut out);
    out
}

fn depth(row: &Row) -> usize {
    match row.parent {
        None => 1,
        Some(p) => 1 + depth(find(p)),
    }
}

fn expected_username(author: &str) -> &'static str {
    USERS.iter().find(|(name, _)| *name == author).map(|(_, u)| *u).unwrap_or_else(|| panic!("no user {author}"))
}

/// Quote comments: (key, quoted name, quoted line, the reply under the quote).
fn quotes() -> Vec<(&'static str, &'static str, &'static str, &'static str)> {
    ROWS.iter()
        .filter_map(|r| {
            let rest = r.text.strip_prefix("Quote: ")?;
            let (head, reply) = rest.split_once("\n\n").expect("quote then reply");
            let (name, quoted) = head.split_once('\n').expect("name then quoted line");
            Some((r.key, name, quoted, reply))
        })
        .collect()
}

#[test]
fn the_table_has_the_sample_shape() {
    assert_eq!(ROWS.len(), 43);
    assert_eq!(ROWS.iter().map(|r| r.key).collect::<HashSet<_>>().len(), 43, "keys are unique");
    for (i, r) in ROWS.iter().enumerate() {
        if let Some(p) = r.parent {
            assert!(ROWS[..i].iter().any(|e| e.key == p), "{} comes after its parent", r.key);
        }
        expected_username(r.author);
    }
    assert_eq!(ROWS.iter().map(depth).max(), Some(4));
    assert!(!children(Some(DELETED)).is_empty(), "the deleted comment has replies");
    assert_eq!(quotes().len(), 3);
    assert!(children(None).len() > 20, "the article's replies need two pages");
    assert!(ROWS.iter().any(|r| r.author.chars().any(|c| matches!(c, 'А'..='я'))), "a Cyrillic name");
    assert!(ROWS.iter().any(|r| r.text.contains('🚋')));
    // Siblings published out of key order, and two published at the same time.
    let sibling_keys = |r: &Row| children(r.parent).iter().map(|c| c.key).collect::<Vec<_>>();
    assert!(ROWS.iter().any(|r| sibling_keys(r).windows(2).any(|w| w[0] > w[1])));
    let same_time = |a: &Row, b: &Row| a.key < b.key && a.parent == b.parent && a.time == b.time;
    assert!(ROWS.iter().any(|a| ROWS.iter().any(|b| same_time(a, b))));
}

// ----- Building the thread and reading it back -----

fn comment_body(row: &Row) -> Value {
    let mut body = json!({ "author": { "username": row.author }, "content": row.text, "published": published(row) });
    if let Some(p) = row.parent {
        body["parent"] = json!(p);
    }
    body
}

/// Stores the article and every comment in table order, then deletes [`DELETED`] (whose
/// replies now exist).
async fn build_thread(app: &TestApp) {
    app.put_article(
        ARTICLE,
        &json!({
            "title": "Tram line 12 opens between the station and the river",
            "url": "https://news.example/2024/05/tram-line-12",
            "content": "<p>The first trams of line 12 left the depot at 5:30.</p><p>The line has 14 stops.</p>",
            "summary": "The town's first tram line in fifty years carries its first passengers.",
            "author": { "username": "city desk", "name": "City Desk" },
            "tags": ["transport", "tram"],
            "published": format!("{DAY}T07:30:00+03:00"),
            "language": "en"
        }),
    )
    .await;
    for row in ROWS {
        let (status, body) =
            app.admin_put(&format!("/api/admin/articles/{ARTICLE}/comments/{}", row.key), &comment_body(row)).await;
        assert_eq!(status, StatusCode::CREATED, "PUT {}: {body}", row.key);
        assert_eq!(body["depth"], json!(depth(row)), "depth of {}: {body}", row.key);
    }
    let (status, body) = app.admin_delete(&format!("/api/admin/articles/{ARTICLE}/comments/{DELETED}")).await;
    assert_eq!(status, StatusCode::OK, "DELETE {DELETED}: {body}");
    assert_eq!(body["status"], "deleted", "{body}");
}

fn article_ap_id(app: &TestApp) -> String {
    app.url(&format!("/articles/{ARTICLE}"))
}

fn comment_ap_id(app: &TestApp, key: &str) -> String {
    app.url(&format!("/articles/{ARTICLE}/comments/{key}"))
}

/// The id of what a comment answers.
fn in_reply_to(app: &TestApp, row: &Row) -> String {
    row.parent.map_or_else(|| article_ap_id(app), |p| comment_ap_id(app, p))
}

fn ap_ids(app: &TestApp, rows: &[&Row]) -> Vec<Value> {
    rows.iter().map(|r| json!(comment_ap_id(app, r.key))).collect()
}

fn handle(app: &TestApp, username: &str) -> String {
    let host = app.address.strip_prefix("http://").expect("http address");
    format!("@{username}@{host}")
}

/// The admin thread's comments by key.
fn by_key(thread: &Value) -> BTreeMap<String, Value> {
    thread["comments"]
        .as_array()
        .expect("comments array")
        .iter()
        .map(|c| (c["id"].as_str().expect("comment id").to_string(), c.clone()))
        .collect()
}

fn same_instant(value: &Value, row: &Row) -> bool {
    value.as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok()).is_some_and(|t| t == instant(row))
}

/// Every item of a paged collection, following `first` then `next`, checking each page.
async fn collection_items(app: &TestApp, id: &str, total: usize) -> Vec<Value> {
    let (status, front) = app.ap_get(id).await;
    assert_eq!(status, StatusCode::OK, "{id}: {front}");
    assert_eq!(front["type"], "OrderedCollection", "{front}");
    assert_eq!(front["totalItems"], json!(total), "{id}: {front}");
    let pages = total.div_ceil(20).max(1);
    assert_eq!(front["first"], json!(format!("{id}?page=1")), "{front}");
    assert_eq!(front["last"], json!(format!("{id}?page={pages}")), "{front}");
    let mut items = Vec::new();
    let mut next = Some(format!("{id}?page=1"));
    let mut number = 0;
    while let Some(url) = next {
        number += 1;
        assert!(number <= pages, "{id} has more than {pages} pages");
        let (status, page) = app.ap_get(&url).await;
        assert_eq!(status, StatusCode::OK, "{url}: {page}");
        assert_eq!(page["type"], "OrderedCollectionPage", "{page}");
        assert_eq!(page["id"], json!(url), "{page}");
        assert_eq!(page["partOf"], json!(id), "{page}");
        assert_eq!(page["totalItems"], json!(total), "{url}: {page}");
        let page_items = page["orderedItems"].as_array().expect("orderedItems");
        let expected_len = if number < pages { 20 } else { total - 20 * (pages - 1) };
        assert_eq!(page_items.len(), expected_len, "{url}: {page}");
        if number > 1 {
            assert_eq!(page["prev"], json!(format!("{id}?page={}", number - 1)), "{page}");
        }
        items.extend(page_items.iter().cloned());
        next = page["next"].as_str().map(String::from);
    }
    assert_eq!(number, pages, "{id}: pages followed");
    items
}

// ----- The site's view: the admin thread -----

async fn admin_thread_is_depth_first_with_siblings_by_time(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    build_thread(&app).await;
    let thread = app.thread(ARTICLE).await;
    assert_eq!(thread["article"]["ap_id"], json!(article_ap_id(&app)), "{}", thread["article"]);
    let comments = thread["comments"].as_array().expect("comments");
    assert_eq!(comments.len(), 43);

    let got: Vec<&str> = comments.iter().map(|c| c["id"].as_str().expect("id")).collect();
    let expected: Vec<&str> = thread_order().iter().map(|r| r.key).collect();
    assert_eq!(got, expected, "thread order");

    for c in comments {
        let row = find(c["id"].as_str().expect("id"));
        let key = row.key;
        assert_eq!(c["ap_id"], json!(comment_ap_id(&app, key)), "{c}");
        assert_eq!(c["parent"], json!(row.parent), "parent of {key}");
        assert_eq!(c["depth"], json!(depth(row)), "depth of {key}");
        assert_eq!(c["origin"], "local", "{c}");
        assert!(same_instant(&c["published"], row), "published of {key}: {} vs {}", c["published"], published(row));
        assert_eq!(c["url"], json!(format!("https://news.example/2024/05/tram-line-12#comment-{key}")), "{c}");
        if is_deleted(row) {
            assert_eq!(c["status"], "deleted", "{c}");
            assert!(c["author"].is_null(), "a deleted comment has no author: {c}");
            assert_eq!(c["content"], "", "a deleted comment has no content: {c}");
        } else {
            assert_eq!(c["status"], "visible", "{c}");
            assert!(c["author"].is_object(), "{c}");
            assert!(
                c["content"].as_str().is_some_and(|s| s.starts_with("<p>") || s.starts_with("<blockquote>")),
                "{c}"
            );
        }
    }
    let depths: Vec<u64> = comments.iter().map(|c| c["depth"].as_u64().expect("depth")).collect();
    assert!(depths.iter().all(|d| (1..=4).contains(d)), "{depths:?}");
    assert_eq!(depths.iter().max(), Some(&4));
}

async fn admin_thread_renders_plain_text_quotes_and_unicode(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    build_thread(&app).await;
    let comments = by_key(&app.thread(ARTICLE).await);
    let content = |key: &str| comments[key]["content"].as_str().expect("content").to_string();

    for (key, name, quoted, reply) in quotes() {
        let html = content(key);
        assert!(html.contains("<blockquote>"), "{key}: {html}");
        assert!(html.contains(&format!("<cite>{name}</cite> wrote:")), "{key}: {html}");
        assert!(
            html.contains(&format!("<blockquote><p><cite>{name}</cite> wrote:</p><p>{quoted}</p></blockquote>")),
            "{key}: the quoted line sits inside the blockquote: {html}"
        );
        assert!(html.ends_with(&format!("</blockquote><p>{reply}</p>")), "{key}: the reply follows the quote: {html}");
    }
    let quoting: HashSet<&str> = quotes().iter().map(|q| q.0).collect();
    for (key, c) in &comments {
        if !quoting.contains(key.as_str()) {
            assert!(!c["content"].as_str().unwrap_or_default().contains("<blockquote>"), "{key} quotes nobody: {c}");
        }
    }
    // A single line break, paragraphs, escaping, an emoji.
    assert_eq!(
        content("c03"),
        "<p>The lights at the bridge are still on the old timing.<br>The city says tram priority switches on in June.</p>"
    );
    assert_eq!(content("c36"), "<p>The first week is free for everyone.</p><p>From Monday the usual fares apply.</p>");
    assert_eq!(content("c20"), "<p>Transfers to buses &amp; trolleys are free for an hour.</p>");
    assert_eq!(content("c17"), "<p>Quiet, clean and on time 🚋 Best thing the council did in years.</p>");
}

async fn admin_thread_authors_keep_their_names_and_get_stable_handles(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    build_thread(&app).await;
    let comments = by_key(&app.thread(ARTICLE).await);

    let mut handle_of: BTreeMap<&str, String> = BTreeMap::new();
    for row in ROWS.iter().filter(|r| !is_deleted(r)) {
        let author = &comments[row.key]["author"];
        let username = expected_username(row.author);
        assert_eq!(author["name"], json!(row.author), "{}: the name is kept as the site shows it", row.key);
        assert_eq!(author["username"], json!(row.author), "{}: {author}", row.key);
        assert_eq!(author["handle"], json!(handle(&app, username)), "{}: {author}", row.key);
        assert_eq!(author["url"], json!(app.url(&format!("/users/{username}"))), "{}: {author}", row.key);
        let h = author["handle"].as_str().expect("handle").to_string();
        let local = h.trim_start_matches('@').split('@').next().expect("local part");
        assert!(
            local.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') && local.len() <= 30,
            "{h} is WebFinger-safe"
        );
        // The same site username always gives the same handle.
        if let Some(before) = handle_of.insert(row.author, h.clone()) {
            assert_eq!(before, h, "{} got two handles", row.author);
        }
    }
    assert_eq!(handle_of.len(), USERS.len(), "every commenter wrote a visible comment");
    let distinct: HashSet<&String> = handle_of.values().collect();
    assert_eq!(distinct.len(), USERS.len(), "different commenters get different handles: {handle_of:?}");
}

// ----- The fediverse's view -----

async fn comments_federate_as_notes_in_reply_to_their_parents(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    build_thread(&app).await;
    let comments = by_key(&app.thread(ARTICLE).await);

    for row in ROWS.iter().filter(|r| !is_deleted(r)) {
        let id = comment_ap_id(&app, row.key);
        assert_eq!(comments[row.key]["ap_id"], json!(id));
        let (status, note) = app.ap_get(&id).await;
        assert_eq!(status, StatusCode::OK, "{id}: {note}");
        assert_eq!(note["type"], "Note", "{note}");
        assert_eq!(note["id"], json!(id), "{note}");
        assert_eq!(note["inReplyTo"], json!(in_reply_to(&app, row)), "{}: {note}", row.key);
        assert_eq!(
            note["attributedTo"],
            json!(app.url(&format!("/users/{}", expected_username(row.author)))),
            "{note}"
        );
        assert_eq!(note["attributedTo"], comments[row.key]["author"]["url"], "{note}");
        assert_eq!(note["content"], comments[row.key]["content"], "{note}");
        assert_eq!(note["contentMap"]["en"], note["content"], "{note}");
        assert_eq!(note["published"], json!(utc_string(row)), "{note}");
        assert!(note.get("updated").is_none(), "never edited: {note}");
        assert_eq!(note["context"], json!(format!("{}/context", article_ap_id(&app))), "{note}");
        // Its first page of replies: its direct replies, by time.
        let replies = &note["replies"];
        assert_eq!(replies["id"], json!(format!("{id}/replies")), "{note}");
        assert_eq!(
            replies["first"]["orderedItems"],
            json!(ap_ids(&app, &shown_children(Some(row.key)))),
            "replies of {}",
            row.key
        );
    }

    // The comment with replies of its own and a deleted reply among them.
    let c01 = comment_ap_id(&app, "c01");
    let (_, note) = app.ap_get(&c01).await;
    assert_eq!(
        note["replies"]["first"]["orderedItems"],
        json!([comment_ap_id(&app, DELETED), comment_ap_id(&app, "c07")]),
        "{note}"
    );

    // Every commenter is a Person with their own name and a key.
    for (name, username) in USERS {
        let actor_id = app.url(&format!("/users/{username}"));
        let (status, person) = app.ap_get(&actor_id).await;
        assert_eq!(status, StatusCode::OK, "{actor_id}: {person}");
        assert_eq!(person["type"], "Person", "{person}");
        assert_eq!(person["id"], json!(actor_id), "{person}");
        assert_eq!(person["name"], json!(name), "{person}");
        assert_eq!(person["preferredUsername"], json!(username), "{person}");
        assert_eq!(person["publicKey"]["owner"], json!(actor_id), "{person}");
        assert_eq!(person["publicKey"]["id"], json!(format!("{actor_id}#main-key")), "{person}");
        assert!(
            person["publicKey"]["publicKeyPem"].as_str().is_some_and(|p| p.contains("BEGIN PUBLIC KEY")),
            "{person}"
        );
    }
}

async fn deleted_comment_is_a_tombstone_that_keeps_its_replies(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    build_thread(&app).await;
    let deleted = find(DELETED);
    let id = comment_ap_id(&app, DELETED);

    let (status, tombstone) = app.ap_get(&id).await;
    assert_eq!(status, StatusCode::GONE, "{id}: {tombstone}");
    assert_eq!(tombstone["type"], "Tombstone", "{tombstone}");
    assert_eq!(tombstone["id"], json!(id), "{tombstone}");
    assert_eq!(tombstone["formerType"], "Note", "{tombstone}");
    assert_eq!(tombstone["inReplyTo"], json!(in_reply_to(&app, deleted)), "{tombstone}");
    assert_eq!(tombstone["context"], json!(format!("{}/context", article_ap_id(&app))), "{tombstone}");
    // When it was deleted, as a timestamp.
    assert!(tombstone["deleted"].is_string(), "{tombstone}");
    assert!(tombstone.get("content").is_none() && tombstone.get("attributedTo").is_none(), "{tombstone}");

    // Its replies are still there, and still answer it.
    let kids = children(Some(DELETED));
    assert_eq!(kids.iter().map(|r| r.key).collect::<Vec<_>>(), ["c06", "c03"], "c06 was published first");
    for kid in &kids {
        let (status, note) = app.ap_get(&comment_ap_id(&app, kid.key)).await;
        assert_eq!(status, StatusCode::OK, "{}: {note}", kid.key);
        assert_eq!(note["type"], "Note", "{note}");
        assert_eq!(note["inReplyTo"], json!(id), "{note}");
    }
    let replies_id = format!("{id}/replies");
    assert_eq!(tombstone["replies"], json!(replies_id), "{tombstone}");
    let items = collection_items(&app, &replies_id, kids.len()).await;
    assert_eq!(items, ap_ids(&app, &kids));
}

async fn article_replies_list_the_top_level_comments_in_order(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    build_thread(&app).await;
    let top = shown_children(None);
    assert_eq!(top.len(), 24);
    let article = article_ap_id(&app);

    let replies_id = format!("{article}/replies");
    let items = collection_items(&app, &replies_id, top.len()).await;
    assert_eq!(items, ap_ids(&app, &top));

    // The article embeds the first page, with a link to the second.
    let (status, note) = app.ap_get(&article).await;
    assert_eq!(status, StatusCode::OK, "{note}");
    let first = &note["replies"]["first"];
    assert_eq!(note["replies"]["id"], json!(replies_id), "{note}");
    assert_eq!(first["orderedItems"], json!(ap_ids(&app, &top[..20])), "{note}");
    assert_eq!(first["next"], json!(format!("{replies_id}?page=2")), "{note}");
    assert_eq!(note["context"], json!(format!("{article}/context")), "{note}");
}

async fn context_lists_the_article_then_the_thread_in_order(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    build_thread(&app).await;
    let article = article_ap_id(&app);
    let mut expected = vec![json!(article)];
    expected.extend(ap_ids(&app, &thread_order().into_iter().filter(|r| shown(r)).collect::<Vec<_>>()));
    assert_eq!(expected.len(), 44, "the article, 42 visible comments and the deleted placeholder");

    let context_id = format!("{article}/context");
    let items = collection_items(&app, &context_id, expected.len()).await;
    assert_eq!(items, expected);
    assert!(items.contains(&json!(comment_ap_id(&app, DELETED))), "the placeholder keeps its replies in place");
}

// ----- Re-sending a comment -----

async fn re_put_comment_is_idempotent_and_an_edit_sets_updated(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    build_thread(&app).await;
    let row = find("c18");
    let path = format!("/api/admin/articles/{ARTICLE}/comments/{}", row.key);
    let id = comment_ap_id(&app, row.key);
    let thread_before = app.thread(ARTICLE).await;
    let (_, note_before) = app.ap_get(&id).await;

    // The same comment again: nothing changes.
    let (status, body) = app.admin_put(&path, &comment_body(row)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["updated"].is_null(), "{body}");
    let mut without_time = comment_body(row);
    without_time.as_object_mut().expect("object").remove("published");
    let (status, body) = app.admin_put(&path, &without_time).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["updated"].is_null(), "{body}");
    assert_eq!(app.thread(ARTICLE).await, thread_before, "a same-content PUT changes nothing");
    let (status, note) = app.ap_get(&id).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(note, note_before, "a same-content PUT changes nothing");

    // An edit: same place in the thread, new content, `updated` set.
    let mut edited = comment_body(row);
    edited["content"] = json!("The ticket machines take cards and phones now, no need for coins.");
    let (status, body) = app.admin_put(&path, &edited).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["updated"].is_string(), "{body}");
    let (status, note) = app.ap_get(&id).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(note["content"], "<p>The ticket machines take cards and phones now, no need for coins.</p>", "{note}");
    assert_eq!(note["published"], json!(utc_string(row)), "{note}");
    let updated = note["updated"].as_str().expect("an edited Note has `updated`");
    let updated = DateTime::parse_from_rfc3339(updated).expect("updated is a timestamp");
    assert!(updated > instant(row), "{note}");

    let thread_after = app.thread(ARTICLE).await;
    let order =
        |t: &Value| t["comments"].as_array().expect("comments").iter().map(|c| c["id"].clone()).collect::<Vec<_>>();
    assert_eq!(order(&thread_after), order(&thread_before), "an edit does not move a comment");
    let (before, after) = (by_key(&thread_before), by_key(&thread_after));
    for (key, c) in &after {
        if key != row.key {
            assert_eq!(c, &before[key], "{key} is untouched by the edit of {}", row.key);
        }
    }
    assert!(after[row.key]["updated"].is_string(), "{}", after[row.key]);
}

both_backends!(
    admin_thread_is_depth_first_with_siblings_by_time,
    admin_thread_renders_plain_text_quotes_and_unicode,
    admin_thread_authors_keep_their_names_and_get_stable_handles,
    comments_federate_as_notes_in_reply_to_their_parents,
    deleted_comment_is_a_tombstone_that_keeps_its_replies,
    article_replies_list_the_top_level_comments_in_order,
    context_lists_the_article_then_the_thread_in_order,
    re_put_comment_is_idempotent_and_an_edit_sets_updated,
);
