//! [`following_store!`] implements [`super::following::FollowingStore`] for one `sqlx` database
//! type, with SQL both engines accept.

/// Implements `FollowingStore` for `$store` (with `pool` and `begin_write`, as for `sql_store!`;
/// after `sql_store!` and `federation_store!`, whose row readers and outbox it uses).
macro_rules! following_store {
    ($store:ty, $db:ty) => {
        mod following_impl {
            use async_trait::async_trait;
            use chrono::Utc;
            use sqlx::Row as _;

            use super::federation_impl::queue_direct;
            use super::*;
            use crate::domain::{Article, Key};
            use crate::store::federation::DirectActivity;
            use crate::store::federation_sql::limit_offset;
            use crate::store::following::{FollowState, FollowedPost, Following, FollowingStore, NewFollowing};
            use crate::store::{Page, StoreError, StoreResult};

            type DbRow = <$db as sqlx::Database>::Row;

            macro_rules! select_following {
                () => {
                    "SELECT actor_id, ap_id, handle, inbox, follow_id, state, created_at, updated_at FROM following "
                };
            }

            fn following_from_row(row: &DbRow) -> Result<Following, sqlx::Error> {
                Ok(Following {
                    ap_id: row.try_get("ap_id")?,
                    handle: row.try_get("handle")?,
                    inbox: row.try_get("inbox")?,
                    follow_id: row.try_get("follow_id")?,
                    state: FollowState::parse(&row.try_get::<String, _>("state")?),
                    since: row.try_get("created_at")?,
                    updated_at: row.try_get("updated_at")?,
                })
            }

            #[async_trait]
            impl FollowingStore for $store {
                async fn add_following(&self, f: &NewFollowing, follow: &DirectActivity) -> StoreResult<Following> {
                    let mut tx = self.begin_write().await?;
                    let now = Utc::now();
                    sqlx::query(
                        "INSERT INTO following (actor_id, ap_id, handle, inbox, follow_id, state, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6) ON CONFLICT (ap_id) DO UPDATE SET \
                         handle = excluded.handle, inbox = excluded.inbox, follow_id = excluded.follow_id, \
                         state = 'pending', updated_at = excluded.updated_at",
                    )
                    .bind(f.actor_id)
                    .bind(&f.ap_id)
                    .bind(&f.handle)
                    .bind(&f.inbox)
                    .bind(&f.follow_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    queue_direct(&mut tx, f.actor_id, follow).await?;
                    let row = sqlx::query(concat!(select_following!(), "WHERE ap_id = $1"))
                        .bind(&f.ap_id)
                        .fetch_one(&mut *tx)
                        .await?;
                    let following = following_from_row(&row)?;
                    tx.commit().await?;
                    Ok(following)
                }

                async fn answer_following(
                    &self,
                    ap_id: &str,
                    follow_id: Option<&str>,
                    state: FollowState,
                ) -> StoreResult<bool> {
                    let done = sqlx::query(
                        "UPDATE following SET state = $1, updated_at = $2 \
                         WHERE ap_id = $3 AND ($4 IS NULL OR follow_id = $4) AND state <> $1",
                    )
                    .bind(state.as_str())
                    .bind(Utc::now())
                    .bind(ap_id)
                    .bind(follow_id)
                    .execute(self.writer())
                    .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn remove_following(&self, ap_id: &str, undo: &DirectActivity) -> StoreResult<Option<Following>> {
                    let mut tx = self.begin_write().await?;
                    let row = sqlx::query(
                        "DELETE FROM following WHERE ap_id = $1 \
                         RETURNING actor_id, ap_id, handle, inbox, follow_id, state, created_at, updated_at",
                    )
                    .bind(ap_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some(row) = row else { return Ok(None) };
                    let following = following_from_row(&row)?;
                    let actor_id: i64 = row.try_get("actor_id")?;
                    queue_direct(&mut tx, actor_id, undo).await?;
                    tx.commit().await?;
                    Ok(Some(following))
                }

                async fn following(&self, offset: i64, limit: i64) -> StoreResult<Page<Following>> {
                    let (limit, offset) = limit_offset(offset, limit);
                    let rows = sqlx::query(concat!(select_following!(), "ORDER BY created_at, id LIMIT $1 OFFSET $2"))
                        .bind(limit)
                        .bind(offset)
                        .fetch_all(&self.pool)
                        .await?;
                    let total: i64 =
                        sqlx::query("SELECT COUNT(*) AS n FROM following").fetch_one(&self.pool).await?.try_get("n")?;
                    let items = rows.iter().map(following_from_row).collect::<Result<Vec<_>, _>>()?;
                    Ok(Page { items, total })
                }

                async fn following_one(&self, ap_id: &str) -> StoreResult<Option<Following>> {
                    let row = sqlx::query(concat!(select_following!(), "WHERE ap_id = $1"))
                        .bind(ap_id)
                        .fetch_optional(&self.pool)
                        .await?;
                    Ok(row.as_ref().map(following_from_row).transpose()?)
                }

                async fn accepted_following_count(&self) -> StoreResult<i64> {
                    Ok(sqlx::query("SELECT COUNT(*) AS n FROM following WHERE state = 'accepted'")
                        .fetch_one(&self.pool)
                        .await?
                        .try_get("n")?)
                }

                async fn upsert_followed_article(
                    &self,
                    key: &Key,
                    site_actor_id: i64,
                    post: &FollowedPost,
                ) -> StoreResult<Option<Article>> {
                    let mut tx = self.begin_write().await?;
                    // Deleted by its author before (a late or replayed Create): not brought back.
                    let tombstoned = sqlx::query("SELECT 1 AS one FROM remote_tombstones WHERE ap_id = $1")
                        .bind(&post.ap_id)
                        .fetch_optional(&mut *tx)
                        .await?
                        .is_some();
                    if tombstoned {
                        return Ok(None);
                    }
                    let stored = article_in(&mut tx, key).await?;
                    let now = Utc::now();
                    match stored {
                        Some(stored) if stored.followed.is_none() => {
                            return Err(StoreError::Conflict(format!(
                                "'{key}' is one of the site's own articles, not a followed one"
                            )));
                        }
                        // Only its author edits it.
                        Some(stored) if stored.followed.as_ref().is_some_and(|f| f.author_ap_id != post.author_ap_id) => {
                            return Ok(None)
                        }
                        Some(stored) if stored.deleted_at.is_some() => return Ok(None),
                        // Only a newer edit changes it: a late or replayed copy does not.
                        Some(stored) if post.updated.is_none_or(|u| stored.updated.is_some_and(|s| s >= u)) => {
                            return Ok(None)
                        }
                        Some(stored) => {
                            sqlx::query(
                                "UPDATE articles SET title = $1, url = $2, content = $3, summary = $4, language = $5, \
                                 sensitive = $6, updated = $7, remote_author_name = $8, remote_author_handle = $9, \
                                 version = version + 1 WHERE id = $10",
                            )
                            .bind(&post.title)
                            .bind(post.url.as_str())
                            .bind(post.content.as_str())
                            .bind(&post.summary)
                            .bind(&post.language)
                            .bind(post.sensitive)
                            .bind(post.updated)
                            .bind(&post.author_name)
                            .bind(&post.author_handle)
                            .bind(stored.id)
                            .execute(&mut *tx)
                            .await?;
                        }
                        None => {
                            sqlx::query(
                                "INSERT INTO articles (title, url, content, summary, author_id, language, sensitive, \
                                 published, updated, key, created_at, remote_ap_id, remote_author_ap_id, \
                                 remote_author_name, remote_author_handle) \
                                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
                            )
                            .bind(&post.title)
                            .bind(post.url.as_str())
                            .bind(post.content.as_str())
                            .bind(&post.summary)
                            .bind(site_actor_id)
                            .bind(&post.language)
                            .bind(post.sensitive)
                            .bind(post.published)
                            .bind(post.updated)
                            .bind(key.as_str())
                            .bind(now)
                            .bind(&post.ap_id)
                            .bind(&post.author_ap_id)
                            .bind(&post.author_name)
                            .bind(&post.author_handle)
                            .execute(&mut *tx)
                            .await?;
                        }
                    }
                    let article = article_in(&mut tx, key).await?;
                    tx.commit().await?;
                    Ok(article)
                }

                async fn followed_articles(&self, offset: i64, limit: i64) -> StoreResult<Page<Article>> {
                    let (limit, offset) = limit_offset(offset, limit);
                    let rows = sqlx::query(concat!(
                        select_article!(),
                        "WHERE ar.deleted_at IS NULL AND ar.remote_ap_id IS NOT NULL \
                         ORDER BY ar.published DESC, ar.id DESC LIMIT $1 OFFSET $2"
                    ))
                    .bind(limit)
                    .bind(offset)
                    .fetch_all(&self.pool)
                    .await?;
                    let total: i64 = sqlx::query(
                        "SELECT COUNT(*) AS n FROM articles WHERE deleted_at IS NULL AND remote_ap_id IS NOT NULL",
                    )
                    .fetch_one(&self.pool)
                    .await?
                    .try_get("n")?;
                    let items = rows.iter().map(article_from_row).collect::<Result<Vec<_>, _>>()?;
                    Ok(Page { items, total })
                }

                async fn followed_article(&self, ap_id: &str) -> StoreResult<Option<Article>> {
                    let row = sqlx::query(concat!(select_article!(), "WHERE ar.remote_ap_id = $1"))
                        .bind(ap_id)
                        .fetch_optional(&self.pool)
                        .await?;
                    Ok(row.as_ref().map(article_from_row).transpose()?)
                }

                async fn delete_followed_article(&self, ap_id: &str, author_ap_id: &str) -> StoreResult<Option<Key>> {
                    let row = sqlx::query(
                        "UPDATE articles SET deleted_at = $1, version = version + 1 \
                         WHERE remote_ap_id = $2 AND remote_author_ap_id = $3 AND deleted_at IS NULL RETURNING key",
                    )
                    .bind(Utc::now())
                    .bind(ap_id)
                    .bind(author_ap_id)
                    .fetch_optional(self.writer())
                    .await?;
                    Ok(row.map(|r| r.try_get("key").map(Key::from_store)).transpose()?)
                }
            }
        }
    };
}
