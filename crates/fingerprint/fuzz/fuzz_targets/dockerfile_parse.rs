//! Any text: parsing and planning must return Ok or a typed error, never panic.
#![no_main]

use imagedeploy_fingerprint::dockerfile;
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(df) = dockerfile::parse(&text) {
        let mut args = BTreeMap::new();
        args.insert("A".to_string(), "x/../y".to_string());
        let _ = dockerfile::plan(&df, None, &args);
        let _ = dockerfile::plan(&df, Some("build"), &BTreeMap::new());
    }
});
