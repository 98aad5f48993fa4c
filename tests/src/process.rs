//! Running the server binary as a separate operating-system process, for tests that need a
//! second API instance or the real command line.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The path of the `linli` binary, built as `linli-test-server` inside this package. A macro
/// because cargo only tells integration tests (not this library) where the binary is.
#[macro_export]
macro_rules! server_binary {
    () => {
        env!("CARGO_BIN_EXE_linli-test-server")
    };
}

/// A `linli` command with the test profile and the workspace's config folder, and nothing
/// inherited from the caller's `LINLI__*` environment.
pub fn linli_command(binary: &str, env: &HashMap<String, String>) -> Command {
    let mut command = Command::new(binary);
    for (key, _) in std::env::vars() {
        if key.starts_with("LINLI") {
            command.env_remove(key);
        }
    }
    command
        .env("LINLI_ENV", "test")
        .env("LINLI_CONFIG_DIR", crate::config_dir())
        .env("LINLI__AUTH__JWT_SECRET", crate::test_jwt_secret())
        .envs(env)
        .kill_on_drop(true);
    command
}

pub struct ServerProcess {
    pub address: String,
    /// Every line the process has written to standard output (its log) so far.
    pub logs: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    child: Child,
}

impl ServerProcess {
    /// Sends SIGTERM, as an orchestrator stopping the instance does.
    pub fn terminate(&self) {
        let pid = self.child.id().expect("the server process is running");
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -TERM {pid}");
    }

    /// Waits for the process to exit, at most `limit`.
    pub async fn exit_within(&mut self, limit: Duration) -> std::process::ExitStatus {
        tokio::time::timeout(limit, self.child.wait())
            .await
            .expect("the server process exits in time")
            .expect("waiting for the server process")
    }

    /// The log so far, one line per entry.
    pub fn log_lines(&self) -> Vec<String> {
        self.logs
            .lock()
            .map(|lines| lines.clone())
            .unwrap_or_default()
    }
}

/// Starts `linli serve` and waits for its "listening on" line.
pub async fn spawn_server_process(binary: &str, env: &HashMap<String, String>) -> ServerProcess {
    let mut command = linli_command(binary, env);
    command.env("LINLI__SERVER__PORT", "0");
    let shown = crate::test_log_filter();
    let echo = shown.is_some();
    if !env.contains_key("LINLI__LOG__FILTER") {
        command.env("LINLI__LOG__FILTER", shown.as_deref().unwrap_or("info"));
    }
    command.stdout(Stdio::piped()).stderr(Stdio::inherit());
    let mut child = command.spawn().expect("start the server process");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let logs = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = |line: &str| {
        if echo {
            eprintln!("[server process] {line}");
        }
        if let Ok(mut kept) = logs.lock() {
            kept.push(line.to_owned());
        }
    };
    // A new demo database first gets its simulated month when the test asks for one.
    let address = tokio::time::timeout(Duration::from_secs(180), async {
        while let Some(line) = lines.next_line().await.expect("read server output") {
            keep(&line);
            if let Some(rest) = line.split("listening on http://").nth(1) {
                let address: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                    .collect();
                return format!("http://{address}");
            }
        }
        panic!("the server process exited before it was ready");
    })
    .await
    .expect("the server process starts within 60 s");
    // Keep draining its output so the process never blocks on a full pipe.
    let kept = logs.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            if echo {
                eprintln!("[server process] {line}");
            }
            if let Ok(mut kept) = kept.lock() {
                kept.push(line);
            }
        }
    });
    ServerProcess {
        address,
        logs,
        child,
    }
}
