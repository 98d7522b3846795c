#![no_main]
// The body is sharpening_lab::fuzzing::url_hash (also run by tests/suite/fuzz_smoke.rs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| sharpening_lab::fuzzing::url_hash(data));
