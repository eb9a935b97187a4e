//! One scrape of a Prometheus text endpoint, parsed into plain series and
//! histograms, with a clear error naming the line when the text is malformed.

use std::collections::{BTreeMap, BTreeSet};

use prometheus_parse::{LineInfo, Value};

use crate::{Error, Result};

/// A sample's labels, sorted by name.
pub type Labels = BTreeMap<String, String>;

/// Cumulative histogram buckets: `(upper bound, count)`.
type Buckets = Vec<(f64, f64)>;

/// One series with a plain value (a counter, a gauge or an untyped sample).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Series {
    pub(super) name: String,
    pub(super) labels: Labels,
    pub(super) value: f64,
}

/// One histogram series: its base name (without `_bucket`), its labels
/// without `le`, and its cumulative buckets sorted by upper bound.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Histogram {
    pub(super) name: String,
    pub(super) labels: Labels,
    pub(super) buckets: Buckets,
}

/// The metrics an endpoint returned at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scrape {
    pub(super) series: Vec<Series>,
    pub(super) histograms: Vec<Histogram>,
    /// Names of summaries and series the parser cannot read (names with a
    /// `:`): listed as present, never used.
    pub(super) other: BTreeSet<String>,
}

impl Scrape {
    /// Parses the Prometheus text exposition format (version 0.0.4).
    ///
    /// `# HELP`, `# TYPE` and other comments are allowed anywhere; a line that
    /// is neither a comment nor a sample `name{label="value",...} value
    /// [timestamp]` is an error naming the line, rather than a silently
    /// missing value. Histogram buckets are grouped by their labels without
    /// `le`, whether or not a `# TYPE ... histogram` line announced them.
    ///
    /// ```
    /// # use migrate_core::verify::metrics::Scrape;
    /// let scrape = Scrape::parse("# TYPE up gauge\nup 1\n").unwrap();
    /// assert_eq!(scrape.names(), ["up"]);
    /// assert!(Scrape::parse("up one\n").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Scrape> {
        let mut other = BTreeSet::new();
        for (i, line) in text.lines().enumerate() {
            match check_line(line) {
                Ok(Some(unreadable)) => {
                    other.insert(unreadable);
                }
                Ok(None) => {}
                Err(reason) => {
                    return Err(Error::Message(format!(
                        "the metrics text is malformed at line {}: {reason}: `{}`\n  \
                         Expected the Prometheus text format (`name{{label=\"value\"}} 12.5`); \
                         check that the url points at the app's metrics endpoint",
                        i + 1,
                        shorten(line)
                    )));
                }
            }
        }
        let parsed = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
            .map_err(|e| Error::Message(format!("cannot parse the metrics text: {e}")))?;
        let mut scrape = Scrape {
            other,
            ..Scrape::default()
        };
        // Buckets of histograms without a `# TYPE` line arrive as untyped
        // `<name>_bucket{le="..."}` samples: group them here.
        let mut loose: BTreeMap<(String, Labels), Buckets> = BTreeMap::new();
        for sample in parsed.samples {
            let mut labels: Labels = sample
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            match sample.value {
                Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => {
                    let bucket = sample.metric.strip_suffix("_bucket");
                    match (bucket, labels.remove("le")) {
                        (Some(base), Some(le)) => {
                            let le = parse_number(&le).ok_or_else(|| {
                                Error::Message(format!(
                                    "the metrics text is malformed: bucket `{}` has le=\"{le}\", which is not a number",
                                    sample.metric
                                ))
                            })?;
                            loose
                                .entry((base.to_owned(), labels))
                                .or_default()
                                .push((le, v));
                        }
                        (_, le) => {
                            if let Some(le) = le {
                                labels.insert("le".into(), le);
                            }
                            scrape.series.push(Series {
                                name: sample.metric,
                                labels,
                                value: v,
                            });
                        }
                    }
                }
                Value::Histogram(buckets) => scrape.histograms.push(Histogram {
                    name: sample.metric,
                    labels,
                    buckets: buckets.iter().map(|b| (b.less_than, b.count)).collect(),
                }),
                Value::Summary(_) => {
                    scrape.other.insert(sample.metric);
                }
            }
        }
        scrape.histograms.extend(
            loose
                .into_iter()
                .map(|((name, labels), buckets)| Histogram {
                    name,
                    labels,
                    buckets,
                }),
        );
        for h in &mut scrape.histograms {
            h.buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        }
        Ok(scrape)
    }

    /// Every metric name present, sorted; histograms by their base name.
    pub fn names(&self) -> Vec<String> {
        let mut names: BTreeSet<&str> = self.series.iter().map(|s| s.name.as_str()).collect();
        names.extend(self.histograms.iter().map(|h| h.name.as_str()));
        names.extend(self.other.iter().map(String::as_str));
        names.into_iter().map(str::to_owned).collect()
    }

    /// Whether a plain series (counter, gauge, untyped) of this name is present.
    pub fn has_series(&self, name: &str) -> bool {
        self.series.iter().any(|s| s.name == name)
    }

    /// Whether a histogram of this base name is present.
    pub fn has_histogram(&self, name: &str) -> bool {
        self.histograms.iter().any(|h| h.name == name)
    }
}

/// Checks one line; `Ok(Some(name))` for a sample the parser skips (a name
/// with `:`, as recording rules write), which is listed but never used.
fn check_line(line: &str) -> std::result::Result<Option<String>, String> {
    let trimmed = line.trim();
    match LineInfo::parse(line) {
        LineInfo::Empty | LineInfo::Doc { .. } | LineInfo::Type { .. } => Ok(None),
        LineInfo::Ignored if trimmed.starts_with('#') => Ok(None),
        LineInfo::Ignored => {
            let name: String = trimmed
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let rest = &trimmed[name.len()..];
            if name.contains(':')
                && (rest.starts_with('{') || rest.starts_with(char::is_whitespace))
            {
                Ok(Some(name))
            } else {
                Err("not a sample `name{labels} value`".into())
            }
        }
        LineInfo::Sample {
            value,
            labels,
            timestamp,
            ..
        } => {
            if parse_number(value).is_none() {
                return Err(format!("the value `{value}` is not a number"));
            }
            if let Some(ts) = timestamp
                && ts.parse::<i64>().is_err()
            {
                return Err(format!(
                    "`{ts}` after the value is not a timestamp in milliseconds"
                ));
            }
            if let Some(labels) = labels
                && let Some(bad) = labels
                    .split(',')
                    .map(str::trim)
                    .filter(|kv| !kv.is_empty())
                    .find(|kv| !kv.contains('='))
            {
                return Err(format!("the label `{bad}` has no `=\"value\"`"));
            }
            Ok(None)
        }
    }
}

/// A sample value as Go's `ParseFloat` reads it (`NaN`, `+Inf`, `-Inf` included).
pub(super) fn parse_number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok()
}

fn shorten(line: &str) -> String {
    const MAX: usize = 120;
    if line.chars().count() <= MAX {
        line.to_owned()
    } else {
        let head: String = line.chars().take(MAX).collect();
        format!("{head}…")
    }
}
