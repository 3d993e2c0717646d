//! Reading users' CSV files: one header row, comma-separated, optional UTF-8 BOM, quoted fields and
//! Windows line endings allowed. An empty cell (or `NA`, as R writes it) is a missing value.
//!
//! Every error names the file, the line (1 = header) and the column, and says what was expected, so
//! that the binary can print it and exit with code 2.

use std::path::Path;
use thiserror::Error;

/// What is wrong with an input file, and where.
#[derive(Debug, Error)]
pub enum InputError {
    #[error("{file}: cannot read: {source}")]
    Io { file: String, source: std::io::Error },
    #[error("{file}: the file is empty; expected a header row and at least one data row")]
    Empty { file: String },
    #[error("{file}: line {line}: {message}")]
    Malformed { file: String, line: u64, message: String },
    #[error("{file}: no column named '{column}' (asked for by {flag}); the columns are: {available}")]
    UnknownColumn { file: String, column: String, flag: String, available: String },
    #[error("{file}: line {line}, column '{column}': {message}")]
    BadValue { file: String, line: u64, column: String, message: String },
}

/// A CSV file held as text cells, with the line number of each row for error messages.
#[derive(Debug, Clone)]
pub struct Dataset {
    name: String,
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    lines: Vec<u64>,
}

impl Dataset {
    /// Reads and checks the shape of `path`: a unique, non-empty name for every column and the same
    /// number of cells in every row.
    pub fn read(path: &Path) -> Result<Dataset, InputError> {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| InputError::Io { file: name.clone(), source })?;
        Dataset::from_bytes(&name, &bytes)
    }

    /// As [`Dataset::read`], from bytes already in memory; `name` is used in messages.
    pub fn from_bytes(name: &str, bytes: &[u8]) -> Result<Dataset, InputError> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let file = name.to_string();
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(InputError::Empty { file });
        }
        // Windows line endings become '\n' first: the csv crate miscounts lines after "\r\n".
        let unix: Vec<u8>;
        let bytes = if bytes.contains(&b'\r') {
            unix = bytes.iter().copied().filter(|&b| b != b'\r').collect();
            &unix[..]
        } else {
            bytes
        };
        let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(false).from_reader(bytes);
        let malformed =
            |line: u64, message: String| InputError::Malformed { file: file.clone(), line, message };
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| malformed(1, format!("cannot read the header row: {e}")))?
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        check_headers(&headers).map_err(|m| malformed(1, m))?;
        let mut rows = Vec::new();
        let mut lines = Vec::new();
        let mut spans_lines = false;
        for record in reader.records() {
            let record = record.map_err(|e| {
                let line = e.position().map_or(0, |p| p.line());
                let message = match e.kind() {
                    csv::ErrorKind::UnequalLengths { expected_len, len, .. } => format!(
                        "{len} cells where the header has {expected_len}; every row needs one cell per column"
                    ),
                    csv::ErrorKind::Utf8 { .. } => "not valid UTF-8 text".to_string(),
                    _ => e.to_string(),
                };
                malformed(line, message)
            })?;
            lines.push(record.position().map_or(0, |p| p.line()));
            spans_lines = record.iter().any(|c| c.contains('\n'));
            rows.push(record.iter().map(|c| c.trim().to_string()).collect());
        }
        if rows.is_empty() {
            return Err(InputError::Empty { file });
        }
        // The csv crate reads an unclosed quote to the end of the file as one cell, silently
        // dropping the rows after it: refuse a last row whose cell spans lines when the quotes
        // do not pair up.
        if spans_lines && bytes.iter().filter(|&&b| b == b'"').count() % 2 == 1 {
            return Err(malformed(
                lines[lines.len() - 1],
                "a quoted cell is never closed: the rest of the file would be read as one cell; \
                 close the '\"' or remove it"
                    .to_string(),
            ));
        }
        Ok(Dataset { name: file, headers, rows, lines })
    }

    /// The file name used in messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// Number of data rows.
    pub fn n_rows(&self) -> usize {
        self.rows.len()
    }

    /// Line number of data row `row_idx` in the file (the header is line 1).
    pub fn line(&self, row_idx: usize) -> u64 {
        self.lines[row_idx]
    }

    /// The position of column `column`; `flag` says who asked for it, for the message.
    pub fn column_idx(&self, column: &str, flag: &str) -> Result<usize, InputError> {
        self.headers.iter().position(|h| h == column).ok_or_else(|| InputError::UnknownColumn {
            file: self.name.clone(),
            column: column.to_string(),
            flag: flag.to_string(),
            available: self.headers.join(", "),
        })
    }

    /// The cells of a column as text, `None` where missing.
    pub fn text(&self, column: &str, flag: &str) -> Result<Vec<Option<&str>>, InputError> {
        let j = self.column_idx(column, flag)?;
        Ok(self.rows.iter().map(|r| if is_missing(&r[j]) { None } else { Some(r[j].as_str()) }).collect())
    }

    /// The cells of a column as finite numbers, `None` where missing. `NaN`, `Inf` and text are errors.
    pub fn numeric(&self, column: &str, flag: &str) -> Result<Vec<Option<f64>>, InputError> {
        let j = self.column_idx(column, flag)?;
        self.rows
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let cell = &r[j];
                if is_missing(cell) {
                    return Ok(None);
                }
                match cell.parse::<f64>() {
                    Ok(x) if x.is_finite() => Ok(Some(x)),
                    _ => Err(self.bad_value(i, column, format!("'{cell}' is not a finite number"))),
                }
            })
            .collect()
    }

    /// The rows whose `column` holds exactly `value` (e.g. one cohort of `survmc simulate` output).
    pub fn filter_equal(&self, column: &str, value: &str, flag: &str) -> Result<Dataset, InputError> {
        let j = self.column_idx(column, flag)?;
        let keep: Vec<usize> = (0..self.rows.len()).filter(|&i| self.rows[i][j] == value).collect();
        if keep.is_empty() {
            return Err(InputError::BadValue {
                file: self.name.clone(),
                line: 0,
                column: column.to_string(),
                message: format!("no row has the value '{value}' asked for by {flag}"),
            });
        }
        Ok(Dataset {
            name: self.name.clone(),
            headers: self.headers.clone(),
            rows: keep.iter().map(|&i| self.rows[i].clone()).collect(),
            lines: keep.iter().map(|&i| self.lines[i]).collect(),
        })
    }

    /// An error about the cell of data row `row_idx` in `column`.
    pub fn bad_value(&self, row_idx: usize, column: &str, message: String) -> InputError {
        InputError::BadValue {
            file: self.name.clone(),
            line: self.line(row_idx),
            column: column.into(),
            message,
        }
    }
}

fn is_missing(cell: &str) -> bool {
    cell.is_empty() || cell == "NA"
}

fn check_headers(headers: &[String]) -> Result<(), String> {
    if headers.len() == 1 {
        for delim in [';', '\t', '|'] {
            if headers[0].contains(delim) {
                return Err(format!(
                    "the header is one column '{}'; expected comma-separated values (the file seems to use {:?} as delimiter: save it as CSV with commas)",
                    headers[0], delim
                ));
            }
        }
    }
    if let Some(j) = headers.iter().position(|h| h.is_empty()) {
        return Err(format!("column {} has no name; every column needs a name in the header", j + 1));
    }
    for (j, h) in headers.iter().enumerate() {
        if headers[..j].contains(h) {
            return Err(format!("column name '{h}' appears twice; column names must be unique"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Dataset, InputError> {
        Dataset::from_bytes("t.csv", text.as_bytes())
    }

    #[test]
    fn reads_bom_quotes_crlf_and_missing_cells() {
        let d = read("\u{feff}time,\"event\",x\r\n1,1,\"2.5\"\r\n2,0,\r\n3,1,NA\r\n").unwrap();
        assert_eq!(d.headers(), &["time", "event", "x"]);
        assert_eq!(d.numeric("x", "--cox").unwrap(), vec![Some(2.5), None, None]);
        assert_eq!((d.line(0), d.line(1), d.line(2)), (2, 3, 4));
    }

    #[test]
    fn errors_name_the_place() {
        let e = read("time;event\n1;1\n").unwrap_err().to_string();
        assert!(e.contains("line 1") && e.contains("';'"), "{e}");
        let e = read("time,event\n1,1\n2\n").unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("1 cells where the header has 2"), "{e}");
        let e = read("time,time\n1,1\n").unwrap_err().to_string();
        assert!(e.contains("appears twice"), "{e}");
        let e = read("time,\n1,1\n").unwrap_err().to_string();
        assert!(e.contains("column 2 has no name"), "{e}");
        let e = read("time,event\n1,x\n").unwrap().numeric("event", "--event").unwrap_err().to_string();
        assert!(e.contains("line 2, column 'event'") && e.contains("'x'"), "{e}");
        let e = read("time,event\n1,1\n").unwrap().numeric("tme", "--time").unwrap_err().to_string();
        assert!(e.contains("no column named 'tme'") && e.contains("--time"), "{e}");
        assert!(matches!(read(""), Err(InputError::Empty { .. })));
        assert!(matches!(read("time,event\n"), Err(InputError::Empty { .. })));
        let e = read("t,e\n1,\"0\n2,1\n3,0\n").unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("never closed"), "{e}");
        assert!(read("t,e\n1,\"a\nb\"\n").is_ok());
        let e = read("t\nNaN\n").unwrap().numeric("t", "--time").unwrap_err().to_string();
        assert!(e.contains("'NaN' is not a finite number"), "{e}");
    }
}
