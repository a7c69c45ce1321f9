//! A small page-layout layer over `pdf-writer`: the standard Helvetica
//! fonts (nothing embedded), wrapped paragraphs, coloured boxes and tables
//! that continue on new pages with their header repeated.

use pdf_writer::{Content, Name, Pdf, Rect, Ref, Str, TextStr};

/// An RGB colour.
pub type Rgb = (f32, f32, f32);
pub const BLACK: Rgb = (0.1, 0.1, 0.1);
pub const GREY: Rgb = (0.35, 0.35, 0.35);
pub const GOOD: Rgb = (0.18, 0.49, 0.2);
pub const BAD: Rgb = (0.78, 0.16, 0.16);
pub const UNKNOWN: Rgb = (0.85, 0.42, 0.0);
pub const INFO: Rgb = (0.33, 0.43, 0.48);

const MARGIN: f32 = 40.0;
const FOOTER: f32 = 28.0;
const MAX_CELL_LINES: usize = 12;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Font {
    Regular,
    Bold,
}

impl Font {
    fn name(self) -> Name<'static> {
        match self {
            Font::Regular => Name(b"F1"),
            Font::Bold => Name(b"F2"),
        }
    }
}

/// Helvetica advance widths (1/1000 em) for WinAnsi codes 32..=126.
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667,
    611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500,
    222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];
/// Helvetica-Bold advance widths for WinAnsi codes 32..=126.
const HELVETICA_BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, 975, 722, 722, 722, 722, 667,
    611, 778, 722, 278, 556, 722, 611, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 333, 278, 333, 584, 556, 333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556,
    278, 889, 611, 611, 611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
];

/// Text in WinAnsiEncoding: ASCII and Latin-1 as they are, a few
/// typographic marks mapped, anything else shown as `?`.
fn encode(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match c {
            ' '..='~' => c as u8,
            '\u{a0}'..='\u{ff}' => c as u32 as u8,
            '€' => 0x80,
            '…' => 0x85,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '™' => 0x99,
            '\t' => b' ',
            _ => b'?',
        })
        .collect()
}

fn glyph_width(b: u8, font: Font) -> u16 {
    let table = match font {
        Font::Regular => &HELVETICA,
        Font::Bold => &HELVETICA_BOLD,
    };
    match b {
        32..=126 => table[usize::from(b - 32)],
        0x85 | 0x97 | 0x99 => 1000,
        0x95 => 350,
        0x91 | 0x92 => 222,
        0x93 | 0x94 => 333,
        _ => 556,
    }
}

/// Width of `s` in points.
pub fn width(s: &str, font: Font, size: f32) -> f32 {
    encode(s)
        .iter()
        .map(|b| f32::from(glyph_width(*b, font)))
        .sum::<f32>()
        * size
        / 1000.0
}

/// Greedy word wrap to `max` points; words longer than a line are
/// broken between characters. `\n` starts a new line.
pub fn wrap(s: &str, font: Font, size: f32, max: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for para in s.split('\n') {
        let mut line = String::new();
        for word in para.split(' ').filter(|w| !w.is_empty()) {
            let candidate = if line.is_empty() {
                word.to_owned()
            } else {
                format!("{line} {word}")
            };
            if width(&candidate, font, size) <= max {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            // The word alone: break it if it is too long.
            for c in word.chars() {
                let mut next = line.clone();
                next.push(c);
                if width(&next, font, size) > max && !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                    line.push(c);
                } else {
                    line = next;
                }
            }
        }
        lines.push(line);
    }
    lines
}

fn put_text(c: &mut Content, x: f32, baseline: f32, font: Font, size: f32, colour: Rgb, s: &str) {
    let bytes = encode(s);
    c.set_fill_rgb(colour.0, colour.1, colour.2);
    c.begin_text();
    c.set_font(font.name(), size);
    c.next_line(x, baseline);
    c.show(Str(&bytes));
    c.end_text();
}

/// Like [`wrap`], but a paragraph starting with "• " hangs: its
/// continuation lines are indented past the bullet. Each line comes
/// with its x offset.
pub fn wrap_hanging(s: &str, font: Font, size: f32, max: f32) -> Vec<(f32, String)> {
    let mut out = Vec::new();
    for para in s.split('\n') {
        match para.strip_prefix("• ") {
            Some(rest) => {
                let indent = width("• ", font, size);
                for (i, l) in wrap(rest, font, size, max - indent).into_iter().enumerate() {
                    if i == 0 {
                        out.push((0.0, format!("• {l}")));
                    } else {
                        out.push((indent, l));
                    }
                }
            }
            None => out.extend(wrap(para, font, size, max).into_iter().map(|l| (0.0, l))),
        }
    }
    out
}

/// A document being laid out, page by page.
pub struct Doc {
    w: f32,
    h: f32,
    pages: Vec<Content>,
    y: f32,
    footer: String,
}

impl Doc {
    /// A4, landscape or portrait; `footer` is printed on every page.
    pub fn new(landscape: bool, footer: &str) -> Self {
        let (w, h) = if landscape {
            (842.0, 595.0)
        } else {
            (595.0, 842.0)
        };
        let mut d = Doc {
            w,
            h,
            pages: Vec::new(),
            y: 0.0,
            footer: footer.to_owned(),
        };
        d.new_page();
        d
    }

    /// Width between the margins.
    pub fn usable_width(&self) -> f32 {
        self.w - 2.0 * MARGIN
    }

    fn new_page(&mut self) {
        self.pages.push(Content::new());
        self.y = self.h - MARGIN;
    }

    fn c(&mut self) -> &mut Content {
        self.pages.last_mut().expect("a page")
    }

    /// Starts a new page unless `h` points fit on this one.
    fn ensure(&mut self, h: f32) -> bool {
        if self.y - h < MARGIN + FOOTER {
            self.new_page();
            true
        } else {
            false
        }
    }

    /// Vertical space.
    pub fn space(&mut self, h: f32) {
        self.y -= h;
    }

    fn text(&mut self, x: f32, baseline: f32, font: Font, size: f32, colour: Rgb, s: &str) {
        put_text(self.c(), x, baseline, font, size, colour, s);
    }

    fn fill_rect(&mut self, x: f32, y: f32, w: f32, h: f32, colour: Rgb) {
        let c = self.c();
        c.set_fill_rgb(colour.0, colour.1, colour.2);
        c.rect(x, y, w, h);
        c.fill_nonzero();
    }

    fn stroke_rect(&mut self, x: f32, y: f32, w: f32, h: f32, colour: Rgb, lw: f32) {
        let c = self.c();
        c.set_stroke_rgb(colour.0, colour.1, colour.2);
        c.set_line_width(lw);
        c.rect(x, y, w, h);
        c.stroke();
    }

    fn hline(&mut self, x1: f32, x2: f32, y: f32, colour: Rgb, lw: f32) {
        let c = self.c();
        c.set_stroke_rgb(colour.0, colour.1, colour.2);
        c.set_line_width(lw);
        c.move_to(x1, y);
        c.line_to(x2, y);
        c.stroke();
    }

    /// The document title.
    pub fn title(&mut self, s: &str) {
        let size = 18.0;
        for line in wrap(s, Font::Bold, size, self.usable_width()) {
            self.ensure(size * 1.3);
            self.y -= size;
            self.text(MARGIN, self.y, Font::Bold, size, BLACK, &line);
            self.y -= size * 0.3;
        }
        self.y -= 6.0;
    }

    /// A section heading with a rule under it.
    pub fn heading(&mut self, s: &str) {
        let size = 13.0;
        self.ensure(size * 1.5 + 40.0);
        self.y -= 8.0 + size;
        self.text(MARGIN, self.y, Font::Bold, size, BLACK, s);
        self.y -= 4.0;
        let (x2, y) = (self.w - MARGIN, self.y);
        self.hline(MARGIN, x2, y, (0.75, 0.75, 0.75), 0.6);
        self.y -= 8.0;
    }

    /// A wrapped paragraph over the full width.
    pub fn paragraph(&mut self, s: &str, font: Font, size: f32, colour: Rgb) {
        let lead = size * 1.3;
        for (dx, line) in wrap_hanging(s, font, size, self.usable_width()) {
            self.ensure(lead);
            self.y -= lead;
            self.text(
                MARGIN + dx,
                self.y + (lead - size) * 0.6,
                font,
                size,
                colour,
                &line,
            );
        }
    }

    /// "Key:  value" lines, values wrapped beside a bold key column.
    pub fn key_values(&mut self, kv: &[(String, String)], key_w: f32) {
        let size = 10.0;
        let lead = size * 1.35;
        let vw = self.usable_width() - key_w;
        for (k, v) in kv {
            let lines = wrap(v, Font::Regular, size, vw);
            self.ensure(lead * lines.len() as f32);
            self.y -= lead;
            self.text(MARGIN, self.y, Font::Bold, size, GREY, k);
            for (i, l) in lines.iter().enumerate() {
                if i > 0 {
                    self.y -= lead;
                }
                self.text(MARGIN + key_w, self.y, Font::Regular, size, BLACK, l);
            }
        }
        self.y -= 4.0;
    }

    /// A box with a coloured border and tint: a bold headline and a
    /// wrapped body (paragraphs split by `\n`; "• " items hang).
    pub fn status_box(&mut self, headline: &str, body: &str, colour: Rgb, hs: f32) {
        let pad = 8.0;
        let inner = self.usable_width() - 2.0 * pad - 6.0;
        let bs = 10.0;
        let head = wrap(headline, Font::Bold, hs, inner);
        let lines = if body.is_empty() {
            Vec::new()
        } else {
            wrap_hanging(body, Font::Regular, bs, inner)
        };
        let h = 2.0 * pad + head.len() as f32 * hs * 1.3 + lines.len() as f32 * bs * 1.35;
        self.ensure(h + 8.0);
        let top = self.y - 4.0;
        let tint = (
            1.0 - (1.0 - colour.0) * 0.1,
            1.0 - (1.0 - colour.1) * 0.1,
            1.0 - (1.0 - colour.2) * 0.1,
        );
        let uw = self.usable_width();
        self.fill_rect(MARGIN, top - h, uw, h, tint);
        self.fill_rect(MARGIN, top - h, 5.0, h, colour);
        self.stroke_rect(MARGIN, top - h, uw, h, colour, 1.0);
        let x = MARGIN + 6.0 + pad;
        let mut y = top - pad;
        for l in &head {
            y -= hs * 1.3;
            self.text(x, y + hs * 0.25, Font::Bold, hs, colour, l);
        }
        for (dx, l) in &lines {
            y -= bs * 1.35;
            self.text(x + dx, y + bs * 0.3, Font::Regular, bs, BLACK, l);
        }
        self.y = top - h - 8.0;
    }

    /// One finding: a tag, the question in bold, the answer, the proof.
    pub fn finding(&mut self, question: &str, tag: &str, colour: Rgb, answer: &str, proof: &str) {
        let tag_w = 58.0;
        let x = MARGIN + tag_w + 6.0;
        let w = self.usable_width() - tag_w - 6.0;
        let q = wrap(question, Font::Bold, 10.5, w);
        let a = wrap(answer, Font::Regular, 9.5, w);
        let p = wrap(proof, Font::Regular, 8.5, w);
        // Keep a finding on one page when it fits on one.
        let whole = q.len() as f32 * 14.0 + a.len() as f32 * 13.0 + p.len() as f32 * 12.0;
        let page = self.h - 2.0 * MARGIN - FOOTER;
        let first = q.len() as f32 * 14.0 + 13.0f32.min(a.len() as f32 * 13.0);
        self.ensure(if whole + 10.0 < page {
            whole + 10.0
        } else {
            first + 6.0
        });
        self.y -= 4.0;
        // Tag.
        let top = self.y;
        self.fill_rect(MARGIN, top - 14.0, tag_w, 13.0, colour);
        let tw = width(tag, Font::Bold, 8.5);
        self.text(
            MARGIN + (tag_w - tw) / 2.0,
            top - 10.5,
            Font::Bold,
            8.5,
            (1.0, 1.0, 1.0),
            tag,
        );
        for l in &q {
            self.y -= 14.0;
            self.text(x, self.y + 3.5, Font::Bold, 10.5, BLACK, l);
        }
        for l in &a {
            if self.ensure(13.0) {
                self.y -= 4.0;
            }
            self.y -= 13.0;
            self.text(x, self.y + 3.0, Font::Regular, 9.5, BLACK, l);
        }
        for l in &p {
            self.ensure(12.0);
            self.y -= 12.0;
            self.text(x, self.y + 3.0, Font::Regular, 8.5, GREY, l);
        }
        self.y -= 6.0;
    }

    /// A table with wrapped cells; the header repeats on each page.
    /// `cols` are (title, width in points).
    pub fn table(&mut self, cols: &[(&str, f32)], rows: &[Vec<String>], size: f32) {
        self.table_at(MARGIN, cols, rows, size);
    }

    /// Two tables side by side, both starting here; the second one
    /// starts `gap` points right of the first.
    pub fn tables_side_by_side(
        &mut self,
        left: (&[(&str, f32)], &[Vec<String>]),
        right: (&[(&str, f32)], &[Vec<String>]),
        gap: f32,
        size: f32,
    ) {
        let (page, y0) = (self.pages.len(), self.y);
        self.table_at(MARGIN, left.0, left.1, size);
        let (page_l, y_l) = (self.pages.len(), self.y);
        let x = MARGIN + left.0.iter().map(|c| c.1).sum::<f32>() + gap;
        if page_l == page {
            // The left one fitted on this page: start the right one beside it.
            self.y = y0;
            self.table_at(x, right.0, right.1, size);
            if self.pages.len() == page {
                self.y = self.y.min(y_l);
            }
        } else {
            self.table_at(MARGIN, right.0, right.1, size);
        }
    }

    fn table_at(&mut self, x0: f32, cols: &[(&str, f32)], rows: &[Vec<String>], size: f32) {
        let pad = 3.0;
        let lead = size * 1.25;
        let total: f32 = cols.iter().map(|c| c.1).sum();
        let header = |d: &mut Doc| {
            let h = lead + 2.0 * pad;
            let top = d.y;
            d.fill_rect(x0, top - h, total, h, (0.88, 0.9, 0.92));
            let mut x = x0;
            for (t, w) in cols {
                d.text(x + pad, top - pad - size, Font::Bold, size, BLACK, t);
                x += w;
            }
            d.y -= h;
        };
        self.ensure(2.0 * (lead + 2.0 * pad));
        header(self);
        for (i, row) in rows.iter().enumerate() {
            let cells: Vec<Vec<String>> = cols
                .iter()
                .zip(row)
                .map(|((_, w), s)| {
                    let mut l = wrap(s, Font::Regular, size, w - 2.0 * pad);
                    if l.len() > MAX_CELL_LINES {
                        l.truncate(MAX_CELL_LINES);
                        if let Some(last) = l.last_mut() {
                            last.push('…');
                        }
                    }
                    l
                })
                .collect();
            let n = cells.iter().map(Vec::len).max().unwrap_or(1).max(1);
            let h = n as f32 * lead + 2.0 * pad;
            if self.ensure(h) {
                header(self);
            }
            let top = self.y;
            if i % 2 == 1 {
                self.fill_rect(x0, top - h, total, h, (0.965, 0.97, 0.975));
            }
            let mut x = x0;
            for (ci, lines) in cells.iter().enumerate() {
                for (li, l) in lines.iter().enumerate() {
                    self.text(
                        x + pad,
                        top - pad - size - li as f32 * lead,
                        Font::Regular,
                        size,
                        BLACK,
                        l,
                    );
                }
                x += cols[ci].1;
            }
            self.hline(x0, x0 + total, top - h, (0.8, 0.82, 0.85), 0.4);
            self.y -= h;
        }
    }

    /// Writes the pages, with "footer  |  page i of n" at the bottom.
    pub fn finish(mut self, title: &str) -> Vec<u8> {
        let n = self.pages.len();
        let footer = std::mem::take(&mut self.footer);
        for (i, page) in self.pages.iter_mut().enumerate() {
            let s = format!("{footer}  |  page {} of {n}", i + 1);
            let x = (self.w - width(&s, Font::Regular, 8.0)) / 2.0;
            put_text(page, x, MARGIN - 14.0, Font::Regular, 8.0, GREY, &s);
        }
        let mut pdf = Pdf::new();
        let catalog = Ref::new(1);
        let tree = Ref::new(2);
        let f1 = Ref::new(3);
        let f2 = Ref::new(4);
        let info = Ref::new(5);
        let page_ids: Vec<Ref> = (0..n).map(|i| Ref::new(6 + 2 * i as i32)).collect();
        pdf.catalog(catalog).pages(tree);
        pdf.pages(tree)
            .kids(page_ids.iter().copied())
            .count(n as i32);
        for (i, content) in self.pages.into_iter().enumerate() {
            let cid = Ref::new(7 + 2 * i as i32);
            let mut page = pdf.page(page_ids[i]);
            page.media_box(Rect::new(0.0, 0.0, self.w, self.h));
            page.parent(tree);
            page.contents(cid);
            page.resources()
                .fonts()
                .pair(Font::Regular.name(), f1)
                .pair(Font::Bold.name(), f2);
            drop(page);
            pdf.stream(cid, &content.finish());
        }
        pdf.type1_font(f1)
            .base_font(Name(b"Helvetica"))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
        pdf.type1_font(f2)
            .base_font(Name(b"Helvetica-Bold"))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
        pdf.document_info(info)
            .title(TextStr(title))
            .producer(TextStr("Coffer"));
        pdf.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_wraps_within_the_width() {
        let s = "Chain verified: all 19 records (1–19) are intact and in order.";
        let lines = wrap(s, Font::Regular, 10.0, 120.0);
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| width(l, Font::Regular, 10.0) <= 120.0));
        assert_eq!(lines.join(" "), s);
        // A long id is broken between characters.
        let id = "0123456789abcdef0123456789abcdef";
        let lines = wrap(id, Font::Regular, 8.0, 60.0);
        assert!(lines.len() > 1);
        assert_eq!(lines.concat(), id);
        assert!((width("Hello", Font::Regular, 10.0) - 22.78).abs() < 0.01);
    }
}
