//! Integration tests, compiled into one test binary. Tests that need the real clips read them from
//! `$FORMCHECK_CLIPS_DIR` (default `../shared/clips` beside the project); without them those tests
//! say so and skip, unless `FORMCHECK_REQUIRE_CLIPS=1` (set by CI) makes that a failure.

mod analysis;
mod bar;
mod batch;
mod cli;
mod common;
mod corpus;
mod fidelity;
mod fuzz_regressions;
mod html;
mod layers;
mod lifter;
mod names;
mod props;
mod robust;
mod segmentation;
mod serve;
mod shard;
mod synthetic;
mod video;
