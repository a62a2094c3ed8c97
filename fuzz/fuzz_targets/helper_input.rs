//! What `docker-credential-regcred store|get|erase` reads on stdin.
//! The checks live in `regcred::fuzzing::helper_input`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| regcred::fuzzing::helper_input(data));
