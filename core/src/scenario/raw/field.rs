//! [`Field`]: one value of the scenario, read as the type its key wants,
//! or kept with what was wrong with it.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use toml::Value;

use super::super::limits::echo;

/// What a type looks like in a scenario, for "expected …, found …".
pub trait Shape {
    const WHAT: &'static str;
}

impl Shape for String {
    const WHAT: &'static str = "a string";
}
impl Shape for i64 {
    const WHAT: &'static str = "a whole number";
}
impl Shape for f64 {
    const WHAT: &'static str = "a number";
}
impl<T> Shape for Vec<T> {
    const WHAT: &'static str = "an array";
}
impl<T> Shape for indexmap::IndexMap<String, T> {
    const WHAT: &'static str = "a table";
}

/// Why a value could not be read as its key's type.
#[derive(Clone, Debug, PartialEq)]
pub enum Wrong {
    /// Another kind of value: what was written, described for people.
    Found(String),
    /// Anything else serde objects to, as a message.
    Other(String),
}

/// A value as written: `value` is there when it has its key's shape (a
/// table with unknown keys is read without them); `unknown` lists those
/// keys with the keys the table takes; `wrong` says why there is no value.
#[derive(Debug)]
pub struct Field<T> {
    pub value: Option<T>,
    pub unknown: Vec<(String, String)>,
    pub wrong: Option<Wrong>,
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Field::read(Value::deserialize(d)?))
    }
}

impl<T: DeserializeOwned> Field<T> {
    /// Reads `v` as `T`, dropping unknown keys one at a time so that each
    /// is reported and the rest of the table is still read.
    pub fn read(mut v: Value) -> Field<T> {
        let mut unknown = Vec::new();
        loop {
            match v.clone().try_into::<T>() {
                Ok(value) => {
                    return Field {
                        value: Some(value),
                        unknown,
                        wrong: None,
                    };
                }
                Err(e) => {
                    let msg = e.message().trim();
                    if let Some((key, expected)) = unknown_field(msg) {
                        if let Some(t) = v.as_table_mut() {
                            if t.remove(&key).is_some() {
                                unknown.push((key, expected));
                                continue;
                            }
                        }
                    }
                    let wrong = if msg.starts_with("invalid type") {
                        Wrong::Found(describe(&v))
                    } else {
                        Wrong::Other(msg.to_string())
                    };
                    return Field {
                        value: None,
                        unknown,
                        wrong: Some(wrong),
                    };
                }
            }
        }
    }
}

/// serde's "unknown field `x`, expected one of `a`, `b`" as ("x", "a, b").
fn unknown_field(msg: &str) -> Option<(String, String)> {
    let rest = msg.strip_prefix("unknown field `")?;
    let (key, rest) = rest.split_once('`')?;
    let expected = rest
        .trim_start_matches(", ")
        .trim_start_matches("expected ")
        .trim_start_matches("one of ")
        .replace('`', "");
    Some((key.to_string(), expected))
}

/// A written value for a message: its kind, and the value when it is short.
pub fn describe(v: &Value) -> String {
    match v {
        // A TOML date-time reaches a field read through serde as its text.
        Value::String(s) if s.parse::<toml::value::Datetime>().is_ok() => format!("the date-time {s}"),
        Value::String(s) => format!("the string \"{}\"", echo(s)),
        Value::Integer(i) => format!("the number {i}"),
        Value::Float(f) => format!("the number {f}"),
        Value::Boolean(b) => format!("{b}"),
        Value::Datetime(d) => format!("the date-time {d}"),
        Value::Array(_) => "an array".into(),
        Value::Table(_) => "a table".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct T {
        a: Option<Field<String>>,
        b: Option<Field<i64>>,
    }

    fn read(text: &str) -> Field<T> {
        Field::read(Value::Table(toml::from_str(text).unwrap()))
    }

    #[test]
    fn every_unknown_key_is_listed_and_the_rest_is_read() {
        let f = read("x = 1\na = \"ok\"\ny = 2\n");
        let keys: Vec<_> = f.unknown.iter().map(|u| u.0.as_str()).collect();
        assert_eq!(keys, ["x", "y"]);
        assert_eq!(f.unknown[0].1, "a or b");
        let t = f.value.unwrap();
        assert_eq!(t.a.unwrap().value.as_deref(), Some("ok"));
    }

    #[test]
    fn wrong_types_are_kept_where_they_are() {
        let t = read("a = 5\nb = \"many\"\n").value.unwrap();
        assert_eq!(t.a.unwrap().wrong, Some(Wrong::Found("the number 5".into())));
        assert_eq!(t.b.unwrap().wrong, Some(Wrong::Found("the string \"many\"".into())));
        let t = read("b = 1979-05-27T07:32:00Z").value.unwrap();
        assert_eq!(
            t.b.unwrap().wrong,
            Some(Wrong::Found("the date-time 1979-05-27T07:32:00Z".into()))
        );
        let f: Field<T> = Field::read(Value::String("s".into()));
        assert_eq!(f.wrong, Some(Wrong::Found("the string \"s\"".into())));
    }
}
