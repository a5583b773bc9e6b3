//! The pure core: no I/O, no clock, no environment. Everything here is a function of its inputs.

pub mod archive;
pub mod audit;
mod by_name;
pub mod canned;
pub mod classifier;
pub mod conversation;
pub mod event;
pub mod explain;
pub mod export;
pub mod export_job;
pub mod hold;
pub mod ids;
pub mod inbox;
pub mod keywords;
pub mod log;
pub mod media;
pub mod metrics;
pub mod notice;
pub mod outbound;
pub mod replay;
pub mod rules;
pub mod schedule;
pub mod secret;
pub mod signature;
pub mod staff;
pub mod tags;
pub mod templates;
