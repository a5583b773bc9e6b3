//! One test per scenario, each on its own local server, stand-in and browser.

mod signin;
mod inbox;
