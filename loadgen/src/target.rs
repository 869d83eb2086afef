//! Where the traffic goes, and the check that it goes nowhere else.
//!
//! A load generator pointed at the wrong address is a denial of service:
//! a [`Target`] accepts only the loopback range and the addresses its
//! caller declares (the lab's own network namespaces), and it never
//! resolves a name other than `localhost`, so DNS cannot move the traffic.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use reqwest::Url;

use crate::LoadgenError;

/// The server a drive sends its requests to.
#[derive(Clone, Debug)]
pub struct Target {
    base: Url,
    addr: IpAddr,
    /// Endpoint name → path, for endpoints not at `/<name>`.
    paths: HashMap<String, String>,
}

impl Target {
    /// A target on the loopback range (`http://127.0.0.1:8080`,
    /// `http://localhost:8080`, `http://[::1]:8080`).
    pub fn new(url: &str) -> Result<Target, LoadgenError> {
        Target::with_allowed(url, &[])
    }

    /// A target that may also be one of `allowed`: the addresses the caller
    /// made itself (a VIP inside the lab's network namespaces).
    pub fn with_allowed(url: &str, allowed: &[IpAddr]) -> Result<Target, LoadgenError> {
        let bad = |why: &str| LoadgenError::BadTarget {
            url: url.into(),
            why: why.into(),
        };
        let base = Url::parse(url).map_err(|e| bad(&e.to_string()))?;
        if base.scheme() != "http" {
            return Err(bad("only http is driven (the lab's servers speak plain HTTP)"));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(bad("a target has no query or fragment"));
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(bad("a target carries no credentials"));
        }
        let host = base.host_str().ok_or_else(|| bad("no host"))?;
        let addr = match host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
            Ok(a) => a,
            Err(_) if host.eq_ignore_ascii_case("localhost") => IpAddr::V4(Ipv4Addr::LOCALHOST),
            Err(_) => {
                return Err(bad(
                    "names other than localhost are not resolved (DNS could point anywhere); give an IP address",
                ));
            }
        };
        if !(addr.is_loopback() || allowed.contains(&addr)) {
            return Err(LoadgenError::Forbidden { addr });
        }
        let mut base = base;
        if addr.is_loopback() && base.host_str() == Some("localhost") {
            // Pin the address checked above: "localhost" could resolve to ::1
            // on one machine and 127.0.0.1 on another.
            base.set_ip_host(addr).expect("an http URL takes an IP host");
        }
        Ok(Target {
            base,
            addr,
            paths: HashMap::new(),
        })
    }

    /// Serves `endpoint` at `path` (such as `/checkout.php`) instead of
    /// `/<endpoint>`.
    pub fn with_path(mut self, endpoint: &str, path: &str) -> Target {
        self.paths.insert(endpoint.into(), path.into());
        self
    }

    /// The address every request goes to.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The base URL, as goose's host.
    pub fn base(&self) -> &str {
        self.base.as_str()
    }

    /// The URL of an endpoint.
    pub fn url(&self, endpoint: &str) -> Url {
        let path = self
            .paths
            .get(endpoint)
            .cloned()
            .unwrap_or_else(|| format!("/{endpoint}"));
        let mut url = self.base.clone();
        let prefix = self.base.path().trim_end_matches('/');
        url.set_path(&format!("{prefix}{path}"));
        url
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_driven_and_endpoints_have_paths() {
        let t = Target::new("http://localhost:8080").unwrap();
        assert_eq!(t.addr(), IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(t.url("home").as_str(), "http://127.0.0.1:8080/home");
        let t = Target::new("http://127.3.2.1:81/shop/")
            .unwrap()
            .with_path("buy", "/buy.php");
        assert_eq!(t.url("buy").as_str(), "http://127.3.2.1:81/shop/buy.php");
        assert_eq!(t.url("home").as_str(), "http://127.3.2.1:81/shop/home");
        assert!(Target::new("http://[::1]:80").is_ok());
    }

    #[test]
    fn other_addresses_are_refused_unless_declared() {
        for url in [
            "http://10.0.0.1",
            "http://192.168.1.1:80",
            "http://8.8.8.8",
            "http://[2001:db8::1]",
        ] {
            let e = Target::new(url).unwrap_err();
            assert!(matches!(e, LoadgenError::Forbidden { .. }), "{url}: {e}");
            assert!(e.to_string().contains("loopback"), "{e}");
        }
        let vip: IpAddr = "10.200.0.10".parse().unwrap();
        assert_eq!(
            Target::with_allowed("http://10.200.0.10:80", &[vip]).unwrap().addr(),
            vip
        );
        assert!(Target::with_allowed("http://10.200.0.11:80", &[vip]).is_err());
    }

    #[test]
    fn names_schemes_and_credentials_are_refused() {
        for url in [
            "http://example.com",
            "https://127.0.0.1",
            "ftp://127.0.0.1",
            "http://u:p@127.0.0.1",
            "http://127.0.0.1/?a=1",
            "127.0.0.1:80",
        ] {
            let e = Target::new(url).unwrap_err();
            assert!(matches!(e, LoadgenError::BadTarget { .. }), "{url}: {e}");
        }
    }
}
