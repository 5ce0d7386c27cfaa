//! Upgrading: a database filled by an earlier release takes the later migrations and keeps
//! what it held. Migrations that rebuild a table (SQLite cannot change a CHECK constraint in
//! place) are where rows could be lost or refused.

use std::path::Path;

use reqwest::StatusCode;
use sqlx::migrate::Migrator;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use crate::helpers::*;

/// The schema as the release before following shipped it (migrations 1 to 3), with the outbox
/// holding an Accept and its delivery, as any site that was followed has.
async fn older_sqlite_with_an_outbox(file: &Path) {
    let mut conn = SqliteConnectOptions::new()
        .filename(file)
        .create_if_missing(true)
        .foreign_keys(true)
        .connect()
        .await
        .expect("sqlite");
    let mut migrator =
        Migrator::new(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))).await.expect("migrations");
    migrator.migrations = migrator.migrations.iter().filter(|m| m.version <= 3).cloned().collect::<Vec<_>>().into();
    migrator.run(&mut conn).await.expect("migrations 1 to 3");
    let now = "2026-11-01T10:00:00Z";
    sqlx::query("INSERT INTO actors (id, username, kind, display_name, created_at) VALUES (1, 'site', 'site', 'Military Review', $1)")
        .bind(now)
        .execute(&mut conn)
        .await
        .expect("site actor");
    sqlx::query(
        "INSERT INTO activities (id, uuid, kind, actor_id, payload, fanned_out_at, created_at) \
         VALUES (7, 'a-7', 'Accept', 1, '{\"type\":\"Accept\"}', $1, $1)",
    )
    .bind(now)
    .execute(&mut conn)
    .await
    .expect("an Accept");
    sqlx::query(
        "INSERT INTO deliveries (activity_id, inbox, host, state, attempts, next_attempt_at, created_at, updated_at) \
         VALUES (7, 'https://mastodon.example/inbox', 'mastodon.example', 'done', 1, 0, $1, $1)",
    )
    .bind(now)
    .execute(&mut conn)
    .await
    .expect("its delivery");
    // A discussion with a deleted comment whose reply keeps it in the thread as a placeholder.
    sqlx::query(
        "INSERT INTO articles (id, key, title, url, content, author_id, published, created_at) \
         VALUES (1, 'tram', 'The tram line', 'https://news.example/tram', '<p>Works start in May.</p>', 1, $1, $1)",
    )
    .bind(now)
    .execute(&mut conn)
    .await
    .expect("an article");
    sqlx::query(
        "INSERT INTO actors (id, username, kind, site_username, display_name, created_at) \
         VALUES (2, 'anna', 'person', 'anna', 'Anna', $1)",
    )
    .bind(now)
    .execute(&mut conn)
    .await
    .expect("a commenter");
    for (id, key, parent, status, content) in [
        (1, "c1", None, "deleted", ""),
        (2, "c2", Some(1), "visible", "<p>Still glad it is coming.</p>"),
        (3, "c3", None, "deleted", ""),
    ] {
        sqlx::query(
            "INSERT INTO comments (id, article_id, key, parent_id, origin, status, author_id, content, published, \
             created_at) VALUES ($1, 1, $2, $3, 'local', $4, 2, $5, $6, $6)",
        )
        .bind(id)
        .bind(key)
        .bind(parent)
        .bind(status)
        .bind(content)
        .bind(now)
        .execute(&mut conn)
        .await
        .expect("a comment");
    }
    conn.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_database_with_an_outbox_upgrades_and_keeps_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("threadbridge.db");
    older_sqlite_with_an_outbox(&file).await;

    let app = spawn_on(&format!("sqlite://{}", file.display())).await;
    let deliveries = app.deliveries("").await;
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert_eq!(deliveries[0]["activity_type"], "Accept");
    assert_eq!(deliveries[0]["inbox"], "https://mastodon.example/inbox");
    assert_eq!(deliveries[0]["state"], "done");

    // The thread reads as before: the deleted comment with a reply is a placeholder, the one
    // without is not shown.
    let (status, replies) = app.ap_get(&app.url("/articles/tram/replies?page=1")).await;
    assert_eq!(status, StatusCode::OK, "{replies}");
    assert_eq!(replies["totalItems"], 1, "{replies}");
    assert_eq!(replies["orderedItems"], serde_json::json!([app.url("/articles/tram/comments/c1")]));
    let (_, below) = app.ap_get(&app.url("/articles/tram/comments/c1/replies?page=1")).await;
    assert_eq!(below["orderedItems"], serde_json::json!([app.url("/articles/tram/comments/c2")]));
    // ... and finds a comment's children by their own index (migration 6).
    let mut conn = SqliteConnectOptions::new().filename(&file).connect().await.expect("sqlite");
    let indexes: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'comments'")
            .fetch_all(&mut conn)
            .await
            .expect("indexes");
    assert!(indexes.contains(&"comments_by_parent_id".to_string()), "{indexes:?}");
    conn.close().await.expect("close");

    // The widened outbox takes the site's own Follow.
    let other = spawn_app(Backend::Sqlite).await.expect("a second site");
    let response = app
        .client
        .post(app.url("/api/admin/following"))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({ "actor": other.site_actor() }))
        .send()
        .await
        .expect("follow");
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let kinds: Vec<_> = app.deliveries("").await.iter().map(|d| d["activity_type"].clone()).collect();
    assert!(kinds.contains(&serde_json::json!("Follow")), "{kinds:?}");
}
