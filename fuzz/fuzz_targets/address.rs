//! Registry addresses and scopes as typed, and server URLs as docker sends them.
//! The checks live in `regcred::fuzzing::address`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| regcred::fuzzing::address(data));
