//! The import template: a 说明 sheet (what each sheet and column takes, with an example)
//! and one empty sheet per roster with its headings, the coded columns offering their words
//! in a drop-down.

use super::sheets::{SheetSpec, SHEETS};
use rust_xlsxwriter::{DataValidation, Format, Workbook, Worksheet, XlsxError};

/// Rows the drop-downs cover (the import takes at most this many in all).
const DROPDOWN_ROWS: u32 = super::workbook::MAX_ROWS as u32;

pub fn workbook() -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let heading = Format::new().set_bold().set_background_color("#DDEBF7");
    let required = Format::new().set_bold().set_background_color("#FCE4D6");
    book.push_worksheet(about(&heading)?);
    for spec in &SHEETS {
        book.push_worksheet(sheet(spec, &heading, &required)?);
    }
    book.save_to_buffer()
}

fn about(heading: &Format) -> Result<Worksheet, XlsxError> {
    let mut sheet = Worksheet::new();
    sheet.set_name("说明")?;
    sheet.set_column_width(0, 14)?;
    sheet.set_column_width(1, 14)?;
    sheet.set_column_width(2, 10)?;
    sheet.set_column_width(3, 60)?;
    let lines = [
        "填好需要的工作表后上传；不需要的工作表可以删掉或留空，本「说明」表不会被导入。",
        "先「试导入」：系统逐行检查并列出每一行的问题，什么也不写入；全部无误后再正式导入。",
        "正式导入要么全部成功，要么一行也不写入。表头（第 1 行）请勿修改；橙色表头为必填列。",
    ];
    for (row, line) in lines.iter().enumerate() {
        sheet.write_string(row as u32, 0, *line)?;
    }
    let mut row = lines.len() as u32 + 1;
    for (column, title) in ["工作表", "列", "必填", "填写说明"].iter().enumerate() {
        sheet.write_string_with_format(row, column as u16, *title, heading)?;
    }
    for spec in &SHEETS {
        row += 1;
        sheet.write_string(row, 0, spec.name)?;
        sheet.write_string(row, 3, spec.about)?;
        for column in spec.columns {
            row += 1;
            sheet.write_string(row, 1, column.name)?;
            sheet.write_string(row, 2, if column.required { "是" } else { "否" })?;
            let hint = if column.choices.is_empty() {
                column.hint.to_owned()
            } else {
                format!("{}：{}", column.hint, super::sheets::words(column.choices))
            };
            sheet.write_string(row, 3, hint)?;
        }
    }
    Ok(sheet)
}

fn sheet(spec: &SheetSpec, heading: &Format, required: &Format) -> Result<Worksheet, XlsxError> {
    let mut sheet = Worksheet::new();
    sheet.set_name(spec.name)?;
    for (at, column) in spec.columns.iter().enumerate() {
        let at = at as u16;
        let format = if column.required { required } else { heading };
        sheet.write_string_with_format(0, at, column.name, format)?;
        sheet.set_column_width(at, if column.max_chars > 100 { 40 } else { 18 })?;
        if !column.choices.is_empty() {
            let words: Vec<&str> = column.choices.iter().map(|(word, _)| *word).collect();
            let dropdown = DataValidation::new()
                .allow_list_strings(&words)?
                .set_error_title("请从列表中选择")?
                .set_error_message(format!("可选：{}", words.join("、")))?;
            sheet.add_data_validation(1, at, DROPDOWN_ROWS, at, &dropdown)?;
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(sheet)
}
