//! The DynamoDB request log `infra/moto_server.py` keeps (`GET /_requests?table=…`): every
//! request the tests' DynamoDB-protocol server served, with what on-demand DynamoDB would bill
//! for it (`infra/dynamodb_bill.py` has the rules). Cost tests read their own table's requests.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

use super::moto_endpoint;

/// One billed request (one action of a transaction).
#[derive(Debug, Clone, Deserialize)]
pub struct Billed {
    pub seq: u64,
    pub op: String,
    pub table: Option<String>,
    #[serde(default)]
    pub index: Option<String>,
    #[serde(default)]
    pub key: BTreeMap<String, String>,
    /// The size DynamoDB bills by, in bytes.
    #[serde(default)]
    pub size: u64,
    pub wru: f64,
    pub rru: f64,
    #[serde(default)]
    pub consistent: Option<bool>,
    /// The error DynamoDB answered with (`ConditionalCheckFailedException`), if any.
    #[serde(default)]
    pub failed: Option<String>,
    #[serde(default)]
    pub index_writes: Vec<IndexWrite>,
    /// Set when the server could not work the bill out: a cost test must fail on it.
    #[serde(default)]
    pub billing_error: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct IndexWrite {
    pub index: String,
    /// `put`, `delete` or `update`.
    pub write: String,
    pub size: u64,
    pub wru: f64,
}

#[derive(Deserialize)]
struct Log {
    requests: Vec<Billed>,
}

/// Every request served for `table` so far, oldest first.
pub async fn requests(table: &str) -> Vec<Billed> {
    // The tests' table names are letters, digits and dashes: nothing to escape.
    let url = format!("{}/_requests?table={table}", moto_endpoint());
    let response = reqwest::Client::new().get(url).send().await.expect("the request log of the test server");
    assert!(response.status().is_success(), "the test server has no request log (infra/moto_server.py): {}", response.status());
    let log: Log = response.json().await.expect("the request log is JSON");
    for r in &log.requests {
        assert!(r.billing_error.is_none(), "the test server could not bill {r:?}");
    }
    log.requests
}

/// A stretch of requests: what one step of a use case cost.
#[derive(Debug, Clone)]
pub struct Bill(pub Vec<Billed>);

impl Bill {
    pub fn wru(&self) -> f64 {
        self.0.iter().map(|r| r.wru).sum()
    }

    pub fn rru(&self) -> f64 {
        self.0.iter().map(|r| r.rru).sum()
    }

    /// One line per request, to assert and to read: `PutItem MSG#I 1 WRU`,
    /// `PutItem STATE 1 WRU + by_activity delete 1 + put 1`, `GetItem HOLD 1 RRU`.
    pub fn lines(&self) -> Vec<String> {
        self.0.iter().map(line).collect()
    }
}

impl fmt::Display for Bill {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in &self.0 {
            writeln!(f, "  {}  ({} B)", line(r), r.size)?;
        }
        write!(f, "  = {} WRU, {} RRU", self.wru(), self.rru())
    }
}

/// Where the table log is now; `Meter::since` is what came after.
pub struct Meter {
    table: String,
    mark: usize,
}

impl Meter {
    pub async fn start(table: &str) -> Self {
        Self { table: table.to_owned(), mark: requests(table).await.len() }
    }

    /// The requests since the last mark, and a new mark.
    pub async fn take(&mut self) -> Bill {
        let all = requests(&self.table).await;
        let bill = Bill(all[self.mark..].to_vec());
        self.mark = all.len();
        bill
    }
}

/// The kind of item a key names, with its ids left out so lines compare across runs:
/// `MSG#I` (an inbound event), `MSG#O` (our message), `STATE`, `HOLD`, `INBOX`, `DOC`.
fn item_kind(key: &BTreeMap<String, String>) -> String {
    let (pk, sk) = (key.get("pk").map_or("", String::as_str), key.get("sk").map_or("", String::as_str));
    if let Some(rest) = sk.strip_prefix("MSG#") {
        return if rest.contains("#I#") { "MSG#I".into() } else { "MSG#O".into() };
    }
    if pk.starts_with("CONV#") {
        return sk.to_owned();
    }
    pk.split('#').next().unwrap_or(pk).to_owned()
}

fn units(n: f64) -> String {
    if n.fract() == 0.0 {
        format!("{n}")
    } else {
        format!("{n:.1}")
    }
}

fn line(r: &Billed) -> String {
    let what = match (&r.index, r.op.as_str()) {
        (Some(index), _) => format!("{} {index}", r.op),
        (None, "Query" | "Scan") => format!("{} {}", r.op, r.key.get(":pk").map_or("", |pk| pk.split('#').next().unwrap_or(""))),
        _ => format!("{} {}", r.op, item_kind(&r.key)),
    };
    let failed = r.failed.as_deref().map(|f| format!(" ({})", f.trim_end_matches("Exception"))).unwrap_or_default();
    if r.rru > 0.0 {
        let eventual = if r.consistent == Some(false) { " eventual" } else { "" };
        return format!("{what}{failed} {} RRU{eventual}", units(r.rru));
    }
    let own = r.wru - r.index_writes.iter().map(|w| w.wru).sum::<f64>();
    let mut text = format!("{what}{failed} {} WRU", units(own));
    for (i, w) in r.index_writes.iter().enumerate() {
        let index = if i == 0 || r.index_writes[i - 1].index != w.index { format!(" {}", w.index) } else { String::new() };
        text.push_str(&format!(" +{index} {} {}", w.write, units(w.wru)));
    }
    text
}
