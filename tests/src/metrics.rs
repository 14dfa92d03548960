//! `/metrics` read back: the Prometheus text format parsed into samples, so tests assert on
//! values rather than on substrings.
//!
//! Every app a test binary spawns reports to the one recorder of the process, so counters and
//! histograms add up across its tests: compare with a scrape taken before, or assert `>= 1`.

use std::collections::BTreeMap;

use crate::TestApp;

/// One sample line: `name{label="value",…} number`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// One scrape of `/metrics`.
#[derive(Debug, Clone)]
pub struct Scrape {
    pub text: String,
    pub samples: Vec<Sample>,
}

impl Scrape {
    /// Parses the text format; panics on a line that is not a comment or a sample.
    pub fn parse(text: &str) -> Self {
        let samples = text
            .lines()
            .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
            .map(|line| parse_sample(line).unwrap_or_else(|| panic!("not a sample: {line:?}")))
            .collect();
        Self {
            text: text.to_owned(),
            samples,
        }
    }

    /// The samples named `name` that carry every one of `labels`.
    pub fn matching<'a>(
        &'a self,
        name: &'a str,
        labels: &'a [(&'a str, &'a str)],
    ) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |sample| {
            sample.name == name
                && labels
                    .iter()
                    .all(|(key, value)| sample.labels.get(*key).map(String::as_str) == Some(value))
        })
    }

    /// The sum of the matching samples (0 when there are none).
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.matching(name, labels).map(|s| s.value).sum()
    }

    /// How many observations a histogram holds over the matching series (`…_count`).
    pub fn histogram_count(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.sum(&format!("{name}_count"), labels)
    }
}

impl TestApp {
    /// `GET /metrics`, parsed.
    pub async fn scrape(&self) -> Scrape {
        let response = self.get_raw("/metrics").await;
        assert_eq!(response.status(), 200, "/metrics answers");
        Scrape::parse(&response.text().await.expect("a metrics body"))
    }
}

fn parse_sample(line: &str) -> Option<Sample> {
    let (series, value) = line.trim().rsplit_once(' ')?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        number => number.parse().ok()?,
    };
    let Some((name, rest)) = series.split_once('{') else {
        return Some(Sample {
            name: series.to_owned(),
            labels: BTreeMap::new(),
            value,
        });
    };
    Some(Sample {
        name: name.to_owned(),
        labels: parse_labels(rest.strip_suffix('}')?)?,
        value,
    })
}

/// `key="value",…` with `\"`, `\\` and `\n` escapes in values.
fn parse_labels(mut text: &str) -> Option<BTreeMap<String, String>> {
    let mut labels = BTreeMap::new();
    while !text.is_empty() {
        let (key, rest) = text.split_once("=\"")?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next()? {
                (at, '"') => break at,
                (_, '\\') => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                (_, other) => value.push(other),
            }
        };
        labels.insert(key.trim().to_owned(), value);
        text = rest[end + 1..].trim_start_matches(',');
    }
    Some(labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_with_and_without_labels_and_escapes_are_read() {
        let scrape = Scrape::parse(
            "# TYPE x counter\n\
             plain 3\n\
             x_bucket{route=\"/a/{id}\",le=\"+Inf\"} 2\n\
             x_bucket{route=\"/b\",note=\"say \\\"hi\\\", ok\",le=\"0.5\"} 1.5\n",
        );
        assert_eq!(scrape.sum("plain", &[]), 3.0);
        assert_eq!(scrape.sum("x_bucket", &[("route", "/a/{id}")]), 2.0);
        let quoted = scrape
            .matching("x_bucket", &[("le", "0.5")])
            .next()
            .unwrap();
        assert_eq!(quoted.labels["note"], "say \"hi\", ok");
        assert_eq!(scrape.sum("x_bucket", &[]), 3.5);
        assert_eq!(scrape.sum("missing", &[]), 0.0);
    }
}
