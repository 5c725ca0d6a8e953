//! A moto server of one test's own, for what changes the whole server (IAM enforcement is
//! server-wide: `POST /moto-api/reset-auth`). Started from the project's `.venv/` (installed by
//! `scripts/moto start` through [`super::moto_endpoint`]) on a free port, stopped by its PID when
//! dropped; never the shared server other tests use.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running private moto server.
pub struct PrivateMoto {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    port: u16,
}

impl PrivateMoto {
    /// Starts one (with the project's extension, `scripts/moto_server.py`) and waits until it
    /// answers.
    ///
    /// # Panics
    /// When it cannot start or does not answer within 60 s.
    pub fn start() -> Self {
        // The shared server's start installs moto into .venv/ when needed.
        let _ = super::moto_endpoint();
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = std::fs::File::create(std::env::temp_dir().join(format!("ebg-private-moto-{port}.log"))).unwrap();
        let child = Command::new(root.join(".venv/bin/python"))
            .arg(root.join("scripts/moto_server.py"))
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .env("MOTO_ECS_SERVICE_RUNNING", "2")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start a private moto server");
        let moto = Self { child, endpoint: format!("http://127.0.0.1:{port}"), port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while moto.request("GET", "/moto-api/data.json", "", "application/json").is_none() {
            assert!(Instant::now() < deadline, "the private moto server on port {port} did not answer in 60 s");
            std::thread::sleep(Duration::from_millis(200));
        }
        moto
    }

    /// Turns IAM enforcement on: every later request is checked against its caller's policies.
    pub fn enforce_iam(&self) {
        self.reset_auth("0");
    }

    /// Turns IAM enforcement off (the next billion requests are free).
    pub fn stop_enforcing(&self) {
        self.reset_auth("1000000000");
    }

    fn reset_auth(&self, free_requests: &str) {
        let answer = self.request("POST", "/moto-api/reset-auth", free_requests, "text/plain").expect("reset-auth answered");
        assert!(answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200"), "reset-auth: {answer}");
    }

    /// One HTTP/1.0 request; the whole answer, or `None` when nothing answers.
    fn request(&self, method: &str, path: &str, body: &str, content_type: &str) -> Option<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        let req = format!(
            "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
            self.port,
            body.len()
        );
        s.write_all(req.as_bytes()).ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        (!out.is_empty()).then_some(out)
    }
}

impl Drop for PrivateMoto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
