//! What the fediverse sees: ids ([`urls`]), documents ([`objects`]), the HTTP routes that serve
//! them ([`routes`]), discovery ([`wellknown`]) and actor keys ([`keys`]).

pub mod keys;
pub mod objects;
pub mod routes;
pub mod urls;
pub mod wellknown;
