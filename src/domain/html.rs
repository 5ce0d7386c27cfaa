//! HTML in and out: the site's HTML is sanitised, plain-text comments are turned into HTML with
//! their quotes as `<blockquote>`s, and everything we write ourselves is escaped.

use std::collections::HashSet;
use std::sync::LazyLock;

/// HTML that went through [`sanitize`] or was built from escaped parts: safe to serve.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct SafeHtml(String);

impl SafeHtml {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Wraps HTML read back from our own store, where only sanitised HTML is ever written.
    pub fn from_store(stored: String) -> SafeHtml {
        SafeHtml(stored)
    }

    /// The text of this HTML with tags removed, whitespace collapsed, cut at `max` characters
    /// on a word boundary.
    pub fn excerpt(&self, max: usize) -> String {
        // A space before every tag keeps words of adjacent blocks apart once tags are gone.
        let text = ammonia::Builder::empty().clean(&self.0.replace('<', " <")).to_string();
        let text = html_unescape_basic(&text);
        let words: Vec<&str> = text.split_whitespace().collect();
        let mut out = String::new();
        for word in words {
            if out.chars().count() + word.chars().count() + 1 > max {
                out.push('…');
                break;
            }
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(word);
        }
        out
    }
}

/// The tags site and reader HTML may keep.
#[rustfmt::skip]
const ALLOWED_TAGS: &[&str] = &[
    "p", "br", "a", "span", "blockquote", "q", "cite", "strong", "b", "em", "i", "u", "s", "del", "ins",
    "sub", "sup", "code", "pre", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "abbr",
    "figure", "figcaption", "small", "mark",
];

static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let tags: HashSet<&str> = ALLOWED_TAGS.iter().copied().collect();
    let mut builder = ammonia::Builder::default();
    builder
        .tags(tags)
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .link_rel(Some("nofollow noopener noreferrer"))
        .add_tag_attributes("a", ["href", "class", "title"])
        .add_tag_attributes("span", ["class"])
        .add_tag_attributes("ol", ["start"])
        .add_tag_attributes("blockquote", ["cite"])
        .add_tag_attributes("abbr", ["title"]);
    builder
});

/// Cleans untrusted HTML: no scripts, styles, event handlers, iframes, `javascript:` or `data:`
/// links; links get `rel="nofollow noopener noreferrer"`.
pub fn sanitize(html: &str) -> SafeHtml {
    SafeHtml(SANITIZER.clean(html).to_string())
}

/// The text of untrusted HTML (or text), without any markup: for names and content warnings
/// that are shown as plain text. Control characters go; at most `max` characters are kept.
pub fn plain_text(html: &str, max: usize) -> String {
    static TEXT_ONLY: LazyLock<ammonia::Builder<'static>> = LazyLock::new(ammonia::Builder::empty);
    let text = html_unescape_basic(&TEXT_ONLY.clean(html).to_string());
    text.chars().filter(|c| !c.is_control() || *c == '\n').take(max).collect::<String>().trim().to_string()
}

/// Escapes text for use inside HTML elements and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn html_unescape_basic(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

/// Tags whose presence makes a comment HTML rather than plain text: the allowed ones, and two
/// that commonly wrap them.
const HTML_HINTS: &[&str] = &["div", "img"];

/// True when a comment body looks like HTML rather than plain text: it has a known tag such as
/// `<p>`, `</p>`, `<br/>` or `<a href=...>`. Text like `x<y` or `<sarcasm>` stays text.
pub fn looks_like_html(content: &str) -> bool {
    content.match_indices('<').any(|(at, _)| {
        let rest = &content[at + 1..];
        let rest = rest.strip_prefix('/').unwrap_or(rest);
        let name_len = rest.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(rest.len());
        let (name, after) = rest.split_at(name_len);
        let ends_tag = after.starts_with(['>', ' ', '/', '\n', '\t']);
        ends_tag && ALLOWED_TAGS.iter().chain(HTML_HINTS).any(|t| t.eq_ignore_ascii_case(name))
    })
}

/// Turns a plain-text comment into HTML: paragraphs at blank lines, `<br>` at single line
/// breaks, and quotes as `<blockquote>`s. Two quote forms are recognised, as readers write them:
/// a `Quote: name` line followed by the quoted lines up to a blank line, and `> ` lines.
pub fn text_to_html(text: &str) -> SafeHtml {
    let text = text.replace("\r\n", "\n");
    let mut html = String::new();
    for block in text.split("\n\n").map(str::trim).filter(|b| !b.is_empty()) {
        let lines: Vec<&str> = block.lines().collect();
        if let Some(name) = lines[0].strip_prefix("Quote:").map(str::trim).filter(|n| !n.is_empty()) {
            html.push_str(&blockquote(Some(name), &lines[1..]));
        } else if lines.iter().all(|l| l.starts_with('>')) {
            let quoted: Vec<&str> = lines.iter().map(|l| l.trim_start_matches('>').trim()).collect();
            html.push_str(&blockquote(None, &quoted));
        } else {
            html.push_str(&paragraph(&lines));
        }
    }
    sanitize(&html)
}

fn paragraph(lines: &[&str]) -> String {
    let escaped: Vec<String> = lines.iter().map(|l| escape(l.trim())).collect();
    format!("<p>{}</p>", escaped.join("<br>"))
}

fn blockquote(author: Option<&str>, lines: &[&str]) -> String {
    let cite = author.map(|name| format!("<p><cite>{}</cite> wrote:</p>", escape(name))).unwrap_or_default();
    let body = if lines.is_empty() { String::new() } else { paragraph(lines) };
    format!("<blockquote>{cite}{body}</blockquote>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_handlers_and_bad_links_are_removed() {
        let dirty = r#"<p onclick="x()">hi<script>alert(1)</script><a href="javascript:alert(1)">a</a><a href="https://ok.example/">b</a><iframe src="https://x"></iframe><img src="data:x"></p><style>p{}</style>"#;
        let clean = sanitize(dirty);
        let s = clean.as_str();
        assert!(!s.contains("script") && !s.contains("onclick") && !s.contains("iframe"));
        assert!(!s.contains("javascript:") && !s.contains("data:") && !s.contains("style"));
        assert!(s.contains(r#"<a href="https://ok.example/" rel="nofollow noopener noreferrer">b</a>"#), "{s}");
    }

    #[test]
    fn named_quote_becomes_blockquote() {
        let html = text_to_html("Quote: siberalt\nthe bazaars of the Kuril Islands.\n\nBut what <about> them?");
        assert_eq!(
            html.as_str(),
            "<blockquote><p><cite>siberalt</cite> wrote:</p><p>the bazaars of the Kuril Islands.</p></blockquote><p>But what &lt;about&gt; them?</p>"
        );
    }

    #[test]
    fn chevron_quote_and_line_breaks() {
        let html = text_to_html("> quoted line\n\nfirst\nsecond");
        assert_eq!(html.as_str(), "<blockquote><p>quoted line</p></blockquote><p>first<br>second</p>");
    }

    #[test]
    fn html_detection() {
        assert!(looks_like_html("<p>x</p>"));
        assert!(looks_like_html("a<br>b"));
        assert!(looks_like_html("<P class=x>hi</P>"));
        assert!(!looks_like_html("a < b and c > d"));
        assert!(!looks_like_html("if x<y then y>x"));
        assert!(!looks_like_html("I disagree, <sarcasm>great</sarcasm> idea"));
    }

    #[test]
    fn excerpt_cuts_on_words() {
        let html = sanitize("<p>one two &amp; three</p><p>four</p>");
        assert_eq!(html.excerpt(100), "one two & three four");
        assert_eq!(html.excerpt(8), "one two…");
    }
}
