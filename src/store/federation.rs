//! What the store keeps for federation: followers, remote actors, and the outbox (activities
//! and their deliveries). Implemented for both back-ends by `federation_store!`
//! (`federation_sql.rs`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Page, StoreResult};
use crate::domain::Key;

/// A remote account that follows a local actor, as the Follow handling stores it.
#[derive(Debug, Clone)]
pub struct NewFollower {
    pub actor_id: i64,
    pub ap_id: String,
    pub handle: Option<String>,
    pub inbox: String,
    pub shared_inbox: Option<String>,
    pub follow_id: String,
}

/// An activity written whole, for one recipient (an Accept).
#[derive(Debug, Clone)]
pub struct DirectActivity {
    pub kind: &'static str,
    pub uuid: String,
    pub payload: String,
    pub inbox: String,
}

#[derive(Debug, Clone)]
pub struct Follower {
    /// The local actor followed.
    pub local_username: String,
    pub ap_id: String,
    pub handle: Option<String>,
    pub inbox: String,
    pub shared_inbox: Option<String>,
    pub since: DateTime<Utc>,
}

/// A remote actor as last fetched.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteActor {
    pub ap_id: String,
    pub handle: Option<String>,
    pub name: Option<String>,
    pub inbox: String,
    pub shared_inbox: Option<String>,
    pub key_id: Option<String>,
    pub public_key_pem: Option<String>,
    pub also_known_as: Vec<String>,
    pub fetched_at: DateTime<Utc>,
}

impl RemoteActor {
    /// About what it holds on the heap: its strings.
    pub fn heap_bytes(&self) -> usize {
        let optional = [&self.handle, &self.name, &self.shared_inbox, &self.key_id, &self.public_key_pem];
        self.ap_id.len()
            + self.inbox.len()
            + optional.iter().map(|s| s.as_ref().map_or(0, String::len)).sum::<usize>()
            + self.also_known_as.iter().map(String::len).sum::<usize>()
    }
}

/// An activity whose recipients are not expanded yet: the worker renders it from the object's
/// current state and fans it out.
#[derive(Debug, Clone)]
pub struct ActivityToFanOut {
    pub id: i64,
    pub uuid: String,
    pub kind: String,
    /// None: the site actor.
    pub actor_id: Option<i64>,
    pub article: Option<Key>,
    pub comment: Option<Key>,
    pub created_at: DateTime<Utc>,
}

/// A delivery a worker has claimed (leased) and now sends.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub id: i64,
    pub activity_id: i64,
    pub inbox: String,
    pub host: String,
    /// Attempts made before this one.
    pub attempts: i64,
    /// The end of this claim (epoch ms): outcomes are recorded only while it is still ours.
    pub lease: i64,
}

/// What a claimed delivery sends: the payload and who signs it.
#[derive(Debug, Clone)]
pub struct OutgoingActivity {
    pub id: i64,
    pub payload: String,
    pub actor_id: i64,
    pub actor_username: String,
}

/// How an attempt ended, as recorded.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A 2xx: finished.
    Done { status: u16 },
    /// Will be tried again at `at_ms` (epoch milliseconds).
    Retry { status: Option<u16>, error: String, at_ms: i64 },
    /// Finished without success: not retried.
    Failed { status: Option<u16>, error: String },
    /// Not attempted (the server was busy here): back to the queue at `at_ms`, no attempt counted.
    Released { at_ms: i64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    Pending,
    Done,
    Failed,
}

impl DeliveryState {
    pub fn parse(s: &str) -> Option<DeliveryState> {
        match s {
            "pending" => Some(DeliveryState::Pending),
            "done" => Some(DeliveryState::Done),
            "failed" => Some(DeliveryState::Failed),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Done => "done",
            DeliveryState::Failed => "failed",
        }
    }
}

/// A delivery as the admin sees it.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: i64,
    pub activity_uuid: String,
    pub activity_kind: String,
    pub inbox: String,
    pub state: String,
    pub attempts: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub next_attempt_ms: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Rows and sizes of the outbox, for the admin and the benchmark.
#[derive(Debug, Clone, Copy, Default)]
pub struct OutboxCounts {
    pub activities: i64,
    pub pending: i64,
    pub done: i64,
    pub failed: i64,
}

#[async_trait]
pub trait FederationStore: Send + Sync {
    /// Stores a follower (or refreshes its inboxes) and queues the Accept that answers it, in
    /// one transaction. True when it was not following yet.
    async fn add_follower(&self, follower: &NewFollower, accept: &DirectActivity) -> StoreResult<bool>;

    /// Removes a follow. True when there was one.
    async fn remove_follower(&self, actor_id: i64, ap_id: &str) -> StoreResult<bool>;

    /// Removes the follow that the Follow `follow_id` by `ap_id` made. True when there was one.
    async fn remove_follow(&self, ap_id: &str, follow_id: &str) -> StoreResult<bool>;

    /// Moves every follow by `old_ap_id` to `new` (a Move the new account confirmed).
    async fn move_followers(&self, old_ap_id: &str, new: &RemoteActor) -> StoreResult<u64>;

    /// All followers of all local actors, oldest first.
    async fn followers(&self, offset: i64, limit: i64) -> StoreResult<Page<Follower>>;

    /// The distinct delivery addresses of the followers of these actors: the shared inbox
    /// when the follower has one, its own inbox otherwise.
    async fn follower_inboxes(&self, actor_ids: &[i64]) -> StoreResult<Vec<String>>;

    /// The usernames of the local actors someone follows.
    async fn followed_usernames(&self) -> StoreResult<Vec<String>>;

    /// Records `value` as the service's `name` (see migration 0007) and returns what was
    /// recorded before, if anything.
    async fn swap_service_state(&self, name: &str, value: &str) -> StoreResult<Option<String>>;

    /// Queues an activity written whole, from `actor_id` to each of `inboxes`.
    async fn queue_to_inboxes(
        &self,
        actor_id: i64,
        kind: &'static str,
        uuid: &str,
        payload: &str,
        inboxes: &[String],
    ) -> StoreResult<()>;

    async fn upsert_remote_actor(&self, actor: &RemoteActor) -> StoreResult<()>;

    async fn remote_actor(&self, ap_id: &str) -> StoreResult<Option<RemoteActor>>;

    /// The remote actor that publishes the key `key_id`.
    async fn remote_actor_by_key(&self, key_id: &str) -> StoreResult<Option<RemoteActor>>;

    /// Activities waiting for fan-out, oldest first.
    async fn activities_to_fan_out(&self, limit: i64) -> StoreResult<Vec<ActivityToFanOut>>;

    /// Fixes an activity's payload and writes one pending delivery per inbox, unless another
    /// worker fanned it out first (then nothing changes and false is returned). A Delete fails
    /// the object's earlier Create and Update deliveries still pending ("superseded").
    async fn fan_out(&self, activity_id: i64, payload: Option<&str>, inboxes: &[String]) -> StoreResult<bool>;

    /// Leases up to `limit` due pending deliveries until `lease_until_ms`, skipping the hosts
    /// listed (their queue here is full).
    async fn claim_deliveries(
        &self,
        now_ms: i64,
        lease_until_ms: i64,
        limit: i64,
        skip_hosts: &[String],
    ) -> StoreResult<Vec<ClaimedDelivery>>;

    async fn outgoing_activity(&self, activity_id: i64) -> StoreResult<Option<OutgoingActivity>>;

    /// A local actor's private key (PEM), which never leaves the service.
    async fn private_key_pem(&self, actor_id: i64) -> StoreResult<Option<String>>;

    /// Records how attempts ended, in one transaction. An outcome whose claim has run out (and
    /// may have passed to another worker) is dropped. A 410 removes, in the same transaction,
    /// every follower behind that inbox.
    async fn record_outcomes(&self, outcomes: &[(ClaimedDelivery, Outcome)]) -> StoreResult<()>;

    async fn deliveries(&self, state: Option<DeliveryState>, offset: i64, limit: i64) -> StoreResult<Page<Delivery>>;

    async fn delivery(&self, id: i64) -> StoreResult<Option<Delivery>>;

    /// Makes a delivery pending and due now, whatever its state.
    async fn retry_delivery(&self, id: i64, now_ms: i64) -> StoreResult<Option<Delivery>>;

    /// Queues the article and each of its local comments again, as they are now (a Create, or a
    /// Delete for what was deleted), for fan-out to the current followers. Returns how many
    /// activities were queued.
    async fn resend_article(&self, article_id: i64) -> StoreResult<u64>;

    /// Notes an attempt's result for a server's availability.
    async fn instance_result(&self, host: &str, success: bool, unavailable_after: chrono::Duration) -> StoreResult<()>;

    /// A server showed it is there (it sent us a signed request): no longer unavailable.
    async fn server_is_back(&self, host: &str) -> StoreResult<()>;

    /// Servers marked unavailable.
    async fn unavailable_hosts(&self) -> StoreResult<Vec<String>>;

    async fn outbox_counts(&self) -> StoreResult<OutboxCounts>;
}
