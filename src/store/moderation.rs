//! What the admin decides about what the fediverse sends: reply policies per article, the
//! moderation of federated replies, reports (Flags), blocks of servers and accounts, and the
//! queue of events for the site's webhook. Implemented for both back-ends by
//! `moderation_store!` (`moderation_sql.rs`).
//!
//! The inbox reads what is written here through [`super::InboundStore`] (`block_for`,
//! `article_reply_policy`) and writes reports and webhook events there.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::federation::{DeliveryState, Outcome};
use super::inbound::{Attachment, WebhookEvent};
use super::{Page, StoreResult};
use crate::config::ReplyPolicy;
use crate::domain::{Key, Status, Upserted};

/// An article's own reply policy (None: the site's default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticlePolicy {
    pub article: Key,
    pub policy: Option<ReplyPolicy>,
    pub deleted: bool,
}

/// A federated reply as the moderation queue shows it: where it sits and what it says.
#[derive(Debug, Clone)]
pub struct ModeratedReply {
    pub comment_id: i64,
    pub article_id: i64,
    pub article_key: Key,
    /// The article's page on the site.
    pub article_url: String,
    pub key: Key,
    pub ap_id: String,
    pub parent_key: Option<Key>,
    pub status: Status,
    pub author_ap_id: String,
    pub author_name: String,
    pub author_handle: String,
    pub author_url: String,
    /// Sanitised HTML (empty once its author deleted it).
    pub content: String,
    pub summary: Option<String>,
    pub language: Option<String>,
    /// Where the author's server shows it.
    pub remote_url: Option<String>,
    pub attachments: Vec<Attachment>,
    pub published: DateTime<Utc>,
    pub updated: Option<DateTime<Utc>>,
    /// When an admin last approved, rejected or removed it.
    pub moderated_at: Option<DateTime<Utc>>,
    /// 1 for a reply to the article.
    pub depth: i64,
}

/// What an admin does to a federated reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moderation {
    /// Shown (pending or rejected before).
    Approve,
    /// Not shown (pending or visible before).
    Reject,
    /// Taken down from the thread (`DELETE`): stored as rejected; not deleted on the fediverse.
    Remove,
}

impl Moderation {
    /// The webhook event it makes.
    pub fn event(self) -> &'static str {
        match self {
            Moderation::Approve => "reply.approved",
            Moderation::Reject => "reply.rejected",
            Moderation::Remove => "reply.removed",
        }
    }
}

/// A moderation's result: the reply as it now is, and the article's new version when it
/// changed (None: it already was that way).
#[derive(Debug, Clone)]
pub struct Moderated {
    pub reply: ModeratedReply,
    pub version: Option<i64>,
}

/// Builds the webhook event for a reply a moderation changed (None: the site has no webhook).
pub type EventFor<'a> = &'a (dyn Fn(Moderation, &ModeratedReply) -> Option<WebhookEvent> + Send + Sync);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    /// A server and its subdomains.
    Domain,
    /// One account, by its actor id.
    Actor,
}

impl BlockKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BlockKind::Domain => "domain",
            BlockKind::Actor => "actor",
        }
    }
}

/// Mastodon's severities: a suspended server or account is refused; a silenced one's replies
/// are held for moderation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Suspend,
    Silence,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Suspend => "suspend",
            Severity::Silence => "silence",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "suspend" => Some(Severity::Suspend),
            "silence" => Some(Severity::Silence),
            _ => None,
        }
    }
}

/// A block to write: `target` is a normalised host (lower case, ASCII) or an actor id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBlock {
    pub kind: BlockKind,
    pub target: String,
    pub severity: Severity,
    /// None: the reason stored stays (empty for a new block).
    pub reason: Option<String>,
}

/// A stored block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockEntry {
    pub id: i64,
    pub kind: BlockKind,
    pub target: String,
    pub severity: Severity,
    pub reason: String,
    pub created_at: DateTime<Utc>,
}

/// What writing one block did.
#[derive(Debug, Clone)]
pub struct BlockWritten {
    pub block: BlockEntry,
    pub outcome: Upserted,
    /// Follows removed because the block newly suspends their account or server.
    pub followers_removed: u64,
}

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportCounts {
    pub imported: u64,
    pub updated: u64,
    /// Already stored as given.
    pub unchanged: u64,
    pub followers_removed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportStatus {
    Open,
    Closed,
}

impl ReportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportStatus::Open => "open",
            ReportStatus::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<ReportStatus> {
        match s {
            "open" => Some(ReportStatus::Open),
            "closed" => Some(ReportStatus::Closed),
            _ => None,
        }
    }
}

/// A report (a Flag) as stored.
#[derive(Debug, Clone)]
pub struct Report {
    pub id: i64,
    pub activity_ap_id: Option<String>,
    pub reporter_ap_id: String,
    pub comment: String,
    pub objects: Vec<String>,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

/// A webhook event a worker has claimed (leased) and now sends.
#[derive(Debug, Clone)]
pub struct ClaimedEvent {
    pub id: i64,
    pub event: String,
    pub payload: String,
    /// Attempts made before this one.
    pub attempts: i64,
    /// The end of this claim (epoch ms): its outcome is recorded only while it is still ours.
    pub lease: i64,
}

/// A webhook event as the admin sees it.
#[derive(Debug, Clone)]
pub struct QueuedEvent {
    pub id: i64,
    pub event: String,
    pub payload: String,
    pub state: String,
    pub attempts: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub next_attempt_ms: i64,
    pub created_at: DateTime<Utc>,
}

#[async_trait]
pub trait ModerationStore: Send + Sync {
    /// An article's reply policy; None when there is no such article.
    async fn article_policy(&self, article: &Key) -> StoreResult<Option<ArticlePolicy>>;

    /// Sets an article's reply policy (None: back to the site's default). NotFound for an
    /// unknown article, Gone for a deleted one.
    async fn set_reply_policy(&self, article: &Key, policy: Option<ReplyPolicy>) -> StoreResult<ArticlePolicy>;

    /// Federated replies with this status, with their depth: pending ones oldest first (a
    /// queue), others newest first.
    async fn moderation_queue(&self, status: Status, offset: i64, limit: i64) -> StoreResult<Page<ModeratedReply>>;

    /// A federated reply by its thread key. NotFound when no thread item has that key,
    /// Invalid when only a local comment has it.
    async fn moderated_reply(&self, key: &Key) -> StoreResult<ModeratedReply>;

    /// Approves, rejects or removes a federated reply (see [`Moderation`]), stamps
    /// `moderated_at`, bumps its article's version and queues `event`'s event, in one
    /// transaction; nothing changes when the reply already has the status asked for. A reply its
    /// author deleted cannot be approved or rejected (Conflict); removing it changes nothing.
    /// Errors as [`ModerationStore::moderated_reply`].
    async fn moderate_reply(&self, key: &Key, action: Moderation, event: EventFor<'_>) -> StoreResult<Moderated>;

    /// Reports, newest first; every status when `status` is None.
    async fn reports(&self, status: Option<ReportStatus>, offset: i64, limit: i64) -> StoreResult<Page<Report>>;

    /// Closes a report (closing a closed one changes nothing). None when there is no such report.
    async fn close_report(&self, id: i64) -> StoreResult<Option<Report>>;

    /// Writes a block (or changes its severity and reason). When it newly suspends a server,
    /// the follows of its accounts (its subdomains' too) are removed and the deliveries still
    /// pending to it fail; when it newly suspends an account, its follows are removed; all in
    /// the same transaction.
    async fn put_block(&self, block: &NewBlock) -> StoreResult<BlockWritten>;

    /// Writes many blocks in one transaction, each as [`ModerationStore::put_block`] does.
    async fn import_blocks(&self, blocks: &[NewBlock]) -> StoreResult<ImportCounts>;

    /// Removes a block; None when there was none.
    async fn delete_block(&self, kind: BlockKind, target: &str) -> StoreResult<Option<BlockEntry>>;

    /// Every block, domains then accounts, each by target.
    async fn blocks(&self) -> StoreResult<Vec<BlockEntry>>;

    /// Leases up to `limit` due pending webhook events until `lease_until_ms`, oldest first.
    async fn claim_webhook_events(
        &self,
        now_ms: i64,
        lease_until_ms: i64,
        limit: i64,
    ) -> StoreResult<Vec<ClaimedEvent>>;

    /// Records how an attempt ended, while its claim still holds (`Outcome::Released` puts it
    /// back without counting an attempt). False when the claim had run out.
    async fn record_webhook_outcome(&self, event: &ClaimedEvent, outcome: &Outcome) -> StoreResult<bool>;

    /// Webhook events, newest first; every state when `state` is None.
    async fn webhook_events(
        &self,
        state: Option<DeliveryState>,
        offset: i64,
        limit: i64,
    ) -> StoreResult<Page<QueuedEvent>>;

    async fn webhook_event(&self, id: i64) -> StoreResult<Option<QueuedEvent>>;

    /// Makes an event pending and due now, whatever its state.
    async fn retry_webhook_event(&self, id: i64, now_ms: i64) -> StoreResult<Option<QueuedEvent>>;
}
