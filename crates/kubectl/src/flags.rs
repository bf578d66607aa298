//! A pflag-compatible command-line parser: `--x=v`, `--x v`, `-xv`, `-x v`, `-abc` bool
//! groups, `--` terminator, flags interleaved with arguments, pflag's error texts.

use std::collections::HashMap;

/// What a flag takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `--x`, `--x=false`.
    Bool,
    /// One value; the last occurrence wins.
    Value,
    /// Repeatable; every occurrence is kept.
    Multi,
}

/// One flag's definition.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// Long name without dashes.
    pub long: &'static str,
    /// Shorthand letter.
    pub short: Option<char>,
    /// Value kind.
    pub kind: Kind,
}

/// Shorthand for building specs.
pub const fn f(long: &'static str, short: Option<char>, kind: Kind) -> Spec {
    Spec { long, short, kind }
}

/// Parse failures, worded like pflag.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FlagError {
    /// `--foo` is not defined.
    #[error("unknown flag: --{0}")]
    Unknown(String),
    /// `-x` is not defined.
    #[error("unknown shorthand flag: '{0}' in -{1}")]
    UnknownShort(char, String),
    /// `--ns` at the end.
    #[error("flag needs an argument: --{0}")]
    NeedsArg(String),
    /// `-n` at the end.
    #[error("flag needs an argument: '{0}' in -{1}")]
    NeedsArgShort(char, String),
    /// `--x=maybe` for a bool.
    #[error("invalid argument \"{0}\" for \"{1}\" flag: strconv.ParseBool: parsing \"{0}\": invalid syntax")]
    BadBool(String, String),
}

/// Parsed flags and positional arguments.
#[derive(Debug, Default, Clone)]
pub struct Parsed {
    values: HashMap<&'static str, Vec<String>>,
    /// Positional arguments in order.
    pub args: Vec<String>,
    /// Number of positional arguments seen before `--` (cobra's ArgsLenAtDash).
    pub dash_at: Option<usize>,
}

impl Parsed {
    /// The last value of a flag.
    pub fn get(&self, long: &str) -> Option<&str> {
        self.values
            .get(long)
            .and_then(|v| v.last())
            .map(String::as_str)
    }

    /// All values of a repeatable flag (comma-separated entries are not split).
    pub fn all(&self, long: &str) -> Vec<String> {
        self.values.get(long).cloned().unwrap_or_default()
    }

    /// A bool flag's value (absent = false).
    pub fn flag(&self, long: &str) -> bool {
        self.get(long) == Some("true")
    }
}

fn parse_bool(v: &str, name: &str) -> Result<String, FlagError> {
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok("true".into()),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok("false".into()),
        _ => Err(FlagError::BadBool(v.into(), name.into())),
    }
}

/// The first spec in `specs` that `pred` picks.
fn find(specs: &[&[Spec]], pred: impl Fn(&Spec) -> bool) -> Option<Spec> {
    specs
        .iter()
        .flat_map(|s| s.iter())
        .find(|s| pred(s))
        .copied()
}

/// Parses `args` against the union of `specs`.
pub fn parse(args: &[String], specs: &[&[Spec]]) -> Result<Parsed, FlagError> {
    let mut p = Parsed::default();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if a == "--" {
            p.dash_at = Some(p.args.len());
            p.args.extend(args[i..].iter().cloned());
            break;
        }
        if let Some(body) = a.strip_prefix("--") {
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (body, None),
            };
            let spec = find(specs, |s| s.long == name)
                .ok_or_else(|| FlagError::Unknown(name.to_string()))?;
            let val = match (spec.kind, inline) {
                (Kind::Bool, Some(v)) => parse_bool(&v, &format!("--{name}"))?,
                (Kind::Bool, None) => "true".into(),
                (_, Some(v)) => v,
                (_, None) => {
                    let v = args
                        .get(i)
                        .ok_or_else(|| FlagError::NeedsArg(name.into()))?;
                    i += 1;
                    v.clone()
                }
            };
            p.values.entry(spec.long).or_default().push(val);
        } else if a.len() > 1 && a.starts_with('-') {
            i += shorthands(&mut p, specs, a, args.get(i))?;
        } else {
            p.args.push(a.clone());
        }
    }
    Ok(p)
}

/// Parses a `-abc` group: bools, then at most one flag taking a value (the rest of the
/// group, else `next`). Returns how many following arguments it used.
fn shorthands(
    p: &mut Parsed,
    specs: &[&[Spec]],
    a: &str,
    next: Option<&String>,
) -> Result<usize, FlagError> {
    let shorts: Vec<char> = a[1..].chars().collect();
    let mut j = 0;
    while j < shorts.len() {
        let c = shorts[j];
        let spec = find(specs, |s| s.short == Some(c))
            .ok_or_else(|| FlagError::UnknownShort(c, a[1..].into()))?;
        let rest: String = shorts[j + 1..].iter().collect();
        if spec.kind == Kind::Bool {
            if let Some(v) = rest.strip_prefix('=') {
                let v = parse_bool(v, &format!("-{c}, --{}", spec.long))?;
                p.values.entry(spec.long).or_default().push(v);
                break;
            }
            p.values.entry(spec.long).or_default().push("true".into());
            j += 1;
            continue;
        }
        if !rest.is_empty() {
            let val = rest.strip_prefix('=').unwrap_or(&rest).to_string();
            p.values.entry(spec.long).or_default().push(val);
            return Ok(0);
        }
        let v = next.ok_or_else(|| FlagError::NeedsArgShort(c, a[1..].into()))?;
        p.values.entry(spec.long).or_default().push(v.clone());
        return Ok(1);
    }
    Ok(0)
}

/// Splits off the command words (e.g. `config view`) from args, skipping global flags.
/// Returns (command words found among `depth` levels, remaining args).
pub fn split_command(
    args: &[String],
    globals: &[Spec],
    is_group: impl Fn(&[String]) -> bool,
    flags_for: impl Fn(&[String]) -> &'static [Spec],
) -> (Vec<String>, Vec<String>) {
    let mut words = Vec::new();
    let takes_value = |a: &str, words: &[String]| -> bool {
        let local = if words.is_empty() {
            &[][..]
        } else {
            flags_for(words)
        };
        let globals: Vec<Spec> = globals.iter().chain(local.iter()).copied().collect();
        if let Some(body) = a.strip_prefix("--") {
            !body.contains('=')
                && globals
                    .iter()
                    .any(|s| s.long == body && s.kind != Kind::Bool)
        } else if let Some(body) = a.strip_prefix('-') {
            body.chars().count() == 1
                && globals
                    .iter()
                    .any(|s| s.short == body.chars().next() && s.kind != Kind::Bool)
        } else {
            false
        }
    };
    let mut rest = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if a == "--" {
            rest.extend(args[i..].iter().cloned());
            break;
        }
        if a.starts_with('-') && a.len() > 1 {
            rest.push(a.clone());
            if takes_value(a, &words) {
                if let Some(v) = args.get(i + 1) {
                    rest.push(v.clone());
                }
                i += 1;
            }
        } else if words.is_empty() || is_group(&words) {
            words.push(a.clone());
        } else {
            rest.push(a.clone());
        }
        i += 1;
    }
    (words, rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: &[Spec] = &[
        f("namespace", Some('n'), Kind::Value),
        f("all-namespaces", Some('A'), Kind::Bool),
        f("stdin", Some('i'), Kind::Bool),
        f("tty", Some('t'), Kind::Bool),
        f("output", Some('o'), Kind::Value),
        f("label", Some('l'), Kind::Multi),
    ];

    fn v(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn forms() {
        let p = parse(
            &v(&[
                "pods",
                "-n",
                "x",
                "-oyaml",
                "-it",
                "--label=a=b",
                "-A",
                "p2",
            ]),
            &[S],
        )
        .unwrap_or_default();
        assert_eq!(p.get("namespace"), Some("x"));
        assert_eq!(p.get("output"), Some("yaml"));
        assert!(p.flag("stdin") && p.flag("tty") && p.flag("all-namespaces"));
        assert_eq!(p.get("label"), Some("a=b"));
        assert_eq!(p.args, v(&["pods", "p2"]));
        let p = parse(&v(&["--namespace=y", "pod", "--", "ls", "-l"]), &[S]).unwrap_or_default();
        assert_eq!(p.get("namespace"), Some("y"));
        assert_eq!(p.dash_at, Some(1));
        assert_eq!(p.args, v(&["pod", "ls", "-l"]));
    }

    #[test]
    fn errors() {
        assert_eq!(
            parse(&v(&["--foo"]), &[S]).err().map(|e| e.to_string()),
            Some("unknown flag: --foo".into())
        );
        assert_eq!(
            parse(&v(&["-x"]), &[S]).err().map(|e| e.to_string()),
            Some("unknown shorthand flag: 'x' in -x".into())
        );
        assert_eq!(
            parse(&v(&["-n"]), &[S]).err().map(|e| e.to_string()),
            Some("flag needs an argument: 'n' in -n".into())
        );
        assert_eq!(
            parse(&v(&["--namespace"]), &[S])
                .err()
                .map(|e| e.to_string()),
            Some("flag needs an argument: --namespace".into())
        );
    }

    #[test]
    fn split() {
        let (w, r) = split_command(
            &v(&["-n", "x", "config", "view", "--raw"]),
            S,
            |w| w[0] == "config",
            |_| &[],
        );
        assert_eq!(w, v(&["config", "view"]));
        assert_eq!(r, v(&["-n", "x", "--raw"]));
    }
}
