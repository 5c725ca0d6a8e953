//! Shared harness for the moto-backed integration tests (`tests/moto/main.rs` declares it as
//! `crate::common`).
//!
//! The tests talk to one moto server: the one in `MOTO_ENDPOINT` when set (`scripts/test` sets
//! it), else the one [`moto_endpoint`] gets from `scripts/moto start` on first use, so a plain
//! `cargo test` works too. That server is left running for the next run (`scripts/moto status`
//! shows it, `scripts/moto stop` stops it).
//! Every test takes its own AWS account from [`fresh_account`]; [`moto_clients`] sends that account
//! in the `x-moto-account-id` header, so tests run in parallel without resets or name collisions.
#![allow(dead_code)] // each test binary uses a different subset

pub mod account_header;
pub mod cli;
pub mod fault_loops;
pub mod faults;
pub mod fixture;
pub mod private_moto;
pub mod snapshot;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_ecs::config::Credentials;
use aws_smithy_runtime_api::client::behavior_version::BehaviorVersion;
use aws_types::SdkConfig;
use aws_types::region::Region;
use aws_types::sdk_config::SharedCredentialsProvider;
use ecs_bluegreen::{AwsClients, CallRecorder};

pub use account_header::AccountHeader;


/// The region every moto test works in.
pub const REGION: &str = "us-east-1";

/// The moto endpoint, e.g. `http://127.0.0.1:40123`: `MOTO_ENDPOINT` when set, else the endpoint
/// `scripts/moto start` prints. That script installs moto into `.venv/` on first use, reuses a
/// server it already started, or starts one on a free port; it runs at most once per test
/// process. The server outlives the tests, for the next run (`scripts/moto stop` ends it).
///
/// Child processes get the endpoint from the caller (`cli::migrate_with` passes it as
/// `AWS_ENDPOINT_URL`), not from this process's environment.
///
/// # Panics
/// When `MOTO_ENDPOINT` is unset and `scripts/moto start` fails (every caller in the process
/// panics with the same message).
pub fn moto_endpoint() -> String {
    static ENDPOINT: OnceLock<Result<String, String>> = OnceLock::new();
    let endpoint = ENDPOINT.get_or_init(|| match std::env::var("MOTO_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => Ok(endpoint),
        _ => start_moto(),
    });
    match endpoint {
        Ok(endpoint) => endpoint.clone(),
        Err(e) => panic!("{e}"),
    }
}

/// Runs `scripts/moto start` and returns the endpoint from its `MOTO_ENDPOINT=...` line. Its
/// progress messages (install, "ready on ...") go to this process's stderr.
fn start_moto() -> Result<String, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts").join("moto");
    let out = Command::new(&script)
        .arg("start")
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("MOTO_ENDPOINT is unset and `{} start` could not run: {e}", script.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let endpoint = stdout
        .lines()
        .find_map(|line| line.trim().strip_prefix("MOTO_ENDPOINT="))
        .filter(|endpoint| endpoint.starts_with("http://"));
    match endpoint {
        Some(endpoint) if out.status.success() => Ok(endpoint.to_owned()),
        _ => Err(format!(
            "MOTO_ENDPOINT is unset and `{} start` failed ({}; its messages are above), stdout: {stdout:?}",
            script.display(),
            out.status
        )),
    }
}

/// A new 12-digit account id, unique per call and across concurrently running test binaries.
///
/// Mixes the process id, a per-process counter and the time, so two test binaries started at the
/// same moment (different pids) or one after the other (different times) do not share accounts on
/// the one moto server.
pub fn fresh_account() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let pid = u64::from(std::process::id());
    let micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64);
    // Low 9 digits: (pid, counter), exact, so calls within one process never collide and
    // concurrent processes differ by pid. High 3 digits (100..=999, never a leading 0): the start
    // time, so a later run against a still-running server picks other accounts.
    let low = (pid % 100_000) * 10_000 + n % 10_000;
    let high = 100 + (micros / 1_000_000 + n / 10_000) % 900;
    format!("{high}{low:09}")
}

/// SDK configuration for the moto endpoint: static dummy credentials, `us-east-1`, latest behavior.
///
/// Built explicitly rather than from the environment, so a developer's `AWS_PROFILE` or
/// `~/.aws/config` cannot point a test at a real account.
pub async fn sdk_config() -> SdkConfig {
    moto_sdk_config(&moto_endpoint())
}

/// The synchronous core of [`sdk_config`].
pub fn moto_sdk_config(endpoint: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        // A stuck emulator fails the test instead of stalling the whole run.
        .timeout_config(
            aws_smithy_types::timeout::TimeoutConfig::builder()
                .operation_attempt_timeout(std::time::Duration::from_secs(30))
                .build(),
        )
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "test", "test", None, None, "moto",
        )))
        .build()
}

/// The five clients, acting in `account` on the moto server.
pub fn moto_clients(account: &str) -> AwsClients {
    AwsClients::builder(&moto_sdk_config(&moto_endpoint()))
        .interceptor(AccountHeader(account.to_owned()))
        .build()
}

/// Like [`moto_clients`], also recording every call in `recorder`.
pub fn moto_clients_with(account: &str, recorder: CallRecorder) -> AwsClients {
    AwsClients::builder(&moto_sdk_config(&moto_endpoint()))
        .interceptor(AccountHeader(account.to_owned()))
        .interceptor(recorder)
        .build()
}
