//! A scenario rewritten with what the real stack measured: `lab calibrate`
//! runs each endpoint alone at low load on the real deployment, measures
//! the CPU it costs the web host and the database host per request, and
//! [`rewrite`] scales that endpoint's `cpu` and `db_cpu` distributions so
//! that their means match the measurement, keeping their shape (a
//! log-normal stays a log-normal with the same p99/median ratio).
//!
//! The file is edited in place with `toml_edit`, so comments, order and
//! every other key stay as written; each changed value is listed as a
//! [`Change`] for the diff `lab calibrate` prints. Steps of a service's
//! operation (`call = "svc.op"`) are shared by every endpoint that calls
//! them: they are scaled by the mean of their callers' factors, weighted
//! by the traffic mix.

use std::collections::BTreeMap;

use toml_edit::{Array, DocumentMut, Item, Value};

use super::Dist;

/// What the real stack costs per request of one endpoint, against what
/// the scenario gives it: each factor is measured ÷ modelled CPU time.
#[derive(Clone, Debug, PartialEq)]
pub struct EndpointScale {
    pub endpoint: String,
    /// For the endpoint's `cpu` steps (PHP on the web host).
    pub web: f64,
    /// For its queries' `db_cpu` (the database host).
    pub db: f64,
}

/// One value the calibration rewrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// Where, as a key path: `app.endpoints.page.steps[0].cpu`.
    pub key: String,
    pub before: String,
    pub after: String,
}

/// Why a scenario could not be rewritten.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CalibrateError {
    #[error("the scenario is not valid TOML any more: {0}")]
    Toml(String),
    #[error("{key}: {why}")]
    Value { key: String, why: String },
    #[error("no endpoint {0:?} in the scenario's [app.endpoints]")]
    NoEndpoint(String),
    #[error("the factor for {what} of endpoint {endpoint:?} is {factor}: it must be a finite number above 0")]
    BadFactor {
        endpoint: String,
        what: &'static str,
        factor: f64,
    },
}

/// `text` with each endpoint's distributions scaled by its factors, and
/// the list of what changed.
pub fn rewrite(text: &str, scales: &[EndpointScale]) -> Result<(String, Vec<Change>), CalibrateError> {
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| CalibrateError::Toml(e.to_string()))?;
    for s in scales {
        for (what, factor) in [("cpu", s.web), ("db_cpu", s.db)] {
            if !(factor.is_finite() && factor > 0.0) {
                return Err(CalibrateError::BadFactor {
                    endpoint: s.endpoint.clone(),
                    what,
                    factor,
                });
            }
        }
    }
    let weights = mix_weights(&doc);
    let mut changes = Vec::new();
    // Operations called, with the (weight, factors) of each caller.
    let mut callers: BTreeMap<String, Vec<(f64, f64, f64)>> = BTreeMap::new();
    for s in scales {
        let key = format!("app.endpoints.{}.steps", s.endpoint);
        let steps = doc
            .get_mut("app")
            .and_then(|a| a.get_mut("endpoints"))
            .and_then(|e| e.get_mut(&s.endpoint))
            .and_then(|e| e.get_mut("steps"))
            .and_then(Item::as_array_mut)
            .ok_or_else(|| CalibrateError::NoEndpoint(s.endpoint.clone()))?;
        let w = weights.get(&s.endpoint).copied().unwrap_or(1.0);
        let mut calls = Vec::new();
        scale_steps(steps, &key, s.web, s.db, &mut changes, &mut calls)?;
        for c in calls {
            callers.entry(c).or_default().push((w, s.web, s.db));
        }
    }
    for (op, by) in callers {
        let Some((svc, name)) = op.split_once('.') else {
            continue;
        };
        let total: f64 = by.iter().map(|(w, _, _)| w).sum::<f64>().max(f64::MIN_POSITIVE);
        let web = by.iter().map(|(w, f, _)| w * f).sum::<f64>() / total;
        let db = by.iter().map(|(w, _, f)| w * f).sum::<f64>() / total;
        let key = format!("app.services.{svc}.ops.{name}.steps");
        if let Some(steps) = doc
            .get_mut("app")
            .and_then(|a| a.get_mut("services"))
            .and_then(|s| s.get_mut(svc))
            .and_then(|s| s.get_mut("ops"))
            .and_then(|o| o.get_mut(name))
            .and_then(|o| o.get_mut("steps"))
            .and_then(Item::as_array_mut)
        {
            // An operation's own calls were already reached through it.
            scale_steps(steps, &key, web, db, &mut changes, &mut Vec::new())?;
        }
    }
    Ok((doc.to_string(), changes))
}

/// The traffic mix's weights by endpoint (1 each without a mix).
fn mix_weights(doc: &DocumentMut) -> BTreeMap<String, f64> {
    let mut w = BTreeMap::new();
    if let Some(mix) = doc
        .get("traffic")
        .and_then(|t| t.get("mix"))
        .and_then(Item::as_table_like)
    {
        for (k, v) in mix.iter() {
            if let Some(n) = v.as_float().or_else(|| v.as_integer().map(|i| i as f64)) {
                w.insert(k.to_string(), n);
            }
        }
    }
    w
}

fn scale_steps(
    steps: &mut Array,
    key: &str,
    web: f64,
    db: f64,
    changes: &mut Vec<Change>,
    calls: &mut Vec<String>,
) -> Result<(), CalibrateError> {
    for (i, step) in steps.iter_mut().enumerate() {
        let key = format!("{key}[{i}]");
        let Some(t) = step.as_inline_table_mut() else { continue };
        for (field, factor) in [("cpu", web), ("db_cpu", db)] {
            if let Some(v) = t.get_mut(field) {
                scale_value(v, &format!("{key}.{field}"), factor, changes)?;
            }
        }
        if let Some(Value::String(c)) = t.get("call") {
            calls.push(c.value().clone());
        }
        if let Some(Value::Array(inner)) = t.get_mut("transaction") {
            scale_steps(inner, &format!("{key}.transaction"), web, db, changes, calls)?;
        }
        if let Some(Value::Array(branches)) = t.get_mut("parallel") {
            for (b, branch) in branches.iter_mut().enumerate() {
                if let Value::Array(inner) = branch {
                    scale_steps(inner, &format!("{key}.parallel[{b}]"), web, db, changes, calls)?;
                }
            }
        }
    }
    Ok(())
}

fn scale_value(v: &mut Value, key: &str, factor: f64, changes: &mut Vec<Change>) -> Result<(), CalibrateError> {
    let Value::String(s) = v else {
        return Err(CalibrateError::Value {
            key: key.to_string(),
            why: "a distribution is written as a string, e.g. \"exp(mean = 2ms)\"".into(),
        });
    };
    let before = s.value().clone();
    let dist = Dist::parse(&before).map_err(|why| CalibrateError::Value {
        key: key.to_string(),
        why,
    })?;
    let after = dist.scaled(factor).to_string();
    if after != before {
        // Keep the value's surrounding whitespace, so the line still lines up.
        let decor = s.decor().clone();
        *v = Value::from(after.clone());
        *v.decor_mut() = decor;
        changes.push(Change {
            key: key.to_string(),
            before,
            after,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHOP: &str = r#"# a comment that stays
name = "shop"
[traffic]
rate = "10/s"
[traffic.mix]
page = 3
order = 1
[app.services.orders.ops.place]
steps = [{ cpu = "const(4ms)" }]
[app.endpoints.page]
steps = [
    { cpu = "lognormal(median = 3ms, p99 = 10ms)" },   # PHP
    { query = "product", db_cpu = "const(0.5ms)", db_wait = "exp(mean = 0.2ms)" },
]
[app.endpoints.order]
steps = [
    { transaction = [{ query = "reserve", db_cpu = "exp(mean = 1ms)", lock = "stock" }] },
    { call = "orders.place" },
]
"#;

    fn scale(endpoint: &str, web: f64, db: f64) -> EndpointScale {
        EndpointScale {
            endpoint: endpoint.into(),
            web,
            db,
        }
    }

    #[test]
    fn each_endpoint_s_distributions_keep_their_shape_and_take_its_factor() {
        let (text, changes) = rewrite(SHOP, &[scale("page", 2.0, 1.5), scale("order", 1.0, 3.0)]).unwrap();
        let keys: Vec<_> = changes.iter().map(|c| (c.key.as_str(), c.after.as_str())).collect();
        assert_eq!(
            keys,
            [
                ("app.endpoints.page.steps[0].cpu", "lognormal(median = 6ms, p99 = 20ms)"),
                ("app.endpoints.page.steps[1].db_cpu", "const(750us)"),
                ("app.endpoints.order.steps[0].transaction[0].db_cpu", "exp(mean = 3ms)"),
            ],
            "the operation order calls takes order's web factor, 1: unchanged"
        );
        assert!(text.starts_with("# a comment that stays\n"));
        assert!(text.contains("# PHP"), "{text}");
        assert!(
            text.contains("db_wait = \"exp(mean = 0.2ms)\""),
            "waits are not CPU: {text}"
        );
        // What it wrote is a valid scenario's distribution.
        let doc: DocumentMut = text.parse().unwrap();
        let cpu = doc["app"]["endpoints"]["page"]["steps"]
            .as_array()
            .unwrap()
            .get(0)
            .unwrap();
        let d = Dist::parse(cpu.as_inline_table().unwrap().get("cpu").unwrap().as_str().unwrap()).unwrap();
        let before = Dist::parse("lognormal(median = 3ms, p99 = 10ms)").unwrap();
        assert!((d.mean() / before.mean() - 2.0).abs() < 1e-6);
    }

    #[test]
    fn a_shared_operation_takes_its_callers_mix_weighted_factor() {
        let text = SHOP.replace(
            "steps = [\n    { cpu = \"lognormal",
            "steps = [\n    { call = \"orders.place\" },\n    { cpu = \"lognormal",
        );
        // page (weight 3) at 2.0 and order (weight 1) at 1.0: (3 × 2 + 1) / 4.
        let (_, changes) = rewrite(&text, &[scale("page", 2.0, 1.0), scale("order", 1.0, 1.0)]).unwrap();
        let op = changes
            .iter()
            .find(|c| c.key == "app.services.orders.ops.place.steps[0].cpu")
            .unwrap();
        assert_eq!(op.after, "const(7ms)");
    }

    #[test]
    fn bad_input_is_named() {
        assert_eq!(
            rewrite(SHOP, &[scale("cart", 1.0, 1.0)]).unwrap_err(),
            CalibrateError::NoEndpoint("cart".into())
        );
        assert!(matches!(
            rewrite(SHOP, &[scale("page", f64::NAN, 1.0)]).unwrap_err(),
            CalibrateError::BadFactor { what: "cpu", .. }
        ));
        let broken = SHOP.replace("const(0.5ms)", "const(fast)");
        let e = rewrite(&broken, &[scale("page", 1.0, 2.0)]).unwrap_err();
        assert!(e.to_string().starts_with("app.endpoints.page.steps[1].db_cpu: "), "{e}");
    }
}
