//! Reference CLI for ecs-bluegreen: plan, permissions, apply, rollback, resume, status, verify
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
use ecs_bluegreen::fleet::spec::{CutoverSetting, ServiceSettings, StrategySetting, TargetSetting};
use ecs_bluegreen::spec::{
    ApplicationName, AutoRollbackEvent, BakeTime, DeploymentConfig, DeploymentGroupName, DrainTimeout, Migration, PipelineName, Port,
    ReadyWait, RoleArn, RoleName, ServiceName, TargetGroupName, TerminationWait,
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
    /// Read the account as `plan` does and print the IAM policy a run of that plan needs (apply,
    /// rollback and resume together), scoped by ARN. Changes nothing. `--output json` prints the
    /// policy document alone, for `aws iam put-role-policy --policy-document file://...`.
    Permissions,
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
    /// target groups, listeners, role, pipeline, task definition; with --target ecs-native the
    /// strategy, advanced configuration, listener rules and infrastructure role instead of the
    /// deployment group); before a migration, what the plan would refuse. Exit 0 only when every
    /// check passes, else 1.
    Verify,
    /// Create one CodeDeploy blue/green deployment of the task definition the service runs now
    /// and follow it to its end (status, lifecycle events, traffic). Refuses (exit 2) while
    /// another deployment is active in the group (unless --continue and it waits in Ready). Exit
    /// 0 when it succeeds; 1 when it fails, is stopped, is still running at --deadline (left
    /// running unless --stop-on-deadline, and always after the traffic shift), or waits in Ready
    /// for a go-ahead without --continue. With --target ecs-native: an ECS-native blue/green
    /// deployment (UpdateService forceNewDeployment) followed through ListServiceDeployments and
    /// DescribeServiceDeployments (status, lifecycle stage, rollback), with the same exit codes;
    /// --stop-on-deadline stops it with rollback (StopServiceDeployment) before the production
    /// traffic shift, never after.
    #[command(name = "deploy-check")]
    DeployCheck,
    /// Hand the migration back to infrastructure as code: from the journal's last run (applied or
    /// rolled back) and the live account, write into --out the files that bring the team's code
    /// in line with the account. CloudFormation: template-snippet.yaml (DeletionPolicy: Retain),
    /// resources-to-import.json and README.md (the import steps, what cannot be imported).
    /// Terraform: imports.tf (import blocks with the AWS provider's
    /// import IDs), resources.tf (configuration matching the live values), removed.tf (what a
    /// rollback deleted) and README.md (the order to apply, the caveats, what to edit);
    /// --address-map FILE places resources at your own addresses. Reads only; changes nothing.
    /// Exit 2 when the journal is missing or unfinished, or the address map cannot be used.
    Iac {
        /// Which infrastructure as code to write.
        #[arg(long, value_enum, default_value = "terraform")]
        format: IacFormatArg,
        /// The directory to write into (created if missing; files of the same names are replaced).
        #[arg(long, value_name = "DIR")]
        out: std::path::PathBuf,
    },
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

/// `iac --format`.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum IacFormatArg {
    Terraform,
    Cloudformation,
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
    /// and buildspec-snippet.yml. Onward from CodeDeploy (back to the ECS deploy action): only
    /// buildspec-snippet.yml, writing imagedefinitions.json.
    #[arg(long, global = true)]
    artifacts_dir: Option<std::path::PathBuf>,
    /// A buildspec.yml to patch (imageDetail.json instead of imagedefinitions.json, the three
    /// files as artifacts; onward from CodeDeploy the reverse: imagedefinitions.json for the
    /// service's container, the only artifact); the patched copy goes into --artifacts-dir, the
    /// file is not touched.
    #[arg(long, global = true, requires = "artifacts_dir")]
    buildspec: Option<std::path::PathBuf>,
    /// apply: once the migration is applied, write its Terraform hand-off into DIR (as `iac
    /// --format terraform --out DIR`). A failure to write it is reported and leaves the
    /// migration applied (exit 0): run `iac` to write it again.
    #[arg(long, global = true, value_name = "DIR")]
    iac_dir: Option<std::path::PathBuf>,
    /// iac, apply --iac-dir: map the hand-off's placeholder resource addresses to your own: a flat
    /// table `"aws_ecs_service.web" = "module.svc.aws_ecs_service.this"` in TOML, or a JSON object
    /// (a file ending in .json). Both sides name the same resource type.
    #[arg(long, global = true, value_name = "FILE")]
    address_map: Option<std::path::PathBuf>,
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
    /// plan and apply: do not check the caller's permissions first. By default they ask IAM
    /// (SimulatePrincipalPolicy on the caller from STS; an assumed role as its role) whether
    /// every call the run needs is allowed, and refuse (exit 2, nothing changed) listing each
    /// denied action and resource; a caller that may not simulate gets a warning.
    #[arg(long, global = true)]
    skip_preflight: bool,
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
    /// Minutes the blue tasks are kept after a successful deployment (0-2880, default 60).
    #[arg(long, global = true, value_name = "MINUTES")]
    termination_wait: Option<u32>,
    /// Minutes a deployment waits in Ready for a go-ahead before it stops (default: reroute at once).
    #[arg(long, global = true, value_name = "MINUTES")]
    ready_wait: Option<u32>,
    /// A CloudWatch alarm that stops a deployment (repeat for several).
    #[arg(long = "alarm", global = true, value_name = "NAME")]
    alarms: Vec<String>,
    /// An event on which CodeDeploy rolls back (repeat for several; default: failure and
    /// stop-on-request, plus stop-on-alarm with --alarm).
    #[arg(long = "auto-rollback", global = true, value_enum, value_name = "EVENT")]
    auto_rollback: Vec<AutoRollbackArg>,
    /// Name of the green target group (default: <blue>-green).
    #[arg(long, global = true, value_name = "NAME")]
    green_target_group: Option<String>,
    /// An existing CodeDeploy service role, used as it is (none is created).
    #[arg(long, global = true, value_name = "ARN")]
    role_arn: Option<String>,
    /// Name of the CodeDeploy service role to create (default: <cluster>-<service>-codedeploy).
    #[arg(long, global = true, value_name = "NAME")]
    role_name: Option<String>,
    /// CodeDeploy application name (default: <cluster>-<service>).
    #[arg(long, global = true, value_name = "NAME")]
    application: Option<String>,
    /// CodeDeploy deployment group name (default: <service>-bluegreen).
    #[arg(long, global = true, value_name = "NAME")]
    deployment_group: Option<String>,
    /// Identifier tagged on every created resource (default: <cluster>/<service>).
    #[arg(long, global = true, value_name = "ID")]
    migration_id: Option<String>,
    /// From a CODE_DEPLOY service (--target ecs-native or rolling): keep its CodeDeploy
    /// deployment group and application (default: deleted when this tool created them).
    #[arg(long, global = true)]
    keep_codedeploy: bool,
    /// A fleet spec file (TOML, or JSON when it ends in .json): plan, apply, rollback, resume,
    /// status and verify every service in it, each with its own journal in --journal-dir.
    #[arg(long, global = true, value_name = "FILE", conflicts_with_all = ["service", "journal"])]
    spec: Option<std::path::PathBuf>,
    /// --spec: services planned and applied at once.
    #[arg(long, global = true, value_name = "N", default_value_t = ecs_bluegreen::fleet::DEFAULT_CONCURRENCY as u16,
          value_parser = clap::value_parser!(u16).range(1..))]
    concurrency: u16,
    /// --spec: the directory of the services' journals (<cluster>-<service>.journal.json).
    #[arg(long, global = true, value_name = "DIR", default_value = ".ecs-bluegreen")]
    journal_dir: std::path::PathBuf,
    /// --spec apply: after a service fails, stop (start no new service; running ones finish),
    /// continue with the others, or rollback-all (all or nothing across the fleet).
    #[arg(long, global = true, value_enum, default_value = "stop")]
    on_failure: OnFailureArg,
}

/// `--on-failure`.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum OnFailureArg {
    Stop,
    Continue,
    RollbackAll,
}

/// `--auto-rollback`.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum AutoRollbackArg {
    Failure,
    StopOnAlarm,
    StopOnRequest,
}

/// The ECS-native deployment strategy.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum StrategyArg {
    BlueGreen,
    Linear,
    Canary,
}

/// Plans `m`, with the permissions preflight unless --skip-preflight.
async fn planned(opts: &Opts, m: Migration, aws: &AwsClients) -> Result<ecs_bluegreen::Plan, Failure> {
    Ok(ecs_bluegreen::Transaction::new(m).preflight(!opts.skip_preflight).plan(aws).await?)
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
    if matches!(opts.cutover, CutoverArg::Parallel) && opts.new_service_name.is_none() {
        return Err(Failure::invalid("--cutover parallel needs --new-service-name"));
    }
    // The flags as a spec file's entry: one service and a fleet go through the same checks.
    let settings = flag_settings(opts, cluster).map_err(|e| Failure::invalid(e.to_string()))?;
    settings.migration(service).map_err(|e| Failure::invalid(e.message))
}

/// The single-service flags as [`ServiceSettings`], each value validated.
fn flag_settings(opts: &Opts, cluster: &str) -> Result<ServiceSettings, ecs_bluegreen::spec::ValidationError> {
    let mut s = ServiceSettings::default();
    s.cluster = Some(cluster.to_owned());
    s.target = Some(match opts.target {
        TargetArg::Codedeploy => TargetSetting::Codedeploy,
        TargetArg::EcsNative => TargetSetting::EcsNative,
        TargetArg::Rolling => TargetSetting::Rolling,
    });
    s.cutover = Some(match opts.cutover {
        CutoverArg::ParallelKeepName => CutoverSetting::ParallelKeepName,
        CutoverArg::Parallel => CutoverSetting::Parallel,
        CutoverArg::Recreate => CutoverSetting::Recreate,
    });
    s.new_service_name = opts.new_service_name.as_deref().map(ServiceName::new).transpose()?;
    s.deployment_config = Some(DeploymentConfig::parse(&opts.deployment_config)?);
    s.test_listener_port = opts.test_listener_port.map(Port::new).transpose()?;
    s.pipeline = opts.pipeline.as_deref().map(PipelineName::new).transpose()?;
    s.strategy = opts.strategy.map(|st| match st {
        StrategyArg::BlueGreen => StrategySetting::BlueGreen,
        StrategyArg::Linear => StrategySetting::Linear,
        StrategyArg::Canary => StrategySetting::Canary,
    });
    s.linear_step_percent = opts.linear_step;
    s.linear_interval_minutes = opts.linear_interval;
    s.canary_percent = opts.canary_percent;
    s.canary_interval_minutes = opts.canary_interval;
    s.bake_time_minutes = opts.bake_time.map(BakeTime::minutes).transpose()?;
    s.infrastructure_role_arn = opts.infrastructure_role_arn.as_deref().map(RoleArn::new).transpose()?;
    s.drain_timeout_seconds = opts.drain_timeout.map(DrainTimeout::secs).transpose()?;
    s.termination_wait_minutes = opts.termination_wait.map(TerminationWait::minutes).transpose()?;
    s.ready_wait_minutes = opts.ready_wait.map(ReadyWait::minutes).transpose()?;
    s.alarms = (!opts.alarms.is_empty()).then(|| opts.alarms.clone());
    s.auto_rollback = (!opts.auto_rollback.is_empty()).then(|| {
        opts.auto_rollback
            .iter()
            .map(|e| match e {
                AutoRollbackArg::Failure => AutoRollbackEvent::DeploymentFailure,
                AutoRollbackArg::StopOnAlarm => AutoRollbackEvent::DeploymentStopOnAlarm,
                AutoRollbackArg::StopOnRequest => AutoRollbackEvent::DeploymentStopOnRequest,
            })
            .collect()
    });
    s.green_target_group = opts.green_target_group.as_deref().map(TargetGroupName::new).transpose()?;
    s.role_arn = opts.role_arn.as_deref().map(RoleArn::new).transpose()?;
    s.role_name = opts.role_name.as_deref().map(RoleName::new).transpose()?;
    s.application = opts.application.as_deref().map(ApplicationName::new).transpose()?;
    s.deployment_group = opts.deployment_group.as_deref().map(DeploymentGroupName::new).transpose()?;
    s.migration_id = opts.migration_id.clone();
    s.keep_codedeploy = opts.keep_codedeploy.then_some(true);
    Ok(s)
}

/// `--drain-timeout`, validated (exit 2 when out of range).
fn drain_timeout(opts: &Opts) -> Result<Option<DrainTimeout>, Failure> {
    opts.drain_timeout.map(DrainTimeout::secs).transpose().map_err(|e| Failure::invalid(e.to_string()))
}

async fn clients(opts: &Opts, recorder: &CallRecorder) -> AwsClients {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    clients_with(opts, &config, &[recorder], true, false)
}

/// Clients recording into each of `recorders`; `faults`: with the test hooks' faults;
/// `adaptive`: in the SDK's adaptive retry mode unless `AWS_RETRY_MODE` says otherwise.
fn clients_with(opts: &Opts, config: &aws_config::SdkConfig, recorders: &[&CallRecorder], faults: bool, adaptive: bool) -> AwsClients {
    let mut builder = AwsClients::builder(config);
    if adaptive && std::env::var_os("AWS_RETRY_MODE").is_none() {
        builder = builder.adaptive_retry();
    }
    for r in recorders {
        builder = builder.interceptor((*r).clone());
    }
    if let Some(secs) = opts.call_timeout {
        builder = builder.call_timeout(std::time::Duration::from_secs(secs));
    }
    // Test hook: route every call to one moto account (ignored against real AWS).
    if let Ok(account) = std::env::var("MOTO_ACCOUNT_ID") {
        builder = builder.interceptor(account_header::AccountHeader(account));
    }
    if !faults {
        return builder.build();
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

/// How long deploy-check follows a deployment (--deadline), and how often it polls.
fn deploy_wait(opts: &Opts) -> WaitPolicy {
    // Test hook: moto answers at once, so poll it quickly.
    let mut wait = if std::env::var("ECS_BLUEGREEN_FAST_WAITS").is_ok() { WaitPolicy::FAST } else { DEPLOYMENT_WAIT };
    if let Some(secs) = opts.deadline {
        wait.deadline = std::time::Duration::from_secs(secs);
    }
    wait
}

/// deploy-check of the ECS-native target: UpdateService forceNewDeployment, followed through
/// the service deployment; the same exit codes as the CodeDeploy check.
async fn native_deploy_check(opts: &Opts, m: &Migration, recorder: &CallRecorder) -> Result<(), Failure> {
    let aws = clients(opts, recorder).await;
    let options = DeployOptions::builder().wait(deploy_wait(opts)).stop_on_deadline(opts.stop_on_deadline).build();
    let (cluster, service) = (m.cluster_name(), m.service().as_str());
    eprintln!("==> deploy-check: {cluster}/{service} (ECS-native blue/green)");
    let report = ecs_bluegreen::deploy::native_deployment(&aws, cluster, service, &options, deploy_progress()).await?;
    match opts.output {
        Output::Text => println!("{report}"),
        Output::Json => println!("{}", serde_json::to_string_pretty(&report).expect("report serialises")),
    }
    if report.succeeded() {
        return Ok(());
    }
    let message = match report.outcome {
        DeploymentOutcome::DeadlineReached if report.stop_withheld.is_some() => format!(
            "deploy-check: service deployment {} outlived --deadline and was not stopped (it had reached the production traffic shift)",
            report.deployment_arn
        ),
        _ => format!("deploy-check: service deployment {} {}", report.deployment_arn, report.outcome.as_str().replace('_', " ")),
    };
    Err(Failure { code: 1, message, json: None })
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
    write_artifacts_to(dir, opts.buildspec.as_deref(), aws, plan).await
}

/// Writes the deploy artifacts of `plan` into `dir` (and the patched `buildspec`, if any).
async fn write_artifacts_to(
    dir: &std::path::Path,
    buildspec: Option<&std::path::Path>,
    aws: &AwsClients,
    plan: &ecs_bluegreen::Plan,
) -> Result<(), Failure> {
    let io = |e: std::io::Error| Failure { code: 1, message: format!("writing artifacts to {}: {e}", dir.display()), json: None };
    // Onward from CodeDeploy the `ECS` action reads imagedefinitions.json only: no templates.
    let back_to_ecs = ecs_bluegreen::artifacts::ecs_action_snippet(plan).map_err(ecs_bluegreen::Error::from)?;
    let text = match buildspec {
        Some(path) => Some(std::fs::read_to_string(path).map_err(|e| Failure::invalid(format!("{}: {e}", path.display())))?),
        None => None,
    };
    // The buildspec is patched (or refused, exit 2) before any file is written.
    let patched = match (&text, &back_to_ecs) {
        (None, _) => None,
        (Some(t), Some(snippet)) => Some(snippet.patch(t)),
        (Some(t), None) => Some(ecs_bluegreen::artifacts::BuildspecSnippet::default().patch(t)),
    };
    let patched = patched
        .transpose()
        .map_err(|e| Failure::invalid(format!("{}: {e}", buildspec.expect("patched only with a file").display())))?;
    let mut files = match &back_to_ecs {
        Some(snippet) => {
            std::fs::create_dir_all(dir).map_err(io)?;
            let out = dir.join(ecs_bluegreen::artifacts::BUILDSPEC_SNIPPET_FILE);
            std::fs::write(&out, snippet.to_yaml()).map_err(io)?;
            vec![out]
        }
        None => ecs_bluegreen::artifacts::generate(aws, plan, &ecs_bluegreen::artifacts::ArtifactOptions::default())
            .await?
            .write_to(dir)
            .map_err(io)?,
    };
    if let Some(patched) = patched {
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

/// `--address-map`, read and checked (exit 2 when it cannot be used); empty without it.
fn address_map(opts: &Opts) -> Result<ecs_bluegreen::iac::AddressMap, Failure> {
    match &opts.address_map {
        None => Ok(Default::default()),
        Some(path) => ecs_bluegreen::iac::AddressMap::read(path).map_err(|e| Failure::invalid(e.to_string())),
    }
}

/// Writes the Terraform hand-off of the journal's last run into `dir`.
async fn write_terraform(
    aws: &AwsClients,
    records: &[journal::Record],
    map: &ecs_bluegreen::iac::AddressMap,
    dir: &std::path::Path,
) -> Result<(), Failure> {
    let files = ecs_bluegreen::iac::terraform(aws, records, map).await?;
    let written = files
        .write_to(dir)
        .map_err(|e| Failure { code: 1, message: format!("writing the hand-off to {}: {e}", dir.display()), json: None })?;
    for f in written {
        eprintln!("wrote {}", f.display());
    }
    eprintln!("next: read {}/README.md, then terraform plan must show only imports and no changes", dir.display());
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
    if let Some(spec) = &opts.spec {
        return fleet_cli::run(&cli.command, opts, recorder, spec).await;
    }
    match cli.command {
        Command::Plan => {
            let m = migration(opts)?;
            let aws = clients(opts, recorder).await;
            let plan = planned(opts, m, &aws).await?;
            match output {
                Output::Text => print!("{plan}"),
                Output::Json => println!("{}", serde_json::to_string_pretty(&plan).expect("plan serialises")),
            }
            write_artifacts(opts, &aws, &plan).await
        }
        Command::Permissions => {
            let m = migration(opts)?;
            let aws = clients(opts, recorder).await;
            let plan = m.plan(&aws).await?;
            let region = aws.ecs.config().region().map(|r| r.as_ref().to_owned());
            let cx = ecs_bluegreen::permissions::PermissionContext::new(&plan);
            let cx = match region {
                Some(r) => cx.region(r),
                None => cx,
            };
            let policy = ecs_bluegreen::permissions::policy(&cx);
            match output {
                Output::Text => print!("{policy}"),
                Output::Json => println!("{}", policy.to_json()),
            }
            Ok(())
        }
        Command::Apply => {
            let m = migration(opts)?;
            // A bad address map is refused before anything changes.
            let map = if opts.iac_dir.is_some() { address_map(opts)? } else { Default::default() };
            let journal = FileJournal::open(journal_path(opts)?)?;
            let aws = clients(opts, recorder).await;
            let plan = planned(opts, m, &aws).await?;
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
            if let Some(dir) = &opts.iac_dir {
                let written = match ecs_bluegreen::Journal::records(&journal) {
                    Ok(records) => write_terraform(&aws, &records, &map, dir).await,
                    Err(e) => Err(e.into()),
                };
                if let Err(f) = written {
                    eprintln!(
                        "warning: the migration is applied, but its Terraform hand-off was not written: {}\n\
                         write it with: migrate iac --format terraform --out {} (and the same --journal, --cluster, --service)",
                        f.message,
                        dir.display()
                    );
                }
            }
            Ok(())
        }
        Command::Iac { format, out } => {
            let map = address_map(opts)?;
            let path = journal_path(opts)?;
            if !path.exists() {
                return Err(Failure::invalid(format!(
                    "there is no journal at {}: nothing to hand off (apply the migration first, or pass --journal); nothing was written",
                    path.display()
                )));
            }
            let records = FileJournal::read(&path)?;
            let aws = clients(opts, recorder).await;
            match format {
                IacFormatArg::Terraform => write_terraform(&aws, &records, &map, &out).await,
                IacFormatArg::Cloudformation => {
                    let files = ecs_bluegreen::iac::cloudformation(&aws, &records).await?;
                    let written = files
                        .write_to(&out)
                        .map_err(|e| Failure { code: 1, message: format!("writing the hand-off to {}: {e}", out.display()), json: None })?;
                    for f in written {
                        eprintln!("wrote {}", f.display());
                    }
                    Ok(())
                }
            }
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
            if m.target() == ecs_bluegreen::spec::Target::EcsNative {
                return native_deploy_check(opts, &m, recorder).await;
            }
            let request = DeployRequest::for_migration(&m).map_err(|e| Failure::invalid(e.to_string()))?;
            let aws = clients(opts, recorder).await;
            let options = DeployOptions::builder()
                .wait(deploy_wait(opts))
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

/// `--spec FILE`: every service of a fleet spec file, each with its own journal in --journal-dir.
mod fleet_cli {
    use std::sync::Arc;

    use ecs_bluegreen::fleet::spec::{FleetService, FleetSpec};
    use ecs_bluegreen::fleet::{self, FleetOptions, FleetReport, Member, OnFailure};
    use ecs_bluegreen::txn::journal::{self, JournalStatus};
    use ecs_bluegreen::{CallRecorder, FileJournal, InMemoryJournal, Journal};

    use super::{Command, EventKind, Failure, OnFailureArg, Opts, Output};

    /// The journal of `service`: `<journal-dir>/<cluster>-<service>.journal.json`.
    fn journal_path(opts: &Opts, service: &FleetService) -> std::path::PathBuf {
        let m = service.migration();
        opts.journal_dir.join(format!("{}-{}.journal.json", m.cluster_name(), m.service().as_str()))
    }

    /// How the fleet's progress shows on stderr: on a terminal, one spinner per service in
    /// flight (indicatif multi-progress) with what it does now, and the lines that matter above
    /// them; otherwise plain lines, each prefixed with its service.
    #[derive(Clone)]
    enum Progress {
        Bars(indicatif::MultiProgress),
        Lines,
    }

    impl Progress {
        fn for_stderr() -> Self {
            use std::io::IsTerminal;
            if std::io::stderr().is_terminal() { Progress::Bars(indicatif::MultiProgress::new()) } else { Progress::Lines }
        }
    }

    /// The text of an event, and whether it only says what the service does now (a spinner's
    /// message on a terminal) rather than a line to keep.
    fn describe(e: &ecs_bluegreen::Event) -> Option<(String, bool)> {
        Some(match &e.kind {
            EventKind::ServiceStarted { .. } => ("started".to_owned(), false),
            EventKind::ServiceFinished { outcome, seconds, error, .. } => {
                let why = error.as_deref().map(|e| format!(": {e}")).unwrap_or_default();
                (format!("finished: {outcome} in {seconds:.1}s{why}"), false)
            }
            EventKind::StepStarted { step } => (format!("==> {step}"), false),
            EventKind::StepFailed { step, error } => (format!("    {step}: FAILED: {error}"), false),
            EventKind::Waiting { what, .. } => (format!("    waiting for {what}"), true),
            EventKind::Mutating { what, .. } => (format!("    change: {what}"), true),
            EventKind::Undoing { what } => (format!("<== undo {what}"), true),
            EventKind::Undone { what } => (format!("    undone: {what}"), false),
            EventKind::UndoFailed { what, error } => (format!("    UNDO FAILED: {what}: {error}"), false),
            EventKind::LockNotReleased { lock, error } => (
                format!("    WARNING: the run lock was not released ({error}); break it with `migrate unlock --lock-id {}`", lock.lock_id),
                false,
            ),
            _ => return None,
        })
    }

    /// The options of one service's run, its progress shown as `progress` says.
    fn progress(label: &str, progress: &Progress) -> ecs_bluegreen::ApplyOptions {
        let label = label.to_owned();
        let observer: Box<dyn Fn(&ecs_bluegreen::Event) + Send + Sync> = match progress.clone() {
            Progress::Lines => Box::new(move |e| {
                // Plain lines: what it does now is shown only when waiting (the long part).
                match describe(e) {
                    Some((line, false)) => eprintln!("[{label}] {line}"),
                    Some((line, true)) if matches!(e.kind, EventKind::Waiting { .. }) => eprintln!("[{label}] {line}"),
                    _ => {}
                }
            }),
            Progress::Bars(bars) => {
                // A spinner from the service's start to its end (none for plan or verify).
                let bar: std::sync::Mutex<Option<indicatif::ProgressBar>> = std::sync::Mutex::new(None);
                Box::new(move |e| {
                    let Some((line, now)) = describe(e) else { return };
                    let mut bar = bar.lock().unwrap_or_else(|p| p.into_inner());
                    match &e.kind {
                        EventKind::ServiceStarted { .. } => {
                            let b = bars.add(indicatif::ProgressBar::new_spinner());
                            b.set_style(
                                indicatif::ProgressStyle::with_template("{spinner} {prefix:.bold} {elapsed:>4} {wide_msg}")
                                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
                            );
                            b.set_prefix(label.clone());
                            b.set_message("started");
                            b.enable_steady_tick(std::time::Duration::from_millis(120));
                            *bar = Some(b);
                        }
                        EventKind::ServiceFinished { outcome, .. } => match bar.take() {
                            Some(b) => b.finish_with_message(outcome.clone()),
                            None => {
                                let _ = bars.println(format!("[{label}] {line}"));
                            }
                        },
                        _ if now => {
                            if let Some(b) = bar.as_ref() {
                                b.set_message(line.trim().to_owned());
                            }
                        }
                        _ => {
                            let _ = bars.println(format!("[{label}] {line}"));
                        }
                    }
                })
            }
        };
        let mut o = super::running(ecs_bluegreen::ApplyOptions::new().observer(observer));
        // Test hook: moto answers at once, so poll it quickly.
        if std::env::var("ECS_BLUEGREEN_FAST_WAITS").is_ok() {
            o = o.service_wait(ecs_bluegreen::wait::WaitPolicy::FAST).iam_propagation(ecs_bluegreen::wait::WaitPolicy::FAST);
        }
        o
    }

    /// One member per service; `journal` opens each one's journal (`None`: skip the service).
    async fn members(
        opts: &Opts,
        recorder: &CallRecorder,
        spec: &FleetSpec,
        mut journal: impl FnMut(&FleetService) -> Result<Option<Arc<dyn Journal>>, Failure>,
    ) -> Result<Vec<Member>, Failure> {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        // Test hook: inject the ECS_BLUEGREEN_FAIL_* faults into this service's calls only.
        let faulty = std::env::var("ECS_BLUEGREEN_FAIL_SERVICE").ok();
        let shown = Progress::for_stderr();
        let mut out = Vec::new();
        for s in spec.services() {
            let Some(j) = journal(s)? else { continue };
            let own = CallRecorder::new();
            let faults = faulty.as_deref().is_none_or(|f| f == s.name());
            // Many services against one API: slow down together when it throttles.
            let aws = super::clients_with(opts, &config, &[recorder, &own], faults, true);
            // plan and apply check each service's permissions first, unless --skip-preflight.
            let member = Member::new(s.migration().clone(), aws, j).recorder(own).options(progress(&s.label(), &shown));
            out.push(member.preflight(!opts.skip_preflight));
        }
        Ok(out)
    }

    fn plan_refused(e: fleet::FleetPlanError) -> Failure {
        let mut message = e.to_string();
        for (service, err) in &e.failures {
            message.push_str(&format!("\n{service}: {}", ecs_bluegreen::error::Report(err)));
        }
        let json = serde_json::json!({
            "error": "fleet plan refused",
            "services": e.failures.iter().map(|(s, err)| serde_json::json!({
                "service": s, "error": ecs_bluegreen::error::Report(err).to_string(),
                "refusals": match err { ecs_bluegreen::Error::Plan(p) => serde_json::to_value(p.refusals()).unwrap_or_default(), _ => serde_json::Value::Null },
            })).collect::<Vec<_>>(),
        });
        Failure { code: if e.all_refused() { 2 } else { 1 }, message, json: Some(json) }
    }

    fn finish(report: &FleetReport, output: Output, result: &str) -> Result<(), Failure> {
        match output {
            Output::Text => print!("{report}"),
            Output::Json => println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({ "result": result, "exit_code": report.exit_code(), "services": report.services }))
                    .expect("json")
            ),
        }
        if let Some(sig) = super::signals::received() {
            return Err(Failure { code: (128 + sig) as u8, message: "stopped by a signal: run `resume --spec` or `rollback --spec`".into(), json: None });
        }
        match report.exit_code() {
            0 => Ok(()),
            code => Err(Failure { code, message: format!("{result}: not every service is done (see the table)"), json: None }),
        }
    }

    /// An existing journal, or `None` (said on stderr) when the service has none.
    fn existing(opts: &Opts, s: &FleetService, what: &str) -> Result<Option<Arc<dyn Journal>>, Failure> {
        let path = journal_path(opts, s);
        if !path.exists() {
            eprintln!("[{}] no journal at {}: nothing to {what}", s.label(), path.display());
            return Ok(None);
        }
        Ok(Some(Arc::new(FileJournal::open(path)?)))
    }

    pub async fn run(command: &Command, opts: &Opts, recorder: &CallRecorder, path: &std::path::Path) -> Result<(), Failure> {
        let spec = FleetSpec::read(path).map_err(|e| Failure::invalid(e.to_string()))?;
        let output = opts.output;
        let concurrency = usize::from(opts.concurrency);
        match command {
            Command::Plan | Command::Apply => {
                let applying = matches!(command, Command::Apply);
                // A journal that cannot be had (another run holds it, it is unreadable) refuses
                // its service; the others are still planned so every refusal is listed at once.
                let mut unavailable = Vec::new();
                let members = members(opts, recorder, &spec, |s| {
                    let path = journal_path(opts, s);
                    // apply locks each journal now; plan reads it (an earlier run not done is refused).
                    let journal: ecs_bluegreen::Result<Arc<dyn Journal>> = if applying {
                        FileJournal::open(&path).map(|j| Arc::new(j) as Arc<dyn Journal>)
                    } else {
                        FileJournal::read(&path).map(|records| Arc::new(InMemoryJournal::from_records(records)) as Arc<dyn Journal>)
                    };
                    match journal {
                        Ok(j) => Ok(Some(j)),
                        Err(e) => {
                            unavailable.push((s.label(), fleet::checks::journal_unavailable(&e)));
                            Ok(None)
                        }
                    }
                })
                .await?;
                let order: Vec<String> = spec.services().iter().map(|s| s.label()).collect();
                let plans = match (fleet::plan(&members, concurrency).await, unavailable.is_empty()) {
                    (Ok(plans), true) => plans,
                    (Ok(_), false) => return Err(plan_refused(fleet::FleetPlanError::new(unavailable))),
                    (Err(e), _) => return Err(plan_refused(e.join(fleet::FleetPlanError::new(unavailable), &order))),
                };
                for (s, plan) in spec.services().iter().zip(&plans) {
                    match output {
                        Output::Text => print!("== {}\n{plan}", s.label()),
                        Output::Json if !applying => {
                            println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "service": s.label(), "plan": plan })).expect("json"))
                        }
                        Output::Json => {}
                    }
                    if let Some(dir) = &s.settings().artifacts_dir {
                        super::write_artifacts_to(dir, None, &super::clients(opts, recorder).await, plan).await?;
                    }
                }
                if !applying {
                    return Ok(());
                }
                if plans.iter().any(|p| !p.is_noop()) {
                    super::confirm(opts, &format!("Apply these changes to {} service(s)?", plans.len()))?;
                }
                let on_failure = match opts.on_failure {
                    OnFailureArg::Stop => OnFailure::Stop,
                    OnFailureArg::Continue => OnFailure::Continue,
                    OnFailureArg::RollbackAll => OnFailure::RollbackAll,
                };
                let report = fleet::apply(&members, &plans, &FleetOptions::new(concurrency, on_failure)).await;
                finish(&report, output, "apply")
            }
            Command::Rollback => {
                let members = members(opts, recorder, &spec, |s| existing(opts, s, "roll back")).await?;
                if !opts.yes {
                    super::confirm(opts, &format!("Roll back {} service(s)?", members.len()))?;
                }
                let report = fleet::rollback(&members, concurrency).await;
                finish(&report, output, "rollback")
            }
            Command::Resume => {
                let members = members(opts, recorder, &spec, |s| existing(opts, s, "resume")).await?;
                let report = fleet::resume(&members, concurrency).await;
                finish(&report, output, "resume")
            }
            Command::Status => {
                let mut unfinished = false;
                let mut rows = Vec::new();
                for s in spec.services() {
                    let path = journal_path(opts, s);
                    let records = FileJournal::read(&path)?;
                    let status = journal::status(&records);
                    unfinished |= matches!(status, JournalStatus::Unfinished | JournalStatus::RollbackIncomplete);
                    let pending = ecs_bluegreen::txn::pending_changes(&records);
                    match output {
                        Output::Text => println!("{}: journal {}: {status:?}, {} undoable change(s)", s.label(), path.display(), pending.len()),
                        Output::Json => rows.push(serde_json::json!({ "service": s.label(), "journal": path, "status": status, "undoable": pending })),
                    }
                }
                if let Output::Json = output {
                    println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "services": rows })).expect("json"));
                }
                if unfinished { Err(Failure { code: 4, message: String::new(), json: None }) } else { Ok(()) }
            }
            Command::Verify => {
                let mut failed = Vec::new();
                let members = members(opts, recorder, &spec, |_| Ok(Some(Arc::new(InMemoryJournal::new())))).await?;
                for (s, m) in spec.services().iter().zip(&members) {
                    let path = journal_path(opts, s);
                    let records = FileJournal::read(&path)?;
                    let aws = super::clients(opts, recorder).await;
                    let report =
                        ecs_bluegreen::verify::verify_with_journal(&aws, m.migration(), &records, &path.display().to_string()).await?;
                    match output {
                        Output::Text => print!("== {}\n{report}", s.label()),
                        Output::Json => println!(
                            "{}",
                            serde_json::to_string_pretty(&serde_json::json!({ "service": s.label(), "verify": report })).expect("json")
                        ),
                    }
                    if !report.passed() {
                        failed.push(s.label());
                    }
                }
                if failed.is_empty() {
                    Ok(())
                } else {
                    Err(Failure { code: 1, message: format!("verify: checks failed for {}", failed.join(", ")), json: None })
                }
            }
            Command::DeployCheck | Command::Unlock { .. } | Command::Permissions | Command::Iac { .. } => {
                Err(Failure::invalid("--spec works with plan, apply, rollback, resume, status and verify; run this command per service"))
            }
        }
    }
}
