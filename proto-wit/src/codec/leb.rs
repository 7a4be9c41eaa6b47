//! LEB128 writing; reading lives with the decoder's cursor.

use bytes::{BufMut as _, BytesMut};

/// Appends `v` as unsigned LEB128.
#[inline]
pub(crate) fn put_uleb(dst: &mut BytesMut, mut v: u64) {
    if v < 0x80 {
        dst.put_u8(v as u8);
        return;
    }
    let mut buf = [0u8; 10];
    let mut n = 0;
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            buf[n] = byte;
            n += 1;
            break;
        }
        buf[n] = byte | 0x80;
        n += 1;
    }
    dst.put_slice(&buf[..n]);
}

/// Appends `v` as signed LEB128.
#[inline]
pub(crate) fn put_sleb(dst: &mut BytesMut, mut v: i64) {
    let mut buf = [0u8; 10];
    let mut n = 0;
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        let done = (v == 0 && byte & 0x40 == 0) || (v == -1 && byte & 0x40 != 0);
        buf[n] = if done { byte } else { byte | 0x80 };
        n += 1;
        if done {
            break;
        }
    }
    dst.put_slice(&buf[..n]);
}
