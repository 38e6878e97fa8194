//! Fail-points: named places where a test can make the process die as a kill -9 would, to prove
//! that jobs resume exactly. Set `SLUICE_FAILPOINTS=name:n,…` to abort on the n-th pass; unset,
//! each check is one relaxed load.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

fn armed() -> &'static Option<Mutex<HashMap<String, AtomicU64>>> {
    static POINTS: OnceLock<Option<Mutex<HashMap<String, AtomicU64>>>> = OnceLock::new();
    POINTS.get_or_init(|| {
        let spec = std::env::var("SLUICE_FAILPOINTS").ok()?;
        let map = spec
            .split(',')
            .filter_map(|p| {
                let (name, n) = p.split_once(':')?;
                Some((
                    name.trim().to_owned(),
                    AtomicU64::new(n.trim().parse().ok()?),
                ))
            })
            .collect();
        Some(Mutex::new(map))
    })
}

/// Aborts the process (no unwinding, no cleanup, like SIGKILL) on the armed pass through `name`.
pub fn hit(name: &str) {
    let Some(points) = armed() else { return };
    let points = points.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(left) = points.get(name) {
        if left.fetch_sub(1, Ordering::SeqCst) == 1 {
            eprintln!("failpoint {name}: aborting");
            std::process::abort();
        }
    }
}
