//! Checks the mdBook tutorial in `book/` so that CI fails on a broken link or sample
//! (`book/src/contributing.md` documents the conventions for authors):
//!
//! 1. every chapter file is listed in `SUMMARY.md` and every listed file exists;
//! 2. every relative link (`[text](path)`, `[text](path#anchor)`, `[text](#anchor)`, reference
//!    definitions `[x]: path`, HTML `href=`/`src=`) of every `book/src/**/*.md` points at an
//!    existing file, and an `#anchor` into a book page names one of its headings (mdBook's
//!    heading-id rule, [`heading_ids`]); links must stay inside `book/src` (nothing else is in
//!    the built HTML);
//! 3. every `{{#include path}}` / `{{#include path:anchor}}` / `{{#rustdoc_include …}}` names an
//!    existing file, and the anchor is delimited in it by `ANCHOR: name` / `ANCHOR_END: name`;
//! 4. every ```` ```console ```` block preceded by `<!-- check -->` is run: each `$ ` line is a
//!    shell command, run with `sh -c` in the repository root with the `halt-llm` binary of this
//!    build first on `PATH` (stderr merged into stdout, as on a terminal), and must exit with
//!    status 0 and print what the book shows below it (`[..]` in a shown line matches any text,
//!    a shown line `...` any number of lines). `<!-- check: run -->` runs the commands without
//!    comparing their output. `runs/book/` (git-ignored) is emptied first, so the resumable
//!    stages that write there start fresh.
//!
//! The Rust samples of the book live in `tests/book_samples.rs` (compiled and run as tests) and
//! are included from there; point 3 checks that their anchors exist.

use std::collections::{BTreeSet, HashSet};
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use regex::Regex;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const BIN: &str = env!("CARGO_BIN_EXE_halt-llm");

fn book_src() -> PathBuf {
    Path::new(ROOT).join("book/src")
}

/// Every `*.md` under `book/src`, sorted.
fn pages() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "md") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&book_src(), &mut out);
    out.sort();
    assert!(out.len() > 1, "no pages in {}", book_src().display());
    out
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn rel(path: &Path) -> String {
    path.strip_prefix(ROOT)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// `a/b/../c` → `a/c` without touching the file system (the target may not exist).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// One line of a page, with whether it lies inside a fenced code block (fence lines count as
/// inside).
struct Line<'a> {
    number: usize,
    text: &'a str,
    in_code: bool,
}

fn lines(text: &str) -> Vec<Line<'_>> {
    let mut fence: Option<String> = None;
    let mut out = Vec::new();
    for (i, text) in text.lines().enumerate() {
        let t = text.trim_start();
        let marker: String = t.chars().take_while(|c| *c == '`' || *c == '~').collect();
        let is_fence =
            marker.len() >= 3 && marker.chars().all(|c| c == marker.chars().next().unwrap());
        let in_code = match &fence {
            Some(open) => {
                if is_fence && t.trim_end() == marker && marker.starts_with(open.as_str()) {
                    fence = None;
                }
                true
            }
            None if is_fence => {
                fence = Some(marker);
                true
            }
            None => false,
        };
        out.push(Line {
            number: i + 1,
            text,
            in_code,
        });
    }
    out
}

/// Text with inline code spans removed (links inside them are not links).
fn without_code_spans(line: &str) -> String {
    Regex::new(r"`[^`]*`")
        .unwrap()
        .replace_all(line, "")
        .into_owned()
}

/// The heading ids mdBook 0.5 gives a page: the heading's text, trimmed, lower-cased,
/// alphanumerics, `_` and `-` kept, whitespace turned into `-`, everything else dropped;
/// a repeated id gets `-1`, `-2`, …; an explicit `{#id}` is taken as written.
fn heading_ids(page: &str) -> HashSet<String> {
    let link = Regex::new(r"\[([^\]]*)\]\([^)]*\)").unwrap();
    let explicit = Regex::new(r"\s*\{#([^}\s]+)[^}]*\}\s*$").unwrap();
    let mut used = HashSet::new();
    for line in lines(page).iter().filter(|l| !l.in_code) {
        let Some(rest) = line.text.strip_prefix('#') else {
            continue;
        };
        let rest = rest.trim_start_matches('#');
        if !(rest.starts_with(' ') || rest.is_empty()) {
            continue;
        }
        if let Some(c) = explicit.captures(rest) {
            used.insert(c[1].to_string());
            continue;
        }
        let text = link.replace_all(rest.trim().trim_end_matches('#'), "$1");
        let text: String = text.chars().filter(|c| *c != '`' && *c != '*').collect();
        let id: String = text
            .trim()
            .to_lowercase()
            .chars()
            .filter_map(|ch| {
                if ch.is_alphanumeric() || ch == '_' || ch == '-' {
                    Some(ch)
                } else if ch.is_whitespace() {
                    Some('-')
                } else {
                    None
                }
            })
            .collect();
        let mut unique = id.clone();
        let mut n = 1;
        while !used.insert(unique.clone()) {
            unique = format!("{id}-{n}");
            n += 1;
        }
    }
    used
}

/// The relative link targets of a page, with their line numbers (external URLs left out).
fn link_targets(page: &str) -> Vec<(usize, String)> {
    let inline = Regex::new(r#"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)"#).unwrap();
    let definition = Regex::new(r"^\s{0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?").unwrap();
    let html = Regex::new(r#"(?:href|src)\s*=\s*"([^"]+)""#).unwrap();
    let mut out = Vec::new();
    for line in lines(page).iter().filter(|l| !l.in_code) {
        let text = without_code_spans(line.text);
        for re in [&inline, &definition, &html] {
            for c in re.captures_iter(&text) {
                let target = c[1].to_string();
                let external = target.contains("://") || target.starts_with("mailto:");
                if !external {
                    out.push((line.number, target));
                }
            }
        }
    }
    out
}

/// Checks one link target of `page`; `Err` says what is wrong.
fn check_link(page: &Path, target: &str) -> Result<(), String> {
    let (path, anchor) = match target.split_once('#') {
        Some((p, a)) => (p, Some(a)),
        None => (target, None),
    };
    let file = if path.is_empty() {
        page.to_path_buf()
    } else {
        normalize(&page.parent().unwrap().join(path))
    };
    if !file.exists() {
        return Err(format!("`{target}`: {} does not exist", rel(&file)));
    }
    if !path.is_empty() && !file.starts_with(book_src()) {
        return Err(format!(
            "`{target}`: {} is outside book/src, so the built book would not have it",
            rel(&file)
        ));
    }
    if path.ends_with(".html") {
        return Err(format!("`{target}`: link the .md page, mdBook rewrites it"));
    }
    if let Some(anchor) = anchor
        && file.extension().is_some_and(|e| e == "md")
        && file.starts_with(book_src())
    {
        let ids = heading_ids(&read(&file));
        if !ids.contains(anchor) {
            let mut known: Vec<_> = ids.into_iter().collect();
            known.sort();
            return Err(format!(
                "`{target}`: no heading `#{anchor}` in {} (ids: {})",
                rel(&file),
                known.join(", ")
            ));
        }
    }
    Ok(())
}

/// Checks one `{{#include …}}` argument (`path`, `path:anchor`, `path:from:to`).
fn check_include(page: &Path, arg: &str) -> Result<(), String> {
    let mut parts = arg.splitn(2, ':');
    let path = parts.next().unwrap_or("");
    let selector = parts.next();
    let file = normalize(&page.parent().unwrap().join(path));
    if !file.is_file() {
        return Err(format!("include `{arg}`: {} does not exist", rel(&file)));
    }
    if let Some(sel) = selector {
        let is_range = sel
            .split(':')
            .all(|p| p.is_empty() || p.parse::<usize>().is_ok());
        if !is_range {
            let text = read(&file);
            let start = Regex::new(&format!(r"ANCHOR:\s*{}\b", regex::escape(sel))).unwrap();
            let end = Regex::new(&format!(r"ANCHOR_END:\s*{}\b", regex::escape(sel))).unwrap();
            if !start.is_match(&text) || !end.is_match(&text) {
                return Err(format!(
                    "include `{arg}`: {} has no `ANCHOR: {sel}` … `ANCHOR_END: {sel}`",
                    rel(&file)
                ));
            }
        }
    }
    Ok(())
}

/// All problems with links and includes in one page's text (`page` gives the folder that
/// relative paths start from).
fn page_problems(page: &Path, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for (line, target) in link_targets(text) {
        if let Err(e) = check_link(page, &target) {
            problems.push(format!("{}:{line}: {e}", rel(page)));
        }
    }
    let include = Regex::new(r"\{\{#(?:include|rustdoc_include)\s+([^}\s]+)\s*\}\}").unwrap();
    for l in lines(text) {
        for c in include.captures_iter(l.text) {
            if let Err(e) = check_include(page, &c[1]) {
                problems.push(format!("{}:{}: {e}", rel(page), l.number));
            }
        }
    }
    problems
}

#[test]
fn summary_lists_every_page_and_every_listed_page_exists() {
    let summary_path = book_src().join("SUMMARY.md");
    let summary = read(&summary_path);
    let listed: BTreeSet<PathBuf> = link_targets(&summary)
        .into_iter()
        .map(|(_, t)| normalize(&book_src().join(t.split('#').next().unwrap())))
        .collect();
    let mut problems = Vec::new();
    for p in &listed {
        if !p.is_file() {
            problems.push(format!("SUMMARY.md lists {}, which does not exist", rel(p)));
        }
    }
    for p in pages() {
        if p != summary_path && !listed.contains(&p) {
            problems.push(format!("{} is not listed in SUMMARY.md", rel(&p)));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn links_includes_and_anchors_resolve() {
    let mut problems = Vec::new();
    for page in pages() {
        problems.extend(page_problems(&page, &read(&page)));
    }
    assert!(
        problems.is_empty(),
        "broken in the book:\n{}",
        problems.join("\n")
    );
}

/// The checker itself: a broken link, anchor or include is found, good ones are not.
#[test]
fn the_link_checker_finds_what_is_broken() {
    let page = book_src().join("introduction.md");
    let good = "[a](halt.md) [b](halt.md#the-trade-off) [c](#what-this-book-covers) \
                `[not a link](nowhere.md)`\n\
                {{#include ../../tests/book_samples.rs:load_dataset}}\n";
    assert_eq!(page_problems(&page, good), Vec::<String>::new());
    let bad = "[a](nowhere.md)\n[b](halt.md#no-such-heading)\n[c](#nor-here)\n\
               {{#include ../../tests/no_such_file.rs}}\n\
               {{#include ../../tests/book_samples.rs:no_such_anchor}}\n";
    let problems = page_problems(&page, bad);
    assert_eq!(problems.len(), 5, "{problems:#?}");
}

#[test]
fn heading_ids_follow_mdbook() {
    let ids = heading_ids(
        "# What HALT is and why\n## `--alpha`: the threshold\n## Steps\n## Steps\n\
         ```sh\n# not a heading\n```\n## Custom {#my-id}\n## [Linked](x.md) title\n",
    );
    let want: HashSet<String> = [
        "what-halt-is-and-why",
        "--alpha-the-threshold",
        "steps",
        "steps-1",
        "my-id",
        "linked-title",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(ids, want);
}

/// A command of a checked console block and the output the book shows for it.
struct Shown {
    page: PathBuf,
    line: usize,
    command: String,
    output: Vec<String>,
    compare: bool,
}

/// The commands of every `<!-- check -->` / `<!-- check: run -->` console block of a page.
fn checked_commands(page: &Path, text: &str) -> Vec<Shown> {
    let all = lines(text);
    let mut out = Vec::new();
    let mut i = 0;
    while i < all.len() {
        let l = &all[i];
        let mark = if l.in_code { "" } else { l.text.trim() };
        let compare = match mark {
            "<!-- check -->" => Some(true),
            "<!-- check: run -->" => Some(false),
            _ => None,
        };
        let Some(compare) = compare else {
            i += 1;
            continue;
        };
        let fence = all.get(i + 1).map(|l| l.text.trim());
        assert_eq!(
            fence,
            Some("```console"),
            "{}:{}: `{mark}` must be followed directly by a ```console block",
            rel(page),
            l.number
        );
        let mut j = i + 2;
        let mut current: Option<Shown> = None;
        while j < all.len() && all[j].text.trim() != "```" {
            let t = all[j].text;
            if let Some(cmd) = t.strip_prefix("$ ") {
                out.extend(current.take());
                current = Some(Shown {
                    page: page.to_path_buf(),
                    line: all[j].number,
                    command: cmd.to_string(),
                    output: Vec::new(),
                    compare,
                });
            } else if let Some(c) = current.as_mut() {
                c.output.push(t.to_string());
            } else {
                panic!(
                    "{}:{}: output before the first `$ ` command",
                    rel(page),
                    all[j].number
                );
            }
            j += 1;
        }
        out.extend(current.take());
        i = j + 1;
    }
    out
}

/// Whether `got` matches the shown lines (`[..]` any text within a line, `...` any lines).
fn output_matches(shown: &[String], got: &[&str]) -> bool {
    fn line_matches(pattern: &str, got: &str) -> bool {
        let parts: Vec<&str> = pattern.split("[..]").collect();
        if parts.len() == 1 {
            return pattern == got;
        }
        let mut rest = got;
        for (k, part) in parts.iter().enumerate() {
            if k == 0 {
                let Some(r) = rest.strip_prefix(part) else {
                    return false;
                };
                rest = r;
            } else if k == parts.len() - 1 {
                return rest.ends_with(part);
            } else {
                let Some(pos) = rest.find(part) else {
                    return false;
                };
                rest = &rest[pos + part.len()..];
            }
        }
        true
    }
    match shown.split_first() {
        None => got.is_empty(),
        Some((first, rest)) if first == "..." => {
            (0..=got.len()).any(|skip| output_matches(rest, &got[skip..]))
        }
        Some((first, rest)) => {
            !got.is_empty() && line_matches(first, got[0]) && output_matches(rest, &got[1..])
        }
    }
}

fn trimmed_lines(text: &str) -> Vec<&str> {
    let mut v: Vec<&str> = text.lines().map(str::trim_end).collect();
    while v.last().is_some_and(|l| l.is_empty()) {
        v.pop();
    }
    v
}

#[test]
fn output_matching_rules() {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert!(output_matches(&s(&["a", "b"]), &["a", "b"]));
    assert!(!output_matches(&s(&["a", "b"]), &["a", "c"]));
    assert!(output_matches(
        &s(&["judge: 1/1 ([..]/min, [..] s)"]),
        &["judge: 1/1 (3.2/min, 0 s)"]
    ));
    assert!(!output_matches(
        &s(&["judge: 2/2 [..]"]),
        &["judge: 1/1 (3.2/min, 0 s)"]
    ));
    assert!(output_matches(
        &s(&["a", "...", "z"]),
        &["a", "b", "c", "z"]
    ));
    assert!(output_matches(&s(&["a", "...", "z"]), &["a", "z"]));
    assert!(!output_matches(&s(&["a", "...", "z"]), &["a", "b"]));
}

/// Runs one shown command; `Err` has the details.
fn run_shown(cmd: &Shown) -> Result<(), String> {
    let bin_dir = Path::new(BIN).parent().unwrap();
    let path = std::env::join_paths(std::iter::once(bin_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("exec 2>&1\n{}", cmd.command))
        .current_dir(ROOT)
        .env("PATH", path)
        .env_remove("HALT_DEVICE")
        .env("NO_COLOR", "1")
        .output()
        .map_err(|e| format!("cannot run sh: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let place = format!("{}:{}: `$ {}`", rel(&cmd.page), cmd.line, cmd.command);
    if !out.status.success() {
        return Err(format!("{place} exited with {}:\n{text}", out.status));
    }
    if cmd.compare && !output_matches(&cmd.output, &trimmed_lines(&text)) {
        let shown: Vec<&str> = cmd.output.iter().map(|s| s.trim_end()).collect();
        return Err(format!(
            "{place}: the output differs from the book\n--- book:\n{}\n--- actual:\n{}",
            trimmed_lines(&shown.join("\n")).join("\n"),
            trimmed_lines(&text).join("\n")
        ));
    }
    Ok(())
}

#[test]
fn console_commands_marked_check_run_and_print_what_the_book_shows() {
    let runs = Path::new(ROOT).join("runs/book");
    if runs.exists() {
        std::fs::remove_dir_all(&runs).unwrap();
    }
    std::fs::create_dir_all(&runs).unwrap();
    let commands: Vec<Shown> = pages()
        .iter()
        .flat_map(|p| checked_commands(p, &read(p)))
        .collect();
    assert!(
        commands.iter().any(|c| c.command.starts_with("halt-llm ")),
        "no checked `$ halt-llm` command in the book"
    );
    let problems: Vec<String> = commands.iter().filter_map(|c| run_shown(c).err()).collect();
    eprintln!("ran {} commands shown in the book", commands.len());
    assert!(problems.is_empty(), "\n{}", problems.join("\n\n"));
}
