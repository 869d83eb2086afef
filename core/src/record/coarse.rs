//! Gauges kept at a bounded number of points, so that a tier of a
//! thousand web nodes does not make the record grow with the run's length.
//!
//! A figure per window for each of a thousand CPU gauges is 16 KB a window:
//! a long run would hold more gauge figures than anything else. The members
//! of a gauge group past its first [`FULL_MEMBERS`] are kept instead as
//! series of at most [`POINTS`] points. A point covers a power-of-two number
//! of windows; when the series are full, adjacent points merge pairwise
//! (the resolution halves), so memory is bounded whatever the run's length.
//! Each point is time-weighted over its windows, like a window's figure,
//! and kept in single precision (8 bytes, half a window's figure: there
//! may be a thousand series); the whole-run figures are kept exactly,
//! window by window.

use super::{GaugeStat, Record, Window};

/// Members of a group kept with a figure per window, like any gauge.
pub const FULL_MEMBERS: usize = 16;

/// The most points a coarse gauge keeps: a point per window while the run
/// has at most this many windows.
pub const POINTS: usize = 256;

/// The record's coarse gauges: those of [`Record::gauges`] from `first` on,
/// which have no figure in the windows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CoarseGauges {
    /// The index of the first coarse gauge in [`Record::gauges`] (the
    /// number of gauges the windows hold).
    pub first: usize,
    /// Windows per point, a power of two; the last point may cover fewer.
    pub windows_per_point: usize,
    /// One series per coarse gauge, in the order of [`Record::gauges`].
    pub series: Vec<Vec<Point>>,
}

/// A coarse gauge's time-weighted mean and maximum over a point's windows,
/// to about seven significant figures.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Point {
    pub mean: f32,
    pub max: f32,
}

impl From<Point> for GaugeStat {
    fn from(p: Point) -> GaugeStat {
        GaugeStat {
            mean: f64::from(p.mean),
            max: f64::from(p.max),
        }
    }
}

/// A point being accumulated: level × seconds, and the highest level.
#[derive(Clone, Copy, Debug, Default)]
struct Area {
    area: f32,
    max: f32,
}

impl Area {
    fn add(&mut self, area: f32, max: f32) {
        self.area += area;
        self.max = self.max.max(max);
    }
}

/// The exact whole-run figures: level × ns, and the highest level.
#[derive(Clone, Copy, Debug, Default)]
struct Exact {
    area: f64,
    max: f64,
}

/// The builder's side: every coarse gauge's points so far, and its exact
/// figures over the measured windows.
#[derive(Debug)]
pub(super) struct CoarseAcc {
    windows_per_point: usize,
    windows: usize,
    points: usize,
    /// Capacity of each series: no more than the run has windows.
    capacity: usize,
    series: Vec<Vec<Area>>,
    measured: Vec<Exact>,
}

impl CoarseAcc {
    /// For a run of `windows` windows.
    pub(super) fn new(windows: u64) -> CoarseAcc {
        CoarseAcc {
            windows_per_point: 1,
            windows: 0,
            points: 0,
            capacity: usize::try_from(windows).unwrap_or(POINTS).clamp(1, POINTS),
            series: Vec::new(),
            measured: Vec::new(),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.series.len()
    }

    /// Adds a series and returns its index; before the first window closes.
    pub(super) fn add(&mut self) -> u32 {
        // Reserved at once: the series never reallocates, and a long run
        // holds what a short one does.
        self.series.push(Vec::with_capacity(self.capacity));
        self.measured.push(Exact::default());
        u32::try_from(self.series.len() - 1).expect("fewer than 2^32 coarse gauges")
    }

    /// A window is closing: starts a point when the window begins one,
    /// merging the points pairwise first when the series are full.
    pub(super) fn next_window(&mut self) {
        if self.windows % self.windows_per_point == 0 {
            if self.points == POINTS {
                for s in &mut self.series {
                    for j in 0..POINTS / 2 {
                        let (a, b) = (s[2 * j], s[2 * j + 1]);
                        s[j] = Area {
                            area: a.area + b.area,
                            max: a.max.max(b.max),
                        };
                    }
                    s.truncate(POINTS / 2);
                }
                self.points = POINTS / 2;
                self.windows_per_point *= 2;
            }
            for s in &mut self.series {
                s.push(Area::default());
            }
            self.points += 1;
        }
        self.windows += 1;
    }

    /// Series `i`'s figures for the closing window: its integral (level ×
    /// ns) and highest level; `measured` when the window is past the warm-up.
    pub(super) fn record(&mut self, i: u32, integral: f64, max: f64, measured: bool) {
        let i = i as usize;
        if let Some(p) = self.series[i].last_mut() {
            p.add((integral / 1e9) as f32, max as f32);
        }
        if measured {
            let m = &mut self.measured[i];
            m.area += integral;
            m.max = m.max.max(max);
        }
    }

    /// The series as time-weighted figures over `windows` (the record's,
    /// all closed), and each gauge's whole-run figures over `span` ns.
    pub(super) fn finish(self, first: usize, windows: &[Window], span: u64) -> (CoarseGauges, Vec<GaugeStat>) {
        let wpp = self.windows_per_point;
        let lens: Vec<u64> = windows.chunks(wpp).map(|c| c.iter().map(|w| w.len).sum()).collect();
        let series = self
            .series
            .into_iter()
            .map(|s| {
                s.into_iter()
                    .zip(&lens)
                    .map(|(p, &len)| Point {
                        mean: (f64::from(p.area) * 1e9 / len.max(1) as f64) as f32,
                        max: p.max,
                    })
                    .collect()
            })
            .collect();
        let totals = self
            .measured
            .iter()
            .map(|m| GaugeStat {
                mean: m.area / span.max(1) as f64,
                max: m.max,
            })
            .collect();
        (
            CoarseGauges {
                first,
                windows_per_point: wpp,
                series,
            },
            totals,
        )
    }
}

impl Record {
    /// Whether gauge `i` (of [`Record::gauges`]) is kept at a bounded
    /// number of points rather than in every window.
    pub fn is_coarse(&self, i: usize) -> bool {
        i >= self.coarse.first && !self.coarse.series.is_empty()
    }

    /// How many windows each figure of gauge `i` covers: 1, or a power of
    /// two for a coarse gauge.
    pub fn windows_per_point(&self, i: usize) -> usize {
        if self.is_coarse(i) {
            self.coarse.windows_per_point
        } else {
            1
        }
    }

    /// Gauge `i`'s figure over window `w`: the window's own, or for a
    /// coarse gauge the point that covers the window.
    pub fn gauge_in_window(&self, i: usize, w: usize) -> GaugeStat {
        if self.is_coarse(i) {
            self.coarse.series[i - self.coarse.first][w / self.coarse.windows_per_point].into()
        } else {
            self.windows[w].gauges[i]
        }
    }

    /// Gauge `i` over time, as `(start, len, figure)` in ns: one per window,
    /// or one per point of a coarse gauge.
    pub fn gauge_points(&self, i: usize) -> Vec<(u64, u64, GaugeStat)> {
        let wpp = self.windows_per_point(i);
        self.windows
            .chunks(wpp)
            .enumerate()
            .map(|(p, c)| {
                let len = c.iter().map(|w| w.len).sum();
                (c[0].start, len, self.gauge_in_window(i, p * wpp))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::test_support::meta;
    use crate::record::{GaugeKind, GaugeSpec, RecordBuilder};

    const S: u64 = 1_000_000_000;

    fn cpu(key: String) -> GaugeSpec {
        GaugeSpec {
            label: key.clone(),
            key,
            kind: GaugeKind::Cpu,
            capacity: Some(4.0),
        }
    }

    /// A group of `members` CPU gauges, then a gauge `q` outside it; each
    /// member's level in second `t` is `level(member, t)`, over a run of
    /// `secs` seconds and a half (the last window is shorter).
    fn run(members: usize, secs: u64, warmup: u64, level: impl Fn(usize, u64) -> u64) -> Record {
        let mut b = RecordBuilder::new(meta(S, warmup, secs * S + S / 2));
        let web = b.add_group("web.cpu", "web nodes' CPU");
        let ids: Vec<_> = (0..members)
            .map(|m| b.add_gauge_in(web, cpu(format!("web[{m}].cpu"))))
            .collect();
        let q = b.add_gauge(cpu("q".into()));
        for t in 0..=secs {
            for (m, id) in ids.iter().enumerate() {
                b.gauge(t * S, *id, level(m, t));
            }
            b.gauge(t * S, q, t % 3);
        }
        b.finish(secs * S + S / 2, 0, |_, _| 0.0)
    }

    #[test]
    fn members_past_the_first_are_coarse_and_listed_after_the_other_gauges() {
        let r = run(FULL_MEMBERS + 4, 10, 0, |m, t| ((m % FULL_MEMBERS) as u64 + t) % 5);
        let keys: Vec<&str> = r.gauges.iter().map(|g| g.key.as_str()).collect();
        assert_eq!(keys[FULL_MEMBERS - 1], format!("web[{}].cpu", FULL_MEMBERS - 1));
        assert_eq!(keys[FULL_MEMBERS], "q", "the windows' gauges first");
        assert_eq!(keys[FULL_MEMBERS + 1], format!("web[{FULL_MEMBERS}].cpu"));
        assert_eq!(r.coarse.first, FULL_MEMBERS + 1);
        assert_eq!(r.windows[0].gauges.len(), FULL_MEMBERS + 1);
        let members = &r.groups[0].members;
        assert_eq!(members.len(), FULL_MEMBERS + 4);
        assert_eq!(members[FULL_MEMBERS], FULL_MEMBERS + 1);
        for (m, &i) in members.iter().enumerate() {
            assert_eq!(r.gauges[i].key, format!("web[{m}].cpu"));
            assert_eq!(r.is_coarse(i), m >= FULL_MEMBERS);
        }
        // Fewer windows than points: a point per window, the same figures
        // as a member kept in the windows with the same levels.
        let (full, coarse) = (members[0], members[FULL_MEMBERS]);
        assert_eq!(r.windows_per_point(coarse), 1);
        assert_eq!(r.gauge_points(coarse).len(), 11);
        for w in 0..r.windows.len() {
            assert_eq!(r.gauge_in_window(full, w), r.gauge_in_window(coarse, w), "window {w}");
        }
        assert_eq!(r.totals.gauges.len(), r.gauges.len());
        assert_eq!(r.totals.gauges[full], r.totals.gauges[coarse]);
    }

    #[test]
    fn a_long_run_keeps_at_most_the_points_merging_windows_pairwise() {
        // 1,000 windows: the series fill up at 256 and 512 windows, so a
        // point covers 4 windows (250 points).
        let secs = 1000;
        let level = |_: usize, t: u64| u64::from(t % 7 == 0) * 3 + t % 2;
        let r = run(FULL_MEMBERS + 1, secs - 1, 100 * S, level);
        let (full, coarse) = (r.groups[0].members[0], r.groups[0].members[FULL_MEMBERS]);
        assert_eq!(r.windows.len(), 1000);
        assert_eq!(r.windows_per_point(coarse), 4);
        let points = r.gauge_points(coarse);
        assert_eq!(points.len(), 250);
        assert!(r.coarse.series[0].capacity() <= POINTS);
        // Each point is the time-weighted mean of its windows and their max.
        for (p, &(start, len, stat)) in points.iter().enumerate() {
            let ws = &r.windows[4 * p..(4 * p + 4).min(r.windows.len())];
            assert_eq!(start, ws[0].start);
            assert_eq!(len, ws.iter().map(|w| w.len).sum::<u64>());
            let area: f64 = ws.iter().map(|w| w.gauges[full].mean * w.len as f64).sum();
            // Single precision: seven significant figures.
            let exact = area / len as f64;
            assert!((stat.mean - exact).abs() <= 1e-6 * exact.max(1.0), "point {p}");
            assert_eq!(stat.max, ws.iter().map(|w| w.gauges[full].max).fold(0.0, f64::max));
            assert_eq!(r.gauge_in_window(coarse, 4 * p + 3), stat);
        }
        // The last window is half a second; the whole-run figures are exact
        // and leave the warm-up out, as a full member's.
        assert_eq!(points.last().unwrap().1, 3 * S + S / 2);
        let (a, b) = (r.totals.gauges[full], r.totals.gauges[coarse]);
        assert!((a.mean - b.mean).abs() < 1e-9 && a.max == b.max, "{a:?} {b:?}");
    }

    #[test]
    #[should_panic(expected = "declared after a window closed")]
    fn members_are_declared_before_the_first_window_closes() {
        let mut b = RecordBuilder::new(meta(S, 0, 3 * S));
        let g = b.add_group("web.cpu", "web");
        b.arrival(S + 1);
        b.add_gauge_in(g, cpu("web[0].cpu".into()));
    }
}
