//! One of two instances killed behind the load balancer the deployment uses: Debian's nginx
//! with `deploy/nginx.conf`, its upstreams and port moved onto loopback. Clients talk only to
//! nginx. A request nginx could not send to the dead instance goes to the other; only the
//! requests the dead one had in flight fail (nginx does not resend a POST it has sent), and
//! those settle exactly once when sent again with their keys.

use super::{outcome, Outcome, Setup, Stage};
use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// nginx in the foreground, one process (no master and workers, so that killing it leaves
/// nothing behind), with a configuration of its own in a temporary folder.
struct Nginx {
    url: String,
    folder: PathBuf,
    process: Child,
}

impl Nginx {
    /// Writes a main configuration around the deployment's `server`/`upstream` blocks, checks
    /// it with `nginx -t`, starts nginx and waits until it answers.
    async fn start(deploy_conf: &Path, upstreams: &[String]) -> anyhow::Result<Self> {
        let listen = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let folder = std::env::temp_dir().join(format!(
            "linli-faults-nginx-{}",
            uuid::Uuid::now_v7().simple()
        ));
        std::fs::create_dir_all(&folder)?;
        // Workers may run as another user: let them write their temporary files here.
        std::fs::set_permissions(&folder, std::os::unix::fs::PermissionsExt::from_mode(0o777))?;
        let deployed = std::fs::read_to_string(deploy_conf)
            .with_context(|| format!("reading {}", deploy_conf.display()))?;
        let site = on_loopback(&deployed, listen, upstreams)?;
        let dir = folder.display();
        let conf = format!(
            "daemon off;\nmaster_process off;\npid {dir}/nginx.pid;\nerror_log {dir}/error.log warn;\n\
             events {{ worker_connections 1024; }}\nhttp {{\n  access_log off;\n\
             client_body_temp_path {dir}/body;\n  proxy_temp_path {dir}/proxy;\n\
             fastcgi_temp_path {dir}/fastcgi;\n  uwsgi_temp_path {dir}/uwsgi;\n\
             scgi_temp_path {dir}/scgi;\n{site}\n}}\n"
        );
        let conf_path = folder.join("nginx.conf");
        std::fs::write(&conf_path, conf)?;
        let binary = nginx_binary()?;
        let checked = Command::new(&binary)
            .arg("-t")
            .arg("-c")
            .arg(&conf_path)
            .arg("-p")
            .arg(&folder)
            .output()
            .await?;
        if !checked.status.success() {
            bail!(
                "nginx -t refused the configuration: {}",
                String::from_utf8_lossy(&checked.stderr)
            );
        }
        let process = Command::new(&binary)
            .arg("-c")
            .arg(&conf_path)
            .arg("-p")
            .arg(&folder)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let url = format!("http://127.0.0.1:{listen}");
        super::wait_for(
            || async {
                reqwest::get(format!("{url}/healthz"))
                    .await
                    .is_ok_and(|r| r.status() == 200)
            },
            Duration::from_secs(10),
        )
        .await
        .context("nginx answering")?;
        Ok(Self {
            url,
            folder,
            process,
        })
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.process.start_kill();
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

/// The deployment's blocks with its two upstream servers replaced by `upstreams` and its
/// `listen 80` by a loopback port; fails if the file no longer has what is replaced.
fn on_loopback(deployed: &str, listen: u16, upstreams: &[String]) -> anyhow::Result<String> {
    let mut site = deployed.to_owned();
    for (n, upstream) in upstreams.iter().enumerate() {
        let named = format!("server api-{}:8080", n + 1);
        anyhow::ensure!(site.contains(&named), "deploy/nginx.conf has no `{named}`");
        let address = upstream.trim_start_matches("http://");
        site = site.replace(&named, &format!("server {address}"));
    }
    anyhow::ensure!(
        site.contains("listen 80;"),
        "deploy/nginx.conf has no `listen 80;`"
    );
    Ok(site.replace("listen 80;", &format!("listen 127.0.0.1:{listen};")))
}

fn nginx_binary() -> anyhow::Result<PathBuf> {
    ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .context("nginx is not installed (Debian package nginx)")
}

pub(super) async fn behind_nginx(setup: &Setup) -> anyhow::Result<Outcome> {
    let mut outcome = outcome("nginx");
    let servers = Stage::servers(setup).await?;
    let nginx = Nginx::start(&setup.deploy_dir.join("nginx.conf"), &servers.fleet.urls).await?;
    // The load goes through nginx only.
    let mut stage = Stage::with_clients(setup, servers, std::slice::from_ref(&nginx.url)).await?;
    stage.start_load();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let kills = setup.kills.min(5);
    let mut gaps = Vec::new();
    for _ in 0..kills {
        stage.fleet.kill(0).await?;
        let killed = Instant::now();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        stage.fleet.restart(0).await?;
        gaps.push(killed.elapsed());
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let writes = stage.traffic.writes();
    let failed_first = writes.iter().filter(|w| !w.first.acknowledged()).count();
    let writers = setup.writers_per_kind * super::traffic::Kind::ALL.len();
    outcome.figure("SIGKILLs of one instance behind nginx", kills);
    outcome.figure(
        "failed at first (at most the requests in flight)",
        format!("{failed_first} (bound {})", kills * writers),
    );
    if failed_first > kills * writers {
        outcome.fail(format!(
            "{failed_first} writes failed through nginx; at most {} can have been in flight",
            kills * writers
        ));
    }
    stage.finish(setup, &mut outcome).await?;
    drop(nginx);
    Ok(outcome)
}

/// A rolling restart behind nginx: each instance in turn gets SIGTERM under load, must exit
/// cleanly within its grace having answered what it took in, and is started again; the next
/// one goes only after nginx's `fail_timeout` (10 s in deploy/nginx.conf), when nginx trusts
/// the restarted one again; sooner, it has counted both as failed and answers 502 for both.
/// Clients, talking to nginx, should see next to nothing of it.
/// `fail_timeout` of the upstream servers in deploy/nginx.conf.
const NGINX_FAIL_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) async fn rolling_restart(setup: &Setup) -> anyhow::Result<Outcome> {
    let mut outcome = outcome("sigterm");
    let servers = Stage::servers(setup).await?;
    let nginx = Nginx::start(&setup.deploy_dir.join("nginx.conf"), &servers.fleet.urls).await?;
    let mut stage = Stage::with_clients(setup, servers, std::slice::from_ref(&nginx.url)).await?;
    eprintln!("  load through nginx at {}", nginx.url);
    stage.start_load();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rounds = if setup.kills < 10 { 1 } else { 2 };
    let mut slowest_exit = Duration::ZERO;
    for _ in 0..rounds {
        for instance in 0..2 {
            eprintln!("  SIGTERM to instance {instance}");
            stage.fleet.terminate(instance)?;
            let told = Instant::now();
            let status =
                tokio::time::timeout(Duration::from_secs(30), stage.fleet.wait_exit(instance))
                    .await
                    .context("an instance outlived 30 s after SIGTERM")??;
            slowest_exit = slowest_exit.max(told.elapsed());
            if !status.success() {
                outcome.fail(format!(
                    "instance {instance} exited with {status} after SIGTERM"
                ));
            }
            stage.fleet.restart(instance).await?;
            tokio::time::sleep(NGINX_FAIL_TIMEOUT + Duration::from_secs(1)).await;
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let writes = stage.traffic.writes();
    let failed_first = writes.iter().filter(|w| !w.first.acknowledged()).count();
    let steps_failed = stage
        .traffic
        .steps()
        .iter()
        .filter(|s| !s.first.acknowledged())
        .count();
    let restarts = rounds * 2;
    outcome.figure("SIGTERMs (each instance in turn, restarted)", restarts);
    outcome.figure(
        "slowest exit after SIGTERM",
        format!("{} ms", slowest_exit.as_millis()),
    );
    outcome.figure(
        "requests failed through nginx (keyed writes, steps)",
        format!("{failed_first}, {steps_failed}"),
    );
    // nginx may have sent a request down a kept-alive connection the stopping instance was
    // closing: at most one such per writer per restart, and it settles with its key.
    let writers = setup.writers_per_kind * super::traffic::Kind::ALL.len();
    if failed_first + steps_failed > restarts * writers {
        outcome.fail(format!(
            "{} requests failed during the rolling restart (bound {})",
            failed_first + steps_failed,
            restarts * writers
        ));
    }
    stage.finish(setup, &mut outcome).await?;
    drop(nginx);
    Ok(outcome)
}
