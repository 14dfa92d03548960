//! Hostile clients at the transport (issue 17): the media socket before its `start`, and HTTP
//! connections that send slowly, not at all, or too many at once. Timeouts are set small in the
//! app's configuration; the tests wait on the socket for the server to close it and never
//! measure how long that took.

use std::time::Duration;

use callbot_tests::fixtures::number;
use callbot_tests::{AppOptions, TestApp, eventually, spawn_app_with};
use futures::{SinkExt, StreamExt};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};

/// How long a test waits for the server to close a connection before it counts as never.
const GUARD: Duration = Duration::from_secs(30);
/// A start deadline far beyond [`GUARD`]: in the media tests only the size rules can close a
/// socket in time.
const NO_DEADLINE: (&str, &str) = ("MEDIA_START_DEADLINE_SECONDS", "600");
/// How long each read waits before the next byte goes out in the slow-sender tests.
const TRICKLE: Duration = Duration::from_millis(50);

fn media_url(app: &TestApp) -> String {
    format!("{}/twilio/media", app.origin.replace("http://", "ws://"))
}

/// Reads until the server closes the connection; returns what it sent. Panics after [`GUARD`].
async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let read = async {
        let mut buffer = [0u8; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    };
    tokio::time::timeout(GUARD, read)
        .await
        .expect("the server never closed the connection");
    received
}

/// Sends `bytes` one at a time, waiting [`TRICKLE`] on the socket after each; returns how many
/// went out before the server closed the connection, or `None` if all did and it stayed open.
async fn trickle(stream: &mut TcpStream, bytes: &[u8]) -> Option<usize> {
    let mut buffer = [0u8; 4096];
    for (sent, byte) in bytes.iter().enumerate() {
        if stream.write_all(&[*byte]).await.is_err() {
            return Some(sent);
        }
        // Anything the server answers is drained; its closing ends the trickle.
        loop {
            match tokio::time::timeout(TRICKLE, stream.read(&mut buffer)).await {
                Err(_) => break,
                Ok(Ok(0)) | Ok(Err(_)) => return Some(sent + 1),
                Ok(Ok(_)) => continue,
            }
        }
    }
    None
}

/// Trickles `bytes` (a `what`) and fails unless the server cuts the connection off first.
async fn assert_cut_off(stream: &mut TcpStream, bytes: &[u8], what: &str) {
    let sent = trickle(stream, bytes).await;
    assert!(
        sent.is_some(),
        "a {}-byte {what} sent a byte at a time was never cut off",
        bytes.len()
    );
}

/// A raw TCP connection to `app`'s HTTP server.
async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.origin.trim_start_matches("http://"))
        .await
        .expect("a connection to the app")
}

async fn app_with(vars: &[(&str, &str)]) -> TestApp {
    let mut options = AppOptions::default().signed_out();
    for (name, value) in vars {
        options = options.var(name, *value);
    }
    spawn_app_with(options).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_1_media_socket_small_frames_before_start() {
    let app = app_with(&[NO_DEADLINE]).await;
    let (mut socket, _) = tokio_tungstenite::connect_async(media_url(&app))
        .await
        .expect("the handshake succeeds");
    // A well-formed `connected`, padded past the 4 KiB allowed before `start`.
    let padded = json!({
        "event": "connected", "protocol": "Call", "version": "1.0.0", "pad": "x".repeat(5_000)
    });
    socket
        .send(Message::text(padded.to_string()))
        .await
        .unwrap();
    let close = tokio::time::timeout(GUARD, async {
        while let Some(message) = socket.next().await {
            match message {
                Ok(Message::Close(frame)) => return frame,
                Err(error) => panic!("the socket broke instead of closing: {error}"),
                Ok(_) => {}
            }
        }
        None
    })
    .await
    .expect("the socket stayed open after a 5 kB message");
    let code = close.map(|frame| u16::from(frame.code));
    assert_eq!(code, Some(1009), "closed as too large");
    eventually("the refused socket to free its place", GUARD, || async {
        (app.state.bridge.as_ref().unwrap().unverified().open() == 0).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_1_media_socket_refuses_a_huge_frame_from_its_header() {
    let app = app_with(&[NO_DEADLINE]).await;
    let tcp = connect(&app).await;
    let (socket, _) = tokio_tungstenite::client_async(media_url(&app), tcp)
        .await
        .expect("the handshake succeeds");
    let mut tcp = socket.into_inner();
    // A masked text frame announcing 16 MiB, followed by only a few of its bytes: the codec
    // must refuse it from the header instead of buffering towards 16 MiB.
    let mut frame = vec![0x81, 0x80 | 127];
    frame.extend_from_slice(&(16u64 << 20).to_be_bytes());
    frame.extend_from_slice(&[1, 2, 3, 4]);
    frame.extend_from_slice(&[b'x'; 64]);
    tcp.write_all(&frame).await.unwrap();
    let answer = read_until_closed(&mut tcp).await;
    // If anything came back, it is a close frame (0x88), never data.
    assert!(
        answer.is_empty() || answer[0] == 0x88,
        "unexpected answer {answer:?}"
    );
}

/// A client that writes its first frame together with the handshake (before the answer, which
/// RFC 6455 forbids but a socket cannot prevent): the bytes the HTTP server read past the request
/// are the media socket's first, wherever the socket is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_sent_with_the_handshake_is_read_as_the_sockets_first() {
    let app = app_with(&[NO_DEADLINE]).await;
    let mut tcp = connect(&app).await;
    let host = app.origin.trim_start_matches("http://");
    let mut bytes = format!(
        "GET /twilio/media HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade\r\n\
         Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    )
    .into_bytes();
    // A `connected` padded past the 4 KiB allowed before `start`, as one masked text frame:
    // only a socket that read it answers with 1009.
    let padded = json!({ "event": "connected", "pad": "x".repeat(5_000) }).to_string();
    let mask = [7u8, 1, 2, 3];
    bytes.extend_from_slice(&[0x81, 0x80 | 126]);
    bytes.extend_from_slice(&u16::try_from(padded.len()).unwrap().to_be_bytes());
    bytes.extend_from_slice(&mask);
    bytes.extend(padded.bytes().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    tcp.write_all(&bytes).await.unwrap();

    let answer = read_until_closed(&mut tcp).await;
    let head_end = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP answer")
        + 4;
    let head = String::from_utf8_lossy(&answer[..head_end]);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(
        head.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
        "the accept key: {head}"
    );
    let close = &answer[head_end..];
    assert!(
        close.len() >= 4 && close[0] == 0x88,
        "a close frame: {close:?}"
    );
    assert_eq!(u16::from_be_bytes([close[2], close[3]]), 1009);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_1_unverified_media_sockets_are_capped_per_address() {
    let app = app_with(&[("MEDIA_UNVERIFIED_SOCKETS_PER_ADDRESS", "2"), NO_DEADLINE]).await;
    let (first, _) = tokio_tungstenite::connect_async(media_url(&app))
        .await
        .unwrap();
    let (_second, _) = tokio_tungstenite::connect_async(media_url(&app))
        .await
        .unwrap();
    match tokio_tungstenite::connect_async(media_url(&app)).await {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 429),
        other => panic!("a third unverified socket was not refused: {other:?}"),
    }
    // Closing one frees its place.
    drop(first);
    let bridge = app.state.bridge.clone().unwrap();
    eventually("the closed socket to free its place", GUARD, || async {
        (bridge.unverified().open() < 2).then_some(())
    })
    .await;
    tokio_tungstenite::connect_async(media_url(&app))
        .await
        .expect("a place was free again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_1_behind_a_trusted_proxy_sockets_count_per_forwarded_client() {
    let app = app_with(&[
        ("MEDIA_UNVERIFIED_SOCKETS_PER_ADDRESS", "1"),
        ("TRUSTED_PROXIES", "127.0.0.1"),
        NO_DEADLINE,
    ])
    .await;
    let from = |client: &'static str| {
        let mut request = media_url(&app).into_client_request().unwrap();
        request
            .headers_mut()
            .insert("x-forwarded-for", client.parse().unwrap());
        tokio_tungstenite::connect_async(request)
    };
    let (_first, _) = from("198.51.100.1").await.unwrap();
    let (_other, _) = from("198.51.100.2")
        .await
        .expect("another client has its own place");
    match from("198.51.100.1").await {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 429),
        other => panic!("a second unverified socket of one client was not refused: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn finding_1_a_normal_call_still_works_behind_the_socket_limits() {
    let app = spawn_app_with(AppOptions::sandbox_calls()).await;
    let contacts = json!([{ "phoneNumber": number(1), "name": "김민수" }]);
    let id = app
        .create_clinic_campaign_ok("예약 확인 전화", contacts, json!({}))
        .await;
    app.start_campaign_ok(&id).await;
    app.wait_for_campaign(&id, "COMPLETED").await;
    // The transcript is the post-call worker's, which may still be at work when the campaign
    // completes.
    app.wait_for_workers_finished().await;
    let (_, calls) = app.list_calls(&id, "").await;
    let call_id = calls["data"]["items"][0]["id"].as_str().unwrap().to_owned();
    let (_, detail) = app.get_call(&call_id).await;
    let transcript = detail["data"]["transcript"].as_array();
    assert!(
        transcript.is_some_and(|lines| !lines.is_empty()),
        "no conversation: {detail}"
    );
    assert_eq!(app.state.bridge.as_ref().unwrap().unverified().open(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_4_slow_headers_are_cut_off() {
    let app = app_with(&[("HTTP_HEADER_TIMEOUT_SECONDS", "0.3")]).await;
    let mut tcp = connect(&app).await;
    let head = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\n{}\r\n",
        "X-Slow: y\r\n".repeat(50)
    );
    assert_cut_off(&mut tcp, head.as_bytes(), "head").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_4_a_connection_that_sends_nothing_is_closed() {
    let app = app_with(&[("HTTP_HEADER_TIMEOUT_SECONDS", "0.3")]).await;
    let mut tcp = connect(&app).await;
    let answer = read_until_closed(&mut tcp).await;
    assert!(answer.is_empty() || answer.starts_with(b"HTTP/1.1 408"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_4_an_idle_kept_alive_connection_is_closed() {
    let app = app_with(&[("HTTP_HEADER_TIMEOUT_SECONDS", "0.3")]).await;
    let mut tcp = connect(&app).await;
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut tcp).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(!answer.contains("connection: close"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_4_a_slow_body_is_cut_off() {
    let app = app_with(&[("HTTP_BODY_TIMEOUT_SECONDS", "0.3")]).await;
    let mut tcp = connect(&app).await;
    let body = json!({ "email": "slow@clinic.kr", "password": "x".repeat(500) }).to_string();
    let head = format!(
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    assert_cut_off(&mut tcp, body.as_bytes(), "body").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_4_connections_beyond_the_cap_wait_for_a_free_one() {
    let app = app_with(&[("HTTP_MAX_CONNECTIONS", "2")]).await;
    let address = app.origin.trim_start_matches("http://").to_owned();
    let first = TcpStream::connect(&address).await.unwrap();
    let _second = TcpStream::connect(&address).await.unwrap();
    let mut third = TcpStream::connect(&address).await.unwrap();
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut buffer = [0u8; 64];
    // Not served while two connections are open (it waits in the backlog)...
    let early = tokio::time::timeout(Duration::from_millis(300), third.read(&mut buffer)).await;
    assert!(early.is_err(), "a third connection was served: {early:?}");
    // ...and served as soon as one of them closes.
    drop(first);
    let answer = read_until_closed(&mut third).await;
    assert!(answer.starts_with(b"HTTP/1.1 200"));
}
