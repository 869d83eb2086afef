//! The winner written out: the keys of `[eras.<label>]` that give it its
//! configuration, and the scenario file with those keys set in place
//! (`toml_edit`, so comments, order and the file's style stay), which
//! `lab run` takes as it is.

use lab_core::scenario::{Architecture, Era, Host, ProcessManager};
use toml_edit::{DocumentMut, InlineTable, Item, Table, Value};

use crate::knobs::{Knob, Space};

/// A key under `[eras.<label>]`, as its path, and its new value; `None`
/// removes it (a dynamic pool's spares once the pool is static).
pub type Key = (Vec<String>, Option<Value>);

/// The keys that make `winner` of `space`: the knobs, the prices that
/// follow the cores and a pool's spares.
pub fn keys(winner: &Era, space: &Space) -> Vec<Key> {
    let mut out: Vec<Key> = Vec::new();
    let mut put = |path: &[&str], v: Option<Value>| out.push((path.iter().map(|s| s.to_string()).collect(), v));
    let host = |put: &mut dyn FnMut(&[&str], Option<Value>), key: &[&str], h: &Host| {
        let with = |last: &'static str| key.iter().copied().chain([last]).collect::<Vec<&str>>();
        put(&with("cores"), Some(Value::from(i64::from(h.cores))));
        if h.price_per_hour > 0.0 {
            put(
                &with("price_per_hour"),
                Some(Value::from((h.price_per_hour * 1e6).round() / 1e6)),
            );
        }
    };
    match &winner.arch {
        Architecture::Stone { host: h, .. } => host(&mut put, &["host"], h),
        Architecture::Bronze { web, db, .. } => {
            host(&mut put, &["web"], web);
            host(&mut put, &["db"], db);
        }
        Architecture::Silver(s) => {
            put(&["nodes"], Some(Value::from(i64::from(s.nodes))));
            host(&mut put, &["web"], &s.web);
            host(&mut put, &["db"], &s.db);
        }
        Architecture::Gold(g) => {
            put(&["nodes"], Some(Value::from(i64::from(g.front.nodes))));
            host(&mut put, &["web"], &g.front.web);
            host(&mut put, &["db"], &g.front.db);
            for p in &g.services {
                put(
                    &["services", &p.service, "nodes"],
                    Some(Value::from(i64::from(p.nodes))),
                );
                if space.knobs.contains(&Knob::ServiceCores(p.service.clone())) {
                    host(&mut put, &["services", &p.service, "host"], &p.host);
                }
            }
        }
    }
    let fpm = &winner.arch.stack().fpm;
    put(&["fpm", "pm"], Some(Value::from(fpm.pm.name())));
    put(&["fpm", "max_children"], Some(Value::from(i64::from(fpm.max_children))));
    let spares = ["start_servers", "min_spare_servers", "max_spare_servers"];
    match &fpm.pm {
        ProcessManager::Dynamic {
            start_servers,
            min_spare_servers,
            max_spare_servers,
        } => {
            for (k, v) in spares.iter().zip([start_servers, min_spare_servers, max_spare_servers]) {
                put(&["fpm", k], Some(Value::from(i64::from(*v))));
            }
        }
        _ => spares.iter().for_each(|k| put(&["fpm", k], None)),
    }
    if space.knobs.contains(&Knob::MaxConnections) {
        put(
            &["mysql", "max_connections"],
            Some(Value::from(i64::from(winner.arch.stack().mysql.max_connections))),
        );
    }
    out
}

/// The keys as dotted lines under `[eras.<label>]`, for a file the
/// scenario's text cannot be read from.
pub fn dotted(label: &str, keys: &[Key]) -> String {
    let mut lines = vec![format!("[eras.{}]", bare(label))];
    for (path, v) in keys {
        let k = path.iter().map(|p| bare(p)).collect::<Vec<_>>().join(".");
        match v {
            Some(v) => lines.push(format!("{k} = {}", v.to_string().trim())),
            None => lines.push(format!("# no {k}")),
        }
    }
    lines.join("\n") + "\n"
}

/// The traffic and seed a plan ran its candidates with.
#[derive(Clone, Copy, Debug)]
pub struct Planned {
    /// The profile's multiplier (the target).
    pub multiplier: f64,
    /// With `--steady`: the one rate the whole run had.
    pub steady: Option<f64>,
    pub seed: u64,
}

/// `text` (the scenario) with `keys` set in `[eras.<label>]`, its open
/// traffic as the plan ran it (the rates times the target's multiplier, or
/// one steady rate) and the plan's seed: the whole file, and the era's
/// table alone (with its sub-tables) as it reads now.
pub fn rewrite(text: &str, label: &str, keys: &[Key], planned: Planned) -> Result<(String, String), String> {
    let mut doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| e.to_string())?;
    match planned.steady {
        Some(r) => steady(&mut doc, r),
        None if planned.multiplier != 1.0 => scale(&mut doc, planned.multiplier)?,
        None => {}
    }
    let seed = i64::try_from(planned.seed).map_err(|_| "a seed past i64 cannot be written to TOML".to_string())?;
    if doc.get("seed").and_then(Item::as_integer) != Some(seed) {
        doc.insert("seed", Item::Value(Value::from(seed)));
    }
    let era = doc
        .get_mut("eras")
        .and_then(|e| e.get_mut(label))
        .ok_or_else(|| format!("no [eras.{label}] in the file"))?;
    for (path, v) in keys {
        let path: Vec<&str> = path.iter().map(String::as_str).collect();
        match v {
            Some(v) => set(era, &path, v.clone())?,
            None => remove(era, &path),
        }
    }
    let table = era.clone();
    let mut alone = DocumentMut::new();
    let mut eras = Table::new();
    eras.set_implicit(true);
    eras.insert(label, table);
    alone.insert("eras", Item::Table(eras));
    Ok((doc.to_string(), alone.to_string()))
}

/// The profile replaced by one rate, `r` a second.
fn steady(doc: &mut DocumentMut, r: f64) {
    let Some(traffic) = doc.get_mut("traffic").and_then(Item::as_table_like_mut) else {
        return;
    };
    traffic.remove("profile");
    traffic.insert(
        "rate",
        Item::Value(Value::from(format!("{}/s", (r * 1000.0).round() / 1000.0))),
    );
}

/// `traffic.rate` and every `traffic.profile` point's `rate` times `k`.
fn scale(doc: &mut DocumentMut, k: f64) -> Result<(), String> {
    let rate = |v: &mut Value| -> Result<(), String> {
        let r = match v.as_str() {
            Some(t) => lab_core::scenario::units::parse_rate(t)?,
            None => v
                .as_float()
                .or_else(|| v.as_integer().map(|i| i as f64))
                .ok_or("a rate")?,
        };
        let decor = v.decor().clone();
        *v = Value::from(format!("{}/s", (r * k * 1000.0).round() / 1000.0));
        *v.decor_mut() = decor;
        Ok(())
    };
    let Some(traffic) = doc.get_mut("traffic").and_then(Item::as_table_like_mut) else {
        return Ok(());
    };
    if let Some(v) = traffic.get_mut("rate").and_then(Item::as_value_mut) {
        rate(v)?;
    }
    if let Some(points) = traffic
        .get_mut("profile")
        .and_then(Item::as_value_mut)
        .and_then(Value::as_array_mut)
    {
        for p in points.iter_mut() {
            if let Some(v) = p.as_inline_table_mut().and_then(|t| t.get_mut("rate")) {
                rate(v)?;
            }
        }
    }
    Ok(())
}

fn set(item: &mut Item, path: &[&str], v: Value) -> Result<(), String> {
    let (first, rest) = path.split_first().expect("a key has a name");
    match item {
        Item::Table(t) => {
            if rest.is_empty() {
                // Keep the comment after the value, if it had one.
                let decor = t.get(first).and_then(Item::as_value).map(|old| old.decor().clone());
                let mut v = v;
                if let Some(d) = decor {
                    *v.decor_mut() = d;
                }
                t.insert(first, Item::Value(v));
                return Ok(());
            }
            let e = t.entry(first).or_insert_with(|| {
                let mut sub = Table::new();
                sub.set_dotted(true);
                Item::Table(sub)
            });
            set(e, rest, v)
        }
        Item::Value(Value::InlineTable(t)) => set_inline(t, path, v),
        _ => Err(format!(
            "{first}: the scenario holds a value where a table was expected"
        )),
    }
}

fn set_inline(t: &mut InlineTable, path: &[&str], v: Value) -> Result<(), String> {
    let (first, rest) = path.split_first().expect("a key has a name");
    if rest.is_empty() {
        t.insert(*first, v);
        return Ok(());
    }
    match t.entry(*first).or_insert(Value::InlineTable(InlineTable::new())) {
        Value::InlineTable(sub) => set_inline(sub, rest, v),
        _ => Err(format!(
            "{first}: the scenario holds a value where a table was expected"
        )),
    }
}

fn remove(item: &mut Item, path: &[&str]) {
    let (first, rest) = path.split_first().expect("a key has a name");
    if let Some(t) = item.as_table_like_mut() {
        if rest.is_empty() {
            t.remove(first);
        } else if let Some(sub) = t.get_mut(first) {
            remove(sub, rest);
        }
    }
}

/// A key bare when TOML allows it, quoted otherwise.
fn bare(k: &str) -> String {
    if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        k.to_string()
    } else {
        format!("\"{}\"", k.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHOP: &str = r#"# the shop
name = "shop"
[eras.bronze]
web = { cores = 8, price_per_hour = 0.16 }   # the web VPS
db.cores = 4
fpm = { pm = "dynamic", max_children = 40, start_servers = 10, min_spare_servers = 5, max_spare_servers = 15 }

[eras.gold.services.catalog]
nodes = 3
"#;

    fn at(multiplier: f64) -> Planned {
        Planned {
            multiplier,
            steady: None,
            seed: 7,
        }
    }

    fn key(path: &[&str], v: Option<Value>) -> Key {
        (path.iter().map(|s| s.to_string()).collect(), v)
    }

    #[test]
    fn keys_land_in_inline_tables_dotted_keys_and_new_tables_alike() {
        let keys = vec![
            key(&["web", "cores"], Some(Value::from(16))),
            key(&["web", "price_per_hour"], Some(Value::from(0.32))),
            key(&["db", "cores"], Some(Value::from(8))),
            key(&["fpm", "pm"], Some(Value::from("static"))),
            key(&["fpm", "start_servers"], None),
            key(&["fpm", "min_spare_servers"], None),
            key(&["fpm", "max_spare_servers"], None),
            key(&["mysql", "max_connections"], Some(Value::from(300))),
        ];
        let (whole, era) = rewrite(SHOP, "bronze", &keys, at(1.0)).unwrap();
        let t: toml::Table = whole.parse().unwrap();
        let b = &t["eras"]["bronze"];
        assert_eq!(b["web"]["cores"].as_integer(), Some(16));
        assert_eq!(b["db"]["cores"].as_integer(), Some(8));
        assert_eq!(b["fpm"]["pm"].as_str(), Some("static"));
        assert!(b["fpm"].get("start_servers").is_none());
        assert_eq!(b["mysql"]["max_connections"].as_integer(), Some(300));
        assert!(whole.starts_with("# the shop"), "{whole}");
        assert!(whole.contains("# the web VPS"), "{whole}");
        assert!(era.contains("[eras.bronze]") && !era.contains("gold"), "{era}");
        let e: toml::Table = era.parse().unwrap();
        assert_eq!(e["eras"]["bronze"]["web"]["cores"].as_integer(), Some(16));
    }

    #[test]
    fn the_traffic_is_scaled_to_the_target() {
        let text =
            "[traffic]\nprofile = [{ at = \"0s\", rate = \"100/s\" }, { at = \"5s\", rate = 300 }]\n[eras.stone]\n";
        let (whole, _) = rewrite(text, "stone", &[], at(2.5)).unwrap();
        assert!(whole.contains("rate = \"250/s\""), "{whole}");
        assert!(whole.contains("rate = \"750/s\""), "{whole}");
        assert!(whole.contains("seed = 7"), "{whole}");
        let steady = Planned {
            steady: Some(750.0),
            ..at(2.5)
        };
        let (whole, _) = rewrite(text, "stone", &[], steady).unwrap();
        let t: toml::Table = whole.parse().unwrap();
        assert_eq!(t["traffic"]["rate"].as_str(), Some("750/s"));
        assert!(t["traffic"].get("profile").is_none());
    }

    #[test]
    fn a_service_placement_table_takes_its_nodes() {
        let (whole, _) = rewrite(
            SHOP,
            "gold",
            &[key(&["services", "catalog", "nodes"], Some(Value::from(5)))],
            at(1.0),
        )
        .unwrap();
        let t: toml::Table = whole.parse().unwrap();
        assert_eq!(t["eras"]["gold"]["services"]["catalog"]["nodes"].as_integer(), Some(5));
    }
}
