use clap::Parser;

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
