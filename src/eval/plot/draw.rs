//! Drawing the plot with [`plotters`]: the chart's frame (caption, axes, label areas: where data
//! lands in pixels), each method's interval bars, line, markers and α labels, the reference
//! (a black cross, or a dashed line without a completeness), and the legend where
//! `layout` put it.

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::data::Group;
use super::layout::Layout;
use super::{
    ALPHA_FONT, ALPHA_OFFSET, AXIS_MAX, COLOURS, FAMILY, LEGEND_FONT, LEGEND_MARGIN, LEGEND_SYMBOL,
};
use crate::eval::report::ReferencePoint;

/// What drawing on a backend returns.
type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// The chart: completeness × correctness, both linear.
pub(super) type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The chart (caption, axes' ranges, label areas) on `root`, correctness from 0 to `y_max`;
/// the one place that fixes where data lands in pixels, for [`draw`] and
/// [`layout`](super::layout::layout) alike.
pub(super) fn chart_on<'a, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, Shift>,
    y_max: f64,
) -> Result<Chart<'a, DB>, DrawingAreaErrorKind<DB::ErrorType>> {
    ChartBuilder::on(root)
        .caption("Correctness against completeness", (FAMILY, 24))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..AXIS_MAX, 0f64..y_max)
}

/// Draws the chart on `root`: axes, each method's intervals, line or markers and α labels,
/// the reference, and the legend where `layout` puts it.
pub(super) fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    (groups, undrawn): (&[Group], &[String]),
    reference: Option<&ReferencePoint>,
    layout: &Layout,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let mut chart = chart_on(root, layout.y_max)?;
    chart
        .configure_mesh()
        .x_desc("completeness")
        .y_desc("correctness")
        .label_style((FAMILY, 15))
        // no correctness above 1: the axis only reaches past it to make room for the legend
        .y_label_formatter(&|y| {
            if *y > 1.0 + 1e-9 {
                String::new()
            } else {
                format!("{y:.1}")
            }
        })
        .axis_desc_style((FAMILY, 18))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()?;
    let font = (FAMILY, ALPHA_FONT).into_font();
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
                    EmptyElement::at(p.xy) + Text::new(alpha_label(a), ALPHA_OFFSET, font.clone())
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
        .position(layout.position.clone())
        .legend_area_size(LEGEND_SYMBOL)
        .margin(LEGEND_MARGIN)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FAMILY, LEGEND_FONT))
        .draw()?;
    root.present()?;
    Ok(())
}

/// The reference point (a black cross), or a dashed line at its correctness when it has no
/// completeness.
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
                    vec![(0.0, y), (AXIS_MAX, y)],
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

/// The label of a point trained at `alpha`.
pub(super) fn alpha_label(alpha: f64) -> String {
    format!("α={alpha}")
}
