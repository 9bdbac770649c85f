//! The plot of correctness (y) against completeness (x): methods trained at several α as lines
//! through their points (labelled with α), baselines as distinct markers, the reference point
//! as a black cross (or a dashed horizontal line without a completeness), each point with its
//! 95% intervals as thin bars. Written as PNG and SVG with [`plotters`].
//!
//! Text is drawn with DejaVu Sans (a 46 KB subset in `assets/fonts/`, licence beside it),
//! embedded in the binary and registered with plotters at run time, so no system font is
//! needed.

use std::path::Path;
use std::sync::OnceLock;

use anyhow::{Context, Result, anyhow};
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use super::report::{MethodResult, ReferencePoint};
use crate::files::{folder_of, make_readable, write_atomic};

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

/// Registers the embedded font once per process.
fn ensure_font() -> Result<()> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE.get_or_init(|| register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    ok.then_some(())
        .ok_or_else(|| anyhow!("the embedded plot font does not parse"))
}

/// A point to draw: (completeness, correctness) with intervals.
struct Pt {
    xy: (f64, f64),
    x_ci: Option<[f64; 2]>,
    y_ci: Option<[f64; 2]>,
    alpha: Option<f64>,
}

/// One method: its points (sorted by α) and whether it is a line (several α) or a marker.
struct Group {
    name: String,
    points: Vec<Pt>,
}

/// Methods in first-appearance order, and the labels of results that cannot be drawn because
/// their correctness or completeness is undefined (listed in the legend only).
fn groups(results: &[MethodResult]) -> (Vec<Group>, Vec<String>) {
    let mut out: Vec<Group> = Vec::new();
    let mut undrawn = Vec::new();
    for r in results {
        let s = &r.summary;
        let (Some(x), Some(y)) = (s.completeness.value, s.correctness.value) else {
            let alpha = r.alpha.map_or_else(String::new, |a| format!(" α={a}"));
            undrawn.push(format!("{}{alpha}: correctness n/a, not drawn", r.method));
            continue;
        };
        let pt = Pt {
            xy: (x, y),
            x_ci: s.completeness.ci95,
            y_ci: s.correctness.ci95,
            alpha: r.alpha,
        };
        match out.iter_mut().find(|g| g.name == r.method) {
            Some(g) => g.points.push(pt),
            None => out.push(Group {
                name: r.method.clone(),
                points: vec![pt],
            }),
        }
    }
    for g in &mut out {
        g.points.sort_by(|a, b| {
            a.alpha
                .unwrap_or(f64::MAX)
                .total_cmp(&b.alpha.unwrap_or(f64::MAX))
        });
    }
    (out, undrawn)
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
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, SIZE).into_drawing_area();
        draw(&root, groups, reference).map_err(|e| anyhow!("drawing {}: {e}", svg.display()))?;
    }
    write_atomic(svg, text.as_bytes())?;
    let dir = folder_of(png);
    let tmp = crate::files::temp_file_in(&dir, ".png")?;
    {
        let root = BitMapBackend::new(tmp.path(), SIZE).into_drawing_area();
        draw(&root, groups, reference).map_err(|e| anyhow!("drawing {}: {e}", png.display()))?;
    }
    make_readable(tmp.as_file()).with_context(|| format!("writing {}", png.display()))?;
    tmp.persist(png)
        .map_err(|e| e.error)
        .with_context(|| format!("writing {}", png.display()))?;
    Ok(())
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    (groups, undrawn): (&[Group], &[String]),
    reference: Option<&ReferencePoint>,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(root)
        .caption("Correctness against completeness", (FAMILY, 24))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..1.05f64, 0f64..1.05f64)?;
    chart
        .configure_mesh()
        .x_desc("completeness")
        .y_desc("correctness")
        .label_style((FAMILY, 15))
        .axis_desc_style((FAMILY, 18))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()?;
    let font = (FAMILY, 13).into_font();
    let mut baseline = 0;
    for (i, g) in groups.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let bars = colour.mix(0.45).stroke_width(1);
        for p in &g.points {
            if let Some([lo, hi]) = p.y_ci {
                chart.draw_series([PathElement::new(vec![(p.xy.0, lo), (p.xy.0, hi)], bars)])?;
            }
            if let Some([lo, hi]) = p.x_ci {
                chart.draw_series([PathElement::new(vec![(lo, p.xy.1), (hi, p.xy.1)], bars)])?;
            }
        }
        let xy: Vec<(f64, f64)> = g.points.iter().map(|p| p.xy).collect();
        let name = g.name.clone();
        if g.points.iter().any(|p| p.alpha.is_some()) {
            // a method trained at several α: a line through its points, labelled with α
            chart
                .draw_series(LineSeries::new(xy.clone(), colour.stroke_width(2)))?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
                });
            chart.draw_series(xy.iter().map(|&c| Circle::new(c, 5, colour.filled())))?;
            chart.draw_series(g.points.iter().filter_map(|p| {
                p.alpha.map(|a| {
                    EmptyElement::at(p.xy) + Text::new(format!("α={a}"), (7, -16), font.clone())
                })
            }))?;
            continue;
        }
        // a baseline: one marker shape each
        let style = colour.filled();
        let shape = baseline % 3;
        baseline += 1;
        match shape {
            0 => {
                chart
                    .draw_series(xy.iter().map(|&c| TriangleMarker::new(c, 8, style)))?
                    .label(name)
                    .legend(move |(x, y)| TriangleMarker::new((x + 10, y), 7, style));
            }
            1 => {
                chart
                    .draw_series(
                        xy.iter().map(|&c| {
                            EmptyElement::at(c) + Rectangle::new([(-6, -6), (6, 6)], style)
                        }),
                    )?
                    .label(name)
                    .legend(move |(x, y)| Rectangle::new([(x + 5, y - 5), (x + 15, y + 5)], style));
            }
            _ => {
                let stroke = colour.stroke_width(3);
                chart
                    .draw_series(xy.iter().map(|&c| Cross::new(c, 7, stroke)))?
                    .label(name)
                    .legend(move |(x, y)| Cross::new((x + 10, y), 6, stroke));
            }
        }
    }
    if let Some(r) = reference {
        draw_reference(&mut chart, r)?;
    }
    for label in undrawn {
        chart
            .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())?
            .label(label.clone())
            .legend(|(x, y)| Text::new("–", (x + 5, y - 8), (FAMILY, 14)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FAMILY, 14))
        .draw()?;
    root.present()?;
    Ok(())
}

fn draw_reference<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    r: &ReferencePoint,
) -> DrawResult<DB> {
    let Some(y) = r.correctness else {
        return Ok(());
    };
    let label = r.label.clone();
    match r.completeness {
        Some(x) => {
            chart
                .draw_series([Cross::new((x, y), 8, BLACK.stroke_width(3))])?
                .label(label)
                .legend(|(x, y)| Cross::new((x + 10, y), 6, BLACK.stroke_width(3)));
        }
        None => {
            chart
                .draw_series([DashedPathElement::new(
                    vec![(0.0, y), (1.05, y)],
                    6,
                    4,
                    BLACK.stroke_width(1),
                )])?
                .label(label)
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
        }
    }
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
