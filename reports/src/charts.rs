//! Charts drawn with plotters, each to an SVG (inlined in the HTML page and
//! written beside it) and a PNG. Text uses DejaVu Sans from the `dejavu`
//! crate, so rendering does not depend on the fonts a machine has.

mod compare;
mod endpoints;
mod era;
mod replicated;
mod services;
mod strip;
mod utilisation;

use std::error::Error;
use std::path::Path;
use std::sync::Once;

use plotters::coord::{CoordTranslate, Shift};
use plotters::prelude::*;

pub use compare::{Comparison, MAX_LINES, shown};
pub use endpoints::{Endpoints, has_endpoints};
pub use era::{Latency, Throughput};
pub use replicated::Replicated;
pub use services::Services;
pub(crate) use services::service_waits;
pub use utilisation::Utilisation;

pub(crate) type DrawResult = Result<(), Box<dyn Error + Send + Sync>>;

/// A chart that can be drawn on any plotters backend.
pub trait Plot: Sync {
    /// File stem of the chart's SVG and PNG.
    fn id(&self) -> String;
    fn title(&self) -> String;
    /// One sentence: what to look at.
    fn caption(&self) -> String;
    fn size(&self) -> (u32, u32) {
        (1000, 460)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static;
}

/// A chart as the HTML page needs it.
pub struct Rendered {
    pub id: String,
    pub title: String,
    pub caption: String,
    pub svg: String,
}

pub(crate) const FONT: &str = "sans-serif";

fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Both are valid TrueType files shipped inside the dejavu crate.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
        let _ = plotters::style::register_font(FONT, FontStyle::Bold, dejavu::sans::bold());
    });
}

/// Draws `plot` as `<id>.svg` and `<id>.png` in `dir` and returns the SVG.
pub fn render<P: Plot>(plot: &P, dir: &Path) -> Result<Rendered, String> {
    register_fonts();
    let id = plot.id();
    let size = plot.size();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        plot.draw(&root).map_err(|e| format!("chart {id} (SVG): {e}"))?;
        root.present().map_err(|e| format!("chart {id} (SVG): {e}"))?;
    }
    std::fs::write(dir.join(format!("{id}.svg")), &svg).map_err(|e| format!("writing {id}.svg: {e}"))?;
    let mut pixels = vec![0u8; size.0 as usize * size.1 as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
        plot.draw(&root).map_err(|e| format!("chart {id} (PNG): {e}"))?;
        root.present().map_err(|e| format!("chart {id} (PNG): {e}"))?;
    }
    let path = dir.join(format!("{id}.png"));
    write_png(&path, size, &pixels).map_err(|e| format!("writing {}: {e}", path.display()))?;
    Ok(Rendered {
        id,
        title: plot.title(),
        caption: plot.caption(),
        svg,
    })
}

/// Charts are large flat areas: a fixed Sub filter and fast deflate keep
/// the files small at a fraction of the cost of adaptive filtering.
fn write_png(path: &Path, (w, h): (u32, u32), rgb: &[u8]) -> Result<(), Box<dyn Error>> {
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut enc = png::Encoder::new(file, w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Fast);
    enc.set_filter(png::FilterType::Sub);
    enc.set_adaptive_filter(png::AdaptiveFilterType::NonAdaptive);
    let mut writer = enc.write_header()?;
    writer.write_image_data(rgb)?;
    writer.finish()?;
    Ok(())
}

/// The style of a chart's title.
pub(crate) fn caption_font() -> TextStyle<'static> {
    (FONT, 20).into_font().style(FontStyle::Bold).into()
}

/// Around every panel, in pixels.
pub(crate) const MARGIN: u32 = 12;
/// Room for a vertical axis's labels, in pixels.
pub(crate) const LABEL_AREA: u32 = 70;

/// The tint of the stretches nobody held the VIP, in every chart.
pub(crate) const NO_ENTRY: RGBAColor = RGBAColor(31, 119, 180, 0.18);

/// The frame every panel shares: margins and room for the axis labels.
pub(crate) fn frame<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, x_labels: u32) -> ChartBuilder<'_, '_, DB> {
    let mut b = ChartBuilder::on(area);
    b.margin(MARGIN)
        .x_label_area_size(x_labels)
        .y_label_area_size(LABEL_AREA);
    b
}

/// [`frame`] with room on the right for an axis: the latency chart's
/// requests/s (`right_axis`), or nothing in the others, so that an era's
/// time axes line up on the page.
pub(crate) fn timed_frame<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    x_labels: u32,
    right_axis: bool,
) -> ChartBuilder<'_, '_, DB> {
    let mut b = frame(area, x_labels);
    if right_axis {
        b.right_y_label_area_size(LABEL_AREA);
    } else {
        // A label area would repeat the left axis's labels there.
        b.margin_right(MARGIN + LABEL_AREA);
    }
    b
}

/// Draws the legend of the series drawn so far.
pub(crate) fn legend<'a, DB, CT>(chart: &mut ChartContext<'a, DB, CT>, at: SeriesLabelPosition) -> DrawResult
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    CT: CoordTranslate,
{
    chart
        .configure_series_labels()
        .position(at)
        .label_font((FONT, 13))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// The middle of a window, in seconds: where its point goes on a time axis.
pub(crate) fn mid(w: &lab_core::record::Window) -> f64 {
    (w.start as f64 + w.len as f64 / 2.0) / 1e9
}

/// Colours that stay apart on screen and in print.
/// Tableau's ten: a panel of ten lines (gold's utilisation) repeats none.
pub const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

pub(crate) fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// The colours the shared outcomes always had: green for success, warm
/// for the monolith's errors, cool and greys for the balancers'.
fn known_outcome_color(key: &str) -> Option<RGBColor> {
    Some(match key {
        "ok" => RGBColor(44, 160, 44),
        "backlog_full_502" => RGBColor(255, 127, 14),
        "upstream_timeout_504" => RGBColor(148, 103, 189),
        "terminated_502" => RGBColor(140, 86, 75),
        "mysql_1040_500" => RGBColor(227, 119, 194),
        "mysql_1205_500" => RGBColor(188, 189, 34),
        "client_timeout" => RGBColor(214, 39, 40),
        "haproxy_503" => RGBColor(23, 190, 207),
        "haproxy_504" => RGBColor(31, 119, 180),
        "connect_failed" => RGBColor(127, 127, 127),
        "connection_reset" => RGBColor(60, 60, 60),
        "connect_timeout_504" => RGBColor(158, 218, 229),
        "nginx_connections_500" => RGBColor(255, 187, 120),
        "nginx_closed" => RGBColor(174, 199, 232),
        _ => return None,
    })
}

/// Colours for the other outcomes, none close to the ones above.
const OTHER_OUTCOMES: [RGBColor; 8] = [
    RGBColor(57, 59, 121),
    RGBColor(0, 128, 128),
    RGBColor(189, 158, 57),
    RGBColor(123, 65, 115),
    RGBColor(132, 60, 57),
    RGBColor(99, 121, 57),
    RGBColor(214, 97, 107),
    RGBColor(107, 110, 207),
];

/// FNV-1a: a hash that is the same on every machine and in every version,
/// unlike std's.
fn stable_hash(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// The colour of each declared outcome, by position. The shared outcomes
/// keep their colours; any other takes the palette slot its key
/// hashes to (so it has the same colour in every era that declares it),
/// or the next free one if another outcome of the record has it. Past the
/// palette, hues are spread by the golden angle.
pub(crate) fn outcome_colors<'a>(keys: impl Iterator<Item = &'a str>) -> Vec<RGBColor> {
    let keys: Vec<&str> = keys.collect();
    let mut colors: Vec<Option<RGBColor>> = keys.iter().map(|k| known_outcome_color(k)).collect();
    let mut extra = 0;
    for (i, key) in keys.iter().enumerate() {
        if colors[i].is_some() {
            continue;
        }
        let start = (stable_hash(key) % OTHER_OUTCOMES.len() as u64) as usize;
        let free = (0..OTHER_OUTCOMES.len())
            .map(|n| OTHER_OUTCOMES[(start + n) % OTHER_OUTCOMES.len()])
            .find(|c| !colors.contains(&Some(*c)));
        colors[i] = Some(free.unwrap_or_else(|| {
            extra += 1;
            let hue = (f64::from(extra) * 137.508).rem_euclid(360.0) / 360.0;
            let rgba = HSLColor(hue, 0.65, 0.45).to_rgba();
            RGBColor(rgba.0, rgba.1, rgba.2)
        }));
    }
    colors.into_iter().flatten().collect()
}

pub(crate) fn legend_line(c: RGBColor) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2))
}

pub(crate) fn legend_box(c: RGBAColor) -> impl Fn((i32, i32)) -> Rectangle<(i32, i32)> {
    move |(x, y)| Rectangle::new([(x, y - 5), (x + 18, y + 5)], c.filled())
}

/// A log axis range that holds every value, with some air around it.
pub(crate) fn log_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::MAX, 0.0f64);
    for v in values.filter(|v| *v > 0.0) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if hi <= 0.0 {
        return (0.1, 10.0);
    }
    ((lo / 1.5).max(1e-3), (hi * 1.5).max(lo * 10.0))
}

/// The share of a plot's height that a legend of `entries` rows takes in
/// its top left corner (about 20 px a row on a plot `plot_px` high),
/// capped so that the data keeps most of the plot.
fn legend_share(entries: usize, plot_px: f64) -> f64 {
    ((20.0 * entries as f64 + 16.0) / plot_px).min(0.6)
}

/// A linear axis's top raised so that the legend sits above the data and
/// never covers it.
pub(crate) fn linear_headroom(top: f64, entries: usize, plot_px: f64) -> f64 {
    top / (1.0 - legend_share(entries, plot_px))
}

/// [`linear_headroom`] for a log axis from `lo` to `hi`.
pub(crate) fn log_headroom(lo: f64, hi: f64, entries: usize, plot_px: f64) -> f64 {
    let s = legend_share(entries, plot_px);
    hi * (hi / lo).powf(s / (1.0 - s))
}

/// How many legend rows a record's shaded spans add (faults, VIP gaps).
pub(crate) fn span_entries(r: &lab_core::Record) -> usize {
    use lab_core::record::SpanKind;
    [SpanKind::Fault, SpanKind::NoEntry]
        .iter()
        .filter(|k| r.spans.iter().any(|s| s.kind == **k))
        .count()
}

#[cfg(test)]
mod time_tests {
    use super::*;

    #[test]
    fn ticks_fall_on_clock_steps_and_read_as_a_clock() {
        assert_eq!(
            time_ticks(240.0),
            [0.0, 30.0, 60.0, 90.0, 120.0, 150.0, 180.0, 210.0, 240.0]
        );
        assert_eq!(
            time_ticks(45.0),
            [0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 35.0, 40.0, 45.0]
        );
        assert_eq!(time_ticks(3000.0).len(), 11);
        assert_eq!(time_label(&0.0), "0:00");
        assert_eq!(time_label(&90.4), "1:30");
        assert_eq!(time_label(&3725.0), "1:02:05");
    }
}

/// The top of a linear axis: the largest value plus a tenth, never zero.
pub(crate) fn linear_top(values: impl Iterator<Item = f64>) -> f64 {
    let m = values.fold(0.0f64, f64::max);
    if m <= 0.0 { 1.0 } else { m * 1.1 }
}

/// The time axis of every chart: ticks on whole steps a clock reads
/// (10 s, 30 s, 1 min, 5 min …), not plotters' 1-2-5 steps, which put them
/// at 50 s and 1:40; the light grid divides each step evenly.
#[derive(Clone)]
pub(crate) struct TimeAxis {
    seconds: plotters::coord::types::RangedCoordf64,
    ticks: Vec<f64>,
    light: Vec<f64>,
}

/// A time axis from 0 to `x_max` seconds with at most about 10 ticks.
pub(crate) fn time_axis(x_max: f64) -> TimeAxis {
    let ticks = time_ticks(x_max);
    let step = ticks.get(1).copied().unwrap_or(x_max.max(1.0));
    let parts = if step >= 15.0 && (step / 3.0).fract() == 0.0 {
        3.0
    } else {
        5.0
    };
    let light = (0..)
        .map(|k| f64::from(k) * step / parts)
        .take_while(|t| *t <= x_max + 1e-9)
        .collect();
    TimeAxis {
        seconds: (0f64..x_max).into(),
        ticks,
        light,
    }
}

impl plotters::coord::ranged1d::Ranged for TimeAxis {
    type FormatOption = plotters::coord::ranged1d::DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.seconds.map(value, limit)
    }

    fn key_points<Hint: plotters::coord::ranged1d::KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.light.clone()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.seconds.range()
    }
}

fn time_ticks(x_max: f64) -> Vec<f64> {
    const STEPS: [f64; 16] = [
        1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 21600.0, 86400.0,
    ];
    let step = STEPS
        .iter()
        .copied()
        .find(|s| x_max / s <= 10.0)
        .unwrap_or_else(|| (x_max / 10.0 / 86400.0).ceil() * 86400.0);
    (0..)
        .map(|k| f64::from(k) * step)
        .take_while(|t| *t <= x_max + 1e-9)
        .collect()
}

/// Time tick labels as a clock reads them, m:ss (h:mm:ss past an hour):
/// one format on every axis, and "90.5" on a time axis reads as a value.
pub(crate) fn time_label(v: &f64) -> String {
    let s = v.round() as i64;
    let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
    if h > 0 {
        format!("{h}:{m:02}:{sec:02}")
    } else {
        format!("{m}:{sec:02}")
    }
}

/// Tick labels for counts, rates and percentages: "1200", not "1200.0".
pub(crate) fn whole(v: &f64) -> String {
    format!("{v:.0}")
}

/// Latency tick labels as short as they can be, on a log axis or a
/// linear one: `0`, `200ms`, `1.5s`.
pub fn ms_label(v: &f64) -> String {
    if *v <= 0.0 {
        "0".into()
    } else if *v >= 1000.0 {
        format!("{}s", trim(v / 1000.0))
    } else {
        format!("{}ms", trim(*v))
    }
}

fn trim(v: f64) -> String {
    let s = if v >= 10.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    };
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_keep_their_colours_and_new_ones_get_distinct_stable_ones() {
        let first = ["ok", "backlog_full_502", "client_timeout"];
        let c = outcome_colors(first.into_iter());
        assert_eq!(
            c,
            [RGBColor(44, 160, 44), RGBColor(255, 127, 14), RGBColor(214, 39, 40)]
        );
        assert_eq!(outcome_colors(["haproxy_503"].into_iter()), [RGBColor(23, 190, 207)]);
        // Twenty new outcomes beside every known one: all distinct.
        let known = [
            "upstream_timeout_504",
            "terminated_502",
            "mysql_1040_500",
            "mysql_1205_500",
            "haproxy_503",
            "haproxy_504",
            "connect_failed",
            "connection_reset",
            "connect_timeout_504",
            "nginx_connections_500",
            "nginx_closed",
        ];
        let keys: Vec<String> = (0..20).map(|i| format!("cause_{i}")).collect();
        let all: Vec<&str> = first
            .into_iter()
            .chain(known)
            .chain(keys.iter().map(String::as_str))
            .collect();
        let c = outcome_colors(all.iter().copied());
        for (i, a) in c.iter().enumerate() {
            assert!(c[i + 1..].iter().all(|b| b != a), "{} shares {a:?}", all[i]);
        }
        assert_eq!(c, outcome_colors(all.iter().copied()), "deterministic");
        // A new outcome alone has the colour its key hashes to, in any era.
        let alone = outcome_colors(["ok", "pod_evicted"].into_iter());
        let among = outcome_colors(["ok", "mysql_1040_500", "pod_evicted"].into_iter());
        assert_eq!(alone[1], among[2]);
    }
}
