//! Who a run acts for and on: the caller's partition, account and region, and the service the
//! migration moves. Every journal run records it ([`RunInfo`]); `apply`, `resume` and `rollback`
//! refuse a journal whose run belongs to another account, region or service, before any change.

use serde::{Deserialize, Serialize};

use crate::error::{Error, JournalError, Result, SdkResultExt};
use crate::AwsClients;

/// The account and region a set of clients acts in.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    /// The partition (`aws`, `aws-cn`, `aws-us-gov`...).
    pub partition: String,
    /// The 12-digit account id.
    pub account_id: String,
    /// The region of the clients.
    pub region: String,
    /// The caller's ARN (user or assumed role), for lock holders and messages.
    pub arn: String,
}

impl Caller {
    /// Asks STS who the clients act as (`GetCallerIdentity`, which needs no permission).
    pub async fn of(aws: &AwsClients) -> Result<Caller> {
        let out = aws.sts.get_caller_identity().send().await.ctx("GetCallerIdentity", "the caller")?;
        let arn = out.arn().unwrap_or_default().to_owned();
        // arn:PARTITION:sts::ACCOUNT:...
        let partition = arn.split(':').nth(1).filter(|p| !p.is_empty()).unwrap_or("aws").to_owned();
        let region = aws.ecs.config().region().map(|r| r.as_ref().to_owned()).unwrap_or_default();
        Ok(Caller { partition, account_id: out.account().unwrap_or_default().to_owned(), region, arn })
    }
}

/// What a journal's run belongs to: the account and region it acted in, and the service.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunIdentity {
    /// Partition.
    pub partition: String,
    /// Account id.
    pub account_id: String,
    /// Region.
    pub region: String,
    /// Cluster name (not ARN).
    pub cluster: String,
    /// Service name.
    pub service: String,
    /// The migration id (the ownership tag's value).
    pub migration_id: String,
}

impl RunIdentity {
    /// The identity of a run of `plan` by `caller`.
    pub fn new(caller: &Caller, cluster: &str, service: &str, migration_id: &str) -> Self {
        Self {
            partition: caller.partition.clone(),
            account_id: caller.account_id.clone(),
            region: caller.region.clone(),
            cluster: short_cluster(cluster).to_owned(),
            service: service.to_owned(),
            migration_id: migration_id.to_owned(),
        }
    }
}

impl std::fmt::Display for RunIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "service {}/{} (migration {}) in account {} ({}), region {}",
            self.cluster, self.service, self.migration_id, self.account_id, self.partition, self.region
        )
    }
}

/// A journal run's own facts: its id (the run lock names it) and identity.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunInfo {
    /// Unique per run; a run lock held under it may be taken over by `resume`/`rollback` of
    /// the same journal (the run crashed while holding it).
    pub run_id: String,
    /// What the run belongs to.
    pub identity: RunIdentity,
}

impl RunInfo {
    /// A new run with a fresh id.
    pub fn new(identity: RunIdentity) -> Self {
        Self { run_id: fresh_id(), identity }
    }
}

/// The cluster's name, from a name or an ARN (`arn:...:cluster/NAME`).
pub(crate) fn short_cluster(cluster: &str) -> &str {
    cluster.rsplit('/').next().unwrap_or(cluster)
}

/// A hard-to-guess id: time, process, a counter, hashed.
pub(crate) fn fresh_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let seed = format!("{nanos}-{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
    crate::digest::sha256_hex(&seed)[..16].to_owned()
}

/// Refuses (before any change) a journal run that belongs to another partition, account or
/// region than `caller`, or, when `service` is given (`(cluster, service)`), to another service.
pub(crate) fn check_journal_run(
    recorded: &RunIdentity,
    caller: &Caller,
    service: Option<(&str, &str)>,
    what: &str,
) -> Result<()> {
    let mut problems = Vec::new();
    if recorded.partition != caller.partition || recorded.account_id != caller.account_id {
        problems.push(format!(
            "it belongs to account {} ({}), and these credentials act in account {} ({})",
            recorded.account_id, recorded.partition, caller.account_id, caller.partition
        ));
    }
    if recorded.region != caller.region {
        problems.push(format!("it belongs to region {}, and the clients act in region {}", recorded.region, caller.region));
    }
    if let Some((cluster, name)) = service
        && (short_cluster(cluster) != recorded.cluster || name != recorded.service)
    {
        problems.push(format!(
            "it belongs to service {}/{}, and {what} was asked for service {}/{name}",
            recorded.cluster,
            recorded.service,
            short_cluster(cluster)
        ));
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::Journal(
        JournalError::new(format!(
            "refusing to {what} with a journal of another run: {}; the journal records {recorded}; nothing was changed \
             (use the journal of this service, or the credentials and region it was written with)",
            problems.join("; ")
        ))
        .before_any_change(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(account: &str, region: &str) -> Caller {
        Caller { partition: "aws".into(), account_id: account.into(), region: region.into(), arn: String::new() }
    }

    #[test]
    fn a_journal_of_another_account_region_or_service_is_refused_naming_both() {
        let rec = RunIdentity::new(&caller("111111111111", "us-east-1"), "arn:aws:ecs:us-east-1:111111111111:cluster/prod", "web", "prod/web");
        assert_eq!(rec.cluster, "prod");
        assert!(check_journal_run(&rec, &caller("111111111111", "us-east-1"), Some(("prod", "web")), "roll back").is_ok());
        assert!(check_journal_run(&rec, &caller("111111111111", "us-east-1"), None, "roll back").is_ok());
        let e = check_journal_run(&rec, &caller("222222222222", "us-east-1"), None, "roll back").unwrap_err();
        let text = e.to_string();
        assert!(text.contains("111111111111") && text.contains("222222222222"), "{text}");
        assert!(matches!(&e, Error::Journal(j) if j.changed_nothing()));
        let e = check_journal_run(&rec, &caller("111111111111", "eu-west-1"), None, "resume").unwrap_err();
        assert!(e.to_string().contains("region us-east-1"), "{e}");
        let e = check_journal_run(&rec, &caller("111111111111", "us-east-1"), Some(("prod", "api")), "roll back").unwrap_err();
        assert!(e.to_string().contains("service prod/web") && e.to_string().contains("prod/api"), "{e}");
    }

    #[test]
    fn fresh_ids_differ() {
        assert_ne!(fresh_id(), fresh_id());
        assert_eq!(fresh_id().len(), 16);
    }
}
