use clap::Parser;
use tracing_subscriber::EnvFilter;

use threadbridge::config::{Cli, Command};
use threadbridge::startup::{self, Application};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Migrate => {
            startup::open_store(&cli.config).await?;
            tracing::info!("migrations applied");
        }
        Command::Serve => {
            let listener = tokio::net::TcpListener::bind(cli.config.listen).await?;
            tracing::info!(config = ?cli.config, "starting");
            let app = Application::build(cli.config, listener).await?;
            tracing::info!(address = %app.local_addr()?, "listening");
            app.run(startup::shutdown_signal()).await?;
        }
    }
    Ok(())
}
