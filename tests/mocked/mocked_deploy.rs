//! `deploy::first_deployment` on mocked clients: a migrated `prod/web` (CODE_DEPLOY) behind
//! deployment group `prod-web/web-bluegreen`, with scripted CodeDeploy status progressions.
//!
//! Time is paused, so polling and deadlines are virtual.

use crate::support;
use crate::mocks;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_codedeploy::operation::batch_get_deployment_targets::BatchGetDeploymentTargetsOutput;
use aws_sdk_codedeploy::operation::create_deployment::{CreateDeploymentInput, CreateDeploymentOutput};
use aws_sdk_codedeploy::operation::get_deployment::{GetDeploymentError, GetDeploymentOutput};
use aws_sdk_codedeploy::operation::get_deployment_group::{GetDeploymentGroupError, GetDeploymentGroupOutput};
use aws_sdk_codedeploy::operation::list_deployment_targets::ListDeploymentTargetsOutput;
use aws_sdk_codedeploy::operation::list_deployments::ListDeploymentsOutput;
use aws_sdk_codedeploy::operation::stop_deployment::StopDeploymentOutput;
use aws_sdk_codedeploy::types::error::DeploymentGroupDoesNotExistException;
use aws_sdk_codedeploy::types::{
    DeploymentGroupInfo, DeploymentInfo, DeploymentStatus, DeploymentTarget, DeploymentTargetType, EcsService,
    EcsTarget, EcsTaskSet, ErrorCode, ErrorInformation, LifecycleEvent, LifecycleEventStatus, RevisionLocationType,
    RollbackInfo, StopStatus, TargetLabel,
};
use aws_sdk_ecs::operation::describe_services::DescribeServicesOutput;
use aws_smithy_mocks::{Rule, mock};
use ecs_bluegreen::deploy::{self, DeployEvent, DeployOptions, DeployRequest, DeploymentOutcome};
use ecs_bluegreen::wait::WaitPolicy;
use ecs_bluegreen::{CallRecorder, Error, ErrorKind};
use aws_smithy_types::retry::RetryConfig;
use mocks::Rules;
use support::sample::*;

const DEPLOYMENT_ID: &str = "d-7QXK2M9AB";
const ROLLBACK_ID: &str = "d-R0LLBACK1";

fn request() -> DeployRequest {
    DeployRequest::for_migration(&support::sample::migration()).unwrap()
}

/// Polls every 5 s at first, 15 s at most, for 10 minutes.
fn options() -> DeployOptions {
    DeployOptions::builder()
        .wait(WaitPolicy {
            deadline: Duration::from_secs(600),
            initial_delay: Duration::from_secs(5),
            max_delay: Duration::from_secs(15),
        })
        .build()
}

/// `prod/web` after the migration: CODE_DEPLOY, one load balancer entry (web:80), awsvpc.
fn describe_services() -> Rule {
    use aws_sdk_ecs::types::{
        AssignPublicIp, AwsVpcConfiguration, DeploymentController, DeploymentControllerType, LoadBalancer,
        NetworkConfiguration, Service,
    };
    mock!(aws_sdk_ecs::Client::describe_services).then_output(|| {
        let svc = Service::builder()
            .service_name(SERVICE)
            .service_arn(SERVICE_ARN)
            .cluster_arn(CLUSTER_ARN)
            .status("ACTIVE")
            .deployment_controller(DeploymentController::builder().r#type(DeploymentControllerType::CodeDeploy).build().unwrap())
            .task_definition(TASK_DEFINITION_ARN)
            .desired_count(2)
            .running_count(2)
            .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
            .platform_version("LATEST")
            .load_balancers(
                LoadBalancer::builder().target_group_arn(BLUE_TG_ARN).container_name("web").container_port(80).build(),
            )
            .network_configuration(
                NetworkConfiguration::builder()
                    .awsvpc_configuration(
                        AwsVpcConfiguration::builder()
                            .subnets("subnet-0b1c2d3e4f5061728")
                            .security_groups("sg-0d3e4f5061728a9b0")
                            .assign_public_ip(AssignPublicIp::Disabled)
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .build();
        DescribeServicesOutput::builder().services(svc).build()
    })
}

fn get_deployment_group() -> Rule {
    mock!(aws_sdk_codedeploy::Client::get_deployment_group).then_output(|| {
        GetDeploymentGroupOutput::builder()
            .deployment_group_info(
                DeploymentGroupInfo::builder()
                    .application_name(APPLICATION)
                    .deployment_group_name(DEPLOYMENT_GROUP)
                    .ecs_services(EcsService::builder().cluster_name(CLUSTER).service_name(SERVICE).build())
                    .build(),
            )
            .build()
    })
}

fn no_active_deployments() -> Rule {
    mock!(aws_sdk_codedeploy::Client::list_deployments).then_output(|| ListDeploymentsOutput::builder().build())
}

/// CreateDeployment that keeps its input for the test to inspect.
fn create_deployment(seen: Arc<Mutex<Option<CreateDeploymentInput>>>) -> Rule {
    mock!(aws_sdk_codedeploy::Client::create_deployment).then_compute_output(move |input| {
        *seen.lock().unwrap() = Some(input.clone());
        CreateDeploymentOutput::builder().deployment_id(DEPLOYMENT_ID).build()
    })
}

fn info(status: DeploymentStatus) -> DeploymentInfo {
    DeploymentInfo::builder()
        .deployment_id(DEPLOYMENT_ID)
        .application_name(APPLICATION)
        .deployment_group_name(DEPLOYMENT_GROUP)
        .status(status)
        .build()
}

fn got(info: DeploymentInfo) -> GetDeploymentOutput {
    GetDeploymentOutput::builder().deployment_info(info).build()
}

/// GetDeployment answering `statuses` in turn, the last one for every later poll.
fn get_deployment(statuses: &[DeploymentStatus]) -> Rule {
    let mut seq = mock!(aws_sdk_codedeploy::Client::get_deployment).sequence();
    for s in statuses {
        let s = s.clone();
        seq = seq.output(move || got(info(s.clone())));
    }
    seq.repeatedly().build()
}

fn list_targets() -> Rule {
    mock!(aws_sdk_codedeploy::Client::list_deployment_targets)
        .then_output(|| ListDeploymentTargetsOutput::builder().target_ids(format!("{CLUSTER}:{SERVICE}")).build())
}

fn target(events: &[(&str, LifecycleEventStatus)], green_weight: f64) -> BatchGetDeploymentTargetsOutput {
    let mut t = EcsTarget::builder().deployment_id(DEPLOYMENT_ID).target_id(format!("{CLUSTER}:{SERVICE}"));
    for (name, status) in events {
        t = t.lifecycle_events(LifecycleEvent::builder().lifecycle_event_name(*name).status(status.clone()).build());
    }
    t = t
        .task_sets_info(EcsTaskSet::builder().task_set_label(TargetLabel::Blue).traffic_weight(100.0 - green_weight).build())
        .task_sets_info(EcsTaskSet::builder().task_set_label(TargetLabel::Green).traffic_weight(green_weight).build());
    BatchGetDeploymentTargetsOutput::builder()
        .deployment_targets(
            DeploymentTarget::builder().deployment_target_type(DeploymentTargetType::EcsTarget).ecs_target(t.build()).build(),
        )
        .build()
}

/// The happy rules; `extra` goes in front (first match wins).
fn rules(extra: Rules, statuses: &[DeploymentStatus], seen: Arc<Mutex<Option<CreateDeploymentInput>>>) -> Rules {
    use LifecycleEventStatus::{InProgress, Pending, Succeeded};
    let targets = mock!(aws_sdk_codedeploy::Client::batch_get_deployment_targets)
        .sequence()
        .output(|| target(&[("BeforeInstall", Succeeded), ("Install", InProgress), ("AllowTraffic", Pending)], 0.0))
        .output(|| target(&[("BeforeInstall", Succeeded), ("Install", Succeeded), ("AllowTraffic", Succeeded)], 100.0))
        .repeatedly()
        .build();
    // Rules in `extra` answer GetDeployment in their tests; this one is only a fallback.
    let statuses = if statuses.is_empty() { vec![DeploymentStatus::Succeeded] } else { statuses.to_vec() };
    extra.then([
        describe_services(),
        get_deployment_group(),
        no_active_deployments(),
        create_deployment(seen),
        get_deployment(&statuses),
        list_targets(),
        targets,
    ])
}

type Events = Arc<Mutex<Vec<DeployEvent>>>;

async fn run(
    rules: &Rules,
    opts: &DeployOptions,
) -> (ecs_bluegreen::Result<deploy::DeploymentReport>, CallRecorder, Vec<DeployEvent>) {
    let recorder = CallRecorder::new();
    let aws = mocks::clients(rules, &recorder, RetryConfig::disabled());
    let events: Events = Arc::default();
    let sink = events.clone();
    let r = deploy::first_deployment(&aws, &request(), opts, move |e| sink.lock().unwrap().push(e.clone())).await;
    let events = events.lock().unwrap().clone();
    (r, recorder, events)
}

fn statuses(events: &[DeployEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            DeployEvent::Status { status } => Some(status.clone()),
            _ => None,
        })
        .collect()
}

fn operations(recorder: &CallRecorder) -> Vec<String> {
    recorder.calls().into_iter().map(|c| c.operation).collect()
}

fn mutating(recorder: &CallRecorder) -> Vec<String> {
    recorder.mutating_calls().into_iter().map(|c| c.operation).collect()
}

#[tokio::test(start_paused = true)]
async fn created_in_progress_succeeded() {
    use DeploymentStatus::{Created, InProgress, Succeeded};
    let seen = Arc::new(Mutex::new(None));
    let rules = rules(Rules::default(), &[Created, InProgress, Succeeded], seen.clone());

    let (report, recorder, events) = run(&rules, &options()).await;
    let report = report.unwrap();

    assert_eq!(report.outcome, DeploymentOutcome::Succeeded);
    assert!(report.succeeded());
    assert_eq!(report.deployment_id, DEPLOYMENT_ID);
    assert_eq!((report.cluster.as_str(), report.service.as_str()), (CLUSTER, SERVICE));
    assert_eq!(report.task_definition, TASK_DEFINITION_ARN);
    assert_eq!(report.status, "Succeeded");
    assert_eq!(report.error, None);
    assert_eq!(report.rollback, None);
    assert_eq!(report.green_traffic_percent, Some(100.0));
    let lifecycle: Vec<(&str, &str)> =
        report.lifecycle_events.iter().map(|e| (e.name.as_str(), e.status.as_str())).collect();
    assert_eq!(lifecycle, [("BeforeInstall", "Succeeded"), ("Install", "Succeeded"), ("AllowTraffic", "Succeeded")]);

    // Progress, in order.
    assert_eq!(events.first(), Some(&DeployEvent::Created { deployment_id: DEPLOYMENT_ID.into() }));
    assert_eq!(statuses(&events), ["Created", "InProgress", "Succeeded"]);
    let pos = |want: &DeployEvent| events.iter().position(|e| e == want).unwrap_or_else(|| panic!("{want:?} in {events:?}"));
    let in_progress = pos(&DeployEvent::Status { status: "InProgress".into() });
    let install_running = pos(&DeployEvent::LifecycleEvent { name: "Install".into(), status: "InProgress".into() });
    let install_done = pos(&DeployEvent::LifecycleEvent { name: "Install".into(), status: "Succeeded".into() });
    let shifted = pos(&DeployEvent::TrafficShifted { green_percent: 100.0 });
    let succeeded = pos(&DeployEvent::Status { status: "Succeeded".into() });
    assert!(in_progress < install_running && install_running < install_done && install_done < succeeded, "{events:?}");
    assert!(shifted > in_progress, "{events:?}");
    assert!(events.contains(&DeployEvent::TrafficShifted { green_percent: 0.0 }));

    // Read-only before CreateDeployment; exactly one mutating call.
    assert_eq!(mutating(&recorder), ["CreateDeployment"]);
    let ops = operations(&recorder);
    let create_at = ops.iter().position(|o| o == "CreateDeployment").unwrap();
    assert_eq!(ops[0], "GetDeploymentGroup");
    assert!(ops[..create_at].contains(&"ListDeployments".to_owned()) && ops[..create_at].contains(&"DescribeServices".to_owned()));
    assert_eq!(ops.iter().filter(|o| *o == "GetDeployment").count(), 3);
    assert_eq!(ops.iter().filter(|o| *o == "ListDeploymentTargets").count(), 1, "the target id is read once");

    // The revision: AppSpecContent naming the live task definition, container and port; its SHA-256.
    let input = seen.lock().unwrap().clone().expect("CreateDeployment was called");
    assert_eq!(input.application_name(), Some(APPLICATION));
    assert_eq!(input.deployment_group_name(), Some(DEPLOYMENT_GROUP));
    assert!(input.description().is_some_and(|d| d.contains(TASK_DEFINITION_ARN)));
    let revision = input.revision().unwrap();
    assert_eq!(revision.revision_type(), Some(&RevisionLocationType::AppSpecContent));
    let spec = revision.app_spec_content().unwrap();
    let content = spec.content().unwrap();
    assert!(content.contains(&format!("TaskDefinition: \"{TASK_DEFINITION_ARN}\"")), "{content}");
    assert!(content.contains("ContainerName: \"web\"") && content.contains("ContainerPort: 80\n"), "{content}");
    assert!(content.contains("- \"subnet-0b1c2d3e4f5061728\"") && content.contains("AssignPublicIp: \"DISABLED\""), "{content}");
    assert!(!content.contains("<TASK_DEFINITION>"));
    let sha256: String = {
        use sha2::Digest;
        sha2::Sha256::digest(content.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
    };
    assert_eq!(spec.sha256(), Some(sha256.as_str()));
    assert_eq!(report.appspec_sha256, sha256);
}

#[tokio::test(start_paused = true)]
async fn failed_with_automatic_rollback_reports_codedeploys_error() {
    use DeploymentStatus::{Created, InProgress};
    let failed = mock!(aws_sdk_codedeploy::Client::get_deployment)
        .sequence()
        .output(|| got(info(Created)))
        .output(|| got(info(InProgress)))
        .output(|| {
            let mut i = info(DeploymentStatus::Failed);
            i.error_information = Some(
                ErrorInformation::builder()
                    .code(ErrorCode::EcsUpdateError)
                    .message("The ECS service cannot be updated due to an unexpected error: health checks failed")
                    .build(),
            );
            i.rollback_info = Some(
                RollbackInfo::builder()
                    .rollback_deployment_id(ROLLBACK_ID)
                    .rollback_message("Automatic rollback triggered: deployment failure")
                    .build(),
            );
            i.deployment_status_messages = Some(vec!["Deployment failed: health checks failed".into()]);
            got(i)
        })
        .build();
    let extra = Rules::of([failed.clone()]);
    let rules = rules(extra, &[], Arc::default());

    let (report, recorder, events) = run(&rules, &options()).await;
    let report = report.unwrap();

    assert_eq!(report.outcome, DeploymentOutcome::Failed);
    assert!(!report.succeeded());
    let error = report.error.clone().unwrap();
    assert_eq!(error.code.as_deref(), Some("ECS_UPDATE_ERROR"));
    assert!(error.message.unwrap().contains("health checks failed"));
    let rollback = report.rollback.clone().unwrap();
    assert_eq!(rollback.deployment_id.as_deref(), Some(ROLLBACK_ID));
    assert_eq!(rollback.message.as_deref(), Some("Automatic rollback triggered: deployment failure"));
    assert_eq!(report.status_messages, ["Deployment failed: health checks failed"]);
    assert!(events.contains(&DeployEvent::StatusMessage { message: "Deployment failed: health checks failed".into() }));
    assert_eq!(statuses(&events), ["Created", "InProgress", "Failed"]);
    assert!(failed.is_exhausted());
    assert_eq!(mutating(&recorder), ["CreateDeployment"], "the rollback is CodeDeploy's, not ours");
    let text = report.to_string();
    assert!(text.contains("failed: ECS_UPDATE_ERROR") && text.contains(ROLLBACK_ID), "{text}");
}

#[tokio::test(start_paused = true)]
async fn stopped_is_reported_with_its_reason() {
    use DeploymentStatus::{InProgress, Stopped};
    let stopped = mock!(aws_sdk_codedeploy::Client::get_deployment)
        .sequence()
        .output(|| got(info(InProgress)))
        .output(|| {
            let mut i = info(Stopped);
            i.error_information = Some(
                ErrorInformation::builder()
                    .code(ErrorCode::ManualStop)
                    .message("The deployment was stopped by a user")
                    .build(),
            );
            got(i)
        })
        .build();
    let rules = rules(Rules::of([stopped]), &[], Arc::default());

    let (report, recorder, events) = run(&rules, &options()).await;
    let report = report.unwrap();

    assert_eq!(report.outcome, DeploymentOutcome::Stopped);
    assert_eq!(report.error.as_ref().and_then(|e| e.code.as_deref()), Some("MANUAL_STOP"));
    assert_eq!(report.rollback, None);
    assert!(report.to_string().contains("stopped: MANUAL_STOP: The deployment was stopped by a user"));
    assert_eq!(statuses(&events), ["InProgress", "Stopped"]);
    assert_eq!(mutating(&recorder), ["CreateDeployment"]);
}

#[tokio::test(start_paused = true)]
async fn ready_and_baking_are_waited_through() {
    use DeploymentStatus::{Baking, Created, InProgress, Ready, Succeeded};
    let rules = rules(Rules::default(), &[Created, InProgress, Ready, Ready, Baking, Succeeded], Arc::default());

    let (report, recorder, events) = run(&rules, &options()).await;

    assert_eq!(report.unwrap().outcome, DeploymentOutcome::Succeeded);
    assert_eq!(statuses(&events), ["Created", "InProgress", "Ready", "Baking", "Succeeded"], "one event per change");
    assert_eq!(operations(&recorder).iter().filter(|o| *o == "GetDeployment").count(), 6);
}

#[tokio::test(start_paused = true)]
async fn deadline_reached_names_the_deployment_and_leaves_it_running() {
    use DeploymentStatus::InProgress;
    let rules = rules(Rules::default(), &[InProgress], Arc::default());
    let start = tokio::time::Instant::now();

    let (report, recorder, events) = run(&rules, &options()).await;
    let report = report.unwrap();

    assert_eq!(report.outcome, DeploymentOutcome::DeadlineReached);
    assert_eq!(report.deployment_id, DEPLOYMENT_ID);
    assert_eq!(report.status, "InProgress");
    assert_eq!(report.stop, None);
    assert!(start.elapsed() >= Duration::from_secs(600) && start.elapsed() < Duration::from_secs(620));
    let text = report.to_string();
    assert!(text.contains(DEPLOYMENT_ID) && text.contains("still InProgress") && text.contains("left running"), "{text}");
    assert_eq!(mutating(&recorder), ["CreateDeployment"], "no StopDeployment unless asked");
    assert!(!events.iter().any(|e| matches!(e, DeployEvent::StopRequested { .. })));
}

#[tokio::test(start_paused = true)]
async fn stop_on_deadline_stops_with_rollback() {
    use DeploymentStatus::InProgress;
    let stop_input = Arc::new(Mutex::new(None));
    let seen = stop_input.clone();
    let stop = mock!(aws_sdk_codedeploy::Client::stop_deployment).then_compute_output(move |input| {
        *seen.lock().unwrap() = Some(input.clone());
        StopDeploymentOutput::builder().status(StopStatus::Pending).status_message("Stopping; rolling back").build()
    });
    // Production traffic is still on the original task set: the stop rolls back nothing good.
    let not_shifted = mock!(aws_sdk_codedeploy::Client::batch_get_deployment_targets)
        .then_output(|| target(&[("Install", LifecycleEventStatus::Succeeded), ("AllowTraffic", LifecycleEventStatus::Pending)], 0.0));
    let rules = rules(Rules::of([stop, not_shifted]), &[InProgress], Arc::default());
    let mut opts = options();
    opts.stop_on_deadline = true;

    let (report, recorder, events) = run(&rules, &opts).await;
    let report = report.unwrap();

    assert_eq!(report.outcome, DeploymentOutcome::DeadlineReached);
    let stop = report.stop.clone().unwrap();
    assert_eq!(stop.status.as_deref(), Some("Pending"));
    assert_eq!(stop.message.as_deref(), Some("Stopping; rolling back"));
    let input = stop_input.lock().unwrap().clone().expect("StopDeployment was called");
    assert_eq!(input.deployment_id(), Some(DEPLOYMENT_ID));
    assert_eq!(input.auto_rollback_enabled(), Some(true));
    assert_eq!(mutating(&recorder), ["CreateDeployment", "StopDeployment"]);
    assert_eq!(events.last(), Some(&DeployEvent::StopRequested { deployment_id: DEPLOYMENT_ID.into() }));
    assert!(report.to_string().contains("stop requested with rollback"));
}

#[tokio::test(start_paused = true)]
async fn throttling_while_polling_is_survived() {
    use DeploymentStatus::{InProgress, Succeeded};
    let throttled = || GetDeploymentError::generic(mocks::meta("ThrottlingException", "Rate exceeded"));
    let polls = mock!(aws_sdk_codedeploy::Client::get_deployment)
        .sequence()
        .output(move || got(info(InProgress)))
        .error(throttled)
        .times(3)
        .output(move || got(info(Succeeded)))
        .build();
    let rules = rules(Rules::of([polls.clone()]), &[], Arc::default());

    let (report, recorder, events) = run(&rules, &options()).await;

    assert_eq!(report.unwrap().outcome, DeploymentOutcome::Succeeded);
    assert!(polls.is_exhausted());
    assert_eq!(polls.num_calls(), 5);
    let throttles = events.iter().filter(|e| matches!(e, DeployEvent::Throttled { .. })).count();
    assert_eq!(throttles, 3);
    assert_eq!(statuses(&events), ["InProgress", "Succeeded"]);
    assert_eq!(mutating(&recorder), ["CreateDeployment"]);
}

#[tokio::test(start_paused = true)]
async fn refuses_while_another_deployment_is_active() {
    let active_input = Arc::new(Mutex::new(None));
    let seen_list = active_input.clone();
    let active = mock!(aws_sdk_codedeploy::Client::list_deployments).then_compute_output(move |input| {
        *seen_list.lock().unwrap() = Some(input.clone());
        ListDeploymentsOutput::builder().deployments("d-INFLIGHT1").build()
    });
    let seen = Arc::new(Mutex::new(None));
    let rules = rules(Rules::of([active]), &[], seen.clone());

    let (result, recorder, events) = run(&rules, &options()).await;

    let err = result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    let Error::DeployRefused(refused) = &err else { panic!("expected DeployRefused, got {err:?}") };
    assert_eq!(refused.active_deployment_id(), Some("d-INFLIGHT1"));
    assert!(err.to_string().contains("deployment d-INFLIGHT1 is still active in deployment group prod-web/web-bluegreen"), "{err}");
    assert!(seen.lock().unwrap().is_none(), "no CreateDeployment");
    assert!(recorder.mutating_calls().is_empty());
    assert!(events.is_empty());
    // The check asked for exactly the statuses that block a new deployment.
    let input = active_input.lock().unwrap().clone().unwrap();
    let asked: Vec<&str> = input.include_only_statuses().iter().map(|s| s.as_str()).collect();
    assert_eq!(asked, ["Created", "Queued", "InProgress", "Baking", "Ready"]);
    assert_eq!(input.application_name(), Some(APPLICATION));
    assert_eq!(input.deployment_group_name(), Some(DEPLOYMENT_GROUP));
}

#[tokio::test(start_paused = true)]
async fn a_missing_deployment_group_is_refused_clearly() {
    let missing = mock!(aws_sdk_codedeploy::Client::get_deployment_group).then_error(|| {
        modeled!(
            GetDeploymentGroupError::DeploymentGroupDoesNotExistException,
            DeploymentGroupDoesNotExistException,
            "DeploymentGroupDoesNotExistException",
            "No Deployment Group found for name: web-bluegreen"
        )
    });
    let rules = rules(Rules::of([missing]), &[], Arc::default());

    let (result, recorder, _) = run(&rules, &options()).await;

    let err = result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(matches!(err, Error::DeployRefused(_)), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("deployment group prod-web/web-bluegreen does not exist") && text.contains("migrate apply"), "{text}");
    assert_eq!(operations(&recorder), ["GetDeploymentGroup"]);
}

#[tokio::test(start_paused = true)]
async fn a_service_still_on_the_ecs_controller_is_refused() {
    use aws_sdk_ecs::types::Service;
    let rolling = mock!(aws_sdk_ecs::Client::describe_services).then_output(|| {
        DescribeServicesOutput::builder()
            .services(Service::builder().service_name(SERVICE).status("ACTIVE").task_definition(TASK_DEFINITION_ARN).build())
            .build()
    });
    let rules = rules(Rules::of([rolling]), &[], Arc::default());

    let (result, recorder, _) = run(&rules, &options()).await;

    let err = result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("uses the ECS deployment controller, not CODE_DEPLOY"), "{err}");
    assert!(recorder.mutating_calls().is_empty());
}
