//! The scenario loader never panics: any input is a scenario or an error value.
//! A scenario that loads is also run for a bounded number of events.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use std::sync::Arc;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(mut sc) = jobset_sim::scenario::parse_scenario(text, Path::new("fuzz.yaml")) {
        sc.max_events = sc.max_events.min(20_000);
        let mut w = jobset_sim::sim::World::new(Arc::new(sc), jobset_sim::sim::RunOptions::default());
        w.run();
    }
});
