//! Label selectors in upstream's string syntax: `a=b`, `a==b`, `a!=b`, `a in (x,y)`,
//! `a notin (x)`, `a`, `!a`, `a>1`, `a<1`, joined by commas (all must hold).

use std::collections::BTreeSet;

use serde_json::Value;

/// A label selector that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unable to parse requirement: {0}")]
pub struct SelectorError(pub String);

/// How a requirement compares a label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operator {
    /// `=`, `==` or `in`: present with one of the values.
    In(BTreeSet<String>),
    /// `!=` or `notin`: absent or with none of the values.
    NotIn(BTreeSet<String>),
    /// `key`: present.
    Exists,
    /// `!key`: absent.
    DoesNotExist,
    /// `key>n`: an integer greater than n.
    GreaterThan(i64),
    /// `key<n`: an integer less than n.
    LessThan(i64),
}

/// One requirement on one label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// The label key.
    pub key: String,
    /// The comparison.
    pub op: Operator,
}

/// A parsed label selector; empty selects everything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LabelSelector {
    /// All requirements (conjunction).
    pub requirements: Vec<Requirement>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Ident(String),
    Comma,
    Eq,
    DoubleEq,
    NotEq,
    Not,
    Open,
    Close,
    Gt,
    Lt,
}

fn lex(input: &str) -> Result<Vec<Token>, SelectorError> {
    let mut out = Vec::new();
    let chars: Vec<char> = input.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            c if c.is_whitespace() => i += 1,
            ',' => {
                out.push(Token::Comma);
                i += 1
            }
            '(' => {
                out.push(Token::Open);
                i += 1
            }
            ')' => {
                out.push(Token::Close);
                i += 1
            }
            '>' => {
                out.push(Token::Gt);
                i += 1
            }
            '<' => {
                out.push(Token::Lt);
                i += 1
            }
            '=' if next == Some('=') => {
                out.push(Token::DoubleEq);
                i += 2
            }
            '=' => {
                out.push(Token::Eq);
                i += 1
            }
            '!' if next == Some('=') => {
                out.push(Token::NotEq);
                i += 2
            }
            '!' => {
                out.push(Token::Not);
                i += 1
            }
            _ => {
                let start = i;
                while i < chars.len() && !is_special(chars[i]) {
                    i += 1;
                }
                out.push(Token::Ident(chars[start..i].iter().collect()));
            }
        }
    }
    Ok(out)
}

fn is_special(c: char) -> bool {
    c.is_whitespace() || matches!(c, ',' | '(' | ')' | '=' | '!' | '<' | '>')
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn at_end_of_requirement(&self) -> bool {
        matches!(self.peek(), None | Some(Token::Comma))
    }

    fn requirement(&mut self) -> Result<Requirement, SelectorError> {
        if self.peek() == Some(&Token::Not) {
            self.pos += 1;
            let key = self.key()?;
            if !self.at_end_of_requirement() {
                return Err(SelectorError(format!(
                    "found '{}', expected: ',' or 'end of string'",
                    describe(self.peek())
                )));
            }
            return Ok(Requirement {
                key,
                op: Operator::DoesNotExist,
            });
        }
        let key = self.key()?;
        if self.at_end_of_requirement() {
            return Ok(Requirement {
                key,
                op: Operator::Exists,
            });
        }
        let op = match self.next() {
            Some(Token::Eq | Token::DoubleEq) => Operator::In(self.single_value()?),
            Some(Token::NotEq) => Operator::NotIn(self.single_value()?),
            Some(Token::Ident(w)) if w == "in" => Operator::In(self.value_set(&key, "in")?),
            Some(Token::Ident(w)) if w == "notin" => {
                Operator::NotIn(self.value_set(&key, "notin")?)
            }
            Some(Token::Gt) => Operator::GreaterThan(self.integer()?),
            Some(Token::Lt) => Operator::LessThan(self.integer()?),
            other => {
                return Err(SelectorError(format!(
                    "found '{}', expected: in, notin, =, ==, !=, gt, lt",
                    describe(other.as_ref())
                )))
            }
        };
        Ok(Requirement { key, op })
    }

    fn key(&mut self) -> Result<String, SelectorError> {
        match self.next() {
            Some(Token::Ident(k)) => {
                validate_key(&k)?;
                Ok(k)
            }
            other => Err(SelectorError(format!(
                "found '{}', expected: identifier",
                describe(other.as_ref())
            ))),
        }
    }

    fn single_value(&mut self) -> Result<BTreeSet<String>, SelectorError> {
        let value = if self.at_end_of_requirement() {
            String::new()
        } else {
            match self.next() {
                Some(Token::Ident(v)) => v,
                other => {
                    return Err(SelectorError(format!(
                        "found '{}', expected: identifier",
                        describe(other.as_ref())
                    )))
                }
            }
        };
        validate_value(&value)?;
        if !self.at_end_of_requirement() {
            return Err(SelectorError(format!(
                "found '{}', expected: ',' or 'end of string'",
                describe(self.peek())
            )));
        }
        Ok(BTreeSet::from([value]))
    }

    fn value_set(&mut self, key: &str, op: &str) -> Result<BTreeSet<String>, SelectorError> {
        if self.next() != Some(Token::Open) {
            return Err(SelectorError("found '', expected: '('".into()));
        }
        let mut values = BTreeSet::new();
        loop {
            match self.next() {
                Some(Token::Ident(v)) => {
                    validate_value(&v)?;
                    values.insert(v);
                    match self.next() {
                        Some(Token::Comma) => continue,
                        Some(Token::Close) => break,
                        other => {
                            return Err(SelectorError(format!(
                                "found '{}', expected: ',', ')' or identifier",
                                describe(other.as_ref())
                            )))
                        }
                    }
                }
                Some(Token::Close) => break,
                other => {
                    return Err(SelectorError(format!(
                        "found '{}', expected: ',', ')' or identifier",
                        describe(other.as_ref())
                    )))
                }
            }
        }
        if values.is_empty() {
            return Err(SelectorError(format!(
                "{key}: for '{op}' operator, values set can't be empty"
            )));
        }
        if !self.at_end_of_requirement() {
            return Err(SelectorError(format!(
                "found '{}', expected: ',' or 'end of string'",
                describe(self.peek())
            )));
        }
        Ok(values)
    }

    fn integer(&mut self) -> Result<i64, SelectorError> {
        match self.next() {
            Some(Token::Ident(v)) => v.parse().map_err(|_| {
                SelectorError(format!(
                    "for 'Gt', 'Lt' operators, the value must be an integer: {v}"
                ))
            }),
            other => Err(SelectorError(format!(
                "found '{}', expected: integer",
                describe(other.as_ref())
            ))),
        }
    }
}

fn describe(t: Option<&Token>) -> String {
    match t {
        None => String::new(),
        Some(Token::Ident(s)) => s.clone(),
        Some(Token::Comma) => ",".into(),
        Some(Token::Eq) => "=".into(),
        Some(Token::DoubleEq) => "==".into(),
        Some(Token::NotEq) => "!=".into(),
        Some(Token::Not) => "!".into(),
        Some(Token::Open) => "(".into(),
        Some(Token::Close) => ")".into(),
        Some(Token::Gt) => ">".into(),
        Some(Token::Lt) => "<".into(),
    }
}

fn is_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            let b = l.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        })
}

fn validate_key(key: &str) -> Result<(), SelectorError> {
    let ok = match key.split_once('/') {
        Some((prefix, name)) => is_dns_subdomain(prefix) && is_name_part(name),
        None => is_name_part(key),
    };
    if ok {
        Ok(())
    } else {
        Err(SelectorError(format!(
            "key: Invalid value: \"{key}\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        )))
    }
}

fn validate_value(value: &str) -> Result<(), SelectorError> {
    if value.is_empty() || is_name_part(value) {
        Ok(())
    } else {
        Err(SelectorError(format!(
            "values[0]: Invalid value: \"{value}\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        )))
    }
}

impl LabelSelector {
    /// Parses a selector; the empty string selects everything.
    pub fn parse(input: &str) -> Result<Self, SelectorError> {
        let mut parser = Parser {
            tokens: lex(input)?,
            pos: 0,
        };
        let mut requirements = Vec::new();
        if parser.tokens.is_empty() {
            return Ok(Self { requirements });
        }
        loop {
            requirements.push(parser.requirement()?);
            match parser.next() {
                None => break,
                Some(Token::Comma) if parser.peek().is_some() => continue,
                other => {
                    return Err(SelectorError(format!(
                        "found '{}', expected: identifier after ','",
                        describe(other.as_ref())
                    )))
                }
            }
        }
        Ok(Self { requirements })
    }

    /// Whether the selector selects everything.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Whether an object's `metadata.labels` satisfy every requirement.
    pub fn matches(&self, obj: &Value) -> bool {
        let labels = obj.pointer("/metadata/labels").and_then(Value::as_object);
        self.requirements.iter().all(|r| {
            let value = labels.and_then(|l| l.get(&r.key)).and_then(Value::as_str);
            match (&r.op, value) {
                (Operator::In(set), Some(v)) => set.contains(v),
                (Operator::In(_), None) => false,
                (Operator::NotIn(set), Some(v)) => !set.contains(v),
                (Operator::NotIn(_), None) => true,
                (Operator::Exists, v) => v.is_some(),
                (Operator::DoesNotExist, v) => v.is_none(),
                (Operator::GreaterThan(n), Some(v)) => v.parse::<i64>().is_ok_and(|x| x > *n),
                (Operator::LessThan(n), Some(v)) => v.parse::<i64>().is_ok_and(|x| x < *n),
                (Operator::GreaterThan(_) | Operator::LessThan(_), None) => false,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(labels: Value) -> Value {
        json!({"metadata": {"name": "x", "labels": labels}})
    }

    fn sel(s: &str) -> LabelSelector {
        LabelSelector::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn every_operator_selects_like_upstream() {
        let o = obj(json!({"app": "web", "tier": "front", "n": "5", "k8s.io/role": "x"}));
        let yes = [
            "",
            "app=web",
            "app==web",
            "app!=db",
            "missing!=x",
            "app in (web,db)",
            "app in (web)",
            "app notin (db)",
            "missing notin (db)",
            "app",
            "!missing",
            "n>4",
            "n<6",
            "app=web,tier=front",
            " app = web , tier in ( front , back ) ",
            "k8s.io/role=x",
            "missing=",
        ];
        let no = [
            "app=db",
            "app!=web",
            "app in (db)",
            "app notin (web,db)",
            "missing",
            "!app",
            "n>5",
            "n<5",
            "app=web,tier=back",
            "missing in (a)",
            "app=",
        ];
        for s in yes {
            if s == "missing=" {
                // An empty value matches only a label that is present and empty.
                assert!(!sel(s).matches(&o));
                assert!(sel(s).matches(&obj(json!({"missing": ""}))));
                continue;
            }
            assert!(sel(s).matches(&o), "{s} should select");
        }
        for s in no {
            assert!(!sel(s).matches(&o), "{s} should not select");
        }
        assert!(sel("!app").matches(&json!({"metadata": {"name": "bare"}})));
    }

    #[test]
    fn malformed_selectors_are_errors() {
        for s in [
            "app in web",
            "app in (",
            "app in ()",
            "app=a=b",
            "=web",
            "app=web,",
            ",app",
            "!app=web",
            "app>x",
            "bad key=v",
            "app=has space",
            "-bad=v",
            "app=(x)",
            "app notin",
        ] {
            assert!(LabelSelector::parse(s).is_err(), "{s} should be rejected");
        }
        let e = LabelSelector::parse("app in ()").unwrap_err();
        assert!(e.to_string().starts_with("unable to parse requirement"));
    }

    #[test]
    fn parsed_requirements_keep_keys_and_sets() {
        let s = sel("a in (x,y),!b");
        assert_eq!(s.requirements.len(), 2);
        assert_eq!(
            s.requirements[0].op,
            Operator::In(BTreeSet::from(["x".to_string(), "y".to_string()]))
        );
        assert_eq!(s.requirements[1].op, Operator::DoesNotExist);
    }
}
