//! A PostgreSQL server of the harness's own (`initdb` into a temporary folder, on a free
//! loopback port), so that stopping and restarting it under load touches nobody else's
//! databases. Uses the machine's PostgreSQL binaries (Debian's `postgresql` package); as
//! root, runs them as the `postgres` user, which PostgreSQL insists on.

use anyhow::{bail, Context};
use std::path::PathBuf;
use std::process::Command;

pub struct PrivatePostgres {
    /// `postgres://postgres@127.0.0.1:<port>/postgres`: the admin URL fresh databases are
    /// created beside.
    pub admin_url: String,
    bin: PathBuf,
    data: PathBuf,
    port: u16,
}

impl PrivatePostgres {
    /// Initialises a cluster (trust authentication on loopback) and starts it.
    pub fn start() -> anyhow::Result<Self> {
        let bin = binaries()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let data =
            std::env::temp_dir().join(format!("linli-faults-pg-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&data)?;
        if is_root() {
            run(Command::new("chown").arg("postgres:postgres").arg(&data))?;
        }
        let server = Self {
            admin_url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            bin,
            data,
            port,
        };
        run(server
            .tool("initdb")
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(&server.data))
        .context("initdb")?;
        server.up()?;
        Ok(server)
    }

    /// Where its programs are (pg_dump and pg_restore of the same version among them).
    pub fn bin_dir(&self) -> &std::path::Path {
        &self.bin
    }

    /// `pg_ctl start`, waiting until it accepts connections.
    pub fn up(&self) -> anyhow::Result<()> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200 \
             -c shared_buffers=64MB -c fsync=off",
            self.port,
            self.data.display()
        );
        run(self
            .tool("pg_ctl")
            .args(["-w", "-t", "60", "-D"])
            .arg(&self.data)
            .args(["-l"])
            .arg(self.data.join("server.log"))
            .args(["-o", &options, "start"]))
        .context("pg_ctl start")
    }

    /// `pg_ctl stop -m fast`: every connection is cut, in-flight transactions roll back.
    pub fn down(&self) -> anyhow::Result<()> {
        run(self
            .tool("pg_ctl")
            .args(["-w", "-t", "60", "-m", "fast", "-D"])
            .arg(&self.data)
            .arg("stop"))
        .context("pg_ctl stop")
    }

    /// A command for one of the server's programs, as the `postgres` user when root.
    fn tool(&self, name: &str) -> Command {
        let program = self.bin.join(name);
        if is_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = self
            .tool("pg_ctl")
            .args(["-w", "-m", "immediate", "-D"])
            .arg(&self.data)
            .arg("stop")
            .output();
        // Should pg_ctl not have stopped it, the postmaster's pid is the first line of its
        // pid file: a server must not outlive the harness.
        if let Some(pid) = std::fs::read_to_string(self.data.join("postmaster.pid"))
            .ok()
            .and_then(|file| file.lines().next().map(str::to_owned))
        {
            let _ = Command::new("kill").args(["-KILL", pid.trim()]).output();
        }
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

/// The newest PostgreSQL under /usr/lib/postgresql (Debian's layout), or `pg_config --bindir`.
fn binaries() -> anyhow::Result<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    if let Some((_, bin)) = found.pop() {
        return Ok(bin);
    }
    let output = Command::new("pg_config").arg("--bindir").output();
    match output {
        Ok(out) if out.status.success() => {
            let bin = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            if bin.join("initdb").exists() {
                return Ok(bin);
            }
            bail!("no initdb in {}", bin.display())
        }
        _ => bail!("PostgreSQL's server programs (initdb, pg_ctl) are not installed"),
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

fn run(command: &mut Command) -> anyhow::Result<()> {
    let output = command
        .output()
        .with_context(|| format!("running {command:?}"))?;
    if !output.status.success() {
        bail!(
            "{command:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout).trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}
