//! `eddy token create | list | revoke`: admin tokens over the admin API.

use clap::Subcommand;
use serde_json::{Value, json};

use super::apps::str_cell;
use super::login::apps_scope;
use super::remote::Remote;
use super::table::{Align, Output, Table, time_cell};

#[derive(Subcommand)]
pub(super) enum TokenCommand {
    /// Create an admin token; it is printed this once (the registry keeps
    /// only its hash). Its role and scope are at most the creating token's.
    Create {
        #[command(flatten)]
        remote: Remote,
        /// Who or what the token is for (shown in the list and the audit log).
        #[arg(long, default_value = "cli")]
        label: String,
        /// What it may do: platform-admin, tenant-owner, deployer or viewer
        /// [default: the creating token's role].
        #[arg(long)]
        role: Option<String>,
        /// The tenant it acts in [default: the creating token's tenant].
        #[arg(long)]
        tenant: Option<String>,
        /// Limit it to this app of the tenant (repeat for several)
        /// [default: every app of the tenant].
        #[arg(long = "app", value_name = "SLUG")]
        apps: Vec<String>,
        /// Make it stop working after this long: 90s, 15m, 12h, 30d
        /// [default: it does not expire].
        #[arg(long, value_name = "DURATION")]
        expires_in: Option<String>,
    },
    /// List admin tokens in scope: id, state, role, scope, created, last
    /// used (to the minute), expiry, label. Never the tokens themselves.
    List {
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        output: Output,
    },
    /// Revoke an admin token by id (from `eddy token list`): calls with it
    /// get 401 from now on, on every node.
    Revoke {
        #[command(flatten)]
        remote: Remote,
        /// The token's id.
        id: i64,
    },
}

pub(super) fn run(command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create {
            remote,
            label,
            role,
            tenant,
            apps,
            expires_in,
        } => {
            let mut body = json!({ "label": label });
            if let Some(role) = role {
                body["role"] = role.into();
            }
            if let Some(tenant) = tenant {
                body["tenant"] = tenant.into();
            }
            if !apps.is_empty() {
                body["apps"] = apps.into();
            }
            if let Some(expiry) = expires_in {
                body["expires_in_seconds"] = parse_duration(&expiry)?.into();
            }
            let created = remote.client()?.post_json("/tokens", &body)?;
            println!("{}", created["token"].as_str().unwrap_or_default());
            let expiry = match created["expires_at"].as_i64() {
                Some(at) => format!(", expiring {}", when(at, now_ms())),
                None => String::new(),
            };
            let role = match created["role"].as_str() {
                Some(role) => format!(" ({role}, {})", scope(&created)),
                None => String::new(),
            };
            eprintln!(
                "admin token {} labelled {label:?}{role}{expiry}; it is shown this once",
                created["id"]
            );
            Ok(())
        }
        TokenCommand::List { remote, output } => {
            let tokens = remote.client()?.get("/tokens")?;
            output.print(&tokens, |tokens| table(tokens, now_ms()));
            Ok(())
        }
        TokenCommand::Revoke { remote, id } => {
            let revoked = remote.client()?.delete(&format!("/tokens/{id}"))?;
            println!(
                "revoked admin token {id} ({})",
                revoked["label"].as_str().unwrap_or_default()
            );
            Ok(())
        }
    }
}

/// `90s`, `15m`, `12h`, `30d` (or bare seconds) → seconds.
fn parse_duration(text: &str) -> anyhow::Result<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| anyhow::anyhow!("--expires-in {text:?}: use e.g. 90s, 15m, 12h or 30d"))?;
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => anyhow::bail!("--expires-in {text:?}: the unit is s, m, h or d"),
    };
    anyhow::ensure!(n > 0, "--expires-in must be more than zero");
    n.checked_mul(scale)
        .ok_or_else(|| anyhow::anyhow!("--expires-in {text:?} is too long"))
}

/// Milliseconds since the Unix epoch, the unit of the API's times. (The
/// registry's own clock, `eddy_store::now_ms`, is not in the light build.)
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A time relative to `now`, as a person reads a list: `3h ago`, `in 29d`.
/// `in 7d`, `2h ago`: the nearest whole unit, so a token made to expire in
/// seven days reads "in 7d" however many milliseconds the call took.
fn when(at: i64, now: i64) -> String {
    let millis = at - now;
    let abs = millis.unsigned_abs();
    let (unit, suffix) = match abs {
        m if m < 59_500 => (1_000, "s"),
        m if m < 3_570_000 => (60_000, "m"),
        m if m < 84_600_000 => (3_600_000, "h"),
        _ => (86_400_000, "d"),
    };
    let span = format!("{}{suffix}", (abs + unit / 2) / unit);
    if millis < 0 {
        format!("{span} ago")
    } else {
        format!("in {span}")
    }
}

/// A token's reach: `platform`, a tenant, or a tenant's listed apps.
fn scope(token: &Value) -> String {
    match token["tenant"].as_str() {
        None if token["role"].is_string() => "platform".to_owned(),
        None => "-".to_owned(),
        Some(tenant) if token["apps"].is_array() => format!("{tenant}: {}", apps_scope(token)),
        Some(tenant) => tenant.to_owned(),
    }
}

fn table(tokens: &Value, now: i64) -> String {
    let mut table = Table::new(&[
        ("ID", Align::Right),
        ("STATE", Align::Left),
        ("ROLE", Align::Left),
        ("SCOPE", Align::Left),
        ("CREATED", Align::Left),
        ("LAST USED", Align::Left),
        ("EXPIRES", Align::Left),
        ("LABEL", Align::Left),
    ]);
    for t in tokens.as_array().into_iter().flatten() {
        let state = if t["revoked_at"].is_i64() {
            "revoked"
        } else if t["expires_at"].as_i64().is_some_and(|e| e <= now) {
            "expired"
        } else {
            "active"
        };
        let configured = if t["configured"] == true {
            " (EDDY_ADMIN_TOKEN)"
        } else {
            ""
        };
        table.row([
            t["id"].to_string(),
            state.to_owned(),
            str_cell(&t["role"]),
            scope(t),
            time_cell(&t["created_at"]),
            time_cell(&t["last_used_at"]),
            time_cell(&t["expires_at"]),
            format!("{}{configured}", t["label"].as_str().unwrap_or_default()),
        ]);
    }
    table.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(parse_duration("90").unwrap(), 90);
        assert_eq!(parse_duration("15m").unwrap(), 900);
        assert_eq!(parse_duration("30d").unwrap(), 30 * 86_400);
        for bad in ["", "d", "1w", "0h", "-1s", "1.5h"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_list_shows_state_role_scope_and_dates_never_secrets() {
        let now = 1_709_251_200_000; // 2024-03-01 00:00 UTC
        let tokens = json!([
            { "id": 1, "label": "EDDY_ADMIN_TOKEN", "created_at": now - 7_200_000,
              "last_used_at": now - 60_000, "expires_at": null, "revoked_at": null, "configured": true,
              "role": "platform-admin", "tenant": null, "apps": null },
            { "id": 12, "label": "ci", "created_at": now - 86_400_000 * 3,
              "last_used_at": null, "expires_at": now - 1, "revoked_at": null, "configured": false,
              "role": "deployer", "tenant": "acme", "apps": ["chat", "news"] },
            { "id": 3, "label": "old laptop", "created_at": now - 60_000,
              "last_used_at": null, "expires_at": now + 86_400_000 * 29, "revoked_at": now, "configured": false,
              "role": "viewer", "tenant": "acme", "apps": null },
        ]);
        assert_eq!(
            table(&tokens, now),
            "ID  STATE    ROLE            SCOPE             CREATED           LAST USED         EXPIRES           LABEL\n\
             \x201  active   platform-admin  platform          2024-02-29 22:00  2024-02-29 23:59  -                 EDDY_ADMIN_TOKEN (EDDY_ADMIN_TOKEN)\n\
             12  expired  deployer        acme: chat, news  2024-02-27 00:00  -                 2024-02-29 23:59  ci\n\
             \x203  revoked  viewer          acme              2024-02-29 23:59  -                 2024-03-30 00:00  old laptop\n"
        );
        // A server from before roles: the columns say so.
        let old = json!([{ "id": 1, "label": "x", "created_at": now }]);
        assert!(
            table(&old, now).contains("  -     -  "),
            "{}",
            table(&old, now)
        );
    }

    #[test]
    fn times_read_as_the_nearest_whole_unit() {
        let day = 86_400_000;
        assert_eq!(when(7 * day - 5, 0), "in 7d");
        assert_eq!(when(7 * day + 5, 0), "in 7d");
        assert_eq!(when(0, 2 * 3_600_000 + 1), "2h ago");
        assert_eq!(when(59_400, 0), "in 59s");
        assert_eq!(when(59_600, 0), "in 1m");
        assert_eq!(when(0, 90 * 60_000), "2h ago");
        assert_eq!(when(0, 0), "in 0s");
    }
}
