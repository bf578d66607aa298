//! Label selectors: the string syntax (`a=b,c in (d),!e`), the `metav1.LabelSelector` JSON form, matching and printing.

use std::borrow::Cow;
use std::fmt;

use serde_json::{Map, Value};

use super::lexer::{tokenize, Token};
use super::SelectorError;
use crate::validation::names;

/// A selector operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// `key=value`
    Equals,
    /// `key==value`
    DoubleEquals,
    /// `key!=value`
    NotEquals,
    /// `key in (a,b)`
    In,
    /// `key notin (a,b)`
    NotIn,
    /// `key`
    Exists,
    /// `!key`
    DoesNotExist,
    /// `key>5`
    Gt,
    /// `key<5`
    Lt,
}

/// One requirement of a selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// Label key.
    pub key: String,
    /// Operator.
    pub op: Operator,
    /// Values, sorted.
    pub values: Vec<String>,
}

impl Requirement {
    /// Builds a requirement, validating key, values and their count like upstream's `NewRequirement`.
    pub fn new(key: &str, op: Operator, mut values: Vec<String>) -> Result<Self, SelectorError> {
        if let Some(m) = names::qualified_name(key).into_iter().next() {
            return Err(SelectorError::Parse(format!(
                "key: Invalid value: {key:?}: {m}"
            )));
        }
        let count_err = match op {
            Operator::In | Operator::NotIn if values.is_empty() => {
                Some("for 'in', 'notin' operators, values set can't be empty")
            }
            Operator::Equals | Operator::DoubleEquals | Operator::NotEquals
                if values.len() != 1 =>
            {
                Some("exact-match compatibility requires one single value")
            }
            Operator::Exists | Operator::DoesNotExist if !values.is_empty() => {
                Some("values set must be empty for exists and does not exist")
            }
            Operator::Gt | Operator::Lt if values.len() != 1 => {
                Some("for 'Gt', 'Lt' operators, exactly one value is required")
            }
            _ => None,
        };
        if let Some(m) = count_err {
            return Err(SelectorError::Parse(format!(
                "values: Invalid value: {values:?}: {m}"
            )));
        }
        if matches!(op, Operator::Gt | Operator::Lt) && values[0].parse::<i64>().is_err() {
            return Err(SelectorError::Parse(format!(
                "values[0]: Invalid value: {:?}: for 'Gt', 'Lt' operators, the value must be an integer",
                values[0]
            )));
        }
        for (i, v) in values.iter().enumerate() {
            if let Some(m) = names::label_value(v).into_iter().next() {
                return Err(SelectorError::Parse(format!(
                    "values[{i}][{key}]: Invalid value: {v:?}: {m}"
                )));
            }
        }
        values.sort();
        values.dedup();
        Ok(Requirement {
            key: key.to_string(),
            op,
            values,
        })
    }

    /// Whether a label set satisfies the requirement.
    pub fn matches(&self, labels: &Map<String, Value>) -> bool {
        let val = labels.get(&self.key).map(|v| match v {
            Value::String(s) => Cow::Borrowed(s.as_str()),
            other => Cow::Owned(other.to_string()),
        });
        self.matches_value(val.as_deref())
    }

    /// Whether a label's value (`None`: the label is absent) satisfies the requirement.
    pub fn matches_value(&self, val: Option<&str>) -> bool {
        let listed = |v: &str| self.values.iter().any(|x| x == v);
        match self.op {
            Operator::Equals | Operator::DoubleEquals | Operator::In => val.is_some_and(listed),
            Operator::NotEquals | Operator::NotIn => val.is_none_or(|v| !listed(v)),
            Operator::Exists => val.is_some(),
            Operator::DoesNotExist => val.is_none(),
            Operator::Gt | Operator::Lt => {
                let (Some(v), Some(want)) = (val, self.values.first()) else {
                    return false;
                };
                match (v.parse::<i64>(), want.parse::<i64>()) {
                    (Ok(have), Ok(want)) if self.op == Operator::Gt => have > want,
                    (Ok(have), Ok(want)) => have < want,
                    _ => false,
                }
            }
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.values.join(",");
        match self.op {
            Operator::Equals => write!(f, "{}={}", self.key, v),
            Operator::DoubleEquals => write!(f, "{}=={}", self.key, v),
            Operator::NotEquals => write!(f, "{}!={}", self.key, v),
            Operator::In => write!(f, "{} in ({})", self.key, v),
            Operator::NotIn => write!(f, "{} notin ({})", self.key, v),
            Operator::Exists => write!(f, "{}", self.key),
            Operator::DoesNotExist => write!(f, "!{}", self.key),
            Operator::Gt => write!(f, "{}>{}", self.key, v),
            Operator::Lt => write!(f, "{}<{}", self.key, v),
        }
    }
}

/// A parsed label selector; empty selects everything, `nothing` selects no object.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LabelSelector {
    /// Requirements, sorted by key; all must hold.
    pub requirements: Vec<Requirement>,
    /// Set for a null `metav1.LabelSelector`, which selects nothing.
    pub nothing: bool,
}

fn unexpected(tok: &Token, expected: &str) -> SelectorError {
    SelectorError::Parse(format!("found '{}', expected: {expected}", tok.literal()))
}

impl LabelSelector {
    /// Parses the string syntax used in `?labelSelector=` and `kubectl -l`.
    pub fn parse(s: &str) -> Result<Self, SelectorError> {
        let toks = tokenize(s);
        let mut i = 0;
        let mut reqs = Vec::new();
        loop {
            match &toks[i] {
                Token::End => break,
                Token::Ident(_) | Token::Bang => {
                    let r = parse_requirement(&toks, &mut i)?;
                    reqs.push(r);
                    match &toks[i] {
                        Token::End => break,
                        Token::Comma => {
                            i += 1;
                            if toks[i] == Token::End {
                                return Err(unexpected(&toks[i], "identifier after ','"));
                            }
                        }
                        t => return Err(unexpected(t, "',' or 'end of string'")),
                    }
                }
                t => return Err(unexpected(t, "!, identifier, or 'end of string'")),
            }
        }
        reqs.sort_by(|a: &Requirement, b: &Requirement| a.key.cmp(&b.key));
        Ok(LabelSelector {
            requirements: reqs,
            nothing: false,
        })
    }

    /// Whether the labels satisfy every requirement.
    pub fn matches(&self, labels: &Map<String, Value>) -> bool {
        !self.nothing && self.requirements.iter().all(|r| r.matches(labels))
    }

    /// Whether the selector selects everything (no requirements).
    pub fn is_empty(&self) -> bool {
        !self.nothing && self.requirements.is_empty()
    }
}

impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.requirements.iter().map(|r| r.to_string()).collect();
        write!(f, "{}", parts.join(","))
    }
}

fn ident(tok: &Token) -> Option<String> {
    match tok {
        Token::Ident(s) => Some(s.clone()),
        // keywords are fine as keys and values
        Token::In => Some("in".into()),
        Token::NotIn => Some("notin".into()),
        _ => None,
    }
}

fn parse_requirement(toks: &[Token], i: &mut usize) -> Result<Requirement, SelectorError> {
    let mut negate = false;
    if toks[*i] == Token::Bang {
        negate = true;
        *i += 1;
    }
    let Token::Ident(key) = &toks[*i] else {
        return Err(unexpected(&toks[*i], "identifier"));
    };
    let key = key.clone();
    *i += 1;
    if matches!(toks[*i], Token::End | Token::Comma) {
        let op = if negate {
            Operator::DoesNotExist
        } else {
            Operator::Exists
        };
        return Requirement::new(&key, op, Vec::new());
    }
    if negate {
        return Err(unexpected(&toks[*i], "',' or 'end of string'"));
    }
    let op = match &toks[*i] {
        Token::Eq => Operator::Equals,
        Token::DoubleEq => Operator::DoubleEquals,
        Token::NotEq => Operator::NotEquals,
        Token::In => Operator::In,
        Token::NotIn => Operator::NotIn,
        Token::Gt => Operator::Gt,
        Token::Lt => Operator::Lt,
        t => return Err(unexpected(t, "in, notin, =, ==, !=, gt, lt")),
    };
    *i += 1;
    let values = if matches!(op, Operator::In | Operator::NotIn) {
        if toks[*i] != Token::Open {
            return Err(unexpected(&toks[*i], "'('"));
        }
        *i += 1;
        let mut vals = Vec::new();
        loop {
            match &toks[*i] {
                Token::Close => {
                    // `in ()` and a trailing `,` mean an empty value.
                    if vals.is_empty() || toks[*i - 1] == Token::Comma {
                        vals.push(String::new());
                    }
                    *i += 1;
                    break;
                }
                Token::Comma => {
                    if vals.is_empty() || toks[*i - 1] == Token::Comma {
                        vals.push(String::new());
                    }
                    *i += 1;
                }
                t => match ident(t) {
                    Some(v) => {
                        vals.push(v);
                        *i += 1;
                    }
                    None => return Err(unexpected(t, "',', or identifier")),
                },
            }
        }
        vals
    } else {
        match ident(&toks[*i]) {
            Some(v) => {
                *i += 1;
                vec![v]
            }
            // `a=` selects an empty value
            None if matches!(toks[*i], Token::End | Token::Comma) => vec![String::new()],
            None => return Err(unexpected(&toks[*i], "identifier")),
        }
    };
    Requirement::new(&key, op, values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn operators_match() {
        let l = labels(json!({"app": "web", "tier": "fe", "n": "5"}));
        let cases = [
            ("", true),
            ("app=web", true),
            ("app==web", true),
            ("app!=web", false),
            ("app!=db", true),
            ("missing!=x", true),
            ("app in (web,db)", true),
            ("app in (db)", false),
            ("app notin (db)", true),
            ("app notin (web)", false),
            ("missing notin (web)", true),
            ("app", true),
            ("missing", false),
            ("!missing", true),
            ("!app", false),
            ("app=web,tier=fe", true),
            ("app=web,tier=be", false),
            (" app = web , tier in ( fe ) ", true),
            ("n>4", true),
            ("n<4", false),
            ("app=", false),
        ];
        for (s, want) in cases {
            let sel = LabelSelector::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(sel.matches(&l), want, "{s}");
        }
        assert!(LabelSelector::parse("").expect("empty").is_empty());
    }

    #[test]
    fn bad_input_errors() {
        for s in [
            "app=web,",
            "=web",
            "app in web",
            "app in (a",
            "!app=x",
            "app web",
            "a b=c",
            "app=(x)",
            "k=-bad-",
            "n>x",
        ] {
            assert!(LabelSelector::parse(s).is_err(), "{s} should fail");
        }
        assert_eq!(
            LabelSelector::parse("=web").expect_err("e").to_string(),
            "found '=', expected: !, identifier, or 'end of string'"
        );
        assert_eq!(
            LabelSelector::parse("app web").expect_err("e").to_string(),
            "found 'web', expected: in, notin, =, ==, !=, gt, lt"
        );
    }

    #[test]
    fn printing_sorts_keys_and_values() {
        let sel = LabelSelector::parse("z=1,a in (c,b),!x,y").expect("p");
        assert_eq!(sel.to_string(), "a in (b,c),!x,y,z=1");
    }
}
