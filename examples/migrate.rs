//! Reference CLI for ecs-bluegreen: plan (and later apply, rollback, resume, status, verify)
//! the migration of an ECS service from rolling updates to CodeDeploy blue/green.
//!
//! AWS settings come from the standard environment (AWS_REGION, AWS_ENDPOINT_URL,
//! credentials, profiles).
//!
//! Exit codes: 0 done (including "nothing to do"); 1 failed and fully rolled back;
//! 2 invalid input, refused plan, or an unfinished journal; 3 failed and rollback incomplete.

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use ecs_bluegreen::spec::{DeploymentConfig, Migration, PipelineDeployStage, PipelineName, Port, ServiceCutover, ServiceName, Target};
use ecs_bluegreen::{AwsClients, Error};

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

const EXIT_CODES: &str = "Exit codes:\n  0  done (including \"nothing to do\")\n  1  failed and fully rolled back\n  2  invalid input, refused plan, or an unfinished journal from an earlier run (nothing changed)\n  3  failed and rollback incomplete (journal kept; the report says what is left)";

#[derive(Debug, Subcommand)]
enum Command {
    /// Read the account and print what the migration would change. Changes nothing.
    Plan,
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
    /// Directory to write taskdef.json, appspec.yml and imageDetail.json into.
    #[arg(long, global = true)]
    artifacts_dir: Option<std::path::PathBuf>,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value = "text")]
    output: Output,
    /// Do not ask for confirmation before apply.
    #[arg(long, global = true)]
    yes: bool,
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
            Error::Plan(_) | Error::Validation(_) => 2,
            _ => 1,
        };
        let json = match &e {
            Error::Plan(p) => Some(serde_json::json!({ "error": "plan refused", "refusals": p.refusals() })),
            other => Some(serde_json::json!({ "error": other.to_string() })),
        };
        Self { code, message: e.to_string(), json }
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
        });
    let test_port = opts.test_listener_port.map(Port::new).transpose().map_err(invalid)?;
    let pipeline = opts
        .pipeline
        .as_deref()
        .map(|p| PipelineName::new(p).map(PipelineDeployStage::named))
        .transpose()
        .map_err(invalid)?;
    // typed-builder setters can be called once each, so branch on what is present.
    Ok(match (test_port, pipeline) {
        (Some(t), Some(p)) => builder.test_listener_port(t).pipeline(p).build(),
        (Some(t), None) => builder.test_listener_port(t).build(),
        (None, Some(p)) => builder.pipeline(p).build(),
        (None, None) => builder.build(),
    })
}

async fn clients() -> AwsClients {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let mut builder = AwsClients::builder(&config);
    // Test hook: route every call to one moto account (ignored against real AWS).
    if let Ok(account) = std::env::var("MOTO_ACCOUNT_ID") {
        builder = builder.interceptor(moto::AccountHeader(account));
    }
    builder.build()
}

mod moto {
    use aws_smithy_runtime_api::box_error::BoxError;
    use aws_smithy_runtime_api::client::interceptors::Intercept;
    use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
    use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
    use aws_smithy_types::config_bag::ConfigBag;

    /// Adds `x-moto-account-id`, which moto uses to keep accounts apart.
    #[derive(Debug)]
    pub struct AccountHeader(pub String);

    impl Intercept for AccountHeader {
        fn name(&self) -> &'static str {
            "MotoAccountHeader"
        }
        fn modify_before_transmit(
            &self,
            context: &mut BeforeTransmitInterceptorContextMut<'_>,
            _rc: &RuntimeComponents,
            _cfg: &mut ConfigBag,
        ) -> Result<(), BoxError> {
            context.request_mut().headers_mut().insert("x-moto-account-id", self.0.clone());
            Ok(())
        }
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let opts = &cli.opts;
    match cli.command {
        Command::Plan => {
            let m = migration(opts)?;
            let aws = clients().await;
            let plan = m.plan(&aws).await?;
            match opts.output {
                Output::Text => print!("{plan}"),
                Output::Json => println!("{}", serde_json::to_string_pretty(&plan).expect("plan serialises")),
            }
            Ok(())
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let output = cli.opts.output;
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("error: {}", f.message);
            if let (Output::Json, Some(j)) = (output, &f.json) {
                println!("{}", serde_json::to_string_pretty(j).expect("json"));
            }
            ExitCode::from(f.code)
        }
    }
}
