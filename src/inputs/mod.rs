//! From the raw `INPUT_*` strings and the runner's environment to a validated
//! [`crate::plan::Plan`]: `raw` reads, `values` parses, `role`, `network` and `runner`
//! decide their part, and [`build::plan`] puts it together. Nothing after this module
//! looks at raw input text or the environment again, and nothing in it touches
//! the network, so a bad value stops the run before any request is made.

pub mod build;
pub mod credentials;
pub mod identity_pool;
pub mod network;
pub mod raw;
pub mod refresh;
pub mod role_hop;
pub mod roles_grammar;
pub mod runner;
pub mod values;
