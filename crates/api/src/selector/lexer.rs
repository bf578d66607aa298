//! Tokenizer for label selector strings, following upstream's `labels` lexer.

/// One token of a label selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// End of input.
    End,
    /// A key or value.
    Ident(String),
    /// `!`
    Bang,
    /// `=`
    Eq,
    /// `==`
    DoubleEq,
    /// `!=`
    NotEq,
    /// `in`
    In,
    /// `notin`
    NotIn,
    /// `(`
    Open,
    /// `)`
    Close,
    /// `,`
    Comma,
    /// `>`
    Gt,
    /// `<`
    Lt,
}

impl Token {
    /// The literal text of the token, as upstream echoes it in errors.
    pub fn literal(&self) -> String {
        match self {
            Token::End => String::new(),
            Token::Ident(s) => s.clone(),
            Token::Bang => "!".into(),
            Token::Eq => "=".into(),
            Token::DoubleEq => "==".into(),
            Token::NotEq => "!=".into(),
            Token::In => "in".into(),
            Token::NotIn => "notin".into(),
            Token::Open => "(".into(),
            Token::Close => ")".into(),
            Token::Comma => ",".into(),
            Token::Gt => ">".into(),
            Token::Lt => "<".into(),
        }
    }
}

fn is_special(c: char) -> bool {
    matches!(c, '!' | '=' | '(' | ')' | ',' | '>' | '<')
}

/// Splits a selector into tokens; never fails (unknown characters become identifiers).
pub fn tokenize(s: &str) -> Vec<Token> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if is_special(c) {
            let next = chars.get(i + 1).copied();
            let (tok, len) = match (c, next) {
                ('!', Some('=')) => (Token::NotEq, 2),
                ('=', Some('=')) => (Token::DoubleEq, 2),
                ('!', _) => (Token::Bang, 1),
                ('=', _) => (Token::Eq, 1),
                ('(', _) => (Token::Open, 1),
                (')', _) => (Token::Close, 1),
                (',', _) => (Token::Comma, 1),
                ('>', _) => (Token::Gt, 1),
                _ => (Token::Lt, 1),
            };
            out.push(tok);
            i += len;
            continue;
        }
        let start = i;
        while i < chars.len() && !chars[i].is_whitespace() && !is_special(chars[i]) {
            i += 1;
        }
        let word: String = chars[start..i].iter().collect();
        out.push(match word.as_str() {
            "in" => Token::In,
            "notin" => Token::NotIn,
            _ => Token::Ident(word),
        });
    }
    out.push(Token::End);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        assert_eq!(
            tokenize("a in (b,c),!d,e!=f,g==h"),
            vec![
                Token::Ident("a".into()),
                Token::In,
                Token::Open,
                Token::Ident("b".into()),
                Token::Comma,
                Token::Ident("c".into()),
                Token::Close,
                Token::Comma,
                Token::Bang,
                Token::Ident("d".into()),
                Token::Comma,
                Token::Ident("e".into()),
                Token::NotEq,
                Token::Ident("f".into()),
                Token::Comma,
                Token::Ident("g".into()),
                Token::DoubleEq,
                Token::Ident("h".into()),
                Token::End,
            ]
        );
    }
}
