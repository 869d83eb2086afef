//! Stone: one server. nginx, PHP-FPM and MySQL share its cores.

use serde::Deserialize;

use super::super::locate::KeyPath;
use super::super::raw::{Opt, RawFpm, RawHost, RawMySql, RawNginx, Shape, TABLE};
use super::super::validate::{Ctx, host, stack};
use super::Architecture;
use crate::topology::TopologyBuilder;

/// `[eras.<label>]` with `model = "stone"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStone {
    /// Read by the dispatcher (`validate/era.rs`), which chose this model.
    #[allow(dead_code)]
    pub model: Opt<String>,
    pub host: Opt<RawHost>,
    pub fpm: Opt<RawFpm>,
    pub mysql: Opt<RawMySql>,
    pub nginx: Opt<RawNginx>,
}

impl Shape for RawStone {
    const WHAT: &'static str = TABLE;
}

pub(in crate::scenario) fn validate(cx: &mut Ctx<'_, '_>, p: &KeyPath, raw: &RawStone) -> Option<Architecture> {
    let host = host(cx, &p.key("host"), &raw.host);
    let stack = stack(cx, p, &raw.nginx, &raw.fpm, &raw.mysql);
    Some(Architecture::Stone {
        host: host?,
        stack: stack?,
    })
}

/// One host, named `server`, holding all three nodes.
pub(super) fn lower(t: &mut TopologyBuilder, arch: &Architecture) {
    let Architecture::Stone { host, stack } = arch else {
        unreachable!("lowering a stone era")
    };
    let server = t.host("server", host);
    t.lamp(stack, server, server);
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::scenario;

    #[test]
    fn one_host_holds_every_node() {
        let s = scenario::parse(
            "duration = \"1m\"\n[traffic]\nrate = 1\n[app.endpoints.a]\nsteps = [{ cpu = \"1ms\" }]\n[eras.stone]\nhost = { cores = 2 }\n",
            Path::new("s.toml"),
        )
        .unwrap();
        let t: crate::topology::Topology = s.eras[0].topology();
        assert_eq!(t.hosts.len(), 1);
        assert_eq!((t.hosts[0].name.as_str(), t.hosts[0].cores), ("server", 2));
        assert!(t.nodes.iter().all(|n| n.host == t.nodes[0].host));
    }
}
