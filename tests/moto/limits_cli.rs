//! Time limits on every AWS call, through the reference CLI (`--call-timeout SECONDS`):
//! - `plan` against an endpoint that accepts connections and never answers ends within the
//!   limit, with a message naming the timeout;
//! - `apply` through a proxy that hands CreateDeploymentGroup to moto and then drops the answer
//!   (the call took effect, no word came back) ends within the limit, undoes what it did (the
//!   group included, looked up by name), leaves a consistent journal, and a later `rollback`
//!   straight to moto finds the account as it was.
//!
//! Run with `cargo test --test moto limits_cli::` (needs `cargo build --examples`).

use crate::common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::cli::{migrate_at, migrate_with, text};
use common::fixture::seed_rolling_account;
use common::snapshot::{assert_same, snapshot};
use common::{fresh_account, moto_clients, moto_endpoint};
use ecs_bluegreen::journal::{self, Entry, JournalStatus};
use ecs_bluegreen::{FileJournal, Journal};

const ARGS: &[&str] = &["--cluster", "prod", "--service", "web", "--test-listener-port", "8080"];

fn temp_dir(account: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ebg-limits-{account}"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// An endpoint that accepts every connection and never answers: the sockets are held open
/// (and drained) until the client hangs up.
fn silent_endpoint() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while matches!(conn.read(&mut buf), Ok(n) if n > 0) {}
            });
        }
    });
    addr
}

/// One HTTP/1.1 request: header lines (without the blank line) and body.
struct Request {
    head: Vec<String>,
    body: Vec<u8>,
}

impl Request {
    fn read(reader: &mut BufReader<TcpStream>) -> Option<Request> {
        let mut head = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).ok()? == 0 {
                return None;
            }
            let line = line.trim_end_matches(['\r', '\n']).to_owned();
            if line.is_empty() {
                break;
            }
            head.push(line);
        }
        let mut req = Request { head, body: Vec::new() };
        let len = req.header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
        req.body = vec![0; len];
        reader.read_exact(&mut req.body).ok()?;
        Some(req)
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.head.iter().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// The request as bytes, asking the upstream to close after answering.
    fn bytes_closing(&self) -> Vec<u8> {
        let mut out = String::new();
        for l in self.head.iter().filter(|l| !l.to_ascii_lowercase().starts_with("connection:")) {
            out.push_str(l);
            out.push_str("\r\n");
        }
        out.push_str("connection: close\r\n\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

/// The answer as bytes, telling the client not to reuse the connection (one request each).
fn closing(response: &[u8]) -> Vec<u8> {
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").map_or(response.len(), |p| p + 4);
    let head = String::from_utf8_lossy(&response[..split]);
    let mut out = String::new();
    for l in head.split("\r\n").filter(|l| !l.is_empty() && !l.to_ascii_lowercase().starts_with("connection:")) {
        out.push_str(l);
        out.push_str("\r\n");
    }
    out.push_str("connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&response[split..]);
    bytes
}

/// A proxy to `upstream` that forwards every request, and for the first request whose
/// `X-Amz-Target` ends with `.{operation}` forwards it too but never passes the answer on:
/// the call takes effect and its answer is lost. `stalled` tells whether that happened.
fn lossy_proxy(upstream: SocketAddr, operation: &'static str) -> (SocketAddr, Arc<AtomicBool>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let stalled = Arc::new(AtomicBool::new(false));
    let flag = stalled.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(client) = conn else { continue };
            let flag = flag.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(client.try_clone().unwrap());
                let Some(req) = Request::read(&mut reader) else { return };
                let target = req.header("x-amz-target").unwrap_or_default().to_owned();
                let Ok(mut up) = TcpStream::connect(upstream) else { return };
                if up.write_all(&req.bytes_closing()).is_err() {
                    return;
                }
                let mut answer = Vec::new();
                let _ = up.read_to_end(&mut answer);
                if target.ends_with(&format!(".{operation}")) && !flag.swap(true, Ordering::SeqCst) {
                    // Lost answer: hold the connection until the client gives up.
                    let mut buf = [0u8; 1024];
                    while matches!(reader.read(&mut buf), Ok(n) if n > 0) {}
                    return;
                }
                let mut client = client;
                let _ = client.write_all(&closing(&answer));
            });
        }
    });
    (addr, stalled)
}

fn moto_addr() -> SocketAddr {
    let endpoint = moto_endpoint();
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    host.parse().unwrap_or_else(|e| panic!("moto endpoint {endpoint}: {e}"))
}

#[test]
fn plan_against_an_endpoint_that_never_answers_ends_within_the_call_timeout() {
    let account = fresh_account();
    let dir = temp_dir(&account);
    let endpoint = format!("http://{}", silent_endpoint());
    let started = Instant::now();
    let out = migrate_at(&endpoint, &account, &dir, &[&["plan", "--call-timeout", "2"], ARGS].concat(), None);
    let took = started.elapsed();
    let stderr = text(&out.stderr);
    assert!(took < Duration::from_secs(8), "plan took {took:?} with --call-timeout 2:\n{stderr}");
    assert!(took >= Duration::from_secs(2), "plan ended before the limit ({took:?}): {stderr}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no answer within the time limit"), "the message does not name the timeout:\n{stderr}");
    assert!(stderr.contains("--call-timeout"), "the message does not say how to raise the limit:\n{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn apply_whose_create_deployment_group_answer_never_comes_is_undone_within_the_call_timeout() {
    let account = fresh_account();
    let aws = moto_clients(&account);
    let f = seed_rolling_account(&aws, &moto_endpoint(), &account).await;
    let dir = temp_dir(&account);
    let snap = || snapshot(&aws, &f.cluster_name, &f.load_balancer_arn, &f.pipeline_name);
    let before = snap().await;

    let (proxy, stalled) = lossy_proxy(moto_addr(), "CreateDeploymentGroup");
    let journal_path = dir.join("lost.journal.json");
    let journal_arg = journal_path.to_str().unwrap();
    let args = [&["apply", "--yes", "--call-timeout", "2", "--journal", journal_arg], ARGS].concat();
    let started = Instant::now();
    let out = tokio::task::spawn_blocking({
        let (account, dir) = (account.clone(), dir.clone());
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            migrate_at(&format!("http://{proxy}"), &account, &dir, &args, None)
        }
    })
    .await
    .unwrap();
    let took = started.elapsed();
    let stderr = text(&out.stderr);
    assert!(stalled.load(Ordering::SeqCst), "the proxy never saw CreateDeploymentGroup:\n{stderr}");
    assert!(took < Duration::from_secs(25), "apply took {took:?} with --call-timeout 2:\n{stderr}");
    assert!(matches!(out.status.code(), Some(1 | 3)), "exit {:?}:\n{stderr}", out.status.code());
    assert!(stderr.contains("CreateDeploymentGroup") && stderr.contains("no answer within the time limit"), "{stderr}");

    // The journal: the call is uncertain (not "failed, nothing changed"), and the run ended.
    let records = FileJournal::open(&journal_path).unwrap().records().unwrap();
    let intent = records
        .iter()
        .find(|r| matches!(&r.entry, Entry::Intent { effect, .. } if effect.describe().contains("deployment group")))
        .expect("an intent to create the deployment group");
    assert!(
        records.iter().any(|r| matches!(&r.entry, Entry::Uncertain { intent: i, .. } if *i == intent.seq)),
        "the lost call is not journaled as uncertain: {records:#?}"
    );
    assert!(!records.iter().any(|r| matches!(&r.entry, Entry::Failed { intent: i, .. } if *i == intent.seq)));
    let status = journal::status(&records);
    match out.status.code() {
        Some(1) => assert_eq!(status, JournalStatus::RolledBack, "{stderr}"),
        _ => assert_eq!(status, JournalStatus::RollbackIncomplete, "{stderr}"),
    }

    // Straight to moto: rollback finishes (or finds nothing left), and the account is as it was.
    let rb = migrate_with(&account, &dir, &["rollback", "--journal", journal_arg], None);
    assert_eq!(rb.status.code(), Some(0), "{}", text(&rb.stderr));
    assert_same(&before, &snap().await, "after apply with a lost answer and rollback");
    let _ = std::fs::remove_dir_all(&dir);
}
