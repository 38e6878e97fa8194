//! The dashboard in a real browser: `tests/ui/dashboard.mjs` drives Debian's Chromium with
//! Playwright against a server started here. Playwright comes from `target/ui-tests` (installed by
//! `.ci/run`); without it, or without Chromium, the test says it is skipped — unless
//! `SLUICE_REQUIRE_UI_TESTS` is set, as CI does. Screenshots go to `target/ui-screenshots`
//! (`docs/ui` with `SLUICE_UPDATE_SCREENSHOTS=1`).

use crate::common::{spawn_app, ADMIN};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Where Playwright and Chromium are, or why the test cannot run.
fn browser_kit() -> Result<(PathBuf, PathBuf), String> {
    let modules = root().join("target/ui-tests/node_modules");
    if !modules.join("playwright-core").is_dir() {
        return Err("playwright-core is not installed under target/ui-tests (npm install --prefix target/ui-tests playwright-core, as .ci/run does)".into());
    }
    let chromium = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if !chromium.exists() {
        return Err(format!(
            "no Chromium at {} (apt-get install chromium, as .ci/run does)",
            chromium.display()
        ));
    }
    if Command::new("node").arg("--version").output().is_err() {
        return Err("no node".into());
    }
    Ok((modules, chromium))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_does_an_import_and_a_cleanup_in_a_browser() {
    let (modules, chromium) = match browser_kit() {
        Ok(kit) => kit,
        Err(why) => {
            assert!(
                std::env::var_os("SLUICE_REQUIRE_UI_TESTS").is_none(),
                "the browser tests cannot run: {why}"
            );
            eprintln!("SKIPPED the_dashboard_does_an_import_and_a_cleanup_in_a_browser: {why}");
            return;
        }
    };
    let app = spawn_app().await;
    let shots = match std::env::var_os("SLUICE_UPDATE_SCREENSHOTS") {
        Some(_) => root().join("docs/ui"),
        None => root().join("target/ui-screenshots"),
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui/dashboard.mjs");
    let base = app.url("");
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(script)
            .args([base.as_str(), ADMIN])
            .arg(&shots)
            .env("UI_NODE_MODULES", modules)
            .env("CHROMIUM", chromium)
            .output()
            .expect("node runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the browser test failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("dashboard: all steps passed"), "{stdout}");
}
