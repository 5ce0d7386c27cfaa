//! [`federation_store!`] implements [`super::federation::FederationStore`] for one `sqlx`
//! database type. Like `sql_store!`, the SQL is written once; the back-end supplies the few
//! statements where the engines differ (`OutboxSql`): how due deliveries are claimed (PostgreSQL
//! skips rows other processes hold, `FOR UPDATE SKIP LOCKED`) and how a list parameter (a JSON
//! array) is read.

/// The statements one back-end writes its own way.
pub(super) struct OutboxSql {
    /// `$1` now, `$2` lease end, `$3` limit, `$4` JSON array of hosts to skip.
    pub claim: &'static str,
    /// `$1` status, `$2` now, `$3` JSON array of delivery ids, `$4` their lease.
    pub done: &'static str,
}

/// Bounds a paged list.
pub(super) fn limit_offset(offset: i64, limit: i64) -> (i64, i64) {
    (limit.clamp(0, 1000), offset.max(0))
}

/// The columns of a delivery as the admin sees it (`d`) with its activity (`a`).
macro_rules! select_delivery {
    () => {
        "SELECT d.id, a.uuid, a.kind, d.inbox, d.state, d.attempts, d.last_status, d.last_error, \
         d.next_attempt_at, d.created_at, d.updated_at FROM deliveries d JOIN activities a ON a.id = d.activity_id "
    };
}

/// Implements `FederationStore` for `$store` (with `pool` and `begin_write`, as for `sql_store!`).
macro_rules! federation_store {
    ($store:ty, $db:ty, $outbox_sql:expr) => {
        mod federation_impl {
            use async_trait::async_trait;
            use chrono::Utc;
            use sqlx::Row as _;

            use super::*;
            use crate::domain::Key;
            use crate::store::federation::{
                ActivityToFanOut, ClaimedDelivery, Delivery, DeliveryState, DirectActivity, FederationStore, Follower, NewFollower,
                OutboxCounts, OutgoingActivity, Outcome, RemoteActor,
            };
            use crate::store::federation_sql::limit_offset;
            use crate::store::{Page, StoreResult};

            type DbRow = <$db as sqlx::Database>::Row;

            fn delivery_from_row(row: &DbRow) -> Result<Delivery, sqlx::Error> {
                Ok(Delivery {
                    id: row.try_get("id")?,
                    activity_uuid: row.try_get("uuid")?,
                    activity_kind: row.try_get("kind")?,
                    inbox: row.try_get("inbox")?,
                    state: row.try_get("state")?,
                    attempts: row.try_get("attempts")?,
                    last_status: row.try_get("last_status")?,
                    last_error: row.try_get("last_error")?,
                    next_attempt_ms: row.try_get("next_attempt_at")?,
                    created_at: row.try_get("created_at")?,
                    updated_at: row.try_get("updated_at")?,
                })
            }

            fn remote_actor_from_row(row: &DbRow) -> Result<RemoteActor, sqlx::Error> {
                let aka: String = row.try_get("also_known_as")?;
                Ok(RemoteActor {
                    ap_id: row.try_get("ap_id")?,
                    handle: row.try_get("handle")?,
                    name: row.try_get("name")?,
                    inbox: row.try_get("inbox")?,
                    shared_inbox: row.try_get("shared_inbox")?,
                    key_id: row.try_get("key_id")?,
                    public_key_pem: row.try_get("public_key_pem")?,
                    also_known_as: serde_json::from_str(&aka).unwrap_or_default(),
                    fetched_at: row.try_get("fetched_at")?,
                })
            }

            /// host[:port] of an inbox URL: the unit of per-server limits.
            fn host_of(inbox: &str) -> String {
                url::Url::parse(inbox).map(|u| crate::federation::signatures::host_header(&u)).unwrap_or_default()
            }

            fn json_list<T: serde::Serialize>(items: &[T]) -> String {
                serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
            }

            /// Inserts one pending delivery per inbox, due at once; existing pairs are kept.
            async fn insert_deliveries(
                tx: &mut sqlx::Transaction<'static, $db>,
                activity_id: i64,
                inboxes: &[String],
            ) -> StoreResult<u64> {
                let now = Utc::now();
                let now_ms = now.timestamp_millis();
                let mut inserted = 0;
                for chunk in inboxes.chunks(500) {
                    let mut query = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO deliveries (activity_id, inbox, host, state, attempts, next_attempt_at, created_at, updated_at) ",
                    );
                    query.push_values(chunk, |mut row, inbox| {
                        row.push_bind(activity_id)
                            .push_bind(inbox.clone())
                            .push_bind(host_of(inbox))
                            .push_bind("pending")
                            .push_bind(0_i64)
                            .push_bind(now_ms)
                            .push_bind(now)
                            .push_bind(now);
                    });
                    query.push(" ON CONFLICT (activity_id, inbox) DO NOTHING");
                    inserted += query.build().execute(&mut **tx).await?.rows_affected();
                }
                Ok(inserted)
            }

            /// Queues an activity written whole, from `actor_id` to its one inbox.
            pub(super) async fn queue_direct(
                tx: &mut sqlx::Transaction<'static, $db>,
                actor_id: i64,
                activity: &DirectActivity,
            ) -> StoreResult<()> {
                let id = insert_written(tx, actor_id, activity.kind, &activity.uuid, &activity.payload).await?;
                insert_deliveries(tx, id, std::slice::from_ref(&activity.inbox)).await?;
                Ok(())
            }

            /// Stores an activity written whole (fanned out already: its deliveries follow); its id.
            async fn insert_written(
                tx: &mut sqlx::Transaction<'static, $db>,
                actor_id: i64,
                kind: &str,
                uuid: &str,
                payload: &str,
            ) -> StoreResult<i64> {
                let now = Utc::now();
                Ok(sqlx::query(
                    "INSERT INTO activities (uuid, kind, actor_id, payload, fanned_out_at, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
                )
                .bind(uuid)
                .bind(kind)
                .bind(actor_id)
                .bind(payload)
                .bind(now)
                .fetch_one(&mut **tx)
                .await?
                .try_get("id")?)
            }

            #[async_trait]
            impl FederationStore for $store {
                async fn add_follower(&self, f: &NewFollower, accept: &DirectActivity) -> StoreResult<bool> {
                    let mut tx = self.begin_write().await?;
                    let existed = sqlx::query("SELECT id FROM followers WHERE actor_id = $1 AND follower_ap_id = $2")
                        .bind(f.actor_id)
                        .bind(&f.ap_id)
                        .fetch_optional(&mut *tx)
                        .await?
                        .is_some();
                    sqlx::query(
                        "INSERT INTO followers (actor_id, follower_ap_id, inbox, shared_inbox, handle, follow_id, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (actor_id, follower_ap_id) DO UPDATE SET \
                         inbox = excluded.inbox, shared_inbox = excluded.shared_inbox, handle = excluded.handle, \
                         follow_id = excluded.follow_id",
                    )
                    .bind(f.actor_id)
                    .bind(&f.ap_id)
                    .bind(&f.inbox)
                    .bind(&f.shared_inbox)
                    .bind(&f.handle)
                    .bind(&f.follow_id)
                    .bind(Utc::now())
                    .execute(&mut *tx)
                    .await?;
                    queue_direct(&mut tx, f.actor_id, accept).await?;
                    tx.commit().await?;
                    Ok(!existed)
                }

                async fn remove_follower(&self, actor_id: i64, ap_id: &str) -> StoreResult<bool> {
                    let done = sqlx::query("DELETE FROM followers WHERE actor_id = $1 AND follower_ap_id = $2")
                        .bind(actor_id)
                        .bind(ap_id)
                        .execute(self.writer())
                        .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn remove_follow(&self, ap_id: &str, follow_id: &str) -> StoreResult<bool> {
                    let done = sqlx::query("DELETE FROM followers WHERE follower_ap_id = $1 AND follow_id = $2")
                        .bind(ap_id)
                        .bind(follow_id)
                        .execute(self.writer())
                        .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn move_followers(&self, old_ap_id: &str, new: &RemoteActor) -> StoreResult<u64> {
                    let mut tx = self.begin_write().await?;
                    // Where the new account already follows, the old follow simply goes.
                    sqlx::query(
                        "DELETE FROM followers WHERE follower_ap_id = $1 AND actor_id IN \
                         (SELECT actor_id FROM followers WHERE follower_ap_id = $2)",
                    )
                    .bind(old_ap_id)
                    .bind(&new.ap_id)
                    .execute(&mut *tx)
                    .await?;
                    let moved = sqlx::query(
                        "UPDATE followers SET follower_ap_id = $1, inbox = $2, shared_inbox = $3, handle = $4 \
                         WHERE follower_ap_id = $5",
                    )
                    .bind(&new.ap_id)
                    .bind(&new.inbox)
                    .bind(&new.shared_inbox)
                    .bind(&new.handle)
                    .bind(old_ap_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    tx.commit().await?;
                    Ok(moved)
                }

                async fn followers(&self, offset: i64, limit: i64) -> StoreResult<Page<Follower>> {
                    let (limit, offset) = limit_offset(offset, limit);
                    let rows = sqlx::query(
                        "SELECT a.username, f.follower_ap_id, f.handle, f.inbox, f.shared_inbox, f.created_at \
                         FROM followers f JOIN actors a ON a.id = f.actor_id ORDER BY f.created_at, f.id LIMIT $1 OFFSET $2",
                    )
                    .bind(limit)
                    .bind(offset)
                    .fetch_all(&self.pool)
                    .await?;
                    let total: i64 =
                        sqlx::query("SELECT COUNT(*) AS n FROM followers").fetch_one(&self.pool).await?.try_get("n")?;
                    let items = rows
                        .iter()
                        .map(|row| {
                            Ok(Follower {
                                local_username: row.try_get("username")?,
                                ap_id: row.try_get("follower_ap_id")?,
                                handle: row.try_get("handle")?,
                                inbox: row.try_get("inbox")?,
                                shared_inbox: row.try_get("shared_inbox")?,
                                since: row.try_get("created_at")?,
                            })
                        })
                        .collect::<Result<Vec<_>, sqlx::Error>>()?;
                    Ok(Page { items, total })
                }

                async fn follower_inboxes(&self, actor_ids: &[i64]) -> StoreResult<Vec<String>> {
                    let mut inboxes = Vec::new();
                    for actor_id in actor_ids {
                        let rows = sqlx::query(
                            "SELECT DISTINCT COALESCE(shared_inbox, inbox) AS address FROM followers WHERE actor_id = $1",
                        )
                        .bind(actor_id)
                        .fetch_all(&self.pool)
                        .await?;
                        for row in rows {
                            inboxes.push(row.try_get::<String, _>("address")?);
                        }
                    }
                    inboxes.sort();
                    inboxes.dedup();
                    Ok(inboxes)
                }

                async fn followed_usernames(&self) -> StoreResult<Vec<String>> {
                    Ok(sqlx::query_scalar(
                        "SELECT username FROM actors WHERE id IN (SELECT DISTINCT actor_id FROM followers) ORDER BY id",
                    )
                    .fetch_all(&self.pool)
                    .await?)
                }

                async fn swap_service_state(&self, name: &str, value: &str) -> StoreResult<Option<String>> {
                    let mut tx = self.begin_write().await?;
                    let before: Option<String> = sqlx::query_scalar("SELECT value FROM service_state WHERE name = $1")
                        .bind(name)
                        .fetch_optional(&mut *tx)
                        .await?;
                    sqlx::query(
                        "INSERT INTO service_state (name, value) VALUES ($1, $2) \
                         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    )
                    .bind(name)
                    .bind(value)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(before)
                }

                async fn queue_to_inboxes(
                    &self,
                    actor_id: i64,
                    kind: &'static str,
                    uuid: &str,
                    payload: &str,
                    inboxes: &[String],
                ) -> StoreResult<()> {
                    let mut tx = self.begin_write().await?;
                    let id = insert_written(&mut tx, actor_id, kind, uuid, payload).await?;
                    insert_deliveries(&mut tx, id, inboxes).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn upsert_remote_actor(&self, actor: &RemoteActor) -> StoreResult<()> {
                    sqlx::query(
                        "INSERT INTO remote_actors (ap_id, handle, name, inbox, shared_inbox, key_id, public_key_pem, \
                         also_known_as, fetched_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                         ON CONFLICT (ap_id) DO UPDATE SET handle = excluded.handle, name = excluded.name, \
                         inbox = excluded.inbox, shared_inbox = excluded.shared_inbox, key_id = excluded.key_id, \
                         public_key_pem = excluded.public_key_pem, also_known_as = excluded.also_known_as, \
                         fetched_at = excluded.fetched_at",
                    )
                    .bind(&actor.ap_id)
                    .bind(&actor.handle)
                    .bind(&actor.name)
                    .bind(&actor.inbox)
                    .bind(&actor.shared_inbox)
                    .bind(&actor.key_id)
                    .bind(&actor.public_key_pem)
                    .bind(json_list(&actor.also_known_as))
                    .bind(actor.fetched_at)
                    .execute(self.writer())
                    .await?;
                    Ok(())
                }

                async fn remote_actor(&self, ap_id: &str) -> StoreResult<Option<RemoteActor>> {
                    let row = sqlx::query("SELECT * FROM remote_actors WHERE ap_id = $1")
                        .bind(ap_id)
                        .fetch_optional(&self.pool)
                        .await?;
                    Ok(row.as_ref().map(remote_actor_from_row).transpose()?)
                }

                async fn remote_actor_by_key(&self, key_id: &str) -> StoreResult<Option<RemoteActor>> {
                    let row = sqlx::query("SELECT * FROM remote_actors WHERE key_id = $1")
                        .bind(key_id)
                        .fetch_optional(&self.pool)
                        .await?;
                    Ok(row.as_ref().map(remote_actor_from_row).transpose()?)
                }

                async fn activities_to_fan_out(&self, limit: i64) -> StoreResult<Vec<ActivityToFanOut>> {
                    let rows = sqlx::query(
                        "SELECT a.id, a.uuid, a.kind, a.actor_id, a.created_at, ar.key AS article_key, c.key AS comment_key \
                         FROM activities a LEFT JOIN articles ar ON ar.id = a.article_id \
                         LEFT JOIN comments c ON c.id = a.comment_id \
                         WHERE a.fanned_out_at IS NULL ORDER BY a.id LIMIT $1",
                    )
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map(|row| {
                            Ok(ActivityToFanOut {
                                id: row.try_get("id")?,
                                uuid: row.try_get("uuid")?,
                                kind: row.try_get("kind")?,
                                actor_id: row.try_get("actor_id")?,
                                article: row.try_get::<Option<String>, _>("article_key")?.map(Key::from_store),
                                comment: row.try_get::<Option<String>, _>("comment_key")?.map(Key::from_store),
                                created_at: row.try_get("created_at")?,
                            })
                        })
                        .collect::<Result<Vec<_>, sqlx::Error>>()
                        .map_err(Into::into)
                }

                async fn fan_out(&self, activity_id: i64, payload: Option<&str>, inboxes: &[String]) -> StoreResult<bool> {
                    let mut tx = self.begin_write().await?;
                    let claimed = sqlx::query(
                        "UPDATE activities SET payload = $1, fanned_out_at = $2 WHERE id = $3 AND fanned_out_at IS NULL",
                    )
                    .bind(payload)
                    .bind(Utc::now())
                    .bind(activity_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if claimed == 0 {
                        return Ok(false);
                    }
                    if payload.is_some() {
                        insert_deliveries(&mut tx, activity_id, inboxes).await?;
                    }
                    // A Delete makes the object's earlier Creates and Updates still waiting to be
                    // retried pointless, and harmful should they arrive after it.
                    sqlx::query(
                        "UPDATE deliveries SET state = 'failed', last_error = 'superseded: the object was deleted', \
                         updated_at = $1 WHERE state = 'pending' AND activity_id IN ( \
                         SELECT o.id FROM activities o JOIN activities d ON d.id = $2 \
                         WHERE d.kind = 'Delete' AND o.id < d.id AND o.kind IN ('Create', 'Update') \
                         AND o.article_id = d.article_id \
                         AND ((o.comment_id IS NULL AND d.comment_id IS NULL) OR o.comment_id = d.comment_id))",
                    )
                    .bind(Utc::now())
                    .bind(activity_id)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(true)
                }

                async fn claim_deliveries(
                    &self,
                    now_ms: i64,
                    lease_until_ms: i64,
                    limit: i64,
                    skip_hosts: &[String],
                ) -> StoreResult<Vec<ClaimedDelivery>> {
                    let rows = sqlx::query($outbox_sql.claim)
                        .bind(now_ms)
                        .bind(lease_until_ms)
                        .bind(limit)
                        .bind(json_list(skip_hosts))
                        .fetch_all(self.writer())
                        .await?;
                    rows.iter()
                        .map(|row| {
                            Ok(ClaimedDelivery {
                                id: row.try_get("id")?,
                                activity_id: row.try_get("activity_id")?,
                                inbox: row.try_get("inbox")?,
                                host: row.try_get("host")?,
                                attempts: row.try_get("attempts")?,
                                lease: lease_until_ms,
                            })
                        })
                        .collect::<Result<Vec<_>, sqlx::Error>>()
                        .map_err(Into::into)
                }

                async fn outgoing_activity(&self, activity_id: i64) -> StoreResult<Option<OutgoingActivity>> {
                    let row = sqlx::query(
                        "SELECT a.id, a.payload, ac.id AS actor_id, ac.username FROM activities a \
                         JOIN actors ac ON ac.id = COALESCE(a.actor_id, (SELECT MIN(id) FROM actors WHERE kind = 'site')) \
                         WHERE a.id = $1",
                    )
                    .bind(activity_id)
                    .fetch_optional(&self.pool)
                    .await?;
                    let Some(row) = row else { return Ok(None) };
                    let payload: Option<String> = row.try_get("payload")?;
                    Ok(payload.map(|payload| OutgoingActivity {
                        id: activity_id,
                        payload,
                        actor_id: row.try_get("actor_id").unwrap_or_default(),
                        actor_username: row.try_get("username").unwrap_or_default(),
                    }))
                }

                async fn private_key_pem(&self, actor_id: i64) -> StoreResult<Option<String>> {
                    let row = sqlx::query("SELECT private_key_pem FROM actors WHERE id = $1")
                        .bind(actor_id)
                        .fetch_optional(&self.pool)
                        .await?;
                    Ok(row.map(|r| r.try_get("private_key_pem")).transpose()?.flatten())
                }

                async fn record_outcomes(&self, outcomes: &[(ClaimedDelivery, Outcome)]) -> StoreResult<()> {
                    let mut tx = self.begin_write().await?;
                    let now = Utc::now();
                    let mut done: std::collections::BTreeMap<(u16, i64), Vec<i64>> = Default::default();
                    for (claim, outcome) in outcomes {
                        let (id, lease) = (claim.id, claim.lease);
                        match outcome {
                            Outcome::Done { status } => done.entry((*status, lease)).or_default().push(id),
                            Outcome::Retry { status, error, at_ms } => {
                                sqlx::query(
                                    "UPDATE deliveries SET attempts = attempts + 1, last_status = $1, last_error = $2, \
                                     next_attempt_at = $3, leased_until = NULL, updated_at = $4 \
                                     WHERE id = $5 AND leased_until = $6",
                                )
                                .bind(status.map(i64::from))
                                .bind(error)
                                .bind(at_ms)
                                .bind(now)
                                .bind(id)
                                .bind(lease)
                                .execute(&mut *tx)
                                .await?;
                            }
                            Outcome::Failed { status, error } => {
                                let failed = sqlx::query(
                                    "UPDATE deliveries SET state = 'failed', attempts = attempts + 1, last_status = $1, \
                                     last_error = $2, leased_until = NULL, updated_at = $3 \
                                     WHERE id = $4 AND leased_until = $5",
                                )
                                .bind(status.map(i64::from))
                                .bind(error)
                                .bind(now)
                                .bind(id)
                                .bind(lease)
                                .execute(&mut *tx)
                                .await?
                                .rows_affected();
                                if failed > 0 && *status == Some(410) {
                                    sqlx::query("DELETE FROM followers WHERE inbox = $1 OR shared_inbox = $1")
                                        .bind(&claim.inbox)
                                        .execute(&mut *tx)
                                        .await?;
                                }
                            }
                            Outcome::Released { at_ms } => {
                                sqlx::query(
                                    "UPDATE deliveries SET next_attempt_at = $1, leased_until = NULL \
                                     WHERE id = $2 AND leased_until = $3",
                                )
                                .bind(at_ms)
                                .bind(id)
                                .bind(lease)
                                .execute(&mut *tx)
                                .await?;
                            }
                        }
                    }
                    for ((status, lease), ids) in done {
                        sqlx::query($outbox_sql.done)
                            .bind(i64::from(status))
                            .bind(now)
                            .bind(json_list(&ids))
                            .bind(lease)
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await?;
                    Ok(())
                }

                async fn deliveries(
                    &self,
                    state: Option<DeliveryState>,
                    offset: i64,
                    limit: i64,
                ) -> StoreResult<Page<Delivery>> {
                    let (limit, offset) = limit_offset(offset, limit);
                    let state = state.map(DeliveryState::as_str);
                    let rows = sqlx::query(concat!(
                        select_delivery!(),
                        "WHERE ($1 IS NULL OR d.state = $1) ORDER BY d.id DESC LIMIT $2 OFFSET $3"
                    ))
                    .bind(state)
                    .bind(limit)
                    .bind(offset)
                    .fetch_all(&self.pool)
                    .await?;
                    let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM deliveries WHERE ($1 IS NULL OR state = $1)")
                        .bind(state)
                        .fetch_one(&self.pool)
                        .await?
                        .try_get("n")?;
                    let items = rows.iter().map(delivery_from_row).collect::<Result<Vec<_>, _>>()?;
                    Ok(Page { items, total })
                }

                async fn delivery(&self, id: i64) -> StoreResult<Option<Delivery>> {
                    let row = sqlx::query(concat!(select_delivery!(), "WHERE d.id = $1"))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                    Ok(row.as_ref().map(delivery_from_row).transpose()?)
                }

                async fn retry_delivery(&self, id: i64, now_ms: i64) -> StoreResult<Option<Delivery>> {
                    sqlx::query(
                        "UPDATE deliveries SET state = 'pending', next_attempt_at = $1, updated_at = $2 WHERE id = $3",
                    )
                    .bind(now_ms)
                    .bind(Utc::now())
                    .bind(id)
                    .execute(self.writer())
                    .await?;
                    self.delivery(id).await
                }

                async fn resend_article(&self, article_id: i64) -> StoreResult<u64> {
                    let mut tx = self.begin_write().await?;
                    let now = Utc::now();
                    let article = sqlx::query("SELECT deleted_at IS NOT NULL AS deleted FROM articles WHERE id = $1")
                        .bind(article_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                    let Some(article) = article else { return Ok(0) };
                    let deleted: bool = article.try_get("deleted")?;
                    let kind = if deleted { "Delete" } else { "Create" };
                    let mut queued = sqlx::query(
                        "INSERT INTO activities (uuid, kind, article_id, created_at) VALUES ($1, $2, $3, $4)",
                    )
                    .bind(uuid::Uuid::new_v4().to_string())
                    .bind(kind)
                    .bind(article_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    let comments = sqlx::query(
                        "SELECT id, author_id, status FROM comments WHERE article_id = $1 AND origin = 'local' ORDER BY id",
                    )
                    .bind(article_id)
                    .fetch_all(&mut *tx)
                    .await?;
                    for row in comments {
                        let status: String = row.try_get("status")?;
                        let kind = if status == "deleted" || deleted { "Delete" } else { "Create" };
                        queued += sqlx::query(
                            "INSERT INTO activities (uuid, kind, actor_id, article_id, comment_id, created_at) \
                             VALUES ($1, $2, $3, $4, $5, $6)",
                        )
                        .bind(uuid::Uuid::new_v4().to_string())
                        .bind(kind)
                        .bind(row.try_get::<Option<i64>, _>("author_id")?)
                        .bind(article_id)
                        .bind(row.try_get::<i64, _>("id")?)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    }
                    tx.commit().await?;
                    Ok(queued)
                }

                async fn instance_result(
                    &self,
                    host: &str,
                    success: bool,
                    unavailable_after: chrono::Duration,
                ) -> StoreResult<()> {
                    let now = Utc::now();
                    if success {
                        sqlx::query(
                            "INSERT INTO instances (host, last_success_at, unavailable) VALUES ($1, $2, FALSE) \
                             ON CONFLICT (host) DO UPDATE SET last_success_at = excluded.last_success_at, \
                             failing_since = NULL, unavailable = FALSE",
                        )
                        .bind(host)
                        .bind(now)
                        .execute(self.writer())
                        .await?;
                        return Ok(());
                    }
                    let mut tx = self.begin_write().await?;
                    sqlx::query(
                        "INSERT INTO instances (host, failing_since, last_failure_at, unavailable) VALUES ($1, $2, $2, FALSE) \
                         ON CONFLICT (host) DO UPDATE SET last_failure_at = excluded.last_failure_at, \
                         failing_since = COALESCE(instances.failing_since, excluded.failing_since)",
                    )
                    .bind(host)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query("UPDATE instances SET unavailable = TRUE WHERE host = $1 AND failing_since <= $2")
                        .bind(host)
                        .bind(now - unavailable_after)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn server_is_back(&self, host: &str) -> StoreResult<()> {
                    // Called for every signed request: a read (any connection) finds the rare
                    // server to clear, so the common case takes no write.
                    let flagged = sqlx::query(
                        "SELECT 1 AS one FROM instances WHERE host = $1 AND (unavailable = TRUE OR failing_since IS NOT NULL)",
                    )
                    .bind(host)
                    .fetch_optional(&self.pool)
                    .await?;
                    if flagged.is_some() {
                        sqlx::query("UPDATE instances SET unavailable = FALSE, failing_since = NULL WHERE host = $1")
                            .bind(host)
                            .execute(self.writer())
                            .await?;
                    }
                    Ok(())
                }

                async fn unavailable_hosts(&self) -> StoreResult<Vec<String>> {
                    let rows = sqlx::query("SELECT host FROM instances WHERE unavailable = TRUE")
                        .fetch_all(&self.pool)
                        .await?;
                    rows.iter().map(|r| r.try_get("host").map_err(Into::into)).collect()
                }

                async fn outbox_counts(&self) -> StoreResult<OutboxCounts> {
                    let row = sqlx::query(
                        "SELECT (SELECT COUNT(*) FROM activities) AS activities, \
                         (SELECT COUNT(*) FROM deliveries WHERE state = 'pending') AS pending, \
                         (SELECT COUNT(*) FROM deliveries WHERE state = 'done') AS done, \
                         (SELECT COUNT(*) FROM deliveries WHERE state = 'failed') AS failed",
                    )
                    .fetch_one(&self.pool)
                    .await?;
                    Ok(OutboxCounts {
                        activities: row.try_get("activities")?,
                        pending: row.try_get("pending")?,
                        done: row.try_get("done")?,
                        failed: row.try_get("failed")?,
                    })
                }
            }
        }
    };
}
