//! The value shapes real servers differ on, each read one way: an id that must be an absolute
//! http(s) URL ([`Id`]), one value or an array ([`OneOrMany`]), an id or the object itself
//! ([`Ref`]), `type` as a string or an array ([`Types`]), a language map kept in the sender's
//! order ([`LanguageMap`]) and text from `content` or `contentMap` ([`text`]), audiences
//! ([`audience`]).

use activitypub_federation::kinds::public;
use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use url::Url;

/// An ActivityPub id: an absolute `http` or `https` URL with a host. Anything else (a blank
/// node, `urn:`, a relative path) is refused when the document is read. The id is kept as the
/// sender wrote it (compared and stored byte for byte, as ids are on the wire), beside its
/// parsed URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Id {
    raw: String,
    url: Url,
}

impl Id {
    pub fn parse(raw: &str) -> Result<Id, String> {
        let url = Url::parse(raw).map_err(|e| format!("'{raw}' is not an absolute URL ({e})"))?;
        if !crate::domain::is_web(&url) || url.host_str().is_none() {
            return Err(format!("'{raw}' is not an http(s) URL with a host"));
        }
        Ok(Id { raw: raw.to_string(), url })
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The id as the sender wrote it.
    pub fn as_str(&self) -> &str {
        &self.raw
    }
}

impl std::fmt::Display for Id {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.raw)
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Id, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Id::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// One value or an array of them, read as a list (an absent field is an empty list with
/// `#[serde(default)]`). In an array, an entry that cannot be read is left out (an attachment
/// list with a bare string in it keeps its other attachments); one value alone must be read.
#[derive(Debug, Clone, PartialEq)]
pub struct OneOrMany<T>(pub Vec<T>);

impl<T> Default for OneOrMany<T> {
    fn default() -> Self {
        OneOrMany(Vec::new())
    }
}

impl<T> OneOrMany<T> {
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.0.iter()
    }

    pub fn first(&self) -> Option<&T> {
        self.0.first()
    }
}

impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<OneOrMany<T>, D::Error> {
        Ok(match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::Null => OneOrMany(Vec::new()),
            serde_json::Value::Array(items) => {
                OneOrMany(items.into_iter().filter_map(|item| serde_json::from_value(item).ok()).collect())
            }
            one => OneOrMany(vec![serde_json::from_value(one).map_err(serde::de::Error::custom)?]),
        })
    }
}

/// A reference: the id alone, or the object embedded (Lemmy and Mastodon embed what another
/// server only names).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Ref<T> {
    Id(Id),
    Object(Box<T>),
}

/// Whatever has an id.
pub trait HasId {
    fn id(&self) -> &Id;
}

impl<T: HasId> Ref<T> {
    pub fn id(&self) -> &Id {
        match self {
            Ref::Id(id) => id,
            Ref::Object(object) => object.id(),
        }
    }

    pub fn object(&self) -> Option<&T> {
        match self {
            Ref::Id(_) => None,
            Ref::Object(object) => Some(object),
        }
    }
}

/// `type` as one string or an array of them (`["Note", "misskey:Note"]`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Types(pub Vec<String>);

impl Types {
    /// True when one of the types is `kind` (with or without the `as:` prefix).
    pub fn is(&self, kind: &str) -> bool {
        self.0.iter().any(|t| t == kind || t.strip_prefix("as:") == Some(kind))
    }

    /// The first type this service knows among `known`, if any.
    pub fn known<'k>(&self, known: &[&'k str]) -> Option<&'k str> {
        known.iter().copied().find(|k| self.is(k))
    }
}

impl<'de> Deserialize<'de> for Types {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Types, D::Error> {
        Ok(Types(OneOrMany::<String>::deserialize(deserializer)?.0))
    }
}

/// A language map (`contentMap`, `nameMap`) in the order the sender wrote it: its first
/// language is the post's. An entry whose value is not text keeps its language, without text.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LanguageMap(pub Vec<(String, Option<String>)>);

impl LanguageMap {
    /// The first language given.
    pub fn first_language(&self) -> Option<&str> {
        self.0.first().map(|(language, _)| language.as_str())
    }

    /// The text in `language`, if given.
    pub fn get(&self, language: &str) -> Option<&str> {
        self.0.iter().find(|(l, _)| l == language).and_then(|(_, text)| text.as_deref())
    }

    /// The first text given, in whichever language.
    pub fn first_text(&self) -> Option<&str> {
        self.0.iter().find_map(|(_, text)| text.as_deref())
    }
}

impl<'de> Deserialize<'de> for LanguageMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<LanguageMap, D::Error> {
        struct Entries;

        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Entry {
            Text(String),
            Other(IgnoredAny),
        }

        impl<'de> Visitor<'de> for Entries {
            type Value = LanguageMap;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of languages to text")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LanguageMap, A::Error> {
                let mut entries = Vec::new();
                while let Some((language, entry)) = map.next_entry::<String, Entry>()? {
                    let text = match entry {
                        Entry::Text(text) => Some(text),
                        Entry::Other(_) => None,
                    };
                    entries.push((language, text));
                }
                Ok(LanguageMap(entries))
            }
        }

        deserializer.deserialize_map(Entries)
    }
}

/// The text of a field with its language map: `content` when given, else `contentMap`'s text
/// in `language`, else its first (GoToSocial and some others send only the map).
pub fn text(plain: Option<&String>, map: &LanguageMap, language: Option<&str>) -> Option<String> {
    let mapped = language.and_then(|l| map.get(l)).or_else(|| map.first_text());
    plain.cloned().or_else(|| mapped.map(str::to_string))
}

/// An audience (`to`, `cc`): one address or several, `Public` and `as:Public` read as the
/// public collection. Unlike activitypub_federation's `deserialize_one_or_many`, which refuses
/// the whole list for one entry that is not a URL, such an entry (a blank node, an embedded
/// object) is left out: an audience only ever widens what is published by naming the public.
pub fn audience<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Url>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Address {
        Text(String),
        Other(IgnoredAny),
    }
    let addresses = OneOrMany::<Address>::deserialize(deserializer)?;
    let urls = addresses.0.into_iter().filter_map(|address| match address {
        Address::Text(text) if matches!(text.as_str(), "Public" | "as:Public") => Some(public()),
        Address::Text(text) => Url::parse(&text).ok(),
        Address::Other(_) => None,
    });
    Ok(urls.collect())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Thing {
        id: Id,
    }

    impl HasId for Thing {
        fn id(&self) -> &Id {
            &self.id
        }
    }

    #[test]
    fn ids_are_absolute_http_urls() {
        assert!(serde_json::from_value::<Id>(json!("https://a.example/notes/1")).is_ok());
        for bad in ["_:b0", "urn:uuid:1", "/notes/1", "ftp://a.example/x", "https://"] {
            assert!(serde_json::from_value::<Id>(json!(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn one_or_many_and_types_read_either_shape() {
        let one: OneOrMany<Id> = serde_json::from_value(json!("https://a.example/1")).expect("one");
        let many: OneOrMany<Id> =
            serde_json::from_value(json!(["https://a.example/1", "https://a.example/2"])).expect("many");
        assert_eq!((one.0.len(), many.0.len()), (1, 2));
        let types: Types = serde_json::from_value(json!(["as:Note", "misskey:Note"])).expect("types");
        assert!(types.is("Note") && !types.is("Article"));
        assert_eq!(types.known(&["Article", "Note"]), Some("Note"));
        assert!(serde_json::from_value::<Types>(json!("Note")).expect("one").is("Note"));
    }

    #[test]
    fn a_reference_is_an_id_or_the_object() {
        let by_id: Ref<Thing> = serde_json::from_value(json!("https://a.example/1")).expect("id");
        let embedded: Ref<Thing> =
            serde_json::from_value(json!({ "id": "https://a.example/1", "x": 1 })).expect("object");
        assert_eq!(by_id.id(), embedded.id());
        assert!(by_id.object().is_none() && embedded.object().is_some());
        assert!(serde_json::from_value::<Ref<Thing>>(json!({ "id": "urn:x" })).is_err());
    }

    #[test]
    fn content_map_stands_in_for_content_in_the_senders_order() {
        let map: LanguageMap = serde_json::from_value(json!({"fr": 3, "en": "Hello", "de": "Hallo"})).expect("map");
        assert_eq!(map.first_language(), Some("fr"));
        assert_eq!(text(None, &map, Some("de")).as_deref(), Some("Hallo"));
        assert_eq!(text(None, &map, None).as_deref(), Some("Hello"));
        assert_eq!(text(Some(&"Hi".to_string()), &map, Some("en")).as_deref(), Some("Hi"));
    }

    #[derive(Debug, Deserialize)]
    struct Addressed {
        #[serde(default, deserialize_with = "audience")]
        to: Vec<Url>,
    }

    #[test]
    fn audiences_read_public_aliases_and_leave_out_what_is_not_an_address() {
        let read = |to: serde_json::Value| serde_json::from_value::<Addressed>(json!({ "to": to })).expect("to").to;
        assert_eq!(read(json!("as:Public")), vec![public()]);
        assert_eq!(read(json!(["Public", {"id": "x"}, "https://a.example/u/followers"])).len(), 2);
        assert!(serde_json::from_value::<Addressed>(json!({})).expect("absent").to.is_empty());
    }
}
