//! The journal: an append-only record of a migration run, written before and after every
//! mutating call, from which a crashed run is resumed or rolled back.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::error::{Error, JournalError, Result};
use crate::inventory::{ActionInfo, ServiceDefinition, WeightedTargetGroup};
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
    /// A user's ECS service was deleted; `definition` recreates it exactly.
    ServiceDeleted {
        /// Cluster.
        cluster: String,
        /// The full definition, written before the delete.
        definition: Box<ServiceDefinition>,
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
            Effect::RoleCreated { name, .. } => format!("IAM role {name}"),
            Effect::ApplicationCreated { name } => format!("CodeDeploy application {name}"),
            Effect::DeploymentGroupCreated { application, name } => format!("deployment group {application}/{name}"),
            Effect::ServiceCreated { cluster, name, controller } => format!("ECS service {cluster}/{name} ({controller})"),
            Effect::ServiceDeleted { cluster, definition } => format!("ECS service {cluster}/{} (deleted)", definition.name),
            Effect::PipelineActionReplaced { pipeline, stage, before } => {
                format!("pipeline {pipeline} action {stage}/{}", before.name)
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

/// A JSON file journal. Every append rewrites the file atomically: temp file, fsync, rename,
/// fsync of the directory, so a crash leaves either the old or the new file.
#[derive(Debug)]
pub struct FileJournal {
    path: PathBuf,
    records: Mutex<Vec<Record>>,
}

#[derive(Serialize, Deserialize)]
struct FileFormat {
    format: String,
    records: Vec<Record>,
}

const FORMAT: &str = "ecs-bluegreen-journal/1";

impl FileJournal {
    /// Opens `path`, reading its records when the file exists.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        let records = match std::fs::read(&path) {
            Ok(bytes) => {
                let f: FileFormat = serde_json::from_slice(&bytes)
                    .map_err(|e| Error::Journal(JournalError::with_source(format!("{} is not a readable journal", path.display()), e)))?;
                if f.format != FORMAT {
                    return Err(Error::Journal(format!("{} has unknown format {}", path.display(), f.format).into()));
                }
                f.records
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(Error::Journal(JournalError::with_source(format!("cannot read {}", path.display()), e))),
        };
        Ok(Self { path, records: Mutex::new(records) })
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
        let dir = self.path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(io)?;
        let tmp = dir.join(format!(
            ".{}.tmp",
            self.path.file_name().and_then(|n| n.to_str()).unwrap_or("journal")
        ));
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(&body).map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, &self.path).map_err(io)?;
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
            migration: None,
            built_in_steps: vec![],
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

    #[test]
    fn file_journal_survives_reopen_and_leaves_no_temp_file() {
        let dir = std::env::temp_dir().join(format!("ebg-journal-{}", std::process::id()));
        let path = dir.join("prod-web.journal.json");
        let _ = std::fs::remove_dir_all(&dir);
        let j = FileJournal::open(&path).unwrap();
        j.append(Entry::Committed).unwrap();
        j.append(Entry::RolledBack { clean: false }).unwrap();
        let again = FileJournal::open(&path).unwrap();
        assert_eq!(again.records().unwrap(), j.records().unwrap());
        assert_eq!(again.records().unwrap().len(), 2);
        let names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 1, "{names:?}");
        std::fs::write(&path, b"{not json").unwrap();
        assert!(FileJournal::open(&path).unwrap_err().to_string().contains("not a readable journal"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
