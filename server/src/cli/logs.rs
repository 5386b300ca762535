//! `eddy logs --app SLUG [--follow]`: the app's recent log lines, then (with
//! `--follow`) new ones from its server-sent event stream.

use serde_json::Value;

use super::remote::Remote;
use super::table::{Output, utc_second};

pub(super) fn run(remote: &Remote, app: &str, follow: bool, output: Output) -> anyhow::Result<()> {
    let client = remote.client()?;
    if !follow {
        let recent = client.get(&format!("/apps/{app}/logs"))?;
        output.print(&recent, |lines| {
            lines
                .as_array()
                .into_iter()
                .flatten()
                .map(line_text)
                .collect()
        });
        return Ok(());
    }
    // Subscribed before the recent lines are read, so no line falls between
    // the two; a line in both is printed once.
    let mut stream = client.open_stream(&format!("/apps/{app}/logs/stream"))?;
    let recent = client.get(&format!("/apps/{app}/logs"))?;
    let recent = recent.as_array().cloned().unwrap_or_default();
    for line in &recent {
        print_line(line, output);
    }
    let newest = recent.last().and_then(|l| l["at_ms"].as_u64()).unwrap_or(0);
    while let Some(data) = client.next_event(&mut stream)? {
        let line: Value = serde_json::from_str(&data)?;
        let already_shown =
            line["at_ms"].as_u64().is_some_and(|at| at <= newest) && recent.contains(&line);
        if !already_shown {
            print_line(&line, output);
        }
    }
    anyhow::bail!("the server ended the log stream (is it shutting down?)")
}

/// One line per log line; with `--json`, one JSON object per line.
fn print_line(line: &Value, output: Output) {
    if output.json {
        println!("{line}");
    } else {
        print!("{}", line_text(line));
    }
}

/// `2025-03-01 14:07:09  warn   message`, the level padded to the widest.
fn line_text(line: &Value) -> String {
    let at = line["at_ms"]
        .as_i64()
        .map_or_else(|| "-".to_owned(), utc_second);
    format!(
        "{at}  {:<5}  {}\n",
        line["level"].as_str().unwrap_or_default(),
        line["message"].as_str().unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_line_reads_time_level_message() {
        let line = json!({ "at_ms": 1_709_251_199_999_i64, "level": "warn", "message": "slow" });
        assert_eq!(line_text(&line), "2024-02-29 23:59:59  warn   slow\n");
        let line = json!({ "at_ms": 0, "level": "error", "message": "trap" });
        assert_eq!(line_text(&line), "1970-01-01 00:00:00  error  trap\n");
    }
}
