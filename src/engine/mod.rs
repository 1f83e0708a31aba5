//! The discrete-event kernel: integer time, the event queue with its tie rules, and named
//! random streams. It knows nothing of jobs, clusters or policies.

pub mod queue;
pub mod rng;
pub mod time;
