//! Code lines of a code answer (dependent fragments).
//!
//! If the answer has a fenced block (```` ``` ```` or `~~~`), the fragments are the non-blank
//! lines inside the *first* one (to its closing fence, or to the end of the text if it is not
//! closed); the fence lines themselves never are fragments. Without a fence, every non-blank line
//! is a fragment. Lines keep their indentation (it is Python syntax) but not trailing
//! whitespace or `\r`.

use std::ops::Range;

use crate::dataset::record::Span;

/// The byte range of the code in `text`: the inside of the first fenced block (from the line
/// after the opening fence to the start of the closing fence line), or all of `text`.
pub fn code_region(text: &str) -> Range<usize> {
    let mut offset = 0;
    let mut open: Option<(usize, &str)> = None;
    for line in text.split_inclusive('\n') {
        let t = line.trim();
        match open {
            None => {
                if let Some(fence) = ["```", "~~~"].into_iter().find(|f| t.starts_with(f)) {
                    open = Some((offset + line.len(), fence));
                }
            }
            Some((start, fence)) => {
                if t.starts_with(fence) && t.trim_start_matches(fence).trim().is_empty() {
                    return start..offset;
                }
            }
        }
        offset += line.len();
    }
    match open {
        Some((start, _)) => start..text.len(),
        None => 0..text.len(),
    }
}

/// The code of `text` as a program: [`code_region`], with the indentation of the opening
/// fence removed from each line (at most as many columns as the fence's, tabs counting to the
/// next multiple of 4: CommonMark's rule for a fence indented inside a list item), so that code
/// fenced under `1. Define it:`, by spaces or by a tab, runs as it would unindented.
pub fn code_text(text: &str) -> String {
    let region = code_region(text);
    let code = &text[region.clone()];
    // The opening fence is the line that ends where the region starts.
    let indent = match text[..region.start].strip_suffix('\n') {
        Some(before) if region.start > 0 => {
            let fence_line = &before[before.rfind('\n').map_or(0, |i| i + 1)..];
            let t = fence_line.trim_start();
            if t.starts_with("```") || t.starts_with("~~~") {
                columns(
                    &fence_line
                        [..fence_line.len() - fence_line.trim_start_matches([' ', '\t']).len()],
                )
            } else {
                0
            }
        }
        _ => 0,
    };
    if indent == 0 {
        return code.to_string();
    }
    code.split_inclusive('\n')
        .map(|line| {
            let mut col = 0;
            let mut cut = 0;
            for c in line.chars() {
                let next = match c {
                    ' ' => col + 1,
                    '\t' => (col / 4 + 1) * 4,
                    _ => break,
                };
                if next > indent {
                    break;
                }
                col = next;
                cut += 1;
            }
            &line[cut..]
        })
        .collect()
}

/// The width in columns of leading whitespace `ws` (tab stops every 4 columns).
fn columns(ws: &str) -> usize {
    ws.chars().fold(0, |col, c| {
        if c == '\t' {
            (col / 4 + 1) * 4
        } else {
            col + 1
        }
    })
}

/// Line spans of the code in `text` (see the module docs).
pub fn lines(text: &str) -> Vec<Span> {
    let region = code_region(text);
    let mut out = Vec::new();
    let mut offset = region.start;
    for line in text[region.clone()].split_inclusive('\n') {
        let body = line.trim_end();
        if !body.trim().is_empty() {
            out.push(Span {
                text: body.to_string(),
                start: offset,
                end: offset + body.len(),
            });
        }
        offset += line.len();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(spans: &[Span]) -> Vec<&str> {
        spans.iter().map(|s| s.text.as_str()).collect()
    }

    #[test]
    fn fenced_block_lines_without_fences_or_blanks() {
        let t = "Here is the code:\n```python\ndef f(x):\n\n    return x + 1\n```\nDone.";
        let s = lines(t);
        assert_eq!(texts(&s), ["def f(x):", "    return x + 1"]);
        assert_eq!((s[0].start, s[0].end), (28, 37));
        for f in &s {
            assert_eq!(&t[f.start..f.end], f.text);
        }
    }

    #[test]
    fn unclosed_fence_runs_to_the_end_and_crlf_is_trimmed() {
        let t = "~~~\r\n    a = 1\r\n    return a\r\n";
        assert_eq!(texts(&lines(t)), ["    a = 1", "    return a"]);
    }

    #[test]
    fn a_fence_indented_in_a_list_item_loses_its_indentation() {
        // Issue 14, case 6.
        let t =
            "1. Define the function:\n   ```python\n   def f(x):\n       return x + 1\n   ```\n";
        assert_eq!(code_text(t), "def f(x):\n    return x + 1\n");
        // Not indented: unchanged; a line indented less than the fence loses what it has.
        let t = "```\ndef f(x):\n    return x\n```\n";
        assert_eq!(code_text(t), "def f(x):\n    return x\n");
        assert_eq!(
            code_text("  ```\nx = 1\n   y = 2\n  ```"),
            "x = 1\n y = 2\n"
        );
        assert_eq!(code_text("x = 1\n"), "x = 1\n");
        // a tab before the fence: one tab (4 columns) comes off each line
        let t = "1. Define the function:\n\t```python\n\tdef f(x):\n\t    return x + 1\n\t```\n";
        assert_eq!(code_text(t), "def f(x):\n    return x + 1\n");
        // a tab fence, code indented by spaces: four spaces are the tab's columns
        let t = "\t```\n    def f(x):\n        return x\n\t```\n";
        assert_eq!(code_text(t), "def f(x):\n    return x\n");
    }

    #[test]
    fn no_fence_means_every_non_blank_line() {
        // datasets/code/train.jsonl, code-humaneval-003 (reference, abridged)
        let t = "    balance = 0\n\n    for op in operations:\n        balance += op\n";
        assert_eq!(
            texts(&lines(t)),
            [
                "    balance = 0",
                "    for op in operations:",
                "        balance += op"
            ]
        );
        assert!(lines("\n\n").is_empty());
    }

    #[test]
    fn only_the_first_block_counts() {
        let t = "```\nx = 1\n```\ntext\n```\ny = 2\n```";
        assert_eq!(texts(&lines(t)), ["x = 1"]);
    }
}
