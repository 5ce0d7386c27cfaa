//! The SQL both back-ends share, and [`sql_store!`], which implements [`super::Store`] over it
//! for one `sqlx` database type. The queries are plain runtime SQL with `$n` placeholders, which
//! SQLite and PostgreSQL both read; where the two engines differ, the back-end's own module
//! supplies the piece (how a write transaction begins).

/// The columns of a local actor under table alias `$p`, with `$key` as its public key (an
/// article's or comment's author is read with `NULL` there: the key is not needed).
macro_rules! actor_columns {
    ($p:literal, $key:literal) => {
        concat!(
            $p,
            ".id AS actor_id, ",
            $p,
            ".username AS actor_username, ",
            $p,
            ".kind AS actor_kind, ",
            $p,
            ".site_username AS actor_site_username, ",
            $p,
            ".display_name AS actor_display_name, ",
            $key,
            " AS actor_public_key_pem, ",
            $p,
            ".created_at AS actor_created_at"
        )
    };
}

macro_rules! select_actor {
    () => {
        concat!("SELECT ", actor_columns!("au", "au.public_key_pem"), " FROM actors au ")
    };
}

macro_rules! select_article {
    () => {
        concat!(
            "SELECT ar.id, ar.key, ar.title, ar.url, ar.content, ar.summary, ar.tags, ar.image_url, ",
            "ar.image_alt, ar.language, ar.sensitive, ar.published, ar.updated, ar.deleted_at, ar.version, ",
            "ar.remote_ap_id, ar.remote_author_ap_id, ar.remote_author_name, ar.remote_author_handle, ",
            actor_columns!("au", "NULL"),
            " FROM articles ar JOIN actors au ON au.id = ar.author_id "
        )
    };
}

macro_rules! select_comment {
    () => {
        concat!(
            "SELECT c.id, c.article_id, c.key, c.origin, c.status, c.content, c.published, c.updated, c.deleted_at, ",
            "c.remote_ap_id, c.remote_author_ap_id, c.remote_author_name, c.remote_author_handle, ",
            "c.remote_author_url, c.summary, c.language, c.remote_url, c.attachments, c.sensitive, p.id AS parent_id, p.key AS parent_key, p.remote_ap_id AS parent_remote_ap_id, ",
            "p.remote_author_ap_id AS parent_remote_author_ap_id, p.remote_author_handle AS parent_remote_author_handle, ",
            actor_columns!("au", "NULL"),
            " FROM comments c LEFT JOIN comments p ON p.id = c.parent_id LEFT JOIN actors au ON au.id = c.author_id "
        )
    };
}

/// The narrow row of the thread query, as a list of values (see `thread_rows.rs`).
macro_rules! thread_row_values {
    () => {
        "c.id, c.article_id, c.key, c.parent_id, c.origin, c.status, c.content, c.published, c.updated, \
         c.deleted_at, c.author_id, c.remote_ap_id, c.remote_author_ap_id, c.remote_author_name, \
         c.remote_author_handle, c.remote_author_url, c.summary, c.language, c.remote_url, c.attachments, \
         c.sensitive"
    };
}

/// The shown replies: visible ones, and deleted ones with a visible reply below them (placeholders,
/// looked for two levels down: enough for all but chains of three deleted comments).
macro_rules! shown_reply {
    () => {
        " AND (c.status = 'visible' OR (c.status = 'deleted' AND EXISTS (SELECT 1 FROM comments k WHERE k.parent_id = c.id \
           AND (k.status = 'visible' OR (k.status = 'deleted' AND EXISTS \
           (SELECT 1 FROM comments g WHERE g.parent_id = k.id AND g.status = 'visible')))))) "
    };
}

/// Runs a write again when it lost a race another writer won (a unique key taken meanwhile, a
/// deadlock or a serialisation failure): the next attempt reads what the winner stored and
/// takes the update path, so concurrent PUTs of one key are all answered as upserts.
pub(super) async fn retrying<T, F, Fut>(mut attempt: F) -> super::StoreResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = super::StoreResult<T>>,
{
    for _ in 0..4 {
        match attempt().await {
            Err(super::StoreError::Database(e)) if lost_a_race(&e) => continue,
            other => return other,
        }
    }
    attempt().await
}

fn lost_a_race(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => {
            db.is_unique_violation() || matches!(db.code().as_deref(), Some("40001" | "40P01"))
        }
        _ => false,
    }
}

/// Implements `Store` for `$store`, which has a `pool: sqlx::Pool<$db>` field and an
/// `async fn begin_write(&self) -> Result<sqlx::Transaction<'static, $db>, sqlx::Error>`.
macro_rules! sql_store {
    ($store:ty, $db:ty, $migrator:expr, $thread_sql:expr) => {
        use async_trait::async_trait;
        use chrono::Utc;
        use sqlx::Row as _;

        use crate::domain::{
            self, username, ActorKind, Article, ArticleDraft, Comment, CommentAuthor, CommentDraft, ItemRef,
            Key, LocalActor, Origin, ParentRef, SiteAuthor, Status, Tag, Upserted,
        };
        use crate::domain::html::SafeHtml;
        use crate::store::sql::retrying;
        use crate::store::thread_rows;
        use crate::store::{Page, Stats, Store, StoreError, StoreResult, Thread};

        type DbRow = <$db as sqlx::Database>::Row;
        type Tx = sqlx::Transaction<'static, $db>;

        fn actor_from_row(row: &DbRow) -> Result<LocalActor, sqlx::Error> {
            Ok(LocalActor {
                id: row.try_get("actor_id")?,
                username: row.try_get("actor_username")?,
                kind: ActorKind::parse(&row.try_get::<String, _>("actor_kind")?),
                display_name: row.try_get("actor_display_name")?,
                site_username: row.try_get("actor_site_username")?,
                public_key_pem: row.try_get("actor_public_key_pem")?,
                created_at: row.try_get("actor_created_at")?,
            })
        }

        fn article_from_row(row: &DbRow) -> Result<Article, sqlx::Error> {
            let url: String = row.try_get("url")?;
            let tags: String = row.try_get("tags")?;
            let tags: Vec<String> = serde_json::from_str(&tags).unwrap_or_default();
            let image_url: Option<String> = row.try_get("image_url")?;
            Ok(Article {
                id: row.try_get("id")?,
                key: Key::from_store(row.try_get("key")?),
                title: row.try_get("title")?,
                url: url::Url::parse(&url).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
                content: SafeHtml::from_store(row.try_get("content")?),
                summary: row.try_get("summary")?,
                author: actor_from_row(row)?,
                tags: tags.iter().filter_map(|t| Tag::parse(t).ok()).collect(),
                published: row.try_get("published")?,
                updated: row.try_get("updated")?,
                image: image_url.and_then(|u| url::Url::parse(&u).ok()).map(|url| domain::Image {
                    url,
                    alt: row.try_get("image_alt").ok().flatten(),
                }),
                language: row.try_get("language")?,
                sensitive: row.try_get("sensitive")?,
                deleted_at: row.try_get("deleted_at")?,
                version: row.try_get("version")?,
                followed: match row.try_get::<Option<String>, _>("remote_ap_id")? {
                    None => None,
                    Some(ap_id) => Some(domain::FollowedFrom {
                        ap_id,
                        author_ap_id: row.try_get::<Option<String>, _>("remote_author_ap_id")?.unwrap_or_default(),
                        author_name: row.try_get("remote_author_name")?,
                        author_handle: row.try_get("remote_author_handle")?,
                    }),
                },
            })
        }

        fn comment_from_row(row: &DbRow) -> Result<Comment, sqlx::Error> {
            let origin: String = row.try_get("origin")?;
            let origin = if origin == "remote" { Origin::Remote } else { Origin::Local };
            let author = match origin {
                Origin::Local => CommentAuthor::Local(actor_from_row(row)?),
                Origin::Remote => CommentAuthor::Remote {
                    ap_id: row.try_get::<Option<String>, _>("remote_author_ap_id")?.unwrap_or_default(),
                    name: row.try_get::<Option<String>, _>("remote_author_name")?.unwrap_or_default(),
                    handle: row.try_get::<Option<String>, _>("remote_author_handle")?.unwrap_or_default(),
                    url: row.try_get::<Option<String>, _>("remote_author_url")?.unwrap_or_default(),
                },
            };
            let parent_id: Option<i64> = row.try_get("parent_id")?;
            let parent = match parent_id {
                None => None,
                Some(id) => {
                    let author_ap: Option<String> = row.try_get("parent_remote_author_ap_id")?;
                    let author_handle: Option<String> = row.try_get("parent_remote_author_handle")?;
                    Some(ParentRef {
                        id,
                        key: Key::from_store(row.try_get("parent_key")?),
                        remote_ap_id: row.try_get("parent_remote_ap_id")?,
                        remote_author: author_ap.map(|a| (a, author_handle.unwrap_or_default())),
                    })
                }
            };
            Ok(Comment {
                id: row.try_get("id")?,
                article_id: row.try_get("article_id")?,
                key: Key::from_store(row.try_get("key")?),
                parent,
                origin,
                status: Status::parse(&row.try_get::<String, _>("status")?),
                author,
                content: SafeHtml::from_store(row.try_get("content")?),
                published: row.try_get("published")?,
                updated: row.try_get("updated")?,
                deleted_at: row.try_get("deleted_at")?,
                remote: thread_rows::remote_details(
                    origin,
                    row.try_get("summary")?,
                    row.try_get("language")?,
                    row.try_get("remote_url")?,
                    &row.try_get::<String, _>("attachments")?,
                    row.try_get("sensitive")?,
                ),
                remote_ap_id: row.try_get("remote_ap_id")?,
            })
        }

        async fn actor_by_id(tx: &mut Tx, id: i64) -> StoreResult<LocalActor> {
            let row = sqlx::query(concat!(select_actor!(), "WHERE au.id = $1"))
                .bind(id)
                .fetch_one(&mut **tx)
                .await?;
            Ok(actor_from_row(&row)?)
        }

        /// The Person actor of a site user, created on their first article or comment.
        async fn ensure_person(tx: &mut Tx, author: &SiteAuthor) -> StoreResult<LocalActor> {
            let display_name = author.name.clone().unwrap_or_else(|| author.username.clone());
            let existing = sqlx::query(concat!(select_actor!(), "WHERE au.site_username = $1"))
                .bind(&author.username)
                .fetch_optional(&mut **tx)
                .await?;
            if let Some(row) = existing {
                let actor = actor_from_row(&row)?;
                if author.name.is_some() && actor.display_name != display_name {
                    sqlx::query("UPDATE actors SET display_name = $1 WHERE id = $2")
                        .bind(&display_name)
                        .bind(actor.id)
                        .execute(&mut **tx)
                        .await?;
                    // Every thread that shows this name has changed.
                    sqlx::query(
                        "UPDATE articles SET version = version + 1 WHERE author_id = $1 \
                         OR id IN (SELECT article_id FROM comments WHERE author_id = $1)",
                    )
                    .bind(actor.id)
                    .execute(&mut **tx)
                    .await?;
                    return actor_by_id(tx, actor.id).await;
                }
                return Ok(actor);
            }
            let mut candidate = username::base_username(&author.username);
            for attempt in 0..16u32 {
                let inserted = sqlx::query(
                    "INSERT INTO actors (username, kind, site_username, display_name, created_at) \
                     VALUES ($1, 'person', $2, $3, $4) ON CONFLICT DO NOTHING RETURNING id",
                )
                .bind(&candidate)
                .bind(&author.username)
                .bind(&display_name)
                .bind(Utc::now())
                .fetch_optional(&mut **tx)
                .await?;
                if let Some(row) = inserted {
                    return actor_by_id(tx, row.try_get("id")?).await;
                }
                // Either another request created this very person, or the username is taken.
                let raced = sqlx::query("SELECT id FROM actors WHERE site_username = $1")
                    .bind(&author.username)
                    .fetch_optional(&mut **tx)
                    .await?;
                if let Some(row) = raced {
                    return actor_by_id(tx, row.try_get("id")?).await;
                }
                candidate = username::disambiguated(&author.username, attempt);
            }
            Err(StoreError::Conflict(format!("no free username for '{}'", author.username)))
        }

        async fn article_in(tx: &mut Tx, key: &Key) -> StoreResult<Option<Article>> {
            let row = sqlx::query(concat!(select_article!(), "WHERE ar.key = $1"))
                .bind(key.as_str())
                .fetch_optional(&mut **tx)
                .await?;
            Ok(row.as_ref().map(article_from_row).transpose()?)
        }

        /// The article of a comment write: it must exist and not be deleted.
        async fn live_article(tx: &mut Tx, key: &Key) -> StoreResult<Article> {
            match article_in(tx, key).await? {
                None => Err(StoreError::NotFound(format!("article '{key}' does not exist"))),
                Some(a) if a.deleted_at.is_some() => Err(StoreError::Gone(format!("article '{key}' was deleted"))),
                Some(a) => Ok(a),
            }
        }

        async fn comment_in(tx: &mut Tx, article_id: i64, key: &Key) -> StoreResult<Option<Comment>> {
            let row = sqlx::query(concat!(select_comment!(), "WHERE c.article_id = $1 AND c.key = $2"))
                .bind(article_id)
                .bind(key.as_str())
                .fetch_optional(&mut **tx)
                .await?;
            Ok(row.as_ref().map(comment_from_row).transpose()?)
        }

        /// Marks a change to an article or its thread (see `articles.version`).
        async fn bump_version(tx: &mut Tx, article_id: i64) -> StoreResult<()> {
            sqlx::query("UPDATE articles SET version = version + 1 WHERE id = $1")
                .bind(article_id)
                .execute(&mut **tx)
                .await?;
            Ok(())
        }

        /// Queues an activity announcing a change, in the change's own transaction: the worker
        /// renders and delivers it (see `delivery`). `actor_id` None is the site actor.
        async fn queue_activity(
            tx: &mut Tx,
            kind: &str,
            actor_id: Option<i64>,
            article_id: i64,
            comment_id: Option<i64>,
        ) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO activities (uuid, kind, actor_id, article_id, comment_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(kind)
            .bind(actor_id)
            .bind(article_id)
            .bind(comment_id)
            .bind(Utc::now())
            .execute(&mut **tx)
            .await?;
            Ok(())
        }

        article_writes!($db);

        fn limit_offset(offset: i64, limit: i64) -> (i64, i64) {
            (limit.clamp(0, 1000), offset.max(0))
        }

        async fn upsert_article_once(store: &$store, key: &Key, draft: &ArticleDraft) -> StoreResult<(Article, Upserted)> {
            let mut tx = store.begin_write().await?;
            let author = ensure_person(&mut tx, &draft.author).await?;
            let existing = article_in(&mut tx, key).await?;
            let now = Utc::now();
            let outcome = match existing {
                Some(stored) if stored.followed.is_some() => {
                    return Err(StoreError::Conflict(format!(
                        "'{key}' is a followed article: it changes when its author changes it"
                    )));
                }
                Some(stored) if stored.deleted_at.is_some() => {
                    return Err(StoreError::Conflict(format!(
                        "article '{key}' was deleted; its id cannot be used again"
                    )));
                }
                Some(stored) if same_article(&stored, draft, &author) => {
                    // Commits the author's display name, which may have changed alone.
                    tx.commit().await?;
                    return Ok((stored, Upserted::Unchanged));
                }
                Some(stored) => {
                    let published = draft.published.unwrap_or(stored.published);
                    update_article_row(&mut tx, stored.id, draft, &author, published, Some(draft.updated.unwrap_or(now))).await?;
                    bump_version(&mut tx, stored.id).await?;
                    queue_activity(&mut tx, "Update", None, stored.id, None).await?;
                    Upserted::Updated
                }
                None => {
                    let id = insert_article_row(&mut tx, key, draft, &author, now).await?;
                    queue_activity(&mut tx, "Create", None, id, None).await?;
                    Upserted::Created
                }
            };
            let article = article_in(&mut tx, key)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("article '{key}' vanished")))?;
            tx.commit().await?;
            Ok((article, outcome))
        }


        async fn upsert_comment_once(
        store: &$store,
        article_key: &Key,
        key: &Key,
        draft: &CommentDraft,
        ) -> StoreResult<(Comment, Upserted)> {
            let mut tx = store.begin_write().await?;
            let article = live_article(&mut tx, article_key).await?;
            if draft.parent.as_ref() == Some(key) {
                return Err(StoreError::Invalid(format!("parent '{key}' is the comment itself: a comment cannot answer itself")));
            }
            let parent = match &draft.parent {
                None => None,
                Some(pkey) => Some(comment_in(&mut tx, article.id, pkey).await?.ok_or_else(|| {
                    StoreError::Invalid(format!("parent '{pkey}' is not an item of article '{article_key}'"))
                })?),
            };
            let now = Utc::now();
            let outcome = match comment_in(&mut tx, article.id, key).await? {
                Some(stored) => {
                    let stored_author = match &stored.author {
                        CommentAuthor::Local(actor) => actor.site_username.clone(),
                        CommentAuthor::Remote { .. } => {
                            return Err(StoreError::Conflict(format!(
                                "'{key}' is a federated reply; the site cannot overwrite it"
                            )));
                        }
                    };
                    if stored.is_deleted() {
                        return Err(StoreError::Conflict(format!(
                            "comment '{key}' was deleted; its id cannot be used again"
                        )));
                    }
                    if stored_author.as_deref() != Some(draft.author.username.as_str()) {
                        return Err(StoreError::Conflict(format!(
                            "comment '{key}' was written by someone else; its author cannot change"
                        )));
                    }
                    if stored.parent_id() != parent.as_ref().map(|p| p.id) {
                        return Err(StoreError::Conflict(format!(
                            "comment '{key}' answers another item; a comment cannot move in its thread"
                        )));
                    }
                    // Keeps the commenter's display name current even when the comment is the same.
                    ensure_person(&mut tx, &draft.author).await?;
                    let same = stored.content == draft.content
                        && draft.published.is_none_or(|p| p == stored.published);
                    if same {
                        let comment = comment_in(&mut tx, article.id, key).await?.unwrap_or(stored);
                        tx.commit().await?;
                        return Ok((comment, Upserted::Unchanged));
                    }
                    sqlx::query("UPDATE comments SET content = $1, published = $2, updated = $3 WHERE id = $4")
                        .bind(draft.content.as_str())
                        .bind(draft.published.unwrap_or(stored.published))
                        .bind(now)
                        .bind(stored.id)
                        .execute(&mut *tx)
                        .await?;
                    bump_version(&mut tx, article.id).await?;
                    let author_id = match &stored.author {
                        CommentAuthor::Local(actor) => Some(actor.id),
                        CommentAuthor::Remote { .. } => None,
                    };
                    queue_activity(&mut tx, "Update", author_id, article.id, Some(stored.id)).await?;
                    Upserted::Updated
                }
                None => {
                    let author = ensure_person(&mut tx, &draft.author).await?;
                    let id: i64 = sqlx::query(
                        "INSERT INTO comments (article_id, key, parent_id, origin, status, author_id, content, \
                         published, created_at) VALUES ($1, $2, $3, 'local', 'visible', $4, $5, $6, $7) RETURNING id",
                    )
                    .bind(article.id)
                    .bind(key.as_str())
                    .bind(parent.as_ref().map(|p| p.id))
                    .bind(author.id)
                    .bind(draft.content.as_str())
                    .bind(draft.published.unwrap_or(now))
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("id")?;
                    bump_version(&mut tx, article.id).await?;
                    queue_activity(&mut tx, "Create", Some(author.id), article.id, Some(id)).await?;
                    Upserted::Created
                }
            };
            let comment = comment_in(&mut tx, article.id, key)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("comment '{key}' vanished")))?;
            tx.commit().await?;
            Ok((comment, outcome))
        }


        #[async_trait]
        impl Store for $store {
            async fn migrate(&self) -> StoreResult<()> {
                $migrator.run(&self.pool).await?;
                Ok(())
            }

            async fn ensure_site_actor(&self, name: &str, display_name: &str) -> StoreResult<LocalActor> {
                let mut tx = self.begin_write().await?;
                let existing = sqlx::query(concat!(select_actor!(), "WHERE au.username = $1"))
                    .bind(name)
                    .fetch_optional(&mut *tx)
                    .await?;
                let id: i64 = match existing {
                    Some(row) => {
                        let actor = actor_from_row(&row)?;
                        if actor.kind != ActorKind::Site {
                            return Err(StoreError::Conflict(format!(
                                "the username '{name}' already belongs to a commenter; choose another THREADBRIDGE_SITE_USERNAME"
                            )));
                        }
                        sqlx::query("UPDATE actors SET display_name = $1 WHERE id = $2")
                            .bind(display_name)
                            .bind(actor.id)
                            .execute(&mut *tx)
                            .await?;
                        actor.id
                    }
                    None => sqlx::query(
                        "INSERT INTO actors (username, kind, display_name, created_at) \
                         VALUES ($1, 'site', $2, $3) RETURNING id",
                    )
                    .bind(name)
                    .bind(display_name)
                    .bind(Utc::now())
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("id")?,
                };
                let actor = actor_by_id(&mut tx, id).await?;
                tx.commit().await?;
                Ok(actor)
            }

            async fn actor_by_username(&self, name: &str) -> StoreResult<Option<LocalActor>> {
                let row = sqlx::query(concat!(select_actor!(), "WHERE au.username = $1"))
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.as_ref().map(actor_from_row).transpose()?)
            }

            async fn set_actor_keys_if_missing(
                &self,
                actor_id: i64,
                public_key_pem: &str,
                private_key_pem: &str,
            ) -> StoreResult<LocalActor> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "UPDATE actors SET public_key_pem = $1, private_key_pem = $2 \
                     WHERE id = $3 AND public_key_pem IS NULL",
                )
                .bind(public_key_pem)
                .bind(private_key_pem)
                .bind(actor_id)
                .execute(&mut *tx)
                .await?;
                let actor = actor_by_id(&mut tx, actor_id).await?;
                tx.commit().await?;
                Ok(actor)
            }

            async fn upsert_article(&self, key: &Key, draft: &ArticleDraft) -> StoreResult<(Article, Upserted)> {
                retrying(|| upsert_article_once(self, key, draft)).await
            }

            async fn delete_article(&self, key: &Key) -> StoreResult<Article> {
                let mut tx = self.begin_write().await?;
                if article_in(&mut tx, key).await?.is_some_and(|a| a.followed.is_some()) {
                    return Err(StoreError::Conflict(format!(
                        "'{key}' is a followed article: it is deleted when its author deletes it"
                    )));
                }
                let deleted = sqlx::query(
                    "UPDATE articles SET deleted_at = $1, version = version + 1 WHERE key = $2 AND deleted_at IS NULL",
                )
                .bind(Utc::now())
                .bind(key.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                let article = article_in(&mut tx, key)
                    .await?
                    .ok_or_else(|| StoreError::NotFound(format!("article '{key}' does not exist")))?;
                if deleted > 0 {
                    queue_activity(&mut tx, "Delete", None, article.id, None).await?;
                }
                tx.commit().await?;
                Ok(article)
            }

            async fn article(&self, key: &Key) -> StoreResult<Option<Article>> {
                let row = sqlx::query(concat!(select_article!(), "WHERE ar.key = $1"))
                    .bind(key.as_str())
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.as_ref().map(article_from_row).transpose()?)
            }

            async fn article_version(&self, key: &Key) -> StoreResult<Option<i64>> {
                let row = sqlx::query("SELECT version FROM articles WHERE key = $1")
                    .bind(key.as_str())
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(|r| r.try_get("version")).transpose()?)
            }

            async fn upsert_comment(
                &self,
                article_key: &Key,
                key: &Key,
                draft: &CommentDraft,
            ) -> StoreResult<(Comment, Upserted)> {
                retrying(|| upsert_comment_once(self, article_key, key, draft)).await
            }

            async fn delete_comment(&self, article_key: &Key, key: &Key) -> StoreResult<Comment> {
                let mut tx = self.begin_write().await?;
                let article = article_in(&mut tx, article_key)
                    .await?
                    .ok_or_else(|| StoreError::NotFound(format!("article '{article_key}' does not exist")))?;
                let stored = comment_in(&mut tx, article.id, key)
                    .await?
                    .ok_or_else(|| StoreError::NotFound(format!("comment '{key}' does not exist in article '{article_key}'")))?;
                if !stored.is_deleted() {
                    sqlx::query("UPDATE comments SET status = 'deleted', content = '', deleted_at = $1 WHERE id = $2")
                        .bind(Utc::now())
                        .bind(stored.id)
                        .execute(&mut *tx)
                        .await?;
                    bump_version(&mut tx, article.id).await?;
                    if let CommentAuthor::Local(actor) = &stored.author {
                        queue_activity(&mut tx, "Delete", Some(actor.id), article.id, Some(stored.id)).await?;
                    }
                }
                let comment = comment_in(&mut tx, article.id, key)
                    .await?
                    .ok_or_else(|| StoreError::NotFound(format!("comment '{key}' vanished")))?;
                tx.commit().await?;
                Ok(comment)
            }

            async fn comment(&self, article_key: &Key, key: &Key) -> StoreResult<Option<(Article, Comment)>> {
                let Some(article) = self.article(article_key).await? else {
                    return Ok(None);
                };
                let row = sqlx::query(concat!(select_comment!(), "WHERE c.article_id = $1 AND c.key = $2"))
                    .bind(article.id)
                    .bind(key.as_str())
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.as_ref().map(comment_from_row).transpose()?.map(|c| (article, c)))
            }

            async fn comment_depth(&self, comment_id: i64) -> StoreResult<i64> {
                let row = sqlx::query(
                    "WITH RECURSIVE up (id, parent_id, depth) AS ( \
                       SELECT id, parent_id, 1 FROM comments WHERE id = $1 \
                       UNION ALL \
                       SELECT c.id, c.parent_id, up.depth + 1 FROM comments c JOIN up ON c.id = up.parent_id \
                     ) SELECT CAST(COALESCE(MAX(depth), 1) AS BIGINT) AS depth FROM up",
                )
                .bind(comment_id)
                .fetch_one(&self.pool)
                .await?;
                Ok(row.try_get("depth")?)
            }

            async fn thread(&self, article_key: &Key) -> StoreResult<Option<Thread>> {
                let Some(article) = self.article(article_key).await? else {
                    return Ok(None);
                };
                let json: Option<String> =
                    sqlx::query($thread_sql).bind(article.id).fetch_one(&self.pool).await?.try_get("items")?;
                let rows = thread_rows::parse(json.as_deref()).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
                let authors = sqlx::query(concat!(
                    select_actor!(),
                    "WHERE au.id IN (SELECT author_id FROM comments WHERE article_id = $1)"
                ))
                .bind(article.id)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|row| actor_from_row(row).map(|a| (a.id, LocalActor { public_key_pem: None, ..a })))
                .collect::<Result<std::collections::HashMap<_, _>, _>>()?;
                let comments = thread_rows::assemble(rows, &authors);
                Ok(Some(Thread { article, comments: domain::thread::depth_first(comments) }))
            }

            async fn replies(
                &self,
                article_id: i64,
                parent: Option<i64>,
                offset: i64,
                limit: i64,
            ) -> StoreResult<Vec<ItemRef>> {
                let (limit, offset) = limit_offset(offset, limit);
                let rows = match parent {
                    None => sqlx::query(concat!(
                        "SELECT c.key, c.remote_ap_id FROM comments c WHERE c.article_id = $1 AND c.parent_id IS NULL", shown_reply!(),
                        "ORDER BY c.published, c.id LIMIT $2 OFFSET $3"
                    ))
                    .bind(article_id)
                    .bind(limit)
                    .bind(offset)
                    .fetch_all(&self.pool)
                    .await?,
                    Some(parent_id) => sqlx::query(concat!(
                        "SELECT c.key, c.remote_ap_id FROM comments c WHERE c.article_id = $1 AND c.parent_id = $4", shown_reply!(),
                        "ORDER BY c.published, c.id LIMIT $2 OFFSET $3"
                    ))
                    .bind(article_id)
                    .bind(limit)
                    .bind(offset)
                    .bind(parent_id)
                    .fetch_all(&self.pool)
                    .await?,
                };
                rows.iter()
                    .map(|row| {
                        Ok(ItemRef { key: Key::from_store(row.try_get("key")?), remote_ap_id: row.try_get("remote_ap_id")? })
                    })
                    .collect()
            }

            async fn reply_count(&self, article_id: i64, parent: Option<i64>) -> StoreResult<i64> {
                let row = match parent {
                    None => sqlx::query(concat!(
                        "SELECT COUNT(*) AS n FROM comments c WHERE c.article_id = $1 AND c.parent_id IS NULL",
                        shown_reply!()
                    ))
                    .bind(article_id)
                    .fetch_one(&self.pool)
                    .await?,
                    Some(parent_id) => sqlx::query(concat!(
                        "SELECT COUNT(*) AS n FROM comments c WHERE c.article_id = $1 AND c.parent_id = $2",
                        shown_reply!()
                    ))
                    .bind(article_id)
                    .bind(parent_id)
                    .fetch_one(&self.pool)
                    .await?,
                };
                Ok(row.try_get("n")?)
            }

            async fn articles(&self, offset: i64, limit: i64) -> StoreResult<Page<Article>> {
                let (limit, offset) = limit_offset(offset, limit);
                let rows = sqlx::query(concat!(
                    select_article!(),
                    "WHERE ar.deleted_at IS NULL AND ar.remote_ap_id IS NULL ORDER BY ar.published DESC, ar.id DESC LIMIT $1 OFFSET $2"
                ))
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.pool)
                .await?;
                let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM articles WHERE deleted_at IS NULL AND remote_ap_id IS NULL")
                    .fetch_one(&self.pool)
                    .await?
                    .try_get("n")?;
                let items = rows.iter().map(article_from_row).collect::<Result<Vec<_>, _>>()?;
                Ok(Page { items, total })
            }

            async fn article_urls_by(&self, actor_id: i64, limit: i64) -> StoreResult<Vec<String>> {
                Ok(sqlx::query_scalar(
                    "SELECT url FROM articles WHERE author_id = $1 AND deleted_at IS NULL AND remote_ap_id IS NULL \
                     ORDER BY id DESC LIMIT $2",
                )
                .bind(actor_id)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn comment_count_by(&self, actor_id: i64) -> StoreResult<i64> {
                Ok(sqlx::query("SELECT COUNT(*) AS n FROM comments WHERE author_id = $1 AND status = 'visible'")
                    .bind(actor_id)
                    .fetch_one(&self.pool)
                    .await?
                    .try_get("n")?)
            }

            async fn followers_count(&self, actor_id: i64) -> StoreResult<i64> {
                Ok(sqlx::query("SELECT COUNT(*) AS n FROM followers WHERE actor_id = $1")
                    .bind(actor_id)
                    .fetch_one(&self.pool)
                    .await?
                    .try_get("n")?)
            }

            async fn stats(&self) -> StoreResult<Stats> {
                let now = Utc::now();
                let active_since = |days: i64| now - chrono::Duration::days(days);
                let count = |sql: &'static str| sqlx::query(sql);
                let local_actors: i64 = count("SELECT COUNT(*) AS n FROM actors").fetch_one(&self.pool).await?.try_get("n")?;
                let active = "SELECT COUNT(DISTINCT author_id) AS n FROM comments WHERE author_id IS NOT NULL AND published >= $1";
                let active_month: i64 = count(active).bind(active_since(30)).fetch_one(&self.pool).await?.try_get("n")?;
                let active_half_year: i64 = count(active).bind(active_since(180)).fetch_one(&self.pool).await?.try_get("n")?;
                let local_posts: i64 = count(
                    "SELECT (SELECT COUNT(*) FROM articles WHERE deleted_at IS NULL AND remote_ap_id IS NULL) + \
                     (SELECT COUNT(*) FROM comments c JOIN articles a ON a.id = c.article_id \
                      WHERE c.origin = 'local' AND c.status = 'visible' AND a.deleted_at IS NULL) AS n",
                )
                .fetch_one(&self.pool)
                .await?
                .try_get("n")?;
                Ok(Stats { local_actors, active_half_year, active_month, local_posts })
            }
        }
    };
}
