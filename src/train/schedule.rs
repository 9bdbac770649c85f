//! Learning-rate schedule: linear warm-up from 0 to the peak rate, then cosine decay to
//! `min_lr_ratio × peak` at the last optimiser step (the schedule of most Llama SFT recipes).

use burn::optim::LearningRate;
use burn::optim::lr_scheduler::{LrScheduler, LrSchedulerRecord};

/// Warm-up + cosine schedule over `total_steps` optimiser steps. Its state (the step count)
/// is saved in checkpoints, so a resumed run continues the same curve.
#[derive(Debug, Clone)]
pub struct WarmupCosine {
    /// Peak learning rate.
    pub peak: f64,
    /// Final rate as a fraction of `peak`.
    pub min_ratio: f64,
    /// Optimiser steps of linear warm-up.
    pub warmup_steps: usize,
    /// Optimiser steps of the whole run.
    pub total_steps: usize,
    step: usize,
}

impl WarmupCosine {
    /// A schedule at step 0.
    pub fn new(peak: f64, min_ratio: f64, warmup_steps: usize, total_steps: usize) -> Self {
        Self {
            peak,
            min_ratio,
            warmup_steps: warmup_steps.min(total_steps),
            total_steps: total_steps.max(1),
            step: 0,
        }
    }

    /// The rate of optimiser step `s` (1-based).
    pub fn lr_at(&self, s: usize) -> f64 {
        let s = s.clamp(1, self.total_steps);
        if s <= self.warmup_steps {
            return self.peak * s as f64 / self.warmup_steps as f64;
        }
        let decay = self.total_steps - self.warmup_steps;
        let progress = if decay <= 1 {
            1.0
        } else {
            (s - self.warmup_steps - 1) as f64 / (decay - 1) as f64
        };
        let min = self.peak * self.min_ratio;
        min + (self.peak - min) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
    }
}

impl LrScheduler for WarmupCosine {
    fn step(&mut self) -> LearningRate {
        self.step += 1;
        self.lr_at(self.step)
    }

    fn to_record(&self) -> LrSchedulerRecord {
        LrSchedulerRecord::new().with_scalar("step", self.step as u64)
    }

    fn load_record(&mut self, record: LrSchedulerRecord) {
        if let Some(step) = record.scalar::<u64>("step") {
            self.step = step as usize;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_then_cosine_by_hand() {
        // peak 1.0, floor 0.1, 2 warm-up steps, 6 steps: 0.5, 1.0, then cosine over 4 steps
        // at progress 0, 1/3, 2/3, 1: 1.0, 0.1+0.9·0.75 = 0.775, 0.1+0.9·0.25 = 0.325, 0.1.
        let mut s = WarmupCosine::new(1.0, 0.1, 2, 6);
        let got: Vec<f64> = (0..6).map(|_| s.step()).collect();
        let want = [0.5, 1.0, 1.0, 0.775, 0.325, 0.1];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{got:?}");
        }
        // The step count survives a checkpoint.
        let mut fresh = WarmupCosine::new(1.0, 0.1, 2, 6);
        let mut resumed = WarmupCosine::new(1.0, 0.1, 2, 6);
        fresh.step();
        fresh.step();
        resumed.load_record(fresh.to_record());
        assert_eq!(resumed.step(), fresh.step());
    }
}
