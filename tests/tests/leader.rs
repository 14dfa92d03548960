//! Single-active workers across processes, on Postgres.

use std::time::Duration;

use callbot_tests::TestDb;
use commands::{CancellationToken, leader};

#[tokio::test]
async fn only_one_process_holds_a_worker_until_it_lets_go() {
    let db = TestDb::postgres().await;
    let first_process = db.connect().await;
    let second_process = db.connect().await;
    let never = CancellationToken::new();
    let lease = leader::acquire(&first_process, "dialer", &never)
        .await
        .expect("the first takes it");

    let give_up = CancellationToken::new();
    let waiting = {
        let give_up = give_up.clone();
        tokio::spawn(async move {
            leader::acquire(&second_process, "dialer", &give_up)
                .await
                .is_some()
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !waiting.is_finished(),
        "the second must stand by while the first is active"
    );

    // Another worker name is independent.
    let other = db.connect().await;
    assert!(
        leader::acquire(&other, "outbox_relay", &never)
            .await
            .is_some()
    );

    drop(lease);
    let took_over = tokio::time::timeout(Duration::from_secs(10), waiting).await;
    assert!(
        matches!(took_over, Ok(Ok(true))),
        "the second takes over when the first is gone"
    );
    give_up.cancel();
}
