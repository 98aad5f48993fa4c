//! Reading the staff's Excel exports back, as a street official's Excel would.

use calamine::{Data, Reader, Xlsx};
use linli_tests::TestApp;
use reqwest::StatusCode;

/// The first sheet of the XLSX at `path`, every cell as text (numbers as Excel shows them).
pub async fn sheet(app: &TestApp, path: &str, token: &str) -> Vec<Vec<String>> {
    let response = app.get(path, Some(token)).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.contains("spreadsheetml"), "{content_type}");
    let bytes = response.bytes().await.unwrap();
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let range = book.worksheet_range_at(0).unwrap().unwrap();
    range
        .rows()
        .map(|row| row.iter().map(Data::to_string).collect())
        .collect()
}

/// The column of `heading` in a sheet's first row.
pub fn column(rows: &[Vec<String>], heading: &str) -> usize {
    rows[0]
        .iter()
        .position(|h| h == heading)
        .unwrap_or_else(|| panic!("no column {heading} in {:?}", rows[0]))
}
