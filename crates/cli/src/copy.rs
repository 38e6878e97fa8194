//! `sluice copy`: moves a whole instance into another database with a progress bar, then prints
//! the counts of both sides and fails if any differ.

use indicatif::{ProgressBar, ProgressStyle};
use sluice_engine::copy::CopyProgress;
use sluice_engine::{Engine, Settings};
use std::path::Path;
use std::time::Duration;

pub async fn run(from: &Path, to: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        from.join("sluice.db").is_file(),
        "{} holds no sluice database (sluice.db)",
        from.display()
    );
    let settings = Settings::default();
    let source = Engine::open(None, from, settings.clone())?;
    let scratch = tempfile::tempdir()?;
    let target = Engine::open(Some(to), scratch.path(), settings)?;
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template(
            "{msg:24} [{bar:40}] {human_pos}/{human_len} records  {per_sec}  eta {eta}",
        )?
        .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    let copied = source
        .copy_into(&target, &|p| match p {
            CopyProgress::Total(n) => bar.set_length(n),
            CopyProgress::Object(name) => bar.set_message(name),
            CopyProgress::Records(n) => bar.inc(n),
        })
        .await;
    bar.finish_and_clear();
    source.shutdown(Duration::from_secs(5)).await;
    target.shutdown(Duration::from_secs(5)).await;
    let report = copied?;
    println!("{:<48} {:>12} {:>12}", "", "source", "target");
    let mut differ = 0;
    for c in &report {
        let mark = if !c.checked {
            ""
        } else if c.source == c.target {
            "ok"
        } else {
            differ += 1;
            "DIFFERS"
        };
        println!("{:<48} {:>12} {:>12}  {mark}", c.what, c.source, c.target);
    }
    anyhow::ensure!(
        differ == 0,
        "{differ} counts differ between source and target"
    );
    println!("copied; start the server with the same --database URL");
    Ok(())
}
