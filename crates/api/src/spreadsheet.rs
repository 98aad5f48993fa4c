//! One-sheet Excel workbooks for the staff's exports. Text is always written as text, never
//! as a formula, whatever a resident or a shop typed; numbers as numbers so Excel sums them.

use actix_web::http::header;
use actix_web::HttpResponse;
use rust_xlsxwriter::{Format, Workbook, XlsxError};

pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

pub enum Cell {
    Text(String),
    Number(f64),
    Empty,
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Self::Text(text)
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        Self::Text(text.to_owned())
    }
}

impl From<i64> for Cell {
    fn from(n: i64) -> Self {
        Self::Number(n as f64)
    }
}

impl From<u64> for Cell {
    fn from(n: u64) -> Self {
        Self::Number(n as f64)
    }
}

impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(value: Option<T>) -> Self {
        value.map_or(Self::Empty, Into::into)
    }
}

/// A workbook of one sheet: bold headings, frozen, then the rows.
pub fn workbook(
    sheet_name: &str,
    headings: &[&str],
    rows: &[Vec<Cell>],
) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name(sheet_name)?;
    let bold = Format::new().set_bold();
    for (column, heading) in headings.iter().enumerate() {
        sheet.write_string_with_format(0, column as u16, *heading, &bold)?;
        sheet.set_column_width(column as u16, 16)?;
    }
    for (at, row) in rows.iter().enumerate() {
        let r = at as u32 + 1;
        for (column, cell) in row.iter().enumerate() {
            match cell {
                Cell::Text(text) => sheet.write_string(r, column as u16, text)?,
                Cell::Number(n) => sheet.write_number(r, column as u16, *n)?,
                Cell::Empty => continue,
            };
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    book.save_to_buffer()
}

/// The response that downloads `bytes` as `name`.
pub fn attachment(name: &str, content_type: &str, bytes: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .body(bytes)
}
