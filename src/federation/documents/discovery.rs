//! Discovery documents: WebFinger's and host-meta's JRD (RFC 7033, RFC 6415) and NodeInfo 2.1.

use serde::Serialize;

/// A JSON Resource Descriptor: WebFinger's answer about an account, or host-meta's links.
#[derive(Debug, Clone, Serialize)]
pub struct Jrd {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    pub links: Vec<Link>,
}

/// A link of a JRD (and of NodeInfo's discovery document): a `href`, or a `template` to fill.
#[derive(Debug, Clone, Serialize)]
pub struct Link {
    pub rel: &'static str,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub media_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
}

impl Link {
    pub fn to(rel: &'static str, media_type: Option<&'static str>, href: String) -> Link {
        Link { rel, media_type, href: Some(href), template: None }
    }
}

/// NodeInfo 2.1: what this server is and how much it holds.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeInfo {
    pub version: &'static str,
    pub software: Software,
    pub protocols: Vec<&'static str>,
    pub services: Services,
    pub open_registrations: bool,
    pub usage: Usage,
    pub metadata: Metadata,
}

#[derive(Debug, Clone, Serialize)]
pub struct Software {
    pub name: &'static str,
    pub version: &'static str,
    pub homepage: String,
}

/// Other networks bridged: none.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Services {
    pub inbound: Vec<String>,
    pub outbound: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    pub users: Users,
    pub local_posts: i64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Users {
    pub total: i64,
    pub active_month: i64,
    pub active_halfyear: i64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    pub node_name: String,
}
