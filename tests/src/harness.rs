//! Real processes for end-to-end tests: a nats-server on a free loopback port and `witmesh`
//! sidecars, each killed by PID when dropped, and clients for calling them. Every wait is
//! bounded and polls a condition; nothing sleeps to synchronise.

use std::io::{BufRead as _, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Bound on any start-up wait: a process that is not ready by then has failed.
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A free TCP port on 127.0.0.1 (bound and released; the caller binds it next).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port")
}

/// Polls `cond` every few milliseconds until it holds or `timeout` passes.
pub fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The `nats-server` executable: on PATH or where Debian installs it.
fn nats_server_bin() -> PathBuf {
    for dir in std::env::var("PATH").unwrap_or_default().split(':') {
        let p = Path::new(dir).join("nats-server");
        if p.is_file() {
            return p;
        }
    }
    PathBuf::from("/usr/sbin/nats-server")
}

/// A nats-server of the test's own, on a free loopback port.
pub struct NatsServer {
    child: Child,
    /// `nats://127.0.0.1:PORT`.
    pub url: String,
}

impl NatsServer {
    /// Starts one on 127.0.0.1 and waits until it accepts connections.
    pub fn start() -> Self {
        Self::start_on("127.0.0.1")
    }

    /// Starts one listening on `host` (an address of this machine or of the test's own network
    /// namespace link), on a port free on loopback, and waits until it accepts connections.
    pub fn start_on(host: &str) -> Self {
        let port = free_port();
        let child = Command::new(nats_server_bin())
            .args(["-a", host, "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start nats-server (apt-get install nats-server)");
        let server = NatsServer {
            child,
            url: format!("nats://{host}:{port}"),
        };
        wait_until("nats-server to accept connections", READY_TIMEOUT, || {
            TcpStream::connect((host, port)).is_ok()
        });
        server
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `p` as a command-line argument (every path a test passes is UTF-8).
pub fn path(p: &Path) -> &str {
    p.to_str().expect("path is not UTF-8")
}

/// Writes `body` to `witmesh.toml` in `dir` and returns the file's path, for `--config`.
pub fn write_config(dir: &tempfile::TempDir, body: &str) -> String {
    let p = dir.path().join("witmesh.toml");
    std::fs::write(&p, body).expect("cannot write witmesh.toml");
    path(&p).to_owned()
}

/// The witmesh binary built for this test run.
pub fn witmesh_bin() -> PathBuf {
    if let Ok(p) = std::env::var("WITMESH_BIN") {
        return PathBuf::from(p);
    }
    target_bin("witmesh")
}

/// A binary of this workspace built beside the test binary (`cargo nextest run --workspace`
/// builds them all), e.g. `witmesh` or the examples' `greeter-server`.
pub fn target_bin(name: &str) -> PathBuf {
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let exe = std::env::current_exe().expect("no current exe");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary outside target/<profile>/deps");
    let bin = dir.join(name);
    assert!(
        bin.is_file(),
        "{} is missing: build the workspace first (cargo build --workspace)",
        bin.display()
    );
    bin
}

/// Runs `witmesh ARGS` to completion: exit status, stdout, stderr.
pub fn run_witmesh(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(witmesh_bin())
        .args(args)
        .output()
        .expect("cannot run witmesh");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The environment override of `admin.listen`; the harness sets it to port 0.
pub const ADMIN_ENV: &str = "WITMESH_ADMIN__LISTEN";

/// What a sidecar's `ready` line announced.
#[derive(Debug, Clone, Default)]
pub struct Ready {
    /// The bound QUIC address, if QUIC is served.
    pub quic: Option<SocketAddr>,
    /// The NATS URL, if NATS is served.
    pub nats: Option<String>,
    /// The NATS subject prefix.
    pub prefix: Option<String>,
    /// The admin listener's address, if it runs.
    pub admin: Option<SocketAddr>,
    /// The HTTP listener's address, if it runs.
    pub http: Option<SocketAddr>,
    /// The whole line.
    pub line: String,
}

impl Ready {
    fn parse(line: &str) -> Self {
        let mut r = Ready {
            line: line.to_owned(),
            ..Ready::default()
        };
        for word in line.split_whitespace() {
            if let Some(v) = word.strip_prefix("quic=") {
                r.quic = v.parse().ok();
            } else if let Some(v) = word.strip_prefix("nats=") {
                r.nats = Some(v.to_owned());
            } else if let Some(v) = word.strip_prefix("prefix=") {
                r.prefix = Some(v.to_owned());
            } else if let Some(v) = word.strip_prefix("admin=") {
                r.admin = v.parse().ok();
            } else if let Some(v) = word.strip_prefix("http=") {
                r.http = v.parse().ok();
            }
        }
        r
    }
}

/// A running `witmesh up`, killed when dropped.
pub struct Sidecar {
    child: Option<Child>,
    /// What it announced when ready.
    pub ready: Ready,
    logs: Arc<Mutex<String>>,
    /// Its working directory (where the development certificate is written).
    pub dir: tempfile::TempDir,
}

impl Sidecar {
    /// Starts `witmesh up ARGS` in a fresh working directory and waits for its `ready` line.
    pub fn start(args: &[&str]) -> Self {
        Self::start_with_env(args, &[])
    }

    /// A mesh node `id`: serves `components` over NATS at `nats` under the prefix `id` and
    /// over QUIC on a free port, with `extra` arguments and `env` on top.
    pub fn node(
        nats: &NatsServer,
        id: &str,
        components: &[&Path],
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Self {
        let mut args: Vec<&str> = Vec::new();
        for c in components {
            args.extend([
                "--component",
                c.to_str().expect("component path is not UTF-8"),
            ]);
        }
        args.extend([
            "--nats",
            nats.url.as_str(),
            "--nats-prefix",
            id,
            "--node-id",
            id,
            "--quic",
            "127.0.0.1:0",
        ]);
        args.extend(extra);
        Sidecar::start_with_env(&args, env)
    }

    /// Like [`Sidecar::start`], with extra environment variables (`RUST_LOG` defaults to
    /// `info`).
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Self {
        let bin = witmesh_bin();
        let mut full = vec!["up"];
        full.extend(args);
        Self::start_program(bin.to_str().expect("UTF-8 path"), &full, env)
    }

    /// Starts `program ARGS` (which runs `witmesh up`, e.g. through `ip netns exec`) in a
    /// fresh working directory and waits for its `ready` line.
    pub fn start_program(program: &str, args: &[&str], env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("no temp dir");
        let mut cmd = Command::new(program);
        cmd.args(args)
            .current_dir(dir.path())
            .env("RUST_LOG", "info");
        // Cargo passes this crate's build-time variables (TEST_COMPONENT_*) to tests; the
        // sidecar would rightly reject them as unknown configuration overrides.
        for (k, _) in std::env::vars() {
            if k.starts_with("WITMESH_") {
                cmd.env_remove(k);
            }
        }
        // Many sidecars run at once: each admin listener takes a free port unless a test says.
        cmd.env(ADMIN_ENV, "127.0.0.1:0");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot start witmesh");
        let logs = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().expect("stderr piped");
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(mut l) = sink.lock() {
                    l.push_str(&line);
                    l.push('\n');
                }
            }
        });
        let stdout = child.stdout.take().expect("stdout piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("ready") {
                    let _ = tx.send(line);
                }
            }
        });
        let Ok(line) = rx.recv_timeout(READY_TIMEOUT) else {
            let _ = child.kill();
            let logs = logs.lock().map(|l| l.clone()).unwrap_or_default();
            panic!("witmesh did not print a ready line within {READY_TIMEOUT:?}; its log:\n{logs}");
        };
        Sidecar {
            child: Some(child),
            ready: Ready::parse(&line),
            logs,
            dir,
        }
    }

    /// Everything it logged so far.
    pub fn logs(&self) -> String {
        self.logs.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Waits until its log contains `needle`.
    pub fn wait_for_log(&self, needle: &str) {
        wait_until(&format!("log line `{needle}`"), READY_TIMEOUT, || {
            self.logs().contains(needle)
        });
    }

    /// The development certificate it wrote, for clients to trust.
    pub fn dev_cert(&self) -> Vec<u8> {
        std::fs::read(self.dir.path().join(".witmesh/dev-cert.pem"))
            .expect("no dev certificate written")
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Kills it with SIGKILL (no drain, as a crash) and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Sends SIGTERM and waits (bounded) for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("already stopped");
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status;
            }
            assert!(
                start.elapsed() < READY_TIMEOUT,
                "witmesh did not exit after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A QUIC connection to a sidecar, trusting `cert_pem`, with server name `localhost`.
pub async fn quic_connect(addr: SocketAddr, cert_pem: &[u8]) -> quinn::Connection {
    let config = witmesh::transport::tls::client_config(cert_pem).expect("client TLS");
    let mut ep =
        quinn::Endpoint::client("127.0.0.1:0".parse().expect("addr")).expect("client endpoint");
    ep.set_default_client_config(config);
    ep.connect(addr, "localhost")
        .expect("connect")
        .await
        .expect("QUIC handshake")
}

/// A wRPC client over QUIC to sidecar `s`, trusting its development certificate.
pub async fn quic_client(s: &Sidecar) -> wrpc_transport_quic::Client {
    let conn = quic_connect(s.ready.quic.expect("no QUIC address"), &s.dev_cert()).await;
    wrpc_transport_quic::Client::from(conn)
}

/// A wRPC client over NATS at `url` under the subject prefix `prefix`.
pub async fn nats_client(url: &str, prefix: &str) -> wrpc_transport_nats::Client {
    let nats = async_nats::connect(url)
        .await
        .expect("cannot connect to NATS");
    wrpc_transport_nats::Client::new(nats, prefix, None)
        .await
        .expect("cannot make a wRPC client over NATS")
}

/// An HTTP answer: status, headers (lower-case names) and body.
#[derive(Debug)]
pub struct HttpAnswer {
    /// The status code.
    pub status: u16,
    /// The headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// Whether the body ended as HTTP says a body ends (a chunked one with its last chunk),
    /// rather than with a connection closed early.
    pub complete: bool,
}

impl HttpAnswer {
    /// The first header named `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

/// One HTTP/1.1 request to `addr` on its own connection (`Connection: close`), answer read to
/// the end within 30 s.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpAnswer {
    use std::io::{Read as _, Write as _};
    let mut s = std::net::TcpStream::connect(addr).expect("cannot connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("cannot set a read timeout");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("host: {addr}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())
        .expect("cannot send the request");
    s.write_all(body).expect("cannot send the body");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("reading the answer");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("no end of headers");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .expect("no status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let mut complete = true;
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
    {
        (body, complete) = dechunk(&body);
    }
    HttpAnswer {
        status,
        headers,
        body,
        complete,
    }
}

/// A chunked body's data, and whether its last (empty) chunk came.
fn dechunk(mut b: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    while let Some(eol) = b.windows(2).position(|w| w == b"\r\n") {
        let Ok(size) = usize::from_str_radix(String::from_utf8_lossy(&b[..eol]).trim(), 16) else {
            return (out, false);
        };
        if size == 0 {
            return (out, true);
        }
        let Some(data) = b.get(eol + 2..eol + 2 + size) else {
            return (out, false);
        };
        out.extend_from_slice(data);
        let Some(rest) = b.get(eol + 2 + size + 2..) else {
            return (out, false);
        };
        b = rest;
    }
    (out, false)
}

/// A program other than witmesh (an example, a native peer), killed by PID when dropped.
pub struct Program(Child);

impl Program {
    /// Starts `bin ARGS` and waits (bounded) for a stdout line containing `ready`.
    pub fn start(bin: &Path, args: &[&str], ready: &str) -> Self {
        let mut child = Command::new(bin)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        let needle = ready.to_owned();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains(&needle) {
                    let _ = tx.send(());
                }
            }
        });
        let program = Program(child);
        rx.recv_timeout(READY_TIMEOUT)
            .unwrap_or_else(|_| panic!("{} did not print {ready:?}", bin.display()));
        program
    }

    /// Starts `bin ARGS` without waiting: the caller checks readiness itself.
    pub fn spawn(bin: &Path, args: &[&str]) -> Self {
        let child = Command::new(bin)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        Program(child)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Checks `doc` (an OpenAPI document) with the standard validator from PyPI
/// (`openapi-spec-validator`), writing it into `dir` first.
pub fn assert_valid_openapi(dir: &Path, doc: &[u8]) {
    let file = dir.join("openapi.json");
    std::fs::write(&file, doc).expect("cannot write the document");
    let out = Command::new("python3")
        .args([
            "-c",
            "import json,sys; from openapi_spec_validator import validate; validate(json.load(open(sys.argv[1]))); print('valid')",
            file.to_str().expect("UTF-8 path"),
        ])
        .output()
        .expect("python3 with openapi-spec-validator (pip install openapi-spec-validator)");
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("valid"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A value of `metric` on the admin listener at `admin` whose labels contain every one of
/// `labels`.
pub fn metric(admin: SocketAddr, metric: &str, labels: &[&str]) -> Option<f64> {
    let text = String::from_utf8(http(admin, "GET", "/metrics", &[], b"").body).ok()?;
    text.lines()
        .filter(|l| l.starts_with(&format!("{metric}{{")))
        .filter(|l| labels.iter().all(|want| l.contains(want)))
        .find_map(|l| l.rsplit_once(' ').and_then(|(_, v)| v.parse().ok()))
}
