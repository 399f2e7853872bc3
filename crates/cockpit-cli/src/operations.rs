//! A subcommand for every operation of the spec, made from `cockpit::OPERATIONS` when the
//! tool starts: the kebab-case of its operationId, a flag per parameter (the kebab-case of
//! its API name), and `--body-json JSON|FILE|-` for its body. Each flag's value is read as the
//! spec's type says, within the spec's limits, which its help names. Nothing here names an
//! operation or a limit, so an operation added to the spec is a subcommand after
//! `cargo xtask codegen`, and a limit changed there changes `--help` and the check.

use clap::{Arg, ArgMatches, Command};
use cockpit::{Kind, OPERATIONS, Operation, Uuid};
use serde_json::json;

use crate::{Connection, Failure, Out, read_source};

/// The operation whose subcommand is `name`.
pub(crate) fn find(name: &str) -> Option<&'static Operation> {
    Operation::find_command(name)
}

/// `cli` with a subcommand for every operation.
pub(crate) fn with_operations(cli: Command) -> Command {
    cli.subcommands(OPERATIONS.iter().map(|op| subcommand(op)))
}

fn subcommand(op: &'static Operation) -> Command {
    let mut cmd = Command::new(op.command)
        .about(format!("{} ({} {})", op.summary, op.method, op.path))
        .long_about(format!(
            "{}\n\nSends {} {} (operation {}), generated from the spec.{}",
            op.summary,
            op.method,
            op.path,
            op.id,
            if op.idempotent {
                " Idempotent: also retried after a timeout, a broken connection or a 5xx."
            } else {
                " Not idempotent: retried only when the server provably did not process it."
            }
        ))
        .next_help_heading("Operation");
    for p in op.params {
        let limits = p.limits.describe();
        let mut arg = Arg::new(p.name)
            .long(p.flag)
            .value_name(p.hint.to_ascii_uppercase())
            .required(p.required)
            .help(if limits.is_empty() {
                format!("{} ({})", p.description.trim(), p.name)
            } else {
                format!("{} ({}; {limits})", p.description.trim(), p.name)
            });
        // A whole number is checked by clap against the spec's range, before any call.
        if p.kind == Kind::Integer {
            let parser = clap::value_parser!(i64);
            arg = match (p.limits.minimum, p.limits.maximum) {
                (Some(min), Some(max)) => arg.value_parser(parser.range(min..=max)),
                (Some(min), None) => arg.value_parser(parser.range(min..)),
                (None, Some(max)) => arg.value_parser(parser.range(..=max)),
                (None, None) => arg.value_parser(parser),
            };
        }
        cmd = cmd.arg(arg);
    }
    if op.body.is_some() {
        cmd = cmd.arg(
            Arg::new("body-json")
                .long("body-json")
                .value_name("JSON|FILE|-")
                .required(op.body.is_required())
                .help("The request body as JSON: the JSON itself ({…}), a file, or - for stdin"),
        );
    }
    cmd.arg(
        Arg::new("correlation-id")
            .long("correlation-id")
            .value_name("UUID")
            .value_parser(clap::value_parser!(Uuid))
            .help("The X-Correlation-Id to send; a random one if not given"),
    )
}

/// Calls `op` with the subcommand's flags, and prints its answer: the body as JSON (with
/// secrets redacted), or with `--json` one object with the status, correlation id and
/// attempts beside it.
pub(crate) async fn run(
    conn: &Connection,
    client: &cockpit::Client,
    op: &'static Operation,
    matches: &ArgMatches,
    out: &mut Out,
) -> Result<(), Failure> {
    let mut call = client.call(op);
    for p in op.params {
        if p.kind == Kind::Integer {
            if let Some(value) = matches.get_one::<i64>(p.name) {
                call = call.param_json(p.name, (*value).into());
            }
        } else if let Some(value) = matches.get_one::<String>(p.name) {
            call = call.param(p.name, value);
        }
    }
    if op.body.is_some()
        && let Some(source) = matches.get_one::<String>("body-json")
    {
        let text = read_source(source, "the body JSON").map_err(Failure::Usage)?;
        let body = serde_json::from_str(&text).map_err(|e| {
            Failure::Usage(anyhow::anyhow!("the body from {source:?} is not JSON: {e}"))
        })?;
        call = call.body_json(body);
    }
    if let Some(id) = matches.get_one::<Uuid>("correlation-id") {
        call = call.correlation_id(*id);
    }
    let mut done = call.send().await?;
    out.answered(&done);
    cockpit::redact_secrets(&mut done.value);
    let result = if conn.json {
        json!({
            "operation": op.id,
            "status": done.status.as_u16(),
            "correlationId": done.correlation_id,
            "attempts": done.attempts,
            "body": done.value,
        })
        .to_string()
    } else if done.value.is_null() {
        format!(
            "{}: done (status {}, correlation id {})",
            op.id,
            done.status.as_u16(),
            done.correlation_id
        )
    } else {
        serde_json::to_string_pretty(&done.value).unwrap_or_else(|_| done.value.to_string())
    };
    out.line(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_is_a_subcommand_with_its_parameters() {
        let cli = with_operations(Command::new("cockpit"));
        for op in OPERATIONS {
            let sub = cli
                .find_subcommand(op.command)
                .unwrap_or_else(|| panic!("{} has no subcommand", op.id));
            for p in op.params {
                let arg = sub
                    .get_arguments()
                    .find(|a| a.get_id() == p.name)
                    .unwrap_or_else(|| panic!("{}: no flag for {}", op.id, p.name));
                assert_eq!(arg.get_long(), Some(p.flag));
                assert_eq!(arg.is_required_set(), p.required);
                let limits = p.limits.describe();
                let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
                assert!(
                    help.contains(&limits),
                    "{}: {help:?} names {limits:?}",
                    p.name
                );
            }
            assert_eq!(find(op.command), Some(*op));
        }
        // A whole-number flag is held to the spec's range before any call.
        let list = cli
            .clone()
            .find_subcommand("list-customer-users")
            .unwrap()
            .clone();
        let refused = list
            .try_get_matches_from([
                "list-customer-users",
                "--customer-id",
                "x",
                "--provider-instance-id",
                "y",
                "--page-size",
                "2001",
            ])
            .unwrap_err()
            .to_string();
        assert!(refused.contains("2001 is not in 1..=2000"), "{refused}");
        let op = Operation::find("resetCustomerUserPassword").unwrap();
        assert_eq!(op.command, "reset-customer-user-password");
        assert_eq!(op.param("customerId").unwrap().flag, "customer-id");
    }
}
