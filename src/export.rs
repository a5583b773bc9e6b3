//! Export a conversation's log, or a time range of it, as CSV (UTF-8 with a BOM, so Excel
//! reads Japanese correctly) or XLSX. Streams page by page: memory stays flat however long.

use std::io::Write;
use std::path::Path;

use jiff::tz::TimeZone;

use crate::domain::export::{row, HEADERS};
use crate::domain::ids::ConversationId;
use crate::store::{log_cursor_from, PageRequest, Store, StoreError};

const PAGE: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write the export: {0}")]
    Write(String),
}

fn write_error(e: impl std::fmt::Display) -> ExportError {
    ExportError::Write(e.to_string())
}

/// Items of one conversation with `from_ms <= time < to_ms`, oldest first.
pub struct Range {
    pub from_ms: i64,
    pub to_ms: i64,
}

enum Sink {
    Csv(Box<csv::Writer<std::io::BufWriter<std::fs::File>>>),
    Xlsx(Box<rust_xlsxwriter::Workbook>, u32),
}

impl Sink {
    fn open(format: Format, out: &Path) -> Result<Self, ExportError> {
        match format {
            Format::Csv => {
                let mut file = std::io::BufWriter::new(std::fs::File::create(out).map_err(write_error)?);
                file.write_all(b"\xEF\xBB\xBF").map_err(write_error)?;
                Ok(Sink::Csv(Box::new(csv::Writer::from_writer(file))))
            }
            Format::Xlsx => {
                let mut workbook = rust_xlsxwriter::Workbook::new();
                // Constant-memory mode streams each finished row to a temporary file.
                workbook.add_worksheet_with_constant_memory().map_err(write_error)?.set_name("transcript").map_err(write_error)?;
                Ok(Sink::Xlsx(Box::new(workbook), 0))
            }
        }
    }

    fn write(&mut self, cells: &[String]) -> Result<(), ExportError> {
        match self {
            Sink::Csv(w) => w.write_record(cells).map_err(write_error),
            Sink::Xlsx(workbook, row) => {
                let sheet = workbook.worksheet_from_index(0).map_err(write_error)?;
                for (col, value) in cells.iter().enumerate() {
                    sheet.write_string(*row, col as u16, value).map_err(write_error)?;
                }
                *row += 1;
                Ok(())
            }
        }
    }

    fn finish(self, out: &Path) -> Result<(), ExportError> {
        match self {
            Sink::Csv(mut w) => w.flush().map_err(write_error),
            Sink::Xlsx(mut workbook, _) => workbook.save(out).map_err(write_error),
        }
    }
}

/// Writes the export to `out`; returns the number of rows (without the header).
pub async fn export(
    store: &dyn Store,
    conversation: &ConversationId,
    range: &Range,
    tz: &TimeZone,
    format: Format,
    out: &Path,
) -> Result<usize, ExportError> {
    let mut sink = Sink::open(format, out)?;
    sink.write(&HEADERS.map(str::to_owned))?;
    let mut rows = 0;
    let mut after = Some(log_cursor_from(range.from_ms));
    'pages: loop {
        let page = store.log(conversation, &PageRequest { limit: PAGE, after: after.clone() }).await?;
        for item in &page.items {
            if item.timestamp_ms() >= range.to_ms {
                break 'pages;
            }
            if item.timestamp_ms() >= range.from_ms {
                sink.write(&row(item, tz).0)?;
                rows += 1;
            }
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    sink.finish(out)?;
    Ok(rows)
}
