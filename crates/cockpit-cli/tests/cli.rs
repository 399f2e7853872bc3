//! The `cockpit` binary against the embedded mock: output, exit codes, and bad input.

use std::process::Stdio;

use cockpit_mock::{ErrorBody, Outcome};
use cockpit_test_support::{
    CORRELATION, CUSTOMER, PROVIDER_INSTANCE, TENANT, TOKEN, USER,
    cli::{self, Run},
    cli_env,
};

/// Runs the binary with only the given environment, feeding `stdin`.
async fn cockpit(args: &[&str], env: &[(&str, &str)], stdin: &str) -> Run {
    cockpit_writing_to(args, env, stdin, Stdio::piped()).await
}

/// Runs the binary as [`cockpit`] does, with its stdout going to `stdout`.
async fn cockpit_writing_to(
    args: &[&str],
    env: &[(&str, &str)],
    stdin: &str,
    stdout: Stdio,
) -> Run {
    cli::run(
        env!("CARGO_BIN_EXE_cockpit"),
        args,
        env.iter().copied(),
        stdin,
        stdout,
    )
    .await
}

/// A reset-password run against `base`, with `extra` flags, its stdout going to `stdout`.
async fn run_writing_to(base: &str, extra: &[&str], stdin: &str, stdout: Stdio) -> Run {
    let mut args = vec![
        "reset-password",
        "--customer-id",
        CUSTOMER,
        "--user-id",
        USER,
        "--provider-instance-id",
        PROVIDER_INSTANCE,
        "--no-retry",
    ];
    args.extend_from_slice(extra);
    let env = cli_env(base);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    cockpit_writing_to(&args, &env, stdin, stdout).await
}

async fn run_with(base: &str, extra: &[&str], stdin: &str) -> Run {
    run_writing_to(base, extra, stdin, Stdio::piped()).await
}

const USER_FLAGS: &[&str] = &[
    "--display-name",
    "Ada Lovelace",
    "--email",
    "ada@contoso.example",
    "--location",
    "PT",
    "--domain",
    "contoso.example",
];

#[tokio::test(flavor = "multi_thread")]
async fn success_prints_the_outcome_and_sends_the_documented_request() {
    let mock = cockpit_test_support::mock().await;
    mock.expect_reset_password().respond(Outcome::Ok).await;
    let mut flags = USER_FLAGS.to_vec();
    flags.extend(["--correlation-id", CORRELATION]);
    let run = run_with(&mock.uri(), &flags, "").await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        run.stdout,
        format!(
            "password reset for customer user {USER} of customer {CUSTOMER} (status 200, correlation id {CORRELATION})\n"
        )
    );
    let received = mock.received_resets().await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].param("customerId"), Some(CUSTOMER));
    assert_eq!(received[0].param("customerUserId"), Some(USER));
    assert_eq!(received[0].tenant.as_deref(), Some(TENANT));
    assert_eq!(received[0].correlation_id.as_deref(), Some(CORRELATION));
    assert!(received[0].has_bearer_token(TOKEN));
    assert_eq!(
        received[0].body,
        serde_json::json!({
            "providerInstanceId": PROVIDER_INSTANCE,
            "customerUser": {
                "displayName": "Ada Lovelace", "email": "ada@contoso.example",
                "location": "PT", "domain": "contoso.example"
            }
        })
    );
}

/// After the reset, stdout fails (here /dev/full: every write is "no space left"). The
/// result must not be lost, or an operator would send the reset again to learn whether it
/// went through: exit 7, the result on stderr, and one request.
#[tokio::test(flavor = "multi_thread")]
async fn a_result_that_stdout_cannot_take_goes_to_stderr_with_exit_7() {
    let mock = cockpit_test_support::mock().await;
    mock.expect_reset_password().respond(Outcome::Ok).await;
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full, which Linux provides");
    let mut flags = USER_FLAGS.to_vec();
    flags.extend(["--correlation-id", CORRELATION]);
    let run = run_writing_to(&mock.uri(), &flags, "", Stdio::from(full)).await;
    assert_eq!(run.code, Some(7), "{}", run.stderr);
    assert!(
        run.stderr
            .starts_with("error: could not write the result to stdout: No space left on device"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!(
            "the call succeeded: password reset for customer user {USER} of customer {CUSTOMER} (status 200, correlation id {CORRELATION})"
        )),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert_eq!(mock.received_resets().await.len(), 1);

    // With --json, stderr carries the same as one JSON object, the result in it.
    flags.push("--json");
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let run = run_writing_to(&mock.uri(), &flags, "", Stdio::from(full)).await;
    assert_eq!(run.code, Some(7), "{}", run.stderr);
    let err: serde_json::Value = serde_json::from_str(&run.stderr).unwrap();
    assert_eq!(err["error"]["kind"], "output");
    assert_eq!(err["error"]["result"]["outcome"], "reset");
    assert_eq!(err["error"]["result"]["correlationId"], CORRELATION);
    assert_eq!(mock.received_resets().await.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn json_output_and_the_user_from_stdin() {
    let mock = cockpit_test_support::mock().await;
    mock.expect_reset_password().respond(Outcome::Ok).await;
    let user = r#"{"displayName":"Ada","email":null,"location":"PT","domain":"contoso.example","temporaryPassword":"Temp-Pa55!"}"#;
    let run = run_with(&mock.uri(), &["--user-json", "-", "--json"], user).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let out: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(out["outcome"], "reset");
    assert_eq!(out["status"], 200);
    assert_eq!(out["customerId"], CUSTOMER);
    assert_eq!(out["attempts"], 1);
    let received = mock.received_resets().await;
    assert_eq!(
        out["correlationId"].as_str(),
        received[0].correlation_id.as_deref()
    );
    assert_eq!(
        received[0].body["customerUser"]["email"],
        serde_json::Value::Null
    );
    assert_eq!(
        received[0].body["customerUser"]["temporaryPassword"],
        "Temp-Pa55!"
    );
    assert!(!run.stdout.contains("Temp-Pa55!"));
}

#[tokio::test(flavor = "multi_thread")]
async fn api_errors_have_distinct_exit_codes_and_say_everything_on_stderr() {
    let body = ErrorBody {
        error_type: Some("ValidationError".into()),
        description: Some("One or more validation errors occurred.".into()),
        errors: vec![(
            "customerUser.email".into(),
            vec!["is required".into(), "is too long".into()],
        )],
    };
    let cases = [
        (
            Outcome::BadRequest(body.clone()),
            5,
            "error: bad request (400): ValidationError: One or more validation errors occurred. (correlation id ",
        ),
        (
            Outcome::Unauthorized,
            3,
            "error: unauthorized (401) (correlation id ",
        ),
        (
            Outcome::Forbidden,
            3,
            "error: forbidden (403) (correlation id ",
        ),
        (
            Outcome::NotFound(body.clone()),
            4,
            "error: not found (404): ValidationError",
        ),
        (
            Outcome::ServerError(body.clone()),
            5,
            "error: server error (500): ValidationError",
        ),
    ];
    for (outcome, code, first_line) in cases {
        let mock = cockpit_test_support::mock().await;
        mock.expect_reset_password().respond(outcome).await;
        let run = run_with(&mock.uri(), USER_FLAGS, "").await;
        assert_eq!(run.code, Some(code), "{}", run.stderr);
        assert!(run.stderr.starts_with(first_line), "{}", run.stderr);
        assert!(run.stdout.is_empty());
        let id = mock.received_resets().await[0]
            .correlation_id
            .clone()
            .unwrap();
        assert!(
            run.stderr.contains(&format!("correlation id: {id}")),
            "{}",
            run.stderr
        );
        if code != 3 {
            assert!(
                run.stderr
                    .contains("  customerUser.email: is required; is too long\n"),
                "{}",
                run.stderr
            );
        }
    }

    // The same, as JSON.
    let mock = cockpit_test_support::mock().await;
    mock.expect_reset_password()
        .respond(Outcome::BadRequest(body))
        .await;
    let mut flags = USER_FLAGS.to_vec();
    flags.push("--json");
    let run = run_with(&mock.uri(), &flags, "").await;
    assert_eq!(run.code, Some(5));
    let err: serde_json::Value = serde_json::from_str(&run.stderr).unwrap();
    assert_eq!(err["error"]["kind"], "bad request");
    assert_eq!(err["error"]["status"], 400);
    assert_eq!(err["error"]["type"], "ValidationError");
    assert_eq!(
        err["error"]["errors"][0]["propertyName"],
        "customerUser.email"
    );
    assert_eq!(err["error"]["errors"][0]["description"][1], "is too long");
    let id = mock.received_resets().await[0]
        .correlation_id
        .clone()
        .unwrap();
    assert_eq!(err["error"]["correlationId"], id.as_str());
    assert_eq!(err["error"]["code"], "bad_request");
}

/// ASP.NET Core's validation answer (RFC 9457 problem details, `errors` as an object of
/// arrays) reads into the same error: the title as the description, the trace id kept, and
/// each field error shown in the text, not a cut of the body.
#[tokio::test(flavor = "multi_thread")]
async fn problem_details_show_their_field_errors_in_text_and_json() {
    let problem = serde_json::json!({
        "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
        "title": "One or more validation errors occurred.",
        "status": 400,
        "traceId": "00-84c1fd4063c38d9f3900d06e56542d48-85d1d4-00",
        "errors": {
            "CustomerUser.DisplayName": [
                "The field DisplayName must be a string with a maximum length of 50."
            ],
            "ProviderInstanceId": ["The ProviderInstanceId field is required.", "It is not a GUID."]
        }
    });
    for json_output in [false, true] {
        let mock = cockpit_test_support::mock().await;
        mock.expect_reset_password()
            .respond(Outcome::Raw {
                status: 400,
                body: problem.to_string(),
                content_type: "application/problem+json".into(),
            })
            .await;
        let mut flags = USER_FLAGS.to_vec();
        if json_output {
            flags.push("--json");
        }
        let run = run_with(&mock.uri(), &flags, "").await;
        assert_eq!(run.code, Some(5), "{}", run.stderr);
        if json_output {
            let err: serde_json::Value = serde_json::from_str(&run.stderr).unwrap();
            assert_eq!(err["error"]["code"], "bad_request");
            assert_eq!(
                err["error"]["title"],
                "One or more validation errors occurred."
            );
            assert_eq!(
                err["error"]["description"],
                "One or more validation errors occurred."
            );
            assert_eq!(
                err["error"]["traceId"],
                "00-84c1fd4063c38d9f3900d06e56542d48-85d1d4-00"
            );
            assert_eq!(
                err["error"]["errors"][1]["propertyName"],
                "ProviderInstanceId"
            );
            assert_eq!(
                err["error"]["errors"][1]["description"][1],
                "It is not a GUID."
            );
        } else {
            assert!(
                run.stderr.starts_with(
                    "error: bad request (400): https://tools.ietf.org/html/rfc9110#section-15.5.1: \
                     One or more validation errors occurred."
                ),
                "{}",
                run.stderr
            );
            assert!(
                run.stderr.contains(
                    "\n  CustomerUser.DisplayName: The field DisplayName must be a string with a maximum length of 50.\n"
                ),
                "{}",
                run.stderr
            );
            assert!(
                run.stderr.contains(
                    "\n  ProviderInstanceId: The ProviderInstanceId field is required.; It is not a GUID.\n"
                ),
                "{}",
                run.stderr
            );
            assert!(!run.stderr.contains("body:"), "{}", run.stderr);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn transport_and_authentication_failures() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let refused = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);

    let run = run_with(&refused, USER_FLAGS, "").await;
    assert_eq!(run.code, Some(6), "{}", run.stderr);
    assert!(
        run.stderr
            .starts_with("error: connection failed: could not connect: "),
        "{}",
        run.stderr
    );
    // The error's own words carry the cause.
    assert!(
        run.stderr.to_lowercase().contains("connection refused"),
        "{}",
        run.stderr
    );

    // Client credentials whose token endpoint refuses the connection: nothing reaches the API.
    let mock = cockpit_test_support::mock().await;
    let args = [
        "reset-password",
        "--customer-id",
        CUSTOMER,
        "--user-id",
        USER,
        "--provider-instance-id",
        PROVIDER_INSTANCE,
        "--no-retry",
        "--display-name",
        "Ada",
    ];
    let token_url = format!("{refused}/token");
    let base = mock.uri();
    let env = [
        ("COCKPIT_BASE_URL", base.as_str()),
        ("COCKPIT_TENANT", TENANT),
        ("COCKPIT_CLIENT_ID", "app"),
        ("COCKPIT_CLIENT_SECRET", TOKEN),
        ("COCKPIT_TOKEN_URL", token_url.as_str()),
    ];
    let run = cockpit(&args, &env, "").await;
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    assert!(
        run.stderr.starts_with(
            "error: authentication failed: could not reach the token endpoint 127.0.0.1: "
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.to_lowercase().contains("connection refused"),
        "{}",
        run.stderr
    );
    assert!(mock.received_resets().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_exits_2_and_sends_nothing() {
    let mock = cockpit_test_support::mock().await;
    mock.expect_reset_password().respond(Outcome::Ok).await;
    let base = mock.uri();
    let long = "x".repeat(51);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--display-name", &long],
            "error: invalid input: customerUser.displayName: longer than 50 characters",
        ),
        (
            vec!["--user-json", "-"],
            "error: the user JSON from \"-\" is not a customerUser object",
        ),
        (
            vec!["--user-json", "/nonexistent/user.json"],
            "error: reading the user JSON from \"/nonexistent/user.json\"",
        ),
        (
            vec!["--temporary-password-env", "COCKPIT_UNSET_VAR"],
            "error: --temporary-password-env names \"COCKPIT_UNSET_VAR\", which is not set",
        ),
        (
            vec!["--correlation-id", "not-a-uuid"],
            "error: invalid value 'not-a-uuid' for '--correlation-id <CORRELATION_ID>'",
        ),
    ];
    for (extra, expected) in cases {
        let run = run_with(&base, &extra, "{\"displayName\": 5}").await;
        assert_eq!(run.code, Some(2), "{extra:?}: {}", run.stderr);
        assert!(
            run.stderr.starts_with(expected),
            "{extra:?}: {}",
            run.stderr
        );
    }

    let run = cockpit(
        &[
            "reset-password",
            "--customer-id",
            "nope",
            "--user-id",
            USER,
            "--provider-instance-id",
            PROVIDER_INSTANCE,
        ],
        &[
            ("COCKPIT_BASE_URL", base.as_str()),
            ("COCKPIT_TENANT", "t"),
            ("COCKPIT_TOKEN", TOKEN),
        ],
        "",
    )
    .await;
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr
            .contains("invalid value 'nope' for '--customer-id <CUSTOMER_ID>'"),
        "{}",
        run.stderr
    );

    let ids = [
        "reset-password",
        "--customer-id",
        CUSTOMER,
        "--user-id",
        USER,
        "--provider-instance-id",
        PROVIDER_INSTANCE,
    ];
    let env_cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![
                ("COCKPIT_BASE_URL", base.as_str()),
                ("COCKPIT_TENANT", "portal\r\nX-Evil: 1"),
                ("COCKPIT_TOKEN", TOKEN),
            ],
            "error: invalid configuration: tenant \"portal\\r\\nX-Evil: 1\" has a character that X-Tenant cannot carry",
        ),
        (
            vec![
                ("COCKPIT_BASE_URL", "http://api.cloudcockpit.com"),
                ("COCKPIT_TENANT", "t"),
                ("COCKPIT_TOKEN", TOKEN),
            ],
            "error: invalid configuration: base URL \"http://api.cloudcockpit.com\" is plain http",
        ),
        (
            vec![
                ("COCKPIT_BASE_URL", base.as_str()),
                ("COCKPIT_TENANT", "t"),
                ("COCKPIT_TOKEN", "tok\nen"),
            ],
            "error: invalid configuration: bearer token is empty or has a character that an HTTP header cannot carry",
        ),
        (
            vec![("COCKPIT_BASE_URL", base.as_str()), ("COCKPIT_TENANT", "t")],
            "error: invalid configuration: no credentials: set COCKPIT_TOKEN, or COCKPIT_CLIENT_ID and COCKPIT_CLIENT_SECRET",
        ),
        (
            vec![
                ("COCKPIT_BASE_URL", base.as_str()),
                ("COCKPIT_TOKEN", TOKEN),
            ],
            "error: invalid configuration: no tenant: set COCKPIT_TENANT",
        ),
    ];
    for (env, expected) in env_cases {
        let run = cockpit(&ids, &env, "").await;
        assert_eq!(run.code, Some(2), "{env:?}: {}", run.stderr);
        assert!(run.stderr.starts_with(expected), "{env:?}: {}", run.stderr);
    }
    assert!(mock.received_resets().await.is_empty(), "nothing was sent");
}

#[tokio::test(flavor = "multi_thread")]
async fn help_has_examples_and_the_exit_codes() {
    let run = cockpit(&["reset-password", "--help"], &[], "").await;
    assert_eq!(run.code, Some(0));
    assert!(run.stdout.contains("Examples:"), "{}", run.stdout);
    assert!(run.stdout.contains("--user-json"));
    assert!(run.stdout.contains("[env: COCKPIT_TENANT="));
    let run = cockpit(&["--help"], &[("COCKPIT_TOKEN", TOKEN)], "").await;
    assert!(
        run.stdout.contains("4  not found: the API answered 404"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("7  done, but the result could not be written to stdout"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("[env: COCKPIT_TOKEN]"),
        "the token's value is hidden: {}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn odd_token_lifetimes_and_types_never_panic_the_tool() {
    let cases = [
        (serde_json::json!(u64::MAX), "Bearer", Some(0)),
        (serde_json::json!(0), "Bearer", Some(0)),
        (serde_json::json!(-1), "Bearer", Some(3)),
        (serde_json::json!(1e300), "BEARER", Some(0)),
        (serde_json::json!(3599), "mac", Some(3)),
    ];
    for (expires_in, token_type, code) in cases {
        let tokens = cockpit_test_support::answering(
            wiremock::ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "token_type": token_type, "expires_in": expires_in, "access_token": "issued"
            })),
        )
        .await;
        let mock = cockpit_test_support::mock().await;
        // The token comes from a token endpoint of the test's own, not the mock's.
        mock.accept_token("issued");
        mock.expect_reset_password().respond(Outcome::Ok).await;
        let base = mock.uri();
        let token_url = format!("{}/token", tokens.uri());
        let env = [
            ("COCKPIT_BASE_URL", base.as_str()),
            ("COCKPIT_TENANT", TENANT),
            ("COCKPIT_CLIENT_ID", "app"),
            ("COCKPIT_CLIENT_SECRET", TOKEN),
            ("COCKPIT_TOKEN_URL", token_url.as_str()),
        ];
        let mut args = vec![
            "reset-password",
            "--customer-id",
            CUSTOMER,
            "--user-id",
            USER,
            "--provider-instance-id",
            PROVIDER_INSTANCE,
        ];
        args.extend_from_slice(USER_FLAGS);
        let run = cockpit(&args, &env, "").await;
        assert_eq!(run.code, code, "{expires_in} {token_type}: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        let sent = mock.received_resets().await;
        if code == Some(0) {
            assert!(sent[0].has_bearer_token("issued"), "{expires_in}");
        } else {
            assert!(sent.is_empty());
            assert!(
                run.stderr.contains("a token of type \"mac\", not Bearer")
                    || run
                        .stderr
                        .contains("expires_in is -1, not a number of seconds"),
                "{}",
                run.stderr
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn version_names_the_crate_and_the_spec() {
    let run = cockpit(&["--version"], &[], "").await;
    assert_eq!(run.code, Some(0));
    let sha = cockpit::SPEC_SHA256.get(..12).unwrap();
    assert_eq!(
        run.stdout.trim(),
        format!(
            "cockpit {} (spec {}, sha256 {sha})",
            env!("CARGO_PKG_VERSION"),
            cockpit::SPEC_VERSION
        )
    );
    // The hash is of the spec in the repository, as codegen records it.
    let spec =
        std::fs::read_to_string(cockpit_test_support::root().join("openapi/cloudcockpit.yaml"))
            .unwrap();
    assert_eq!(spec, cockpit::SPEC);
    assert_eq!(
        cockpit_test_support::spec::spec()["info"]["version"],
        cockpit::SPEC_VERSION
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn completion_scripts_source_in_bash_and_name_the_generated_subcommands() {
    let run = cockpit(&["completions", "bash"], &[], "").await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let dir = std::env::temp_dir().join(format!("cockpit-completions-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("cockpit.bash");
    std::fs::write(&script, &run.stdout).unwrap();
    // Sourced by a real bash, it registers a completion function for `cockpit`, which
    // offers the conveniences and the subcommands generated from the spec.
    let out = std::process::Command::new("bash")
        .arg("--norc")
        .arg("-c")
        .arg(
            "source \"$1\" && complete -p cockpit && COMP_WORDS=(cockpit list-customer-) \
             COMP_CWORD=1 COMP_LINE='cockpit list-customer-' COMP_POINT=22 && _cockpit cockpit \
             list-customer- cockpit && printf '%s\\n' \"${COMPREPLY[@]}\"",
        )
        .arg("bash")
        .arg(&script)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("-F _cockpit cockpit"), "{stdout}");
    assert!(
        stdout.lines().any(|l| l == "list-customer-users"),
        "{stdout}"
    );
    assert!(
        stdout.lines().any(|l| l == "list-customer-portal-users"),
        "{stdout}"
    );
    for shell in ["zsh", "fish", "powershell"] {
        let run = cockpit(&["completions", shell], &[], "").await;
        assert_eq!(run.code, Some(0), "{shell}: {}", run.stderr);
        assert!(run.stdout.contains("reset-password"), "{shell}");
    }
    let run = cockpit(&["completions", "tcsh"], &[], "").await;
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.contains("invalid value 'tcsh'"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_manual_page_documents_every_subcommand() {
    let run = cockpit(&["man"], &[], "").await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.contains(".TH cockpit 1"), "{}", run.stdout);
    for op in cockpit::OPERATIONS {
        assert!(
            run.stdout.contains(&op.command.replace('-', "\\-")),
            "{} is missing from the manual page",
            op.command
        );
    }
    assert!(run.stdout.contains("reset\\-password"));
}
