//! A generated contacts CSV for the import test and `make bench-import`: a BOM, semicolons,
//! quoted names with commas, 1% bad rows and duplicates.

/// The test file: `rows` data rows; every 100th has an impossible phone, every 40th repeats
/// the phone of the row before it (with another tag). Returns the file and the expected
/// (file, created, duplicates, bad row numbers).
pub fn generated_csv(rows: usize, prefix: &str) -> (String, usize, usize, Vec<usize>) {
    let mut file = String::from("\u{feff}Name;Phone;Tags;Opted Out\r\n");
    let (mut created, mut duplicates, mut bad) = (0, 0, Vec::new());
    let mut last_phone = String::new();
    for i in 0..rows {
        let row = i + 2;
        if i % 100 == 99 {
            file.push_str(&format!("\"Bad, Row {i}\";12;import;\r\n"));
            bad.push(row);
            continue;
        }
        let phone = if i % 40 == 39 && !last_phone.is_empty() {
            duplicates += 1;
            last_phone.clone()
        } else {
            created += 1;
            format!("+{prefix}{i:07}")
        };
        let opted = if i % 250 == 7 { "true" } else { "" };
        file.push_str(&format!(
            "\"Khan, Ali {i}\";{phone};import|batch{};{opted}\r\n",
            i % 3
        ));
        last_phone = phone;
    }
    (file, created, duplicates, bad)
}
