//! Deploy check of the ECS-native target: one blue/green service deployment of the task
//! definition the service runs now, started by ECS itself and followed to its end.
//!
//! Calls, in order:
//! 1. `DescribeServices` and `ListServiceDeployments`, concurrently: the service is ACTIVE, on
//!    the `ECS` controller with a blue/green strategy (`BLUE_GREEN`, `LINEAR`, `CANARY`), and no
//!    service deployment is in flight (`PENDING`, `IN_PROGRESS`, `ROLLBACK_*`, `STOP_REQUESTED`);
//! 2. `UpdateService` with `forceNewDeployment`, the only mutating call unless
//!    [`DeployOptions::stop_on_deadline`] fires;
//! 3. `ListServiceDeployments` until the new deployment shows, then
//!    `DescribeServiceDeployments` polled under [`DeployOptions::wait`]: status, lifecycle stage,
//!    ECS's reason and rollback;
//! 4. `StopServiceDeployment` (`ROLLBACK`) only when the deadline passes,
//!    [`DeployOptions::stop_on_deadline`] asks for it, and the deployment has not reached the
//!    production traffic shift.
//!
//! # After the production traffic shift
//! As with CodeDeploy ([`super::first_deployment`]), once the deployment reached
//! `PRODUCTION_TRAFFIC_SHIFT` (or a later stage: `POST_PRODUCTION_TRAFFIC_SHIFT`, `BAKE_TIME`,
//! `CLEAN_UP`) production traffic is on the new revision, and a stop would roll back a
//! deployment that only waits out its bake time: the deadline never stops it then
//! ([`DeployEvent::StopWithheld`]).

use std::fmt;
use std::sync::Mutex;

use aws_sdk_ecs::types::{ServiceDeploymentStatus, StopServiceDeploymentStopType};
use serde::{Deserialize, Serialize};

use super::{DeployEvent, DeployOptions, DeployRefused, DeploymentOutcome, StopRequest};
use crate::AwsClients;
use crate::discover::{code_is, describe_service};
use crate::error::{AwsApiError, Error, ErrorKind, Result, SdkResultExt};
use crate::wait;

/// Service deployment statuses during which another deployment is not started.
const ACTIVE_STATUSES: [&str; 5] = ["PENDING", "IN_PROGRESS", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS", "STOP_REQUESTED"];

/// Lifecycle stages at which production traffic has (at least partly) moved to the new revision.
const SHIFTED_STAGES: [&str; 4] = ["PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME", "CLEAN_UP"];

/// The rollback ECS performed (`rollback` of the service deployment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NativeRollback {
    /// ECS's reason.
    pub reason: Option<String>,
    /// The service revision the service rolled back to.
    pub service_revision_arn: Option<String>,
}

/// What happened to the service deployment [`native_deployment`] started.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NativeDeploymentReport {
    /// The service deployment's ARN (empty when it never showed before the deadline).
    pub deployment_arn: String,
    /// Cluster of the service.
    pub cluster: String,
    /// The service deployed.
    pub service: String,
    /// The task definition deployed (the one the service ran).
    pub task_definition: String,
    /// How it ended. A rollback (`ROLLBACK_SUCCESSFUL`, `ROLLBACK_FAILED`) is
    /// [`DeploymentOutcome::Failed`].
    pub outcome: DeploymentOutcome,
    /// ECS's last status seen (`PENDING`, `IN_PROGRESS`, `SUCCESSFUL`, `ROLLBACK_SUCCESSFUL`...).
    pub status: String,
    /// ECS's `statusReason`, as last seen.
    pub status_reason: Option<String>,
    /// The lifecycle stages seen, in order (each once).
    pub lifecycle_stages: Vec<String>,
    /// The rollback ECS performed, if any.
    pub rollback: Option<NativeRollback>,
    /// The stop requested at the deadline, if [`DeployOptions::stop_on_deadline`] was set.
    pub stop: Option<StopRequest>,
    /// Why the deployment was not stopped at the deadline although asked to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_withheld: Option<String>,
    /// Whether the deployment reached the production traffic shift (or succeeded).
    pub traffic_shifted: bool,
    /// Seconds spent waiting for the deployment.
    pub waited_secs: u64,
}

impl NativeDeploymentReport {
    /// Whether the deployment succeeded.
    pub fn succeeded(&self) -> bool {
        self.outcome == DeploymentOutcome::Succeeded
    }
}

impl fmt::Display for NativeDeploymentReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let target = format!("{}/{}", self.cluster, self.service);
        let id = &self.deployment_arn;
        match self.outcome {
            DeploymentOutcome::Succeeded => {
                write!(f, "service deployment {id} of {target} succeeded in {}s: ECS-native blue/green deployments work", self.waited_secs)?
            }
            DeploymentOutcome::DeadlineReached => {
                write!(f, "service deployment {id} of {target} is still {} after {}s", self.status, self.waited_secs)?;
                if let Some(stage) = self.lifecycle_stages.last() {
                    write!(f, " (lifecycle stage {stage})")?;
                }
                if let Some(why) = &self.stop_withheld {
                    write!(f, "; NOT stopped: {why}")?;
                }
                match &self.stop {
                    Some(_) => write!(f, "; stop requested with rollback (StopServiceDeployment ROLLBACK)")?,
                    None => write!(f, "; it was left running (aws ecs describe-service-deployments --service-deployment-arns {id})")?,
                }
            }
            _ => {
                write!(f, "service deployment {id} of {target} {} ({})", self.outcome.as_str(), self.status)?;
                if let Some(r) = &self.status_reason {
                    write!(f, ": {r}")?;
                }
                match &self.rollback {
                    Some(r) => write!(f, "; ECS rolled back to {}", r.service_revision_arn.as_deref().unwrap_or("the previous revision"))?,
                    None => write!(f, "; no rollback")?,
                }
            }
        }
        Ok(())
    }
}

/// Starts one ECS-native blue/green deployment of `cluster`/`service` (UpdateService
/// `forceNewDeployment`: the task definition it runs now, so nothing about the application
/// changes) and follows it to its end or to the deadline.
///
/// `on_event` sees the progress in order: [`DeployEvent::Created`] (the service deployment's
/// ARN), [`DeployEvent::Status`], [`DeployEvent::LifecycleStage`], [`DeployEvent::StatusMessage`]
/// (ECS's `statusReason`), and at the deadline [`DeployEvent::StopRequested`] or
/// [`DeployEvent::StopWithheld`]. [`DeployOptions::track_targets`], `hooks` and
/// `continue_when_ready` are CodeDeploy's and ignored here.
///
/// # Errors
/// - [`Error::DeployRefused`] before any change: the service is missing or not ACTIVE
///   ([`ErrorKind::NotFound`]), not on the `ECS` controller or without a blue/green strategy
///   ([`ErrorKind::InvalidInput`]), or a service deployment is in flight ([`ErrorKind::Conflict`],
///   naming it);
/// - [`Error::Aws`] when a call fails.
///
/// A deployment that rolled back, was stopped, or outlived the deadline is `Ok` with the
/// matching [`DeploymentOutcome`].
pub async fn native_deployment<F>(aws: &AwsClients, cluster: &str, service: &str, options: &DeployOptions, on_event: F) -> Result<NativeDeploymentReport>
where
    F: FnMut(&DeployEvent) + Send,
{
    // 1. The service, and the deployments it has.
    let (svc, before) = futures::try_join!(describe_service(aws, cluster, service), list_deployments(aws, cluster, service))?;
    let svc = match svc {
        Some(s) if s.status == "ACTIVE" => s,
        other => {
            return Err(Error::DeployRefused(DeployRefused::new(
                ErrorKind::NotFound,
                match other {
                    Some(s) => format!("service {cluster}/{service} is {}, not ACTIVE", s.status),
                    None => format!("service {cluster}/{service} does not exist"),
                },
                "check --cluster and --service",
            )));
        }
    };
    let strategy = svc.deployment_configuration.as_ref().and_then(|d| d.strategy.clone()).unwrap_or_else(|| "ROLLING".into());
    if svc.deployment_controller != "ECS" || !["BLUE_GREEN", "LINEAR", "CANARY"].contains(&strategy.as_str()) {
        return Err(Error::DeployRefused(DeployRefused::new(
            ErrorKind::InvalidInput,
            format!(
                "service {cluster}/{service} uses the {} controller with the {strategy} strategy, not ECS-native blue/green",
                svc.deployment_controller
            ),
            "migrate it first (`migrate plan --target ecs-native`, then `migrate apply --target ecs-native`)",
        )));
    }
    if let Some((arn, status)) = before.iter().find(|(_, s)| ACTIVE_STATUSES.contains(&s.as_str())) {
        let mut refused = DeployRefused::new(
            ErrorKind::Conflict,
            format!("service deployment {arn} of {cluster}/{service} is still {status}"),
            format!("wait for it to end, or stop it (aws ecs stop-service-deployment --service-deployment-arn {arn})"),
        );
        refused.active_deployment_id = Some(arn.clone());
        return Err(Error::DeployRefused(refused));
    }
    let task_definition = svc.task_definition.clone().unwrap_or_default();

    // 2. The deployment.
    aws.ecs
        .update_service()
        .cluster(cluster)
        .service(service)
        .force_new_deployment(true)
        .send()
        .await
        .ctx("UpdateService", format!("{cluster}/{service}"))?;

    // 3. Follow it.
    let follower = Follower {
        aws,
        cluster,
        service,
        known: before.into_iter().map(|(arn, _)| arn).collect(),
        state: Mutex::new(State { on_event, arn: None, status: None, reason: None, stages: Vec::new(), shifted: false, rollback: None }),
    };
    let start = tokio::time::Instant::now();
    let ended = wait::poll(&format!("the service deployment of {cluster}/{service}"), options.wait, || follower.check()).await;
    let waited_secs = start.elapsed().as_secs();
    let outcome = match ended {
        Ok(o) => o,
        Err(Error::Timeout { .. }) => DeploymentOutcome::DeadlineReached,
        Err(e) => return Err(e),
    };

    // 4. Stop it at the deadline, when asked to -- never once production traffic moved.
    let (mut stop, mut stop_withheld) = (None, None);
    let arn = follower.lock().arn.clone();
    if let (DeploymentOutcome::DeadlineReached, true, Some(arn)) = (outcome, options.stop_on_deadline, &arn) {
        if follower.lock().shifted {
            let why = format!(
                "it reached the production traffic shift (lifecycle stage {}); it only waits out its bake time, and stopping it would roll back a good deployment",
                follower.lock().stages.last().cloned().unwrap_or_default()
            );
            follower.emit(DeployEvent::StopWithheld { deployment_id: arn.clone(), reason: why.clone() });
            stop_withheld = Some(why);
        } else {
            follower.emit(DeployEvent::StopRequested { deployment_id: arn.clone() });
            aws.ecs
                .stop_service_deployment()
                .service_deployment_arn(arn)
                .stop_type(StopServiceDeploymentStopType::Rollback)
                .send()
                .await
                .ctx("StopServiceDeployment", arn)?;
            stop = Some(StopRequest { status: Some("ROLLBACK".into()), message: None });
        }
    }

    let st = follower.state.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    Ok(NativeDeploymentReport {
        deployment_arn: st.arn.unwrap_or_default(),
        cluster: cluster.to_owned(),
        service: service.to_owned(),
        task_definition,
        outcome,
        status: st.status.unwrap_or_else(|| "PENDING".into()),
        status_reason: st.reason,
        lifecycle_stages: st.stages,
        rollback: st.rollback,
        stop,
        stop_withheld,
        traffic_shifted: st.shifted || outcome == DeploymentOutcome::Succeeded,
        waited_secs,
    })
}

/// The service's deployments (first page, newest first): ARN and status.
async fn list_deployments(aws: &AwsClients, cluster: &str, service: &str) -> Result<Vec<(String, String)>> {
    let out = match aws.ecs.list_service_deployments().cluster(cluster).service(service).send().await {
        Ok(out) => out,
        // A missing service is refused on DescribeServices' answer.
        Err(e) if code_is(&e, &["ServiceNotFoundException"]) => return Ok(Vec::new()),
        Err(e) => return Err(e).ctx("ListServiceDeployments", format!("{cluster}/{service}")),
    };
    Ok(out
        .service_deployments()
        .iter()
        .filter_map(|d| Some((d.service_deployment_arn()?.to_owned(), d.status().map(|s| s.as_str().to_owned()).unwrap_or_default())))
        .collect())
}

struct State<F> {
    on_event: F,
    arn: Option<String>,
    status: Option<String>,
    reason: Option<String>,
    stages: Vec<String>,
    /// The production traffic shift was reached (seen once: it stays so).
    shifted: bool,
    rollback: Option<NativeRollback>,
}

struct Follower<'a, F> {
    aws: &'a AwsClients,
    cluster: &'a str,
    service: &'a str,
    /// Deployments that existed before ours.
    known: Vec<String>,
    state: Mutex<State<F>>,
}

impl<F: FnMut(&DeployEvent) + Send> Follower<'_, F> {
    fn lock(&self) -> std::sync::MutexGuard<'_, State<F>> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn emit(&self, event: DeployEvent) {
        tracing::info!(service = self.service, %event, "service deployment progress");
        (self.lock().on_event)(&event);
    }

    /// Whether an error is a throttle (reported, and the wait goes on).
    fn throttled(&self, e: &AwsApiError) -> bool {
        let yes = e.kind() == ErrorKind::Throttled;
        if yes {
            self.emit(DeployEvent::Throttled { operation: e.operation().to_owned() });
        }
        yes
    }

    /// One poll: `Some` once the deployment has ended.
    async fn check(&self) -> Result<Option<DeploymentOutcome>> {
        let known_arn = self.lock().arn.clone();
        let arn = match known_arn {
            Some(a) => a,
            None => {
                let fresh = match list_deployments(self.aws, self.cluster, self.service).await {
                    Ok(all) => all.into_iter().map(|(a, _)| a).find(|a| !self.known.contains(a)),
                    Err(Error::Aws(e)) if self.throttled(&e) => return Ok(None),
                    Err(e) => return Err(e),
                };
                let Some(arn) = fresh else { return Ok(None) };
                self.lock().arn = Some(arn.clone());
                self.emit(DeployEvent::Created { deployment_id: arn.clone() });
                arn
            }
        };
        let out = match self.aws.ecs.describe_service_deployments().service_deployment_arns(&arn).send().await {
            Ok(o) => o,
            Err(e) => {
                let e = AwsApiError::from_sdk("DescribeServiceDeployments", &arn, e);
                if self.throttled(&e) {
                    return Ok(None);
                }
                return Err(Error::Aws(e));
            }
        };
        let Some(d) = out.service_deployments().first() else { return Ok(None) };
        let status = d.status().map(|s| s.as_str().to_owned()).unwrap_or_default();
        let stage = d.lifecycle_stage().map(|s| s.as_str().to_owned());
        let mut events = Vec::new();
        {
            let mut st = self.lock();
            if let Some(stage) = stage.filter(|s| st.stages.last() != Some(s)) {
                st.shifted |= SHIFTED_STAGES.contains(&stage.as_str());
                if !st.stages.contains(&stage) {
                    st.stages.push(stage.clone());
                }
                events.push(DeployEvent::LifecycleStage { stage });
            }
            if !status.is_empty() && st.status.as_deref() != Some(status.as_str()) {
                st.status = Some(status.clone());
                events.push(DeployEvent::Status { status: status.clone() });
            }
            if let Some(r) = d.status_reason().filter(|r| st.reason.as_deref() != Some(*r)) {
                st.reason = Some(r.to_owned());
                events.push(DeployEvent::StatusMessage { message: r.to_owned() });
            }
            if let Some(r) = d.rollback() {
                st.rollback = Some(NativeRollback { reason: r.reason().map(str::to_owned), service_revision_arn: r.service_revision_arn().map(str::to_owned) });
            }
        }
        for e in events {
            self.emit(e);
        }
        Ok(match d.status() {
            Some(ServiceDeploymentStatus::Successful) => Some(DeploymentOutcome::Succeeded),
            Some(ServiceDeploymentStatus::Stopped) => Some(DeploymentOutcome::Stopped),
            Some(ServiceDeploymentStatus::RollbackSuccessful | ServiceDeploymentStatus::RollbackFailed) => Some(DeploymentOutcome::Failed),
            _ => None,
        })
    }
}
