//! The manifest path of `validate` never panics: YAML documents, JobSet parsing, defaulting
//! and the webhook's validation turn any input into an admitted JobSet or errors.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(docs) = jobset_sim::input::parse_yaml_documents(text) else { return };
    let gates = jobset_sim::admission::FeatureGates {
        restart_job: true,
        in_place_restart: true,
        elastic_jobset: true,
    };
    for doc in &docs {
        let mut d = jobset_sim::input::Diags::default();
        if let Some(mut js) = jobset_sim::api::JobSet::parse(doc, &mut d) {
            let _ = jobset_sim::admission::admit_create(&mut js, &gates, &|_, _| None);
            let _ = jobset_sim::admission::warnings(&js);
        }
    }
});
