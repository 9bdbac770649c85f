//! Plain-text training log for non-terminals (CI, files, `halt-llm run`): one line per
//! optimiser step and one per validation pass, on stderr. On a terminal burn-train's own
//! terminal UI is used instead (see [`super::finetune`]).

use std::io::Write;
use std::time::Instant;

use burn::train::logger::{EvaluationProgressLogger, TrainingProgressLogger};
use burn::train::metric::MetricDefinition;
use burn::train::metric::NumericEntry;
use burn::train::renderer::{
    EvaluationName, MetricState, MetricsRenderer, MetricsRendererEvaluation,
    MetricsRendererTraining,
};

/// Prints `step s/S · loss … · elapsed · time left` lines; the time left is estimated from the
/// pace of the steps after this run's first (`time_left`).
pub struct PlainLog {
    grad_accum: usize,
    first_step: usize,
    total_steps: usize,
    steps_done: usize,
    micro_in_split: usize,
    split: String,
    /// The current step's micro-batch losses so far: (Σ mean × label tokens, Σ label tokens).
    step_loss: (f64, usize),
    valid_loss: Option<(f64, usize)>,
    started: Instant,
    /// Seconds since `started` when this run's first step ended (the pace's origin).
    first_step_at: Option<f64>,
}

impl PlainLog {
    /// A log for a run of `total_steps` optimiser steps starting after `first_step` steps
    /// (a resumed run).
    pub fn new(grad_accum: usize, first_step: usize, total_steps: usize) -> Self {
        Self {
            grad_accum: grad_accum.max(1),
            first_step,
            total_steps,
            steps_done: first_step,
            micro_in_split: 0,
            split: String::new(),
            step_loss: (0.0, 0),
            valid_loss: None,
            started: Instant::now(),
            first_step_at: None,
        }
    }

    /// Counts an optimiser step that ended `elapsed` seconds after the log was made, and
    /// returns its line (the clock is a parameter so that tests can set it).
    fn step_line(&mut self, elapsed: f64) -> String {
        self.steps_done += 1;
        let first_at = *self.first_step_at.get_or_insert(elapsed);
        let since_first = self.steps_done - self.first_step - 1;
        let left = time_left(
            first_at,
            elapsed,
            since_first,
            self.total_steps.saturating_sub(self.steps_done),
        );
        let loss = self.take_step_loss();
        format!(
            "step {}/{} · loss {} · {:.0}s elapsed{}",
            self.steps_done,
            self.total_steps,
            loss.map_or("?".into(), |l| format!("{l:.4}")),
            elapsed,
            left.map_or_else(String::new, |l| format!(" · ~{l:.0}s left"))
        )
    }

    fn line(&self, text: &str) {
        let _ = writeln!(std::io::stderr(), "train: {text}");
    }

    /// The loss of the optimiser step that just ended: the mean cross-entropy per label token
    /// over all its micro-batches (each micro-batch's mean weighted by its label tokens), the
    /// number the update minimises; `None` before any micro-batch. Resets for the next step.
    fn take_step_loss(&mut self) -> Option<f64> {
        let (sum, n) = std::mem::take(&mut self.step_loss);
        (n > 0).then(|| sum / n as f64)
    }
}

/// Seconds left for `steps_left` more optimiser steps at the pace of the steps after this
/// run's first: `(now − first_at) / since_first` per step, where `first_at` is when the first
/// step ended and `since_first` the steps ended since. The first step is left out because it
/// carries one-off start-up work (building the data loader, allocating, and on wgpu compiling
/// every shader, which can take minutes); validation passes between steps count in the pace.
/// `None` at the first step: there is nothing to base a pace on yet.
fn time_left(first_at: f64, now: f64, since_first: usize, steps_left: usize) -> Option<f64> {
    (since_first > 0).then(|| (now - first_at).max(0.0) / since_first as f64 * steps_left as f64)
}

/// A micro-batch's loss entry: its mean loss and the number of label tokens it averages over
/// (burn's loss metric reports the length of [`LmOutput::loss`](super::step::LmOutput), one
/// entry per label token; a plain value counts as one).
fn value(state: &MetricState) -> Option<(f64, usize)> {
    match state {
        MetricState::Numeric(_, Some(NumericEntry::Value(v))) => Some((*v, 1)),
        MetricState::Numeric(
            _,
            Some(NumericEntry::Aggregated {
                aggregated_value,
                count,
            }),
        ) => Some((*aggregated_value, *count)),
        _ => None,
    }
}

impl MetricsRendererTraining for PlainLog {
    fn update_train(&mut self, state: MetricState) {
        if let Some((v, n)) = value(&state) {
            self.step_loss.0 += v * n as f64;
            self.step_loss.1 += n;
        }
    }

    fn update_valid(&mut self, state: MetricState) {
        if let Some((v, _)) = value(&state) {
            let (sum, n) = self.valid_loss.unwrap_or((0.0, 0));
            self.valid_loss = Some((sum + v, n + 1));
        }
    }

    fn on_train_end(
        &mut self,
        _summary: Option<burn::train::LearnerSummary>,
    ) -> Result<(), Box<dyn core::error::Error>> {
        Ok(())
    }
}

impl MetricsRendererEvaluation for PlainLog {
    fn update_test(&mut self, _name: EvaluationName, _state: MetricState) {}
}

impl TrainingProgressLogger for PlainLog {
    fn start(&mut self, _total: usize, _start: usize, _items: Option<usize>, _label: Option<&str>) {
        self.line(&format!(
            "{} optimiser steps{}",
            self.total_steps,
            if self.first_step > 0 {
                format!(", resuming after step {}", self.first_step)
            } else {
                String::new()
            }
        ));
    }

    fn update_epoch(&mut self, _epoch: usize) {}

    fn start_split(&mut self, split: &str, _total_items: usize) {
        self.split = split.to_string();
        self.micro_in_split = 0;
        self.valid_loss = None;
        self.step_loss = (0.0, 0);
    }

    fn update_split(&mut self, items_processed: usize) {
        if !self.split.eq_ignore_ascii_case("train") {
            return;
        }
        self.micro_in_split = items_processed;
        // A step completes every `grad_accum` micro-batches.
        if items_processed.is_multiple_of(self.grad_accum) {
            let text = self.step_line(self.started.elapsed().as_secs_f64());
            self.line(&text);
        }
    }

    fn end_split(&mut self) {
        if self.split.eq_ignore_ascii_case("valid")
            && let Some((sum, n)) = self.valid_loss
        {
            self.line(&format!(
                "validation after step {}: loss {:.4} (mean over batches)",
                self.steps_done,
                sum / n as f64
            ));
        }
    }

    fn end(&mut self) {}

    fn log_event_training(&mut self, _event: String) {}
}

impl EvaluationProgressLogger for PlainLog {
    fn start_global_progress(&mut self, _total_tests: usize) {}
    fn start_test(&mut self, _name: &str, _total_items: usize) {}
    fn update_test_progress(&mut self, _items_processed: usize) {}
    fn end_test(&mut self) {}
    fn end_global_progress(&mut self) {}
    fn log_event_evaluation(&mut self, _event: String) {}
}

impl MetricsRenderer for PlainLog {
    fn manual_close(&mut self) {}
    fn register_metric(&mut self, _definition: MetricDefinition) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::train::metric::{MetricEntry, MetricId, SerializedEntry};

    fn loss(mean: f64, tokens: usize) -> MetricState {
        MetricState::Numeric(
            MetricEntry::new(
                MetricId::new(std::sync::Arc::new("Loss".into())),
                SerializedEntry {
                    formatted: String::new(),
                    serialized: String::new(),
                },
            ),
            Some(NumericEntry::Aggregated {
                aggregated_value: mean,
                count: tokens,
            }),
        )
    }

    /// Micro-batches of 12 label tokens (mean 4.0) and 28 (mean 5.0) in one step: the step's
    /// loss is (4.0·12 + 5.0·28) / 40 = 4.7 (by hand), then the next step starts from zero.
    #[test]
    fn a_steps_loss_weights_its_micro_batches_by_label_tokens() {
        let mut log = PlainLog::new(2, 0, 2);
        log.start_split("train", 4);
        log.update_train(loss(4.0, 12));
        log.update_split(1);
        log.update_train(loss(5.0, 28));
        assert!((log.take_step_loss().unwrap() - 4.7).abs() < 1e-12);
        assert_eq!(log.take_step_loss(), None);
        log.update_train(loss(3.0, 5));
        log.update_split(3);
        log.update_train(loss(1.0, 15));
        log.update_split(4); // prints step 2 and resets
        assert_eq!(log.take_step_loss(), None);
    }

    /// The wgpu run of the issue: the first of 10 steps ends at 217 s (shader compilation),
    /// the second at 218 s, the third at 219 s: 1 s a step, so 8 then 7 steps left are about
    /// 8 s and 7 s (counting the first step, 218 s / 2 steps · 8 = 872 s). The first step
    /// gives no estimate.
    #[test]
    fn time_left_is_paced_by_the_steps_after_the_first() {
        assert_eq!(time_left(217.0, 217.0, 0, 9), None);
        assert_eq!(time_left(217.0, 218.0, 1, 8), Some(8.0));
        assert_eq!(time_left(217.0, 219.0, 2, 7), Some(7.0));
        assert_eq!(time_left(217.0, 227.0, 4, 0), Some(0.0));

        let mut log = PlainLog::new(1, 0, 10);
        log.start_split("train", 10);
        assert_eq!(log.step_line(217.0), "step 1/10 · loss ? · 217s elapsed");
        assert_eq!(
            log.step_line(218.0),
            "step 2/10 · loss ? · 218s elapsed · ~8s left"
        );
        assert_eq!(
            log.step_line(219.0),
            "step 3/10 · loss ? · 219s elapsed · ~7s left"
        );
    }

    /// A resumed run (after step 4 of 10) paces from its own first step, the 5th: it ends at
    /// 30 s, the 6th at 32 s: 2 s a step, 4 steps left, 8 s.
    #[test]
    fn a_resumed_run_paces_from_its_own_first_step() {
        let mut log = PlainLog::new(1, 4, 10);
        log.start_split("train", 6);
        assert_eq!(log.step_line(30.0), "step 5/10 · loss ? · 30s elapsed");
        assert_eq!(
            log.step_line(32.0),
            "step 6/10 · loss ? · 32s elapsed · ~8s left"
        );
    }
}
