//! One test body run on each backend: the body is an `async fn` taking the backend, and these
//! macros write one `#[tokio::test]` per backend for it, in a module named after the backend
//! (`sqlite::NAME`, `postgres::NAME`), so a suite cannot forget one of them.

/// For each named `async fn(TestDb)` in scope: `sqlite::NAME` runs it on a fresh SQLite file,
/// `postgres::NAME` on a fresh Postgres database. Name the functions once for both, or list
/// each backend's own (`sqlite: [..], postgres: [..]`).
#[macro_export]
macro_rules! backend_tests {
    (sqlite: [$($lite:ident),* $(,)?], postgres: [$($pg:ident),* $(,)?] $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $lite() {
                    super::$lite($crate::TestDb::sqlite()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $pg() {
                    super::$pg($crate::TestDb::postgres().await).await;
                }
            )*
        }
    };
    ($($name:ident),* $(,)?) => {
        $crate::backend_tests!(sqlite: [$($name),*], postgres: [$($name),*]);
    };
}

/// For each named `async fn(Backend)` in scope, the whole app on each [`crate::Backend`]:
/// `sqlite::NAME` (the embedded default) and `postgres_and_nats::NAME`.
#[macro_export]
macro_rules! app_backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres_and_nats {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::Backend::PostgresAndNats).await;
                }
            )*
        }
    };
}
