//! Structured fields (RFC 8941), as much as RFC 9421 signatures need: dictionaries, inner lists,
//! items and parameters read from a field value, and an inner list with its parameters written
//! back in canonical form (the `@signature-params` line).

use base64::engine::general_purpose::{STANDARD as BASE64, STANDARD_NO_PAD as BASE64_NO_PAD};
use base64::Engine as _;

/// A bare item. Decimals are kept in their canonical text form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BareItem {
    Integer(i64),
    Decimal(String),
    String(String),
    Token(String),
    Bytes(Vec<u8>),
    Boolean(bool),
}

/// Parameters, in their order (a repeated key keeps its first place and its last value).
pub type Parameters = Vec<(String, BareItem)>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub value: BareItem,
    pub params: Parameters,
}

/// A dictionary member's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Member {
    Item(Item),
    InnerList(Vec<Item>, Parameters),
}

/// A dictionary, in its order (a repeated key keeps its first place and its last value).
pub type Dictionary = Vec<(String, Member)>;

/// Parses a structured-field dictionary (the combined field value).
pub fn parse_dictionary(input: &str) -> Result<Dictionary, String> {
    let mut parser = Parser { input: input.as_bytes(), at: 0 };
    parser.skip_sp();
    let mut dictionary: Dictionary = Vec::new();
    if parser.done() {
        return Ok(dictionary);
    }
    loop {
        let key = parser.key()?;
        let member = if parser.eat(b'=') {
            parser.member_value()?
        } else {
            Member::Item(Item { value: BareItem::Boolean(true), params: parser.parameters()? })
        };
        insert(&mut dictionary, key, member);
        parser.skip_ows();
        if parser.done() {
            return Ok(dictionary);
        }
        if !parser.eat(b',') {
            return Err(format!("expected ',' at {}", parser.at));
        }
        parser.skip_ows();
        if parser.done() {
            return Err("a trailing ','".into());
        }
    }
}

fn insert<V>(list: &mut Vec<(String, V)>, key: String, value: V) {
    match list.iter_mut().find(|(k, _)| *k == key) {
        Some(existing) => existing.1 = value,
        None => list.push((key, value)),
    }
}

struct Parser<'a> {
    input: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn done(&self) -> bool {
        self.at >= self.input.len()
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn skip_sp(&mut self) {
        while self.peek() == Some(b' ') {
            self.at += 1;
        }
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.at += 1;
        }
    }

    fn take_while(&mut self, keep: impl Fn(u8) -> bool) -> &str {
        let start = self.at;
        while self.peek().is_some_and(&keep) {
            self.at += 1;
        }
        // Only ASCII bytes are ever kept, so this slice is valid UTF-8.
        std::str::from_utf8(&self.input[start..self.at]).unwrap_or_default()
    }

    fn key(&mut self) -> Result<String, String> {
        match self.peek() {
            Some(c) if c.is_ascii_lowercase() || c == b'*' => {}
            _ => return Err(format!("expected a key at {}", self.at)),
        }
        let key =
            self.take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'_' | b'-' | b'.' | b'*'));
        Ok(key.to_string())
    }

    fn member_value(&mut self) -> Result<Member, String> {
        if self.peek() == Some(b'(') {
            self.inner_list()
        } else {
            Ok(Member::Item(self.item()?))
        }
    }

    fn inner_list(&mut self) -> Result<Member, String> {
        self.at += 1; // '('
        let mut items = Vec::new();
        loop {
            self.skip_sp();
            if self.eat(b')') {
                return Ok(Member::InnerList(items, self.parameters()?));
            }
            items.push(self.item()?);
            match self.peek() {
                Some(b' ' | b')') => {}
                _ => return Err(format!("expected ' ' or ')' at {}", self.at)),
            }
        }
    }

    fn item(&mut self) -> Result<Item, String> {
        let value = self.bare_item()?;
        Ok(Item { value, params: self.parameters()? })
    }

    fn parameters(&mut self) -> Result<Parameters, String> {
        let mut params = Vec::new();
        while self.eat(b';') {
            self.skip_sp();
            let key = self.key()?;
            let value = if self.eat(b'=') { self.bare_item()? } else { BareItem::Boolean(true) };
            insert(&mut params, key, value);
        }
        Ok(params)
    }

    fn bare_item(&mut self) -> Result<BareItem, String> {
        match self.peek() {
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'"') => self.string(),
            Some(b':') => self.bytes(),
            Some(b'?') => self.boolean(),
            Some(c) if c.is_ascii_alphabetic() || c == b'*' => Ok(self.token()),
            _ => Err(format!("expected an item at {}", self.at)),
        }
    }

    fn number(&mut self) -> Result<BareItem, String> {
        let negative = self.eat(b'-');
        let integer = self.take_while(|c| c.is_ascii_digit()).to_string();
        if integer.is_empty() {
            return Err(format!("expected a digit at {}", self.at));
        }
        if !self.eat(b'.') {
            if integer.len() > 15 {
                return Err("an integer of more than 15 digits".into());
            }
            let value: i64 = integer.parse().map_err(|_| "an unreadable integer".to_string())?;
            return Ok(BareItem::Integer(if negative { -value } else { value }));
        }
        let fraction = self.take_while(|c| c.is_ascii_digit()).to_string();
        if integer.len() > 12 || fraction.is_empty() || fraction.len() > 3 {
            return Err("a decimal out of range".into());
        }
        let integer = integer.trim_start_matches('0');
        let fraction = fraction.trim_end_matches('0');
        let sign = if negative { "-" } else { "" };
        let integer = if integer.is_empty() { "0" } else { integer };
        let fraction = if fraction.is_empty() { "0" } else { fraction };
        Ok(BareItem::Decimal(format!("{sign}{integer}.{fraction}")))
    }

    fn string(&mut self) -> Result<BareItem, String> {
        self.at += 1; // '"'
        let mut value = String::new();
        loop {
            match self.peek() {
                None => return Err("an unterminated string".into()),
                Some(b'"') => {
                    self.at += 1;
                    return Ok(BareItem::String(value));
                }
                Some(b'\\') => {
                    self.at += 1;
                    match self.peek() {
                        Some(c @ (b'"' | b'\\')) => {
                            value.push(char::from(c));
                            self.at += 1;
                        }
                        _ => return Err("a bad escape in a string".into()),
                    }
                }
                Some(c @ 0x20..=0x7e) => {
                    value.push(char::from(c));
                    self.at += 1;
                }
                Some(_) => return Err("a control or non-ASCII character in a string".into()),
            }
        }
    }

    fn bytes(&mut self) -> Result<BareItem, String> {
        self.at += 1; // ':'
        let encoded = self.take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'=')).to_string();
        if !self.eat(b':') {
            return Err("an unterminated byte sequence".into());
        }
        let bytes = BASE64
            .decode(&encoded)
            .or_else(|_| BASE64_NO_PAD.decode(encoded.trim_end_matches('=')))
            .map_err(|_| "a byte sequence that is not base64".to_string())?;
        Ok(BareItem::Bytes(bytes))
    }

    fn boolean(&mut self) -> Result<BareItem, String> {
        self.at += 1; // '?'
        if self.eat(b'1') {
            Ok(BareItem::Boolean(true))
        } else if self.eat(b'0') {
            Ok(BareItem::Boolean(false))
        } else {
            Err("a bad boolean".into())
        }
    }

    fn token(&mut self) -> BareItem {
        let token = self.take_while(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~:/".contains(&c));
        BareItem::Token(token.to_string())
    }
}

/// The canonical serialization of an inner list with its parameters (RFC 8941 section 4.1.1.1).
pub fn serialize_inner_list(items: &[Item], params: &Parameters) -> String {
    let mut out = String::from("(");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        serialize_bare_item(&item.value, &mut out);
        serialize_parameters(&item.params, &mut out);
    }
    out.push(')');
    serialize_parameters(params, &mut out);
    out
}

fn serialize_parameters(params: &Parameters, out: &mut String) {
    for (key, value) in params {
        out.push(';');
        out.push_str(key);
        if *value != BareItem::Boolean(true) {
            out.push('=');
            serialize_bare_item(value, out);
        }
    }
}

fn serialize_bare_item(value: &BareItem, out: &mut String) {
    match value {
        BareItem::Integer(i) => out.push_str(&i.to_string()),
        BareItem::Decimal(d) => out.push_str(d),
        BareItem::String(s) => {
            out.push('"');
            for c in s.chars() {
                if c == '"' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
        }
        BareItem::Token(t) => out.push_str(t),
        BareItem::Bytes(b) => {
            out.push(':');
            out.push_str(&BASE64.encode(b));
            out.push(':');
        }
        BareItem::Boolean(b) => out.push_str(if *b { "?1" } else { "?0" }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dictionaries_with_inner_lists_parameters_and_bytes_are_read() {
        let dict = parse_dictionary(
            r#"sig1=("@method" "@target-uri";req "content-digest");alg="rsa-v1_5-sha256";keyid="https://a.example/u#k";created=1618884473,  wp=();created=-5;f=?0;d=1.50, flag;x=tok/en:1"#,
        )
        .unwrap();
        assert_eq!(dict.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), ["sig1", "wp", "flag"]);
        let Member::InnerList(items, params) = &dict[0].1 else { panic!("an inner list") };
        assert_eq!(items.len(), 3);
        assert_eq!(items[1].params, vec![("req".to_string(), BareItem::Boolean(true))]);
        assert_eq!(params[2], ("created".to_string(), BareItem::Integer(1618884473)));
        assert_eq!(
            serialize_inner_list(items, params),
            r#"("@method" "@target-uri";req "content-digest");alg="rsa-v1_5-sha256";keyid="https://a.example/u#k";created=1618884473"#
        );
        let Member::InnerList(items, params) = &dict[1].1 else { panic!("an inner list") };
        assert!(items.is_empty());
        assert_eq!(serialize_inner_list(items, params), "();created=-5;f=?0;d=1.5");
        assert_eq!(
            dict[2].1,
            Member::Item(Item {
                value: BareItem::Boolean(true),
                params: vec![("x".into(), BareItem::Token("tok/en:1".into()))]
            })
        );

        let sigs = parse_dictionary("sig1=:AQID:, sig2=:BAU=:").unwrap();
        assert_eq!(sigs[0].1, Member::Item(Item { value: BareItem::Bytes(vec![1, 2, 3]), params: vec![] }));
        assert_eq!(sigs[1].1, Member::Item(Item { value: BareItem::Bytes(vec![4, 5]), params: vec![] }));
    }

    #[test]
    fn strings_are_unescaped_and_escaped_again() {
        let dict = parse_dictionary(r#"a=("x");keyid="say \"hi\" \\ bye""#).unwrap();
        let Member::InnerList(items, params) = &dict[0].1 else { panic!("an inner list") };
        assert_eq!(params[0].1, BareItem::String(r#"say "hi" \ bye"#.into()));
        assert_eq!(serialize_inner_list(items, params), r#"("x");keyid="say \"hi\" \\ bye""#);
    }

    #[test]
    fn malformed_dictionaries_are_errors_not_panics() {
        for bad in [
            "Sig1=(\"a\")",
            "sig1=(\"a\"",
            "sig1=(\"a\"\"b\")",
            "sig1=\"unterminated",
            "sig1=:not base64!:",
            "sig1=:AQID",
            "sig1=?2",
            "sig1=1234567890123456",
            "sig1=1.2345",
            "sig1=(),",
            "sig1=() sig2=()",
            "sig1=\"\u{e9}\"",
            "sig1=(\"a\");=1",
            "=",
            ",",
        ] {
            assert!(parse_dictionary(bad).is_err(), "{bad:?} should not parse");
        }
        assert_eq!(parse_dictionary("").unwrap(), vec![]);
        assert_eq!(parse_dictionary("   ").unwrap(), vec![]);
    }
}
