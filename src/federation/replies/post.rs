//! A post read into a reply: its content sanitised (HTML through the sanitiser; PeerTube's
//! markdown read as text; an Article's or Page's title leading), the content warning and names
//! as plain text, the language when it is a language tag, URLs and attachments only when they
//! are http(s), and a thread key stable for its id.

use sha2::{Digest as _, Sha256};
use url::Url;

use crate::domain::html::{looks_like_html, plain_text, sanitize, text_to_html};
use crate::domain::is_web;
use crate::federation::fetch::same_origin;
use crate::federation::wire::objects::{Attachment as WireAttachment, UrlValue};
use crate::federation::wire::{Object, ObjectKind, OneOrMany};
use crate::http::error::AppError;
use crate::store::federation::RemoteActor;
use crate::store::inbound::{Attachment, RemoteReply};

/// Attachments kept per reply.
const MAX_ATTACHMENTS: usize = 16;

/// Reads a post into a reply, sanitised: HTML through the sanitiser, the content warning and
/// names as plain text, URLs only when they are http(s). Only posts addressed to the public
/// ([`Object::is_public`]) come here: [`receive_post`] (sent to us) and [`fetch_post`] (fetched
/// up a chain or crawled) check it.
pub(super) fn reply_from_object(object: &Object, author: &RemoteActor) -> Result<RemoteReply, AppError> {
    let id = object.id.as_str();
    let author_url = Url::parse(&author.ap_id).map_err(|_| AppError::bad_request("the actor is not a URL"))?;
    if !same_origin(object.id.url(), &author_url) {
        return Err(AppError::bad_request("the object's id is not on its author's server"));
    }
    let html = object.text().unwrap_or_default();
    // PeerTube sends a comment's text as written, marked `text/markdown`: it is read as plain
    // text (paragraphs and line breaks; the markdown is not rendered).
    let html = if is_plain_text(object.media_type.as_deref(), &html) {
        text_to_html(&html).as_str().to_string()
    } else {
        html
    };
    // An Article or Page from a blog: its title leads.
    let is_note = object.kind() == ObjectKind::Note;
    let title = object.name.as_deref().filter(|_| !is_note);
    let html = match title {
        Some(title) if !title.trim().is_empty() => {
            format!("<p><strong>{}</strong></p>{html}", crate::domain::html::escape(&plain_text(title, 300)))
        }
        _ => html,
    };
    let content = sanitize(&html);
    if content.as_str().trim().is_empty() {
        return Err(AppError::unprocessable("the reply has no content left once sanitised"));
    }
    let language = object
        .content_map
        .first_language()
        .or_else(|| object.language.as_ref().map(|l| l.tag()))
        .filter(|l| is_language_tag(l))
        .map(str::to_string);
    // A Note's summary is its content warning; an Article's or Page's is an excerpt (WordPress),
    // a warning only when the post is marked sensitive.
    let sensitive = object.sensitive.unwrap_or(false);
    let summary = object
        .summary
        .as_deref()
        .filter(|_| is_note || sensitive)
        .map(|s| plain_text(s, 500))
        .filter(|s| !s.is_empty());
    let time = |value: &Option<String>| {
        value
            .as_deref()
            .and_then(|p| chrono::DateTime::parse_from_rfc3339(p).ok())
            .map(|p| p.with_timezone(&chrono::Utc))
    };
    Ok(RemoteReply {
        key: reply_key(id),
        ap_id: id.to_string(),
        author_ap_id: author.ap_id.clone(),
        author_name: plain_text(author.name.as_deref().unwrap_or_default(), 200),
        author_handle: plain_text(author.handle.as_deref().unwrap_or_default(), 300),
        author_url: author.ap_id.clone(),
        content: content.as_str().to_string(),
        summary: summary.clone(),
        language,
        url: web_url(&object.url),
        attachments: attachments(&object.attachment),
        // A content warning hides the post too (Mastodon sets both; some servers only one).
        sensitive: sensitive || summary.is_some(),
        published: time(&object.published).unwrap_or_else(chrono::Utc::now),
        updated: time(&object.updated),
    })
}

/// True when a post's content is text, not HTML: marked `text/markdown` or `text/plain`, and
/// without the tags HTML would have.
fn is_plain_text(media_type: Option<&str>, content: &str) -> bool {
    matches!(media_type, Some("text/markdown" | "text/plain")) && !looks_like_html(content)
}

/// A BCP 47 tag, roughly: letters, digits and hyphens, short.
fn is_language_tag(tag: &str) -> bool {
    !tag.is_empty() && tag.len() <= 35 && tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') && tag != "und"
}

/// The http(s) URL a `url` property gives: a string, a Link, or the first text/html of a list.
fn web_url(urls: &OneOrMany<UrlValue>) -> Option<String> {
    let html = urls.iter().find(|u| matches!(u, UrlValue::Link { media_type: Some(m), .. } if m == "text/html"));
    html.or(urls.first()).map(UrlValue::url).filter(|u| is_web(u)).map(Url::to_string)
}

fn attachments(items: &OneOrMany<WireAttachment>) -> Vec<Attachment> {
    items
        .iter()
        .filter_map(|item| {
            let url = web_url(&item.url).or_else(|| item.href.as_ref().filter(|u| is_web(u)).map(Url::to_string))?;
            Some(Attachment {
                url,
                media_type: item.media_type.as_deref().map(|m| plain_text(m, 100)),
                // The description: GoToSocial (and Mastodon, reading) use `summary`, others `name`.
                name: [&item.summary, &item.name]
                    .into_iter()
                    .filter_map(Option::as_deref)
                    .map(|n| plain_text(n, 1500))
                    .find(|n| !n.is_empty()),
            })
        })
        .take(MAX_ATTACHMENTS)
        .collect()
}

/// The thread key of a federated reply: stable for its id, apart from the site's own keys.
fn reply_key(ap_id: &str) -> String {
    hashed_key("r-", ap_id)
}

/// A thread key for a remote object: `prefix` and 16 hex digits of a hash of its id, stable.
pub(in crate::federation) fn hashed_key(prefix: &str, ap_id: &str) -> String {
    let digest = Sha256::digest(ap_id.as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("{prefix}{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// A Note with `fields` beside its id and type.
    fn note(fields: Value) -> Object {
        let mut note = json!({ "id": "https://a.example/notes/1", "type": "Note" });
        note.as_object_mut().expect("object").extend(fields.as_object().expect("fields").clone());
        serde_json::from_value(note).expect("note")
    }

    #[test]
    fn only_posts_to_the_public_are_replies_to_publish() {
        let public = "https://www.w3.org/ns/activitystreams#Public";
        assert!(note(json!({ "to": [public] })).is_public());
        assert!(note(json!({ "to": "https://a.example/u/followers", "cc": public })).is_public());
        assert!(note(json!({ "cc": ["as:Public"] })).is_public());
        assert!(!note(json!({ "to": ["https://b.example/users/site"], "cc": [] })).is_public());
        assert!(!note(json!({ "to": ["https://a.example/u/followers"] })).is_public());
        assert!(!note(json!({ "content": "no addressing" })).is_public());
    }

    #[test]
    fn reply_keys_are_stable_and_distinct() {
        let a = reply_key("https://mastodon.example/users/alice/statuses/1");
        assert_eq!(a, reply_key("https://mastodon.example/users/alice/statuses/1"));
        assert_ne!(a, reply_key("https://mastodon.example/users/alice/statuses/2"));
        assert!(a.starts_with("r-") && a.len() == 18, "{a}");
    }

    #[test]
    fn only_web_urls_are_kept() {
        let url_of = |url: Value| web_url(&note(json!({ "url": url })).url);
        assert_eq!(url_of(json!("https://a.example/p/1")).as_deref(), Some("https://a.example/p/1"));
        assert_eq!(url_of(json!("javascript:alert(1)")), None);
        assert_eq!(url_of(json!({"type": "Link", "href": "data:text/html,x"})), None);
        let list = json!([{"href": "https://a.example/x.json", "mediaType": "application/json"},
                          {"href": "https://a.example/x", "mediaType": "text/html"}]);
        assert_eq!(url_of(list).as_deref(), Some("https://a.example/x"));
    }

    #[test]
    fn markdown_text_is_read_as_text() {
        let peertube = Some("text/markdown");
        assert!(is_plain_text(peertube, "first\n\n2 < 3"));
        assert!(!is_plain_text(peertube, "<p>already HTML</p>"));
        assert!(!is_plain_text(Some("text/html"), "first\n\nsecond"));
        assert!(!is_plain_text(None, "first\n\nsecond"));
    }

    #[test]
    fn language_tags_are_checked() {
        assert!(is_language_tag("en") && is_language_tag("pt-BR"));
        assert!(!is_language_tag("<b>") && !is_language_tag("") && !is_language_tag("und"));
    }
}
