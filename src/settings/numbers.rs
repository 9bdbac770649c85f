//! Fractions, positive numbers and the sampling numbers (temperature, top-p, α).

use anyhow::{Result, bail};

/// A fraction in `[0, 1]` (α, warm-up and validation fractions).
///
/// # Errors
/// A value outside `[0, 1]` or not a number.
pub fn fraction(name: &str, value: f64) -> Result<()> {
    if !(0.0..=1.0).contains(&value) {
        bail!("{name} must be in [0, 1], got {value}");
    }
    Ok(())
}

/// A fraction in `[0, 1)` (Adam's β₁, β₂).
///
/// # Errors
/// A value outside `[0, 1)` or not a number.
pub fn fraction_below_one(name: &str, value: f64) -> Result<()> {
    if !(0.0..1.0).contains(&value) {
        bail!("{name} must be in [0, 1), got {value}");
    }
    Ok(())
}

/// A finite number `> 0` (learning rate, LoRA α, gradient-norm clip, ε).
///
/// # Errors
/// Zero, negative, infinite or not a number.
pub fn positive(name: &str, value: f64) -> Result<()> {
    if !(value.is_finite() && value > 0.0) {
        bail!("{name} must be a positive number, got {value}");
    }
    Ok(())
}

/// A finite number `>= 0` (weight decay).
///
/// # Errors
/// Negative, infinite or not a number.
pub fn non_negative(name: &str, value: f64) -> Result<()> {
    if !(value.is_finite() && value >= 0.0) {
        bail!("{name} must be a finite number >= 0, got {value}");
    }
    Ok(())
}

/// The softmax temperature: finite and `>= 0` (0 = greedy).
///
/// # Errors
/// Negative, infinite or not a number.
pub fn temperature(value: f32) -> Result<()> {
    if !(value.is_finite() && value >= 0.0) {
        bail!("temperature must be a finite number >= 0 (0 = greedy), got {value}");
    }
    Ok(())
}

/// The nucleus-sampling mass `top_p`: in `(0, 1]`.
///
/// # Errors
/// A value outside `(0, 1]` or not a number.
pub fn top_p(value: f32) -> Result<()> {
    if !(value > 0.0 && value <= 1.0) {
        bail!("top_p must be in (0, 1], got {value}");
    }
    Ok(())
}

/// The thresholds α of a run (paper §3: one HALT model each): each in `[0, 1]`, none twice
/// (two equal α would train the same model twice into one folder).
///
/// # Errors
/// A value outside `[0, 1]`, or a duplicate.
pub fn alphas(values: &[f64]) -> Result<()> {
    for (i, a) in values.iter().enumerate() {
        fraction("alpha", *a)?;
        if values[..i].contains(a) {
            bail!("alpha {a} is listed twice in alphas");
        }
    }
    Ok(())
}
