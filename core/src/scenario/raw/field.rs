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

/// [`Shape::WHAT`] of every table.
pub const TABLE: &str = "a table";

impl Shape for String {
    const WHAT: &'static str = "a string";
}
impl Shape for i64 {
    const WHAT: &'static str = "a whole number";
}
impl Shape for f64 {
    const WHAT: &'static str = "a number";
}
impl Shape for bool {
    const WHAT: &'static str = "true or false";
}
impl<T> Shape for Vec<T> {
    const WHAT: &'static str = "an array";
}
impl<T> Shape for indexmap::IndexMap<String, T> {
    const WHAT: &'static str = TABLE;
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

impl<'de, T: DeserializeOwned + Shape> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Field::read(Value::deserialize(d)?))
    }
}

impl<T: DeserializeOwned + Shape> Field<T> {
    /// Reads `v` as `T`. Keys a table does not take are taken out first and
    /// listed, so that each is reported and the rest is still read; the
    /// value is moved, never copied, so a large file is read in one pass.
    pub fn read(mut v: Value) -> Field<T> {
        let mut unknown = Vec::new();
        // serde reads a struct from an array too, by position: a table's
        // keys have names in a scenario, so only a table is one.
        if T::WHAT == TABLE && !v.is_table() {
            return Field {
                value: None,
                unknown,
                wrong: Some(Wrong::Found(describe(&v))),
            };
        }
        if let (Some(fields), Some(table)) = (struct_fields::<T>(), v.as_table_mut()) {
            let extra: Vec<String> = table
                .keys()
                .filter(|k| !fields.contains(&k.as_str()))
                .cloned()
                .collect();
            for key in extra {
                table.remove(&key);
                unknown.push((key, fields.join(", ")));
            }
        }
        let found = describe(&v);
        match v.try_into::<T>() {
            Ok(value) => Field {
                value: Some(value),
                unknown,
                wrong: None,
            },
            Err(e) => {
                let msg = e.message().trim();
                let wrong = if msg.starts_with("invalid type") || msg.starts_with("invalid length") {
                    Wrong::Found(found)
                } else {
                    Wrong::Other(msg.to_string())
                };
                Field {
                    value: None,
                    unknown,
                    wrong: Some(wrong),
                }
            }
        }
    }
}

/// The keys a struct `T` takes, as its derived `Deserialize` names them;
/// `None` for anything that is not a struct.
fn struct_fields<T: DeserializeOwned>() -> Option<&'static [&'static str]> {
    use std::cell::Cell;
    use std::fmt;

    #[derive(Debug)]
    struct Stop;
    impl fmt::Display for Stop {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("probe")
        }
    }
    impl std::error::Error for Stop {}
    impl serde::de::Error for Stop {
        fn custom<M: fmt::Display>(_: M) -> Self {
            Stop
        }
    }

    /// Answers nothing; remembers the field list a struct asks it for.
    struct Probe<'a>(&'a Cell<Option<&'static [&'static str]>>);
    impl<'de> Deserializer<'de> for Probe<'_> {
        type Error = Stop;
        fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
            Err(Stop)
        }
        fn deserialize_struct<V: serde::de::Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Stop> {
            self.0.set(Some(fields));
            Err(Stop)
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
            unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }

    let fields = Cell::new(None);
    let _ = T::deserialize(Probe(&fields));
    fields.get()
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

    impl Shape for T {
        const WHAT: &'static str = TABLE;
    }

    fn read(text: &str) -> Field<T> {
        Field::read(Value::Table(toml::from_str(text).unwrap()))
    }

    #[test]
    fn every_unknown_key_is_listed_and_the_rest_is_read() {
        let f = read("x = 1\na = \"ok\"\ny = 2\n");
        let keys: Vec<_> = f.unknown.iter().map(|u| u.0.as_str()).collect();
        assert_eq!(keys, ["x", "y"]);
        assert_eq!(f.unknown[0].1, "a, b");
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
        // serde would read a struct from an array by position.
        let f: Field<T> = Field::read(Value::Array(vec![Value::String("x".into()), Value::Integer(1)]));
        assert_eq!(f.wrong, Some(Wrong::Found("an array".into())));
    }
}
