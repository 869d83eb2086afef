//! An era's p99 over time across its replications: the band from the
//! lowest to the highest, the mean through it. A band wider than the
//! effect looked for says the run needs more replications, or is longer
//! than one seed can settle.

use lab_core::Record;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::era::x_max;
use super::{
    DrawResult, FONT, Plot, caption_font, color, legend, legend_box, legend_line, log_headroom, log_range, mid,
    ms_label, time_axis, time_label, timed_frame,
};
use crate::replications::EraReplications;

/// The p99 band of one era's replications, on its first replication's windows.
pub struct Replicated<'a>(pub &'a Record, pub &'a EraReplications);

impl Plot for Replicated<'_> {
    fn id(&self) -> String {
        format!("{}-replications", self.0.meta.era)
    }
    fn title(&self) -> String {
        format!("{}: p99 over {} replications", self.0.meta.era, self.1.replications)
    }
    fn caption(&self) -> String {
        "Each window's p99 of successful responses: the shaded band runs from the lowest to the highest over the \
         replications (one seed each), the line is their mean. Where the band is wide, one seed tells little."
            .to_string()
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let (r, reps) = (self.0, self.1);
        root.fill(&WHITE)?;
        let points: Vec<(f64, (f64, f64, f64))> = r
            .windows
            .iter()
            .zip(&reps.window_p99)
            .filter_map(|(w, b)| b.map(|b| (mid(w), b)))
            .collect();
        let (lo, hi) = log_range(points.iter().flat_map(|(_, b)| [b.0, b.2]));
        let hi = log_headroom(lo, hi, 2, 360.0);
        let mut chart = timed_frame(root, 40, false)
            .caption(self.title(), caption_font())
            .build_cartesian_2d(time_axis(x_max(r)), (lo..hi).log_scale())?;
        chart
            .configure_mesh()
            .x_label_formatter(&time_label)
            .x_desc("time")
            .y_desc("p99 of successful responses")
            .y_label_formatter(&ms_label)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .draw()?;
        let c = color(0);
        let band = c.mix(0.25);
        // The band as one polygon: the highs forwards, the lows back.
        let mut outline: Vec<(f64, f64)> = points.iter().map(|(x, b)| (*x, b.2)).collect();
        outline.extend(points.iter().rev().map(|(x, b)| (*x, b.0)));
        if !outline.is_empty() {
            chart
                .draw_series(std::iter::once(Polygon::new(outline, band.filled())))?
                .label("lowest to highest")
                .legend(legend_box(band));
        }
        chart
            .draw_series(LineSeries::new(
                points.iter().map(|(x, b)| (*x, b.1)),
                c.stroke_width(2),
            ))?
            .label("mean")
            .legend(legend_line(c));
        legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        Ok(())
    }
}
