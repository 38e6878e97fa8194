//! The flags against their defaults and the README's table.

use super::*;
use clap::Command;
use std::collections::HashMap;

/// Absolute links: `--public-url` as given (without a trailing `/`), else the request's host
/// or the listen address, with `https://` when sluice serves TLS.
#[test]
fn public_base_follows_tls_unless_a_public_url_is_set() {
    let mut c = Config::new(PathBuf::from("d"));
    assert_eq!(c.public_base(Some("h:1")), "http://h:1");
    (c.tls_cert, c.tls_key) = (Some("c.pem".into()), Some("k.pem".into()));
    assert_eq!(c.public_base(Some("h:1")), "https://h:1");
    assert_eq!(c.public_base(None), "https://127.0.0.1:0");
    c.public_url = Some("http://proxy.example/".into());
    assert_eq!(c.public_base(Some("h:1")), "http://proxy.example");
}

/// The README's configuration table names every flag with its environment variable and default.
#[test]
fn the_readme_lists_every_flag_with_its_default() {
    let readme = include_str!("../../../../README.md");
    let rows: HashMap<&str, Vec<&str>> = readme
        .lines()
        .filter(|l| l.starts_with("| `--"))
        .map(|l| {
            let cells: Vec<&str> = l
                .trim_matches('|')
                .split('|')
                .map(|c| c.trim().trim_matches('`'))
                .collect();
            (cells[0], cells)
        })
        .collect();
    let cmd = Config::augment_args(Command::new("serve"));
    let mut flags = 0;
    for arg in cmd.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        flags += 1;
        let flag = format!("--{long}");
        let row = rows
            .get(flag.as_str())
            .unwrap_or_else(|| panic!("README lacks {flag}"));
        let env = arg.get_env().map(|e| e.to_string_lossy().into_owned());
        assert_eq!(Some(row[1].to_owned()), env, "{flag}");
        let default = arg
            .get_default_values()
            .first()
            .map(|d| d.to_string_lossy().into_owned())
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| "none".into());
        assert_eq!(row[2], default, "{flag}");
    }
    assert_eq!(
        rows.len(),
        flags,
        "the README lists flags that do not exist"
    );
}
