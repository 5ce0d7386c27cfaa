//! RFC 9421 HTTP Message Signatures on incoming requests, as Fedify and the WordPress
//! ActivityPub plugin send them. `Signature-Input` names, per label, the covered
//! components and the signature's parameters; `Signature` carries, per label, the signature
//! bytes. Both are structured-field dictionaries (RFC 8941), read by [`super::rfc8941`].
//!
//! Fedify sends `sig1=("@method" "@target-uri" "@authority" "host" "date" "content-digest");
//! alg="rsa-v1_5-sha256";keyid="...";created=...`; WordPress `wp=("@method" "@target-uri"
//! "@authority" "content-digest");created=...;keyid="...";alg="rsa-v1_5-sha256"`. A label is
//! accepted when:
//!
//! - it covers `@method`, and `@target-uri` or `@authority` with `@path` (or
//!   `@request-target`), so the method, our host and the path are all signed;
//! - with a body, it covers `content-digest`, and that header (RFC 9530, `sha-256` or
//!   `sha-512`) matches the body;
//! - `keyid` and `created` are present, `created` is within an hour of now either way and
//!   `expires`, when present, has not passed;
//! - `alg` is `rsa-v1_5-sha256` or `ed25519`, or absent (the key's type decides);
//! - every component is one we can rebuild: a header field, or `@method`, `@target-uri`,
//!   `@authority`, `@scheme`, `@request-target`, `@path`, `@query` (no component parameters
//!   such as `;sf` or `;key`, no `@query-param`).
//!
//! **Which label.** Labels are read in `Signature-Input` order and the first one that meets
//! these requirements (and has a value in `Signature`) is the one checked against its key;
//! the others are ignored. So a request costs at most one key fetch, whatever it carries. When no label qualifies, the first label's reason is
//! the refusal.
//!
//! The `@signature-params` line is the canonical serialization of the label's inner list and
//! parameters (RFC 9421 section 2.3), which is what these senders put in the header.

use chrono::{DateTime, Utc};

use super::rfc8941::{parse_dictionary, serialize_inner_list, BareItem, Item, Member, Parameters};
use super::signatures::{
    check_content_digest, header, Algorithm, CheckedSignature, InboundRequest, SignatureError, SignatureFormat,
    DATE_WINDOW,
};

/// One label of `Signature-Input`, with its value from `Signature` when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledSignature {
    pub label: String,
    /// The component identifiers, as given (strings, possibly with parameters).
    pub components: Vec<Item>,
    pub params: Parameters,
    pub signature: Option<Vec<u8>>,
}

impl LabelledSignature {
    fn param(&self, name: &str) -> Option<&BareItem> {
        self.params.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    fn string_param(&self, name: &str) -> Result<Option<&str>, SignatureError> {
        match self.param(name) {
            None => Ok(None),
            Some(BareItem::String(s)) => Ok(Some(s)),
            Some(_) => Err(SignatureError::Malformed(format!("{}: '{name}' is not a string", self.label))),
        }
    }

    fn integer_param(&self, name: &str) -> Result<Option<i64>, SignatureError> {
        match self.param(name) {
            None => Ok(None),
            Some(BareItem::Integer(i)) => Ok(Some(*i)),
            Some(_) => Err(SignatureError::Malformed(format!("{}: '{name}' is not an integer", self.label))),
        }
    }

    /// The covered component names, each once, without parameters.
    fn component_names(&self) -> Result<Vec<&str>, SignatureError> {
        let mut names: Vec<&str> = Vec::with_capacity(self.components.len());
        for component in &self.components {
            let BareItem::String(name) = &component.value else {
                return Err(SignatureError::Malformed(format!("{}: a component is not a string", self.label)));
            };
            if !component.params.is_empty() {
                return Err(SignatureError::Unsupported(format!("the component parameters of \"{name}\"")));
            }
            if names.contains(&name.as_str()) {
                return Err(SignatureError::Malformed(format!("{}: \"{name}\" is covered twice", self.label)));
            }
            names.push(name);
        }
        Ok(names)
    }
}

/// Reads the `Signature-Input` and `Signature` field values into labelled signatures, in the
/// order of `Signature-Input`.
pub fn parse_signature_fields(input: &str, signature: &str) -> Result<Vec<LabelledSignature>, SignatureError> {
    let inputs = parse_dictionary(input).map_err(|e| SignatureError::Malformed(format!("Signature-Input: {e}")))?;
    let values = parse_dictionary(signature).map_err(|e| SignatureError::Malformed(format!("Signature: {e}")))?;
    let mut labelled = Vec::with_capacity(inputs.len());
    for (label, member) in inputs {
        let Member::InnerList(components, params) = member else {
            return Err(SignatureError::Malformed(format!("Signature-Input: {label} is not an inner list")));
        };
        let signature = values.iter().find(|(l, _)| *l == label).and_then(|(_, v)| match v {
            Member::Item(Item { value: BareItem::Bytes(bytes), .. }) => Some(bytes.clone()),
            _ => None,
        });
        labelled.push(LabelledSignature { label, components, params, signature });
    }
    Ok(labelled)
}

// ---------------------------------------------------------------------------------------------
// Checking a request
// ---------------------------------------------------------------------------------------------

/// Checks an RFC 9421 signed request as far as it can be without the key (see the module's
/// documentation) and returns the chosen label's key id, signature base and signature.
pub fn check(request: &InboundRequest<'_>, now: DateTime<Utc>) -> Result<CheckedSignature, SignatureError> {
    let input = header(request.headers, "signature-input")?;
    let signature = header(request.headers, "signature").map_err(|_| SignatureError::Missing)?;
    let labels = parse_signature_fields(&input, &signature)?;
    let mut first_refusal = None;
    for labelled in &labels {
        match check_label(request, labelled, now) {
            Ok(checked) => return Ok(checked),
            Err(e) => {
                first_refusal.get_or_insert(e);
            }
        }
    }
    Err(first_refusal.unwrap_or_else(|| SignatureError::Malformed("Signature-Input names no signature".into())))
}

fn check_label(
    request: &InboundRequest<'_>,
    labelled: &LabelledSignature,
    now: DateTime<Utc>,
) -> Result<CheckedSignature, SignatureError> {
    let label = &labelled.label;
    let signature = labelled
        .signature
        .clone()
        .ok_or_else(|| SignatureError::Malformed(format!("the Signature header has no value for '{label}'")))?;
    let names = labelled.component_names()?;
    let covers = |name: &str| names.contains(&name);
    if !covers("@method") {
        return Err(SignatureError::NotSigned("@method"));
    }
    let target_signed =
        covers("@target-uri") || (covers("@authority") && (covers("@path") || covers("@request-target")));
    if !target_signed {
        return Err(SignatureError::NotSigned("@target-uri (or @authority and @path)"));
    }
    if request.body.is_some() && !covers("content-digest") {
        return Err(SignatureError::NotSigned("content-digest"));
    }
    let key_id = labelled
        .string_param("keyid")?
        .ok_or_else(|| SignatureError::Malformed(format!("{label}: no keyid")))?
        .to_string();
    let created = labelled
        .integer_param("created")?
        .ok_or_else(|| SignatureError::Malformed(format!("{label}: no created time")))?;
    check_times(created, labelled.integer_param("expires")?, now)?;
    let algorithm = match labelled.string_param("alg")? {
        None => None,
        Some(alg) => Some(match alg.to_ascii_lowercase().as_str() {
            "rsa-v1_5-sha256" => Algorithm::RsaSha256,
            "ed25519" => Algorithm::Ed25519,
            other => return Err(SignatureError::Algorithm(other.to_string())),
        }),
    };
    if let Some(body) = request.body {
        check_content_digest(&header(request.headers, "content-digest")?, body)?;
    }
    let message = signature_base(request, labelled, &names)?;
    Ok(CheckedSignature {
        format: SignatureFormat::Rfc9421 { label: label.clone() },
        key_id,
        algorithm,
        message,
        signature,
    })
}

/// `created` within [`DATE_WINDOW`] of now, either way; `expires` not passed.
fn check_times(created: i64, expires: Option<i64>, now: DateTime<Utc>) -> Result<(), SignatureError> {
    let created = DateTime::<Utc>::from_timestamp(created, 0)
        .ok_or_else(|| SignatureError::BadTime("created is not a time".into()))?;
    let skew = now - created;
    let window = DATE_WINDOW.num_seconds();
    if skew > DATE_WINDOW {
        return Err(SignatureError::BadTime(format!("created {} s ago (at most {window} s)", skew.num_seconds())));
    }
    if -skew > DATE_WINDOW {
        return Err(SignatureError::BadTime(format!(
            "created {} s in the future (at most {window} s)",
            -skew.num_seconds()
        )));
    }
    if let Some(expires) = expires {
        if expires < now.timestamp() {
            return Err(SignatureError::BadTime("expired".into()));
        }
    }
    Ok(())
}

/// The signature base (RFC 9421 section 2.5): one `"name": value` line per covered component,
/// then the `@signature-params` line.
fn signature_base(
    request: &InboundRequest<'_>,
    labelled: &LabelledSignature,
    names: &[&str],
) -> Result<String, SignatureError> {
    let mut base = String::new();
    for name in names {
        let value = component_value(request, name)?;
        base.push_str(&format!("\"{name}\": {value}\n"));
    }
    base.push_str("\"@signature-params\": ");
    base.push_str(&serialize_inner_list(&labelled.components, &labelled.params));
    Ok(base)
}

fn component_value(request: &InboundRequest<'_>, name: &str) -> Result<String, SignatureError> {
    let (path, query) = match request.path_and_query.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (request.path_and_query, None),
    };
    let path = if path.is_empty() { "/" } else { path };
    Ok(match name {
        "@method" => request.method.to_string(),
        "@target-uri" => format!("{}://{}{}", request.scheme, request.authority, request.path_and_query),
        "@authority" => request.authority.to_string(),
        "@scheme" => request.scheme.to_ascii_lowercase(),
        "@request-target" => request.path_and_query.to_string(),
        "@path" => path.to_string(),
        "@query" => format!("?{}", query.unwrap_or_default()),
        derived if derived.starts_with('@') => {
            return Err(SignatureError::Unsupported(format!("the component \"{derived}\"")))
        }
        field => field_value(request.headers, field)?,
    })
}

/// A header's values, each trimmed, joined with ", " (RFC 9421 section 2.1).
fn field_value(headers: &axum::http::HeaderMap, name: &str) -> Result<String, SignatureError> {
    let mut values = Vec::new();
    for value in headers.get_all(name) {
        let value =
            value.to_str().map_err(|_| SignatureError::Malformed(format!("the header '{name}' is not text")))?;
        values.push(value.trim());
    }
    if values.is_empty() {
        return Err(SignatureError::HeaderMissing(name.to_string()));
    }
    Ok(values.join(", "))
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue};
    use chrono::TimeZone;

    use super::*;
    use crate::federation::signatures::check_inbound;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn request<'a>(headers: &'a HeaderMap, body: Option<&'a [u8]>) -> InboundRequest<'a> {
        InboundRequest {
            method: "POST",
            scheme: "https",
            authority: "example.com",
            path_and_query: "/foo?param=Value&Pet=dog",
            headers,
            body,
        }
    }

    /// RFC 9421 appendix B.2.6: the ed25519 test key signs a request; our signature base for
    /// it verifies with the published key (a request without a body, as we read it: the test
    /// request's Content-Digest is not covered).
    #[test]
    fn the_rfc_ed25519_example_verifies() {
        let map = headers(&[
            ("host", "example.com"),
            ("date", "Tue, 20 Apr 2021 02:07:55 GMT"),
            ("content-type", "application/json"),
            ("content-length", "18"),
            (
                "content-digest",
                "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:",
            ),
            (
                "signature-input",
                r#"sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519""#,
            ),
            (
                "signature",
                "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:",
            ),
        ]);
        let public = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=\n-----END PUBLIC KEY-----\n";
        let created = Utc.timestamp_opt(1618884473, 0).unwrap();

        let checked = check_inbound(&request(&map, None), created).unwrap();
        assert_eq!(checked.format, SignatureFormat::Rfc9421 { label: "sig-b26".into() });
        assert_eq!(checked.key_id, "test-key-ed25519");
        assert_eq!(checked.algorithm, None);
        assert_eq!(
            checked.message,
            "\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n\"@method\": POST\n\"@path\": /foo\n\"@authority\": example.com\n\
             \"content-type\": application/json\n\"content-length\": 18\n\"@signature-params\": (\"date\" \"@method\" \
             \"@path\" \"@authority\" \"content-type\" \"content-length\");created=1618884473;keyid=\"test-key-ed25519\""
        );
        checked.verify(public).unwrap();

        // With its body, the request must cover content-digest, which it does not.
        let body = br#"{"hello": "world"}"#;
        assert_eq!(
            check_inbound(&request(&map, Some(body)), created).unwrap_err(),
            SignatureError::NotSigned("content-digest")
        );
        // The example's Content-Digest is the SHA-512 of its body.
        assert_eq!(check_content_digest(map["content-digest"].to_str().unwrap(), body), Ok(()));
        // An hour and a second later, it is too old.
        let late = created + chrono::Duration::seconds(3601);
        assert!(matches!(check_inbound(&request(&map, None), late), Err(SignatureError::BadTime(_))));
    }

    fn labelled(input: &str, signature: &str) -> HeaderMap {
        headers(&[("signature-input", input), ("signature", signature), ("content-digest", "sha-256=:AA==:")])
    }

    /// Several labels: the first that meets our requirements is the one checked, in
    /// Signature-Input order; a label without a value in Signature, or covering too little, is
    /// passed over; when none qualifies, the first label's reason is the refusal.
    #[test]
    fn the_first_qualifying_label_is_chosen() {
        let now = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        let good = |keyid: &str| format!(r#"("@method" "@target-uri");created=1700000000;keyid="{keyid}""#);
        let map = labelled(
            &format!(r#"proxy=("@authority");created=1700000000;keyid="p", a={}, b={}"#, good("ka"), good("kb")),
            "proxy=:AQ==:, a=:Ag==:, b=:Aw==:",
        );
        let checked = check_inbound(&request(&map, None), now).unwrap();
        assert_eq!(checked.format, SignatureFormat::Rfc9421 { label: "a".into() });
        assert_eq!((checked.key_id.as_str(), checked.signature.as_slice()), ("ka", &[2u8][..]));
        assert!(checked
            .message
            .starts_with("\"@method\": POST\n\"@target-uri\": https://example.com/foo?param=Value&Pet=dog\n"));

        // `a` has no signature value: `b` is chosen.
        let map = labelled(&format!("a={}, b={}", good("ka"), good("kb")), "b=:Aw==:");
        assert_eq!(check_inbound(&request(&map, None), now).unwrap().key_id, "kb");

        // Nothing qualifies: the first label's reason.
        let map = labelled(
            r#"x=("@target-uri");created=1700000000;keyid="k", y=("@method");created=1;keyid="k""#,
            "x=:AQ==:, y=:AQ==:",
        );
        assert_eq!(check_inbound(&request(&map, None), now).unwrap_err(), SignatureError::NotSigned("@method"));
    }

    #[test]
    fn labels_missing_requirements_are_refused() {
        let now = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        let refusal = |input: &str| check_inbound(&request(&labelled(input, "s=:AQ==:"), None), now).unwrap_err();
        let base = r#"("@method" "@target-uri")"#;
        assert!(matches!(refusal(&format!("s={base};keyid=\"k\"")), SignatureError::Malformed(_)), "no created");
        assert!(matches!(refusal(&format!("s={base};created=1700000000")), SignatureError::Malformed(_)), "no keyid");
        assert!(matches!(
            refusal(&format!("s={base};created=\"1700000000\";keyid=\"k\"")),
            SignatureError::Malformed(_)
        ));
        assert!(matches!(
            refusal(&format!("s={base};created=1699999000;expires=1699999999;keyid=\"k\"")),
            SignatureError::BadTime(_)
        ));
        assert!(matches!(refusal(&format!("s={base};created=1700003601;keyid=\"k\"")), SignatureError::BadTime(_)));
        assert_eq!(
            refusal(&format!("s={base};created=1700000000;keyid=\"k\";alg=\"hmac-sha256\"")),
            SignatureError::Algorithm("hmac-sha256".into())
        );
        assert_eq!(
            refusal(r#"s=("@method" "@authority");created=1700000000;keyid="k""#),
            SignatureError::NotSigned("@target-uri (or @authority and @path)")
        );
        assert!(matches!(
            refusal(r#"s=("@method" "@target-uri" "@query-param";name="x");created=1700000000;keyid="k""#),
            SignatureError::Unsupported(_)
        ));
        assert!(matches!(
            refusal(r#"s=("@method" "@target-uri" "@status");created=1700000000;keyid="k""#),
            SignatureError::Unsupported(_)
        ));
        assert!(matches!(
            refusal(r#"s=("@method" "@target-uri" "@method");created=1700000000;keyid="k""#),
            SignatureError::Malformed(_)
        ));
        assert!(matches!(
            refusal(r#"s=("@method" "@target-uri" "x-missing");created=1700000000;keyid="k""#),
            SignatureError::HeaderMissing(_)
        ));
        assert!(matches!(refusal("s=\"not a list\""), SignatureError::Malformed(_)));
        // @authority with @path, or with @request-target, binds the target too.
        let map = labelled(
            r#"s=("@method" "@authority" "@path" "@query" "@scheme" "@request-target");created=1700000000;keyid="k""#,
            "s=:AQ==:",
        );
        let checked = check_inbound(&request(&map, None), now).unwrap();
        assert_eq!(
            checked.message.lines().take(6).collect::<Vec<_>>(),
            [
                "\"@method\": POST",
                "\"@authority\": example.com",
                "\"@path\": /foo",
                "\"@query\": ?param=Value&Pet=dog",
                "\"@scheme\": https",
                "\"@request-target\": /foo?param=Value&Pet=dog",
            ]
        );
    }

    #[test]
    fn header_fields_are_trimmed_and_combined() {
        let map = headers(&[("x-list", " a "), ("x-list", "b\t")]);
        assert_eq!(field_value(&map, "x-list").unwrap(), "a, b");
    }
}
