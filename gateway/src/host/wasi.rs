//! WASI 0.2 for one call, under the component's policy: clocks, random and cli always;
//! filesystem and sockets denied unless the policy opens them.

use std::sync::Arc;

use wasmtime_wasi::sockets::SocketAddrUse;
use wasmtime_wasi::{DirPerms, FilePerms, WasiCtx, WasiCtxBuilder};

use super::stdio::{LogStream, Which};
use super::Policy;

/// Builds the WASI context for one call of `component`.
pub fn context(component: &Arc<str>, policy: &Policy) -> anyhow::Result<WasiCtx> {
    let mut b = WasiCtxBuilder::new();
    b.stdout(LogStream::new(component.clone(), Which::Stdout));
    b.stderr(LogStream::new(component.clone(), Which::Stderr));
    b.envs(&policy.env);
    for (host, guest, writable) in &policy.preopens {
        let (dir, file) = if *writable {
            (DirPerms::all(), FilePerms::all())
        } else {
            (DirPerms::READ, FilePerms::READ)
        };
        b.preopened_dir(host, guest, dir, file).map_err(|e| {
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
            let ok = allowed.iter().any(|p| p.matches(addr));
            if !ok {
                let usage = match usage {
                    SocketAddrUse::TcpBind => "tcp bind",
                    SocketAddrUse::TcpConnect => "tcp connect",
                    SocketAddrUse::UdpBind => "udp bind",
                    SocketAddrUse::UdpConnect => "udp connect",
                    SocketAddrUse::UdpOutgoingDatagram => "udp send",
                };
                tracing::warn!(component = &*component, %addr, usage, "socket use denied by policy");
            }
            Box::pin(async move { ok })
        });
    }
    Ok(b.build())
}
