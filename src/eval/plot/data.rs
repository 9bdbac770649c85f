//! The plot's data: the results grouped by method, in first-appearance order (a method trained
//! at several α becomes a line through its points, sorted by α; a baseline, a marker), and the
//! results that cannot be drawn because their correctness or completeness is undefined.

use crate::eval::report::MethodResult;

/// A point to draw: (completeness, correctness) with intervals.
pub(super) struct Pt {
    /// Completeness and correctness, each in [0, 1].
    pub(super) xy: (f64, f64),
    /// 95% interval of the completeness.
    pub(super) x_ci: Option<[f64; 2]>,
    /// 95% interval of the correctness.
    pub(super) y_ci: Option<[f64; 2]>,
    /// The α the method was trained at (none for a baseline).
    pub(super) alpha: Option<f64>,
}

/// One method: a line through its points when they carry α, else markers.
pub(super) struct Group {
    /// The method's name (its legend label).
    pub(super) name: String,
    /// Its points, sorted by α.
    pub(super) points: Vec<Pt>,
}

/// Methods in first-appearance order, and the labels of results that cannot be drawn because
/// their correctness or completeness is undefined (listed in the legend only).
pub(super) fn groups(results: &[MethodResult]) -> (Vec<Group>, Vec<String>) {
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
