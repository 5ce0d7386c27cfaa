//! Objects as they arrive: a Note, Article, Page, Question or Tombstone (any other type, such as
//! PeerTube's Video, is read alike and named by its type). Only `id` and `type` must be there;
//! a field in a shape no server was seen to send is read as absent rather than refusing the
//! whole document.

use activitypub_federation::protocol::helpers::deserialize_skip_error;
use serde::Deserialize;
use url::Url;

use super::values::{audience, text, HasId, Id, LanguageMap, OneOrMany, Ref, Types};

/// The object types this service knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    Note,
    Article,
    Page,
    Question,
    Tombstone,
    /// Any other type (Video, Event, Image ...).
    Other,
}

/// Something named by id, maybe with its type and name (an author, a link target).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Link {
    pub id: Id,
    #[serde(rename = "type", default, deserialize_with = "deserialize_skip_error")]
    pub types: Types,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub name: Option<String>,
}

impl HasId for Link {
    fn id(&self) -> &Id {
        &self.id
    }
}

/// A `url` value: a string, or a Link object with `href` (PeerTube, Lemmy).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum UrlValue {
    Url(Url),
    Link {
        href: Url,
        #[serde(rename = "mediaType", default)]
        media_type: Option<String>,
    },
}

impl UrlValue {
    pub fn url(&self) -> &Url {
        match self {
            UrlValue::Url(url) | UrlValue::Link { href: url, .. } => url,
        }
    }
}

/// A media attachment: `url` or `href`, its media type and description (`summary` for
/// GoToSocial, `name` for the others).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    #[serde(rename = "type", default, deserialize_with = "deserialize_skip_error")]
    pub types: Types,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub url: OneOrMany<UrlValue>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub href: Option<Url>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub media_type: Option<String>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub summary: Option<String>,
}

/// A post's language as PeerTube gives it (`{"identifier": "en"}`), or as a tag.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Language {
    Tag(String),
    Identified { identifier: String },
}

impl Language {
    pub fn tag(&self) -> &str {
        match self {
            Language::Tag(tag) | Language::Identified { identifier: tag } => tag,
        }
    }
}

/// A tag: a Mention, a Hashtag, an Emoji.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tag {
    #[serde(rename = "type", default)]
    pub types: Types,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub href: Option<Url>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub icon: Option<Attachment>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Object {
    pub id: Id,
    /// Absent or odd, the object is of no type this service knows ([`ObjectKind::Other`]).
    #[serde(rename = "type", default, deserialize_with = "deserialize_skip_error")]
    pub types: Types,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub attributed_to: OneOrMany<Ref<Link>>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub in_reply_to: Option<Ref<Link>>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub content: Option<String>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub content_map: LanguageMap,
    /// `text/html` when absent; PeerTube marks its comments `text/markdown`.
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub media_type: Option<String>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub language: Option<Language>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub summary: Option<String>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub url: OneOrMany<UrlValue>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub published: Option<String>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub updated: Option<String>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub sensitive: Option<bool>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub attachment: OneOrMany<Attachment>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub tag: OneOrMany<Tag>,
    /// Where the thread's items are listed (Mastodon's `replies`, an id or the collection).
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub replies: Option<Ref<super::collections::Collection>>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub context: Option<Url>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub conversation: Option<String>,
    #[serde(default, deserialize_with = "audience")]
    pub to: Vec<Url>,
    #[serde(default, deserialize_with = "audience")]
    pub cc: Vec<Url>,
    /// A Tombstone's former type and deletion time.
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub former_type: Option<String>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub deleted: Option<String>,
}

impl HasId for Object {
    fn id(&self) -> &Id {
        &self.id
    }
}

impl Object {
    pub fn kind(&self) -> ObjectKind {
        match self.types.known(&["Note", "Article", "Page", "Question", "Tombstone"]) {
            Some("Note") => ObjectKind::Note,
            Some("Article") => ObjectKind::Article,
            Some("Page") => ObjectKind::Page,
            Some("Question") => ObjectKind::Question,
            Some("Tombstone") => ObjectKind::Tombstone,
            _ => ObjectKind::Other,
        }
    }

    /// The text: `content`, else `contentMap` (GoToSocial sends only the map).
    pub fn text(&self) -> Option<String> {
        text(self.content.as_ref(), &self.content_map, None)
    }

    /// True for the posts a reply can be: Note, Article, Page.
    pub fn is_post(&self) -> bool {
        matches!(self.kind(), ObjectKind::Note | ObjectKind::Article | ObjectKind::Page)
    }

    /// Its first `type`, as sent (for the log).
    pub fn type_name(&self) -> &str {
        self.types.0.first().map(String::as_str).unwrap_or_default()
    }

    /// Addressed to the public, in `to` or `cc` (public or unlisted); a direct message or a
    /// followers-only post is not.
    pub fn is_public(&self) -> bool {
        let public = activitypub_federation::kinds::public();
        self.to.iter().chain(&self.cc).any(|address| *address == public)
    }

    /// The author's id: the first of `attributedTo`.
    pub fn author(&self) -> Option<&Id> {
        self.attributed_to.first().map(Ref::id)
    }
}
