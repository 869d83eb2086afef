//! Why a drive could not start or finish. Each message says what to do.

use std::net::IpAddr;

#[derive(Debug, thiserror::Error)]
pub enum LoadgenError {
    /// The target is not a URL this crate can drive.
    #[error("target {url:?}: {why}; write it as http://127.0.0.1:PORT")]
    BadTarget { url: String, why: String },

    /// The target is outside the loopback range and was not declared.
    #[error(
        "refusing to send traffic to {addr}: lab drives only the loopback range (127.0.0.0/8, ::1) \
         and addresses its caller declares (the lab's own network namespaces, Target::allow); \
         use 127.0.0.1, or declare the namespace address"
    )]
    Forbidden { addr: IpAddr },

    /// The scenario asks for something a real drive cannot do.
    #[error("{0}")]
    Plan(String),

    /// The HTTP client could not be built.
    #[error("could not build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),

    /// The async runtime or a thread of the drive could not start.
    #[error("could not start the load generator's {what}: {source}; is the process out of threads or memory?")]
    Start {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },

    /// goose refused its configuration or failed while running.
    #[error("the goose load generator failed: {0}")]
    Goose(String),
}
