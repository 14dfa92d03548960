//! How much a single import may hold. Both limits refuse the whole file: an import never goes
//! in by halves.

use super::ImportError;

/// How much a single import may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportLimits {
    /// Largest accepted file (the CSV itself, not the multipart envelope around it).
    pub max_bytes: usize,
    /// Most data rows (blank rows not counted); one more and the whole import is refused.
    pub max_rows: usize,
}

impl Default for ImportLimits {
    fn default() -> Self {
        Self {
            max_bytes: domain::limits::CSV_FILE.max,
            max_rows: domain::limits::CSV_ROWS.max,
        }
    }
}

impl ImportLimits {
    /// Refuses a file of `len` bytes over `max_bytes`.
    pub fn check_bytes(&self, len: usize) -> Result<(), ImportError> {
        if len > self.max_bytes {
            return Err(ImportError::TooLarge {
                max_bytes: self.max_bytes,
            });
        }
        Ok(())
    }

    /// Refuses the file once its `rows`-th data row is over `max_rows`.
    pub fn check_rows(&self, rows: usize) -> Result<(), ImportError> {
        if rows > self.max_rows {
            return Err(ImportError::TooManyRows {
                max_rows: self.max_rows,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse_contacts_csv;
    use super::super::test_support::{KR, parse};
    use super::*;

    #[test]
    fn a_file_over_the_byte_limit_is_refused() {
        let csv = "phone\n010-1234-5678\n";
        let exact = ImportLimits {
            max_bytes: csv.len(),
            max_rows: 10,
        };
        assert!(parse_contacts_csv(csv.as_bytes(), KR, &exact).is_ok());
        let small = ImportLimits {
            max_bytes: csv.len() - 1,
            max_rows: 10,
        };
        assert_eq!(
            parse_contacts_csv(csv.as_bytes(), KR, &small),
            Err(ImportError::TooLarge {
                max_bytes: csv.len() - 1
            })
        );
        let big = vec![b'1'; ImportLimits::default().max_bytes + 1];
        assert!(matches!(parse(&big), Err(ImportError::TooLarge { .. })));
    }

    fn rows(n: usize) -> String {
        let mut csv = String::from("이름,전화번호\n");
        for i in 0..n {
            csv.push_str(&format!(
                "고객{i},010-{:04}-{:04}\n\n",
                1000 + i / 10_000,
                i % 10_000
            ));
        }
        csv
    }

    #[test]
    fn more_rows_than_the_limit_refuse_the_whole_import() {
        let limits = ImportLimits {
            max_bytes: 1 << 20,
            max_rows: 50,
        };
        // Blank rows do not count towards the limit.
        let at_limit = parse_contacts_csv(rows(50).as_bytes(), KR, &limits).unwrap();
        assert_eq!(at_limit.contacts.len(), 50);
        assert_eq!(at_limit.contacts[49].line, 100);
        assert_eq!(
            parse_contacts_csv(rows(51).as_bytes(), KR, &limits),
            Err(ImportError::TooManyRows { max_rows: 50 })
        );
    }

    #[test]
    fn ten_thousand_rows_fit_the_default_limits_and_one_more_does_not() {
        let parsed = parse(rows(10_000).as_bytes()).unwrap();
        assert_eq!(parsed.contacts.len(), 10_000);
        assert!(parsed.rejected.is_empty());
        assert_eq!(
            parse(rows(10_001).as_bytes()),
            Err(ImportError::TooManyRows { max_rows: 10_000 })
        );
    }

    #[test]
    fn a_file_without_data_rows_is_empty() {
        for csv in [
            &b""[..],
            b"\xEF\xBB\xBF",
            b"\r\n\r\n",
            b"phone\n",
            b"name,phone\r\n,\r\n\r\n",
        ] {
            assert_eq!(parse(csv), Err(ImportError::Empty), "{csv:?}");
        }
    }
}
