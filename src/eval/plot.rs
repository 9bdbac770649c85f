//! The plot of correctness (y) against completeness (x): methods trained at several α as lines
//! through their points (labelled with α), baselines as distinct markers, the reference point
//! as a black cross (or a dashed horizontal line without a completeness), each point with its
//! 95% intervals as thin bars. Written as PNG and SVG with [`plotters`].
//!
//! The legend goes where it hides nothing (`layout`): the first of the plotting area's corners
//! (then the middles of its sides) whose box covers no marker, α label, line or interval bar;
//! failing that, one that covers no marker or label; failing that, the correctness axis is
//! extended above 1 until the legend fits in the empty band at the top.
//!
//! The pieces: `data` (the results grouped into lines and markers), `layout` (what lies where
//! in pixels, the legend's size, its position and the axis' reach), `placement` (the geometry
//! of legend boxes and obstacles), `draw` (the drawing itself).
//!
//! Text is drawn with DejaVu Sans (a 46 KB subset in `assets/fonts/`, licence beside it),
//! embedded in the binary and registered with plotters at run time, so no system font is
//! needed.

mod data;
mod draw;
mod layout;
mod placement;

use std::path::Path;
use std::sync::OnceLock;

use anyhow::{Context, Result, anyhow};
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use super::report::{MethodResult, ReferencePoint};
use crate::files::{folder_of, make_readable, write_atomic};
use data::groups;
use draw::draw;
use layout::layout;

/// The embedded font (see `assets/fonts/LICENSE`).
const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-subset.ttf");

/// The family name the plot's text styles use.
const FAMILY: &str = "sans-serif";

/// Plot size in pixels (PNG) or SVG units.
pub const SIZE: (u32, u32) = (900, 700);

/// Colours of the series (the Tableau 10 palette).
const COLOURS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

/// The axes' upper end when the legend fits without extending them (room above 1.0 for the
/// α labels of points at correctness 1).
const AXIS_MAX: f64 = 1.05;

/// Legend layout (plotters' `legend_area_size` and `margin`): the width of the symbol column
/// and the padding inside the legend's box, in pixels.
const LEGEND_SYMBOL: i32 = 30;
const LEGEND_MARGIN: i32 = 10;

/// Label size of the legend and of the α labels.
const LEGEND_FONT: u32 = 14;
const ALPHA_FONT: u32 = 13;

/// Half the size of the box a marker occupies, in pixels (the largest marker, the 8-pixel
/// triangle, plus a little air).
const MARKER_PAD: i32 = 10;

/// Where the α label of a point is drawn, relative to the point, in pixels.
const ALPHA_OFFSET: (i32, i32) = (7, -16);

/// Registers the embedded font once per process.
fn ensure_font() -> Result<()> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE.get_or_init(|| register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    ok.then_some(())
        .ok_or_else(|| anyhow!("the embedded plot font does not parse"))
}

/// Writes the plot to `png` and `svg` (each atomically: drawn to a temporary file or string
/// in the same folder, then renamed).
pub fn write_plot(
    results: &[MethodResult],
    reference: Option<&ReferencePoint>,
    png: &Path,
    svg: &Path,
) -> Result<()> {
    ensure_font()?;
    let groups = groups(results);
    let groups = (&groups.0[..], &groups.1[..]);
    let layout = layout(groups, reference)?;
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, SIZE).into_drawing_area();
        draw(&root, groups, reference, &layout)
            .map_err(|e| anyhow!("drawing {}: {e}", svg.display()))?;
    }
    write_atomic(svg, text.as_bytes())?;
    let dir = folder_of(png);
    let tmp = crate::files::temp_file_in(&dir, ".png")?;
    {
        let root = BitMapBackend::new(tmp.path(), SIZE).into_drawing_area();
        draw(&root, groups, reference, &layout)
            .map_err(|e| anyhow!("drawing {}: {e}", png.display()))?;
    }
    make_readable(tmp.as_file()).with_context(|| format!("writing {}", png.display()))?;
    tmp.persist(png)
        .map_err(|e| e.error)
        .with_context(|| format!("writing {}", png.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_font_registers() {
        ensure_font().unwrap();
        ensure_font().unwrap();
    }
}
