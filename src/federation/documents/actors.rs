//! The site's actors as their documents: the site itself (Service, Person or Group, as
//! configured) and each commenter (a Person), with the key that signs what they send.

use activitypub_federation::kinds::actor::{GroupType, PersonType, ServiceType};
use serde::Serialize;

use super::values::{Image, Timestamp};
use crate::config::SiteActorType;
pub use crate::federation::wire::actors::PublicKey;

/// `type` of a local actor.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum ActorType {
    Person(PersonType),
    Service(ServiceType),
    Group(GroupType),
}

impl From<SiteActorType> for ActorType {
    fn from(kind: SiteActorType) -> Self {
        match kind {
            SiteActorType::Person => ActorType::Person(PersonType::Person),
            SiteActorType::Service => ActorType::Service(ServiceType::Service),
            SiteActorType::Group => ActorType::Group(GroupType::Group),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoints {
    pub shared_inbox: String,
}

/// A local actor's document.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Actor {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: ActorType,
    pub preferred_username: String,
    pub name: String,
    /// HTML.
    pub summary: String,
    pub url: String,
    pub inbox: String,
    pub outbox: String,
    pub followers: String,
    pub following: String,
    pub endpoints: Endpoints,
    pub manually_approves_followers: bool,
    pub discoverable: bool,
    pub indexable: bool,
    pub published: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_key: Option<PublicKey>,
    /// The domains whose pages may name this actor as their author (Mastodon's
    /// `attributionDomains`); left out when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attribution_domains: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icon: Option<Image>,
}
