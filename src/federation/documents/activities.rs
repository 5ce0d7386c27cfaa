//! The activities the service sends: an article's or a comment's Create, Update and Delete, an
//! actor's Update, the Accept of a Follow, and the site's own Follow and its Undo.

use activitypub_federation::kinds::activity::{AcceptType, CreateType, DeleteType, FollowType, UndoType, UpdateType};
use serde::Serialize;

use super::actors::Actor;
use super::objects::{Post, Tombstone};
use super::values::Timestamp;

/// `type` of an activity we send.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum ActivityType {
    Create(CreateType),
    Update(UpdateType),
    Delete(DeleteType),
    Accept(AcceptType),
    Undo(UndoType),
}

impl ActivityType {
    /// The type of a queued activity, by the name the store keeps.
    pub fn named(name: &str) -> Option<ActivityType> {
        match name {
            "Create" => Some(ActivityType::Create(CreateType::Create)),
            "Update" => Some(ActivityType::Update(UpdateType::Update)),
            "Delete" => Some(ActivityType::Delete(DeleteType::Delete)),
            "Accept" => Some(ActivityType::Accept(AcceptType::Accept)),
            "Undo" => Some(ActivityType::Undo(UndoType::Undo)),
            _ => None,
        }
    }
}

/// An activity, addressed (`to`, and `cc` left out when empty), `published` when given.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Activity {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: ActivityType,
    pub actor: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<Timestamp>,
    pub to: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cc: Vec<String>,
    pub object: Object,
}

/// A Follow of an actor: sent to the one followed (with `to`), and embedded, unaddressed, in
/// the Accept of it and in its Undo.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Follow {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: FollowType,
    pub actor: String,
    /// The actor followed.
    pub object: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<String>,
}

/// What an activity we send is about.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Object {
    /// An article or a comment (Create, Update).
    Post(Box<Post>),
    /// What a Delete leaves.
    Tombstone(Tombstone),
    /// An actor (its Update).
    Actor(Box<Actor>),
    /// A Follow (accepted or undone).
    Follow(Follow),
    /// An actor followed, by id.
    Id(String),
}
