//! `witmesh config check FILE`.

use std::path::PathBuf;

use clap::Subcommand;

use super::Failure;

/// Configuration commands.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a configuration file: prints `ok`, or every problem with file, line and key.
    Check {
        /// The TOML file to check.
        file: PathBuf,
    },
}

/// Runs a configuration command.
pub(crate) fn run(cmd: ConfigCommand) -> Result<(), Failure> {
    match cmd {
        ConfigCommand::Check { file } => match witmesh_config::Config::load(&file) {
            Ok(_) => {
                println!("ok");
                Ok(())
            }
            Err(errors) => Err(Failure {
                message: format!("{} is not valid:\n{errors}", file.display()),
                status: witmesh_config::EXIT_CONFIG_ERROR as u8,
            }),
        },
    }
}
