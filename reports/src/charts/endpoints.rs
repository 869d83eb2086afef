//! Each endpoint's p99 over time: a checkout that slows while the home
//! page does not is invisible in the whole run's percentiles.

use lab_core::Record;
use lab_core::scenario::Percentile;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::era::{shade_spans, x_max};
use super::{time_axis, 
    DrawResult, FONT, Plot, caption_font, color, legend, legend_line, log_headroom, log_range, mid, ms_label,
    span_entries, time_label, timed_frame,
};

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
        format!("{}: p99 per endpoint", self.0.meta.era)
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
        let (lo, hi) = log_range(lines.iter().flatten().map(|p| p.1));
        let hi = log_headroom(lo, hi, r.endpoints.len() + span_entries(r), 360.0);
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
        for (i, (name, points)) in r.endpoints.iter().zip(lines).enumerate() {
            let c = color(i);
            chart
                .draw_series(LineSeries::new(points, c.stroke_width(2)))?
                .label(name.as_str())
                .legend(legend_line(c));
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        Ok(())
    }
}
