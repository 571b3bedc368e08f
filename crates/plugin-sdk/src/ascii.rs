//! The input as `&str` without `core::str::from_utf8`'s byte-by-byte work when it is ASCII, as
//! the host's inputs almost always are: eight bytes per step, about half a unit of fuel per
//! byte against ~2.5 (decision 025). Anything else goes through `from_utf8`.

// One `from_utf8_unchecked`, justified below.
#![allow(unsafe_code)]

/// `bytes` as a string, or why it is not UTF-8.
pub(crate) fn as_str(bytes: &[u8]) -> Result<&str, std::str::Utf8Error> {
    if is_ascii(bytes) {
        // SAFETY: every byte is below 0x80 (checked just above), and ASCII is valid UTF-8.
        return Ok(unsafe { std::str::from_utf8_unchecked(bytes) });
    }
    std::str::from_utf8(bytes)
}

fn is_ascii(bytes: &[u8]) -> bool {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let words = bytes.chunks_exact(8);
    let tail = words.remainder().iter().fold(0u8, |all, byte| all | byte);
    let all = words.fold(0u64, |all, word| {
        all | u64::from_le_bytes(word.try_into().unwrap_or([0xff; 8]))
    });
    all & HIGH == 0 && tail < 0x80
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_and_non_ascii_inputs_read_as_from_utf8_reads_them() {
        let cases: [&[u8]; 7] = [
            b"",
            b"{}",
            b"{\"a\":\"exactly sixteen!\"}",
            "{\"city\":\"M\u{fc}nchen\"}".as_bytes(),
            "\u{e9}".as_bytes(),
            b"\xff\xfe",
            b"0123456\x80",
        ];
        for bytes in cases {
            assert_eq!(as_str(bytes), std::str::from_utf8(bytes), "{bytes:?}");
        }
        assert!(is_ascii(b"0123456789abcdef0123"));
        assert!(!is_ascii(b"0123456789abcdef\xc3\xa9"));
        assert!(!is_ascii(b"\xc3\xa90123456789abcdef"));
    }
}
