//! The two JSON primitives the codec needs without building a DOM:
//! writing an escaped string and scanning past one.

/// Appends `s` as a JSON string literal (with quotes), escaping exactly what
/// JSON requires.
pub(crate) fn write_str(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: Option<&str> = match b {
            b'"' => Some("\\\""),
            b'\\' => Some("\\\\"),
            b'\n' => Some("\\n"),
            b'\r' => Some("\\r"),
            b'\t' => Some("\\t"),
            0x08 => Some("\\b"),
            0x0c => Some("\\f"),
            0x00..=0x1f => None,
            _ => continue,
        };
        out.push_str(&s[start..i]);
        match escape {
            Some(e) => out.push_str(e),
            None => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 0xf) as usize] as char);
            }
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Given `s` starting at a `"`, returns the byte length of the string
/// literal including both quotes, or `None` when it is unterminated.
/// Escapes are skipped, not validated: callers validate the whole document.
pub(crate) fn string_literal_len(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    debug_assert_eq!(bytes.first(), Some(&b'"'));
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// True when `s` is one syntactically valid JSON document.
pub(crate) fn is_valid(s: &str) -> bool {
    serde_json::from_str::<serde::de::IgnoredAny>(s).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_serde_json() {
        for s in [
            "",
            "plain",
            "q\"uote",
            "back\\slash",
            "nl\n\r\t",
            "\u{0}\u{1f}\u{7f}",
            "ünï©ødé 🚀",
        ] {
            let mut out = String::new();
            write_str(&mut out, s);
            assert_eq!(serde_json::from_str::<String>(&out).unwrap(), s);
        }
    }

    #[test]
    fn scans_string_literals() {
        assert_eq!(string_literal_len(r#""abc",1"#), Some(5));
        assert_eq!(string_literal_len(r#""a\"b""#), Some(6));
        assert_eq!(string_literal_len(r#""a\\""#), Some(5));
        assert_eq!(string_literal_len(r#""open"#), None);
    }
}
