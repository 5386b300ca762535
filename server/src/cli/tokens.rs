//! `eddy token create | list | revoke`: admin tokens over the admin API.

use serde_json::{Value, json};

use super::TokenCommand;
use super::commands::client;

pub(super) fn run(command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create {
            remote,
            label,
            expires_in,
        } => {
            let mut body = json!({ "label": label });
            if let Some(expiry) = expires_in {
                body["expires_in_seconds"] = parse_duration(&expiry)?.into();
            }
            let created = client(&remote)?.post_json("/tokens", &body)?;
            println!("{}", created["token"].as_str().unwrap_or_default());
            let expiry = match created["expires_at"].as_i64() {
                Some(at) => format!(", expiring {}", when(at, eddy_store::now_ms())),
                None => String::new(),
            };
            eprintln!(
                "admin token {} labelled {label:?}{expiry}; it is shown this once",
                created["id"]
            );
            Ok(())
        }
        TokenCommand::List { remote } => {
            let tokens = client(&remote)?.get("/tokens")?;
            print!("{}", table(&tokens, eddy_store::now_ms()));
            Ok(())
        }
        TokenCommand::Revoke { remote, id } => {
            let revoked = client(&remote)?.delete(&format!("/tokens/{id}"))?;
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

fn table(tokens: &Value, now: i64) -> String {
    let mut out = format!(
        "{:>4}  {:<8}  {:<10}  {:<10}  {:<10}  LABEL\n",
        "ID", "STATE", "CREATED", "LAST USED", "EXPIRES"
    );
    for t in tokens.as_array().into_iter().flatten() {
        let time = |key: &str| t[key].as_i64().map_or("-".to_owned(), |at| when(at, now));
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
        out.push_str(&format!(
            "{:>4}  {:<8}  {:<10}  {:<10}  {:<10}  {}{configured}\n",
            t["id"],
            state,
            time("created_at"),
            time("last_used_at"),
            time("expires_at"),
            t["label"].as_str().unwrap_or_default(),
        ));
    }
    out
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
    fn the_list_shows_state_and_ages_never_secrets() {
        let now = 10_000_000_000;
        let tokens = json!([
            { "id": 1, "label": "EDDY_ADMIN_TOKEN", "created_at": now - 7_200_000,
              "last_used_at": now - 30_000, "expires_at": null, "revoked_at": null, "configured": true },
            { "id": 2, "label": "ci", "created_at": now - 86_400_000 * 3,
              "last_used_at": null, "expires_at": now - 1, "revoked_at": null, "configured": false },
            { "id": 3, "label": "old laptop", "created_at": now - 60_000,
              "last_used_at": null, "expires_at": now + 86_400_000 * 29, "revoked_at": now, "configured": false },
        ]);
        let text = table(&tokens, now);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[1].contains("active")
                && lines[1].contains("2h ago")
                && lines[1].contains("30s ago")
        );
        assert!(lines[1].ends_with("EDDY_ADMIN_TOKEN (EDDY_ADMIN_TOKEN)"));
        assert!(lines[2].contains("expired") && lines[2].contains("3d ago"));
        assert!(lines[3].contains("revoked") && lines[3].contains("in 29d"));
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
