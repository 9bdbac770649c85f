//! Fractions, positive numbers and the sampling numbers (temperature, top-p, α).
//!
//! Each rule takes the setting as stored, `f64` or `f32` ([`Number`]), and prints it as the
//! user wrote it: an `f32` by its own shortest form (`-0.1`, not `-0.10000000149011612`), and
//! an `f32` that overflowed (`1e39`, finite as typed) as out of the `f32` range, not `inf`.

use std::fmt::Display;

use anyhow::{Result, bail};

/// A number setting, `f64` or `f32`: compared as `f64`, printed as stored.
pub trait Number: Copy + Display + Into<f64> {
    /// The value for a message: its shortest form; an infinite `f32` as out of range.
    fn shown(self) -> String;
}

impl Number for f64 {
    fn shown(self) -> String {
        short(self)
    }
}

impl Number for f32 {
    fn shown(self) -> String {
        if self.is_infinite() {
            let sign = if self < 0.0 { "-" } else { "" };
            format!("{sign}inf (a number beyond ±3.4e38, the range of a 32-bit float)")
        } else {
            short(self)
        }
    }
}

/// The shortest form of `x`, in exponent form when very large or very small (`1e39`, not
/// forty digits; `1e-9`).
fn short<T: Display + std::fmt::LowerExp + Into<f64> + Copy>(x: T) -> String {
    let a = x.into().abs();
    if a.is_finite() && a != 0.0 && !(1e-5..1e16).contains(&a) {
        format!("{x:e}")
    } else {
        x.to_string()
    }
}

/// A finite number in `(0, max]`.
///
/// # Errors
/// Zero, negative, above `max`, infinite or not a number.
pub fn positive_at_most(name: &str, value: impl Number, max: f64) -> Result<()> {
    positive(name, value)?;
    if value.into() > max {
        bail!("{name} must be at most {max}, got {}", value.shown());
    }
    Ok(())
}

/// A fraction in `[0, 1]` (α, warm-up and validation fractions).
///
/// # Errors
/// A value outside `[0, 1]` or not a number.
pub fn fraction(name: &str, value: impl Number) -> Result<()> {
    let (shown, value) = (value.shown(), value.into());
    if !(0.0..=1.0).contains(&value) {
        bail!("{name} must be in [0, 1], got {shown}");
    }
    Ok(())
}

/// A fraction in `[0, 1)` (Adam's β₁, β₂).
///
/// # Errors
/// A value outside `[0, 1)` or not a number.
pub fn fraction_below_one(name: &str, value: impl Number) -> Result<()> {
    let (shown, value) = (value.shown(), value.into());
    if !(0.0..1.0).contains(&value) {
        bail!("{name} must be in [0, 1), got {shown}");
    }
    Ok(())
}

/// A finite number `> 0` (learning rate, LoRA α, gradient-norm clip, ε).
///
/// # Errors
/// Zero, negative, infinite or not a number.
pub fn positive(name: &str, value: impl Number) -> Result<()> {
    let (shown, value) = (value.shown(), value.into());
    if !(value.is_finite() && value > 0.0) {
        bail!("{name} must be a positive number, got {shown}");
    }
    Ok(())
}

/// A finite number `>= 0` (weight decay).
///
/// # Errors
/// Negative, infinite or not a number.
pub fn non_negative(name: &str, value: impl Number) -> Result<()> {
    let (shown, value) = (value.shown(), value.into());
    if !(value.is_finite() && value >= 0.0) {
        bail!("{name} must be a finite number >= 0, got {shown}");
    }
    Ok(())
}

/// The softmax temperature: finite and `>= 0` (0 = greedy).
///
/// # Errors
/// Negative, infinite or not a number.
pub fn temperature(value: f32) -> Result<()> {
    let shown = value.shown();
    if !(value.is_finite() && value >= 0.0) {
        bail!("temperature must be a finite number >= 0 (0 = greedy), got {shown}");
    }
    Ok(())
}

/// The nucleus-sampling mass `top_p`: in `(0, 1]`.
///
/// # Errors
/// A value outside `(0, 1]` or not a number.
pub fn top_p(value: f32) -> Result<()> {
    let shown = value.shown();
    if !(value > 0.0 && value <= 1.0) {
        bail!("top_p must be in (0, 1], got {shown}");
    }
    Ok(())
}

/// The thresholds α of a run (paper §3: one HALT model each): each in `[0, 1]`, none twice
/// (two equal α would train the same model twice into one folder).
///
/// # Errors
/// A value outside `[0, 1]`, or a duplicate.
/// `key` names the list in the message (`alphas`, `reference_free_alphas`).
pub fn alphas(key: &str, values: &[f64]) -> Result<()> {
    for (i, a) in values.iter().enumerate() {
        fraction("alpha", *a)?;
        if values[..i].contains(a) {
            bail!("alpha {a} is listed twice in {key}");
        }
    }
    Ok(())
}
