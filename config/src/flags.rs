//! The command line's short forms of configuration entries: `--route` stands for a
//! `[[routes]]` entry (and, for QUIC, a `[[peers]]` entry), `--http-route` for an
//! `[[http.routes]]` entry. Parsed here so the binary adds them to a [`Config`] and validates
//! it once, with the file's entries.

use crate::{
    Config, ConfigError, ConfigErrors, HttpRouteConfig, PeerConfig, RouteConfig, Transport,
    DEFAULT_ROUTE_RETRIES, DEFAULT_ROUTE_TIMEOUT,
};

/// What errors from flags name as their origin.
const FLAGS: &str = "<command line>";

/// The `[[routes]]` entry (and, for QUIC, the `[[peers]]` entry, named `route-N`) that the
/// `N`th `--route INSTANCE=nats:PREFIX` or `--route INSTANCE=quic://HOST:PORT` stands for.
fn route_flag(spec: &str, n: usize) -> Result<(RouteConfig, Option<PeerConfig>), String> {
    let (instance, target) = spec.split_once('=').ok_or_else(|| {
        format!("--route `{spec}` is not INSTANCE=nats:PREFIX or INSTANCE=quic://HOST:PORT")
    })?;
    let mut route = RouteConfig {
        instance: instance.to_owned(),
        via: Transport::Nats,
        peers: Vec::new(),
        timeout: DEFAULT_ROUTE_TIMEOUT,
        retries: DEFAULT_ROUTE_RETRIES,
        nats_prefix: None,
    };
    if let Some(prefix) = target.strip_prefix("nats:") {
        route.nats_prefix = Some(prefix.to_owned());
        Ok((route, None))
    } else if let Some(addr) = target.strip_prefix("quic://") {
        let addr = addr
            .parse()
            .map_err(|e| format!("--route `{spec}`: `{addr}` is not HOST:PORT: {e}"))?;
        let name = format!("route-{n}");
        route.via = Transport::Quic;
        route.peers = vec![name.clone()];
        let peer = PeerConfig {
            name,
            quic: Some(addr),
            server_name: None,
            nats_prefix: None,
        };
        Ok((route, Some(peer)))
    } else {
        Err(format!(
            "--route `{spec}`: the target `{target}` must start with `nats:` or `quic://`"
        ))
    }
}

/// The `[[http.routes]]` entry that `--http-route [HOST]PREFIX=COMPONENT` or
/// `--http-route [HOST]PREFIX=@mesh[:LINK]` stands for.
fn http_route_flag(spec: &str) -> Result<HttpRouteConfig, String> {
    let Some((at, target)) = spec.split_once('=') else {
        return Err(format!(
            "--http-route `{spec}` is not PREFIX=COMPONENT or PREFIX=@mesh[:LINK] (e.g. /=hello)"
        ));
    };
    let (host, path_prefix) = match at.find('/') {
        Some(0) => (None, at.to_owned()),
        Some(i) => (Some(at[..i].to_owned()), at[i..].to_owned()),
        None => (Some(at.to_owned()), "/".to_owned()),
    };
    let (component, forward, link) = match target.strip_prefix("@mesh") {
        Some("") => (None, true, None),
        Some(rest) => match rest.strip_prefix(':').filter(|l| !l.is_empty()) {
            Some(link) => (None, true, Some(link.to_owned())),
            None => {
                return Err(format!(
                    "--http-route `{spec}`: forward with `@mesh`, or `@mesh:LINK` for a [[mesh.links]] entry"
                ))
            }
        },
        None => (Some(target.to_owned()), false, None),
    };
    Ok(HttpRouteConfig {
        component,
        forward,
        link,
        path_prefix,
        host,
    })
}

impl Config {
    /// Adds the entries that `--route` flags (`routes`) and `--http-route` flags
    /// (`http_routes`) stand for; every malformed flag is reported at once.
    pub fn add_route_flags(
        &mut self,
        routes: &[String],
        http_routes: &[String],
    ) -> Result<(), ConfigErrors> {
        let mut errors = Vec::new();
        for spec in http_routes {
            match http_route_flag(spec) {
                Ok(r) => self.http.routes.push(r),
                Err(e) => errors.push(ConfigError::new(FLAGS, "http.routes", e)),
            }
        }
        for (n, spec) in routes.iter().enumerate() {
            match route_flag(spec, n) {
                Ok((route, peer)) => {
                    self.routes.push(route);
                    self.peers.extend(peer);
                }
                Err(e) => errors.push(ConfigError::new(FLAGS, "routes", e)),
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors(errors))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn route_flags_stand_for_entries() {
        let (r, peer) = route_flag("a:b/c=nats:p", 0).unwrap();
        assert_eq!(r.nats_prefix.as_deref(), Some("p"));
        assert!(peer.is_none());
        let (r, peer) = route_flag("a:b/c=quic://127.0.0.1:4433", 2).unwrap();
        assert_eq!(r.via, Transport::Quic);
        assert_eq!(peer.unwrap().name, "route-2");
        assert!(route_flag("a:b/c", 0)
            .unwrap_err()
            .contains("is not INSTANCE="));
        assert!(route_flag("a=tcp://x", 0)
            .unwrap_err()
            .contains("must start with"));
    }

    #[test]
    fn http_route_flags_stand_for_entries() {
        let r = http_route_flag("shop.example/api=@mesh:shop").unwrap();
        assert_eq!(r.host.as_deref(), Some("shop.example"));
        assert_eq!(r.path_prefix, "/api");
        assert!(r.forward);
        assert_eq!(r.link.as_deref(), Some("shop"));
        let r = http_route_flag("/=hello").unwrap();
        assert_eq!(r.component.as_deref(), Some("hello"));
        assert!(http_route_flag("/=@mesh:")
            .unwrap_err()
            .contains("@mesh:LINK"));
        let mut cfg = Config::default();
        let errors = cfg
            .add_route_flags(&["bad".into()], &["bad".into()])
            .unwrap_err();
        assert_eq!(errors.errors().len(), 2);
    }
}
