//! The code judge (dependent lines; paper §"Judge", book "Fragments and judges"): the answer's code is compiled as a
//! prefix and run against the example's tests in a sandbox; a line is marked only on evidence.
//!
//! Program: `prompt + code + test + "check(<entry_point>)"`, where `code` is the
//! [`code_region`] of the answer (a full `def` after the prompt simply redefines the function;
//! a bare body continues the prompt's `def`).
//!
//! Sandbox ([`run_python`]): a separate `python3 -I` process in its own process group, in a fresh
//! temporary directory with an empty environment except `PATH`; a runner (`sandbox/runner.py`)
//! sets `RLIMIT_AS` (memory, default 1 GiB), `RLIMIT_CPU`, `RLIMIT_FSIZE` (16 MiB per file) and no
//! core files, and arms `faulthandler` to print where the program is stuck shortly before the
//! wall-clock limit (default 10 s), at which the whole process group is killed; the run returns
//! once the program's processes are gone. Isolation ([`isolation`], decided once per
//! interpreter): where bubblewrap (`bwrap`) is installed and runs the interpreter, the program
//! sees only the system's program directories (`/usr`, `/lib*`, `/bin`) and the interpreter's
//! installation, read-only, no `/proc`, and two `tmpfs` of its own, its working directory and
//! `/tmp`, of at most [`SCRATCH_BYTES`](super::sandbox::SCRATCH_BYTES) each (where bubblewrap
//! supports `--size`: Debian 12's 0.8 does), so its files cannot fill the disk; it has no
//! network and its own process, IPC, host-name and user namespaces, with at most
//! [`MAX_PROCESSES`](super::sandbox::MAX_PROCESSES) processes (`RLIMIT_NPROC`, which the kernel
//! does not apply to root: a root caller runs bubblewrap as user `nobody` when that user can run
//! the interpreter; see [`processes_limited`]), so its memory is at most that many times the
//! memory limit (no control group is used). Without bubblewrap, where `unshare -rn` works
//! (Linux with user namespaces, or root; [`network_isolated`]) the program runs in an empty
//! network namespace but can read and write what the user can; elsewhere (macOS, other systems)
//! only Python's `socket` connect functions are disabled (not a security boundary). Both print a
//! warning once.
//!
//! A run *passes* only if the program ran to its end: exit status 0 and a secret, random per
//! run, that the program's last line (added by [`run_python`]) writes to a descriptor of the
//! runner's. The program reaches the runner on its standard input and runs as a fresh
//! `__main__` module, so the secret is only a constant of its code object; the runner's audit
//! hook (PEP 578, which cannot be removed) keeps that out of reach: a frame's code (`f_code`
//! of any frame, from `sys._getframe`, a traceback, a generator or a signal handler:
//! `ValueError`), protected functions' `__code__`, the garbage collector's object lists,
//! `ctypes` (under any package name), tracing and profiling (turning them off is allowed),
//! starting other programs (`os.exec*`, `posix_spawn`, `subprocess`, `_posixsubprocess`'s
//! `fork_exec`), symbolic links, changing directory and paths through `/proc` or `/dev/fd`. So
//! an exit before the end (`sys.exit(0)`, `exit()`, `quit()`, `raise SystemExit`,
//! `os._exit(0)`) is a failure, and so is a program that reads or guesses the secret through
//! Python's interfaces and exits; the runner prints the traceback of a `SystemExit` and the
//! stack of an `os._exit` call, so the line that exits can be found. The price: generated code
//! that formats tracebacks (`traceback.format_exc()`, `logging.exception`, `inspect.stack()`)
//! fails here. The limit: the secret is in the program's own process, and a program written to
//! exploit CPython's internals (hand-made bytecode that reads the interpreter's stack, a
//! `marshal`-built code object) can still read it; a proof from outside the process (the tests
//! run in a process of their own that calls the answer's function through a pipe) is the step
//! that closes it, not taken yet.
//! A program written to fool its tests (an object equal to everything, a replaced builtin the
//! tests call) is beyond any judge that runs tests, this one included.
//!
//! # Verdicts
//!
//! Every verdict rests on evidence; a line without any is `null` (undecided), counted by the
//! run's [`NullPolicy`](crate::dataset::record::NullPolicy) and reported as undecided. The
//! answer may be partial (cut at the token limit, or stopped by HALT before "Unsure from Here"),
//! and the judge cannot tell a finished program from an unfinished one that happens to parse, so
//! every answer is judged by the same rules:
//!
//! 1. *Prefix.* The answer's code is compiled as the prefix of a program (Python's `codeop`,
//!    which tells input that is incomplete from input that is invalid). A syntax error in a line
//!    of the answer that no continuation could fix marks that line wrong, except in a last line
//!    without a line break, which may have been cut mid-line. What is run is the longest prefix
//!    of the answer's lines that compiles, an open block closed by `pass` and an open `try` by
//!    `finally: pass`; lines left out (an unfinished statement, a `def` or `class` with no body
//!    yet, whose `pass` would replace one already given, a syntax error and what follows) are
//!    not judged by the run.
//! 2. *Run.* That prefix is run with the tests. If it passes, its lines are correct; lines left
//!    out stay `null`, or are wrong from a syntax error on.
//! 3. *Located failure.* Otherwise the first wrong line is asked of the LLM judge when one is
//!    configured (told when the code is unfinished), and the lines before the one it names are
//!    correct. Without one (or if it names none), the last traceback frame in the answer's lines
//!    (the first `faulthandler` frame, for a timeout; the exit call, for an exit) marks the first
//!    wrong line — unless a frame of the failure lies in a loop or `try` still open at the
//!    answer's last run line, where the missing rest of the block (the next iteration's state, an
//!    `except` clause) could have changed the outcome. The earlier of that line and a syntax
//!    error is the first wrong line; it and every line after it are wrong.
//! 4. *Right so far.* Lines before the first wrong one, or of a failing answer with no located
//!    failure (a failed assertion, a wrong result: no line to blame), are correct only where the
//!    reference shows it: answer lines `1..=i` are the reference's first lines (trailing
//!    whitespace and blank lines aside), or, followed by the reference solution's lines after
//!    some line `j`, they pass the tests while those reference lines alone do not (the answer's
//!    lines do the work of the reference's first `j`). The largest such `i` is searched in one
//!    sandboxed process (each try a fraction of a second, all within the wall-clock limit); its
//!    lines are correct, any others stay `null`.
//!
//! So a partial answer is never wrong for what it has not written yet: lines that match the
//! reference's way to the solution (its names and state) are correct so far, as HALT needs to
//! keep them before the marker; lines written another way are `null`; only a failure or syntax
//! error located in the answer makes lines wrong.

use std::sync::{Arc, LazyLock};

use regex::Regex;
use serde::Deserialize;
use serde_json::{Value, json};

use super::llm::LlmJudge;
use super::sandbox::run_python_showing;
use super::sandbox::token;
pub use super::sandbox::{
    Isolation, RunOutcome, SandboxLimits, isolation, network_isolated, processes_limited,
    run_python,
};
use super::{Judge, JudgeError, expect_domain};
use crate::dataset::domain::Domain;
use crate::dataset::example::Example;
use crate::dataset::fragment::{Splitter, code_region, code_text};
use crate::dataset::record::Fragment;
use crate::dataset::truth::CodeTruth;

/// Classifies the answer's code as a prefix and closes it (rule 1 of the module docs); prints
/// one JSON line: `kept` code lines, their `closer`, the program line of a `syntax` error that
/// is evidence, and the `open` loops and `try` blocks at the last kept line.
const ANALYSE: &str = include_str!("code/analyse.py");

/// Finds how many of the answer's lines the reference's continuation shows right (rule 4 of the
/// module docs); prints `<token> <lines>`.
const SPLICE: &str = include_str!("code/splice.py");

static FRAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"File "prog\.py", line (\d+)"#).unwrap());

/// Told to the LLM judge when the code it sees is unfinished.
const UNFINISHED: &str = "\nThe attempt is unfinished: it stops after its last line (to run it, \
an open block was closed with `pass` or an unfinished statement left out). Judge only the lines \
given, not what is missing.\n";

fn code_truth(example: &Example) -> Result<&CodeTruth, JudgeError> {
    example.code().ok_or_else(|| JudgeError::BadTruth {
        id: example.id.clone(),
        message: "no code ground truth".into(),
    })
}

/// The prompt, ending with a line break (the answer's code starts on a line of its own).
fn prompt_head(example: &Example) -> String {
    let mut head = example.prompt.clone();
    if !head.is_empty() && !head.ends_with('\n') {
        head.push('\n');
    }
    head
}

/// `head` (prompt and code) followed by the tests and the call that runs them.
fn with_tests(head: &str, truth: &CodeTruth) -> String {
    format!("{head}\n\n{}\n\ncheck({})\n", truth.test, truth.entry_point)
}

/// The program to run for `code` (see the module docs) and the 0-based program line of the
/// code's first line.
///
/// # Errors
/// [`JudgeError::BadTruth`] if `example` has no code ground truth.
pub fn program_for(example: &Example, code: &str) -> Result<(String, usize), JudgeError> {
    let truth = code_truth(example)?;
    let head = prompt_head(example);
    let first_line = head.matches('\n').count();
    Ok((with_tests(&format!("{head}{code}"), truth), first_line))
}

/// A Python program that sets `INPUT` (a JSON text) to `input` and then runs `script`.
fn script(script: &str, input: &Value) -> String {
    // a JSON string literal is a Python string literal too
    let literal = serde_json::to_string(&input.to_string()).expect("a string serialises");
    format!("INPUT = {literal}\n{script}")
}

/// What [`ANALYSE`] found about the answer's code (rule 1 of the module docs).
#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Prefix {
    /// Lines of the code (split after `\n`) in the program that is run.
    kept: usize,
    /// What closes the kept lines (`pass`, `finally: pass`), if anything.
    closer: String,
    /// The program line (1-based) of a syntax error in the answer that is evidence.
    syntax: Option<usize>,
    /// Program lines (first, last) of loops and `try` blocks open at the last kept line.
    open: Vec<(usize, usize)>,
}

/// The code judge; see the module docs.
#[derive(Debug, Clone, Default)]
pub struct CodeJudge {
    /// Sandbox limits.
    pub limits: SandboxLimits,
    /// Locates the first wrong line of a failing answer, if configured.
    pub llm: Option<Arc<LlmJudge>>,
}

impl CodeJudge {
    /// Rule 1: the answer's `code` as a prefix after `head`, whose last line is program line
    /// `first_line`. If the analysis itself fails, the code is run as it stands and no failure
    /// is located (no evidence).
    fn analyse(&self, head: &str, code: &str, first_line: usize) -> Result<Prefix, JudgeError> {
        let input = json!({"prompt": head, "code": code, "first": first_line});
        let out = run_python(&script(ANALYSE, &input), &self.limits)?;
        let parsed = out
            .stdout
            .lines()
            .last()
            .and_then(|l| serde_json::from_str::<Prefix>(l).ok());
        Ok(match parsed {
            Some(p) if out.passed => p,
            _ => Prefix {
                kept: code.split_inclusive('\n').count(),
                closer: String::new(),
                syntax: None,
                open: vec![(0, usize::MAX)],
            },
        })
    }

    /// Rule 4: the largest `i` such that the code up to `ends[i - 1]` (a byte offset in `code`)
    /// is shown right by the reference's continuation; 0 if none is.
    fn right_so_far(
        &self,
        example: &Example,
        head: &str,
        code: &str,
        ends: &[usize],
    ) -> Result<usize, JudgeError> {
        let truth = code_truth(example)?;
        let wall = self.limits.wall.as_secs_f64();
        let per_try = (wall / 8.0).min(0.25);
        let prefixes: Vec<(usize, &str)> = ends
            .iter()
            .enumerate()
            .rev()
            .map(|(i, &end)| (i + 1, &code[..end]))
            .collect();
        let token = token();
        let input = json!({
            "prompt": head,
            "prefixes": prefixes,
            "reference": &example.reference[code_region(&example.reference)],
            "test": truth.test,
            "entry_point": truth.entry_point,
            "per_try": per_try,
            "budget": (wall - 1.0 - per_try).max(0.1),
        });
        // the token only on the runner's stdin, not in the `prog.py` the answers can read
        let splice = SPLICE.replace("__HALT_TOKEN__", &token);
        let out = run_python_showing(
            &script(&splice, &input),
            &script(SPLICE, &input),
            &self.limits,
        )?;
        Ok(out
            .stdout
            .lines()
            .filter_map(|l| l.strip_prefix(&token)?.trim().parse::<usize>().ok())
            .next_back()
            .unwrap_or(0)
            .min(ends.len()))
    }
}

/// Rule 3 without the LLM: the program line of the failure in `stderr`, if its frames in the
/// answer's run lines (`first_line < line <= last_line`) locate it (none in an `open` block).
fn located(
    stderr: &str,
    first_line: usize,
    last_line: usize,
    open: &[(usize, usize)],
) -> Option<usize> {
    let frames: Vec<usize> = FRAME
        .captures_iter(stderr)
        .filter_map(|c| c[1].parse::<usize>().ok())
        .filter(|&line| line > first_line && line <= last_line)
        .collect();
    if frames
        .iter()
        .any(|&line| open.iter().any(|&(a, b)| (a..=b).contains(&line)))
    {
        return None;
    }
    // tracebacks list the innermost frame last, faulthandler (timeouts) first
    if stderr.contains("most recent call first") {
        frames.first().copied()
    } else {
        frames.last().copied()
    }
}

/// Lines before `right` correct, lines from `first_wrong` on wrong, the others `null`.
fn marked(n: usize, right: usize, first_wrong: Option<usize>) -> Vec<Option<bool>> {
    let mut v = vec![None; n];
    v[..right.min(n)].fill(Some(true));
    if let Some(w) = first_wrong.filter(|&w| w < n) {
        v[w..].fill(Some(false));
    }
    v
}

impl Judge for CodeJudge {
    fn domain(&self) -> Domain {
        Domain::Code
    }

    fn splitter(&self) -> Splitter {
        Splitter::Lines
    }

    fn judge(&self, example: &Example, response: &str) -> Result<Vec<Fragment>, JudgeError> {
        expect_domain(example, Domain::Code)?;
        let truth = code_truth(example)?;
        let spans = self.fragments(response);
        if spans.is_empty() {
            return Ok(Vec::new());
        }
        let region = code_region(response);
        // The program: the region without a list item's fence indentation.
        let program = code_text(response);
        let code = program.as_str();
        let head = prompt_head(example);
        let first_line = head.matches('\n').count();
        // program line (1-based) of each span, and the span at or before a program line
        let span_lines: Vec<usize> = spans
            .iter()
            .map(|s| first_line + 1 + response[region.start..s.start].matches('\n').count())
            .collect();
        let span_at = |line: usize| span_lines.iter().rposition(|&l| l <= line);
        let prefix = self.analyse(&head, code, first_line)?;
        let code_lines = code.split_inclusive('\n').count();
        let kept = prefix.kept.min(code_lines);
        let last_line = first_line + kept;
        let kept_spans = span_lines.iter().filter(|&&l| l <= last_line).count();
        let run: String = code.split_inclusive('\n').take(kept).collect();
        let outcome = run_python(
            &with_tests(&format!("{head}{run}{}", prefix.closer), truth),
            &self.limits,
        )?;
        let syntax = prefix.syntax.and_then(span_at);
        let n = spans.len();
        let verdicts = if outcome.passed {
            marked(n, kept_spans, syntax)
        } else {
            let from_llm = match &self.llm {
                Some(llm) => {
                    let texts: Vec<&str> = spans.iter().map(|s| s.text.as_str()).collect();
                    let mut feedback = outcome.stderr.clone();
                    if kept < code_lines || !prefix.closer.is_empty() {
                        feedback.push_str(UNFINISHED);
                    }
                    llm.first_wrong_step(&example.prompt, &example.reference, &texts, &feedback)?
                        .filter(|&w| w < n)
                }
                None => None,
            };
            match from_llm {
                Some(w) => marked(n, w, Some(w)),
                None => {
                    let failed = located(&outcome.stderr, first_line, last_line, &prefix.open)
                        .and_then(span_at);
                    let first_wrong = match (syntax, failed) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                    let limit = first_wrong.unwrap_or(n);
                    let right = if limit == 0 {
                        0
                    } else {
                        // byte offset in `code` of the end of each span's line
                        let ends: Vec<usize> = spans[..limit]
                            .iter()
                            .map(|s| {
                                let end = s.end - region.start;
                                code[end..].find('\n').map_or(code.len(), |i| end + i + 1)
                            })
                            .collect();
                        self.right_so_far(example, &head, code, &ends)?
                    };
                    marked(n, right, first_wrong)
                }
            }
        };
        Ok(spans
            .into_iter()
            .zip(verdicts)
            .map(|(s, v)| Fragment::new(s, v))
            .collect())
    }
}

#[cfg(test)]
#[path = "code_tests.rs"]
mod tests;
