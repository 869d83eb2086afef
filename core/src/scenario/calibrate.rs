//! A scenario rewritten with what the real stack measured: `lab calibrate`
//! runs each endpoint alone at low load on the real deployment, measures
//! the CPU it costs the web host and the database host per request, and
//! [`rewrite`] writes what the endpoint's steps do not account for as the
//! endpoint's `overhead`: nginx and PHP-FPM handling the request, the PHP
//! interpreter, the database connection and statement parsing.
//!
//! Why an overhead and not the steps scaled up: a real deployment runs
//! PHP generated from the steps, burning each `cpu` step as written. Were
//! the steps scaled, the real run of the calibrated file would burn more
//! too and pay the stack's cost on top, and the two back ends would drift
//! apart again. The overhead is what the simulator adds and a real stack
//! pays by itself.
//!
//! The file is edited in place with `toml_edit`, so comments, order and
//! every other key stay as written; each changed value is listed as a
//! [`Change`] for the diff `lab calibrate` prints.

use toml_edit::{DocumentMut, InlineTable, Item, Value};

use super::units::format_duration;

/// What one endpoint costs the real stack per request beyond its steps,
/// in ns of CPU at speed 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointCost {
    pub endpoint: String,
    /// On the web host (nginx, PHP-FPM, the interpreter), warm.
    pub web: u64,
    /// On the web host, on top of `web` when the request finds a core of
    /// it idle ([`super::Overhead::cold`]); written only when not 0.
    pub cold: u64,
    /// On the database host (connection, parsing), spread by the
    /// simulator over the endpoint's queries.
    pub db: u64,
}

/// One value the calibration rewrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// Where, as a key path: `app.endpoints.page.overhead`.
    pub key: String,
    /// As written before; `(none)` where there was none.
    pub before: String,
    pub after: String,
}

/// Why a scenario could not be rewritten.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CalibrateError {
    #[error("the scenario is not valid TOML any more: {0}")]
    Toml(String),
    #[error("no endpoint {0:?} in the scenario's [app.endpoints]")]
    NoEndpoint(String),
}

/// `text` with each endpoint's `overhead` set to its measured cost, and
/// the list of what changed.
pub fn rewrite(text: &str, costs: &[EndpointCost]) -> Result<(String, Vec<Change>), CalibrateError> {
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| CalibrateError::Toml(e.to_string()))?;
    let mut changes = Vec::new();
    for c in costs {
        let endpoint = doc
            .get_mut("app")
            .and_then(|a| a.get_mut("endpoints"))
            .and_then(|e| e.get_mut(&c.endpoint))
            .and_then(Item::as_table_like_mut)
            .ok_or_else(|| CalibrateError::NoEndpoint(c.endpoint.clone()))?;
        let before = endpoint
            .get("overhead")
            .map_or_else(|| "(none)".to_string(), |v| v.to_string().trim().to_string());
        let mut t = InlineTable::new();
        t.insert("web", Value::from(format_duration(c.web)));
        if c.cold > 0 {
            t.insert("cold", Value::from(format_duration(c.cold)));
        }
        t.insert("db", Value::from(format_duration(c.db)));
        t.fmt();
        let after = t.to_string().trim().to_string();
        if after != before {
            endpoint.insert("overhead", Item::Value(Value::InlineTable(t)));
            changes.push(Change {
                key: format!("app.endpoints.{}.overhead", c.endpoint),
                before,
                after,
            });
        }
    }
    Ok((doc.to_string(), changes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse;

    const SHOP: &str = r#"# a comment that stays
name = "shop"
duration = "10s"
[traffic]
rate = "10/s"
mix = { page = 1, order = 1 }
[app.endpoints.page]
steps = [
    { cpu = "lognormal(median = 3ms, p99 = 10ms)" },   # PHP
    { query = "product", db_cpu = "const(0.5ms)" },
]
[app.endpoints.order]
steps = [{ cpu = "2ms" }]
overhead = { web = "1ms" }
[eras.bronze]
"#;

    fn cost(endpoint: &str, web: u64, db: u64) -> EndpointCost {
        EndpointCost {
            endpoint: endpoint.into(),
            web,
            cold: 0,
            db,
        }
    }

    #[test]
    fn each_endpoint_gets_its_overhead_and_the_rest_stays_as_written() {
        let page = EndpointCost {
            cold: 1_000_000,
            ..cost("page", 912_000, 520_000)
        };
        let (text, changes) = rewrite(SHOP, &[page.clone(), cost("order", 800_000, 0)]).unwrap();
        assert_eq!(
            changes,
            [
                Change {
                    key: "app.endpoints.page.overhead".into(),
                    before: "(none)".into(),
                    after: r#"{ web = "912us", cold = "1ms", db = "520us" }"#.into(),
                },
                Change {
                    key: "app.endpoints.order.overhead".into(),
                    before: r#"{ web = "1ms" }"#.into(),
                    after: r#"{ web = "800us", db = "0s" }"#.into(),
                },
            ]
        );
        assert!(text.starts_with("# a comment that stays\n"));
        assert!(text.contains("# PHP"), "{text}");
        assert!(
            text.contains(r#"{ cpu = "lognormal(median = 3ms, p99 = 10ms)" }"#),
            "steps stay: {text}"
        );
        // What it wrote is a valid scenario with those overheads.
        let s = parse(&text, std::path::Path::new("shop.toml")).unwrap();
        assert_eq!(s.app.endpoints[0].overhead.web, 912_000);
        assert_eq!(s.app.endpoints[0].overhead.cold, 1_000_000);
        assert_eq!(s.app.endpoints[0].overhead.db, 520_000);
        assert_eq!(s.app.endpoints[1].overhead.cold, 0);
        assert_eq!(s.app.endpoints[1].overhead.web, 800_000);
        // Calibrating again with the same figures changes nothing.
        let (again, none) = rewrite(&text, &[page]).unwrap();
        assert!(none.is_empty(), "{none:?}");
        assert_eq!(again, text);
    }

    #[test]
    fn bad_input_is_named() {
        assert_eq!(
            rewrite(SHOP, &[cost("cart", 1, 1)]).unwrap_err(),
            CalibrateError::NoEndpoint("cart".into())
        );
        assert!(matches!(
            rewrite("name = [", &[cost("page", 1, 1)]).unwrap_err(),
            CalibrateError::Toml(_)
        ));
    }
}
