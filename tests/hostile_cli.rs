//! Hostile command lines and files, as a user meets them at the terminal:
//! the exit status says what kind of problem it was, the message names
//! the flag or the file and shows a cause once, and no report leaves its
//! folder.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn lab(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("lab").unwrap();
    c.current_dir(dir);
    c
}

fn flash_sale() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/flash-sale.toml")
}

fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(a.get_output().stderr.clone()).unwrap()
}

#[test]
fn equally_bad_flag_values_exit_alike_and_name_the_flag() {
    let tmp = tempfile::tempdir().unwrap();
    for (flag, value, says) in [
        ("--duration", "0", "longer than 0s"),
        ("--duration", "10parsecs", "unknown unit"),
        ("--duration", "-5s", "cannot be negative"),
        ("--duration", "100000h", "at most 8784h"),
        ("--duration", "500ms", "the stats window (1s) is longer than the run"),
        ("--seed", "-1", "a seed is a whole number"),
        ("--seed", "99999999999999999999", "a seed is a whole number"),
        ("--era", "iron", "has no era \"iron\""),
    ] {
        let a = lab(tmp.path())
            .arg("run")
            .arg(flash_sale())
            .args([flag, value, "-q", "--out", "o"])
            .assert()
            .code(2);
        let err = stderr(&a);
        assert!(err.contains(flag), "{flag} {value}: {err}");
        assert!(err.contains(says), "{flag} {value}: {err}");
    }
    assert!(!tmp.path().join("o").exists(), "nothing written for a bad command line");
}

#[test]
fn a_duration_whose_windows_do_not_fit_is_refused_before_running() {
    let tmp = tempfile::tempdir().unwrap();
    // flash-sale has 1 s windows: a year of them is more than a run keeps.
    let a = lab(tmp.path())
        .arg("run")
        .arg(flash_sale())
        .args(["--duration", "8000h", "-q", "--out", "o"])
        .assert()
        .code(2);
    let err = stderr(&a);
    assert!(err.contains("windows of 1s"), "{err}");
    assert!(err.contains("make the window at least"), "{err}");
}

#[test]
fn read_and_write_errors_show_their_cause_once() {
    let tmp = tempfile::tempdir().unwrap();
    let a = lab(tmp.path()).args(["check", "."]).assert().code(1);
    let err = stderr(&a);
    assert_eq!(err.matches("Is a directory").count(), 1, "{err}");
    let a = lab(tmp.path())
        .arg("run")
        .arg(flash_sale())
        .args(["-q", "--duration", "10s", "--out", "/proc/no/such/folder"])
        .assert()
        .code(1);
    let err = stderr(&a);
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
    assert!(err.contains("--out"), "{err}");
}

#[test]
fn a_scenario_named_by_a_dotted_file_cannot_write_outside_out() {
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(flash_sale())
        .unwrap()
        .replace("name = \"flash-sale\"\n", "");
    std::fs::write(tmp.path().join("...toml"), text).unwrap();
    std::fs::write(tmp.path().join("index.html"), "mine").unwrap();
    let a = lab(tmp.path()).args(["run", "...toml", "-q"]).assert().code(1);
    assert!(stderr(&a).contains("add name ="), "{}", stderr(&a));
    assert_eq!(std::fs::read_to_string(tmp.path().join("index.html")).unwrap(), "mine");
    assert!(!tmp.path().join("out").exists());
}

#[test]
fn long_values_are_not_echoed_back_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(flash_sale())
        .unwrap()
        .replace("duration = \"4m\"", &format!("duration = \"{}\"", "4".repeat(300_000)));
    std::fs::write(tmp.path().join("long.toml"), &text).unwrap();
    let a = lab(tmp.path()).args(["check", "long.toml"]).assert().code(1);
    let err = stderr(&a);
    assert!(err.len() < 1_000, "{} bytes", err.len());
    let line = text.lines().position(|l| l.starts_with("duration =")).unwrap() + 1;
    assert!(err.contains(&format!("long.toml:{line}:12: duration:")), "{err}");
}

#[test]
fn a_run_that_would_not_fit_in_memory_is_refused_with_its_estimate() {
    let tmp = tempfile::tempdir().unwrap();
    let mut text = String::from(
        "duration = \"1m\"\n[traffic]\nrate = \"40000/s\"\n[app.endpoints.home]\nsteps = [{ cpu = \"1ms\" }]\n",
    );
    for i in 0..8 {
        text += &format!(
            "[eras.s{i}]\nmodel = \"stone\"\nhost = {{ somaxconn = 1000000 }}\nfpm = {{ pm = \"ondemand\", max_children = 100000, listen_backlog = 1000000 }}\nmysql = {{ max_connections = 100000 }}\n"
        );
    }
    std::fs::write(tmp.path().join("huge.toml"), &text).unwrap();
    let a = lab(tmp.path()).args(["run", "huge.toml", "-q"]).assert().code(1);
    let err = stderr(&a);
    assert!(err.contains("the eras would need about"), "{err}");
    assert!(err.contains("run fewer eras at once (--era)"), "{err}");
    assert!(!tmp.path().join("out").exists());
    // `check` says what each would take, and refuses the whole as `run` does.
    let a = lab(tmp.path()).args(["check", "huge.toml"]).assert().code(1);
    assert!(stderr(&a).contains("the eras would need about"), "{}", stderr(&a));
    let out = String::from_utf8(a.get_output().stdout.clone()).unwrap();
    assert!(
        out.contains("s7: about 2,400,000 requests") || out.contains("s7: about 2.4 million requests"),
        "{out}"
    );
}
