#![no_main]
//! See `line_oa::fuzzing::cognito_groups` for the input and the invariants.

libfuzzer_sys::fuzz_target!(|data: &[u8]| line_oa::fuzzing::cognito_groups(data));
