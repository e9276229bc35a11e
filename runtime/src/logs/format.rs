//! Writing the CRI log format: `<timestamp> <stdout|stderr> <F|P> <content>\n`, lines framed
//! and split exactly as containerd's CRI plugin (`pkg/cri/io/logger.go`) does.

use std::time::SystemTime;

use super::time::format_timestamp;

/// Longest content of one log line; longer lines are split into partial lines (containerd's
/// `max_container_log_line_size` default).
pub const MAX_LINE_BYTES: usize = 16 * 1024;

/// The container stream a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stream {
    /// The container's standard output.
    Stdout,
    /// The container's standard error.
    Stderr,
}

impl Stream {
    /// The stream's name in the log format.
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }

    /// The stream named `name` in the log format.
    pub fn from_name(name: &[u8]) -> Option<Stream> {
        match name {
            b"stdout" => Some(Stream::Stdout),
            b"stderr" => Some(Stream::Stderr),
            _ => None,
        }
    }
}

/// Whether a log line ends its container line (`F`) or continues in the next one (`P`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    /// The last (or only) piece of a container line.
    Full,
    /// A piece of a longer line, or an unterminated line at the end of the stream.
    Partial,
}

impl Tag {
    /// The tag's letter in the log format.
    pub fn as_str(self) -> &'static str {
        match self {
            Tag::Full => "F",
            Tag::Partial => "P",
        }
    }
}

/// Appends one log line to `out`: header, `content` unchanged, newline.
pub fn encode_line(out: &mut Vec<u8>, time: SystemTime, stream: Stream, tag: Tag, content: &[u8]) {
    out.extend_from_slice(format_timestamp(time).as_bytes());
    out.push(b' ');
    out.extend_from_slice(stream.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(tag.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(content);
    out.push(b'\n');
}

/// Cuts a stream of container output into log-line contents the way containerd does: a
/// `\n` (or `\r\n`, whose `\r` containerd drops) ends a full line; content beyond `max_line`
/// bytes goes out as partial lines of exactly `max_line` bytes; an unterminated rest at the
/// end of the stream is one last partial line. Bytes are never otherwise changed.
#[derive(Debug)]
pub struct LineFramer {
    pending: Vec<u8>,
    max_line: usize,
}

impl LineFramer {
    /// A framer splitting lines longer than `max_line` bytes (at least 1).
    pub fn new(max_line: usize) -> Self {
        LineFramer {
            pending: Vec::new(),
            max_line: max_line.max(1),
        }
    }

    /// Feeds bytes read from the stream; `emit` gets every line content complete so far.
    pub fn push(&mut self, mut data: &[u8], emit: &mut impl FnMut(Tag, &[u8])) {
        while let Some(end) = data.iter().position(|&c| c == b'\n') {
            self.pending.extend_from_slice(&data[..end]);
            if self.pending.last() == Some(&b'\r') {
                self.pending.pop();
            }
            self.emit_overflow(0, emit);
            emit(Tag::Full, &self.pending);
            self.pending.clear();
            data = &data[end + 1..];
        }
        self.pending.extend_from_slice(data);
        // A trailing `\r` may be the start of `\r\n`: hold it back until the next byte.
        let held = usize::from(self.pending.last() == Some(&b'\r'));
        self.emit_overflow(held, emit);
    }

    /// The stream ended: what is left goes out as partial lines.
    pub fn finish(&mut self, emit: &mut impl FnMut(Tag, &[u8])) {
        self.emit_overflow(0, emit);
        if !self.pending.is_empty() {
            emit(Tag::Partial, &self.pending);
            self.pending.clear();
        }
    }

    /// Emits `max_line`-byte partial lines while more than `max_line` bytes (not counting the
    /// last `held`) are pending.
    fn emit_overflow(&mut self, held: usize, emit: &mut impl FnMut(Tag, &[u8])) {
        let mut start = 0;
        while self.pending.len() - held - start > self.max_line {
            emit(Tag::Partial, &self.pending[start..start + self.max_line]);
            start += self.max_line;
        }
        self.pending.drain(..start);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn frame(max: usize, chunks: &[&[u8]]) -> Vec<(Tag, Vec<u8>)> {
        let mut framer = LineFramer::new(max);
        let mut out = Vec::new();
        let mut emit = |tag: Tag, content: &[u8]| out.push((tag, content.to_vec()));
        for chunk in chunks {
            framer.push(chunk, &mut emit);
        }
        framer.finish(&mut emit);
        out
    }

    fn full(s: &str) -> (Tag, Vec<u8>) {
        (Tag::Full, s.as_bytes().to_vec())
    }

    fn part(s: &str) -> (Tag, Vec<u8>) {
        (Tag::Partial, s.as_bytes().to_vec())
    }

    #[test]
    fn encodes_a_line_like_containerd() {
        let mut out = Vec::new();
        let t = UNIX_EPOCH + Duration::new(1_475_713_029, 669_794_202);
        encode_line(&mut out, t, Stream::Stdout, Tag::Full, b"hello  world\t");
        encode_line(&mut out, t, Stream::Stderr, Tag::Partial, b"");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "2016-10-06T00:17:09.669794202Z stdout F hello  world\t\n\
             2016-10-06T00:17:09.669794202Z stderr P \n"
        );
    }

    #[test]
    fn newline_ends_full_lines_across_chunks() {
        assert_eq!(
            frame(16, &[b"a\n", b"", b"b", b"c\n\nd", b"e\n"]),
            vec![full("a"), full("bc"), full(""), full("de")]
        );
    }

    #[test]
    fn unterminated_rest_at_eof_is_partial() {
        assert_eq!(frame(16, &[b"a\nxyz"]), vec![full("a"), part("xyz")]);
        assert_eq!(frame(16, &[b"a\n"]), vec![full("a")]);
        assert_eq!(frame(16, &[]), vec![]);
    }

    #[test]
    fn long_line_is_split_into_max_sized_partials_then_full() {
        assert_eq!(
            frame(4, &[b"abcdefghij\n"]),
            vec![part("abcd"), part("efgh"), full("ij")]
        );
        // Exactly max bytes, or a multiple, ends with a full line of max bytes.
        assert_eq!(frame(4, &[b"abcd\n"]), vec![full("abcd")]);
        assert_eq!(
            frame(4, &[b"ab", b"cdefgh", b"\n"]),
            vec![part("abcd"), full("efgh")]
        );
        assert_eq!(
            frame(4, &[b"abcdefghij"]),
            vec![part("abcd"), part("efgh"), part("ij")]
        );
    }

    #[test]
    fn crlf_loses_its_cr_and_nothing_else_changes() {
        assert_eq!(
            frame(16, &[b"a\r\n", b"b\r", b"\n", b"\rc\r\r\n", b"d\r"]),
            vec![full("a"), full("b"), full("\rc\r"), part("d\r")]
        );
        // A `\r` right past the limit waits for its `\n`, as containerd's reader does.
        assert_eq!(frame(4, &[b"abcd\r", b"\n"]), vec![full("abcd")]);
        let bytes: Vec<u8> = (0u8..=255).filter(|&c| c != b'\n' && c != b'\r').collect();
        let out = frame(1024, &[&bytes, b"\n"]);
        assert_eq!(out, vec![(Tag::Full, bytes)]);
    }

    #[test]
    fn stream_names_round_trip() {
        for s in [Stream::Stdout, Stream::Stderr] {
            assert_eq!(Stream::from_name(s.as_str().as_bytes()), Some(s));
        }
        assert_eq!(Stream::from_name(b"stdin"), None);
    }
}
