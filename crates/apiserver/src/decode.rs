//! Decoding create/update request bodies with upstream's error texts: Go's JSON
//! syntax messages (`invalid character 'x' looking for beginning of value`), the YAML
//! converter's `yaml: line N: …`, and the decoder's "object provided is unrecognized".

use crate::httputil::decode_object;
use crate::status::{ApiError, ApiResult};
use serde_json::Value;

/// Decodes an object body for a resource of `kind`; JSON and YAML parse failures carry
/// upstream's wording, other media types go through [`decode_object`].
pub fn request_object(kind: &str, ct: &str, body: &[u8]) -> ApiResult<Value> {
    let unrecognized = |why: String| {
        ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {kind}): {why} ({})",
            summarize(body, 30)
        ))
    };
    if ct.contains("yaml") {
        if let Err(e) = serde_yaml::from_slice::<serde::de::IgnoredAny>(body) {
            return Err(unrecognized(format!(
                "error converting YAML to JSON: {}",
                yaml_message(&e)
            )));
        }
    } else if ct.contains("json") || ct.is_empty() {
        if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(body) {
            let why = go_syntax_error(body).unwrap_or_else(|| e.to_string());
            return Err(unrecognized(format!(
                "couldn't get version/kind; json parse error: {why}"
            )));
        }
    }
    decode_object(ct, body)
}

/// Upstream's `summarizeData`: the body itself when it starts like JSON, else hex.
fn summarize(data: &[u8], max: usize) -> String {
    let cut = data.len() > max;
    let head = &data[..data.len().min(max)];
    let text = match head.first() {
        None => return "<empty>".into(),
        Some(b'{') => String::from_utf8_lossy(head).into_owned(),
        Some(_) => head.iter().map(|b| format!("{b:02x}")).collect(),
    };
    if cut {
        format!("{text} ...")
    } else {
        text
    }
}

/// go-yaml's `yaml: line N: problem` from a libyaml-derived serde_yaml error.
fn yaml_message(e: &serde_yaml::Error) -> String {
    let text = e.to_string();
    let problem = match text.find(" at line ") {
        Some(i) => &text[..i],
        None => text.as_str(),
    };
    match e.location() {
        Some(l) => format!("yaml: line {}: {problem}", l.line()),
        None => format!("yaml: {problem}"),
    }
}

/// The message Go's `encoding/json` gives for the first syntax error, if any.
pub fn go_syntax_error(b: &[u8]) -> Option<String> {
    let mut p = Scan { b, i: 0 };
    let r = p.value().and_then(|_| {
        p.ws();
        match p.peek() {
            Some(c) => Err(invalid(c, "after top-level value")),
            None => Ok(()),
        }
    });
    r.err()
}

const EOF: &str = "unexpected end of JSON input";

fn quote_char(c: u8) -> String {
    match c {
        b'\'' => "'\\''".into(),
        b'"' => "'\"'".into(),
        b'\n' => "'\\n'".into(),
        b'\r' => "'\\r'".into(),
        b'\t' => "'\\t'".into(),
        c if c < 0x20 || c == 0x7f => format!("'\\x{c:02x}'"),
        c => format!("'{}'", char::from(c)),
    }
}

fn invalid(c: u8, context: &str) -> String {
    format!("invalid character {} {context}", quote_char(c))
}

struct Scan<'a> {
    b: &'a [u8],
    i: usize,
}

impl Scan<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn next(&mut self) -> Result<u8, String> {
        let c = self.peek().ok_or_else(|| EOF.to_string())?;
        self.i += 1;
        Ok(c)
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn value(&mut self) -> Result<(), String> {
        self.ws();
        match self.peek() {
            None => Err(EOF.into()),
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"') => self.string(),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't') => self.literal("true"),
            Some(b'f') => self.literal("false"),
            Some(b'n') => self.literal("null"),
            Some(c) => Err(invalid(c, "looking for beginning of value")),
        }
    }

    fn object(&mut self) -> Result<(), String> {
        self.i += 1;
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.ws();
            match self.peek() {
                None => return Err(EOF.into()),
                Some(b'"') => self.string()?,
                Some(c) => return Err(invalid(c, "looking for beginning of object key string")),
            }
            self.ws();
            match self.next()? {
                b':' => {}
                c => return Err(invalid(c, "after object key")),
            }
            self.value()?;
            self.ws();
            match self.next()? {
                b',' => continue,
                b'}' => return Ok(()),
                c => return Err(invalid(c, "after object key:value pair")),
            }
        }
    }

    fn array(&mut self) -> Result<(), String> {
        self.i += 1;
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.value()?;
            self.ws();
            match self.next()? {
                b',' => continue,
                b']' => return Ok(()),
                c => return Err(invalid(c, "after array element")),
            }
        }
    }

    fn string(&mut self) -> Result<(), String> {
        self.i += 1;
        loop {
            match self.next()? {
                b'"' => return Ok(()),
                b'\\' => match self.next()? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                    b'u' => {
                        for _ in 0..4 {
                            let c = self.next()?;
                            if !c.is_ascii_hexdigit() {
                                return Err(invalid(c, "in \\u hexadecimal character escape"));
                            }
                        }
                    }
                    c => return Err(invalid(c, "in string escape code")),
                },
                c if c < 0x20 => return Err(invalid(c, "in string literal")),
                _ => {}
            }
        }
    }

    fn digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
    }

    fn number(&mut self) -> Result<(), String> {
        if self.peek() == Some(b'-') {
            self.i += 1;
            match self.peek() {
                Some(b'0'..=b'9') => {}
                Some(c) => return Err(invalid(c, "in numeric literal")),
                None => return Err(EOF.into()),
            }
        }
        if self.next()? != b'0' {
            self.digits();
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            match self.peek() {
                Some(b'0'..=b'9') => self.digits(),
                Some(c) => return Err(invalid(c, "after decimal point in numeric literal")),
                None => return Err(EOF.into()),
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            match self.peek() {
                Some(b'0'..=b'9') => self.digits(),
                Some(c) => return Err(invalid(c, "in exponent of numeric literal")),
                None => return Err(EOF.into()),
            }
        }
        Ok(())
    }

    fn literal(&mut self, word: &str) -> Result<(), String> {
        self.i += 1;
        for want in word.bytes().skip(1) {
            let c = self.next()?;
            if c != want {
                return Err(invalid(
                    c,
                    &format!("in literal {word} (expecting {})", quote_char(want)),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_json_messages() {
        let cases: &[(&str, Option<&str>)] = &[
            (r#"{"a": 1}"#, None),
            (
                r#"{"a": x}"#,
                Some("invalid character 'x' looking for beginning of value"),
            ),
            (r#"{"a": 1"#, Some("unexpected end of JSON input")),
            ("", Some("unexpected end of JSON input")),
            (r#"{"a" 1}"#, Some("invalid character '1' after object key")),
            (
                r#"{"a": 1 "b": 2}"#,
                Some("invalid character '\"' after object key:value pair"),
            ),
            (
                r#"{a: 1}"#,
                Some("invalid character 'a' looking for beginning of object key string"),
            ),
            (
                r#"[1 2]"#,
                Some("invalid character '2' after array element"),
            ),
            (
                r#"{} x"#,
                Some("invalid character 'x' after top-level value"),
            ),
            (
                r#"{"a": tru}"#,
                Some("invalid character '}' in literal true (expecting 'e')"),
            ),
            (
                r#"{"a": -x}"#,
                Some("invalid character 'x' in numeric literal"),
            ),
            (
                r#"{"a": 1.}"#,
                Some("invalid character '}' after decimal point in numeric literal"),
            ),
            (
                r#"{"a": "\q"}"#,
                Some("invalid character 'q' in string escape code"),
            ),
            (
                "{\"a\": \"\n\"}",
                Some("invalid character '\\n' in string literal"),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(
                go_syntax_error(input.as_bytes()).as_deref(),
                *want,
                "{input}"
            );
        }
    }

    #[test]
    fn summaries_and_messages() {
        assert_eq!(summarize(b"", 30), "<empty>");
        assert_eq!(summarize(b"{\"a\"", 30), "{\"a\"");
        assert_eq!(summarize(b"kind", 2), "6b69 ...");
        let e = request_object("ConfigMap", "application/json", b"{\"a\": x}").unwrap_err();
        assert_eq!(e.code, 400);
        assert_eq!(e.message, "the object provided is unrecognized (must be of type ConfigMap): couldn't get version/kind; json parse error: invalid character 'x' looking for beginning of value ({\"a\": x})");
        let e = request_object("Pod", "application/yaml", b"a: b\n c: [\n").unwrap_err();
        assert!(e.message.starts_with("the object provided is unrecognized (must be of type Pod): error converting YAML to JSON: yaml: line "), "{}", e.message);
    }
}
