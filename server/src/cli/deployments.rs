//! `eddy deploy`, `eddy deployments`, `eddy rollback`: an app's versions.

use anyhow::Context;
use serde_json::{Value, json};

use super::remote::Remote;
use super::table::{Align, Output, Table, time_cell};

pub(super) fn deploy(
    remote: &Remote,
    app: &str,
    file: &std::path::Path,
    notes: Option<&str>,
    activate: bool,
) -> anyhow::Result<()> {
    let component =
        std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let client = remote.client()?;
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

pub(super) fn list(remote: &Remote, app: &str, output: Output) -> anyhow::Result<()> {
    let list = remote.client()?.get(&format!("/apps/{app}/deployments"))?;
    output.print(&list, table);
    Ok(())
}

fn table(list: &Value) -> String {
    let mut table = Table::new(&[
        ("VERSION", Align::Right),
        ("STATUS", Align::Left),
        ("SHA256", Align::Left),
        ("BYTES", Align::Right),
        ("CREATED", Align::Left),
        ("BY", Align::Left),
        ("NOTES", Align::Left),
    ]);
    for d in list.as_array().into_iter().flatten() {
        let hash = d["hash"].as_str().unwrap_or_default();
        table.row([
            d["version"].to_string(),
            d["status"].as_str().unwrap_or_default().to_owned(),
            hash[..hash.len().min(12)].to_owned(),
            d["size"].to_string(),
            time_cell(&d["created_at"]),
            d["created_by"].as_str().unwrap_or_default().to_owned(),
            d["notes"].as_str().unwrap_or_default().to_owned(),
        ]);
    }
    table.render()
}

pub(super) fn rollback(remote: &Remote, app: &str, version: Option<i64>) -> anyhow::Result<()> {
    let body = match version {
        Some(v) => json!({ "version": v }),
        None => Value::Object(Default::default()),
    };
    let d = remote
        .client()?
        .post_json(&format!("/apps/{app}/rollback"), &body)?;
    println!("version {} of {app} is live again", d["version"]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_align_whatever_their_widths() {
        let list = json!([
            { "version": 10, "status": "active", "hash": "0123456789abcdef", "size": 123456,
              "created_at": 1_709_251_260_000_i64, "created_by": "ci (deployer, token 4)", "notes": "rooms" },
            { "version": 9, "status": "superseded", "hash": "fedcba", "size": 99,
              "created_at": 1_709_251_200_000_i64, "created_by": "admin", "notes": "" },
        ]);
        assert_eq!(
            table(&list),
            "VERSION  STATUS      SHA256         BYTES  CREATED           BY                      NOTES\n\
             \x20    10  active      0123456789ab  123456  2024-03-01 00:01  ci (deployer, token 4)  rooms\n\
             \x20     9  superseded  fedcba            99  2024-03-01 00:00  admin\n"
        );
    }
}
