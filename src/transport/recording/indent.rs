//! Re-indenting a JSON text for a recording without parsing it into a map: only whitespace
//! between tokens changes, so key order, numbers and string escapes stay exactly as sent.

/// `json` (valid JSON) laid out two spaces per level, its first line at the caller's position
/// and the following ones indented from `level`. Empty objects and arrays stay `{}` and `[]`.
pub(super) fn indent_json(json: &str, level: usize) -> String {
    let bytes = json.as_bytes();
    let mut out = String::with_capacity(json.len() + json.len() / 2);
    let mut depth = level;
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'"' => {
                let end = string_end(bytes, at);
                out.push_str(&json[at..end]);
                at = end;
                continue;
            }
            open @ (b'{' | b'[') => {
                let close = if open == b'{' { b'}' } else { b']' };
                out.push(char::from(open));
                let next = skip_whitespace(bytes, at + 1);
                if bytes.get(next) == Some(&close) {
                    out.push(char::from(close));
                    at = next + 1;
                    continue;
                }
                depth += 1;
                new_line(&mut out, depth);
            }
            close @ (b'}' | b']') => {
                depth = depth.saturating_sub(1);
                new_line(&mut out, depth);
                out.push(char::from(close));
            }
            b',' => {
                out.push(',');
                new_line(&mut out, depth);
            }
            b':' => out.push_str(": "),
            b' ' | b'\t' | b'\n' | b'\r' => {}
            // Outside strings, valid JSON is ASCII: numbers, true, false, null.
            other => out.push(char::from(other)),
        }
        at += 1;
    }
    out
}

/// The index just past the string starting at `start` (its opening quote).
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut at = start + 1;
    while at < bytes.len() {
        match bytes[at] {
            b'\\' => at += 2,
            b'"' => return at + 1,
            _ => at += 1,
        }
    }
    bytes.len()
}

fn skip_whitespace(bytes: &[u8], mut at: usize) -> usize {
    while bytes
        .get(at)
        .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    {
        at += 1;
    }
    at
}

fn new_line(out: &mut String, depth: usize) {
    out.push('\n');
    for _ in 0..depth {
        out.push_str("  ");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text without whitespace outside strings.
    fn compact(json: &str) -> String {
        let (mut out, mut in_string, mut escaped) = (String::new(), false, false);
        for c in json.chars() {
            if in_string {
                (escaped, in_string) = (c == '\\' && !escaped, c != '"' || escaped);
            } else if c == '"' {
                in_string = true;
            } else if c.is_ascii_whitespace() {
                continue;
            }
            out.push(c);
        }
        out
    }

    #[test]
    fn only_whitespace_between_tokens_changes() {
        let sent = r#"{"model":"m","messages":[{"role":"user","content":"a \"quoted\" {x: [1, 2]}\\"},{"content":[]}],"temperature":0.7000,"tools":{},"é":"ü\n"}"#;
        let indented = indent_json(sent, 0);
        assert_eq!(compact(&indented), sent);
        assert!(indented.contains("\n  \"messages\": [\n    {\n      \"role\": \"user\""));
        assert!(indented.contains("\"content\": []"), "{indented}");
        assert!(indented.contains("\"tools\": {}"), "{indented}");
        assert!(indented.contains("0.7000"), "numbers stay as written");
        let parsed: serde_json::Value = serde_json::from_str(&indented).unwrap();
        assert_eq!(
            parsed,
            serde_json::from_str::<serde_json::Value>(sent).unwrap()
        );
    }

    #[test]
    fn starts_deeper_when_asked() {
        assert_eq!(
            indent_json(r#"{"a":[1]}"#, 1),
            "{\n    \"a\": [\n      1\n    ]\n  }"
        );
    }
}
