//! `registries.toml` and `secrets.toml`, as a person may have edited them.
//! The checks live in `regcred::fuzzing::store_file`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| regcred::fuzzing::store_file(data));
