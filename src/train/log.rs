//! Plain-text training log for non-terminals (CI, files, `halt-llm run`): one line per
//! optimiser step and one per validation pass, on stderr. On a terminal burn-train's own
//! terminal UI is used instead (see [`super::run`]).

use std::io::Write;
use std::time::Instant;

use burn::train::logger::{EvaluationProgressLogger, TrainingProgressLogger};
use burn::train::metric::MetricDefinition;
use burn::train::metric::NumericEntry;
use burn::train::renderer::{
    EvaluationName, MetricState, MetricsRenderer, MetricsRendererEvaluation,
    MetricsRendererTraining,
};

/// Prints `step s/S · loss … · elapsed · eta` lines.
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
        }
    }

    fn line(&self, text: &str) {
        let _ = writeln!(std::io::stderr(), "[train] {text}");
    }

    /// The loss of the optimiser step that just ended: the mean cross-entropy per label token
    /// over all its micro-batches (each micro-batch's mean weighted by its label tokens), the
    /// number the update minimises; `None` before any micro-batch. Resets for the next step.
    fn take_step_loss(&mut self) -> Option<f64> {
        let (sum, n) = std::mem::take(&mut self.step_loss);
        (n > 0).then(|| sum / n as f64)
    }
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
            self.steps_done += 1;
            let elapsed = self.started.elapsed().as_secs_f64();
            let done_here = (self.steps_done - self.first_step).max(1) as f64;
            let eta =
                elapsed / done_here * (self.total_steps.saturating_sub(self.steps_done)) as f64;
            let loss = self.take_step_loss();
            self.line(&format!(
                "step {}/{} · loss {} · {:.0}s elapsed · ~{:.0}s left",
                self.steps_done,
                self.total_steps,
                loss.map_or("?".into(), |l| format!("{l:.4}")),
                elapsed,
                eta
            ));
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
}
