//! WASI 0.2 for one call, under the component's policy: clocks, random and cli always;
//! filesystem and sockets denied unless the policy opens them.

use std::sync::Arc;

use wasmtime_wasi::sockets::SocketAddrUse;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder};

use super::stdio::{LogStream, Which};
use super::Policy;

/// Builds the WASI context for one call of `component`.
pub fn context(component: &Arc<str>, policy: &Policy) -> anyhow::Result<WasiCtx> {
    let mut b = WasiCtxBuilder::new();
    b.stdout(LogStream::new(component.clone(), Which::Stdout));
    b.stderr(LogStream::new(component.clone(), Which::Stderr));
    b.envs(&policy.env);
    for (host, guest, writable) in &policy.preopens {
        let perms = if *writable {
            FsPerms::ReadWrite
        } else {
            FsPerms::ReadOnly
        };
        b.preopened_dir(host, guest, perms).map_err(|e| {
            anyhow::anyhow!(
                "cannot preopen `{}` for the component: {e:#}",
                host.display()
            )
        })?;
    }
    if policy.allow_sockets.is_empty() {
        // The default: no network at all.
        b.allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
    } else {
        let allowed = policy.allow_sockets.clone();
        let component = component.clone();
        b.allow_tcp(true)
            .allow_udp(true)
            .allow_ip_name_lookup(false);
        b.socket_addr_check(move |addr, usage| {
            let ok = implicit_bind(addr, usage) || allowed.iter().any(|p| p.matches(addr));
            if !ok {
                let usage = match usage {
                    SocketAddrUse::TcpBind => "tcp bind",
                    SocketAddrUse::TcpListen => "tcp listen",
                    SocketAddrUse::TcpAccept => "tcp accept",
                    SocketAddrUse::TcpConnect => "tcp connect",
                    SocketAddrUse::UdpBind => "udp bind",
                    SocketAddrUse::UdpSend => "udp send",
                    SocketAddrUse::UdpReceive => "udp receive",
                };
                tracing::warn!(component = &*component, %addr, usage, "socket use denied by policy");
            }
            Box::pin(async move { ok })
        });
    }
    Ok(b.build())
}

/// The bind the host makes on its own before a connect or a send: any local address, a port
/// the kernel picks. Allowing it grants nothing; what follows (the connect, the send, a
/// listen) is checked against the policy.
fn implicit_bind(addr: std::net::SocketAddr, usage: SocketAddrUse) -> bool {
    matches!(usage, SocketAddrUse::TcpBind | SocketAddrUse::UdpBind)
        && addr.ip().is_unspecified()
        && addr.port() == 0
}

#[cfg(test)]
mod tests {
    use super::{implicit_bind, SocketAddrUse};

    #[test]
    fn only_the_hosts_own_ephemeral_binds_are_implicit() {
        use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
        let any = SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0));
        let any6 = SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0));
        let fixed = SocketAddr::from((Ipv4Addr::UNSPECIFIED, 8080));
        let local = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        assert!(implicit_bind(any, SocketAddrUse::TcpBind));
        assert!(implicit_bind(any6, SocketAddrUse::UdpBind));
        assert!(!implicit_bind(fixed, SocketAddrUse::TcpBind));
        assert!(!implicit_bind(local, SocketAddrUse::TcpBind));
        assert!(!implicit_bind(any, SocketAddrUse::TcpConnect));
        assert!(!implicit_bind(any, SocketAddrUse::TcpListen));
    }
}
