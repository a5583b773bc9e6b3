#![no_main]
//! See `line_oa::fuzzing::archive_object` for the input and the invariants.

libfuzzer_sys::fuzz_target!(|data: &[u8]| line_oa::fuzzing::archive_object(data));
