//! Reading an uploaded workbook into rows of text keyed by column heading, with the sheet
//! and row number a street clerk sees in Excel (so a problem can say `工作人员!C5`).

use super::sheets::SheetSpec;
use calamine::{Data, Reader, Xlsx};
use std::io::Cursor;

/// More rows than any district keeps in one roster; beyond it the file is refused whole.
pub const MAX_ROWS: usize = 5_000;

/// One data row: its number in Excel (the heading is row 1) and its cells by heading.
#[derive(Debug)]
pub struct Row {
    pub number: u32,
    /// Heading, zero-based column, trimmed text.
    cells: Vec<(&'static str, u32, String)>,
}

impl Row {
    /// The trimmed text under `heading`; empty when the cell is.
    pub fn cell(&self, heading: &str) -> &str {
        self.cells
            .iter()
            .find(|(h, _, _)| *h == heading)
            .map_or("", |(_, _, v)| v.as_str())
    }

    /// Where the cell under `heading` is, as Excel names it (`C5`); the row's first cell
    /// for a problem of the whole row (`heading` empty).
    pub fn cell_name(&self, heading: &str) -> String {
        let column = self
            .cells
            .iter()
            .find(|(h, _, _)| *h == heading)
            .or(self.cells.first())
            .map_or(0, |(_, at, _)| *at);
        format!("{}{}", column_letter(column), self.number)
    }

    pub fn is_blank(&self) -> bool {
        self.cells.iter().all(|(_, _, v)| v.is_empty())
    }
}

/// A sheet the import knows, read.
#[derive(Debug)]
pub struct Sheet {
    pub spec: &'static SheetSpec,
    pub rows: Vec<Row>,
}

/// What makes a file unreadable as a whole, before any row is looked at.
#[derive(Debug)]
pub struct Unreadable {
    /// `工作人员!A1`, or empty for the file itself.
    pub cell: String,
    pub message: String,
}

/// The known sheets of the workbook in import order; sheets it does not know (the template's
/// 说明) are skipped.
pub fn read(bytes: &[u8], specs: &'static [SheetSpec]) -> Result<Vec<Sheet>, Vec<Unreadable>> {
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).map_err(|_| {
        vec![Unreadable {
            cell: String::new(),
            message: "不是有效的 Excel（.xlsx）文件，请用导入模板填写后上传".to_owned(),
        }]
    })?;
    let present = book.sheet_names();
    let mut sheets = Vec::new();
    let mut problems = Vec::new();
    let mut total = 0;
    for spec in specs {
        if !present.iter().any(|name| name == spec.name) {
            continue;
        }
        let range = match book.worksheet_range(spec.name) {
            Ok(range) => range,
            Err(_) => {
                problems.push(Unreadable {
                    cell: format!("{}!A1", spec.name),
                    message: format!("工作表「{}」无法读取", spec.name),
                });
                continue;
            }
        };
        match read_sheet(spec, &range) {
            Ok(sheet) => {
                total += sheet.rows.len();
                sheets.push(sheet);
            }
            Err(problem) => problems.push(problem),
        }
    }
    if total > MAX_ROWS {
        problems.push(Unreadable {
            cell: String::new(),
            message: format!("一次最多导入 {MAX_ROWS} 行，本文件有 {total} 行，请分批导入"),
        });
    }
    if sheets.is_empty() && problems.is_empty() {
        let names: Vec<&str> = specs.iter().map(|s| s.name).collect();
        problems.push(Unreadable {
            cell: String::new(),
            message: format!("没有可导入的工作表；工作表须名为：{}", names.join("、")),
        });
    }
    if problems.is_empty() {
        Ok(sheets)
    } else {
        Err(problems)
    }
}

fn read_sheet(
    spec: &'static SheetSpec,
    range: &calamine::Range<Data>,
) -> Result<Sheet, Unreadable> {
    // Excel numbers rows from 1; the range starts where the first filled cell is.
    let (first_row, first_column) = range.start().unwrap_or((0, 0));
    let mut rows = range.rows();
    let headings: Vec<String> = rows
        .next()
        .map(|cells| cells.iter().map(text).collect())
        .unwrap_or_default();
    let heading_row = first_row + 1;
    let mut columns = Vec::new();
    for heading in spec.columns {
        match headings.iter().position(|h| h == heading.name) {
            Some(at) => columns.push((heading.name, at, first_column + at as u32)),
            None => {
                let column = column_letter(first_column + headings.len() as u32);
                return Err(Unreadable {
                    cell: format!("{}!{column}{heading_row}", spec.name),
                    message: format!(
                        "第 {heading_row} 行缺少表头「{}」；表头须为：{}",
                        heading.name,
                        spec.headings().join("、")
                    ),
                });
            }
        }
    }
    let rows = rows
        .enumerate()
        .map(|(i, cells)| Row {
            number: heading_row + 1 + i as u32,
            cells: columns
                .iter()
                .map(|(name, at, column)| {
                    let value = cells.get(*at).map(text).unwrap_or_default();
                    (*name, *column, value)
                })
                .collect(),
        })
        .filter(|row| !row.is_blank())
        .collect();
    Ok(Sheet { spec, rows })
}

/// A cell as the clerk typed it: whole numbers without `.0`, everything trimmed.
fn text(cell: &Data) -> String {
    match cell {
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Empty => String::new(),
        other => other.to_string().trim().to_owned(),
    }
}

/// `A`, `B`, … `Z`, `AA` for a zero-based column.
pub fn column_letter(index: u32) -> String {
    let mut n = index + 1;
    let mut letters = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.push(char::from(b'A' + rem as u8));
        n = (n - 1) / 26;
    }
    letters.iter().rev().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_lettered_as_excel_does() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(27), "AB");
    }

    #[test]
    fn whole_numbers_read_without_a_decimal_point() {
        assert_eq!(text(&Data::Float(120.0)), "120");
        assert_eq!(text(&Data::Float(1.5)), "1.5");
        assert_eq!(text(&Data::String("  和平社区 ".into())), "和平社区");
        assert_eq!(text(&Data::Empty), "");
    }
}
