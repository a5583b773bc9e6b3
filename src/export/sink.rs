//! The file an export streams into: CSV (UTF-8 with a BOM, so Excel reads Japanese correctly)
//! or XLSX in constant-memory mode (each finished row goes to a temporary file).

use std::io::Write;
use std::path::Path;

use super::{write_error, ExportError, Format};

pub(super) enum Sink {
    Csv(Box<csv::Writer<std::io::BufWriter<std::fs::File>>>),
    Xlsx(Box<rust_xlsxwriter::Workbook>, u32),
}

impl Sink {
    pub(super) fn open(format: Format, out: &Path) -> Result<Self, ExportError> {
        match format {
            Format::Csv => {
                let mut file = std::io::BufWriter::new(std::fs::File::create(out).map_err(write_error)?);
                file.write_all(b"\xEF\xBB\xBF").map_err(write_error)?;
                Ok(Sink::Csv(Box::new(csv::Writer::from_writer(file))))
            }
            Format::Xlsx => {
                let mut workbook = rust_xlsxwriter::Workbook::new();
                workbook.add_worksheet_with_constant_memory().map_err(write_error)?.set_name("transcript").map_err(write_error)?;
                Ok(Sink::Xlsx(Box::new(workbook), 0))
            }
        }
    }

    pub(super) fn write(&mut self, cells: &[String]) -> Result<(), ExportError> {
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

    /// Flushes the CSV, or assembles and zips the workbook: seconds for a big one, so callers
    /// run it off the async executor.
    pub(super) fn finish(self, out: &Path) -> Result<(), ExportError> {
        match self {
            Sink::Csv(mut w) => w.flush().map_err(write_error),
            Sink::Xlsx(mut workbook, _) => workbook.save(out).map_err(write_error),
        }
    }
}
