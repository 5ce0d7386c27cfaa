//! Actors as they arrive: Person, Service, Group, Application, Organization. An actor must have
//! an `inbox`; that is what tells it from an object named by id. Its keys: each `publicKey`
//! (Mastodon's shape) and each `Multikey` of `assertionMethod` (FEP-521a); a key document served
//! apart names its owner ([`KeyDocument`]).

use activitypub_federation::protocol::helpers::deserialize_skip_error;
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use url::Url;

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

/// A key as `publicKey` gives it, in what others send and in what we serve
/// (`documents::Actor`). Key ids are text: they are matched against the `keyId` a signature
/// names, which the verifier reads as a URL.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicKey {
    pub id: String,
    #[serde(default, deserialize_with = "deserialize_skip_error", skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    pub public_key_pem: String,
}

/// A key of `assertionMethod` (FEP-521a): a `Multikey` with its `publicKeyMultibase`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Multikey {
    pub id: String,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub controller: Option<String>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub public_key_multibase: Option<String>,
}

/// What a document fetched for a key says of the key's owner: GoToSocial serves
/// `/users/x/main-key` with `publicKey.owner`, others a bare key with `owner`, or a Multikey
/// with `controller`. An actor (it has an `inbox`) owns its keys itself.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyDocument {
    #[serde(default)]
    inbox: Option<IgnoredAny>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    owner: Option<Url>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    public_key: Option<KeyOwner>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    controller: Option<Url>,
}

#[derive(Debug, Deserialize)]
struct KeyOwner {
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    owner: Option<Url>,
}

impl KeyDocument {
    /// The key's owner, when the document is a key rather than an actor.
    pub fn owner(&self) -> Option<&Url> {
        if self.inbox.is_some() {
            return None;
        }
        let public_key_owner = self.public_key.as_ref().and_then(|key| key.owner.as_ref());
        self.owner.as_ref().or(public_key_owner).or(self.controller.as_ref())
    }
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
    #[serde(rename = "type", default, deserialize_with = "deserialize_skip_error")]
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
    pub public_key: OneOrMany<PublicKey>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub assertion_method: OneOrMany<Multikey>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub also_known_as: OneOrMany<String>,
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
