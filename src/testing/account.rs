//! The stateful mock account: state, the shared `serve` path every fake operation goes through
//! (call recording, fault injection), and the clients.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use aws_smithy_mocks::{MockResponse, MockResponseInterceptor, Rule, RuleBuilder, RuleMode};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::{Intercept, SharedInterceptor};
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextMut,
};
use aws_smithy_runtime_api::client::orchestrator::OrchestratorError;
use aws_smithy_runtime_api::client::result::{ConnectorError, CreateUnhandledError};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use aws_smithy_types::error::ErrorMetadata;
use tokio::time::Instant;

use super::faults::{Fault, InjectedError, UnknownOperation, Verdict};
use super::interceptor::AccountInterceptor;
use super::scenario::{RoleSetup, Scenario};
use crate::inventory::{ApplicationInfo, LoadBalancerInfo, ServiceDefinition, TargetGroupInfo, TaskDefinitionInfo};
use crate::{AwsClients, CallRecorder};

/// One call the account answered (or failed on purpose).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Call {
    /// Operation name, e.g. `CreateTargetGroup`.
    pub operation: String,
    /// The request as the SDK's `Debug` prints it.
    pub input: String,
    /// Whether the operation changes the migrated resources: not Describe/Get/List/BatchGet,
    /// and not the run's own bookkeeping (the run lock's SSM parameter calls, STS), which
    /// [`Fault::nth_mutation`](super::Fault::nth_mutation) does not number either; fail those
    /// by name (e.g. `Fault::every_call("PutParameter", ..)`).
    pub mutating: bool,
    /// The fault injected into this call, if any.
    pub fault: Option<InjectedError>,
    /// When it was served, since the account was created (tokio's clock).
    pub at: Duration,
}

/// A condition ECS reaches in the background.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Condition {
    /// All desired tasks of a created service run.
    TasksRunning,
    /// A deleted service is INACTIVE.
    Inactive,
    /// The tasks of a created service are healthy targets.
    TargetsHealthy,
}

/// When a background condition became true, and when a caller first saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Transition {
    /// The service.
    pub service: String,
    /// What happened.
    pub condition: Condition,
    /// When it became true, since the account was created.
    pub happened: Duration,
    /// When a describe call first reported it (`None`: nobody looked).
    pub noticed: Option<Duration>,
}

impl Transition {
    /// How long after the condition became true a caller noticed it.
    pub fn lag(&self) -> Option<Duration> {
        self.noticed.map(|n| n.saturating_sub(self.happened))
    }
}

/// An IAM role in the account.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RoleState {
    /// ARN.
    pub arn: String,
    /// Trust policy document.
    pub trust_policy: String,
    /// Attached managed policy ARNs, in attach order.
    pub policies: Vec<String>,
    /// Inline policies: name → document.
    pub inline_policies: BTreeMap<String, String>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

/// A CodeDeploy deployment in the account.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeploymentState {
    /// Application.
    pub application: String,
    /// Deployment group.
    pub deployment_group: String,
    /// Current status.
    pub status: String,
    /// The AppSpec content of the revision.
    pub appspec: String,
    /// Its SHA-256 as the request gave it.
    pub sha256: Option<String>,
    /// How many GetDeployment calls it has answered.
    pub polls: usize,
    /// The rollback deployment a failure started.
    pub rollback_deployment_id: Option<String>,
    /// Whether `ContinueDeployment` gave it the go-ahead out of `Ready`.
    pub continued: bool,
    /// Polls answered while it waited in `Ready` for the go-ahead (the script resumes after).
    pub(crate) held_polls: usize,
}

/// An ECS service deployment in the account (ECS-native blue/green, or rolling).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceDeploymentState {
    /// The service's name.
    pub service: String,
    /// Order of creation (ListServiceDeployments answers newest first).
    pub created: usize,
    /// Current status (`PENDING`, `IN_PROGRESS`, `SUCCESSFUL`, `ROLLBACK_SUCCESSFUL`, `STOPPED`...).
    pub status: String,
    /// Current lifecycle stage.
    pub lifecycle_stage: Option<String>,
    /// How many DescribeServiceDeployments calls it has answered.
    pub polls: usize,
    /// The stop asked for with StopServiceDeployment (`ROLLBACK` or `ABORT`).
    pub stop_type: Option<String>,
}

/// A background change ECS makes to a service after a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pending {
    /// All desired tasks run (after CreateService).
    TasksRunning,
    /// The service becomes INACTIVE (after DeleteService).
    Inactive,
}

/// Everything the mock account holds. Public so tests can assert on the end state.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AccountState {
    /// Account id.
    pub account_id: String,
    /// Region.
    pub region: String,
    /// The cluster.
    pub cluster: String,
    /// ECS services by name (INACTIVE ones stay visible, as on AWS).
    pub services: BTreeMap<String, ServiceDefinition>,
    /// Task definitions by ARN.
    pub task_definitions: BTreeMap<String, TaskDefinitionInfo>,
    /// The load balancer and its listeners.
    pub load_balancer: LoadBalancerInfo,
    /// Target groups by ARN (`load_balancer_arns` follows the listeners).
    pub target_groups: BTreeMap<String, TargetGroupInfo>,
    /// IAM roles by name.
    pub roles: BTreeMap<String, RoleState>,
    /// CodeDeploy applications by name (tags included).
    pub applications: BTreeMap<String, ApplicationInfo>,
    /// Deployment groups by `(application, group)`, as GetDeploymentGroup returns them.
    pub deployment_groups: BTreeMap<(String, String), aws_sdk_codedeploy::types::DeploymentGroupInfo>,
    /// Deployment group tags by `(application, group)`.
    pub deployment_group_tags: BTreeMap<(String, String), crate::inventory::Tags>,
    /// CodeDeploy deployments by id.
    pub deployments: BTreeMap<String, DeploymentState>,
    pub(crate) deployment_script: super::scenario::DeploymentScript,
    /// ECS service deployments started by UpdateService `forceNewDeployment`, by ARN.
    pub service_deployments: BTreeMap<String, ServiceDeploymentState>,
    pub(crate) native_script: super::scenario::NativeDeploymentScript,
    /// Pipelines by name.
    pub pipelines: BTreeMap<String, aws_sdk_codepipeline::types::PipelineDeclaration>,
    /// SSM parameters by name (value): the run locks ([`crate::lock`]).
    pub parameters: BTreeMap<String, String>,
    /// Custom CodeDeploy deployment configs by name (CreateDeploymentConfig); the predefined
    /// ones are always there and not listed.
    pub deployment_configs: BTreeMap<String, crate::inventory::DeploymentConfigInfo>,
    /// Application Auto Scaling scalable targets by resource id (`service/<cluster>/<name>`).
    pub scalable_targets: BTreeMap<String, crate::inventory::ScalableTargetInfo>,
    /// Scaling policies by `(resource id, policy name)`.
    pub scaling_policies: BTreeMap<(String, String), crate::inventory::ScalingPolicyInfo>,
    /// Scheduled actions by `(resource id, action name)`.
    pub scheduled_actions: BTreeMap<(String, String), crate::inventory::ScheduledActionInfo>,
    /// CloudWatch metric alarms by name.
    pub alarms: BTreeMap<String, crate::inventory::MetricAlarmInfo>,
    /// The ARN STS names the caller by (default: the kit's user); an assumed role's session
    /// ARN, to test what maps it to its role.
    pub caller_arn: Option<String>,
    /// The caller's identity policy documents: when set, IAM simulates the caller
    /// (`SimulatePrincipalPolicy` on its principal) against them; when not, it refuses the
    /// simulation (AccessDenied), as it refuses callers often.
    pub caller_policies: Option<Vec<String>>,
    /// Every CreateService request accepted or refused, in order.
    pub create_service_requests: Vec<aws_sdk_ecs::operation::create_service::CreateServiceInput>,
    /// Changes made, in order (`Operation target`).
    pub log: Vec<String>,
    /// Every call, in order.
    pub calls: Vec<Call>,
    /// Background conditions ECS reached, in order.
    pub transitions: Vec<Transition>,
    pub(crate) pending: BTreeMap<String, (Instant, Pending)>,
    /// CreateService client tokens → the service they created (a retried create with the same
    /// token answers with that service, as ECS does).
    pub(crate) service_client_tokens: BTreeMap<String, String>,
    /// When created services' targets become healthy (absent: healthy).
    pub(crate) healthy_at: BTreeMap<String, Instant>,
    pub(crate) origin: Instant,
    pub(crate) timing: super::scenario::EcsTiming,
    pub(crate) next_id: u64,
}

impl AccountState {
    /// The resources only: logs, calls, background transitions, CodeDeploy deployment history,
    /// pipeline versions, ECS deployment ids, INACTIVE services and running counts left out.
    /// Two accounts with equal resources look the same to a user.
    pub fn resources(&self) -> AccountState {
        let mut r = self.clone();
        r.calls.clear();
        r.log.clear();
        r.create_service_requests.clear();
        r.pending.clear();
        r.service_client_tokens.clear();
        r.healthy_at.clear();
        r.transitions.clear();
        r.next_id = 0;
        r.services.retain(|_, s| s.status != "INACTIVE");
        for s in r.services.values_mut() {
            s.running_count = 0;
            for d in &mut s.deployments {
                d.id = None;
                d.running_count = 0;
            }
        }
        r.deployments.clear();
        r.service_deployments.clear();
        for p in r.pipelines.values_mut() {
            p.version = None;
        }
        // A policy registered again is the same policy under a new ARN: compared by resource
        // and name, in the policies and in the alarms that name them.
        for p in r.scaling_policies.values_mut() {
            p.arn.clear();
        }
        let same_policy = |a: &mut String| {
            if let Some((resource, name)) = crate::inventory::policy_arn_parts(a) {
                *a = format!("scaling policy {name} of {resource}");
            }
        };
        for a in r.alarms.values_mut() {
            a.ok_actions.iter_mut().chain(&mut a.alarm_actions).chain(&mut a.insufficient_data_actions).for_each(same_policy);
        }
        r
    }

    /// What differs between the resources of `self` and `other`, one line per resource.
    pub fn differences(&self, other: &AccountState) -> Vec<String> {
        let (a, b) = (self.resources(), other.resources());
        let mut out = Vec::new();
        fn diff_maps<K: Ord + Debug, V: PartialEq + Debug>(what: &str, a: &BTreeMap<K, V>, b: &BTreeMap<K, V>, out: &mut Vec<String>) {
            for (k, v) in a {
                match b.get(k) {
                    None => out.push(format!("{what} {k:?} is gone")),
                    Some(w) if w != v => out.push(format!("{what} {k:?} changed:\n  from {v:?}\n  to   {w:?}")),
                    _ => {}
                }
            }
            for k in b.keys().filter(|k| !a.contains_key(*k)) {
                out.push(format!("{what} {k:?} was added"));
            }
        }
        diff_maps("service", &a.services, &b.services, &mut out);
        diff_maps("task definition", &a.task_definitions, &b.task_definitions, &mut out);
        diff_maps("target group", &a.target_groups, &b.target_groups, &mut out);
        let listeners = |s: &AccountState| -> BTreeMap<String, _> {
            s.load_balancer.listeners.iter().map(|l| (l.arn.clone(), l.clone())).collect()
        };
        diff_maps("listener", &listeners(&a), &listeners(&b), &mut out);
        diff_maps("role", &a.roles, &b.roles, &mut out);
        diff_maps("application", &a.applications, &b.applications, &mut out);
        diff_maps("deployment group", &a.deployment_groups, &b.deployment_groups, &mut out);
        diff_maps("deployment group tags", &a.deployment_group_tags, &b.deployment_group_tags, &mut out);
        diff_maps("pipeline", &a.pipelines, &b.pipelines, &mut out);
        diff_maps("parameter", &a.parameters, &b.parameters, &mut out);
        diff_maps("deployment config", &a.deployment_configs, &b.deployment_configs, &mut out);
        diff_maps("scalable target", &a.scalable_targets, &b.scalable_targets, &mut out);
        diff_maps("scaling policy", &a.scaling_policies, &b.scaling_policies, &mut out);
        diff_maps("scheduled action", &a.scheduled_actions, &b.scheduled_actions, &mut out);
        diff_maps("alarm", &a.alarms, &b.alarms, &mut out);
        out
    }

    /// Applies the background changes of ECS that are due.
    pub(crate) fn settle(&mut self) {
        let now = Instant::now();
        let due: Vec<String> = self.pending.iter().filter(|(_, (at, _))| now >= *at).map(|(n, _)| n.clone()).collect();
        for name in due {
            let Some((at, what)) = self.pending.remove(&name) else { continue };
            let happened = at.saturating_duration_since(self.origin);
            let Some(svc) = self.services.get_mut(&name) else { continue };
            let condition = match what {
                Pending::TasksRunning => Condition::TasksRunning,
                Pending::Inactive => Condition::Inactive,
            };
            self.transitions.push(Transition { service: name.clone(), condition, happened, noticed: None });
            match what {
                Pending::TasksRunning if svc.status == "ACTIVE" => {
                    svc.running_count = svc.desired_count;
                    for d in &mut svc.deployments {
                        d.running_count = d.desired_count;
                        d.rollout_state = Some("COMPLETED".into());
                    }
                }
                Pending::Inactive => svc.status = "INACTIVE".into(),
                Pending::TasksRunning => {}
            }
        }
    }

    /// Marks the transitions of `service` in `conditions` as noticed now, if not yet.
    pub(crate) fn noticed(&mut self, service: &str, conditions: &[Condition]) {
        let now = Instant::now().saturating_duration_since(self.origin);
        for t in self.transitions.iter_mut().filter(|t| t.service == service && conditions.contains(&t.condition)) {
            t.noticed.get_or_insert(now);
        }
    }

    /// Whether the targets of `service` pass health checks now; records the transition the
    /// first time it is asked after it happened.
    pub(crate) fn targets_healthy(&mut self, service: &str) -> bool {
        let Some(at) = self.healthy_at.get(service).copied() else { return true };
        if Instant::now() < at {
            return false;
        }
        if !self.transitions.iter().any(|t| t.service == service && t.condition == Condition::TargetsHealthy) {
            let happened = at.saturating_duration_since(self.origin);
            self.transitions.push(Transition { service: service.to_owned(), condition: Condition::TargetsHealthy, happened, noticed: None });
        }
        true
    }

    /// The running tasks of every ACTIVE service (one per running task), in service order.
    pub(crate) fn tasks(&self) -> Vec<FakeTask> {
        let mut out = Vec::new();
        for (n, (name, svc)) in self.services.iter().enumerate() {
            if svc.status != "ACTIVE" {
                continue;
            }
            for i in 0..svc.running_count.max(0) {
                let id = format!("{:016x}{:016x}", fnv(name), i as u64 + 1);
                let awsvpc = svc.network_configuration.is_some();
                // bridge/host tasks run on container instance i (spread), bound to a host port:
                // the static one of the task definition, else a dynamic one (unique per task).
                let lb_port = svc.load_balancers.first().and_then(|l| l.container_port).unwrap_or_default();
                let static_port = svc
                    .task_definition
                    .as_ref()
                    .and_then(|td| self.task_definitions.get(td))
                    .and_then(|td| td.containers.iter().find_map(|c| c.static_host_ports.get(&lb_port).copied()));
                let host_port = static_port.unwrap_or(32768 + 100 * (n as i32 % 250) + i);
                out.push(FakeTask {
                    arn: format!("arn:{}:ecs:{}:{}:task/{}/{id}", crate::inventory::partition_of_region(&self.region), self.region, self.account_id, self.cluster),
                    service: name.clone(),
                    // Only awsvpc tasks have their own address (and are ip targets).
                    ip: awsvpc.then(|| format!("10.0.{}.{}", n % 250, 10 + i)),
                    instance: (!awsvpc).then(|| FakeInstance {
                        container_instance_arn: self.container_instance_arn(i),
                        ec2_instance_id: container_instance_ec2_id(i),
                        container_port: lb_port,
                        host_port,
                    }),
                });
            }
        }
        out
    }

    /// When a background change caused now with `delay` becomes visible: never at the instant
    /// of the call that caused it, so even without delay a caller must look again.
    pub(crate) fn after(delay: Duration) -> Instant {
        Instant::now() + delay.max(Duration::from_nanos(1))
    }

    /// A fresh id for generated ARNs (16 hex digits).
    pub(crate) fn fresh_id(&mut self) -> String {
        self.next_id += 1;
        format!("{:016x}", 0x5eed_0000_0000_0000_u64 + self.next_id * 0x9e37_79b9)
    }

    /// Recomputes each target group's `load_balancer_arns` from the listeners.
    pub(crate) fn link_target_groups(&mut self) {
        let lb = self.load_balancer.arn.clone();
        let used: Vec<String> = self
            .load_balancer
            .listeners
            .iter()
            .flat_map(|l| l.default_forward.iter().map(|w| w.target_group_arn.clone()))
            .collect();
        for (arn, tg) in &mut self.target_groups {
            tg.load_balancer_arns = if used.contains(arn) { vec![lb.clone()] } else { vec![] };
        }
    }
}

/// A task the fake pretends runs.
pub(crate) struct FakeTask {
    pub(crate) arn: String,
    pub(crate) service: String,
    pub(crate) ip: Option<String>,
    /// Where a bridge/host network mode task runs (it has no address of its own).
    pub(crate) instance: Option<FakeInstance>,
}

/// The container instance a bridge/host task runs on, and its load-balanced port binding.
pub(crate) struct FakeInstance {
    pub(crate) container_instance_arn: String,
    pub(crate) ec2_instance_id: String,
    pub(crate) container_port: i32,
    pub(crate) host_port: i32,
}

/// The EC2 instance id of container instance `i` (the fake cluster has as many as it needs).
pub(crate) fn container_instance_ec2_id(i: i32) -> String {
    format!("i-0{:016x}", 0xec2_0000_u64 + i as u64)
}

impl AccountState {
    /// The ARN of container instance `i`.
    pub(crate) fn container_instance_arn(&self, i: i32) -> String {
        let id = format!("{:032x}", 0xc1_0000_u64 + i as u64);
        format!("arn:{}:ecs:{}:{}:container-instance/{}/{id}", crate::inventory::partition_of_region(&self.region), self.region, self.account_id, self.cluster)
    }
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

pub(crate) struct Inner {
    pub(crate) state: Mutex<AccountState>,
    faults: Mutex<Vec<(Fault, usize)>>,
    mutations: Mutex<usize>,
    /// The operations faults may name: those the account answers, and those declared.
    known_operations: Mutex<BTreeSet<String>>,
}

pub(crate) type Shared = Arc<Inner>;

impl Inner {
    /// The state, locked.
    ///
    /// # Panics
    /// When this thread holds it already (the account called from inside
    /// [`MockAccount::edit`]): a clear panic instead of a deadlock.
    pub(crate) fn lock(&self) -> StateGuard<'_> {
        assert!(
            !STATE_LOCKED.with(Cell::get),
            "the mock account was called while its state is locked on this thread: \
             do not call the account (or its clients) from inside MockAccount::edit"
        );
        let guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        STATE_LOCKED.with(|l| l.set(true));
        StateGuard(guard)
    }
}

impl Inner {
    /// Forgets the mutating calls made so far, so that [`Fault::nth_mutation`] numbers the
    /// calls of the test's own run (not those of an in-place migration that built the account).
    pub(crate) fn forget_mutations(&self) {
        *self.mutations.lock().unwrap_or_else(|p| p.into_inner()) = 0;
    }

    /// Admits one call of `operation`: counts it, asks every armed fault what happens to it
    /// (the first that hits decides), records it with `input`, and returns the state (due
    /// background changes applied) with the verdict.
    pub(crate) fn admit(&self, operation: &str, input: String) -> (StateGuard<'_>, Verdict) {
        let mutating = !is_read_only(operation) && !is_bookkeeping(operation);
        let mutation_no = mutating.then(|| {
            let mut m = self.mutations.lock().unwrap_or_else(|p| p.into_inner());
            *m += 1;
            *m
        });
        let verdict = {
            let mut faults = self.faults.lock().unwrap_or_else(|p| p.into_inner());
            let mut verdict = Verdict::Proceed;
            for (fault, seen) in faults.iter_mut() {
                // Every fault counts the call; the first one that hits decides.
                let v = fault.verdict(operation, mutation_no, seen);
                if let (Verdict::Proceed, Some(v)) = (&verdict, v) {
                    verdict = v;
                }
            }
            verdict
        };
        let mut st = self.lock();
        st.settle();
        let at = Instant::now().saturating_duration_since(st.origin);
        let fault = match &verdict {
            Verdict::Proceed => None,
            Verdict::Fail(e) | Verdict::Lose { error: e, .. } | Verdict::Retried(e) => Some(e.clone()),
        };
        st.calls.push(Call { at, operation: operation.to_owned(), input, mutating, fault });
        (st, verdict)
    }

    /// Whether faults may name `operation`.
    pub(crate) fn check_operation(&self, operation: &str) -> Result<(), UnknownOperation> {
        let known = self.known_operations.lock().unwrap_or_else(|p| p.into_inner());
        UnknownOperation::check(operation, known.iter().map(String::as_str))
    }
}

/// The locked state; marks this thread as holding it, so a nested lock panics (see
/// [`Inner::lock`]). Never leaves the crate.
pub(crate) struct StateGuard<'a>(MutexGuard<'a, AccountState>);

impl std::ops::Deref for StateGuard<'_> {
    type Target = AccountState;
    fn deref(&self) -> &AccountState {
        &self.0
    }
}

impl std::ops::DerefMut for StateGuard<'_> {
    fn deref_mut(&mut self) -> &mut AccountState {
        &mut self.0
    }
}

impl Drop for StateGuard<'_> {
    fn drop(&mut self) {
        STATE_LOCKED.with(|l| l.set(false));
    }
}

thread_local! {
    /// Whether this thread holds the state of an account (see [`Inner::lock`]).
    static STATE_LOCKED: Cell<bool> = const { Cell::new(false) };
    /// Set by `serve` when the answer to the call being served must be lost; read by
    /// [`LoseResponse`] in the same synchronous interceptor pass on the same thread.
    static LOSE_THIS_RESPONSE: Cell<bool> = const { Cell::new(false) };
}

/// An error of type `E` carrying an AWS error code and message (the SDK's "unhandled" variant,
/// which answers `code()` and `message()` like a modeled one).
pub(crate) fn aws_error<E: CreateUnhandledError>(code: &str, message: &str) -> E {
    E::create_unhandled_error(message.to_owned().into(), Some(ErrorMetadata::builder().code(code).message(message).build()))
}

/// Whether an operation only reads.
pub(crate) fn is_read_only(operation: &str) -> bool {
    ["Describe", "Get", "List", "BatchGet", "Simulate"].iter().any(|p| operation.starts_with(p))
}

/// Whether an operation is the run's bookkeeping (the run lock, the caller's identity) rather
/// than a change to what the migration moves.
pub(crate) fn is_bookkeeping(operation: &str) -> bool {
    matches!(operation, "PutParameter" | "DeleteParameter" | "GetParameter" | "GetCallerIdentity")
}

/// One operation the account answers: the name faults and [`Call`]s use, and its rule.
pub(crate) struct Answer {
    operation: &'static str,
    rule: Rule,
}

/// The rule answering `operation` (the `mock!` of its client method) from the state: every
/// call goes through [`serve`] (recorded, faults applied), then `f` computes the answer.
pub(crate) fn answer<I, O, E>(
    acct: &Shared,
    operation: &'static str,
    rule: RuleBuilder<I, O, E>,
    f: impl Fn(&mut AccountState, &I) -> Result<O, E> + Send + Sync + 'static,
) -> Answer
where
    I: Debug + Send + Sync + 'static,
    O: Debug + Send + Sync + 'static,
    E: Debug + Send + Sync + std::error::Error + CreateUnhandledError + 'static,
{
    let acct = acct.clone();
    Answer { operation, rule: rule.then_compute_response(move |input| serve(&acct, operation, input, |st| f(st, input))) }
}

/// Serves one call: records it, applies an armed fault, else runs `f` on the state.
pub(crate) fn serve<I, O, E>(
    acct: &Shared,
    operation: &'static str,
    input: &I,
    f: impl Fn(&mut AccountState) -> Result<O, E>,
) -> MockResponse<O, E>
where
    I: Debug,
    E: CreateUnhandledError,
{
    let (mut st, verdict) = acct.admit(operation, format!("{input:?}"));
    let result = match verdict {
        Verdict::Proceed => f(&mut st),
        Verdict::Fail(e) => {
            let (code, msg) = e.code_and_message(operation);
            Err(aws_error(&code, &msg))
        }
        Verdict::Retried(_) => {
            // The first attempt takes effect; its answer is lost; the SDK sends it again.
            let _lost = f(&mut st);
            let retry = st.calls.last().map(|c| Call { fault: None, ..c.clone() });
            st.calls.extend(retry);
            f(&mut st)
        }
        Verdict::Lose { applied, .. } => {
            LOSE_THIS_RESPONSE.with(|c| c.set(true));
            if applied { f(&mut st) } else { Err(aws_error("RequestTimeout", "the answer was lost")) }
        }
    };
    match result {
        Ok(o) => MockResponse::Output(o),
        Err(e) => MockResponse::Error(e),
    }
}

/// The timeout an injected [`InjectedError::Timeout`] or [`InjectedError::ResponseLost`] ends
/// a call with, as a connector reports it.
pub(crate) fn injected_timeout<E>() -> OrchestratorError<E> {
    OrchestratorError::connector(ConnectorError::timeout("injected fault: the request timed out before an answer arrived".into()))
}

/// Marks a call whose answer [`LoseResponse`] replaces with a timeout.
#[derive(Debug, Clone, Copy)]
struct LostMarker;

impl Storable for LostMarker {
    type Storer = StoreReplace<Self>;
}

/// Replaces the answer of a call that `serve` marked with a connector timeout, after the mock
/// interceptor (registered before it) has produced the answer.
#[derive(Debug, Clone)]
pub(crate) struct LoseResponse;

impl Intercept for LoseResponse {
    fn name(&self) -> &'static str {
        "LoseResponse"
    }
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if LOSE_THIS_RESPONSE.with(|c| c.replace(false)) {
            cfg.interceptor_state().store_put(LostMarker);
        }
        Ok(())
    }
    fn modify_before_attempt_completion(
        &self,
        context: &mut FinalizerInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if cfg.load::<LostMarker>().is_some() {
            context.inner_mut().set_output_or_error(Err(injected_timeout()));
        }
        Ok(())
    }
}

/// A stateful mock AWS account on `aws-smithy-mocks`.
///
/// Every operation the migration, its rollback, `verify` and discovery make has one rule whose
/// answer is computed from, and changes, [`AccountState`]. A whole `plan` → `apply` →
/// `rollback` runs against it, and a test asserts on [`MockAccount::state`] afterwards. Errors
/// follow AWS (codes and messages): duplicate names, deleting what is in use, a deployment group
/// for a service that is not `CODE_DEPLOY`, reusing a service name that is still draining.
///
/// SDK retries are off (each call is answered once); an injected throttling error reaches the
/// caller as it would once the SDK's retries ran out. Use `#[tokio::test(start_paused = true)]`:
/// the library's waits then cost no real time.
#[derive(Clone)]
pub struct MockAccount {
    inner: Shared,
    rules: Vec<Rule>,
    recorder: CallRecorder,
    scenario: Scenario,
}

impl Debug for MockAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockAccount").field("state", &*self.inner.lock()).finish_non_exhaustive()
    }
}

impl MockAccount {
    /// An account holding `scenario`.
    pub fn new(scenario: Scenario) -> Self {
        let state = super::build::initial_state(&scenario);
        let inner = Arc::new(Inner {
            state: Mutex::new(state),
            faults: Mutex::default(),
            mutations: Mutex::new(0),
            known_operations: Mutex::default(),
        });
        let answers = [
            super::fake_ecs::rules(&inner),
            super::fake_elb::rules(&inner),
            super::fake_iam::rules(&inner),
            super::fake_codedeploy::rules(&inner),
            super::fake_pipeline::rules(&inner),
            super::fake_sts::rules(&inner),
            super::fake_ssm::rules(&inner),
            super::fake_scaling::rules(&inner),
        ];
        let mut rules = Vec::new();
        let mut known = inner.known_operations.lock().unwrap_or_else(|p| p.into_inner());
        for a in answers.into_iter().flatten() {
            known.insert(a.operation.to_owned());
            rules.push(a.rule);
        }
        drop(known);
        let account = Self { inner, rules, recorder: CallRecorder::new(), scenario: scenario.clone() };
        if scenario.migrated {
            super::build::migrate_in_place(&account);
        }
        account
    }

    /// The account of [`Scenario::default`].
    pub fn default_scenario() -> Self {
        Self::new(Scenario::default())
    }

    /// The scenario it started from.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// Clients answering from this account (no HTTP leaves the process).
    pub fn clients(&self) -> AwsClients {
        self.clients_from(MockClients::new())
    }

    /// Clients set up by `options`: its rules are tried first (in order), the account answers
    /// what none of them matches. Calls answered by those rules are neither recorded in
    /// [`MockAccount::calls`] nor seen by faults.
    pub fn clients_from(&self, options: MockClients) -> AwsClients {
        let MockClients { mut rules, interceptors, retry, region } = options;
        rules.extend(self.rules.iter().cloned());
        MockClients { rules, interceptors, retry, region: region.or_else(|| Some(self.scenario.region.clone())) }
            .with_recorder(&self.recorder)
            .build()
    }

    /// A copy of the state now (background ECS changes that are due applied first).
    ///
    /// A copy, not a lock: holding it while the account is called again (in the same
    /// expression, across an `.await`) is fine. To change the state, use [`MockAccount::edit`].
    pub fn state(&self) -> AccountState {
        self.edit(|st| st.clone())
    }

    /// A copy of the state: the same as [`MockAccount::state`].
    #[deprecated(note = "use `state()`, which returns a copy now")]
    pub fn snapshot(&self) -> AccountState {
        self.state()
    }

    /// Runs `f` on the state (background ECS changes that are due applied first) and returns
    /// what it returns: the way to change the account behind the library's back, e.g. a
    /// service that finishes draining early. The state is locked while `f` runs and only then.
    ///
    /// ```
    /// # use ecs_bluegreen::testing::MockAccount;
    /// let account = MockAccount::default_scenario();
    /// account.edit(|st| st.services.get_mut("web").unwrap().desired_count = 0);
    /// assert_eq!(account.state().services["web"].desired_count, 0);
    /// ```
    ///
    /// # Panics
    /// When `f` calls the account (a method, or a call through its clients): the state is
    /// locked then, so that would wait for itself.
    pub fn edit<R>(&self, f: impl FnOnce(&mut AccountState) -> R) -> R {
        let mut st = self.inner.lock();
        st.settle();
        f(&mut st)
    }

    /// Arms a fault; it applies to calls made from now on.
    ///
    /// # Panics
    /// When the fault names an operation the account does not know (see
    /// [`MockAccount::known_operations`]); the message names the close matches, e.g.
    /// `CreateListner` → `CreateListener`. [`MockAccount::try_inject`] returns the error instead.
    #[track_caller]
    pub fn inject(&self, fault: Fault) -> &Self {
        match self.try_inject(fault) {
            Ok(account) => account,
            Err(e) => panic!("{e}"),
        }
    }

    /// Arms a fault, as [`MockAccount::inject`], or says why not.
    ///
    /// # Errors
    /// [`UnknownOperation`] when the fault names an operation the account neither answers nor
    /// was told about with [`MockAccount::declare_operations`]; nothing is armed then.
    pub fn try_inject(&self, fault: Fault) -> Result<&Self, UnknownOperation> {
        if let Some(operation) = fault.operation() {
            self.inner.check_operation(operation)?;
        }
        self.inner.faults.lock().unwrap_or_else(|p| p.into_inner()).push((fault, 0));
        Ok(self)
    }

    /// The interceptor that gives SDK clients the account does not answer (your own, e.g. of
    /// another `aws-sdk-*` crate) its faults and call recording; see [`AccountInterceptor`].
    /// Faults may name their operations once declared ([`MockAccount::declare_operations`]).
    ///
    /// ```
    /// use aws_sdk_ecs::error::ProvideErrorMetadata;
    /// use ecs_bluegreen::testing::{Fault, InjectedError, MockAccount};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let account = MockAccount::default_scenario();
    /// account
    ///     .declare_operations(["RegisterTaskDefinition"])
    ///     .inject(Fault::every_call("RegisterTaskDefinition", InjectedError::aws("ClientException", "Too many revisions")));
    /// let config = aws_sdk_ecs::config::Builder::from(&account.sdk_config()).interceptor(account.interceptor()).build();
    /// let own = aws_sdk_ecs::Client::from_conf(config);
    /// let err = own.register_task_definition().family("web").send().await.unwrap_err();
    /// assert_eq!(err.code(), Some("ClientException"));
    /// assert_eq!(account.calls().last().unwrap().operation, "RegisterTaskDefinition");
    /// # }
    /// ```
    pub fn interceptor(&self) -> AccountInterceptor {
        AccountInterceptor::new(self.inner.clone())
    }

    /// Declares operations the account does not answer but your own SDK clients call through
    /// [`MockAccount::interceptor`] (AWS's names, e.g. `RegisterTaskDefinition`), so faults may
    /// name them.
    pub fn declare_operations<S: Into<String>>(&self, operations: impl IntoIterator<Item = S>) -> &Self {
        self.inner.known_operations.lock().unwrap_or_else(|p| p.into_inner()).extend(operations.into_iter().map(Into::into));
        self
    }

    /// The SDK configuration the account's clients are built from: the `aws-smithy-mocks`
    /// HTTP client (no request leaves the process; a request no rule answers gets an HTTP 418),
    /// the scenario's region, fixed credentials, SDK retries off. Build your own clients from
    /// it, with [`MockAccount::interceptor`].
    pub fn sdk_config(&self) -> aws_types::SdkConfig {
        MockClients::new().region(self.scenario.region.clone()).sdk_config()
    }

    /// Every operation faults may name, sorted: those the account answers (AWS's names, e.g.
    /// `CreateListener`) and those declared with [`MockAccount::declare_operations`].
    pub fn known_operations(&self) -> Vec<String> {
        self.inner.known_operations.lock().unwrap_or_else(|p| p.into_inner()).iter().cloned().collect()
    }

    /// Numbers the next mutating call 1 again for [`Fault::nth_mutation`](super::Fault::nth_mutation)
    /// (after the kit's own setup calls, e.g. [`Scenario::already_migrated`]).
    pub(crate) fn forget_mutations(&self) {
        *self.inner.mutations.lock().unwrap_or_else(|p| p.into_inner()) = 0;
    }

    /// Disarms every fault (e.g. before a rollback that must succeed).
    pub fn clear_faults(&self) -> &Self {
        self.inner.faults.lock().unwrap_or_else(|p| p.into_inner()).clear();
        self
    }

    /// Every call so far, in order, with its input.
    pub fn calls(&self) -> Vec<Call> {
        self.inner.lock().calls.clone()
    }

    /// The operations called so far, in order.
    pub fn operations(&self) -> Vec<String> {
        self.inner.lock().calls.iter().map(|c| c.operation.clone()).collect()
    }

    /// The mutating operations so far, in order.
    pub fn mutating_operations(&self) -> Vec<String> {
        self.inner.lock().calls.iter().filter(|c| c.mutating).map(|c| c.operation.clone()).collect()
    }

    /// The recorder of every client this account built (timings, for `critical_path_len`).
    pub fn recorder(&self) -> &CallRecorder {
        &self.recorder
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.inner
    }
}

/// Builds a role's state from its setup.
pub(crate) fn role_state(account: &str, r: &RoleSetup) -> RoleState {
    RoleState {
        arn: format!("arn:aws:iam::{account}:role/{}", r.name),
        trust_policy: r.trust_policy.clone(),
        policies: r.policies.clone(),
        inline_policies: r.inline_policies.clone(),
        tags: r.tags.clone(),
    }
}

/// Mocked [`AwsClients`] from `aws-smithy-mocks` rules: on their own
/// ([`MockClients::build`]), or in front of a [`MockAccount`] ([`MockAccount::clients_from`]).
///
/// One interceptor holds every rule and serves all five clients (a rule only matches requests
/// of its own operation); an unmatched request panics. SDK retries are off unless
/// [`MockClients::retry`] says otherwise (retries work with rules built from fixed answers or
/// sequences; an account's computed answers serve each call once).
#[derive(Debug, Clone, Default)]
pub struct MockClients {
    rules: Vec<Rule>,
    interceptors: Vec<SharedInterceptor>,
    retry: Option<aws_smithy_types::retry::RetryConfig>,
    region: Option<String>,
}

impl MockClients {
    /// No rules, no extra interceptors, retries off, region `us-east-1`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a rule (tried in the order added).
    pub fn rule(mut self, rule: Rule) -> Self {
        self.rules.push(rule);
        self
    }

    /// Adds rules (tried in the order given).
    pub fn rules(mut self, rules: impl IntoIterator<Item = Rule>) -> Self {
        self.rules.extend(rules);
        self
    }

    /// Adds an interceptor to every client (after the mock's own).
    pub fn interceptor(mut self, interceptor: impl Intercept + 'static) -> Self {
        self.interceptors.push(SharedInterceptor::new(interceptor));
        self
    }

    /// The SDK retry configuration of every client.
    pub fn retry(mut self, retry: aws_smithy_types::retry::RetryConfig) -> Self {
        self.retry = Some(retry);
        self
    }

    /// The region of every client.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    fn with_recorder(mut self, recorder: &CallRecorder) -> Self {
        self.interceptors.insert(0, SharedInterceptor::new(recorder.clone()));
        self
    }

    /// The SDK configuration of the clients: the `aws-smithy-mocks` HTTP client, the region,
    /// fixed credentials, the retry configuration (rules and interceptors are not in it).
    fn sdk_config(&self) -> aws_types::SdkConfig {
        aws_types::SdkConfig::builder()
            .behavior_version(aws_smithy_runtime_api::client::behavior_version::BehaviorVersion::latest())
            .region(aws_types::region::Region::new(self.region.clone().unwrap_or_else(|| "us-east-1".to_owned())))
            .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(
                aws_credential_types::Credentials::new("AKIDMOCKACCOUNT", "mock-secret", None, None, "ecs-bluegreen testing"),
            ))
            .http_client(aws_smithy_mocks::create_mock_http_client())
            .retry_config(self.retry.clone().unwrap_or_else(aws_smithy_types::retry::RetryConfig::disabled))
            .sleep_impl(aws_smithy_async::rt::sleep::SharedAsyncSleep::new(aws_smithy_async::rt::sleep::TokioSleep::new()))
            .build()
    }

    /// The clients.
    pub fn build(self) -> AwsClients {
        let mut mock = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
        for r in &self.rules {
            mock = mock.with_rule(r);
        }
        let conf = self.sdk_config();
        let mut b = AwsClients::builder(&conf).interceptor(mock).interceptor(LoseResponse);
        for i in self.interceptors {
            b = b.interceptor(i);
        }
        b.build()
    }
}
