//! Delivery that loses nothing. Every activity is a row before anything is sent (queued in the
//! transaction of the change it announces); [`fanout`] turns it into one delivery row per
//! inbox; the worker here claims due rows for a while (a lease), sends them ([`send`]) and
//! records each outcome ([`schedule`] judges it). A crash at any point leaves rows that are
//! pending, or leased until the lease runs out: they are sent again after a restart, so every
//! (activity, inbox) pair is delivered at least once.
//!
//! Limits: at most `concurrency` requests in all and `per_server` per server at once; a
//! server's queue here is kept to twice that, so one slow server cannot take every slot.
//! Several processes on one PostgreSQL database share the rows (claims skip locked rows).

pub mod fanout;
pub mod schedule;
pub mod send;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, Semaphore};

use crate::federation::signatures::SigningKey;
use crate::startup::{memory, AppState};
use crate::store::federation::{ClaimedDelivery, Outcome};
use crate::store::StoreError;
use schedule::Verdict;
use send::Prepared;

/// How long a batch of outcomes waits for more before it is written.
const BATCH_WINDOW: Duration = Duration::from_millis(25);
/// How often the store is checked when nothing wakes the worker (other processes' work).
const POLL: Duration = Duration::from_secs(1);
/// A server failing this long without a success is skipped at fan-out until it answers again.
pub const UNAVAILABLE_AFTER: chrono::Duration = chrono::Duration::days(3);

#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub retry_base: Duration,
    pub concurrency: usize,
    pub per_server: usize,
    /// How long a claim lasts: longer than any attempt (a request is cut at 10 s, and a claimed
    /// row waits for about one round of slots).
    pub lease: Duration,
}

pub struct Worker {
    pub state: AppState,
    settings: Settings,
    keys: moka::sync::Cache<i64, Arc<SigningKey>>,
    prepared: moka::sync::Cache<i64, Arc<Prepared>>,
    /// Told when a delivery ends and its slot is free.
    freed: tokio::sync::Notify,
    /// Held while an activity is loaded, so concurrent deliveries of it load it once.
    loading: tokio::sync::Mutex<()>,
    slots: Arc<Semaphore>,
    /// Claimed deliveries this process holds: sending, or queued for a slot.
    held: AtomicUsize,
    servers: Mutex<HashMap<String, Server>>,
    /// Servers this process saw answer, so each success is written once, not per delivery.
    answering: Mutex<HashSet<String>>,
}

/// One server's share: its slots and how many of its deliveries this process holds.
struct Server {
    slots: Arc<Semaphore>,
    held: usize,
}

/// An attempt's end, on its way to the store.
struct Finished {
    delivery: ClaimedDelivery,
    outcome: Outcome,
    gone: bool,
    /// None: the attempt says nothing about the server (not sent).
    server_answered: Option<bool>,
}

impl Worker {
    pub fn new(state: AppState, settings: Settings) -> Arc<Worker> {
        Arc::new(Worker {
            state,
            settings,
            keys: moka::sync::Cache::new(memory::DELIVERY_KEYS),
            prepared: moka::sync::Cache::builder()
                .max_capacity(memory::PREPARED_ACTIVITIES_BYTES)
                .weigher(|_, prepared: &Arc<Prepared>| memory::weight(prepared.body.len() + prepared.digest.len()))
                .build(),
            loading: tokio::sync::Mutex::new(()),
            freed: tokio::sync::Notify::new(),
            slots: Arc::new(Semaphore::new(settings.concurrency)),
            held: AtomicUsize::new(0),
            servers: Mutex::new(HashMap::new()),
            answering: Mutex::new(HashSet::new()),
        })
    }

    /// Runs until the task is dropped: fans out, claims, sends, records.
    pub async fn run(self: Arc<Self>) {
        let (finished_tx, finished_rx) = mpsc::unbounded_channel();
        tokio::spawn(self.clone().record(finished_rx));
        // The queue of activities is looked at when something was queued here, and at least
        // every POLL (for what other processes queued); freed slots only claim deliveries.
        let mut look_at_queue = true;
        let mut last_look = tokio::time::Instant::now();
        loop {
            let mut busy = false;
            if look_at_queue || last_look.elapsed() >= POLL {
                last_look = tokio::time::Instant::now();
                match fanout::fan_out_pending(&self.state).await {
                    Ok(n) => busy |= n > 0,
                    Err(e) => tracing::warn!(error = %e, "fan-out failed; will try again"),
                }
            }
            look_at_queue = busy;
            match self.dispatch(&finished_tx).await {
                Ok(n) => busy |= n > 0,
                Err(e) => tracing::warn!(error = %e, "claiming deliveries failed; will try again"),
            }
            if !busy {
                tokio::select! {
                    _ = self.state.outbox.notified() => look_at_queue = true,
                    _ = self.freed.notified() => {}
                    _ = tokio::time::sleep(POLL) => look_at_queue = true,
                }
            }
        }
    }

    /// A local actor's signing key, parsed once.
    async fn signing_key(&self, actor_id: i64, username: &str) -> Result<Arc<SigningKey>, StoreError> {
        if let Some(key) = self.keys.get(&actor_id) {
            return Ok(key);
        }
        let pem = self
            .state
            .store
            .private_key_pem(actor_id)
            .await?
            .ok_or_else(|| StoreError::Other(format!("actor '{username}' has no key yet")))?;
        let key = SigningKey::from_pem(self.state.urls.key_id(username), &pem)
            .map_err(|e| StoreError::Other(format!("the key of '{username}' is unusable: {e}")))?;
        let key = Arc::new(key);
        self.keys.insert(actor_id, key.clone());
        Ok(key)
    }

    async fn prepared(&self, activity_id: i64) -> Result<Option<Arc<Prepared>>, StoreError> {
        if let Some(prepared) = self.prepared.get(&activity_id) {
            return Ok(Some(prepared));
        }
        let _loading = self.loading.lock().await;
        if let Some(prepared) = self.prepared.get(&activity_id) {
            return Ok(Some(prepared));
        }
        let Some(outgoing) = self.state.store.outgoing_activity(activity_id).await? else { return Ok(None) };
        let key = self.signing_key(outgoing.actor_id, &outgoing.actor_username).await?;
        let prepared = Arc::new(Prepared::new(outgoing.payload, key));
        self.prepared.insert(activity_id, prepared.clone());
        Ok(Some(prepared))
    }

    /// Claims due deliveries into the window and starts them; each waits for its slots.
    async fn dispatch(self: &Arc<Self>, finished: &mpsc::UnboundedSender<Finished>) -> Result<usize, StoreError> {
        // Claimed rows queue here for the slots, up to twice the slots, so a claim (a write
        // that may wait for the store) never leaves slots idle; a claim waits until half of
        // that window is free, so claims are few and large.
        let window = 2 * self.settings.concurrency;
        let held = self.held.load(Ordering::Acquire);
        let room = window.saturating_sub(held);
        if room == 0 || (held > 0 && room < self.settings.concurrency) {
            return Ok(0);
        }
        let full: Vec<String> = {
            let servers = self.servers.lock().unwrap_or_else(|e| e.into_inner());
            servers.iter().filter(|(_, s)| s.held >= 2 * self.settings.per_server).map(|(h, _)| h.clone()).collect()
        };
        let now = chrono::Utc::now().timestamp_millis();
        let lease_end = now + self.settings.lease.as_millis() as i64;
        let claimed = self.state.store.claim_deliveries(now, lease_end, room.min(256) as i64, &full).await?;
        let mut over_limit = Vec::new();
        for delivery in &claimed {
            // One claim may bring more of a server's rows than its queue here may hold: those
            // go back at once, still due, for when the server has room.
            let Some(server) = self.hold(&delivery.host) else {
                over_limit.push((delivery.clone(), Outcome::Released { at_ms: now }));
                continue;
            };
            self.held.fetch_add(1, Ordering::AcqRel);
            let worker = self.clone();
            let finished = finished.clone();
            let delivery = delivery.clone();
            tokio::spawn(async move {
                let done = worker.deliver(delivery, server).await;
                worker.release(&done.delivery.host);
                worker.held.fetch_sub(1, Ordering::AcqRel);
                let _ = finished.send(done);
                worker.freed.notify_one();
            });
        }
        if !over_limit.is_empty() {
            self.state.store.record_outcomes(&over_limit).await?;
        }
        Ok(claimed.len() - over_limit.len())
    }

    /// Counts a delivery into its server's queue here, or None when the queue is full (twice
    /// the server's slots).
    fn hold(&self, host: &str) -> Option<Arc<Semaphore>> {
        let mut servers = self.servers.lock().unwrap_or_else(|e| e.into_inner());
        let server = servers
            .entry(host.to_string())
            .or_insert_with(|| Server { slots: Arc::new(Semaphore::new(self.settings.per_server)), held: 0 });
        if server.held >= 2 * self.settings.per_server {
            return None;
        }
        server.held += 1;
        Some(server.slots.clone())
    }

    fn release(&self, host: &str) {
        let mut servers = self.servers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(server) = servers.get_mut(host) {
            server.held = server.held.saturating_sub(1);
            if server.held == 0 {
                servers.remove(host);
            }
        }
    }

    /// Sends one delivery once its server, then the process, has a free slot.
    async fn deliver(&self, delivery: ClaimedDelivery, server: Arc<Semaphore>) -> Finished {
        let _server_slot = server.acquire_owned().await;
        let _slot = self.slots.acquire().await;
        let prepared = match self.prepared(delivery.activity_id).await {
            Ok(Some(prepared)) => prepared,
            Ok(None) => {
                let outcome = Outcome::Failed { status: None, error: "the activity has nothing to send".into() };
                return Finished { delivery, outcome, gone: false, server_answered: None };
            }
            Err(e) => {
                // The store is unreachable: back to the queue without counting an attempt.
                tracing::warn!(error = %e, "cannot load an activity to send");
                let at_ms = chrono::Utc::now().timestamp_millis() + self.settings.retry_base.as_millis() as i64;
                return Finished { delivery, outcome: Outcome::Released { at_ms }, gone: false, server_answered: None };
            }
        };
        let attempt = send::attempt(&self.state.client, prepared, &delivery.inbox, self.state.config.dev).await;
        let attempts = delivery.attempts + 1;
        let verdict = if attempt.permanent {
            Verdict::GiveUp(attempt.error.clone().unwrap_or_default())
        } else {
            schedule::judge(attempt.status, attempt.retry_after, attempts, self.settings.retry_base)
        };
        let error = attempt.error.clone().unwrap_or_default();
        let (outcome, gone) = match verdict {
            Verdict::Done => (Outcome::Done { status: attempt.status.unwrap_or(200) }, false),
            Verdict::Retry(delay) => {
                let at_ms = chrono::Utc::now().timestamp_millis() + delay.as_millis() as i64;
                tracing::info!(inbox = %delivery.inbox, attempts, ?delay, %error, "delivery failed; will retry");
                (Outcome::Retry { status: attempt.status, error, at_ms }, false)
            }
            Verdict::GiveUp(why) => {
                tracing::warn!(inbox = %delivery.inbox, attempts, %why, %error, "delivery given up");
                let error = if error.is_empty() || error == why { why } else { format!("{why}; {error}") };
                (Outcome::Failed { status: attempt.status, error }, false)
            }
            Verdict::Gone => (
                Outcome::Failed {
                    status: attempt.status,
                    error: "410 Gone: the inbox's followers were removed".into(),
                },
                true,
            ),
        };
        // A 5xx or no answer counts against the server; any other answer shows it is there.
        let server_answered = match attempt.status {
            _ if attempt.permanent => None,
            None => Some(false),
            Some(s) => Some(s < 500),
        };
        Finished { delivery, outcome, gone, server_answered }
    }

    /// Writes outcomes in batches: whatever finishes within a short window, or while the last
    /// batch was written.
    async fn record(self: Arc<Self>, mut finished: mpsc::UnboundedReceiver<Finished>) {
        while let Some(first) = finished.recv().await {
            // Deliveries end one by one: a batch stays open a moment so that one commit
            // records many of them.
            let mut batch = vec![first];
            let close_at = tokio::time::Instant::now() + BATCH_WINDOW;
            while batch.len() < 256 {
                match tokio::time::timeout_at(close_at, finished.recv()).await {
                    Ok(Some(next)) => batch.push(next),
                    Ok(None) | Err(_) => break,
                }
            }
            let outcomes: Vec<_> = batch.iter().map(|f| (f.delivery.clone(), f.outcome.clone())).collect();
            let mut tries = 0;
            while let Err(e) = self.state.store.record_outcomes(&outcomes).await {
                // Unrecorded rows stay leased and are sent again after the lease: at least once.
                tries += 1;
                tracing::warn!(error = %e, tries, "recording delivery outcomes failed");
                if tries >= 5 {
                    break;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            for done in &batch {
                self.after(done).await;
            }
        }
    }

    /// What an outcome says of its server's availability (followers behind a gone inbox were
    /// removed with the outcome).
    async fn after(&self, done: &Finished) {
        let store = &self.state.store;
        if done.gone {
            tracing::info!(inbox = %done.delivery.inbox, "inbox gone; its followers were removed");
        }
        let Some(answered) = done.server_answered else { return };
        let host = &done.delivery.host;
        // A success is written once per server; every failure is written (it may be the one
        // that marks the server unavailable).
        let first_news = {
            let mut answering = self.answering.lock().unwrap_or_else(|e| e.into_inner());
            if answered {
                answering.insert(host.clone())
            } else {
                answering.remove(host);
                true
            }
        };
        if first_news {
            if let Err(e) = store.instance_result(host, answered, UNAVAILABLE_AFTER).await {
                tracing::warn!(error = %e, "cannot record a server's availability");
            }
        }
    }
}
