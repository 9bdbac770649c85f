//! The plot's layout: what the chart holds in pixels (markers, α labels, lines, interval bars),
//! how large the legend is, and from these where the legend goes and how far the correctness
//! axis reaches (extended above 1 when no position is free at the usual range).

use anyhow::{Result, anyhow};
use plotters::prelude::*;

use super::data::Group;
use super::draw::{alpha_label, chart_on};
use super::placement::{Obstacles, PxBox, free_position};
use super::{
    ALPHA_FONT, ALPHA_OFFSET, AXIS_MAX, FAMILY, LEGEND_FONT, LEGEND_MARGIN, LEGEND_SYMBOL,
    MARKER_PAD, SIZE,
};
use crate::eval::report::ReferencePoint;

/// Where the legend goes and how far the correctness axis reaches.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Layout {
    /// Upper end of the correctness axis: [`AXIS_MAX`], or more when the legend needed room.
    pub(super) y_max: f64,
    /// The legend's position inside the plotting area.
    pub(super) position: SeriesLabelPosition,
}

/// The legend's labels, in the order [`draw`](super::draw::draw) adds them.
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
/// reaching `y_max` (the chart is laid out on a scratch SVG, as [`draw`](super::draw::draw)
/// lays it out).
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
pub(super) fn layout(
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
    use crate::eval::plot::data::Pt;
    use crate::eval::plot::ensure_font;
    use crate::eval::plot::placement::legend_box;

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
