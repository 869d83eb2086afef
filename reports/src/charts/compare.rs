//! Eras side by side: p99, throughput and error rate over time.

use lab_core::Record;
use lab_core::scenario::Percentile;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{
    DrawResult, FONT, Plot, caption_font, color, frame, linear_top, log_range, mid, ms_label, time_axis, time_label,
    whole,
};

pub struct Comparison<'a>(pub &'a [Record]);

/// The most eras drawn as lines: past it, colours repeat and lines hide
/// each other; the best ones are drawn and the summary table has them all.
pub const MAX_LINES: usize = 6;

/// The eras the chart draws, in the scenario's order: all of them up to
/// [`MAX_LINES`], else the best by whole-run error rate, then p99.
pub fn shown(records: &[Record]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..records.len()).collect();
    if order.len() <= MAX_LINES {
        return order;
    }
    let key = |i: usize| {
        let t = &records[i].totals;
        (
            t.outcomes.error_rate().unwrap_or(1.0),
            t.latency.percentile(Percentile::P99).map_or(u64::MAX, |v| v),
        )
    };
    order.sort_by(|&a, &b| key(a).partial_cmp(&key(b)).unwrap_or(std::cmp::Ordering::Equal));
    order.truncate(MAX_LINES);
    order.sort_unstable();
    order
}

/// Height of the strip that holds the one legend of the three panels.
const LEGEND: u32 = 34;

impl Plot for Comparison<'_> {
    fn id(&self) -> String {
        "eras".into()
    }
    fn title(&self) -> String {
        let n = self.0.len();
        if n > MAX_LINES {
            format!("Eras compared: the {MAX_LINES} best of {n}")
        } else {
            "Eras compared".into()
        }
    }
    fn caption(&self) -> String {
        let mut c: String = "Same traffic, one line per era: the era whose p99 stays low and whose error rate stays \
                             at zero through the spike is the one that copes; the others show when and how hard \
                             they break."
            .into();
        if self.0.len() > MAX_LINES {
            c.push_str(&format!(
                " With {} eras only the {MAX_LINES} with the fewest errors (then the lowest p99) are drawn; the \
                 summary table lists every one.",
                self.0.len()
            ));
        }
        c
    }
    fn size(&self) -> (u32, u32) {
        (1000, 980)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let all = self.0;
        let records: Vec<&Record> = shown(all).into_iter().map(|i| &all[i]).collect();
        root.fill(&WHITE)?;
        let root = root.titled(&self.title(), caption_font())?;
        // One legend for the three panels, above them, where it covers nothing.
        let (strip, root) = root.split_vertically(LEGEND);
        draw_legend(&strip, &records)?;
        let panels = root.split_evenly((3, 1));
        let x_max = records.iter().map(|r| r.meta.duration).max().unwrap_or(1) as f64 / 1e9;

        let p99 = |r: &Record| -> Vec<(f64, f64)> {
            r.windows
                .iter()
                .filter_map(|w| w.latency.percentile(Percentile::P99).map(|v| (mid(w), v as f64 / 1e6)))
                .collect()
        };
        let (lo, hi) = log_range(records.iter().flat_map(|r| p99(r).into_iter().map(|p| p.1)));
        let mut chart = frame(&panels[0], 30).build_cartesian_2d(time_axis(x_max), (lo..hi).log_scale())?;
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
            chart.draw_series(LineSeries::new(p99(r), c.stroke_width(2)))?;
        }

        let top = linear_top(
            records
                .iter()
                .flat_map(|r| r.windows.iter().flat_map(|w| [w.throughput(), w.offered])),
        );
        let mut chart = frame(&panels[1], 30).build_cartesian_2d(time_axis(x_max), 0f64..top)?;
        chart
            .configure_mesh()
            .x_label_formatter(&time_label)
            .y_desc("successful responses/s")
            .y_label_formatter(&whole)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .draw()?;
        if let Some(r) = records.first() {
            let grey = RGBColor(150, 150, 150).mix(0.25);
            chart.draw_series(AreaSeries::new(
                r.windows.iter().map(|w| (mid(w), w.offered)),
                0.0,
                grey,
            ))?;
        }
        for (i, r) in records.iter().enumerate() {
            let c = color(i);
            chart.draw_series(LineSeries::new(
                r.windows.iter().map(|w| (mid(w), w.throughput())),
                c.stroke_width(2),
            ))?;
        }

        let mut chart = frame(&panels[2], 40).build_cartesian_2d(time_axis(x_max), 0f64..100f64)?;
        chart
            .configure_mesh()
            .x_label_formatter(&time_label)
            .x_desc("time")
            .y_desc("errors (% of finished)")
            .y_label_formatter(&whole)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .draw()?;
        for (i, r) in records.iter().enumerate() {
            let c = color(i);
            let pts = r
                .windows
                .iter()
                .filter_map(|w| w.outcomes.error_rate().map(|e| (mid(w), 100.0 * e)));
            chart.draw_series(LineSeries::new(pts, c.stroke_width(2)))?;
        }
        Ok(())
    }
}

/// A row of entries: each era's colour and name, then the offered load.
fn draw_legend<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, records: &[&Record]) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let style = TextStyle::from((FONT, 14).into_font()).color(&BLACK);
    let mut x = 80i32;
    let y = (LEGEND / 2) as i32;
    let mut entry = |label: &str, swatch: &dyn Fn(i32) -> DrawResult| -> DrawResult {
        swatch(x)?;
        area.draw(&Text::new(label.to_string(), (x + 24, y - 8), style.clone()))?;
        x += 24 + 9 * label.chars().count() as i32 + 22;
        Ok(())
    };
    for (i, r) in records.iter().enumerate() {
        let c = color(i);
        entry(&r.meta.era, &|x| {
            area.draw(&PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(3)))?;
            Ok(())
        })?;
    }
    let grey = RGBColor(150, 150, 150).mix(0.25);
    entry("offered load", &|x| {
        area.draw(&Rectangle::new([(x, y - 6), (x + 18, y + 6)], grey.filled()))?;
        Ok(())
    })
}
