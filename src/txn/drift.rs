//! Drift-aware rollback, the pure part: what changed on the migrated service since the run
//! left it, what the restored service takes over from it, whether a deployment in flight
//! forbids the rollback, and the [`RollbackPlan`] shown before a rollback runs. The reads
//! (DescribeServices, ListDeployments) are made by [`super::rollback_plan`].

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::inventory::ServiceDefinition;
pub use crate::journal::CarryOver;
use crate::journal::{Effect, JournalStatus, Pending};
use crate::plan::{ChangeDetail, Plan};
use crate::refusal::{Refusal, RefusalKind};
use crate::spec::StepId;

const CODE_DEPLOY: &str = "CODE_DEPLOY";

/// A value of the migrated service as the run left it and as it is live now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changed<T> {
    /// As the run left it (the plan's target service).
    pub left: T,
    /// Live now.
    pub live: T,
}

/// What changed on the service the run left (the migrated `CODE_DEPLOY` service) since.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceDrift {
    /// The service's name.
    pub service: String,
    /// Desired count, when it changed (an operator or auto scaling scaled the service).
    pub desired_count: Option<Changed<i32>>,
    /// Task definition, when it changed (a CodeDeploy deployment of a new revision).
    pub task_definition: Option<Changed<Option<String>>>,
    /// Controller, when it changed; `live` is `None` when the service is gone.
    pub controller: Option<Changed<Option<String>>>,
}

impl ServiceDrift {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.desired_count.is_none() && self.task_definition.is_none() && self.controller.is_none()
    }

    /// What the restored service takes from the live one: its desired count and task
    /// definition, when they changed and the live service is still the one the run left
    /// (same controller). A service that is gone or was replaced carries nothing over.
    pub fn carry_over(&self) -> CarryOver {
        if self.controller.is_some() {
            return CarryOver::default();
        }
        CarryOver {
            desired_count: self.desired_count.as_ref().map(|c| c.live),
            task_definition: self.task_definition.as_ref().and_then(|c| c.live.clone()),
        }
    }
}

/// The service the run left: the plan's target service, when the journal shows the run
/// created it with the `CODE_DEPLOY` controller (and that is not undone yet).
pub(crate) fn left_service<'a>(plan: &'a Plan, pending: &[Pending]) -> Option<&'a ServiceDefinition> {
    let to = plan.changes.iter().find_map(|c| match &c.detail {
        ChangeDetail::ServiceCutover { to, .. } => Some(to.as_ref()),
        _ => None,
    })?;
    pending
        .iter()
        .any(|p| {
            p.confirmed
                && p.step == StepId::ServiceCutover
                && matches!(&p.effect, Effect::ServiceCreated { name, controller, .. } if *name == to.name && controller == CODE_DEPLOY)
        })
        .then_some(to)
}

/// Compares the service the run left with the live one (`None`: missing or INACTIVE).
pub(crate) fn compare(left: &ServiceDefinition, live: Option<&ServiceDefinition>) -> ServiceDrift {
    let live = live.filter(|s| s.status != "INACTIVE");
    fn changed<T: PartialEq>(left: T, live: T) -> Option<Changed<T>> {
        (left != live).then_some(Changed { left, live })
    }
    ServiceDrift {
        service: left.name.clone(),
        desired_count: live.and_then(|s| changed(left.desired_count, s.desired_count)),
        task_definition: live.and_then(|s| changed(left.task_definition.clone(), s.task_definition.clone())),
        controller: changed(Some(left.deployment_controller.clone()), live.map(|s| s.deployment_controller.clone())),
    }
}

/// The definition a deleted service is restored from, with `carry` applied.
pub(crate) fn restored(def: &ServiceDefinition, carry: &CarryOver) -> ServiceDefinition {
    let mut def = def.clone();
    if let Some(n) = carry.desired_count {
        def.desired_count = n;
    }
    if let Some(t) = &carry.task_definition {
        def.task_definition = Some(t.clone());
    }
    def
}

/// The effect to undo, with `carry` applied to a service the cutover deleted (the user's
/// service and, for `parallel-keep-name`, the bridge that serves while it is restored).
pub(crate) fn carried(step: &StepId, effect: &Effect, carry: &CarryOver) -> Effect {
    match effect {
        Effect::ServiceDeleted { cluster, definition } if *step == StepId::ServiceCutover && !carry.is_empty() => {
            Effect::ServiceDeleted { cluster: cluster.clone(), definition: Box::new(restored(definition, carry)) }
        }
        other => other.clone(),
    }
}

/// The deployment group of the plan (application, group), when it has one.
pub(crate) fn deployment_group(plan: &Plan) -> Option<(&str, &str)> {
    plan.changes.iter().find_map(|c| match &c.detail {
        ChangeDetail::DeploymentGroup(dg) => Some((dg.application.as_str(), dg.name.as_str())),
        _ => None,
    })
}

/// CodeDeploy activity that forbids a rollback: deployments of the group in flight, or more
/// than one task set on the service (traffic is being shifted).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct InFlight {
    pub group: Option<(String, String)>,
    pub deployments: Vec<String>,
    pub task_sets: usize,
}

/// Refuses a rollback while a deployment is in flight, unless forced.
pub(crate) fn refusal(in_flight: &InFlight, service: &str, force: bool) -> Option<Refusal> {
    if force || (in_flight.deployments.is_empty() && in_flight.task_sets <= 1) {
        return None;
    }
    let problem = match &in_flight.group {
        Some((app, group)) if !in_flight.deployments.is_empty() => format!(
            "CodeDeploy deployment {} of {app}/{group} is in flight: rolling back now would delete the service, group and target groups under it",
            in_flight.deployments.join(", ")
        ),
        _ => format!("service {service} has {} task sets: a blue/green deployment is shifting traffic", in_flight.task_sets),
    };
    let stop = in_flight
        .deployments
        .first()
        .map_or_else(String::new, |d| format!(" (or stop it: aws deploy stop-deployment --deployment-id {d} --auto-rollback-enabled)"));
    Some(Refusal::new(
        RefusalKind::DeploymentInFlight,
        problem,
        format!("wait until the deployment ends{stop} and roll back again, or roll back anyway with --force (ApplyOptions::force_rollback); nothing was changed"),
    ))
}

/// What a rollback will do, shown before it runs: the changes it undoes (newest first), the
/// drift of the migrated service it carries over, and why it is refused, if it is.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RollbackPlan {
    /// The migration the journal records.
    pub migration_id: String,
    /// Cluster of the migrated service.
    pub cluster: String,
    /// The service as the journal names it.
    pub service: String,
    /// Where the journal stands.
    pub status: JournalStatus,
    /// What will be undone, in the order it will be undone.
    pub undo: Vec<String>,
    /// What changed on the migrated service since the run left it (`None`: the run left no
    /// migrated service, or rollback has nothing to do).
    pub drift: Option<ServiceDrift>,
    /// What the restored service takes over from the live one.
    pub carry_over: CarryOver,
    /// CodeDeploy deployments of the group in flight.
    pub deployments_in_flight: Vec<String>,
    /// Why the rollback is refused (a deployment in flight, without force).
    pub refusal: Option<Refusal>,
}

impl RollbackPlan {
    /// A plan with nothing to undo.
    pub(crate) fn nothing(status: JournalStatus) -> Self {
        Self {
            migration_id: String::new(),
            cluster: String::new(),
            service: String::new(),
            status,
            undo: Vec::new(),
            drift: None,
            carry_over: CarryOver::default(),
            deployments_in_flight: Vec::new(),
            refusal: None,
        }
    }
    /// Whether the rollback will be refused.
    pub fn is_refused(&self) -> bool {
        self.refusal.is_some()
    }
    /// Whether there is nothing to undo.
    pub fn is_empty(&self) -> bool {
        self.undo.is_empty()
    }
}

/// Builds the plan of a rollback from the journal's pending effects, the live service (when
/// the run left one) and the CodeDeploy activity.
pub(crate) fn rollback_plan(
    plan: &Plan,
    status: JournalStatus,
    pending: &[Pending],
    drift: Option<ServiceDrift>,
    in_flight: &InFlight,
    force: bool,
) -> RollbackPlan {
    let carry_over = drift.as_ref().map(ServiceDrift::carry_over).unwrap_or_default();
    let undo = pending
        .iter()
        .rev()
        .map(|p| {
            let mut line = p.effect.describe();
            if let (Effect::ServiceDeleted { .. }, true) = (&p.effect, p.step == StepId::ServiceCutover && !carry_over.is_empty()) {
                line.push_str(&format!(": recreated with the live {carry_over}"));
            }
            if !p.confirmed {
                line.push_str(" (outcome unknown)");
            }
            line
        })
        .collect();
    let service = drift.as_ref().map_or(plan.service.as_str(), |d| d.service.as_str());
    RollbackPlan {
        migration_id: plan.migration_id.clone(),
        cluster: plan.cluster.clone(),
        service: plan.service.clone(),
        status,
        undo,
        refusal: refusal(in_flight, service, force),
        deployments_in_flight: in_flight.deployments.clone(),
        drift: drift.filter(|d| !d.is_empty()),
        carry_over,
    }
}

impl fmt::Display for RollbackPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.undo.is_empty() {
            return writeln!(f, "Rollback: nothing to undo.");
        }
        writeln!(f, "Rollback of migration {} ({}/{}), newest change first:", self.migration_id, self.cluster, self.service)?;
        for u in &self.undo {
            writeln!(f, "  <- undo {u}")?;
        }
        if let Some(d) = &self.drift {
            writeln!(f, "Changed on service {} since the migration:", d.service)?;
            if let Some(c) = &d.controller {
                let live = c.live.as_deref().map_or_else(|| "gone".to_owned(), |l| format!("controller {l}"));
                writeln!(f, "  ! it is {live}, not the {} service the migration left: nothing is carried over from it", c.left.as_deref().unwrap_or("?"))?;
            }
            let kept = if d.controller.is_none() { "kept" } else { "not kept" };
            if let Some(c) = &d.desired_count {
                writeln!(f, "  ~ desired count {} -> {} ({kept} by the restored service)", c.left, c.live)?;
            }
            if let Some(c) = &d.task_definition {
                let show = |t: &Option<String>| t.clone().unwrap_or_else(|| "none".into());
                writeln!(f, "  ~ task definition {} -> {} ({kept} by the restored service)", show(&c.left), show(&c.live))?;
            }
        }
        match &self.refusal {
            Some(r) => writeln!(f, "Refused: {}\n  fix: {}", r.problem, r.fix),
            None => writeln!(f, "Rollback: {} change(s) to undo.", self.undo.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(desired: i32, taskdef: &str, controller: &str) -> ServiceDefinition {
        ServiceDefinition {
            name: "web".into(),
            status: "ACTIVE".into(),
            deployment_controller: controller.into(),
            task_definition: Some(taskdef.into()),
            desired_count: desired,
            ..ServiceDefinition::default()
        }
    }

    #[test]
    fn a_scaled_service_carries_its_desired_count_over() {
        let d = compare(&service(2, "web:1", CODE_DEPLOY), Some(&service(6, "web:1", CODE_DEPLOY)));
        assert_eq!(d.desired_count, Some(Changed { left: 2, live: 6 }));
        assert_eq!((d.task_definition.clone(), d.controller.clone()), (None, None));
        assert_eq!(d.carry_over(), CarryOver { desired_count: Some(6), task_definition: None });
    }

    #[test]
    fn a_new_task_definition_is_carried_over() {
        let d = compare(&service(2, "web:1", CODE_DEPLOY), Some(&service(2, "web:3", CODE_DEPLOY)));
        assert_eq!(d.carry_over(), CarryOver { desired_count: None, task_definition: Some("web:3".into()) });
        let restored = restored(&service(2, "web:1", "ECS"), &d.carry_over());
        assert_eq!((restored.desired_count, restored.task_definition.as_deref()), (2, Some("web:3")));
        assert_eq!(restored.deployment_controller, "ECS", "only count and task definition are carried");
    }

    #[test]
    fn an_unchanged_service_carries_nothing() {
        let d = compare(&service(2, "web:1", CODE_DEPLOY), Some(&service(2, "web:1", CODE_DEPLOY)));
        assert!(d.is_empty());
        assert!(d.carry_over().is_empty());
    }

    #[test]
    fn a_replaced_or_missing_service_carries_nothing() {
        let replaced = compare(&service(2, "web:1", CODE_DEPLOY), Some(&service(6, "web:2", "ECS")));
        assert_eq!(replaced.controller, Some(Changed { left: Some(CODE_DEPLOY.into()), live: Some("ECS".into()) }));
        assert!(replaced.carry_over().is_empty());
        let mut inactive = service(6, "web:1", CODE_DEPLOY);
        inactive.status = "INACTIVE".into();
        for live in [None, Some(&inactive)] {
            let gone = compare(&service(2, "web:1", CODE_DEPLOY), live);
            assert_eq!(gone.controller.as_ref().map(|c| c.live.clone()), Some(None));
            assert!(gone.desired_count.is_none() && gone.carry_over().is_empty());
        }
    }

    #[test]
    fn carry_over_reaches_only_services_the_cutover_deleted() {
        let carry = CarryOver { desired_count: Some(6), task_definition: None };
        let deleted = Effect::ServiceDeleted { cluster: "prod".into(), definition: Box::new(service(2, "web:1", "ECS")) };
        let Effect::ServiceDeleted { definition, .. } = carried(&StepId::ServiceCutover, &deleted, &carry) else { panic!() };
        assert_eq!(definition.desired_count, 6);
        assert_eq!(carried(&StepId::Application, &deleted, &carry), deleted, "another step's effect is left alone");
        let created = Effect::ServiceCreated { cluster: "prod".into(), name: "web".into(), controller: CODE_DEPLOY.into() };
        assert_eq!(carried(&StepId::ServiceCutover, &created, &carry), created);
    }

    #[test]
    fn a_deployment_in_flight_refuses_unless_forced() {
        let busy = InFlight { group: Some(("prod-web".into(), "web-bluegreen".into())), deployments: vec!["d-1".into()], task_sets: 1 };
        let r = refusal(&busy, "web", false).expect("refused");
        assert_eq!(r.kind, RefusalKind::DeploymentInFlight);
        assert!(r.problem.contains("d-1") && r.problem.contains("prod-web/web-bluegreen"), "{}", r.problem);
        assert!(r.fix.contains("--force") && r.fix.contains("stop-deployment --deployment-id d-1"), "{}", r.fix);
        assert!(refusal(&busy, "web", true).is_none());
        let shifting = InFlight { task_sets: 2, ..InFlight::default() };
        assert!(refusal(&shifting, "web", false).unwrap().problem.contains("2 task sets"));
        assert!(refusal(&InFlight { task_sets: 1, ..InFlight::default() }, "web", false).is_none());
    }
}
