//! The application: endpoints as sequences of work.

use super::dist::Dist;

#[derive(Clone, Debug, PartialEq)]
pub struct App {
    pub endpoints: Vec<Endpoint>,
    /// Row locks that queries take, by index from [`Query::lock`].
    pub locks: Vec<Lock>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Endpoint {
    pub name: String,
    pub steps: Vec<Step>,
}

/// One piece of work a request does while it holds a PHP worker.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// PHP burns this much CPU on the host its pool runs on.
    Cpu(Dist),
    /// A SQL statement on the database's own connection.
    Query(Query),
}

/// A query: optional row lock, then CPU on the database host, then waiting
/// (I/O, sleeps). The lock is held until the query ends (autocommit).
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    pub name: String,
    pub db_cpu: Option<Dist>,
    pub db_wait: Option<Dist>,
    pub lock: Option<usize>,
}

/// A set of rows that queries lock exclusively; each query locks one row,
/// chosen uniformly (one row is a single hot row, such as a sale item's stock).
#[derive(Clone, Debug, PartialEq)]
pub struct Lock {
    pub name: String,
    pub rows: u32,
}

impl App {
    pub fn endpoint_index(&self, name: &str) -> Option<usize> {
        self.endpoints.iter().position(|e| e.name == name)
    }
}
