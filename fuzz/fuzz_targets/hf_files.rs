#![no_main]
// The body is sharpening_lab::fuzzing::hf_files (also run by tests/suite/fuzz_smoke.rs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| sharpening_lab::fuzzing::hf_files(data));
