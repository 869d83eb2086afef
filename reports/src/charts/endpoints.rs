//! Each endpoint's p99 over time: a checkout that slows while the home
//! page does not is invisible in the whole run's percentiles.

use lab_core::Record;
use lab_core::scenario::Percentile;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::era::{shade_spans, x_max};
use super::{
    DrawResult, FONT, Plot, caption_font, color, legend, legend_line, log_headroom, log_range, mid, ms_label,
    span_entries, time_axis, time_label, timed_frame,
};

/// The most endpoints drawn: past six, colours repeat and the legend
/// covers the data; the slowest are the ones a reader looks for (the
/// endpoints table lists them all).
pub const MAX_ENDPOINT_LINES: usize = 6;

/// The endpoints to draw, in the record's order: all of them up to
/// [`MAX_ENDPOINT_LINES`], else those whose worst window p99 is highest.
fn shown(lines: &[Vec<(f64, f64)>]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..lines.len()).collect();
    if order.len() > MAX_ENDPOINT_LINES {
        let worst = |i: usize| lines[i].iter().map(|p| p.1).fold(0.0, f64::max);
        order.sort_by(|&a, &b| worst(b).total_cmp(&worst(a)).then(a.cmp(&b)));
        order.truncate(MAX_ENDPOINT_LINES);
        order.sort_unstable();
    }
    order
}

/// The p99 of each endpoint's successful responses per window.
pub struct Endpoints<'a>(pub &'a Record);

/// Whether a record keeps endpoints apart, so that the chart says more
/// than the latency chart does.
pub fn has_endpoints(r: &Record) -> bool {
    r.windows.first().is_some_and(|w| !w.endpoints.is_empty())
}

impl Plot for Endpoints<'_> {
    fn id(&self) -> String {
        format!("{}-endpoints", self.0.meta.era)
    }
    fn title(&self) -> String {
        let n = self.0.endpoints.len();
        if n > MAX_ENDPOINT_LINES {
            format!(
                "{}: p99 per endpoint, the {MAX_ENDPOINT_LINES} slowest of {n}",
                self.0.meta.era
            )
        } else {
            format!("{}: p99 per endpoint", self.0.meta.era)
        }
    }
    fn caption(&self) -> String {
        "Each endpoint's p99 of successful responses per window: the endpoint that slows first is the one whose \
         work meets the saturated resource."
            .to_string()
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let r = self.0;
        root.fill(&WHITE)?;
        let lines: Vec<Vec<(f64, f64)>> = (0..r.endpoints.len())
            .map(|i| {
                r.windows
                    .iter()
                    .filter_map(|w| {
                        let d = &w.endpoints.get(i)?.latency;
                        d.percentile(Percentile::P99).map(|v| (mid(w), v as f64 / 1e6))
                    })
                    .collect()
            })
            .collect();
        let shown = shown(&lines);
        let (lo, hi) = log_range(shown.iter().flat_map(|&i| lines[i].iter().map(|p| p.1)));
        let hi = log_headroom(lo, hi, shown.len() + span_entries(r), 360.0);
        let mut chart = timed_frame(root, 40, false)
            .caption(self.title(), caption_font())
            .build_cartesian_2d(time_axis(x_max(r)), (lo..hi).log_scale())?;
        chart
            .configure_mesh()
            .x_desc("time")
            .x_label_formatter(&time_label)
            .y_desc("p99 of successful responses")
            .y_label_formatter(&ms_label)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .draw()?;
        shade_spans(&mut chart, r, lo, hi, true)?;
        for (k, &i) in shown.iter().enumerate() {
            let c = color(k);
            chart
                .draw_series(LineSeries::new(lines[i].iter().copied(), c.stroke_width(2)))?
                .label(r.endpoints[i].as_str())
                .legend(legend_line(c));
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_six_endpoints_the_slowest_are_drawn_in_the_record_s_order() {
        let few: Vec<Vec<(f64, f64)>> = (0..3).map(|i| vec![(0.0, f64::from(i))]).collect();
        assert_eq!(shown(&few), [0, 1, 2]);
        let many: Vec<Vec<(f64, f64)>> = [5.0, 1.0, 9.0, 2.0, 8.0, 3.0, 7.0, 4.0, 6.0]
            .iter()
            .map(|&w| vec![(0.0, 1.0), (1.0, w)])
            .collect();
        assert_eq!(shown(&many), [0, 2, 4, 6, 7, 8]);
    }
}
