//! The engine's imports checked against the layers `docs/ARCHITECTURE.md` draws: no file imports
//! another that imports it back (directly or round a circle), and each top-level module imports
//! only from its own layer or those below. Read from the source, so a new import that runs back up
//! fails here rather than in review.
//!
//! A file's imports are its `use` declarations and the `crate::`, `super::` and `self::` paths in
//! its code (comments, strings and inline test modules left out), each resolved to the file that
//! defines it: a name a `mod.rs` re-exports from a child counts as the child's. A `mod.rs` stands
//! for its directory, so imports between a module and the modules inside it do not count.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The engine's top-level modules, lowest layer first. A module may import from its own layer
/// and those below; a new module must be placed here.
const LAYERS: &[&[&str]] = &[
    // Leaves: no imports from the crate.
    &["error", "counters"],
    // Plain data and what it is measured with.
    &["clock", "settings", "model", "metrics"],
    &["store"],
    // The way into the store that every service takes.
    &["background", "core", "idempotency", "replica_reads"],
    // The one scheduler of background work, which services register their executors with.
    &["tasks"],
    &["auth"],
    &["ops", "query", "aliases"],
    &["jobs", "batches", "exports", "sweep", "copy"],
    // The facade, and tests that call everything.
    &["engine", "properties", "layers"],
];

type Module = Vec<String>;

/// `module::item`.
fn child(module: &[String], item: &str) -> Module {
    module.iter().cloned().chain([item.to_owned()]).collect()
}

fn name(m: &[String]) -> String {
    match m.is_empty() {
        true => "crate".to_owned(),
        false => m.join("::"),
    }
}

/// Every source file of the engine by module path (`lib.rs` is the root, `mod.rs` its directory).
fn sources() -> BTreeMap<Module, String> {
    fn walk(dir: &Path, at: &Module, out: &mut BTreeMap<Module, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let stem = path.file_stem().unwrap().to_str().unwrap().to_owned();
            let mut module = at.clone();
            if path.is_dir() {
                module.push(stem);
                walk(&path, &module, out);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            if !(stem == "mod" || (stem == "lib" && at.is_empty())) {
                module.push(stem);
            }
            out.insert(module, std::fs::read_to_string(&path).unwrap());
        }
    }
    let mut out = BTreeMap::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &vec![],
        &mut out,
    );
    out
}

/// The code of a file without comments, string or character literals, or an inline
/// `#[cfg(test)] mod … { … }` (whose `super` is the file itself, not its parent).
fn code(src: &str) -> String {
    let b = src.as_bytes();
    let (mut out, mut i) = (String::with_capacity(src.len()), 0);
    while i < b.len() {
        let rest = &src[i..];
        if rest.starts_with("//") {
            i += rest.find('\n').unwrap_or(rest.len());
        } else if rest.starts_with("/*") {
            i += rest.find("*/").map_or(rest.len(), |e| e + 2);
        } else if let Some(hashes) = raw_string(rest) {
            let close = format!("\"{}", "#".repeat(hashes));
            let body = hashes + 2;
            i += body + rest[body..].find(&close).unwrap() + close.len();
            out.push_str("\"\"");
        } else if b[i] == b'"' {
            i += 1;
            while b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if rest.starts_with("'\\") {
            i += 3 + rest[3..].find('\'').unwrap() + 1;
        } else if b[i] == b'\'' && rest.chars().nth(2) == Some('\'') {
            i += 1 + rest[1..].chars().next().unwrap().len_utf8() + 1;
        } else {
            let c = rest.chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    match out.find("#[cfg(test)]\nmod tests {") {
        Some(t) => out[..t].to_owned(),
        None => out,
    }
}

/// How many `#` a raw string starting `rest` has (`r"`, `r#"`, `br#"`…), if one does.
fn raw_string(rest: &str) -> Option<usize> {
    let r = rest.strip_prefix('b').unwrap_or(rest).strip_prefix('r')?;
    let hashes = r.len() - r.trim_start_matches('#').len();
    r[hashes..].starts_with('"').then_some(hashes)
}

/// The paths a `use` tree names: `a::{b, c::{d, e as f}}` is `a::b`, `a::c::d`, `a::c::e`.
fn expand(tree: &str) -> Vec<Vec<String>> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        let path = tree.split(" as ").next().unwrap();
        return vec![path.split("::").map(|s| s.trim().to_owned()).collect()];
    };
    let prefix: Vec<String> = tree[..open]
        .split("::")
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().to_owned())
        .collect();
    let inner = &tree[open + 1..tree.rfind('}').unwrap()];
    let (mut parts, mut depth, mut start) = (vec![], 0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    let parts = parts.into_iter().filter(|p| !p.trim().is_empty());
    parts
        .flat_map(expand)
        .map(|tail| prefix.iter().cloned().chain(tail).collect())
        .collect()
}

/// Where `word` starts in `code` as a whole word.
fn words<'a>(code: &'a str, word: &'a str) -> impl Iterator<Item = usize> + 'a {
    let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    code.match_indices(word).map(|(i, _)| i).filter(move |&i| {
        !ident(code[..i].chars().next_back()) && !ident(code[i + word.len()..].chars().next())
    })
}

/// The trees of a file's `use` declarations, and whether each is public (a re-export).
fn uses(code: &str) -> Vec<(bool, String)> {
    words(code, "use")
        .filter(|&i| code[i + 3..].starts_with(char::is_whitespace))
        .map(|i| {
            let public =
                code[..i].trim_end().ends_with("pub") || code[..i].trim_end().ends_with(')');
            let end = i + code[i..].find(';').unwrap();
            (public, code[i + 3..end].to_owned())
        })
        .collect()
}

/// The `crate::…`, `super::…` and `self::…` paths in a file's code (those in `use` declarations
/// too, which adds nothing: the paths outside them are what this is for).
fn inline_paths(code: &str) -> Vec<Vec<String>> {
    let mut out = vec![];
    for root in ["crate", "super", "self"] {
        for i in words(code, root) {
            let path: String = code[i..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            if path.contains("::") {
                out.push(
                    path.split("::")
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect(),
                );
            }
        }
    }
    out
}

struct Crate {
    modules: BTreeMap<Module, String>,
}

impl Crate {
    fn is_module(&self, m: &[String]) -> bool {
        self.modules.contains_key(m)
    }

    /// The file that defines what `path` names from inside `from`; `None` for other crates.
    fn resolve(&self, from: &Module, path: &[String]) -> Option<Module> {
        let ups = path.iter().take_while(|s| *s == "super").count();
        let (mut at, rest) = match path.first()?.as_str() {
            "crate" => (vec![], &path[1..]),
            "self" => (from.clone(), &path[1..]),
            "super" => (from[..from.len().checked_sub(ups)?].to_vec(), &path[ups..]),
            first if self.is_module(&child(from, first)) => (from.clone(), path),
            _ => return None,
        };
        let mut rest = rest.to_vec();
        // Bounded, in case re-exports ever ran in a loop.
        for _ in 0..16 {
            let Some(next) = rest.first().cloned() else {
                break;
            };
            let inner = child(&at, &next);
            if self.is_module(&inner) {
                at = inner;
                rest.remove(0);
            } else if let Some(target) = self.reexport(&at, &next) {
                rest.splice(0..1, target);
            } else {
                break;
            }
        }
        Some(at)
    }

    /// The path, relative to `module`, of the child item `module` re-exports as `item`.
    fn reexport(&self, module: &Module, item: &str) -> Option<Vec<String>> {
        let code = code(&self.modules[module]);
        let trees = uses(&code).into_iter().filter(|(public, _)| *public);
        trees
            .flat_map(|(_, tree)| expand(&tree))
            .find_map(|mut path| {
                if path.first().is_some_and(|s| s == "self") {
                    path.remove(0);
                }
                let named = path.len() > 1 && path.last().is_some_and(|last| last == item);
                (named && self.is_module(&child(module, &path[0]))).then_some(path)
            })
    }

    /// Which files each file imports, leaving out its own directory's `mod.rs` files and the
    /// modules inside it.
    fn imports(&self) -> BTreeMap<Module, BTreeSet<Module>> {
        let within = |a: &Module, b: &Module| a.starts_with(b) || b.starts_with(a);
        let mut graph = BTreeMap::new();
        for (module, src) in &self.modules {
            let code = code(src);
            let mut paths: Vec<Vec<String>> =
                uses(&code).iter().flat_map(|(_, t)| expand(t)).collect();
            paths.extend(inline_paths(&code));
            let targets = paths.iter().filter_map(|p| self.resolve(module, p));
            let targets = targets.filter(|t| !within(module, t)).collect();
            graph.insert(module.clone(), targets);
        }
        graph
    }
}

fn layer(top: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&top))
}

/// A circle through `start`, as the files it passes, if the graph has one.
fn circle(graph: &BTreeMap<Module, BTreeSet<Module>>, start: &Module) -> Option<Vec<Module>> {
    fn visit(
        graph: &BTreeMap<Module, BTreeSet<Module>>,
        path: &mut Vec<Module>,
        seen: &mut BTreeSet<Module>,
    ) -> bool {
        for next in graph.get(path.last().unwrap()).into_iter().flatten() {
            if *next == path[0] {
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if visit(graph, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start.clone()];
    visit(graph, &mut path, &mut BTreeSet::new()).then_some(path)
}

#[test]
fn imports_point_down_the_layers() {
    let engine = Crate { modules: sources() };
    let graph = engine.imports();
    // The parse found what it should: a known import, and a known one re-exported.
    let m = |s: &str| s.split("::").map(str::to_owned).collect::<Module>();
    assert!(graph[&m("ops::records")].contains(&m("core")));
    assert!(graph[&m("core")].contains(&m("model::principal")));

    let mut problems = vec![];
    for (module, targets) in &graph {
        let Some(top) = module.first() else { continue };
        let Some(rank) = layer(top) else {
            problems.push(format!("{top} is in no layer: place it in LAYERS"));
            continue;
        };
        for t in targets.iter().filter(|t| t.first() != Some(top)) {
            if layer(&t[0]).is_some_and(|r| r > rank) {
                problems.push(format!(
                    "{} imports {}, a layer above it",
                    name(module),
                    name(t)
                ));
            }
        }
    }
    let mut circled = BTreeSet::new();
    for module in graph.keys() {
        if circled.contains(module) {
            continue;
        }
        if let Some(files) = circle(&graph, module) {
            let names: Vec<String> = files.iter().map(|f| name(f)).collect();
            problems.push(format!(
                "import circle: {} -> {}",
                names.join(" -> "),
                names[0]
            ));
            circled.extend(files);
        }
    }
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

#[test]
fn the_parse_reads_use_trees_and_leaves_comments_and_strings_out() {
    let src = "use crate::{a::b, c::{self, d as e}};\n// use crate::x;\nlet s = \"crate::y\";\
               \nlet c = '\"'; super::z::f();\n#[cfg(test)]\nmod tests {\n    use crate::t;\n}\n";
    let code = code(src);
    let trees: Vec<Vec<Vec<String>>> = uses(&code).iter().map(|(_, t)| expand(t)).collect();
    let flat: Vec<String> = trees.concat().iter().map(|p| p.join("::")).collect();
    assert_eq!(flat, ["crate::a::b", "crate::c::self", "crate::c::d"]);
    let inline: Vec<String> = inline_paths(&code).iter().map(|p| p.join("::")).collect();
    assert!(inline.contains(&"super::z::f".to_owned()), "{inline:?}");
    assert!(!code.contains("crate::x") && !code.contains("crate::y") && !code.contains("crate::t"));
}
