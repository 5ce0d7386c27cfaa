//! [`moderation_store!`] implements [`super::moderation::ModerationStore`] for one `sqlx`
//! database type, with its SQL written once like `federation_store!`. The one statement the
//! engines write apart, claiming due webhook events, comes from [`SQLITE`] or [`POSTGRES`].

use std::collections::HashSet;

/// The statements one back-end writes its own way.
pub(super) struct ModerationSql {
    /// `$1` now, `$2` lease end, `$3` limit; returns `id, event, payload, attempts`.
    pub claim_events: &'static str,
}

/// One writer at a time: a plain UPDATE is a safe claim.
pub(super) const SQLITE: ModerationSql = ModerationSql {
    claim_events: "UPDATE webhook_events SET leased_until = $2 WHERE id IN (SELECT id FROM webhook_events \
                   WHERE state = 'pending' AND next_attempt_at <= $1 AND (leased_until IS NULL OR leased_until <= $1) \
                   ORDER BY next_attempt_at, id LIMIT $3) \
                   RETURNING id, event, payload, CAST(attempts AS BIGINT) AS attempts",
};

/// Several processes claim from one table: each takes rows no other transaction holds.
pub(super) const POSTGRES: ModerationSql = ModerationSql {
    claim_events: "UPDATE webhook_events SET leased_until = $2 WHERE id IN (SELECT id FROM webhook_events \
                   WHERE state = 'pending' AND next_attempt_at <= $1 AND (leased_until IS NULL OR leased_until <= $1) \
                   ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) \
                   RETURNING id, event, payload, CAST(attempts AS BIGINT) AS attempts",
};

/// The columns of a federated reply (`c`) with its article (`a`) and parent (`p`), and its
/// depth counted up the `up` walk the query starts from `page`.
macro_rules! select_moderated {
    ($page:literal, $order:expr) => {
        concat!(
            "WITH RECURSIVE page (id) AS (",
            $page,
            "), up (start, id, parent_id, depth) AS ( \
               SELECT c.id, c.id, c.parent_id, 1 FROM comments c WHERE c.id IN (SELECT id FROM page) \
               UNION ALL \
               SELECT up.start, p.id, p.parent_id, up.depth + 1 FROM comments p JOIN up ON p.id = up.parent_id \
             ) SELECT c.id, c.article_id, a.key AS article_key, a.url AS article_url, c.key, c.remote_ap_id, \
               p.key AS parent_key, c.status, c.remote_author_ap_id, c.remote_author_name, c.remote_author_handle, \
               c.remote_author_url, c.content, c.summary, c.language, c.remote_url, c.attachments, c.published, c.updated, \
               c.moderated_at, (SELECT CAST(MAX(up.depth) AS BIGINT) FROM up WHERE up.start = c.id) AS depth \
             FROM comments c JOIN articles a ON a.id = c.article_id LEFT JOIN comments p ON p.id = c.parent_id \
             WHERE c.id IN (SELECT id FROM page) ",
            $order
        )
    };
}

/// Pending replies oldest first (a queue), the others newest first.
macro_rules! queue_order {
    () => {
        "ORDER BY CASE WHEN $1 = 'pending' THEN c.id ELSE -c.id END"
    };
}

macro_rules! select_event {
    () => {
        "SELECT id, event, payload, state, CAST(attempts AS BIGINT) AS attempts, \
         CAST(last_status AS BIGINT) AS last_status, last_error, next_attempt_at, created_at FROM webhook_events "
    };
}

macro_rules! select_report {
    () => {
        "SELECT id, activity_ap_id, reporter_ap_id, comment, objects, status, created_at, closed_at FROM reports "
    };
}

macro_rules! select_block {
    () => {
        "SELECT id, kind, target, severity, reason, created_at FROM blocks "
    };
}

/// True when `host` is one of `domains` or a subdomain of one.
pub(super) fn covered(host: &str, domains: &HashSet<String>) -> bool {
    let mut rest = host;
    loop {
        if domains.contains(rest) {
            return true;
        }
        match rest.split_once('.') {
            Some((_, parent)) if !parent.is_empty() => rest = parent,
            _ => return false,
        }
    }
}

/// The host of a URL, lower case (None when it is not a URL with a host).
pub(super) fn url_host(url: &str) -> Option<String> {
    url::Url::parse(url).ok()?.host_str().map(str::to_ascii_lowercase)
}

/// The host of a `host[:port]` (as `deliveries.host` has it).
pub(super) fn host_without_port(host_port: &str) -> Option<String> {
    url_host(&format!("http://{host_port}/"))
}

/// Implements `ModerationStore` for `$store` (with `pool`, `writer()` and `begin_write()`, as
/// for `federation_store!`).
macro_rules! moderation_store {
    ($store:ty, $db:ty, $sql:expr) => {
        mod moderation_impl {
            use std::collections::HashSet;

            use async_trait::async_trait;
            use chrono::Utc;
            use sqlx::Row as _;

            use super::*;
            use crate::config::ReplyPolicy;
            use crate::domain::{Key, Status, Upserted};
            use crate::store::federation::{DeliveryState, Outcome};
            use crate::store::federation_sql::limit_offset;
            use crate::store::moderation::{
                ArticlePolicy, BlockEntry, BlockKind, BlockWritten, ClaimedEvent, EventFor, ImportCounts, Moderated,
                ModeratedReply, Moderation, ModerationStore, NewBlock, QueuedEvent, Report, ReportStatus, Severity,
            };
            use crate::store::moderation_sql::{covered, host_without_port, url_host};
            use crate::store::{Page, StoreError, StoreResult};

            type DbRow = <$db as sqlx::Database>::Row;
            type Tx = sqlx::Transaction<'static, $db>;

            fn reply_from_row(row: &DbRow) -> Result<ModeratedReply, sqlx::Error> {
                let text = |column: &str| -> Result<String, sqlx::Error> {
                    Ok(row.try_get::<Option<String>, _>(column)?.unwrap_or_default())
                };
                Ok(ModeratedReply {
                    comment_id: row.try_get("id")?,
                    article_id: row.try_get("article_id")?,
                    article_key: Key::from_store(row.try_get("article_key")?),
                    article_url: row.try_get("article_url")?,
                    key: Key::from_store(row.try_get("key")?),
                    ap_id: text("remote_ap_id")?,
                    parent_key: row.try_get::<Option<String>, _>("parent_key")?.map(Key::from_store),
                    status: Status::parse(&row.try_get::<String, _>("status")?),
                    author_ap_id: text("remote_author_ap_id")?,
                    author_name: text("remote_author_name")?,
                    author_handle: text("remote_author_handle")?,
                    author_url: text("remote_author_url")?,
                    content: row.try_get("content")?,
                    summary: row.try_get("summary")?,
                    language: row.try_get("language")?,
                    remote_url: row.try_get("remote_url")?,
                    attachments: serde_json::from_str(&row.try_get::<String, _>("attachments")?).unwrap_or_default(),
                    published: row.try_get("published")?,
                    updated: row.try_get("updated")?,
                    moderated_at: row.try_get("moderated_at")?,
                    depth: row.try_get::<Option<i64>, _>("depth")?.unwrap_or(1),
                })
            }

            fn policy_from_row(row: &DbRow) -> Result<ArticlePolicy, sqlx::Error> {
                let policy: Option<String> = row.try_get("reply_policy")?;
                Ok(ArticlePolicy {
                    article: Key::from_store(row.try_get("key")?),
                    policy: policy.as_deref().and_then(ReplyPolicy::parse),
                    deleted: row.try_get::<Option<chrono::DateTime<Utc>>, _>("deleted_at")?.is_some(),
                })
            }

            fn report_from_row(row: &DbRow) -> Result<Report, sqlx::Error> {
                let objects: String = row.try_get("objects")?;
                Ok(Report {
                    id: row.try_get("id")?,
                    activity_ap_id: row.try_get("activity_ap_id")?,
                    reporter_ap_id: row.try_get("reporter_ap_id")?,
                    comment: row.try_get("comment")?,
                    objects: serde_json::from_str(&objects).unwrap_or_default(),
                    status: row.try_get("status")?,
                    created_at: row.try_get("created_at")?,
                    closed_at: row.try_get("closed_at")?,
                })
            }

            fn block_from_row(row: &DbRow) -> Result<BlockEntry, sqlx::Error> {
                let kind: String = row.try_get("kind")?;
                let severity: String = row.try_get("severity")?;
                Ok(BlockEntry {
                    id: row.try_get("id")?,
                    kind: if kind == "actor" { BlockKind::Actor } else { BlockKind::Domain },
                    target: row.try_get("target")?,
                    severity: Severity::parse(&severity).unwrap_or(Severity::Suspend),
                    reason: row.try_get("reason")?,
                    created_at: row.try_get("created_at")?,
                })
            }

            fn event_from_row(row: &DbRow) -> Result<QueuedEvent, sqlx::Error> {
                Ok(QueuedEvent {
                    id: row.try_get("id")?,
                    event: row.try_get("event")?,
                    payload: row.try_get("payload")?,
                    state: row.try_get("state")?,
                    attempts: row.try_get("attempts")?,
                    last_status: row.try_get("last_status")?,
                    last_error: row.try_get("last_error")?,
                    next_attempt_ms: row.try_get("next_attempt_at")?,
                    created_at: row.try_get("created_at")?,
                })
            }

            async fn reply_by_id(tx: &mut Tx, comment_id: i64) -> StoreResult<ModeratedReply> {
                let row = sqlx::query(select_moderated!("SELECT id FROM comments WHERE id = $1", ""))
                    .bind(comment_id)
                    .fetch_one(&mut **tx)
                    .await?;
                Ok(reply_from_row(&row)?)
            }

            /// The id and status of the federated reply with this key; NotFound or Invalid (a
            /// local comment's key) otherwise.
            async fn find_reply(tx: &mut Tx, key: &Key) -> StoreResult<(i64, i64, Status)> {
                let row = sqlx::query(
                    "SELECT id, article_id, status FROM comments WHERE key = $1 AND origin = 'remote' ORDER BY id LIMIT 1",
                )
                .bind(key.as_str())
                .fetch_optional(&mut **tx)
                .await?;
                if let Some(row) = row {
                    let status: String = row.try_get("status")?;
                    return Ok((row.try_get("id")?, row.try_get("article_id")?, Status::parse(&status)));
                }
                let local = sqlx::query("SELECT 1 AS one FROM comments WHERE key = $1 LIMIT 1")
                    .bind(key.as_str())
                    .fetch_optional(&mut **tx)
                    .await?;
                Err(match local {
                    Some(_) => StoreError::Invalid(format!(
                        "comment '{key}' is a local comment: local comments are moderated on the site \
                         (PUT or DELETE /api/admin/articles/{{key}}/comments/{{ckey}})"
                    )),
                    None => StoreError::NotFound(format!("no federated reply has the id '{key}'")),
                })
            }

            async fn policy_in(tx: &mut Tx, article: &Key) -> StoreResult<Option<ArticlePolicy>> {
                let row = sqlx::query("SELECT key, reply_policy, deleted_at FROM articles WHERE key = $1")
                    .bind(article.as_str())
                    .fetch_optional(&mut **tx)
                    .await?;
                Ok(row.as_ref().map(policy_from_row).transpose()?)
            }

            async fn queue_event(tx: &mut Tx, event: &crate::store::inbound::WebhookEvent) -> StoreResult<()> {
                let now = Utc::now();
                sqlx::query(
                    "INSERT INTO webhook_events (event, payload, next_attempt_at, created_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(&event.event)
                .bind(&event.payload)
                .bind(now.timestamp_millis())
                .bind(now)
                .execute(&mut **tx)
                .await?;
                Ok(())
            }

            /// Deletes rows of `table` by id, a chunk at a time.
            async fn delete_ids(tx: &mut Tx, table: &'static str, ids: &[i64]) -> StoreResult<u64> {
                let mut deleted = 0;
                for chunk in ids.chunks(500) {
                    let mut query = sqlx::QueryBuilder::<$db>::new(format!("DELETE FROM {table} WHERE id IN ("));
                    let mut list = query.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    query.push(")");
                    deleted += query.build().execute(&mut **tx).await?.rows_affected();
                }
                Ok(deleted)
            }

            /// Removes the follows of accounts on these servers (and their subdomains), and
            /// fails the deliveries still pending to them.
            async fn cut_off_domains(tx: &mut Tx, domains: &HashSet<String>) -> StoreResult<u64> {
                if domains.is_empty() {
                    return Ok(0);
                }
                let followers = sqlx::query("SELECT id, follower_ap_id FROM followers").fetch_all(&mut **tx).await?;
                let mut doomed = Vec::new();
                for row in &followers {
                    let ap_id: String = row.try_get("follower_ap_id")?;
                    if url_host(&ap_id).is_some_and(|host| covered(&host, domains)) {
                        doomed.push(row.try_get::<i64, _>("id")?);
                    }
                }
                let removed = delete_ids(tx, "followers", &doomed).await?;
                let pending =
                    sqlx::query("SELECT id, host FROM deliveries WHERE state = 'pending'").fetch_all(&mut **tx).await?;
                let mut blocked = Vec::new();
                for row in &pending {
                    let host: String = row.try_get("host")?;
                    if host_without_port(&host).is_some_and(|host| covered(&host, domains)) {
                        blocked.push(row.try_get::<i64, _>("id")?);
                    }
                }
                let now = Utc::now();
                for chunk in blocked.chunks(500) {
                    let mut query = sqlx::QueryBuilder::<$db>::new(
                        "UPDATE deliveries SET state = 'failed', last_error = 'the server is blocked (suspend)', \
                         leased_until = NULL, updated_at = ",
                    );
                    query.push_bind(now).push(" WHERE state = 'pending' AND id IN (");
                    let mut list = query.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    query.push(")");
                    query.build().execute(&mut **tx).await?;
                }
                Ok(removed)
            }

            /// Writes one block; returns it, what happened, and whether it newly suspends.
            async fn put_block_in(tx: &mut Tx, block: &NewBlock) -> StoreResult<(BlockEntry, Upserted, bool)> {
                let before = sqlx::query(concat!(select_block!(), "WHERE kind = $1 AND target = $2"))
                    .bind(block.kind.as_str())
                    .bind(&block.target)
                    .fetch_optional(&mut **tx)
                    .await?
                    .as_ref()
                    .map(block_from_row)
                    .transpose()?;
                let reason = match (&block.reason, &before) {
                    (Some(reason), _) => reason.clone(),
                    (None, Some(b)) => b.reason.clone(),
                    (None, None) => String::new(),
                };
                let outcome = match &before {
                    None => Upserted::Created,
                    Some(b) if b.severity == block.severity && b.reason == reason => Upserted::Unchanged,
                    Some(_) => Upserted::Updated,
                };
                if outcome != Upserted::Unchanged {
                    sqlx::query(
                        "INSERT INTO blocks (kind, target, severity, reason, created_at) VALUES ($1, $2, $3, $4, $5) \
                         ON CONFLICT (kind, target) DO UPDATE SET severity = excluded.severity, reason = excluded.reason",
                    )
                    .bind(block.kind.as_str())
                    .bind(&block.target)
                    .bind(block.severity.as_str())
                    .bind(&reason)
                    .bind(Utc::now())
                    .execute(&mut **tx)
                    .await?;
                }
                let newly_suspends = block.severity == Severity::Suspend
                    && before.as_ref().is_none_or(|b| b.severity != Severity::Suspend);
                let stored = sqlx::query(concat!(select_block!(), "WHERE kind = $1 AND target = $2"))
                    .bind(block.kind.as_str())
                    .bind(&block.target)
                    .fetch_one(&mut **tx)
                    .await?;
                Ok((block_from_row(&stored)?, outcome, newly_suspends))
            }

            /// Applies the suspensions a write made: follows of those servers and accounts go.
            async fn apply_suspensions(tx: &mut Tx, domains: &HashSet<String>, actors: &[String]) -> StoreResult<u64> {
                let mut removed = cut_off_domains(tx, domains).await?;
                for actor in actors {
                    removed += sqlx::query("DELETE FROM followers WHERE follower_ap_id = $1")
                        .bind(actor)
                        .execute(&mut **tx)
                        .await?
                        .rows_affected();
                }
                Ok(removed)
            }

            #[async_trait]
            impl ModerationStore for $store {
                async fn article_policy(&self, article: &Key) -> StoreResult<Option<ArticlePolicy>> {
                    let row = sqlx::query("SELECT key, reply_policy, deleted_at FROM articles WHERE key = $1")
                        .bind(article.as_str())
                        .fetch_optional(&self.pool)
                        .await?;
                    Ok(row.as_ref().map(policy_from_row).transpose()?)
                }

                async fn set_reply_policy(&self, article: &Key, policy: Option<ReplyPolicy>) -> StoreResult<ArticlePolicy> {
                    let mut tx = self.begin_write().await?;
                    match policy_in(&mut tx, article).await? {
                        None => return Err(StoreError::NotFound(format!("article '{article}' does not exist"))),
                        Some(p) if p.deleted => return Err(StoreError::Gone(format!("article '{article}' was deleted"))),
                        Some(_) => {}
                    }
                    sqlx::query("UPDATE articles SET reply_policy = $1 WHERE key = $2")
                        .bind(policy.map(ReplyPolicy::as_str))
                        .bind(article.as_str())
                        .execute(&mut *tx)
                        .await?;
                    let stored = policy_in(&mut tx, article)
                        .await?
                        .ok_or_else(|| StoreError::NotFound(format!("article '{article}' vanished")))?;
                    tx.commit().await?;
                    Ok(stored)
                }

                async fn moderation_queue(
                    &self,
                    status: Status,
                    offset: i64,
                    limit: i64,
                ) -> StoreResult<Page<ModeratedReply>> {
                    let (limit, offset) = limit_offset(offset, limit);
                    let rows = sqlx::query(select_moderated!(
                        "SELECT id FROM comments WHERE origin = 'remote' AND status = $1 \
                         ORDER BY CASE WHEN $1 = 'pending' THEN id ELSE -id END LIMIT $2 OFFSET $3",
                        queue_order!()
                    ))
                    .bind(status.as_str())
                    .bind(limit)
                    .bind(offset)
                    .fetch_all(&self.pool)
                    .await?;
                    let total: i64 =
                        sqlx::query("SELECT COUNT(*) AS n FROM comments WHERE origin = 'remote' AND status = $1")
                            .bind(status.as_str())
                            .fetch_one(&self.pool)
                            .await?
                            .try_get("n")?;
                    let items = rows.iter().map(reply_from_row).collect::<Result<Vec<_>, _>>()?;
                    Ok(Page { items, total })
                }

                async fn moderated_reply(&self, key: &Key) -> StoreResult<ModeratedReply> {
                    // Read on the pool: a transaction that only reads needs no write lock.
                    let mut tx = self.pool.begin().await?;
                    let (id, _, _) = find_reply(&mut tx, key).await?;
                    let reply = reply_by_id(&mut tx, id).await?;
                    tx.commit().await?;
                    Ok(reply)
                }

                async fn moderate_reply(
                    &self,
                    key: &Key,
                    action: Moderation,
                    event: EventFor<'_>,
                ) -> StoreResult<Moderated> {
                    let mut tx = self.begin_write().await?;
                    let (id, article_id, status) = find_reply(&mut tx, key).await?;
                    let (to, from) = match (action, status) {
                        (Moderation::Approve | Moderation::Reject, Status::Deleted) => {
                            return Err(StoreError::Conflict(format!(
                                "reply '{key}' was deleted by its author: there is nothing to moderate"
                            )))
                        }
                        (Moderation::Approve, _) => (Status::Visible, [Status::Pending, Status::Rejected]),
                        (Moderation::Reject | Moderation::Remove, _) => {
                            (Status::Rejected, [Status::Pending, Status::Visible])
                        }
                    };
                    let changed = sqlx::query(
                        "UPDATE comments SET status = $1, moderated_at = $2 WHERE id = $3 AND (status = $4 OR status = $5)",
                    )
                    .bind(to.as_str())
                    .bind(Utc::now())
                    .bind(id)
                    .bind(from[0].as_str())
                    .bind(from[1].as_str())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                        > 0;
                    let version = if changed {
                        let row = sqlx::query("UPDATE articles SET version = version + 1 WHERE id = $1 RETURNING version")
                            .bind(article_id)
                            .fetch_one(&mut *tx)
                            .await?;
                        Some(row.try_get::<i64, _>("version")?)
                    } else {
                        None
                    };
                    let reply = reply_by_id(&mut tx, id).await?;
                    if changed {
                        if let Some(event) = event(action, &reply) {
                            queue_event(&mut tx, &event).await?;
                        }
                    }
                    tx.commit().await?;
                    Ok(Moderated { reply, version })
                }

                async fn reports(
                    &self,
                    status: Option<ReportStatus>,
                    offset: i64,
                    limit: i64,
                ) -> StoreResult<Page<Report>> {
                    let (limit, offset) = limit_offset(offset, limit);
                    let status = status.map(ReportStatus::as_str);
                    let rows = sqlx::query(concat!(
                        select_report!(),
                        "WHERE ($1 IS NULL OR status = $1) ORDER BY id DESC LIMIT $2 OFFSET $3"
                    ))
                    .bind(status)
                    .bind(limit)
                    .bind(offset)
                    .fetch_all(&self.pool)
                    .await?;
                    let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM reports WHERE ($1 IS NULL OR status = $1)")
                        .bind(status)
                        .fetch_one(&self.pool)
                        .await?
                        .try_get("n")?;
                    let items = rows.iter().map(report_from_row).collect::<Result<Vec<_>, _>>()?;
                    Ok(Page { items, total })
                }

                async fn close_report(&self, id: i64) -> StoreResult<Option<Report>> {
                    let mut tx = self.begin_write().await?;
                    sqlx::query("UPDATE reports SET status = 'closed', closed_at = $1 WHERE id = $2 AND status = 'open'")
                        .bind(Utc::now())
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    let row = sqlx::query(concat!(select_report!(), "WHERE id = $1"))
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(row.as_ref().map(report_from_row).transpose()?)
                }

                async fn put_block(&self, block: &NewBlock) -> StoreResult<BlockWritten> {
                    let mut tx = self.begin_write().await?;
                    let (stored, outcome, newly_suspends) = put_block_in(&mut tx, block).await?;
                    let followers_removed = match (newly_suspends, block.kind) {
                        (false, _) => 0,
                        (true, BlockKind::Domain) => {
                            apply_suspensions(&mut tx, &HashSet::from([block.target.clone()]), &[]).await?
                        }
                        (true, BlockKind::Actor) => {
                            apply_suspensions(&mut tx, &HashSet::new(), std::slice::from_ref(&block.target)).await?
                        }
                    };
                    tx.commit().await?;
                    Ok(BlockWritten { block: stored, outcome, followers_removed })
                }

                async fn import_blocks(&self, blocks: &[NewBlock]) -> StoreResult<ImportCounts> {
                    let mut tx = self.begin_write().await?;
                    let mut counts = ImportCounts::default();
                    let mut domains = HashSet::new();
                    let mut actors = Vec::new();
                    for block in blocks {
                        let (_, outcome, newly_suspends) = put_block_in(&mut tx, block).await?;
                        match outcome {
                            Upserted::Created => counts.imported += 1,
                            Upserted::Updated => counts.updated += 1,
                            Upserted::Unchanged => counts.unchanged += 1,
                        }
                        if newly_suspends {
                            match block.kind {
                                BlockKind::Domain => {
                                    domains.insert(block.target.clone());
                                }
                                BlockKind::Actor => actors.push(block.target.clone()),
                            }
                        }
                    }
                    counts.followers_removed = apply_suspensions(&mut tx, &domains, &actors).await?;
                    tx.commit().await?;
                    Ok(counts)
                }

                async fn delete_block(&self, kind: BlockKind, target: &str) -> StoreResult<Option<BlockEntry>> {
                    let mut tx = self.begin_write().await?;
                    let row = sqlx::query(concat!(select_block!(), "WHERE kind = $1 AND target = $2"))
                        .bind(kind.as_str())
                        .bind(target)
                        .fetch_optional(&mut *tx)
                        .await?;
                    let Some(row) = row else { return Ok(None) };
                    let block = block_from_row(&row)?;
                    sqlx::query("DELETE FROM blocks WHERE id = $1").bind(block.id).execute(&mut *tx).await?;
                    tx.commit().await?;
                    Ok(Some(block))
                }

                async fn blocks(&self) -> StoreResult<Vec<BlockEntry>> {
                    let rows = sqlx::query(concat!(select_block!(), "ORDER BY kind DESC, target"))
                        .fetch_all(&self.pool)
                        .await?;
                    Ok(rows.iter().map(block_from_row).collect::<Result<Vec<_>, _>>()?)
                }

                async fn claim_webhook_events(
                    &self,
                    now_ms: i64,
                    lease_until_ms: i64,
                    limit: i64,
                ) -> StoreResult<Vec<ClaimedEvent>> {
                    let rows = sqlx::query($sql.claim_events)
                        .bind(now_ms)
                        .bind(lease_until_ms)
                        .bind(limit)
                        .fetch_all(self.writer())
                        .await?;
                    let mut claimed = rows
                        .iter()
                        .map(|row| {
                            Ok(ClaimedEvent {
                                id: row.try_get("id")?,
                                event: row.try_get("event")?,
                                payload: row.try_get("payload")?,
                                attempts: row.try_get("attempts")?,
                                lease: lease_until_ms,
                            })
                        })
                        .collect::<Result<Vec<_>, sqlx::Error>>()?;
                    // RETURNING gives no order: send oldest first.
                    claimed.sort_by_key(|e| e.id);
                    Ok(claimed)
                }

                async fn record_webhook_outcome(&self, event: &ClaimedEvent, outcome: &Outcome) -> StoreResult<bool> {
                    // `$1` the event, `$2` its lease: only while the claim is still ours.
                    let query = match outcome {
                        Outcome::Done { status } => sqlx::query(
                            "UPDATE webhook_events SET state = 'done', attempts = attempts + 1, last_status = $3, \
                             last_error = NULL, leased_until = NULL WHERE id = $1 AND leased_until = $2",
                        )
                        .bind(event.id)
                        .bind(event.lease)
                        .bind(i64::from(*status)),
                        Outcome::Retry { status, error, at_ms } => sqlx::query(
                            "UPDATE webhook_events SET attempts = attempts + 1, last_status = $3, last_error = $4, \
                             next_attempt_at = $5, leased_until = NULL WHERE id = $1 AND leased_until = $2",
                        )
                        .bind(event.id)
                        .bind(event.lease)
                        .bind(status.map(i64::from))
                        .bind(error.as_str())
                        .bind(*at_ms),
                        Outcome::Failed { status, error } => sqlx::query(
                            "UPDATE webhook_events SET state = 'failed', attempts = attempts + 1, last_status = $3, \
                             last_error = $4, leased_until = NULL WHERE id = $1 AND leased_until = $2",
                        )
                        .bind(event.id)
                        .bind(event.lease)
                        .bind(status.map(i64::from))
                        .bind(error.as_str()),
                        Outcome::Released { at_ms } => sqlx::query(
                            "UPDATE webhook_events SET next_attempt_at = $3, leased_until = NULL \
                             WHERE id = $1 AND leased_until = $2",
                        )
                        .bind(event.id)
                        .bind(event.lease)
                        .bind(*at_ms),
                    };
                    Ok(query.execute(self.writer()).await?.rows_affected() > 0)
                }

                async fn webhook_events(
                    &self,
                    state: Option<DeliveryState>,
                    offset: i64,
                    limit: i64,
                ) -> StoreResult<Page<QueuedEvent>> {
                    let (limit, offset) = limit_offset(offset, limit);
                    let state = state.map(DeliveryState::as_str);
                    let rows = sqlx::query(concat!(
                        select_event!(),
                        "WHERE ($1 IS NULL OR state = $1) ORDER BY id DESC LIMIT $2 OFFSET $3"
                    ))
                    .bind(state)
                    .bind(limit)
                    .bind(offset)
                    .fetch_all(&self.pool)
                    .await?;
                    let total: i64 =
                        sqlx::query("SELECT COUNT(*) AS n FROM webhook_events WHERE ($1 IS NULL OR state = $1)")
                            .bind(state)
                            .fetch_one(&self.pool)
                            .await?
                            .try_get("n")?;
                    let items = rows.iter().map(event_from_row).collect::<Result<Vec<_>, _>>()?;
                    Ok(Page { items, total })
                }

                async fn webhook_event(&self, id: i64) -> StoreResult<Option<QueuedEvent>> {
                    let row = sqlx::query(concat!(select_event!(), "WHERE id = $1"))
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await?;
                    Ok(row.as_ref().map(event_from_row).transpose()?)
                }

                async fn retry_webhook_event(&self, id: i64, now_ms: i64) -> StoreResult<Option<QueuedEvent>> {
                    sqlx::query("UPDATE webhook_events SET state = 'pending', next_attempt_at = $1 WHERE id = $2")
                        .bind(now_ms)
                        .bind(id)
                        .execute(self.writer())
                        .await?;
                    self.webhook_event(id).await
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_domain_covers_its_subdomains_only() {
        let domains = HashSet::from(["spam.example".to_string()]);
        assert!(covered("spam.example", &domains));
        assert!(covered("a.b.spam.example", &domains));
        assert!(!covered("notspam.example", &domains));
        assert!(!covered("example", &domains));
        assert_eq!(host_without_port("Mastodon.Example:8443").as_deref(), Some("mastodon.example"));
        assert_eq!(host_without_port("[::1]:80").as_deref(), Some("[::1]"));
    }
}
