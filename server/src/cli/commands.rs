//! The admin commands: each is one or two admin API calls, printed for people.

use std::time::Duration;

use anyhow::Context;
use serde_json::{Value, json};

use super::client::AdminClient;
use super::{AppCommand, Command, Remote};

pub(super) fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::App { command } => app(command),
        Command::Deploy {
            remote,
            app,
            file,
            notes,
            no_activate,
        } => deploy(&remote, &app, &file, notes.as_deref(), !no_activate),
        Command::Deployments { remote, app } => deployments(&remote, &app),
        Command::Rollback {
            remote,
            app,
            version,
        } => rollback(&remote, &app, version),
        Command::Token { command } => super::tokens::run(command),
        Command::Serve(_) | Command::Config { .. } | Command::Migrate(_) => {
            unreachable!("handled by cli::main")
        }
    }
}

pub(super) fn client(remote: &Remote) -> anyhow::Result<AdminClient> {
    AdminClient::new(
        &remote.server,
        remote.token.clone(),
        Duration::from_secs(remote.timeout_secs),
    )
}

fn app(command: AppCommand) -> anyhow::Result<()> {
    match command {
        AppCommand::Create {
            remote,
            slug,
            name,
            max_connections,
            max_events_per_second,
            max_payload,
            handler_deadline_ms,
            handler_memory_mb,
            kv_quota_bytes,
            max_rooms_per_socket,
            max_room_name_bytes,
            max_namespaces,
            allowed_origins,
        } => {
            let mut limits = serde_json::Map::new();
            for (key, value) in [
                ("max_connections", max_connections),
                ("max_events_per_second", max_events_per_second),
                ("max_payload", max_payload),
                ("handler_deadline_ms", handler_deadline_ms),
                ("handler_memory_mb", handler_memory_mb),
                ("kv_quota_bytes", kv_quota_bytes),
                ("max_rooms_per_socket", max_rooms_per_socket),
                ("max_room_name_bytes", max_room_name_bytes),
                ("max_namespaces", max_namespaces),
            ] {
                if let Some(value) = value {
                    limits.insert(key.into(), value.into());
                }
            }
            if !allowed_origins.is_empty() {
                limits.insert("allowed_origins".into(), allowed_origins.into());
            }
            let body = json!({ "slug": slug, "name": name, "limits": limits });
            let created = client(&remote)?.post_json("/apps", &body)?;
            println!("created app {slug}");
            println!("  clients connect at /apps/{slug}/socket.io/");
            println!(
                "  public key: {}",
                created["public_key"].as_str().unwrap_or_default()
            );
            println!(
                "  secret:     {}",
                created["secret"].as_str().unwrap_or_default()
            );
            eprintln!("the secret is shown this once: keep it for the tenant server API");
            Ok(())
        }
        AppCommand::List { remote } => {
            let apps = client(&remote)?.get("/apps")?;
            println!(
                "{:<24} {:>8} {:>12}  NAME",
                "SLUG", "VERSION", "CONNECTIONS"
            );
            for app in apps.as_array().into_iter().flatten() {
                println!(
                    "{:<24} {:>8} {:>12}  {}",
                    app["slug"].as_str().unwrap_or_default(),
                    app["active_version"]
                        .as_i64()
                        .map_or("-".into(), |v| v.to_string()),
                    app["connections"].as_u64().unwrap_or(0),
                    app["name"].as_str().unwrap_or_default(),
                );
            }
            Ok(())
        }
        AppCommand::Delete { remote, slug, yes } => {
            anyhow::ensure!(
                yes,
                "deleting {slug} deletes its deployments and data: add --yes to confirm"
            );
            client(&remote)?.delete(&format!("/apps/{slug}"))?;
            println!("deleted app {slug}");
            Ok(())
        }
    }
}

fn deploy(
    remote: &Remote,
    app: &str,
    file: &std::path::Path,
    notes: Option<&str>,
    activate: bool,
) -> anyhow::Result<()> {
    let component =
        std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let client = client(remote)?;
    eprintln!(
        "uploading {} ({} bytes) to {app}…",
        file.display(),
        component.len()
    );
    let mut path = format!("/apps/{app}/deployments?activate={activate}");
    if let Some(notes) = notes {
        path.push_str("&notes=");
        path.push_str(&form_urlencoded::byte_serialize(notes.as_bytes()).collect::<String>());
    }
    let report = client.post_bytes(&path, "application/wasm", component)?;
    for step in report["steps"].as_array().into_iter().flatten() {
        eprintln!(
            "  {:<12} ok  {:>5} ms",
            step["step"].as_str().unwrap_or_default(),
            step["millis"]
        );
    }
    let d = &report["deployment"];
    let hash = d["hash"].as_str().unwrap_or_default();
    if report["activated"].as_bool() == Some(true) {
        println!(
            "version {} of {app} is live (sha256 {})",
            d["version"],
            &hash[..hash.len().min(12)]
        );
    } else {
        println!(
            "version {} of {app} is stored, not live (sha256 {})",
            d["version"],
            &hash[..hash.len().min(12)]
        );
    }
    Ok(())
}

fn deployments(remote: &Remote, app: &str) -> anyhow::Result<()> {
    let list = client(remote)?.get(&format!("/apps/{app}/deployments"))?;
    println!(
        "{:>7}  {:<8}  {:<12}  {:>9}  {:<16}  NOTES",
        "VERSION", "STATUS", "SHA256", "BYTES", "BY"
    );
    for d in list.as_array().into_iter().flatten() {
        let hash = d["hash"].as_str().unwrap_or_default();
        println!(
            "{:>7}  {:<8}  {:<12}  {:>9}  {:<16}  {}",
            d["version"],
            d["status"].as_str().unwrap_or_default(),
            &hash[..hash.len().min(12)],
            d["size"],
            d["created_by"].as_str().unwrap_or_default(),
            d["notes"].as_str().unwrap_or_default(),
        );
    }
    Ok(())
}

fn rollback(remote: &Remote, app: &str, version: Option<i64>) -> anyhow::Result<()> {
    let body = match version {
        Some(v) => json!({ "version": v }),
        None => Value::Object(Default::default()),
    };
    let d = client(remote)?.post_json(&format!("/apps/{app}/rollback"), &body)?;
    println!("version {} of {app} is live again", d["version"]);
    Ok(())
}
