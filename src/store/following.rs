//! What the store keeps of the actors the site follows, and of their posts (followed
//! articles, whose threads the site's commenters can join). Implemented for both back-ends
//! by `following_store!` (`following_sql.rs`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::federation::DirectActivity;
use super::{Page, StoreResult};
use crate::domain::html::SafeHtml;
use crate::domain::{Article, Key};

/// A remote actor the site asks to follow.
#[derive(Debug, Clone)]
pub struct NewFollowing {
    /// The local actor that follows.
    pub actor_id: i64,
    pub ap_id: String,
    pub handle: Option<String>,
    pub inbox: String,
    pub follow_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowState {
    /// The Follow is sent (or on its way); no answer yet.
    Pending,
    Accepted,
    Rejected,
}

impl FollowState {
    pub fn as_str(self) -> &'static str {
        match self {
            FollowState::Pending => "pending",
            FollowState::Accepted => "accepted",
            FollowState::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> FollowState {
        match s {
            "accepted" => FollowState::Accepted,
            "rejected" => FollowState::Rejected,
            _ => FollowState::Pending,
        }
    }
}

/// A followed actor, as the admin sees it.
#[derive(Debug, Clone)]
pub struct Following {
    pub ap_id: String,
    pub handle: Option<String>,
    pub inbox: String,
    pub follow_id: String,
    pub state: FollowState,
    pub since: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A post by a followed actor, sanitised, as it becomes (or updates) a followed article.
#[derive(Debug, Clone)]
pub struct FollowedPost {
    pub ap_id: String,
    pub author_ap_id: String,
    pub author_name: Option<String>,
    pub author_handle: Option<String>,
    pub title: String,
    pub url: url::Url,
    pub content: SafeHtml,
    pub summary: Option<String>,
    pub language: Option<String>,
    pub sensitive: bool,
    pub published: DateTime<Utc>,
    pub updated: Option<DateTime<Utc>>,
}

#[async_trait]
pub trait FollowingStore: Send + Sync {
    /// Records a follow request (or a new attempt at one: pending again, with the new Follow's
    /// id) and queues its Follow activity, in one transaction.
    async fn add_following(&self, following: &NewFollowing, follow: &DirectActivity) -> StoreResult<Following>;

    /// The followed actor's answer to our Follow `follow_id` (any of ours when None). True when a
    /// follow changed.
    async fn answer_following(&self, ap_id: &str, follow_id: Option<&str>, state: FollowState) -> StoreResult<bool>;

    /// Ends a follow and queues its Undo, in one transaction. The follow as it was, if there was one.
    async fn remove_following(&self, ap_id: &str, undo: &DirectActivity) -> StoreResult<Option<Following>>;

    async fn following(&self, offset: i64, limit: i64) -> StoreResult<Page<Following>>;

    async fn following_one(&self, ap_id: &str) -> StoreResult<Option<Following>>;

    /// How many follows the followed actors accepted (the `following` collection's count).
    async fn accepted_following_count(&self) -> StoreResult<i64>;

    /// Stores a followed post as the article `key`, or updates the one stored (when `updated` is
    /// newer). The article when it was added or changed.
    async fn upsert_followed_article(
        &self,
        key: &Key,
        site_actor_id: i64,
        post: &FollowedPost,
    ) -> StoreResult<Option<Article>>;

    /// The followed articles not deleted, newest first.
    async fn followed_articles(&self, offset: i64, limit: i64) -> StoreResult<Page<Article>>;

    /// The followed article whose post has this id.
    async fn followed_article(&self, ap_id: &str) -> StoreResult<Option<Article>>;

    /// Marks a followed article deleted, when `author_ap_id` wrote it. Its key when it was live.
    async fn delete_followed_article(&self, ap_id: &str, author_ap_id: &str) -> StoreResult<Option<Key>>;
}
