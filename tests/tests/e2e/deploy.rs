//! The files in `deploy/`, checked statically with the standard tools (containers cannot be
//! pulled here): the Dockerfile with hadolint, the compose file against the Compose
//! specification, the Kubernetes manifests against the Kubernetes schemas (strict), the
//! systemd unit with `systemd-analyze verify`; and every witmesh configuration they carry
//! passes `witmesh config check`.

#![allow(clippy::unwrap_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;

use witmesh_tests::components;
use witmesh_tests::harness::{run_witmesh, witmesh_bin};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs a checker; it must succeed. Returns stdout and stderr.
fn tool(program: &str, args: &[&str]) -> (String, String) {
    let out = Command::new(program)
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} ({e}); .ci/test installs it"));
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(
        out.status.success(),
        "{program} {args:?} failed:\n{stdout}\n{stderr}"
    );
    (stdout, stderr)
}

/// `config check` of `toml` with the image's component paths replaced by this build's.
fn check_config(name: &str, toml: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut toml = toml.to_owned();
    for (stem, built) in [
        ("greeter", components::greeter()),
        ("relay", components::relay()),
        ("faults", components::faults()),
    ] {
        toml = toml.replace(
            &format!("/usr/share/witmesh/components/{stem}.wasm"),
            built.to_str().unwrap(),
        );
    }
    // Certificates come from a secret at run time; stand-ins let the paths resolve.
    for file in ["tls.crt", "tls.key"] {
        let stand_in = dir.path().join(file);
        std::fs::write(&stand_in, "stand-in").unwrap();
        toml = toml.replace(
            &format!("/etc/witmesh/tls/{file}"),
            stand_in.to_str().unwrap(),
        );
    }
    let file = dir.path().join(name);
    std::fs::write(&file, &toml).unwrap();
    let (status, stdout, stderr) = run_witmesh(&["config", "check", file.to_str().unwrap()]);
    assert_eq!(
        (status, stdout.as_str()),
        (0, "ok\n"),
        "{name}: {stderr}\n{toml}"
    );
}

#[test]
fn the_dockerfile_passes_hadolint_and_copies_files_that_exist() {
    let (stdout, _) = tool("hadolint", &["deploy/Dockerfile"]);
    assert_eq!(stdout, "");
    let text = std::fs::read_to_string(repo().join("deploy/Dockerfile")).unwrap();
    for line in text
        .lines()
        .filter(|l| l.starts_with("COPY ") && !l.contains("--from"))
    {
        let source = line.split_whitespace().nth(1).unwrap();
        if source != "." {
            assert!(repo().join(source).exists(), "{line}: no {source}");
        }
    }
    // The components it builds are crates of tests/components.
    for krate in [
        "witmesh-test-greeter",
        "witmesh-test-relay",
        "witmesh-test-faults",
    ] {
        assert!(text.contains(&format!("-p {krate}")), "{krate}");
    }
}

#[test]
fn the_compose_file_follows_the_compose_spec_and_its_configs_are_valid() {
    let (stdout, _) = tool(
        "check-jsonschema",
        &[
            "--builtin-schema",
            "vendor.compose-spec",
            "deploy/compose/compose.yaml",
        ],
    );
    assert!(stdout.contains("ok"), "{stdout}");
    let compose = std::fs::read_to_string(repo().join("deploy/compose/compose.yaml")).unwrap();
    // Every file it mounts is in the repository.
    for mount in compose
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- ."))
        .filter_map(|m| m.split(':').next())
    {
        let source = repo().join("deploy/compose").join(format!(".{mount}"));
        assert!(
            source.exists(),
            "compose mounts .{mount}, which does not exist"
        );
    }
    for name in ["a.toml", "b.toml"] {
        let toml = std::fs::read_to_string(repo().join("deploy/compose").join(name)).unwrap();
        check_config(name, &toml);
    }
}

#[test]
fn the_kubernetes_manifests_validate_strictly_and_carry_a_valid_config() {
    tool(
        "kubernetes-validate",
        &[
            "--strict",
            "deploy/kubernetes/configmap.yaml",
            "deploy/kubernetes/deployment.yaml",
            "deploy/kubernetes/service.yaml",
        ],
    );
    let (toml, _) = tool(
        "python3",
        &[
            "-c",
            "import sys, yaml; sys.stdout.write(yaml.safe_load(open('deploy/kubernetes/configmap.yaml'))['data']['witmesh.toml'])",
        ],
    );
    check_config("witmesh.toml", &toml);
}

#[test]
fn the_systemd_unit_verifies_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let unit = std::fs::read_to_string(repo().join("deploy/systemd/witmesh.service")).unwrap();
    assert!(unit.contains("ExecStart=/usr/local/bin/witmesh up"));
    // verify wants the binary to exist: point it at this build's.
    let unit = unit.replace("/usr/local/bin/witmesh", witmesh_bin().to_str().unwrap());
    let file = dir.path().join("witmesh.service");
    std::fs::write(&file, unit).unwrap();
    let (_, stderr) = tool("systemd-analyze", &["verify", file.to_str().unwrap()]);
    let ours: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("witmesh.service"))
        .collect();
    assert!(ours.is_empty(), "systemd-analyze verify: {ours:#?}");
}
