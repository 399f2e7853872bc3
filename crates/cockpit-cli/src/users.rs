//! `cockpit users list|get|update` and `cockpit licenses list`: conveniences over the
//! generated subcommands (list-customer-users, get-customer-user, update-customer-user,
//! list-customer-licenses), with the flags an operator uses, a table on a terminal and
//! JSON Lines with `--json`.

use std::io::IsTerminal;

use clap::{Args, Subcommand, ValueEnum};
use cockpit::{Client, Uuid, types};
use comfy_table::Table;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

use crate::{Connection, Failure, Out, UserFields};

#[derive(Debug, Clone, Subcommand)]
pub(crate) enum Users {
    /// List a customer's users: a table, or JSON Lines (one user a line) with --json,
    /// streamed as pages arrive
    #[command(after_help = "\
Examples:
  cockpit users list --customer-id … --provider-instance-id … --all --sort display-name
  cockpit users list --customer-id … --provider-instance-id … --all --json > users.jsonl")]
    List(ListUsers),
    /// Get one customer user
    Get(GetUser),
    /// Update a customer user: gets it, replaces the fields the flags give, and sends it
    /// back (or sends --user-json as it is)
    Update(Box<UpdateUser>),
}

#[derive(Debug, Clone, Subcommand)]
pub(crate) enum Licenses {
    /// List a customer's licenses: a table, or JSON Lines with --json
    List(ListLicenses),
}

/// The order of a user list.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Sort {
    /// By display name (sortPropertyName=DisplayName)
    DisplayName,
    /// By user principal name (sortPropertyName=UserPrincipalName)
    UserPrincipalName,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct ListUsers {
    /// The customer (customerId)
    #[arg(long)]
    customer_id: Uuid,
    /// The provider instance (providerInstanceId)
    #[arg(long)]
    provider_instance_id: Uuid,
    // The range and its help come from the spec's pageSize.
    #[arg(long, default_value_t = 100, value_parser = page_size(), help = page_size_help())]
    page_size: u32,
    /// The page to list, or with --all the page to start from (pageNumber)
    #[arg(long, alias = "page-number", default_value_t = 1)]
    page: i32,
    /// Walk every page from --page on, with a progress bar on a terminal
    #[arg(long)]
    all: bool,
    /// The order (sortPropertyName)
    #[arg(long, value_enum)]
    sort: Option<Sort>,
    /// Only users related to this reseller (resellerId)
    #[arg(long)]
    reseller_id: Option<Uuid>,
}

/// The spec's `pageSize` of `listCustomerUsers`.
fn page_size_param() -> Option<&'static cockpit::Param> {
    cockpit::operations::LIST_CUSTOMER_USERS.param("pageSize")
}

/// `--page-size`, read within the spec's range.
fn page_size() -> clap::builder::RangedI64ValueParser<u32> {
    let limits = page_size_param().map(|p| p.limits).unwrap_or_default();
    let min = limits.minimum.unwrap_or(1);
    let max = limits.maximum.unwrap_or(i64::from(u32::MAX));
    clap::value_parser!(u32).range(min..=max)
}

fn page_size_help() -> String {
    let limits = page_size_param()
        .map(|p| p.limits.describe())
        .unwrap_or_default();
    format!("Users a page, {limits} (pageSize)")
}

#[derive(Debug, Clone, Args)]
pub(crate) struct GetUser {
    /// The customer (customerId)
    #[arg(long)]
    customer_id: Uuid,
    /// The customer user (customerUserId)
    #[arg(long = "user-id", aliases = ["customer-user-id", "id"])]
    customer_user_id: Uuid,
    /// The provider instance (providerInstanceId)
    #[arg(long)]
    provider_instance_id: Option<Uuid>,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct UpdateUser {
    /// The customer (customerId)
    #[arg(long)]
    customer_id: Uuid,
    /// The customer user (customerUserId)
    #[arg(long = "user-id", aliases = ["customer-user-id", "id"])]
    customer_user_id: Uuid,
    /// The provider instance (providerInstanceId)
    #[arg(long)]
    provider_instance_id: Uuid,
    /// Print the body that would be sent (temporary password redacted), and send nothing
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    fields: UserFields,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct ListLicenses {
    /// The customer (customerId)
    #[arg(long)]
    customer_id: Uuid,
    /// The provider instance (providerInstanceId)
    #[arg(long)]
    provider_instance_id: Uuid,
    /// Only licenses scoped to this reseller (resellerId)
    #[arg(long)]
    reseller_id: Option<Uuid>,
}

/// What a change to one user printed: `outcome` (the JSON word, the words before the id)
/// with the status, the correlation id and, with `--json`, the attempts.
pub(crate) fn changed(
    conn: &Connection,
    (outcome, words): (&str, &str),
    done: &cockpit::Response<()>,
    customer: Uuid,
    user: Uuid,
) -> String {
    if conn.json {
        json!({
            "outcome": outcome,
            "status": done.status.as_u16(),
            "customerId": customer,
            "customerUserId": user,
            "correlationId": done.correlation_id,
            "attempts": done.attempts,
        })
        .to_string()
    } else {
        format!(
            "{words} {user} of customer {customer} (status {}, correlation id {})",
            done.status.as_u16(),
            done.correlation_id
        )
    }
}

/// One customer user, by the SDK.
pub(crate) async fn fetch(
    client: &Client,
    customer: Uuid,
    user: Uuid,
    provider_instance: Option<Uuid>,
) -> Result<cockpit::Response<types::CustomerUser>, Failure> {
    let mut call = client
        .get_customer_user()
        .customer_id(customer)
        .customer_user_id(user);
    if let Some(p) = provider_instance {
        call = call.provider_instance_id(p);
    }
    Ok(call.send().await?)
}

/// The JSON of a value, with every secret property redacted.
fn redacted(value: &impl serde::Serialize) -> serde_json::Value {
    let mut json = serde_json::to_value(value).unwrap_or_default();
    cockpit::redact_secrets(&mut json);
    json
}

/// Prints the `{providerInstanceId, customerUser}` body that would be sent.
pub(crate) fn print_dry_run(
    provider_instance: Uuid,
    user: &types::CustomerUserInput,
    out: &mut Out,
) -> Result<(), Failure> {
    let body = json!({"providerInstanceId": provider_instance, "customerUser": redacted(user)});
    out.line(serde_json::to_string_pretty(&body).unwrap_or_else(|_| body.to_string()))
}

pub(crate) async fn run_users(
    conn: &Connection,
    client: &Client,
    users: Users,
    out: &mut Out,
) -> Result<(), Failure> {
    match users {
        Users::List(args) => list(conn, client, args, out).await,
        Users::Get(args) => {
            let done = fetch(
                client,
                args.customer_id,
                args.customer_user_id,
                args.provider_instance_id,
            )
            .await?;
            out.answered(&done);
            let json = redacted(&done.value);
            out.line(if conn.json {
                json.to_string()
            } else {
                serde_json::to_string_pretty(&json).unwrap_or_else(|_| json.to_string())
            })
        }
        Users::Update(args) => {
            let user = match &args.fields.user_json {
                Some(_) => crate::customer_user(&args.fields).map_err(Failure::Usage)?,
                None => {
                    let found = fetch(
                        client,
                        args.customer_id,
                        args.customer_user_id,
                        Some(args.provider_instance_id),
                    )
                    .await?
                    .value;
                    args.fields.apply_to(found).map_err(Failure::Usage)?
                }
            };
            if args.dry_run {
                return print_dry_run(args.provider_instance_id, &user, out);
            }
            let done = client
                .update_customer_user()
                .customer_id(args.customer_id)
                .customer_user_id(args.customer_user_id)
                .provider_instance_id(args.provider_instance_id)
                .customer_user(user)
                .send()
                .await?;
            out.answered(&done);
            out.line(changed(
                conn,
                ("updated", "updated customer user"),
                &done,
                args.customer_id,
                args.customer_user_id,
            ))
        }
    }
}

/// Lists users, writing each page's users as it arrives. A reader of stdout that went away
/// (`| head`) ends the listing with exit code 7, as `--help` says.
async fn list(
    conn: &Connection,
    client: &Client,
    args: ListUsers,
    out: &mut Out,
) -> Result<(), Failure> {
    let mut call = client
        .list_customer_users()
        .customer_id(args.customer_id)
        .provider_instance_id(args.provider_instance_id)
        .page_size(args.page_size)
        .page_number(args.page);
    if let Some(sort) = args.sort {
        call = call.sort_property_name(match sort {
            Sort::DisplayName => types::ListCustomerUsersSortPropertyName::DisplayName,
            Sort::UserPrincipalName => types::ListCustomerUsersSortPropertyName::UserPrincipalName,
        });
    }
    if let Some(r) = args.reseller_id {
        call = call.reseller_id(r);
    }
    let progress = if args.all && std::io::stderr().is_terminal() {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {pos}/{len} users, page {msg} ({per_sec})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut table = user_table();
    let mut pages = std::pin::pin!(call.pages());
    while let Some(page) = pages.next().await {
        let page = page?;
        out.answered_page(&page);
        if let Some(total) = page.total_count.and_then(|t| u64::try_from(t).ok()) {
            progress.set_length(total);
        }
        progress.set_message(page.number.to_string());
        progress.inc(page.items.len() as u64);
        for user in &page.items {
            if conn.json {
                out.line(redacted(user).to_string())?;
            } else {
                table.add_row(user_row(user));
            }
        }
        if !args.all {
            break;
        }
    }
    progress.finish_and_clear();
    if !conn.json {
        out.line(table.to_string())?;
    }
    Ok(())
}

fn user_table() -> Table {
    let mut table = Table::new();
    table.set_header(["id", "displayName", "email", "location", "domain"]);
    table
}

fn user_row(user: &types::CustomerUser) -> Vec<String> {
    let text = |v: Option<String>| v.unwrap_or_default();
    vec![
        text(user.id.map(|i| i.to_string())),
        text(user.display_name.as_ref().map(|n| n.to_string())),
        text(user.email.as_ref().map(|n| n.to_string())),
        text(user.location.clone()),
        text(user.domain.clone()),
    ]
}

pub(crate) async fn run_licenses(
    conn: &Connection,
    client: &Client,
    licenses: Licenses,
    out: &mut Out,
) -> Result<(), Failure> {
    let Licenses::List(args) = licenses;
    let mut call = client
        .list_customer_licenses()
        .customer_id(args.customer_id)
        .provider_instance_id(args.provider_instance_id);
    if let Some(r) = args.reseller_id {
        call = call.reseller_id(r);
    }
    let done = call.send().await?;
    out.answered(&done);
    let found = done.value;
    if conn.json {
        for license in &found {
            out.line(redacted(license).to_string())?;
        }
        return Ok(());
    }
    let mut table = Table::new();
    table.set_header([
        "skuId",
        "name",
        "total",
        "consumed",
        "available",
        "suspended",
        "selected",
    ]);
    let n = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    for l in &found {
        table.add_row(vec![
            l.sku_id.clone().unwrap_or_default(),
            l.name.clone().unwrap_or_default(),
            n(l.total_licenses),
            n(l.consumed_licenses),
            n(l.available_licenses),
            n(l.suspended_licenses),
            l.is_selected.map(|s| s.to_string()).unwrap_or_default(),
        ]);
    }
    out.line(table.to_string())
}
