//! Progress of a long stage: an [`indicatif`] bar when stderr is a terminal, plain periodic
//! lines otherwise (logs, CI), so a redirected run still shows that it is alive.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// How often a plain (non-terminal) progress line is printed at most.
pub const PLAIN_INTERVAL: Duration = Duration::from_secs(10);

/// Reports progress of `total` items of one stage on stderr.
pub struct Progress {
    label: String,
    total: usize,
    done: usize,
    start: Instant,
    last_line: Instant,
    bar: Option<ProgressBar>,
    quiet: bool,
    /// `done` when the last plain line was printed (no identical final line twice).
    printed: Option<usize>,
}

impl Progress {
    /// A reporter for `total` items; a bar on a terminal, plain lines otherwise.
    pub fn new(label: &str, total: usize) -> Self {
        Self::with_mode(label, total, std::io::stderr().is_terminal(), false)
    }

    /// A reporter that prints nothing (tests, library callers that report themselves).
    pub fn quiet(label: &str, total: usize) -> Self {
        Self::with_mode(label, total, false, true)
    }

    fn with_mode(label: &str, total: usize, terminal: bool, quiet: bool) -> Self {
        let bar = (terminal && !quiet).then(|| {
            let bar = ProgressBar::new(total as u64);
            let style = ProgressStyle::with_template(
                "{prefix} [{elapsed_precise}] {wide_bar} {pos}/{len} ({per_sec}, eta {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_prefix(label.to_string());
            bar
        });
        let now = Instant::now();
        Progress {
            label: label.to_string(),
            total,
            done: 0,
            start: now,
            last_line: now,
            bar,
            quiet,
            printed: None,
        }
    }

    /// Counts `n` more items as done.
    pub fn inc(&mut self, n: usize) {
        self.done += n;
        if let Some(bar) = &self.bar {
            bar.inc(n as u64);
        } else if !self.quiet && self.last_line.elapsed() >= PLAIN_INTERVAL {
            self.last_line = Instant::now();
            self.printed = Some(self.done);
            eprintln!("{}", self.line());
        }
    }

    /// Prints a message without disturbing the bar.
    pub fn note(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.println(message),
            None if !self.quiet => eprintln!("{message}"),
            None => {}
        }
    }

    /// Ends the bar (or prints the final plain line).
    pub fn finish(self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        } else if !self.quiet && self.printed != Some(self.done) {
            eprintln!("{}", self.line());
        }
    }

    /// `label: done/total (rate/min, elapsed)`.
    fn line(&self) -> String {
        let secs = self.start.elapsed().as_secs_f64();
        let rate = if secs > 0.0 {
            self.done as f64 * 60.0 / secs
        } else {
            0.0
        };
        format!(
            "{}: {}/{} ({rate:.1}/min, {secs:.0} s)",
            self.label, self.done, self.total
        )
    }
}
