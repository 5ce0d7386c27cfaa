//! Streaming XML for the exports (WXR, Disqus) on `quick-xml`: the file is read one top-level
//! record at a time (an `<item>`, a `<post>`), each built into a small [`Node`] tree and dropped
//! once converted. Entities: the five XML ones and character references are resolved; a
//! document's own entity declarations are never read, so a reference to one (an "XML bomb") is
//! an error at its line rather than an expansion.

use std::io::BufRead;
use std::sync::Arc;

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

use super::source::{Progress, Source};
use super::FileError;

/// An element with its attributes, text (text and CDATA joined) and child elements.
#[derive(Debug, Default)]
pub struct Node {
    /// The name as written, prefix included (`wp:comment`).
    pub name: String,
    pub attributes: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Node>,
    /// The line its start tag is on.
    pub line: u64,
}

impl Node {
    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The trimmed text of the first child named `name`, None when absent or blank.
    pub fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.trim()).filter(|t| !t.is_empty())
    }

    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
}

/// What the reader met at the level it walks.
pub enum Walk {
    /// A start tag (its element not read yet: [`XmlFile::read_node`] reads it, or
    /// [`XmlFile::enter`] goes inside it).
    Start(BytesStart<'static>, u64),
    /// An empty element `<x/>`.
    Empty(BytesStart<'static>),
    /// The end of the element being walked.
    End,
    Eof,
}

pub struct XmlFile<R: BufRead> {
    reader: Reader<Source<R>>,
    buf: Vec<u8>,
    /// The reader's position (shared with the source, so it is read without borrowing the reader).
    progress: Arc<Progress>,
}

fn name_of(start: &BytesStart) -> String {
    start.name().as_ref().to_string()
}

fn error_at(progress: &Progress, message: impl std::fmt::Display) -> FileError {
    FileError { line: progress.line(), message: message.to_string() }
}

fn node_of(progress: &Progress, start: &BytesStart, line: u64) -> Result<Node, FileError> {
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| error_at(progress, e))?;
        let key = attribute.key.as_ref().to_string();
        let value = attribute.normalized_value(XmlVersion::Implicit1_0).map_err(|e| error_at(progress, e))?;
        attributes.push((key, value.into_owned()));
    }
    Ok(Node { name: name_of(start), attributes, text: String::new(), children: Vec::new(), line })
}

impl<R: BufRead> XmlFile<R> {
    pub fn new(source: Source<R>) -> XmlFile<R> {
        let progress = source.progress().clone();
        let mut reader = Reader::from_reader(source);
        reader.config_mut().check_end_names = true;
        XmlFile { reader, buf: Vec::new(), progress }
    }

    pub fn line(&self) -> u64 {
        self.progress.line()
    }

    /// The next element at the current level, skipping text, comments and declarations.
    pub fn next(&mut self) -> Result<Walk, FileError> {
        loop {
            self.buf.clear();
            let event = self.reader.read_event_into(&mut self.buf).map_err(|e| error_at(&self.progress, e))?;
            let line = self.progress.line();
            return Ok(match event {
                Event::Start(start) => Walk::Start(start.into_owned(), line),
                Event::Empty(start) => Walk::Empty(start.into_owned()),
                Event::End(_) => Walk::End,
                Event::Eof => Walk::Eof,
                _ => continue,
            });
        }
    }

    /// The root element's start tag, which names the format.
    pub fn root(&mut self) -> Result<String, FileError> {
        match self.next()? {
            Walk::Start(start, _) | Walk::Empty(start) => Ok(name_of(&start)),
            _ => Err(error_at(&self.progress, "the file has no XML element")),
        }
    }

    /// Starts the limit on one record's size (see [`Progress::mark`]).
    pub fn mark(&self) {
        self.progress.mark();
    }

    /// Reads the element whose start tag `next` returned, to its end tag.
    pub fn read_node(&mut self, start: &BytesStart, line: u64) -> Result<Node, FileError> {
        let mut stack = vec![node_of(&self.progress, start, line)?];
        loop {
            self.buf.clear();
            let event = self.reader.read_event_into(&mut self.buf).map_err(|e| error_at(&self.progress, e))?;
            let line = self.progress.line();
            match event {
                Event::Start(start) => {
                    let node = node_of(&self.progress, &start, line)?;
                    stack.push(node);
                }
                Event::Empty(start) => {
                    let node = node_of(&self.progress, &start, line)?;
                    if let Some(parent) = stack.last_mut() {
                        parent.children.push(node);
                    }
                }
                Event::End(_) => {
                    let Some(done) = stack.pop() else { return Err(error_at(&self.progress, "unbalanced end tag")) };
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(done),
                        None => return Ok(done),
                    }
                }
                Event::Text(text) => {
                    let text = text.xml10_content().into_owned();
                    if let Some(node) = stack.last_mut() {
                        node.text.push_str(&text);
                    }
                }
                Event::CData(data) => {
                    let text = data.xml10_content().into_owned();
                    if let Some(node) = stack.last_mut() {
                        node.text.push_str(&text);
                    }
                }
                Event::GeneralRef(reference) => {
                    let resolved = resolve_reference(&reference).map_err(|m| error_at(&self.progress, m))?;
                    if let Some(node) = stack.last_mut() {
                        node.text.push_str(&resolved);
                    }
                }
                Event::Eof => return Err(error_at(&self.progress, "the file ends inside an element")),
                _ => {}
            }
        }
    }
}

/// `&lt;` and the other four, `&#233;` and `&#xE9;` (resolved by quick-xml); nothing else.
fn resolve_reference(reference: &BytesRef) -> Result<String, String> {
    let invalid = || format!("'&{};' is not a valid character reference", &**reference);
    if reference.is_char_ref() {
        let resolved = reference.resolve_char_ref().map_err(|_| invalid())?;
        return resolved.filter(|c| *c != '\0').map(String::from).ok_or_else(invalid);
    }
    resolve_predefined_entity(reference).map(str::to_string).ok_or_else(|| {
        format!(
            "the entity '&{};' is not one of XML's own; entity declarations are not read \
             (so a file cannot expand them)",
            &**reference
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn file(text: &str) -> XmlFile<Cursor<Vec<u8>>> {
        XmlFile::new(Source::new(Cursor::new(text.as_bytes().to_vec()), Arc::new(Progress::default())))
    }

    #[test]
    fn a_record_is_read_with_text_cdata_and_references() {
        let mut xml = file(
            "<root>\n<item a=\"x&amp;y\"><t>caf&#233; &lt;b&gt;</t><c><![CDATA[<p>hi</p>]]></c><e/></item></root>",
        );
        assert_eq!(xml.root().expect("root"), "root");
        let Walk::Start(start, line) = xml.next().expect("item") else { panic!("no item") };
        let item = xml.read_node(&start, line).expect("read");
        assert_eq!(item.line, 2);
        assert_eq!(item.attribute("a"), Some("x&y"));
        assert_eq!(item.text_of("t"), Some("café <b>"));
        assert_eq!(item.text_of("c"), Some("<p>hi</p>"));
        assert!(item.child("e").is_some());
    }

    #[test]
    fn declared_entities_are_refused_not_expanded() {
        let bomb = "<?xml version=\"1.0\"?>\n<!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]>\n<r>\n<x>&b;</x></r>";
        let mut xml = file(bomb);
        assert_eq!(xml.root().expect("root"), "r");
        let Walk::Start(start, line) = xml.next().expect("x") else { panic!("no x") };
        let err = xml.read_node(&start, line).expect_err("refused");
        assert_eq!(err.line, 4);
        assert!(err.message.contains("'&b;'"), "{}", err.message);
    }
}
