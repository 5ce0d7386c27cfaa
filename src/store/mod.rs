//! The store: one [`Store`] interface, a SQLite and a PostgreSQL implementation.
//!
//! Each method owns its transaction and returns domain types; callers never see `sqlx`.
//! Both implementations share their SQL (written once in [`sql`], with `$1` placeholders that
//! both engines accept); each back-end keeps its own migrations folder
//! (`migrations/sqlite`, `migrations/postgres`), with the same numbers, changed together.

#[macro_use]
mod article_sql;
#[macro_use]
mod sql;
#[macro_use]
mod federation_sql;
#[macro_use]
mod inbound_sql;
#[macro_use]
mod moderation_sql;
#[macro_use]
mod following_sql;
#[macro_use]
mod import_sql;
#[macro_use]
mod feeds_sql;
pub mod federation;
pub mod feeds;
pub mod following;
pub mod import;
pub mod inbound;
pub mod moderation;
mod postgres;
mod sqlite;
mod thread_rows;

use std::sync::Arc;

use async_trait::async_trait;

use crate::domain::{Article, ArticleDraft, Comment, CommentDraft, ItemRef, Key, LocalActor, Upserted};

pub use federation::FederationStore;
pub use feeds::FeedStore;
pub use following::FollowingStore;
pub use import::ImportStore;
pub use inbound::InboundStore;
pub use moderation::ModerationStore;
pub use postgres::PgStore;
pub use sqlite::{cache_split as sqlite_cache_split, SqliteStore};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The thing named does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request contradicts what is stored (a deleted id reused, a comment moved).
    #[error("{0}")]
    Conflict(String),
    /// The request is well-formed but cannot apply (a parent outside the thread).
    #[error("{0}")]
    Invalid(String),
    /// The thing existed and was deleted.
    #[error("{0}")]
    Gone(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Anything else that went wrong (a key that could not be made).
    #[error("{0}")]
    Other(String),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// An article and its comments in thread order (depth-first, siblings by `published`).
#[derive(Debug, Clone)]
pub struct Thread {
    pub article: Article,
    pub comments: Vec<Comment>,
}

/// One page of a list, with the total the list has.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
}

/// Figures for NodeInfo.
#[derive(Debug, Clone, Copy)]
pub struct Stats {
    pub local_actors: i64,
    pub active_half_year: i64,
    pub active_month: i64,
    pub local_posts: i64,
}

/// Everything the service keeps: articles and threads here, followers and the outbox in
/// [`FederationStore`], what the fediverse sends us in [`InboundStore`], what the admin decides
/// about it (moderation, reports, blocks, the webhook queue) in [`ModerationStore`], the actors
/// the site follows and their posts in [`FollowingStore`], a site's earlier discussions brought
/// in by [`ImportStore`], the feeds it polls in [`FeedStore`].
#[async_trait]
pub trait Store:
    FederationStore + FeedStore + FollowingStore + ImportStore + InboundStore + ModerationStore + Send + Sync + 'static
{
    /// Applies the back-end's migrations.
    async fn migrate(&self) -> StoreResult<()>;

    /// The site actor, created (without keys) when it does not exist yet. The display name
    /// follows the configuration.
    async fn ensure_site_actor(&self, username: &str, display_name: &str) -> StoreResult<LocalActor>;

    /// Any local actor by its username.
    async fn actor_by_username(&self, username: &str) -> StoreResult<Option<LocalActor>>;

    /// Stores a key pair for an actor that has none yet, and returns the actor as stored (with
    /// the key that won, should two requests race).
    async fn set_actor_keys_if_missing(
        &self,
        actor_id: i64,
        public_key_pem: &str,
        private_key_pem: &str,
    ) -> StoreResult<LocalActor>;

    /// Creates or updates an article under the site's key.
    async fn upsert_article(&self, key: &Key, draft: &ArticleDraft) -> StoreResult<(Article, Upserted)>;

    /// Marks an article deleted. Deleting a deleted article again is not an error.
    async fn delete_article(&self, key: &Key) -> StoreResult<Article>;

    /// An article, deleted or not.
    async fn article(&self, key: &Key) -> StoreResult<Option<Article>>;

    /// The article's change counter (see `articles.version`), None when there is no such article.
    async fn article_version(&self, key: &Key) -> StoreResult<Option<i64>>;

    /// Creates or updates a comment of an article.
    async fn upsert_comment(&self, article: &Key, key: &Key, draft: &CommentDraft) -> StoreResult<(Comment, Upserted)>;

    /// Marks a comment deleted; its replies keep their place under it.
    async fn delete_comment(&self, article: &Key, key: &Key) -> StoreResult<Comment>;

    /// A comment of an article, deleted or not, with its article.
    async fn comment(&self, article: &Key, key: &Key) -> StoreResult<Option<(Article, Comment)>>;

    /// How deep a comment sits: 1 for a reply to the article.
    async fn comment_depth(&self, comment_id: i64) -> StoreResult<i64>;

    /// An article with all its comments (every status), in thread order.
    async fn thread(&self, article: &Key) -> StoreResult<Option<Thread>>;

    /// The direct replies to the article (`parent` None) or to a comment that are shown on the
    /// fediverse: visible ones, and deleted ones that have replies (as placeholders), oldest
    /// first.
    async fn replies(&self, article_id: i64, parent: Option<i64>, offset: i64, limit: i64)
        -> StoreResult<Vec<ItemRef>>;

    /// How many items [`Store::replies`] lists in all.
    async fn reply_count(&self, article_id: i64, parent: Option<i64>) -> StoreResult<i64>;

    /// The site's articles that are not deleted, newest first.
    async fn articles(&self, offset: i64, limit: i64) -> StoreResult<Page<Article>>;

    /// The `url`s of the newest `limit` articles a local actor wrote (the site's own, not
    /// deleted).
    async fn article_urls_by(&self, actor_id: i64, limit: i64) -> StoreResult<Vec<String>>;

    /// How many visible comments a local person wrote.
    async fn comment_count_by(&self, actor_id: i64) -> StoreResult<i64>;

    /// How many accounts follow a local actor.
    async fn followers_count(&self, actor_id: i64) -> StoreResult<i64>;

    async fn stats(&self) -> StoreResult<Stats>;
}

/// Opens the store a `DATABASE_URL` names: `sqlite://...` (the file is created; its page
/// caches share `sqlite_cache_mib`) or `postgres://...`.
pub async fn connect(database_url: &str, sqlite_cache_mib: u64) -> anyhow::Result<Arc<dyn Store>> {
    if database_url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(database_url, sqlite_cache_mib).await?))
    } else if database_url.starts_with("postgres:") || database_url.starts_with("postgresql:") {
        Ok(Arc::new(PgStore::connect(database_url).await?))
    } else {
        anyhow::bail!("DATABASE_URL must start with sqlite:// or postgres://")
    }
}
