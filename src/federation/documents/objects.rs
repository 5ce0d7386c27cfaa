//! Articles and comments as their documents: a post (an article as Note or Article, a comment
//! as a Note in reply), and the Tombstone a deleted one leaves.

use std::collections::BTreeMap;

use activitypub_federation::kinds::link::MentionType;
use activitypub_federation::kinds::object::{ArticleType, DocumentType, NoteType, TombstoneType};
use serde::Serialize;

use super::collections::OrderedCollection;
use super::values::{Image, Timestamp};

activitypub_federation::kinds::kind!(HashtagType, Hashtag);

/// `type` of a post.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum PostType {
    Note(NoteType),
    Article(ArticleType),
}

/// A hashtag or a mention, in `tag`.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Tag {
    Hashtag {
        #[serde(rename = "type")]
        kind: HashtagType,
        href: String,
        /// `#name`.
        name: String,
    },
    Mention {
        #[serde(rename = "type")]
        kind: MentionType,
        href: String,
        /// `@user@host`.
        name: String,
    },
}

/// An article's image, as Mastodon shows it attached.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    #[serde(rename = "type")]
    pub kind: DocumentType,
    pub media_type: &'static str,
    pub url: String,
    /// Its alternative text (null when the site gave none).
    pub name: Option<String>,
}

/// An article or a comment. Its fields go out in this order (the optional ones last, as
/// they always have: tests/golden/ keeps the order).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Post {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: PostType,
    pub attributed_to: String,
    /// What a comment answers; an article answers nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    /// HTML.
    pub content: String,
    pub url: String,
    pub published: Timestamp,
    pub sensitive: bool,
    pub tag: Vec<Tag>,
    pub context: String,
    pub replies: OrderedCollection<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated: Option<Timestamp>,
    /// The content again under the article's language.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_map: Option<BTreeMap<String, String>>,
    /// The title, for an Article.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// An Article's teaser; a Note's content warning.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachment: Vec<Attachment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
}

/// What a deleted article or comment leaves. A comment's keeps its place in the thread.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tombstone {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: TombstoneType,
    /// `Note` or `Article`.
    pub former_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// The comment's `replies` collection, by id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replies: Option<String>,
}
