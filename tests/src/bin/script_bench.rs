//! Load binary: how long the offline writer takes to write (and validate) a script, and what the
//! OpenAI adapter adds on top of the model — request building, HTTP over loopback, response
//! parsing, validation — measured against the OpenAI sandbox.
//!
//! `cargo run --release -p callbot-tests --bin script-bench -- [iterations]`

use std::time::{Duration, Instant};

use commands::script_writer::{
    OfflineWriter, OpenAiConfig, OpenAiWriter, ScriptRequest, ScriptWriter,
};
use domain::script::{Language, preview};

const REQUESTS: [(&str, Language); 6] = [
    (
        "내일 오후 2시에 예약된 고객들에게 전화해서 예약 확인하고, 변경 원하면 다른 시간 \
         제안해줘. 취소하면 취소 사유도 물어봐줘.",
        Language::Ko,
    ),
    ("결제 리마인더 보내줘. 기한이 내일까지야", Language::Ko),
    (
        "토요일 오후 3시 학부모 설명회 참석 여부 확인해줘",
        Language::Ko,
    ),
    (
        "고객들에게 전화해서 다음 주 월요일은 휴진이라고 안내해줘",
        Language::Ko,
    ),
    (
        "Call tomorrow's patients to confirm; offer another time if they want to change",
        Language::En,
    ),
    (
        "Remind members that their payment of $120 is due Friday",
        Language::En,
    ),
];

fn requests() -> Vec<ScriptRequest> {
    REQUESTS
        .iter()
        .map(|(input, language)| ScriptRequest::new(*input, *language).for_business("clinic"))
        .collect()
}

struct Stats {
    p50: Duration,
    p99: Duration,
    max: Duration,
    mean: Duration,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    let total: Duration = samples.iter().sum();
    Stats {
        p50: at(0.50),
        p99: at(0.99),
        max: *samples.last().expect("samples"),
        mean: total / samples.len() as u32,
    }
}

fn report(name: &str, count: usize, stats: &Stats) {
    println!(
        "{name:<46} n={count:<6} p50 {:>9.1} µs   p99 {:>9.1} µs   max {:>9.1} µs   mean {:>9.1} µs",
        stats.p50.as_secs_f64() * 1e6,
        stats.p99.as_secs_f64() * 1e6,
        stats.max.as_secs_f64() * 1e6,
        stats.mean.as_secs_f64() * 1e6,
    );
}

async fn time_writer(writer: &dyn ScriptWriter, requests: &[ScriptRequest], n: usize) -> Stats {
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let request = &requests[i % requests.len()];
        let started = Instant::now();
        let written = writer.write(request).await.expect("a script");
        samples.push(started.elapsed());
        std::hint::black_box(written);
    }
    stats(samples)
}

#[tokio::main]
async fn main() {
    let iterations: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    let requests = requests();
    println!(
        "script writer benchmark ({iterations} offline scripts; 6 request kinds, ko and en)\n"
    );

    // Warm up, then the offline writer as the API calls it (compose + validate).
    time_writer(&OfflineWriter, &requests, 1_000).await;
    let offline = time_writer(&OfflineWriter, &requests, iterations).await;
    report(
        "offline writer: write (compose + validate)",
        iterations,
        &offline,
    );
    let mut samples = Vec::with_capacity(iterations);
    for i in 0..iterations {
        let request = &requests[i % requests.len()];
        let content = OfflineWriter::compose(request);
        let started = Instant::now();
        std::hint::black_box(preview(&content, request.language));
        samples.push(started.elapsed());
    }
    report("preview rendering", iterations, &stats(samples));

    // The OpenAI adapter against the sandbox: one keep-alive connection, sequential calls.
    let sandbox = sandbox::openai::spawn(callbot::providers::OfflineAuthor::shared()).await;
    let adapter = |model: &str| {
        OpenAiWriter::new(OpenAiConfig::new(
            sandbox.api_key(),
            sandbox.base_url(),
            model,
        ))
        .expect("an adapter")
    };
    let rounds = (iterations / 10).max(200);
    let openai = adapter("gpt-4o-mini");
    time_writer(&openai, &requests, 100).await;
    let round_trip = time_writer(&openai, &requests, rounds).await;
    report("openai adapter round trip (sandbox)", rounds, &round_trip);
    let repair = adapter("sandbox-invalid-once");
    let repaired = time_writer(&repair, &requests, rounds / 2).await;
    report(
        "openai adapter with one repair (2 calls)",
        rounds / 2,
        &repaired,
    );

    // Concurrency: 32 callers sharing one adapter (one connection pool).
    let shared = std::sync::Arc::new(adapter("gpt-4o-mini"));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..32 {
        let shared = shared.clone();
        let requests = requests.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..rounds / 32 {
                let request = &requests[(worker + i) % requests.len()];
                shared.write(request).await.expect("a script");
            }
        }));
    }
    for task in tasks {
        task.await.expect("a worker");
    }
    let done = (rounds / 32) * 32;
    println!(
        "{:<46} {:>8.0} scripts/s with 32 concurrent callers",
        "openai adapter throughput (sandbox)",
        done as f64 / started.elapsed().as_secs_f64()
    );

    // What the adapter adds: its round trip minus the sandbox's own work, which is the
    // offline writer's compose (the sandbox's HTTP server side is included in the overhead).
    let overhead = |s: Duration| s.saturating_sub(offline.p50);
    println!(
        "\nadapter overhead beyond the model (round trip − offline compose): p50 ≈ {:.1} µs, \
         p99 ≈ {:.1} µs (includes the sandbox's HTTP server and JSON)",
        overhead(round_trip.p50).as_secs_f64() * 1e6,
        overhead(round_trip.p99).as_secs_f64() * 1e6,
    );
    println!(
        "requests the sandbox answered: {} (every one a strict json_schema chat completion)",
        sandbox.request_count()
    );
}
