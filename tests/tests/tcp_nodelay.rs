//! TCP_NODELAY on every socket that carries media frames (issue 18): the connections the server
//! accepts (Twilio's media socket among them) and the bridge's socket to the agent; without it
//! Nagle's algorithm held a frame back one 20 ms frame period.
//!
//! Read back from the kernel on the sockets of a call in progress: the test walks this process's
//! descriptor table, takes a duplicate of each socket with `pidfd_getfd` and asks the kernel for
//! its addresses and its `TCP_NODELAY`. So it sees what the sockets have, whoever set it.
#![cfg(target_os = "linux")]

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;

use callbot_tests::fixtures::script;
use callbot_tests::{AppOptions, PUBLIC_URL, eventually, spawn_app_with};
use commands::metrics::names::BRIDGE_FRAME_LATENCY;
use rustix::net::sockopt::tcp_nodelay;
use rustix::net::{getpeername, getsockname};
use rustix::process::{PidfdFlags, PidfdGetfdFlags, getpid, pidfd_getfd, pidfd_open};
use serde_json::json;

/// A connected TCP socket of this process, as the kernel reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Tcp {
    local: SocketAddr,
    peer: SocketAddr,
    nodelay: bool,
}

/// Every connected TCP socket this process holds now.
fn tcp_sockets() -> Vec<Tcp> {
    let me = pidfd_open(getpid(), PidfdFlags::empty()).expect("a pidfd of this process");
    let table = std::fs::read_dir("/proc/self/fd").expect("the descriptor table");
    let mut found = Vec::new();
    for entry in table.flatten() {
        // A descriptor closed meanwhile, or not a socket, is skipped.
        let is_socket = std::fs::read_link(entry.path())
            .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"));
        let Some(fd) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        if !is_socket {
            continue;
        }
        let Ok(socket) = pidfd_getfd(&me, fd, PidfdGetfdFlags::empty()) else {
            continue;
        };
        let (Ok(local), Ok(Some(peer))) = (getsockname(&socket), getpeername(&socket)) else {
            continue;
        };
        // Unix sockets have no IP address, UDP ones no TCP_NODELAY.
        let (Ok(local), Ok(peer)) = (SocketAddr::try_from(local), SocketAddr::try_from(peer))
        else {
            continue;
        };
        let Ok(nodelay) = tcp_nodelay(&socket) else {
            continue;
        };
        found.push(Tcp {
            local,
            peer,
            nodelay,
        });
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_accepted_sockets_and_the_agent_socket_of_a_live_call_have_tcp_nodelay() {
    // Real time: the conversation lasts seconds, long enough to read its sockets.
    let app = spawn_app_with(
        AppOptions::default()
            .sandbox_speed(1)
            .public_base_url(PUBLIC_URL),
    )
    .await;
    let app_port: u16 = app
        .origin
        .rsplit_once(':')
        .and_then(|(_, port)| port.parse().ok())
        .expect("the app's port");
    let elevenlabs = app
        .providers
        .elevenlabs_sandbox()
        .expect("the agent sandbox");
    let agent: SocketAddr = elevenlabs
        .api_base()
        .trim_start_matches("http://")
        .parse()
        .expect("the agent sandbox's address");
    let script_id = app
        .save_script(script("안녕하세요.", "예약 확인", "예약 확인", &[]))
        .await;
    let body = json!({
        "name": "nodelay",
        "scriptId": script_id,
        "contacts": [{ "phoneNumber": "010-7200-0001" }],
        "settings": { "callWindow": { "start": "00:00", "end": "24:00" } }
    });
    let id = app.create_campaign_ok(body).await;
    app.start_campaign_ok(&id).await;

    // Sockets seen in two reads in a row while frames went on reaching the agent (so its socket
    // was open throughout): none of them is caught between its accept and its first option.
    let frames_to_agent = || async {
        app.scrape()
            .await
            .histogram_count(BRIDGE_FRAME_LATENCY, &[("direction", "to_agent")])
    };
    let (accepted, to_agent) = eventually(
        "frames flowing through a live call's sockets",
        Duration::from_secs(90),
        || async {
            let before = frames_to_agent().await;
            if before == 0.0 {
                return None;
            }
            let first: HashSet<Tcp> = tcp_sockets().into_iter().collect();
            let both: Vec<Tcp> = tcp_sockets()
                .into_iter()
                .filter(|s| first.contains(s))
                .collect();
            let accepted: Vec<Tcp> = both
                .iter()
                .copied()
                .filter(|s| s.local.port() == app_port)
                .collect();
            let to_agent: Vec<Tcp> = both.iter().copied().filter(|s| s.peer == agent).collect();
            let flowing = frames_to_agent().await > before;
            // The call runs on a media thread, which drives both its sockets.
            let on_media_thread = app
                .providers
                .bridge
                .media_threads()
                .is_some_and(|threads| threads.running().iter().sum::<usize>() == 1);
            (flowing && on_media_thread && !accepted.is_empty() && !to_agent.is_empty())
                .then_some((accepted, to_agent))
        },
    )
    .await;
    for socket in &accepted {
        assert!(
            socket.nodelay,
            "an accepted connection without TCP_NODELAY: {socket:?}"
        );
    }
    for socket in &to_agent {
        assert!(
            socket.nodelay,
            "a socket to the agent without TCP_NODELAY: {socket:?}"
        );
    }
}
