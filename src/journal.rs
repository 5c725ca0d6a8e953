//! The journal: an append-only record of a migration run, written before and after every
//! mutating call, from which a crashed run is resumed or rolled back.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::error::{Error, JournalError, Result};
use crate::inventory::{ActionInfo, DeploymentConfigurationDef, ListenerAction, LoadBalancerEntry, ServiceDefinition, WeightedTargetGroup};
use crate::plan::Plan;
use crate::spec::StepId;

/// A change to the account that the run made (or was about to make), with what undoing it needs.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "effect", rename_all = "kebab-case")]
pub enum Effect {
    /// A target group was created.
    TargetGroupCreated {
        /// Name.
        name: String,
        /// ARN, once known.
        arn: Option<String>,
    },
    /// A listener was created.
    ListenerCreated {
        /// Load balancer ARN.
        load_balancer_arn: String,
        /// Port.
        port: u16,
        /// ARN, once known.
        arn: Option<String>,
    },
    /// A listener's default forward action was changed; `before` restores it.
    ListenerForwardChanged {
        /// Listener ARN.
        listener_arn: String,
        /// The forward action before the change.
        before: Vec<WeightedTargetGroup>,
    },
    /// A listener's whole default action list was replaced (only its forward changed);
    /// `before` restores it exactly. Journals written before it hold
    /// [`Effect::ListenerForwardChanged`], still undone as before.
    ListenerActionsChanged {
        /// Listener ARN.
        listener_arn: String,
        /// Every default action before the change, in order.
        before: Vec<ListenerAction>,
    },
    /// An IAM role was created (with its managed policy attached).
    RoleCreated {
        /// Role name.
        name: String,
        /// Managed policy attached.
        policy_arn: String,
    },
    /// A CodeDeploy application was created.
    ApplicationCreated {
        /// Name.
        name: String,
    },
    /// A deployment group was created.
    DeploymentGroupCreated {
        /// Application.
        application: String,
        /// Name.
        name: String,
    },
    /// An ECS service was created by this run.
    ServiceCreated {
        /// Cluster.
        cluster: String,
        /// Service name.
        name: String,
        /// Its controller (`ECS` for a bridge, `CODE_DEPLOY` for the migrated service).
        controller: String,
    },
    /// An inline policy was put on a role (the pipeline's); undo deletes exactly it.
    RolePolicyPut {
        /// Role name.
        role: String,
        /// Inline policy name.
        policy_name: String,
        /// The document put (an uncertain put is undone only when the role holds this one).
        document: String,
    },
    /// A user's ECS service was deleted; `definition` recreates it exactly.
    ServiceDeleted {
        /// Cluster.
        cluster: String,
        /// The full definition, written before the delete.
        definition: Box<ServiceDefinition>,
    },
    /// A scalable target (with its policies and scheduled actions) was registered on a service
    /// this run created; undo deregisters it while that service is still the run's.
    ScalingRegistered {
        /// Cluster.
        cluster: String,
        /// Service the target scales.
        service: String,
        /// The controller of the service the run created (`ECS` bridge, `CODE_DEPLOY` final).
        controller: String,
    },
    /// A CloudWatch alarm's actions were re-pointed to new scaling policy ARNs; `before` is the
    /// whole alarm as it was (undo puts it back, naming the original service's live policies).
    AlarmActionsChanged {
        /// The alarm before the change.
        before: Box<crate::inventory::MetricAlarmInfo>,
    },
    /// A pipeline action was rewritten; `before` is the original action.
    PipelineActionReplaced {
        /// Pipeline.
        pipeline: String,
        /// Stage.
        stage: String,
        /// The action before the change.
        before: ActionInfo,
    },
    /// ECS-native target: the service's load balancer entries were replaced (the advanced
    /// configuration added); `before` restores them.
    ServiceLoadBalancersChanged {
        /// Cluster.
        cluster: String,
        /// Service name.
        service: String,
        /// The entries before the change.
        before: Vec<LoadBalancerEntry>,
        /// The production listener, whose weights ECS's deployments swing.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        production_listener_arn: Option<String>,
        /// Its default actions before the migration, restored after the entries.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        production_actions: Vec<ListenerAction>,
    },
    /// ECS-native target: the service's deployment configuration was changed (the strategy);
    /// `before` restores it, strategy `ROLLING` when it named none.
    ServiceDeploymentConfigurationChanged {
        /// Cluster.
        cluster: String,
        /// Service name.
        service: String,
        /// The configuration before the change.
        before: Option<Box<DeploymentConfigurationDef>>,
    },
    /// Onward from CodeDeploy: a deployment group was deleted; `values` recreate it.
    DeploymentGroupDeleted {
        /// Every value of the group.
        values: Box<crate::plan::DeploymentGroupValues>,
    },
    /// Onward from CodeDeploy: a CodeDeploy application was deleted.
    ApplicationDeleted {
        /// Name.
        name: String,
        /// Its tags.
        tags: crate::inventory::Tags,
    },
    /// Onward from CodeDeploy: the service's controller was switched to `ECS`; AWS has no
    /// way back in place, so undo recreates the service from `definition` (on `CODE_DEPLOY`).
    ServiceControllerSwitched {
        /// Cluster.
        cluster: String,
        /// The service before the switch.
        definition: Box<ServiceDefinition>,
        /// The production listener, whose weights ECS's deployments swing.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        production_listener_arn: Option<String>,
        /// Its default actions before the switch, restored after the service.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        production_actions: Vec<ListenerAction>,
    },
    /// A change made by a user's step; its step's `undo` reads `data`.
    Custom {
        /// One line for reports ("DNS record web.example.com").
        what: String,
        /// Whatever the step's undo needs (identifiers AWS assigned, values before the change).
        data: serde_json::Value,
    },
}

impl Effect {
    /// A user's step's effect: `what` for reports, `data` for its undo.
    pub fn custom(what: impl Into<String>, data: &impl Serialize) -> Result<Effect> {
        let data = serde_json::to_value(data).map_err(|e| Error::custom(format!("cannot serialise the effect: {e}")))?;
        Ok(Effect::Custom { what: what.into(), data })
    }

    /// One line for reports.
    pub fn describe(&self) -> String {
        match self {
            Effect::TargetGroupCreated { name, .. } => format!("target group {name}"),
            Effect::ListenerCreated { port, load_balancer_arn, .. } => {
                format!("listener :{port} on {load_balancer_arn}")
            }
            Effect::ListenerForwardChanged { listener_arn, .. } => format!("forward action of listener {listener_arn}"),
            Effect::ListenerActionsChanged { listener_arn, .. } => format!("default actions of listener {listener_arn}"),
            Effect::RoleCreated { name, .. } => format!("IAM role {name}"),
            Effect::RolePolicyPut { role, policy_name, .. } => format!("inline policy {policy_name} of IAM role {role}"),
            Effect::ApplicationCreated { name } => format!("CodeDeploy application {name}"),
            Effect::DeploymentGroupCreated { application, name } => format!("deployment group {application}/{name}"),
            Effect::ServiceCreated { cluster, name, controller } => format!("ECS service {cluster}/{name} ({controller})"),
            Effect::ServiceDeleted { cluster, definition } => format!("ECS service {cluster}/{} (deleted)", definition.name),
            Effect::PipelineActionReplaced { pipeline, stage, before } => {
                format!("pipeline {pipeline} action {stage}/{}", before.name)
            }
            Effect::ScalingRegistered { cluster, service, .. } => format!("auto scaling of ECS service {cluster}/{service}"),
            Effect::AlarmActionsChanged { before } => format!("actions of CloudWatch alarm {}", before.name),
            Effect::ServiceLoadBalancersChanged { cluster, service, .. } => format!("load balancers of ECS service {cluster}/{service}"),
            Effect::ServiceDeploymentConfigurationChanged { cluster, service, .. } => {
                format!("deployment configuration of ECS service {cluster}/{service}")
            }
            Effect::DeploymentGroupDeleted { values } => format!("deleted deployment group {}/{}", values.application, values.name),
            Effect::ApplicationDeleted { name, .. } => format!("deleted CodeDeploy application {name}"),
            Effect::ServiceControllerSwitched { cluster, definition, .. } => {
                format!("deployment controller of ECS service {cluster}/{} (was CODE_DEPLOY)", definition.name)
            }
            Effect::Custom { what, .. } => what.clone(),
        }
    }
}

/// What a restored service takes from the live migrated service instead of the journal.
/// Journaled with the rollback, so an interrupted rollback restores the same values.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CarryOver {
    /// Desired count to restore with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_count: Option<i32>,
    /// Task definition to restore with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition: Option<String>,
}

impl CarryOver {
    /// Whether nothing is carried over.
    pub fn is_empty(&self) -> bool {
        self.desired_count.is_none() && self.task_definition.is_none()
    }
}

impl std::fmt::Display for CarryOver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if let Some(n) = self.desired_count {
            parts.push(format!("desired count {n}"));
        }
        if let Some(t) = &self.task_definition {
            parts.push(format!("task definition {t}"));
        }
        f.write_str(&parts.join(", "))
    }
}

/// One journal entry.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "entry", rename_all = "kebab-case")]
pub enum Entry {
    /// A run starts with this accepted plan.
    Begin {
        /// The plan (holds the original service definition and pipeline action).
        plan: Box<Plan>,
        /// The run's id and what it belongs to (absent in journals written before 0.2).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        run: Option<Box<crate::identity::RunInfo>>,
    },
    /// A step started.
    StepStarted {
        /// Which.
        step: StepId,
    },
    /// About to make a mutating call.
    Intent {
        /// Step.
        step: StepId,
        /// What will change.
        effect: Effect,
    },
    /// The mutating call of intent `intent` succeeded.
    Done {
        /// Sequence number of the intent.
        intent: u64,
        /// What changed, with identifiers AWS assigned.
        effect: Effect,
    },
    /// The mutating call of intent `intent` failed: nothing changed.
    Failed {
        /// Sequence number of the intent.
        intent: u64,
        /// Error text.
        error: String,
    },
    /// The call of intent `intent` failed without a word from the service (timeout, lost
    /// connection...): it may or may not have taken effect, so undo looks for it.
    Uncertain {
        /// Sequence number of the intent.
        intent: u64,
        /// Error text.
        error: String,
    },
    /// A step finished.
    StepFinished {
        /// Which.
        step: StepId,
    },
    /// A step failed; the run rolls back (`resume` after a crash finishes the rollback).
    StepFailed {
        /// Which.
        step: StepId,
        /// Error text, with its causes.
        error: String,
    },
    /// Every step finished.
    Committed,
    /// Undo started.
    RollbackStarted {
        /// Why.
        reason: String,
        /// What the restored service takes over from the live migrated one (drift since the
        /// run); absent when nothing is, and in journals written before 0.2.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        carry_over: Option<CarryOver>,
    },
    /// The effect of intent `intent` was undone.
    Undone {
        /// Sequence number of the intent.
        intent: u64,
    },
    /// Undoing the effect of intent `intent` failed.
    UndoFailed {
        /// Sequence number of the intent.
        intent: u64,
        /// Error text.
        error: String,
    },
    /// Undo finished; `clean` when nothing is left.
    RolledBack {
        /// Whether everything was undone.
        clean: bool,
    },
}

/// An entry with its sequence number and time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Sequence number (0-based, in write order).
    pub seq: u64,
    /// Milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// The entry.
    #[serde(flatten)]
    pub entry: Entry,
}

/// Where a journal stands.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JournalStatus {
    /// No run recorded.
    Empty,
    /// A run started and did not finish: resume it or roll it back.
    Unfinished,
    /// The last run applied the migration.
    Applied,
    /// The last run was rolled back completely.
    RolledBack,
    /// A rollback left resources behind.
    RollbackIncomplete,
}

/// Storage for journal records. Writes are synchronous and must be durable when they return.
pub trait Journal: Send + Sync {
    /// Appends an entry and returns its sequence number.
    fn append(&self, entry: Entry) -> Result<u64>;
    /// Every record, in order.
    fn records(&self) -> Result<Vec<Record>>;
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

fn push(records: &mut Vec<Record>, entry: Entry) -> u64 {
    let seq = records.len() as u64;
    records.push(Record { seq, at_ms: now_ms(), entry });
    seq
}

/// A journal in memory (tests, and callers that persist elsewhere).
#[derive(Debug, Default)]
pub struct InMemoryJournal {
    records: Mutex<Vec<Record>>,
}

impl InMemoryJournal {
    /// An empty journal.
    pub fn new() -> Self {
        Self::default()
    }
    /// A journal holding `records` (e.g. a copy of a crashed run's journal).
    pub fn from_records(records: Vec<Record>) -> Self {
        Self { records: Mutex::new(records) }
    }
}

impl Journal for InMemoryJournal {
    fn append(&self, entry: Entry) -> Result<u64> {
        Ok(push(&mut self.records.lock().expect("journal poisoned"), entry))
    }
    fn records(&self) -> Result<Vec<Record>> {
        Ok(self.records.lock().expect("journal poisoned").clone())
    }
}

/// A JSON file journal. Every append rewrites the file atomically: a temp file of its own
/// (named after the process and the write), fsync, rename, fsync of the directory, so a crash
/// leaves either the old or the new file.
///
/// One writer at a time: [`FileJournal::open`] takes an exclusive OS lock on a sidecar file
/// `.<name>.lock` next to the journal and holds it until the `FileJournal` is dropped (the OS
/// drops it when the process ends, also on a crash). A second `open` of the same path, from
/// another process or from this one while the first is alive, is refused, changing nothing;
/// [`FileJournal::read`] reads without the lock. The lock file is left in place: removing it would let two processes lock two
/// different files of the same name.
#[derive(Debug)]
pub struct FileJournal {
    path: PathBuf,
    records: Mutex<Vec<Record>>,
    // Never read: holding the open file holds the lock.
    _lock: std::fs::File,
}

#[derive(Serialize, Deserialize)]
struct FileFormat {
    format: String,
    records: Vec<Record>,
}

const FORMAT: &str = "ecs-bluegreen-journal/1";

/// Temp files of one process get distinct names.
static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A journal error raised before the run changed anything.
fn refused(message: String, source: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::Journal(JournalError::with_source(message, source).before_any_change())
}

fn file_name(path: &Path) -> &str {
    path.file_name().and_then(|n| n.to_str()).unwrap_or("journal")
}

fn parent_dir(path: &Path) -> &Path {
    path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

impl FileJournal {
    /// Opens `path` for a run, reading its records when the file exists, and locks it against
    /// other processes (see [`FileJournal`]). Creates the journal's directory if needed.
    ///
    /// # Errors
    /// [`Error::Journal`], marked [`JournalError::changed_nothing`], when another process holds
    /// the journal, or when it cannot be locked, read or parsed.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        let dir = parent_dir(&path);
        std::fs::create_dir_all(dir)
            .map_err(|e| refused(format!("cannot create the directory of {}", path.display()), e))?;
        let lock_path = dir.join(format!(".{}.lock", file_name(&path)));
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| refused(format!("cannot open the lock file {} of {}", lock_path.display(), path.display()), e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::Journal(
                    JournalError::new(format!(
                        "{} is locked: another run is using it (it holds {}); wait for that run to end, \
                         or use another journal; nothing was changed",
                        path.display(),
                        lock_path.display()
                    ))
                    .before_any_change(),
                ));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(refused(format!("cannot lock {} (lock file {})", path.display(), lock_path.display()), e));
            }
        }
        let records = Self::read(&path)?;
        Ok(Self { path, records: Mutex::new(records), _lock: lock })
    }

    /// Like [`FileJournal::open`], but refuses (changing nothing, creating nothing) when there
    /// is no file at `path`: for `rollback` and `resume`, where a missing journal is a mistake
    /// (a typo, another working directory), not an empty history. The error's
    /// [`JournalError::io_error`] is then of kind [`std::io::ErrorKind::NotFound`].
    pub fn open_existing(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        match std::fs::symlink_metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(refused(format!("there is no journal at {}; nothing was changed", path.display()), e))
            }
            _ => Self::open(path),
        }
    }

    /// The records of the journal at `path`, read without locking it (a run in progress
    /// replaces the file atomically, so this sees a whole journal); none when there is no file.
    /// For read-only uses such as `status`.
    ///
    /// # Errors
    /// [`Error::Journal`], marked [`JournalError::changed_nothing`], when the file cannot be
    /// read or is not a journal.
    pub fn read(path: &Path) -> Result<Vec<Record>> {
        match std::fs::read(path) {
            Ok(bytes) => {
                let f: FileFormat = serde_json::from_slice(&bytes)
                    .map_err(|e| refused(format!("{} is not a readable journal", path.display()), e))?;
                if f.format != FORMAT {
                    return Err(Error::Journal(
                        JournalError::new(format!("{} has unknown format {}", path.display(), f.format)).before_any_change(),
                    ));
                }
                Ok(f.records)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(refused(format!("cannot read {}", path.display()), e)),
        }
    }

    /// The file path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write(&self, records: &[Record]) -> Result<()> {
        use std::io::Write as _;
        let io = |e: std::io::Error| Error::Journal(JournalError::with_source(format!("cannot write {}", self.path.display()), e));
        let body = serde_json::to_vec_pretty(&FileFormat { format: FORMAT.into(), records: records.to_vec() })
            .map_err(|e| Error::Journal(JournalError::with_source("cannot serialise the journal", e)))?;
        let dir = parent_dir(&self.path);
        std::fs::create_dir_all(dir).map_err(io)?;
        let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = dir.join(format!(".{}.{}.{n}.tmp", file_name(&self.path), std::process::id()));
        let written = (|| {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&body)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &self.path)
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(io(e));
        }
        // Persist the rename itself.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

impl Journal for FileJournal {
    fn append(&self, entry: Entry) -> Result<u64> {
        let mut records = self.records.lock().expect("journal poisoned");
        let mut next = records.clone();
        let seq = push(&mut next, entry);
        self.write(&next)?;
        *records = next;
        Ok(seq)
    }
    fn records(&self) -> Result<Vec<Record>> {
        Ok(self.records.lock().expect("journal poisoned").clone())
    }
}

/// The records of the last run (from its `Begin`), and the run's plan.
pub(crate) fn last_run(records: &[Record]) -> Option<(&Plan, &[Record])> {
    let start = records.iter().rposition(|r| matches!(r.entry, Entry::Begin { .. }))?;
    match &records[start].entry {
        Entry::Begin { plan, .. } => Some((plan, &records[start..])),
        _ => None,
    }
}

/// The id and identity of the journal's last run (`None`: no run, or a journal written before
/// runs recorded them).
pub fn last_run_info(records: &[Record]) -> Option<&crate::identity::RunInfo> {
    records.iter().rev().find_map(|r| match &r.entry {
        Entry::Begin { run, .. } => Some(run.as_deref()),
        _ => None,
    })?
}

/// What the last run's latest rollback carried over from the live service, so an interrupted
/// rollback finishes restoring the same values.
pub(crate) fn last_carry_over(records: &[Record]) -> Option<CarryOver> {
    let (_, run) = last_run(records)?;
    run.iter().rev().find_map(|r| match &r.entry {
        Entry::RollbackStarted { carry_over, .. } => carry_over.clone(),
        _ => None,
    })
}

/// Where the journal stands.
pub fn status(records: &[Record]) -> JournalStatus {
    let Some((_, run)) = last_run(records) else { return JournalStatus::Empty };
    let mut st = JournalStatus::Unfinished;
    for r in run {
        match &r.entry {
            Entry::Committed => st = JournalStatus::Applied,
            Entry::RollbackStarted { .. } => st = JournalStatus::Unfinished,
            Entry::RolledBack { clean: true } => st = JournalStatus::RolledBack,
            Entry::RolledBack { clean: false } => st = JournalStatus::RollbackIncomplete,
            _ => {}
        }
    }
    st
}

/// An effect of the last run that may need undoing.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pending {
    pub intent: u64,
    /// The step that made it (whose `undo` undoes it).
    pub step: StepId,
    /// The effect with AWS-assigned ids when the call is known to have succeeded.
    pub effect: Effect,
    /// Whether the call is known to have succeeded (`false`: outcome unknown after a crash).
    pub confirmed: bool,
}

/// Effects of the last run not yet undone, in the order they were made.
pub(crate) fn pending_effects(records: &[Record]) -> Vec<Pending> {
    let Some((_, run)) = last_run(records) else { return Vec::new() };
    let mut out: Vec<Pending> = Vec::new();
    for r in run {
        match &r.entry {
            Entry::Intent { step, effect } => {
                out.push(Pending { intent: r.seq, step: step.clone(), effect: effect.clone(), confirmed: false })
            }
            Entry::Done { intent, effect } => {
                if let Some(p) = out.iter_mut().find(|p| p.intent == *intent) {
                    p.effect = effect.clone();
                    p.confirmed = true;
                }
            }
            Entry::Failed { intent, .. } | Entry::Undone { intent } => out.retain(|p| p.intent != *intent),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn effect(name: &str) -> Effect {
        Effect::ApplicationCreated { name: name.into() }
    }

    #[test]
    fn pending_effects_follow_intents_done_failed_and_undone() {
        let j = InMemoryJournal::new();
        let plan = Plan {
            migration_id: "prod/web".into(),
            cluster: "prod".into(),
            service: "web".into(),
            account_id: None,
            already_migrated: false,
            changes: vec![],
            warnings: vec![],
            notes: vec![],
            migration: None,
            built_in_steps: vec![],
            target: Default::default(),
            pipeline_role_arn: None,
        };
        assert_eq!(status(&j.records().unwrap()), JournalStatus::Empty);
        j.append(Entry::Begin { plan: Box::new(plan), run: None }).unwrap();
        let a = j.append(Entry::Intent { step: StepId::Application, effect: effect("a") }).unwrap();
        j.append(Entry::Done { intent: a, effect: effect("a") }).unwrap();
        let b = j.append(Entry::Intent { step: StepId::Application, effect: effect("b") }).unwrap();
        j.append(Entry::Failed { intent: b, error: "boom".into() }).unwrap();
        let c = j.append(Entry::Intent { step: StepId::Application, effect: effect("c") }).unwrap();
        let recs = j.records().unwrap();
        assert_eq!(status(&recs), JournalStatus::Unfinished);
        let p = pending_effects(&recs);
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].intent, p[0].confirmed), (a, true));
        assert_eq!((p[1].intent, p[1].confirmed), (c, false));
        j.append(Entry::RollbackStarted { reason: "x".into(), carry_over: None }).unwrap();
        j.append(Entry::Undone { intent: c }).unwrap();
        j.append(Entry::Undone { intent: a }).unwrap();
        j.append(Entry::RolledBack { clean: true }).unwrap();
        let recs = j.records().unwrap();
        assert!(pending_effects(&recs).is_empty());
        assert_eq!(status(&recs), JournalStatus::RolledBack);
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ebg-journal-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }

    #[test]
    fn file_journal_survives_reopen_and_leaves_no_temp_file() {
        let dir = temp_dir("reopen");
        let path = dir.join("prod-web.journal.json");
        let j = FileJournal::open(&path).unwrap();
        j.append(Entry::Committed).unwrap();
        j.append(Entry::RolledBack { clean: false }).unwrap();
        let written = j.records().unwrap();
        drop(j);
        let again = FileJournal::open(&path).unwrap();
        assert_eq!(again.records().unwrap(), written);
        assert_eq!(written.len(), 2);
        assert_eq!(FileJournal::read(&path).unwrap(), written);
        // The journal and its lock file; no temp file.
        assert_eq!(names(&dir), [".prod-web.journal.json.lock", "prod-web.journal.json"]);
        drop(again);
        std::fs::write(&path, b"{not json").unwrap();
        let e = FileJournal::open(&path).unwrap_err();
        assert!(e.to_string().contains("not a readable journal"), "{e}");
        assert!(matches!(&e, Error::Journal(j) if j.changed_nothing()), "{e:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_journal_is_locked_while_open_and_a_second_opener_is_refused_changing_nothing() {
        let dir = temp_dir("lock");
        let path = dir.join("prod-web.journal.json");
        let first = FileJournal::open(&path).unwrap();
        first.append(Entry::Committed).unwrap();
        let e = FileJournal::open(&path).unwrap_err();
        let Error::Journal(j) = &e else { panic!("{e:?}") };
        assert!(j.changed_nothing(), "{e}");
        assert!(e.to_string().contains(&path.display().to_string()) && e.to_string().contains("another run is using it"), "{e}");
        assert!(FileJournal::open_existing(&path).is_err(), "open_existing takes the same lock");
        // Reading (status) does not need the lock.
        assert_eq!(FileJournal::read(&path).unwrap().len(), 1);
        first.append(Entry::RolledBack { clean: true }).unwrap();
        drop(first);
        let second = FileJournal::open(&path).unwrap();
        assert_eq!(second.records().unwrap().len(), 2, "the refused opener wrote nothing");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn open_existing_refuses_a_missing_journal_and_creates_nothing() {
        let dir = temp_dir("missing");
        let path = dir.join("sub").join("typo.journal.json");
        let e = FileJournal::open_existing(&path).unwrap_err();
        let Error::Journal(j) = &e else { panic!("{e:?}") };
        assert!(j.changed_nothing());
        assert_eq!(j.io_error().map(std::io::Error::kind), Some(std::io::ErrorKind::NotFound));
        assert!(e.to_string().contains(&path.display().to_string()), "{e}");
        assert!(FileJournal::read(&path).unwrap().is_empty());
        assert!(!dir.exists(), "nothing was created");
    }

    #[test]
    fn an_unreadable_or_unwritable_journal_is_refused_before_any_change() {
        let dir = temp_dir("unusable");
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.json");
        std::fs::write(&empty, b"").unwrap();
        let directory = dir.join("directory.json");
        std::fs::create_dir_all(&directory).unwrap();
        let file = dir.join("file");
        std::fs::write(&file, b"x").unwrap();
        for path in [empty, directory, file.join("under-a-file.json")] {
            let e = FileJournal::open(&path).unwrap_err();
            assert!(matches!(&e, Error::Journal(j) if j.changed_nothing()), "{}: {e:?}", path.display());
            assert!(e.to_string().contains(&path.display().to_string()), "{e}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
