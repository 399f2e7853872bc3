//! A subcommand for every operation of the spec, made from `cockpit::OPERATIONS` when the
//! tool starts: the kebab-case of its operationId, a flag per parameter (the kebab-case of
//! its API name), and `--body-json FILE|-` for its body. Nothing here names an operation,
//! so an operation added to the spec is a subcommand after `cargo xtask codegen`.

use clap::{Arg, ArgMatches, Command};
use cockpit::{OPERATIONS, Operation, Uuid};
use serde_json::json;

use crate::{Connection, Failure, client, print_result, read_source};

/// `resetCustomerUserPassword` → `reset-customer-user-password`.
pub(crate) fn kebab(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The operation whose subcommand is `name`.
pub(crate) fn find(name: &str) -> Option<&'static Operation> {
    OPERATIONS.iter().copied().find(|op| kebab(op.id) == name)
}

/// `cli` with a subcommand for every operation.
pub(crate) fn with_operations(cli: Command) -> Command {
    cli.subcommands(OPERATIONS.iter().map(|op| subcommand(op)))
}

fn subcommand(op: &'static Operation) -> Command {
    let mut cmd = Command::new(kebab(op.id))
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
        cmd = cmd.arg(
            Arg::new(p.name)
                .long(kebab(p.name))
                .value_name(p.hint.to_ascii_uppercase())
                .required(p.required)
                .help(format!("{} ({})", p.description.trim(), p.name)),
        );
    }
    if op.body {
        cmd = cmd.arg(
            Arg::new("body-json")
                .long("body-json")
                .value_name("FILE|-")
                .required(op.body_required)
                .help("The request body as JSON, from a file or - for stdin"),
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
    op: &'static Operation,
    matches: &ArgMatches,
) -> Result<(), Failure> {
    let client = client(conn)?;
    let mut call = client.call(op);
    for p in op.params {
        if let Some(value) = matches.get_one::<String>(p.name) {
            call = call.param(p.name, value);
        }
    }
    if op.body
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
    print_result(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_is_a_subcommand_with_its_parameters() {
        let cli = with_operations(Command::new("cockpit"));
        for op in OPERATIONS {
            let sub = cli
                .find_subcommand(kebab(op.id))
                .unwrap_or_else(|| panic!("{} has no subcommand", op.id));
            for p in op.params {
                let arg = sub
                    .get_arguments()
                    .find(|a| a.get_id() == p.name)
                    .unwrap_or_else(|| panic!("{}: no flag for {}", op.id, p.name));
                assert_eq!(arg.get_long(), Some(kebab(p.name).as_str()));
                assert_eq!(arg.is_required_set(), p.required);
            }
            assert_eq!(find(&kebab(op.id)), Some(*op));
        }
        assert_eq!(
            kebab("resetCustomerUserPassword"),
            "reset-customer-user-password"
        );
        assert_eq!(kebab("customerId"), "customer-id");
    }
}
