//! `eddy tenant create | list | quota | delete`: tenants and what they may
//! use; `eddy platform`: the ceilings no quota or limit may pass.

use clap::Subcommand;
use serde_json::{Value, json};

use super::apps::{num_cell, str_cell};
use super::remote::Remote;
use super::table::{Align, Output, Table, time_cell};

#[derive(Subcommand)]
pub(super) enum TenantCommand {
    /// Create a tenant (platform admins).
    Create {
        #[command(flatten)]
        remote: Remote,
        /// The tenant's slug (used in `--tenant` and token scopes).
        slug: String,
        /// Display name [default: the slug].
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        quota: Quotas,
    },
    /// List tenants with their quotas and use (platform admins).
    List {
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        output: Output,
    },
    /// Show a tenant's quota and what its apps use of it (a tenant owner:
    /// its own tenant); with quota flags, change those first (platform
    /// admins).
    Quota {
        #[command(flatten)]
        remote: Remote,
        /// The tenant's slug.
        slug: String,
        #[command(flatten)]
        quota: Quotas,
        #[command(flatten)]
        output: Output,
    },
    /// Delete a tenant that has no apps left, with its tokens (platform
    /// admins).
    Delete {
        #[command(flatten)]
        remote: Remote,
        /// The tenant's slug.
        slug: String,
        /// Confirm: its tokens stop working.
        #[arg(long)]
        yes: bool,
    },
}

/// A tenant's quota; those not given are left as they are (or, for a new
/// tenant, take the server's defaults).
#[derive(clap::Args)]
pub(super) struct Quotas {
    /// Apps the tenant may have.
    #[arg(long, value_name = "N")]
    max_apps: Option<u64>,
    /// Sum of its apps' `max_connections`.
    #[arg(long, value_name = "N")]
    max_connections: Option<u64>,
    /// Sum of its apps' `handler_memory_mb`, in MiB.
    #[arg(long, value_name = "N")]
    max_handler_memory_mb: Option<u64>,
    /// Sum of its apps' `kv_quota_bytes`.
    #[arg(long, value_name = "N")]
    kv_quota_bytes: Option<u64>,
}

impl Quotas {
    fn given(&self) -> serde_json::Map<String, Value> {
        super::given_flags(&[
            ("max_apps", self.max_apps),
            ("max_connections", self.max_connections),
            ("max_handler_memory_mb", self.max_handler_memory_mb),
            ("kv_quota_bytes", self.kv_quota_bytes),
        ])
    }
}

/// Each quota key beside the usage key that counts against it.
const QUOTA_USAGE: [(&str, &str); 4] = [
    ("max_apps", "apps"),
    ("max_connections", "max_connections"),
    ("max_handler_memory_mb", "handler_memory_mb"),
    ("kv_quota_bytes", "kv_quota_bytes"),
];

pub(super) fn run(command: TenantCommand) -> anyhow::Result<()> {
    match command {
        TenantCommand::Create {
            remote,
            slug,
            name,
            quota,
        } => {
            let mut body = json!({ "slug": slug });
            if let Some(name) = name {
                body["name"] = name.into();
            }
            let quota = quota.given();
            if !quota.is_empty() {
                body["quota"] = quota.into();
            }
            let created = remote.client()?.post_json("/tenants", &body)?;
            println!("created tenant {slug}");
            print!("{}", quota_table(&created));
            Ok(())
        }
        TenantCommand::List { remote, output } => {
            let tenants = remote.client()?.get("/tenants")?;
            output.print(&tenants, list_table);
            Ok(())
        }
        TenantCommand::Quota {
            remote,
            slug,
            quota,
            output,
        } => {
            let client = remote.client()?;
            let path = format!("/tenants/{slug}");
            let quota = quota.given();
            let tenant = if quota.is_empty() {
                client.get(&path)?
            } else {
                client.patch_json(&path, &json!({ "quota": quota }))?
            };
            output.print(&tenant, quota_table);
            Ok(())
        }
        TenantCommand::Delete { remote, slug, yes } => {
            anyhow::ensure!(
                yes,
                "deleting tenant {slug} revokes its tokens: add --yes to confirm"
            );
            remote.client()?.delete(&format!("/tenants/{slug}"))?;
            println!("deleted tenant {slug}");
            Ok(())
        }
    }
}

/// `eddy platform`: each app limit's range and each tenant quota's
/// ceiling, with the defaults a new app or tenant gets.
pub(super) fn platform(remote: Remote, output: Output) -> anyhow::Result<()> {
    let platform = remote.client()?.get("/platform")?;
    output.print(&platform, platform_table);
    Ok(())
}

fn platform_table(platform: &Value) -> String {
    let mut table = Table::new(&[
        ("LIMIT", Align::Left),
        ("MIN", Align::Right),
        ("MAX", Align::Right),
        ("DEFAULT", Align::Right),
    ]);
    let sections = [
        ("app_limits", "default_app_limits", "app "),
        ("tenant_quota", "default_tenant_quota", "tenant "),
    ];
    for (ceilings, defaults, prefix) in sections {
        for ceiling in platform[ceilings].as_array().into_iter().flatten() {
            let name = ceiling["name"].as_str().unwrap_or_default();
            table.row([
                format!("{prefix}{name}"),
                num_cell(&ceiling["min"]),
                num_cell(&ceiling["max"]),
                num_cell(&platform[defaults][name]),
            ]);
        }
    }
    table.render()
}

/// `used / limit` (a limit that is absent or null is no limit).
fn used_of(used: &Value, limit: &Value) -> String {
    match limit {
        Value::Number(_) => format!("{} / {}", num_cell(used), num_cell(limit)),
        _ => format!("{} / -", num_cell(used)),
    }
}

fn list_table(tenants: &Value) -> String {
    let mut table = Table::new(&[
        ("SLUG", Align::Left),
        ("APPS", Align::Right),
        ("CONNECTIONS", Align::Right),
        ("MEMORY MB", Align::Right),
        ("KV BYTES", Align::Right),
        ("CREATED", Align::Left),
        ("NAME", Align::Left),
    ]);
    for t in tenants.as_array().into_iter().flatten() {
        let cells =
            QUOTA_USAGE.map(|(quota, usage)| used_of(&t["usage"][usage], &t["quota"][quota]));
        let [apps, connections, memory, kv] = cells;
        table.row([
            str_cell(&t["slug"]),
            apps,
            connections,
            memory,
            kv,
            time_cell(&t["created_at"]),
            str_cell(&t["name"]),
        ]);
    }
    table.render()
}

/// One tenant: each quota with its use, and the connections open now.
fn quota_table(tenant: &Value) -> String {
    let mut table = Table::new(&[
        ("QUOTA", Align::Left),
        ("LIMIT", Align::Right),
        ("USED", Align::Right),
    ]);
    for (quota, usage) in QUOTA_USAGE {
        table.row([
            quota.to_owned(),
            num_cell(&tenant["quota"][quota]),
            num_cell(&tenant["usage"][usage]),
        ]);
    }
    format!(
        "tenant {} ({}): quotas bound the sum of its apps' limits\n{}\
         connections open now (this node): {}\n\
         handler memory in use now (this node): {} MiB of {}\n",
        str_cell(&tenant["slug"]),
        str_cell(&tenant["name"]),
        table.render(),
        num_cell(&tenant["connections"]),
        tenant["handler_memory_bytes"]
            .as_u64()
            .map_or("-".to_owned(), |b| (b >> 20).to_string()),
        num_cell(&tenant["quota"]["max_handler_memory_mb"]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acme() -> Value {
        json!({ "slug": "acme", "name": "Acme", "created_at": 0,
            "quota": { "max_apps": 10, "max_connections": 50000,
                       "max_handler_memory_mb": 1024, "kv_quota_bytes": 1_000_000 },
            "usage": { "apps": 2, "max_connections": 20000, "handler_memory_mb": 128,
                       "kv_quota_bytes": 0 },
            "connections": 17, "handler_memory_bytes": 50u64 << 20 })
    }

    #[test]
    fn the_list_shows_use_against_each_quota() {
        let text = list_table(&json!([acme()]));
        assert_eq!(
            text,
            "SLUG    APPS    CONNECTIONS   MEMORY MB     KV BYTES  CREATED           NAME\n\
             acme  2 / 10  20000 / 50000  128 / 1024  0 / 1000000  1970-01-01 00:00  Acme\n"
        );
    }

    #[test]
    fn quota_pairs_each_limit_with_its_use() {
        let text = quota_table(&acme());
        assert!(
            text.contains("max_connections          50000  20000\n"),
            "{text}"
        );
        assert!(
            text.contains("max_apps                    10      2\n"),
            "{text}"
        );
        assert!(text.contains("(this node): 17\n"), "{text}");
        assert!(text.ends_with("(this node): 50 MiB of 1024\n"), "{text}");
    }

    #[test]
    fn the_platform_table_names_each_ceiling_with_its_default() {
        let platform = json!({
            "app_limits": [{ "name": "max_connections", "min": 1, "max": 1000000 }],
            "tenant_quota": [{ "name": "max_apps", "min": 0, "max": 100000 }],
            "default_app_limits": { "max_connections": 10000 },
            "default_tenant_quota": { "max_apps": 10 },
        });
        assert_eq!(
            platform_table(&platform),
            "LIMIT                MIN      MAX  DEFAULT\n\
             app max_connections    1  1000000    10000\n\
             tenant max_apps        0   100000       10\n"
        );
    }

    #[test]
    fn only_the_quotas_given_are_sent() {
        let quota = Quotas {
            max_apps: Some(3),
            max_connections: None,
            max_handler_memory_mb: None,
            kv_quota_bytes: Some(0),
        };
        assert_eq!(
            Value::Object(quota.given()),
            json!({ "max_apps": 3, "kv_quota_bytes": 0 })
        );
    }
}
