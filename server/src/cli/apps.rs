//! `eddy app create | list | show | delete`.

use clap::Subcommand;
use serde_json::{Value, json};

use super::remote::Remote;
use super::table::{Align, Output, Table, time_cell};

// Parsed once per process: the size of its largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub(super) enum AppCommand {
    /// Create an app; prints its public key and its secret (the secret only
    /// this once).
    Create {
        #[command(flatten)]
        remote: Remote,
        /// The app's slug: 1 to 63 of a-z, 0-9 and `-`; clients connect at
        /// /apps/SLUG/socket.io/.
        slug: String,
        /// Display name [default: the slug].
        #[arg(long)]
        name: Option<String>,
        /// The tenant that owns it [default: the token's tenant; for a
        /// platform admin, `default`].
        #[arg(long)]
        tenant: Option<String>,
        #[command(flatten)]
        limits: Limits,
        /// A browser origin allowed to connect (repeat for several); none: any origin.
        #[arg(long = "allowed-origin", value_name = "ORIGIN")]
        allowed_origins: Vec<String>,
    },
    /// List apps (those the token may see).
    List {
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        output: Output,
    },
    /// Show one app: tenant, limits, the live version, and what it is doing
    /// now on the node asked (connections, rates, handler latency, faults);
    /// with --json, `{"app": …, "stats": …}`, the server's two answers.
    Show {
        #[command(flatten)]
        remote: Remote,
        /// The app's slug.
        slug: String,
        #[command(flatten)]
        output: Output,
    },
    /// Delete an app with its deployments and data.
    Delete {
        #[command(flatten)]
        remote: Remote,
        /// The app's slug.
        slug: String,
        /// Confirm: the app's data is deleted.
        #[arg(long)]
        yes: bool,
    },
}

/// An app's limits; those not given take the server's defaults.
#[derive(clap::Args)]
pub(super) struct Limits {
    /// Sockets connected at once (1 to 1000000) [default: 10000].
    #[arg(long)]
    max_connections: Option<u64>,
    /// Events one socket may send per second, bursts of twice that [default: 100].
    #[arg(long)]
    max_events_per_second: Option<u64>,
    /// Bytes in one message, either way [default: 1000000].
    #[arg(long)]
    max_payload: Option<u64>,
    /// Longest one handler call may run, in ms [default: 100].
    #[arg(long)]
    handler_deadline_ms: Option<u64>,
    /// Most memory one handler instance may use, in MiB [default: 64].
    #[arg(long)]
    handler_memory_mb: Option<u64>,
    /// Bytes of key-value data, keys plus values [default: 10485760].
    #[arg(long)]
    kv_quota_bytes: Option<u64>,
    /// Rooms one socket may be in at once [default: 128].
    #[arg(long)]
    max_rooms_per_socket: Option<u64>,
    /// Bytes in a room name [default: 256].
    #[arg(long)]
    max_room_name_bytes: Option<u64>,
    /// Namespaces the app may have at once on a node [default: 64].
    #[arg(long)]
    max_namespaces: Option<u64>,
    /// Timers the app may have pending at once [default: 100].
    #[arg(long)]
    max_timers: Option<u64>,
}

impl Limits {
    fn given(&self) -> serde_json::Map<String, Value> {
        super::given_flags(&[
            ("max_connections", self.max_connections),
            ("max_events_per_second", self.max_events_per_second),
            ("max_payload", self.max_payload),
            ("handler_deadline_ms", self.handler_deadline_ms),
            ("handler_memory_mb", self.handler_memory_mb),
            ("kv_quota_bytes", self.kv_quota_bytes),
            ("max_rooms_per_socket", self.max_rooms_per_socket),
            ("max_room_name_bytes", self.max_room_name_bytes),
            ("max_namespaces", self.max_namespaces),
            ("max_timers", self.max_timers),
        ])
    }
}

pub(super) fn run(command: AppCommand) -> anyhow::Result<()> {
    match command {
        AppCommand::Create {
            remote,
            slug,
            name,
            tenant,
            limits,
            allowed_origins,
        } => {
            let mut limits = limits.given();
            if !allowed_origins.is_empty() {
                limits.insert("allowed_origins".into(), allowed_origins.into());
            }
            let mut body = json!({ "slug": slug, "name": name, "limits": limits });
            if let Some(tenant) = tenant {
                body["tenant"] = tenant.into();
            }
            let created = remote.client()?.post_json("/apps", &body)?;
            print!("{}", created_text(&slug, &created));
            eprintln!("the secret is shown this once: keep it for the tenant server API");
            Ok(())
        }
        AppCommand::List { remote, output } => {
            let apps = remote.client()?.get("/apps")?;
            output.print(&apps, list_table);
            Ok(())
        }
        AppCommand::Show {
            remote,
            slug,
            output,
        } => {
            let client = remote.client()?;
            let app = client.get(&format!("/apps/{slug}"))?;
            let stats = client.get(&format!("/apps/{slug}/stats"))?;
            output.print(&json!({ "app": app, "stats": stats }), show_text);
            Ok(())
        }
        AppCommand::Delete { remote, slug, yes } => {
            anyhow::ensure!(
                yes,
                "deleting {slug} deletes its deployments and data: add --yes to confirm"
            );
            remote.client()?.delete(&format!("/apps/{slug}"))?;
            println!("deleted app {slug}");
            Ok(())
        }
    }
}

/// What `eddy app create` prints: where clients connect, and the two
/// halves of the app's key with what each is for. The first lines keep the
/// shape scripts read (`  secret:     sk_…`).
fn created_text(slug: &str, created: &Value) -> String {
    let text = |key: &str| created[key].as_str().unwrap_or_default().to_owned();
    format!(
        "created app {slug}\n\
         \x20 clients connect at /apps/{slug}/socket.io/\n\
         \x20 public key: {}\n\
         \x20 secret:     {}\n\
         The public key names this app's key: the admin UI and `eddy app show` show it, and the\n\
         audit log records it when the secret is replaced. It grants nothing, and clients need\n\
         no key at all (they connect by slug). The secret authenticates your own backend to the\n\
         tenant server API (/apps/{slug}/api/v1/…, `Authorization: Bearer <secret>`).\n",
        text("public_key"),
        text("secret"),
    )
}

fn indent(text: &str) -> String {
    text.lines().map(|line| format!("  {line}\n")).collect()
}

fn list_table(apps: &Value) -> String {
    let mut table = Table::new(&[
        ("SLUG", Align::Left),
        ("TENANT", Align::Left),
        ("VERSION", Align::Right),
        ("CONNECTIONS", Align::Right),
        ("CREATED", Align::Left),
        ("NAME", Align::Left),
    ]);
    for app in apps.as_array().into_iter().flatten() {
        table.row([
            str_cell(&app["slug"]),
            str_cell(&app["tenant"]),
            num_cell(&app["active_version"]),
            num_cell(&app["connections"]),
            time_cell(&app["created_at"]),
            str_cell(&app["name"]),
        ]);
    }
    table.render()
}

fn show_text(both: &Value) -> String {
    let (app, stats) = (&both["app"], &both["stats"]);
    let limits = &app["limits"];
    let handler = &stats["handler"];
    let mut fields = Table::fields();
    fields
        .field("slug", str_cell(&app["slug"]))
        .field("name", str_cell(&app["name"]))
        .field("tenant", str_cell(&app["tenant"]))
        .field("created", time_cell(&app["created_at"]))
        .field("public key", str_cell(&app["public_key"]))
        .field("live version", num_cell(&app["active_version"]));
    if let Some(ms) = app["faulted_for_ms"].as_u64() {
        fields.field(
            "faulted",
            format!(
                "its handler failed to start; retried in {} s",
                ms.div_ceil(1000)
            ),
        );
    }
    let mut out = fields.render();

    out.push_str("\nlimits\n");
    let mut table = Table::fields();
    for key in [
        "max_connections",
        "max_events_per_second",
        "max_payload",
        "handler_deadline_ms",
        "handler_memory_mb",
        "kv_quota_bytes",
        "max_rooms_per_socket",
        "max_room_name_bytes",
        "max_namespaces",
        "max_timers",
    ] {
        table.field(key, num_cell(&limits[key]));
    }
    let origins: Vec<&str> = limits["allowed_origins"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    table.field(
        "allowed_origins",
        if origins.is_empty() {
            "any".to_owned()
        } else {
            origins.join(", ")
        },
    );
    out.push_str(&indent(&table.render()));

    out.push_str("\nnow, on this node\n");
    let mut table = Table::fields();
    table
        .field("connections", num_cell(&stats["connections"]))
        .field("sessions", num_cell(&stats["sessions"]))
        .field("events in/s", num_cell(&stats["events_in_per_second"]))
        .field("emits/s", num_cell(&stats["emits_per_second"]))
        .field(
            "handler latency",
            format!(
                "p50 {} µs, p99 {} µs over {} calls",
                num_cell(&handler["p50_us"]),
                num_cell(&handler["p99_us"]),
                num_cell(&handler["calls"])
            ),
        )
        .field(
            "handler faults",
            format!(
                "{} errors, {} timeouts, {} memory, {} traps",
                num_cell(&handler["errors"]),
                num_cell(&handler["timeouts"]),
                num_cell(&handler["memory_faults"]),
                num_cell(&handler["traps"])
            ),
        )
        .field(
            "key-value",
            format!(
                "{} bytes in {} keys",
                num_cell(&stats["kv_bytes"]),
                num_cell(&stats["kv_keys"])
            ),
        );
    out.push_str(&indent(&table.render()));
    out
}

/// A JSON string for a cell (`-` when absent).
pub(super) fn str_cell(value: &Value) -> String {
    value.as_str().unwrap_or("-").to_owned()
}

/// A JSON number for a cell (`-` when absent).
pub(super) fn num_cell(value: &Value) -> String {
    match value {
        Value::Number(n) => n.to_string(),
        _ => "-".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_aligns_and_dates_its_columns() {
        let apps = json!([
            { "slug": "chat", "tenant": "acme", "active_version": 12, "connections": 3,
              "created_at": 1_709_251_200_000_i64, "name": "Chat" },
            { "slug": "a-much-longer-slug", "active_version": null, "connections": 0,
              "created_at": 0, "name": "Long" },
        ]);
        assert_eq!(
            list_table(&apps),
            "SLUG                TENANT  VERSION  CONNECTIONS  CREATED           NAME\n\
             chat                acme         12            3  2024-03-01 00:00  Chat\n\
             a-much-longer-slug  -             -            0  1970-01-01 00:00  Long\n"
        );
    }

    #[test]
    fn create_says_what_the_public_key_and_the_secret_are_for() {
        let text = created_text("chat", &json!({ "public_key": "pk_1", "secret": "sk_2" }));
        assert!(text.contains("\n  public key: pk_1\n"), "{text}");
        assert!(text.contains("\n  secret:     sk_2\n"), "{text}");
        assert!(text.contains("grants nothing") && text.contains("tenant server API"));
    }

    #[test]
    fn show_reads_both_answers() {
        let text = show_text(&json!({
            "app": { "slug": "chat", "name": "Chat", "tenant": "acme", "created_at": 0,
                     "public_key": "pk_1", "active_version": 2,
                     "limits": { "max_connections": 10, "allowed_origins": [] } },
            "stats": { "connections": 4, "events_in_per_second": 7,
                       "handler": { "p50_us": 30, "p99_us": 90, "calls": 100 } },
        }));
        assert!(text.contains("live version  2\n"), "{text}");
        assert!(text.contains("  max_connections        10\n"), "{text}");
        assert!(text.contains("  allowed_origins        any\n"), "{text}");
        assert!(text.contains("  events in/s      7\n"), "{text}");
        assert!(
            text.contains("p50 30 µs, p99 90 µs over 100 calls"),
            "{text}"
        );
    }
}
