//! Bronze: PHP-FPM (behind nginx) on one VPS, MySQL on another, a network
//! hop between them.

use serde::Deserialize;

use super::super::dist::Dist;
use super::super::locate::KeyPath;
use super::super::raw::{Opt, RawFpm, RawHost, RawMySql, RawNetwork, RawNginx, Shape, TABLE};
use super::super::validate::{Ctx, host, stack};
use super::{Architecture, Network};
use crate::topology::TopologyBuilder;

/// `[eras.<label>]` with `model = "bronze"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBronze {
    /// Read by the dispatcher (`validate/era.rs`), which chose this model.
    #[allow(dead_code)]
    pub model: Opt<String>,
    pub web: Opt<RawHost>,
    pub db: Opt<RawHost>,
    pub network: Opt<RawNetwork>,
    pub fpm: Opt<RawFpm>,
    pub mysql: Opt<RawMySql>,
    pub nginx: Opt<RawNginx>,
}

impl Shape for RawBronze {
    const WHAT: &'static str = TABLE;
}

pub(in crate::scenario) fn validate(cx: &mut Ctx<'_, '_>, p: &KeyPath, raw: &RawBronze) -> Option<Architecture> {
    let web = host(cx, &p.key("web"), &raw.web);
    let db = host(cx, &p.key("db"), &raw.db);
    let np = p.key("network");
    let default = RawNetwork::default();
    let rtt = cx
        .table(&np, &raw.network, &default)
        .and_then(|n| cx.dist(&np.key("rtt"), &n.rtt))
        .map(|d| d.unwrap_or_else(|| Dist::constant(Network::DEFAULT_RTT_NS)));
    let stack = stack(cx, p, &raw.nginx, &raw.fpm, &raw.mysql);
    Some(Architecture::Bronze {
        web: web?,
        db: db?,
        network: Network { rtt: rtt? },
        stack: stack?,
    })
}

/// Two hosts, `web` (nginx and the pool) and `db`.
pub(super) fn lower(t: &mut TopologyBuilder, arch: &Architecture) {
    let Architecture::Bronze {
        web,
        db,
        network,
        stack,
    } = arch
    else {
        unreachable!("lowering a bronze era")
    };
    t.rtt(network.rtt.clone());
    let web = t.host("web", web);
    let db = t.host("db", db);
    t.lamp(stack, web, db);
}
