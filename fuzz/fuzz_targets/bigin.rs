//! The bigin dialect's decoder: any body decodes into engine calls or is refused.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sluice_server::fuzz::bigin(data));
