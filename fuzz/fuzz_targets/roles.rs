//! The `roles` input's grammar on arbitrary text: `inputs::roles_grammar::parse` never
//! panics, accepts at most MAX_PROFILES profiles, and whatever it accepts has
//! unique names and `via` references that name another accepted profile.
//! scripts/fuzz.sh gives each input a time limit, so a slow check across lines
//! (the `via` cycle walk, issue 22.4) shows up as a timeout.
#![no_main]

use keyless_aws::inputs::roles_grammar::{parse, MAX_PROFILES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(lines) = parse(text) else {
        return;
    };
    assert!(!lines.is_empty() && lines.len() <= MAX_PROFILES);
    let names: Vec<&str> = lines.iter().map(|l| l.name.as_str()).collect();
    for (i, l) in lines.iter().enumerate() {
        assert!(!names[..i].contains(&l.name.as_str()), "duplicate {}", l.name);
        if let Some(via) = &l.via {
            assert!(names.contains(&via.as_str()) && via.as_str() != l.name.as_str());
        }
    }
});
