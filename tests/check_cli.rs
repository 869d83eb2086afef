//! `lab check`'s effective settings and warnings, as a user runs it.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn lab() -> Command {
    let mut c = Command::cargo_bin("lab").unwrap();
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn write(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("s.toml");
    std::fs::write(&p, text).unwrap();
    p
}

/// `lab check` on `text`: its stdout, after asserting success.
fn check(text: &str, args: &[&str]) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(tmp.path(), text);
    let a = lab().arg("check").arg(&file).args(args).assert().success();
    String::from_utf8(a.get_output().stdout.clone()).unwrap()
}

/// The row of `key` in the settings block, its spaces squeezed.
fn row(out: &str, key: &str) -> String {
    let line = out
        .lines()
        .find(|l| l.split_whitespace().next() == Some(key))
        .unwrap_or_else(|| panic!("no row {key} in\n{out}"));
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

const STEADY: &str = r#"
duration = "1m"
[traffic]
rate = "100/s"
[app.endpoints.home]
steps = [{ cpu = "20ms" }, { query = "q", db_cpu = "1ms" }]
[eras.bronze]
web = { cores = 8 }
"#;

#[test]
fn debian_max_children_on_eight_cores_is_shown_and_warned() {
    let out = check(STEADY, &[]);
    assert!(out.contains("eras: bronze\n"), "{out}");
    assert!(out.contains("[eras.bronze] effective settings:"), "{out}");
    assert_eq!(
        row(&out, "fpm.max_children"),
        "fpm.max_children 5 Debian php-fpm www.conf"
    );
    assert_eq!(
        row(&out, "fpm.min_spare_servers"),
        "fpm.min_spare_servers 1 Debian php-fpm www.conf"
    );
    assert_eq!(
        row(&out, "mysql.max_connections"),
        "mysql.max_connections 151 MySQL/MariaDB default"
    );
    let warning = out
        .lines()
        .find(|l| l.starts_with("warning: bronze: fpm.max_children is 5 (Debian's default) on a web host of 8 cores"))
        .unwrap_or_else(|| panic!("no workers-below-cores warning in\n{out}"));
    assert!(warning.contains("set fpm.max_children to at least 8"), "{warning}");
    assert!(warning.contains("Debian's www.conf ships 5"), "{warning}");
}

#[test]
fn a_setting_from_the_file_is_marked_as_the_scenarios() {
    let out = check(STEADY, &[]);
    assert_eq!(row(&out, "web.cores"), "web.cores 8 scenario");
    assert_eq!(row(&out, "db.cores"), "db.cores 4 lab default");
    assert_eq!(
        row(&out, "nginx.worker_processes"),
        "nginx.worker_processes auto (8) Debian nginx.conf (auto: one per core)"
    );
}

#[test]
fn dynamic_spawning_behind_a_steep_ramp_is_warned() {
    let text = r#"
duration = "1m"
[traffic]
profile = [{ at = "0s", rate = "10/s" }, { at = "10s", rate = "10/s" }, { at = "15s", rate = "400/s" }]
[app.endpoints.home]
steps = [{ cpu = "1ms" }, { query = "q", db_wait = "49ms" }]
[eras.bronze]
web = { cores = 8 }
fpm = { pm = "dynamic", max_children = 40 }
"#;
    let out = check(text, &[]);
    let w = out
        .lines()
        .find(|l| l.starts_with("warning: bronze: pm = dynamic cannot follow the traffic"))
        .unwrap_or_else(|| panic!("no spawning warning in\n{out}"));
    assert!(w.contains("min_spare_servers − idle = 1 child a tick"), "{w}");
    assert!(w.contains("set fpm.min_spare_servers = "), "{w}");
    assert_eq!(row(&out, "fpm.max_children"), "fpm.max_children 40 scenario");
}

#[test]
fn a_backlog_that_overflows_at_the_peak_is_warned() {
    let text = r#"
duration = "1m"
[traffic]
rate = "300/s"
[app.endpoints.home]
steps = [{ cpu = "10ms" }]
[eras.stone]
host = { cores = 2 }
fpm = { pm = "static", max_children = 4, listen_backlog = 100 }
"#;
    let out = check(text, &[]);
    let w = out
        .lines()
        .find(|l| l.starts_with("warning: stone: the FPM listen backlog (100) will overflow at the peak"))
        .unwrap_or_else(|| panic!("no backlog warning in\n{out}"));
    assert!(
        w.contains("300/s arrive and the pool serves at most about 200/s"),
        "{w}"
    );
    assert!(w.contains("the backlog fills by 0:01"), "{w}");
    assert!(w.contains("answers 502"), "{w}");
}

#[test]
fn era_limits_the_blocks_and_an_unknown_label_names_the_labels() {
    let two = format!("{STEADY}[eras.stone]\n");
    let out = check(&two, &["--era", "stone"]);
    assert!(out.contains("[eras.stone] effective settings:"), "{out}");
    assert!(!out.contains("[eras.bronze]"), "{out}");
    assert!(!out.contains("warning: bronze"), "{out}");

    let tmp = tempfile::tempdir().unwrap();
    let file = write(tmp.path(), &two);
    let a = lab().arg("check").arg(&file).args(["--era", "iron"]).assert().code(2);
    let err = String::from_utf8(a.get_output().stderr.clone()).unwrap();
    assert!(err.contains("no era \"iron\""), "{err}");
    assert!(err.contains("bronze, stone"), "{err}");
}

#[test]
fn run_prints_the_warnings_on_stderr_once_per_era() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(tmp.path(), &STEADY.replace("\"1m\"", "\"5s\""));
    let a = lab()
        .arg("run")
        .arg(&file)
        .arg("--out")
        .arg(tmp.path().join("out"))
        .assert()
        .success();
    let err = String::from_utf8(a.get_output().stderr.clone()).unwrap();
    assert_eq!(
        err.matches("warning: bronze: fpm.max_children is 5").count(),
        1,
        "{err}"
    );
}
