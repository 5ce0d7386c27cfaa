//! Pure logic, no I/O: what an article, a comment and a thread are, and how site input is
//! parsed into them. Everything here is checked once, at the edge, and stays checked.

pub mod html;
pub mod input;
pub mod thread;
pub mod username;

use chrono::{DateTime, Utc};
use serde::Serialize;

use html::SafeHtml;

/// An http(s) URL: the only kind kept from what others send, and the only kind an id may be.
pub fn is_web(url: &url::Url) -> bool {
    matches!(url.scheme(), "http" | "https")
}

/// A key the site chose for an article or a comment: 1-200 characters, no control characters.
/// It parses when deserialised, so a path parameter of this type is checked before the body.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Key(String);

impl From<Key> for String {
    fn from(key: Key) -> String {
        key.0
    }
}

impl TryFrom<String> for Key {
    type Error = String;

    fn try_from(raw: String) -> Result<Key, String> {
        Key::parse(&raw)
    }
}

impl Key {
    pub const MAX_LEN: usize = 200;

    pub fn parse(raw: &str) -> Result<Key, String> {
        if raw.is_empty() || raw.chars().count() > Self::MAX_LEN {
            return Err(format!("a key must have 1 to {} characters", Self::MAX_LEN));
        }
        if raw.chars().any(char::is_control) {
            return Err("a key must not contain control characters".into());
        }
        if raw == "." || raw == ".." {
            return Err("a key cannot be '.' or '..' (clients would read them as paths)".into());
        }
        Ok(Key(raw.to_string()))
    }

    pub fn from_store(stored: String) -> Key {
        Key(stored)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A site user as the site names them: `username` is their identity on the site, `name` how
/// they are shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteAuthor {
    pub username: String,
    pub name: Option<String>,
}

/// A local actor: the site itself, or a person who wrote on the site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalActor {
    pub id: i64,
    /// WebFinger-safe, unique, stable.
    pub username: String,
    pub kind: ActorKind,
    /// The name as the site shows it (any Unicode).
    pub display_name: String,
    /// The site's own username for this person; `None` for the site actor.
    pub site_username: Option<String>,
    pub public_key_pem: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    Site,
    Person,
}

impl ActorKind {
    pub fn parse(stored: &str) -> ActorKind {
        if stored == "site" {
            ActorKind::Site
        } else {
            ActorKind::Person
        }
    }
}

/// A hashtag without its `#`: letters, digits and `_`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Tag(String);

impl Tag {
    pub fn parse(raw: &str) -> Result<Tag, String> {
        let name = raw.trim().trim_start_matches('#');
        let ok =
            !name.is_empty() && name.chars().count() <= 100 && name.chars().all(|c| c.is_alphanumeric() || c == '_');
        if ok {
            Ok(Tag(name.to_string()))
        } else {
            Err(format!("tag '{raw}' must be letters, digits and _ (at most 100)"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Image {
    pub url: url::Url,
    pub alt: Option<String>,
}

/// An article as the site published it, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ArticleDraft {
    pub title: String,
    pub url: url::Url,
    pub content: SafeHtml,
    pub summary: Option<String>,
    pub author: SiteAuthor,
    pub tags: Vec<Tag>,
    pub published: Option<DateTime<Utc>>,
    pub updated: Option<DateTime<Utc>>,
    pub image: Option<Image>,
    pub language: Option<String>,
    pub sensitive: bool,
}

/// A stored article.
#[derive(Debug, Clone, PartialEq)]
pub struct Article {
    pub id: i64,
    pub key: Key,
    pub title: String,
    pub url: url::Url,
    pub content: SafeHtml,
    pub summary: Option<String>,
    pub author: LocalActor,
    pub tags: Vec<Tag>,
    pub published: DateTime<Utc>,
    pub updated: Option<DateTime<Utc>>,
    pub image: Option<Image>,
    pub language: Option<String>,
    pub sensitive: bool,
    pub deleted_at: Option<DateTime<Utc>>,
    /// Counts every change to the article and its thread.
    pub version: i64,
    /// Set for a followed article: a post by an actor the site follows, kept so the site's
    /// commenters can join its thread. None for the site's own articles.
    pub followed: Option<FollowedFrom>,
}

/// Where a followed article comes from: the post's id and its author, as last received.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FollowedFrom {
    pub ap_id: String,
    pub author_ap_id: String,
    pub author_name: Option<String>,
    pub author_handle: Option<String>,
}

/// A comment as the site wrote it, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct CommentDraft {
    pub author: SiteAuthor,
    pub content: SafeHtml,
    /// The `id` of the thread item this comment answers; `None` answers the article.
    pub parent: Option<Key>,
    pub published: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    Local,
    Remote,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Visible,
    Pending,
    Rejected,
    Deleted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Visible => "visible",
            Status::Pending => "pending",
            Status::Rejected => "rejected",
            Status::Deleted => "deleted",
        }
    }

    pub fn parse(stored: &str) -> Status {
        match stored {
            "pending" => Status::Pending,
            "rejected" => Status::Rejected,
            "deleted" => Status::Deleted,
            _ => Status::Visible,
        }
    }
}

/// Who wrote a comment.
#[derive(Debug, Clone, PartialEq)]
pub enum CommentAuthor {
    Local(LocalActor),
    /// A fediverse account (replies that came in through the inbox).
    Remote {
        ap_id: String,
        name: String,
        handle: String,
        url: String,
    },
}

/// What a comment knows of the item it answers (the article when it has no parent).
#[derive(Debug, Clone, PartialEq)]
pub struct ParentRef {
    pub id: i64,
    pub key: Key,
    /// Set when the parent is a federated reply: its id, and its author's id and handle.
    pub remote_ap_id: Option<String>,
    pub remote_author: Option<(String, String)>,
}

/// A stored comment.
#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    pub id: i64,
    pub article_id: i64,
    /// The thread `id`: the site's key, or the one the bridge assigned to a federated reply.
    pub key: Key,
    pub parent: Option<ParentRef>,
    pub origin: Origin,
    pub status: Status,
    pub author: CommentAuthor,
    pub content: SafeHtml,
    pub published: DateTime<Utc>,
    pub updated: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    /// The ActivityPub id of a remote comment; local ids are derived from keys.
    pub remote_ap_id: Option<String>,
    /// What a federated reply carries besides its content (None for the site's comments).
    pub remote: Option<RemoteDetails>,
}

/// A federated reply's content warning, language, page on its server and media.
#[derive(Debug, Clone, PartialEq, Default, Serialize, serde::Deserialize)]
pub struct RemoteDetails {
    /// Plain text.
    pub summary: Option<String>,
    pub language: Option<String>,
    /// Where the author's server shows it (http or https).
    pub url: Option<String>,
    pub attachments: Vec<Attachment>,
    /// Marked sensitive by its author: its media (and text, with a content warning) are to be
    /// shown behind a warning.
    pub sensitive: bool,
}

/// A media attachment of a federated reply (kept as a link; never fetched).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Attachment {
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The description (alt text).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Comment {
    pub fn is_deleted(&self) -> bool {
        self.status == Status::Deleted
    }

    pub fn parent_id(&self) -> Option<i64> {
        self.parent.as_ref().map(|p| p.id)
    }
}

/// Just enough of a thread item to name it: its key, and its own id when it is a federated reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRef {
    pub key: Key,
    pub remote_ap_id: Option<String>,
}

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    Created,
    /// Stored values changed (so an `Update` is due).
    Updated,
    /// The same values were sent again.
    Unchanged,
}
