//! The little YAML the artifacts need: scalar quoting.

/// `s` as a YAML double-quoted scalar. Escapes `"`, `\`, and every character YAML does not
/// allow raw (C0/C1 controls, DEL, BOM, line and paragraph separators).
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || ('\u{7f}'..='\u{9f}').contains(&c) => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            '\u{feff}' | '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `s` as a block-sequence item value: plain when YAML reads it back unchanged, else
/// single-quoted (a shell command keeps its look when it can).
pub(crate) fn plain_or_single(s: &str) -> String {
    if is_safe_plain(s) {
        return s.to_owned();
    }
    if s.chars().all(|c| c == '\t' || !c.is_control()) && !s.contains(['\u{feff}', '\u{2028}', '\u{2029}']) {
        return format!("'{}'", s.replace('\'', "''"));
    }
    quote(s)
}

/// Conservative test for a plain (unquoted) scalar in block context that reads back as `s`
/// and as a string.
fn is_safe_plain(s: &str) -> bool {
    let Some(first) = s.chars().next() else { return false };
    if s != s.trim() || s.contains(['\t', '\n', '\r']) || s.chars().any(char::is_control) {
        return false;
    }
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        return false;
    }
    if s.contains(": ") || s.ends_with(':') || s.contains(" #") {
        return false;
    }
    // Words YAML would read as something other than a string.
    let lower = s.to_ascii_lowercase();
    let reserved = ["true", "false", "yes", "no", "on", "off", "null", "~", "y", "n"];
    if reserved.contains(&lower.as_str()) || s.parse::<f64>().is_ok() {
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_escapes() {
        assert_eq!(quote("web"), "\"web\"");
        assert_eq!(quote("a\"b\\c\nd\u{7f}"), "\"a\\\"b\\\\c\\nd\\x7f\"");
    }

    #[test]
    fn plain_when_safe() {
        let cmd = r#"printf '{"ImageURI":"%s"}' "$REPOSITORY_URI:$IMAGE_TAG" > imageDetail.json"#;
        assert_eq!(plain_or_single(cmd), cmd);
        assert_eq!(plain_or_single("echo a: b"), "'echo a: b'");
        assert_eq!(plain_or_single("'x'"), "'''x'''");
        assert_eq!(plain_or_single("yes"), "'yes'");
        assert_eq!(plain_or_single("echo a#b"), "echo a#b");
        assert_eq!(plain_or_single("echo #x"), "'echo #x'");
        assert_eq!(plain_or_single("echo x #y"), "'echo x #y'");
    }
}
