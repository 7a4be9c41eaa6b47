//! Bounds on what a QUIC caller's wRPC framing can make the server allocate.
//!
//! wrpc-transport 0.29 reads each frame's path length and data length from the wire and
//! allocates that much before reading (`frame/conn/mod.rs`: `Vec::with_capacity(n)` for a path
//! of up to 2^32 elements, `BytesMut` zero-filled to up to 4 GiB for data). [`FrameGuard`]
//! sits between the QUIC stream and that reader, parses the same framing as the bytes pass
//! through, and fails the stream before an oversized length reaches it.

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};

/// Longest instance or function name in an invocation header.
pub const MAX_NAME_BYTES: u32 = 1024;
/// Deepest async path a frame may address: deeper than any value the codec accepts.
pub const MAX_PATH_LEN: u32 = 64;

/// An unsigned LEB128 u32 being read byte by byte.
#[derive(Clone, Copy, Debug, Default)]
struct Leb {
    value: u32,
    shift: u32,
}

impl Leb {
    /// Feeds one byte; `Ok(Some(v))` when the number is complete.
    fn feed(&mut self, b: u8) -> Result<Option<u32>, String> {
        let low = u32::from(b & 0x7f);
        if self.shift == 28 && (b & 0x80 != 0 || low > 0x0f) {
            return Err("LEB128 length overflows u32".to_owned());
        }
        self.value |= low << self.shift;
        if b & 0x80 == 0 {
            let v = self.value;
            *self = Leb::default();
            return Ok(Some(v));
        }
        self.shift += 7;
        Ok(None)
    }
}

#[derive(Clone, Copy, Debug)]
enum State {
    Version,
    NameLen { which: u8, leb: Leb },
    Name { which: u8, left: u32 },
    PathLen(Leb),
    PathElem { left: u32, leb: Leb },
    DataLen(Leb),
    Data { left: u32 },
}

/// A stream reader that checks the invocation header's name lengths and every frame's path
/// and data lengths against limits before passing the bytes on.
pub struct FrameGuard<R> {
    inner: R,
    state: State,
    max_frame: u32,
}

impl<R> FrameGuard<R> {
    /// Guards `inner`, allowing frames of at most `max_frame` data bytes.
    pub fn new(inner: R, max_frame: u32) -> Self {
        FrameGuard {
            inner,
            state: State::Version,
            max_frame,
        }
    }

    /// The guarded stream.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// Checks `bytes`, the next bytes of the stream.
    fn check(&mut self, bytes: &[u8]) -> Result<(), String> {
        let mut i = 0;
        while i < bytes.len() {
            match &mut self.state {
                State::Name { left, .. } | State::Data { left } => {
                    let take = (*left as usize).min(bytes.len() - i);
                    i += take;
                    *left -= take as u32;
                    if *left == 0 {
                        self.state = match self.state {
                            State::Name { which: 0, .. } => State::NameLen {
                                which: 1,
                                leb: Leb::default(),
                            },
                            _ => State::PathLen(Leb::default()),
                        };
                    }
                    continue;
                }
                _ => {}
            }
            let b = bytes[i];
            i += 1;
            self.state = match self.state {
                State::Version => State::NameLen {
                    which: 0,
                    leb: Leb::default(),
                },
                State::NameLen { which, mut leb } => match leb.feed(b)? {
                    None => State::NameLen { which, leb },
                    Some(n) if n > MAX_NAME_BYTES => {
                        return Err(format!(
                            "invocation header name of {n} bytes exceeds {MAX_NAME_BYTES}"
                        ))
                    }
                    Some(0) if which == 0 => State::NameLen {
                        which: 1,
                        leb: Leb::default(),
                    },
                    Some(0) => State::PathLen(Leb::default()),
                    Some(n) => State::Name { which, left: n },
                },
                State::PathLen(mut leb) => match leb.feed(b)? {
                    None => State::PathLen(leb),
                    Some(n) if n > MAX_PATH_LEN => {
                        return Err(format!("frame path of {n} elements exceeds {MAX_PATH_LEN}"))
                    }
                    Some(0) => State::DataLen(Leb::default()),
                    Some(n) => State::PathElem {
                        left: n,
                        leb: Leb::default(),
                    },
                },
                State::PathElem { left, mut leb } => match leb.feed(b)? {
                    None => State::PathElem { left, leb },
                    Some(_) if left == 1 => State::DataLen(Leb::default()),
                    Some(_) => State::PathElem {
                        left: left - 1,
                        leb: Leb::default(),
                    },
                },
                State::DataLen(mut leb) => match leb.feed(b)? {
                    None => State::DataLen(leb),
                    Some(n) if n > self.max_frame => {
                        return Err(format!(
                            "frame of {n} bytes exceeds the limit of {} bytes per call",
                            self.max_frame
                        ))
                    }
                    Some(0) => State::PathLen(Leb::default()),
                    Some(n) => State::Data { left: n },
                },
                State::Name { .. } | State::Data { .. } => unreachable_state(),
            };
        }
        Ok(())
    }
}

/// Name and data bytes are consumed in bulk above and never reach the per-byte match.
fn unreachable_state() -> State {
    State::Version
}

impl<R: AsyncRead + Unpin> AsyncRead for FrameGuard<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let fresh = &buf.filled()[before..];
                match this.check(fresh) {
                    Ok(()) => Poll::Ready(Ok(())),
                    Err(reason) => {
                        buf.set_filled(before);
                        tracing::warn!("rejected a QUIC stream: {reason}");
                        Poll::Ready(Err(std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            reason,
                        )))
                    }
                }
            }
            other => other,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::FrameGuard;

    fn guard() -> FrameGuard<&'static [u8]> {
        FrameGuard::new(&[][..], 1 << 20)
    }

    fn header() -> Vec<u8> {
        let mut h = vec![0u8, 4];
        h.extend_from_slice(b"a:b/");
        h.push(1);
        h.push(b'f');
        h
    }

    #[test]
    fn valid_framing_passes_in_any_split() {
        let mut bytes = header();
        // Root frame with 3 data bytes, a frame on path [1, 300] with 1 byte, an empty frame.
        bytes.extend_from_slice(&[0, 3, 1, 2, 3, 2, 1, 0xac, 0x02, 1, 9, 0, 0]);
        for cut in 0..bytes.len() {
            let mut g = guard();
            g.check(&bytes[..cut]).unwrap();
            g.check(&bytes[cut..]).unwrap();
        }
    }

    #[test]
    fn oversized_lengths_are_rejected_before_they_are_passed_on() {
        let mut path = header();
        path.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert!(guard()
            .check(&path)
            .unwrap_err()
            .contains("frame path of 4294967295 elements"));

        let mut data = header();
        data.extend_from_slice(&[0, 0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert!(guard()
            .check(&data)
            .unwrap_err()
            .contains("frame of 4294967295 bytes"));

        let name = [0u8, 0xff, 0xff, 0x03];
        assert!(guard().check(&name).unwrap_err().contains("header name"));

        let overflow = [0u8, 0xff, 0xff, 0xff, 0xff, 0x1f];
        assert!(guard().check(&overflow).unwrap_err().contains("overflows"));
    }
}
