//! `eddy config set | list | unset`: an app's config variables and secrets
//! over the admin API. A secret's value can come from standard input
//! (`NAME=-`), so it stays out of the shell's history and `ps`.

use std::io::Read as _;

use anyhow::Context as _;
use clap::Subcommand;
use serde_json::{Value, json};

use super::apps::str_cell;
use super::remote::Remote;
use super::table::{Align, Output, Table, time_cell};

#[derive(Subcommand)]
pub(super) enum AppConfigCommand {
    /// Set config variables of an app, or secrets with --secret (encrypted
    /// by the server, never shown again). Handlers read them with
    /// `config.get(name)`; running instances on every node see a change
    /// within a second, without a redeploy.
    Set {
        #[command(flatten)]
        remote: Remote,
        /// The app whose config to set.
        #[arg(long)]
        app: String,
        /// NAME=VALUE, one or more (names: 1 to 128 of A-Z a-z 0-9 _ . -;
        /// values: UTF-8 text up to 64 KiB). `NAME=-` reads the value from
        /// standard input (one trailing newline dropped): use it for
        /// secrets, which on the command line land in the shell's history.
        #[arg(required = true, value_name = "NAME=VALUE")]
        pairs: Vec<String>,
        /// Store them as secrets: encrypted at rest, listed by name only.
        #[arg(long)]
        secret: bool,
    },
    /// List an app's config: names, when set, and plain values; secrets
    /// show as `(secret)`, never their value.
    List {
        #[command(flatten)]
        remote: Remote,
        /// The app whose config to list.
        #[arg(long)]
        app: String,
        #[command(flatten)]
        output: Output,
    },
    /// Delete config variables or secrets of an app.
    Unset {
        #[command(flatten)]
        remote: Remote,
        /// The app whose config to delete from.
        #[arg(long)]
        app: String,
        /// The names to delete, one or more.
        #[arg(required = true, value_name = "NAME")]
        names: Vec<String>,
    },
}

pub(super) fn run(command: AppConfigCommand) -> anyhow::Result<()> {
    match command {
        AppConfigCommand::Set {
            remote,
            app,
            pairs,
            secret,
        } => {
            let pairs = parse_pairs(&pairs, || {
                let mut text = String::new();
                std::io::stdin()
                    .read_to_string(&mut text)
                    .context("cannot read the value from standard input")?;
                Ok(text)
            })?;
            if secret && pairs.iter().any(|p| !p.from_stdin) {
                eprintln!(
                    "note: a secret given on the command line stays in the shell's history; \
                     NAME=- reads it from standard input instead"
                );
            }
            let client = remote.client()?;
            for pair in &pairs {
                client.put_json(
                    &format!("/apps/{app}/config/{}", path_segment(&pair.name)),
                    &json!({ "value": pair.value, "secret": secret }),
                )?;
                let kind = if secret { "secret" } else { "variable" };
                println!("set {kind} {} of app {app}", pair.name);
            }
            Ok(())
        }
        AppConfigCommand::List {
            remote,
            app,
            output,
        } => {
            let config = remote.client()?.get(&format!("/apps/{app}/config"))?;
            output.print(&config, list_table);
            Ok(())
        }
        AppConfigCommand::Unset { remote, app, names } => {
            let client = remote.client()?;
            for name in &names {
                client.delete(&format!("/apps/{app}/config/{}", path_segment(name)))?;
                println!("deleted {name} of app {app}");
            }
            Ok(())
        }
    }
}

/// One `NAME=VALUE` to set.
#[derive(Debug, PartialEq, Eq)]
struct Pair {
    name: String,
    value: String,
    from_stdin: bool,
}

/// `NAME=VALUE` arguments; `stdin` is read for the one `NAME=-`. An error
/// never repeats an argument (it may hold a secret).
fn parse_pairs(
    args: &[String],
    stdin: impl FnOnce() -> anyhow::Result<String>,
) -> anyhow::Result<Vec<Pair>> {
    let mut stdin = Some(stdin);
    let mut pairs = Vec::new();
    for (i, arg) in args.iter().enumerate() {
        let Some((name, value)) = arg.split_once('=') else {
            anyhow::bail!(
                "argument {} is not NAME=VALUE (NAME=- reads the value from standard input)",
                i + 1
            );
        };
        anyhow::ensure!(!name.is_empty(), "argument {} has no name before =", i + 1);
        let (value, from_stdin) = if value == "-" {
            let read = stdin
                .take()
                .context("only one value can come from standard input (NAME=-)")?;
            let text = read()?;
            let text = text.strip_suffix('\n').unwrap_or(&text);
            (text.strip_suffix('\r').unwrap_or(text).to_owned(), true)
        } else {
            (value.to_owned(), false)
        };
        pairs.push(Pair {
            name: name.to_owned(),
            value,
            from_stdin,
        });
    }
    Ok(pairs)
}

/// `name` as one path segment: a name the server would refuse (`a/b`)
/// reaches it as a name, to be refused as one, not as another path.
fn path_segment(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Longest value shown in the table (`--json` has them whole).
const SHOWN_CHARS: usize = 60;

fn list_table(config: &Value) -> String {
    let mut table = Table::new(&[
        ("NAME", Align::Left),
        ("UPDATED", Align::Left),
        ("VALUE", Align::Left),
    ]);
    for entry in config.as_array().into_iter().flatten() {
        let value = if entry["secret"].as_bool() == Some(true) {
            if entry["readable"].as_bool() == Some(false) {
                "(secret, not readable with this server's key)".to_owned()
            } else {
                "(secret)".to_owned()
            }
        } else {
            shown(entry["value"].as_str().unwrap_or_default())
        };
        table.row([
            str_cell(&entry["name"]),
            time_cell(&entry["updated_at"]),
            value,
        ]);
    }
    table.render()
}

/// A value on one line of a table: control characters escaped, long ones cut.
fn shown(value: &str) -> String {
    let escaped: String = value
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().collect()
            } else {
                c.to_string()
            }
        })
        .collect();
    if escaped.chars().count() > SHOWN_CHARS {
        let cut: String = escaped.chars().take(SHOWN_CHARS - 1).collect();
        format!("{cut}…")
    } else {
        escaped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn pair(name: &str, value: &str, from_stdin: bool) -> Pair {
        Pair {
            name: name.into(),
            value: value.into(),
            from_stdin,
        }
    }

    #[test]
    fn pairs_split_at_the_first_equals_and_one_may_come_from_stdin() {
        let stdin = || Ok("s3cr3t\n".to_owned());
        let pairs = parse_pairs(&args(&["A=1", "B=x=y", "C=", "TOKEN=-"]), stdin).unwrap();
        assert_eq!(
            pairs,
            [
                pair("A", "1", false),
                pair("B", "x=y", false),
                pair("C", "", false),
                pair("TOKEN", "s3cr3t", true),
            ]
        );
        let crlf = parse_pairs(&args(&["T=-"]), || Ok("v\r\n".into())).unwrap();
        assert_eq!(crlf[0].value, "v");
        let kept = parse_pairs(&args(&["T=-"]), || Ok("two\nlines\n\n".into())).unwrap();
        assert_eq!(kept[0].value, "two\nlines\n", "only one newline is dropped");
    }

    #[test]
    fn a_bad_pair_is_refused_without_repeating_it() {
        let never = || -> anyhow::Result<String> { panic!("stdin read") };
        let err = parse_pairs(&args(&["A=1", "hunter2"]), never).unwrap_err();
        assert_eq!(
            err.to_string(),
            "argument 2 is not NAME=VALUE (NAME=- reads the value from standard input)"
        );
        let err = parse_pairs(&args(&["=hunter2"]), || Ok(String::new())).unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let err = parse_pairs(&args(&["A=-", "B=-"]), || Ok("x".into())).unwrap_err();
        assert!(err.to_string().contains("only one value"), "{err}");
    }

    #[test]
    fn names_are_one_path_segment() {
        assert_eq!(path_segment("API_KEY.v-2"), "API_KEY.v-2");
        assert_eq!(path_segment("a/b c"), "a%2Fb%20c");
    }

    #[test]
    fn the_list_masks_secrets_and_keeps_values_on_one_line() {
        let config = json!([
            { "name": "API_KEY", "secret": true, "readable": true, "updated_at": 1_709_251_200_000_i64 },
            { "name": "OLD", "secret": true, "readable": false, "updated_at": 0 },
            { "name": "greeting", "secret": false, "value": "héllo\nworld", "updated_at": 0 },
            { "name": "long", "secret": false, "value": "x".repeat(100), "updated_at": 0 },
        ]);
        let text = list_table(&config);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "NAME      UPDATED           VALUE");
        assert_eq!(lines[1], "API_KEY   2024-03-01 00:00  (secret)");
        assert_eq!(
            lines[2],
            "OLD       1970-01-01 00:00  (secret, not readable with this server's key)"
        );
        assert_eq!(lines[3], "greeting  1970-01-01 00:00  héllo\\nworld");
        assert_eq!(
            lines[4],
            format!("long      1970-01-01 00:00  {}…", "x".repeat(59))
        );
        assert_eq!(lines.len(), 5);
    }
}
