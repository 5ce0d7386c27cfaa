//! What an import writes: articles and comments from a site's existing discussions, under
//! keys made from the source's own ids, stored without announcing them to followers.
//! Implemented for both back-ends by `import_store!` (`import_sql.rs`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreResult;
use crate::domain::html::SafeHtml;
use crate::domain::{ArticleDraft, Key, SiteAuthor};

/// An article as a source file holds it.
#[derive(Debug, Clone)]
pub struct ImportedArticle {
    pub key: Key,
    /// `published` is always set (the source's date).
    pub draft: ArticleDraft,
    /// The source names no author: the site actor wrote it (`draft.author` is not used).
    pub by_site: bool,
}

/// How the source marks a comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportedStatus {
    Visible,
    /// Not approved in the source: kept, neither shown nor federated.
    Held,
    /// Deleted in the source: a placeholder that keeps its replies.
    Deleted,
}

/// A comment as a source file holds it.
#[derive(Debug, Clone)]
pub struct ImportedComment {
    pub article: Key,
    pub key: Key,
    pub parent: Option<Key>,
    /// None when the source no longer names the author (a deleted comment): the site actor
    /// stands in, and is never shown for it.
    pub author: Option<SiteAuthor>,
    pub content: SafeHtml,
    pub published: DateTime<Utc>,
    pub status: ImportedStatus,
}

#[derive(Debug, Clone)]
pub enum ImportItem {
    Article(Box<ImportedArticle>),
    Comment(ImportedComment),
}

/// What importing one item did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemOutcome {
    Created,
    Updated,
    Unchanged,
    /// Not stored, for the reason given (summarised by reason).
    Skipped(String),
    /// An article whose link is already the link of the article with this key (the site's own,
    /// or one imported from another source): it is not stored again, and its comments go
    /// under that article.
    SameAs(Key),
    /// A comment whose article is not stored (yet).
    NoArticle,
    /// A comment whose parent is not stored (yet).
    NoParent,
}

#[async_trait]
pub trait ImportStore: Send + Sync {
    /// Stores `items` in order, in one transaction: an item may answer one earlier in the
    /// batch. Nothing is queued for delivery. `site_actor_id` writes what has no author.
    async fn import_batch(&self, site_actor_id: i64, items: &[ImportItem]) -> StoreResult<Vec<ItemOutcome>>;
}
