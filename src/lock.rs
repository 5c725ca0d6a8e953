//! The run lock: one run at a time per service, seen from every machine.
//!
//! Modelled on Terraform's state locking: the lock is an object in the account written only
//! if absent, here an SSM parameter `/ecs-bluegreen/lock/<cluster>/<service>` created with
//! `Overwrite=false` (AWS refuses a second create with `ParameterAlreadyExists`, atomically).
//! Its value records the holder, the lock id, the run id and when it was taken. `apply`,
//! `resume` and `rollback` take it before their first change and release it at the end,
//! also on failure; a second run is refused naming the holder. A run that died holding it
//! leaves it: `resume`/`rollback` of that run's journal take it over (same run id); anything
//! else needs [`unlock`] with the lock's id (`migrate unlock --lock-id ID`).


use crate::error::{Error, Result, SdkResultExt, has_code};
use crate::identity::short_cluster;
use crate::AwsClients;
pub use crate::lock_holder::{LockHeld, LockInfo};
use crate::lock_holder::now_ms;

/// The SSM parameter holding `cluster`/`service`'s lock.
pub fn parameter_name(cluster: &str, service: &str) -> String {
    format!("/ecs-bluegreen/lock/{}/{service}", short_cluster(cluster))
}

/// A lock this process holds; give it back with [`RunLock::release`].
#[derive(Debug)]
#[must_use = "a run lock must be released"]
pub struct RunLock {
    parameter: String,
    info: LockInfo,
}

impl RunLock {
    /// What the lock records.
    pub fn info(&self) -> &LockInfo {
        &self.info
    }

    /// Releases the lock, if it is still this one (a lock broken and taken by another run is
    /// left alone).
    pub async fn release(self, aws: &AwsClients) -> Result<()> {
        match current_at(aws, &self.parameter).await? {
            Some(held) if held.lock_id == self.info.lock_id => delete(aws, &self.parameter).await,
            _ => Ok(()),
        }
    }
}

/// Takes `cluster`/`service`'s lock for run `run_id` doing `operation`. When the lock is held
/// by the same run (it died holding it) it is taken over; otherwise [`Error::Locked`].
pub async fn acquire(aws: &AwsClients, cluster: &str, service: &str, run_id: &str, operation: &str, holder: &str) -> Result<RunLock> {
    let parameter = parameter_name(cluster, service);
    let info = LockInfo {
        lock_id: crate::identity::fresh_id(),
        run_id: run_id.to_owned(),
        operation: operation.to_owned(),
        holder: holder.to_owned(),
        since_ms: now_ms(),
    };
    let value = serde_json::to_string(&info).map_err(|e| Error::custom(format!("cannot serialise the lock: {e}")))?;
    // Two tries: the second only after a lock of the same run was removed for a take-over.
    for _ in 0..2 {
        let put = aws
            .ssm
            .put_parameter()
            .name(&parameter)
            .value(&value)
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .overwrite(false)
            .description("ecs-bluegreen run lock: one migration run at a time for this service")
            .send()
            .await;
        match put {
            Ok(_) => return Ok(RunLock { parameter, info }),
            Err(e) if has_code(&e, &["ParameterAlreadyExists"]) => {}
            Err(e) => return Err(e).ctx("PutParameter", &parameter),
        }
        match current_at(aws, &parameter).await? {
            // Released in between: try again.
            None => {}
            Some(held) if held.run_id == run_id => delete(aws, &parameter).await?,
            Some(held) => {
                return Err(Error::Locked(Box::new(LockHeld {
                    cluster: short_cluster(cluster).to_owned(),
                    service: service.to_owned(),
                    holder: held,
                })));
            }
        }
    }
    Err(Error::custom(format!("could not take the lock {parameter}: it changed hands while taking it; try again")))
}

/// Who holds `cluster`/`service`'s lock, if anyone.
pub async fn current(aws: &AwsClients, cluster: &str, service: &str) -> Result<Option<LockInfo>> {
    current_at(aws, &parameter_name(cluster, service)).await
}

/// Breaks `cluster`/`service`'s lock, only if its id is `lock_id` (so a lock taken since by
/// another run is not broken by mistake). Returns the broken lock.
pub async fn unlock(aws: &AwsClients, cluster: &str, service: &str, lock_id: &str) -> Result<LockInfo> {
    let parameter = parameter_name(cluster, service);
    match current_at(aws, &parameter).await? {
        Some(held) if held.lock_id == lock_id => {
            delete(aws, &parameter).await?;
            Ok(held)
        }
        Some(held) => Err(Error::Unfinished(format!(
            "the lock of service {}/{service} has id {}, not {lock_id}: not broken (held by {held}); nothing was changed",
            short_cluster(cluster),
            held.lock_id
        ))),
        None => Err(Error::Unfinished(format!(
            "service {}/{service} is not locked; nothing was changed",
            short_cluster(cluster)
        ))),
    }
}

async fn current_at(aws: &AwsClients, parameter: &str) -> Result<Option<LockInfo>> {
    match aws.ssm.get_parameter().name(parameter).send().await {
        Ok(out) => {
            let value = out.parameter().and_then(|p| p.value()).unwrap_or_default();
            // A value this tool did not write still locks: show it as the holder.
            Ok(Some(serde_json::from_str(value).unwrap_or_else(|_| LockInfo {
                lock_id: String::new(),
                run_id: String::new(),
                operation: "unknown".into(),
                holder: format!("unreadable lock value {value:?}"),
                since_ms: 0,
            })))
        }
        Err(e) if has_code(&e, &["ParameterNotFound"]) => Ok(None),
        Err(e) => Err(e).ctx("GetParameter", parameter),
    }
}

async fn delete(aws: &AwsClients, parameter: &str) -> Result<()> {
    match aws.ssm.delete_parameter().name(parameter).send().await {
        Ok(_) => Ok(()),
        // Already gone (a retried delete whose first answer was lost): released.
        Err(e) if has_code(&e, &["ParameterNotFound"]) => Ok(()),
        Err(e) => Err(e).ctx("DeleteParameter", parameter),
    }
}

/// Who this process is, for [`LockInfo::holder`]: the caller's ARN, the OS user and host.
pub fn holder_name(caller_arn: &str) -> String {
    let user = std::env::var("USER").or_else(|_| std::env::var("USERNAME")).unwrap_or_else(|_| "unknown".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown-host".into());
    format!("{caller_arn} ({user}@{host}, pid {})", std::process::id())
}
