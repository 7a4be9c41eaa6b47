//! Tests of the whole load pipeline: defaults, examples, overrides and error reporting.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use super::*;

const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");

fn no_files() -> ValidateOptions {
    ValidateOptions { check_files: false }
}

fn parse(src: &str) -> Result<Config, ConfigErrors> {
    Config::from_str_with(src, "witmesh.toml", Vec::new(), &no_files())
}

fn parse_env(src: &str, env: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
    let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
    Config::from_str_with(src, "witmesh.toml", env, &no_files())
}

fn errors(src: &str) -> ConfigErrors {
    match parse(src) {
        Ok(cfg) => panic!("expected errors, got {cfg:#?}"),
        Err(e) => e,
    }
}

/// `(line, key)` of every error, for compact assertions.
fn where_(errs: &ConfigErrors) -> Vec<(Option<usize>, String)> {
    errs.errors()
        .iter()
        .map(|e| (e.line, e.key.clone()))
        .collect()
}

#[test]
fn defaults_are_the_named_constants() {
    let c = Config::default();
    assert_eq!(c.node.id, DEFAULT_NODE_ID);
    assert_eq!(c.node.lattice, None);
    assert_eq!(c.node.drain_timeout, DEFAULT_DRAIN_TIMEOUT);
    assert!(!c.nats.enabled);
    assert_eq!(c.nats.url, "nats://127.0.0.1:4222");
    assert_eq!(c.nats.connect_timeout, DEFAULT_NATS_CONNECT_TIMEOUT);
    assert!(c.quic.enabled && c.quic.dev_cert);
    assert_eq!(c.quic.listen.to_string(), "127.0.0.1:4433");
    assert_eq!(c.quic.server_name, "localhost");
    assert!(!c.http.enabled);
    assert_eq!(c.http.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(c.http.max_body_bytes, ByteSize(4 << 20));
    assert!(c.admin.enabled);
    assert_eq!(c.admin.listen.to_string(), "127.0.0.1:9464");
    assert_eq!(c.telemetry.log_level, "info");
    assert_eq!(c.telemetry.log_format, LogFormat::Text);
    assert_eq!(c.telemetry.service_name, "witmesh");
    assert_eq!(c.limits.max_call_bytes, ByteSize(64 << 20));
    assert_eq!(c.limits.max_string_bytes, ByteSize(16 << 20));
    assert_eq!(c.limits.max_list_len, 1_048_576);
    assert_eq!(c.limits.max_depth, 64);
    assert!(c.components.is_empty() && c.routes.is_empty() && c.peers.is_empty());
    assert_eq!(c.validate_with(&ValidateOptions::default()), Ok(()));
    assert_eq!(c.enabled_transports(), [Transport::Quic]);
    assert_eq!(EXIT_CONFIG_ERROR, 64);
}

#[test]
fn empty_file_is_the_default_config() {
    assert_eq!(Config::from_str("", "witmesh.toml"), Ok(Config::default()));
    assert_eq!(
        Config::from_str("[node]\n[nats]\n[quic]\n", "witmesh.toml"),
        Ok(Config::default())
    );
}

#[test]
fn component_defaults_fill_in() {
    let c = parse("[[components]]\nname = 'a'\npath = 'a.wasm'\n").unwrap();
    let comp = &c.components[0];
    assert_eq!(comp.max_concurrency, DEFAULT_MAX_CONCURRENCY);
    assert_eq!(comp.call_timeout, HumanDuration::from_secs(30));
    assert_eq!(comp.memory_limit, ByteSize::mib(64));
    assert_eq!(comp.wasi, WasiPolicy::default());
    assert!(comp.exports.is_empty());
    // Only QUIC is enabled by default, so that is what the component is served on.
    assert_eq!(comp.transports, [Transport::Quic]);
}

fn example_paths() -> Vec<PathBuf> {
    let dir = Path::new(MANIFEST).join("examples");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    paths
}

#[test]
fn every_example_validates() {
    let paths = example_paths();
    let names: Vec<_> = paths
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for wanted in ["gateway.toml", "minimal.toml", "sidecar.toml"] {
        assert!(
            names.iter().any(|n| n == wanted),
            "{wanted} missing: {names:?}"
        );
    }
    for path in paths {
        if let Err(e) = Config::load_with(&path, Vec::new(), &no_files()) {
            panic!("{} does not validate:\n{e}", path.display());
        }
    }
}

#[test]
fn minimal_example_is_all_defaults() {
    let path = Path::new(MANIFEST).join("examples/minimal.toml");
    // It names no files, so it validates with file checks on too.
    assert_eq!(
        Config::load_with_env(&path, Vec::new()),
        Ok(Config::default())
    );
}

#[test]
fn sidecar_example_contents() {
    let dir = Path::new(MANIFEST).join("examples");
    let c = Config::load_with(dir.join("sidecar.toml"), Vec::new(), &no_files()).unwrap();
    assert!(c.nats.enabled && c.quic.enabled && c.http.enabled && c.admin.enabled);
    assert_eq!(c.components.len(), 2);
    assert_eq!(c.components[0].path, dir.join("components/orders.wasm"));
    assert_eq!(
        c.components[0].transports,
        [Transport::Nats, Transport::Quic]
    );
    assert_eq!(
        c.components[0].wasi.preopens[0].host,
        dir.join("data/orders")
    );
    assert_eq!(c.components[1].transports, [Transport::Quic]);
    assert_eq!(c.components[1].memory_limit, ByteSize::mib(32));
    assert_eq!(c.quic.dev_ca_out, Some(dir.join("orders-dev-ca.pem")));
    assert_eq!(c.telemetry.log_format, LogFormat::Json);
    let kv = c.route_for("wasi:keyvalue/store@0.2.0-draft").unwrap();
    assert_eq!(kv.peers, ["kv-a", "kv-b"]);
    assert_eq!(kv.retries, 1);
    assert_eq!(
        c.route_for("acme:inventory/stock@1.0.0").unwrap().via,
        Transport::Nats
    );
    assert!(c.route_for("acme:unknown/x").is_none());
    assert_eq!(c.peer("kv-b").unwrap().quic.as_ref().unwrap().port(), 4433);

    // With file checks on, the components (which are not shipped) are reported missing.
    let errs = Config::load_with_env(dir.join("sidecar.toml"), Vec::new()).unwrap_err();
    let orders = errs.find("components[0].path").unwrap();
    assert!(orders.message.contains("no such file"), "{orders}");
    assert!(orders.line.is_some());
    assert!(errs.find("components[1].path").is_some(), "{errs}");
}

#[test]
fn gateway_example_contents() {
    let dir = Path::new(MANIFEST).join("examples");
    let c = Config::load_with(dir.join("gateway.toml"), Vec::new(), &no_files()).unwrap();
    assert!(c.components.is_empty());
    assert!(c.http.enabled);
    assert_eq!(c.peers.len(), 3);
    assert_eq!(c.quic.trusted_ca, [dir.join("certs/peers-ca.pem")]);
    // The exact route wins over the wildcard that also matches.
    let r = c.route_for("acme:greeter/greet@0.1.0").unwrap();
    assert_eq!(r.peers, ["greeter-1", "greeter-2"]);
    assert_eq!(c.route_for("acme:other/x").unwrap().peers, ["backend"]);
}

#[test]
fn serialized_config_parses_back() {
    let dir = Path::new(MANIFEST).join("examples");
    let c = Config::load_with(dir.join("sidecar.toml"), Vec::new(), &no_files()).unwrap();
    let text = toml::to_string(&c).unwrap();
    // An origin without a directory leaves the (already resolved) paths as they are.
    let back = Config::from_str_with(&text, "printed.toml", Vec::new(), &no_files());
    assert_eq!(back, Ok(c), "{text}");
}

#[test]
fn three_problems_in_three_sections_are_all_reported() {
    let src = "\
[quic]
listen = \"127.0.0.1:4433\"
lsiten = \"0.0.0.0:4433\"

[[components]]
name = \"a\"
path = \"a.wasm\"
call_timeout = 30

[[routes]]
instance = \"wasi:keyvalue/store@0.2.0\"
via = \"quic\"
peers = [\"nobody\"]
";
    let errs = errors(src);
    assert_eq!(
        where_(&errs),
        [
            (Some(3), "quic.lsiten".to_owned()),
            (Some(8), "components[0].call_timeout".to_owned()),
            (Some(13), "routes[0].peers[0]".to_owned()),
        ],
        "{errs}"
    );
    assert!(errs.0[0].message.contains("unknown field `lsiten`"));
    assert!(errs.0[1].message.contains("\"30s\""), "{}", errs.0[1]);
    assert!(errs.0[2].message.contains("no peer named `nobody`"));
    let shown = errs.to_string();
    assert_eq!(shown.lines().count(), 3);
    assert!(
        shown.starts_with("witmesh.toml:3: quic.lsiten: unknown field"),
        "{shown}"
    );
}

#[test]
fn several_problems_in_one_section_are_all_reported() {
    let errs = errors(
        "[http]\nenabled = 'yes'\nlisten = 'localhost:80'\nmax_body_bytes = '4K'\nextra = 1\n",
    );
    assert_eq!(
        where_(&errs),
        [
            (Some(2), "http.enabled".to_owned()),
            (Some(3), "http.listen".to_owned()),
            (Some(4), "http.max_body_bytes".to_owned()),
            (Some(5), "http.extra".to_owned()),
        ],
        "{errs}"
    );
    assert!(errs.0[1].message.contains("not an ip:port"));
}

#[test]
fn syntax_errors_are_all_reported() {
    let errs = errors("a = \nb = 'x\n[c]\nd = 1\nd = 2\n");
    assert!(errs.len() >= 3, "{errs}");
    let lines: Vec<_> = errs.errors().iter().map(|e| e.line).collect();
    assert!(
        lines.contains(&Some(1)) && lines.contains(&Some(2)) && lines.contains(&Some(5)),
        "{errs}"
    );
}

#[test]
fn unknown_and_mistyped_sections() {
    let errs = errors(
        "node = 5\n[quik]\nenabled = true\n[[peers]]\nname = 'p'\nquic = 'h:1'\n[[peers]]\n",
    );
    assert_eq!(
        where_(&errs),
        [
            (Some(1), "node".to_owned()),
            (Some(2), "quik".to_owned()),
            (Some(7), "peers[1]".to_owned()),
        ],
        "{errs}"
    );
    assert!(errs.0[0].message.contains("must be a table"));
    assert!(errs.0[1].message.contains("unknown section `quik`"));
    assert_eq!(errs.0[2].message, "missing field `name`");
}

#[test]
fn cert_without_key_and_key_without_cert() {
    let errs = errors("[quic]\ncert = 'c.pem'\n");
    assert_eq!(where_(&errs), [(Some(2), "quic.cert".to_owned())]);
    assert!(errs.0[0].message.contains("needs `key`"));
    let errs = errors("[quic]\n\nkey = 'k.pem'\n");
    assert_eq!(where_(&errs), [(Some(3), "quic.key".to_owned())]);
    let errs = errors("[nats.tls]\ncert = 'c.pem'\n");
    assert_eq!(where_(&errs), [(Some(2), "nats.tls.cert".to_owned())]);
    assert!(parse("[quic]\ncert = 'c.pem'\nkey = 'k.pem'\n").is_ok());
    let errs = errors("[quic]\ndev_cert = false\n");
    assert_eq!(where_(&errs), [(Some(1), "quic".to_owned())]);
}

#[test]
fn duplicate_names() {
    let errs = errors(
        "[[components]]\nname = 'a'\npath = 'a.wasm'\n[[components]]\nname = 'a'\npath = 'b.wasm'\n\
         [[peers]]\nname = 'p'\nquic = 'h:1'\n[[peers]]\nname = 'p'\nquic = 'h:2'\n",
    );
    assert_eq!(
        where_(&errs),
        [
            (Some(5), "components[1].name".to_owned()),
            (Some(11), "peers[1].name".to_owned()),
        ],
        "{errs}"
    );
    assert!(errs.0[0].message.contains("already defined"));
}

#[test]
fn transport_and_route_consistency() {
    let errs = errors(
        "[[components]]\nname = 'a'\npath = 'a.wasm'\ntransports = ['nats', 'quic']\n\
         [[routes]]\ninstance = 'x:y/z'\nvia = 'nats'\n\
         [[routes]]\ninstance = 'x:y/*'\nvia = 'quic'\npeers = ['n']\n\
         [[peers]]\nname = 'n'\nnats_prefix = 'a.b'\n",
    );
    assert_eq!(
        where_(&errs),
        [
            (Some(4), "components[0].transports[0]".to_owned()),
            (Some(7), "routes[0].via".to_owned()),
            (Some(11), "routes[1].peers[0]".to_owned()),
        ],
        "{errs}"
    );
    assert!(errs.0[0].message.contains("transport `nats` is disabled"));
    assert!(errs.0[2].message.contains("no `quic` address"));
}

#[test]
fn assorted_semantic_checks() {
    let errs = errors(
        "[nats]\nurl = 'http://x:4222'\nprefix = 'a..b'\n\
         [limits]\nmax_depth = 0\nmax_string_bytes = '5GiB'\n\
         [telemetry]\nlog_level = 'witmesh=loud'\n\
         [http]\nenabled = true\nlisten = '127.0.0.1:9464'\n",
    );
    assert_eq!(
        where_(&errs),
        [
            (Some(2), "nats.url".to_owned()),
            (Some(3), "nats.prefix".to_owned()),
            (Some(5), "limits.max_depth".to_owned()),
            (Some(6), "limits.max_string_bytes".to_owned()),
            (Some(8), "telemetry.log_level".to_owned()),
            (Some(11), "http.listen".to_owned()),
        ],
        "{errs}"
    );
    // Port 0 and non-loopback addresses are ordinary values.
    assert!(
        parse("[quic]\nlisten = '0.0.0.0:0'\n[http]\nenabled = true\nlisten = '[::]:0'\n").is_ok()
    );
}

#[test]
fn broken_peer_is_not_reported_again_by_routes() {
    let errs = errors("[[routes]]\ninstance = 'a:b/c'\nvia = 'quic'\npeers = ['p']\n[[peers]]\nname = 'p'\nquic = 7\n");
    assert_eq!(
        where_(&errs),
        [(Some(7), "peers[0].quic".to_owned())],
        "{errs}"
    );
}

#[test]
fn files_are_checked_relative_to_the_config() {
    let origin = format!("{MANIFEST}/witmesh.toml");
    let ok = Config::from_str(
        "[[components]]\nname = 'a'\npath = './Cargo.toml'\n",
        &origin,
    )
    .unwrap();
    assert_eq!(
        ok.components[0].path,
        Path::new(MANIFEST).join("Cargo.toml")
    );
    let errs =
        Config::from_str("[[components]]\nname = 'a'\npath = 'x.wasm'\n", &origin).unwrap_err();
    let e = &errs.0[0];
    assert_eq!((e.line, e.key.as_str()), (Some(3), "components[0].path"));
    let shown = e.to_string();
    assert!(
        shown.starts_with(&format!("{origin}:3: components[0].path: no such file `")),
        "{shown}"
    );
    assert!(
        shown.contains("give the path to a compiled component"),
        "{shown}"
    );
    let errs = Config::from_str(
        "[[components]]\nname = 'a'\npath = 'Cargo.toml'\nwasi.preopens = [{ host = 'src', guest = '/s' }, { host = 'nope', guest = '/n' }]\n",
        &origin,
    )
    .unwrap_err();
    assert_eq!(
        where_(&errs),
        [(Some(4), "components[0].wasi.preopens[1].host".to_owned())],
        "{errs}"
    );
}

#[test]
fn unreadable_file() {
    let errs = Config::load_with_env("/nonexistent/witmesh.toml", Vec::new()).unwrap_err();
    assert_eq!(errs.len(), 1);
    assert!(errs.0[0].message.contains("cannot read"), "{errs}");
    assert_eq!(errs.0[0].file, "/nonexistent/witmesh.toml");
}

#[test]
fn env_overrides_apply_over_the_file() {
    let c = parse_env(
        "[nats]\nurl = 'nats://file:4222'\n[node]\nid = 'file'\n",
        &[
            ("WITMESH_NATS__URL", "nats://127.0.0.1:4333"),
            ("WITMESH_NATS__ENABLED", "true"),
            ("WITMESH_QUIC__LISTEN", "127.0.0.1:0"),
            ("WITMESH_NODE__ID", "a"),
            ("WITMESH_LIMITS__MAX_DEPTH", "8"),
            ("WITMESH_NATS__TLS__CA", "ca.pem"),
            ("WITMESH_QUIC__TRUSTED_CA", "[\"x.pem\", \"y.pem\"]"),
            ("WITMESH_TELEMETRY__LOG_FORMAT", "json"),
            ("WITMESH_CONFIG", "/etc/witmesh.toml"),
            ("HOME", "/root"),
        ],
    )
    .unwrap();
    assert_eq!(c.nats.url, "nats://127.0.0.1:4333");
    assert!(c.nats.enabled);
    assert_eq!(c.quic.listen.to_string(), "127.0.0.1:0");
    assert_eq!(c.node.id, "a");
    assert_eq!(c.limits.max_depth, 8);
    assert_eq!(c.nats.tls.unwrap().ca, Some(PathBuf::from("ca.pem")));
    assert_eq!(
        c.quic.trusted_ca,
        [PathBuf::from("x.pem"), PathBuf::from("y.pem")]
    );
    assert_eq!(c.telemetry.log_format, LogFormat::Json);
}

#[test]
fn env_values_fall_back_to_strings() {
    let c = parse_env(
        "",
        &[
            ("WITMESH_NODE__ID", "123"),
            ("WITMESH_NODE__LATTICE", "true"),
        ],
    )
    .unwrap();
    assert_eq!(c.node.id, "123");
    assert_eq!(c.node.lattice.as_deref(), Some("true"));
    // Quoting works too.
    let c = parse_env("", &[("WITMESH_NODE__ID", "\"7\"")]).unwrap();
    assert_eq!(c.node.id, "7");
}

#[test]
fn env_paths_stay_relative_to_the_working_directory() {
    let c = Config::from_str_with(
        "[quic]\ncert = 'file.pem'\n",
        "/etc/witmesh/witmesh.toml",
        vec![("WITMESH_QUIC__KEY".to_owned(), "env.key".to_owned())],
        &no_files(),
    )
    .unwrap();
    assert_eq!(c.quic.cert, Some(PathBuf::from("/etc/witmesh/file.pem")));
    assert_eq!(c.quic.key, Some(PathBuf::from("env.key")));
}

#[test]
fn unknown_env_vars_are_errors_naming_the_variable() {
    let errs = parse_env(
        "",
        &[
            ("WITMESH_NATS__URLL", "nats://x:1"),
            ("WITMESH_BOGUS__X", "1"),
            ("WITMESH_NODEID", "a"),
            ("WITMESH_COMPONENTS__0__PATH", "a.wasm"),
        ],
    )
    .unwrap_err();
    let found: Vec<(&str, &str)> = errs
        .errors()
        .iter()
        .map(|e| (e.file.as_str(), e.key.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("$WITMESH_BOGUS__X", "bogus.x"),
            ("$WITMESH_COMPONENTS__0__PATH", "components.0.path"),
            ("$WITMESH_NODEID", ""),
            ("$WITMESH_NATS__URLL", "nats.urll"),
        ],
        "{errs}"
    );
    assert!(errs.0.iter().all(|e| e.line.is_none()));
    assert!(errs.0[3].message.contains("unknown field `urll`"), "{errs}");
    assert!(errs
        .to_string()
        .contains("$WITMESH_NATS__URLL: nats.urll: unknown field"));
}

#[test]
fn bad_env_values_name_the_variable() {
    let errs = parse_env(
        "[quic]\nlisten = '127.0.0.1:1'\n",
        &[
            ("WITMESH_QUIC__LISTEN", "nope"),
            ("WITMESH_NATS__URL", "http://x:1"),
            ("WITMESH_QUIC__ENABLED", "yes"),
        ],
    )
    .unwrap_err();
    let found: Vec<(&str, Option<usize>, &str)> = errs
        .errors()
        .iter()
        .map(|e| (e.file.as_str(), e.line, e.key.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("$WITMESH_QUIC__ENABLED", None, "quic.enabled"),
            ("$WITMESH_QUIC__LISTEN", None, "quic.listen"),
            ("$WITMESH_NATS__URL", None, "nats.url"),
        ],
        "{errs}"
    );
}

#[test]
fn validate_with_reports_without_lines() {
    let mut c = Config::default();
    c.limits.max_list_len = 0;
    c.peers.push(PeerConfig {
        name: "p".into(),
        quic: None,
        server_name: None,
        nats_prefix: None,
    });
    let errs = c.validate_with(&no_files()).unwrap_err();
    assert_eq!(
        where_(&errs),
        [
            (None, "limits.max_list_len".to_owned()),
            (None, "peers[0]".to_owned())
        ]
    );
    assert!(errs.0.iter().all(|e| e.file == "<config>"));
}

#[test]
fn overrides_are_validated_once_with_the_file() {
    let dir = std::env::temp_dir().join(format!("witmesh-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("overrides.toml");
    // The second entry is dropped (no path); a flag then adds a third with a bad name.
    std::fs::write(
        &file,
        "[[components]]\nname = \"a\"\npath = \"a.wasm\"\n\n[[components]]\nname = \"b\"\n\n[limits]\nmax_depth = 0\n",
    )
    .unwrap();
    let mut add = |cfg: &mut Config| {
        cfg.components
            .push(ComponentConfig::new("bad name", "c.wasm"));
        cfg.add_route_flags(&["nope".into()], &[])
    };
    let errors = Config::load_overridden_with_env(Some(&file), Vec::new(), &no_files(), &mut add)
        .unwrap_err();
    let keys: Vec<&str> = errors.errors().iter().map(|e| e.key.as_str()).collect();
    assert!(keys.contains(&"limits.max_depth"), "{keys:?}");
    assert!(keys.contains(&"routes"), "{keys:?}");
    // The flag's entry is named after every entry of the file, never as the dropped one.
    assert!(keys.contains(&"components[2].name"), "{keys:?}");
    std::fs::remove_dir_all(&dir).unwrap();
    let bundled = Config::load_overridden_with_env(
        None,
        Vec::new(),
        &ValidateOptions::default(),
        &mut |cfg: &mut Config| {
            cfg.quic.enabled = true;
            cfg.components
                .push(ComponentConfig::bundled("greeter", "<bundled greeter>"));
            Ok(())
        },
    )
    .unwrap();
    // A bundled component has no file to check, and takes the transports enabled.
    assert_eq!(bundled.components[0].transports, vec![Transport::Quic]);
}
