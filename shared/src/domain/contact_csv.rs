//! Contacts as CSV, both ways: reading an import (UTF-8 with or without a BOM, comma or
//! semicolon separated, quoted fields, a header row naming `phone` and optionally `name`,
//! `tags`, `optedOut`) into valid entries and per-row errors, and writing an export with
//! the same columns, so an export imports back unchanged. Pure: no I/O.

use super::consent::ConsentSource;
use super::contacts::{self as rules, ValidEntry};
use super::phone::{self, Country};

/// The largest body `POST /api/contacts/import` takes.
pub const MAX_IMPORT_BYTES: usize = 10 * 1024 * 1024;
/// The columns, in the order an export writes them.
pub const COLUMNS: [&str; 4] = ["phone", "name", "tags", "optedOut"];

/// A row that could not be read: its number (the header is row 1, the first data row 2;
/// blank lines are not rows) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub row: usize,
    pub error: String,
}

/// What an import file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// Data rows read (blank lines are not rows).
    pub rows: usize,
    /// Valid rows, each with its row number.
    pub entries: Vec<(usize, ValidEntry)>,
    /// Rows that are not valid, in file order.
    pub errors: Vec<RowError>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Columns {
    phone: usize,
    name: Option<usize>,
    tags: Option<usize>,
    opted_out: Option<usize>,
}

/// Reads an import file. `Err` (the request's 400) only for what makes the whole file
/// unreadable: not UTF-8, no header, no `phone` column, a broken quote. Everything about a
/// single row is that row's error.
pub fn parse(body: &[u8], country: Option<Country>) -> Result<Parsed, String> {
    let text = std::str::from_utf8(body).map_err(|e| {
        format!(
            "The file must be UTF-8 text (invalid byte at offset {})",
            e.valid_up_to()
        )
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let delimiter = delimiter_of(text);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(false)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let header = loop {
        match records.next() {
            None => {
                return Err(
                    "The file is empty: it needs a header row naming at least \"phone\"".into(),
                )
            }
            Some(Err(e)) => return Err(csv_error(&e)),
            Some(Ok(r)) if r.iter().all(str::is_empty) => continue,
            Some(Ok(r)) => break r,
        }
    };
    let columns = columns(&header)?;
    let mut parsed = Parsed {
        rows: 0,
        entries: Vec::new(),
        errors: Vec::new(),
    };
    for record in records {
        let record = record.map_err(|e| csv_error(&e))?;
        if record.iter().all(str::is_empty) {
            continue;
        }
        parsed.rows += 1;
        // Records in file order, the header being row 1; blank lines are not rows.
        let row = parsed.rows + 1;
        let field = |i: Option<usize>| i.and_then(|i| record.get(i)).unwrap_or("");
        match row_entry(
            field(Some(columns.phone)),
            field(columns.name),
            field(columns.tags),
            field(columns.opted_out),
            country,
        ) {
            Ok(e) => parsed.entries.push((row, e)),
            Err(error) => parsed.errors.push(RowError { row, error }),
        }
    }
    Ok(parsed)
}

fn csv_error(e: &csv::Error) -> String {
    match e.position() {
        Some(p) => format!("The file is not valid CSV at line {}: {e}", p.line()),
        None => format!("The file is not valid CSV: {e}"),
    }
}

/// `;` when the header line has more semicolons than commas (outside quotes), else `,`.
fn delimiter_of(text: &str) -> u8 {
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let (mut commas, mut semicolons, mut quoted) = (0, 0, false);
    for c in first.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => commas += 1,
            ';' if !quoted => semicolons += 1,
            _ => {}
        }
    }
    if semicolons > commas {
        b';'
    } else {
        b','
    }
}

/// Header names, case-insensitive, spaces, `_` and `-` ignored (`Opted Out`, `opted_out`);
/// other columns are ignored.
fn columns(header: &csv::StringRecord) -> Result<Columns, String> {
    let mut phone = None;
    let mut c = Columns::default();
    for (i, h) in header.iter().enumerate() {
        let key: String = h
            .chars()
            .filter(|c| !matches!(c, ' ' | '_' | '-'))
            .flat_map(char::to_lowercase)
            .collect();
        match key.as_str() {
            "phone" if phone.is_none() => phone = Some(i),
            "name" if c.name.is_none() => c.name = Some(i),
            "tags" if c.tags.is_none() => c.tags = Some(i),
            "optedout" if c.opted_out.is_none() => c.opted_out = Some(i),
            _ => {}
        }
    }
    c.phone = phone.ok_or_else(|| {
        format!(
            "The header row must name a \"phone\" column (optional: \"name\", \"tags\", \"optedOut\"); got: {}",
            header.iter().collect::<Vec<_>>().join(", ")
        )
    })?;
    Ok(c)
}

/// One row, checked with the same rules as `POST /api/contacts`; errors name the column.
fn row_entry(
    raw_phone: &str,
    raw_name: &str,
    raw_tags: &str,
    raw_opted_out: &str,
    country: Option<Country>,
) -> Result<ValidEntry, String> {
    if raw_phone.is_empty() {
        return Err("\"phone\" is required".into());
    }
    let phone = phone::normalize_in("phone", raw_phone, country)?;
    let name = Some(rules::name("name", raw_name)?).filter(|n| !n.is_empty());
    let tags: Vec<String> = raw_tags
        .split([';', '|'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    let tags = rules::tags("tags", &tags)?;
    let opt_out = match raw_opted_out.to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "1" => true,
        "" | "false" | "no" | "n" | "0" => false,
        _ => return Err("\"optedOut\" must be true or false (or empty)".into()),
    };
    Ok(ValidEntry {
        phone,
        name,
        tags,
        opt_out,
    })
}

/// The consent source of an import's opt-outs.
pub const SOURCE: ConsentSource = ConsentSource::Import;

/// The header line of an export.
pub fn header() -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    // Writing to memory cannot fail.
    let _ = w.write_record(COLUMNS);
    w.into_inner().unwrap_or_default()
}

/// One contact as an export line (RFC 4180 quoting), in [`COLUMNS`] order; tags joined by `;`.
pub fn line(phone: &str, name: &str, tags: &[String], opted_out: bool) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    let opted = if opted_out { "true" } else { "false" };
    let _ = w.write_record([phone, name, &tags.join(";"), opted]);
    w.into_inner().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bom_semicolons_quotes_and_bad_rows() {
        let file = "\u{feff}Name;Phone;Tags;Opted Out;Notes\r\n\
            \"Khan, Ali\";+92 300 1234567;vip|lead;;x\r\n\
            \r\n\
            Sara;12;;;\r\n\
            \"Multi; line\";923001112233;a;yes;\r\n\
            Bob;923001112244;;maybe;\r\n";
        let p = parse(file.as_bytes(), None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.rows, 4);
        assert_eq!(p.entries.len(), 2);
        assert_eq!(p.entries[0].0, 2);
        assert_eq!(
            p.entries[0].1,
            ValidEntry {
                phone: "923001234567".into(),
                name: Some("Khan, Ali".into()),
                tags: vec!["lead".into(), "vip".into()],
                opt_out: false,
            }
        );
        assert_eq!(p.entries[1].0, 4);
        assert_eq!(p.entries[1].1.name.as_deref(), Some("Multi; line"));
        assert_eq!(p.entries[1].1.tags, vec!["a".to_string()]);
        assert!(p.entries[1].1.opt_out);
        assert_eq!(
            p.errors,
            vec![
                RowError {
                    row: 3,
                    error: "\"phone\" must be an E.164 number or local digits".into()
                },
                RowError {
                    row: 5,
                    error: "\"optedOut\" must be true or false (or empty)".into()
                },
            ]
        );
    }

    #[test]
    fn the_tags_of_a_semicolon_file_are_quoted_or_piped() {
        // In a semicolon file "b" after "a; " is the next column (optedOut): it is a row error.
        let p = parse(b"phone;tags;optedOut\n923001112233;\"a;b\";1\n", None)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.entries[0].1.tags, vec!["a".to_string(), "b".to_string()]);
        assert!(p.entries[0].1.opt_out);
    }

    #[test]
    fn files_that_cannot_be_read() {
        assert!(parse(b"", None).is_err());
        assert!(parse(b"name,email\nAli,a@b.c\n", None)
            .is_err_and(|e| e.starts_with("The header row must name a \"phone\" column")));
        assert!(parse(&[0xff, 0xfe, b'a'], None).is_err_and(|e| e.contains("UTF-8")));
    }

    #[test]
    fn local_numbers_follow_the_country() {
        let pk = Country::parse("c", "92").ok();
        let p = parse(b"phone\n0300 1112233\n0300 12\n", pk).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.entries[0].1.phone, "923001112233");
        assert_eq!(p.errors[0].row, 3);
    }

    #[test]
    fn an_export_line_reads_back_as_the_same_entry() {
        let tags = vec!["a b".to_string(), "vip".to_string()];
        let mut file = header();
        file.extend(line("923001234567", "Khan, \"Ali\"", &tags, true));
        let p = parse(&file, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            p.entries[0].1,
            ValidEntry {
                phone: "923001234567".into(),
                name: Some("Khan, \"Ali\"".into()),
                tags,
                opt_out: true,
            }
        );
    }
}
