#![no_main]
//! See `line_oa::fuzzing::operator_tokens` for the input and the invariants.

libfuzzer_sys::fuzz_target!(|data: &[u8]| line_oa::fuzzing::operator_tokens(data));
