//! Table-driven and property tests for regcred-core, in one test binary to keep link
//! times low.

mod address;
mod name;
mod props;
mod reference;
mod scope;
mod select;
mod text;
