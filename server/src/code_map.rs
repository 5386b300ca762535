//! Checks that keep `server/README.md` (the code map) and the module layering
//! true: the edge imports the data plane and never the other way round,
//! `config` is a leaf, every source file is on the map, and every public code
//! is in the README's tables and the WIT's reserved set. The checks of the
//! public codes need the server's modules; the rest read files and also run
//! in the light build (`--no-default-features`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The edge, outermost first: each may import those after it, none before.
const EDGE: [&str; 5] = ["cli", "server", "http", "api", "state"];

/// Modules that import no other module of the crate.
const LEAVES: [&str; 3] = ["config", "api::problem", "secrets"];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module a file belongs to, as `top` or `top::sub` for `api`.
fn module_of(file: &Path) -> String {
    let rel = file.strip_prefix(src()).unwrap();
    let parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    match parts.as_slice() {
        [api, sub, ..] if api == "api" && sub != "mod" => format!("api::{sub}"),
        [top, ..] => top.clone(),
        [] => unreachable!(),
    }
}

/// The crate modules a file's code names (`crate::x` or `crate::api::y`),
/// outside its `#[cfg(test)]` module.
fn imports_of(file: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(file).unwrap();
    let code = text
        .split("#[cfg(test)]\nmod tests")
        .next()
        .unwrap_or_default();
    let mut found = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if name == "api" {
            let sub: String = rest["api::".len().min(rest.len())..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            found.insert(if sub.is_empty() || sub.starts_with(char::is_uppercase) {
                "api".to_owned()
            } else {
                format!("api::{sub}")
            });
        } else if !name.is_empty() {
            found.insert(name);
        }
    }
    found
}

/// module → the modules it imports (itself excluded).
fn import_graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let module = module_of(&file);
        if module == "code_map" {
            continue;
        }
        let top = module.split("::").next().unwrap().to_owned();
        let imports = imports_of(&file)
            .into_iter()
            .filter(|i| *i != module && !(top == "api" && i == "api"))
            .collect::<BTreeSet<_>>();
        graph.entry(module).or_default().extend(imports);
    }
    graph
}

fn top(module: &str) -> &str {
    module.split("::").next().unwrap()
}

#[test]
fn the_data_plane_never_imports_the_edge() {
    let mut wrong = Vec::new();
    for (module, imports) in import_graph() {
        if EDGE.contains(&top(&module)) {
            continue;
        }
        for import in imports {
            if EDGE.contains(&top(&import)) && !LEAVES.contains(&import.as_str()) {
                wrong.push(format!("{module} imports {import}"));
            }
        }
    }
    assert!(wrong.is_empty(), "upward imports into the edge: {wrong:#?}");
}

#[test]
fn the_edge_imports_inward_only() {
    let rank = |m: &str| EDGE.iter().position(|e| *e == top(m));
    let mut wrong = Vec::new();
    for (module, imports) in import_graph() {
        let Some(mine) = rank(&module) else { continue };
        for import in imports {
            if let Some(theirs) = rank(&import)
                && theirs < mine
                && !LEAVES.contains(&import.as_str())
            {
                wrong.push(format!("{module} imports {import}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "the edge runs {EDGE:?}, outermost first: {wrong:#?}"
    );
}

#[test]
fn leaves_import_nothing_of_the_crate() {
    let graph = import_graph();
    for leaf in LEAVES {
        let imports = &graph[leaf];
        assert!(imports.is_empty(), "{leaf} imports {imports:?}");
    }
}

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

#[test]
fn every_source_file_is_on_the_code_map() {
    let readme = readme();
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut missing = Vec::new();
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        if matches!(
            name.as_str(),
            "mod.rs" | "lib.rs" | "main.rs" | "code_map.rs"
        ) || file.starts_with(src().join("cli"))
        {
            continue;
        }
        if !readme.contains(&name) {
            missing.push(file.strip_prefix(src()).unwrap().display().to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "server/README.md does not name {missing:?}"
    );
}

#[cfg(feature = "server")]
#[test]
fn every_public_code_is_in_the_readme() {
    let readme = readme();
    let mut missing = Vec::new();
    let mut check = |code: &str| {
        if !readme.contains(&format!("`{code}`")) {
            missing.push(code.to_owned());
        }
    };
    for code in eddy_proto::codes::ClientErrorCode::ALL {
        check(code.as_str());
    }
    for code in crate::api::ProblemCode::ALL {
        check(code.as_str());
    }
    for reason in crate::session::CloseReason::ALL {
        check(reason.as_str());
    }
    assert!(
        missing.is_empty(),
        "server/README.md's public codes tables miss {missing:?}"
    );
}

#[cfg(feature = "server")]
#[test]
fn the_wit_names_every_reserved_code() {
    let wit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk/wit/handler.wit"),
    )
    .unwrap();
    let doc = &wit[..wit.find("record event-error").unwrap()];
    for code in eddy_proto::codes::ClientErrorCode::ALL {
        assert!(
            doc.contains(&format!("`{}`", code.as_str())),
            "the WIT's event-error doc does not name {}",
            code.as_str()
        );
    }
    for prefix in eddy_proto::codes::RESERVED_PREFIXES {
        assert!(doc.contains(&format!("`{prefix}`")), "{prefix}");
    }
}
