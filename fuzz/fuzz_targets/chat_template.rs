#![no_main]
// The body is sharpening_lab::fuzzing::chat_template (also run by tests/suite/fuzz_smoke.rs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| sharpening_lab::fuzzing::chat_template(data));
