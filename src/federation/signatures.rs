//! HTTP signatures. Outgoing requests are signed as Mastodon signs them
//! (draft-cavage-http-signatures-12, RSASSA-PKCS1-v1_5 with SHA-256); incoming ones may be signed
//! that way or the RFC 9421 way ([`super::rfc9421`]), with an RSA or an Ed25519 key. Signing and
//! checking use aws-lc-rs: about six times faster than the `rsa` crate, and the signature bytes
//! are the same.
//!
//! Outgoing POSTs sign `(request-target) host date digest content-type`; GETs sign
//! `(request-target) host date`. Incoming draft-cavage requests must have signed
//! `(request-target)`, `host`, `date` (within an hour of now) and, with a body, `digest` or
//! `content-digest` matching the body (each one signed is checked). [`check_inbound`] reads
//! either format into a [`CheckedSignature`], verified once the key is known.
//!
//! Body digests: `Digest` (RFC 3230, `SHA-256=<base64>`) and `Content-Digest` (RFC 9530,
//! `sha-256=:<base64>:`), SHA-256 or SHA-512, algorithm names in any case. Every supported
//! digest given must match; a header with no supported algorithm is refused.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, RsaKeyPair, UnparsedPublicKey};
use axum::http::HeaderMap;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use sha2::{Digest as _, Sha256, Sha512};

/// How far a signed `Date` may be from now, either way.
pub const DATE_WINDOW: chrono::Duration = chrono::Duration::hours(1);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("the request is not signed (no Signature header)")]
    Missing,
    #[error("the Signature header is malformed: {0}")]
    Malformed(String),
    #[error("the signature does not cover '{0}'")]
    NotSigned(&'static str),
    #[error("the signed header '{0}' is missing from the request")]
    HeaderMissing(String),
    #[error("the Date header is {0}")]
    BadDate(String),
    #[error("the signature was {0}")]
    BadTime(String),
    #[error("the {0} header does not match the body")]
    DigestMismatch(&'static str),
    #[error("no supported digest algorithm (sha-256, sha-512) in {0}")]
    DigestUnsupported(String),
    #[error("unsupported signature algorithm '{0}'")]
    Algorithm(String),
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error("the key is unusable: {0}")]
    BadKey(String),
    #[error("the signature algorithm does not fit the signer's key ({0})")]
    KeyMismatch(String),
    #[error("the signature does not verify")]
    Invalid,
}

/// A local actor's private key, parsed once, with the key id it signs as.
pub struct SigningKey {
    key_id: String,
    pair: RsaKeyPair,
    rng: SystemRandom,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("key_id", &self.key_id).finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Reads a PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`) PEM key.
    pub fn from_pem(key_id: String, pem: &str) -> Result<SigningKey, SignatureError> {
        let der = pem_to_der(pem)?;
        let pair = RsaKeyPair::from_pkcs8(&der)
            .or_else(|_| RsaKeyPair::from_der(&der))
            .map_err(|e| SignatureError::BadKey(e.to_string()))?;
        Ok(SigningKey { key_id, pair, rng: SystemRandom::new() })
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    fn sign(&self, message: &[u8]) -> Result<String, SignatureError> {
        let mut signature = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(&signature::RSA_PKCS1_SHA256, &self.rng, message, &mut signature)
            .map_err(|_| SignatureError::BadKey("signing failed".into()))?;
        Ok(BASE64.encode(signature))
    }

    /// The `Signature` header of a request, over the headers named, whose values are given in
    /// the same order (`(request-target)` is given as `post /inbox`).
    pub fn signature_header(&self, headers: &[(&str, &str)]) -> Result<String, SignatureError> {
        let names = headers.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(" ");
        let signed = headers.iter().map(|(n, v)| format!("{n}: {v}")).collect::<Vec<_>>().join("\n");
        let signature = self.sign(signed.as_bytes())?;
        Ok(format!(r#"keyId="{}",algorithm="rsa-sha256",headers="{names}",signature="{signature}""#, self.key_id))
    }
}

/// The headers a signed request carries besides its body.
#[derive(Debug, Clone)]
pub struct SignedHeaders {
    pub host: String,
    pub date: String,
    pub digest: Option<String>,
    pub signature: String,
}

/// Signs a POST of `body` (with a precomputed `digest`, see [`digest_header`]) to `url`.
pub fn sign_post(
    key: &SigningKey,
    url: &url::Url,
    digest: &str,
    content_type: &str,
    now: DateTime<Utc>,
) -> Result<SignedHeaders, SignatureError> {
    let host = host_header(url);
    let date = http_date(now);
    let target = format!("post {}", path_and_query(url));
    let signature = key.signature_header(&[
        ("(request-target)", &target),
        ("host", &host),
        ("date", &date),
        ("digest", digest),
        ("content-type", content_type),
    ])?;
    Ok(SignedHeaders { host, date, digest: Some(digest.to_string()), signature })
}

/// Signs a GET of `url` (what servers in authorized-fetch mode require).
pub fn sign_get(key: &SigningKey, url: &url::Url, now: DateTime<Utc>) -> Result<SignedHeaders, SignatureError> {
    let host = host_header(url);
    let date = http_date(now);
    let target = format!("get {}", path_and_query(url));
    let signature = key.signature_header(&[("(request-target)", &target), ("host", &host), ("date", &date)])?;
    Ok(SignedHeaders { host, date, digest: None, signature })
}

/// `SHA-256=<base64>` of a body.
pub fn digest_header(body: &[u8]) -> String {
    format!("SHA-256={}", BASE64.encode(Sha256::digest(body)))
}

/// An HTTP date (RFC 7231 IMF-fixdate).
pub fn http_date(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// The `Host` header for a URL: the host, with the port when it is not the scheme's default.
pub fn host_header(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

fn path_and_query(url: &url::Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    }
}

/// The parameters of a `Signature` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureParams {
    pub key_id: String,
    pub algorithm: Option<String>,
    pub headers: Vec<String>,
    pub signature: Vec<u8>,
}

impl SignatureParams {
    /// The key's document: the key id without its fragment (usually the actor).
    pub fn key_owner_url(&self) -> &str {
        self.key_id.split('#').next().unwrap_or(&self.key_id)
    }
}

/// Reads `keyId="..",algorithm="..",headers="..",signature=".."`.
pub fn parse_signature_header(value: &str) -> Result<SignatureParams, SignatureError> {
    let mut key_id = None;
    let mut algorithm = None;
    let mut headers = None;
    let mut signature = None;
    let mut rest = value.trim();
    while !rest.is_empty() {
        let (name, after) =
            rest.split_once('=').ok_or_else(|| SignatureError::Malformed("expected name=\"value\"".into()))?;
        let after = after
            .strip_prefix('"')
            .ok_or_else(|| SignatureError::Malformed(format!("the value of {} is not quoted", name.trim())))?;
        let (val, after) =
            after.split_once('"').ok_or_else(|| SignatureError::Malformed("an unterminated quoted value".into()))?;
        match name.trim() {
            "keyId" => key_id = Some(val.to_string()),
            "algorithm" => algorithm = Some(val.to_string()),
            "headers" => headers = Some(val.split_whitespace().map(str::to_ascii_lowercase).collect()),
            "signature" => {
                signature = Some(
                    BASE64.decode(val).map_err(|_| SignatureError::Malformed("the signature is not base64".into()))?,
                )
            }
            _ => {}
        }
        rest = after.trim_start().trim_start_matches(',').trim_start();
    }
    Ok(SignatureParams {
        key_id: key_id.ok_or_else(|| SignatureError::Malformed("no keyId".into()))?,
        algorithm,
        // The draft's default is `date` alone, which we refuse below anyway.
        headers: headers.unwrap_or_else(|| vec!["date".into()]),
        signature: signature.ok_or_else(|| SignatureError::Malformed("no signature".into()))?,
    })
}

/// Checks everything about a signed request that needs no key: the signature header's form,
/// that the required headers are signed, the Date window and the body's digest. Returns the
/// parameters and the string that was signed, for [`verify`] once the key is known.
pub fn check_request(
    method: &str,
    path_and_query: &str,
    headers: &HeaderMap,
    body: Option<&[u8]>,
    now: DateTime<Utc>,
) -> Result<(SignatureParams, String), SignatureError> {
    let value = headers
        .get("signature")
        .ok_or(SignatureError::Missing)?
        .to_str()
        .map_err(|_| SignatureError::Malformed("not ASCII".into()))?;
    let params = parse_signature_header(value)?;
    if let Some(alg) = &params.algorithm {
        let alg = alg.to_ascii_lowercase();
        if alg != "rsa-sha256" && alg != "hs2019" && alg != "ed25519" {
            return Err(SignatureError::Algorithm(alg));
        }
    }
    for required in ["(request-target)", "host", "date"] {
        if !params.headers.iter().any(|h| h == required) {
            return Err(SignatureError::NotSigned(required));
        }
    }
    let date = header(headers, "date")?;
    let date = DateTime::parse_from_rfc2822(&date)
        .map_err(|_| SignatureError::BadDate(format!("not an HTTP date: '{date}'")))?
        .with_timezone(&Utc);
    if (now - date).abs() > DATE_WINDOW {
        return Err(SignatureError::BadDate(format!("{} from now (at most an hour allowed)", now - date)));
    }
    if let Some(body) = body {
        let signs = |name: &str| params.headers.iter().any(|h| h == name);
        if !signs("digest") && !signs("content-digest") {
            return Err(SignatureError::NotSigned("digest"));
        }
        if signs("digest") {
            check_digest(&header(headers, "digest")?, body)?;
        }
        if signs("content-digest") {
            check_content_digest(&header(headers, "content-digest")?, body)?;
        }
    }
    let mut lines = Vec::with_capacity(params.headers.len());
    for name in &params.headers {
        let value = match name.as_str() {
            "(request-target)" => format!("{} {path_and_query}", method.to_ascii_lowercase()),
            other => header(headers, other)?,
        };
        lines.push(format!("{name}: {value}"));
    }
    Ok((params, lines.join("\n")))
}

/// A header's values joined with ", ", or [`SignatureError::HeaderMissing`].
pub(crate) fn header(headers: &HeaderMap, name: &str) -> Result<String, SignatureError> {
    let values: Vec<&str> = headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect();
    if values.is_empty() {
        return Err(SignatureError::HeaderMissing(name.to_string()));
    }
    Ok(values.join(", "))
}

/// A `Digest` header (RFC 3230: one or more `ALG=base64` pairs) must match the body.
pub(crate) fn check_digest(value: &str, body: &[u8]) -> Result<(), SignatureError> {
    let claims = value.split(',').map(|part| match part.trim().split_once('=') {
        Some((alg, encoded)) => (alg.trim().to_ascii_lowercase(), BASE64.decode(encoded.trim()).ok()),
        None => (part.trim().to_ascii_lowercase(), None),
    });
    check_claimed_digests("Digest", claims, body)
}

/// A `Content-Digest` header (RFC 9530: `alg=:base64:` members) must match the body. Read
/// leniently: algorithm names in any case, the colons optional.
pub(crate) fn check_content_digest(value: &str, body: &[u8]) -> Result<(), SignatureError> {
    let claims = value.split(',').map(|part| match part.trim().split_once('=') {
        Some((alg, encoded)) => {
            let encoded = encoded.trim();
            let encoded = encoded.strip_prefix(':').and_then(|e| e.strip_suffix(':')).unwrap_or(encoded);
            (alg.trim().to_ascii_lowercase(), BASE64.decode(encoded).ok())
        }
        None => (part.trim().to_ascii_lowercase(), None),
    });
    check_claimed_digests("Content-Digest", claims, body)
}

/// Every claimed digest of a supported algorithm must match the body, and there must be one.
fn check_claimed_digests(
    header_name: &'static str,
    claims: impl Iterator<Item = (String, Option<Vec<u8>>)>,
    body: &[u8],
) -> Result<(), SignatureError> {
    let mut matched = false;
    let mut unsupported = Vec::new();
    for (algorithm, given) in claims {
        let expected = match algorithm.as_str() {
            "sha-256" => Sha256::digest(body).to_vec(),
            "sha-512" => Sha512::digest(body).to_vec(),
            _ => {
                unsupported.push(algorithm);
                continue;
            }
        };
        if given.as_deref() != Some(expected.as_slice()) {
            return Err(SignatureError::DigestMismatch(header_name));
        }
        matched = true;
    }
    if matched {
        Ok(())
    } else {
        Err(SignatureError::DigestUnsupported(format!("{header_name}: '{}'", unsupported.join(", "))))
    }
}

/// Verifies a draft-cavage signature over `signed` with a PEM public key (RSA SPKI or PKCS#1,
/// or Ed25519 SPKI).
pub fn verify(params: &SignatureParams, signed: &str, public_key_pem: &str) -> Result<(), SignatureError> {
    let algorithm = params.algorithm.as_deref().and_then(cavage_algorithm);
    PublicKey::from_pem(public_key_pem)?.verify(algorithm, signed.as_bytes(), &params.signature)
}

/// A draft-cavage `algorithm` that names one (`hs2019` leaves it to the key).
fn cavage_algorithm(name: &str) -> Option<Algorithm> {
    match name.to_ascii_lowercase().as_str() {
        "rsa-sha256" => Some(Algorithm::RsaSha256),
        "ed25519" => Some(Algorithm::Ed25519),
        _ => None,
    }
}

/// A signature algorithm we verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (`rsa-sha256`, `rsa-v1_5-sha256`).
    RsaSha256,
    Ed25519,
}

/// The DER prefix of an Ed25519 SubjectPublicKeyInfo, before the 32 key bytes.
const ED25519_SPKI_PREFIX: [u8; 12] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

/// A signer's public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// DER: SubjectPublicKeyInfo or PKCS#1 `RSAPublicKey`.
    Rsa(Vec<u8>),
    /// The 32 key bytes.
    Ed25519(Vec<u8>),
}

impl PublicKey {
    /// Reads a PEM public key; an Ed25519 SubjectPublicKeyInfo is Ed25519, anything else RSA.
    pub fn from_pem(pem: &str) -> Result<PublicKey, SignatureError> {
        let der = pem_to_der(pem)?;
        Ok(match der.strip_prefix(ED25519_SPKI_PREFIX.as_slice()) {
            Some(raw) if raw.len() == 32 => PublicKey::Ed25519(raw.to_vec()),
            _ => PublicKey::Rsa(der),
        })
    }

    /// The key as PEM, as it is stored: `PUBLIC KEY` (SPKI) for Ed25519, `RSA PUBLIC KEY`
    /// for a PKCS#1 RSA key, `PUBLIC KEY` for an RSA SPKI.
    pub fn to_pem(&self) -> String {
        let (label, der) = match self {
            PublicKey::Ed25519(raw) => ("PUBLIC KEY", [ED25519_SPKI_PREFIX.as_slice(), raw].concat()),
            PublicKey::Rsa(der) if is_spki(der) => ("PUBLIC KEY", der.clone()),
            PublicKey::Rsa(der) => ("RSA PUBLIC KEY", der.clone()),
        };
        let body = BASE64.encode(der);
        let lines: Vec<&str> = body.as_bytes().chunks(64).filter_map(|c| std::str::from_utf8(c).ok()).collect();
        format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
    }

    /// Verifies `signature` over `message`: with `algorithm`, or when none is named, with the
    /// algorithm of the key's type.
    pub fn verify(&self, algorithm: Option<Algorithm>, message: &[u8], signature: &[u8]) -> Result<(), SignatureError> {
        let result = match (self, algorithm) {
            (PublicKey::Rsa(der), None | Some(Algorithm::RsaSha256)) => {
                UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, der).verify(message, signature)
            }
            (PublicKey::Ed25519(raw), None | Some(Algorithm::Ed25519)) => {
                UnparsedPublicKey::new(&signature::ED25519, raw).verify(message, signature)
            }
            (PublicKey::Rsa(_), Some(Algorithm::Ed25519)) => {
                return Err(SignatureError::KeyMismatch("ed25519 with an RSA key".into()))
            }
            (PublicKey::Ed25519(_), Some(Algorithm::RsaSha256)) => {
                return Err(SignatureError::KeyMismatch("RSA with an Ed25519 key".into()))
            }
        };
        result.map_err(|_| SignatureError::Invalid)
    }
}

/// Whether DER is a SubjectPublicKeyInfo: a SEQUENCE whose first element is a SEQUENCE (the
/// algorithm), where an RSAPublicKey's is an INTEGER.
fn is_spki(der: &[u8]) -> bool {
    let content_at = match der.get(1) {
        Some(&len) if len < 0x80 => 2,
        Some(&len) => 2 + usize::from(len & 0x7f),
        None => return false,
    };
    der.first() == Some(&0x30) && der.get(content_at) == Some(&0x30)
}

/// The parts of an incoming request a signature can cover. `scheme` and `authority` are ours
/// (the public URL's), once the `Host` header has been found to be ours.
#[derive(Debug, Clone, Copy)]
pub struct InboundRequest<'a> {
    pub method: &'a str,
    pub scheme: &'a str,
    /// `host` or `host:port`, lowercase, without the scheme's default port.
    pub authority: &'a str,
    pub path_and_query: &'a str,
    pub headers: &'a HeaderMap,
    /// None for a request without a body (a GET).
    pub body: Option<&'a [u8]>,
}

/// The format a request was signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureFormat {
    DraftCavage,
    /// RFC 9421, with the label of the signature checked.
    Rfc9421 {
        label: String,
    },
}

/// A signed request, checked as far as it can be without the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedSignature {
    pub format: SignatureFormat,
    pub key_id: String,
    /// The algorithm the sender named; None: the key's type decides.
    pub algorithm: Option<Algorithm>,
    /// What was signed: the draft-cavage signing string or the RFC 9421 signature base.
    pub message: String,
    pub signature: Vec<u8>,
}

impl CheckedSignature {
    /// The key's document: the key id without its fragment (usually the actor).
    pub fn key_owner_url(&self) -> &str {
        self.key_id.split('#').next().unwrap_or(&self.key_id)
    }

    /// Verifies the signature with the signer's PEM public key.
    pub fn verify(&self, public_key_pem: &str) -> Result<(), SignatureError> {
        PublicKey::from_pem(public_key_pem)?.verify(self.algorithm, self.message.as_bytes(), &self.signature)
    }
}

/// Checks an incoming signed request, RFC 9421 when it has a `Signature-Input` header,
/// draft-cavage otherwise, as far as it can be without the key.
pub fn check_inbound(request: &InboundRequest<'_>, now: DateTime<Utc>) -> Result<CheckedSignature, SignatureError> {
    if request.headers.contains_key("signature-input") {
        return super::rfc9421::check(request, now);
    }
    let (params, message) = check_request(request.method, request.path_and_query, request.headers, request.body, now)?;
    Ok(CheckedSignature {
        format: SignatureFormat::DraftCavage,
        algorithm: params.algorithm.as_deref().and_then(cavage_algorithm),
        key_id: params.key_id,
        message,
        signature: params.signature,
    })
}

fn pem_to_der(pem: &str) -> Result<Vec<u8>, SignatureError> {
    let body: String = pem.lines().map(str::trim).filter(|l| !l.starts_with("-----") && !l.is_empty()).collect();
    BASE64.decode(body).map_err(|_| SignatureError::BadKey("the PEM is not base64".into()))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use chrono::TimeZone;

    use super::*;

    fn keypair() -> (String, String) {
        let pair = activitypub_federation::http_signatures::generate_actor_keypair().unwrap();
        (pair.private_key, pair.public_key)
    }

    fn signed_request(key: &SigningKey, body: &[u8], now: DateTime<Utc>) -> HeaderMap {
        let url = url::Url::parse("https://bridge.example/users/site/inbox").unwrap();
        let signed = sign_post(key, &url, &digest_header(body), "application/activity+json", now).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_str(&signed.host).unwrap());
        headers.insert("date", HeaderValue::from_str(&signed.date).unwrap());
        headers.insert("digest", HeaderValue::from_str(signed.digest.as_deref().unwrap()).unwrap());
        headers.insert("content-type", HeaderValue::from_static("application/activity+json"));
        headers.insert("signature", HeaderValue::from_str(&signed.signature).unwrap());
        headers
    }

    #[test]
    fn a_signed_post_verifies_and_a_changed_one_does_not() {
        let (private, public) = keypair();
        let key = SigningKey::from_pem("https://a.example/users/x#main-key".into(), &private).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0).unwrap();
        let body = br#"{"type":"Follow"}"#;
        let headers = signed_request(&key, body, now);

        let (params, signed) = check_request("POST", "/users/site/inbox", &headers, Some(body), now).unwrap();
        assert_eq!(params.key_id, "https://a.example/users/x#main-key");
        assert_eq!(params.key_owner_url(), "https://a.example/users/x");
        verify(&params, &signed, &public).unwrap();

        // Another path: the signed string differs.
        let (params, signed) = check_request("POST", "/inbox", &headers, Some(body), now).unwrap();
        assert_eq!(verify(&params, &signed, &public), Err(SignatureError::Invalid));
        // Another body: the digest no longer matches.
        assert_eq!(
            check_request("POST", "/users/site/inbox", &headers, Some(b"{}"), now).unwrap_err(),
            SignatureError::DigestMismatch("Digest")
        );
        // Too old, and too far in the future.
        for skew in [chrono::Duration::minutes(61), chrono::Duration::minutes(-61)] {
            let err = check_request("POST", "/users/site/inbox", &headers, Some(body), now + skew).unwrap_err();
            assert!(matches!(err, SignatureError::BadDate(_)), "{err}");
        }
    }

    #[test]
    fn required_headers_must_be_signed() {
        let (private, _) = keypair();
        let key = SigningKey::from_pem("k".into(), &private).unwrap();
        let now = Utc::now();
        let mut headers = HeaderMap::new();
        headers.insert("date", HeaderValue::from_str(&http_date(now)).unwrap());
        headers.insert("host", HeaderValue::from_static("bridge.example"));
        let sig = key.signature_header(&[("date", &http_date(now))]).unwrap();
        headers.insert("signature", HeaderValue::from_str(&sig).unwrap());
        assert_eq!(
            check_request("POST", "/inbox", &headers, Some(b"{}"), now).unwrap_err(),
            SignatureError::NotSigned("(request-target)")
        );
        headers.remove("signature");
        assert_eq!(check_request("POST", "/inbox", &headers, None, now).unwrap_err(), SignatureError::Missing);
    }

    #[test]
    fn digest_algorithm_names_are_case_insensitive() {
        let body = b"hello";
        let lower = digest_header(body).replace("SHA-256", "sha-256");
        assert_eq!(check_digest(&lower, body), Ok(()));
        let content = format!("SHA-256=:{}:", BASE64.encode(Sha256::digest(body)));
        assert_eq!(check_content_digest(&content, body), Ok(()));
    }

    #[test]
    fn every_supported_digest_must_match_and_one_must_be_there() {
        let body = b"hello";
        let sha256 = BASE64.encode(Sha256::digest(body));
        let sha512 = BASE64.encode(Sha512::digest(body));
        assert_eq!(check_content_digest(&format!("sha-512=:{sha512}:"), body), Ok(()));
        assert_eq!(check_content_digest(&format!("sha-256=:{sha256}:, sha-512=:{sha512}:"), body), Ok(()));
        assert_eq!(check_digest(&format!("MD5=abc,SHA-512={sha512}"), body), Ok(()));
        assert_eq!(
            check_content_digest(&format!("sha-256=:{sha256}:, sha-512=:{sha256}:"), body),
            Err(SignatureError::DigestMismatch("Content-Digest"))
        );
        assert_eq!(
            check_content_digest("sha-256=:not base64:", body),
            Err(SignatureError::DigestMismatch("Content-Digest"))
        );
        assert!(matches!(check_digest("MD5=abc", body), Err(SignatureError::DigestUnsupported(_))));
        assert!(matches!(
            check_content_digest("md5=:abc:, unixsum=:1:", body),
            Err(SignatureError::DigestUnsupported(_))
        ));
        assert!(matches!(check_content_digest("", body), Err(SignatureError::DigestUnsupported(_))));
    }

    /// A draft-cavage request may bind its body with a signed `content-digest` instead of
    /// `digest`; whichever is signed is checked.
    #[test]
    fn draft_cavage_accepts_a_signed_content_digest() {
        let (private, public) = keypair();
        let key = SigningKey::from_pem("https://a.example/users/x#main-key".into(), &private).unwrap();
        let now = Utc::now();
        let body = br#"{"type":"Follow"}"#;
        let content_digest = format!("sha-256=:{}:", BASE64.encode(Sha256::digest(body)));
        let date = http_date(now);
        let signature = key
            .signature_header(&[
                ("(request-target)", "post /inbox"),
                ("host", "bridge.example"),
                ("date", &date),
                ("content-digest", &content_digest),
            ])
            .unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("bridge.example"));
        headers.insert("date", HeaderValue::from_str(&date).unwrap());
        headers.insert("content-digest", HeaderValue::from_str(&content_digest).unwrap());
        headers.insert("signature", HeaderValue::from_str(&signature).unwrap());
        let request = InboundRequest {
            method: "POST",
            scheme: "https",
            authority: "bridge.example",
            path_and_query: "/inbox",
            headers: &headers,
            body: Some(body),
        };
        let checked = check_inbound(&request, now).unwrap();
        assert_eq!(checked.format, SignatureFormat::DraftCavage);
        checked.verify(&public).unwrap();
        let other = InboundRequest { body: Some(b"{}"), ..request };
        assert_eq!(check_inbound(&other, now).unwrap_err(), SignatureError::DigestMismatch("Content-Digest"));
    }

    #[test]
    fn ed25519_keys_verify_by_type_and_refuse_an_rsa_algorithm() {
        use aws_lc_rs::signature::KeyPair as _;
        let pair = aws_lc_rs::signature::Ed25519KeyPair::generate().unwrap();
        let key = PublicKey::Ed25519(pair.public_key().as_ref().to_vec());
        let pem = key.to_pem();
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA"), "{pem}");
        assert_eq!(PublicKey::from_pem(&pem).unwrap(), key);
        let signature = pair.sign(b"message");
        assert_eq!(key.verify(None, b"message", signature.as_ref()), Ok(()));
        assert_eq!(key.verify(Some(Algorithm::Ed25519), b"message", signature.as_ref()), Ok(()));
        assert_eq!(key.verify(None, b"massage", signature.as_ref()), Err(SignatureError::Invalid));
        assert!(matches!(
            key.verify(Some(Algorithm::RsaSha256), b"message", signature.as_ref()),
            Err(SignatureError::KeyMismatch(_))
        ));

        let (_, rsa_pem) = keypair();
        let rsa = PublicKey::from_pem(&rsa_pem).unwrap();
        assert!(matches!(rsa, PublicKey::Rsa(_)));
        assert!(rsa.to_pem().starts_with("-----BEGIN PUBLIC KEY-----"));
        assert_eq!(PublicKey::from_pem(&rsa.to_pem()).unwrap(), rsa);
        assert!(matches!(rsa.verify(Some(Algorithm::Ed25519), b"m", b"s"), Err(SignatureError::KeyMismatch(_))));
        assert_eq!(rsa.verify(None, b"m", b"not a signature"), Err(SignatureError::Invalid));
    }
}
