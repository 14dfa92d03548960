//! The PDF report: A4 portrait in NanumGothic (or the configured font), a title, the totals,
//! then a table with one row per call (a summary and transcript under the row when asked),
//! repeating the table header on every page.
//!
//! Layout is computed first as pages of drawing operations, then drawn with krilla (which
//! subsets the font and writes a ToUnicode map, so `pdftotext` reads the Hangul back).

use std::path::Path;
use std::sync::Arc;

use chrono_tz::Asia::Seoul;
use krilla::Document;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::page::PageSettings;
use krilla::text::{Font, TextDirection};

use super::{Report, ReportError, ReportRow};

const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const MARGIN: f32 = 40.0;
const ROW_H: f32 = 13.0;
const CELL_SIZE: f32 = 7.5;
const NOTE_SIZE: f32 = 7.0;
/// Column titles and widths (points); the widths add up to the printable width.
const COLUMNS: [(&str, f32); 8] = [
    ("이름", 72.0),
    ("전화번호", 78.0),
    ("상태", 56.0),
    ("결과", 82.0),
    ("시도", 26.0),
    ("시간(초)", 36.0),
    ("시작 (KST)", 82.0),
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
}

/// Approximate advance of `c` in ems: Hangul and other wide glyphs are square, Latin is narrow.
fn em(c: char) -> f32 {
    if c.is_ascii() { 0.55 } else { 1.0 }
}

fn width(text: &str, size: f32) -> f32 {
    text.chars().map(em).sum::<f32>() * size
}

/// `text` cut to fit `max` points, with an ellipsis when cut.
fn fit(text: &str, size: f32, max: f32) -> String {
    if width(text, size) <= max {
        return text.to_owned();
    }
    let mut out = String::new();
    let mut used = width("…", size);
    for c in text.chars() {
        used += em(c) * size;
        if used > max {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
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

    fn row(&mut self, row: &ReportRow) {
        self.ensure(ROW_H);
        let cells = row.cells();
        let mut x = MARGIN;
        for ((_, w), cell) in COLUMNS.iter().zip(cells) {
            self.text(x + 2.0, CELL_SIZE, fit(&cell, CELL_SIZE, w - 4.0));
            x += w;
        }
        self.y += ROW_H;
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
            "무응답: {}건    실패: {}건",
            totals.no_answer, totals.failed
        ),
        format!(
            "총 비용: ${}    총 통화 시간: {}분",
            totals.cost_usd(),
            totals.minutes()
        ),
    ];
    for line in lines {
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
                Op::Rule { y } => {
                    let mut path = PathBuilder::new();
                    if let Some(rect) = Rect::from_xywh(MARGIN, y, PAGE_W - 2.0 * MARGIN, 0.6) {
                        path.push_rect(rect);
                    }
                    if let Some(path) = path.finish() {
                        surface.set_fill(Some(krilla::paint::Fill::default()));
                        surface.draw_path(&path);
                    }
                }
            }
        }
        surface.finish();
        page.finish();
    }
    document
        .finish()
        .map_err(|e| ReportError::Pdf(format!("{e:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_cut_or_wrapped_to_fit() {
        assert_eq!(fit("짧음", 10.0, 100.0), "짧음");
        let cut = fit("아주아주아주아주아주 긴 이름입니다", 10.0, 50.0);
        assert!(cut.ends_with('…'));
        assert!(width(&cut, 10.0) <= 50.0 + 10.0);
        let lines = wrap("가나다라마바사아자차카타파하", 10.0, 50.0);
        assert_eq!(lines.len(), 3);
        assert!(lines.iter().all(|l| width(l, 10.0) <= 50.0));
    }
}
