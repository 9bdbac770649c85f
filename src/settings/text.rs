//! Text and lists: the abstention marker, lists without duplicates.

use std::fmt::Display;

use anyhow::{Result, bail};

/// A marker text (the abstention marker): not empty, not only whitespace.
///
/// # Errors
/// An empty or blank text.
pub fn marker(name: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        bail!("{name} must not be empty or only whitespace, got {value:?}");
    }
    Ok(())
}

/// A list whose entries must differ (`what` names one entry, `name` the list).
///
/// # Errors
/// The first entry listed twice.
pub fn distinct<T: PartialEq + Display>(what: &str, name: &str, values: &[T]) -> Result<()> {
    for (i, v) in values.iter().enumerate() {
        if values[..i].contains(v) {
            bail!("{what} `{v}` is listed twice in {name}");
        }
    }
    Ok(())
}
