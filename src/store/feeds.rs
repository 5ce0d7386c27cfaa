//! The feeds the service polls, and what it remembers of each poll. Implemented for both
//! back-ends by `feeds_store!` (`feeds_sql.rs`); the polling itself is in `crate::feeds`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreResult;
use crate::domain::Key;

/// A feed as the admin adds it.
#[derive(Debug, Clone)]
pub struct NewFeed {
    pub url: String,
    pub comments_url: Option<String>,
    pub interval_seconds: i64,
    pub deliver_existing: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Feed {
    pub id: i64,
    pub url: String,
    pub comments_url: Option<String>,
    pub interval_seconds: i64,
    pub deliver_existing: i64,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub comments_etag: Option<String>,
    pub comments_last_modified: Option<String>,
    pub first_polled_at: Option<DateTime<Utc>>,
    pub last_polled_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub failures: i64,
    pub next_poll_at: DateTime<Utc>,
    pub items: i64,
    pub created_at: DateTime<Utc>,
}

/// What one poll found.
#[derive(Debug, Clone)]
pub struct Polled {
    pub at: DateTime<Utc>,
    /// Validators to send next time (None: keep the stored ones, as after a 304).
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// The comment feed's validators (None: keep the stored ones).
    pub comments_etag: Option<String>,
    pub comments_last_modified: Option<String>,
    /// None when the poll succeeded.
    pub error: Option<String>,
    pub next_poll_at: DateTime<Utc>,
    /// Articles created from it by this poll.
    pub new_items: i64,
}

#[async_trait]
pub trait FeedStore: Send + Sync {
    /// Adds a feed, due at once; Conflict when its URL is already there.
    async fn add_feed(&self, feed: &NewFeed) -> StoreResult<Feed>;

    /// Every feed, oldest first.
    async fn feeds(&self) -> StoreResult<Vec<Feed>>;

    async fn feed(&self, id: i64) -> StoreResult<Option<Feed>>;

    /// Removes a feed (its articles stay); false when there was none.
    async fn remove_feed(&self, id: i64) -> StoreResult<bool>;

    /// One feed due at `now`, claimed until `lease_until` (so no other process polls it
    /// meanwhile); None when none is due.
    async fn claim_due_feed(&self, now: DateTime<Utc>, lease_until: DateTime<Utc>) -> StoreResult<Option<Feed>>;

    /// Makes a feed due now (the admin's "poll now").
    async fn make_feed_due(&self, id: i64, now: DateTime<Utc>) -> StoreResult<bool>;

    /// Records a poll: success resets the failure count (and sets the first poll's time),
    /// an error counts one more.
    async fn feed_polled(&self, id: i64, polled: &Polled) -> StoreResult<()>;

    /// The key of the article whose `url` is this link, if any (a feed item the site already
    /// published, through the admin API or an import, is that article).
    async fn article_key_by_url(&self, url: &str) -> StoreResult<Option<Key>>;
}
