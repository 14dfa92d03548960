use clap::Parser;

/// jemalloc rather than glibc's malloc: after a burst of sign-ins (Argon2 takes 19 MiB per
/// password on a blocking thread) glibc kept the memory in its per-thread arenas, 650–780 MiB
/// resident for good; jemalloc's background threads return freed pages within seconds.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // A missing `.env` is the normal case in production.
    if let Err(error) = dotenvy::dotenv()
        && !error.not_found()
    {
        eprintln!("cannot read .env: {error}");
    }
    callbot::telemetry::init();
    callbot::cli::run(callbot::cli::Cli::parse()).await
}
