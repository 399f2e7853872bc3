//! `cargo xtask modules`: the module graph of each library crate, and a failure on any
//! import cycle.
//!
//! An edge runs from a crate's top-level module to each top-level module it names through
//! `crate::` (in a `use` or a path), a name that the crate root re-exports counting as
//! the module it comes from. Test code (`#[cfg(test)]`) is left out: it may use anything.
//! A cycle fails with its path, such as `error → retry → error`; the fix is a leaf module
//! for what both sides share.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::Path,
};

use anyhow::{Context, Result, bail};
use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;

/// The library crates whose module graph must be acyclic.
pub(crate) const CRATES: &[&str] = &[
    "crates/cockpit",
    "crates/cockpit-mock",
    "crates/generated",
    "crates/test-support",
];

pub(crate) fn run() -> Result<()> {
    let root = crate::codegen::workspace_root();
    for krate in CRATES {
        let graph = graph(&root.join(krate).join("src"))?;
        if let Some(cycle) = cycle(&graph) {
            bail!(
                "{krate}: an import cycle: {}; move what both sides use into a leaf module",
                cycle.join(" → ")
            );
        }
        println!("{krate}: {} modules, no import cycle", graph.len());
    }
    Ok(())
}

/// Each top-level module of the crate in `src`, with the modules it names.
pub(crate) fn graph(src: &Path) -> Result<BTreeMap<String, BTreeSet<String>>> {
    let mut modules = BTreeMap::new();
    for entry in fs::read_dir(src).with_context(|| format!("reading {}", src.display()))? {
        let path = entry?.path();
        let name = match (path.extension(), path.file_stem()) {
            (Some(ext), Some(stem)) if ext == "rs" => stem.to_string_lossy().to_string(),
            _ if path.join("mod.rs").exists() => path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string(),
            _ => continue,
        };
        if name == "lib" || name == "main" {
            continue;
        }
        let file = if path.is_dir() {
            path.join("mod.rs")
        } else {
            path
        };
        modules.insert(name, file);
    }
    let root = src.join("lib.rs");
    let reexports = if root.exists() {
        reexports(&parse(&root)?, &modules)
    } else {
        BTreeMap::new()
    };
    let mut graph = BTreeMap::new();
    for (name, file) in &modules {
        let mut names = BTreeSet::new();
        crate_names(parse(file)?.into_token_stream(), &mut names);
        let edges = names
            .into_iter()
            .filter_map(|n| {
                if modules.contains_key(&n) {
                    Some(n)
                } else {
                    reexports.get(&n).cloned()
                }
            })
            .filter(|n| n != name)
            .collect();
        graph.insert(name.clone(), edges);
    }
    Ok(graph)
}

/// The file without its `#[cfg(test)]` items.
fn parse(file: &Path) -> Result<syn::File> {
    let text = fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let mut parsed =
        syn::parse_file(&text).with_context(|| format!("parsing {}", file.display()))?;
    parsed.items.retain(|item| !is_test(item));
    Ok(parsed)
}

fn is_test(item: &syn::Item) -> bool {
    let attrs = match item {
        syn::Item::Mod(m) => &m.attrs,
        syn::Item::Fn(f) => &f.attrs,
        syn::Item::Use(u) => &u.attrs,
        syn::Item::Impl(i) => &i.attrs,
        _ => return false,
    };
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.meta.to_token_stream().to_string().replace(' ', "") == "cfg(test)"
    })
}

/// The names that `pub use module::{…}` in the crate root re-exports, each with its module.
fn reexports(
    root: &syn::File,
    modules: &BTreeMap<String, std::path::PathBuf>,
) -> BTreeMap<String, String> {
    fn walk(
        tree: &syn::UseTree,
        module: Option<&str>,
        modules: &BTreeMap<String, std::path::PathBuf>,
        out: &mut BTreeMap<String, String>,
    ) {
        match tree {
            syn::UseTree::Path(p) => {
                let first = p.ident.to_string();
                let module =
                    module.or_else(|| modules.contains_key(&first).then_some(first.as_str()));
                walk(&p.tree, module, modules, out);
            }
            syn::UseTree::Name(n) => {
                if let Some(m) = module {
                    out.insert(n.ident.to_string(), m.to_string());
                }
            }
            syn::UseTree::Rename(r) => {
                if let Some(m) = module {
                    out.insert(r.rename.to_string(), m.to_string());
                }
            }
            syn::UseTree::Group(g) => g.items.iter().for_each(|t| walk(t, module, modules, out)),
            syn::UseTree::Glob(_) => {}
        }
    }
    let mut out = BTreeMap::new();
    for item in &root.items {
        if let syn::Item::Use(u) = item {
            walk(&u.tree, None, modules, &mut out);
        }
    }
    out
}

/// Every name right after `crate::`, and the first name of each path in a
/// `crate::{…}` group, at any depth of `tokens`.
fn crate_names(tokens: TokenStream, out: &mut BTreeSet<String>) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    for (i, t) in tokens.iter().enumerate() {
        match t {
            TokenTree::Ident(id) if id == "crate" => {
                let colons = matches!((tokens.get(i + 1), tokens.get(i + 2)), (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b))) if a.as_char() == ':' && b.as_char() == ':');
                if !colons {
                    continue;
                }
                match tokens.get(i + 3) {
                    Some(TokenTree::Ident(next)) => {
                        out.insert(next.to_string());
                    }
                    Some(TokenTree::Group(g)) => group_heads(g.stream(), out),
                    _ => {}
                }
            }
            TokenTree::Group(g) => crate_names(g.stream(), out),
            _ => {}
        }
    }
}

/// The first name of each comma-separated path in a `use` group.
fn group_heads(tokens: TokenStream, out: &mut BTreeSet<String>) {
    let mut at_start = true;
    for t in tokens {
        match t {
            TokenTree::Ident(id) if at_start => {
                out.insert(id.to_string());
                at_start = false;
            }
            TokenTree::Punct(p) if p.as_char() == ',' => at_start = true,
            _ => at_start = false,
        }
    }
}

/// A cycle of the graph, as the path that closes it, if there is one.
pub(crate) fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut path = stack[at..].to_vec();
            path.push(node.to_string());
            return Some(path);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, stack, done) {
                return Some(found);
            }
        }
        stack.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph_of(files: &[(&str, &str)]) -> BTreeMap<String, BTreeSet<String>> {
        let dir = std::env::temp_dir().join(format!("xtask-modules-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        for (name, text) in files {
            fs::write(dir.join(name), text).unwrap();
        }
        let g = graph(&dir).unwrap();
        fs::remove_dir_all(&dir).unwrap();
        g
    }

    #[test]
    fn a_cycle_through_a_use_group_or_a_reexport_is_found_and_test_code_is_not() {
        let g = graph_of(&[
            ("lib.rs", "mod a; mod b; mod c; pub use c::Thing;"),
            ("a.rs", "use crate::{b::X, error};"),
            ("b.rs", "fn f() -> crate::Thing { todo!() }"),
            (
                "c.rs",
                "pub struct Thing; #[cfg(test)] mod tests { use crate::a::*; }",
            ),
        ]);
        assert_eq!(g["a"], BTreeSet::from(["b".to_string()]));
        assert_eq!(g["b"], BTreeSet::from(["c".to_string()]));
        assert!(g["c"].is_empty(), "test code makes no edge");
        assert_eq!(cycle(&g), None);
        let g = graph_of(&[
            ("lib.rs", "mod a; mod b; pub use a::Y;"),
            ("a.rs", "pub struct Y; fn f(_: crate::b::X) {}"),
            ("b.rs", "pub struct X; fn g(_: crate::Y) {}"),
        ]);
        assert_eq!(cycle(&g), Some(vec!["a".into(), "b".into(), "a".into()]));
    }

    #[test]
    fn the_workspace_crates_have_no_import_cycle() {
        let root = crate::codegen::workspace_root();
        for krate in CRATES {
            let g = graph(&root.join(krate).join("src")).unwrap();
            assert_eq!(cycle(&g), None, "{krate}: {g:?}");
        }
    }
}
