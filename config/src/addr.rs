//! Network addresses as the config writes them: listen addresses, `host:port` peers and the
//! socket patterns of a WASI network policy.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Serde adapter for listen addresses: an `ip:port` string with a message that says what is
/// wanted, since listeners bind to an address and never resolve names.
pub(crate) mod listen_addr {
    use super::*;

    /// Writes the address as `ip:port`.
    pub fn serialize<S: Serializer>(addr: &SocketAddr, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(addr)
    }

    /// Reads an `ip:port` string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SocketAddr, D::Error> {
        let text = String::deserialize(d)?;
        parse_listen(&text).map_err(serde::de::Error::custom)
    }
}

/// Parses a listen address, explaining the expected form on failure.
pub(crate) fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    text.trim().parse().map_err(|_| {
        format!(
            "`{text}` is not an ip:port address; write e.g. \"127.0.0.1:4433\", \"0.0.0.0:4433\" or \"[::1]:4433\" (names are not resolved for listeners; port 0 picks a free port)"
        )
    })
}

/// Whether `name` is a DNS host name: dot-separated labels of letters, digits and `-`, none
/// empty, longer than 63 bytes or starting or ending with `-`.
pub(crate) fn is_dns_name(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

/// Splits `host:port` or `[v6]:port` into its host (brackets removed) and port text.
fn split_host_port(text: &str) -> Result<(&str, &str), String> {
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("`{text}` opens `[` without closing it"))?;
        let port = after
            .strip_prefix(':')
            .ok_or_else(|| format!("`{text}` has no `:port` after `]`"))?;
        return Ok((host, port));
    }
    let (host, port) = text
        .rsplit_once(':')
        .ok_or_else(|| format!("`{text}` has no port; write host:port"))?;
    if host.contains(':') {
        return Err(format!(
            "`{text}` is ambiguous; write an IPv6 address in brackets, e.g. \"[::1]:4433\""
        ));
    }
    Ok((host, port))
}

/// A `host:port` a peer is dialled at, where host is an IP address or a DNS name (resolved when
/// dialling, so peers can be addressed by service names).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HostPort {
    host: String,
    port: u16,
}

impl HostPort {
    /// The host: an IP address literal (IPv6 without brackets) or a DNS name.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The socket address, when the host is an IP literal (no resolution needed).
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        let ip: IpAddr = self.host.parse().ok()?;
        Some(SocketAddr::new(ip, self.port))
    }

    /// The host when it is a DNS name rather than an IP literal: the natural TLS server name.
    pub fn dns_name(&self) -> Option<&str> {
        if self.host.parse::<IpAddr>().is_ok() {
            None
        } else {
            Some(&self.host)
        }
    }
}

impl FromStr for HostPort {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (host, port) = split_host_port(text)?;
        let port: u16 = port
            .parse()
            .map_err(|_| format!("`{port}` in `{text}` is not a port number (0-65535)"))?;
        if port == 0 {
            return Err(format!("`{text}` has port 0, which cannot be dialled"));
        }
        if host.parse::<IpAddr>().is_err() && !is_dns_name(host) {
            return Err(format!(
                "`{host}` in `{text}` is neither an IP address nor a host name"
            ));
        }
        Ok(HostPort {
            host: host.to_owned(),
            port,
        })
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl Serialize for HostPort {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HostPort {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// Which socket addresses a component may connect to or bind: `"127.0.0.1:8080"`,
/// `"127.0.0.1:*"` (any port), `"10.0.0.0/8:443"` (a network), `"[::1]:*"`, or `"*:53"` (any
/// address).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SocketPattern {
    /// The network addresses must fall in, as (base address, prefix length); `None` for any.
    network: Option<(IpAddr, u8)>,
    /// The port addresses must have; `None` for any.
    port: Option<u16>,
}

impl SocketPattern {
    /// Whether `addr` is allowed by this pattern.
    pub fn matches(&self, addr: SocketAddr) -> bool {
        if self.port.is_some_and(|p| p != addr.port()) {
            return false;
        }
        match self.network {
            None => true,
            Some((IpAddr::V4(net), len)) => match addr.ip() {
                IpAddr::V4(ip) => prefix_eq(&net.octets(), &ip.octets(), len),
                IpAddr::V6(ip) => ip
                    .to_ipv4_mapped()
                    .is_some_and(|ip| prefix_eq(&net.octets(), &ip.octets(), len)),
            },
            Some((IpAddr::V6(net), len)) => match addr.ip() {
                IpAddr::V6(ip) => prefix_eq(&net.octets(), &ip.octets(), len),
                IpAddr::V4(_) => false,
            },
        }
    }

    /// The port this pattern is limited to, if any.
    pub fn port(&self) -> Option<u16> {
        self.port
    }
}

/// Whether the first `len` bits of `a` and `b` agree.
fn prefix_eq(a: &[u8], b: &[u8], len: u8) -> bool {
    let len = usize::from(len);
    let (whole, rest) = (len / 8, len % 8);
    if a[..whole] != b[..whole] {
        return false;
    }
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    a[whole] & mask == b[whole] & mask
}

impl FromStr for SocketPattern {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (host, port) = split_host_port(text)?;
        let port =
            if port == "*" {
                None
            } else {
                Some(port.parse::<u16>().map_err(|_| {
                    format!("`{port}` in `{text}` is neither a port number nor `*`")
                })?)
            };
        let network = if host == "*" {
            None
        } else {
            let (ip, len) = match host.split_once('/') {
                Some((ip, len)) => (ip, Some(len)),
                None => (host, None),
            };
            let ip: IpAddr = ip.parse().map_err(|_| {
                format!("`{host}` in `{text}` is not an IP address, network (a.b.c.d/n) or `*`; names are not allowed here")
            })?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let len = match len {
                None => max,
                Some(len) => len
                    .parse::<u8>()
                    .ok()
                    .filter(|l| *l <= max)
                    .ok_or_else(|| {
                        format!("`/{len}` in `{text}` is not a prefix length 0-{max}")
                    })?,
            };
            Some((ip, len))
        };
        Ok(SocketPattern { network, port })
    }
}

impl fmt::Display for SocketPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.network {
            None => f.write_str("*")?,
            Some((ip @ IpAddr::V4(_), 32)) => write!(f, "{ip}")?,
            Some((ip @ IpAddr::V6(_), 128)) => write!(f, "[{ip}]")?,
            Some((ip @ IpAddr::V4(_), len)) => write!(f, "{ip}/{len}")?,
            Some((ip @ IpAddr::V6(_), len)) => write!(f, "[{ip}/{len}]")?,
        }
        match self.port {
            Some(p) => write!(f, ":{p}"),
            None => f.write_str(":*"),
        }
    }
}

impl Serialize for SocketPattern {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SocketPattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn listen_addresses() {
        assert_eq!(parse_listen("127.0.0.1:0"), Ok(sa("127.0.0.1:0")));
        assert_eq!(parse_listen("[::1]:4433"), Ok(sa("[::1]:4433")));
        let e = parse_listen("localhost:4433").unwrap_err();
        assert!(e.contains("not an ip:port"), "{e}");
    }

    #[test]
    fn host_ports() {
        let hp: HostPort = "peer-b.internal:4433".parse().unwrap();
        assert_eq!((hp.host(), hp.port()), ("peer-b.internal", 4433));
        assert_eq!(hp.socket_addr(), None);
        assert_eq!(hp.dns_name(), Some("peer-b.internal"));
        let v6: HostPort = "[::1]:9".parse().unwrap();
        assert_eq!(v6.socket_addr(), Some(sa("[::1]:9")));
        assert_eq!(v6.to_string(), "[::1]:9");
        assert!("::1:9"
            .parse::<HostPort>()
            .unwrap_err()
            .contains("brackets"));
        assert!("host".parse::<HostPort>().unwrap_err().contains("no port"));
        assert!("host:0".parse::<HostPort>().unwrap_err().contains("port 0"));
        assert!("host:99999".parse::<HostPort>().is_err());
        assert!("bad_host!:1".parse::<HostPort>().is_err());
    }

    #[test]
    fn socket_patterns() {
        let p: SocketPattern = "127.0.0.1:*".parse().unwrap();
        assert!(p.matches(sa("127.0.0.1:80")));
        assert!(!p.matches(sa("127.0.0.2:80")));
        let p: SocketPattern = "10.0.0.0/8:443".parse().unwrap();
        assert!(p.matches(sa("10.200.1.1:443")));
        assert!(!p.matches(sa("10.200.1.1:80")));
        assert!(!p.matches(sa("11.0.0.1:443")));
        let p: SocketPattern = "10.1.0.0/12:*".parse().unwrap();
        assert!(p.matches(sa("10.15.255.255:1")));
        assert!(!p.matches(sa("10.16.0.0:1")));
        let p: SocketPattern = "[::1]:8080".parse().unwrap();
        assert!(p.matches(sa("[::1]:8080")));
        assert!(!p.matches(sa("127.0.0.1:8080")));
        let p: SocketPattern = "*:53".parse().unwrap();
        assert!(p.matches(sa("8.8.8.8:53")) && p.matches(sa("[::1]:53")));
        assert!(!p.matches(sa("8.8.8.8:54")));
        assert_eq!(p.port(), Some(53));
        for bad in ["localhost:80", "10.0.0.0/33:1", "1.2.3.4:x", "1.2.3.4"] {
            assert!(bad.parse::<SocketPattern>().is_err(), "{bad}");
        }
        for s in [
            "127.0.0.1:*",
            "10.0.0.0/8:443",
            "[::1]:8080",
            "*:53",
            "[fd00::/8]:*",
        ] {
            let p: SocketPattern = s.parse().unwrap();
            assert_eq!(p.to_string(), s);
        }
    }

    #[test]
    fn dns_names() {
        assert!(is_dns_name("localhost"));
        assert!(is_dns_name("a-b.example.com."));
        assert!(!is_dns_name(""));
        assert!(!is_dns_name("-a.com"));
        assert!(!is_dns_name("a..b"));
        assert!(!is_dns_name("a b"));
    }
}
