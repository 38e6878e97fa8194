//! The native filter language: any request line and query string parses or is refused.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sluice_server::fuzz::native_request(data));
