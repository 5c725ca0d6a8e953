//! The crate's modules import each other without cycles: each top-level module of `src/` may
//! use only modules below it. Reads the sources (`crate::<module>` paths, comments stripped)
//! and fails naming the modules of any cycle. Run: `cargo test --test pure architecture::`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Top-level module → the top-level modules it names through `crate::`.
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap();
        let top = rel.iter().next().unwrap().to_string_lossy().trim_end_matches(".rs").to_owned();
        if top == "lib" {
            continue;
        }
        let code: String = std::fs::read_to_string(f)
            .unwrap()
            .lines()
            .map(|l| l.split("//").next().unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n");
        let deps = graph.entry(top.clone()).or_default();
        for (i, _) in code.match_indices("crate::") {
            let name: String = code[i + 7..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if name != top && !name.is_empty() {
                deps.insert(name);
            }
        }
    }
    let modules: BTreeSet<String> = graph.keys().cloned().collect();
    graph.values_mut().for_each(|d| d.retain(|m| modules.contains(m)));
    graph
}

#[test]
fn modules_import_each_other_without_cycles() {
    let graph = module_graph();
    assert!(graph.contains_key("plan") && graph.contains_key("txn"), "{graph:?}");
    // Peel off modules that import nothing left; whatever remains sits on a cycle.
    let mut left = graph.clone();
    loop {
        let leaves: Vec<String> = left.iter().filter(|(_, d)| d.is_empty()).map(|(m, _)| m.clone()).collect();
        if leaves.is_empty() {
            break;
        }
        for l in &leaves {
            left.remove(l);
        }
        left.values_mut().for_each(|d| d.retain(|m| !leaves.contains(m)));
    }
    assert!(left.is_empty(), "modules on an import cycle: {left:#?}");
}

#[test]
fn the_pure_planner_imports_no_io() {
    let graph = module_graph();
    for io in ["discover", "txn", "steps", "clients", "compose", "deploy", "verify"] {
        assert!(!graph["plan"].contains(io), "plan imports {io}: {:?}", graph["plan"]);
    }
}
