//! What the service serves and sends, as types: the counterpart of [`super::wire`], which reads
//! what comes in. [`actors`] (the site and commenters, with their keys), [`objects`] (an article
//! as Note or Article, a comment, a Tombstone), [`activities`] (what is delivered), [`collections`]
//! (outbox, followers, following, replies, context and their pages), [`discovery`] (WebFinger,
//! host-meta, NodeInfo). [`super::render::Renderer`] builds each ActivityPub document from
//! stored data, in one method per document; the HTTP routes, the outbox and the deliveries
//! serialise what it builds. Discovery documents are built by [`super::wellknown`].
//!
//! Built on activitypub_federation's vocabulary: its `kinds` name every fixed `type`, and its
//! [`WithContext`] puts the `@context` on a top-level document. References are `String`s, not
//! `ObjectId<T>`, for the reason [`super::wire`] gives (the crate's `Object` trait fetches through
//! its own `Data`), and because every id here is one we minted.
//!
//! Fields go out in the order a struct declares them (serde_json keeps the order written:
//! activitypub_federation turns on its `preserve_order`), which is the order the service has
//! always written them in; tests/api/golden.rs compares the order too.

pub mod activities;
pub mod actors;
pub mod collections;
pub mod discovery;
pub mod objects;
pub mod values;

use activitypub_federation::protocol::context::WithContext;
use serde::Serialize;
use serde_json::{json, Value};

pub use activities::{Activity, ActivityType, Object};
pub use actors::Actor;
pub use collections::{First, OrderedCollection, OrderedCollectionPage};
pub use objects::{Post, PostType, Tag, Tombstone};
pub use values::{Image, Timestamp};

/// The JSON-LD context of every document we serve: ActivityStreams, the security vocabulary of
/// `publicKey`, and the extensions Mastodon reads. Free-form JSON-LD, so the one `json!` here.
pub fn context() -> Value {
    json!([
        "https://www.w3.org/ns/activitystreams",
        "https://w3id.org/security/v1",
        {
            "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
            "sensitive": "as:sensitive",
            "Hashtag": "as:Hashtag",
            "toot": "http://joinmastodon.org/ns#",
            "discoverable": "toot:discoverable",
            "indexable": "toot:indexable",
            "attributionDomains": { "@id": "toot:attributionDomains", "@type": "@id" }
        }
    ])
}

/// A top-level document: our `@context` beside the fields of `inner`.
pub fn with_context<T: Serialize>(inner: T) -> WithContext<T> {
    WithContext::new(inner, context())
}

/// A top-level document as the text that is signed and sent: compact JSON with `@context`.
pub fn payload<T: Serialize>(inner: T) -> String {
    // Our documents are structs of strings, numbers and lists: serialising them cannot fail.
    serde_json::to_string(&with_context(inner)).unwrap_or_default()
}
