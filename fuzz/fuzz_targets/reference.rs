//! Image references, as `regcred resolve` parses them.
//! The checks live in `regcred::fuzzing::reference`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| regcred::fuzzing::reference(data));
