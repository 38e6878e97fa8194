//! Uploads: any bytes, as a CSV, a ZIP or NDJSON, are normalised or refused with a clear error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_engine::jobs::upload::{normalize, Format};
use sluice_engine::settings::Settings;
use sluice_engine::ErrorCode;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let format = [Format::Csv, Format::Zip, Format::Ndjson][pick as usize % 3];
    let dir = tempfile::tempdir().unwrap();
    let (raw, out) = (dir.path().join("raw"), dir.path().join("out.csv"));
    std::fs::write(&raw, body).unwrap();
    let mut limits = Settings::default().upload;
    limits.max_unzipped_bytes = 1 << 20;
    if let Err(e) = normalize(&raw, format, "upload.csv", &out, &limits) {
        assert_ne!(e.code, ErrorCode::Internal, "{e}");
    }
});
