//! What the store keeps of what the fediverse sends us: federated replies and their lifecycle
//! (edits, deletions, tombstones), reactions (likes, boosts), reports, the ids of the activities
//! processed, and the blocks consulted before anything is processed. Implemented for both
//! back-ends by `inbound_store!` (`inbound_sql.rs`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreResult;
use crate::config::ReplyPolicy;
use crate::domain::{Key, Status};

/// A reply from the fediverse to an item of one of our threads, sanitised, ready to store.
#[derive(Debug, Clone)]
pub struct RemoteReply {
    /// The thread key it is stored under (derived from its id).
    pub key: String,
    pub ap_id: String,
    pub author_ap_id: String,
    pub author_name: String,
    pub author_handle: String,
    pub author_url: String,
    /// Sanitised HTML.
    pub content: String,
    /// The content warning, plain text.
    pub summary: Option<String>,
    pub language: Option<String>,
    /// Where the author's server shows it (checked to be http(s)).
    pub url: Option<String>,
    pub attachments: Vec<Attachment>,
    /// Marked sensitive by its author.
    pub sensitive: bool,
    pub published: DateTime<Utc>,
    pub updated: Option<DateTime<Utc>>,
}

pub use crate::domain::Attachment;

/// A federated reply as stored, where it sits.
#[derive(Debug, Clone)]
pub struct StoredReply {
    pub comment_id: i64,
    pub article_id: i64,
    pub article_key: Key,
    pub key: Key,
    pub ap_id: String,
    pub parent_key: Option<Key>,
    pub author_ap_id: String,
    pub status: Status,
    pub published: DateTime<Utc>,
    pub updated: Option<DateTime<Utc>>,
}

/// A message for the site's webhook, queued in the same transaction as the change it reports.
#[derive(Debug, Clone)]
pub struct WebhookEvent {
    /// `reply.created`, `reply.updated`, `reply.deleted`, ...
    pub event: String,
    /// The JSON body sent.
    pub payload: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReactionKind {
    Like,
    /// Misskey's and Akkoma's `EmojiReact` (or a Like carrying an emoji): counted as a like.
    Emoji,
    Announce,
}

impl ReactionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReactionKind::Like => "like",
            ReactionKind::Emoji => "emoji",
            ReactionKind::Announce => "announce",
        }
    }
}

/// A Like or Announce of one of our articles or comments.
#[derive(Debug, Clone)]
pub struct NewReaction {
    pub kind: ReactionKind,
    pub activity_ap_id: String,
    pub actor_ap_id: String,
    pub article_id: i64,
    pub comment_id: Option<i64>,
    pub object_ap_id: String,
}

/// Likes and boosts of one item of a thread (`comment_id` None: the article).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReactionCount {
    pub comment_id: Option<i64>,
    pub likes: i64,
    pub announces: i64,
}

/// A report (Flag) as received.
#[derive(Debug, Clone)]
pub struct NewReport {
    pub activity_ap_id: Option<String>,
    pub reporter_ap_id: String,
    /// Plain text.
    pub comment: String,
    pub objects: Vec<String>,
}

/// A block that applies to a server or an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// `domain` or `actor`.
    pub kind: String,
    pub target: String,
    /// `suspend` (refused) or `silence` (replies held for moderation).
    pub severity: String,
}

impl Block {
    pub fn suspends(&self) -> bool {
        self.severity == "suspend"
    }
}

#[async_trait]
pub trait InboundStore: Send + Sync {
    /// True when an activity with this id was processed already.
    async fn activity_seen(&self, ap_id: &str) -> StoreResult<bool>;

    /// Notes an activity as processed. False when it already was (another delivery won).
    async fn record_activity(&self, ap_id: &str) -> StoreResult<bool>;

    /// Forgets processed activity ids older than `before`.
    async fn prune_activities(&self, before: DateTime<Utc>) -> StoreResult<u64>;

    /// Stores a federated reply under `parent_id` (None: the article) with `status` (visible or
    /// pending), once: a reply already stored, or deleted by its owner before (a tombstone), is
    /// left as it is. Queues `event` and notes `activity_id` as processed in the same
    /// transaction (one commit). Returns the article's new version when the reply is new.
    async fn add_remote_reply(
        &self,
        article_id: i64,
        parent_id: Option<i64>,
        reply: &RemoteReply,
        status: Status,
        event: Option<&WebhookEvent>,
        activity_id: Option<&str>,
    ) -> StoreResult<Option<i64>>;

    /// Edits a stored reply as its owner sent it: only when `reply.author_ap_id` wrote it, it is
    /// not deleted, and `reply.updated` is newer than what is stored. Queues `event` with it.
    /// True when it changed.
    async fn update_remote_reply(&self, reply: &RemoteReply, event: Option<&WebhookEvent>) -> StoreResult<bool>;

    /// A federated reply by its id.
    async fn remote_reply(&self, ap_id: &str) -> StoreResult<Option<StoredReply>>;

    /// The owner deleted the object `ap_id`: a tombstone is kept (so a late Create does not
    /// bring it back) and, when it is a reply `actor_ap_id` wrote, it is marked deleted (its
    /// replies keep their place under it). Queues `event` when a reply was deleted. Returns the
    /// reply deleted.
    async fn delete_remote_object(
        &self,
        ap_id: &str,
        actor_ap_id: &str,
        event: Option<&WebhookEvent>,
    ) -> StoreResult<Option<StoredReply>>;

    /// True when the object was deleted by its owner.
    async fn is_tombstoned(&self, ap_id: &str) -> StoreResult<bool>;

    /// Counts a Like or Announce, once per account, kind and object. True when it is new.
    async fn add_reaction(&self, reaction: &NewReaction) -> StoreResult<bool>;

    /// Removes the reaction the activity `activity_ap_id` by `actor_ap_id` made. True when
    /// there was one.
    async fn remove_reaction(&self, activity_ap_id: &str, actor_ap_id: &str) -> StoreResult<bool>;

    /// Removes `actor_ap_id`'s reaction of `kind` to `object_ap_id` (an Undo whose embedded
    /// activity has an id we never saw, as Lemmy sends; a Dislike replacing a Like). True when
    /// there was one.
    async fn remove_reaction_to(&self, kind: ReactionKind, actor_ap_id: &str, object_ap_id: &str) -> StoreResult<bool>;

    /// Likes (accounts with a like or an emoji reaction) and boosts of an article and each of its
    /// comments (only items that have some).
    async fn reaction_counts(&self, article_id: i64) -> StoreResult<Vec<ReactionCount>>;

    /// Stores a report. False when the same Flag was stored before.
    async fn add_report(&self, report: &NewReport) -> StoreResult<bool>;

    /// The block that applies to a server (`host`, its parent domains too) or to an account,
    /// the account's own first.
    async fn block_for(&self, host: &str, actor_ap_id: Option<&str>) -> StoreResult<Option<Block>>;

    /// The article's own reply policy, if it has one.
    async fn article_reply_policy(&self, article_id: i64) -> StoreResult<Option<ReplyPolicy>>;
}
