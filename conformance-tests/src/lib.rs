//! Harness for the black-box tests: builds the `roster` binary, starts it as a separate process
//! on a free port with its own data directory (and, when asked, its own PostgreSQL database),
//! and stops it when the test ends.

pub mod admin;
pub mod postgres;
pub mod smtp;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The `roster` binary of this workspace, built once per test run.
pub fn roster_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--quiet", "--bin", "roster"])
            .current_dir(workspace_root())
            .status()
            .expect("run cargo build");
        assert!(status.success(), "building the roster binary failed");
        target_dir().join("debug").join("roster")
    })
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("conformance-tests sits in the workspace")
        .to_path_buf()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// A `roster` command in a fresh working directory, with no configuration from the caller's
/// environment leaking in.
pub fn roster_command(workdir: &Path) -> Command {
    let mut command = Command::new(roster_bin());
    command.current_dir(workdir);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("ROSTER_") {
            command.env_remove(key);
        }
    }
    command.env("ROSTER_LOG_FORMAT", "json");
    command
}

/// A running server process.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base_url: String,
    /// The working directory the server was started in (its default data directory's parent).
    pub workdir: tempfile::TempDir,
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts `roster serve` on a free port with the extra arguments, and waits until it says it
    /// has started.
    pub fn start(extra_args: &[&str]) -> Server {
        let workdir = tempfile::tempdir().expect("working directory");
        let mut child = roster_command(workdir.path())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra_args)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("start roster serve");
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().expect("piped stderr");
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().expect("log lock").push(line);
            }
        });
        let mut server = Server {
            child,
            base_url: String::new(),
            workdir,
            log,
        };
        let started = server.wait_for_log("roster started", Duration::from_secs(30));
        let listen = started["listen"]
            .as_str()
            .expect("startup line names the address");
        server.base_url = format!("http://{listen}");
        server
    }

    /// Waits for a JSON log line whose message is `message` and returns it.
    pub fn wait_for_log(&mut self, message: &str, timeout: Duration) -> serde_json::Value {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self
                .log_lines()
                .into_iter()
                .find(|l| l["message"] == message)
            {
                return line;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "roster exited with {status} before logging {message:?}: {:?}",
                    self.raw_log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "no {message:?} log line: {:?}",
                self.raw_log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The log lines so far that are JSON objects.
    pub fn log_lines(&self) -> Vec<serde_json::Value> {
        self.raw_log()
            .iter()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    pub fn raw_log(&self) -> Vec<String> {
        self.log.lock().expect("log lock").clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A blocking HTTP client with a timeout, so a hung server fails the test instead of the run.
pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("HTTP client")
}
