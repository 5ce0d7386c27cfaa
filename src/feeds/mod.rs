//! Feeds (RSS, Atom, JSON Feed) the service polls: each new item becomes an article, delivered
//! to followers as any other; an edited item is sent as an Update. The items a feed already
//! holds at its first poll are the archive: stored without delivery, except the newest
//! `deliver_existing`. An item that drops out of the feed stays. Fetched with the SSRF-safe
//! client (`federation::fetch`), with ETag and Last-Modified, following at most
//! [`MAX_REDIRECTS`] redirects, each checked; errors back off, doubling the wait.

mod comments;
mod entry;

use std::time::Duration;

use chrono::{DateTime, Utc};
use url::Url;

use crate::domain::{Key, Upserted};
use crate::federation::fetch::{self, read_capped};
use crate::startup::AppState;
use crate::store::feeds::{Feed, NewFeed, Polled};
use crate::store::import::{ImportItem, ItemOutcome};

/// How often a feed is polled when the admin does not say (seconds).
pub const DEFAULT_INTERVAL: i64 = 900;
/// The largest feed document read.
pub const MAX_FEED_BYTES: usize = 10 * 1024 * 1024;
pub const MAX_REDIRECTS: usize = 5;
/// How many of a feed's newest items have their own comment feed read, when the feed names no
/// site-wide one.
const MAX_ITEM_COMMENT_FEEDS: usize = 10;
/// The longest wait between polls of a failing feed.
const MAX_BACKOFF: i64 = 24 * 3600;
/// How long a poll may take before another process may claim the feed again.
const LEASE: i64 = 300;

const ACCEPT: &str = "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, \
                      application/xml;q=0.8, text/xml;q=0.8, */*;q=0.1";

/// What the feed's server answered.
enum Fetched {
    NotModified,
    Body { body: Vec<u8>, content_type: String, etag: Option<String>, last_modified: Option<String>, url: Url },
}

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

/// GETs a feed, sending `etag` and `last_modified` back when there are some.
async fn fetch(
    state: &AppState,
    start: &str,
    etag: Option<&str>,
    last_modified: Option<&str>,
) -> Result<Fetched, String> {
    let dev = state.config.dev;
    let mut url = Url::parse(start).map_err(|e| format!("not a URL: {e}"))?;
    for _ in 0..=MAX_REDIRECTS {
        fetch::check_url(&url, dev).map_err(|e| e.to_string())?;
        let mut request = state.client.get(url.clone()).header("Accept", ACCEPT);
        if let Some(etag) = etag {
            request = request.header("If-None-Match", etag);
        }
        if let Some(modified) = last_modified {
            request = request.header("If-Modified-Since", modified);
        }
        let response = request.send().await.map_err(|e| format!("fetching {url}: {e}"))?;
        let status = response.status();
        if status.is_redirection() && status != reqwest::StatusCode::NOT_MODIFIED {
            let location =
                header(&response, "location").ok_or_else(|| format!("{url} answered {status} with no Location"))?;
            url = url.join(&location).map_err(|e| format!("{url} redirects to '{location}': {e}"))?;
            continue;
        }
        if status == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        if !status.is_success() {
            return Err(format!("{url} answered {status}"));
        }
        let content_type = header(&response, "content-type").unwrap_or_default().to_ascii_lowercase();
        let etag = header(&response, "etag");
        let last_modified = header(&response, "last-modified");
        let body = read_capped(response, MAX_FEED_BYTES)
            .await
            .map_err(|e| format!("reading {url}: {e}"))?
            .ok_or_else(|| format!("{url} is larger than {} MiB", MAX_FEED_BYTES / (1024 * 1024)))?;
        return Ok(Fetched::Body { body, content_type, etag, last_modified, url });
    }
    Err(format!("{start} redirects more than {MAX_REDIRECTS} times"))
}

/// When a feed that failed `failures` times in a row is polled next.
pub fn backoff(interval_seconds: i64, failures: i64) -> Duration {
    let factor = 1i64.checked_shl(u32::try_from(failures.clamp(0, 20)).unwrap_or(20)).unwrap_or(i64::MAX);
    Duration::from_secs(u64::try_from(interval_seconds.saturating_mul(factor).min(MAX_BACKOFF)).unwrap_or(60))
}

fn after(at: DateTime<Utc>, wait: Duration) -> DateTime<Utc> {
    at + chrono::Duration::from_std(wait).unwrap_or_else(|_| chrono::Duration::seconds(60))
}

/// What a poll that succeeded read: the feed's validators (None after a 304), the articles it
/// created, and the comment feed's validators.
struct Read {
    etag: Option<String>,
    last_modified: Option<String>,
    created: i64,
    comments: comments::Validators,
}

/// Reads the feed, stores its new items, then reads the comments: the site's comment feed,
/// else each item's own (all of them, even after one failed; the first error is the answer).
async fn read(state: &AppState, feed: &Feed) -> Result<Read, String> {
    let (etag, last_modified, created, item_feeds) =
        match fetch(state, &feed.url, feed.etag.as_deref(), feed.last_modified.as_deref()).await? {
            Fetched::NotModified => (None, None, 0, Vec::new()),
            Fetched::Body { body, content_type, etag, last_modified, url } => {
                let (created, item_feeds) = store_items(state, feed, &body, &content_type, &url).await?;
                (etag, last_modified, created, item_feeds)
            }
        };
    let first = feed.first_polled_at.is_none();
    let comments = match &feed.comments_url {
        Some(url) => {
            let validators = (feed.comments_etag.as_deref(), feed.comments_last_modified.as_deref());
            comments::poll(state, url, validators, None, first).await?
        }
        None => {
            let mut failed = None;
            for (article, url) in item_feeds {
                if let Err(error) = comments::poll(state, &url, (None, None), Some(&article), first).await {
                    failed.get_or_insert(error);
                }
            }
            if let Some(error) = failed {
                return Err(error);
            }
            (None, None)
        }
    };
    Ok(Read { etag, last_modified, created, comments })
}

/// Polls one feed now and records what happened; returns the record.
pub async fn poll(state: &AppState, feed: &Feed) -> Polled {
    let at = Utc::now();
    let polled = match read(state, feed).await {
        Ok(read) => Polled {
            at,
            etag: read.etag,
            last_modified: read.last_modified,
            comments_etag: read.comments.0,
            comments_last_modified: read.comments.1,
            error: None,
            next_poll_at: after(at, backoff(feed.interval_seconds, 0)),
            new_items: read.created,
        },
        Err(error) => {
            tracing::warn!(feed = %feed.url, %error, "feed poll failed");
            Polled {
                at,
                etag: None,
                last_modified: None,
                comments_etag: None,
                comments_last_modified: None,
                error: Some(error),
                next_poll_at: after(at, backoff(feed.interval_seconds, feed.failures + 1)),
                new_items: 0,
            }
        }
    };
    if let Err(err) = state.store.feed_polled(feed.id, &polled).await {
        tracing::error!(feed = %feed.url, error = %err, "cannot record a feed poll");
    }
    polled
}

/// A feed document, or why it is none.
fn parse(body: &[u8], content_type: &str, url: &Url) -> Result<feed_rs::model::Feed, String> {
    feed_rs::parser::parse(body).map_err(|e| {
        if content_type.starts_with("text/html") {
            format!("{url} answered an HTML page ({content_type}), not RSS, Atom or JSON Feed")
        } else {
            format!("{url} is not RSS, Atom or JSON Feed: {e}")
        }
    })
}

/// Parses the feed and stores its items: the number of articles created, and the comment feeds
/// of the newest items (`wfw:commentRss`) with their articles' keys.
async fn store_items(
    state: &AppState,
    feed: &Feed,
    body: &[u8],
    content_type: &str,
    url: &Url,
) -> Result<(i64, Vec<(Key, String)>), String> {
    let parsed = parse(body, content_type, url)?;
    let fallback_author = entry::feed_author(&parsed, url);
    let mut items = Vec::new();
    for found in &parsed.entries {
        match entry::article(found, &fallback_author) {
            Ok(item) => items.push((item, entry::comments_feed(found))),
            Err(why) => tracing::info!(feed = %feed.url, entry = %found.id, %why, "feed item skipped"),
        }
    }
    // Newest first: on the first poll, the newest `deliver_existing` are delivered.
    items.sort_by_key(|(item, _)| std::cmp::Reverse(item.draft.published));
    let first = feed.first_polled_at.is_none();
    let mut created = 0;
    let mut comment_feeds = Vec::new();
    let mut archive = Vec::new();
    for (n, (item, comments_feed)) in items.into_iter().enumerate() {
        let existing = state.store.article_key_by_url(item.draft.url.as_str()).await.map_err(|e| e.to_string())?;
        if let Some(comments_feed) = comments_feed.filter(|_| n < MAX_ITEM_COMMENT_FEEDS) {
            comment_feeds.push((existing.clone().unwrap_or_else(|| item.key.clone()), comments_feed));
        }
        if existing.is_some_and(|key| key != item.key) {
            continue; // the site published it already, under its own key
        }
        let deliver = !first || i64::try_from(n).unwrap_or(i64::MAX) < feed.deliver_existing;
        if deliver {
            match state.store.upsert_article(&item.key, &item.draft).await {
                Ok((article, outcome)) => {
                    created += i64::from(outcome == Upserted::Created);
                    if outcome != Upserted::Unchanged {
                        state.cache.article_changed(&article.key, article.version);
                        state.outbox.notify_one();
                    }
                }
                Err(err) => tracing::info!(feed = %feed.url, key = %item.key, error = %err, "feed item not stored"),
            }
        } else {
            archive.push(ImportItem::Article(Box::new(item)));
        }
    }
    if !archive.is_empty() {
        let outcomes = state.store.import_batch(state.site.id, &archive).await.map_err(|e| e.to_string())?;
        created += outcomes.iter().filter(|o| **o == ItemOutcome::Created).count() as i64;
    }
    Ok((created, comment_feeds))
}

/// A feed URL the fetcher may poll: http(s), and a public address outside dev mode; the error
/// names `field`.
pub fn feed_url(field: &str, raw: &str, dev: bool) -> Result<String, String> {
    let url = Url::parse(raw.trim()).map_err(|e| format!("{field}: '{raw}' is not a URL ({e})"))?;
    fetch::check_url(&url, dev).map_err(|e| format!("{field}: {e}"))?;
    Ok(url.to_string())
}

/// Adds the feeds of `THREADBRIDGE_FEEDS` that the store does not have (with the defaults).
pub async fn add_configured(state: &AppState) -> anyhow::Result<()> {
    let Some(list) = state.config.feeds.as_deref() else { return Ok(()) };
    let known: Vec<String> = state.store.feeds().await?.into_iter().map(|f| f.url).collect();
    for raw in list.split(',').map(str::trim).filter(|u| !u.is_empty()) {
        let url = feed_url("THREADBRIDGE_FEEDS", raw, state.config.dev).map_err(anyhow::Error::msg)?;
        if known.contains(&url) {
            continue;
        }
        let new = NewFeed { url, comments_url: None, interval_seconds: DEFAULT_INTERVAL, deliver_existing: 0 };
        let feed = state.store.add_feed(&new).await?;
        tracing::info!(feed = %feed.url, "feed added from THREADBRIDGE_FEEDS");
    }
    Ok(())
}

/// Polls due feeds, one at a time, for as long as the service runs.
pub async fn worker(state: AppState) {
    loop {
        let now = Utc::now();
        match state.store.claim_due_feed(now, now + chrono::Duration::seconds(LEASE)).await {
            Ok(Some(feed)) => {
                poll(&state, &feed).await;
                continue;
            }
            Ok(None) => {}
            Err(err) => tracing::error!(error = %err, "cannot claim a due feed"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_feed_waits_twice_as_long_each_time_up_to_a_day() {
        assert_eq!(backoff(900, 0), Duration::from_secs(900));
        assert_eq!(backoff(900, 1), Duration::from_secs(1800));
        assert_eq!(backoff(900, 3), Duration::from_secs(7200));
        assert_eq!(backoff(900, 40), Duration::from_secs(86_400));
    }
}
