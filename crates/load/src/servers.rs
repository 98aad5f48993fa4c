//! The servers under load: `linli serve` processes this harness starts on a fresh database
//! (one or two instances, sharing it), or a server somebody else runs at a URL.

use anyhow::{bail, Context};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::process::{Child, Command};

/// Where the servers are and, when this harness started them, their processes.
pub struct Fleet {
    pub urls: Vec<String>,
    pub database_url: Option<String>,
    processes: Vec<Child>,
    ports: Vec<u16>,
    launch: Option<Launch>,
    peak_rss_kib: Arc<AtomicU64>,
}

/// What to start.
#[derive(Clone)]
pub struct Launch {
    pub binary: PathBuf,
    pub config_dir: PathBuf,
    pub database_url: String,
    pub redis_url: Option<String>,
    /// Shared by the fleet's instances, new for every fleet.
    pub redis_prefix: String,
    pub instances: usize,
    pub pool: u32,
    pub lanes: usize,
    /// More `LINLI__*` settings for the servers (the fault harness's timeouts).
    pub extra_env: Vec<(String, String)>,
    /// Where the servers' logs go (`<port>.log`, appended across restarts); none: nowhere.
    pub log_dir: Option<PathBuf>,
}

impl Fleet {
    /// A server somebody else runs: nothing to start, no RSS to read.
    pub fn at(url: &str) -> Self {
        Self {
            urls: vec![url.trim_end_matches('/').to_owned()],
            database_url: None,
            processes: Vec::new(),
            ports: Vec::new(),
            launch: None,
            peak_rss_kib: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Starts the instances one after another (the first one migrates and seeds the demo
    /// district; the others find it done), each ready before the next starts.
    pub async fn start(launch: Launch) -> anyhow::Result<Self> {
        let mut fleet = Self {
            urls: Vec::new(),
            database_url: Some(launch.database_url.clone()),
            processes: Vec::new(),
            ports: Vec::new(),
            launch: Some(launch.clone()),
            peak_rss_kib: Arc::new(AtomicU64::new(0)),
        };
        for _ in 0..launch.instances {
            let port = free_port()?;
            let child = spawn(&launch, port)?;
            fleet.processes.push(child);
            fleet.ports.push(port);
            let url = format!("http://127.0.0.1:{port}");
            wait_ready(&url).await?;
            fleet.urls.push(url);
        }
        fleet.watch_memory();
        Ok(fleet)
    }

    /// SIGKILL to instance `n`: no shutdown, no flushing, whatever it was doing cut short.
    pub async fn kill(&mut self, n: usize) -> anyhow::Result<()> {
        let child = self.processes.get_mut(n).context("no such instance")?;
        child.kill().await.context("killing an instance")?;
        Ok(())
    }

    /// SIGTERM to instance `n`: the server's graceful shutdown. Returns at once.
    pub fn terminate(&self, n: usize) -> anyhow::Result<()> {
        let pid = self
            .processes
            .get(n)
            .and_then(Child::id)
            .context("the instance is not running")?;
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()?;
        anyhow::ensure!(status.success(), "kill -TERM {pid} failed");
        Ok(())
    }

    /// Waits for instance `n` to exit on its own (after [`Fleet::terminate`]).
    pub async fn wait_exit(&mut self, n: usize) -> anyhow::Result<std::process::ExitStatus> {
        let child = self.processes.get_mut(n).context("no such instance")?;
        Ok(child.wait().await?)
    }

    /// Starts instance `n` again on its old port (after [`Fleet::kill`]) and waits until it
    /// is ready.
    pub async fn restart(&mut self, n: usize) -> anyhow::Result<()> {
        let launch = self
            .launch
            .as_ref()
            .context("this fleet was not started here")?;
        let port = *self.ports.get(n).context("no such instance")?;
        self.processes[n] = spawn(launch, port)?;
        wait_ready(&self.urls[n]).await
    }

    /// The highest resident set size any instance reached since the last reset, in MiB
    /// (`None` for a server this harness did not start).
    pub fn peak_rss_mib(&self) -> Option<f64> {
        (!self.processes.is_empty())
            .then(|| self.peak_rss_kib.load(Ordering::Relaxed) as f64 / 1024.0)
    }

    pub fn reset_peak(&self) {
        self.peak_rss_kib.store(0, Ordering::Relaxed);
    }

    /// Samples every instance's RSS from /proc ten times a second.
    fn watch_memory(&self) {
        let pids: Vec<u32> = self.processes.iter().filter_map(Child::id).collect();
        let peak = self.peak_rss_kib.clone();
        tokio::spawn(async move {
            loop {
                for pid in &pids {
                    if let Some(kib) = rss_kib(*pid) {
                        peak.fetch_max(kib, Ordering::Relaxed);
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
    }

    /// Runs `linli <args>` against the fleet's database (e.g. `ledger verify`) and returns
    /// its output, failing when it fails.
    pub async fn linli(
        &self,
        binary: &Path,
        config_dir: &Path,
        args: &[&str],
    ) -> anyhow::Result<String> {
        let Some(database_url) = &self.database_url else {
            bail!(
                "`linli {}` needs the database: start the servers here",
                args.join(" ")
            );
        };
        let output = Command::new(binary)
            .args(args)
            .env("LINLI_CONFIG_DIR", config_dir)
            .env("LINLI__DATABASE__URL", database_url)
            .env("LINLI__LOG__FILTER", "warn")
            .env("LINLI__DEMO__SEED", "false")
            .output()
            .await?;
        let stdout = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        if !output.status.success() {
            bail!(
                "linli {} failed: {stdout} {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(stdout)
    }

    pub async fn stop(mut self) {
        for child in &mut self.processes {
            let _ = child.kill().await;
        }
    }
}

fn spawn(launch: &Launch, port: u16) -> anyhow::Result<Child> {
    let mut command = server_command(launch, port);
    if let Some(dir) = &launch.log_dir {
        std::fs::create_dir_all(dir)?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(format!("{port}.log")))?;
        command.stdout(log);
    }
    command
        .spawn()
        .with_context(|| format!("starting {}", launch.binary.display()))
}

fn server_command(launch: &Launch, port: u16) -> Command {
    let mut command = Command::new(&launch.binary);
    for (key, _) in std::env::vars() {
        if key.starts_with("LINLI") {
            command.env_remove(key);
        }
    }
    command
        .arg("serve")
        .env("LINLI_CONFIG_DIR", &launch.config_dir)
        .env("LINLI__SERVER__PORT", port.to_string())
        .env("LINLI__DATABASE__URL", &launch.database_url)
        .env("LINLI__DATABASE__MAX_CONNECTIONS", launch.pool.to_string())
        .env("LINLI__DATABASE__WRITER_LANES", launch.lanes.to_string())
        // Every virtual user logs in from 127.0.0.1; the login ceiling is for attackers.
        .env("LINLI__RATE_LIMIT__LOGIN_PER_IP_PER_MINUTE", "1000000")
        .env(
            "LINLI__RATE_LIMIT__STAFF_LOGIN_PER_USERNAME_PER_15MIN",
            "1000000",
        )
        .env("LINLI__LOG__FILTER", "warn")
        // The demo's staff and merchants, not its simulated month: the scenarios bring
        // their own traffic, and instances starting together must not each simulate it.
        .env("LINLI__DEMO__SIMULATED_MONTH", "false")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    if let Some(redis) = &launch.redis_url {
        // Keys of their own: what an earlier run on another database cached (the org tree,
        // actors) must not answer for this one.
        command
            .env("LINLI__REDIS__URL", redis)
            .env("LINLI__REDIS__KEY_PREFIX", &launch.redis_prefix);
    }
    command.envs(launch.extra_env.iter().map(|(k, v)| (k, v)));
    command
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

async fn wait_ready(url: &str) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    for _ in 0..300 {
        if let Ok(response) = client.get(format!("{url}/readyz")).send().await {
            if response.status().is_success() {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("the server at {url} did not become ready within 30 s")
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The `linli` binary beside this one (`cargo build --release -p api -p linli-load` puts
/// both in `target/release`).
pub fn default_binary() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("linli")))
        .unwrap_or_else(|| PathBuf::from("linli"))
}
