//! Two of an era's charts: latency (with the timelines' strips under it),
//! and throughput and errors.

use lab_core::record::SpanKind;
use lab_core::scenario::Percentile;
use lab_core::{OutcomeId, Record};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{
    DrawResult, FONT, NO_ENTRY, Plot, TimeAxis, caption_font, color, legend, legend_box, legend_line, linear_headroom,
    linear_top, log_headroom, log_range, mid, ms_label, outcome_colors, span_entries, strip, time_axis, time_label,
    timed_frame,
};

/// Height of the latency chart without its strips.
const LATENCY_HEIGHT: u32 = 460;

pub(super) fn x_max(r: &Record) -> f64 {
    r.meta.duration as f64 / 1e9
}

/// Shades the record's spans (faults red, times nobody held the VIP blue)
/// across a chart of height `top`, each kind once in the legend if
/// `labelled` (a chart's later panels leave it to the first).
pub(super) fn shade_spans<DB: DrawingBackend, Y: Ranged<ValueType = f64>>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<TimeAxis, Y>>,
    r: &Record,
    bottom: f64,
    top: f64,
    labelled: bool,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    for (kind, c, label) in [
        (SpanKind::Fault, RGBColor(214, 39, 40).mix(0.12), "fault"),
        (SpanKind::NoEntry, NO_ENTRY, "nobody holds the VIP"),
    ] {
        let boxes: Vec<_> = r
            .spans
            .iter()
            .filter(|s| s.kind == kind)
            .map(|s| Rectangle::new([(s.start as f64 / 1e9, bottom), (s.end as f64 / 1e9, top)], c.filled()))
            .collect();
        if boxes.is_empty() {
            continue;
        }
        let drawn = chart.draw_series(boxes)?;
        if labelled {
            drawn.label(label).legend(legend_box(c));
        }
    }
    Ok(())
}

/// Latency percentiles of successful responses per window, offered load behind.
pub struct Latency<'a>(pub &'a Record);

impl Plot for Latency<'_> {
    fn id(&self) -> String {
        format!("{}-latency", self.0.meta.era)
    }
    fn title(&self) -> String {
        format!("{}: latency over time", self.0.meta.era)
    }
    fn caption(&self) -> String {
        let mut c = "Watch where p99 leaves p50 as the offered load (grey) rises: that is queueing, and a line that \
                     flattens at a ceiling means requests are being cut off by a timeout."
            .to_string();
        if !self.0.timelines.is_empty() {
            c.push_str(" The strip below shows who held the VIP: a gap there is a gap in the answers above.");
        }
        c
    }
    fn size(&self) -> (u32, u32) {
        (1000, LATENCY_HEIGHT + strip::height(self.0))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let r = self.0;
        root.fill(&WHITE)?;
        let strips = !r.timelines.is_empty();
        let root = if strips {
            let (top, bottom) = root.split_vertically(LATENCY_HEIGHT);
            strip::draw(&bottom, r, x_max(r))?;
            top
        } else {
            root.clone()
        };
        let series = [
            (Percentile::P50, "p50"),
            (Percentile::P95, "p95"),
            (Percentile::P99, "p99"),
        ];
        let points = |p: Percentile| -> Vec<(f64, f64)> {
            r.windows
                .iter()
                .filter_map(|w| w.latency.percentile(p).map(|v| (mid(w), v as f64 / 1e6)))
                .collect()
        };
        let max_pts: Vec<(f64, f64)> = r
            .windows
            .iter()
            .filter(|w| w.latency.count > 0)
            .map(|w| (mid(w), w.latency.max as f64 / 1e6))
            .collect();
        let (lo, hi) = log_range(
            max_pts
                .iter()
                .map(|p| p.1)
                .chain(points(Percentile::P50).iter().map(|p| p.1)),
        );
        let hi = log_headroom(lo, hi, 5 + span_entries(r), f64::from(LATENCY_HEIGHT) - 100.0);
        let load_top = linear_top(
            r.windows
                .iter()
                .flat_map(|w| [w.offered, w.arrivals as f64 / w.seconds()]),
        );
        // With strips under it, the time axis's name is theirs.
        let mut chart = timed_frame(&root, if strips { 25 } else { 40 }, true)
            .caption(self.title(), caption_font())
            .build_cartesian_2d(time_axis(x_max(r)), (lo..hi).log_scale())?
            .set_secondary_coord(0f64..x_max(r), 0f64..load_top);
        chart
            .configure_mesh()
            .x_label_formatter(&time_label)
            .x_desc(if strips { "" } else { "time" })
            .y_desc("latency of successful responses")
            .y_label_formatter(&ms_label)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .draw()?;
        chart
            .configure_secondary_axes()
            .y_desc("requests/s")
            .y_label_formatter(&super::whole)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .draw()?;
        shade_spans(&mut chart, r, lo, hi, true)?;
        let grey = RGBColor(150, 150, 150).mix(0.25);
        chart
            .draw_secondary_series(AreaSeries::new(
                r.windows.iter().map(|w| (mid(w), w.offered)),
                0.0,
                grey,
            ))?
            .label("offered load")
            .legend(legend_box(grey));
        for (i, (p, name)) in series.iter().enumerate() {
            let c = color(i);
            chart
                .draw_series(LineSeries::new(points(*p), c.stroke_width(2)))?
                .label(*name)
                .legend(legend_line(c));
        }
        let c = color(7);
        chart
            .draw_series(LineSeries::new(max_pts, c.stroke_width(1)))?
            .label("max")
            .legend(legend_line(c));
        legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        Ok(())
    }
}

/// Responses per second by outcome, stacked, with the offered load.
pub struct Throughput<'a>(pub &'a Record);

impl Plot for Throughput<'_> {
    fn id(&self) -> String {
        format!("{}-throughput", self.0.meta.era)
    }
    fn title(&self) -> String {
        format!("{}: throughput and errors by cause", self.0.meta.era)
    }
    fn caption(&self) -> String {
        "Green is served traffic; when the stack stops following the offered-load line, the gap shows up as errors \
         (each cause in its own colour) or as requests still queued."
            .into()
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let r = self.0;
        root.fill(&WHITE)?;
        let colors = outcome_colors(r.outcomes.iter().map(|o| o.key.as_ref()));
        let layers: Vec<OutcomeId> = r
            .outcome_ids()
            .filter(|o| *o == OutcomeId::OK || has_any(r, *o))
            .collect();
        // Cumulative rates: layer i is the sum of layers 0..=i.
        let stacked: Vec<Vec<(f64, f64)>> = (0..layers.len())
            .map(|i| {
                r.windows
                    .iter()
                    .map(|w| {
                        (
                            mid(w),
                            layers[..=i].iter().map(|o| w.outcomes[*o] as f64).sum::<f64>() / w.seconds(),
                        )
                    })
                    .collect()
            })
            .collect();
        let top = linear_top(
            stacked
                .last()
                .into_iter()
                .flatten()
                .map(|p| p.1)
                .chain(r.windows.iter().map(|w| w.offered)),
        );
        let top = linear_headroom(top, layers.len() + 1 + span_entries(r), 360.0);
        let mut chart = timed_frame(root, 40, false)
            .caption(self.title(), caption_font())
            .build_cartesian_2d(time_axis(x_max(r)), 0f64..top)?;
        chart
            .configure_mesh()
            .x_label_formatter(&time_label)
            .x_desc("time")
            .y_desc("responses/s")
            .y_label_formatter(&|v: &f64| format!("{v:.0}"))
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .draw()?;
        shade_spans(&mut chart, r, 0.0, top, true)?;
        for (i, o) in layers.iter().enumerate().rev() {
            let c = colors[o.index()].mix(0.85);
            chart
                .draw_series(AreaSeries::new(stacked[i].iter().copied(), 0.0, c))?
                .label(r.outcome(*o).label.as_ref())
                .legend(legend_box(c));
        }
        chart
            .draw_series(LineSeries::new(
                r.windows.iter().map(|w| (mid(w), w.offered)),
                BLACK.stroke_width(2),
            ))?
            .label("offered load")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.stroke_width(2)));
        legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        Ok(())
    }
}

fn has_any(r: &Record, o: OutcomeId) -> bool {
    r.windows.iter().any(|w| w.outcomes[o] > 0)
}
