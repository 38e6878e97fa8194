//! `/v1/bulk` bodies: framed and routed entry by entry, or refused.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sluice_server::fuzz::native_bulk(data));
