//! The layers, merged into one TOML table before the single serde pass:
//! the file, then `EDDY_*` variables, then flags, each replacing the keys it
//! sets; serde fills in the defaults of the keys no layer set. The table
//! remembers which layer set each key, so that an error names what the
//! operator wrote: the variable, the flag, or the key of the file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde::{Serialize, forward_to_deserialize_any};

use super::ConfigError;

/// Every setting `foo_bar` is also the variable `EDDY_FOO_BAR`.
const ENV_PREFIX: &str = "EDDY_";

/// A command-line flag that sets a key: `--database` sets `database_url`.
#[derive(Debug, Clone)]
pub struct Flag {
    /// As the operator typed it, for errors: `--database`.
    pub name: &'static str,
    pub key: &'static str,
    pub value: String,
}

/// The variable that sets `key`.
pub(crate) fn env_name(key: &str) -> String {
    format!("{ENV_PREFIX}{}", key.to_ascii_uppercase())
}

/// Where the value of a top-level key came from.
enum Origin {
    File(PathBuf),
    /// A variable or a flag (`source`), and the text it held.
    Text {
        source: String,
        text: String,
    },
}

/// What the text of a variable or a flag becomes in the table, read off
/// the key's default.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Text,
    Integer,
    Boolean,
    /// Comma-separated.
    List,
}

pub(super) struct Layers {
    /// The top-level keys, in declaration order, with their kind.
    keys: Vec<(&'static str, Kind)>,
    table: toml::Table,
    origins: HashMap<String, Origin>,
}

impl Layers {
    /// The layers of `T`, whose fields are the keys and whose `Default`
    /// gives their kinds (a key with no default, an optional one, is text).
    pub(super) fn of<T: Serialize + DeserializeOwned + Default>() -> Self {
        let defaults = toml::Table::try_from(T::default()).expect("defaults serialize");
        let keys = field_names::<T>()
            .iter()
            .map(|&key| {
                let kind = match defaults.get(key) {
                    Some(toml::Value::Integer(_)) => Kind::Integer,
                    Some(toml::Value::Boolean(_)) => Kind::Boolean,
                    Some(toml::Value::Array(_)) => Kind::List,
                    _ => Kind::Text,
                };
                (key, kind)
            })
            .collect();
        Self {
            keys,
            table: toml::Table::new(),
            origins: HashMap::new(),
        }
    }

    pub(super) fn file(&mut self, path: &Path) -> Result<(), ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        self.file_text(&text, path)
    }

    /// The file's text, as if read from `path`.
    pub(super) fn file_text(&mut self, text: &str, path: &Path) -> Result<(), ConfigError> {
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::Parse {
                path: path.to_owned(),
                message: e.to_string(),
            })?;
        for (key, value) in table {
            self.origins
                .insert(key.clone(), Origin::File(path.to_owned()));
            self.table.insert(key, value);
        }
        Ok(())
    }

    /// The `EDDY_*` variables among `vars`. One that is not a setting but
    /// is a letter or two away from one is refused: a misspelt setting
    /// must not be ignored silently. (The CLI's `EDDY_CONFIG`,
    /// `EDDY_SERVER` and the test suites' `EDDY_TEST_*` are nowhere near.)
    pub(super) fn env(
        &mut self,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(), ConfigError> {
        let mut vars: Vec<_> = vars
            .into_iter()
            .filter(|(name, _)| name.starts_with(ENV_PREFIX))
            .collect();
        vars.sort();
        for (name, text) in vars {
            let key = name[ENV_PREFIX.len()..].to_ascii_lowercase();
            match self.kind(&key) {
                Some((key, kind)) if env_name(key) == name => {
                    self.set_text(key, kind, name, text)?
                }
                _ => {
                    if let Some(near) = self.nearest(&key) {
                        return Err(ConfigError::UnknownVariable {
                            name,
                            suggestion: env_name(near),
                        });
                    }
                }
            }
        }
        Ok(())
    }

    pub(super) fn flag(&mut self, flag: &Flag) -> Result<(), ConfigError> {
        let (key, kind) = self.kind(flag.key).ok_or_else(|| {
            ConfigError::Invalid(format!("{}: sets no setting {:?}", flag.name, flag.key))
        })?;
        self.set_text(key, kind, flag.name.to_owned(), flag.value.clone())
    }

    /// The one serde pass over the merged table.
    pub(super) fn deserialize<T: DeserializeOwned>(self) -> Result<T, ConfigError> {
        serde_path_to_error::deserialize(self.table).map_err(|error| {
            let path = error.path().to_string();
            let top = match error.path().iter().next() {
                Some(serde_path_to_error::Segment::Map { key }) => key.clone(),
                _ => String::new(),
            };
            let message = error.into_inner().message().trim_end().to_owned();
            match self.origins.get(&top) {
                Some(Origin::File(file)) => ConfigError::Key {
                    key: path,
                    path: file.clone(),
                    message,
                },
                Some(Origin::Text { source, text }) => ConfigError::Value {
                    origin: source.clone(),
                    value: shown(&top, text),
                    message,
                },
                // A default that does not pass its own check: a bug here.
                None => ConfigError::Invalid(format!("{path}: {message}")),
            }
        })
    }

    fn kind(&self, key: &str) -> Option<(&'static str, Kind)> {
        self.keys.iter().copied().find(|(k, _)| *k == key)
    }

    fn set_text(
        &mut self,
        key: &'static str,
        kind: Kind,
        source: String,
        text: String,
    ) -> Result<(), ConfigError> {
        let value = text_value(kind, &text).map_err(|message| ConfigError::Value {
            origin: source.clone(),
            value: shown(key, &text),
            message,
        })?;
        self.table.insert(key.to_owned(), value);
        self.origins
            .insert(key.to_owned(), Origin::Text { source, text });
        Ok(())
    }

    /// The key `word` is most likely a misspelling of: within one edit for
    /// short keys, two for longer ones.
    fn nearest(&self, word: &str) -> Option<&'static str> {
        self.keys
            .iter()
            .map(|&(key, _)| (edit_distance(word, key), key))
            .filter(|&(distance, key)| distance <= if key.len() < 8 { 1 } else { 2 })
            .min()
            .map(|(_, key)| key)
    }
}

/// A value as an error may repeat it: a secret setting's not at all, a
/// URL's without its password.
fn shown(key: &str, text: &str) -> String {
    if super::SECRET_SETTINGS.contains(&key) {
        "<redacted>".to_owned()
    } else {
        super::values::redact_password(text)
    }
}

fn text_value(kind: Kind, text: &str) -> Result<toml::Value, String> {
    Ok(match kind {
        Kind::Text => toml::Value::String(text.to_owned()),
        Kind::Integer => toml::Value::Integer(text.trim().parse().map_err(|e| format!("{e}"))?),
        Kind::Boolean => toml::Value::Boolean(
            parse_bool(text).ok_or("expected true or false (or yes/no, on/off, 1/0)")?,
        ),
        Kind::List => toml::Value::Array(
            text.split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(|item| toml::Value::String(item.to_owned()))
                .collect(),
        ),
    })
}

fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// Levenshtein distance, over bytes (keys are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(above + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

/// The field names of `T`, in declaration order. A derived `Deserialize`
/// hands its list of fields to `deserialize_struct`; this deserializer
/// records it and stops. That keeps the struct the only list of keys,
/// optional ones included (which the serialized defaults leave out).
fn field_names<T: DeserializeOwned>() -> &'static [&'static str] {
    struct Probe<'a>(&'a mut &'static [&'static str]);

    impl<'de> Deserializer<'de> for Probe<'_> {
        type Error = de::value::Error;

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("fields recorded"))
        }

        forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map enum identifier ignored_any
        }
    }

    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Probe(&mut fields));
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misspellings_are_near_and_other_words_are_not() {
        assert_eq!(edit_distance("ping_intervall_ms", "ping_interval_ms"), 1);
        assert_eq!(edit_distance("max_conections", "max_connections"), 1);
        assert_eq!(edit_distance("", "log"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn booleans_and_lists_read_as_operators_write_them() {
        for yes in ["1", "true", "YES", "on"] {
            assert_eq!(parse_bool(yes), Some(true), "{yes}");
        }
        for no in ["0", "False", "no", "off "] {
            assert_eq!(parse_bool(no), Some(false), "{no}");
        }
        assert_eq!(parse_bool("maybe"), None);
        assert_eq!(
            text_value(Kind::List, " 10.0.0.1, ,10.0.0.0/8").unwrap(),
            toml::Value::Array(vec!["10.0.0.1".into(), "10.0.0.0/8".into()])
        );
        assert_eq!(
            text_value(Kind::Integer, "x").unwrap_err(),
            "invalid digit found in string"
        );
    }
}
