//! Small line charts of the last hour as inline SVG: drawn on the server, no script, no image
//! request, nothing the page's Content-Security-Policy has to allow (an `<svg>` element with
//! presentation attributes is markup, not a style or an image source).
//!
//! [`path`] is the whole drawing: points in, the `d` attribute of one `<path>` out. Time runs
//! left to right over the window, values bottom to top between the lowest and the highest
//! point, stretched to a minimum span so that a figure that barely moves draws a calm line
//! rather than magnified noise. A gap longer than [`GAP`] seconds (the figure was missing)
//! breaks the line.

use crate::history::{Point, STEP};

/// Width of a sparkline, in CSS pixels and SVG units.
pub(super) const WIDTH: f64 = 120.0;
/// Height of a sparkline.
pub(super) const HEIGHT: f64 = 24.0;
/// Room kept above and below the line, so that the stroke is not cut at the edges.
const PAD: f64 = 2.0;
/// Two points further apart than this many seconds are not joined.
pub(super) const GAP: f64 = 3.0 * STEP;

/// The `d` attribute drawing `points` (oldest first) over the window `start..end` (Unix
/// seconds), with a vertical scale of at least `min_span`; empty for no point. A point alone
/// (after a gap, or the only one) is a zero-length segment, which a round line cap shows as a
/// dot.
pub(super) fn path(points: &[Point], start: f64, end: f64, min_span: f64) -> String {
    let points: Vec<Point> =
        points.iter().copied().filter(|(t, v)| t.is_finite() && v.is_finite()).collect();
    let Some((low, high)) = range(&points) else { return String::new() };
    let (low, high) = stretch(low, high, min_span);
    let width = end - start;
    let x = |t: f64| {
        if width > 0.0 { ((t - start) / width).clamp(0.0, 1.0) * WIDTH } else { WIDTH }
    };
    let y = |v: f64| {
        if high > low {
            HEIGHT - PAD - (v - low) / (high - low) * (HEIGHT - 2.0 * PAD)
        } else {
            HEIGHT / 2.0
        }
    };
    let mut d = String::new();
    let mut previous: Option<f64> = None;
    let mut alone = false;
    for (t, v) in points {
        let joined = previous.is_some_and(|p| t - p <= GAP);
        if !joined {
            if alone {
                d.push_str("h0");
            }
            d.push_str(&format!("M{:.1} {:.1}", x(t), y(v)));
            alone = true;
        } else {
            d.push_str(&format!("L{:.1} {:.1}", x(t), y(v)));
            alone = false;
        }
        previous = Some(t);
    }
    if alone {
        d.push_str("h0");
    }
    d
}

/// The lowest and highest value, if there is any point.
pub(super) fn range(points: &[Point]) -> Option<(f64, f64)> {
    points.iter().map(|(_, v)| *v).filter(|v| v.is_finite()).fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((low, high)) => Some((f64::min(low, v), f64::max(high, v))),
    })
}

/// `low..high` widened about its middle to at least `min_span`.
fn stretch(low: f64, high: f64, min_span: f64) -> (f64, f64) {
    if high - low >= min_span {
        return (low, high);
    }
    let middle = (low + high) / 2.0;
    (middle - min_span / 2.0, middle + min_span / 2.0)
}

/// How much a counter rose over the points no older than `over` seconds before the newest
/// point: the sum of its increases (a restart's drop to zero is not a fall), with the seconds
/// they span. `None` with fewer than two such points.
pub(super) fn rise(points: &[Point], over: f64) -> Option<(f64, f64)> {
    let newest = points.last()?.0;
    let recent: Vec<&Point> = points.iter().filter(|(t, _)| *t >= newest - over).collect();
    let (first, last) = (recent.first()?, recent.last()?);
    if recent.len() < 2 {
        return None;
    }
    let increase = recent.windows(2).map(|w| (w[1].1 - w[0].1).max(0.0)).sum();
    Some((increase, last.0 - first.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_point_draws_nothing() {
        assert_eq!(path(&[], 0.0, 3_600.0, 1.0), "");
        assert_eq!(path(&[(10.0, f64::NAN)], 0.0, 3_600.0, 1.0), "");
        assert_eq!(range(&[]), None);
    }

    #[test]
    fn one_point_is_a_dot_in_the_middle_at_its_time() {
        assert_eq!(path(&[(3_600.0, 51.5)], 0.0, 3_600.0, 2.0), "M120.0 12.0h0");
        assert_eq!(path(&[(1_800.0, 0.0)], 0.0, 3_600.0, 0.0), "M60.0 12.0h0");
    }

    #[test]
    fn a_flat_line_runs_through_the_middle() {
        let flat = [(0.0, 5.0), (30.0, 5.0), (60.0, 5.0)];
        assert_eq!(path(&flat, 0.0, 60.0, 0.0), "M0.0 12.0L60.0 12.0L120.0 12.0");
        assert_eq!(path(&flat, 0.0, 60.0, 1.0), "M0.0 12.0L60.0 12.0L120.0 12.0");
    }

    #[test]
    fn values_scale_between_the_lowest_and_highest_and_time_over_the_window() {
        // 40 → bottom (24 - 2), 60 → top (2), 50 → middle; the window starts before the points.
        let points = [(3_540.0, 40.0), (3_570.0, 50.0), (3_600.0, 60.0)];
        assert_eq!(path(&points, 3_480.0, 3_600.0, 2.0), "M60.0 22.0L90.0 12.0L120.0 2.0");
        // A span below the minimum is drawn at the minimum's scale, about its middle.
        let small = [(0.0, 50.0), (60.0, 51.0)];
        assert_eq!(path(&small, 0.0, 60.0, 4.0), "M0.0 14.5L120.0 9.5");
        // Points outside the window sit on its edges; an empty window puts them at the end.
        assert_eq!(path(&[(-60.0, 1.0)], 0.0, 60.0, 0.0), "M0.0 12.0h0");
        assert_eq!(path(&[(5.0, 1.0)], 5.0, 5.0, 0.0), "M120.0 12.0h0");
    }

    #[test]
    fn a_gap_breaks_the_line_and_a_lone_point_is_a_dot() {
        let points = [(0.0, 0.0), (30.0, 1.0), (600.0, 1.0), (1_200.0, 0.0), (1_230.0, 1.0)];
        assert_eq!(
            path(&points, 0.0, 1_230.0, 0.0),
            "M0.0 22.0L2.9 2.0M58.5 2.0h0M117.1 22.0L120.0 2.0"
        );
    }

    #[test]
    fn a_counter_rises_by_its_increases_and_a_restart_is_not_a_fall() {
        assert_eq!(rise(&[], 120.0), None);
        assert_eq!(rise(&[(0.0, 5.0)], 120.0), None);
        assert_eq!(rise(&[(0.0, 5.0), (30.0, 5.0)], 120.0), Some((0.0, 30.0)));
        let points = [(0.0, 100.0), (200.0, 110.0), (230.0, 120.0), (260.0, 2.0), (290.0, 5.0)];
        assert_eq!(rise(&points, 120.0), Some((13.0, 90.0)));
    }
}
