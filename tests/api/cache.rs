//! Rendered documents are cached, but nobody reads stale data: a process sees its own writes at
//! once, the admin thread is always current across processes, and federation documents follow
//! another process's writes within a second.

use std::time::Duration;

use serde_json::Value;

use crate::both_backends;
use crate::helpers::*;

fn reply_ids(object: &Value) -> Vec<String> {
    object["replies"]["first"]["orderedItems"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(String::from))
        .collect()
}

async fn two_processes_on_one_database_stay_current(backend: Backend) {
    let Some(a) = spawn_app(backend).await else { return };
    let b = spawn_sibling(&a).await;
    a.put_article("shared", &article_json("Shared")).await;
    a.put_comment("shared", "c1", &comment_json("Reader One", "first", None)).await;

    // B renders (and caches) the thread and the article.
    assert_eq!(b.thread("shared").await["comments"].as_array().map(Vec::len), Some(1));
    let (_, before) = b.ap_get(&b.url("/articles/shared")).await;
    assert_eq!(reply_ids(&before).len(), 1);

    // A writes; B's admin thread shows it at once.
    a.put_comment("shared", "c2", &comment_json("Reader Two", "second", None)).await;
    assert_eq!(b.thread("shared").await["comments"].as_array().map(Vec::len), Some(2));

    // B's federation copy follows within its one-second freshness window.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (_, after) = b.ap_get(&b.url("/articles/shared")).await;
    assert_eq!(reply_ids(&after).len(), 2, "{after}");

    // A sees its own edit at once, even right after serving the old copy.
    let (_, cached) = a.ap_get(&a.url("/articles/shared/comments/c1")).await;
    assert!(cached["content"].as_str().unwrap_or_default().contains("first"));
    a.put_comment("shared", "c1", &comment_json("Reader One", "first, edited", None)).await;
    let (_, edited) = a.ap_get(&a.url("/articles/shared/comments/c1")).await;
    assert!(edited["content"].as_str().unwrap_or_default().contains("first, edited"), "{edited}");
    let (status, _) = a.admin_delete("/api/admin/articles/shared/comments/c1").await;
    assert!(status.is_success());
    let (status, _) = a.ap_get(&a.url("/articles/shared/comments/c1")).await;
    assert_eq!(status, reqwest::StatusCode::GONE);
}

both_backends!(two_processes_on_one_database_stay_current);
