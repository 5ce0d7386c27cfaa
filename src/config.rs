//! Configuration: every setting comes from the environment (or the equivalent flag).
//!
//! The names are a contract with operators and scripts: keep them.

use std::net::SocketAddr;

use clap::{Parser, Subcommand, ValueEnum};
use url::Url;

/// `threadbridge serve | migrate`, configured from the environment.
#[derive(Parser, Debug, Clone)]
#[command(name = "threadbridge", version, about = "Bridges a site's articles and comments into ActivityPub")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub config: Config,
}

#[derive(Subcommand, Debug, Clone)]
pub enum Command {
    /// Run the HTTP service (migrates the database first).
    Serve,
    /// Apply the database migrations and exit.
    Migrate,
    /// Import a site's existing discussions from a WordPress export (WXR), a Disqus export or
    /// threadbridge JSON; nothing imported is delivered to followers. The last line printed is
    /// the summary; the exit status is non-zero when anything failed.
    Import {
        /// The export file.
        file: std::path::PathBuf,
        /// `wxr`, `disqus` or `json`; guessed from the file when not given.
        #[arg(long, value_enum)]
        format: Option<crate::import::Format>,
    },
    /// Check a running service from outside (public URL, WebFinger on the handle domain,
    /// NodeInfo, host-meta, TLS); exits non-zero when something is wrong.
    Doctor,
}

/// The ActivityStreams type the site's articles are published as.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectType {
    Note,
    Article,
}

/// The ActivityStreams type of the site actor (see FEDERATION.md for why Person is the default).
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiteActorType {
    Person,
    Service,
    Group,
}

impl SiteActorType {
    pub fn as_str(self) -> &'static str {
        match self {
            SiteActorType::Person => "Person",
            SiteActorType::Service => "Service",
            SiteActorType::Group => "Group",
        }
    }
}

/// How replies from the fediverse are shown: at once, or once an admin approves them.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyPolicy {
    Open,
    Hold,
}

impl ReplyPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            ReplyPolicy::Open => "open",
            ReplyPolicy::Hold => "hold",
        }
    }

    pub fn parse(stored: &str) -> Option<ReplyPolicy> {
        match stored {
            "open" => Some(ReplyPolicy::Open),
            "hold" => Some(ReplyPolicy::Hold),
            _ => None,
        }
    }
}

#[derive(clap::Args, Clone)]
pub struct Config {
    /// Base URL the fediverse sees (scheme, host, optional port).
    #[arg(long, global = true, env = "THREADBRIDGE_PUBLIC_URL", default_value = "http://localhost:8080")]
    pub public_url: Url,
    /// Address to bind.
    #[arg(long, global = true, env = "THREADBRIDGE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// `sqlite://...` or `postgres://...`; a SQLite file in the working directory by default.
    #[arg(long, global = true, env = "DATABASE_URL", default_value = "sqlite://threadbridge.db")]
    pub database_url: String,
    /// Bearer token of the admin API; with none set, every admin request is refused.
    #[arg(long, global = true, env = "THREADBRIDGE_ADMIN_TOKEN")]
    pub admin_token: Option<String>,
    /// The site actor's username.
    #[arg(long, global = true, env = "THREADBRIDGE_SITE_USERNAME", default_value = "site")]
    pub site_username: String,
    /// The site actor's display name.
    #[arg(long, global = true, env = "THREADBRIDGE_SITE_NAME", default_value = "threadbridge")]
    pub site_name: String,
    /// The site actor's bio (plain text).
    #[arg(long, global = true, env = "THREADBRIDGE_SITE_SUMMARY")]
    pub site_summary: Option<String>,
    /// The site's own web address (the actor's `url`); the public URL by default.
    #[arg(long, global = true, env = "THREADBRIDGE_SITE_URL")]
    pub site_url: Option<Url>,
    /// The site actor's avatar.
    #[arg(long, global = true, env = "THREADBRIDGE_SITE_ICON")]
    pub site_icon: Option<Url>,
    /// `note` (default: full timeline display on Mastodon) or `article`.
    #[arg(long, global = true, env = "THREADBRIDGE_OBJECT_TYPE", value_enum, default_value = "note")]
    pub object_type: ObjectType,
    /// `person` (default), `service` or `group`.
    #[arg(long, global = true, env = "THREADBRIDGE_SITE_ACTOR_TYPE", value_enum, default_value = "person")]
    pub site_actor_type: SiteActorType,
    /// Largest admin request body accepted, in bytes.
    #[arg(long, global = true, env = "THREADBRIDGE_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Feeds to poll (RSS, Atom or JSON Feed URLs, comma-separated), added at start when missing;
    /// the admin API (`/api/admin/feeds`) adds and removes others.
    #[arg(long, global = true, env = "THREADBRIDGE_FEEDS")]
    pub feeds: Option<String>,
    /// Largest file `POST /api/admin/import` takes, in MiB (`threadbridge import` reads files of
    /// any size).
    #[arg(long, global = true, env = "THREADBRIDGE_IMPORT_MAX_MB", default_value_t = 1024)]
    pub import_max_megabytes: u64,
    /// Memory for rendered documents (articles, comments, collections, threads), in MiB.
    #[arg(long, global = true, env = "THREADBRIDGE_CACHE_MB", default_value_t = 64)]
    pub cache_megabytes: u64,
    /// SQLite's page cache, in MiB, shared by all the store's connections (ignored on PostgreSQL).
    #[arg(long, global = true, env = "THREADBRIDGE_SQLITE_CACHE_MB", default_value_t = 32)]
    pub sqlite_cache_megabytes: u64,
    /// The domain of every handle (`@site@news.example`) when the service runs on another host
    /// than the site's: a bare host, with a port allowed for tests. The public URL's host when
    /// unset.
    #[arg(long, global = true, env = "THREADBRIDGE_HANDLE_DOMAIN")]
    pub handle_domain: Option<String>,
    /// The origins (`https://news.example`, comma-separated) whose pages may frame the embedded
    /// thread (`/embed/articles/{key}`); the site URL's origin when unset.
    #[arg(long, global = true, env = "THREADBRIDGE_EMBED_ORIGINS")]
    pub embed_origins: Option<String>,
    /// Base delay before a failed delivery is retried, in seconds; it doubles per attempt
    /// (see `delivery::schedule`).
    #[arg(long, global = true, env = "THREADBRIDGE_RETRY_BASE_SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub retry_base_seconds: u64,
    /// Deliveries in flight at once, in all.
    #[arg(long, global = true, env = "THREADBRIDGE_DELIVERY_CONCURRENCY", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub delivery_concurrency: u64,
    /// Deliveries in flight at once to one server.
    #[arg(long, global = true, env = "THREADBRIDGE_DELIVERY_PER_SERVER", default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub delivery_per_server: u64,
    /// How long a claimed delivery is this process's, in seconds; after a crash, what was in
    /// flight is sent again once its claim runs out. Keep it well above the 10 s request limit.
    #[arg(long, global = true, env = "THREADBRIDGE_DELIVERY_LEASE_SECONDS", default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub delivery_lease_seconds: u64,
    /// `0` stops this process from sending deliveries (it still queues them for others).
    #[arg(long, global = true, env = "THREADBRIDGE_DELIVERY_WORKER", default_value = "1", value_parser = parse_flag, action = clap::ArgAction::Set)]
    pub delivery_worker: bool,
    /// `0` stops this process from polling feeds on its own (others do, or the admin's
    /// `POST /api/admin/feeds/{id}/poll`).
    #[arg(long, global = true, env = "THREADBRIDGE_FEED_WORKER", default_value = "1", value_parser = parse_flag, action = clap::ArgAction::Set)]
    pub feed_worker: bool,
    /// Replies from the fediverse: `open` (shown at once) or `hold` (pending until approved);
    /// an article's own policy overrides it.
    #[arg(long, global = true, env = "THREADBRIDGE_REPLY_POLICY", value_enum, default_value = "open")]
    pub reply_policy: ReplyPolicy,
    /// Where the site is told of new, edited and deleted federated replies (POST, JSON).
    #[arg(long, global = true, env = "THREADBRIDGE_WEBHOOK_URL")]
    pub webhook_url: Option<Url>,
    /// The HMAC-SHA256 key that signs webhook requests (`X-Threadbridge-Signature`).
    #[arg(long, global = true, env = "THREADBRIDGE_WEBHOOK_SECRET")]
    pub webhook_secret: Option<String>,
    /// Inbox requests per second each server may send (`0`: no limit); above it, 429.
    #[arg(long, global = true, env = "THREADBRIDGE_INBOX_RATE", default_value_t = 100)]
    pub inbox_rate: u32,
    /// How many inbox requests a server may send at once before its rate applies.
    #[arg(long, global = true, env = "THREADBRIDGE_INBOX_BURST", default_value_t = 1000)]
    pub inbox_burst: u32,
    /// `1` allows `http://` and loopback peers, for tests and local demos.
    #[arg(long, global = true, env = "THREADBRIDGE_DEV", default_value = "0", value_parser = parse_flag, action = clap::ArgAction::Set)]
    pub dev: bool,
}

fn parse_flag(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "" | "0" | "false" | "no" | "off" => Ok(false),
        other => Err(format!("expected 1 or 0, got '{other}'")),
    }
}

impl Config {
    /// A configuration with every default, for tests and embedding.
    pub fn defaults() -> Config {
        Cli::parse_from(["threadbridge", "serve"]).config
    }

    /// Checks what clap cannot: the public URL's shape, the site username.
    pub fn validate(&self) -> Result<(), String> {
        if !crate::domain::is_web(&self.public_url) || self.public_url.host_str().is_none() {
            return Err("THREADBRIDGE_PUBLIC_URL must be an http(s) URL with a host".into());
        }
        if self.public_url.scheme() == "http" && !self.dev {
            tracing::warn!("THREADBRIDGE_PUBLIC_URL is http://: other servers will refuse it outside dev mode");
        }
        self.embed_origins()?;
        if let Some(domain) = &self.handle_domain {
            check_handle_domain(domain)?;
        }
        if crate::domain::username::is_valid_username(&self.site_username) {
            Ok(())
        } else {
            Err("THREADBRIDGE_SITE_USERNAME must be 1-30 of a-z, 0-9 and _".into())
        }
    }

    /// The public URL with no trailing slash, the prefix of every id.
    pub fn base_url(&self) -> String {
        self.public_url.as_str().trim_end_matches('/').to_string()
    }

    /// `host` or `host:port`, the domain part of `@user@domain` handles.
    pub fn domain(&self) -> String {
        let host = self.public_url.host_str().unwrap_or("localhost");
        match self.public_url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        }
    }

    /// `host` or `host:port` of every handle: `THREADBRIDGE_HANDLE_DOMAIN`, or the public URL's.
    pub fn handle_domain(&self) -> String {
        match &self.handle_domain {
            Some(domain) => domain.to_ascii_lowercase(),
            None => self.domain(),
        }
    }

    /// The origins that may frame the embedded thread: `THREADBRIDGE_EMBED_ORIGINS`, or the
    /// site URL's. Each must be an http(s) origin: a scheme and a host, an optional port, no
    /// path, query or credentials.
    pub fn embed_origins(&self) -> Result<Vec<String>, String> {
        let Some(list) = self.embed_origins.as_deref() else {
            return Ok(vec![self.site_url().origin().ascii_serialization()]);
        };
        list.split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(|raw| {
                let after_scheme = raw.split_once("://").map_or("/", |(_, rest)| rest);
                let url = Url::parse(raw).ok().filter(|u| {
                    crate::domain::is_web(u)
                        && u.host_str().is_some()
                        && !after_scheme.trim_end_matches('/').contains('/')
                        && u.query().is_none()
                        && u.fragment().is_none()
                        && u.username().is_empty()
                        && u.password().is_none()
                });
                url.map(|u| u.origin().ascii_serialization()).ok_or_else(|| {
                    format!("THREADBRIDGE_EMBED_ORIGINS: '{raw}' is not an origin such as https://news.example")
                })
            })
            .collect()
    }

    /// The site's web address.
    pub fn site_url(&self) -> Url {
        self.site_url.clone().unwrap_or_else(|| self.public_url.clone())
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("public_url", &self.public_url.as_str())
            .field("listen", &self.listen)
            .field("database_url", &redact_password(&self.database_url))
            .field("admin_token", &self.admin_token.as_ref().map(|_| "<redacted>"))
            .field("site_username", &self.site_username)
            .field("site_name", &self.site_name)
            .field("object_type", &self.object_type)
            .field("site_actor_type", &self.site_actor_type)
            .field("retry_base_seconds", &self.retry_base_seconds)
            .field("delivery_concurrency", &self.delivery_concurrency)
            .field("delivery_per_server", &self.delivery_per_server)
            .field("delivery_lease_seconds", &self.delivery_lease_seconds)
            .field("delivery_worker", &self.delivery_worker)
            .field("feed_worker", &self.feed_worker)
            .field("feeds", &self.feeds)
            .field("import_max_megabytes", &self.import_max_megabytes)
            .field("inbox_rate", &self.inbox_rate)
            .field("inbox_burst", &self.inbox_burst)
            .field("reply_policy", &self.reply_policy)
            .field("webhook_url", &self.webhook_url.as_ref().map(Url::as_str))
            .field("webhook_secret", &self.webhook_secret.as_ref().map(|_| "<redacted>"))
            .field("dev", &self.dev)
            .finish_non_exhaustive()
    }
}

fn redact_password(database_url: &str) -> String {
    match Url::parse(database_url) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("redacted"));
            url.to_string()
        }
        _ => database_url.to_string(),
    }
}

/// A handle domain is a bare host (labels of letters, digits and hyphens, or an IP address) with
/// an optional port: no scheme, path, user or empty label.
fn check_handle_domain(domain: &str) -> Result<(), String> {
    let refuse = || {
        Err(format!(
            "THREADBRIDGE_HANDLE_DOMAIN must be a bare host such as news.example (a port is allowed), not '{domain}'"
        ))
    };
    let (host, port) = match domain.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => (host, Some(port)),
        _ => (domain, None),
    };
    if port.is_some_and(|p| p.parse::<u16>().map_or(true, |p| p == 0)) {
        return refuse();
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if host.len() > 253 || !host.split('.').all(label_ok) {
        return refuse();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    fn with_origins(origins: &str) -> Result<Vec<String>, String> {
        let args = ["threadbridge", "serve", "--public-url", "https://bridge.news.example", "--embed-origins", origins];
        Cli::try_parse_from(args).map_err(|e| e.to_string())?.config.embed_origins()
    }

    #[test]
    fn a_handle_domain_is_a_bare_host() {
        for good in ["news.example", "News.Example", "localhost:8443", "127.0.0.1:3000", "xn--80ak6aa92e.example"] {
            assert_eq!(check_handle_domain(good), Ok(()), "{good}");
        }
        for bad in [
            "https://news.example",
            "news.example/",
            "news..example",
            "@news.example",
            "a@news.example",
            "news.example:0",
            "news.example:99999",
            "",
            ".news.example",
            "news.example.",
            "-news.example",
            "news example",
        ] {
            assert!(check_handle_domain(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn embed_origins_are_origins_only() {
        assert_eq!(
            with_origins("https://news.example, http://localhost:8080/").as_deref(),
            Ok(&["https://news.example".to_string(), "http://localhost:8080".to_string()][..])
        );
        for bad in [
            "news.example",
            "ftp://news.example",
            "https://news.example/blog",
            "https://a@news.example",
            "https://news.example?x",
        ] {
            assert!(with_origins(bad).is_err(), "{bad}");
        }
    }
}
