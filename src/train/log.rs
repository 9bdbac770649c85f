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
    last_loss: Option<f64>,
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
            last_loss: None,
            valid_loss: None,
            started: Instant::now(),
        }
    }

    fn line(&self, text: &str) {
        let _ = writeln!(std::io::stderr(), "[train] {text}");
    }
}

fn value(state: &MetricState) -> Option<f64> {
    match state {
        MetricState::Numeric(_, Some(NumericEntry::Value(v))) => Some(*v),
        MetricState::Numeric(
            _,
            Some(NumericEntry::Aggregated {
                aggregated_value, ..
            }),
        ) => Some(*aggregated_value),
        _ => None,
    }
}

impl MetricsRendererTraining for PlainLog {
    fn update_train(&mut self, state: MetricState) {
        if let Some(v) = value(&state) {
            self.last_loss = Some(v);
        }
    }

    fn update_valid(&mut self, state: MetricState) {
        if let Some(v) = value(&state) {
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
            self.line(&format!(
                "step {}/{} · loss {} · {:.0}s elapsed · ~{:.0}s left",
                self.steps_done,
                self.total_steps,
                self.last_loss.map_or("?".into(), |l| format!("{l:.4}")),
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
