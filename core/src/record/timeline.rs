//! Discrete states over a run: who holds the virtual address, and (later)
//! a pod's phase or a rollout's step.

use serde::Serialize;

/// Which of a few named states held over the run, as the times it changed.
/// Filled once at the end of a run, never per event.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Timeline {
    /// Stable, for machines: `vip.holder`.
    pub key: String,
    /// For people: `VIP holder`.
    pub label: String,
    /// The states, by index: `lb[0]`, `lb[1]`.
    pub states: Vec<String>,
    /// From each time (ns) on, the state in force, `None` when none is (nobody
    /// holds the address). In time order; the first at time zero.
    pub changes: Vec<(u64, Option<usize>)>,
}

impl Timeline {
    /// Each stretch of one state up to `end`: `(start, end, state)`, empty
    /// ones left out.
    pub fn stretches(&self, end: u64) -> impl Iterator<Item = (u64, u64, Option<usize>)> + '_ {
        self.changes.iter().enumerate().filter_map(move |(i, &(at, state))| {
            let until = self.changes.get(i + 1).map_or(end, |n| n.0).min(end);
            (at < until).then_some((at, until, state))
        })
    }

    /// The state's name, or `none` when no state holds.
    pub fn state_name(&self, state: Option<usize>, none: &'static str) -> &str {
        state.map_or(none, |s| self.states[s].as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stretches_end_at_the_next_change_or_the_end_and_skip_empty_ones() {
        let t = Timeline {
            key: "vip.holder".into(),
            label: "VIP holder".into(),
            states: vec!["lb[0]".into(), "lb[1]".into()],
            changes: vec![(0, Some(0)), (10, None), (13, Some(1)), (13, Some(1)), (40, Some(0))],
        };
        let s: Vec<_> = t.stretches(30).collect();
        assert_eq!(s, [(0, 10, Some(0)), (10, 13, None), (13, 30, Some(1))]);
        assert_eq!(t.state_name(Some(1), "nobody"), "lb[1]");
        assert_eq!(t.state_name(None, "nobody"), "nobody");
    }
}
