//! Where a legend box of a given size fits in the plotting area, in pixels: the candidate
//! positions (corners first, then the middles of the sides, placed as plotters places them) and
//! the first whose box covers no obstacle (marker, α label and, optionally, line or interval
//! bar). Pure geometry: no font, no chart.

use plotters::prelude::SeriesLabelPosition;

/// A box in pixels, relative to the plotting area's upper left corner (y grows downwards);
/// edges included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct PxBox {
    pub(super) left: i32,
    pub(super) top: i32,
    pub(super) right: i32,
    pub(super) bottom: i32,
}

impl PxBox {
    /// Whether the pixel `(x, y)` lies in the box.
    pub(super) fn contains(&self, (x, y): (i32, i32)) -> bool {
        (self.left..=self.right).contains(&x) && (self.top..=self.bottom).contains(&y)
    }

    /// Whether the two boxes share a pixel.
    pub(super) fn overlaps(&self, o: &PxBox) -> bool {
        self.left <= o.right && o.left <= self.right && self.top <= o.bottom && o.top <= self.bottom
    }

    /// Whether the segment from `a` to `b` passes through the box (checked every pixel or so
    /// along it).
    pub(super) fn crosses(&self, a: (i32, i32), b: (i32, i32)) -> bool {
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
pub(super) struct Obstacles {
    pub(super) boxes: Vec<PxBox>,
    pub(super) segments: Vec<((i32, i32), (i32, i32))>,
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
pub(super) fn legend_box(
    position: &SeriesLabelPosition,
    legend: (i32, i32),
    area: (i32, i32),
) -> PxBox {
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
pub(super) fn free_position(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::plot::MARKER_PAD;

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
}
