//! Plan-time checks of a fleet's earlier runs: a service whose journal holds a run that is not
//! done, or whose run lock another run holds, is refused with the fleet's other refusals (so
//! the fleet does not start, rather than fail that service midway through the others).

use crate::journal::{JournalStatus, Record};
use crate::lock::LockInfo;
use crate::plan::{PlanError, Refusal, RefusalKind};
use crate::{Error, Plan};

use super::Member;

/// The refusals of `member`'s earlier runs: its journal's last run not done, its run lock held.
///
/// # Errors
/// When its journal or its lock cannot be read.
pub(super) async fn earlier_runs(member: &Member) -> crate::Result<Vec<Refusal>> {
    let records = member.journal.records()?;
    let mut out: Vec<Refusal> = unfinished_journal(&format!("the journal of {}", member.label()), &records).into_iter().collect();
    let m = &member.migration;
    if let Some(held) = crate::lock::current(&member.aws, m.cluster_name(), m.service().as_str()).await? {
        out.push(held_lock(&member.label(), &held));
    }
    Ok(out)
}

/// The refusal of a journal whose last run is not done, if it is not (`journal` names it).
pub fn unfinished_journal(journal: &str, records: &[Record]) -> Option<Refusal> {
    let (problem, fix) = match crate::journal::status(records) {
        JournalStatus::Unfinished => (
            format!("{journal} holds an earlier run that did not finish"),
            "finish it first: resume it or roll it back (on the CLI: `resume --spec` or `rollback --spec` with the same --journal-dir)",
        ),
        JournalStatus::RollbackIncomplete => (
            format!("{journal} holds a rollback that left resources behind"),
            "run the rollback again (on the CLI: `rollback --spec` with the same --journal-dir), or remove what it lists by hand",
        ),
        _ => return None,
    };
    Some(Refusal::new(RefusalKind::UnfinishedRun, problem, fix))
}

/// The refusal of a run lock another run holds (`service` is `<cluster>/<service>`).
pub fn held_lock(service: &str, held: &LockInfo) -> Refusal {
    Refusal::new(
        RefusalKind::RunLocked,
        format!("service {service} is locked by another run: {held}"),
        "wait for that run to end; if it died, resume or roll back its journal (that takes the lock over), \
         or break the lock with its id (on the CLI: `unlock --lock-id ID`)",
    )
}

/// The refusal of a journal that could not be opened for the run (another process holds it,
/// or it cannot be read): `error` says which.
pub fn journal_unavailable(error: &Error) -> Error {
    Error::Plan(PlanError::new(vec![Refusal::new(
        RefusalKind::RunLocked,
        crate::error::Report(error).to_string(),
        "wait for the run using the journal to end, or fix the journal file; nothing was changed",
    )]))
}

/// A service's plan with the refusals of its earlier runs: those alone when it planned, added
/// before the plan's own refusals when it was refused; any other error stays as it is.
pub fn with_earlier_runs(plan: crate::Result<Plan>, earlier: Vec<Refusal>) -> crate::Result<Plan> {
    if earlier.is_empty() {
        return plan;
    }
    match plan {
        Ok(_) => Err(Error::Plan(PlanError::new(earlier))),
        Err(Error::Plan(refused)) => Err(Error::Plan(PlanError::new(earlier.into_iter().chain(refused.refusals().iter().cloned()).collect()))),
        Err(other) => Err(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::Entry;

    fn journal(entries: Vec<Entry>) -> Vec<Record> {
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
        std::iter::once(Entry::Begin { plan: Box::new(plan), run: None })
            .chain(entries)
            .enumerate()
            .map(|(seq, entry)| Record { seq: seq as u64, at_ms: 0, entry })
            .collect()
    }

    #[test]
    fn only_a_run_that_is_not_done_is_refused() {
        assert_eq!(unfinished_journal("j", &[]), None, "an empty journal");
        assert_eq!(unfinished_journal("j", &journal(vec![Entry::Committed])), None, "applied");
        assert_eq!(unfinished_journal("j", &journal(vec![Entry::RolledBack { clean: true }])), None, "rolled back");
        let r = unfinished_journal("prod-web.journal.json", &journal(vec![])).expect("a run that did not finish");
        assert_eq!(r.kind, RefusalKind::UnfinishedRun);
        assert!(r.problem.starts_with("prod-web.journal.json holds an earlier run"), "{r}");
        assert!(r.fix.contains("resume --spec") && r.fix.contains("rollback --spec"), "{r}");
        let r = unfinished_journal("j", &journal(vec![Entry::RolledBack { clean: false }])).expect("an incomplete rollback");
        assert!(r.problem.contains("left resources behind") && r.fix.contains("rollback --spec"), "{r}");
    }

    #[test]
    fn earlier_runs_join_the_plans_refusals() {
        let earlier = || vec![Refusal::new(RefusalKind::UnfinishedRun, "unfinished", "resume it")];
        let refused = Error::Plan(PlanError::new(vec![Refusal::new(RefusalKind::TestPortInUse, "port 8080", "another port")]));
        let Err(Error::Plan(p)) = with_earlier_runs(Err(refused), earlier()) else { panic!("a plan error") };
        let kinds: Vec<_> = p.refusals().iter().map(|r| r.kind).collect();
        assert_eq!(kinds, [RefusalKind::UnfinishedRun, RefusalKind::TestPortInUse]);
        let other = with_earlier_runs(Err(Error::custom("read failed")), earlier()).unwrap_err();
        assert!(matches!(other, Error::Custom(_)), "{other:?}");
        assert!(matches!(with_earlier_runs(Err(Error::custom("x")), Vec::new()), Err(Error::Custom(_))));
    }
}
