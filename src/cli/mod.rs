//! The command line: `line-oa` alone runs the local server (see `bin/line-oa.rs`); its
//! subcommands, one file each, are parsed with `clap`: `explain`, `export`, `archive
//! verify|backfill`, `operator-token`, `hold set|release|list`.

use clap::{Parser, Subcommand};

use crate::config;
use crate::domain::ids::ConversationId;
use crate::store::Store;

mod archive;
mod explain;
mod export;
mod hold;
mod operator_token;

/// A command's failure: printed as `error: …`, exit code 1.
pub type CliResult = Result<(), Box<dyn std::error::Error>>;

/// Self-hosted back end for a LINE Official Account's 1:1 chat.
///
/// Without a command: run the local server (PORT, DATA_DIR, LINE_CHANNEL_SECRET, ...).
#[derive(Debug, Parser)]
#[command(name = "line-oa", version, args_override_self = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Explain(explain::Args),
    Export(export::Args),
    #[command(subcommand)]
    Archive(archive::Command),
    OperatorToken(operator_token::Args),
    #[command(subcommand)]
    Hold(hold::Command),
}

impl Command {
    pub async fn run(self) -> CliResult {
        match self {
            Self::Explain(args) => explain::run(args),
            Self::Export(args) => export::run(args).await,
            Self::Archive(command) => archive::run(command).await,
            Self::OperatorToken(args) => operator_token::run(args),
            Self::Hold(command) => hold::run(command).await,
        }
    }
}

/// `--conversation user:U…` (or `group:C…`, `room:R…`).
fn conversation(value: &str) -> Result<ConversationId, String> {
    ConversationId::parse(value).ok_or_else(|| format!("{value:?} is not a conversation id like user:U…"))
}

/// The store a command works on: a DynamoDB table, or the local store in DATA_DIR with the
/// memory `STORE_CACHE_MIB` and `STORE_WRITE_BUFFER_MIB` allow, as the server has it.
async fn open_store(table: Option<String>) -> Result<Box<dyn Store>, Box<dyn std::error::Error>> {
    Ok(match table {
        Some(table) => {
            let aws = aws_config::load_from_env().await;
            Box::new(crate::store::dynamodb::DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), table))
        }
        None => Box::new(
            crate::store::embedded::EmbeddedStore::open_with(&config::data_dir(), config::store_memory_from_lookup(config::process_env)?)
                .map_err(|e| format!("{e} (is the local server running? stop it first: the embedded store is single-process)"))?,
        ),
    })
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_command_runs_the_server_and_a_repeated_flag_takes_the_last_value() {
        assert!(Cli::try_parse_from(["line-oa"]).unwrap().command.is_none());
        let cli = Cli::try_parse_from(["line-oa", "explain", "--text", "a", "--text", "b"]).unwrap();
        let Some(Command::Explain(args)) = cli.command else { panic!("explain") };
        assert_eq!(args.text.as_deref(), Some("b"));
    }

    #[test]
    fn an_unknown_command_or_flag_and_a_bad_conversation_id_are_refused() {
        assert!(Cli::try_parse_from(["line-oa", "frobnicate"]).is_err());
        assert!(Cli::try_parse_from(["line-oa", "explain", "--txet", "a"]).is_err());
        let err = Cli::try_parse_from(["line-oa", "hold", "list", "--conversation", "user:U1"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::UnknownArgument);
        let err = Cli::try_parse_from(["line-oa", "archive", "verify", "--conversation", "U1"]).unwrap_err().to_string();
        assert!(err.contains("is not a conversation id like user:U…"), "{err}");
    }
}
