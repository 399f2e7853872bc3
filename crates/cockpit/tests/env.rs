//! `Client::builder_from_env()` reads the process environment. The variables are set on a
//! child process (this test binary, run again for one test), since setting them in this
//! process would race with the other tests.

use std::process::Command;

use cockpit::Client;

/// Runs [`child`] in a fresh process with only `vars` set, and returns what it printed.
fn in_child(vars: &[(&str, &str)]) -> String {
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child", "--nocapture", "--test-threads=1"])
        .env_clear()
        .envs(vars.iter().copied())
        .env("COCKPIT_ENV_TEST_CHILD", "1")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout.clone()).unwrap();
    stdout
        .lines()
        .find_map(|l| Some(l.split_once("outcome: ")?.1))
        .unwrap_or_else(|| panic!("the child printed no outcome: {output:?}"))
        .to_string()
}

/// The child process's side of [`the_builder_reads_the_process_environment`], not a test
/// of its own: in the parent's run it returns at once. (`#[ignore]` would not keep it out
/// of `cargo xtask test`, which runs ignored tests too.)
#[test]
fn child() {
    if std::env::var_os("COCKPIT_ENV_TEST_CHILD").is_none() {
        return;
    }
    match Client::builder_from_env().build() {
        // On a line of its own, whatever the test harness printed before it.
        Ok(client) => println!("\noutcome: ok {} {}", client.tenant(), client.base_url()),
        Err(e) => println!("\noutcome: {e}"),
    }
}

#[test]
fn the_builder_reads_the_process_environment() {
    assert_eq!(
        in_child(&[
            ("COCKPIT_TENANT", "portal.cloudcockpit.com"),
            ("COCKPIT_TOKEN", "tok-from-env"),
            ("COCKPIT_BASE_URL", "http://127.0.0.1:9"),
        ]),
        "ok portal.cloudcockpit.com http://127.0.0.1:9"
    );
    assert_eq!(
        in_child(&[("COCKPIT_TOKEN", "tok-from-env")]),
        "invalid configuration: no tenant: set COCKPIT_TENANT to the portal's domain, such as portal.cloudcockpit.com"
    );
}
