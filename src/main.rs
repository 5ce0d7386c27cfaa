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
        Command::Doctor => {
            cli.config.validate().map_err(anyhow::Error::msg)?;
            let checks = threadbridge::doctor::run(&cli.config).await?;
            for check in &checks {
                match &check.fix {
                    None => println!("ok    {}", check.name),
                    Some(fix) => println!("FAIL  {}\n      fix: {fix}", check.name),
                }
            }
            let failed = checks.iter().filter(|c| c.fix.is_some()).count();
            if failed > 0 {
                println!("{failed} of {} checks failed", checks.len());
                std::process::exit(1);
            }
            println!("all {} checks passed", checks.len());
        }
        Command::Import { file, format } => {
            let succeeded = threadbridge::import::command::run(&cli.config, &file, format).await?;
            if !succeeded {
                std::process::exit(1);
            }
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
