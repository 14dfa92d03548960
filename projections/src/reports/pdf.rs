//! The PDF report: A4 portrait in the built-in Korean font (or the configured one). Page 1 has
//! the title, a bar chart of how the calls ended and the cost summary; then a table with one row
//! per call whose cells wrap instead of being cut (a summary and transcript under the row when
//! asked), repeating the table header on every page.
//!
//! Layout is computed first as pages of drawing operations, then drawn with krilla (which
//! subsets the font and writes a ToUnicode map, so `pdftotext` reads the Hangul back).

use std::path::Path;
use std::sync::Arc;

use chrono_tz::Asia::Seoul;
use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::page::PageSettings;
use krilla::paint::Fill;
use krilla::text::{Font, TextDirection};

use super::{Report, ReportError, ReportRow, Totals};

const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const MARGIN: f32 = 40.0;
const ROW_H: f32 = 13.0;
const CELL_SIZE: f32 = 7.5;
/// The height of one wrapped line inside a table cell.
const CELL_LINE_H: f32 = 9.5;
const BAR_H: f32 = 11.0;
/// The outcome chart's label column and the longest bar.
const BAR_LABEL_W: f32 = 80.0;
const BAR_MAX_W: f32 = 300.0;
const NOTE_SIZE: f32 = 7.0;
/// Column titles and widths (points); the widths add up to the printable width.
const COLUMNS: [(&str, f32); 8] = [
    ("이름", 80.0),
    ("전화번호", 66.0),
    ("상태", 44.0),
    ("결과", 64.0),
    ("시도", 26.0),
    ("시간(초)", 36.0),
    ("시작 (KST)", 92.0),
    ("비용(USD)", 48.0),
];

enum Op {
    Text {
        x: f32,
        y: f32,
        size: f32,
        text: String,
    },
    Rule {
        y: f32,
    },
    Bar {
        x: f32,
        y: f32,
        w: f32,
        rgb: (u8, u8, u8),
    },
}

/// The bar colour of an outcome: green for success, blue for a new time, amber for a callback,
/// grey for the rest, red for failures.
fn outcome_colour(outcome: &str) -> (u8, u8, u8) {
    match outcome {
        "성공" => (46, 125, 50),
        "일정 변경" => (21, 101, 192),
        "재통화 요청" => (239, 108, 0),
        "실패" | "거절" | "수신 거부" => (198, 40, 40),
        _ => (117, 117, 117),
    }
}

/// Approximate advance of `c` in ems: Hangul and other wide glyphs are square, Latin is narrow.
fn em(c: char) -> f32 {
    if c.is_ascii() { 0.55 } else { 1.0 }
}

/// `text` broken into lines that fit `max` points (at any character; Korean has no hyphens).
fn wrap(text: &str, size: f32, max: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.lines() {
        let mut line = String::new();
        let mut used = 0.0;
        for c in paragraph.chars() {
            let w = em(c) * size;
            if used + w > max && !line.is_empty() {
                lines.push(std::mem::take(&mut line));
                used = 0.0;
            }
            line.push(c);
            used += w;
        }
        lines.push(line);
    }
    lines
}

struct Pages {
    pages: Vec<Vec<Op>>,
    y: f32,
}

impl Pages {
    fn new() -> Self {
        Self {
            pages: vec![Vec::new()],
            y: MARGIN,
        }
    }

    fn ops(&mut self) -> &mut Vec<Op> {
        self.pages.last_mut().expect("there is always a page")
    }

    fn text(&mut self, x: f32, size: f32, text: impl Into<String>) {
        let y = self.y + size;
        self.ops().push(Op::Text {
            x,
            y,
            size,
            text: text.into(),
        });
    }

    fn rule(&mut self) {
        let y = self.y;
        self.ops().push(Op::Rule { y });
    }

    /// Starts a new page (with the table header) if `height` does not fit on this one.
    fn ensure(&mut self, height: f32) {
        if self.y + height > PAGE_H - MARGIN {
            self.pages.push(Vec::new());
            self.y = MARGIN;
            self.table_header();
        }
    }

    fn table_header(&mut self) {
        let mut x = MARGIN;
        for (title, w) in COLUMNS {
            self.text(x + 2.0, CELL_SIZE, title);
            x += w;
        }
        self.y += ROW_H;
        self.rule();
        self.y += 2.0;
    }

    /// One call's row; a cell too long for its column wraps onto more lines and the row grows.
    fn row(&mut self, row: &ReportRow) {
        let cells: Vec<Vec<String>> = COLUMNS
            .iter()
            .zip(row.cells())
            .map(|((_, w), cell)| wrap(&cell, CELL_SIZE, w - 4.0))
            .collect();
        let lines = cells.iter().map(Vec::len).max().unwrap_or(1).max(1);
        let height = ROW_H + (lines - 1) as f32 * CELL_LINE_H;
        self.ensure(height);
        let top = self.y;
        let mut x = MARGIN;
        for ((_, w), cell) in COLUMNS.iter().zip(cells) {
            for (i, line) in cell.into_iter().enumerate() {
                self.y = top + i as f32 * CELL_LINE_H;
                self.text(x + 2.0, CELL_SIZE, line);
            }
            x += w;
        }
        self.y = top + height;
    }

    /// A horizontal bar per outcome with its count and share.
    fn outcome_chart(&mut self, outcomes: &[(String, usize)], calls: usize) {
        let most = outcomes.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
        for (outcome, count) in outcomes {
            self.text(MARGIN, 9.0, outcome.as_str());
            let w = BAR_MAX_W * *count as f32 / most as f32;
            let (x, y) = (MARGIN + BAR_LABEL_W, self.y);
            let rgb = outcome_colour(outcome);
            self.ops().push(Op::Bar { x, y, w, rgb });
            let share = *count as f32 * 100.0 / calls.max(1) as f32;
            self.text(x + w + 6.0, 9.0, format!("{count}건 ({share:.1}%)"));
            self.y += BAR_H + 4.0;
        }
    }

    fn note(&mut self, label: &str, text: &str) {
        let indent = MARGIN + 12.0;
        let lines = wrap(
            &format!("{label}: {text}"),
            NOTE_SIZE,
            PAGE_W - MARGIN - indent,
        );
        for line in lines {
            self.ensure(NOTE_SIZE + 3.0);
            self.text(indent, NOTE_SIZE, line);
            self.y += NOTE_SIZE + 3.0;
        }
    }
}

fn layout(report: &Report) -> Vec<Vec<Op>> {
    let totals = report.totals();
    let mut pages = Pages::new();
    pages.text(
        MARGIN,
        16.0,
        format!("{} — 통화 결과 리포트", report.campaign_name),
    );
    pages.y += 24.0;
    let generated = report
        .generated_at
        .with_timezone(&Seoul)
        .format("%Y-%m-%d %H:%M:%S");
    pages.text(MARGIN, 9.0, format!("생성 시각: {generated} (KST)"));
    pages.y += 18.0;
    let lines = [
        format!(
            "전체 통화: {}건    성공: {}건    성공률: {}%",
            totals.calls,
            totals.success,
            totals.success_rate()
        ),
        format!(
            "부재중: {}건    실패: {}건",
            totals.no_answer, totals.failed
        ),
    ];
    for line in lines {
        pages.text(MARGIN, 10.0, line);
        pages.y += 15.0;
    }
    pages.y += 8.0;
    pages.text(MARGIN, 11.0, "통화 결과");
    pages.y += 18.0;
    pages.outcome_chart(&Totals::outcomes(&report.rows), totals.calls);
    pages.y += 8.0;
    pages.text(MARGIN, 11.0, "비용 요약");
    pages.y += 18.0;
    let costs = [
        format!("총 비용: ${}", totals.cost_usd()),
        format!("통화당 평균: ${}", totals.cost_per_call_usd()),
        format!("총 통화 시간: {}분", totals.minutes()),
    ];
    for line in costs {
        pages.text(MARGIN, 10.0, line);
        pages.y += 15.0;
    }
    pages.y += 10.0;
    pages.table_header();
    for row in &report.rows {
        pages.row(row);
        if report.options.include_summaries
            && let Some(summary) = row.summary.as_deref().filter(|s| !s.is_empty())
        {
            pages.note("요약", summary);
        }
        if report.options.include_transcripts
            && let Some(transcript) = row.transcript.as_deref().filter(|s| !s.is_empty())
        {
            pages.note("통화 전문", transcript);
        }
    }
    pages.pages
}

/// The PDF of `report`, set in the font `font` (read from `font_path`).
pub fn render(
    report: &Report,
    font: Arc<Vec<u8>>,
    font_path: &Path,
) -> Result<Vec<u8>, ReportError> {
    let font = Font::new(font.into(), 0)
        .ok_or_else(|| ReportError::FontUnreadable(font_path.to_path_buf()))?;
    let mut document = Document::new();
    let settings = PageSettings::from_wh(PAGE_W, PAGE_H).expect("A4 has a positive size");
    for ops in layout(report) {
        let mut page = document.start_page_with(settings.clone());
        let mut surface = page.surface();
        for op in ops {
            match op {
                Op::Text { x, y, size, text } => surface.draw_text(
                    Point::from_xy(x, y),
                    font.clone(),
                    size,
                    &text,
                    false,
                    TextDirection::Auto,
                ),
                Op::Rule { y } => fill_rect(
                    &mut surface,
                    (MARGIN, y, PAGE_W - 2.0 * MARGIN, 0.6),
                    (0, 0, 0),
                ),
                Op::Bar { x, y, w, rgb } => fill_rect(&mut surface, (x, y, w.max(1.0), BAR_H), rgb),
            }
        }
        surface.finish();
        page.finish();
    }
    document
        .finish()
        .map_err(|e| ReportError::Pdf(format!("{e:?}")))
}

/// Fills the rectangle `(x, y, w, h)` in the colour `(r, g, b)`, then goes back to black text.
fn fill_rect(
    surface: &mut krilla::surface::Surface<'_>,
    (x, y, w, h): (f32, f32, f32, f32),
    (r, g, b): (u8, u8, u8),
) {
    let mut path = PathBuilder::new();
    if let Some(rect) = Rect::from_xywh(x, y, w, h) {
        path.push_rect(rect);
    }
    if let Some(path) = path.finish() {
        surface.set_fill(Some(Fill {
            paint: rgb::Color::new(r, g, b).into(),
            ..Fill::default()
        }));
        surface.draw_path(&path);
        surface.set_fill(Some(Fill::default()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn width(text: &str, size: f32) -> f32 {
        text.chars().map(em).sum::<f32>() * size
    }

    #[test]
    fn long_text_is_wrapped_to_fit() {
        assert_eq!(wrap("짧음", 10.0, 100.0), ["짧음"]);
        let lines = wrap("가나다라마바사아자차카타파하", 10.0, 50.0);
        assert_eq!(lines.len(), 3);
        assert!(lines.iter().all(|l| width(l, 10.0) <= 50.0));
    }
}
