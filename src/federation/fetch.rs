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

use activitypub_federation::protocol::helpers::deserialize_skip_error;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use super::signatures::{self, PublicKey, SigningKey};
use super::wire::actors::KeyDocument;
use super::wire::{Actor, Id, OneOrMany};
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

/// A response's JSON body, at most [`MAX_DOCUMENT_BYTES`].
async fn read_json(response: reqwest::Response, url: &Url) -> Result<Value, FetchError> {
    let body = read_capped(response, MAX_DOCUMENT_BYTES)
        .await
        .map_err(|e| FetchError::Http(format!("reading {url}: {e}")))?
        .ok_or_else(|| FetchError::TooLarge(url.to_string()))?;
    serde_json::from_slice(&body).map_err(|e| FetchError::NotActivityPub(url.to_string(), e.to_string()))
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
    let doc = read_json(response, url).await?;
    /// A document's own id, whatever else it holds.
    #[derive(Deserialize)]
    struct Identified {
        #[serde(default, deserialize_with = "deserialize_skip_error")]
        id: Option<Url>,
    }
    let id = Identified::deserialize(&doc).ok().and_then(|doc| doc.id);
    match id {
        Some(id) if same_origin(&id, url) => Ok(doc),
        _ => Err(FetchError::NotActivityPub(url.to_string(), "its id is missing or from another origin".into())),
    }
}

/// GETs an ActivityPub document as [`get_document`] does, and reads it as `T` (a
/// [`Object`](super::wire::Object), a [`Collection`](super::wire::Collection)).
pub async fn get_typed<T: serde::de::DeserializeOwned>(
    client: &reqwest::Client,
    url: &Url,
    signer: Option<&SigningKey>,
    dev: bool,
) -> Result<T, FetchError> {
    let doc = get_document(client, url, signer, dev).await?;
    serde_json::from_value(doc).map_err(|e| FetchError::NotActivityPub(url.to_string(), e.to_string()))
}

/// The user and host (with its port, if any) of a handle: `@user@host`, `user@host` or
/// `acct:user@host`. None when it is not one.
pub fn split_handle(handle: &str) -> Option<(&str, &str)> {
    let bare = handle.trim().trim_start_matches("acct:").trim_start_matches('@');
    let (user, host) = bare.split_once('@')?;
    let valid = !user.is_empty() && !host.is_empty() && !host.contains(['/', '?', '#', '@']);
    valid.then_some((user, host))
}

/// The actor id a handle (`@user@host`, `user@host` or `acct:user@host`; the host may carry a
/// port) stands for, by WebFinger at `https://host` (`http://` in dev mode).
pub async fn webfinger(client: &reqwest::Client, handle: &str, dev: bool) -> Result<Url, FetchError> {
    let refused = |why| FetchError::Unsafe(handle.to_string(), why);
    let (user, host) = split_handle(handle).ok_or_else(|| refused("not a handle (user@host)"))?;
    let scheme = if dev { "http" } else { "https" };
    let mut url = Url::parse(&format!("{scheme}://{host}/.well-known/webfinger")).map_err(|_| refused("not a host"))?;
    url.query_pairs_mut().append_pair("resource", &format!("acct:{user}@{host}"));
    check_url(&url, dev)?;
    let response = client
        .get(url.clone())
        .header("Accept", "application/jrd+json, application/json")
        .send()
        .await
        .map_err(|e| FetchError::Http(format!("fetching {url}: {e}")))?;
    if !response.status().is_success() {
        return Err(FetchError::Status { url: url.to_string(), status: response.status().as_u16() });
    }
    /// A WebFinger answer (RFC 7033): its links, each read as far as it can be.
    #[derive(Deserialize)]
    struct Jrd {
        #[serde(default, deserialize_with = "deserialize_skip_error")]
        links: OneOrMany<JrdLink>,
    }
    #[derive(Deserialize)]
    struct JrdLink {
        #[serde(default, deserialize_with = "deserialize_skip_error")]
        rel: Option<String>,
        #[serde(rename = "type", default, deserialize_with = "deserialize_skip_error")]
        media_type: Option<String>,
        #[serde(default, deserialize_with = "deserialize_skip_error")]
        href: Option<Url>,
    }
    // Not a JRD at all, or no link that fits: the same answer.
    let links = Jrd::deserialize(&read_json(response, &url).await?).map(|jrd| jrd.links.0).unwrap_or_default();
    let is_ap = |t: &str| t.starts_with("application/activity+json") || t.starts_with("application/ld+json");
    links
        .into_iter()
        .filter(|l| l.rel.as_deref() == Some("self") && l.media_type.as_deref().is_some_and(is_ap))
        .find_map(|l| l.href)
        .ok_or_else(|| FetchError::NotActivityPub(url.to_string(), "no ActivityPub actor among its links".into()))
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
    let doc = get_actor_document(client, url, signer, dev).await?;
    actor_from_document(&doc)
}

/// Fetches the owner of the key `key_id` (the actor, or a key document whose owner is fetched
/// in turn), reading that very key: a `publicKey`, or a `Multikey` of `assertionMethod`.
pub async fn fetch_key_owner(
    client: &reqwest::Client,
    url: &Url,
    signer: Option<&SigningKey>,
    dev: bool,
    key_id: &str,
) -> Result<RemoteActor, FetchError> {
    let doc = get_actor_document(client, url, signer, dev).await?;
    actor_from_document_for_key(&doc, Some(key_id))
}

/// The actor document at `url`, or the one a key document there names as its owner.
async fn get_actor_document(
    client: &reqwest::Client,
    url: &Url,
    signer: Option<&SigningKey>,
    dev: bool,
) -> Result<Value, FetchError> {
    let doc = get_document(client, url, signer, dev).await?;
    // A key document: follow its owner, once, on the same server.
    let key = KeyDocument::deserialize(&doc).unwrap_or_default();
    match key.owner() {
        Some(owner) if same_origin(owner, url) => get_document(client, owner, signer, dev).await,
        _ => Ok(doc),
    }
}

/// Reads a remote actor document, with its first `publicKey` (Mastodon's shape).
pub fn actor_from_document(doc: &Value) -> Result<RemoteActor, FetchError> {
    actor_from_document_for_key(doc, None)
}

/// Reads a remote actor document, with the key `key_id` when the actor publishes it (its
/// first `publicKey` otherwise, or when `key_id` is None).
pub fn actor_from_document_for_key(doc: &Value, key_id: Option<&str>) -> Result<RemoteActor, FetchError> {
    let actor = Actor::deserialize(doc).map_err(|e| not_an_actor(doc, e))?;
    let keys = published_keys(&actor);
    let chosen =
        key_id.and_then(|wanted| keys.iter().find(|k| k.id == wanted)).or_else(|| keys.iter().find(|k| !k.multikey));
    let (key_id, public_key_pem) = match chosen {
        Some(key) => (Some(key.id.clone()), Some(key.pem.clone())),
        None => (None, None),
    };
    // The domain part names the port when it is not the scheme's (as our own handles do).
    let handle = actor.preferred_username.map(|u| format!("@{u}@{}", signatures::host_header(actor.id.url())));
    Ok(RemoteActor {
        ap_id: actor.id.to_string(),
        handle,
        name: actor.name,
        inbox: actor.inbox.to_string(),
        shared_inbox: actor.endpoints.shared_inbox.map(|inbox| inbox.to_string()),
        key_id,
        public_key_pem,
        also_known_as: actor.also_known_as.0,
        fetched_at: chrono::Utc::now(),
    })
}

/// Why a document is not an actor: no id, no inbox, an inbox that is not a URL, or what
/// reading it as an [`Actor`] found.
fn not_an_actor(doc: &Value, error: serde_json::Error) -> FetchError {
    /// The two fields every actor has, read as text whatever they hold.
    #[derive(Deserialize)]
    struct Required {
        #[serde(default, deserialize_with = "deserialize_skip_error")]
        id: Option<String>,
        #[serde(default, deserialize_with = "deserialize_skip_error")]
        inbox: Option<String>,
    }
    let required = Required::deserialize(doc).unwrap_or(Required { id: None, inbox: None });
    let id = required.id.unwrap_or_default();
    let why = match required.inbox {
        _ if Id::parse(&id).is_err() => "no id".to_string(),
        None => "no inbox".to_string(),
        Some(inbox) if Id::parse(&inbox).is_err() => "its inbox is not a URL".to_string(),
        Some(_) => error.to_string(),
    };
    FetchError::NotActivityPub(id, why)
}

/// A public key an actor publishes.
#[derive(Debug, Clone, PartialEq)]
struct PublishedKey {
    id: String,
    pem: String,
    /// From `assertionMethod` (FEP-521a) rather than `publicKey`.
    multikey: bool,
}

/// The keys that belong to the actor, in order: each `publicKey` (`id`, `owner`,
/// `publicKeyPem`), then each `Multikey` of `assertionMethod` (`id`, `controller`,
/// `publicKeyMultibase`, Ed25519 or RSA). Keys naming another owner or controller, or that
/// cannot be read, are left out.
fn published_keys(actor: &Actor) -> Vec<PublishedKey> {
    let own = |owner: &Option<String>| owner.as_deref().is_none_or(|owner| owner == actor.id.as_str());
    let keys = actor.public_key.iter().filter(|key| own(&key.owner)).map(|key| PublishedKey {
        id: key.id.clone(),
        pem: key.public_key_pem.clone(),
        multikey: false,
    });
    let multikeys = actor.assertion_method.iter().filter(|method| own(&method.controller)).filter_map(|method| {
        let key = multikey_public_key(method.public_key_multibase.as_deref()?)?;
        Some(PublishedKey { id: method.id.clone(), pem: key.to_pem(), multikey: true })
    });
    keys.chain(multikeys).collect()
}

/// A `publicKeyMultibase` (FEP-521a): `z` and base58btc of a multicodec-prefixed key,
/// `0xed 0x01` and 32 bytes for Ed25519, `0x85 0x24` (0x1205) and PKCS#1 DER for RSA.
fn multikey_public_key(multibase: &str) -> Option<PublicKey> {
    let bytes = base58btc_decode(multibase.strip_prefix('z')?)?;
    match bytes.as_slice() {
        [0xed, 0x01, raw @ ..] if raw.len() == 32 => Some(PublicKey::Ed25519(raw.to_vec())),
        [0x85, 0x24, der @ ..] if !der.is_empty() => Some(PublicKey::Rsa(der.to_vec())),
        _ => None,
    }
}

/// Decodes base58 (the Bitcoin alphabet); None on a character outside it. Leading '1's are
/// leading zero bytes.
fn base58btc_decode(text: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    if text.len() > 2048 {
        return None;
    }
    // Little-endian base-256 digits of the number read so far.
    let mut number: Vec<u8> = Vec::with_capacity(text.len());
    for c in text.bytes() {
        let mut carry = ALPHABET.iter().position(|&a| a == c)? as u32;
        for byte in number.iter_mut() {
            carry += u32::from(*byte) * 58;
            *byte = (carry & 0xff) as u8;
            carry >>= 8;
        }
        while carry > 0 {
            number.push((carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    let zeros = text.bytes().take_while(|&c| c == b'1').count();
    let mut bytes = vec![0; zeros];
    bytes.extend(number.iter().rev());
    Some(bytes)
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

    #[test]
    fn base58btc_decodes_like_the_reference() {
        assert_eq!(base58btc_decode(""), Some(vec![]));
        assert_eq!(base58btc_decode("1"), Some(vec![0]));
        assert_eq!(base58btc_decode("11z"), Some(vec![0, 0, 57]));
        assert_eq!(base58btc_decode("5Q"), Some(vec![0xff]));
        assert_eq!(base58btc_decode("2NEpo7TZRRrLZSi2U"), Some(b"Hello World!".to_vec()));
        assert_eq!(base58btc_decode("0OIl"), None);
    }

    fn actor(extra: serde_json::Value) -> Value {
        let mut doc = serde_json::json!({
            "id": "https://fedify.example/users/alice",
            "type": "Person",
            "preferredUsername": "alice",
            "inbox": "https://fedify.example/users/alice/inbox",
        });
        if let (Some(doc), Some(extra)) = (doc.as_object_mut(), extra.as_object()) {
            doc.extend(extra.clone());
        }
        doc
    }

    /// Fedify's shape: RSA keys in `publicKey` (a list), every key again as a Multikey in
    /// `assertionMethod`, the Ed25519 one only there. The key a request names is the one read.
    #[test]
    fn the_key_named_by_the_request_is_read_from_public_key_or_assertion_method() {
        use aws_lc_rs::signature::KeyPair as _;
        let pair = aws_lc_rs::signature::Ed25519KeyPair::generate().unwrap();
        let raw = pair.public_key().as_ref().to_vec();
        // The public key as a multibase, with a small base58 encoder of the test's own.
        let mut prefixed = vec![0xed, 0x01];
        prefixed.extend(&raw);
        let multibase = format!("z{}", base58_for_test(&prefixed));
        let rsa_pem = "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n";
        let doc = actor(serde_json::json!({
            "publicKey": [
                { "id": "https://fedify.example/users/alice#main-key", "owner": "https://fedify.example/users/alice", "publicKeyPem": rsa_pem },
                { "id": "https://fedify.example/users/alice#key-2", "owner": "https://fedify.example/users/alice", "publicKeyPem": "second" },
            ],
            "assertionMethod": [
                { "id": "https://fedify.example/users/alice#multikey-2", "type": "Multikey", "controller": "https://fedify.example/users/alice", "publicKeyMultibase": multibase },
                { "id": "https://fedify.example/users/alice#stolen", "type": "Multikey", "controller": "https://evil.example/users/mallory", "publicKeyMultibase": multibase },
                { "id": "https://fedify.example/users/alice#unreadable", "type": "Multikey", "publicKeyMultibase": "z0" },
            ],
        }));
        let read = |key_id: Option<&str>| {
            let actor = actor_from_document_for_key(&doc, key_id).unwrap();
            (actor.key_id.unwrap_or_default(), actor.public_key_pem.unwrap_or_default())
        };
        assert_eq!(read(None), ("https://fedify.example/users/alice#main-key".into(), rsa_pem.into()));
        assert_eq!(read(Some("https://fedify.example/users/alice#key-2")).1, "second");
        let (id, pem) = read(Some("https://fedify.example/users/alice#multikey-2"));
        assert_eq!(id, "https://fedify.example/users/alice#multikey-2");
        assert_eq!(PublicKey::from_pem(&pem).unwrap(), PublicKey::Ed25519(raw));
        // Another controller's key, or an unknown one: the first publicKey, which the verifier
        // then finds is not the key named.
        assert_eq!(
            read(Some("https://fedify.example/users/alice#stolen")).0,
            "https://fedify.example/users/alice#main-key"
        );
        assert_eq!(
            read(Some("https://fedify.example/users/alice#unreadable")).0,
            "https://fedify.example/users/alice#main-key"
        );
        assert_eq!(
            actor_from_document(&doc).unwrap().key_id.as_deref(),
            Some("https://fedify.example/users/alice#main-key")
        );

        // Mastodon's shape, one object; and an owner that is not the actor.
        let mastodon = actor(
            serde_json::json!({ "publicKey": { "id": "k", "owner": "https://fedify.example/users/alice", "publicKeyPem": "p" } }),
        );
        assert_eq!(actor_from_document(&mastodon).unwrap().key_id.as_deref(), Some("k"));
        let foreign = actor(
            serde_json::json!({ "publicKey": { "id": "k", "owner": "https://x.example/u", "publicKeyPem": "p" } }),
        );
        assert_eq!(actor_from_document(&foreign).unwrap().key_id, None);
    }

    fn base58_for_test(bytes: &[u8]) -> String {
        const ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
        let mut digits: Vec<u8> = Vec::new(); // base 58, little-endian
        for &byte in bytes {
            let mut carry = u32::from(byte);
            for digit in digits.iter_mut() {
                carry += u32::from(*digit) << 8;
                *digit = (carry % 58) as u8;
                carry /= 58;
            }
            while carry > 0 {
                digits.push((carry % 58) as u8);
                carry /= 58;
            }
        }
        let zeros = bytes.iter().take_while(|&&b| b == 0).count();
        std::iter::repeat_n('1', zeros)
            .chain(digits.iter().rev().map(|&d| char::from(ALPHABET[usize::from(d)])))
            .collect()
    }
}
