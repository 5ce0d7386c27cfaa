//! [`import_store!`] implements [`super::import::ImportStore`] for one `sqlx` database type,
//! with SQL both engines accept.

/// Implements `ImportStore` for `$store` (after `sql_store!`, whose row readers and helpers it
/// uses).
macro_rules! import_store {
    ($store:ty, $db:ty) => {
        mod import_impl {
            use std::collections::{HashMap, HashSet};

            use async_trait::async_trait;
            use chrono::Utc;
            use sqlx::Row as _;

            use super::*;
            use crate::store::import::{
                ImportItem, ImportStore, ImportedArticle, ImportedComment, ImportedStatus, ItemOutcome,
            };

            /// A comment as stored, as far as an import compares it.
            struct Stored {
                id: i64,
                local: bool,
                status: Status,
                content: String,
                published: chrono::DateTime<Utc>,
                parent_id: Option<i64>,
            }

            /// What one batch has looked up already: article ids by key, actor ids by site
            /// username, the stored comments that have the keys of the batch's comments (read
            /// at once, by (article id, key)), and the articles whose threads changed.
            #[derive(Default)]
            struct Batch {
                articles: HashMap<String, i64>,
                people: HashMap<String, i64>,
                comments: HashMap<(i64, String), Stored>,
                touched: HashSet<i64>,
            }

            /// Reads every stored comment that has one of `keys`, in one query.
            async fn stored_comments(tx: &mut Tx, keys: &[&str], batch: &mut Batch) -> StoreResult<()> {
                if keys.is_empty() {
                    return Ok(());
                }
                let mut query = sqlx::QueryBuilder::<$db>::new(
                    "SELECT id, article_id, key, origin, status, content, published, parent_id FROM comments WHERE key IN (",
                );
                let mut list = query.separated(", ");
                for key in keys {
                    list.push_bind(key.to_string());
                }
                query.push(")");
                for row in query.build().fetch_all(&mut **tx).await? {
                    let stored = Stored {
                        id: row.try_get("id")?,
                        local: row.try_get::<String, _>("origin")? == "local",
                        status: Status::parse(&row.try_get::<String, _>("status")?),
                        content: row.try_get("content")?,
                        published: row.try_get("published")?,
                        parent_id: row.try_get("parent_id")?,
                    };
                    batch.comments.insert((row.try_get("article_id")?, row.try_get("key")?), stored);
                }
                Ok(())
            }

            fn skipped(reason: &str) -> ItemOutcome {
                ItemOutcome::Skipped(reason.to_string())
            }

            async fn import_article(
                tx: &mut Tx,
                site_actor_id: i64,
                item: &ImportedArticle,
                batch: &mut Batch,
            ) -> StoreResult<ItemOutcome> {
                let draft = &item.draft;
                let existing = article_in(tx, &item.key).await?;
                if existing.is_none() {
                    let same_page = sqlx::query(
                        "SELECT key FROM articles WHERE url = $1 AND remote_ap_id IS NULL AND deleted_at IS NULL \
                         ORDER BY id LIMIT 1",
                    )
                    .bind(draft.url.as_str())
                    .fetch_optional(&mut **tx)
                    .await?;
                    if let Some(row) = same_page {
                        return Ok(ItemOutcome::SameAs(Key::from_store(row.try_get("key")?)));
                    }
                }
                let author = if item.by_site {
                    actor_by_id(tx, site_actor_id).await?
                } else {
                    ensure_person(tx, &item.draft.author).await?
                };
                match existing {
                    Some(stored) if stored.followed.is_some() => Ok(skipped("a followed article has its key")),
                    Some(stored) if stored.deleted_at.is_some() => Ok(skipped("its article was deleted here")),
                    Some(stored) => {
                        batch.articles.insert(item.key.as_str().to_string(), stored.id);
                        if same_article(&stored, draft, &author) {
                            return Ok(ItemOutcome::Unchanged);
                        }
                        let published = draft.published.unwrap_or(stored.published);
                        update_article_row(tx, stored.id, draft, &author, published, draft.updated.or(stored.updated)).await?;
                        batch.touched.insert(stored.id);
                        Ok(ItemOutcome::Updated)
                    }
                    None => {
                        let id = insert_article_row(tx, &item.key, draft, &author, Utc::now()).await?;
                        batch.articles.insert(item.key.as_str().to_string(), id);
                        Ok(ItemOutcome::Created)
                    }
                }
            }

            /// The stored article a comment goes under, or why it cannot.
            async fn article_for(tx: &mut Tx, key: &Key, batch: &mut Batch) -> StoreResult<Result<i64, ItemOutcome>> {
                if let Some(id) = batch.articles.get(key.as_str()) {
                    return Ok(Ok(*id));
                }
                let row = sqlx::query("SELECT id, deleted_at IS NOT NULL AS deleted, remote_ap_id FROM articles WHERE key = $1")
                    .bind(key.as_str())
                    .fetch_optional(&mut **tx)
                    .await?;
                let Some(row) = row else { return Ok(Err(ItemOutcome::NoArticle)) };
                if row.try_get::<bool, _>("deleted")? {
                    return Ok(Err(skipped("its article was deleted here")));
                }
                if row.try_get::<Option<String>, _>("remote_ap_id")?.is_some() {
                    return Ok(Err(skipped("a followed article has its article's key")));
                }
                let id: i64 = row.try_get("id")?;
                batch.articles.insert(key.as_str().to_string(), id);
                Ok(Ok(id))
            }

            async fn person_id(tx: &mut Tx, author: &SiteAuthor, batch: &mut Batch) -> StoreResult<i64> {
                if let Some(id) = batch.people.get(&author.username) {
                    return Ok(*id);
                }
                let id = ensure_person(tx, author).await?.id;
                batch.people.insert(author.username.clone(), id);
                Ok(id)
            }

            async fn import_comment(
                tx: &mut Tx,
                site_actor_id: i64,
                item: &ImportedComment,
                batch: &mut Batch,
            ) -> StoreResult<ItemOutcome> {
                let article_id = match article_for(tx, &item.article, batch).await? {
                    Ok(id) => id,
                    Err(outcome) => return Ok(outcome),
                };
                let parent_id: Option<i64> = match &item.parent {
                    None => None,
                    Some(parent) => match batch.comments.get(&(article_id, parent.as_str().to_string())) {
                        Some(stored) => Some(stored.id),
                        None => {
                            let found = sqlx::query("SELECT id FROM comments WHERE article_id = $1 AND key = $2")
                                .bind(article_id)
                                .bind(parent.as_str())
                                .fetch_optional(&mut **tx)
                                .await?;
                            match found {
                                Some(row) => Some(row.try_get("id")?),
                                None => return Ok(ItemOutcome::NoParent),
                            }
                        }
                    },
                };
                let (status, content) = match item.status {
                    ImportedStatus::Visible => (Status::Visible, item.content.as_str()),
                    ImportedStatus::Held => (Status::Pending, item.content.as_str()),
                    ImportedStatus::Deleted => (Status::Deleted, ""),
                };
                let deleted_at = (status == Status::Deleted).then(Utc::now);
                let key = (article_id, item.key.as_str().to_string());
                if let Some(stored) = batch.comments.get_mut(&key) {
                    if !stored.local {
                        return Ok(skipped("a federated reply has its key"));
                    }
                    if stored.parent_id != parent_id {
                        return Ok(skipped("it answers another item than when it was first stored"));
                    }
                    if stored.status == Status::Deleted && status != Status::Deleted {
                        return Ok(skipped("it was deleted here"));
                    }
                    if stored.status == status && stored.content == content && stored.published == item.published {
                        return Ok(ItemOutcome::Unchanged);
                    }
                    sqlx::query(
                        "UPDATE comments SET status = $1, content = $2, published = $3, updated = $4, \
                         deleted_at = COALESCE(deleted_at, $5) WHERE id = $6",
                    )
                    .bind(status.as_str())
                    .bind(content)
                    .bind(item.published)
                    .bind(Utc::now())
                    .bind(deleted_at)
                    .bind(stored.id)
                    .execute(&mut **tx)
                    .await?;
                    (stored.status, stored.content, stored.published) = (status, content.to_string(), item.published);
                    batch.touched.insert(article_id);
                    return Ok(ItemOutcome::Updated);
                }
                let author_id = match &item.author {
                    Some(author) => person_id(tx, author, batch).await?,
                    None => site_actor_id,
                };
                let id: i64 = sqlx::query(
                    "INSERT INTO comments (article_id, key, parent_id, origin, status, author_id, content, \
                     published, deleted_at, created_at) VALUES ($1, $2, $3, 'local', $4, $5, $6, $7, $8, $9) RETURNING id",
                )
                .bind(article_id)
                .bind(item.key.as_str())
                .bind(parent_id)
                .bind(status.as_str())
                .bind(author_id)
                .bind(content)
                .bind(item.published)
                .bind(deleted_at)
                .bind(Utc::now())
                .fetch_one(&mut **tx)
                .await?
                .try_get("id")?;
                let stored = Stored { id, local: true, status, content: content.to_string(), published: item.published, parent_id };
                batch.comments.insert(key, stored);
                batch.touched.insert(article_id);
                Ok(ItemOutcome::Created)
            }

            async fn import_batch_once(
                store: &$store,
                site_actor_id: i64,
                items: &[ImportItem],
            ) -> StoreResult<Vec<ItemOutcome>> {
                let mut tx = store.begin_write().await?;
                let mut batch = Batch::default();
                let keys: Vec<&str> = items
                    .iter()
                    .filter_map(|item| match item {
                        ImportItem::Comment(comment) => Some(comment.key.as_str()),
                        ImportItem::Article(_) => None,
                    })
                    .collect();
                stored_comments(&mut tx, &keys, &mut batch).await?;
                let mut outcomes = Vec::with_capacity(items.len());
                for item in items {
                    outcomes.push(match item {
                        ImportItem::Article(article) => import_article(&mut tx, site_actor_id, article, &mut batch).await?,
                        ImportItem::Comment(comment) => import_comment(&mut tx, site_actor_id, comment, &mut batch).await?,
                    });
                }
                for article_id in &batch.touched {
                    bump_version(&mut tx, *article_id).await?;
                }
                tx.commit().await?;
                Ok(outcomes)
            }

            #[async_trait]
            impl ImportStore for $store {
                async fn import_batch(&self, site_actor_id: i64, items: &[ImportItem]) -> StoreResult<Vec<ItemOutcome>> {
                    retrying(|| import_batch_once(self, site_actor_id, items)).await
                }
            }
        }
    };
}
