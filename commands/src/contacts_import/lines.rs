//! Line numbers as a person sees them in a text editor.

/// Follows the text forward, counting LF, CRLF and lone CR as one line break each.
pub(super) struct LineCounter<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// The line at the current position.
    pub(super) line: usize,
}

impl<'a> LineCounter<'a> {
    /// A counter at the start of `bytes`, which is line `first_line`.
    pub(super) fn new(bytes: &'a [u8], first_line: usize) -> Self {
        Self {
            bytes,
            pos: 0,
            line: first_line,
        }
    }

    /// The line of byte `at` of `bytes`, counting from `first_line`.
    pub(super) fn line_at(bytes: &[u8], first_line: usize, at: usize) -> usize {
        let mut counter = LineCounter::new(bytes, first_line);
        counter.advance_to(at.min(bytes.len()));
        counter.line
    }

    fn advance_to(&mut self, to: usize) {
        while self.pos < to {
            match self.bytes[self.pos] {
                b'\n' => self.line += 1,
                b'\r' if self.bytes.get(self.pos + 1) != Some(&b'\n') => self.line += 1,
                _ => {}
            }
            self.pos += 1;
        }
    }

    /// The line a record starts on. The csv reader reports a record's offset before the blank
    /// lines it skipped (and between the CR and LF of a CRLF), so skip line breaks first.
    pub(super) fn line_of_record_at(&mut self, offset: usize) -> usize {
        let mut start = offset.max(self.pos);
        while start < self.bytes.len() && matches!(self.bytes[start], b'\r' | b'\n') {
            start += 1;
        }
        self.advance_to(start);
        self.line
    }
}
