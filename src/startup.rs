//! Builds the application: opens and migrates the store, makes sure the site actor exists with
//! its keys, and serves on a listener the caller bound (port 0 in tests).

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::config::Config;
use crate::delivery::{self, Worker};
use crate::domain::LocalActor;
use crate::federation::fetch;
use crate::federation::keys;
use crate::federation::limits::RateLimiter;
use crate::federation::render::Renderer;
use crate::federation::signatures::SigningKey;
use crate::federation::urls::Urls;
use crate::http::cache::DocumentCache;
use crate::store::federation::RemoteActor;
use crate::store::{self, Store};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub urls: Urls,
    /// The site actor, as stored at start-up.
    pub site: Arc<LocalActor>,
    /// Rendered thread documents (see `http::cache`).
    pub cache: Arc<DocumentCache>,
    /// Wakes the delivery worker when something was queued.
    pub outbox: Arc<Notify>,
    /// Wakes the webhook worker when an event was queued.
    pub webhook: Arc<Notify>,
    /// The client for fetching remote documents (see `federation::fetch`).
    pub client: reqwest::Client,
    /// The site actor's key, which signs our fetches.
    pub site_key: Arc<SigningKey>,
    /// Inbox requests per server (see `federation::limits`).
    pub inbox_limiter: RateLimiter,
    /// Signers' keys verified lately, by key id (the store keeps them too; this saves a read
    /// per inbox request).
    pub signer_keys: moka::sync::Cache<String, RemoteActor>,
    /// Fingerprints of the signatures the inbox accepted lately (see
    /// `federation::verify`): the same signed request again is a replay.
    pub seen_signatures: moka::sync::Cache<u128, ()>,
    /// Parent chains and crawls fetched in the background: their bound, and the conversations
    /// crawled lately (see `federation::replies`).
    pub background: crate::federation::replies::Background,
}

/// Bounds of the in-process caches beside the document cache (`THREADBRIDGE_CACHE_MB`) and
/// SQLite's page cache (`THREADBRIDGE_SQLITE_CACHE_MB`), and what they can hold at most; README,
/// "Memory", sums them up with the base the soak measured.
pub mod memory {
    const MIB: u64 = 1024 * 1024;

    /// Signatures remembered against replays, for a little longer than a signed `Date` is
    /// accepted (an hour either way): 16-byte fingerprints, about 100 bytes each with the
    /// cache's bookkeeping.
    pub const SEEN_SIGNATURES: u64 = 200_000;
    /// Signers' actors kept in memory, counted in bytes of their strings (a key's PEM, ids).
    pub const SIGNER_KEYS_BYTES: u64 = 8 * MIB;
    /// Local actors' private keys held by the delivery worker, parsed: about 4 KiB each.
    pub const DELIVERY_KEYS: u64 = 2_000;
    /// Activities ready to send (body and digest), counted in bytes of their bodies.
    pub const PREPARED_ACTIVITIES_BYTES: u64 = 16 * MIB;
    /// Servers whose inbox rate is tracked (one token bucket each, about 150 bytes); a server
    /// pushed out starts again with a full bucket.
    pub const RATE_LIMITED_SERVERS: u64 = 20_000;
    /// Conversation collections crawled lately (their URLs, about 200 bytes each).
    pub const RECENT_CONTEXTS: u64 = 10_000;

    /// What moka's weigher counts of a value: its bytes, saturated to its `u32`.
    pub fn weight(bytes: usize) -> u32 {
        u32::try_from(bytes).unwrap_or(u32::MAX)
    }

    /// The most, in MiB, the caches other than the document and page caches hold.
    pub fn other_caches_mib() -> u64 {
        let bytes = SEEN_SIGNATURES * 100
            + SIGNER_KEYS_BYTES * 5 / 4 // and the entries' bookkeeping
            + DELIVERY_KEYS * 4096
            + PREPARED_ACTIVITIES_BYTES
            + RATE_LIMITED_SERVERS * 150
            + RECENT_CONTEXTS * 200
            + crate::http::cache::WRITTEN_MAX as u64 * 100;
        bytes.div_ceil(MIB)
    }
}

impl AppState {
    pub fn renderer(&self) -> Renderer<'_> {
        Renderer { urls: &self.urls, config: &self.config }
    }
}

/// Opens the store and applies its migrations.
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let store = store::connect(&config.database_url, config.sqlite_cache_megabytes).await?;
    store.migrate().await?;
    Ok(store)
}

pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    /// Prepares the service on `listener`; nothing is served until [`Application::run`].
    pub async fn build(config: Config, listener: TcpListener) -> anyhow::Result<Application> {
        config.validate().map_err(anyhow::Error::msg)?;
        if config.dev {
            tracing::warn!(
                "THREADBRIDGE_DEV is on: http:// and loopback peers are allowed. Never run a public server like this."
            );
        }
        if config.admin_token.as_deref().is_none_or(str::is_empty) {
            tracing::warn!("THREADBRIDGE_ADMIN_TOKEN is not set: every admin request will be refused");
        }
        let store = open_store(&config).await?;
        let sqlite_cache = if config.database_url.starts_with("sqlite:") { config.sqlite_cache_megabytes } else { 0 };
        tracing::info!(
            "memory budget: document cache {} MiB (THREADBRIDGE_CACHE_MB), SQLite page cache {} MiB \
             (THREADBRIDGE_SQLITE_CACHE_MB), other caches at most {} MiB; README, \"Memory\", adds the base",
            config.cache_megabytes,
            sqlite_cache,
            memory::other_caches_mib()
        );
        let site = store.ensure_site_actor(&config.site_username, &config.site_name).await?;
        let site = keys::with_keys(store.as_ref(), site).await?;
        let urls = Urls::new(config.base_url());
        let cache = Arc::new(DocumentCache::new(config.cache_megabytes.saturating_mul(1024 * 1024)));
        let pem = store
            .private_key_pem(site.id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("the site actor has no private key"))?;
        let site_key = Arc::new(SigningKey::from_pem(urls.key_id(&site.username), &pem)?);
        let client = fetch::client(config.dev)?;
        let seen_signatures = moka::sync::Cache::builder()
            .max_capacity(memory::SEEN_SIGNATURES)
            .time_to_live(std::time::Duration::from_secs(2 * 3600 + 600))
            .build();
        let outbox = Arc::new(Notify::new());
        let inbox_limiter = RateLimiter::new(config.inbox_rate, config.inbox_burst);
        let state = AppState {
            config: Arc::new(config),
            store,
            urls,
            site: Arc::new(site),
            cache,
            outbox,
            webhook: Arc::new(Notify::new()),
            inbox_limiter,
            signer_keys: moka::sync::Cache::builder()
                .max_capacity(memory::SIGNER_KEYS_BYTES)
                .weigher(|key_id: &String, actor: &RemoteActor| memory::weight(key_id.len() + actor.heap_bytes()))
                .time_to_live(std::time::Duration::from_secs(600))
                .build(),
            client,
            site_key,
            seen_signatures,
            background: Default::default(),
        };
        crate::federation::handles::announce_if_changed(&state).await?;
        crate::feeds::add_configured(&state).await?;
        Ok(Application { listener, state })
    }

    pub fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves (and delivers) until `shutdown` completes, then finishes the requests in flight.
    /// Deliveries in flight are dropped: their rows stay leased and are sent again later.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let config = &self.state.config;
        let worker = config.delivery_worker.then(|| {
            let settings = delivery::Settings {
                retry_base: std::time::Duration::from_secs(config.retry_base_seconds),
                concurrency: usize::try_from(config.delivery_concurrency).unwrap_or(64),
                per_server: usize::try_from(config.delivery_per_server).unwrap_or(8),
                lease: std::time::Duration::from_secs(config.delivery_lease_seconds),
            };
            tokio::spawn(Worker::new(self.state.clone(), settings).run())
        });
        // The site's webhook is sent by the processes that send deliveries.
        let webhook = (config.delivery_worker && config.webhook_url.is_some())
            .then(|| tokio::spawn(crate::webhook::run(self.state.clone())));
        let pruner = Some(tokio::spawn(crate::federation::inbox::forget_old_activities(self.state.clone())));
        let feeds = config.feed_worker.then(|| tokio::spawn(crate::feeds::worker(self.state.clone())));
        let app = crate::http::router(self.state);
        let served = axum::serve(self.listener, app).with_graceful_shutdown(shutdown).await;
        for worker in [worker, webhook, pruner, feeds].into_iter().flatten() {
            worker.abort();
        }
        served
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
