//! Actors as they arrive: Person, Service, Group, Application, Organization. An actor must have
//! an `inbox`; that is what tells it from an object named by id.

use activitypub_federation::protocol::helpers::deserialize_skip_error;
use serde::Deserialize;

use super::objects::{Attachment, UrlValue};
use super::values::{HasId, Id, OneOrMany, Types};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    Person,
    Service,
    Group,
    Application,
    Organization,
    /// An actor of another type (some relays, bridges).
    Other,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicKey {
    pub id: Id,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub owner: Option<Id>,
    pub public_key_pem: String,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoints {
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub shared_inbox: Option<Id>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Actor {
    pub id: Id,
    #[serde(rename = "type")]
    pub types: Types,
    pub inbox: Id,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub outbox: Option<Id>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub preferred_username: Option<String>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub summary: Option<String>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub url: OneOrMany<UrlValue>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub icon: Option<Attachment>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub endpoints: Endpoints,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub public_key: Option<PublicKey>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub also_known_as: OneOrMany<Id>,
}

impl HasId for Actor {
    fn id(&self) -> &Id {
        &self.id
    }
}

impl Actor {
    pub fn kind(&self) -> ActorKind {
        match self.types.known(&["Person", "Service", "Group", "Application", "Organization"]) {
            Some("Person") => ActorKind::Person,
            Some("Service") => ActorKind::Service,
            Some("Group") => ActorKind::Group,
            Some("Application") => ActorKind::Application,
            Some("Organization") => ActorKind::Organization,
            _ => ActorKind::Other,
        }
    }
}
