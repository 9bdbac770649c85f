//! Progress of a long stage: an [`indicatif`] bar when stderr is a terminal, plain periodic
//! lines otherwise (logs, CI), so a redirected run still shows that it is alive.
//!
//! Progress is counted in items (prompts, records); a stage that knows how far it is inside a
//! chunk of items (the sample stage, per decode step) reports that with [`Progress::partial`],
//! so the bar moves and the time left is known long before the first chunk ends. The time left
//! ([`time_left`]) is based on the pace since the first report, which leaves out one-off
//! start-up work (loading, shader compilation, the first prefill).

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// How often a plain (non-terminal) progress line is printed at most.
pub const PLAIN_INTERVAL: Duration = Duration::from_secs(10);

/// Bar positions per item (the bar moves by fractions of an item).
const BAR_SCALE: f64 = 100.0;

/// Reports progress of `total` items of one stage on stderr.
pub struct Progress {
    label: String,
    total: usize,
    bar: Option<ProgressBar>,
    quiet: bool,
    start: Instant,
    state: Mutex<State>,
}

/// What changes as items are done (behind a lock: the work of a stage reports through `&self`).
struct State {
    /// Whole items counted by [`Progress::inc`].
    done: usize,
    /// Items' worth done inside the current chunk ([`Progress::partial`]); reset by `inc`.
    within: f64,
    /// Seconds since the start and amount done at the first report (the pace's origin).
    first: Option<(f64, f64)>,
    last_line: Instant,
    /// Amount done when the last plain line was printed (no identical final line twice).
    printed: Option<f64>,
}

/// Seconds left to reach `total`, at the pace between the first report and now, each given as
/// (seconds since the start, amount done): `(total − done_now) · (t_now − t_first) / (done_now −
/// done_first)`. The time before the first report (loading a model, compiling shaders, a first
/// prefill) is one-off start-up, not part of the pace. `None` until the two reports differ in
/// time and amount.
pub fn time_left(first: (f64, f64), now: (f64, f64), total: f64) -> Option<f64> {
    let (dt, dd) = (now.0 - first.0, now.1 - first.1);
    (dt > 0.0 && dd > 0.0).then(|| (total - now.1).max(0.0) * dt / dd)
}

/// An amount of items: whole numbers as such, fractions with one decimal.
fn amount(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
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
            let bar = ProgressBar::new((total as f64 * BAR_SCALE) as u64);
            let style =
                ProgressStyle::with_template("{prefix} [{elapsed_precise}] {wide_bar} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_prefix(label.to_string());
            bar.set_message(format!("0/{total}"));
            bar
        });
        let now = Instant::now();
        Progress {
            label: label.to_string(),
            total,
            bar,
            quiet,
            start: now,
            state: Mutex::new(State {
                done: 0,
                within: 0.0,
                first: None,
                last_line: now,
                printed: None,
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts `n` more items as done (the end of a chunk: what [`partial`](Self::partial)
    /// reported for it is replaced).
    pub fn inc(&mut self, n: usize) {
        let mut s = self.state();
        s.done += n;
        s.within = 0.0;
        self.report(&mut s);
    }

    /// Reports that `items` items' worth (a fraction allowed) of the current chunk are done,
    /// counted from the chunk's start; called as often as wanted (a plain line comes at most
    /// every [`PLAIN_INTERVAL`]).
    pub fn partial(&self, items: f64) {
        let mut s = self.state();
        s.within = items.max(0.0);
        self.report(&mut s);
    }

    /// Updates the bar, or prints a plain line when the last one is old enough.
    fn report(&self, s: &mut State) {
        if self.quiet {
            return;
        }
        let secs = self.start.elapsed().as_secs_f64();
        let done = (s.done as f64 + s.within).min(self.total as f64);
        let first = *s.first.get_or_insert((secs, done));
        let left = time_left(first, (secs, done), self.total as f64);
        if let Some(bar) = &self.bar {
            bar.set_position((done * BAR_SCALE) as u64);
            let left = left.map_or_else(String::new, |l| format!(" · ~{l:.0} s left"));
            bar.set_message(format!("{}/{}{left}", amount(done), self.total));
        } else if s.last_line.elapsed() >= PLAIN_INTERVAL {
            s.last_line = Instant::now();
            s.printed = Some(done);
            eprintln!("{}", self.line(done, secs, left));
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
        let s = self.state();
        let done = s.done as f64 + s.within;
        if let Some(bar) = &self.bar {
            bar.set_message(format!("{}/{}", amount(done), self.total));
            bar.finish();
        } else if !self.quiet && s.printed != Some(done) {
            eprintln!(
                "{}",
                self.line(done, self.start.elapsed().as_secs_f64(), None)
            );
        }
    }

    /// `label: done/total (rate/min, elapsed s)`, with `, ~left s left` when known.
    fn line(&self, done: f64, secs: f64, left: Option<f64>) -> String {
        let rate = if secs > 0.0 { done * 60.0 / secs } else { 0.0 };
        let left = left.map_or_else(String::new, |l| format!(", ~{l:.0} s left"));
        format!(
            "{}: {}/{} ({rate:.1}/min, {secs:.0} s{left})",
            self.label,
            amount(done),
            self.total
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// First report at 30 s with 0.5 items done (30 s of loading and compiling before it),
    /// 2.5 done at 50 s: 2 items in 20 s, 10 s an item, 9.5 of 12 left → 95 s. Counting the
    /// start-up (2.5 items in 50 s) would say 190 s.
    #[test]
    fn time_left_leaves_out_the_start_up() {
        assert_eq!(time_left((30.0, 0.5), (50.0, 2.5), 12.0), Some(95.0));
        // nothing to base it on yet: the first report itself, or no progress since
        assert_eq!(time_left((30.0, 0.5), (30.0, 0.5), 12.0), None);
        assert_eq!(time_left((30.0, 0.5), (40.0, 0.5), 12.0), None);
        // done: nothing left
        assert_eq!(time_left((30.0, 0.5), (50.0, 12.0), 12.0), Some(0.0));
    }

    #[test]
    fn amounts_show_a_decimal_only_for_fractions() {
        assert_eq!(amount(12.0), "12");
        assert_eq!(amount(0.0), "0");
        assert_eq!(amount(4.56), "4.6");
    }

    /// The final plain line keeps its format (the book's checked outputs match on it), with a
    /// fraction while a chunk is under way and the time left when known.
    #[test]
    fn plain_lines_read_done_of_total_rate_and_time() {
        let p = Progress::quiet("sample", 12);
        assert_eq!(p.line(12.0, 100.0, None), "sample: 12/12 (7.2/min, 100 s)");
        assert_eq!(
            p.line(4.5, 60.0, Some(95.4)),
            "sample: 4.5/12 (4.5/min, 60 s, ~95 s left)"
        );
    }

    /// `inc` replaces what `partial` reported for the chunk; amounts never pass the total.
    #[test]
    fn partial_counts_inside_the_current_chunk() {
        let counted = |p: &Progress| {
            let s = p.state();
            (s.done, s.within)
        };
        let mut p = Progress::quiet("sample", 8);
        p.partial(1.5);
        assert_eq!(counted(&p), (0, 1.5));
        p.inc(4);
        assert_eq!(counted(&p), (4, 0.0));
        p.partial(2.0);
        assert_eq!(counted(&p), (4, 2.0));
    }
}
