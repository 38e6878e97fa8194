//! Saved profiles: a server URL and token per name, in `<config dir>/sluice/profiles.json` (mode
//! 0600, since it holds tokens). `--url`/`SLUICE_URL` and `--token`/`SLUICE_TOKEN` override them.

use super::{Api, ClientArgs};
use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Profile {
    url: String,
    token: String,
}

type Profiles = BTreeMap<String, Profile>;

fn path() -> anyhow::Result<PathBuf> {
    let dir = dirs::config_dir().context("no configuration directory (set XDG_CONFIG_HOME)")?;
    Ok(dir.join("sluice").join("profiles.json"))
}

fn load() -> anyhow::Result<Profiles> {
    let p = path()?;
    match std::fs::read(&p) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a profiles file", p.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Profiles::new()),
        Err(e) => Err(e).with_context(|| format!("could not read {}", p.display())),
    }
}

/// Writes the profiles readable by this user only.
fn save(profiles: &Profiles) -> anyhow::Result<PathBuf> {
    let p = path()?;
    if let Some(dir) = p.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options
        .open(&p)
        .with_context(|| format!("could not write {}", p.display()))?;
    #[cfg(unix)]
    std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    f.write_all(&serde_json::to_vec_pretty(profiles)?)?;
    Ok(p)
}

/// The server and token to use: flags and environment first, then the profile.
pub fn connect(args: &ClientArgs) -> anyhow::Result<Api> {
    let saved = load()?.remove(&args.profile);
    let url = args
        .url
        .clone()
        .or_else(|| saved.as_ref().map(|p| p.url.clone()));
    let token = args
        .token
        .clone()
        .or_else(|| saved.as_ref().map(|p| p.token.clone()));
    let Some(url) = url else {
        bail!(
            "no server: run `sluice login URL`, or set --url / SLUICE_URL (profile {:?})",
            args.profile
        );
    };
    Api::new(&url, token)
}

/// `sluice login URL [--token T]`: checks the token with the server, then saves the profile.
pub async fn login(args: &ClientArgs, url: &str, token: Option<String>) -> anyhow::Result<()> {
    let token = match token.or_else(|| args.token.clone()) {
        Some(t) => t,
        None => read_token()?,
    };
    let api = Api::new(url, Some(token.clone()))?;
    let me = api.get("/v1/me").await?;
    if me["kind"] == "anonymous" {
        bail!("the server did not accept that token");
    }
    let mut profiles = load()?;
    profiles.insert(
        args.profile.clone(),
        Profile {
            url: api.base.clone(),
            token,
        },
    );
    let saved = save(&profiles)?;
    let who = match me["app"].as_str() {
        Some(app) => format!(
            "{} ({} of app {app})",
            me["user"].as_str().unwrap_or_default(),
            me["role"].as_str().unwrap_or_default()
        ),
        None => me["user"].as_str().unwrap_or_default().to_owned(),
    };
    println!(
        "logged in to {} as {who}; profile {:?} saved in {}",
        api.base,
        args.profile,
        saved.display()
    );
    Ok(())
}

fn read_token() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("token: ");
        std::io::stderr().flush()?;
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line)?;
    let t = line.trim().to_owned();
    if t.is_empty() {
        bail!("no token given (pass --token or type it)");
    }
    Ok(t)
}
