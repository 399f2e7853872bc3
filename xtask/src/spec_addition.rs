//! `cargo xtask spec-addition`: proves that an operation added to the spec reaches users
//! through `cargo xtask codegen` alone.
//!
//! It copies the workspace (the files git tracks or would track) to
//! `target/spec-addition`, adds to the copy's spec two operations that no code here has
//! seen (a GET with a path and a query parameter and an array answer, and a POST with a
//! body with a length limit), and runs `cargo xtask codegen` there. It then checks that
//! codegen changed only its two generated files, and runs, in the copy:
//!
//! - the tests over every operation of the SDK (`crates/cockpit/tests/operations.rs`) and
//!   the CLI with the mock (`crates/cockpit-cli/tests/operations.rs`), which name no
//!   operation and so cover the new ones;
//! - [`TYPED_TEST`], the one file this job writes besides the spec: the new operations
//!   as typed methods on `cockpit::Client`, answered by `cockpit-mock`, and as CLI
//!   subcommands.
//!
//! The copy builds into a target directory of its own, `target/isolated`,
//! kept between runs. It cannot share this workspace's: cargo hashes a workspace member
//! by its path relative to the workspace root, so the copy's crates would take the place
//! of this workspace's, artifacts and freshness records alike.

use std::{collections::BTreeMap, fs, path::Path, process::Command};

use anyhow::{Context, Result, bail, ensure};

use crate::codegen::{SPEC, workspace_root};

/// Two operations, in the spec's own style, inserted after `paths:`.
const PATHS: &str = r##"  /v1/Probes/{probeId}/readings:
    get:
      operationId: listProbeReadings
      summary: Lists the readings of a probe
      parameters:
        - $ref: "#/components/parameters/XTenant"
        - $ref: "#/components/parameters/XCorrelationId"
        - name: probeId
          in: path
          required: true
          description: GUID Unique identifier for the probe.
          schema:
            type: string
            format: uuid
        - name: since
          in: query
          description: Only the readings after this one.
          schema:
            type: integer
            format: int32
      responses:
        "200":
          description: OK
          content:
            application/json:
              schema:
                type: array
                items:
                  $ref: "#/components/schemas/ProbeReading"
        "404":
          $ref: "#/components/responses/NotFound"
    post:
      operationId: addProbeReading
      summary: Adds a reading to a probe
      parameters:
        - $ref: "#/components/parameters/XTenant"
        - $ref: "#/components/parameters/XCorrelationId"
        - name: probeId
          in: path
          required: true
          description: GUID Unique identifier for the probe.
          schema:
            type: string
            format: uuid
      requestBody:
        required: true
        content:
          application/json:
            schema:
              $ref: "#/components/schemas/ProbeReading"
      responses:
        "200":
          description: OK
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/ProbeReading"
        "400":
          $ref: "#/components/responses/BadRequest"
"##;

/// The schema the two operations use, inserted after `  schemas:`.
const SCHEMAS: &str = r#"    ProbeReading:
      type: object
      required:
        - label
      properties:
        label:
          type: string
          maxLength: 20
        value:
          type: number
          format: double
        unit:
          type: string
          enum: [C, F]
"#;

/// The typed test, written to `crates/cockpit-cli/tests/added_operation.rs` in the copy.
const TYPED_TEST: &str = r#"//! Written by `cargo xtask spec-addition` into its copy of the workspace.

use cockpit::{ErrorKind, operations};
use cockpit_mock::{MockCloudCockpit, Outcome};
use cockpit_test_support::{CORRELATION, CUSTOMER, cli, cli_env, uuid};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn added_operations_are_typed_methods_mock_expectations_and_subcommands() {
    // A mock that also accepts the test token, which the CLI below sends.
    let mock = cockpit_test_support::mock().await;
    mock.expect(&operations::LIST_PROBE_READINGS)
        .param("probeId", CUSTOMER)
        .param("since", 3)
        .respond(Outcome::Json(json!([{"label": "a", "value": 1.5, "unit": "K", "site": "north"}])))
        .await;
    let done = mock
        .client()
        .list_probe_readings()
        .probe_id(uuid(CUSTOMER))
        .since(3)
        .correlation_id(uuid(CORRELATION))
        .send()
        .await
        .unwrap();
    let readings: Vec<cockpit::types::ProbeReading> = done.value;
    assert_eq!(readings[0].label.as_deref(), Some("a"));
    assert_eq!(readings[0].value, Some(1.5));
    // Read tolerantly: an enum value the spec does not list is kept, and so is an unknown
    // property.
    assert_eq!(readings[0].unit, Some(cockpit::Open::Unknown("K".into())));
    assert_eq!(readings[0].extra["site"], "north");
    assert_eq!(done.correlation_id, uuid(CORRELATION));
    let received = mock.received(&operations::LIST_PROBE_READINGS).await;
    assert_eq!(received.len(), 1);
    assert!(received[0].has_bearer_token(MockCloudCockpit::TOKEN));
    assert_eq!(received[0].tenant.as_deref(), Some(MockCloudCockpit::TENANT));
    assert_eq!(received[0].correlation_id.as_deref(), Some(CORRELATION));

    // The spec's length limit is checked before sending.
    let err = mock
        .client()
        .add_probe_reading()
        .probe_id(uuid(CUSTOMER))
        .label("x".repeat(21))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.to_string().contains("label"), "{err}");
    assert!(mock.received(&operations::ADD_PROBE_READING).await.is_empty());

    // A 404 is NotFound with the API's body and the correlation id.
    let err = mock
        .client()
        .list_probe_readings()
        .probe_id(uuid(cockpit_test_support::USER))
        .correlation_id(uuid(CORRELATION))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.correlation_id(), Some(uuid(CORRELATION)));

    // The CLI has the subcommand, with its flags.
    let run = cli::run(
        env!("CARGO_BIN_EXE_cockpit"),
        ["list-probe-readings", "--probe-id", CUSTOMER, "--since", "3"],
        cli_env(&mock.uri()),
        "",
        std::process::Stdio::piped(),
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let printed: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(printed, json!([{"label": "a", "value": 1.5, "unit": "K", "site": "north"}]));
}
"#;

/// Runs the job; fails if any step does.
pub(crate) fn run() -> Result<()> {
    let root = workspace_root();
    let copy = root.join("target/spec-addition");
    if copy.exists() {
        fs::remove_dir_all(&copy).with_context(|| format!("removing {}", copy.display()))?;
    }
    let before = copy_workspace(&root, &copy)?;
    println!("copied the workspace to target/spec-addition");

    let spec_path = copy.join(SPEC);
    let spec = fs::read_to_string(&spec_path)?;
    let spec = insert_after(&spec, "paths:\n", PATHS)?;
    let spec = insert_after(&spec, "  schemas:\n", SCHEMAS)?;
    fs::write(&spec_path, spec)?;
    println!("added listProbeReadings and addProbeReading to the copy's spec");

    cargo(&copy, &["xtask", "codegen"], &root)?;
    let changed = changed_files(&copy, &before)?;
    let expected = [
        "crates/cockpit/src/generated_ops.rs",
        "crates/generated/src/generated_sdk.rs",
        SPEC,
    ];
    ensure!(
        changed == expected,
        "codegen should change only the spec and its two generated files; changed: {changed:?}"
    );
    println!("codegen changed only: {}", changed.join(", "));

    fs::write(
        copy.join("crates/cockpit-cli/tests/added_operation.rs"),
        TYPED_TEST,
    )?;
    cargo(
        &copy,
        &[
            "test",
            "--locked",
            "-p",
            "cockpit",
            "--test",
            "operations",
            "-p",
            "cockpit-cli",
            "--test",
            "operations",
            "--test",
            "added_operation",
        ],
        &root,
    )?;
    println!("spec-addition: the added operations work through the SDK, the CLI and the mock");
    Ok(())
}

/// Copies the files git lists (tracked, and untracked but not ignored) from `root` to
/// `copy`; returns their contents, by path.
fn copy_workspace(root: &Path, copy: &Path) -> Result<BTreeMap<String, Vec<u8>>> {
    let output = Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .current_dir(root)
        .output()
        .context("starting git")?;
    ensure!(output.status.success(), "git ls-files failed");
    let mut files = BTreeMap::new();
    for name in output.stdout.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let name = String::from_utf8(name.to_vec())?;
        let from = root.join(&name);
        // A file deleted in the working tree but not yet in the index.
        if !from.is_file() {
            continue;
        }
        let to = copy.join(&name);
        fs::create_dir_all(to.parent().context("a listed file has a parent")?)?;
        let bytes = fs::read(&from).with_context(|| format!("reading {name}"))?;
        fs::write(&to, &bytes)?;
        files.insert(name, bytes);
    }
    Ok(files)
}

/// The copied files whose contents differ now, sorted.
fn changed_files(copy: &Path, before: &BTreeMap<String, Vec<u8>>) -> Result<Vec<String>> {
    let mut changed = Vec::new();
    for (name, bytes) in before {
        if fs::read(copy.join(name))? != *bytes {
            changed.push(name.clone());
        }
    }
    Ok(changed)
}

fn insert_after(text: &str, anchor: &str, insert: &str) -> Result<String> {
    let Some(at) = text.find(anchor) else {
        bail!("{SPEC} has no line {anchor:?}");
    };
    let at = at + anchor.len();
    Ok(format!("{}{insert}{}", &text[..at], &text[at..]))
}

/// Runs cargo in `dir`, building into `target/isolated` under `root`.
fn cargo(dir: &Path, args: &[&str], root: &Path) -> Result<()> {
    println!("(in target/spec-addition) $ cargo {}", args.join(" "));
    let status = Command::new("cargo")
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", root.join("target/isolated"))
        .status()
        .context("starting cargo")?;
    ensure!(
        status.success(),
        "`cargo {}` failed ({status})",
        args.join(" ")
    );
    Ok(())
}
