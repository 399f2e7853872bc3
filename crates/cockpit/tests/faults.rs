//! A fault-injecting server: each case gives a typed error (or success, where that is
//! right) in bounded time and memory, with the correlation id, without panicking, without
//! leaking the token, and without sending the reset twice.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use cockpit::{Client, ErrorKind, RetryPolicy, SecretString};
use cockpit_test_support::*;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// What the server does once it has read a request.
type Script = fn(
    TcpStream,
    Arc<AtomicUsize>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// Starts a server that runs `script` on each connection after reading one request.
/// Returns the base URL, the number of requests read, and the bytes the script wrote.
async fn faulty(script: Script) -> (String, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let written = Arc::new(AtomicUsize::new(0));
    let (r, w) = (requests.clone(), written.clone());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (r, w) = (r.clone(), w.clone());
            tokio::spawn(async move {
                if read_head_and_body(&mut socket).await {
                    r.fetch_add(1, Ordering::SeqCst);
                    script(socket, w).await;
                }
            });
        }
    });
    (base, requests, written)
}

async fn read_head_and_body(socket: &mut TcpStream) -> bool {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                match socket.read(&mut chunk).await {
                    Ok(0) | Err(_) => return false,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            return true;
        }
    }
}

async fn write(socket: &mut TcpStream, bytes: &[u8], written: &AtomicUsize) -> bool {
    match socket.write_all(bytes).await {
        Ok(()) => {
            written.fetch_add(bytes.len(), Ordering::SeqCst);
            true
        }
        Err(_) => false,
    }
}

/// A client with a short timeout and retries on, as a user would have them.
fn client_for(base: &str) -> Client {
    Client::builder()
        .base_url(base)
        .tenant(TENANT)
        .bearer_token(SecretString::from(TOKEN))
        .timeout(Duration::from_millis(800))
        .retry_policy(
            RetryPolicy::default().backoff(Duration::from_millis(5), Duration::from_millis(20)),
        )
        .build()
        .unwrap()
}

/// Runs one call, checks what every case must hold, and returns the error.
async fn fails(base: &str, requests: &AtomicUsize) -> cockpit::Error {
    let started = Instant::now();
    let err = reset(&client_for(base))
        .await
        .expect_err("this case must fail");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "bounded time: {:?}",
        started.elapsed()
    );
    assert!(err.correlation_id().is_some(), "{err:?}");
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains(TOKEN), "{text}");
    }
    if !err.is_retryable() {
        assert_eq!(
            requests.load(Ordering::SeqCst),
            1,
            "{err}: a reset that may have been processed is sent once"
        );
    }
    err
}

#[tokio::test]
async fn accept_and_hang_times_out_once() {
    let (base, requests, _) = faulty(|socket, _| {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_secs(30)).await;
            drop(socket);
        })
    })
    .await;
    let err = fails(&base, &requests).await;
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(err.may_have_been_processed(), "no answer: it may have been");
}

#[tokio::test]
async fn reset_mid_headers_is_a_connection_error_sent_once() {
    let (base, requests, _) = faulty(|mut socket, w| {
        Box::pin(async move {
            write(&mut socket, b"HTTP/1.1 200 OK\r\nContent-Le", &w).await;
            let _ = socket.set_zero_linger();
        })
    })
    .await;
    let err = fails(&base, &requests).await;
    assert_eq!(err.kind(), ErrorKind::Connection);
    assert!(!err.is_retryable());
    assert!(err.may_have_been_processed(), "the request was sent");
}

#[tokio::test]
async fn reset_mid_body_keeps_the_status_and_is_sent_once() {
    let (base, requests, _) = faulty(|mut socket, w| {
        Box::pin(async move {
            write(&mut socket, b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 1000\r\n\r\n{\"statusCode\":", &w).await;
            let _ = socket.set_zero_linger();
        })
    })
    .await;
    let err = fails(&base, &requests).await;
    assert_eq!(err.kind(), ErrorKind::Connection);
    assert_eq!(err.status().map(|s| s.as_u16()), Some(500));
}

#[tokio::test]
async fn a_slow_byte_by_byte_answer_is_cut_by_the_timeout() {
    let (base, requests, _) = faulty(|mut socket, w| {
        Box::pin(async move {
            let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n"
                .iter()
                .chain([b' '; 2000].iter());
            for byte in answer {
                if !write(&mut socket, &[*byte], &w).await {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    })
    .await;
    let err = fails(&base, &requests).await;
    assert_eq!(err.kind(), ErrorKind::Timeout);
}

#[tokio::test]
async fn a_100_mib_error_body_is_read_no_further_than_the_cap() {
    let (base, requests, written) = faulty(|mut socket, w| {
        Box::pin(async move {
            let size = 100 * 1024 * 1024;
            let head = format!("HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: {size}\r\n\r\n");
            if !write(&mut socket, head.as_bytes(), &w).await {
                return;
            }
            let block = vec![b'x'; 64 * 1024];
            for _ in 0..size / block.len() {
                if !write(&mut socket, &block, &w).await {
                    return;
                }
            }
        })
    })
    .await;
    let err = fails(&base, &requests).await;
    assert_eq!(err.kind(), ErrorKind::Server);
    assert_eq!(err.status().map(|s| s.as_u16()), Some(500));
    assert!(
        err.to_string().contains("over 1024 KiB and was cut"),
        "{err}"
    );
    assert_eq!(
        err.body().map(str::len),
        Some(16 * 1024),
        "the error keeps 16 KiB of it"
    );
    // The client stopped reading at the 1 MiB cap and closed the connection, so the server
    // could not write much more than that plus the sockets' buffers.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let sent = written.load(Ordering::SeqCst);
    assert!(
        sent < 16 * 1024 * 1024,
        "the server wrote {sent} bytes: the body was read on"
    );
}

#[tokio::test]
async fn endless_chunked_data_is_cut_at_the_cap() {
    let (base, requests, written) = faulty(|mut socket, w| {
        Box::pin(async move {
            if !write(
                &mut socket,
                b"HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n",
                &w,
            )
            .await
            {
                return;
            }
            let chunk = format!("{:x}\r\n{}\r\n", 8192, "y".repeat(8192));
            while write(&mut socket, chunk.as_bytes(), &w).await {}
        })
    })
    .await;
    let err = fails(&base, &requests).await;
    assert_eq!(err.kind(), ErrorKind::Server);
    assert!(err.to_string().contains("was cut"), "{err}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(written.load(Ordering::SeqCst) < 64 * 1024 * 1024);
}

#[tokio::test]
async fn invalid_json_and_a_wrong_content_type_keep_status_and_body() {
    for answer in [
        &b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n{not json"[..],
        &b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\nnot found"[..],
    ] {
        let (base, requests) = raw_server(answer).await;
        let err = fails(&base, &requests).await;
        assert!(matches!(err.kind(), ErrorKind::BadRequest | ErrorKind::NotFound), "{err}");
        assert!(err.api_error().is_none());
        assert!(matches!(err.body(), Some("{not json") | Some("not found")), "{err:?}");
    }
}

#[tokio::test]
async fn a_200_with_an_unexpected_body_is_success() {
    let (base, requests) = raw_server(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 13\r\n\r\n<html></html>",
    )
    .await;
    let done = reset(&client_for(&base)).await.unwrap();
    assert_eq!(done.status, 200);
    assert_eq!(requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_http_1_0_body_delimited_by_close_is_read() {
    let (base, requests) = raw_server(
        b"HTTP/1.0 404 Not Found\r\nContent-Type: application/json\r\n\r\n{\"statusCode\":404,\"type\":\"NotFound\",\"description\":\"gone\"}",
    )
    .await;
    let err = fails(&base, &requests).await;
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(
        err.api_error().and_then(|a| a.description.as_deref()),
        Some("gone")
    );
}

#[tokio::test]
async fn redirects_are_not_followed_and_the_token_never_reaches_another_host() {
    // The other host counts every connection it gets.
    let other = TcpListener::bind("127.0.0.2:0")
        .await
        .or(TcpListener::bind("127.0.0.1:0").await)
        .unwrap();
    let other_addr = other.local_addr().unwrap();
    let reached = Arc::new(AtomicUsize::new(0));
    let seen = reached.clone();
    tokio::spawn(async move {
        while let Ok((_s, _)) = other.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
        }
    });
    for location in [
        format!("http://{other_addr}/v1/elsewhere"),
        "/v1/same-host".to_string(),
    ] {
        for status in [
            "307 Temporary Redirect",
            "308 Permanent Redirect",
            "302 Found",
        ] {
            let answer =
                format!("HTTP/1.1 {status}\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n");
            let (base, requests) =
                raw_server(Box::leak(answer.into_bytes().into_boxed_slice())).await;
            let err = fails(&base, &requests).await;
            assert_eq!(
                err.kind(),
                ErrorKind::UnexpectedStatus,
                "{status} to {location}"
            );
            assert_eq!(
                requests.load(Ordering::SeqCst),
                1,
                "not followed, so not sent twice"
            );
        }
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        reached.load(Ordering::SeqCst),
        0,
        "nothing reached the other host"
    );
}

#[tokio::test]
async fn a_body_that_does_not_finish_in_time_is_a_timeout_with_the_status() {
    let (base, requests, _) = faulty(|mut socket, w| {
        Box::pin(async move {
            let head = b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 2000\r\n\r\n";
            if !write(&mut socket, head, &w).await {
                return;
            }
            for _ in 0..2000 {
                if !write(&mut socket, b" ", &w).await {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    })
    .await;
    let err = fails(&base, &requests).await;
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(500));
    assert!(
        err.to_string()
            .contains("the answer did not finish in time"),
        "{err}"
    );
}
