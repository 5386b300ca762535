//! How every listing prints: the server's JSON with `--json`, else a table
//! whose columns are padded to their widest cell (numbers right-aligned),
//! the last column unpadded so no line ends in spaces, and times as UTC
//! minutes (`2025-03-01 14:07`).

/// `--json`: the server's JSON instead of the table made from it.
#[derive(clap::Args, Clone, Copy)]
pub(super) struct Output {
    /// Print the server's JSON (for scripts) instead of a table.
    #[arg(long)]
    pub(super) json: bool,
}

impl Output {
    /// Prints `value` as JSON, or as `render` makes it for people.
    pub(super) fn print(
        self,
        value: &serde_json::Value,
        render: impl FnOnce(&serde_json::Value) -> String,
    ) {
        if self.json {
            println!("{value:#}");
        } else {
            print!("{}", render(value));
        }
    }
}

/// Which side of its column a cell keeps to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Align {
    Left,
    Right,
}

/// A table built row by row, rendered once its widths are known.
pub(super) struct Table {
    header: Option<Vec<String>>,
    align: Vec<Align>,
    rows: Vec<Vec<String>>,
}

/// Spaces between columns.
const GAP: &str = "  ";

impl Table {
    /// A table with a header line: `(title, alignment)` per column.
    pub(super) fn new(columns: &[(&str, Align)]) -> Self {
        Self {
            header: Some(
                columns
                    .iter()
                    .map(|(title, _)| (*title).to_owned())
                    .collect(),
            ),
            align: columns.iter().map(|(_, align)| *align).collect(),
            rows: Vec::new(),
        }
    }

    /// Two left-aligned columns and no header: `name  value` lines, for
    /// one record (`eddy whoami`, `eddy app show`).
    pub(super) fn fields() -> Self {
        Self {
            header: None,
            align: vec![Align::Left, Align::Left],
            rows: Vec::new(),
        }
    }

    /// Adds a row; it must have one cell per column.
    pub(super) fn row<I, S>(&mut self, cells: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let row: Vec<String> = cells.into_iter().map(Into::into).collect();
        debug_assert_eq!(row.len(), self.align.len(), "{row:?}");
        self.rows.push(row);
        self
    }

    /// Adds a `name  value` row to a [`Table::fields`] table.
    pub(super) fn field(&mut self, name: &str, value: impl Into<String>) -> &mut Self {
        self.row([name.to_owned(), value.into()])
    }

    pub(super) fn render(&self) -> String {
        let lines: Vec<&Vec<String>> = self.header.iter().chain(&self.rows).collect();
        let mut widths = vec![0; self.align.len()];
        for line in &lines {
            for (width, cell) in widths.iter_mut().zip(line.iter()) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let last = self.align.len().saturating_sub(1);
        let mut out = String::new();
        for line in lines {
            let mut text = String::new();
            for (i, cell) in line.iter().enumerate() {
                if i > 0 {
                    text.push_str(GAP);
                }
                let pad = widths[i] - cell.chars().count();
                match self.align[i] {
                    Align::Right => {
                        text.extend(std::iter::repeat_n(' ', pad));
                        text.push_str(cell);
                    }
                    Align::Left if i == last => text.push_str(cell),
                    Align::Left => {
                        text.push_str(cell);
                        text.extend(std::iter::repeat_n(' ', pad));
                    }
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        }
        out
    }
}

/// Milliseconds since the Unix epoch as `YYYY-MM-DD HH:MM` in UTC.
pub(super) fn utc_minute(ms: i64) -> String {
    let (date, hour, minute, _) = utc_parts(ms);
    format!("{date} {hour:02}:{minute:02}")
}

/// As [`utc_minute`], with seconds: log lines, where the order within a
/// minute matters.
pub(super) fn utc_second(ms: i64) -> String {
    let (date, hour, minute, second) = utc_parts(ms);
    format!("{date} {hour:02}:{minute:02}:{second:02}")
}

/// A JSON time field (ms since the epoch, or null) for a table cell.
pub(super) fn time_cell(value: &serde_json::Value) -> String {
    value.as_i64().map_or_else(|| "-".to_owned(), utc_minute)
}

fn utc_parts(ms: i64) -> (String, i64, i64, i64) {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    (
        format!("{year:04}-{month:02}-{day:02}"),
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60,
    )
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian
/// calendar (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_to_the_widest_cell_and_lines_end_without_spaces() {
        let mut table = Table::new(&[
            ("VERSION", Align::Right),
            ("STATUS", Align::Left),
            ("NOTES", Align::Left),
        ]);
        table.row(["3", "active", "rooms"]);
        table.row(["12", "superseded", ""]);
        assert_eq!(
            table.render(),
            "VERSION  STATUS      NOTES\n\
             \x20     3  active      rooms\n\
             \x20    12  superseded\n"
        );
    }

    #[test]
    fn widths_count_characters_not_bytes() {
        let mut table = Table::new(&[("NAME", Align::Left), ("N", Align::Right)]);
        table.row(["café", "1"]).row(["tea", "22"]);
        assert_eq!(table.render(), "NAME   N\ncafé   1\ntea   22\n");
    }

    #[test]
    fn fields_have_no_header() {
        let mut table = Table::fields();
        table
            .row(["role", "deployer"])
            .row(["permissions", "apps:read"]);
        assert_eq!(
            table.render(),
            "role         deployer\npermissions  apps:read\n"
        );
    }

    #[test]
    fn an_empty_table_is_its_header() {
        let table = Table::new(&[("ID", Align::Right), ("LABEL", Align::Left)]);
        assert_eq!(table.render(), "ID  LABEL\n");
    }

    #[test]
    fn times_are_utc_minutes() {
        assert_eq!(utc_minute(0), "1970-01-01 00:00");
        // 2024-02-29 23:59:59.999, a leap day.
        assert_eq!(utc_minute(1_709_251_199_999), "2024-02-29 23:59");
        assert_eq!(utc_second(1_709_251_199_999), "2024-02-29 23:59:59");
        assert_eq!(utc_minute(1_709_251_200_000), "2024-03-01 00:00");
        assert_eq!(utc_minute(4_102_444_800_000), "2100-01-01 00:00");
        assert_eq!(utc_minute(-60_000), "1969-12-31 23:59");
        assert_eq!(time_cell(&serde_json::Value::Null), "-");
        assert_eq!(
            time_cell(&serde_json::json!(951_782_400_000_i64)),
            "2000-02-29 00:00"
        );
    }
}
