//! Low-level protobuf wire reading: varints, tags and length-delimited fields, bounds-checked.

use thiserror::Error;

/// Why a protobuf body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WireError {
    /// The body ends in the middle of a value.
    #[error("unexpected end of data")]
    Truncated,
    /// A varint longer than ten bytes.
    #[error("varint overflows 64 bits")]
    VarintOverflow,
    /// A wire type protobuf does not define (or the deprecated groups).
    #[error("unsupported wire type {0}")]
    WireType(u8),
    /// Field number zero.
    #[error("invalid field number 0")]
    FieldZero,
    /// A known field with a wire type that does not fit its type.
    #[error("field {field} of {message}: wrong wire type {wire}")]
    WrongWireType {
        /// The message type.
        message: &'static str,
        /// The field's JSON name.
        field: &'static str,
        /// The wire type found.
        wire: u8,
    },
    /// A value that cannot be represented in JSON.
    #[error("field {field}: {detail}")]
    BadValue {
        /// The field's JSON name (or the special type's name).
        field: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// Messages nested deeper than any Kubernetes type.
    #[error("messages nested too deeply")]
    TooDeep,
}

/// One raw field value as found on the wire.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Raw<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 1.
    Fixed64(u64),
    /// Wire type 2.
    Bytes(&'a [u8]),
    /// Wire type 5.
    Fixed32(u32),
}

impl Raw<'_> {
    /// The wire type number.
    pub(crate) fn wire_type(&self) -> u8 {
        match self {
            Raw::Varint(_) => 0,
            Raw::Fixed64(_) => 1,
            Raw::Bytes(_) => 2,
            Raw::Fixed32(_) => 5,
        }
    }
}

/// Reads a varint at `*pos`, advancing it.
pub(crate) fn varint(buf: &[u8], pos: &mut usize) -> Result<u64, WireError> {
    let mut value = 0u64;
    for i in 0..10 {
        let byte = *buf.get(*pos).ok_or(WireError::Truncated)?;
        *pos += 1;
        if i == 9 && byte > 1 {
            return Err(WireError::VarintOverflow);
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            return Ok(value);
        }
    }
    Err(WireError::VarintOverflow)
}

fn take<'a>(buf: &'a [u8], pos: &mut usize, len: usize) -> Result<&'a [u8], WireError> {
    let end = pos.checked_add(len).ok_or(WireError::Truncated)?;
    let slice = buf.get(*pos..end).ok_or(WireError::Truncated)?;
    *pos = end;
    Ok(slice)
}

/// Iterates over the `(field number, value)` pairs of one message.
pub(crate) struct Fields<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Fields<'a> {
    /// Fields of the encoded message `buf`.
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    fn read(&mut self) -> Result<(u32, Raw<'a>), WireError> {
        let key = varint(self.buf, &mut self.pos)?;
        let number = u32::try_from(key >> 3).map_err(|_| WireError::WireType((key & 7) as u8))?;
        if number == 0 {
            return Err(WireError::FieldZero);
        }
        let raw = match (key & 7) as u8 {
            0 => Raw::Varint(varint(self.buf, &mut self.pos)?),
            1 => {
                let b = take(self.buf, &mut self.pos, 8)?;
                Raw::Fixed64(u64::from_le_bytes(
                    b.try_into().map_err(|_| WireError::Truncated)?,
                ))
            }
            2 => {
                let len = varint(self.buf, &mut self.pos)?;
                let len = usize::try_from(len).map_err(|_| WireError::Truncated)?;
                Raw::Bytes(take(self.buf, &mut self.pos, len)?)
            }
            5 => {
                let b = take(self.buf, &mut self.pos, 4)?;
                Raw::Fixed32(u32::from_le_bytes(
                    b.try_into().map_err(|_| WireError::Truncated)?,
                ))
            }
            other => return Err(WireError::WireType(other)),
        };
        Ok((number, raw))
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u32, Raw<'a>), WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let item = self.read();
        if item.is_err() {
            self.pos = self.buf.len();
        }
        Some(item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_reads_multi_byte_values_and_rejects_overflow() {
        let mut pos = 0;
        assert_eq!(varint(&[0xac, 0x02], &mut pos), Ok(300));
        assert_eq!(pos, 2);
        let mut pos = 0;
        assert_eq!(
            varint(&[0xff; 11], &mut pos),
            Err(WireError::VarintOverflow)
        );
        let mut pos = 0;
        assert_eq!(varint(&[0x80], &mut pos), Err(WireError::Truncated));
    }

    #[test]
    fn fields_yields_every_wire_type_and_stops_after_an_error() {
        let buf = [
            0x08, 0x01, 0x11, 1, 0, 0, 0, 0, 0, 0, 0, 0x1a, 0x01, b'x', 0x25, 2, 0, 0, 0,
        ];
        let got: Vec<_> = Fields::new(&buf).collect::<Result<_, _>>().unwrap();
        assert_eq!(
            got,
            vec![
                (1, Raw::Varint(1)),
                (2, Raw::Fixed64(1)),
                (3, Raw::Bytes(b"x")),
                (4, Raw::Fixed32(2))
            ]
        );
        let mut bad = Fields::new(&[0x1a, 0x05, b'x']);
        assert_eq!(bad.next(), Some(Err(WireError::Truncated)));
        assert_eq!(bad.next(), None);
        assert_eq!(
            Fields::new(&[0x0b]).next(),
            Some(Err(WireError::WireType(3)))
        );
        assert_eq!(Fields::new(&[0x00]).next(), Some(Err(WireError::FieldZero)));
    }
}
