//! Reading the CRI log format back: single lines as the kubelet parses them, and container
//! lines reassembled from their partial pieces.

use std::time::SystemTime;

use super::format::Stream;
use super::time::parse_timestamp;

/// One line of a log file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// When the logger wrote the line.
    pub time: SystemTime,
    /// The stream it came from.
    pub stream: Stream,
    /// Tagged `P`: the container line continues in the next line of the same stream.
    pub partial: bool,
    /// The content, without the line's final newline.
    pub content: Vec<u8>,
}

/// A container line put back together from its log lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// Time of its first log line.
    pub time: SystemTime,
    /// The stream it came from.
    pub stream: Stream,
    /// The content, without its newline.
    pub content: Vec<u8>,
    /// The container ended the line with a newline (false for a rest left at end of stream).
    pub complete: bool,
}

/// Why a log line could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    /// No space after the timestamp.
    #[error("log line has no timestamp")]
    NoTimestamp,
    /// The timestamp is not RFC 3339.
    #[error("log line timestamp {0:?} is not RFC 3339")]
    BadTimestamp(String),
    /// No space after the stream.
    #[error("log line has no stream")]
    NoStream,
    /// The stream is neither `stdout` nor `stderr`.
    #[error("log line stream {0:?} is neither stdout nor stderr")]
    BadStream(String),
    /// No space after the tag.
    #[error("log line has no tag")]
    NoTag,
}

/// A line of a log file that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line} of the log")]
pub struct LogParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    #[source]
    pub source: LineError,
}

/// Parses one log line (with or without its final `\n`) as the kubelet does: the tag's first
/// `:`-separated field decides partial (`P`) or full (anything else).
pub fn parse_line(line: &[u8]) -> Result<LogLine, LineError> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let (time, rest) = split_space(line).ok_or(LineError::NoTimestamp)?;
    let time_text = String::from_utf8_lossy(time);
    let time = parse_timestamp(&time_text)
        .ok_or_else(|| LineError::BadTimestamp(time_text.into_owned()))?;
    let (stream, rest) = split_space(rest).ok_or(LineError::NoStream)?;
    let stream = Stream::from_name(stream)
        .ok_or_else(|| LineError::BadStream(String::from_utf8_lossy(stream).into_owned()))?;
    let (tag, content) = split_space(rest).ok_or(LineError::NoTag)?;
    let partial = tag.split(|&c| c == b':').next() == Some(b"P");
    Ok(LogLine {
        time,
        stream,
        partial,
        content: content.to_vec(),
    })
}

fn split_space(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = b.iter().position(|&c| c == b' ')?;
    Some((&b[..at], &b[at + 1..]))
}

/// Joins the partial lines of each stream into whole container lines; the two streams may
/// interleave their pieces.
#[derive(Debug, Default)]
pub struct Reassembler {
    stdout: Option<LogEntry>,
    stderr: Option<LogEntry>,
}

impl Reassembler {
    /// An empty reassembler.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the next log line; returns the container line it completes, if any.
    pub fn push(&mut self, line: LogLine) -> Option<LogEntry> {
        let slot = match line.stream {
            Stream::Stdout => &mut self.stdout,
            Stream::Stderr => &mut self.stderr,
        };
        let entry = slot.get_or_insert_with(|| LogEntry {
            time: line.time,
            stream: line.stream,
            content: Vec::new(),
            complete: false,
        });
        entry.content.extend_from_slice(&line.content);
        if line.partial {
            return None;
        }
        let mut entry = slot.take()?;
        entry.complete = true;
        Some(entry)
    }

    /// The end of the log: lines still waiting for their end, incomplete, oldest first.
    pub fn finish(self) -> Vec<LogEntry> {
        let mut rest: Vec<LogEntry> = [self.stdout, self.stderr].into_iter().flatten().collect();
        rest.sort_by_key(|e| e.time);
        rest
    }
}

/// Parses a whole log (one file, or rotated files concatenated oldest first) into container
/// lines, in the order their last pieces were written.
pub fn parse_log(log: &[u8]) -> Result<Vec<LogEntry>, LogParseError> {
    let mut reassembler = Reassembler::new();
    let mut entries = Vec::new();
    for (i, line) in log.split_inclusive(|&c| c == b'\n').enumerate() {
        let line = parse_line(line).map_err(|source| LogParseError {
            line: i + 1,
            source,
        })?;
        entries.extend(reassembler.push(line));
    }
    entries.extend(reassembler.finish());
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::format::{encode_line, Tag};
    use std::time::{Duration, UNIX_EPOCH};

    fn at(nanos: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(1_475_713_029_000_000_000 + nanos)
    }

    #[test]
    fn parses_a_line_as_the_kubelet_does() {
        let line = parse_line(b"2016-10-06T00:17:09.669794202Z stdout F a b  c \n").unwrap();
        assert_eq!(
            line,
            LogLine {
                time: at(669_794_202),
                stream: Stream::Stdout,
                partial: false,
                content: b"a b  c ".to_vec(),
            }
        );
        let line = parse_line(b"2016-10-06T00:17:09Z stderr P:future \n").unwrap();
        assert_eq!(
            (line.stream, line.partial, line.content),
            (Stream::Stderr, true, vec![])
        );
        assert!(
            !parse_line(b"2016-10-06T00:17:09Z stdout X:P x")
                .unwrap()
                .partial
        );
    }

    #[test]
    fn reports_what_is_wrong_with_a_line() {
        assert_eq!(parse_line(b"garbage"), Err(LineError::NoTimestamp));
        assert_eq!(
            parse_line(b"yesterday stdout F x"),
            Err(LineError::BadTimestamp("yesterday".into()))
        );
        assert_eq!(
            parse_line(b"2016-10-06T00:17:09Z stdout"),
            Err(LineError::NoStream)
        );
        assert_eq!(
            parse_line(b"2016-10-06T00:17:09Z stdin F x"),
            Err(LineError::BadStream("stdin".into()))
        );
        assert_eq!(
            parse_line(b"2016-10-06T00:17:09Z stdout F"),
            Err(LineError::NoTag)
        );
        let err = parse_log(b"2016-10-06T00:17:09Z stdout F ok\nbad\n").unwrap_err();
        assert_eq!((err.line, err.source), (2, LineError::NoTimestamp));
    }

    #[test]
    fn reassembles_interleaved_partials_per_stream() {
        let mut log = Vec::new();
        encode_line(&mut log, at(1), Stream::Stdout, Tag::Partial, b"out-1 ");
        encode_line(&mut log, at(2), Stream::Stderr, Tag::Partial, b"err-1 ");
        encode_line(&mut log, at(3), Stream::Stdout, Tag::Full, b"out-2");
        encode_line(&mut log, at(4), Stream::Stderr, Tag::Full, b"err-2");
        encode_line(&mut log, at(5), Stream::Stdout, Tag::Full, b"");
        encode_line(&mut log, at(6), Stream::Stderr, Tag::Partial, b"tail");
        let entries = parse_log(&log).unwrap();
        let short: Vec<_> = entries
            .iter()
            .map(|e| {
                (
                    e.time,
                    e.stream,
                    String::from_utf8_lossy(&e.content).into_owned(),
                    e.complete,
                )
            })
            .collect();
        assert_eq!(
            short,
            vec![
                (at(1), Stream::Stdout, "out-1 out-2".to_string(), true),
                (at(2), Stream::Stderr, "err-1 err-2".to_string(), true),
                (at(5), Stream::Stdout, String::new(), true),
                (at(6), Stream::Stderr, "tail".to_string(), false),
            ]
        );
    }

    #[test]
    fn empty_log_has_no_entries() {
        assert_eq!(parse_log(b""), Ok(vec![]));
    }
}
