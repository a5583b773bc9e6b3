//! The file an export streams into: CSV (UTF-8 with a BOM, so Excel reads Japanese correctly)
//! or XLSX in constant-memory mode (each finished row goes to a temporary file). No row cap:
//! an XLSX longer than Excel's sheet limit continues on "transcript 2", "transcript 3", ….

use std::io::Write;
use std::path::Path;

use crate::domain::export_job::Format;
use crate::service::export::{write_error, ExportError};

/// Excel's limit: rows per sheet, the header included.
pub(crate) const XLSX_SHEET_ROWS: u32 = 1_048_576;

pub(crate) struct Xlsx {
    workbook: rust_xlsxwriter::Workbook,
    header: Vec<String>,
    sheet_rows: u32,
    sheets: usize,
    /// Next row of the current sheet.
    row: u32,
}

pub(crate) enum Sink {
    Csv(Box<csv::Writer<std::io::BufWriter<std::fs::File>>>),
    Xlsx(Box<Xlsx>),
}

impl Xlsx {
    fn add_sheet(&mut self) -> Result<(), ExportError> {
        self.sheets += 1;
        let name = if self.sheets == 1 { "transcript".to_owned() } else { format!("transcript {}", self.sheets) };
        // Constant memory: the previous sheet is already flushed to its temporary file.
        self.workbook.add_worksheet_with_constant_memory().map_err(write_error)?.set_name(name).map_err(write_error)?;
        self.row = 0;
        let header = std::mem::take(&mut self.header);
        let written = self.put(&header);
        self.header = header;
        written
    }

    fn put(&mut self, cells: &[String]) -> Result<(), ExportError> {
        let sheet = self.workbook.worksheet_from_index(self.sheets - 1).map_err(write_error)?;
        for (col, value) in cells.iter().enumerate() {
            sheet.write_string(self.row, col as u16, value).map_err(write_error)?;
        }
        self.row += 1;
        Ok(())
    }
}

/// A CSV cell as text a spreadsheet will not run: one starting with `=`, `+`, `-`, `@`, a tab
/// or a carriage return (what Excel and LibreOffice read as a formula) gets a leading `'`.
/// Message text is the customer's: `=HYPERLINK(...)` must stay words. (XLSX cells are typed
/// strings already.)
pub fn csv_text(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => std::borrow::Cow::Owned(format!("'{cell}")),
        _ => std::borrow::Cow::Borrowed(cell),
    }
}

fn bytes(cell: std::borrow::Cow<'_, str>) -> std::borrow::Cow<'_, [u8]> {
    match cell {
        std::borrow::Cow::Borrowed(s) => std::borrow::Cow::Borrowed(s.as_bytes()),
        std::borrow::Cow::Owned(s) => std::borrow::Cow::Owned(s.into_bytes()),
    }
}

impl Sink {
    /// Opens `out` and writes the header (again at the top of every further XLSX sheet).
    pub(crate) fn open(format: Format, out: &Path, header: &[&str], sheet_rows: u32) -> Result<Self, ExportError> {
        let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
        match format {
            Format::Csv => {
                let mut file = std::io::BufWriter::new(std::fs::File::create(out).map_err(write_error)?);
                file.write_all(b"\xEF\xBB\xBF").map_err(write_error)?;
                let mut writer = csv::Writer::from_writer(file);
                writer.write_record(&header).map_err(write_error)?;
                Ok(Sink::Csv(Box::new(writer)))
            }
            Format::Xlsx => {
                let workbook = rust_xlsxwriter::Workbook::new();
                let mut xlsx = Xlsx { workbook, header, sheet_rows: sheet_rows.max(2), sheets: 0, row: 0 };
                xlsx.add_sheet()?;
                Ok(Sink::Xlsx(Box::new(xlsx)))
            }
        }
    }

    pub(crate) fn write(&mut self, cells: &[String]) -> Result<(), ExportError> {
        match self {
            Sink::Csv(w) => w.write_record(cells.iter().map(|c| bytes(csv_text(c)))).map_err(write_error),
            Sink::Xlsx(xlsx) => {
                if xlsx.row == xlsx.sheet_rows {
                    xlsx.add_sheet()?;
                }
                xlsx.put(cells)
            }
        }
    }

    /// Flushes the CSV, or assembles and zips the workbook: seconds for a big one, so callers
    /// run it off the async executor.
    pub(crate) fn finish(self, out: &Path) -> Result<(), ExportError> {
        match self {
            Sink::Csv(mut w) => w.flush().map_err(write_error),
            Sink::Xlsx(mut xlsx) => xlsx.workbook.save(out).map_err(write_error),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;

    /// Every sheet of `xlsx` as CSV text, read by LibreOffice (installed by infra/test.sh).
    fn sheets_as_csv(xlsx: &Path) -> Vec<String> {
        let dir = xlsx.parent().unwrap();
        // Token 12 = -1: one CSV per sheet, named <file>-<sheet>.csv.
        let status = Command::new("soffice")
            .args([
                "--headless",
                "--norestore",
                "--convert-to",
                "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
                "--outdir",
            ])
            .arg(dir)
            .arg(xlsx)
            .env("HOME", dir)
            .output()
            .expect("LibreOffice (soffice) is installed by infra/test.sh");
        assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
        ["transcript", "transcript 2", "transcript 3", "transcript 4"]
            .iter()
            .filter_map(|name| std::fs::read_to_string(dir.join(format!("t-{name}.csv"))).ok())
            .map(|csv| csv.trim_start_matches('\u{feff}').to_owned())
            .collect()
    }

    #[test]
    fn cells_a_spreadsheet_would_run_are_written_as_text() {
        for formula in ["=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(csv_text(formula), format!("'{formula}"));
        }
        for plain in ["予約", "1-2", "a=b", "", "'quoted"] {
            assert_eq!(csv_text(plain), plain);
        }
    }

    /// LibreOffice opens the CSV with formulas evaluated and writes it as HTML: a formula
    /// becomes a link, text stays text.
    fn csv_as_html(csv: &Path) -> String {
        let dir = csv.parent().unwrap();
        let output = Command::new("soffice")
            .args([
                "--headless",
                "--norestore",
                "--infilter=CSV:44,34,76,1,,0,false,false,false,false,false,0,true",
                "--convert-to",
                "html",
                "--outdir",
            ])
            .arg(dir)
            .arg(csv)
            .env("HOME", dir)
            .output()
            .expect("LibreOffice (soffice) is installed by infra/test.sh");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        std::fs::read_to_string(csv.with_extension("html")).unwrap()
    }

    #[test]
    fn a_formula_in_a_message_opens_in_libreoffice_as_text() {
        let dir = tempfile::tempdir().unwrap();
        let message = r#"=HYPERLINK("http://x.example","y")"#;
        let out = dir.path().join("safe.csv");
        let mut sink = Sink::open(Format::Csv, &out, &["text"], XLSX_SHEET_ROWS).unwrap();
        sink.write(&[message.to_owned()]).unwrap();
        sink.finish(&out).unwrap();
        let html = csv_as_html(&out);
        assert!(!html.contains("http://x.example\""), "the formula ran: {html}");
        assert!(html.contains("HYPERLINK"), "the text is shown: {html}");
        // The same cell written raw is run: the check above can fail.
        let raw = dir.path().join("raw.csv");
        std::fs::write(&raw, format!("text\n\"{}\"\n", message.replace('"', "\"\""))).unwrap();
        assert!(csv_as_html(&raw).contains("http://x.example\""), "LibreOffice did not evaluate formulas: the test proves nothing");
    }

    #[test]
    fn a_long_xlsx_continues_on_further_sheets_each_with_the_header() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("t.xlsx");
        let mut sink = Sink::open(Format::Xlsx, &out, &["a", "b"], 3).unwrap();
        for i in 0..5 {
            sink.write(&[format!("r{i}"), "日本語".into()]).unwrap();
        }
        sink.finish(&out).unwrap();
        assert_eq!(sheets_as_csv(&out), ["a,b\nr0,日本語\nr1,日本語\n", "a,b\nr2,日本語\nr3,日本語\n", "a,b\nr4,日本語\n"],);
    }
}
