//! The validating JSON scanner under [`crate::json`] and [`crate::view`].
//!
//! Written for fuel, which wasmtime counts per wasm operator: positions travel as plain
//! `usize` arguments and return values (not a field stored and reloaded at every byte, not a
//! `Result` written through memory), a failure is the position [`FAIL`] with its message kept
//! aside (the first one only), and string bodies are skipped eight bytes at a time. The
//! grammar is JSON's, with serde_json's nesting limit.

use crate::json::{Json, JsonError, JsonStr, hex_value};

/// The position a failed step returns; every later step passes it on.
pub(crate) const FAIL: usize = usize::MAX;

/// Containers open at once, the input's own object included: serde_json refuses the 128th,
/// and so does this reader, so an input one accepts the other accepts too.
const MAX_DEPTH: usize = 127;

pub(crate) struct Reader<'a> {
    text: &'a str,
    /// The first failure: what and at which byte.
    failure: Option<(&'static str, usize)>,
    /// Whether the string read last held an escape.
    escaped: bool,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(text: &'a str) -> Reader<'a> {
        Reader {
            text,
            failure: None,
            escaped: false,
        }
    }

    /// Records the first failure; returns [`FAIL`] for the caller to pass on.
    #[cold]
    pub(crate) fn fail(&mut self, message: &'static str, at: usize) -> usize {
        if self.failure.is_none() {
            self.failure = Some((message, at));
        }
        FAIL
    }

    /// Why reading failed.
    pub(crate) fn error(&self) -> JsonError {
        match self.failure {
            Some((message, at)) => JsonError::new(message, at),
            None => JsonError::whole("invalid input"),
        }
    }

    /// Only whitespace may follow the input's value that ended at `end`.
    pub(crate) fn finish(&mut self, end: usize) -> Result<(), JsonError> {
        if end == FAIL {
            return Err(self.error());
        }
        let end = self.ws(end);
        if end != self.text.len() {
            self.fail("trailing characters", end);
            return Err(self.error());
        }
        Ok(())
    }

    #[inline]
    pub(crate) fn byte(&self, at: usize) -> Option<u8> {
        self.text.as_bytes().get(at).copied()
    }

    /// The first byte at or after `at` that is not whitespace.
    #[inline]
    pub(crate) fn ws(&self, mut at: usize) -> usize {
        let bytes = self.text.as_bytes();
        while let Some(&byte) = bytes.get(at) {
            // Anything above the space is not whitespace: one comparison in compact JSON.
            if byte > b' ' || !matches!(byte, b' ' | b'\n' | b'\r' | b'\t') {
                break;
            }
            at += 1;
        }
        at
    }

    /// The value that started at `start` and ended at `end` (escapes: the last string read,
    /// which is this one when the value is a string).
    #[inline]
    pub(crate) fn json_at(&self, start: usize, end: usize) -> Json<'a> {
        Json {
            raw: self.text.get(start..end).unwrap_or("null"),
            escaped: self.escaped,
        }
    }

    /// The string that started at `start` (its quote) and ended before `end`.
    #[inline]
    pub(crate) fn str_at(&self, start: usize, end: usize) -> JsonStr<'a> {
        JsonStr {
            raw: self
                .text
                .get(start + 1..end.saturating_sub(1))
                .unwrap_or(""),
            escaped: self.escaped,
        }
    }

    /// A string at `at`, when there is one: the string and where it ends.
    pub(crate) fn string_value(&mut self, at: usize) -> (JsonStr<'a>, usize) {
        if self.byte(at) != Some(b'"') {
            return (JsonStr::EMPTY, self.fail("expected a string", at));
        }
        let end = self.string(at);
        (self.str_at(at, end), end)
    }

    /// An object at `at` (its `{`), `depth` containers already open; `entry(reader, key,
    /// value_at)` reads each value and returns where it ends. Returns where the object ends.
    #[inline]
    pub(crate) fn object<F>(&mut self, at: usize, depth: usize, mut entry: F) -> usize
    where
        F: FnMut(&mut Reader<'a>, JsonStr<'a>, usize) -> usize,
    {
        if self.byte(at) != Some(b'{') {
            return self.fail("expected an object", at);
        }
        if depth >= MAX_DEPTH {
            return self.fail("recursion limit exceeded", at);
        }
        let mut at = self.ws(at + 1);
        if self.byte(at) == Some(b'}') {
            return at + 1;
        }
        loop {
            let (key, end) = self.string_value(at);
            if end == FAIL {
                return FAIL;
            }
            at = self.ws(end);
            if self.byte(at) != Some(b':') {
                return self.fail("expected `:`", at);
            }
            at = self.ws(at + 1);
            let end = entry(self, key, at);
            if end == FAIL {
                return FAIL;
            }
            at = self.ws(end);
            match self.byte(at) {
                Some(b',') => at = self.ws(at + 1),
                Some(b'}') => return at + 1,
                _ => return self.fail("expected `,` or `}`", at),
            }
        }
    }

    /// An array at `at` (its `[`); `element(reader, at)` reads each element and returns where
    /// it ends. Returns where the array ends.
    #[inline]
    pub(crate) fn array<F>(&mut self, at: usize, depth: usize, mut element: F) -> usize
    where
        F: FnMut(&mut Reader<'a>, usize) -> usize,
    {
        if self.byte(at) != Some(b'[') {
            return self.fail("expected an array", at);
        }
        if depth >= MAX_DEPTH {
            return self.fail("recursion limit exceeded", at);
        }
        let mut at = self.ws(at + 1);
        if self.byte(at) == Some(b']') {
            return at + 1;
        }
        loop {
            let end = element(self, at);
            if end == FAIL {
                return FAIL;
            }
            at = self.ws(end);
            match self.byte(at) {
                Some(b',') => at = self.ws(at + 1),
                Some(b']') => return at + 1,
                _ => return self.fail("expected `,` or `]`", at),
            }
        }
    }

    /// Any value at `at`, `depth` containers already open: where it ends.
    pub(crate) fn value(&mut self, at: usize, depth: usize) -> usize {
        match self.byte(at) {
            Some(b'"') => self.string(at),
            Some(b'{') => self.object(at, depth, |reader, _, at| reader.value(at, depth + 1)),
            Some(b'[') => self.array(at, depth, |reader, at| reader.value(at, depth + 1)),
            Some(b't') => self.literal(at, b"true"),
            Some(b'f') => self.literal(at, b"false"),
            Some(b'n') => self.literal(at, b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(at),
            Some(_) => self.fail("expected a value", at),
            None => self.fail("EOF while parsing a value", at),
        }
    }

    fn literal(&mut self, at: usize, word: &'static [u8]) -> usize {
        let end = at.saturating_add(word.len());
        if self.text.as_bytes().get(at..end) == Some(word) {
            end
        } else {
            self.fail("expected a value", at)
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn number(&mut self, mut at: usize) -> usize {
        let bytes = self.text.as_bytes();
        if bytes.get(at) == Some(&b'-') {
            at += 1;
        }
        match bytes.get(at) {
            Some(b'0') => at += 1,
            Some(b'1'..=b'9') => at = digits(bytes, at + 1),
            _ => return self.fail("invalid number", at),
        }
        if bytes.get(at) == Some(&b'.') {
            at = self.at_least_one_digit(at + 1);
        }
        if let Some(b'e' | b'E') = bytes.get(at) {
            at += 1;
            if let Some(b'+' | b'-') = bytes.get(at) {
                at += 1;
            }
            at = self.at_least_one_digit(at);
        }
        at
    }

    fn at_least_one_digit(&mut self, at: usize) -> usize {
        let bytes = self.text.as_bytes();
        if bytes.get(at).is_some_and(u8::is_ascii_digit) {
            digits(bytes, at + 1)
        } else {
            self.fail("invalid number", at)
        }
    }

    /// A string at `at` (its quote, already checked): where it ends. Its escapes are checked
    /// (a surrogate escape must come in a pair, as serde_json requires for a Rust string).
    pub(crate) fn string(&mut self, at: usize) -> usize {
        let bytes = self.text.as_bytes();
        let mut at = at + 1;
        self.escaped = false;
        loop {
            at = plain_run_end(bytes, at);
            match bytes.get(at) {
                Some(b'"') => return at + 1,
                Some(b'\\') => {
                    self.escaped = true;
                    at = self.escape(at + 1);
                    if at == FAIL {
                        return FAIL;
                    }
                }
                Some(_) => {
                    return self.fail(
                        "control character (\\u0000-\\u001F) found while parsing a string",
                        at,
                    );
                }
                None => return self.fail("EOF while parsing a string", at),
            }
        }
    }

    /// The escape after a backslash: where it ends.
    fn escape(&mut self, at: usize) -> usize {
        let bytes = self.text.as_bytes();
        match bytes.get(at) {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => at + 1,
            Some(b'u') => {
                let Some(unit) = hex4(bytes, at + 1) else {
                    return self.fail("invalid \\u escape", at);
                };
                if (0xDC00..=0xDFFF).contains(&unit) {
                    return self.fail("lone trailing surrogate in hex escape", at);
                }
                if !(0xD800..=0xDBFF).contains(&unit) {
                    return at + 5;
                }
                let low = at + 5;
                if bytes.get(low..low + 2) != Some(b"\\u".as_slice()) {
                    return self.fail("lone leading surrogate in hex escape", at);
                }
                match hex4(bytes, low + 2) {
                    Some(0xDC00..=0xDFFF) => low + 6,
                    _ => self.fail("lone leading surrogate in hex escape", at),
                }
            }
            _ => self.fail("invalid escape", at),
        }
    }
}

fn hex4(bytes: &[u8], at: usize) -> Option<u32> {
    bytes.get(at..at.checked_add(4)?).and_then(hex_value)
}

fn digits(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(u8::is_ascii_digit) {
        at += 1;
    }
    at
}

/// Where the run of plain string bytes starting at `pos` ends: the first `"`, `\\` or control
/// byte, or the end of `bytes`. Eight bytes per step (a SWAR test on a `u64`: wasm has 64-bit
/// integer operations, each costs one unit of fuel like any other), so a long string costs
/// ~3 fuel per byte instead of ~25 for a byte loop.
pub(crate) fn plain_run_end(bytes: &[u8], mut pos: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    while let Some(chunk) = bytes.get(pos..pos + 8) {
        let Ok(chunk) = <[u8; 8]>::try_from(chunk) else {
            break;
        };
        let word = u64::from_le_bytes(chunk);
        let quote = word ^ (ONES * u64::from(b'"'));
        let backslash = word ^ (ONES * u64::from(b'\\'));
        // A byte's high bit is set in `special` if it is zero in `quote` or `backslash`, or
        // below 0x20 in `word` (the classic "has a zero byte" test, exact for the lowest such
        // byte, which is the one wanted).
        let special = (quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
            | (word.wrapping_sub(ONES * 0x20) & !word);
        let special = special & HIGH;
        if special != 0 {
            return pos + (special.trailing_zeros() / 8) as usize;
        }
        pos += 8;
    }
    while let Some(&byte) = bytes.get(pos) {
        if byte == b'"' || byte == b'\\' || byte < 0x20 {
            break;
        }
        pos += 1;
    }
    pos
}
