//! Deploy check: one CodeDeploy blue/green deployment of a migrated service, followed to its
//! end. It proves that the migrated setup deploys (step 11 of the manual procedure: "a
//! deployment now shows up in CodeDeploy's history").
//!
//! [`first_deployment`] redeploys the task definition the service runs now, so nothing about
//! the application changes; only the blue/green machinery is exercised (a replacement task
//! set, traffic shifted to it, the original one terminated).
//!
//! Calls, in order:
//! 1. `GetDeploymentGroup`: the group exists and names the service;
//! 2. `ListDeployments` (statuses Created, Queued, InProgress, Baking, Ready) and
//!    `DescribeServices`, concurrently: no deployment is in flight (CodeDeploy runs one per
//!    group), and the service's task definition, container, port and network settings;
//! 3. `CreateDeployment` with the AppSpec as `AppSpecContent` (content and its SHA-256), the
//!    only mutating call unless [`DeployOptions::stop_on_deadline`] fires;
//! 4. `GetDeployment` polled under [`DeployOptions::wait`], plus `ListDeploymentTargets` /
//!    `BatchGetDeploymentTargets` for lifecycle events and traffic (best effort, see
//!    [`DeployOptions::track_targets`]);
//! 5. `StopDeployment` with auto-rollback, only when the deadline passes,
//!    [`DeployOptions::stop_on_deadline`] asks for it, and production traffic has not shifted
//!    to the replacement task set (see below).
//!
//! # After the traffic shift, and the ready wait
//! Once production traffic has fully shifted to the replacement task set (the ECS target's
//! `AllowTraffic` lifecycle event succeeded, or the replacement task set carries 100 % of the
//! traffic), the deployment only waits out the blue termination wait (up to 48 hours) before it
//! succeeds: stopping it then would roll back a good deployment. So the deadline never stops it
//! after the shift ([`DeployEvent::StopWithheld`], [`DeploymentReport::traffic_shifted`]); a
//! deployment whose target cannot be read is not stopped either.
//!
//! A deployment group with a ready wait (`deploymentReadyOption` `STOP_DEPLOYMENT`) holds each
//! deployment in `Ready` until `ContinueDeployment` (or stops it when the wait runs out). Instead
//! of waiting out the deadline there, [`first_deployment`] reports
//! [`DeploymentOutcome::Ready`]; with [`DeployOptions::continue_when_ready`] it sends
//! `ContinueDeployment` (`READY_WAIT`) and follows the deployment on, and a deployment of the
//! group already waiting in `Ready` is continued and followed instead of being refused.
//!
//! # Outcomes and errors
//! A deployment that was created and then failed, was stopped, or outlived the deadline is
//! not an error of this function: it returns `Ok` with a [`DeploymentReport`] whose
//! [`DeploymentOutcome`] says so, with CodeDeploy's own error and the rollback it performed.
//! Callers must check [`DeploymentReport::succeeded`] (the reference CLI exits 1 unless it
//! holds). `Err` means no deployment could be created, or following it broke:
//! [`Error::DeployRefused`] before any change (another deployment in flight, group or service
//! missing, service not `CODE_DEPLOY`), [`Error::Aws`] for a failed call.

mod native;

use std::fmt;
use std::sync::Mutex;

pub use native::{NativeDeploymentReport, NativeRollback, native_deployment};
use std::time::Duration;

use aws_sdk_codedeploy::types::{
    AppSpecContent, DeploymentStatus, RevisionLocation, RevisionLocationType, TargetLabel,
};
use serde::{Deserialize, Serialize};
use crate::digest::sha256_hex;
use typed_builder::TypedBuilder;

use crate::AwsClients;
use crate::artifacts::{AppSpec, Hooks};
use crate::discover::{describe_service, get_deployment_group};
use crate::error::{AwsApiError, Error, ErrorKind, Result, SdkResultExt};
use crate::spec::{Migration, ValidationError};
use crate::wait::{self, WaitPolicy};

/// Deployment statuses during which CodeDeploy refuses another deployment in the same group.
pub(crate) const ACTIVE_STATUSES: [&str; 5] = ["Created", "Queued", "InProgress", "Baking", "Ready"];

/// The default wait for a deployment: 90 minutes (the usual 1 hour blue task termination
/// wait, plus the deployment itself), polling every 5 s at first and every 15 s at most.
pub const DEPLOYMENT_WAIT: WaitPolicy = WaitPolicy {
    deadline: Duration::from_secs(90 * 60),
    initial_delay: Duration::from_secs(5),
    max_delay: Duration::from_secs(15),
};

/// Which deployment group to deploy to.
///
/// ```
/// use ecs_bluegreen::deploy::DeployRequest;
/// use ecs_bluegreen::spec::Migration;
/// let req = DeployRequest::builder().application("prod-web").deployment_group("web-bluegreen").build();
/// assert_eq!(req.deployment_group(), "web-bluegreen");
/// // The names a migration of prod/web creates:
/// let m = Migration::for_service("prod", "web")?.build();
/// assert_eq!(DeployRequest::for_migration(&m)?, req);
/// # Ok::<(), ecs_bluegreen::spec::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TypedBuilder)]
#[builder(doc, field_defaults(setter(into)))]
pub struct DeployRequest {
    /// CodeDeploy application name.
    application: String,
    /// Deployment group name.
    deployment_group: String,
    /// Description of the deployment (default: says it is a deploy check and what it redeploys).
    #[builder(default, setter(strip_option))]
    description: Option<String>,
}

impl DeployRequest {
    /// The application and deployment group a migration creates (its overrides, or the
    /// defaults `<cluster>-<service>` and `<service>-bluegreen`).
    ///
    /// # Errors
    /// [`ValidationError`] when a derived name is invalid.
    pub fn for_migration(migration: &Migration) -> Result<Self, ValidationError> {
        Ok(Self {
            application: migration.application_spec()?.application_name().as_str().to_owned(),
            deployment_group: migration.deployment_group_spec()?.deployment_group_name().as_str().to_owned(),
            description: None,
        })
    }
    /// CodeDeploy application name.
    pub fn application(&self) -> &str {
        &self.application
    }
    /// Deployment group name.
    pub fn deployment_group(&self) -> &str {
        &self.deployment_group
    }
    /// The description given, if any.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }
}

/// How [`first_deployment`] waits.
///
/// ```
/// use std::time::Duration;
/// use ecs_bluegreen::deploy::{DEPLOYMENT_WAIT, DeployOptions};
/// use ecs_bluegreen::wait::WaitPolicy;
/// let opts = DeployOptions::builder()
///     .wait(WaitPolicy { deadline: Duration::from_secs(600), ..DEPLOYMENT_WAIT })
///     .stop_on_deadline(true)
///     .build();
/// assert!(opts.track_targets);
/// assert_eq!(DeployOptions::default().wait, DEPLOYMENT_WAIT);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, TypedBuilder)]
#[builder(doc)]
pub struct DeployOptions {
    /// Deadline and polling of the wait. Default: [`DEPLOYMENT_WAIT`].
    #[builder(default = DEPLOYMENT_WAIT)]
    pub wait: WaitPolicy,
    /// At the deadline, stop the deployment (`StopDeployment` with auto-rollback) instead of
    /// leaving it running. Default: false.
    #[builder(default)]
    pub stop_on_deadline: bool,
    /// Also read the deployment's target (`ListDeploymentTargets`, `BatchGetDeploymentTargets`)
    /// on every poll for lifecycle events and the traffic on the replacement task set. Errors
    /// of these reads are ignored. Default: true.
    #[builder(default = true)]
    pub track_targets: bool,
    /// Lifecycle hook Lambdas for the AppSpec. Default: none.
    #[builder(default)]
    pub hooks: Hooks,
    /// When the deployment waits in `Ready` for a go-ahead (a ready wait with
    /// `STOP_DEPLOYMENT`), give it: `ContinueDeployment` with `READY_WAIT`, then follow it on.
    /// A deployment of the group already waiting in `Ready` is continued and followed instead
    /// of being refused. Default: false (the report says it is `Ready`).
    #[builder(default)]
    pub continue_when_ready: bool,
}

impl Default for DeployOptions {
    fn default() -> Self {
        Self::builder().build()
    }
}

/// Progress of a deployment, reported to [`first_deployment`]'s callback as it happens.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum DeployEvent {
    /// `CreateDeployment` returned.
    Created {
        /// The new deployment's id.
        deployment_id: String,
    },
    /// The deployment's status changed (`Created`, `InProgress`, `Ready`, `Baking`, `Succeeded`...).
    Status {
        /// CodeDeploy's status.
        status: String,
    },
    /// CodeDeploy added a line to `deploymentStatusMessages`.
    StatusMessage {
        /// The line.
        message: String,
    },
    /// A lifecycle event of the ECS target changed status.
    LifecycleEvent {
        /// Event name (`BeforeInstall`, `Install`, `AllowTraffic`, ...).
        name: String,
        /// `Pending`, `InProgress`, `Succeeded`, `Failed`, `Skipped` or `Unknown`.
        status: String,
    },
    /// The share of production traffic on the replacement (green) task set changed.
    TrafficShifted {
        /// Percent of traffic on the replacement task set.
        green_percent: f64,
    },
    /// A poll was throttled; the wait goes on.
    Throttled {
        /// The throttled operation.
        operation: String,
    },
    /// The deadline passed and `StopDeployment` was sent (see [`DeployOptions::stop_on_deadline`]).
    StopRequested {
        /// The deployment stopped.
        deployment_id: String,
    },
    /// The deadline passed with [`DeployOptions::stop_on_deadline`], but the deployment was not
    /// stopped: production traffic had shifted to the replacement task set (or that could not
    /// be read), and a stop would roll back a good deployment.
    StopWithheld {
        /// The deployment left running.
        deployment_id: String,
        /// Why.
        reason: String,
    },
    /// The deployment waits in `Ready` for a go-ahead (ready wait `STOP_DEPLOYMENT`).
    WaitingForGoAhead {
        /// The deployment.
        deployment_id: String,
    },
    /// `ContinueDeployment` (`READY_WAIT`) was sent (see [`DeployOptions::continue_when_ready`]).
    ContinueRequested {
        /// The deployment continued.
        deployment_id: String,
    },
    /// An ECS-native service deployment entered a lifecycle stage (`SCALE_UP`,
    /// `TEST_TRAFFIC_SHIFT`, `PRODUCTION_TRAFFIC_SHIFT`, `BAKE_TIME`, `CLEAN_UP`, ...).
    LifecycleStage {
        /// ECS's stage name.
        stage: String,
    },
}

impl fmt::Display for DeployEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeployEvent::Created { deployment_id } => write!(f, "created deployment {deployment_id}"),
            DeployEvent::Status { status } => write!(f, "status: {status}"),
            DeployEvent::StatusMessage { message } => write!(f, "message: {message}"),
            DeployEvent::LifecycleEvent { name, status } => write!(f, "lifecycle event {name}: {status}"),
            DeployEvent::TrafficShifted { green_percent } => {
                write!(f, "traffic on the replacement task set: {green_percent}%")
            }
            DeployEvent::Throttled { operation } => write!(f, "{operation} throttled; still waiting"),
            DeployEvent::StopRequested { deployment_id } => {
                write!(f, "deadline reached: stopping deployment {deployment_id} (with rollback)")
            }
            DeployEvent::StopWithheld { deployment_id, reason } => {
                write!(f, "deadline reached: deployment {deployment_id} is NOT stopped: {reason}")
            }
            DeployEvent::WaitingForGoAhead { deployment_id } => {
                write!(f, "deployment {deployment_id} is Ready and waits for a go-ahead (ContinueDeployment)")
            }
            DeployEvent::ContinueRequested { deployment_id } => {
                write!(f, "continuing deployment {deployment_id} (ContinueDeployment READY_WAIT)")
            }
            DeployEvent::LifecycleStage { stage } => write!(f, "lifecycle stage: {stage}"),
        }
    }
}

/// How a deployment ended, or that it had not ended at the deadline.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentOutcome {
    /// Status `Succeeded`.
    Succeeded,
    /// Status `Failed`; see [`DeploymentReport::error`] and [`DeploymentReport::rollback`].
    Failed,
    /// Status `Stopped` (by someone, an alarm, or a ready timeout); see the report's error.
    Stopped,
    /// The deadline passed first. The deployment is still running unless
    /// [`DeploymentReport::stop`] says a stop was requested.
    DeadlineReached,
    /// The deployment waits in `Ready` for a go-ahead (the group's ready wait is
    /// `STOP_DEPLOYMENT`) and [`DeployOptions::continue_when_ready`] was not set: the
    /// replacement task set runs and takes test traffic; production traffic shifts after
    /// `ContinueDeployment`.
    Ready,
}

impl DeploymentOutcome {
    /// `succeeded`, `failed`, `stopped`, `deadline_reached`, `ready`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentOutcome::Succeeded => "succeeded",
            DeploymentOutcome::Failed => "failed",
            DeploymentOutcome::Stopped => "stopped",
            DeploymentOutcome::DeadlineReached => "deadline_reached",
            DeploymentOutcome::Ready => "ready",
        }
    }
}

/// CodeDeploy's own account of why a deployment failed or stopped (`errorInformation`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeDeployError {
    /// Error code, e.g. `ECS_UPDATE_ERROR`, `HEALTH_CONSTRAINTS`, `TIMEOUT`.
    pub code: Option<String>,
    /// CodeDeploy's message.
    pub message: Option<String>,
}

/// The rollback CodeDeploy performed (`rollbackInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoRollback {
    /// The rollback deployment's id.
    pub deployment_id: Option<String>,
    /// CodeDeploy's message about it.
    pub message: Option<String>,
}

/// The answer to the `StopDeployment` sent at the deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopRequest {
    /// `Pending` or `Succeeded`.
    pub status: Option<String>,
    /// CodeDeploy's message.
    pub message: Option<String>,
}

/// A lifecycle event of the deployment's ECS target, as last seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleEventState {
    /// Event name.
    pub name: String,
    /// Its status.
    pub status: String,
}

/// What happened to the deployment [`first_deployment`] created.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentReport {
    /// The deployment's id.
    pub deployment_id: String,
    /// CodeDeploy application.
    pub application: String,
    /// Deployment group.
    pub deployment_group: String,
    /// Cluster of the service (as the deployment group names it).
    pub cluster: String,
    /// The service deployed.
    pub service: String,
    /// The task definition deployed (the one the service ran).
    pub task_definition: String,
    /// Hex SHA-256 of the AppSpec content sent.
    pub appspec_sha256: String,
    /// How it ended.
    pub outcome: DeploymentOutcome,
    /// CodeDeploy's last status seen.
    pub status: String,
    /// CodeDeploy's error, for a failed or stopped deployment.
    pub error: Option<CodeDeployError>,
    /// The rollback CodeDeploy performed, if any.
    pub rollback: Option<AutoRollback>,
    /// The stop requested at the deadline, if [`DeployOptions::stop_on_deadline`] was set.
    pub stop: Option<StopRequest>,
    /// Lifecycle events of the ECS target, as last seen (empty when not tracked).
    pub lifecycle_events: Vec<LifecycleEventState>,
    /// Percent of traffic on the replacement task set, as last seen.
    pub green_traffic_percent: Option<f64>,
    /// CodeDeploy's `deploymentStatusMessages`, as last seen.
    pub status_messages: Vec<String>,
    /// Seconds spent waiting for the deployment.
    pub waited_secs: u64,
    /// Whether production traffic had fully shifted to the replacement task set when the
    /// follow ended (`AllowTraffic` succeeded, or 100 % on the replacement task set).
    #[serde(default)]
    pub traffic_shifted: bool,
    /// Why the deployment was not stopped at the deadline although
    /// [`DeployOptions::stop_on_deadline`] asked for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_withheld: Option<String>,
    /// Whether `ContinueDeployment` was sent ([`DeployOptions::continue_when_ready`]).
    #[serde(default)]
    pub continued: bool,
}

impl DeploymentReport {
    /// Whether the deployment succeeded.
    pub fn succeeded(&self) -> bool {
        self.outcome == DeploymentOutcome::Succeeded
    }
}

impl fmt::Display for DeploymentReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let target = format!("{}/{}", self.cluster, self.service);
        match self.outcome {
            DeploymentOutcome::Succeeded => write!(
                f,
                "deployment {} of {target} succeeded in {}s: blue/green deployments work",
                self.deployment_id, self.waited_secs
            )?,
            DeploymentOutcome::Failed | DeploymentOutcome::Stopped => {
                write!(f, "deployment {} of {target} {}", self.deployment_id, self.outcome.as_str())?;
                if let Some(e) = &self.error {
                    write!(
                        f,
                        ": {}: {}",
                        e.code.as_deref().unwrap_or("no error code"),
                        e.message.as_deref().unwrap_or("no message")
                    )?;
                }
                match &self.rollback {
                    Some(r) => write!(
                        f,
                        "; CodeDeploy rolled back with deployment {}{}",
                        r.deployment_id.as_deref().unwrap_or("(id unknown)"),
                        r.message.as_deref().map(|m| format!(" ({m})")).unwrap_or_default()
                    )?,
                    None => write!(f, "; no automatic rollback")?,
                }
            }
            DeploymentOutcome::Ready => write!(
                f,
                "deployment {id} of {target} is Ready after {}s: the replacement task set runs and takes test traffic, \
                 and production traffic shifts only after a go-ahead; give it with `migrate deploy-check --continue` \
                 (or aws deploy continue-deployment --deployment-id {id} --deployment-wait-type READY_WAIT), \
                 or stop it (aws deploy stop-deployment --deployment-id {id} --auto-rollback-enabled)",
                self.waited_secs,
                id = self.deployment_id
            )?,
            DeploymentOutcome::DeadlineReached => {
                write!(
                    f,
                    "deployment {} of {target} is still {} after {}s",
                    self.deployment_id, self.status, self.waited_secs
                )?;
                if self.traffic_shifted {
                    write!(f, "; production traffic has shifted to the replacement task set")?;
                }
                if let Some(why) = &self.stop_withheld {
                    write!(f, "; NOT stopped: {why}")?;
                }
                match &self.stop {
                    Some(s) => write!(
                        f,
                        "; stop requested with rollback (StopDeployment: {})",
                        s.status.as_deref().unwrap_or("no status")
                    )?,
                    None => write!(
                        f,
                        "; it was left running (aws deploy get-deployment --deployment-id {})",
                        self.deployment_id
                    )?,
                }
            }
        }
        Ok(())
    }
}

pub use crate::error::DeployRefused;


/// Creates one blue/green deployment of the service behind `request`'s deployment group, with
/// the task definition the service runs now, and follows it to its end or to the deadline.
///
/// Read-only until `CreateDeployment`, which is the only mutating call (plus `StopDeployment`
/// at the deadline when [`DeployOptions::stop_on_deadline`] is set). `on_event` sees the
/// deployment's progress in order (see [`DeployEvent`]). Throttled polls are reported and
/// retried; they do not end the wait.
///
/// ```no_run
/// use ecs_bluegreen::AwsClients;
/// use ecs_bluegreen::deploy::{self, DeployOptions, DeployRequest};
/// # async fn run(aws: &AwsClients) -> ecs_bluegreen::Result<()> {
/// let request = DeployRequest::builder().application("prod-web").deployment_group("web-bluegreen").build();
/// let report = deploy::first_deployment(aws, &request, &DeployOptions::default(), |e| eprintln!("{e}")).await?;
/// println!("{report}");
/// if !report.succeeded() {
///     // Failed, stopped, or still running at the deadline: see report.error / report.rollback.
/// }
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// - [`Error::DeployRefused`] before any change: a deployment is in flight in the group
///   ([`ErrorKind::Conflict`], naming it); the application, group or service is missing
///   ([`ErrorKind::NotFound`]); the group names no single service, or the service is not
///   `CODE_DEPLOY`-controlled or has no task definition ([`ErrorKind::InvalidInput`]);
/// - [`Error::Validation`] when the service's load balancer entry cannot make an AppSpec;
/// - [`Error::Aws`] when a call fails (after a successful `CreateDeployment`, the message
///   names the deployment, which is left running).
///
/// A failed, stopped or unfinished deployment is `Ok` with the matching [`DeploymentOutcome`].
pub async fn first_deployment<F>(
    aws: &AwsClients,
    request: &DeployRequest,
    options: &DeployOptions,
    on_event: F,
) -> Result<DeploymentReport>
where
    F: FnMut(&DeployEvent) + Send,
{
    let app = request.application.as_str();
    let group = request.deployment_group.as_str();
    let group_label = format!("{app}/{group}");

    // 1. The deployment group, and the service it deploys.
    let dg = get_deployment_group(aws, app, group).await?.ok_or_else(|| {
        Error::DeployRefused(DeployRefused::new(
            ErrorKind::NotFound,
            format!("deployment group {group_label} does not exist"),
            "check the application and deployment group names, or run `migrate apply` first",
        ))
    })?;
    let (cluster, service_name) = match dg.ecs_services.as_slice() {
        [(c, s)] => (c.clone(), s.clone()),
        other => {
            return Err(Error::DeployRefused(DeployRefused::new(
                ErrorKind::InvalidInput,
                format!("deployment group {group_label} names {} ECS services, not one", other.len()),
                "an ECS deployment group deploys exactly one service; fix the group",
            )));
        }
    };

    // 2. No deployment in flight; the service as it runs now.
    let (active, service) =
        futures::try_join!(active_deployments(aws, app, group), describe_service(aws, &cluster, &service_name))?;
    // A deployment waiting in Ready for the go-ahead asked for: continue it, follow it.
    let waiting = match active.first() {
        Some(id) if options.continue_when_ready => ready_for_go_ahead(aws, id).await?.then(|| id.clone()),
        _ => None,
    };
    if let (Some(id), None) = (active.first(), &waiting) {
        let mut refused = DeployRefused::new(
            ErrorKind::Conflict,
            format!("deployment {id} is still active in deployment group {group_label}; CodeDeploy runs one at a time"),
            format!("wait for it to end, or stop it (aws deploy stop-deployment --deployment-id {id})"),
        );
        refused.active_deployment_id = Some(id.clone());
        return Err(Error::DeployRefused(refused));
    }
    let service = match service {
        Some(s) if s.status == "ACTIVE" => s,
        other => {
            let reason = match other {
                Some(s) => format!("service {cluster}/{service_name} is {}, not ACTIVE", s.status),
                None => format!("service {cluster}/{service_name} of deployment group {group_label} does not exist"),
            };
            return Err(Error::DeployRefused(DeployRefused::new(
                ErrorKind::NotFound,
                reason,
                "the deployment group must name a live service; check it, or run `migrate apply`",
            )));
        }
    };
    if service.deployment_controller != "CODE_DEPLOY" {
        return Err(Error::DeployRefused(DeployRefused::new(
            ErrorKind::InvalidInput,
            format!(
                "service {cluster}/{service_name} uses the {} deployment controller, not CODE_DEPLOY",
                service.deployment_controller
            ),
            "migrate it first (`migrate plan`, then `migrate apply`)",
        )));
    }
    let task_definition = service.task_definition.clone().ok_or_else(|| {
        Error::DeployRefused(DeployRefused::new(
            ErrorKind::InvalidInput,
            format!("service {cluster}/{service_name} reports no task definition"),
            "check the service's primary task set",
        ))
    })?;
    let content = AppSpec::from_service(&service, options.hooks.clone())?.with_task_definition(&task_definition).to_yaml();
    let sha256 = sha256_hex(&content);

    // 3. The deployment (or the one waiting in Ready, continued below).
    let deployment_id = match &waiting {
        Some(id) => id.clone(),
        None => {
            let description = request.description.clone().unwrap_or_else(|| {
                format!("ecs-bluegreen deploy check: redeploy {task_definition} to {cluster}/{service_name}")
            });
            let revision = RevisionLocation::builder()
                .revision_type(RevisionLocationType::AppSpecContent)
                .app_spec_content(AppSpecContent::builder().content(&content).sha256(&sha256).build())
                .build();
            let created = aws
                .codedeploy
                .create_deployment()
                .application_name(app)
                .deployment_group_name(group)
                .revision(revision)
                .description(description)
                .send()
                .await
                .ctx("CreateDeployment", &group_label)?;
            created.deployment_id().map(str::to_owned).ok_or_else(|| {
                Error::Aws(AwsApiError::new("CreateDeployment", &group_label, None, "the answer names no deployment id"))
            })?
        }
    };

    // 4. Follow it.
    let follower = Follower {
        aws,
        deployment_id: &deployment_id,
        track_targets: options.track_targets,
        continue_when_ready: options.continue_when_ready,
        state: Mutex::new(FollowState::new(on_event)),
    };
    if waiting.is_none() {
        follower.emit(DeployEvent::Created { deployment_id: deployment_id.clone() });
    }
    let start = tokio::time::Instant::now();
    let what = format!("deployment {deployment_id} of {cluster}/{service_name}");
    let ended = wait::poll(&what, options.wait, || follower.check()).await;
    let waited_secs = start.elapsed().as_secs();
    let (outcome, status, error, rollback) = match ended {
        Ok(end) => (end.outcome, end.status, end.error, end.rollback),
        Err(Error::Timeout { .. }) => {
            let status = follower.lock().status.clone().unwrap_or_else(|| "Created".to_owned());
            (DeploymentOutcome::DeadlineReached, status, None, None)
        }
        Err(e) => return Err(e),
    };

    // 5. Stop it at the deadline, when asked to -- never once production traffic has shifted.
    let mut stop_withheld = None;
    if outcome == DeploymentOutcome::DeadlineReached && options.stop_on_deadline {
        stop_withheld = follower.stop_withheld(&status).await;
        if let Some(reason) = &stop_withheld {
            follower.emit(DeployEvent::StopWithheld { deployment_id: deployment_id.clone(), reason: reason.clone() });
        }
    }
    let stop = if outcome == DeploymentOutcome::DeadlineReached && options.stop_on_deadline && stop_withheld.is_none() {
        follower.emit(DeployEvent::StopRequested { deployment_id: deployment_id.clone() });
        let out = aws
            .codedeploy
            .stop_deployment()
            .deployment_id(&deployment_id)
            .auto_rollback_enabled(true)
            .send()
            .await
            .ctx("StopDeployment", &deployment_id)?;
        Some(StopRequest {
            status: out.status().map(|s| s.as_str().to_owned()),
            message: out.status_message().map(str::to_owned),
        })
    } else {
        None
    };

    let state = follower.state.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    Ok(DeploymentReport {
        deployment_id,
        application: app.to_owned(),
        deployment_group: group.to_owned(),
        cluster,
        service: service_name,
        task_definition,
        appspec_sha256: sha256,
        outcome,
        status,
        error,
        rollback,
        stop,
        lifecycle_events: state.lifecycle,
        green_traffic_percent: state.green_percent,
        status_messages: state.messages,
        waited_secs,
        traffic_shifted: state.shifted || outcome == DeploymentOutcome::Succeeded,
        stop_withheld,
        continued: state.continued,
    })
}

/// Whether deployment `id` waits in `Ready` for a go-ahead (its ready wait is `STOP_DEPLOYMENT`).
async fn ready_for_go_ahead(aws: &AwsClients, id: &str) -> Result<bool> {
    let out = aws.codedeploy.get_deployment().deployment_id(id).send().await.ctx("GetDeployment", id)?;
    Ok(out.deployment_info().is_some_and(|i| i.status() == Some(&DeploymentStatus::Ready) && waits_for_go_ahead(i)))
}

/// Whether the deployment's ready option holds it in `Ready` until `ContinueDeployment`
/// (`STOP_DEPLOYMENT`); with `CONTINUE_DEPLOYMENT` (or none reported) `Ready` passes by itself.
fn waits_for_go_ahead(info: &aws_sdk_codedeploy::types::DeploymentInfo) -> bool {
    info.blue_green_deployment_configuration()
        .and_then(|c| c.deployment_ready_option())
        .and_then(|o| o.action_on_timeout())
        == Some(&aws_sdk_codedeploy::types::DeploymentReadyAction::StopDeployment)
}

/// Ids of the deployments in flight in the group (first page that has any).
pub(crate) async fn active_deployments(aws: &AwsClients, app: &str, group: &str) -> Result<Vec<String>> {
    let mut token: Option<String> = None;
    loop {
        let mut req = aws
            .codedeploy
            .list_deployments()
            .application_name(app)
            .deployment_group_name(group)
            .set_next_token(token.take());
        for s in ACTIVE_STATUSES {
            req = req.include_only_statuses(DeploymentStatus::from(s));
        }
        let out = req.send().await.ctx("ListDeployments", format!("{app}/{group}"))?;
        if !out.deployments().is_empty() {
            return Ok(out.deployments().to_vec());
        }
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return Ok(Vec::new()),
        }
    }
}

/// A terminal status and what CodeDeploy said about it.
struct Ended {
    outcome: DeploymentOutcome,
    status: String,
    error: Option<CodeDeployError>,
    rollback: Option<AutoRollback>,
}

struct FollowState<F> {
    on_event: F,
    status: Option<String>,
    messages: Vec<String>,
    /// In first-seen order, which is CodeDeploy's.
    lifecycle: Vec<LifecycleEventState>,
    green_percent: Option<f64>,
    target_ids: Option<Vec<String>>,
    /// Production traffic fully on the replacement task set (seen once: it stays so).
    shifted: bool,
    /// Whether the target was read at least once.
    target_read: bool,
    /// `ContinueDeployment` was sent.
    continued: bool,
}

impl<F> FollowState<F> {
    fn new(on_event: F) -> Self {
        Self {
            on_event,
            status: None,
            messages: Vec::new(),
            lifecycle: Vec::new(),
            green_percent: None,
            target_ids: None,
            shifted: false,
            target_read: false,
            continued: false,
        }
    }
}

struct Follower<'a, F> {
    aws: &'a AwsClients,
    deployment_id: &'a str,
    track_targets: bool,
    continue_when_ready: bool,
    state: Mutex<FollowState<F>>,
}

impl<F: FnMut(&DeployEvent) + Send> Follower<'_, F> {
    fn lock(&self) -> std::sync::MutexGuard<'_, FollowState<F>> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn emit(&self, event: DeployEvent) {
        tracing::info!(deployment = self.deployment_id, %event, "deployment progress");
        (self.lock().on_event)(&event);
    }

    /// One poll: `Some` once the deployment has ended.
    async fn check(&self) -> Result<Option<Ended>> {
        let out = match self.aws.codedeploy.get_deployment().deployment_id(self.deployment_id).send().await {
            Ok(o) => o,
            Err(e) => {
                let e = AwsApiError::from_sdk("GetDeployment", self.deployment_id, e);
                if e.kind() == ErrorKind::Throttled {
                    self.emit(DeployEvent::Throttled { operation: "GetDeployment".into() });
                    return Ok(None);
                }
                return Err(Error::Aws(e));
            }
        };
        let Some(info) = out.deployment_info() else { return Ok(None) };
        let status = info.status().map(|s| s.as_str().to_owned()).unwrap_or_default();

        let mut events = Vec::new();
        {
            let mut st = self.lock();
            if !status.is_empty() && st.status.as_deref() != Some(status.as_str()) {
                st.status = Some(status.clone());
                events.push(DeployEvent::Status { status: status.clone() });
            }
            let messages = info.deployment_status_messages();
            if messages.len() > st.messages.len() {
                events.extend(messages[st.messages.len()..].iter().map(|m| DeployEvent::StatusMessage { message: m.clone() }));
            }
            if messages.len() != st.messages.len() || messages != st.messages.as_slice() {
                st.messages = messages.to_vec();
            }
        }
        // A final status is reported after the target's last lifecycle events and traffic.
        let terminal = matches!(
            info.status(),
            Some(DeploymentStatus::Succeeded | DeploymentStatus::Failed | DeploymentStatus::Stopped)
        );
        let last = if terminal { events.iter().position(|e| matches!(e, DeployEvent::Status { .. })).map(|i| events.remove(i)) } else { None };
        for e in events {
            self.emit(e);
        }
        let started = !matches!(info.status(), None | Some(DeploymentStatus::Created | DeploymentStatus::Queued));
        if self.track_targets && started {
            self.track_target().await;
        }
        if let Some(e) = last {
            self.emit(e);
        }

        if info.status() == Some(&DeploymentStatus::Ready) && waits_for_go_ahead(info) && !self.lock().continued {
            if !self.continue_when_ready {
                self.emit(DeployEvent::WaitingForGoAhead { deployment_id: self.deployment_id.to_owned() });
                return Ok(Some(Ended { outcome: DeploymentOutcome::Ready, status, error: None, rollback: None }));
            }
            self.emit(DeployEvent::ContinueRequested { deployment_id: self.deployment_id.to_owned() });
            self.aws
                .codedeploy
                .continue_deployment()
                .deployment_id(self.deployment_id)
                .deployment_wait_type(aws_sdk_codedeploy::types::DeploymentWaitType::ReadyWait)
                .send()
                .await
                .ctx("ContinueDeployment", self.deployment_id)?;
            self.lock().continued = true;
            return Ok(None);
        }
        let outcome = match info.status() {
            Some(DeploymentStatus::Succeeded) => DeploymentOutcome::Succeeded,
            Some(DeploymentStatus::Failed) => DeploymentOutcome::Failed,
            Some(DeploymentStatus::Stopped) => DeploymentOutcome::Stopped,
            _ => return Ok(None),
        };
        Ok(Some(Ended {
            outcome,
            status,
            error: info.error_information().map(|e| CodeDeployError {
                code: e.code().map(|c| c.as_str().to_owned()),
                message: e.message().map(str::to_owned),
            }),
            rollback: info.rollback_info().filter(|r| r.rollback_deployment_id().is_some() || r.rollback_message().is_some()).map(|r| AutoRollback {
                deployment_id: r.rollback_deployment_id().map(str::to_owned),
                message: r.rollback_message().map(str::to_owned),
            }),
        }))
    }

    /// At the deadline: why the deployment must not be stopped, if so. A deployment that has
    /// not started (`Created`, `Queued`) has shifted nothing; otherwise its target is read again
    /// (also when targets are not tracked) and the stop goes ahead only when it shows that
    /// production traffic is still on the original task set.
    async fn stop_withheld(&self, status: &str) -> Option<String> {
        if matches!(status, "Created" | "Queued") {
            return None;
        }
        self.track_target().await;
        let st = self.lock();
        if st.shifted {
            Some(
                "production traffic has shifted to the replacement task set (AllowTraffic succeeded); the deployment only \
                 waits out the blue termination wait, and stopping it would roll back a good deployment"
                    .to_owned(),
            )
        } else if !st.target_read {
            Some("its ECS target could not be read, so whether production traffic has shifted is unknown".to_owned())
        } else {
            None
        }
    }

    /// Lifecycle events and traffic of the deployment's target. Best effort: errors are logged.
    async fn track_target(&self) {
        let known = self.lock().target_ids.clone();
        let ids = match known {
            Some(ids) => ids,
            None => match self.aws.codedeploy.list_deployment_targets().deployment_id(self.deployment_id).send().await {
                Ok(out) if !out.target_ids().is_empty() => {
                    let ids = out.target_ids().to_vec();
                    self.lock().target_ids = Some(ids.clone());
                    ids
                }
                Ok(_) => return,
                Err(e) => {
                    tracing::debug!(error = %AwsApiError::from_sdk("ListDeploymentTargets", self.deployment_id, e), "target not tracked");
                    return;
                }
            },
        };
        let out = match self
            .aws
            .codedeploy
            .batch_get_deployment_targets()
            .deployment_id(self.deployment_id)
            .set_target_ids(Some(ids))
            .send()
            .await
        {
            Ok(o) => o,
            Err(e) => {
                tracing::debug!(error = %AwsApiError::from_sdk("BatchGetDeploymentTargets", self.deployment_id, e), "target not tracked");
                return;
            }
        };
        let mut events = Vec::new();
        {
            let mut st = self.lock();
            for target in out.deployment_targets().iter().filter_map(|t| t.ecs_target()) {
                st.target_read = true;
                let allowed = target.lifecycle_events().iter().any(|e| {
                    e.lifecycle_event_name() == Some("AllowTraffic")
                        && e.status() == Some(&aws_sdk_codedeploy::types::LifecycleEventStatus::Succeeded)
                });
                let all_green = target
                    .task_sets_info()
                    .iter()
                    .any(|t| t.task_set_label() == Some(&TargetLabel::Green) && t.traffic_weight() >= 100.0);
                st.shifted |= allowed || all_green;
                for le in target.lifecycle_events() {
                    let Some(name) = le.lifecycle_event_name() else { continue };
                    let status = le.status().map(|s| s.as_str().to_owned()).unwrap_or_else(|| "Unknown".into());
                    let at = match st.lifecycle.iter().position(|e| e.name == name) {
                        Some(i) => i,
                        None => {
                            st.lifecycle.push(LifecycleEventState { name: name.to_owned(), status: String::new() });
                            st.lifecycle.len() - 1
                        }
                    };
                    let entry = &mut st.lifecycle[at];
                    if entry.status != status {
                        entry.status.clone_from(&status);
                        events.push(DeployEvent::LifecycleEvent { name: name.to_owned(), status });
                    }
                }
                let green = target
                    .task_sets_info()
                    .iter()
                    .find(|t| t.task_set_label() == Some(&TargetLabel::Green))
                    .map(|t| t.traffic_weight());
                if let Some(w) = green
                    && st.green_percent != Some(w)
                {
                    st.green_percent = Some(w);
                    events.push(DeployEvent::TrafficShifted { green_percent: w });
                }
            }
        }
        for e in events {
            self.emit(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_known_vectors() {
        // FIPS 180-2 test vectors.
        assert_eq!(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(
            sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
    }

    fn report(outcome: DeploymentOutcome) -> DeploymentReport {
        DeploymentReport {
            deployment_id: "d-ABC123".into(),
            application: "prod-web".into(),
            deployment_group: "web-bluegreen".into(),
            cluster: "prod".into(),
            service: "web".into(),
            task_definition: "arn:aws:ecs:us-east-1:1:task-definition/web:3".into(),
            appspec_sha256: sha256_hex("x"),
            outcome,
            status: "InProgress".into(),
            error: None,
            rollback: None,
            stop: None,
            lifecycle_events: vec![],
            green_traffic_percent: None,
            status_messages: vec![],
            waited_secs: 42,
            traffic_shifted: false,
            stop_withheld: None,
            continued: false,
        }
    }

    #[test]
    fn report_display_names_the_deployment_and_what_happened() {
        let mut r = report(DeploymentOutcome::Failed);
        r.error = Some(CodeDeployError { code: Some("HEALTH_CONSTRAINTS".into()), message: Some("tasks unhealthy".into()) });
        r.rollback = Some(AutoRollback { deployment_id: Some("d-RB".into()), message: None });
        let s = r.to_string();
        assert!(s.contains("d-ABC123 of prod/web failed: HEALTH_CONSTRAINTS: tasks unhealthy"), "{s}");
        assert!(s.contains("rolled back with deployment d-RB"), "{s}");
        let s = report(DeploymentOutcome::DeadlineReached).to_string();
        assert!(s.contains("d-ABC123 of prod/web is still InProgress after 42s") && s.contains("left running"), "{s}");
        assert!(report(DeploymentOutcome::Succeeded).succeeded());
        assert!(!report(DeploymentOutcome::Stopped).succeeded());
    }

    #[test]
    fn outcome_and_events_serialise_in_snake_case() {
        assert_eq!(serde_json::to_value(DeploymentOutcome::DeadlineReached).unwrap(), "deadline_reached");
        let e = serde_json::to_value(DeployEvent::Status { status: "InProgress".into() }).unwrap();
        assert_eq!(e, serde_json::json!({ "event": "status", "status": "InProgress" }));
    }
}
