//! Every operation of the spec as a `cockpit` subcommand, answered by `cockpit-mock`:
//! what went over the wire, what the tool printed, and what a 404 becomes. Nothing here
//! names an operation, so an operation added to the spec is covered by `cargo xtask
//! codegen` alone.

use std::process::Stdio;

use cockpit::{OPERATIONS, Operation, ParamIn};
use cockpit_mock::{ErrorBody, MockCloudCockpit, Outcome};
use cockpit_test_support::{
    CORRELATION, TENANT, TOKEN,
    cli::{self, Run},
    cli_env,
    spec::{self, cli_args, param_value, spec},
};
use serde_json::Value;

/// Runs `cockpit` for `op` against `base` with `--json`, the body on stdin.
async fn run(base: &str, op: &Operation, body: Option<&Value>) -> Run {
    let mut args = cli_args(op);
    args.extend(["--json".into(), "--no-retry".into()]);
    let stdin = body.map(Value::to_string).unwrap_or_default();
    cli::run(
        env!("CARGO_BIN_EXE_cockpit"),
        args,
        cli_env(base),
        &stdin,
        Stdio::piped(),
    )
    .await
}

/// An expectation on `op` for exactly the path and query values the CLI sends.
fn expect<'a>(mock: &'a MockCloudCockpit, op: &'static Operation) -> cockpit_mock::Expectation<'a> {
    op.params
        .iter()
        .filter(|p| matches!(p.location, ParamIn::Path | ParamIn::Query))
        .fold(mock.expect(op).tenant(TENANT).times(1), |e, p| {
            e.param(p.name, param_value(p.name, p.hint))
        })
}

#[tokio::test(flavor = "multi_thread")]
async fn every_operation_is_a_subcommand_that_sends_the_call_and_prints_the_answer() {
    let spec = spec();
    for op in OPERATIONS {
        let mock = cockpit_test_support::mock().await;
        let success = spec::success(&spec, op);
        let outcome = success.clone().map_or(Outcome::Ok, Outcome::Json);
        expect(&mock, op).respond(outcome).await;
        let body = spec::body(&spec, op);

        let run = run(&mock.uri(), op, body.as_ref()).await;
        assert_eq!(run.code, Some(0), "{}: {}", op.id, run.stderr);
        let printed: Value = serde_json::from_str(&run.stdout).unwrap();
        assert_eq!(printed["operation"], op.id);
        assert_eq!(printed["status"], 200);
        assert_eq!(printed["correlationId"], CORRELATION);
        assert_eq!(printed["attempts"], 1);
        // The decoded success, printed with its secrets redacted.
        let mut expected = success.unwrap_or(Value::Null);
        cockpit::redact_secrets(&mut expected);
        assert_eq!(printed["body"], expected, "{}", op.id);

        let received = mock.received(op).await;
        assert_eq!(received.len(), 1, "{}", op.id);
        let req = &received[0];
        assert!(req.has_bearer_token(TOKEN), "{}", op.id);
        assert_eq!(req.tenant.as_deref(), Some(TENANT));
        assert_eq!(req.correlation_id.as_deref(), Some(CORRELATION));
        for p in op.params {
            if matches!(p.location, ParamIn::Path | ParamIn::Query) {
                let sent = param_value(p.name, p.hint);
                assert_eq!(req.param(p.name), Some(sent.as_str()), "{}", op.id);
            }
        }
        // The body went over the wire as the file said, secrets included.
        assert_eq!(req.body, body.unwrap_or(Value::Null), "{}", op.id);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_operation_exits_4_on_a_404_and_says_which_call_failed() {
    let spec = spec();
    for op in OPERATIONS {
        let mock = cockpit_test_support::mock().await;
        expect(&mock, op)
            .respond(Outcome::NotFound(ErrorBody {
                error_type: Some("NotFound".into()),
                description: Some("Nothing here.".into()),
                errors: vec![],
            }))
            .await;
        let run = run(&mock.uri(), op, spec::body(&spec, op).as_ref()).await;
        assert_eq!(run.code, Some(4), "{}: {}", op.id, run.stderr);
        assert!(run.stdout.is_empty(), "{}: {}", op.id, run.stdout);
        assert!(
            run.stderr.contains("Nothing here"),
            "{}: {}",
            op.id,
            run.stderr
        );
        assert!(
            run.stderr.contains(CORRELATION),
            "{}: {}",
            op.id,
            run.stderr
        );
    }
}

/// A `--body-json` body that breaks a documented limit is refused by the SDK's checks
/// before anything is sent (exit 2, naming the property); sent past them, raw, the mock
/// refuses it too (400, naming the property). Over every operation whose body has a
/// limited string, made from the spec.
#[tokio::test(flavor = "multi_thread")]
async fn every_body_over_a_limit_is_refused_before_sending_and_by_the_mock() {
    let spec = spec();
    let mut checked = 0;
    for op in OPERATIONS.iter().filter(|op| op.body.is_some()) {
        let schema =
            &spec::operation(&spec, op)["requestBody"]["content"]["application/json"]["schema"];
        let body = spec::body(&spec, op).unwrap();
        for (at, max) in spec::limited_strings(&spec, schema, &body) {
            let mut long = body.clone();
            *long.pointer_mut(&at).unwrap() = Value::String("x".repeat(max + 1));
            let property = at.trim_start_matches('/').replace('/', ".");
            let mock = cockpit_test_support::mock().await;
            let run = run(&mock.uri(), op, Some(&long)).await;
            assert_eq!(run.code, Some(2), "{}: {at}: {}", op.id, run.stderr);
            assert!(
                run.stderr
                    .contains(&format!("{property}: longer than {max} characters")),
                "{}: {at}: {}",
                op.id,
                run.stderr
            );
            assert!(
                mock.received_all().is_empty(),
                "{}: {at}: nothing was sent",
                op.id
            );

            let (status, answer) = cockpit_test_support::send_raw(
                &mock.uri(),
                op.method.as_str(),
                &spec::path(op),
                &[
                    ("Authorization", &format!("Bearer {TOKEN}")),
                    ("X-Tenant", TENANT),
                    ("Content-Type", "application/json"),
                ],
                &long.to_string(),
            )
            .await;
            assert_eq!(status, 400, "{}: {at}: {answer}", op.id);
            let named: Vec<&str> = answer["errors"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|e| e["propertyName"].as_str())
                .collect();
            assert!(
                named.contains(&property.as_str()),
                "{}: {property}: {answer}",
                op.id
            );
            checked += 1;
        }
    }
    assert!(checked >= 4, "{checked} limited body fields checked");
}
