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

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The chart (caption, axes' ranges, label areas) on `root`, correctness from 0 to `y_max`;
/// the one place that fixes where data lands in pixels, for [`draw`] and [`layout`] alike.
fn chart_on<'a, DB: DrawingBackend>(
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

fn draw<DB: DrawingBackend>(
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
fn alpha_label(alpha: f64) -> String {
    format!("α={alpha}")
}

/// Where the legend goes and how far the correctness axis reaches.
#[derive(Debug, Clone, PartialEq)]
struct Layout {
    /// Upper end of the correctness axis: [`AXIS_MAX`], or more when the legend needed room.
    y_max: f64,
    /// The legend's position inside the plotting area.
    position: SeriesLabelPosition,
}

/// A box in pixels, relative to the plotting area's upper left corner (y grows downwards);
/// edges included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PxBox {
    left: i32,
    top: i32,
    right: i32,
    bottom: i32,
}

impl PxBox {
    fn contains(&self, (x, y): (i32, i32)) -> bool {
        (self.left..=self.right).contains(&x) && (self.top..=self.bottom).contains(&y)
    }

    fn overlaps(&self, o: &PxBox) -> bool {
        self.left <= o.right && o.left <= self.right && self.top <= o.bottom && o.top <= self.bottom
    }

    /// Whether the segment from `a` to `b` passes through the box (checked every pixel or so
    /// along it).
    fn crosses(&self, a: (i32, i32), b: (i32, i32)) -> bool {
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let n = dx.abs().max(dy.abs()).max(1);
        (0..=n).any(|k| {
            let at = |from: i32, d: i32| {
                from + (f64::from(d) * f64::from(k) / f64::from(n)).round() as i32
            };
            self.contains((at(a.0, dx), at(a.1, dy)))
        })
    }
}

/// What the legend should not cover, in plotting-area pixels: markers and α labels (`boxes`),
/// lines and interval bars (`segments`).
#[derive(Debug, Clone, Default)]
struct Obstacles {
    boxes: Vec<PxBox>,
    segments: Vec<((i32, i32), (i32, i32))>,
}

/// The positions tried for the legend, in order: the corners, then the middles of the sides.
fn legend_candidates() -> [SeriesLabelPosition; 8] {
    use SeriesLabelPosition::*;
    [
        UpperRight,
        LowerRight,
        UpperLeft,
        LowerLeft,
        MiddleRight,
        UpperMiddle,
        LowerMiddle,
        MiddleLeft,
    ]
}

/// The legend's box at `position` in a plotting area of `area` pixels, for a legend of
/// `legend` pixels: plotters' placement (5 pixels from the edges, centred for the middles).
fn legend_box(position: &SeriesLabelPosition, legend: (i32, i32), area: (i32, i32)) -> PxBox {
    use SeriesLabelPosition::*;
    let (w, h) = legend;
    let left = match position {
        UpperLeft | MiddleLeft | LowerLeft => 5,
        UpperMiddle | MiddleMiddle | LowerMiddle => (area.0 - w) / 2,
        UpperRight | MiddleRight | LowerRight => area.0 - w - 5,
        Coordinate(x, _) => *x,
    };
    let top = match position {
        UpperLeft | UpperMiddle | UpperRight => 5,
        MiddleLeft | MiddleMiddle | MiddleRight => (area.1 - h) / 2,
        LowerLeft | LowerMiddle | LowerRight => area.1 - h - 5,
        Coordinate(_, y) => *y,
    };
    PxBox {
        left,
        top,
        right: left + w,
        bottom: top + h,
    }
}

/// The first of [`legend_candidates`] whose box covers none of the `obstacles`' boxes (nor,
/// with `segments`, any of their segments), with that box.
fn free_position(
    area: (i32, i32),
    legend: (i32, i32),
    obstacles: &Obstacles,
    segments: bool,
) -> Option<(SeriesLabelPosition, PxBox)> {
    legend_candidates().into_iter().find_map(|position| {
        let b = legend_box(&position, legend, area);
        let hidden = obstacles.boxes.iter().any(|o| b.overlaps(o))
            || (segments && obstacles.segments.iter().any(|&(p, q)| b.crosses(p, q)));
        (!hidden).then_some((position, b))
    })
}

/// The legend's labels, in the order [`draw`] adds them.
fn legend_labels(
    (groups, undrawn): (&[Group], &[String]),
    reference: Option<&ReferencePoint>,
) -> Vec<String> {
    let mut labels: Vec<String> = groups.iter().map(|g| g.name.clone()).collect();
    if let Some(r) = reference.filter(|r| r.correctness.is_some()) {
        labels.push(r.label.clone());
    }
    labels.extend(undrawn.iter().cloned());
    labels
}

/// The legend's size in pixels, computed as plotters does: the labels' text block, plus the
/// symbol column and the margin on each side.
fn legend_size(labels: &[String]) -> Result<(i32, i32)> {
    let font = (FAMILY, LEGEND_FONT).into_font();
    let mut text = MultiLineText::<(i32, i32), &str>::new((0, 0), font);
    for l in labels {
        text.push_line(l.as_str());
    }
    let (w, h) = text
        .estimate_dimension()
        .map_err(|e| anyhow!("measuring the legend: {e:?}"))?;
    Ok((w + LEGEND_SYMBOL + 2 * LEGEND_MARGIN, h + 2 * LEGEND_MARGIN))
}

/// The plotting area's size and what lies in it, in its pixels, with the correctness axis
/// reaching `y_max` (the chart is laid out on a scratch SVG, as [`draw`] lays it out).
fn obstacles(
    groups: &[Group],
    reference: Option<&ReferencePoint>,
    y_max: f64,
) -> Result<((i32, i32), Obstacles)> {
    let mut scratch = String::new();
    let root = SVGBackend::with_string(&mut scratch, SIZE).into_drawing_area();
    let chart = chart_on(&root, y_max).map_err(|e| anyhow!("laying out the plot: {e}"))?;
    let area = chart.plotting_area();
    let (w, h) = area.dim_in_pixel();
    let base = area.get_base_pixel();
    let px = |xy: (f64, f64)| {
        let (x, y) = chart.backend_coord(&xy);
        (x - base.0, y - base.1)
    };
    let marker = |(x, y): (i32, i32)| PxBox {
        left: x - MARKER_PAD,
        top: y - MARKER_PAD,
        right: x + MARKER_PAD,
        bottom: y + MARKER_PAD,
    };
    let font = (FAMILY, ALPHA_FONT).into_font();
    let mut o = Obstacles::default();
    for g in groups {
        for p in &g.points {
            let at = px(p.xy);
            o.boxes.push(marker(at));
            if let Some(a) = p.alpha {
                let (tw, th) = font
                    .box_size(&alpha_label(a))
                    .map_err(|e| anyhow!("measuring an α label: {e:?}"))?;
                let (left, top) = (at.0 + ALPHA_OFFSET.0, at.1 + ALPHA_OFFSET.1);
                o.boxes.push(PxBox {
                    left,
                    top,
                    right: left + tw as i32,
                    bottom: top + th as i32,
                });
            }
            if let Some([lo, hi]) = p.y_ci {
                o.segments.push((px((p.xy.0, lo)), px((p.xy.0, hi))));
            }
            if let Some([lo, hi]) = p.x_ci {
                o.segments.push((px((lo, p.xy.1)), px((hi, p.xy.1))));
            }
        }
        if g.points.iter().any(|p| p.alpha.is_some()) {
            for pair in g.points.windows(2) {
                o.segments.push((px(pair[0].xy), px(pair[1].xy)));
            }
        }
    }
    if let Some(r) = reference
        && let Some(y) = r.correctness
    {
        match r.completeness {
            Some(x) => o.boxes.push(marker(px((x, y)))),
            None => o.segments.push((px((0.0, y)), px((AXIS_MAX, y)))),
        }
    }
    Ok(((w as i32, h as i32), o))
}

/// Where the legend hides nothing: the first candidate position free of every marker, α
/// label, line and interval bar; else the first free of markers and labels (lines may pass
/// under it); else the correctness axis grows by 15% at a time until a position is free of
/// everything (every value is at most 1, so the band above 1 empties out).
fn layout(
    (groups, undrawn): (&[Group], &[String]),
    reference: Option<&ReferencePoint>,
) -> Result<Layout> {
    let legend = legend_size(&legend_labels((groups, undrawn), reference))?;
    let (area, o) = obstacles(groups, reference, AXIS_MAX)?;
    let found =
        free_position(area, legend, &o, true).or_else(|| free_position(area, legend, &o, false));
    if let Some((position, _)) = found {
        return Ok(Layout {
            y_max: AXIS_MAX,
            position,
        });
    }
    let mut y_max = AXIS_MAX;
    for _ in 0..20 {
        y_max *= 1.15;
        let (area, o) = obstacles(groups, reference, y_max)?;
        if let Some((position, _)) = free_position(area, legend, &o, true) {
            return Ok(Layout { y_max, position });
        }
    }
    // a legend taller than the plot: nothing fits, keep the first corner
    Ok(Layout {
        y_max: AXIS_MAX,
        position: SeriesLabelPosition::UpperRight,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_font_registers() {
        ensure_font().unwrap();
        ensure_font().unwrap();
    }

    /// A marker's box around a pixel.
    fn marker_at(x: i32, y: i32) -> PxBox {
        PxBox {
            left: x - MARKER_PAD,
            top: y - MARKER_PAD,
            right: x + MARKER_PAD,
            bottom: y + MARKER_PAD,
        }
    }

    /// A 300 × 150 legend in an 800 × 600 area: the old corner (lower left) is x 5..305,
    /// y 445..595 and holds a marker at (40, 560); the upper right corner (x 495..795,
    /// y 5..155) holds one at (700, 100); the lower right corner (x 495..795, y 445..595) is
    /// free, so the legend goes there.
    #[test]
    fn the_legend_takes_the_first_corner_without_a_point() {
        let area = (800, 600);
        let legend = (300, 150);
        assert_eq!(
            legend_box(&SeriesLabelPosition::LowerLeft, legend, area),
            PxBox {
                left: 5,
                top: 445,
                right: 305,
                bottom: 595
            }
        );
        let o = Obstacles {
            boxes: vec![marker_at(40, 560), marker_at(700, 100)],
            segments: vec![],
        };
        let (position, b) = free_position(area, legend, &o, true).unwrap();
        assert_eq!(position, SeriesLabelPosition::LowerRight);
        assert_eq!(
            b,
            PxBox {
                left: 495,
                top: 445,
                right: 795,
                bottom: 595
            }
        );
        assert!(!b.contains((40, 560)) && !b.contains((700, 100)));
    }

    /// Same area and legend; the markers at (40, 560) and (700, 100) block the lower left and
    /// upper right corners, and a line from (600, 300) to (700, 500) crosses the lower right
    /// box (it enters it at y 445, x 672). With lines counted the legend goes to the upper left
    /// (x 5..305, y 5..155, empty); a marker there too, at (100, 100), leaves no corner free;
    /// the middle of the right side (x 495..795, y 225..375) holds the line's start (600, 300)
    /// but no marker, and the top middle (x 250..550, y 5..155) nothing: it is taken. Without
    /// counting lines the lower right corner is free of markers: that is the fallback.
    #[test]
    fn lines_count_where_some_place_is_free_of_them() {
        let area = (800, 600);
        let legend = (300, 150);
        let line = ((600, 300), (700, 500));
        assert!(legend_box(&SeriesLabelPosition::LowerRight, legend, area).crosses(line.0, line.1));
        assert!(!legend_box(&SeriesLabelPosition::UpperLeft, legend, area).crosses(line.0, line.1));
        let mut o = Obstacles {
            boxes: vec![marker_at(40, 560), marker_at(700, 100)],
            segments: vec![line],
        };
        let (position, _) = free_position(area, legend, &o, true).unwrap();
        assert_eq!(position, SeriesLabelPosition::UpperLeft);
        o.boxes.push(marker_at(100, 100));
        let (position, b) = free_position(area, legend, &o, true).unwrap();
        assert_eq!(position, SeriesLabelPosition::UpperMiddle);
        assert_eq!(
            b,
            PxBox {
                left: 250,
                top: 5,
                right: 550,
                bottom: 155
            }
        );
        let (position, _) = free_position(area, legend, &o, false).unwrap();
        assert_eq!(position, SeriesLabelPosition::LowerRight);
    }

    fn point(x: f64, y: f64, alpha: Option<f64>) -> Pt {
        Pt {
            xy: (x, y),
            x_ci: None,
            y_ci: None,
            alpha,
        }
    }

    fn group(name: &str, points: Vec<Pt>) -> Group {
        Group {
            name: name.into(),
            points,
        }
    }

    /// The default run's points (README): every one at completeness ≤ 0.056 with intervals
    /// reaching 0.167 at most, i.e. in the left sixth of the plot; the old legend (lower left)
    /// covered Unchanged at (0, 0.049). The upper right corner is empty: the legend goes
    /// there and the axis is not extended.
    #[test]
    fn the_default_runs_legend_leaves_its_points_visible() {
        ensure_font().unwrap();
        let mut trim = point(0.056, 0.5, Some(0.6));
        trim.x_ci = Some([0.0, 0.167]);
        trim.y_ci = Some([0.083, 1.0]);
        let groups = vec![
            group(
                "halt",
                vec![
                    point(0.0, 1.0, Some(0.4)),
                    point(0.0, 0.708, Some(0.6)),
                    point(0.0, 0.944, Some(0.8)),
                ],
            ),
            group("unchanged", vec![point(0.0, 0.049, None)]),
            group("random_trim", vec![trim]),
            group("pretrained, 0-shot", vec![point(0.042, 0.434, None)]),
            group("pretrained, 4-shot", vec![point(0.0, 0.208, None)]),
        ];
        let undrawn = vec!["idk α=0.6: correctness n/a, not drawn".to_string()];
        let layout = layout((&groups, &undrawn), None).unwrap();
        assert_eq!(layout.position, SeriesLabelPosition::UpperRight);
        assert_eq!(layout.y_max, AXIS_MAX);
        let (area, o) = obstacles(&groups, None, AXIS_MAX).unwrap();
        let legend = legend_size(&legend_labels((&groups, &undrawn), None)).unwrap();
        let b = legend_box(&layout.position, legend, area);
        assert!(o.boxes.iter().all(|m| !b.overlaps(m)));
        assert!(o.segments.iter().all(|&(p, q)| !b.crosses(p, q)));
        // Unchanged's marker (after HALT's three markers and three α labels), under the old
        // legend, is clear of the new one
        let unchanged = o.boxes[6];
        let old = legend_box(&SeriesLabelPosition::LowerLeft, legend, area);
        assert!(old.overlaps(&unchanged) && !b.overlaps(&unchanged));
    }

    /// Markers on a 3 × 3 grid (completeness and correctness 0.05, 0.5, 1) block every
    /// candidate (each corner and side middle holds one), so the correctness axis grows: at
    /// 1.05 · 1.15 ≈ 1.21 the point at correctness 1 sits about 17% of the plot's height below
    /// the top, more than the one-line legend's ≈ 40 pixels plus the marker, so the first
    /// candidate, the upper right, is free.
    #[test]
    fn a_full_plot_makes_room_above_one() {
        ensure_font().unwrap();
        let v = [0.05, 0.5, 1.0];
        let pts = v
            .iter()
            .flat_map(|&x| v.iter().map(move |&y| point(x, y, None)))
            .collect();
        let groups = vec![group("m", pts)];
        let layout = layout((&groups, &[]), None).unwrap();
        assert!(
            (layout.y_max - 1.05 * 1.15).abs() < 1e-12,
            "{}",
            layout.y_max
        );
        assert_eq!(layout.position, SeriesLabelPosition::UpperRight);
    }
}
