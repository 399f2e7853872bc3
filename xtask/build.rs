//! Empty on purpose: xtask's `[build-dependencies]` are there only to give the crates that
//! proc macros and build scripts use the same features as xtask's own, so that cargo builds
//! each of them once (see Cargo.toml). A build-dependency needs a build script to belong to.

fn main() {}
