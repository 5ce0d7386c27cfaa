//! [`article_writes!`]: how an article's row is written, shared by the site's upserts (`sql.rs`)
//! and imports (`import_sql.rs`): the fields bound in table order, the comparison that finds
//! nothing changed, the UPDATE and the INSERT.

/// Expands, inside `sql_store!`, to the article-write helpers for one `sqlx` database type.
macro_rules! article_writes {
    ($db:ty) => {
        /// Binds `$1`..`$10` of an article write: the fields the site sends, in table order.
        fn bind_article_fields<'q>(
            query: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments>,
            draft: &ArticleDraft,
            author: &LocalActor,
        ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments> {
            query
                .bind(draft.title.clone())
                .bind(draft.url.to_string())
                .bind(draft.content.as_str().to_string())
                .bind(draft.summary.clone())
                .bind(author.id)
                .bind(tags_json(&draft.tags))
                .bind(draft.image.as_ref().map(|i| i.url.to_string()))
                .bind(draft.image.as_ref().and_then(|i| i.alt.clone()))
                .bind(draft.language.clone())
                .bind(draft.sensitive)
        }

        /// Writes the site's fields of a stored article, with its dates.
        async fn update_article_row(
            tx: &mut Tx,
            id: i64,
            draft: &ArticleDraft,
            author: &LocalActor,
            published: chrono::DateTime<Utc>,
            updated: Option<chrono::DateTime<Utc>>,
        ) -> StoreResult<()> {
            bind_article_fields(
                sqlx::query(
                    "UPDATE articles SET title = $1, url = $2, content = $3, summary = $4, author_id = $5, \
                     tags = $6, image_url = $7, image_alt = $8, language = $9, sensitive = $10, \
                     published = $11, updated = $12 WHERE id = $13",
                ),
                draft,
                author,
            )
            .bind(published)
            .bind(updated)
            .bind(id)
            .execute(&mut **tx)
            .await?;
            Ok(())
        }

        /// Stores a new article under `key` (published now when the draft has no date); its id.
        async fn insert_article_row(
            tx: &mut Tx,
            key: &Key,
            draft: &ArticleDraft,
            author: &LocalActor,
            now: chrono::DateTime<Utc>,
        ) -> StoreResult<i64> {
            Ok(bind_article_fields(
                sqlx::query(
                    "INSERT INTO articles (title, url, content, summary, author_id, tags, image_url, \
                     image_alt, language, sensitive, published, updated, key, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
                ),
                draft,
                author,
            )
            .bind(draft.published.unwrap_or(now))
            .bind(draft.updated)
            .bind(key.as_str())
            .bind(now)
            .fetch_one(&mut **tx)
            .await?
            .try_get("id")?)
        }

        fn tags_json(tags: &[Tag]) -> String {
            serde_json::to_string(&tags.iter().map(Tag::as_str).collect::<Vec<_>>()).unwrap_or_else(|_| "[]".into())
        }

        /// True when storing `draft` over `stored` would change nothing.
        fn same_article(stored: &Article, draft: &ArticleDraft, author: &LocalActor) -> bool {
            stored.title == draft.title
                && stored.url == draft.url
                && stored.content == draft.content
                && stored.summary == draft.summary
                && stored.author.id == author.id
                && stored.tags == draft.tags
                && stored.image == draft.image
                && stored.language == draft.language
                && stored.sensitive == draft.sensitive
                && draft.published.is_none_or(|p| p == stored.published)
                && draft.updated.is_none_or(|u| Some(u) == stored.updated)
        }
    };
}
