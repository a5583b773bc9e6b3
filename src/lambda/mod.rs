//! Lambda-only glue: what every function does at init (`init`: logs, secrets, the warm table),
//! the one loop over a batch of records with its partial failures (`stream`), the error every
//! function reports with its retry class (`error`), and the event handlers of the functions the
//! runtime invokes with JSON (`worker`, `archiver`, `exporter`; the webhook and operator
//! functions serve the HTTP router through `lambda_http`). The bins build the clients and hand
//! them here.

pub mod archiver;
pub mod error;
pub mod exporter;
pub mod init;
pub mod stream;
pub mod worker;

pub use self::error::{Class, LambdaError};
