//! Capacity planning: how much load an era sustains within the scenario's
//! SLO, what saturates first, and the cheapest configuration that meets a
//! target.

pub mod theory;
