//! Eras side by side: p99, throughput and error rate over time.

use lab_core::Record;
use lab_core::scenario::Percentile;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{
    DrawResult, FONT, Plot, caption_font, color, frame, legend, legend_box, legend_line, linear_top, log_range, mid,
    ms_label, time_label,
};

pub struct Comparison<'a>(pub &'a [Record]);

impl Plot for Comparison<'_> {
    fn id(&self) -> String {
        "eras".into()
    }
    fn title(&self) -> String {
        "Eras compared".into()
    }
    fn caption(&self) -> String {
        "Same traffic, one line per era: the era whose p99 stays low and whose error rate stays at zero through the \
         spike is the one that copes; the others show when and how hard they break."
            .into()
    }
    fn size(&self) -> (u32, u32) {
        (1000, 980)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let records = self.0;
        root.fill(&WHITE)?;
        let root = root.titled(&self.title(), caption_font())?;
        let panels = root.split_evenly((3, 1));
        let x_max = records.iter().map(|r| r.meta.duration).max().unwrap_or(1) as f64 / 1e9;

        let p99 = |r: &Record| -> Vec<(f64, f64)> {
            r.windows
                .iter()
                .filter_map(|w| w.latency.percentile(Percentile::P99).map(|v| (mid(w), v as f64 / 1e6)))
                .collect()
        };
        let (lo, hi) = log_range(records.iter().flat_map(|r| p99(r).into_iter().map(|p| p.1)));
        let mut chart = frame(&panels[0], 30).build_cartesian_2d(0f64..x_max, (lo..hi).log_scale())?;
        chart
            .configure_mesh()
            .x_label_formatter(&time_label)
            .y_desc("p99 of successful responses")
            .y_label_formatter(&ms_label)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .draw()?;
        for (i, r) in records.iter().enumerate() {
            let c = color(i);
            chart
                .draw_series(LineSeries::new(p99(r), c.stroke_width(2)))?
                .label(r.meta.era.clone())
                .legend(legend_line(c));
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft)?;

        let top = linear_top(
            records
                .iter()
                .flat_map(|r| r.windows.iter().flat_map(|w| [w.throughput(), w.offered])),
        );
        let mut chart = frame(&panels[1], 30).build_cartesian_2d(0f64..x_max, 0f64..top)?;
        chart
            .configure_mesh()
            .x_label_formatter(&time_label)
            .y_desc("successful responses/s")
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .draw()?;
        if let Some(r) = records.first() {
            let grey = RGBColor(150, 150, 150).mix(0.25);
            chart
                .draw_series(AreaSeries::new(
                    r.windows.iter().map(|w| (mid(w), w.offered)),
                    0.0,
                    grey,
                ))?
                .label("offered load")
                .legend(legend_box(grey));
        }
        for (i, r) in records.iter().enumerate() {
            let c = color(i);
            chart
                .draw_series(LineSeries::new(
                    r.windows.iter().map(|w| (mid(w), w.throughput())),
                    c.stroke_width(2),
                ))?
                .label(r.meta.era.clone())
                .legend(legend_line(c));
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft)?;

        let mut chart = frame(&panels[2], 40).build_cartesian_2d(0f64..x_max, 0f64..100f64)?;
        chart
            .configure_mesh()
            .x_label_formatter(&time_label)
            .x_desc("time")
            .y_desc("errors (% of finished)")
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .draw()?;
        for (i, r) in records.iter().enumerate() {
            let c = color(i);
            let pts = r
                .windows
                .iter()
                .filter_map(|w| w.outcomes.error_rate().map(|e| (mid(w), 100.0 * e)));
            chart
                .draw_series(LineSeries::new(pts, c.stroke_width(2)))?
                .label(r.meta.era.clone())
                .legend(legend_line(c));
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        Ok(())
    }
}
