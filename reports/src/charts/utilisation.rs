//! An era's utilisation chart: every resource with a capacity; each group
//! of like gauges (the web nodes' CPUs) as its busiest few and a band for
//! the others, so that a thousand nodes draw as fast and read as well as
//! four; then the queues.

use lab_core::Record;
use lab_core::record::{GaugeGroup, GaugeKind};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::era::{shade_spans, x_max};
use super::{
    DrawResult, FONT, Plot, caption_font, color, legend, legend_box, legend_line, linear_top, mid, time_axis,
    time_label, timed_frame,
};

/// The members of a group drawn each as its own line.
pub const BUSIEST: usize = 5;

const UPPER: u32 = 360;
const GROUP_PANEL: u32 = 330;
/// Each queue has a panel and an axis of its own: a backlog of thousands
/// and a handful of lock waiters cannot share a scale.
const QUEUE_PANEL: u32 = 170;

/// The queues drawn under the utilisation, each in its own panel.
fn queues(r: &Record) -> Vec<usize> {
    r.gauges
        .iter()
        .enumerate()
        .filter(|(_, g)| matches!(g.kind, GaugeKind::Queue | GaugeKind::InSystem))
        .map(|(i, _)| i)
        // A queue that never held a request is an empty panel to scroll past.
        .filter(|&i| r.windows.iter().any(|w| w.gauges[i].max > 0.0))
        .collect()
}

/// Utilisation of every resource with a capacity, and the queues.
pub struct Utilisation<'a>(pub &'a Record);

/// How a group is drawn: its busiest members apart, the others together.
#[derive(Debug, PartialEq)]
pub struct GroupView {
    /// Indices in `Record::gauges`, the busiest first.
    pub busiest: Vec<usize>,
    /// The other members, in the group's order.
    pub others: Vec<usize>,
}

/// Ranks a group's members by their mean utilisation over the measured
/// span, mean over capacity (gold's group mixes host sizes; ties in the
/// group's order): the first [`BUSIEST`] apart, the others together,
/// unless they are too few to make a band.
pub fn group_view(r: &Record, g: &GaugeGroup) -> GroupView {
    let mut ranked = g.members.clone();
    let share = |i: usize| r.totals.gauges[i].mean / r.gauges[i].capacity.unwrap_or(1.0);
    ranked.sort_by(|&a, &b| share(b).total_cmp(&share(a)));
    if ranked.len() <= BUSIEST + 1 {
        return GroupView {
            busiest: ranked,
            others: Vec::new(),
        };
    }
    let busiest = ranked[..BUSIEST].to_vec();
    let others = g.members.iter().copied().filter(|m| !busiest.contains(m)).collect();
    GroupView { busiest, others }
}

/// Per window: the lowest, mean and highest utilisation (%) of `members`,
/// each at its gauge's resolution.
/// Empty when `members` is.
pub fn band(r: &Record, members: &[usize]) -> Vec<(f64, f64, f64)> {
    if members.is_empty() {
        return Vec::new();
    }
    let percent = |i: usize, w: usize| 100.0 * r.gauge_in_window(i, w).mean / r.gauges[i].capacity.unwrap_or(1.0);
    (0..r.windows.len())
        .map(|w| {
            let (mut lo, mut hi, mut sum) = (f64::MAX, f64::MIN, 0.0);
            for &i in members {
                let v = percent(i, w);
                lo = lo.min(v);
                hi = hi.max(v);
                sum += v;
            }
            (lo, sum / members.len() as f64, hi)
        })
        .collect()
}

fn in_a_group(r: &Record, i: usize) -> bool {
    r.groups.iter().any(|g| g.members.contains(&i))
}

impl Plot for Utilisation<'_> {
    fn id(&self) -> String {
        format!("{}-utilisation", self.0.meta.era)
    }
    fn title(&self) -> String {
        format!("{}: utilisation and queues", self.0.meta.era)
    }
    fn caption(&self) -> String {
        let mut c = "The resource that reaches 100% first is the bottleneck; below, the queue that grows behind it \
                     (FPM's listen backlog, row-lock waiters) tells where requests wait."
            .to_string();
        if !self.0.groups.is_empty() {
            c.push_str(&format!(
                " The web nodes' CPUs have a panel of their own: the {BUSIEST} busiest over the run as lines, the \
                 others as a band from the least to the most busy in each window, with their mean dashed; one \
                 node apart from the band is one the balancer treats differently."
            ));
        }
        c
    }
    fn size(&self) -> (u32, u32) {
        (
            1000,
            UPPER + 40 + GROUP_PANEL * self.0.groups.len() as u32 + QUEUE_PANEL * queues(self.0).len() as u32,
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let r = self.0;
        root.fill(&WHITE)?;
        let root = root.titled(&self.title(), caption_font())?;
        let (upper, mut rest) = root.split_vertically(UPPER);
        let util: Vec<usize> = r
            .gauges
            .iter()
            .enumerate()
            .filter(|&(i, g)| {
                g.capacity.is_some_and(|c| c > 0.0)
                    && matches!(g.kind, GaugeKind::Cpu | GaugeKind::Workers | GaugeKind::Connections)
                    && !in_a_group(r, i)
            })
            .map(|(i, _)| i)
            .collect();
        // Room above 100 % for the legend, so that it never covers a line:
        // about 20 px an entry on a plot about 300 px high.
        let legend_px = 20.0 * util.len() as f64 + 16.0;
        let top = 105.0 / (1.0 - (legend_px / 300.0).min(0.6));
        let mut chart = timed_frame(&upper, 35, false).build_cartesian_2d(time_axis(x_max(r)), 0f64..top)?;
        chart
            .configure_mesh()
            .x_label_formatter(&time_label)
            .y_label_formatter(&|v: &f64| if *v <= 100.0 { format!("{v:.0}") } else { String::new() })
            .y_desc("utilisation (%)")
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .draw()?;
        shade_spans(&mut chart, r, 0.0, top, true)?;
        for (n, &i) in util.iter().enumerate() {
            let cap = r.gauges[i].capacity.unwrap_or(1.0);
            let c = color(n);
            // Lines drawn first are wider, so that resources full together
            // show as nested bands at 100 % rather than one line.
            let width = (2 + 2 * (util.len() - 1 - n)).min(10) as u32;
            chart
                .draw_series(LineSeries::new(
                    r.windows.iter().map(|w| (mid(w), 100.0 * w.gauges[i].mean / cap)),
                    c.stroke_width(width),
                ))?
                .label(format!("{} (of {})", r.gauges[i].label, cap))
                .legend(legend_line(c));
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft)?;

        for g in &r.groups {
            let (panel, below) = rest.split_vertically(GROUP_PANEL);
            rest = below;
            draw_group(&panel, r, g)?;
        }

        let queues = queues(r);
        for (n, &i) in queues.iter().enumerate() {
            let (panel, below) = rest.split_vertically(QUEUE_PANEL);
            rest = below;
            let last = n + 1 == queues.len();
            let top = linear_top(r.windows.iter().map(|w| w.gauges[i].max));
            // The panel's name above it, not a legend over its data.
            let mut chart = timed_frame(&panel, if last { 40 } else { 25 }, false)
                .caption(format!("{} (window mean)", r.gauges[i].label), (FONT, 14))
                .build_cartesian_2d(time_axis(x_max(r)), 0f64..top)?;
            chart
                .configure_mesh()
                .x_label_formatter(&time_label)
                .x_desc(if last { "time" } else { "" })
                .y_desc("requests")
                .y_labels(4)
                .y_label_formatter(&|v: &f64| {
                    if v.fract() == 0.0 {
                        format!("{v:.0}")
                    } else {
                        format!("{v:.1}")
                    }
                })
                .label_style((FONT, 13))
                .axis_desc_style((FONT, 14))
                .draw()?;
            shade_spans(&mut chart, r, 0.0, top, false)?;
            let c = color(n + util.len());
            chart.draw_series(LineSeries::new(
                r.windows.iter().map(|w| (mid(w), w.gauges[i].mean)),
                c.stroke_width(2),
            ))?;
        }
        Ok(())
    }
}

/// A group's panel: the busiest members' lines over the others' band.
fn draw_group<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, r: &Record, g: &GaugeGroup) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let view = group_view(r, g);
    let band = band(r, &view.others);
    let lines: Vec<Vec<(f64, f64)>> = view
        .busiest
        .iter()
        .map(|&i| {
            let cap = r.gauges[i].capacity.unwrap_or(1.0);
            r.gauge_points(i)
                .into_iter()
                .map(|(start, len, s)| ((start as f64 + len as f64 / 2.0) / 1e9, 100.0 * s.mean / cap))
                .collect()
        })
        .collect();
    // Up to the busiest figure: a thousand lightly loaded nodes would
    // otherwise lie flat along the bottom of a 100% axis.
    let data_top = linear_top(lines.iter().flatten().map(|p| p.1).chain(band.iter().map(|b| b.2))).min(105.0);
    // Room above the data for the legend, as on the other charts: no line
    // runs under it.
    let entries = view.busiest.len() + if view.others.is_empty() { 0 } else { 2 };
    let plot_px = f64::from(area.dim_in_pixel().1).max(100.0) - 45.0;
    let top = super::linear_headroom(data_top, entries, plot_px);
    let mut chart = timed_frame(area, 35, false).build_cartesian_2d(time_axis(x_max(r)), 0f64..top)?;
    chart
        .configure_mesh()
        .x_label_formatter(&time_label)
        .y_desc(format!("{} (%)", g.label))
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
    shade_spans(&mut chart, r, 0.0, top, false)?;
    if !view.others.is_empty() {
        let xs: Vec<f64> = r.windows.iter().map(mid).collect();
        let outline: Vec<(f64, f64)> = xs
            .iter()
            .zip(&band)
            .map(|(&x, b)| (x, b.0))
            .chain(xs.iter().zip(&band).rev().map(|(&x, b)| (x, b.2)))
            .collect();
        let grey = RGBColor(120, 120, 120);
        chart
            .draw_series(std::iter::once(Polygon::new(outline, grey.mix(0.3).filled())))?
            .label(format!("the other {}: least to most busy", view.others.len()))
            .legend(legend_box(grey.mix(0.3)));
    }
    for (n, (&i, points)) in view.busiest.iter().zip(lines).enumerate() {
        let cap = r.gauges[i].capacity.unwrap_or(1.0);
        let c = color(n);
        chart
            .draw_series(LineSeries::new(points, c.stroke_width(2)))?
            .label(format!(
                "{} (of {cap}), {:.0}% over the run",
                r.gauges[i].label,
                100.0 * r.totals.gauges[i].mean / cap
            ))
            .legend(legend_line(c));
    }
    // The others' mean last, over the lines: it is what the busiest are
    // measured against.
    if !view.others.is_empty() {
        let n = view.others.len();
        let mean = RGBColor(40, 40, 40);
        chart
            .draw_series(DashedLineSeries::new(
                r.windows.iter().map(mid).zip(&band).map(|(x, b)| (x, b.1)),
                6,
                4,
                mean.stroke_width(2),
            ))?
            .label(format!("the other {n}: mean"))
            .legend(legend_line(mean));
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use lab_core::record::{RecordBuilder, RecordMeta, Source};

    use super::*;

    const S: u64 = 1_000_000_000;

    /// Eight nodes of 4 cores over two seconds: node `m` busy `m / 2` cores,
    /// all of them the second second but node 0, which is idle.
    fn record() -> Record {
        let mut b = RecordBuilder::new(RecordMeta {
            scenario: "t".into(),
            era: "silver".into(),
            model: "silver".into(),
            source: Source::Simulated,
            seed: 1,
            window: S,
            warmup: 0,
            duration: 2 * S,
            price_per_hour: 0.0,
        });
        let g = b.add_group("web.cpu", "web nodes' CPU");
        let ids: Vec<_> = (0..8)
            .map(|m| {
                b.add_gauge_in(
                    g,
                    lab_core::record::GaugeSpec {
                        key: format!("web[{m}].cpu"),
                        label: format!("web[{m}] CPU"),
                        kind: GaugeKind::Cpu,
                        capacity: Some(4.0),
                    },
                )
            })
            .collect();
        for (m, &id) in ids.iter().enumerate() {
            b.gauge(0, id, m as u64 / 2);
        }
        for (m, &id) in ids.iter().enumerate() {
            b.gauge(S, id, if m == 0 { 0 } else { 4 });
        }
        b.finish(2 * S, 0, |_, _| 0.0)
    }

    #[test]
    fn the_busiest_go_apart_and_the_others_make_a_band() {
        let r = record();
        let view = group_view(&r, &r.groups[0]);
        // Means 0, 2, 2.5, 2.5, 3, 3, 3.5 and 3.5 cores: ties keep the
        // group's order.
        assert_eq!(view.busiest, [6, 7, 4, 5, 2]);
        assert_eq!(view.others, [0, 1, 3]);
        let b = band(&r, &view.others);
        // First second: 0, 0 and 1 of 4 cores; then 0, 4 and 4.
        assert_eq!(b[0], (0.0, 100.0 / 12.0, 25.0));
        assert_eq!(b[1], (0.0, 200.0 / 3.0, 100.0));
        assert!(band(&r, &[]).is_empty());
    }

    #[test]
    fn a_group_too_small_for_a_band_is_all_lines() {
        let mut r = record();
        r.groups[0].members.truncate(BUSIEST + 1);
        let view = group_view(&r, &r.groups[0]);
        assert_eq!(view.busiest.len(), BUSIEST + 1);
        assert!(view.others.is_empty());
    }
}
