//! A cache of rendered documents, so that the objects remote servers fetch again and again (an
//! article, its comments, its collections) and the admin thread are served without rebuilding.
//!
//! Every entry belongs to one article and carries the article's `version` when it was rendered
//! (the store bumps it on every change to the article or its thread). An entry is served:
//! - as it is, for `max_age` after it was last checked (federation documents: 1 s), unless this
//!   process has since changed that article: local writes are seen at once;
//! - otherwise after one cheap query confirms the stored version is still the same.
//!
//! So a process never serves its own stale writes, and with several processes on one database,
//! another's write is seen within `max_age` (the admin thread uses `max_age` 0: always checked).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use crate::domain::Key;
use crate::store::Store;

use super::error::AppResult;

/// A rendered response that can be stored and served again.
#[derive(Clone)]
pub struct Rendered {
    pub status: StatusCode,
    pub content_type: &'static str,
    pub body: Bytes,
}

impl IntoResponse for Rendered {
    fn into_response(self) -> Response {
        (self.status, [(header::CONTENT_TYPE, self.content_type)], self.body).into_response()
    }
}

#[derive(Clone)]
struct Entry {
    version: i64,
    checked: Instant,
    rendered: Rendered,
}

pub struct DocumentCache {
    /// None when the cache is given no memory: every document is rendered afresh.
    entries: Option<moka::sync::Cache<String, Arc<Entry>>>,
    /// The newest version of each article this process wrote, for at most [`WRITTEN_MAX`]
    /// articles.
    written: RwLock<HashMap<String, i64>>,
}

/// Articles whose newest written version is remembered. Past that, the list and every cached
/// entry are dropped together (an entry never outlives the record that could make it stale):
/// a site writing to more than this many articles in one process's life renders them afresh
/// once, instead of holding a record per article for ever.
pub const WRITTEN_MAX: usize = 10_000;

impl DocumentCache {
    /// A cache holding at most `max_bytes` of bodies.
    pub fn new(max_bytes: u64) -> DocumentCache {
        let entries = (max_bytes > 0).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|key: &String, entry: &Arc<Entry>| {
                    u32::try_from(key.len() + entry.rendered.body.len()).unwrap_or(u32::MAX)
                })
                .build()
        });
        DocumentCache { entries, written: RwLock::new(HashMap::new()) }
    }

    /// Records that this process changed an article: its cached documents are stale at once.
    pub fn article_changed(&self, article: &Key, version: i64) {
        if let Ok(mut written) = self.written.write() {
            if written.len() >= WRITTEN_MAX && !written.contains_key(article.as_str()) {
                written.clear();
                if let Some(entries) = &self.entries {
                    entries.invalidate_all();
                }
            }
            let known = written.entry(article.as_str().to_string()).or_insert(version);
            *known = (*known).max(version);
        }
    }

    fn written_version(&self, article: &Key) -> i64 {
        self.written.read().ok().and_then(|w| w.get(article.as_str()).copied()).unwrap_or(i64::MIN)
    }

    /// The document under `key` (which must name `article`'s document uniquely), rendered by
    /// `render` when no current copy is held. Only 200 and 410 answers are kept.
    pub async fn get_or_render<F, Fut>(
        &self,
        store: &dyn Store,
        article: &Key,
        key: String,
        max_age: Duration,
        render: F,
    ) -> AppResult<Rendered>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = AppResult<Rendered>>,
    {
        let Some(entries) = &self.entries else {
            return render().await;
        };
        let held = entries.get(&key).filter(|e| e.version >= self.written_version(article));
        if let Some(entry) = &held {
            if entry.checked.elapsed() < max_age {
                return Ok(entry.rendered.clone());
            }
        }
        let Some(version) = store.article_version(article).await? else {
            return render().await;
        };
        if let Some(entry) = held.filter(|e| e.version == version) {
            let refreshed = Entry { checked: Instant::now(), ..(*entry).clone() };
            entries.insert(key, Arc::new(refreshed));
            return Ok(entry.rendered.clone());
        }
        let rendered = render().await?;
        if matches!(rendered.status, StatusCode::OK | StatusCode::GONE) {
            let entry = Entry { version, checked: Instant::now(), rendered: rendered.clone() };
            entries.insert(key, Arc::new(entry));
        }
        Ok(rendered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_of_written_articles_stays_bounded_and_keeps_the_newest() {
        let cache = DocumentCache::new(1024 * 1024);
        for n in 0..WRITTEN_MAX + 5 {
            cache.article_changed(&Key::parse(&format!("a{n}")).expect("key"), 1);
        }
        let newest = Key::parse(&format!("a{}", WRITTEN_MAX + 4)).expect("key");
        assert!(cache.written.read().expect("lock").len() <= WRITTEN_MAX);
        assert_eq!(cache.written_version(&newest), 1);
        cache.article_changed(&newest, 7);
        assert_eq!(cache.written_version(&newest), 7);
    }
}
