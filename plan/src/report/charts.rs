//! Each era's two charts against offered load: the p99 curve with the
//! SLO's bounds, the capacity and the knee; and each resource's use.
//! Drawn in the run report's style (`lab_reports::charts`): its font,
//! sizes, margins and palette.

// The run report's colours, so that a plan's charts read like its charts.
use lab_reports::charts::{PALETTE, ms_label};
use std::error::Error;
use std::ops::Range;

use lab_core::record::format_ms;
use lab_reports::charts::Plot;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::prelude::*;

use super::{capacity_figure, load};
use crate::capacity::{Bound, Capacity};
use crate::era_plan::EraPlan;

type DrawResult = Result<(), Box<dyn Error + Send + Sync>>;

/// The family `lab_reports::charts::render` registers.
const FONT: &str = "sans-serif";
const MARGIN: u32 = 12;
const LABEL_AREA: u32 = 70;
/// Resources drawn at most: more lines than that no longer read apart.
pub const MAX_LINES: usize = 8;
const MISS: RGBColor = RGBColor(214, 39, 40);
const CAPACITY: RGBColor = RGBColor(20, 60, 120);
const INTERVAL: RGBAColor = RGBAColor(31, 119, 180, 0.15);

/// A value axis, linear or logarithmic, with ticks on 1-2-5 steps: one
/// type for both, so that a chart is drawn by one piece of code whichever
/// its data asks for.
#[derive(Clone)]
pub struct Axis {
    lo: f64,
    hi: f64,
    log: bool,
    ticks: Vec<f64>,
    light: Vec<f64>,
}

impl Axis {
    pub fn linear(lo: f64, hi: f64) -> Axis {
        let hi = if hi > lo { hi } else { lo + 1.0 };
        let step = nice((hi - lo) / 8.0);
        let on = |step: f64| -> Vec<f64> {
            let first = (lo / step).ceil() as i64;
            (first..)
                .map(|k| k as f64 * step)
                .take_while(|v| *v <= hi + step * 1e-9)
                .collect()
        };
        Axis {
            lo,
            hi,
            log: false,
            ticks: on(step),
            light: on(step / 5.0),
        }
    }

    pub fn log(lo: f64, hi: f64) -> Axis {
        let lo = lo.max(1e-9);
        let hi = if hi > lo { hi } else { lo * 10.0 };
        let within = |steps: &[f64]| -> Vec<f64> {
            let (d0, d1) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
            (d0..=d1)
                .flat_map(|d| steps.iter().map(move |s| s * 10f64.powi(d)))
                .filter(|v| *v >= lo * (1.0 - 1e-9) && *v <= hi * (1.0 + 1e-9))
                .collect()
        };
        let mut ticks = within(&[1.0, 2.0, 5.0]);
        if ticks.len() > 12 {
            ticks = within(&[1.0]);
        }
        Axis {
            lo,
            hi,
            log: true,
            ticks,
            light: within(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]),
        }
    }

    /// Where `v` falls between the ends, 0 to 1.
    fn fraction(&self, v: f64) -> f64 {
        if self.log {
            (v.max(self.lo * 1e-3).ln() - self.lo.ln()) / (self.hi.ln() - self.lo.ln())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        }
    }

    fn clip(&self, v: f64) -> f64 {
        v.clamp(self.lo, self.hi)
    }
}

impl Ranged for Axis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let f = self.fraction(*value);
        (f64::from(limit.0) + f * f64::from(limit.1 - limit.0)).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.light.clone()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

/// The 1-2-5 step nearest above `raw`.
fn nice(raw: f64) -> f64 {
    if raw <= 0.0 || !raw.is_finite() {
        return 1.0;
    }
    let p = 10f64.powf(raw.log10().floor());
    let m = raw / p;
    p * if m <= 1.0 {
        1.0
    } else if m <= 2.0 {
        2.0
    } else if m <= 5.0 {
        5.0
    } else {
        10.0
    }
}

/// The offered-load axis of both charts: from 0, or logarithmic when the
/// points span more than 30× (a search that halved far down).
fn load_axis(e: &EraPlan) -> Axis {
    let c = &e.capacity;
    let xs = c
        .points
        .iter()
        .map(|p| p.offered)
        .chain([c.offered, c.offered_low])
        .filter(|v| *v > 0.0 && v.is_finite());
    let (lo, hi) = xs.fold((f64::MAX, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if hi <= 0.0 {
        return Axis::linear(0.0, 1.0);
    }
    if hi / lo > 30.0 {
        Axis::log(lo / 1.3, hi * 1.3)
    } else {
        Axis::linear(0.0, hi * 1.08)
    }
}

fn load_desc(unit: &str) -> String {
    if unit.trim() == "users" {
        "offered load (users)".into()
    } else {
        "offered load (peak arrivals /s)".into()
    }
}

/// A legend of `entries` rows in the top left corner takes this share of
/// a plot `plot_px` high: the axis is raised by as much, so that the
/// legend sits over empty space and never over the data.
fn legend_share(entries: usize, plot_px: f64) -> f64 {
    ((20.0 * entries as f64 + 16.0) / plot_px).min(0.6)
}

fn legend<'a, DB: DrawingBackend + 'a>(chart: &mut ChartContext<'a, DB, Cartesian2d<Axis, Axis>>) -> DrawResult
where
    DB::ErrorType: 'static,
{
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FONT, 13))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

fn frame<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>) -> ChartBuilder<'_, '_, DB> {
    let mut b = ChartBuilder::on(area);
    b.margin(MARGIN)
        .margin_right(MARGIN * 3)
        .x_label_area_size(45)
        .y_label_area_size(LABEL_AREA);
    b
}

fn load_label(v: &f64) -> String {
    load(*v)
}

/// The capacity's line and its interval, from `bottom` to `top` of the
/// data (not into the legend's room).
fn draw_capacity<'a, DB: DrawingBackend + 'a>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<Axis, Axis>>,
    x: &Axis,
    c: &Capacity,
    bottom: f64,
    top: f64,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let (lo, hi) = (x.clip(c.offered_low), x.clip(c.offered_high));
    if hi > lo {
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(lo, bottom), (hi, top)],
                INTERVAL.filled(),
            )))?
            .label(if c.bound == Bound::AtLeast {
                "capacity: at least this, the largest load a plan simulates".to_string()
            } else {
                "capacity's 95 % interval".to_string()
            })
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 18, y + 5)], INTERVAL.filled()));
    }
    if c.offered > 0.0 && c.offered >= x.lo && c.offered <= x.hi {
        chart
            .draw_series(LineSeries::new(
                [(c.offered, bottom), (c.offered, top)],
                CAPACITY.stroke_width(2),
            ))?
            .label(format!("capacity {}", capacity_figure(c)))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], CAPACITY.stroke_width(2)));
    }
    Ok(())
}

/// p99 against offered load.
pub struct Curve<'a> {
    pub id: String,
    pub era: &'a EraPlan,
    /// The SLO's latency bounds: name (`p99`) and milliseconds.
    pub slo: Vec<(String, f64)>,
    pub replications: u32,
}

impl Plot for Curve<'_> {
    fn id(&self) -> String {
        self.id.clone()
    }
    fn title(&self) -> String {
        format!("{}: p99 against offered load", self.era.era)
    }
    fn caption(&self) -> String {
        format!(
            "Each point is one load run with {} replications or more (their mean p99; the points near the capacity \
             get more): filled where the SLO holds (the replications' geometric-mean SLO load at most 1), hollow red \
             where it does not. Dashed lines are the SLO's latency bounds; the vertical \
             line is the capacity, its 95 % interval shaded; the knee is where latency starts to climb faster than \
             the load.",
            self.replications
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let root = root.titled(&self.title(), (FONT, 20).into_font().style(FontStyle::Bold))?;
        let c = &self.era.capacity;
        let pts: Vec<(usize, f64, f64, bool)> = c
            .points
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.p99_ms.map(|y| (i, p.offered, y, p.holds())))
            .filter(|p| p.2 > 0.0)
            .collect();
        let x = load_axis(self.era);
        let ys = pts.iter().map(|p| p.2).chain(self.slo.iter().map(|s| s.1));
        let (lo, hi) = ys.fold((f64::MAX, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let (lo, hi) = if hi > 0.0 { (lo, hi) } else { (1.0, 10.0) };
        let entries = 4 + self.slo.len() + usize::from(pts.iter().any(|p| !p.3));
        let plot_px = f64::from(root.dim_in_pixel().1).max(100.0) - 60.0;
        let s = legend_share(entries, plot_px);
        let (y, bottom, data_top) = if hi / lo > 30.0 {
            let (lo, hi) = (lo / 1.5, hi * 1.5);
            (Axis::log(lo, hi * (hi / lo).powf(s / (1.0 - s))), lo, hi)
        } else {
            let top = hi * 1.1;
            (Axis::linear(0.0, top / (1.0 - s)), 0.0, top)
        };
        let mut chart = frame(&root).build_cartesian_2d(x.clone(), y.clone())?;
        chart
            .configure_mesh()
            .x_desc(load_desc(&c.unit))
            .y_desc("p99 (mean over the replications)")
            .x_label_formatter(&load_label)
            .y_label_formatter(&|v: &f64| if *v <= data_top { ms_label(v) } else { String::new() })
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .draw()?;
        draw_capacity(&mut chart, &x, c, bottom, data_top)?;
        for (n, (name, ms)) in self.slo.iter().enumerate() {
            let col = PALETTE[(n + 3) % PALETTE.len()];
            chart
                .draw_series(DashedLineSeries::new(
                    [(x.lo, *ms), (x.hi, *ms)],
                    8,
                    5,
                    col.stroke_width(2),
                ))?
                .label(format!("SLO: {name} ≤ {}", format_ms(*ms)))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], col.stroke_width(2)));
        }
        let grey = RGBColor(150, 150, 150);
        chart.draw_series(LineSeries::new(pts.iter().map(|p| (p.1, p.2)), grey.stroke_width(1)))?;
        let held = PALETTE[0];
        chart
            .draw_series(
                pts.iter()
                    .filter(|p| p.3)
                    .map(|p| Circle::new((p.1, p.2), 5, held.filled())),
            )?
            .label("SLO holds")
            .legend(move |(x, y)| Circle::new((x + 9, y), 5, held.filled()));
        if pts.iter().any(|p| !p.3) {
            chart
                .draw_series(
                    pts.iter()
                        .filter(|p| !p.3)
                        .map(|p| Circle::new((p.1, p.2), 5, MISS.stroke_width(2))),
                )?
                .label("SLO missed")
                .legend(|(x, y)| Circle::new((x + 9, y), 5, MISS.stroke_width(2)));
        }
        if let Some(k) = c.knee
            && let Some(p) = pts.iter().find(|p| p.0 == k)
        {
            chart.draw_series(std::iter::once(
                EmptyElement::at((p.1, p.2))
                    + Circle::new((0, 0), 10, BLACK.stroke_width(2))
                    + Text::new("knee", (10, -26), (FONT, 14).into_font()),
            ))?;
        }
        legend(&mut chart)?;
        Ok(())
    }
}

/// Each resource's use against offered load.
pub struct Use<'a> {
    pub id: String,
    pub era: &'a EraPlan,
    pub phase: String,
}

impl Use<'_> {
    /// The resources drawn: the busiest at the capacity (or, with no point
    /// within it, at the last point), at most [`MAX_LINES`].
    pub fn shown(&self) -> Vec<(String, String)> {
        let c = &self.era.capacity;
        let mut at: Vec<&crate::point::Utilisation> = if c.utilisation_at_capacity.is_empty() {
            c.points
                .last()
                .map(|p| p.utilisation.iter().collect())
                .unwrap_or_default()
        } else {
            c.utilisation_at_capacity.iter().collect()
        };
        at.sort_by(|a, b| b.value.total_cmp(&a.value));
        at.into_iter()
            .take(MAX_LINES)
            .map(|u| (u.key.clone(), u.label.clone()))
            .collect()
    }
}

impl Plot for Use<'_> {
    fn id(&self) -> String {
        self.id.clone()
    }
    fn title(&self) -> String {
        format!("{}: utilisation against offered load", self.era.era)
    }
    fn caption(&self) -> String {
        format!(
            "Each resource's mean use in the busiest phase ({}) over its capacity, mean of the replications, at each \
             load run (the {MAX_LINES} busiest at the capacity at most). The one that reaches 100% first, near the \
             capacity's line, is the bottleneck.",
            self.phase
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let root = root.titled(&self.title(), (FONT, 20).into_font().style(FontStyle::Bold))?;
        let c = &self.era.capacity;
        let shown = self.shown();
        let lines: Vec<Vec<(f64, f64)>> = shown
            .iter()
            .map(|(key, _)| {
                c.points
                    .iter()
                    .filter_map(|p| p.utilisation_of(key).map(|u| (p.offered, 100.0 * u)))
                    .collect()
            })
            .collect();
        let x = load_axis(self.era);
        let data_top = lines.iter().flatten().map(|p| p.1).fold(100.0f64, f64::max) * 1.05;
        let entries = shown.len() + 2;
        let plot_px = f64::from(root.dim_in_pixel().1).max(100.0) - 60.0;
        let top = data_top / (1.0 - legend_share(entries, plot_px));
        let y = Axis::linear(0.0, top);
        let mut chart = frame(&root).build_cartesian_2d(x.clone(), y)?;
        chart
            .configure_mesh()
            .x_desc(load_desc(&c.unit))
            .y_desc("utilisation (%)")
            .x_label_formatter(&load_label)
            .y_label_formatter(&|v: &f64| {
                if *v <= data_top {
                    format!("{v:.0}")
                } else {
                    String::new()
                }
            })
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .draw()?;
        draw_capacity(&mut chart, &x, c, 0.0, data_top)?;
        chart.draw_series(LineSeries::new(
            [(x.lo, 100.0), (x.hi, 100.0)],
            RGBColor(120, 120, 120).stroke_width(1),
        ))?;
        let at = |key: &str| c.utilisation_at_capacity.iter().find(|u| u.key == key).map(|u| u.value);
        for (n, ((key, label), pts)) in shown.iter().zip(&lines).enumerate() {
            let col = PALETTE[n % PALETTE.len()];
            chart
                .draw_series(LineSeries::new(pts.iter().copied(), col.stroke_width(2)))?
                .label(match at(key) {
                    Some(v) => format!("{label}: {v:.0}% at capacity", v = v * 100.0),
                    None => label.clone(),
                })
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], col.stroke_width(2)));
            chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, col.filled())))?;
        }
        legend(&mut chart)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_tick_on_one_two_five_steps() {
        let a = Axis::linear(0.0, 1080.0);
        assert_eq!(a.ticks, [0.0, 200.0, 400.0, 600.0, 800.0, 1000.0]);
        let l = Axis::log(3.0, 700.0);
        assert_eq!(l.ticks, [5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0]);
        assert_eq!(l.map(&3.0, (0, 100)), 0);
        assert_eq!(l.map(&700.0, (0, 100)), 100);
        assert_eq!(a.map(&540.0, (100, 0)), 50);
        assert_eq!(
            [ms_label(&0.0), ms_label(&200.0), ms_label(&1500.0)],
            ["0", "200ms", "1.5s"]
        );
    }
}
