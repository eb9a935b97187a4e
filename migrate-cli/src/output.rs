//! How results reach the terminal: human text with optional colour, or one
//! JSON document on stdout for machines. Chosen once, used by every command.

use std::io::{IsTerminal, Write};

use serde_json::Value;

/// Output format chosen with `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned text for people.
    Human,
    /// One JSON document on stdout.
    Json,
    /// The statements as a SQL script (`plan`; other commands print text).
    Sql,
}

/// Colours used for emphasis (the text reads the same without them).
#[derive(Debug, Clone, Copy)]
pub enum Tone {
    /// Success.
    Good,
    /// Needs attention.
    Warn,
    /// Failure.
    Bad,
    /// Secondary detail.
    Dim,
    /// Headings and names.
    Bold,
}

/// The output channel of one command.
#[derive(Debug, Clone)]
pub struct Output {
    /// The format.
    pub format: Format,
    color: bool,
    color_err: bool,
    /// A spinner on stderr for the step under way (terminals only).
    spinner: Option<std::sync::Arc<std::sync::Mutex<Option<indicatif::ProgressBar>>>>,
}

impl Output {
    /// Chooses colour from `NO_COLOR`, `CARGO_TERM_COLOR` and whether the
    /// streams are terminals.
    pub fn new(format: Format) -> Output {
        let choice = std::env::var("CARGO_TERM_COLOR").unwrap_or_default();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let decide = |tty: bool| match choice.as_str() {
            "always" => true,
            "never" => false,
            _ => tty && !no_color,
        };
        let spin = format == Format::Human
            && std::io::stderr().is_terminal()
            && std::env::var_os("CI").is_none();
        Output {
            format,
            color: decide(std::io::stdout().is_terminal()),
            color_err: decide(std::io::stderr().is_terminal()),
            spinner: spin.then(Default::default),
        }
    }

    /// Shows `text` as the step under way: a spinner with elapsed time on a
    /// terminal (cleared by the next line of output), a plain line otherwise.
    pub fn step(&self, text: impl Into<String>) {
        let text = text.into();
        match &self.spinner {
            Some(slot) => {
                let bar = indicatif::ProgressBar::new_spinner();
                if let Ok(style) =
                    indicatif::ProgressStyle::with_template("  {spinner} {msg} {elapsed}")
                {
                    bar.set_style(style);
                }
                bar.set_message(text);
                bar.enable_steady_tick(std::time::Duration::from_millis(100));
                if let Ok(mut current) = slot.lock()
                    && let Some(old) = current.replace(bar)
                {
                    old.finish_and_clear();
                }
            }
            None => self.progress(self.paint_err(&format!("  {text}"), Tone::Dim)),
        }
    }

    /// Clears the spinner, if one is shown.
    fn clear_step(&self) {
        if let Some(slot) = &self.spinner
            && let Ok(mut current) = slot.lock()
            && let Some(bar) = current.take()
        {
            bar.finish_and_clear();
        }
    }

    /// Whether this is JSON output.
    pub fn json(&self) -> bool {
        self.format == Format::Json
    }

    /// `text` in a tone, when colour is on for stdout.
    pub fn paint(&self, text: &str, tone: Tone) -> String {
        paint(self.color, text, tone)
    }

    /// `text` in a tone, when colour is on for stderr.
    pub fn paint_err(&self, text: &str, tone: Tone) -> String {
        paint(self.color_err, text, tone)
    }

    /// Prints a line of human output (nothing under `--format json`).
    pub fn line(&self, text: impl AsRef<str>) {
        if !self.json() {
            self.clear_step();
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{}", text.as_ref());
        }
    }

    /// Prints progress on stderr (human format only), so stdout stays data.
    pub fn progress(&self, text: impl AsRef<str>) {
        if !self.json() {
            self.clear_step();
            eprintln!("{}", text.as_ref());
        }
    }

    /// Prints the JSON document (JSON format only).
    pub fn document(&self, value: &Value) {
        if self.json() {
            let mut out = std::io::stdout().lock();
            let _ = serde_json::to_writer_pretty(&mut out, value);
            let _ = writeln!(out);
        }
    }

    /// Prints an error: a paragraph on stderr, or a JSON document on stdout.
    pub fn error(&self, err: &migrate_core::Error, code: u8) {
        self.error_with(err, code, serde_json::json!({}));
    }

    /// [`Output::error`] with extra fields in the JSON document (what was
    /// done before the error).
    pub fn error_with(&self, err: &migrate_core::Error, code: u8, extra: Value) {
        let message = migrate_core::url::redact(&err.to_string());
        if self.json() {
            let mut doc = serde_json::json!({
                "ok": false,
                "error": { "kind": err.kind(), "message": message, "exit_code": code },
            });
            if let (Some(d), Value::Object(x)) = (doc.as_object_mut(), extra) {
                d.extend(x);
            }
            self.document(&doc);
        } else {
            self.clear_step();
            eprintln!("{} {message}", self.paint_err("error:", Tone::Bad));
        }
    }
}

fn paint(on: bool, text: &str, tone: Tone) -> String {
    use owo_colors::OwoColorize;
    if !on {
        return text.to_string();
    }
    match tone {
        Tone::Good => text.green().to_string(),
        Tone::Warn => text.yellow().to_string(),
        Tone::Bad => text.red().bold().to_string(),
        Tone::Dim => text.dimmed().to_string(),
        Tone::Bold => text.bold().to_string(),
    }
}

/// Lays out rows as aligned columns (two spaces between), indented by two.
pub fn table(rows: &[Vec<String>]) -> Vec<String> {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0; cols];
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(visible_len(c));
        }
    }
    rows.iter()
        .map(|r| {
            let mut line = String::from("  ");
            for (i, c) in r.iter().enumerate() {
                line.push_str(c);
                if i + 1 < r.len() {
                    line.push_str(&" ".repeat(widths[i] - visible_len(c) + 2));
                }
            }
            line.trim_end().to_string()
        })
        .collect()
}

/// Length of `s` without ANSI escape sequences.
fn visible_len(s: &str) -> usize {
    let mut n = 0;
    let mut in_escape = false;
    for ch in s.chars() {
        match (in_escape, ch) {
            (false, '\u{1b}') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, _) => n += 1,
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_ignoring_colour() {
        let rows = vec![
            vec![
                "a".to_string(),
                "\u{1b}[32mbb\u{1b}[0m".to_string(),
                "c".to_string(),
            ],
            vec!["aaa".to_string(), "b".to_string(), "c".to_string()],
        ];
        let t = table(&rows);
        assert_eq!(t[1], "  aaa  b   c");
        assert_eq!(visible_len(&t[0]), "  a    bb  c".len());
    }
}
