//! `lab drive` as a user runs it, against a tiny server started here.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread;

use assert_cmd::Command;
use serde_json::Value;

fn lab() -> Command {
    let mut c = Command::cargo_bin("lab").unwrap();
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

/// Answers every request on every connection with 200 at once, until the
/// test process ends.
fn server() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    thread::spawn(move || {
        for c in l.incoming() {
            let Ok(mut c) = c else { return };
            thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let mut seen = Vec::new();
                while let Ok(n) = c.read(&mut buf) {
                    if n == 0 {
                        return;
                    }
                    seen.extend_from_slice(&buf[..n]);
                    while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                        seen.drain(..end + 4);
                        if c.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok").is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    url
}

const SCENARIO: &str = r#"
duration = "1m"
[slo]
p99 = "1s"
[traffic]
rate = "50/s"
timeout = "1s"
[app.endpoints.home]
steps = [{ cpu = "1ms" }]
[eras.bronze]
"#;

#[test]
fn drive_writes_the_usual_report_from_measured_figures() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("tiny.toml");
    std::fs::write(&scenario, SCENARIO).unwrap();
    let out = dir.path().join("out");
    let assert = lab()
        .arg("drive")
        .arg(&scenario)
        .args([
            "--target",
            &server(),
            "--duration",
            "2s",
            "--era",
            "bronze",
            "--check-slo",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout);
    assert!(
        stdout.contains("│ bronze ") && !stdout.contains("bronze (bronze)"),
        "{stdout}"
    );
    assert!(stdout.contains("0 dropped"), "{stdout}");
    let s: Value = serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let era = &s["eras"][0];
    assert_eq!(era["source"], "measured");
    assert_eq!(era["label"], "bronze");
    // 2 s at 50/s: a Poisson count near 100, every one answered 200.
    let ok = era["outcomes"]["ok"].as_u64().unwrap();
    assert!((60..=140).contains(&ok), "{ok} ok");
    assert_eq!(era["outcomes"]["dropped"], 0);
    assert!(out.join("index.html").exists() && out.join("bronze.csv").exists());
}

#[test]
fn drive_refuses_addresses_beyond_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("tiny.toml");
    std::fs::write(&scenario, SCENARIO).unwrap();
    let assert = lab()
        .arg("drive")
        .arg(&scenario)
        .args(["--target", "http://10.1.2.3:80", "--duration", "1s"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr);
    assert!(stderr.contains("refusing to send traffic to 10.1.2.3"), "{stderr}");
    lab()
        .arg("drive")
        .arg(&scenario)
        .args(["--target", "http://example.com", "--duration", "1s"])
        .assert()
        .code(2);
}
