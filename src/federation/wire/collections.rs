//! Collections and their pages (replies, context, outbox): ordered or not, the first page
//! embedded or named, items as ids or objects.

use activitypub_federation::protocol::helpers::deserialize_skip_error;
use serde::Deserialize;

use super::activities::Payload;
use super::values::{Id, OneOrMany, Ref, Types};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Collection {
    /// Absent on an embedded first page (Mastodon's `replies`).
    #[serde(default)]
    pub id: Option<Id>,
    #[serde(rename = "type")]
    pub types: Types,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub total_items: Option<u64>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub first: Option<Ref<Collection>>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub next: Option<Ref<Collection>>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub part_of: Option<Id>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub items: OneOrMany<Payload>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub ordered_items: OneOrMany<Payload>,
}

impl Collection {
    /// The items of this page, ordered or not.
    pub fn items(&self) -> impl Iterator<Item = &Payload> {
        self.ordered_items.iter().chain(self.items.iter())
    }

    /// True for a page (of a collection), false for the collection itself.
    pub fn is_page(&self) -> bool {
        self.types.is("CollectionPage") || self.types.is("OrderedCollectionPage")
    }
}
