//! Activities as they arrive, by type: one struct read once, its [`ActivityKind`] from `type`
//! (the names are activitypub_federation's `kinds`, and Pleroma's `EmojiReact`), and its
//! `object` as whatever it is: an id, an activity (Undo, Accept, an Announce of Lemmy's), an
//! object (Create, Update, an Announce of a post), an actor (Update of a profile), or several
//! ids (Flag).

use activitypub_federation::kinds::activity::{
    AcceptType, AnnounceType, BlockType, CreateType, DeleteType, DislikeType, FlagType, FollowType, LikeType, MoveType,
    RejectType, UndoType, UpdateType,
};
use activitypub_federation::protocol::helpers::deserialize_skip_error;
use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use url::Url;

use super::actors::Actor;
use super::objects::{Link, Object, Tag};
use super::values::{audience, Id, OneOrMany, Ref, Types};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivityKind {
    Create,
    Update,
    Delete,
    Undo,
    Follow,
    Accept,
    Reject,
    Like,
    Dislike,
    EmojiReact,
    Announce,
    Flag,
    Move,
    Block,
}

impl ActivityKind {
    /// The kind a `type` names exactly (`Create`), if it is one this service reads.
    pub fn named(kind: &str) -> Option<ActivityKind> {
        Self::of(&Types(vec![kind.to_string()])).filter(|_| !kind.contains(':'))
    }

    /// The kind among `types`, if it is one this service reads.
    pub fn of(types: &Types) -> Option<ActivityKind> {
        let known = [
            (CreateType::Create.to_string(), ActivityKind::Create),
            (UpdateType::Update.to_string(), ActivityKind::Update),
            (DeleteType::Delete.to_string(), ActivityKind::Delete),
            (UndoType::Undo.to_string(), ActivityKind::Undo),
            (FollowType::Follow.to_string(), ActivityKind::Follow),
            (AcceptType::Accept.to_string(), ActivityKind::Accept),
            (RejectType::Reject.to_string(), ActivityKind::Reject),
            (LikeType::Like.to_string(), ActivityKind::Like),
            (DislikeType::Dislike.to_string(), ActivityKind::Dislike),
            ("EmojiReact".to_string(), ActivityKind::EmojiReact),
            (AnnounceType::Announce.to_string(), ActivityKind::Announce),
            (FlagType::Flag.to_string(), ActivityKind::Flag),
            (MoveType::Move.to_string(), ActivityKind::Move),
            (BlockType::Block.to_string(), ActivityKind::Block),
        ];
        known.into_iter().find(|(name, _)| types.is(name)).map(|(_, kind)| kind)
    }
}

/// What an activity's `object` (or a collection's item) is: a string is an id, an array
/// several (those that can be read), and an object by its `type` an activity (a kind this
/// service reads), another activity (it has an `object` of its own), an actor (it has an
/// `inbox`) or else an object. An error names what is wrong with the one it was taken for.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    Id(Id),
    Activity(Box<Activity>),
    /// An activity of a type this service does not read (Lemmy's `Lock`, a `Remove`...).
    OtherActivity(OtherActivity),
    Actor(Box<Actor>),
    Object(Box<Object>),
    Many(Vec<Payload>),
}

/// An activity of a type this service does not read: what it is, for the log.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OtherActivity {
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    pub id: Option<Id>,
    #[serde(rename = "type", default, deserialize_with = "deserialize_skip_error")]
    pub types: Types,
}

impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Payload, D::Error> {
        Payload::read(Value::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

/// What tells the payloads apart.
#[derive(Deserialize)]
struct Probe {
    #[serde(rename = "type", default, deserialize_with = "deserialize_skip_error")]
    types: Types,
    #[serde(default)]
    inbox: Option<IgnoredAny>,
    #[serde(default)]
    object: Option<IgnoredAny>,
}

impl Payload {
    fn read(value: Value) -> Result<Payload, serde_json::Error> {
        match value {
            Value::String(id) => Id::parse(&id).map(Payload::Id).map_err(serde::de::Error::custom),
            Value::Array(items) => Ok(Payload::Many(items.into_iter().filter_map(|i| Payload::read(i).ok()).collect())),
            value => {
                let probe = Probe::deserialize(&value)?;
                if ActivityKind::of(&probe.types).is_some() {
                    serde_json::from_value(value).map(|a| Payload::Activity(Box::new(a)))
                } else if probe.object.is_some() {
                    serde_json::from_value(value).map(Payload::OtherActivity)
                } else if probe.inbox.is_some() {
                    serde_json::from_value(value).map(|a| Payload::Actor(Box::new(a)))
                } else {
                    serde_json::from_value(value).map(|o| Payload::Object(Box::new(o)))
                }
            }
        }
    }

    /// The id of what it names (the first of several).
    pub fn first_id(&self) -> Option<&Id> {
        match self {
            Payload::Many(items) => items.first().and_then(Payload::first_id),
            one => one.id(),
        }
    }

    /// Its first `type` as sent, for the log (empty for an id or several).
    pub fn type_name(&self) -> String {
        match self {
            Payload::Activity(activity) => format!("{:?}", activity.kind),
            Payload::OtherActivity(other) => other.types.0.first().cloned().unwrap_or_default(),
            Payload::Actor(actor) => actor.types.0.first().cloned().unwrap_or_default(),
            Payload::Object(object) => object.type_name().to_string(),
            Payload::Id(_) | Payload::Many(_) => String::new(),
        }
    }

    /// The id of what it names (None for several).
    pub fn id(&self) -> Option<&Id> {
        match self {
            Payload::Id(id) => Some(id),
            Payload::Activity(activity) => activity.id.as_ref(),
            Payload::OtherActivity(other) => other.id.as_ref(),
            Payload::Actor(actor) => Some(&actor.id),
            Payload::Object(object) => Some(&object.id),
            Payload::Many(_) => None,
        }
    }
}

/// The fields as read, before the type is checked.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    #[serde(default)]
    id: Option<Id>,
    #[serde(rename = "type")]
    types: Types,
    actor: Ref<Link>,
    #[serde(default)]
    object: Option<Payload>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    target: Option<Ref<Link>>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    content: Option<String>,
    #[serde(rename = "_misskey_reaction", default, deserialize_with = "deserialize_skip_error")]
    misskey_reaction: Option<String>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    tag: OneOrMany<Tag>,
    #[serde(default, deserialize_with = "deserialize_skip_error")]
    published: Option<String>,
    #[serde(default, deserialize_with = "audience")]
    to: Vec<Url>,
    #[serde(default, deserialize_with = "audience")]
    cc: Vec<Url>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "Raw")]
pub struct Activity {
    /// Strict when present; GoToSocial sends its Deletes without one.
    pub id: Option<Id>,
    pub kind: ActivityKind,
    pub actor: Ref<Link>,
    pub object: Option<Payload>,
    /// Move's new account, Add and Remove's collection.
    pub target: Option<Ref<Link>>,
    /// A reaction's emoji (Like of Misskey, EmojiReact), a report's comment (Flag).
    pub content: Option<String>,
    /// Misskey's emoji of a `Like`, beside `content`.
    pub misskey_reaction: Option<String>,
    pub tag: OneOrMany<Tag>,
    pub published: Option<String>,
    pub to: Vec<Url>,
    pub cc: Vec<Url>,
}

impl TryFrom<Raw> for Activity {
    type Error = String;

    fn try_from(raw: Raw) -> Result<Activity, String> {
        let kind = ActivityKind::of(&raw.types)
            .ok_or_else(|| format!("'{}' is not an activity this service reads", raw.types.0.join(", ")))?;
        let needs_object = !matches!(kind, ActivityKind::Flag);
        if needs_object && raw.object.is_none() {
            return Err(format!("a {kind:?} without an object"));
        }
        Ok(Activity {
            id: raw.id,
            kind,
            actor: raw.actor,
            object: raw.object,
            target: raw.target,
            content: raw.content,
            misskey_reaction: raw.misskey_reaction,
            tag: raw.tag,
            published: raw.published,
            to: raw.to,
            cc: raw.cc,
        })
    }
}

impl Activity {
    /// Reads an activity from the body's JSON (already checked by [`crate::federation::limits`]).
    pub fn read(body: &Value) -> Result<Activity, serde_json::Error> {
        Activity::deserialize(body)
    }

    /// The id of the actor who sent it.
    pub fn actor_id(&self) -> &Id {
        self.actor.id()
    }

    /// The object, when it is one (not an id, an activity or an actor).
    pub fn object(&self) -> Option<&Object> {
        match &self.object {
            Some(Payload::Object(object)) => Some(object),
            _ => None,
        }
    }

    /// The id of its object (the first of several).
    pub fn object_id(&self) -> Option<&Id> {
        self.object.as_ref().and_then(Payload::first_id)
    }

    /// The activity inside (Undo's, Accept's, an Announce of Lemmy's).
    pub fn inner(&self) -> Option<&Activity> {
        match &self.object {
            Some(Payload::Activity(activity)) => Some(activity),
            _ => None,
        }
    }
}
