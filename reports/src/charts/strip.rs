//! A record's timelines as coloured strips under a chart: one row per
//! timeline (who holds the VIP), a stretch per state, on the same time axis
//! and with the same margins as the era's other charts, so that a moment
//! lines up from one chart to the next.

use lab_core::Record;
use lab_core::record::Timeline;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{DrawResult, FONT, LABEL_AREA, MARGIN, NO_ENTRY, time_axis, time_label};

/// Height of a timeline's row, in pixels.
const ROW: u32 = 26;
/// Room for the time axis under the rows.
const AXIS: u32 = 40;
/// A line of legend per timeline.
const LEGEND: u32 = 22;

/// Colours of the states (a timeline's first state takes the first), apart
/// from the outcomes' greens and the spans' tints.
const STATES: [RGBColor; 6] = [
    RGBColor(27, 158, 119),
    RGBColor(117, 112, 179),
    RGBColor(217, 95, 2),
    RGBColor(231, 41, 138),
    RGBColor(102, 166, 30),
    RGBColor(166, 118, 29),
];

/// What a stretch with no state is called, and drawn in: the tint the
/// charts shade the VIP's gaps with.
const NONE: &str = "nobody";

fn state_color(state: Option<usize>) -> RGBAColor {
    match state {
        Some(s) => STATES[s % STATES.len()].to_rgba(),
        None => NO_ENTRY,
    }
}

/// The strips' height for `r`: 0 when it has no timeline.
pub(crate) fn height(r: &Record) -> u32 {
    let n = r.timelines.len() as u32;
    if n == 0 { 0 } else { n * (ROW + LEGEND) + AXIS }
}

/// Draws `r`'s timelines on `area` (of [`height`]) over `0..x_max` seconds.
pub(crate) fn draw<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, r: &Record, x_max: f64) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let n = r.timelines.len();
    let (rows, legend_area) = area.split_vertically(n as u32 * ROW + AXIS);
    let mut chart = ChartBuilder::on(&rows)
        .margin_left(MARGIN)
        .margin_right(MARGIN + LABEL_AREA)
        .x_label_area_size(AXIS)
        .y_label_area_size(LABEL_AREA)
        .build_cartesian_2d(time_axis(x_max), 0f64..n as f64)?;
    chart
        .configure_mesh()
        .x_label_formatter(&time_label)
        .disable_mesh()
        .y_labels(0)
        .x_desc("time")
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14))
        .draw()?;
    let end = r.meta.duration;
    let label_style = |s: Option<usize>| {
        // White reads on the states' dark colours, black on the pale gap.
        let c = if s.is_some() { WHITE } else { BLACK };
        (FONT, 12)
            .into_font()
            .color(&c)
            .pos(Pos::new(HPos::Center, VPos::Center))
    };
    for (k, t) in r.timelines.iter().enumerate() {
        // The first timeline on top.
        let (y0, y1) = ((n - k - 1) as f64 + 0.12, (n - k) as f64 - 0.12);
        let stretches: Vec<_> = t.stretches(end).collect();
        chart.draw_series(
            stretches.iter().map(|&(a, b, s)| {
                Rectangle::new([(a as f64 / 1e9, y0), (b as f64 / 1e9, y1)], state_color(s).filled())
            }),
        )?;
        // The state's name inside each stretch wide enough for it.
        let px = |s: f64| chart.backend_coord(&(s, 0.0)).0;
        let names = stretches.iter().filter_map(|&(a, b, s)| {
            let name = t.state_name(s, NONE);
            let (a, b) = (a as f64 / 1e9, b as f64 / 1e9);
            let fits = px(b) - px(a) > 8 * name.len() as i32 + 8;
            fits.then(|| Text::new(name.to_string(), ((a + b) / 2.0, (y0 + y1) / 2.0), label_style(s)))
        });
        let names: Vec<_> = names.collect();
        chart.draw_series(names)?;
        // The timeline's name in the left margin, beside its row.
        let (x, y) = chart.backend_coord(&(0.0, (y0 + y1) / 2.0));
        let (bx, by) = rows.get_base_pixel();
        rows.draw(&Text::new(
            t.label.clone(),
            (x - bx - 6, y - by),
            TextStyle::from((FONT, 13).into_font()).pos(Pos::new(HPos::Right, VPos::Center)),
        ))?;
    }
    for (k, t) in r.timelines.iter().enumerate() {
        let line = legend_area.split_evenly((n, 1))[k].clone();
        draw_legend(&line, t)?;
    }
    Ok(())
}

/// `VIP holder: ■ lb[0] ■ lb[1] ■ nobody`, from the plot's left edge.
fn draw_legend<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, t: &Timeline) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let style = TextStyle::from((FONT, 13).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    let y = (LEGEND / 2) as i32;
    let mut x = (MARGIN + LABEL_AREA) as i32;
    let title = format!("{}:", t.label);
    area.draw(&Text::new(title.clone(), (x, y), style.clone()))?;
    x += area.estimate_text_size(&title, &style)?.0 as i32 + 12;
    let states = (0..t.states.len()).map(Some).chain(std::iter::once(None));
    for s in states {
        area.draw(&Rectangle::new([(x, y - 6), (x + 18, y + 6)], state_color(s).filled()))?;
        x += 24;
        let name = t.state_name(s, NONE);
        area.draw(&Text::new(name.to_string(), (x, y), style.clone()))?;
        x += area.estimate_text_size(name, &style)?.0 as i32 + 16;
    }
    Ok(())
}
