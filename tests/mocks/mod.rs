//! Mocked-SDK harness for the `tests/mocked_*.rs` tests (`mod support; mod mocks;`).
//!
//! * [`client!`] builds one SDK client on `aws-smithy-mocks` rules *without* the SDK crates'
//!   `test-util` feature (which this crate's dev-dependencies do not enable): it replicates what
//!   `mock_client!` expands to, with explicit behavior version, region and static credentials
//!   instead of `with_test_defaults_v2()`.
//! * [`World`] is a small stateful fake of the account the sample migration runs in
//!   (`tests/support/sample.rs`): ECS services, ELBv2 target groups/listeners and their tags,
//!   the IAM role, the CodeDeploy application and deployment group, the pipeline. Every
//!   operation the migration (and its rollback) makes is one `MatchAny` rule whose reply is
//!   computed from, and updates, that state. Tests put fault rules *in front of* the fake's
//!   rules ([`Rules`]): in `MatchAny` mode the first matching, non-exhausted rule answers.
//!
//! Modeled errors carry `ErrorMetadata` with the AWS error code, because the library (like
//! the SDK's retry classifier) classifies errors by code.
#![allow(dead_code)] // each test binary uses a different subset

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use aws_smithy_mocks::{MockResponse, Rule, mock};
use aws_smithy_types::error::ErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use ecs_bluegreen::inventory::PipelineInfo;
use ecs_bluegreen::{AwsClients, CallRecorder};

use crate::support::sample;

/// Error metadata with an AWS error code and message.
pub fn meta(code: &str, message: &str) -> ErrorMetadata {
    ErrorMetadata::builder().code(code).message(message).build()
}

/// A modeled error: `modeled!(OpError::Variant, ExceptionType, "Code", "message")`.
/// (Test files declare `#[macro_use] mod mocks;` to use the macros.)
macro_rules! modeled {
    ($variant:path, $exc:ident, $code:expr, $msg:expr) => {
        $variant($exc::builder().message($msg).meta($crate::mocks::meta($code, $msg)).build())
    };
}

/// One SDK client answering from `rules` (`MatchAny`; an unmatched request panics), with the
/// call `recorder` and `retry` config. No HTTP leaves the process.
macro_rules! client {
    ($krate:ident, $rules:expr, $recorder:expr, $retry:expr) => {{
        let mut interceptor =
            aws_smithy_mocks::MockResponseInterceptor::new().rule_mode(aws_smithy_mocks::RuleMode::MatchAny);
        for rule in $rules {
            interceptor = interceptor.with_rule(rule);
        }
        let conf = $krate::Config::builder()
            .behavior_version($krate::config::BehaviorVersion::latest())
            .region($krate::config::Region::new(crate::support::sample::REGION))
            .credentials_provider($krate::config::Credentials::new("AKIDMOCKED", "mocked-secret", None, None, "mocks"))
            .http_client(aws_smithy_mocks::create_mock_http_client())
            .interceptor(interceptor)
            .interceptor($recorder.clone())
            .retry_config($retry)
            .build();
        $krate::Client::from_conf(conf)
    }};
    ($krate:ident, $rules:expr, $recorder:expr, $retry:expr, $extra:expr) => {{
        let mut interceptor =
            aws_smithy_mocks::MockResponseInterceptor::new().rule_mode(aws_smithy_mocks::RuleMode::MatchAny);
        for rule in $rules {
            interceptor = interceptor.with_rule(rule);
        }
        let conf = $krate::Config::builder()
            .behavior_version($krate::config::BehaviorVersion::latest())
            .region($krate::config::Region::new(crate::support::sample::REGION))
            .credentials_provider($krate::config::Credentials::new("AKIDMOCKED", "mocked-secret", None, None, "mocks"))
            .http_client(aws_smithy_mocks::create_mock_http_client())
            .interceptor(interceptor)
            .interceptor($recorder.clone())
            .interceptor($extra.clone())
            .retry_config($retry)
            .build();
        $krate::Client::from_conf(conf)
    }};
}

/// Rules per service client, in match order.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    pub ecs: Vec<Rule>,
    pub elbv2: Vec<Rule>,
    pub codedeploy: Vec<Rule>,
    pub codepipeline: Vec<Rule>,
    pub iam: Vec<Rule>,
}

impl Rules {
    /// `self`'s rules first, then `then`'s.
    pub fn then(&self, then: &Rules) -> Rules {
        let cat = |a: &Vec<Rule>, b: &Vec<Rule>| a.iter().chain(b).cloned().collect();
        Rules {
            ecs: cat(&self.ecs, &then.ecs),
            elbv2: cat(&self.elbv2, &then.elbv2),
            codedeploy: cat(&self.codedeploy, &then.codedeploy),
            codepipeline: cat(&self.codepipeline, &then.codepipeline),
            iam: cat(&self.iam, &then.iam),
        }
    }
}

/// Retry settings per client.
#[derive(Debug, Clone)]
pub struct Retries {
    pub ecs: RetryConfig,
    pub elbv2: RetryConfig,
    pub codedeploy: RetryConfig,
    pub codepipeline: RetryConfig,
    pub iam: RetryConfig,
}

impl Retries {
    /// SDK retries off everywhere (error-path tests).
    pub fn disabled() -> Self {
        Self::all(RetryConfig::disabled())
    }
    /// The same config for every client.
    pub fn all(c: RetryConfig) -> Self {
        Self { ecs: c.clone(), elbv2: c.clone(), codedeploy: c.clone(), codepipeline: c.clone(), iam: c }
    }
}

/// The five mocked clients, all recording into `recorder`.
pub fn clients(rules: &Rules, recorder: &CallRecorder, retries: &Retries) -> AwsClients {
    AwsClients::from_clients(
        client!(aws_sdk_ecs, &rules.ecs, recorder, retries.ecs.clone()),
        client!(aws_sdk_elasticloadbalancingv2, &rules.elbv2, recorder, retries.elbv2.clone()),
        client!(aws_sdk_codedeploy, &rules.codedeploy, recorder, retries.codedeploy.clone()),
        client!(aws_sdk_codepipeline, &rules.codepipeline, recorder, retries.codepipeline.clone()),
        client!(aws_sdk_iam, &rules.iam, recorder, retries.iam.clone()),
    )
}

// ---------------------------------------------------------------------------------------------
// The fake account
// ---------------------------------------------------------------------------------------------

/// An ECS service in the fake.
#[derive(Debug, Clone)]
pub struct FakeService {
    pub status: String,
    pub controller: String,
    pub desired: i32,
    pub running: i32,
    pub tags: Vec<(String, String)>,
}

/// A target group in the fake.
#[derive(Debug, Clone)]
pub struct FakeTargetGroup {
    pub name: String,
    pub tags: BTreeMap<String, String>,
    pub attributes: BTreeMap<String, String>,
}

/// A listener in the fake.
#[derive(Debug, Clone)]
pub struct FakeListener {
    pub port: i32,
    pub protocol: String,
    pub forward_to: Vec<(String, i32)>,
    pub tags: BTreeMap<String, String>,
}

/// The IAM role in the fake.
#[derive(Debug, Clone)]
pub struct FakeRole {
    pub tags: Vec<(String, String)>,
    pub policies: Vec<String>,
}

/// Everything the fake account holds.
#[derive(Debug, Default)]
pub struct State {
    /// Services by name.
    pub services: BTreeMap<String, FakeService>,
    /// Every CreateService request, in order (accepted or not).
    pub create_service_inputs: Vec<aws_sdk_ecs::operation::create_service::CreateServiceInput>,
    /// Target groups by ARN.
    pub target_groups: BTreeMap<String, FakeTargetGroup>,
    /// Listeners by ARN.
    pub listeners: BTreeMap<String, FakeListener>,
    /// The role `sample::ROLE_NAME`, when it exists.
    pub role: Option<FakeRole>,
    /// Whether application `sample::APPLICATION` exists.
    pub application: bool,
    /// Its tags, as CreateApplication sent them.
    pub application_tags: Vec<(String, String)>,
    /// Whether deployment group `sample::DEPLOYMENT_GROUP` exists.
    pub deployment_group: bool,
    /// The pipeline `sample::PIPELINE`.
    pub pipeline: Option<aws_sdk_codepipeline::types::PipelineDeclaration>,
    /// Successful mutating operations, in order (`Op target`).
    pub log: Vec<String>,
}

/// The fake account plus one rule per operation (keyed by operation name).
#[derive(Clone)]
pub struct World {
    pub state: Arc<Mutex<State>>,
    pub rules: Rules,
    by_op: BTreeMap<&'static str, Rule>,
}

impl World {
    /// The account of `sample::inventory()`: service `web` (ECS controller, 2 tasks), the
    /// blue target group behind the HTTP:80 listener, the pipeline; nothing of the migration.
    pub fn sample() -> Self {
        let mut st = State::default();
        let svc = sample::service();
        st.services.insert(
            svc.name.clone(),
            FakeService {
                status: "ACTIVE".into(),
                controller: "ECS".into(),
                desired: svc.desired_count,
                running: svc.running_count,
                tags: svc.tags.clone().into_iter().collect(),
            },
        );
        let blue = sample::blue_target_group();
        st.target_groups.insert(
            blue.arn.clone(),
            FakeTargetGroup { name: blue.name.clone(), tags: blue.tags.clone(), attributes: blue.attributes.clone() },
        );
        st.listeners.insert(
            sample::PROD_LISTENER_ARN.into(),
            FakeListener {
                port: 80,
                protocol: "HTTP".into(),
                forward_to: vec![(sample::BLUE_TG_ARN.into(), 1)],
                tags: BTreeMap::new(),
            },
        );
        st.pipeline = Some(pipeline_declaration(&sample::pipeline()));
        let state = Arc::new(Mutex::new(st));
        let mut by_op = BTreeMap::new();
        let rules = Rules {
            ecs: ecs_rules(&state, &mut by_op),
            elbv2: elbv2_rules(&state, &mut by_op),
            codedeploy: codedeploy_rules(&state, &mut by_op),
            codepipeline: codepipeline_rules(&state, &mut by_op),
            iam: iam_rules(&state, &mut by_op),
        };
        World { state, rules, by_op }
    }

    /// The state, locked.
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("fake state poisoned")
    }

    /// Panics unless the account is back to how the sample inventory describes it. The
    /// pipeline's version is not compared: every update bumps it (AWS does too).
    pub fn assert_as_before(&self, context: &str) {
        use sample::{BLUE_TG_ARN, PROD_LISTENER_ARN, SERVICE};
        let st = self.state();
        for (name, svc) in &st.services {
            if name == SERVICE {
                assert_eq!((svc.status.as_str(), svc.controller.as_str()), ("ACTIVE", "ECS"), "{context}: service {name}");
            } else {
                assert_eq!(svc.status, "INACTIVE", "{context}: service {name} was left running");
            }
        }
        assert_eq!(st.target_groups.keys().collect::<Vec<_>>(), [BLUE_TG_ARN], "{context}: target groups left");
        assert_eq!(st.listeners.keys().collect::<Vec<_>>(), [PROD_LISTENER_ARN], "{context}: listeners left");
        assert_eq!(st.listeners[PROD_LISTENER_ARN].forward_to, [(BLUE_TG_ARN.to_owned(), 1)], "{context}");
        assert!(st.role.is_none(), "{context}: role left: {:?}", st.role);
        assert!(!st.application, "{context}: application left");
        assert!(!st.deployment_group, "{context}: deployment group left");
        let unversioned = |p: Option<aws_sdk_codepipeline::types::PipelineDeclaration>| {
            p.map(|mut p| {
                p.version = None;
                p
            })
        };
        assert_eq!(
            unversioned(st.pipeline.clone()),
            unversioned(Some(pipeline_declaration(&sample::pipeline()))),
            "{context}: pipeline changed"
        );
    }

    /// How often the fake answered `operation` (fault rules in front of it not counted).
    pub fn calls(&self, operation: &str) -> usize {
        self.by_op.get(operation).unwrap_or_else(|| panic!("the fake has no rule for {operation}")).num_calls()
    }

    /// Clients answering from the fake, with one more interceptor on every client (e.g. a
    /// fault injector); SDK retries off.
    pub fn clients_with<I>(&self, recorder: &CallRecorder, extra: &I) -> AwsClients
    where
        I: aws_smithy_runtime_api::client::interceptors::Intercept + Clone + 'static,
    {
        let r = Retries::disabled();
        AwsClients::from_clients(
            client!(aws_sdk_ecs, &self.rules.ecs, recorder, r.ecs.clone(), extra),
            client!(aws_sdk_elasticloadbalancingv2, &self.rules.elbv2, recorder, r.elbv2.clone(), extra),
            client!(aws_sdk_codedeploy, &self.rules.codedeploy, recorder, r.codedeploy.clone(), extra),
            client!(aws_sdk_codepipeline, &self.rules.codepipeline, recorder, r.codepipeline.clone(), extra),
            client!(aws_sdk_iam, &self.rules.iam, recorder, r.iam.clone(), extra),
        )
    }

    /// Clients answering from `faults` first, then from the fake.
    pub fn clients(&self, faults: &Rules, recorder: &CallRecorder, retries: &Retries) -> AwsClients {
        clients(&faults.then(&self.rules), recorder, retries)
    }
}

fn reg(by_op: &mut BTreeMap<&'static str, Rule>, op: &'static str, rule: Rule) -> Rule {
    by_op.insert(op, rule.clone());
    rule
}

fn lock(state: &Arc<Mutex<State>>) -> MutexGuard<'_, State> {
    state.lock().expect("fake state poisoned")
}

// ---- ECS -------------------------------------------------------------------------------------

fn sdk_service(name: &str, s: &FakeService) -> aws_sdk_ecs::types::Service {
    use aws_sdk_ecs::types::{DeploymentController, DeploymentControllerType, Service, Tag};
    Service::builder()
        .service_name(name)
        .service_arn(format!("arn:aws:ecs:{}:{}:service/{}/{name}", sample::REGION, sample::ACCOUNT, sample::CLUSTER))
        .cluster_arn(sample::CLUSTER_ARN)
        .status(&s.status)
        .desired_count(s.desired)
        .running_count(s.running)
        .deployment_controller(
            DeploymentController::builder().r#type(DeploymentControllerType::from(s.controller.as_str())).build().unwrap(),
        )
        .set_tags(Some(s.tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()))
        .build()
}

fn ecs_rules(state: &Arc<Mutex<State>>, by_op: &mut BTreeMap<&'static str, Rule>) -> Vec<Rule> {
    use aws_sdk_ecs::Client;
    use aws_sdk_ecs::operation::create_service::{CreateServiceError, CreateServiceOutput};
    use aws_sdk_ecs::operation::delete_service::{DeleteServiceError, DeleteServiceOutput};
    use aws_sdk_ecs::operation::describe_services::DescribeServicesOutput;
    use aws_sdk_ecs::types::Failure;
    use aws_sdk_ecs::types::error::{InvalidParameterException, ServiceNotFoundException};

    let s = state.clone();
    // Describe returns the current state, then moves it one step on: DRAINING → INACTIVE,
    // and a new service's tasks start (so every wait polls at least twice).
    let describe = mock!(Client::describe_services).then_compute_output(move |input| {
        let mut st = lock(&s);
        let mut out = DescribeServicesOutput::builder();
        for name in input.services() {
            match st.services.get_mut(name) {
                Some(svc) => {
                    out = out.services(sdk_service(name, svc));
                    if svc.status == "DRAINING" {
                        svc.status = "INACTIVE".into();
                    } else if svc.status == "ACTIVE" {
                        svc.running = svc.desired;
                    }
                }
                None => {
                    out = out.failures(
                        Failure::builder()
                            .arn(format!("arn:aws:ecs:{}:{}:service/{}/{name}", sample::REGION, sample::ACCOUNT, sample::CLUSTER))
                            .reason("MISSING")
                            .build(),
                    )
                }
            }
        }
        out.build()
    });
    let s = state.clone();
    let create = mock!(Client::create_service).then_compute_response(move |input| {
        let mut st = lock(&s);
        st.create_service_inputs.push(input.clone());
        let name = input.service_name().unwrap_or_default().to_owned();
        if st.services.get(&name).is_some_and(|svc| svc.status != "INACTIVE") {
            return MockResponse::Error(modeled!(
                CreateServiceError::InvalidParameterException,
                InvalidParameterException,
                "InvalidParameterException",
                "Creation of service was not idempotent."
            ));
        }
        let svc = FakeService {
            status: "ACTIVE".into(),
            controller: input
                .deployment_controller()
                .map(|c| c.r#type().as_str().to_owned())
                .unwrap_or_else(|| "ECS".into()),
            desired: input.desired_count().unwrap_or(0),
            running: 0,
            tags: input.tags().iter().map(|t| (t.key().unwrap_or_default().into(), t.value().unwrap_or_default().into())).collect(),
        };
        st.log.push(format!("CreateService {name} {}", svc.controller));
        let out = CreateServiceOutput::builder().service(sdk_service(&name, &svc)).build();
        st.services.insert(name, svc);
        MockResponse::Output(out)
    });
    let s = state.clone();
    let delete = mock!(Client::delete_service).then_compute_response(move |input| {
        let mut st = lock(&s);
        let name = input.service().unwrap_or_default().to_owned();
        let Some(svc) = st.services.get_mut(&name) else {
            return MockResponse::Error(modeled!(
                DeleteServiceError::ServiceNotFoundException,
                ServiceNotFoundException,
                "ServiceNotFoundException",
                "Service not found."
            ));
        };
        if svc.status != "ACTIVE" {
            return MockResponse::Error(DeleteServiceError::generic(meta(
                "ServiceNotActiveException",
                "Service was not ACTIVE.",
            )));
        }
        assert_eq!(input.force(), Some(true), "the fake expects forced deletes (no scale-down first)");
        svc.status = "DRAINING".into();
        svc.running = 0;
        let out = DeleteServiceOutput::builder().service(sdk_service(&name, svc)).build();
        st.log.push(format!("DeleteService {name}"));
        MockResponse::Output(out)
    });
    vec![
        reg(by_op, "DescribeServices", describe),
        reg(by_op, "CreateService", create),
        reg(by_op, "DeleteService", delete),
    ]
}

// ---- ELBv2 -----------------------------------------------------------------------------------

fn elb_tags(tags: &BTreeMap<String, String>) -> Vec<aws_sdk_elasticloadbalancingv2::types::Tag> {
    tags.iter().map(|(k, v)| aws_sdk_elasticloadbalancingv2::types::Tag::builder().key(k).value(v).build()).collect()
}

fn sdk_target_group(arn: &str, tg: &FakeTargetGroup, st: &State) -> aws_sdk_elasticloadbalancingv2::types::TargetGroup {
    use aws_sdk_elasticloadbalancingv2::types::{ProtocolEnum, TargetGroup, TargetTypeEnum};
    let used_by_lb = st.listeners.values().any(|l| l.forward_to.iter().any(|(t, _)| t == arn));
    TargetGroup::builder()
        .target_group_arn(arn)
        .target_group_name(&tg.name)
        .protocol(ProtocolEnum::Http)
        .port(80)
        .vpc_id(sample::VPC_ID)
        .target_type(TargetTypeEnum::Ip)
        .set_load_balancer_arns(used_by_lb.then(|| vec![sample::LB_ARN.to_owned()]))
        .build()
}

fn sdk_listener(arn: &str, l: &FakeListener) -> aws_sdk_elasticloadbalancingv2::types::Listener {
    use aws_sdk_elasticloadbalancingv2::types::{
        Action, ActionTypeEnum, ForwardActionConfig, Listener, ProtocolEnum, TargetGroupTuple,
    };
    let action = match l.forward_to.as_slice() {
        [(one, _)] => Action::builder().r#type(ActionTypeEnum::Forward).target_group_arn(one).build(),
        many => Action::builder()
            .r#type(ActionTypeEnum::Forward)
            .forward_config(
                ForwardActionConfig::builder()
                    .set_target_groups(Some(
                        many.iter().map(|(t, w)| TargetGroupTuple::builder().target_group_arn(t).weight(*w).build()).collect(),
                    ))
                    .build(),
            )
            .build(),
    };
    Listener::builder()
        .listener_arn(arn)
        .load_balancer_arn(sample::LB_ARN)
        .port(l.port)
        .protocol(ProtocolEnum::from(l.protocol.as_str()))
        .default_actions(action)
        .build()
}

fn forward_of(actions: &[aws_sdk_elasticloadbalancingv2::types::Action]) -> Vec<(String, i32)> {
    let Some(a) = actions.first() else { return vec![] };
    let from_config: Vec<(String, i32)> = a
        .forward_config()
        .map(|c| {
            c.target_groups()
                .iter()
                .filter_map(|t| Some((t.target_group_arn()?.to_owned(), t.weight().unwrap_or(1))))
                .collect()
        })
        .unwrap_or_default();
    if !from_config.is_empty() {
        return from_config;
    }
    a.target_group_arn().map(|t| vec![(t.to_owned(), 1)]).unwrap_or_default()
}

fn elbv2_rules(state: &Arc<Mutex<State>>, by_op: &mut BTreeMap<&'static str, Rule>) -> Vec<Rule> {
    use aws_sdk_elasticloadbalancingv2::Client;
    use aws_sdk_elasticloadbalancingv2::operation::create_listener::{CreateListenerError, CreateListenerOutput};
    use aws_sdk_elasticloadbalancingv2::operation::create_target_group::{CreateTargetGroupError, CreateTargetGroupOutput};
    use aws_sdk_elasticloadbalancingv2::operation::delete_listener::{DeleteListenerError, DeleteListenerOutput};
    use aws_sdk_elasticloadbalancingv2::operation::delete_target_group::{DeleteTargetGroupError, DeleteTargetGroupOutput};
    use aws_sdk_elasticloadbalancingv2::operation::describe_listeners::{DescribeListenersError, DescribeListenersOutput};
    use aws_sdk_elasticloadbalancingv2::operation::describe_tags::{DescribeTagsError, DescribeTagsOutput};
    use aws_sdk_elasticloadbalancingv2::operation::describe_target_group_attributes::{
        DescribeTargetGroupAttributesError, DescribeTargetGroupAttributesOutput,
    };
    use aws_sdk_elasticloadbalancingv2::operation::describe_target_groups::{
        DescribeTargetGroupsError, DescribeTargetGroupsOutput,
    };
    use aws_sdk_elasticloadbalancingv2::operation::modify_listener::{ModifyListenerError, ModifyListenerOutput};
    use aws_sdk_elasticloadbalancingv2::operation::modify_target_group_attributes::{
        ModifyTargetGroupAttributesError, ModifyTargetGroupAttributesOutput,
    };
    use aws_sdk_elasticloadbalancingv2::types::error::{
        DuplicateListenerException, DuplicateTargetGroupNameException, ListenerNotFoundException,
        ResourceInUseException, TargetGroupNotFoundException,
    };
    use aws_sdk_elasticloadbalancingv2::types::{TagDescription, TargetGroupAttribute};

    const TG_NOT_FOUND: &str = "One or more target groups not found";
    const LISTENER_NOT_FOUND: &str = "One or more listeners not found";

    let s = state.clone();
    let describe_tgs = mock!(Client::describe_target_groups).then_compute_response(move |input| {
        let st = lock(&s);
        let mut found = Vec::new();
        for name in input.names() {
            match st.target_groups.iter().find(|(_, tg)| tg.name == *name) {
                Some((arn, tg)) => found.push(sdk_target_group(arn, tg, &st)),
                None => {
                    return MockResponse::Error(modeled!(
                        DescribeTargetGroupsError::TargetGroupNotFoundException,
                        TargetGroupNotFoundException,
                        "TargetGroupNotFound",
                        TG_NOT_FOUND
                    ));
                }
            }
        }
        for arn in input.target_group_arns() {
            match st.target_groups.get(arn) {
                Some(tg) => found.push(sdk_target_group(arn, tg, &st)),
                None => {
                    return MockResponse::Error(modeled!(
                        DescribeTargetGroupsError::TargetGroupNotFoundException,
                        TargetGroupNotFoundException,
                        "TargetGroupNotFound",
                        TG_NOT_FOUND
                    ));
                }
            }
        }
        MockResponse::Output(DescribeTargetGroupsOutput::builder().set_target_groups(Some(found)).build())
    });
    let s = state.clone();
    let describe_attrs = mock!(Client::describe_target_group_attributes).then_compute_response(move |input| {
        let st = lock(&s);
        match st.target_groups.get(input.target_group_arn().unwrap_or_default()) {
            Some(tg) => MockResponse::Output(
                DescribeTargetGroupAttributesOutput::builder()
                    .set_attributes(Some(
                        tg.attributes.iter().map(|(k, v)| TargetGroupAttribute::builder().key(k).value(v).build()).collect(),
                    ))
                    .build(),
            ),
            None => MockResponse::Error(modeled!(
                DescribeTargetGroupAttributesError::TargetGroupNotFoundException,
                TargetGroupNotFoundException,
                "TargetGroupNotFound",
                TG_NOT_FOUND
            )),
        }
    });
    let s = state.clone();
    let describe_tags = mock!(Client::describe_tags).then_compute_response(move |input| {
        let st = lock(&s);
        let mut out = DescribeTagsOutput::builder();
        for arn in input.resource_arns() {
            let tags = if arn.contains(":targetgroup/") {
                st.target_groups.get(arn).map(|t| t.tags.clone())
            } else {
                st.listeners.get(arn).map(|l| l.tags.clone())
            };
            match tags {
                Some(t) => out = out.tag_descriptions(TagDescription::builder().resource_arn(arn).set_tags(Some(elb_tags(&t))).build()),
                None if arn.contains(":targetgroup/") => {
                    return MockResponse::Error(modeled!(
                        DescribeTagsError::TargetGroupNotFoundException,
                        TargetGroupNotFoundException,
                        "TargetGroupNotFound",
                        TG_NOT_FOUND
                    ));
                }
                None => {
                    return MockResponse::Error(modeled!(
                        DescribeTagsError::ListenerNotFoundException,
                        ListenerNotFoundException,
                        "ListenerNotFound",
                        LISTENER_NOT_FOUND
                    ));
                }
            }
        }
        MockResponse::Output(out.build())
    });
    let s = state.clone();
    let create_tg = mock!(Client::create_target_group).then_compute_response(move |input| {
        let mut st = lock(&s);
        let name = input.name().unwrap_or_default().to_owned();
        if st.target_groups.values().any(|t| t.name == name) {
            return MockResponse::Error(modeled!(
                CreateTargetGroupError::DuplicateTargetGroupNameException,
                DuplicateTargetGroupNameException,
                "DuplicateTargetGroupName",
                "A target group with the same name exists, but with different settings"
            ));
        }
        let arn = if name == sample::GREEN_TG {
            sample::GREEN_TG_ARN.to_owned()
        } else {
            format!("arn:aws:elasticloadbalancing:{}:{}:targetgroup/{name}/0123456789abcdef", sample::REGION, sample::ACCOUNT)
        };
        let tg = FakeTargetGroup {
            name: name.clone(),
            tags: input.tags().iter().map(|t| (t.key().unwrap_or_default().to_owned(), t.value().unwrap_or_default().to_owned())).collect(),
            attributes: BTreeMap::new(),
        };
        let out = CreateTargetGroupOutput::builder().target_groups(sdk_target_group(&arn, &tg, &st)).build();
        st.target_groups.insert(arn, tg);
        st.log.push(format!("CreateTargetGroup {name}"));
        MockResponse::Output(out)
    });
    let s = state.clone();
    let modify_attrs = mock!(Client::modify_target_group_attributes).then_compute_response(move |input| {
        let mut st = lock(&s);
        let Some(tg) = st.target_groups.get_mut(input.target_group_arn().unwrap_or_default()) else {
            return MockResponse::Error(modeled!(
                ModifyTargetGroupAttributesError::TargetGroupNotFoundException,
                TargetGroupNotFoundException,
                "TargetGroupNotFound",
                TG_NOT_FOUND
            ));
        };
        for a in input.attributes() {
            tg.attributes.insert(a.key().unwrap_or_default().to_owned(), a.value().unwrap_or_default().to_owned());
        }
        MockResponse::Output(ModifyTargetGroupAttributesOutput::builder().set_attributes(Some(input.attributes().to_vec())).build())
    });
    let s = state.clone();
    let delete_tg = mock!(Client::delete_target_group).then_compute_response(move |input| {
        let mut st = lock(&s);
        let arn = input.target_group_arn().unwrap_or_default().to_owned();
        if st.listeners.values().any(|l| l.forward_to.iter().any(|(t, _)| *t == arn)) {
            return MockResponse::Error(modeled!(
                DeleteTargetGroupError::ResourceInUseException,
                ResourceInUseException,
                "ResourceInUse",
                "Target group is currently in use by a listener or a rule"
            ));
        }
        if let Some(tg) = st.target_groups.remove(&arn) {
            st.log.push(format!("DeleteTargetGroup {}", tg.name));
        }
        MockResponse::Output(DeleteTargetGroupOutput::builder().build())
    });
    let s = state.clone();
    let describe_listeners = mock!(Client::describe_listeners).then_compute_response(move |input| {
        let st = lock(&s);
        let mut out = DescribeListenersOutput::builder();
        if input.load_balancer_arn().is_some() {
            for (arn, l) in &st.listeners {
                out = out.listeners(sdk_listener(arn, l));
            }
        }
        for arn in input.listener_arns() {
            match st.listeners.get(arn) {
                Some(l) => out = out.listeners(sdk_listener(arn, l)),
                None => {
                    return MockResponse::Error(modeled!(
                        DescribeListenersError::ListenerNotFoundException,
                        ListenerNotFoundException,
                        "ListenerNotFound",
                        LISTENER_NOT_FOUND
                    ));
                }
            }
        }
        MockResponse::Output(out.build())
    });
    let s = state.clone();
    let create_listener = mock!(Client::create_listener).then_compute_response(move |input| {
        let mut st = lock(&s);
        let port = input.port().unwrap_or_default();
        if st.listeners.values().any(|l| l.port == port) {
            return MockResponse::Error(modeled!(
                CreateListenerError::DuplicateListenerException,
                DuplicateListenerException,
                "DuplicateListener",
                "A listener already exists on this port for this load balancer"
            ));
        }
        let arn = if port == 8080 {
            sample::PORT_8080_LISTENER_ARN.to_owned()
        } else {
            format!("{}/{port:016x}", sample::LB_ARN.replace(":loadbalancer/", ":listener/"))
        };
        let l = FakeListener {
            port,
            protocol: input.protocol().map(|p| p.as_str().to_owned()).unwrap_or_default(),
            forward_to: forward_of(input.default_actions()),
            tags: input.tags().iter().map(|t| (t.key().unwrap_or_default().to_owned(), t.value().unwrap_or_default().to_owned())).collect(),
        };
        let out = CreateListenerOutput::builder().listeners(sdk_listener(&arn, &l)).build();
        st.listeners.insert(arn, l);
        st.log.push(format!("CreateListener {port}"));
        MockResponse::Output(out)
    });
    let s = state.clone();
    let delete_listener = mock!(Client::delete_listener).then_compute_response(move |input| {
        let mut st = lock(&s);
        match st.listeners.remove(input.listener_arn().unwrap_or_default()) {
            Some(l) => {
                st.log.push(format!("DeleteListener {}", l.port));
                MockResponse::Output(DeleteListenerOutput::builder().build())
            }
            None => MockResponse::Error(modeled!(
                DeleteListenerError::ListenerNotFoundException,
                ListenerNotFoundException,
                "ListenerNotFound",
                LISTENER_NOT_FOUND
            )),
        }
    });
    let s = state.clone();
    let modify_listener = mock!(Client::modify_listener).then_compute_response(move |input| {
        let mut st = lock(&s);
        let arn = input.listener_arn().unwrap_or_default().to_owned();
        let Some(l) = st.listeners.get_mut(&arn) else {
            return MockResponse::Error(modeled!(
                ModifyListenerError::ListenerNotFoundException,
                ListenerNotFoundException,
                "ListenerNotFound",
                LISTENER_NOT_FOUND
            ));
        };
        l.forward_to = forward_of(input.default_actions());
        let out = ModifyListenerOutput::builder().listeners(sdk_listener(&arn, l)).build();
        st.log.push(format!("ModifyListener {arn}"));
        MockResponse::Output(out)
    });
    vec![
        reg(by_op, "DescribeTargetGroups", describe_tgs),
        reg(by_op, "DescribeTargetGroupAttributes", describe_attrs),
        reg(by_op, "DescribeTags", describe_tags),
        reg(by_op, "CreateTargetGroup", create_tg),
        reg(by_op, "ModifyTargetGroupAttributes", modify_attrs),
        reg(by_op, "DeleteTargetGroup", delete_tg),
        reg(by_op, "DescribeListeners", describe_listeners),
        reg(by_op, "CreateListener", create_listener),
        reg(by_op, "DeleteListener", delete_listener),
        reg(by_op, "ModifyListener", modify_listener),
    ]
}

// ---- IAM -------------------------------------------------------------------------------------

fn sdk_role(role: &FakeRole) -> aws_sdk_iam::types::Role {
    use aws_sdk_iam::types::{Role, Tag};
    Role::builder()
        .path("/")
        .role_name(sample::ROLE_NAME)
        .role_id("AROAMOCKEDROLEID00001")
        .arn(sample::ROLE_ARN)
        .create_date(aws_smithy_types::DateTime::from_secs(1_700_000_000))
        .set_tags(Some(role.tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build().unwrap()).collect()))
        .build()
        .unwrap()
}

fn iam_rules(state: &Arc<Mutex<State>>, by_op: &mut BTreeMap<&'static str, Rule>) -> Vec<Rule> {
    use aws_sdk_iam::Client;
    use aws_sdk_iam::operation::attach_role_policy::{AttachRolePolicyError, AttachRolePolicyOutput};
    use aws_sdk_iam::operation::create_role::{CreateRoleError, CreateRoleOutput};
    use aws_sdk_iam::operation::delete_role::{DeleteRoleError, DeleteRoleOutput};
    use aws_sdk_iam::operation::detach_role_policy::{DetachRolePolicyError, DetachRolePolicyOutput};
    use aws_sdk_iam::operation::get_role::{GetRoleError, GetRoleOutput};
    use aws_sdk_iam::operation::list_attached_role_policies::{
        ListAttachedRolePoliciesError, ListAttachedRolePoliciesOutput,
    };
    use aws_sdk_iam::types::AttachedPolicy;
    use aws_sdk_iam::types::error::{DeleteConflictException, EntityAlreadyExistsException, NoSuchEntityException};

    fn no_role() -> &'static str {
        "The role with name prod-web-codedeploy cannot be found."
    }
    let ours = |name: Option<&str>| {
        assert_eq!(name, Some(sample::ROLE_NAME), "the fake IAM knows only the planned role");
    };

    let s = state.clone();
    let get = mock!(Client::get_role).then_compute_response(move |input| {
        ours(input.role_name());
        match &lock(&s).role {
            Some(r) => MockResponse::Output(GetRoleOutput::builder().role(sdk_role(r)).build()),
            None => MockResponse::Error(modeled!(GetRoleError::NoSuchEntityException, NoSuchEntityException, "NoSuchEntity", no_role())),
        }
    });
    let s = state.clone();
    let create = mock!(Client::create_role).then_compute_response(move |input| {
        ours(input.role_name());
        let mut st = lock(&s);
        if st.role.is_some() {
            return MockResponse::Error(modeled!(
                CreateRoleError::EntityAlreadyExistsException,
                EntityAlreadyExistsException,
                "EntityAlreadyExists",
                "Role with name prod-web-codedeploy already exists."
            ));
        }
        let role = FakeRole {
            tags: input.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect(),
            policies: vec![],
        };
        let out = CreateRoleOutput::builder().role(sdk_role(&role)).build();
        st.role = Some(role);
        st.log.push("CreateRole".into());
        MockResponse::Output(out)
    });
    let s = state.clone();
    let attach = mock!(Client::attach_role_policy).then_compute_response(move |input| {
        ours(input.role_name());
        let mut st = lock(&s);
        let Some(role) = st.role.as_mut() else {
            return MockResponse::Error(modeled!(
                AttachRolePolicyError::NoSuchEntityException,
                NoSuchEntityException,
                "NoSuchEntity",
                no_role()
            ));
        };
        let p = input.policy_arn().unwrap_or_default().to_owned();
        if !role.policies.contains(&p) {
            role.policies.push(p);
        }
        st.log.push("AttachRolePolicy".into());
        MockResponse::Output(AttachRolePolicyOutput::builder().build())
    });
    let s = state.clone();
    let list = mock!(Client::list_attached_role_policies).then_compute_response(move |input| {
        ours(input.role_name());
        match &lock(&s).role {
            Some(r) => MockResponse::Output(
                ListAttachedRolePoliciesOutput::builder()
                    .set_attached_policies(Some(
                        r.policies
                            .iter()
                            .map(|p| {
                                AttachedPolicy::builder()
                                    .policy_arn(p)
                                    .policy_name(p.rsplit('/').next().unwrap_or_default())
                                    .build()
                            })
                            .collect(),
                    ))
                    .build(),
            ),
            None => MockResponse::Error(modeled!(
                ListAttachedRolePoliciesError::NoSuchEntityException,
                NoSuchEntityException,
                "NoSuchEntity",
                no_role()
            )),
        }
    });
    let s = state.clone();
    let detach = mock!(Client::detach_role_policy).then_compute_response(move |input| {
        ours(input.role_name());
        let mut st = lock(&s);
        let p = input.policy_arn().unwrap_or_default();
        match st.role.as_mut() {
            Some(r) if r.policies.iter().any(|x| x == p) => {
                r.policies.retain(|x| x != p);
                st.log.push("DetachRolePolicy".into());
                MockResponse::Output(DetachRolePolicyOutput::builder().build())
            }
            _ => MockResponse::Error(modeled!(
                DetachRolePolicyError::NoSuchEntityException,
                NoSuchEntityException,
                "NoSuchEntity",
                "Policy is not attached to the role."
            )),
        }
    });
    let s = state.clone();
    let delete = mock!(Client::delete_role).then_compute_response(move |input| {
        ours(input.role_name());
        let mut st = lock(&s);
        match &st.role {
            None => MockResponse::Error(modeled!(DeleteRoleError::NoSuchEntityException, NoSuchEntityException, "NoSuchEntity", no_role())),
            Some(r) if !r.policies.is_empty() => MockResponse::Error(modeled!(
                DeleteRoleError::DeleteConflictException,
                DeleteConflictException,
                "DeleteConflict",
                "Cannot delete entity, must detach all policies first."
            )),
            Some(_) => {
                st.role = None;
                st.log.push("DeleteRole".into());
                MockResponse::Output(DeleteRoleOutput::builder().build())
            }
        }
    });
    vec![
        reg(by_op, "GetRole", get),
        reg(by_op, "CreateRole", create),
        reg(by_op, "AttachRolePolicy", attach),
        reg(by_op, "ListAttachedRolePolicies", list),
        reg(by_op, "DetachRolePolicy", detach),
        reg(by_op, "DeleteRole", delete),
    ]
}

// ---- CodeDeploy ------------------------------------------------------------------------------

fn codedeploy_rules(state: &Arc<Mutex<State>>, by_op: &mut BTreeMap<&'static str, Rule>) -> Vec<Rule> {
    use aws_sdk_codedeploy::Client;
    use aws_sdk_codedeploy::operation::create_application::{CreateApplicationError, CreateApplicationOutput};
    use aws_sdk_codedeploy::operation::create_deployment_group::{
        CreateDeploymentGroupError, CreateDeploymentGroupOutput,
    };
    use aws_sdk_codedeploy::operation::delete_application::DeleteApplicationOutput;
    use aws_sdk_codedeploy::operation::delete_deployment_group::{
        DeleteDeploymentGroupError, DeleteDeploymentGroupOutput,
    };
    use aws_sdk_codedeploy::operation::get_application::{GetApplicationError, GetApplicationOutput};
    use aws_sdk_codedeploy::operation::get_deployment_group::{GetDeploymentGroupError, GetDeploymentGroupOutput};
    use aws_sdk_codedeploy::types::error::{
        ApplicationAlreadyExistsException, ApplicationDoesNotExistException, DeploymentGroupAlreadyExistsException,
        DeploymentGroupDoesNotExistException, InvalidEcsServiceException, InvalidTargetGroupPairException,
    };
    use aws_sdk_codedeploy::types::{ApplicationInfo, ComputePlatform, DeploymentGroupInfo};

    fn no_app() -> &'static str {
        "No application found for name: prod-web"
    }
    let ours = |app: Option<&str>| assert_eq!(app, Some(sample::APPLICATION), "the fake knows only the planned application");

    let s = state.clone();
    let get_app = mock!(Client::get_application).then_compute_response(move |input| {
        ours(input.application_name());
        if lock(&s).application {
            MockResponse::Output(
                GetApplicationOutput::builder()
                    .application(
                        ApplicationInfo::builder()
                            .application_name(sample::APPLICATION)
                            .application_id("0b9f3a1e-7c52-4d8e-9a61-3f2e8c4d5b70")
                            .compute_platform(ComputePlatform::Ecs)
                            .build(),
                    )
                    .build(),
            )
        } else {
            MockResponse::Error(modeled!(
                GetApplicationError::ApplicationDoesNotExistException,
                ApplicationDoesNotExistException,
                "ApplicationDoesNotExistException",
                no_app()
            ))
        }
    });
    let s = state.clone();
    let create_app = mock!(Client::create_application).then_compute_response(move |input| {
        ours(input.application_name());
        let mut st = lock(&s);
        if st.application {
            return MockResponse::Error(modeled!(
                CreateApplicationError::ApplicationAlreadyExistsException,
                ApplicationAlreadyExistsException,
                "ApplicationAlreadyExistsException",
                "prod-web already exists in your account"
            ));
        }
        st.application = true;
        st.application_tags =
            input.tags().iter().map(|t| (t.key().unwrap_or_default().to_owned(), t.value().unwrap_or_default().to_owned())).collect();
        st.log.push("CreateApplication".into());
        MockResponse::Output(CreateApplicationOutput::builder().application_id("0b9f3a1e-7c52-4d8e-9a61-3f2e8c4d5b70").build())
    });
    let s = state.clone();
    let delete_app = mock!(Client::delete_application).then_compute_output(move |input| {
        ours(input.application_name());
        let mut st = lock(&s);
        // CodeDeploy answers success for a missing application; deleting one deletes its groups.
        if st.application {
            st.log.push("DeleteApplication".into());
        }
        st.application = false;
        st.deployment_group = false;
        DeleteApplicationOutput::builder().build()
    });
    let s = state.clone();
    let get_dg = mock!(Client::get_deployment_group).then_compute_response(move |input| {
        ours(input.application_name());
        let st = lock(&s);
        if !st.application {
            return MockResponse::Error(modeled!(
                GetDeploymentGroupError::ApplicationDoesNotExistException,
                ApplicationDoesNotExistException,
                "ApplicationDoesNotExistException",
                no_app()
            ));
        }
        if !st.deployment_group || input.deployment_group_name() != Some(sample::DEPLOYMENT_GROUP) {
            return MockResponse::Error(modeled!(
                GetDeploymentGroupError::DeploymentGroupDoesNotExistException,
                DeploymentGroupDoesNotExistException,
                "DeploymentGroupDoesNotExistException",
                "No Deployment Group found for name: web-bluegreen"
            ));
        }
        MockResponse::Output(
            GetDeploymentGroupOutput::builder()
                .deployment_group_info(
                    DeploymentGroupInfo::builder()
                        .application_name(sample::APPLICATION)
                        .deployment_group_name(sample::DEPLOYMENT_GROUP)
                        .build(),
                )
                .build(),
        )
    });
    let s = state.clone();
    let create_dg = mock!(Client::create_deployment_group).then_compute_response(move |input| {
        ours(input.application_name());
        let mut st = lock(&s);
        if !st.application {
            return MockResponse::Error(modeled!(
                CreateDeploymentGroupError::ApplicationDoesNotExistException,
                ApplicationDoesNotExistException,
                "ApplicationDoesNotExistException",
                no_app()
            ));
        }
        if st.deployment_group {
            return MockResponse::Error(modeled!(
                CreateDeploymentGroupError::DeploymentGroupAlreadyExistsException,
                DeploymentGroupAlreadyExistsException,
                "DeploymentGroupAlreadyExistsException",
                "A deployment group with the same name already exists"
            ));
        }
        // CodeDeploy refuses a group for a service that is not CODE_DEPLOY-controlled.
        let svc = input.ecs_services().first().and_then(|e| e.service_name()).unwrap_or_default();
        if !st.services.get(svc).is_some_and(|s| s.status == "ACTIVE" && s.controller == "CODE_DEPLOY") {
            return MockResponse::Error(modeled!(
                CreateDeploymentGroupError::InvalidEcsServiceException,
                InvalidEcsServiceException,
                "InvalidECSServiceException",
                "Deployment group's ECS service must be configured for a CODE_DEPLOY deployment controller."
            ));
        }
        let tgs: Vec<&str> = input
            .load_balancer_info()
            .and_then(|l| l.target_group_pair_info_list().first())
            .map(|p| p.target_groups().iter().filter_map(|t| t.name()).collect())
            .unwrap_or_default();
        if tgs.len() != 2 || !tgs.iter().all(|n| st.target_groups.values().any(|t| t.name == *n)) {
            return MockResponse::Error(modeled!(
                CreateDeploymentGroupError::InvalidTargetGroupPairException,
                InvalidTargetGroupPairException,
                "InvalidTargetGroupPairException",
                "Target group pair must name two existing target groups"
            ));
        }
        st.deployment_group = true;
        st.log.push("CreateDeploymentGroup".into());
        MockResponse::Output(
            CreateDeploymentGroupOutput::builder().deployment_group_id("5d1c7a2e-93b4-4f0a-8e6d-1c2b3a4f5e60").build(),
        )
    });
    let s = state.clone();
    let delete_dg = mock!(Client::delete_deployment_group).then_compute_response(move |input| {
        ours(input.application_name());
        let mut st = lock(&s);
        if !st.application {
            return MockResponse::Error(DeleteDeploymentGroupError::generic(meta(
                "ApplicationDoesNotExistException",
                no_app(),
            )));
        }
        if st.deployment_group {
            st.log.push("DeleteDeploymentGroup".into());
        }
        st.deployment_group = false;
        MockResponse::Output(DeleteDeploymentGroupOutput::builder().build())
    });
    let s = state.clone();
    let list_tags = mock!(Client::list_tags_for_resource).then_compute_response(move |input| {
        use aws_sdk_codedeploy::operation::list_tags_for_resource::ListTagsForResourceOutput;
        let st = lock(&s);
        let arn = input.resource_arn().unwrap_or_default();
        let tags = if arn.ends_with(&format!(":application:{}", sample::APPLICATION)) && st.application {
            st.application_tags.clone()
        } else {
            Vec::new()
        };
        MockResponse::Output(
            ListTagsForResourceOutput::builder()
                .set_tags(Some(tags.iter().map(|(k, v)| aws_sdk_codedeploy::types::Tag::builder().key(k).value(v).build()).collect()))
                .build(),
        )
    });
    vec![
        reg(by_op, "ListTagsForResource", list_tags),
        reg(by_op, "GetApplication", get_app),
        reg(by_op, "CreateApplication", create_app),
        reg(by_op, "DeleteApplication", delete_app),
        reg(by_op, "GetDeploymentGroup", get_dg),
        reg(by_op, "CreateDeploymentGroup", create_dg),
        reg(by_op, "DeleteDeploymentGroup", delete_dg),
    ]
}

// ---- CodePipeline ----------------------------------------------------------------------------

/// The SDK declaration of a pipeline summary (role and artifact store made up).
pub fn pipeline_declaration(p: &PipelineInfo) -> aws_sdk_codepipeline::types::PipelineDeclaration {
    use aws_sdk_codepipeline::types::{
        ActionCategory, ActionDeclaration, ActionOwner, ActionTypeId, ArtifactStore, ArtifactStoreType, InputArtifact,
        OutputArtifact, PipelineDeclaration, StageDeclaration,
    };
    let stages = p
        .stages
        .iter()
        .map(|s| {
            let actions = s
                .actions
                .iter()
                .map(|a| {
                    ActionDeclaration::builder()
                        .name(&a.name)
                        .action_type_id(
                            ActionTypeId::builder()
                                .category(ActionCategory::from(a.category.as_str()))
                                .owner(ActionOwner::from(a.owner.as_str()))
                                .provider(&a.provider)
                                .version(&a.version)
                                .build()
                                .unwrap(),
                        )
                        .set_configuration(Some(a.configuration.clone().into_iter().collect()))
                        .set_input_artifacts(Some(
                            a.input_artifacts.iter().map(|n| InputArtifact::builder().name(n).build().unwrap()).collect(),
                        ))
                        .set_output_artifacts(Some(
                            a.output_artifacts.iter().map(|n| OutputArtifact::builder().name(n).build().unwrap()).collect(),
                        ))
                        .set_run_order(a.run_order)
                        .build()
                        .unwrap()
                })
                .collect();
            StageDeclaration::builder().name(&s.name).set_actions(Some(actions)).build().unwrap()
        })
        .collect();
    PipelineDeclaration::builder()
        .name(&p.name)
        .role_arn(format!("arn:aws:iam::{}:role/web-pipeline-role", sample::ACCOUNT))
        .artifact_store(
            ArtifactStore::builder().r#type(ArtifactStoreType::S3).location("web-pipeline-artifacts").build().unwrap(),
        )
        .set_stages(Some(stages))
        .set_version(p.version)
        .build()
        .unwrap()
}

fn codepipeline_rules(state: &Arc<Mutex<State>>, by_op: &mut BTreeMap<&'static str, Rule>) -> Vec<Rule> {
    use aws_sdk_codepipeline::Client;
    use aws_sdk_codepipeline::operation::get_pipeline::{GetPipelineError, GetPipelineOutput};
    use aws_sdk_codepipeline::operation::update_pipeline::{UpdatePipelineError, UpdatePipelineOutput};
    use aws_sdk_codepipeline::types::error::PipelineNotFoundException;

    let s = state.clone();
    let get = mock!(Client::get_pipeline).then_compute_response(move |input| {
        match lock(&s).pipeline.clone().filter(|p| Some(p.name()) == input.name()) {
            Some(p) => MockResponse::Output(GetPipelineOutput::builder().pipeline(p).build()),
            None => MockResponse::Error(modeled!(
                GetPipelineError::PipelineNotFoundException,
                PipelineNotFoundException,
                "PipelineNotFoundException",
                "Account does not have a pipeline with this name"
            )),
        }
    });
    let s = state.clone();
    let update = mock!(Client::update_pipeline).then_compute_response(move |input| {
        let mut st = lock(&s);
        let Some(mut p) = input.pipeline().cloned() else { panic!("UpdatePipeline without a pipeline") };
        if st.pipeline.as_ref().is_none_or(|cur| cur.name() != p.name()) {
            return MockResponse::Error(modeled!(
                UpdatePipelineError::InvalidStructureException,
                InvalidStructureException,
                "InvalidStructureException",
                "pipeline does not exist"
            ));
        }
        p.version = Some(st.pipeline.as_ref().and_then(|c| c.version()).unwrap_or(1) + 1);
        st.pipeline = Some(p.clone());
        st.log.push("UpdatePipeline".into());
        MockResponse::Output(UpdatePipelineOutput::builder().pipeline(p).build())
    });
    use aws_sdk_codepipeline::types::error::InvalidStructureException;
    vec![reg(by_op, "GetPipeline", get), reg(by_op, "UpdatePipeline", update)]
}
