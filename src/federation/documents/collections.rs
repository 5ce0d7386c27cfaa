//! Collections and their pages: outbox, followers, following, replies and context, and the
//! first page of `replies` embedded in a post.

use activitypub_federation::kinds::collection::{OrderedCollectionPageType, OrderedCollectionType};
use serde::Serialize;

/// A collection's front: its size and links to its first and last pages, or (in a post's
/// `replies`) its first page embedded.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderedCollection<T: Serialize = String> {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: OrderedCollectionType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_items: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first: Option<First<T>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last: Option<String>,
    /// Who the collection belongs to (a thread's `context`: the site).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributed_to: Option<String>,
}

/// A collection's first page: a link, or the page itself.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum First<T: Serialize> {
    Link(String),
    Page(Box<OrderedCollectionPage<T>>),
}

/// One page of a collection.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderedCollectionPage<T: Serialize> {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: OrderedCollectionPageType,
    pub part_of: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_items: Option<i64>,
    pub ordered_items: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prev: Option<String>,
    /// As in [`OrderedCollection`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributed_to: Option<String>,
}
