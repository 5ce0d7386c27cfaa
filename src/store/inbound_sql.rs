//! [`inbound_store!`] implements [`super::inbound::InboundStore`] for one `sqlx` database type,
//! with SQL both engines accept.

/// Implements `InboundStore` for `$store` (with `pool` and `begin_write`, as for `sql_store!`).
macro_rules! inbound_store {
    ($store:ty, $db:ty) => {
        mod inbound_impl {
            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use sqlx::Row as _;

            use super::*;
            use crate::config::ReplyPolicy;
            use crate::domain::{Key, Status};
            use crate::store::inbound::{
                Block, InboundStore, NewReaction, NewReport, ReactionCount, ReactionKind, RemoteReply, StoredReply,
                WebhookEvent,
            };
            use crate::store::StoreResult;

            type DbRow = <$db as sqlx::Database>::Row;
            type Tx = sqlx::Transaction<'static, $db>;

            const SELECT_REPLY: &str = "SELECT c.id, c.article_id, a.key AS article_key, c.key, c.remote_ap_id, p.key AS parent_key, \
                 c.remote_author_ap_id, c.status, c.published, c.updated FROM comments c \
                 JOIN articles a ON a.id = c.article_id LEFT JOIN comments p ON p.id = c.parent_id \
                 WHERE c.remote_ap_id = $1 AND c.origin = 'remote'";

            fn reply_from_row(row: &DbRow) -> Result<StoredReply, sqlx::Error> {
                Ok(StoredReply {
                    comment_id: row.try_get("id")?,
                    article_id: row.try_get("article_id")?,
                    article_key: Key::from_store(row.try_get("article_key")?),
                    key: Key::from_store(row.try_get("key")?),
                    ap_id: row.try_get::<Option<String>, _>("remote_ap_id")?.unwrap_or_default(),
                    parent_key: row.try_get::<Option<String>, _>("parent_key")?.map(Key::from_store),
                    author_ap_id: row.try_get::<Option<String>, _>("remote_author_ap_id")?.unwrap_or_default(),
                    status: Status::parse(&row.try_get::<String, _>("status")?),
                    published: row.try_get("published")?,
                    updated: row.try_get("updated")?,
                })
            }

            async fn stored_reply(tx: &mut Tx, ap_id: &str) -> Result<Option<StoredReply>, sqlx::Error> {
                let row = sqlx::query(SELECT_REPLY).bind(ap_id).fetch_optional(&mut **tx).await?;
                row.as_ref().map(reply_from_row).transpose()
            }

            async fn bump_version(tx: &mut Tx, article_id: i64) -> Result<(), sqlx::Error> {
                sqlx::query("UPDATE articles SET version = version + 1 WHERE id = $1")
                    .bind(article_id)
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            }

            async fn queue_event(tx: &mut Tx, event: Option<&WebhookEvent>) -> Result<(), sqlx::Error> {
                let Some(event) = event else { return Ok(()) };
                sqlx::query(
                    "INSERT INTO webhook_events (event, payload, next_attempt_at, created_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(&event.event)
                .bind(&event.payload)
                .bind(Utc::now().timestamp_millis())
                .bind(Utc::now())
                .execute(&mut **tx)
                .await?;
                Ok(())
            }

            async fn tombstoned<'c, E: sqlx::Executor<'c, Database = $db>>(
                executor: E,
                ap_id: &str,
            ) -> Result<bool, sqlx::Error> {
                Ok(sqlx::query("SELECT 1 FROM remote_tombstones WHERE ap_id = $1")
                    .bind(ap_id)
                    .fetch_optional(executor)
                    .await?
                    .is_some())
            }

            /// Records the activity `ap_id` as received; how many rows that added (0 when known).
            async fn insert_activity<'c, E: sqlx::Executor<'c, Database = $db>>(
                executor: E,
                ap_id: &str,
            ) -> Result<u64, sqlx::Error> {
                Ok(sqlx::query("INSERT INTO inbound_activities (ap_id, received_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(ap_id)
                    .bind(Utc::now())
                    .execute(executor)
                    .await?
                    .rows_affected())
            }

            /// Bumps the version of the article a deleted reaction (`RETURNING article_id`) was
            /// on; whether there was one.
            async fn bump_for_removed(tx: &mut Tx, removed: Option<DbRow>) -> Result<bool, sqlx::Error> {
                let Some(row) = removed else { return Ok(false) };
                bump_version(tx, row.try_get("article_id")?).await?;
                Ok(true)
            }

            fn attachments_json(reply: &RemoteReply) -> String {
                serde_json::to_string(&reply.attachments).unwrap_or_else(|_| "[]".into())
            }

            #[async_trait]
            impl InboundStore for $store {
                async fn activity_seen(&self, ap_id: &str) -> StoreResult<bool> {
                    Ok(sqlx::query("SELECT 1 FROM inbound_activities WHERE ap_id = $1")
                        .bind(ap_id)
                        .fetch_optional(&self.pool)
                        .await?
                        .is_some())
                }

                async fn record_activity(&self, ap_id: &str) -> StoreResult<bool> {
                    Ok(insert_activity(self.writer(), ap_id).await? > 0)
                }

                async fn prune_activities(&self, before: DateTime<Utc>) -> StoreResult<u64> {
                    Ok(sqlx::query("DELETE FROM inbound_activities WHERE received_at < $1")
                        .bind(before)
                        .execute(self.writer())
                        .await?
                        .rows_affected())
                }

                async fn add_remote_reply(
                    &self,
                    article_id: i64,
                    parent_id: Option<i64>,
                    reply: &RemoteReply,
                    status: Status,
                    event: Option<&WebhookEvent>,
                    activity_id: Option<&str>,
                ) -> StoreResult<Option<i64>> {
                    let mut tx = self.begin_write().await?;
                    if tombstoned(&mut *tx, &reply.ap_id).await? {
                        return Ok(None);
                    }
                    let inserted = sqlx::query(
                        "INSERT INTO comments (article_id, key, parent_id, origin, status, remote_ap_id, \
                         remote_author_ap_id, remote_author_name, remote_author_handle, remote_author_url, content, \
                         summary, language, remote_url, attachments, published, updated, created_at, sensitive) \
                         VALUES ($1, $2, $3, 'remote', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(article_id)
                    .bind(&reply.key)
                    .bind(parent_id)
                    .bind(status.as_str())
                    .bind(&reply.ap_id)
                    .bind(&reply.author_ap_id)
                    .bind(&reply.author_name)
                    .bind(&reply.author_handle)
                    .bind(&reply.author_url)
                    .bind(&reply.content)
                    .bind(&reply.summary)
                    .bind(&reply.language)
                    .bind(&reply.url)
                    .bind(attachments_json(reply))
                    .bind(reply.published)
                    .bind(reply.updated)
                    .bind(Utc::now())
                    .bind(reply.sensitive)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    let mut version = None;
                    if inserted > 0 {
                        let row = sqlx::query("UPDATE articles SET version = version + 1 WHERE id = $1 RETURNING version")
                            .bind(article_id)
                            .fetch_one(&mut *tx)
                            .await?;
                        version = Some(row.try_get("version")?);
                        queue_event(&mut tx, event).await?;
                    }
                    if let Some(id) = activity_id {
                        insert_activity(&mut *tx, id).await?;
                    }
                    tx.commit().await?;
                    Ok(version)
                }

                async fn update_remote_reply(
                    &self,
                    reply: &RemoteReply,
                    event: Option<&WebhookEvent>,
                ) -> StoreResult<bool> {
                    let mut tx = self.begin_write().await?;
                    let Some(stored) = stored_reply(&mut tx, &reply.ap_id).await? else { return Ok(false) };
                    let newer = match (reply.updated, stored.updated) {
                        (Some(new), Some(old)) => new > old,
                        (Some(new), None) => new > stored.published,
                        (None, _) => false,
                    };
                    if stored.author_ap_id != reply.author_ap_id || stored.status == Status::Deleted || !newer {
                        return Ok(false);
                    }
                    sqlx::query(
                        "UPDATE comments SET content = $1, summary = $2, language = $3, remote_url = $4, \
                         attachments = $5, updated = $6, remote_author_name = $7, remote_author_handle = $8, \
                         sensitive = $9 WHERE id = $10",
                    )
                    .bind(&reply.content)
                    .bind(&reply.summary)
                    .bind(&reply.language)
                    .bind(&reply.url)
                    .bind(attachments_json(reply))
                    .bind(reply.updated)
                    .bind(&reply.author_name)
                    .bind(&reply.author_handle)
                    .bind(reply.sensitive)
                    .bind(stored.comment_id)
                    .execute(&mut *tx)
                    .await?;
                    bump_version(&mut tx, stored.article_id).await?;
                    queue_event(&mut tx, event).await?;
                    tx.commit().await?;
                    Ok(true)
                }

                async fn remote_reply(&self, ap_id: &str) -> StoreResult<Option<StoredReply>> {
                    let row = sqlx::query(SELECT_REPLY).bind(ap_id).fetch_optional(&self.pool).await?;
                    Ok(row.as_ref().map(reply_from_row).transpose()?)
                }

                async fn delete_remote_object(
                    &self,
                    ap_id: &str,
                    actor_ap_id: &str,
                    event: Option<&WebhookEvent>,
                ) -> StoreResult<Option<StoredReply>> {
                    let mut tx = self.begin_write().await?;
                    sqlx::query(
                        "INSERT INTO remote_tombstones (ap_id, actor_ap_id, deleted_at) VALUES ($1, $2, $3) \
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(ap_id)
                    .bind(actor_ap_id)
                    .bind(Utc::now())
                    .execute(&mut *tx)
                    .await?;
                    let deleted = match stored_reply(&mut tx, ap_id).await? {
                        Some(reply) if reply.author_ap_id == actor_ap_id && reply.status != Status::Deleted => {
                            sqlx::query(
                                "UPDATE comments SET status = 'deleted', content = '', summary = NULL, \
                                 attachments = '[]', deleted_at = $1 WHERE id = $2",
                            )
                            .bind(Utc::now())
                            .bind(reply.comment_id)
                            .execute(&mut *tx)
                            .await?;
                            bump_version(&mut tx, reply.article_id).await?;
                            queue_event(&mut tx, event).await?;
                            Some(reply)
                        }
                        _ => None,
                    };
                    tx.commit().await?;
                    Ok(deleted)
                }

                async fn is_tombstoned(&self, ap_id: &str) -> StoreResult<bool> {
                    Ok(tombstoned(&self.pool, ap_id).await?)
                }

                async fn add_reaction(&self, reaction: &NewReaction) -> StoreResult<bool> {
                    let mut tx = self.begin_write().await?;
                    let inserted = sqlx::query(
                        "INSERT INTO reactions (kind, activity_ap_id, actor_ap_id, article_id, comment_id, \
                         object_ap_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                    )
                    .bind(reaction.kind.as_str())
                    .bind(&reaction.activity_ap_id)
                    .bind(&reaction.actor_ap_id)
                    .bind(reaction.article_id)
                    .bind(reaction.comment_id)
                    .bind(&reaction.object_ap_id)
                    .bind(Utc::now())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if inserted > 0 {
                        bump_version(&mut tx, reaction.article_id).await?;
                    }
                    tx.commit().await?;
                    Ok(inserted > 0)
                }

                async fn remove_reaction(&self, activity_ap_id: &str, actor_ap_id: &str) -> StoreResult<bool> {
                    let mut tx = self.begin_write().await?;
                    let removed = sqlx::query(
                        "DELETE FROM reactions WHERE activity_ap_id = $1 AND actor_ap_id = $2 RETURNING article_id",
                    )
                    .bind(activity_ap_id)
                    .bind(actor_ap_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let removed = bump_for_removed(&mut tx, removed).await?;
                    tx.commit().await?;
                    Ok(removed)
                }

                async fn remove_reaction_to(
                    &self,
                    kind: ReactionKind,
                    actor_ap_id: &str,
                    object_ap_id: &str,
                ) -> StoreResult<bool> {
                    let mut tx = self.begin_write().await?;
                    let removed = sqlx::query(
                        "DELETE FROM reactions WHERE kind = $1 AND actor_ap_id = $2 AND object_ap_id = $3 \
                         RETURNING article_id",
                    )
                    .bind(kind.as_str())
                    .bind(actor_ap_id)
                    .bind(object_ap_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let removed = bump_for_removed(&mut tx, removed).await?;
                    tx.commit().await?;
                    Ok(removed)
                }

                async fn reaction_counts(&self, article_id: i64) -> StoreResult<Vec<ReactionCount>> {
                    let rows = sqlx::query(
                        "SELECT comment_id, \
                         COUNT(DISTINCT CASE WHEN kind IN ('like', 'emoji') THEN actor_ap_id END) AS likes, \
                         COUNT(CASE WHEN kind = 'announce' THEN 1 END) AS announces \
                         FROM reactions WHERE article_id = $1 GROUP BY comment_id",
                    )
                    .bind(article_id)
                    .fetch_all(&self.pool)
                    .await?;
                    Ok(rows
                        .iter()
                        .map(|row| -> Result<ReactionCount, sqlx::Error> {
                            Ok(ReactionCount {
                                comment_id: row.try_get("comment_id")?,
                                likes: row.try_get("likes")?,
                                announces: row.try_get("announces")?,
                            })
                        })
                        .collect::<Result<_, _>>()?)
                }

                async fn add_report(&self, report: &NewReport) -> StoreResult<bool> {
                    let inserted = sqlx::query(
                        "INSERT INTO reports (activity_ap_id, reporter_ap_id, comment, objects, created_at) \
                         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                    )
                    .bind(&report.activity_ap_id)
                    .bind(&report.reporter_ap_id)
                    .bind(&report.comment)
                    .bind(serde_json::to_string(&report.objects).unwrap_or_else(|_| "[]".into()))
                    .bind(Utc::now())
                    .execute(self.writer())
                    .await?
                    .rows_affected();
                    Ok(inserted > 0)
                }

                async fn block_for(&self, host: &str, actor_ap_id: Option<&str>) -> StoreResult<Option<Block>> {
                    // A domain block covers its subdomains: `host` ends with "." + target.
                    let row = sqlx::query(
                        "SELECT kind, target, severity FROM blocks WHERE (kind = 'actor' AND target = $2) \
                         OR (kind = 'domain' AND (target = $1 OR \
                             (length($1) > length(target) AND substr($1, length($1) - length(target)) = '.' || target))) \
                         ORDER BY CASE WHEN kind = 'actor' THEN 0 ELSE 1 END, length(target) DESC LIMIT 1",
                    )
                    .bind(host.to_ascii_lowercase())
                    .bind(actor_ap_id.unwrap_or(""))
                    .fetch_optional(&self.pool)
                    .await?;
                    Ok(row
                        .map(|r| -> Result<Block, sqlx::Error> {
                            Ok(Block { kind: r.try_get("kind")?, target: r.try_get("target")?, severity: r.try_get("severity")? })
                        })
                        .transpose()?)
                }

                async fn article_reply_policy(&self, article_id: i64) -> StoreResult<Option<ReplyPolicy>> {
                    let row = sqlx::query("SELECT reply_policy FROM articles WHERE id = $1")
                        .bind(article_id)
                        .fetch_optional(&self.pool)
                        .await?;
                    Ok(row
                        .map(|r| r.try_get::<Option<String>, _>("reply_policy"))
                        .transpose()?
                        .flatten()
                        .and_then(|p| ReplyPolicy::parse(&p)))
                }
            }
        }
    };
}
