//! What the fediverse sees: ids ([`urls`]), documents ([`documents`], built by [`render`]), the
//! HTTP routes that serve them ([`routes`]), discovery ([`wellknown`]) and actor keys ([`keys`]); what it sends us
//! ([`inbox`]), checked with [`signatures`] by [`verify`], replies to our threads ([`replies`]),
//! boosts and relayed posts ([`announce`]); the actors the site follows and their posts
//! ([`following`]); a change of the handles' domain announced ([`handles`]); and how we reach
//! other servers ([`fetch`]).

pub mod announce;
pub mod documents;
pub mod fetch;
pub mod following;
pub mod handles;
pub mod inbox;
pub mod keys;
pub mod limits;
pub mod reactions;
pub mod render;
pub mod replies;
pub mod rfc8941;
pub mod rfc9421;
pub mod routes;
pub mod signatures;
pub mod urls;
pub mod verify;
pub mod wellknown;
pub mod wire;
