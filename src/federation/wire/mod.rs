//! What other servers send, as types: [`Activity`] (read once from the body, its kind from
//! `type`), [`Object`], [`Actor`], [`Collection`], over the value shapes servers differ on
//! ([`values`]). Lenient where real servers differ (one value or many, an id or the object,
//! `type` as an array, `contentMap` without `content`, unknown fields ignored, a field in an
//! odd shape read as absent); strict where trust needs it (every id an absolute http(s) URL,
//! an activity's actor and object present).
//!
//! Built on activitypub_federation where it fits: its `kinds` name the activity types,
//! `deserialize_skip_error` reads the optional fields, and its `public()` is the public
//! collection. Where it does not fit, in one line each:
//! - references are [`Id`]s, not `ObjectId<T>`: that needs `T` to implement the crate's
//!   `Object` trait, whose fetching goes through its own `Data`/`FederationConfig` and would
//!   bypass our fetcher ([`super::fetch`]: SSRF checks, blocks, signed GETs, size limits);
//! - handlers are plain functions (the verified signer and the typed activity, dispatched by
//!   `inbox::handle`), the shape of the crate's `ActivityHandler` (`verify`, `receive`) without
//!   its `Data`, because our signature checks (draft-cavage and RFC 9421, Ed25519, the replay
//!   window) run before any handler and the crate does not do them;
//! - audiences use [`values::audience`], not `deserialize_one_or_many`, which refuses a whole
//!   audience for one entry that is not a URL.
//!
//! Who reads them: the inbox reads every activity it handles into an [`Activity`] once its
//! signature holds ([`Activity::read`]; before that, only its type, actor and id); replies
//! fetch posts up a chain as [`Object`]s and crawl `replies` and `context` as [`Collection`]s
//! ([`super::fetch::get_typed`]); actors and their keys are read as [`Actor`]s, key documents
//! as [`actors::KeyDocument`].

pub mod activities;
pub mod actors;
pub mod collections;
pub mod objects;
pub mod values;

pub use activities::{Activity, ActivityKind, Payload};
pub use actors::{Actor, ActorKind};
pub use collections::Collection;
pub use objects::{Object, ObjectKind};
pub use values::{Id, OneOrMany, Ref, Types};

#[cfg(test)]
mod tests {
    use super::*;

    /// The placeholders of tests/fixtures/inbound (see tests/api/shapes.rs), filled as a test fills them.
    fn fill(text: &str) -> String {
        [
            ("{{ACTOR}}", "https://peer.example/users/alice"),
            ("{{PEER}}", "https://peer.example"),
            ("{{ARTICLE_URL}}", "https://news.example/2015/09/peace-treaty"),
            ("{{ARTICLE}}", "https://bridge.example/articles/peace-treaty"),
            ("{{COMMENTER}}", "https://bridge.example/users/ivan_petrov"),
            ("{{COMMENT}}", "https://bridge.example/articles/peace-treaty/comments/c1"),
            ("{{SITE_HANDLE}}", "@site@bridge.example"),
            ("{{SITE_URL}}", "https://news.example/"),
            ("{{SITE}}", "https://bridge.example/users/site"),
            ("{{BLOG}}", "https://blog.example/@blog"),
            ("{{GROUP_PEER}}", "https://lemmy.example"),
            ("{{GROUP}}", "https://lemmy.example/c/news"),
        ]
        .iter()
        .fold(text.to_string(), |text, (name, value)| text.replace(name, value))
    }

    /// The kind a fixture's file name says (`create_note_reply.json` is a Create).
    fn kind_named(name: &str) -> ActivityKind {
        let kinds = [
            ("create", ActivityKind::Create),
            ("update", ActivityKind::Update),
            ("delete", ActivityKind::Delete),
            ("undo", ActivityKind::Undo),
            ("like", ActivityKind::Like),
            ("dislike", ActivityKind::Dislike),
            ("emoji_react", ActivityKind::EmojiReact),
            ("announce", ActivityKind::Announce),
        ];
        kinds
            .iter()
            .find(|(prefix, _)| name.starts_with(prefix))
            .map(|(_, kind)| *kind)
            .unwrap_or_else(|| panic!("{name}: no kind"))
    }

    /// Every fixture of tests/fixtures/inbound (payloads in each server's shape) parses through
    /// the types, as the kind its name says, with its actor, and what it carries: a Create's or
    /// Update's object with its text, the activity inside an Undo or a relayed Announce.
    #[test]
    fn every_inbound_fixture_parses_through_the_types() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/inbound");
        let mut seen = 0;
        for server in std::fs::read_dir(&root).expect("fixtures").flatten() {
            for file in std::fs::read_dir(server.path()).expect("server").flatten() {
                let path = file.path();
                let name = format!("{}/{}", server.file_name().to_string_lossy(), file.file_name().to_string_lossy());
                let text = fill(&std::fs::read_to_string(&path).expect("read"));
                let activity: Activity =
                    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name} does not parse: {e}"));
                let stem = file.file_name().to_string_lossy().trim_end_matches(".json").to_string();
                assert_eq!(activity.kind, kind_named(&stem), "{name}");
                assert!(activity.actor_id().as_str().starts_with("https://"), "{name}");
                match activity.kind {
                    ActivityKind::Create | ActivityKind::Update if !stem.contains("actor") => {
                        let object = activity.object().unwrap_or_else(|| panic!("{name}: no object"));
                        assert!(object.text().is_some() || object.name.is_some(), "{name}: no text");
                    }
                    ActivityKind::Undo => {
                        let undone = activity.object.as_ref().and_then(Payload::id);
                        assert!(undone.is_some(), "{name}: undoes nothing");
                    }
                    ActivityKind::Announce
                        if ["create", "update", "delete", "like"]
                            .iter()
                            .any(|k| stem.starts_with(&format!("announce_{k}"))) =>
                    {
                        let inner = activity.inner().unwrap_or_else(|| panic!("{name}: no activity inside"));
                        assert_eq!(inner.kind, kind_named(stem.trim_start_matches("announce_")), "{name}");
                    }
                    _ => assert!(activity.object.as_ref().and_then(Payload::id).is_some(), "{name}: no object id"),
                }
                seen += 1;
            }
        }
        assert!(seen >= 60, "only {seen} fixtures");
    }

    fn fixture(name: &str) -> Activity {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/inbound").join(name);
        serde_json::from_str(&fill(&std::fs::read_to_string(path).expect("read"))).expect(name)
    }

    /// The shapes servers differ on, each read: Lemmy's Announce of a Create with the comment
    /// inside, Misskey's reaction as a Like with its emoji, PeerTube's Video, Mastodon's
    /// Tombstone, an Undo with the undone activity embedded.
    #[test]
    fn the_shapes_servers_differ_on_are_read() {
        let relayed = fixture("lemmy/announce_create_comment.json");
        let comment = relayed.inner().and_then(Activity::object).expect("the comment inside");
        assert_eq!(comment.kind(), ObjectKind::Note);
        assert!(comment.in_reply_to.is_some() && comment.text().is_some());
        assert_eq!(relayed.actor_id().as_str(), "https://lemmy.example/c/news");

        let reaction = fixture("misskey/like_reaction.json");
        assert_eq!(reaction.content.as_deref(), Some(":blobcat_thinking:"));
        let emoji = reaction.tag.first().expect("emoji");
        assert!(emoji.types.is("Emoji") && emoji.icon.as_ref().is_some_and(|i| i.url.first().is_some()));

        let video = fixture("peertube/create_video.json");
        let object = video.object().expect("video");
        assert_eq!(object.kind(), ObjectKind::Other);
        assert!(object.types.is("Video") && object.name.is_some());

        let deleted = fixture("mastodon/delete_note.json");
        assert_eq!(deleted.object().map(Object::kind), Some(ObjectKind::Tombstone));

        let undo = fixture("mastodon/undo_like.json");
        assert_eq!(undo.inner().map(|like| like.kind), Some(ActivityKind::Like));
    }

    /// An `object` is read as what its type says, and when it cannot be read the error names
    /// the fault, not "no variant matched".
    #[test]
    fn payloads_are_told_apart_and_errors_name_the_fault() {
        let read = |object: serde_json::Value| {
            let create = serde_json::json!({"type": "Create", "actor": "https://a.example/u", "object": object});
            Activity::read(&create).map(|a| a.object.expect("object"))
        };
        let note = read(serde_json::json!({"id": "https://a.example/n/1", "type": ["Note", "misskey:Note"]}));
        assert!(matches!(note, Ok(Payload::Object(ref o)) if o.kind() == ObjectKind::Note));
        let person = read(
            serde_json::json!({"id": "https://a.example/u", "type": "Person", "inbox": "https://a.example/u/inbox"}),
        );
        assert!(matches!(person, Ok(Payload::Actor(_))));
        let untyped = read(serde_json::json!({"id": "https://a.example/n/1"}));
        assert!(matches!(untyped, Ok(Payload::Object(ref o)) if o.kind() == ObjectKind::Other));
        let several = read(serde_json::json!(["https://a.example/n/1", "https://a.example/n/2"])).expect("several");
        assert_eq!(several.first_id().map(Id::as_str), Some("https://a.example/n/1"));
        // What an Announce relays is told from a post it boosts by its own `object`: a Hubzilla
        // post carries an `actor` too.
        let hubzilla = read(serde_json::json!({"id": "https://hub.example/item/1", "type": "Note",
                                               "actor": "https://hub.example/channel/x", "content": "hi"}));
        assert!(matches!(hubzilla, Ok(Payload::Object(_))));
        let vote = read(
            serde_json::json!({"type": "Like", "actor": "https://a.example/u", "object": "https://b.example/p/1"}),
        );
        assert!(matches!(vote, Ok(Payload::Activity(ref like)) if like.kind == ActivityKind::Like));
        let lock =
            read(serde_json::json!({"id": "https://a.example/l/1", "type": "Lock", "object": "https://b.example/p/1"}));
        assert!(matches!(lock, Ok(Payload::OtherActivity(ref other)) if other.types.is("Lock")));
        let blank = read(serde_json::json!({"id": "_:b0", "type": "Note"})).expect_err("a blank node");
        assert!(blank.to_string().contains("'_:b0' is not an absolute URL"), "{blank}");
        let no_id = read(serde_json::json!({"type": "Note", "content": "hi"})).expect_err("no id");
        assert!(no_id.to_string().contains("missing field `id`"), "{no_id}");
    }

    #[test]
    fn what_is_not_an_activity_or_has_a_bad_id_is_refused() {
        let note = r#"{"id": "https://a.example/1", "type": "Note", "actor": "https://a.example/u", "object": "https://a.example/2"}"#;
        assert!(serde_json::from_str::<Activity>(note).is_err());
        let bad_id =
            r#"{"id": "_:b1", "type": "Like", "actor": "https://a.example/u", "object": "https://a.example/2"}"#;
        assert!(serde_json::from_str::<Activity>(bad_id).is_err());
        let no_object = r#"{"id": "https://a.example/1", "type": "Create", "actor": "https://a.example/u"}"#;
        assert!(serde_json::from_str::<Activity>(no_object).is_err());
        let as_array = r#"{"id": "https://a.example/1", "type": ["Like", "litepub:Like"], "actor": {"id": "https://a.example/u", "type": "Person"}, "object": "https://a.example/2", "extra": {"x": 1}}"#;
        let like: Activity = serde_json::from_str(as_array).expect("like");
        assert_eq!((like.kind, like.actor_id().as_str()), (ActivityKind::Like, "https://a.example/u"));
    }
}
