#![no_main]
//! See `line_oa::fuzzing::signature` for the input and the invariants.

libfuzzer_sys::fuzz_target!(|data: &[u8]| line_oa::fuzzing::signature(data));
