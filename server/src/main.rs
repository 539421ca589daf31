use std::process::ExitCode;

use parley::{config::Config, startup::{shutdown_signal, Application}, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("parley: {error}");
            return ExitCode::FAILURE;
        }
    };
    telemetry::init(&config);
    let result = async { Application::build(config).await?.run_until(shutdown_signal()).await }.await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = %error, cause = ?std::error::Error::source(&error), "parley stopped");
            ExitCode::FAILURE
        }
    }
}
