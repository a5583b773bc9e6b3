//! The scenarios' bodies, each on its own local server, stand-in and browser; the tests that
//! run them are listed in `console/mod.rs`.

pub mod admin;
pub mod cannot_reply;
pub mod english;
pub mod faq;
pub mod inbox;
pub mod search;
pub mod signin;
pub mod workflow;
