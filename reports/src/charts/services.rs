//! Gold's per-service latency: how long callers waited for each service,
//! window by window (the `rpc.<service>` waits the simulator declares).

use lab_core::Record;
use lab_core::scenario::Percentile;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::era::{shade_spans, x_max};
use super::{
    DrawResult, FONT, Plot, caption_font, color, legend, legend_line, log_range, mid, ms_label, time_axis, time_label,
    timed_frame,
};

/// The waits of a record that are calls to a service, with the service's name.
pub(crate) fn service_waits(r: &Record) -> Vec<(usize, &str)> {
    r.waits
        .iter()
        .enumerate()
        .filter_map(|(i, w)| w.key.strip_prefix("rpc.").map(|name| (i, name)))
        .collect()
}

/// p99 of each service's calls per window.
pub struct Services<'a>(pub &'a Record);

impl Plot for Services<'_> {
    fn id(&self) -> String {
        format!("{}-services", self.0.meta.era)
    }
    fn title(&self) -> String {
        format!("{}: calls to each service (p99)", self.0.meta.era)
    }
    fn caption(&self) -> String {
        "How long callers waited for each service, from sending a call to its answer (or to their timeout, where \
         the line flattens): the service whose line climbs first is the one to scale; the others often climb \
         with it, their workers waiting on it."
            .to_string()
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let r = self.0;
        root.fill(&WHITE)?;
        let services = service_waits(r);
        let lines: Vec<(&str, Vec<(f64, f64)>)> = services
            .iter()
            .map(|&(i, name)| {
                let pts = r
                    .windows
                    .iter()
                    .filter_map(|w| w.waits[i].percentile(Percentile::P99).map(|v| (mid(w), v as f64 / 1e6)))
                    .collect();
                (name, pts)
            })
            .collect();
        let (lo, hi) = log_range(lines.iter().flat_map(|(_, p)| p.iter().map(|p| p.1)));
        let mut chart = timed_frame(root, 40, false)
            .caption(self.title(), caption_font())
            .build_cartesian_2d(time_axis(x_max(r)), (lo..hi).log_scale())?;
        chart
            .configure_mesh()
            .x_label_formatter(&time_label)
            .x_desc("time")
            .y_desc("p99 of a call")
            .y_label_formatter(&ms_label)
            .label_style((FONT, 13))
            .axis_desc_style(caption_font())
            .draw()?;
        shade_spans(&mut chart, r, lo, hi, true)?;
        for (k, (name, pts)) in lines.into_iter().enumerate() {
            let c = color(k);
            chart
                .draw_series(LineSeries::new(pts, c.stroke_width(2)))?
                .label(name.to_string())
                .legend(legend_line(c));
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        Ok(())
    }
}
