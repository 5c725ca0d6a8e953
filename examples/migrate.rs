//! Reference CLI for ecs-bluegreen: plan, apply, rollback, resume, status, verify
//! the migration of an ECS service from rolling updates to CodeDeploy blue/green, and
//! deploy-check its first blue/green deployment.
//!
//! AWS settings come from the standard environment (AWS_REGION, AWS_ENDPOINT_URL,
//! credentials, profiles).
//!
//! Exit codes: 0 done (including "nothing to do"); 1 failed and fully rolled back (verify: a
//! check failed; deploy-check: the deployment failed, was stopped, outlived --deadline or waits in Ready for --continue);
//! 2 invalid input, refused plan, rollback or deploy-check, an unfinished journal, or a journal
//! that cannot be used (missing for rollback/resume, corrupt, unreadable, unwritable, in use by
//! another run); 3 failed and rollback incomplete; 4 (status only) the journal holds an
//! unfinished run or an incomplete rollback; 130/143 stopped by SIGINT/SIGTERM (the journal says
//! where: resume or roll back with the command printed).

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use ecs_bluegreen::spec::{
    BakeTime, DeploymentConfig, DrainTimeout, Migration, NativeDeployment, NativeStrategy, PipelineDeployStage, PipelineName, Port,
    RoleArn, ServiceCutover, ServiceName, Target,
};
use ecs_bluegreen::txn::journal::{self, JournalStatus};
use ecs_bluegreen::txn::{Event, EventKind, Outcome};
use ecs_bluegreen::deploy::{DEPLOYMENT_WAIT, DeployEvent, DeployOptions, DeployRequest, DeploymentOutcome};
use ecs_bluegreen::wait::WaitPolicy;
use ecs_bluegreen::error::Report;
use ecs_bluegreen::{ApplyOptions, AwsClients, CallRecorder, Error, FileJournal};

/// Move a live ECS service from rolling updates to CodeDeploy blue/green, as one
/// previewable transaction that undoes itself on failure.
///
/// Start with `plan`: it reads the account, changes nothing, and prints every change
/// the migration would make (or every reason it refuses, with the fix).
#[derive(Debug, Parser)]
#[command(name = "migrate", version, about, long_about = None, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    opts: Opts,
}

const EXIT_CODES: &str = "Exit codes:\n  0  done (including \"nothing to do\")\n  1  failed and fully rolled back (verify: a check failed; deploy-check: the deployment failed, was stopped, outlived --deadline, or waits in Ready for --continue)\n  2  invalid input, refused plan, rollback (a deployment in flight, without --force) or deploy-check (e.g. another deployment in flight), an unfinished journal from an earlier run, the service locked by another run, or a journal that cannot be used: of another account/region/service, missing (rollback, resume), corrupt, unreadable, unwritable, or in use by another run (nothing changed)\n  3  failed and rollback incomplete (journal kept; the report says what is left)\n  4  status only: the journal holds an unfinished run or an incomplete rollback (run resume or rollback)\n  130/143  stopped by SIGINT/SIGTERM during apply, resume or rollback (the journal is unfinished: run the printed resume or rollback command)";

#[derive(Debug, Subcommand)]
enum Command {
    /// Read the account and print what the migration would change. Changes nothing.
    Plan,
    /// Plan, ask for confirmation (on a terminal; --yes skips it), and apply as a transaction:
    /// on failure everything this run did is undone.
    Apply,
    /// Undo the migration recorded in the journal (completed, interrupted, or half rolled back).
    /// Prints what it will undo first and asks for confirmation on a terminal (--yes skips it);
    /// the restored service keeps the desired count and task definition it has now. Refuses
    /// (exit 2) while a CodeDeploy deployment is in flight, unless --force. With no journal at
    /// the path: exit 2, naming the path and what in the account carries the migration's
    /// ownership tag (needs --cluster and --service).
    Rollback,
    /// Finish a run that was interrupted (crash, kill) from its journal. With no journal at the
    /// path: exit 2, as rollback.
    Resume,
    /// Show what the journal records: status and the changes a rollback would undo. Reads the
    /// journal only (also while a run holds it). Exit 0 when nothing is unfinished (no run,
    /// applied, rolled back); 4 when a run is unfinished or a rollback left something behind.
    Status,
    /// Check, read-only, that the service is ready for blue/green (service, deployment group,
    /// target groups, listeners, role, pipeline, task definition); before a migration, what the
    /// plan would refuse. Exit 0 only when every check passes, else 1.
    Verify,
    /// Create one CodeDeploy blue/green deployment of the task definition the service runs now
    /// and follow it to its end (status, lifecycle events, traffic). Refuses (exit 2) while
    /// another deployment is active in the group (unless --continue and it waits in Ready). Exit
    /// 0 when it succeeds; 1 when it fails, is stopped, is still running at --deadline (left
    /// running unless --stop-on-deadline, and always after the traffic shift), or waits in Ready
    /// for a go-ahead without --continue.
    #[command(name = "deploy-check")]
    DeployCheck,
    /// Break the run lock of --cluster/--service left by a run that died, given the lock's id
    /// (printed by the refused run). A lock with another id is left alone (exit 2).
    Unlock {
        /// The id of the lock to break.
        #[arg(long)]
        lock_id: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Output {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum CutoverArg {
    ParallelKeepName,
    Parallel,
    Recreate,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum TargetArg {
    Codedeploy,
    EcsNative,
    Rolling,
}

#[derive(Debug, clap::Args)]
struct Opts {
    /// ECS cluster name or ARN.
    #[arg(long, global = true)]
    cluster: Option<String>,
    /// ECS service name.
    #[arg(long, global = true)]
    service: Option<String>,
    /// CodePipeline whose ECS Deploy action becomes CodeDeployToECS.
    #[arg(long, global = true)]
    pipeline: Option<String>,
    /// Port of the test listener (must differ from the production port). Without it the
    /// green target group joins the production listener at weight 0.
    #[arg(long, global = true)]
    test_listener_port: Option<u16>,
    /// Migration target.
    #[arg(long, global = true, value_enum, default_value = "codedeploy")]
    target: TargetArg,
    /// How the service becomes CODE_DEPLOY: parallel-keep-name (no downtime, same name),
    /// parallel (no downtime, new name), recreate (downtime).
    #[arg(long, global = true, value_enum, default_value = "parallel-keep-name")]
    cutover: CutoverArg,
    /// New service name for --cutover parallel.
    #[arg(long, global = true)]
    new_service_name: Option<String>,
    /// CodeDeploy deployment configuration.
    #[arg(long, global = true, default_value = "CodeDeployDefault.ECSAllAtOnce")]
    deployment_config: String,
    /// Journal file (default: derived from cluster and service).
    #[arg(long, global = true)]
    journal: Option<std::path::PathBuf>,
    /// Directory to write the deploy artifacts into (plan and apply): taskdef.json from the
    /// live task definition (image = <IMAGE1_NAME>), appspec.yml, an example imageDetail.json
    /// and buildspec-snippet.yml.
    #[arg(long, global = true)]
    artifacts_dir: Option<std::path::PathBuf>,
    /// A buildspec.yml to patch (imageDetail.json instead of imagedefinitions.json, the three
    /// files as artifacts); the patched copy goes into --artifacts-dir, the file is not touched.
    #[arg(long, global = true, requires = "artifacts_dir")]
    buildspec: Option<std::path::PathBuf>,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value = "text")]
    output: Output,
    /// Do not ask for confirmation before apply or rollback.
    #[arg(long, global = true)]
    yes: bool,
    /// Time limit of every AWS call, retries included, in seconds (default 60; one attempt
    /// gets at most 20). A call without an answer by then fails; during apply it counts as
    /// uncertain and is undone by looking the resource up.
    #[arg(long, global = true, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    call_timeout: Option<u64>,
    /// rollback: go ahead while a CodeDeploy deployment of the service is in flight.
    #[arg(long, global = true)]
    force: bool,
    /// Print the AWS calls made, per operation, on stderr at the end.
    #[arg(long, global = true)]
    stats: bool,
    /// How long each wait for a deleted service to drain and become INACTIVE may take, in
    /// seconds (1-172800). Default: the target group's deregistration delay plus 10 minutes,
    /// at least 20 minutes. apply shows it in the plan; resume and rollback use it over the
    /// journal's plan.
    #[arg(long, global = true, value_name = "SECONDS")]
    drain_timeout: Option<u64>,
    /// deploy-check: how long to follow the deployment, in seconds (default 5400).
    #[arg(long, global = true, value_name = "SECONDS")]
    deadline: Option<u64>,
    /// deploy-check: stop the deployment (with rollback) when --deadline passes, instead of
    /// leaving it running. Never once production traffic has shifted to the replacement task
    /// set (that would roll back a good deployment): the report says so instead.
    #[arg(long, global = true)]
    stop_on_deadline: bool,
    /// deploy-check: when the deployment waits in Ready for a go-ahead (the group's ready wait),
    /// continue it (ContinueDeployment READY_WAIT) and follow it on; a deployment of the group
    /// already waiting in Ready is continued instead of refused. Without it, deploy-check ends at
    /// Ready and says so (exit 1).
    #[arg(long = "continue", global = true)]
    continue_ready: bool,
    /// --target ecs-native: the deployment strategy (default blue-green; from a CODE_DEPLOY
    /// service, default: mapped from its deployment group's config).
    #[arg(long, global = true, value_enum)]
    strategy: Option<StrategyArg>,
    /// --target ecs-native: minutes both revisions are kept after the production shift (0-1440, default 5).
    #[arg(long, global = true, value_name = "MINUTES")]
    bake_time: Option<u32>,
    /// --strategy linear: percent of traffic moved per step (3-100, default 10).
    #[arg(long, global = true, value_name = "PCT")]
    linear_step: Option<f64>,
    /// --strategy linear: minutes between steps (0-1440, default 6).
    #[arg(long, global = true, value_name = "MINUTES")]
    linear_interval: Option<u32>,
    /// --strategy canary: percent of traffic moved first (0.1-100, default 5).
    #[arg(long, global = true, value_name = "PCT")]
    canary_percent: Option<f64>,
    /// --strategy canary: minutes before the rest moves (0-1440, default 10).
    #[arg(long, global = true, value_name = "MINUTES")]
    canary_interval: Option<u32>,
    /// --target ecs-native: an existing ECS infrastructure role for load balancers, used as it is.
    #[arg(long, global = true, value_name = "ARN")]
    infrastructure_role_arn: Option<String>,
    /// From a CODE_DEPLOY service (--target ecs-native or rolling): keep its CodeDeploy
    /// deployment group and application (default: deleted when this tool created them).
    #[arg(long, global = true)]
    keep_codedeploy: bool,
}

/// The ECS-native deployment strategy.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum StrategyArg {
    BlueGreen,
    Linear,
    Canary,
}

/// A failure with its exit code.
struct Failure {
    code: u8,
    message: String,
    json: Option<serde_json::Value>,
}

impl Failure {
    fn invalid(message: impl Into<String>) -> Self {
        Self { code: 2, message: message.into(), json: None }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let code = match &e {
            Error::Plan(_)
            | Error::Validation(_)
            | Error::Unfinished(_)
            | Error::DeployRefused(_)
            | Error::UnregisteredStep(_)
            | Error::Locked(_) => 2,
            Error::Apply(f) if !f.rollback.is_clean() => 3,
            // Refused before any change (unreadable journal, another run's journal...).
            Error::Journal(j) if j.changed_nothing() => 2,
            // The journal could not be written: the account's state needs `status` and `resume`.
            Error::Journal(_) => 3,
            _ => 1,
        };
        let json = match &e {
            Error::Plan(p) => Some(serde_json::json!({ "error": "plan refused", "refusals": p.refusals() })),
            Error::Apply(f) => Some(serde_json::json!({
                "error": Report(&f.cause).to_string(), "failed_step": f.step, "rollback": f.rollback,
            })),
            Error::DeployRefused(r) => Some(serde_json::json!({
                "error": "deploy refused", "reason": r.reason(), "fix": r.fix(),
                "active_deployment_id": r.active_deployment_id(),
            })),
            other => Some(serde_json::json!({ "error": Report(other).to_string() })),
        };
        // The whole cause chain: Display of each error holds only its own message.
        let mut message = Report(&e).to_string();
        if call_timed_out(&e) {
            message.push_str("\nhint: an AWS call got no answer in time; if the endpoint is only slow, raise --call-timeout SECONDS");
        }
        Self { code, message, json }
    }
}

/// Whether an AWS call ran out of time (not a wait's deadline: --call-timeout does not set those).
fn call_timed_out(e: &Error) -> bool {
    match e {
        Error::Aws(a) => a.kind() == ecs_bluegreen::ErrorKind::Timeout,
        Error::Apply(f) => call_timed_out(&f.cause),
        _ => false,
    }
}

fn migration(opts: &Opts) -> Result<Migration, Failure> {
    let cluster = opts.cluster.as_deref().ok_or_else(|| Failure::invalid("--cluster is required"))?;
    let service = opts.service.as_deref().ok_or_else(|| Failure::invalid("--service is required"))?;
    let invalid = |e: ecs_bluegreen::spec::ValidationError| Failure::invalid(e.to_string());
    let cutover = match opts.cutover {
        CutoverArg::ParallelKeepName => ServiceCutover::ParallelKeepName,
        CutoverArg::Recreate => ServiceCutover::Recreate,
        CutoverArg::Parallel => {
            let name = opts
                .new_service_name
                .as_deref()
                .ok_or_else(|| Failure::invalid("--cutover parallel needs --new-service-name"))?;
            ServiceCutover::Parallel { new_name: ServiceName::new(name).map_err(invalid)? }
        }
    };
    let builder = Migration::for_service(cluster, service)
        .map_err(invalid)?
        .deployment_config(DeploymentConfig::parse(&opts.deployment_config).map_err(invalid)?)
        .cutover(cutover)
        .target(match opts.target {
            TargetArg::Codedeploy => Target::Codedeploy,
            TargetArg::EcsNative => Target::EcsNative,
            TargetArg::Rolling => Target::Rolling,
        });
    let test_port = opts.test_listener_port.map(Port::new).transpose().map_err(invalid)?;
    let pipeline = opts
        .pipeline
        .as_deref()
        .map(|p| PipelineName::new(p).map(PipelineDeployStage::named))
        .transpose()
        .map_err(invalid)?;
    let strategy = match opts.strategy {
        None => None,
        Some(StrategyArg::BlueGreen) => Some(NativeStrategy::BlueGreen),
        Some(StrategyArg::Linear) => {
            Some(NativeStrategy::linear(opts.linear_step.unwrap_or(10.0), opts.linear_interval.unwrap_or(6)).map_err(invalid)?)
        }
        Some(StrategyArg::Canary) => {
            Some(NativeStrategy::canary(opts.canary_percent.unwrap_or(5.0), opts.canary_interval.unwrap_or(10)).map_err(invalid)?)
        }
    };
    let native = NativeDeployment::builder()
        .strategy_opt(strategy)
        .bake_time_opt(opts.bake_time.map(BakeTime::minutes).transpose().map_err(invalid)?)
        .infrastructure_role_arn_opt(opts.infrastructure_role_arn.as_deref().map(RoleArn::new).transpose().map_err(invalid)?)
        .build();
    Ok(builder.test_listener_port_opt(test_port).pipeline_opt(pipeline).drain_timeout_opt(drain_timeout(opts)?).native(native).keep_codedeploy_opt(opts.keep_codedeploy.then_some(true)).build())
}

/// `--drain-timeout`, validated (exit 2 when out of range).
fn drain_timeout(opts: &Opts) -> Result<Option<DrainTimeout>, Failure> {
    opts.drain_timeout.map(DrainTimeout::secs).transpose().map_err(|e| Failure::invalid(e.to_string()))
}

async fn clients(opts: &Opts, recorder: &CallRecorder) -> AwsClients {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let mut builder = AwsClients::builder(&config).interceptor(recorder.clone());
    if let Some(secs) = opts.call_timeout {
        builder = builder.call_timeout(std::time::Duration::from_secs(secs));
    }
    // Test hook: route every call to one moto account (ignored against real AWS).
    if let Ok(account) = std::env::var("MOTO_ACCOUNT_ID") {
        builder = builder.interceptor(account_header::AccountHeader(account));
    }
    // Test hook: fail the listed mutating calls (1-based, comma-separated) to exercise rollback.
    if let Ok(list) = std::env::var("ECS_BLUEGREEN_FAIL_MUTATIONS") {
        let at = list.split(',').filter_map(|n| n.trim().parse().ok()).collect();
        builder = builder.interceptor(faults::FailNthMutation::at(at));
    }
    // Test hook: lose the answers of the listed mutating calls (done, then retried by the SDK).
    if let Ok(list) = std::env::var("ECS_BLUEGREEN_LOSE_ANSWERS") {
        let at = list.split(',').filter_map(|n| n.trim().parse().ok()).collect();
        builder = builder.interceptor(faults::LoseNthAnswer::at(at));
    }
    // Test hook: every mutating call takes this many milliseconds longer (to signal a run midway).
    if let Some(ms) = std::env::var("ECS_BLUEGREEN_SLOW_MUTATIONS").ok().and_then(|v| v.parse().ok()) {
        builder = builder.interceptor(faults::SlowMutations(std::time::Duration::from_millis(ms)));
    }
    builder.build()
}

#[path = "../tests/common/faults.rs"]
mod faults;

#[path = "../tests/common/account_header.rs"]
mod account_header;

fn journal_path(opts: &Opts) -> Result<std::path::PathBuf, Failure> {
    if let Some(p) = &opts.journal {
        return Ok(p.clone());
    }
    let cluster = opts.cluster.as_deref().ok_or_else(|| Failure::invalid("--cluster (or --journal) is required"))?;
    let service = opts.service.as_deref().ok_or_else(|| Failure::invalid("--service (or --journal) is required"))?;
    let cluster = cluster.rsplit('/').next().unwrap_or(cluster);
    Ok(std::path::PathBuf::from(format!(".ecs-bluegreen/{cluster}-{service}.journal.json")))
}

/// The journal `rollback` and `resume` act on. With none at the path (a typo, another working
/// directory) they refuse, exit 2, naming the path and what in the account carries the
/// migration's ownership tag: "rolled back 0 changes" there would be false reassurance.
async fn existing_journal(opts: &Opts, recorder: &CallRecorder, what: &str) -> Result<FileJournal, Failure> {
    let path = journal_path(opts)?;
    match FileJournal::open_existing(&path) {
        Ok(journal) => return Ok(journal),
        Err(Error::Journal(j)) if j.io_error().is_some_and(|e| e.kind() == std::io::ErrorKind::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    let mut message = format!("there is no journal at {}: nothing to {what} from it; nothing was changed.", path.display());
    let mut owned_json = serde_json::Value::Null;
    match migration(opts) {
        Err(_) => message.push_str(
            " Pass --cluster and --service to list what carries the migration's ownership tag in the account.",
        ),
        Ok(m) => {
            let aws = clients(opts, recorder).await;
            let tag = format!("{}={}", ecs_bluegreen::inventory::OWNERSHIP_TAG, m.migration_id());
            match ecs_bluegreen::discover::owned_resources(&aws, &m).await {
                Ok(owned) if owned.is_empty() => message.push_str(&format!(" In the account, no resource carries the tag {tag}.")),
                Ok(owned) => {
                    message.push_str(&format!(
                        " In the account, {} resource(s) carry the tag {tag}, so a run of this migration left them; \
                         point --journal at the journal that run wrote:",
                        owned.len()
                    ));
                    for r in &owned {
                        message.push_str(&format!("\n  {r}"));
                    }
                    owned_json = serde_json::to_value(&owned).expect("json");
                }
                Err(e) => message.push_str(&format!(" The resources carrying the tag {tag} could not be listed: {}", Report(&e))),
            }
        }
    }
    let json = serde_json::json!({ "error": message, "journal": path, "owned_resources": owned_json });
    Err(Failure { code: 2, message, json: Some(json) })
}

fn apply_options() -> ApplyOptions {
    use std::io::IsTerminal;
    let line = |e: &Event| -> Option<String> {
        Some(match &e.kind {
            EventKind::StepStarted { step } => format!("==> {step}"),
            EventKind::StepFinished { step } => format!("    {step}: done"),
            EventKind::StepFailed { step, error } => format!("    {step}: FAILED: {error}"),
            EventKind::Mutating { what, .. } => format!("    change: {what}"),
            EventKind::Waiting { what, .. } => format!("    waiting for {what}"),
            EventKind::Undoing { what } => format!("<== undo {what}"),
            EventKind::Undone { what } => format!("    undone: {what}"),
            EventKind::UndoFailed { what, error } => format!("    UNDO FAILED: {what}: {error}"),
            EventKind::Locked { lock } => format!("==> run lock taken: {lock}"),
            EventKind::LockNotReleased { lock, error } => format!(
                "    WARNING: the run lock was not released ({error}); break it with `migrate unlock --lock-id {}` and the same --cluster/--service",
                lock.lock_id
            ),
            _ => return None,
        })
    };
    let mut opts = if std::io::stderr().is_terminal() {
        // On a terminal: a spinner shows what is in flight; finished lines scroll above it.
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        ApplyOptions::new().observer(move |e| {
            let Some(text) = line(e) else { return };
            match &e.kind {
                EventKind::Mutating { .. } | EventKind::Waiting { .. } | EventKind::Undoing { .. } => {
                    bar.set_message(text.trim().to_owned())
                }
                _ => bar.println(text),
            }
        })
    } else {
        ApplyOptions::new().observer(move |e| {
            if let Some(text) = line(e) {
                eprintln!("{text}");
            }
        })
    };
    // Test hook: moto answers at once, so poll it quickly.
    if std::env::var("ECS_BLUEGREEN_FAST_WAITS").is_ok() {
        opts = opts
            .service_wait(ecs_bluegreen::wait::WaitPolicy::FAST)
            .iam_propagation(ecs_bluegreen::wait::WaitPolicy::FAST);
    }
    opts
}

/// Options of `rollback`/`resume`: with --cluster/--service given, the journal must belong to
/// that service (a journal of another service is refused before any change).
fn journal_options(opts: &Opts) -> Result<ApplyOptions, Failure> {
    let mut o = apply_options();
    if let Some(d) = drain_timeout(opts)? {
        o = o.drain_timeout(d);
    }
    Ok(match (&opts.cluster, &opts.service) {
        (Some(c), Some(s)) => o.journal_of(c, s),
        _ => o,
    })
}

/// Progress of deploy-check: a spinner on a terminal, plain lines on stderr otherwise.
fn deploy_progress() -> Box<dyn FnMut(&DeployEvent) + Send> {
    use std::io::IsTerminal;
    if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Box::new(move |e: &DeployEvent| match e {
            DeployEvent::Throttled { .. } => bar.set_message(e.to_string()),
            DeployEvent::Status { status } => {
                bar.println(format!("    {e}"));
                bar.set_message(format!("deployment {status}"));
            }
            _ => bar.println(format!("    {e}")),
        })
    } else {
        Box::new(|e: &DeployEvent| eprintln!("    {e}"))
    }
}

fn confirm(opts: &Opts, question: &str) -> Result<(), Failure> {
    use std::io::{BufRead, IsTerminal, Write};
    if opts.yes || !std::io::stdin().is_terminal() {
        return Ok(());
    }
    eprint!("{question} Only 'yes' is accepted: ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(|e| Failure::invalid(e.to_string()))?;
    if line.trim() == "yes" {
        Ok(())
    } else {
        Err(Failure::invalid("cancelled; nothing was changed"))
    }
}

/// Writes the deploy artifacts (and the patched buildspec) when --artifacts-dir is given.
async fn write_artifacts(opts: &Opts, aws: &AwsClients, plan: &ecs_bluegreen::Plan) -> Result<(), Failure> {
    let Some(dir) = &opts.artifacts_dir else { return Ok(()) };
    let arts = ecs_bluegreen::artifacts::generate(aws, plan, &ecs_bluegreen::artifacts::ArtifactOptions::default()).await?;
    let io = |e: std::io::Error| Failure { code: 1, message: format!("writing artifacts to {}: {e}", dir.display()), json: None };
    let mut files = arts.write_to(dir).map_err(io)?;
    if let Some(path) = &opts.buildspec {
        let text = std::fs::read_to_string(path).map_err(|e| Failure::invalid(format!("{}: {e}", path.display())))?;
        let patched = ecs_bluegreen::artifacts::BuildspecSnippet::default()
            .patch(&text)
            .map_err(|e| Failure::invalid(format!("{}: {e}", path.display())))?;
        let out = dir.join("buildspec.yml");
        std::fs::write(&out, patched.text).map_err(io)?;
        for note in patched.notes {
            eprintln!("buildspec: {note}");
        }
        files.push(out);
    }
    for f in files {
        eprintln!("wrote {}", f.display());
    }
    Ok(())
}

fn print_report(output: Output, label: &str, report: &ecs_bluegreen::RollbackReport) {
    match output {
        Output::Text => println!("{label}: {report}"),
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "result": label, "rollback": report })).expect("json")
        ),
    }
}

async fn run(cli: Cli, recorder: &CallRecorder) -> Result<(), Failure> {
    let opts = &cli.opts;
    let output = opts.output;
    match cli.command {
        Command::Plan => {
            let m = migration(opts)?;
            let aws = clients(opts, recorder).await;
            let plan = m.plan(&aws).await?;
            match output {
                Output::Text => print!("{plan}"),
                Output::Json => println!("{}", serde_json::to_string_pretty(&plan).expect("plan serialises")),
            }
            write_artifacts(opts, &aws, &plan).await
        }
        Command::Apply => {
            let m = migration(opts)?;
            let journal = FileJournal::open(journal_path(opts)?)?;
            let aws = clients(opts, recorder).await;
            let plan = m.plan(&aws).await?;
            match output {
                Output::Text => print!("{plan}"),
                Output::Json => {}
            }
            write_artifacts(opts, &aws, &plan).await?;
            if !plan.is_noop() {
                confirm(opts, "Apply these changes?")?;
            }
            let outcome = plan
                .apply(&aws, &journal, &running(apply_options()))
                .await
                .map_err(|e| stopped(e, opts, journal.path()))?;
            let result = match outcome {
                Outcome::NothingToDo => "nothing to do: the service is already migrated",
                _ => "applied",
            };
            match output {
                Output::Text => println!("\n{result}. Journal: {}", journal.path().display()),
                Output::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "result": result, "plan": plan, "journal": journal.path(),
                    }))
                    .expect("json")
                ),
            }
            Ok(())
        }
        Command::Rollback => {
            let options = journal_options(opts)?;
            let journal = existing_journal(opts, recorder, "roll back").await?;
            let aws = clients(opts, recorder).await;
            let options = if opts.force { options.force_rollback() } else { options };
            let plan = ecs_bluegreen::txn::rollback_plan(&aws, &journal, &options).await?;
            match output {
                Output::Text => print!("{plan}"),
                Output::Json => {}
            }
            if !plan.is_empty() && !plan.is_refused() {
                confirm(opts, "Roll back these changes?")?;
            }
            let report = ecs_bluegreen::rollback(&aws, &journal, &running(options))
                .await
                .map_err(|e| stopped(e, opts, journal.path()))?;
            match output {
                Output::Text => println!("rollback: {report}"),
                Output::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({ "result": "rollback", "plan": plan, "rollback": report }))
                        .expect("json")
                ),
            }
            if report.is_clean() { Ok(()) } else { Err(Failure { code: 3, message: "rollback incomplete".into(), json: None }) }
        }
        Command::Resume => {
            let options = journal_options(opts)?;
            let journal = existing_journal(opts, recorder, "resume").await?;
            let aws = clients(opts, recorder).await;
            let outcome = ecs_bluegreen::resume(&aws, &journal, &running(options))
                .await
                .map_err(|e| stopped(e, opts, journal.path()))?;
            match outcome {
                Outcome::RolledBack(report) => {
                    print_report(output, "resumed rollback", &report);
                    if report.is_clean() { Ok(()) } else { Err(Failure { code: 3, message: "rollback incomplete".into(), json: None }) }
                }
                Outcome::NothingToDo => {
                    println!("nothing to resume");
                    Ok(())
                }
                _ => {
                    println!("resumed and applied");
                    Ok(())
                }
            }
        }
        Command::Verify => {
            let m = migration(opts)?;
            let aws = clients(opts, recorder).await;
            // The journal tells a half-migrated service from one not migrated yet (read without
            // its lock: verify changes nothing).
            let path = journal_path(opts)?;
            let records = FileJournal::read(&path)?;
            let report = ecs_bluegreen::verify::verify_with_journal(&aws, &m, &records, &path.display().to_string()).await?;
            match output {
                Output::Text => print!("{report}"),
                Output::Json => println!("{}", serde_json::to_string_pretty(&report).expect("report serialises")),
            }
            if report.passed() {
                Ok(())
            } else {
                let failed = report.failures().count();
                Err(Failure { code: 1, message: format!("verify: {failed} of {} checks failed", report.checks.len()), json: None })
            }
        }
        Command::DeployCheck => {
            let m = migration(opts)?;
            let request = DeployRequest::for_migration(&m).map_err(|e| Failure::invalid(e.to_string()))?;
            let aws = clients(opts, recorder).await;
            // Test hook: moto answers at once, so poll it quickly.
            let mut wait = if std::env::var("ECS_BLUEGREEN_FAST_WAITS").is_ok() { WaitPolicy::FAST } else { DEPLOYMENT_WAIT };
            if let Some(secs) = opts.deadline {
                wait.deadline = std::time::Duration::from_secs(secs);
            }
            let options = DeployOptions::builder()
                .wait(wait)
                .stop_on_deadline(opts.stop_on_deadline)
                .continue_when_ready(opts.continue_ready)
                .build();
            eprintln!("==> deploy-check: {}/{}", request.application(), request.deployment_group());
            let report = ecs_bluegreen::first_deployment(&aws, &request, &options, deploy_progress()).await?;
            match output {
                Output::Text => println!("{report}"),
                Output::Json => println!("{}", serde_json::to_string_pretty(&report).expect("report serialises")),
            }
            if report.succeeded() {
                Ok(())
            } else {
                let message = match report.outcome {
                    DeploymentOutcome::Ready => format!(
                        "deploy-check: deployment {} is ready and waits for a go-ahead: run deploy-check again with --continue",
                        report.deployment_id
                    ),
                    DeploymentOutcome::DeadlineReached if report.stop_withheld.is_some() => format!(
                        "deploy-check: deployment {} outlived --deadline and was not stopped (production traffic had shifted, or could not be read)",
                        report.deployment_id
                    ),
                    _ => format!("deploy-check: deployment {} {}", report.deployment_id, report.outcome.as_str().replace('_', " ")),
                };
                Err(Failure { code: 1, message, json: None })
            }
        }
        Command::Unlock { lock_id } => {
            let cluster = opts.cluster.as_deref().ok_or_else(|| Failure::invalid("--cluster is required"))?;
            let service = opts.service.as_deref().ok_or_else(|| Failure::invalid("--service is required"))?;
            let aws = clients(opts, recorder).await;
            let broken = ecs_bluegreen::lock::unlock(&aws, cluster, service, &lock_id).await?;
            match output {
                Output::Text => println!("broke the run lock of {cluster}/{service}: {broken}"),
                Output::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({ "result": "unlocked", "lock": broken })).expect("json")
                ),
            }
            Ok(())
        }
        Command::Status => {
            let path = journal_path(opts)?;
            // Read only, without the journal's lock: status works while a run holds it.
            let records = FileJournal::read(&path)?;
            let status = journal::status(&records);
            let pending: Vec<String> = ecs_bluegreen::txn::pending_changes(&records);
            match output {
                Output::Text => {
                    println!("journal {}: {}", path.display(), match status {
                        JournalStatus::Empty => "empty (no run recorded)",
                        JournalStatus::Unfinished => "UNFINISHED: run `resume` to finish or `rollback` to undo",
                        JournalStatus::Applied => "applied",
                        JournalStatus::RolledBack => "rolled back",
                        JournalStatus::RollbackIncomplete => "ROLLBACK INCOMPLETE: run `rollback` again",
                        _ => "unknown",
                    });
                    for p in &pending {
                        println!("  would be undone by rollback: {p}");
                    }
                }
                Output::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({ "journal": path, "status": status, "undoable": pending }))
                        .expect("json")
                ),
            }
            match status {
                // Scripts tell an unfinished run from a clean journal by the exit code alone.
                JournalStatus::Unfinished | JournalStatus::RollbackIncomplete => {
                    Err(Failure { code: 4, message: String::new(), json: None })
                }
                _ => Ok(()),
            }
        }
    }
}

/// SIGINT/SIGTERM: outside a run (planning, reading, a prompt) the CLI exits at once (nothing
/// is being changed); during apply, resume or rollback the run is asked to stop cleanly
/// through its cancel token (the current call answers, the journal is written) and the CLI
/// prints where it stopped. A second signal exits at once.
mod signals {
    use std::sync::atomic::{AtomicI32, Ordering};
    use std::sync::OnceLock;

    use ecs_bluegreen::CancelToken;

    static SIGNAL: AtomicI32 = AtomicI32::new(0);
    static RUN: OnceLock<CancelToken> = OnceLock::new();

    /// The signal received (2 or 15), if any.
    pub fn received() -> Option<i32> {
        Some(SIGNAL.load(Ordering::SeqCst)).filter(|s| *s != 0)
    }

    /// The cancel token of the run about to start; signals from now on stop it cleanly.
    pub fn run_token() -> CancelToken {
        RUN.get_or_init(CancelToken::new).clone()
    }

    fn name(sig: i32) -> &'static str {
        if sig == 2 { "SIGINT" } else { "SIGTERM" }
    }

    pub fn watch() {
        tokio::spawn(async {
            #[cfg(unix)]
            let (Ok(mut int), Ok(mut term)) = (
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()),
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()),
            ) else {
                return;
            };
            loop {
                #[cfg(unix)]
                let sig = tokio::select! {
                    _ = int.recv() => 2,
                    _ = term.recv() => 15,
                };
                #[cfg(not(unix))]
                let sig = {
                    if tokio::signal::ctrl_c().await.is_err() {
                        return;
                    }
                    2
                };
                let first = SIGNAL.swap(sig, Ordering::SeqCst) == 0;
                match RUN.get() {
                    Some(token) if first => {
                        eprintln!("\n{}: stopping cleanly after the call in flight (send it again to stop at once)", name(sig));
                        token.cancel();
                    }
                    Some(_) => {
                        eprintln!("\n{}: stopping at once; run `migrate status` to see where the journal stands", name(sig));
                        std::process::exit(128 + sig);
                    }
                    None => {
                        eprintln!("\n{}: stopped before any change", name(sig));
                        std::process::exit(128 + sig);
                    }
                }
            }
        });
    }
}

/// `opts` for a run that a signal may stop.
fn running(opts: ApplyOptions) -> ApplyOptions {
    opts.cancel(signals::run_token())
}

/// A run stopped by a signal: exit 130/143 with where it stopped and how to go on.
fn stopped(e: Error, opts: &Opts, journal: &std::path::Path) -> Failure {
    let Error::Cancelled(c) = &e else { return e.into() };
    let sig = signals::received().unwrap_or(15);
    let mut message = format!("{} ({})", Report(&e), if sig == 2 { "SIGINT" } else { "SIGTERM" });
    if c.changed() {
        let records = FileJournal::read(journal).unwrap_or_default();
        let (cluster, service) = match journal::last_run_info(&records) {
            Some(i) => (i.identity.cluster.clone(), i.identity.service.clone()),
            None => (opts.cluster.clone().unwrap_or_default(), opts.service.clone().unwrap_or_default()),
        };
        let pending = ecs_bluegreen::txn::pending_changes(&records);
        message.push_str(&format!(
            "\nstate: journal {} is {}; the run made {} change(s) that a rollback would undo:",
            journal.display(),
            match journal::status(&records) {
                JournalStatus::Unfinished => "UNFINISHED",
                JournalStatus::RollbackIncomplete => "ROLLBACK INCOMPLETE",
                _ => "not unfinished",
            },
            pending.len()
        ));
        for p in &pending {
            message.push_str(&format!("\n  - {p}"));
        }
        match service_state(&records) {
            Some(state) => message.push_str(&format!("\nservices: {state}")),
            None => message.push_str(&format!("\nservices: none touched yet: {service} serves as before")),
        }
        let flags = format!("--cluster {cluster} --service {service} --journal {}", journal.display());
        message.push_str(&format!(
            "\nto finish it:  migrate resume {flags}\nto undo it:    migrate rollback {flags}"
        ));
    }
    Failure { code: (128 + sig) as u8, message, json: Some(serde_json::json!({ "error": Report(&e).to_string(), "signal": sig })) }
}

/// The ECS services the journal's run touched, as the journal last saw them: which one serves.
fn service_state(records: &[journal::Record]) -> Option<String> {
    use ecs_bluegreen::journal::{Effect, Entry};
    let mut services: Vec<(String, &'static str)> = Vec::new();
    for r in records {
        let (name, state) = match &r.entry {
            Entry::Done { effect: Effect::ServiceCreated { name, controller, .. }, .. } => {
                (name.clone(), if controller == "CODE_DEPLOY" { "created (CODE_DEPLOY)" } else { "created (ECS, serving meanwhile)" })
            }
            Entry::Done { effect: Effect::ServiceDeleted { definition, .. }, .. } => (definition.name.clone(), "deleted"),
            Entry::Begin { .. } => {
                services.clear();
                continue;
            }
            _ => continue,
        };
        services.retain(|(n, _)| *n != name);
        services.push((name, state));
    }
    (!services.is_empty()).then(|| services.iter().map(|(n, s)| format!("{n} {s}")).collect::<Vec<_>>().join(", "))
}

fn print_stats(recorder: &CallRecorder) {
    let calls = recorder.calls();
    let mut per_op = std::collections::BTreeMap::new();
    for c in &calls {
        *per_op.entry(format!("{}:{}", c.service, c.operation)).or_insert(0usize) += 1;
    }
    eprintln!(
        "AWS calls: {} ({} mutating), critical path {} sequential calls",
        calls.len(),
        calls.iter().filter(|c| !c.is_read_only()).count(),
        recorder.critical_path_len()
    );
    for (op, n) in per_op {
        eprintln!("  {n:>3}  {op}");
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let output = cli.opts.output;
    let stats = cli.opts.stats;
    let recorder = CallRecorder::new();
    signals::watch();
    let result = run(cli, &recorder).await;
    if stats {
        print_stats(&recorder);
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            // `status` exit 4 has said everything already.
            if !f.message.is_empty() {
                eprintln!("error: {}", f.message);
            }
            if let (Output::Json, Some(j)) = (output, &f.json) {
                println!("{}", serde_json::to_string_pretty(j).expect("json"));
            }
            ExitCode::from(f.code)
        }
    }
}
