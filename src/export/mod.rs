//! The export's adapters: the CSV and XLSX file writers (`sink`) that the export use case
//! (`crate::service::export`) streams into, and the SNS launcher of export jobs on AWS (`sns`).

pub(crate) mod sink;
pub mod sns;
