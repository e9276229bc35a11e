//! Finds the top-level `metadata` object of a stored JSON document without decoding it, so a
//! list can copy stored bytes into its response and only splice in `resourceVersion`.
//!
//! The scanner assumes well-formed JSON (stored objects are written by `serde_json`) and answers
//! `None` whenever the document is not plainly what it expects (escaped or repeated keys, a
//! stored `resourceVersion`, trailing bytes); callers then decode the object instead.

use std::ops::Range;

/// Where the top-level `metadata` of a document is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Metadata {
    /// `metadata` is an object spanning these bytes (`{` through `}`) and has no
    /// `resourceVersion`.
    Object(Range<usize>),
    /// There is no `metadata`, or it is not an object: nothing is spliced.
    Absent,
}

/// Locates the top-level `metadata` of the JSON object `doc`; `None` when unsure.
pub fn locate(doc: &[u8]) -> Option<Metadata> {
    let mut c = Cursor { b: doc, i: 0 };
    let mut found = None;
    c.members(|key, value, b| {
        if key != b"metadata" {
            return Some(());
        }
        if found.is_some() {
            return None;
        }
        found = Some(if b[value.start] == b'{' {
            let mut inner = Cursor {
                b: &b[..value.end],
                i: value.start,
            };
            inner.members(|key, _, _| (key != b"resourceVersion").then_some(()))?;
            Metadata::Object(value)
        } else {
            Metadata::Absent
        });
        Some(())
    })?;
    c.ws();
    (c.i == doc.len()).then(|| found.unwrap_or(Metadata::Absent))
}

/// Whether `range` of `doc` holds only JSON whitespace.
pub fn is_blank(doc: &[u8], range: Range<usize>) -> bool {
    doc[range].iter().all(|b| is_ws(*b))
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t')
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn ws(&mut self) {
        while self.b.get(self.i).is_some_and(|b| is_ws(*b)) {
            self.i += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        self.ws();
        (*self.b.get(self.i)? == byte).then(|| self.i += 1)
    }

    /// Walks the object at the cursor, calling `on(key, value range, bytes)` for each member;
    /// keys with escapes are refused.
    fn members(
        &mut self,
        mut on: impl FnMut(&[u8], Range<usize>, &[u8]) -> Option<()>,
    ) -> Option<()> {
        self.expect(b'{')?;
        self.ws();
        if *self.b.get(self.i)? == b'}' {
            self.i += 1;
            return Some(());
        }
        loop {
            self.ws();
            let bytes = self.b;
            let key = &bytes[self.string()?];
            if key.contains(&b'\\') {
                return None;
            }
            self.expect(b':')?;
            self.ws();
            let start = self.i;
            self.value()?;
            on(key, start..self.i, self.b)?;
            self.ws();
            match *self.b.get(self.i)? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// Skips the string at the cursor; returns the range of its raw contents.
    fn string(&mut self) -> Option<Range<usize>> {
        (*self.b.get(self.i)? == b'"').then_some(())?;
        let start = self.i + 1;
        let mut i = start;
        loop {
            match *self.b.get(i)? {
                b'"' => {
                    self.i = i + 1;
                    return Some(start..i);
                }
                b'\\' => i += 2,
                _ => i += 1,
            }
        }
    }

    /// Skips the value at the cursor.
    fn value(&mut self) -> Option<()> {
        match *self.b.get(self.i)? {
            b'"' => self.string().map(drop),
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match *self.b.get(self.i)? {
                        b'"' => {
                            self.string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.i += 1;
                                return Some(());
                            }
                        }
                        _ => {}
                    }
                    self.i += 1;
                }
            }
            _ => {
                let start = self.i;
                while self
                    .b
                    .get(self.i)
                    .is_some_and(|b| !matches!(b, b',' | b'}' | b']') && !is_ws(*b))
                {
                    self.i += 1;
                }
                (self.i > start).then_some(())
            }
        }
    }
}
