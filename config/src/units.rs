//! Humane units: durations such as `"250ms"` and byte sizes such as `"64MiB"`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A span of time written with a unit, e.g. `"250ms"`, `"30s"`, `"5m"`, `"1h30m"`, `"1.5s"`.
///
/// A bare number is rejected: whether `30` means seconds or milliseconds is exactly the kind of
/// guess a config file should not leave to the reader.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HumanDuration(pub Duration);

/// Units a duration may be written in, with their length in nanoseconds.
const DURATION_UNITS: &[(&str, u128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60 * 1_000_000_000),
    ("min", 60 * 1_000_000_000),
    ("h", 3_600 * 1_000_000_000),
    ("d", 86_400 * 1_000_000_000),
];

impl HumanDuration {
    /// A duration of `secs` whole seconds.
    pub const fn from_secs(secs: u64) -> Self {
        HumanDuration(Duration::from_secs(secs))
    }

    /// A duration of `ms` milliseconds.
    pub const fn from_millis(ms: u64) -> Self {
        HumanDuration(Duration::from_millis(ms))
    }

    /// The duration as a [`std::time::Duration`].
    pub const fn get(self) -> Duration {
        self.0
    }

    /// Whether this is a zero-length duration.
    pub const fn is_zero(self) -> bool {
        self.0.is_zero()
    }
}

impl From<HumanDuration> for Duration {
    fn from(d: HumanDuration) -> Duration {
        d.0
    }
}

impl From<Duration> for HumanDuration {
    fn from(d: Duration) -> Self {
        HumanDuration(d)
    }
}

/// Splits `s` into `(number, unit)` pairs: `"1h 30m"` gives `[("1", "h"), ("30", "m")]`.
fn split_terms(s: &str) -> Result<Vec<(&str, &str)>, String> {
    let mut terms = Vec::new();
    let mut rest = s.trim_start();
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return Err(format!("expected a number at `{rest}`"));
        }
        let (num, after) = rest.split_at(num_len);
        let after = after.trim_start();
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.' || c.is_whitespace())
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        terms.push((num, unit));
        rest = after.trim_start();
    }
    Ok(terms)
}

/// `num × scale` exactly, where `num` is a decimal such as `"1.5"`; `None` when it overflows,
/// is malformed, or is not a whole multiple of the smallest unit.
fn scale_decimal(num: &str, scale: u128) -> Result<u128, String> {
    let (int, frac) = match num.split_once('.') {
        Some((i, f)) => (i, f),
        None => (num, ""),
    };
    if int.is_empty() && frac.is_empty() || frac.contains('.') {
        return Err(format!("`{num}` is not a number"));
    }
    let too_big = || format!("`{num}` is too large");
    let whole: u128 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| too_big())?
    };
    let mut total = whole.checked_mul(scale).ok_or_else(too_big)?;
    if !frac.is_empty() {
        if frac.len() > 18 {
            return Err(format!("`{num}` has too many decimal places"));
        }
        let digits: u128 = frac
            .parse()
            .map_err(|_| format!("`{num}` is not a number"))?;
        let denom = 10u128.pow(frac.len() as u32);
        let part = digits.checked_mul(scale).ok_or_else(too_big)?;
        if part % denom != 0 {
            return Err(format!("`{num}` is finer than the smallest unit"));
        }
        total = total.checked_add(part / denom).ok_or_else(too_big)?;
    }
    Ok(total)
}

impl FromStr for HumanDuration {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("empty duration; write e.g. \"30s\" or \"250ms\"".into());
        }
        let terms = split_terms(s)?;
        let mut nanos: u128 = 0;
        for (num, unit) in terms {
            if unit.is_empty() {
                return Err(format!(
                    "`{s}` has no unit; write e.g. \"{num}s\" or \"{num}ms\" (units: ms, s, m, h, d)"
                ));
            }
            let Some(&(_, scale)) = DURATION_UNITS.iter().find(|(name, _)| *name == unit) else {
                return Err(format!(
                    "unknown duration unit `{unit}` in `{s}`; use ns, us, ms, s, m, h or d"
                ));
            };
            let term = scale_decimal(num, scale).map_err(|e| format!("{e} in `{s}`"))?;
            nanos = nanos
                .checked_add(term)
                .ok_or_else(|| format!("`{s}` is too long a duration"))?;
        }
        let secs = u64::try_from(nanos / 1_000_000_000)
            .map_err(|_| format!("`{s}` is too long a duration"))?;
        // The remainder of a division by 10^9 always fits in u32.
        let sub = (nanos % 1_000_000_000) as u32;
        Ok(HumanDuration(Duration::new(secs, sub)))
    }
}

impl fmt::Display for HumanDuration {
    /// Writes the shortest exact compound form, e.g. `1m30s` or `1s500ms`, that parses back to
    /// the same duration.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut nanos = self.0.as_nanos();
        if nanos == 0 {
            return f.write_str("0s");
        }
        const PARTS: &[(&str, u128)] = &[
            ("d", 86_400 * 1_000_000_000),
            ("h", 3_600 * 1_000_000_000),
            ("m", 60 * 1_000_000_000),
            ("s", 1_000_000_000),
            ("ms", 1_000_000),
            ("us", 1_000),
            ("ns", 1),
        ];
        for &(unit, scale) in PARTS {
            if nanos >= scale {
                write!(f, "{}{unit}", nanos / scale)?;
                nanos %= scale;
            }
        }
        Ok(())
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = HumanDuration;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration with a unit, such as \"30s\" or \"250ms\"")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<HumanDuration, E> {
                v.parse().map_err(E::custom)
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<HumanDuration, E> {
                Err(E::custom(format!(
                    "a bare number is not a duration; write \"{v}s\" or \"{v}ms\" (quoted, with a unit)"
                )))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<HumanDuration, E> {
                Err(E::custom(format!(
                    "a bare number is not a duration; write \"{v}s\" or \"{v}ms\" (quoted, with a unit)"
                )))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<HumanDuration, E> {
                Err(E::custom(format!(
                    "a bare number is not a duration; write \"{v}s\" (quoted, with a unit)"
                )))
            }
        }
        d.deserialize_any(V)
    }
}

/// A number of bytes, written as an integer or with a unit: `"512B"`, `"4KiB"`, `"64MiB"`,
/// `"1GB"`, `"1.5GiB"`.
///
/// `KiB`/`MiB`/`GiB`/`TiB` are powers of 1024 and `KB`/`MB`/`GB`/`TB` powers of 1000, as in
/// IEC 80000-13; units are case-insensitive, but a lone `K`/`M`/`G` is rejected as ambiguous.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(pub u64);

/// Units a byte size may be written in (lower-cased), with their size in bytes.
const BYTE_UNITS: &[(&str, u128)] = &[
    ("", 1),
    ("b", 1),
    ("kb", 1_000),
    ("mb", 1_000_000),
    ("gb", 1_000_000_000),
    ("tb", 1_000_000_000_000),
    ("kib", 1 << 10),
    ("mib", 1 << 20),
    ("gib", 1 << 30),
    ("tib", 1 << 40),
];

impl ByteSize {
    /// `n` bytes.
    pub const fn bytes(n: u64) -> Self {
        ByteSize(n)
    }

    /// `n` kibibytes (1024 bytes each).
    pub const fn kib(n: u64) -> Self {
        ByteSize(n << 10)
    }

    /// `n` mebibytes (1024 KiB each).
    pub const fn mib(n: u64) -> Self {
        ByteSize(n << 20)
    }

    /// The size in bytes.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl From<ByteSize> for u64 {
    fn from(b: ByteSize) -> u64 {
        b.0
    }
}

impl FromStr for ByteSize {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let num_len = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let (num, unit) = t.split_at(num_len);
        if num.is_empty() {
            return Err(format!(
                "`{s}` is not a byte size; write e.g. 4096, \"4KiB\" or \"64MiB\""
            ));
        }
        let unit = unit.trim().to_ascii_lowercase();
        let Some(&(_, scale)) = BYTE_UNITS.iter().find(|(name, _)| *name == unit) else {
            return Err(format!(
                "unknown size unit in `{s}`; use B, KiB, MiB, GiB, TiB (powers of 1024) or KB, MB, GB, TB (powers of 1000)"
            ));
        };
        let n = scale_decimal(num, scale).map_err(|e| {
            if e.contains("finer") {
                format!("`{s}` is not a whole number of bytes")
            } else {
                format!("{e} in `{s}`")
            }
        })?;
        u64::try_from(n)
            .map(ByteSize)
            .map_err(|_| format!("`{s}` is too large"))
    }
}

impl fmt::Display for ByteSize {
    /// Writes the largest binary unit that divides the size exactly, e.g. `64MiB`, else bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        for (unit, shift) in [("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)] {
            if n != 0 && n % (1u64 << shift) == 0 {
                return write!(f, "{}{unit}", n >> shift);
            }
        }
        write!(f, "{n}B")
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ByteSize;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a byte size: an integer, or a string such as \"64MiB\"")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<ByteSize, E> {
                v.parse().map_err(E::custom)
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ByteSize, E> {
                u64::try_from(v)
                    .map(ByteSize)
                    .map_err(|_| E::custom(format!("a byte size cannot be negative ({v})")))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ByteSize, E> {
                Ok(ByteSize(v))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn dur(s: &str) -> Result<Duration, String> {
        s.parse::<HumanDuration>().map(HumanDuration::get)
    }

    #[test]
    fn durations_parse() {
        assert_eq!(dur("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(dur("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(dur("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(dur("5min"), Ok(Duration::from_secs(300)));
        assert_eq!(dur("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(dur("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(dur("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(dur(" 1m 30s "), Ok(Duration::from_secs(90)));
        assert_eq!(dur("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(dur(".5s"), Ok(Duration::from_millis(500)));
        assert_eq!(dur("0s"), Ok(Duration::ZERO));
        assert_eq!(dur("10us"), Ok(Duration::from_micros(10)));
        assert_eq!(dur("10µs"), Ok(Duration::from_micros(10)));
        assert_eq!(dur("7ns"), Ok(Duration::from_nanos(7)));
    }

    #[test]
    fn durations_reject() {
        let no_unit = dur("30").unwrap_err();
        assert!(no_unit.contains("no unit"), "{no_unit}");
        assert!(dur("").unwrap_err().contains("empty"));
        assert!(dur("5 parsecs")
            .unwrap_err()
            .contains("unknown duration unit"));
        assert!(dur("s").unwrap_err().contains("expected a number"));
        assert!(dur("1.2.3s").unwrap_err().contains("not a number"));
        assert!(dur("1.5ns").unwrap_err().contains("finer"));
        assert!(dur("-1s").is_err());
        assert!(dur("99999999999999999999999999999d")
            .unwrap_err()
            .contains("too large"));
        assert!(dur("600000000000000d").unwrap_err().contains("too long"));
    }

    #[test]
    fn durations_display_round_trip() {
        for (s, shown) in [
            ("90s", "1m30s"),
            ("1500ms", "1s500ms"),
            ("0ms", "0s"),
            ("1d2h", "1d2h"),
            ("30s", "30s"),
        ] {
            let d: HumanDuration = s.parse().unwrap();
            assert_eq!(d.to_string(), shown);
            assert_eq!(shown.parse::<HumanDuration>().unwrap(), d);
        }
    }

    #[test]
    fn durations_from_toml_reject_bare_integers() {
        #[derive(Deserialize)]
        struct T {
            #[allow(dead_code)]
            t: HumanDuration,
        }
        let e = toml::from_str::<T>("t = 30").err().unwrap();
        assert!(e.message().contains("bare number"), "{}", e.message());
        assert!(e.message().contains("\"30s\""), "{}", e.message());
        assert!(toml::from_str::<T>("t = 1.5").is_err());
        assert!(toml::from_str::<T>("t = '30s'").is_ok());
    }

    fn size(s: &str) -> Result<u64, String> {
        s.parse::<ByteSize>().map(ByteSize::get)
    }

    #[test]
    fn byte_sizes_parse() {
        assert_eq!(size("512"), Ok(512));
        assert_eq!(size("512B"), Ok(512));
        assert_eq!(size("4KiB"), Ok(4096));
        assert_eq!(size("64MiB"), Ok(64 << 20));
        assert_eq!(size("64 mib"), Ok(64 << 20));
        assert_eq!(size("1GB"), Ok(1_000_000_000));
        assert_eq!(size("1.5GiB"), Ok(3 << 29));
        assert_eq!(size("2TiB"), Ok(2 << 40));
        assert_eq!(size("0"), Ok(0));
    }

    #[test]
    fn byte_sizes_reject() {
        assert!(size("4K").unwrap_err().contains("unknown size unit"));
        assert!(size("MiB").unwrap_err().contains("not a byte size"));
        assert!(size("1.5B").unwrap_err().contains("whole number"));
        assert!(size("20000000TiB").unwrap_err().contains("too large"));
        assert!(size("-4KiB").is_err());
    }

    #[test]
    fn byte_sizes_from_toml() {
        #[derive(Deserialize)]
        struct T {
            b: ByteSize,
        }
        assert_eq!(toml::from_str::<T>("b = 4096").unwrap().b, ByteSize(4096));
        assert_eq!(
            toml::from_str::<T>("b = '64MiB'").unwrap().b,
            ByteSize::mib(64)
        );
        let e = toml::from_str::<T>("b = -1").err().unwrap();
        assert!(e.message().contains("negative"), "{}", e.message());
        assert!(toml::from_str::<T>("b = true").is_err());
    }

    #[test]
    fn byte_sizes_display() {
        assert_eq!(ByteSize::mib(64).to_string(), "64MiB");
        assert_eq!(ByteSize(1536).to_string(), "1536B");
        assert_eq!(ByteSize(0).to_string(), "0B");
        assert_eq!(ByteSize(3 << 30).to_string(), "3GiB");
        assert_eq!("1536B".parse::<ByteSize>().unwrap(), ByteSize(1536));
    }
}
