//! A borrowed JSON reader for hook inputs: one validating pass over the input bytes, strings
//! borrowed from them (decoded only when they hold an escape), objects kept as an index of raw
//! entries and values read on demand through typed getters ([`Json`]).
//!
//! Why not serde_json: in the guest, parsing a context into serde types and `Map<String,
//! Value>` was most of a call's fuel, and it scaled with the context's structure (every key a
//! `String`, every attribute a map insert) rather than its size (decision 025). This reader
//! accepts exactly the JSON grammar, with serde_json's nesting limit, and every getter answers
//! what the same getter on serde_json's `Value` answers (the tests hold the two together).

use crate::reader::Reader;
use serde_json::{Map, Number, Value};
use std::borrow::Cow;
use std::fmt;

/// Why an input is not JSON, or not the JSON a context needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    message: Cow<'static, str>,
    /// The byte of the input where reading stopped, when a byte is to blame.
    offset: Option<usize>,
}

impl JsonError {
    pub(crate) fn new(message: impl Into<Cow<'static, str>>, offset: usize) -> JsonError {
        JsonError {
            message: message.into(),
            offset: Some(offset),
        }
    }

    /// An error about the whole input (a missing field) or a value's meaning (a config that
    /// does not fit its type), not about one byte.
    pub(crate) fn whole(message: impl Into<Cow<'static, str>>) -> JsonError {
        JsonError {
            message: message.into(),
            offset: None,
        }
    }

    /// The byte of the input where reading stopped, when a byte is to blame.
    pub fn offset(&self) -> Option<usize> {
        self.offset
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.offset {
            Some(offset) => write!(f, "{} at byte {offset}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for JsonError {}

/// A JSON string as it stands in the input, between its quotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonStr<'a> {
    pub(crate) raw: &'a str,
    pub(crate) escaped: bool,
}

impl<'a> JsonStr<'a> {
    pub(crate) const EMPTY: JsonStr<'static> = JsonStr {
        raw: "",
        escaped: false,
    };

    /// The string's text: borrowed from the input unless it holds an escape.
    pub fn decode(&self) -> Cow<'a, str> {
        if self.escaped {
            Cow::Owned(unescape(self.raw))
        } else {
            Cow::Borrowed(self.raw)
        }
    }

    /// Whether the decoded text is `text`, without allocating when there is no escape.
    pub fn is(&self, text: &str) -> bool {
        if self.escaped {
            unescape(self.raw) == text
        } else {
            self.raw == text
        }
    }

    /// The text between the quotes, escapes as they were written.
    pub fn raw(&self) -> &'a str {
        self.raw
    }
}

/// One JSON value as it stands in the input, already validated, read on demand. Its getters
/// mirror `serde_json::Value`'s: `as_u64` is `Some` for an integer that fits, `as_f64` for any
/// number, `as_str` for a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Json<'a> {
    pub(crate) raw: &'a str,
    /// A string value with a backslash in it.
    pub(crate) escaped: bool,
}

impl<'a> Json<'a> {
    /// `null`, what a missing optional field reads as.
    pub const NULL: Json<'static> = Json {
        raw: "null",
        escaped: false,
    };

    /// The value's JSON text, exactly as the input has it.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    fn first(&self) -> u8 {
        self.raw.as_bytes().first().copied().unwrap_or(b'n')
    }

    pub fn is_null(&self) -> bool {
        self.first() == b'n'
    }

    pub fn is_object(&self) -> bool {
        self.first() == b'{'
    }

    pub fn is_array(&self) -> bool {
        self.first() == b'['
    }

    pub fn is_number(&self) -> bool {
        matches!(self.first(), b'-' | b'0'..=b'9')
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.first() {
            b't' => Some(true),
            b'f' => Some(false),
            _ => None,
        }
    }

    /// The string's text, borrowed from the input unless it holds an escape.
    pub fn as_str(&self) -> Option<Cow<'a, str>> {
        self.as_json_str().map(|text| text.decode())
    }

    /// The string as it stands in the input, for comparing without decoding.
    pub fn as_json_str(&self) -> Option<JsonStr<'a>> {
        if self.first() != b'"' {
            return None;
        }
        let inner = self.raw.get(1..self.raw.len().saturating_sub(1))?;
        Some(JsonStr {
            raw: inner,
            escaped: self.escaped,
        })
    }

    /// The number as serde_json reads it: a non-negative integer that fits `u64`, a negative
    /// one that fits `i64`, otherwise (fraction, exponent, too large, `-0`) a float.
    pub fn as_number(&self) -> Option<Number> {
        match self.number()? {
            Parsed::PosInt(n) => Some(Number::from(n)),
            Parsed::NegInt(n) => Some(Number::from(n)),
            Parsed::Float(f) => Number::from_f64(f),
        }
    }

    pub fn as_u64(&self) -> Option<u64> {
        match self.number()? {
            Parsed::PosInt(n) => Some(n),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self.number()? {
            Parsed::PosInt(n) => i64::try_from(n).ok(),
            Parsed::NegInt(n) => Some(n),
            Parsed::Float(_) => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self.number()? {
            Parsed::PosInt(n) => Some(n as f64),
            Parsed::NegInt(n) => Some(n as f64),
            Parsed::Float(f) => Some(f),
        }
    }

    /// The object's entries, in input order (`None` when this is not an object).
    pub fn as_object(&self) -> Option<Object<'a>> {
        if !self.is_object() {
            return None;
        }
        let mut object = Object::new();
        let mut reader = Reader::new(self.raw);
        let end = reader.object(0, 0, |reader, key, at| {
            let end = reader.value(at, 1);
            object.entries.push((key, reader.json_at(at, end)));
            end
        });
        reader.finish(end).ok()?;
        Some(object)
    }

    /// The array's elements, in order (`None` when this is not an array).
    pub fn as_array(&self) -> Option<Vec<Json<'a>>> {
        if !self.is_array() {
            return None;
        }
        let mut elements = Vec::new();
        let mut reader = Reader::new(self.raw);
        let end = reader.array(0, 0, |reader, at| {
            let end = reader.value(at, 1);
            elements.push(reader.json_at(at, end));
            end
        });
        reader.finish(end).ok()?;
        Some(elements)
    }

    /// The value as serde_json's `Value`, built without serde_json's parser. A number beyond
    /// `f64` becomes `null`; the host never sends one (it encodes from a `Value`).
    pub fn to_value(&self) -> Value {
        match self.first() {
            b'n' => Value::Null,
            b't' => Value::Bool(true),
            b'f' => Value::Bool(false),
            b'"' => self
                .as_str()
                .map_or(Value::Null, |text| Value::String(text.into_owned())),
            b'{' => self
                .as_object()
                .map_or(Value::Null, |object| Value::Object(object.to_map())),
            b'[' => self.as_array().map_or(Value::Null, |elements| {
                Value::Array(elements.iter().map(Json::to_value).collect())
            }),
            _ => self.as_number().map_or(Value::Null, Value::Number),
        }
    }

    /// Deserializes the value into any serde type, with serde_json.
    pub fn deserialize<T: serde::Deserialize<'a>>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.raw)
    }

    fn number(&self) -> Option<Parsed> {
        let bytes = self.raw.as_bytes();
        let (negative, digits) = match bytes.split_first()? {
            (b'-', rest) => (true, rest),
            (b'0'..=b'9', _) => (false, bytes),
            _ => return None,
        };
        let mut significand: u64 = 0;
        for &byte in digits {
            if !byte.is_ascii_digit() {
                // A fraction or an exponent: serde_json's own float parser, so the value is
                // the one a `Value` would hold to the last bit.
                return serde_json::from_str::<f64>(self.raw)
                    .ok()
                    .map(Parsed::Float);
            }
            significand = match significand
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(byte - b'0')))
            {
                Some(n) => n,
                None => {
                    return serde_json::from_str::<f64>(self.raw)
                        .ok()
                        .map(Parsed::Float);
                }
            };
        }
        if !negative {
            return Some(Parsed::PosInt(significand));
        }
        // serde_json's rule: a negative integer that does not fit i64, and `-0`, are floats.
        let negated = (significand as i64).wrapping_neg();
        Some(if negated >= 0 {
            Parsed::Float(-(significand as f64))
        } else {
            Parsed::NegInt(negated)
        })
    }
}

enum Parsed {
    PosInt(u64),
    NegInt(i64),
    Float(f64),
}

/// A JSON object's entries as raw keys and values, indexed once; lookups compare keys without
/// decoding them. The same key twice: the last one counts, as in serde_json's `Map`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Object<'a> {
    pub(crate) entries: Vec<(JsonStr<'a>, Json<'a>)>,
}

impl<'a> Object<'a> {
    pub fn new() -> Object<'a> {
        Object::default()
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<Json<'a>> {
        self.entries
            .iter()
            .rev()
            .find(|(name, _)| name.is(key))
            .map(|(_, value)| *value)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Entries in input order (with any repeated key as often as it was written).
    pub fn iter(&self) -> impl Iterator<Item = (JsonStr<'a>, Json<'a>)> + '_ {
        self.entries.iter().copied()
    }

    /// How many entries the input wrote.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The object as serde_json's `Map` (what the owned contexts hold).
    pub fn to_map(&self) -> Map<String, Value> {
        let mut map = Map::new();
        for (key, value) in &self.entries {
            map.insert(key.decode().into_owned(), value.to_value());
        }
        map
    }
}

pub(crate) fn hex_value(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |value, &digit| {
        Some(value * 16 + char::from(digit).to_digit(16)?)
    })
}

/// Decodes a string the reader validated; anything it could not have let through becomes
/// U+FFFD rather than a trap.
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let escape = &rest.as_bytes()[at + 1..];
        let (decoded, taken) = match escape.first() {
            Some(b'"') => ('"', 1),
            Some(b'\\') => ('\\', 1),
            Some(b'/') => ('/', 1),
            Some(b'b') => ('\u{8}', 1),
            Some(b'f') => ('\u{c}', 1),
            Some(b'n') => ('\n', 1),
            Some(b'r') => ('\r', 1),
            Some(b't') => ('\t', 1),
            Some(b'u') => unicode_escape(escape),
            _ => ('\u{fffd}', escape.len().min(1)),
        };
        out.push(decoded);
        rest = rest.get(at + 1 + taken..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

/// `u` and four hex digits, or a surrogate pair `uD83D\uDE00`: the char and the bytes taken.
fn unicode_escape(escape: &[u8]) -> (char, usize) {
    let Some(unit) = escape.get(1..5).and_then(hex_value) else {
        return ('\u{fffd}', escape.len().min(5));
    };
    if !(0xD800..=0xDBFF).contains(&unit) {
        return (char::from_u32(unit).unwrap_or('\u{fffd}'), 5);
    }
    let low = escape.get(7..11).and_then(hex_value).unwrap_or(0);
    let code = 0x10000 + ((unit - 0xD800) << 10) + low.wrapping_sub(0xDC00);
    (char::from_u32(code).unwrap_or('\u{fffd}'), 11)
}

/// Reads and validates one JSON text (whitespace around it allowed).
pub fn parse(text: &str) -> Result<Json<'_>, JsonError> {
    let mut reader = Reader::new(text);
    let start = reader.ws(0);
    let end = reader.value(start, 0);
    let value = reader.json_at(start, end);
    reader.finish(end)?;
    Ok(value)
}
