//! A self-hosted back end for a LINE Official Account's 1:1 chat: verified webhooks in,
//! an idempotent log, replies out. Pure core in `domain`; ports and adapters around it.

pub mod blob;
pub mod cli;
pub mod clock;
pub mod config;
pub mod domain;
pub mod errors;
pub mod export;
pub mod fuzzing;
pub mod http;
pub mod lambda;
pub mod line_api;
pub mod local;
pub mod metrics;
pub mod model;
pub mod notify;
pub mod retry;
pub mod service;
pub mod settings;
pub mod store;
