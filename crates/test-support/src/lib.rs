//! Shared pieces of the workspace's own tests, so that no test crate keeps a copy:
//!
//! - the test ids and a client pointed at a local server ([`client`], [`user`]);
//! - raw TCP servers for what wiremock cannot do, such as dropping a connection
//!   mid-answer ([`raw_server`], [`refused_address`]);
//! - calls of any operation with values made from the spec ([`spec`]), so that tests over
//!   every operation cover one added to the spec with no new test;
//! - Prism, the OpenAPI mock from npm ([`prism::Prism`]).
//!
//! Everything here panics on failure: it runs only inside tests.

pub mod cli;
pub mod prism;
pub mod spec;

use std::{
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use cockpit::{Client, RetryPolicy, SecretString, Uuid, types::CustomerUserInput};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};
use wiremock::{Mock, MockServer, ResponseTemplate, matchers::any};

/// The bearer token the tests send; a test fails if it shows anywhere.
pub const TOKEN: &str = "tok-SECRET-7d41c0ffee";
/// The tenant the tests' clients send.
pub const TENANT: &str = "portal.cloudcockpit.com";
/// A customer id.
pub const CUSTOMER: &str = "3f1c9a52-8a7e-4d7c-9a55-0c1e2b3d4f50";
/// A customer user id.
pub const USER: &str = "b0e5f7a1-2c3d-4e5f-8a9b-0c1d2e3f4a5b";
/// A provider instance id.
pub const PROVIDER_INSTANCE: &str = "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d";
/// A correlation id that calls name, so that tests can look for it.
pub const CORRELATION: &str = "0d9c8b7a-6f5e-4d3c-8b2a-1f0e9d8c7b6a";

/// The workspace's root directory.
pub fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// Parses one of the ids above.
pub fn uuid(s: &str) -> Uuid {
    Uuid::parse_str(s).unwrap()
}

/// The test user, in the generated type: its limited fields are parsed, which checks them.
pub fn user() -> CustomerUserInput {
    CustomerUserInput {
        id: None,
        display_name: Some("Ada Lovelace".parse().unwrap()),
        email: Some("ada@contoso.example".parse().unwrap()),
        first_name: Some("Ada".parse().unwrap()),
        last_name: None,
        location: Some("PT".into()),
        temporary_password: None,
        domain: Some("contoso.example".into()),
    }
}

/// User `n` as the API holds it (a mock's stored user): `User n`, in Portugal.
pub fn stored_user(n: usize) -> cockpit::types::CustomerUser {
    // A response type is `#[non_exhaustive]`: made with its builder.
    cockpit::types::CustomerUser::builder()
        .display_name(Some(format!("User {n}")))
        .email(Some(format!("user{n}@contoso.example")))
        .location(Some("PT".to_string()))
        .domain(Some("contoso.example".to_string()))
        .try_into()
        .unwrap()
}

/// A mock CloudCockpit that also accepts the test token ([`TOKEN`]), for tests that send
/// it (the CLI's, through [`cli_env`]); it refuses any other but its own.
pub async fn mock() -> cockpit_mock::MockCloudCockpit {
    let mock = cockpit_mock::MockCloudCockpit::start().await;
    mock.accept_token(TOKEN);
    mock
}

/// A client for `base`, with the test token and no retries unless a test asks for them.
pub fn client(base: &str) -> Client {
    Client::builder()
        .base_url(base)
        .tenant(TENANT)
        .bearer_token(SecretString::from(TOKEN))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

/// A client for `base` like [`client`], that retries: three attempts, backoff of 1–2 ms.
pub fn retrying(base: &str) -> Client {
    Client::builder()
        .base_url(base)
        .tenant(TENANT)
        .bearer_token(SecretString::from(TOKEN))
        .retry_policy(
            RetryPolicy::default()
                .max_attempts(3)
                .backoff(Duration::from_millis(1), Duration::from_millis(2)),
        )
        .build()
        .unwrap()
}

/// The environment that points the `cockpit` binary at `base` with the test token.
pub fn cli_env(base: &str) -> Vec<(&'static str, String)> {
    vec![
        ("COCKPIT_BASE_URL", base.to_string()),
        ("COCKPIT_TENANT", TENANT.to_string()),
        ("COCKPIT_TOKEN", TOKEN.to_string()),
    ]
}

/// A complete reset-password call on `client`.
pub async fn reset(client: &Client) -> cockpit::Result<cockpit::Response<()>> {
    reset_as(client, user()).await
}

/// A reset-password call for the test ids with the given user.
pub async fn reset_as(
    client: &Client,
    user: CustomerUserInput,
) -> cockpit::Result<cockpit::Response<()>> {
    client
        .reset_customer_user_password()
        .customer_id(uuid(CUSTOMER))
        .customer_user_id(uuid(USER))
        .provider_instance_id(uuid(PROVIDER_INSTANCE))
        .customer_user(user)
        .send()
        .await
}

/// A wiremock server that gives every request the same answer.
pub async fn answering(template: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(template)
        .mount(&server)
        .await;
    server
}

/// A raw HTTP/1.1 server on loopback: for each connection it reads one request head (and
/// its body, by Content-Length), counts it, and writes `answer` as it is, then closes.
pub async fn raw_server(answer: &'static [u8]) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                if read_request(&mut socket).await {
                    seen.fetch_add(1, Ordering::SeqCst);
                    let _ = socket.write_all(answer).await;
                    let _ = socket.flush().await;
                }
                // Dropping the socket closes the connection, mid-answer if `answer` says
                // there is more to come.
            });
        }
    });
    (format!("http://{addr}"), count)
}

/// Reads one request; false if the peer went away first.
async fn read_request(socket: &mut tokio::net::TcpStream) -> bool {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let Ok(n) = socket.read(&mut chunk).await else {
            return false;
        };
        if n == 0 {
            return false;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let Ok(n) = socket.read(&mut chunk).await else {
                    return false;
                };
                if n == 0 {
                    return false;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return true;
        }
    }
}

/// An address on loopback where nothing listens: connecting to it is refused.
pub async fn refused_address() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

/// Sends one raw HTTP/1.1 request to `base` (`http://127.0.0.1:port`), past every check of
/// the SDK: the status, and the body as JSON (`Null` when there is none, or it is not JSON).
pub async fn send_raw(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, serde_json::Value) {
    let addr = base.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let text = String::from_utf8_lossy(&answer).to_string();
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    (
        status,
        serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
    )
}
