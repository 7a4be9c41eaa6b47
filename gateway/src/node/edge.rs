//! The node's HTTP side: the routes that serve wasi:http components (here or on another node)
//! and the JSON gateway.

use std::sync::Arc;

use witmesh_config::Config;
use witmesh_proto::codec::Limits;

use crate::api::catalog::Catalog;
use crate::api::NodeInfo;
use crate::host::LoadedComponent;
use crate::http::gateway::{Gateway, HttpRoute, HttpTarget};
use crate::interfaces::wrpc_http;
use crate::route::Router;

/// The `[[http.routes]]` entries, each to a component of this node or forwarded to the mesh.
pub(super) fn http_routes(
    cfg: &Config,
    components: &[Arc<LoadedComponent>],
) -> anyhow::Result<Vec<HttpRoute>> {
    let mut routes = Vec::new();
    for r in &cfg.http.routes {
        let at = format!(
            "{}{}",
            r.host.as_deref().unwrap_or("any host"),
            r.path_prefix
        );
        let target = match &r.component {
            Some(name) => {
                let Some(component) = components.iter().find(|c| *c.name == **name) else {
                    anyhow::bail!("http.routes: no component named `{name}`");
                };
                if !component.serves_http() {
                    anyhow::bail!(
                        "http.routes: component `{name}` exports no wasi:http handler (incoming-handler@0.2 or handler@0.3.0), so it cannot serve HTTP"
                    );
                }
                tracing::info!(component = name.as_str(), "serving HTTP for {at}");
                HttpTarget::Local(component.clone())
            }
            None => {
                tracing::info!(
                    "forwarding HTTP for {at} to {}{}",
                    wrpc_http::INSTANCE,
                    r.link
                        .as_deref()
                        .map(|l| format!(" via link {l}"))
                        .unwrap_or_default()
                );
                HttpTarget::Forward {
                    link: r.link.clone(),
                }
            }
        };
        routes.push(HttpRoute {
            host: r.host.as_ref().map(|h| h.to_ascii_lowercase()),
            path_prefix: r.path_prefix.clone(),
            target,
        });
    }
    Ok(routes)
}

/// The JSON gateway (also behind the admin listener's call endpoint), with `cfg`'s HTTP routes.
pub(super) fn gateway(
    cfg: &Config,
    components: &[Arc<LoadedComponent>],
    info: &Arc<NodeInfo>,
    catalog: &Arc<Catalog>,
    router: &Arc<Router>,
    limits: Limits,
) -> anyhow::Result<Arc<Gateway>> {
    Ok(Arc::new(
        Gateway::new(
            info.clone(),
            catalog.clone(),
            router.clone(),
            limits,
            usize::try_from(cfg.http.max_body_bytes.0).unwrap_or(usize::MAX),
            cfg.mesh.default_timeout.get(),
        )
        .with_routes(http_routes(cfg, components)?),
    ))
}
