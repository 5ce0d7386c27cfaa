//! Talking to other servers safely: every remote URL is untrusted.
//!
//! - Only `https://` (also `http://` in dev mode); no user info in URLs.
//! - Never loopback, private, link-local, unspecified, multicast or IPv4-mapped addresses: IP
//!   literals are checked before the request, host names when connecting (the resolver drops
//!   such addresses, so a name that rebinds to 127.0.0.1 cannot reach us). Dev mode allows
//!   loopback only, so tests can federate over 127.0.0.1.
//! - No redirects; time limits on connecting and on the whole exchange; bodies read up to a cap.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use serde_json::Value;
use url::Url;

use super::signatures::{self, SigningKey};
use crate::store::federation::RemoteActor;

pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest document fetched (the same cap Mastodon and activitypub_federation use).
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;
pub const USER_AGENT: &str = concat!("threadbridge/", env!("CARGO_PKG_VERSION"));
pub const AP_ACCEPT: &str =
    r#"application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams""#;

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("refused URL {0}: {1}")]
    Unsafe(String, &'static str),
    #[error("{0}")]
    Http(String),
    #[error("{url} answered {status}")]
    Status { url: String, status: u16 },
    #[error("{0} is not an ActivityPub document: {1}")]
    NotActivityPub(String, String),
    #[error("the document at {0} is larger than {MAX_DOCUMENT_BYTES} bytes")]
    TooLarge(String),
}

/// Whether an address may be contacted. Outside dev mode only public unicast addresses; in
/// dev mode loopback too.
pub fn is_allowed_ip(ip: IpAddr, dev: bool) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => embedded_ipv4(v6).map(IpAddr::V4).unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    };
    if ip.is_loopback() {
        return dev;
    }
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                // Shared address space (carrier-grade NAT) and benchmarking ranges.
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            !(v6.is_unspecified()
                || v6.is_multicast()
                // Unique local fc00::/7 and link-local fe80::/10.
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                // Documentation 2001:db8::/32.
                || (first == 0x2001 && v6.segments()[1] == 0x0db8))
        }
    }
}

/// The IPv4 address an IPv6 address reaches: IPv4-mapped (`::ffff:a.b.c.d`), NAT64
/// (`64:ff9b::a.b.c.d`) and 6to4 (`2002:AABB:CCDD::`) addresses are judged as that address.
fn embedded_ipv4(v6: std::net::Ipv6Addr) -> Option<std::net::Ipv4Addr> {
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = v6.segments();
    let from = |hi: u16, lo: u16| std::net::Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    match s {
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(from(hi, lo)),
        [0x2002, hi, lo, ..] => Some(from(hi, lo)),
        _ => None,
    }
}

/// Checks a URL before anything is sent to it: scheme, no credentials, a host, and an
/// allowed address when the host is an IP literal.
pub fn check_url(url: &Url, dev: bool) -> Result<(), FetchError> {
    let refuse = |why| Err(FetchError::Unsafe(url.to_string(), why));
    match url.scheme() {
        "https" => {}
        "http" if dev => {}
        "http" => return refuse("only https:// is allowed"),
        _ => return refuse("not an http(s) URL"),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return refuse("credentials in the URL");
    }
    match url.host() {
        None => refuse("no host"),
        Some(url::Host::Ipv4(ip)) if !is_allowed_ip(IpAddr::V4(ip), dev) => refuse("a non-public address"),
        Some(url::Host::Ipv6(ip)) if !is_allowed_ip(IpAddr::V6(ip), dev) => refuse("a non-public address"),
        Some(url::Host::Domain(d)) if !dev && (d == "localhost" || d.ends_with(".localhost")) => {
            refuse("a non-public address")
        }
        Some(_) => Ok(()),
    }
}

/// Resolves names and keeps only the addresses that may be contacted.
struct PublicOnlyResolver {
    dev: bool,
}

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let dev = self.dev;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found.into_iter().filter(|a| is_allowed_ip(a.ip(), dev)).collect();
            if allowed.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

/// The one HTTP client for fetching and delivering. Failing to build it (no TLS back-end) stops
/// the start-up: a client without these limits must never be used.
pub fn client(dev: bool) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .pool_idle_timeout(Duration::from_secs(60))
        .dns_resolver(Arc::new(PublicOnlyResolver { dev }))
        .build()
}

/// Reads at most `limit` bytes of a response body; None when it is longer.
pub async fn read_capped(mut response: reqwest::Response, limit: usize) -> Result<Option<Vec<u8>>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

/// GETs an ActivityPub document, signed as `signer` (servers in authorized-fetch mode require
/// it). The document's `id` must be the URL fetched (same origin at least).
pub async fn get_document(
    client: &reqwest::Client,
    url: &Url,
    signer: Option<&SigningKey>,
    dev: bool,
) -> Result<Value, FetchError> {
    check_url(url, dev)?;
    let mut request = client.get(url.clone()).header("Accept", AP_ACCEPT);
    if let Some(key) = signer {
        let signed = signatures::sign_get(key, url, chrono::Utc::now())
            .map_err(|e| FetchError::Http(format!("cannot sign: {e}")))?;
        request = request.header("Date", signed.date).header("Signature", signed.signature);
    }
    let response = request.send().await.map_err(|e| FetchError::Http(format!("fetching {url}: {e}")))?;
    let status = response.status();
    if !status.is_success() {
        return Err(FetchError::Status { url: url.to_string(), status: status.as_u16() });
    }
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_ascii_lowercase();
    if !(content_type.starts_with("application/activity+json") || content_type.starts_with("application/ld+json")) {
        return Err(FetchError::NotActivityPub(url.to_string(), format!("media type '{content_type}'")));
    }
    let body = read_capped(response, MAX_DOCUMENT_BYTES)
        .await
        .map_err(|e| FetchError::Http(format!("reading {url}: {e}")))?
        .ok_or_else(|| FetchError::TooLarge(url.to_string()))?;
    let doc: Value =
        serde_json::from_slice(&body).map_err(|e| FetchError::NotActivityPub(url.to_string(), e.to_string()))?;
    let id = doc.get("id").and_then(Value::as_str).and_then(|id| Url::parse(id).ok());
    match id {
        Some(id) if same_origin(&id, url) => Ok(doc),
        _ => Err(FetchError::NotActivityPub(url.to_string(), "its id is missing or from another origin".into())),
    }
}

/// Scheme, host and port equal (IP-literal hosts included).
pub fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme() && a.host() == b.host() && a.port_or_known_default() == b.port_or_known_default()
}

/// Fetches an actor (or the key document named by a key id) and reads what delivery and
/// verification need. Whether its inbox may be delivered to is for the caller to judge.
pub async fn fetch_actor(
    client: &reqwest::Client,
    url: &Url,
    signer: Option<&SigningKey>,
    dev: bool,
) -> Result<RemoteActor, FetchError> {
    let mut doc = get_document(client, url, signer, dev).await?;
    // A key document (GoToSocial serves `/users/x/main-key` with `publicKey.owner`; others a
    // bare key with `owner`): follow its owner, once, on the same server.
    if doc.get("inbox").is_none() {
        let owner = doc.get("owner").or_else(|| doc.pointer("/publicKey/owner")).and_then(Value::as_str);
        if let Some(owner) = owner.and_then(|o| Url::parse(o).ok()) {
            if same_origin(&owner, url) {
                doc = get_document(client, &owner, signer, dev).await?;
            }
        }
    }
    actor_from_document(&doc)
}

/// Reads a remote actor document.
pub fn actor_from_document(doc: &Value) -> Result<RemoteActor, FetchError> {
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let id = text(doc, "id").unwrap_or_default();
    let not_actor = |why: &str| FetchError::NotActivityPub(id.clone(), why.to_string());
    let id_url = Url::parse(&id).map_err(|_| not_actor("no id"))?;
    let inbox = text(doc, "inbox").ok_or_else(|| not_actor("no inbox"))?;
    Url::parse(&inbox).map_err(|_| not_actor("its inbox is not a URL"))?;
    let shared_inbox = doc.get("endpoints").and_then(|e| text(e, "sharedInbox")).filter(|s| Url::parse(s).is_ok());
    // The key must belong to this actor (Mastodon's shape: publicKey { id, owner, publicKeyPem }).
    let key = doc.get("publicKey").map(|k| if let Value::Array(keys) = k { keys.first().unwrap_or(k) } else { k });
    let (key_id, public_key_pem) = match key {
        Some(k) if text(k, "owner").is_none_or(|o| o == id) => (text(k, "id"), text(k, "publicKeyPem")),
        _ => (None, None),
    };
    // The domain part names the port when it is not the scheme's (as our own handles do).
    let handle = text(doc, "preferredUsername")
        .filter(|_| id_url.host_str().is_some())
        .map(|u| format!("@{u}@{}", signatures::host_header(&id_url)));
    let also_known_as = match doc.get("alsoKnownAs") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        _ => vec![],
    };
    Ok(RemoteActor {
        ap_id: id,
        handle,
        name: text(doc, "name"),
        inbox,
        shared_inbox,
        key_id,
        public_key_pem,
        also_known_as,
        fetched_at: chrono::Utc::now(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_public_addresses_outside_dev_mode() {
        for blocked in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "100.64.0.1",
            "64:ff9b::a00:1",
            "2002:7f00:1::",
        ] {
            assert!(!is_allowed_ip(ip(blocked), false), "{blocked}");
        }
        for allowed in ["93.184.216.34", "2606:4700::1111", "::ffff:93.184.216.34", "64:ff9b::5db8:d822"] {
            assert!(is_allowed_ip(ip(allowed), false), "{allowed}");
        }
        assert!(is_allowed_ip(ip("127.0.0.1"), true));
        assert!(!is_allowed_ip(ip("10.1.2.3"), true), "dev mode allows loopback only");
    }

    #[test]
    fn urls_are_checked_before_sending() {
        let check = |u: &str, dev| check_url(&Url::parse(u).unwrap(), dev).is_ok();
        assert!(check("https://mastodon.example/inbox", false));
        assert!(!check("http://mastodon.example/inbox", false));
        assert!(check("http://127.0.0.1:8080/inbox", true));
        assert!(!check("https://127.0.0.1/inbox", false));
        assert!(!check("https://[::ffff:7f00:1]/inbox", false));
        assert!(!check("https://localhost/inbox", false));
        assert!(!check("https://user:pw@mastodon.example/inbox", false));
        assert!(!check("ftp://mastodon.example/inbox", true));
        assert!(!check("http://10.0.0.5/inbox", true));
    }
}
