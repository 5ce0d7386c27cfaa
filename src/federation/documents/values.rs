//! The small shapes several documents share.

use activitypub_federation::kinds::object::ImageType;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, Serializer};

/// A time as documents carry it: RFC 3339 in UTC, to the second (`2015-09-22T07:01:00Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp(pub DateTime<Utc>);

impl Timestamp {
    pub fn text(&self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::Secs, true)
    }
}

impl From<&DateTime<Utc>> for Timestamp {
    fn from(t: &DateTime<Utc>) -> Self {
        Timestamp(*t)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text())
    }
}

/// An image: the site's icon (with its media type), an article's preview image (without).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    #[serde(rename = "type")]
    pub kind: ImageType,
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_type: Option<&'static str>,
}

impl Image {
    pub fn new(url: &url::Url, media_type: Option<&'static str>) -> Image {
        Image { kind: ImageType::Image, url: url.to_string(), media_type }
    }
}
