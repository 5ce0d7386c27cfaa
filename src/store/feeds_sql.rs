//! [`feeds_store!`] implements [`super::feeds::FeedStore`] for one `sqlx` database type, with
//! SQL both engines accept.

/// Implements `FeedStore` for `$store` (with `pool` and `begin_write`, as for `sql_store!`).
macro_rules! feeds_store {
    ($store:ty, $db:ty) => {
        mod feeds_impl {
            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use sqlx::Row as _;

            use super::*;
            use crate::domain::Key;
            use crate::store::feeds::{Feed, FeedStore, NewFeed, Polled};
            use crate::store::{StoreError, StoreResult};

            type DbRow = <$db as sqlx::Database>::Row;

            macro_rules! select_feed {
                () => {
                    "SELECT id, url, comments_url, interval_seconds, deliver_existing, etag, last_modified, \
                     comments_etag, comments_last_modified, first_polled_at, last_polled_at, last_error, failures, next_poll_at, items, created_at FROM feeds "
                };
            }

            fn feed_from_row(row: &DbRow) -> Result<Feed, sqlx::Error> {
                Ok(Feed {
                    id: row.try_get("id")?,
                    url: row.try_get("url")?,
                    comments_url: row.try_get("comments_url")?,
                    interval_seconds: row.try_get("interval_seconds")?,
                    deliver_existing: row.try_get("deliver_existing")?,
                    etag: row.try_get("etag")?,
                    last_modified: row.try_get("last_modified")?,
                    comments_etag: row.try_get("comments_etag")?,
                    comments_last_modified: row.try_get("comments_last_modified")?,
                    first_polled_at: row.try_get("first_polled_at")?,
                    last_polled_at: row.try_get("last_polled_at")?,
                    last_error: row.try_get("last_error")?,
                    failures: row.try_get("failures")?,
                    next_poll_at: row.try_get("next_poll_at")?,
                    items: row.try_get("items")?,
                    created_at: row.try_get("created_at")?,
                })
            }

            #[async_trait]
            impl FeedStore for $store {
                async fn add_feed(&self, feed: &NewFeed) -> StoreResult<Feed> {
                    let mut tx = self.begin_write().await?;
                    let now = Utc::now();
                    let inserted = sqlx::query(
                        "INSERT INTO feeds (url, comments_url, interval_seconds, deliver_existing, next_poll_at, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (url) DO NOTHING RETURNING id",
                    )
                    .bind(&feed.url)
                    .bind(&feed.comments_url)
                    .bind(feed.interval_seconds)
                    .bind(feed.deliver_existing)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some(row) = inserted else {
                        return Err(StoreError::Conflict(format!("the feed {} is already there", feed.url)));
                    };
                    let id: i64 = row.try_get("id")?;
                    let row = sqlx::query(concat!(select_feed!(), "WHERE id = $1")).bind(id).fetch_one(&mut *tx).await?;
                    tx.commit().await?;
                    Ok(feed_from_row(&row)?)
                }

                async fn feeds(&self) -> StoreResult<Vec<Feed>> {
                    let rows = sqlx::query(concat!(select_feed!(), "ORDER BY id")).fetch_all(&self.pool).await?;
                    Ok(rows.iter().map(feed_from_row).collect::<Result<_, _>>()?)
                }

                async fn feed(&self, id: i64) -> StoreResult<Option<Feed>> {
                    let row = sqlx::query(concat!(select_feed!(), "WHERE id = $1")).bind(id).fetch_optional(&self.pool).await?;
                    Ok(row.as_ref().map(feed_from_row).transpose()?)
                }

                async fn remove_feed(&self, id: i64) -> StoreResult<bool> {
                    let mut tx = self.begin_write().await?;
                    let removed = sqlx::query("DELETE FROM feeds WHERE id = $1").bind(id).execute(&mut *tx).await?.rows_affected();
                    tx.commit().await?;
                    Ok(removed > 0)
                }

                async fn claim_due_feed(&self, now: DateTime<Utc>, lease_until: DateTime<Utc>) -> StoreResult<Option<Feed>> {
                    let mut tx = self.begin_write().await?;
                    // The condition is checked again by the UPDATE: of two processes, one claims.
                    let claimed = sqlx::query(
                        "UPDATE feeds SET next_poll_at = $2 WHERE id = \
                         (SELECT id FROM feeds WHERE next_poll_at <= $1 ORDER BY next_poll_at, id LIMIT 1) \
                         AND next_poll_at <= $1 RETURNING id",
                    )
                    .bind(now)
                    .bind(lease_until)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let feed = match claimed {
                        None => None,
                        Some(row) => {
                            let id: i64 = row.try_get("id")?;
                            let row = sqlx::query(concat!(select_feed!(), "WHERE id = $1")).bind(id).fetch_one(&mut *tx).await?;
                            Some(feed_from_row(&row)?)
                        }
                    };
                    tx.commit().await?;
                    Ok(feed)
                }

                async fn make_feed_due(&self, id: i64, now: DateTime<Utc>) -> StoreResult<bool> {
                    let mut tx = self.begin_write().await?;
                    let changed = sqlx::query("UPDATE feeds SET next_poll_at = $1 WHERE id = $2")
                        .bind(now)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    tx.commit().await?;
                    Ok(changed > 0)
                }

                async fn feed_polled(&self, id: i64, polled: &Polled) -> StoreResult<()> {
                    let mut tx = self.begin_write().await?;
                    match &polled.error {
                        None => {
                            sqlx::query(
                                "UPDATE feeds SET etag = COALESCE($1, etag), last_modified = COALESCE($2, last_modified), \
                                 first_polled_at = COALESCE(first_polled_at, $3), last_polled_at = $3, last_error = NULL, \
                                 failures = 0, next_poll_at = $4, items = items + $5, \
                                 comments_etag = COALESCE($7, comments_etag), \
                                 comments_last_modified = COALESCE($8, comments_last_modified) WHERE id = $6",
                            )
                            .bind(&polled.etag)
                            .bind(&polled.last_modified)
                            .bind(polled.at)
                            .bind(polled.next_poll_at)
                            .bind(polled.new_items)
                            .bind(id)
                            .bind(&polled.comments_etag)
                            .bind(&polled.comments_last_modified)
                            .execute(&mut *tx)
                            .await?;
                        }
                        Some(error) => {
                            sqlx::query(
                                "UPDATE feeds SET last_polled_at = $1, last_error = $2, failures = failures + 1, \
                                 next_poll_at = $3, items = items + $4 WHERE id = $5",
                            )
                            .bind(polled.at)
                            .bind(error)
                            .bind(polled.next_poll_at)
                            .bind(polled.new_items)
                            .bind(id)
                            .execute(&mut *tx)
                            .await?;
                        }
                    }
                    tx.commit().await?;
                    Ok(())
                }

                async fn article_key_by_url(&self, url: &str) -> StoreResult<Option<Key>> {
                    let row = sqlx::query("SELECT key FROM articles WHERE url = $1 AND remote_ap_id IS NULL ORDER BY id LIMIT 1")
                        .bind(url)
                        .fetch_optional(&self.pool)
                        .await?;
                    Ok(row.map(|r| r.try_get::<String, _>("key")).transpose()?.map(Key::from_store))
                }
            }
        }
    };
}
