//! Runs the `cockpit` binary as an operator would, with only the environment a test gives.

use std::{
    ffi::OsStr,
    io::Write,
    process::{Command, Stdio},
};

use crate::TOKEN;

/// What a run of the binary did.
#[derive(Debug)]
pub struct Run {
    /// The exit code; `None` when a signal ended it.
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs `bin` (a test's `env!("CARGO_BIN_EXE_cockpit")`) with `args` and only the
/// environment `env`, feeding `stdin`, its stdout going to `stdout`. Fails the test if the
/// test token shows on either stream.
pub async fn run<A, K, V>(
    bin: &str,
    args: impl IntoIterator<Item = A>,
    env: impl IntoIterator<Item = (K, V)>,
    stdin: &str,
    stdout: Stdio,
) -> Run
where
    A: AsRef<OsStr>,
    K: AsRef<OsStr>,
    V: AsRef<OsStr>,
{
    let mut cmd = Command::new(bin);
    cmd.env_clear()
        .args(args)
        .envs(env)
        .stdin(Stdio::piped())
        .stdout(stdout)
        .stderr(Stdio::piped());
    let stdin = stdin.to_string();
    let output = tokio::task::spawn_blocking(move || {
        let mut child = cmd.spawn().unwrap();
        // A run that fails before reading its input closes the pipe: not an error here.
        let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let run = Run {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    };
    assert!(
        !run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN),
        "the token leaked: {run:?}"
    );
    run
}
