//! `cockpit`, the command-line tool for the CloudCockpit API.

use std::{
    io::{Read, Write},
    process::ExitCode,
};

use anyhow::Context;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use cockpit::{
    Client, ClientBuilder, Error, ErrorKind, Operation, RetryPolicy, SecretString, Uuid,
    types::{CustomerUser, CustomerUserInput},
};
use serde_json::json;

mod bulk;
mod journal;
mod operations;
mod users;

/// Exit codes, documented in `--help`.
mod exit {
    pub(crate) const INVALID_INPUT: u8 = 2;
    pub(crate) const AUTHENTICATION: u8 = 3;
    pub(crate) const NOT_FOUND: u8 = 4;
    pub(crate) const API_ERROR: u8 = 5;
    pub(crate) const TRANSPORT: u8 = 6;
    pub(crate) const DONE_NOT_SHOWN: u8 = 7;
    pub(crate) const SOME_LINES_FAILED: u8 = 8;
}

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  2  invalid input or usage: nothing was sent
  3  authentication failed: no token, or the API answered 401 or 403
  4  not found: the API answered 404
  5  any other API error: 400, 429 (rate limited), 5xx or an undocumented status
  6  transport failure: timeout, refused or broken connection
  7  done, but the result could not be written to stdout (stderr has it): do not repeat
  8  with --input: some lines failed, were invalid or are in doubt (the summary names them)";

#[derive(Debug, Clone, Parser)]
#[command(
    name = "cockpit",
    version,
    about = "Command-line tool for the CloudCockpit API",
    after_help = EXIT_CODES,
)]
pub(crate) struct Cli {
    #[command(flatten)]
    conn: Connection,
    #[command(flatten)]
    bulk: bulk::Bulk,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Connection")]
pub(crate) struct Connection {
    /// The portal's domain, sent as X-Tenant
    #[arg(long, env = "COCKPIT_TENANT", global = true)]
    tenant: Option<String>,
    /// The API's base URL
    #[arg(long, env = "COCKPIT_BASE_URL", global = true, default_value = cockpit::DEFAULT_BASE_URL)]
    base_url: String,
    /// A bearer token (prefer the environment variable: flags show in process lists)
    #[arg(long, env = "COCKPIT_TOKEN", hide_env_values = true, global = true)]
    token: Option<String>,
    /// The Api Access client id, for Entra client credentials
    #[arg(long, env = "COCKPIT_CLIENT_ID", global = true)]
    client_id: Option<String>,
    /// The Api Access client secret (prefer the environment variable)
    #[arg(
        long,
        env = "COCKPIT_CLIENT_SECRET",
        hide_env_values = true,
        global = true
    )]
    client_secret: Option<String>,
    /// Another token endpoint than CloudCockpit's Entra tenant
    #[arg(long, env = "COCKPIT_TOKEN_URL", global = true)]
    token_url: Option<String>,
    /// Seconds one attempt may take
    #[arg(long, env = "COCKPIT_TIMEOUT", global = true, default_value_t = 30)]
    timeout: u64,
    /// Send each call once, without retries
    #[arg(long, global = true)]
    no_retry: bool,
    /// Print the outcome, and errors, as JSON
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// Say on stderr where an answer differs from the spec (unknown properties, values
    /// over a documented limit), once per operation and property
    #[arg(long, global = true)]
    show_drift: bool,
    /// The most of a success body that is read, in bytes (default 16 MiB); a longer
    /// answer is an error that names this flag
    #[arg(long, value_name = "BYTES", global = true)]
    max_response_body: Option<usize>,
}

/// The hand-written conveniences. Every operation of the spec is also a subcommand of its
/// own, named after its operationId, added from `cockpit::OPERATIONS` (see
/// `operations.rs`).
#[derive(Debug, Clone, Subcommand)]
pub(crate) enum Command {
    /// Reset a customer user's password, with a flag per field (a convenience over
    /// reset-customer-user-password)
    #[command(after_help = "\
Examples:
  # Flags for the user's details:
  COCKPIT_TENANT=portal.cloudcockpit.com COCKPIT_TOKEN=… cockpit reset-password \\
    --customer-id 3f1c9a52-8a7e-4d7c-9a55-0c1e2b3d4f50 \\
    --user-id b0e5f7a1-2c3d-4e5f-8a9b-0c1d2e3f4a5b \\
    --provider-instance-id 5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d \\
    --display-name 'Ada Lovelace' --email ada@contoso.example --location PT --domain contoso.example

  # The user as JSON (the API's customerUser object), from stdin, with client credentials:
  echo '{\"displayName\":\"Ada\",\"email\":null,\"location\":\"PT\",\"domain\":\"contoso.example\"}' |
    COCKPIT_CLIENT_ID=… COCKPIT_CLIENT_SECRET=… cockpit reset-password --user-json - \\
    --customer-id … --user-id … --provider-instance-id … --json")]
    ResetPassword(Box<ResetPassword>),
    /// Customer users: list, get and update (conveniences over list-customer-users,
    /// get-customer-user and update-customer-user)
    #[command(subcommand)]
    Users(users::Users),
    /// Customer licenses: list (a convenience over list-customer-licenses)
    #[command(subcommand)]
    Licenses(users::Licenses),
    /// Print a shell completion script: `cockpit completions bash > /etc/bash_completion.d/cockpit`,
    /// or `source <(cockpit completions bash)` for this shell only
    Completions {
        /// The shell
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), as `cargo xtask man` writes it: `cockpit man | man -l -`
    Man,
}

/// Prints the completion script of `shell` for the whole command, generated subcommands
/// included.
fn completions(sub: &ArgMatches) -> ExitCode {
    let Some(shell) = sub.get_one::<clap_complete::Shell>("shell").copied() else {
        return ExitCode::from(exit::INVALID_INPUT);
    };
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command(), "cockpit", &mut script);
    write_out(&script)
}

/// Prints the manual page of the whole command.
fn man() -> ExitCode {
    let mut page = Vec::new();
    if let Err(e) = clap_mangen::Man::new(command()).render(&mut page) {
        eprintln!("error: could not render the manual page: {e}");
        return ExitCode::FAILURE;
    }
    write_out(&page)
}

/// Writes `bytes` to stdout; a reader that went away is exit code 7, as `--help` says.
fn write_out(bytes: &[u8]) -> ExitCode {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: could not write to stdout: {e}");
            ExitCode::from(exit::DONE_NOT_SHOWN)
        }
    }
}

#[derive(Debug, Clone, Args)]
struct ResetPassword {
    /// The customer (customerId)
    #[arg(long)]
    customer_id: Uuid,
    /// The customer user (customerUserId)
    #[arg(long = "user-id", aliases = ["customer-user-id", "id"])]
    customer_user_id: Uuid,
    /// The provider instance (providerInstanceId)
    #[arg(long)]
    provider_instance_id: Uuid,
    /// The X-Correlation-Id to send; a random one if not given
    #[arg(long)]
    correlation_id: Option<Uuid>,
    /// Get the user first and send its details as customerUser; field flags beside it
    /// override single fields
    #[arg(long, conflicts_with = "user_json")]
    fetch_user: bool,
    /// Print the body that would be sent (temporary password redacted), and send nothing
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    fields: UserFields,
}

/// The customerUser's fields as flags, or the whole object as JSON.
#[derive(Debug, Clone, Args)]
struct UserFields {
    /// The customerUser object as JSON: the JSON itself ({…}), a file, or - for stdin
    /// (instead of the flags below)
    #[arg(long, value_name = "JSON|FILE|-", conflicts_with_all = ["display_name", "email", "first_name", "last_name", "location", "domain", "user_object_id"])]
    user_json: Option<String>,
    // The help of a limited property names the spec's limit, read from the spec.
    #[arg(long, help = user_help("displayName"))]
    display_name: Option<String>,
    #[arg(long, help = user_help("email"))]
    email: Option<String>,
    #[arg(long, help = user_help("firstName"))]
    first_name: Option<String>,
    #[arg(long, help = user_help("lastName"))]
    last_name: Option<String>,
    /// location
    #[arg(long)]
    location: Option<String>,
    /// domain, the customer domain
    #[arg(long)]
    domain: Option<String>,
    /// id, the customer user's GUID inside customerUser
    #[arg(long = "user-object-id")]
    user_object_id: Option<Uuid>,
    /// temporaryPassword (only from the environment, so that it never shows in a process list)
    #[arg(long = "temporary-password-env", value_name = "VAR")]
    temporary_password_env: Option<String>,
}

/// The whole command: the conveniences, a subcommand per operation, and a version that
/// names the spec the tool speaks.
fn command() -> clap::Command {
    operations::with_operations(Cli::command()).version(version())
}

/// `0.2.0 (spec 1.0.0, sha256 1a2b3c4d5e6f)`: the crate's version and the spec it was
/// generated from, by its `info.version` and the start of its SHA-256.
fn version() -> String {
    let sha = cockpit::SPEC_SHA256
        .get(..12)
        .unwrap_or(cockpit::SPEC_SHA256);
    format!(
        "{} (spec {}, sha256 {sha})",
        env!("CARGO_PKG_VERSION"),
        cockpit::SPEC_VERSION
    )
}

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // With --input, the lines give what the command line leaves out: required flags are
    // checked on each line's own command line, not on this one.
    let many = bulk::asked(&args);
    let matches = if many {
        bulk::relaxed(command()).get_matches_from(&args)
    } else {
        command().get_matches_from(&args)
    };
    match matches.subcommand() {
        Some(("completions", sub)) => return completions(sub),
        Some(("man", _)) => return man(),
        _ => {}
    }
    let conn = match Connection::from_arg_matches(&matches) {
        Ok(conn) => conn,
        Err(e) => e.exit(),
    };
    let json = conn.json;
    if conn.show_drift {
        show_drift();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = if many {
        let bulk = match bulk::Bulk::from_arg_matches(&matches) {
            Ok(bulk) => bulk,
            Err(e) => e.exit(),
        };
        runtime.block_on(bulk::run(conn, bulk, args, &matches))
    } else {
        runtime.block_on(async {
            let job = Job::from_matches(&matches).map_err(Failure::Usage)?;
            let client = client(&conn, None)?;
            job.run(&conn, &client, &mut Out::stdout()).await
        })
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(e)) => {
            report_usage(&e, json);
            ExitCode::from(exit::INVALID_INPUT)
        }
        Err(Failure::Api(e)) => {
            report(&e, json);
            ExitCode::from(code_for(&e))
        }
        Err(Failure::Lines(code)) => ExitCode::from(code),
        Err(Failure::NotShown { result, error }) => {
            // The call went through: say so where it can still be read, so that nobody
            // sends it again to find out.
            if json {
                let result: serde_json::Value =
                    serde_json::from_str(&result).unwrap_or(serde_json::Value::String(result));
                eprintln!(
                    "{}",
                    json!({"error": {
                        "kind": "output",
                        "code": "output",
                        "message": format!("could not write the result to stdout: {error}"),
                        "result": result,
                    }})
                );
            } else {
                eprintln!("error: could not write the result to stdout: {error}");
                eprintln!("the call succeeded: {result}");
            }
            ExitCode::from(exit::DONE_NOT_SHOWN)
        }
    }
}

/// What the command line asks for.
#[derive(Clone)]
pub(crate) enum Job {
    /// An operation of the spec, by its generated subcommand.
    Operation(&'static Operation, ArgMatches),
    /// A hand-written convenience.
    Convenience(Box<Cli>),
}

impl Job {
    /// The job that `matches` (of the whole command) asks for.
    pub(crate) fn from_matches(matches: &ArgMatches) -> anyhow::Result<Job> {
        match matches
            .subcommand()
            .and_then(|(name, sub)| operations::find(name).map(|op| (op, sub)))
        {
            Some((op, sub)) => Ok(Job::Operation(op, sub.clone())),
            None => Ok(Job::Convenience(Box::new(Cli::from_arg_matches(matches)?))),
        }
    }

    /// Whether the job changes something, so that a line in doubt is not sent again
    /// unless asked: a generated operation that is not idempotent, a reset, an update.
    pub(crate) fn changes(&self) -> bool {
        match self {
            Job::Operation(op, _) => !op.idempotent,
            Job::Convenience(cli) => matches!(
                cli.command,
                Command::ResetPassword(_) | Command::Users(users::Users::Update(_))
            ),
        }
    }

    /// Runs the job through `client`, writing what it prints to `out`.
    pub(crate) async fn run(
        self,
        conn: &Connection,
        client: &Client,
        out: &mut Out,
    ) -> Result<(), Failure> {
        match self {
            Job::Operation(op, sub) => operations::run(conn, client, op, &sub, out).await,
            Job::Convenience(cli) => run(*cli, client, out).await,
        }
    }
}

pub(crate) enum Failure {
    Usage(anyhow::Error),
    Api(Error),
    /// The call succeeded, and writing its result to stdout failed (a closed pipe, a full
    /// disk).
    NotShown {
        result: String,
        error: std::io::Error,
    },
    /// With --input: the run ended, and printed its summary; the exit code.
    Lines(u8),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Api(e)
    }
}

/// Where a job's output goes: stdout as it comes, or, for one line of --input, a buffer
/// that the run prints with the line's outcome. It also keeps the status and correlation
/// id of the job's last call.
pub(crate) struct Out {
    buffer: Option<Vec<String>>,
    pub(crate) answered: Option<(u16, Uuid)>,
}

impl Out {
    pub(crate) fn stdout() -> Out {
        Out {
            buffer: None,
            answered: None,
        }
    }

    pub(crate) fn buffered() -> Out {
        Out {
            buffer: Some(Vec::new()),
            answered: None,
        }
    }

    /// Prints one result line. On stdout it is not `println!`, which panics when stdout
    /// is closed: the call has happened by now, and a reader that went away is exit code
    /// 7.
    pub(crate) fn line(&mut self, result: String) -> Result<(), Failure> {
        match &mut self.buffer {
            Some(lines) => {
                lines.push(result);
                Ok(())
            }
            None => {
                let mut stdout = std::io::stdout().lock();
                writeln!(stdout, "{result}")
                    .and_then(|()| stdout.flush())
                    .map_err(|error| Failure::NotShown { result, error })
            }
        }
    }

    /// Notes the status and correlation id of a call that went through.
    pub(crate) fn answered<T>(&mut self, done: &cockpit::Response<T>) {
        self.answered = Some((done.status.as_u16(), done.correlation_id));
    }

    /// Records a page's answer: a paged job's line ends with its last page's.
    pub(crate) fn answered_page<T>(&mut self, page: &cockpit::Page<T>) {
        self.answered = Some((page.status.as_u16(), page.correlation_id));
    }

    /// The lines a buffered job printed.
    pub(crate) fn into_lines(self) -> Vec<String> {
        self.buffer.unwrap_or_default()
    }
}

async fn run(cli: Cli, client: &Client, out: &mut Out) -> Result<(), Failure> {
    let args = match cli.command {
        Command::ResetPassword(args) => args,
        Command::Users(users) => return users::run_users(&cli.conn, client, users, out).await,
        Command::Licenses(licenses) => {
            return users::run_licenses(&cli.conn, client, licenses, out).await;
        }
        // `main` prints these before any runtime starts; they make no call.
        Command::Completions { .. } | Command::Man => return Ok(()),
    };
    let user = if args.fetch_user {
        let found = users::fetch(
            client,
            args.customer_id,
            args.customer_user_id,
            Some(args.provider_instance_id),
        )
        .await?
        .value;
        args.fields.apply_to(found).map_err(Failure::Usage)?
    } else {
        customer_user(&args.fields).map_err(Failure::Usage)?
    };
    if args.dry_run {
        return users::print_dry_run(args.provider_instance_id, &user, out);
    }
    let mut call = client
        .reset_customer_user_password()
        .customer_id(args.customer_id)
        .customer_user_id(args.customer_user_id)
        .provider_instance_id(args.provider_instance_id)
        .customer_user(user);
    if let Some(id) = args.correlation_id {
        call = call.correlation_id(id);
    }
    let done = call.send().await?;
    out.answered(&done);
    out.line(users::changed(
        &cli.conn,
        ("reset", "password reset for customer user"),
        &done,
        args.customer_id,
        args.customer_user_id,
    ))
}

/// The client that `conn` describes; with `in_flight`, at most that many calls on the wire.
pub(crate) fn client(conn: &Connection, in_flight: Option<usize>) -> Result<Client, Failure> {
    // The SDK's own reading of the `COCKPIT_*` variables, with each flag in place of its
    // variable (clap has already let a flag win over the environment): one implementation
    // of the precedence and the messages.
    let timeout = conn.timeout.to_string();
    let value = |name: &str| -> Option<&str> {
        match name {
            cockpit::ENV_TENANT => conn.tenant.as_deref(),
            cockpit::ENV_BASE_URL => Some(&conn.base_url),
            cockpit::ENV_TOKEN => conn.token.as_deref(),
            cockpit::ENV_CLIENT_ID => conn.client_id.as_deref(),
            cockpit::ENV_CLIENT_SECRET => conn.client_secret.as_deref(),
            cockpit::ENV_TOKEN_URL => conn.token_url.as_deref(),
            cockpit::ENV_TIMEOUT => Some(&timeout),
            _ => None,
        }
    };
    let mut builder = ClientBuilder::from_vars(|name| value(name).map(Into::into));
    if conn.no_retry {
        builder = builder.retry_policy(RetryPolicy::none());
    }
    if let Some(bytes) = conn.max_response_body {
        builder = builder.max_response_body(bytes);
    }
    if let Some(calls) = in_flight {
        builder = builder.max_in_flight(calls);
    }
    Ok(builder.build()?)
}

/// The JSON behind a `FILE|-` flag: the JSON itself when it starts with `{` or `[` (a file
/// of that name is `./{…}`), stdin for `-`, else the file's text.
fn read_source(source: &str, what: &str) -> anyhow::Result<String> {
    if source.trim_start().starts_with(['{', '[']) {
        Ok(source.to_string())
    } else if source == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .with_context(|| format!("reading {what} from stdin"))?;
        Ok(text)
    } else {
        std::fs::read_to_string(source).with_context(|| format!("reading {what} from {source:?}"))
    }
}

/// The user from `--user-json`, or from the field flags, in the spec's request type: its
/// conversion checks the documented limits, and `--user-json` may hold no property that
/// the spec does not know.
fn customer_user(args: &UserFields) -> anyhow::Result<CustomerUserInput> {
    match &args.user_json {
        Some(source) => {
            let text = read_source(source, "the user JSON")?;
            let mut user = serde_json::from_str::<CustomerUserInput>(&text).with_context(|| {
                format!(
                    "the user JSON from {source:?} is not a customerUser object (displayName, email, \
                     firstName, lastName, location, temporaryPassword, domain, id)"
                )
            })?;
            if let Some(secret) = args.temporary_password()? {
                user.temporary_password = Some(secret);
            }
            Ok(user)
        }
        // Every property of the response type is optional: `{}` is one, with nothing set.
        None => args.apply_to(serde_json::from_str::<CustomerUser>("{}")?),
    }
}

impl UserFields {
    /// The temporary password from the variable that `--temporary-password-env` names.
    fn temporary_password(&self) -> anyhow::Result<Option<cockpit::Secret>> {
        let Some(var) = &self.temporary_password_env else {
            return Ok(None);
        };
        let value = std::env::var(var)
            .with_context(|| format!("--temporary-password-env names {var:?}, which is not set"))?;
        Ok(Some(SecretString::from(value).into()))
    }

    /// `user`, as read from the API (or empty), with every field that a flag gives
    /// replaced, as the request type. Each flag's value is checked against its documented
    /// limit; then the whole user is, so that a stored value that no request may carry
    /// (a display name longer than 50 characters) is named with the flag that replaces it.
    /// The properties the spec does not know, which the answer kept, are not sent back.
    fn apply_to(&self, mut user: CustomerUser) -> anyhow::Result<CustomerUserInput> {
        let mut given = Vec::new();
        for (property, flag, field) in [
            ("displayName", &self.display_name, &mut user.display_name),
            ("email", &self.email, &mut user.email),
            ("firstName", &self.first_name, &mut user.first_name),
            ("lastName", &self.last_name, &mut user.last_name),
            ("location", &self.location, &mut user.location),
            ("domain", &self.domain, &mut user.domain),
        ] {
            if let Some(v) = flag {
                *field = Some(v.clone());
                given.push(property);
            }
        }
        if let Some(v) = self.user_object_id {
            user.id = Some(v);
        }
        if let Some(secret) = self.temporary_password()? {
            user.temporary_password = Some(secret);
        }
        // The limits are the request type's, from the spec: a flag's value and a stored
        // value are checked alike, and told apart in the message.
        CustomerUserInput::try_from(user).map_err(|e| {
            let named: Vec<String> = e
                .to_string()
                .split("; ")
                .map(|problem| {
                    let property = problem.split(':').next().unwrap_or_default();
                    if given.contains(&property) {
                        format!("customerUser.{problem}")
                    } else {
                        format!(
                            "customerUser.{problem} (the value the API holds; give another with --{})",
                            user_flag(property)
                        )
                    }
                })
                .collect();
            anyhow::anyhow!("invalid input: {}", named.join("; "))
        })
    }
}

/// A customerUser flag's help: the property's name and the spec's limits on it.
fn user_help(property: &str) -> String {
    let limits = cockpit::Limits::of_property("CustomerUser", property).describe();
    if limits.is_empty() {
        property.to_string()
    } else {
        format!("{property}, {limits}")
    }
}

/// The flag that sets a customerUser property.
fn user_flag(property: &str) -> String {
    match property {
        "id" => "user-object-id".to_string(),
        "temporaryPassword" => "temporary-password-env".to_string(),
        other => heck::ToKebabCase::to_kebab_case(other),
    }
}

/// Prints the SDK's drift reports (the `cockpit::drift` target) on stderr, and nothing
/// else it traces.
fn show_drift() {
    use tracing_subscriber::{Layer, layer::SubscriberExt, util::SubscriberInitExt};
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .with_level(false)
        .with_filter(tracing_subscriber::filter::filter_fn(|meta| {
            meta.target() == "cockpit::drift"
        }));
    // Nothing else sets a subscriber in this process; if something had, its own stays.
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

fn code_for(e: &Error) -> u8 {
    match e.kind() {
        ErrorKind::InvalidInput | ErrorKind::Configuration => exit::INVALID_INPUT,
        ErrorKind::Authentication | ErrorKind::Unauthorized | ErrorKind::Forbidden => {
            exit::AUTHENTICATION
        }
        ErrorKind::NotFound => exit::NOT_FOUND,
        ErrorKind::Timeout | ErrorKind::Connection => exit::TRANSPORT,
        _ => exit::API_ERROR,
    }
}

fn report_usage(e: &anyhow::Error, json: bool) {
    if json {
        eprintln!(
            "{}",
            json!({"error": {"kind": "invalid input", "code": "invalid_input", "message": format!("{e:#}")}})
        );
    } else {
        eprintln!("error: {e:#}");
    }
}

/// What to do about an error that a flag of this tool can fix.
pub(crate) fn hint(e: &Error) -> Option<&'static str> {
    (e.kind() == ErrorKind::MalformedResponse && e.to_string().contains("was cut"))
        .then_some("raise the cap with --max-response-body BYTES")
}

fn report(e: &Error, json: bool) {
    let api = e.api_error();
    if json {
        let errors: Vec<_> = api
            .map(|a| {
                a.errors
                    .iter()
                    .map(
                        |f| json!({"propertyName": f.property_name, "description": f.descriptions}),
                    )
                    .collect()
            })
            .unwrap_or_default();
        eprintln!(
            "{}",
            json!({"error": {
                "kind": e.kind().to_string(),
                "code": e.kind(),
                "message": e.to_string(),
                "status": e.status().map(|s| s.as_u16()),
                "type": api.and_then(|a| a.error_type.clone()),
                "title": api.and_then(|a| a.title.clone()),
                "description": api.and_then(|a| a.description.clone()),
                "traceId": api.and_then(|a| a.trace_id.clone()),
                "jsonPath": e.json_path(),
                "page": e.page(),
                "errors": errors,
                "correlationId": e.correlation_id(),
                "serverCorrelationId": e.server_correlation_id(),
                "attempts": e.attempts(),
                "hint": hint(e),
            }})
        );
        return;
    }
    eprintln!("error: {e}");
    if let Some(hint) = hint(e) {
        eprintln!("  {hint}");
    }
    if let Some(api) = api {
        for field in &api.errors {
            eprintln!(
                "  {}: {}",
                field.property_name.as_deref().unwrap_or("(no property)"),
                field.descriptions.join("; ")
            );
        }
    }
    if let Some(body) = e.body().filter(|b| !b.is_empty() && api.is_none()) {
        let first: String = body.chars().take(200).collect();
        eprintln!("  body: {}", first.replace(['\r', '\n'], " "));
    }
    if let Some(id) = e.correlation_id() {
        eprintln!("  correlation id: {id} (quote it to CloudCockpit support)");
    }
}
