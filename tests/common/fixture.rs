//! The realistic "before" account of the manual procedure, seeded into moto.
//!
//! [`seed_rolling_account`] builds what a team has before migrating: a VPC with two subnets in two
//! AZs and a security group; an internet-facing ALB whose HTTP :80 listener forwards to target
//! group `web-tg-1`; ECS cluster `prod` with a Fargate service `web` on the rolling (`ECS`)
//! deployment controller behind that target group; the task definition, its execution and task
//! roles; and CodePipeline `web-pipeline` (Source → Build → Deploy with the `ECS` provider) whose
//! role `web-pipeline-role` holds only the `ECS` deploy action's permissions (inline policy).
//!
//! The service is sent every setting a real rolling service typically has, including some that
//! CODE_DEPLOY forbids (deployment circuit breaker). moto 5.2.5 accepts but drops
//! `deploymentConfiguration`, `healthCheckGracePeriodSeconds` and `enableECSManagedTags` (absent from
//! DescribeServices), so tests on moto cannot see those; check them with mocked SDK tests.
//!
//! This file depends only on the crate's public API and the SDK crates, so an example can reuse it
//! with `#[path = "../tests/common/fixture.rs"] mod fixture;`.
//!
//! Panics (with the failing call in the message) when moto refuses a step: it is test setup.
#![allow(dead_code)] // users of this file take what they need

use std::fmt::Debug;

use aws_sdk_codepipeline::types as cp;
use aws_sdk_ecs::types as ecs;
use aws_sdk_elasticloadbalancingv2::types as elb;
use ecs_bluegreen::AwsClients;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Region the fixture lives in.
pub const REGION: &str = "us-east-1";
/// ECS cluster name.
pub const CLUSTER: &str = "prod";
/// ECS service name.
pub const SERVICE: &str = "web";
/// Task definition family.
pub const TASK_FAMILY: &str = "web";
/// The service's (only) container, the one behind the load balancer.
pub const CONTAINER: &str = "web";
/// The container port behind the load balancer.
pub const CONTAINER_PORT: i32 = 80;
/// Container image.
pub const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1.0";
/// The target group the service is registered in.
pub const TARGET_GROUP: &str = "web-tg-1";
/// The load balancer's name.
pub const LOAD_BALANCER: &str = "web-alb";
/// Production listener port.
pub const LISTENER_PORT: i32 = 80;
/// The pipeline.
pub const PIPELINE: &str = "web-pipeline";
/// The pipeline's artifact bucket (a name only; moto does not check it exists).
pub const ARTIFACT_BUCKET: &str = "web-pipeline-artifacts";
/// The target group attributes the fixture sets away from their defaults.
pub const TARGET_GROUP_ATTRIBUTES: [(&str, &str); 5] = [
    ("deregistration_delay.timeout_seconds", "30"),
    ("stickiness.enabled", "true"),
    ("stickiness.type", "lb_cookie"),
    ("stickiness.lb_cookie.duration_seconds", "3600"),
    ("slow_start.duration_seconds", "30"),
];

/// Names, ARNs and ids of everything [`seed_rolling_account`] created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fixture {
    /// The moto account (12 digits) the fixture lives in.
    pub account: String,
    /// Region (`us-east-1`).
    pub region: String,
    /// VPC id.
    pub vpc_id: String,
    /// Two subnet ids, in `us-east-1a` and `us-east-1b`.
    pub subnet_ids: Vec<String>,
    /// Security group of the service's tasks and of the load balancer.
    pub security_group_id: String,
    /// Load balancer name.
    pub load_balancer_name: String,
    /// Load balancer ARN.
    pub load_balancer_arn: String,
    /// HTTP :80 listener ARN (forwards to the target group).
    pub listener_arn: String,
    /// Target group name (`web-tg-1`).
    pub target_group_name: String,
    /// Target group ARN.
    pub target_group_arn: String,
    /// ECS cluster name.
    pub cluster_name: String,
    /// ECS cluster ARN.
    pub cluster_arn: String,
    /// ECS service name.
    pub service_name: String,
    /// ECS service ARN.
    pub service_arn: String,
    /// Task definition ARN (`web:1`).
    pub task_definition_arn: String,
    /// Container behind the load balancer.
    pub container_name: String,
    /// Its port.
    pub container_port: i32,
    /// Task execution role ARN.
    pub execution_role_arn: String,
    /// Task role ARN.
    pub task_role_arn: String,
    /// Pipeline name.
    pub pipeline_name: String,
    /// Pipeline service role ARN.
    pub pipeline_role_arn: String,
    /// Pipeline artifact bucket name.
    pub artifact_bucket: String,
}

/// Seeds the "before" account into `account` on the moto server at `endpoint`.
///
/// `aws` must already act in `account` (send `x-moto-account-id`); `endpoint` and `account` are
/// needed for the EC2 part, which goes over plain HTTP (see [`Ec2Query`]).
pub async fn seed_rolling_account(aws: &AwsClients, endpoint: &str, account: &str) -> Fixture {
    // Independent chains run concurrently: network → ALB; IAM → task definition; cluster; pipeline.
    let (
        (net, lb),
        (execution_role_arn, task_role_arn, task_definition_arn),
        cluster_arn,
        pipeline_role_arn,
    ) = tokio::join!(
        async {
            let net = seed_network(&Ec2Query::new(endpoint, account)).await;
            let lb = seed_load_balancer(aws, &net).await;
            (net, lb)
        },
        seed_task_definition(aws, account),
        seed_cluster(aws),
        seed_pipeline(aws),
    );
    let service_arn = seed_service(aws, &net, &lb.target_group_arn, &task_definition_arn).await;
    Fixture {
        account: account.to_owned(),
        region: REGION.to_owned(),
        vpc_id: net.vpc_id,
        subnet_ids: net.subnet_ids,
        security_group_id: net.security_group_id,
        load_balancer_name: LOAD_BALANCER.to_owned(),
        load_balancer_arn: lb.load_balancer_arn,
        listener_arn: lb.listener_arn,
        target_group_name: TARGET_GROUP.to_owned(),
        target_group_arn: lb.target_group_arn,
        cluster_name: CLUSTER.to_owned(),
        cluster_arn,
        service_name: SERVICE.to_owned(),
        service_arn,
        task_definition_arn,
        container_name: CONTAINER.to_owned(),
        container_port: CONTAINER_PORT,
        execution_role_arn,
        task_role_arn,
        pipeline_name: PIPELINE.to_owned(),
        pipeline_role_arn,
        artifact_bucket: ARTIFACT_BUCKET.to_owned(),
    }
}

/// Moves the fixture's service behind a Network Load Balancer `web-nlb` (TCP:80 listener, TCP
/// target group `web-nlb-tg`) with a rolling UpdateService, and points `f` at them: the start of
/// an NLB migration. The ALB stays, unused by the service.
pub async fn move_service_behind_nlb(aws: &AwsClients, f: &mut Fixture) {
    const NLB: &str = "web-nlb";
    const NLB_TARGET_GROUP: &str = "web-nlb-tg";
    let lb = ok(
        "CreateLoadBalancer (NLB)",
        aws.elbv2
            .create_load_balancer()
            .name(NLB)
            .r#type(elb::LoadBalancerTypeEnum::Network)
            .scheme(elb::LoadBalancerSchemeEnum::Internal)
            .set_subnets(Some(f.subnet_ids.clone()))
            .send()
            .await,
    );
    let load_balancer_arn = lb.load_balancers()[0].load_balancer_arn().expect("NLB ARN").to_owned();
    let tg = ok(
        "CreateTargetGroup (TCP)",
        aws.elbv2
            .create_target_group()
            .name(NLB_TARGET_GROUP)
            .protocol(elb::ProtocolEnum::Tcp)
            .port(80)
            .vpc_id(&f.vpc_id)
            .target_type(elb::TargetTypeEnum::Ip)
            .health_check_protocol(elb::ProtocolEnum::Tcp)
            .tags(elb_tag("app", "web"))
            .send()
            .await,
    );
    let target_group_arn = tg.target_groups()[0].target_group_arn().expect("target group ARN").to_owned();
    let listener = ok(
        "CreateListener (TCP)",
        aws.elbv2
            .create_listener()
            .load_balancer_arn(&load_balancer_arn)
            .protocol(elb::ProtocolEnum::Tcp)
            .port(LISTENER_PORT)
            .default_actions(elb::Action::builder().r#type(elb::ActionTypeEnum::Forward).target_group_arn(&target_group_arn).build())
            .send()
            .await,
    );
    let listener_arn = listener.listeners()[0].listener_arn().expect("listener ARN").to_owned();
    ok(
        "UpdateService (to the NLB)",
        aws.ecs
            .update_service()
            .cluster(&f.cluster_name)
            .service(&f.service_name)
            .load_balancers(
                ecs::LoadBalancer::builder()
                    .target_group_arn(&target_group_arn)
                    .container_name(&f.container_name)
                    .container_port(f.container_port)
                    .build(),
            )
            .send()
            .await,
    );
    f.load_balancer_name = NLB.to_owned();
    f.load_balancer_arn = load_balancer_arn;
    f.listener_arn = listener_arn;
    f.target_group_name = NLB_TARGET_GROUP.to_owned();
    f.target_group_arn = target_group_arn;
}

/// Unwraps a builder or SDK result, naming the step that failed.
fn ok<T, E: Debug>(step: &str, r: Result<T, E>) -> T {
    r.unwrap_or_else(|e| panic!("fixture: {step} failed: {e:?}"))
}

// ------------------------------------------------------------------------------------- network

struct Network {
    vpc_id: String,
    subnet_ids: Vec<String>,
    security_group_id: String,
}

async fn seed_network(ec2: &Ec2Query<'_>) -> Network {
    let vpc = ec2
        .call(
            "CreateVpc",
            &[
                ("CidrBlock", "10.0.0.0/16"),
                ("TagSpecification.1.ResourceType", "vpc"),
                ("TagSpecification.1.Tag.1.Key", "Name"),
                ("TagSpecification.1.Tag.1.Value", "prod"),
            ],
        )
        .await;
    let vpc_id = xml_value(&vpc, "vpcId");
    let mut subnet_ids = Vec::new();
    for (cidr, az) in [("10.0.1.0/24", "us-east-1a"), ("10.0.2.0/24", "us-east-1b")] {
        let subnet = ec2
            .call(
                "CreateSubnet",
                &[
                    ("VpcId", &vpc_id),
                    ("CidrBlock", cidr),
                    ("AvailabilityZone", az),
                ],
            )
            .await;
        subnet_ids.push(xml_value(&subnet, "subnetId"));
    }
    let sg = ec2
        .call(
            "CreateSecurityGroup",
            &[
                ("GroupName", "web"),
                ("GroupDescription", "web service and its load balancer"),
                ("VpcId", &vpc_id),
            ],
        )
        .await;
    let security_group_id = xml_value(&sg, "groupId");
    ec2.call(
        "AuthorizeSecurityGroupIngress",
        &[
            ("GroupId", &security_group_id),
            ("IpPermissions.1.IpProtocol", "tcp"),
            ("IpPermissions.1.FromPort", "80"),
            ("IpPermissions.1.ToPort", "80"),
            ("IpPermissions.1.IpRanges.1.CidrIp", "0.0.0.0/0"),
        ],
    )
    .await;
    Network {
        vpc_id,
        subnet_ids,
        security_group_id,
    }
}

/// EC2 through its Query protocol over plain HTTP, for test setup only.
///
/// Why not `aws-sdk-ec2`: the library never calls EC2, and that crate takes many minutes to compile
/// on a small machine. The fixture needs just four EC2 calls (moto checks that the subnets and the
/// security group given to ELBv2 and ECS exist), so it sends them as the form-encoded POSTs the
/// Query protocol defines. moto routes a request by the credential scope of its `Authorization`
/// header (service `ec2`) and does not verify signatures, so a fixed dummy header suffices; the
/// account comes from `x-moto-account-id` as for the SDK clients. No extra crate is needed.
pub struct Ec2Query<'a> {
    endpoint: &'a str,
    account: &'a str,
}

impl<'a> Ec2Query<'a> {
    /// EC2 on the moto server at `endpoint` (`http://host:port`), acting in `account`.
    pub fn new(endpoint: &'a str, account: &'a str) -> Self {
        Self { endpoint, account }
    }

    /// Calls `action` with `params`; returns the XML body of a 200 response, panics otherwise.
    pub async fn call(&self, action: &str, params: &[(&str, &str)]) -> String {
        let authority = self
            .endpoint
            .strip_prefix("http://")
            .unwrap_or_else(|| {
                panic!(
                    "fixture: EC2 needs an http:// endpoint, got {}",
                    self.endpoint
                )
            })
            .trim_end_matches('/');
        let mut body = format!("Action={action}&Version=2016-11-15");
        for (k, v) in params {
            body.push('&');
            body.push_str(&form_encode(k));
            body.push('=');
            body.push_str(&form_encode(v));
        }
        let request = format!(
            "POST / HTTP/1.1\r\n\
             Host: {authority}\r\n\
             Content-Type: application/x-www-form-urlencoded; charset=utf-8\r\n\
             Content-Length: {len}\r\n\
             Authorization: AWS4-HMAC-SHA256 Credential=AKID/20260101/{REGION}/ec2/aws4_request, SignedHeaders=host, Signature=x\r\n\
             x-moto-account-id: {account}\r\n\
             Connection: close\r\n\r\n{body}",
            len = body.len(),
            account = self.account,
        );
        let mut stream = ok(
            "EC2 connect",
            tokio::net::TcpStream::connect(authority).await,
        );
        ok("EC2 send", stream.write_all(request.as_bytes()).await);
        let mut response = Vec::new();
        ok("EC2 receive", stream.read_to_end(&mut response).await);
        let response = String::from_utf8_lossy(&response);
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        let status = head.split(' ').nth(1).unwrap_or("");
        assert_eq!(
            status, "200",
            "fixture: EC2 {action} failed: {head}\n{body}"
        );
        body.to_owned()
    }
}

/// `application/x-www-form-urlencoded` encoding of one key or value.
fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The text of the first `<tag>…</tag>` in `xml`.
fn xml_value(xml: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let start = xml.find(&open).map(|i| i + open.len());
    let value = start.and_then(|s| xml[s..].find(&format!("</{tag}>")).map(|e| &xml[s..s + e]));
    value
        .unwrap_or_else(|| panic!("fixture: no <{tag}> in EC2 response:\n{xml}"))
        .to_owned()
}

// ------------------------------------------------------------------------------- load balancer

struct LoadBalancer {
    load_balancer_arn: String,
    listener_arn: String,
    target_group_arn: String,
}

fn elb_tag(key: &str, value: &str) -> elb::Tag {
    elb::Tag::builder().key(key).value(value).build()
}

async fn seed_load_balancer(aws: &AwsClients, net: &Network) -> LoadBalancer {
    let lb = ok(
        "CreateLoadBalancer",
        aws.elbv2
            .create_load_balancer()
            .name(LOAD_BALANCER)
            .r#type(elb::LoadBalancerTypeEnum::Application)
            .scheme(elb::LoadBalancerSchemeEnum::InternetFacing)
            .ip_address_type(elb::IpAddressType::Ipv4)
            .set_subnets(Some(net.subnet_ids.clone()))
            .security_groups(&net.security_group_id)
            .tags(elb_tag("app", "web"))
            .send()
            .await,
    );
    let load_balancer_arn = lb.load_balancers()[0]
        .load_balancer_arn()
        .expect("load balancer ARN")
        .to_owned();

    let tg = ok(
        "CreateTargetGroup",
        aws.elbv2
            .create_target_group()
            .name(TARGET_GROUP)
            .protocol(elb::ProtocolEnum::Http)
            .protocol_version("HTTP1")
            .port(80)
            .vpc_id(&net.vpc_id)
            .target_type(elb::TargetTypeEnum::Ip)
            .health_check_enabled(true)
            .health_check_protocol(elb::ProtocolEnum::Http)
            .health_check_port("traffic-port")
            .health_check_path("/health")
            .health_check_interval_seconds(15)
            .health_check_timeout_seconds(6)
            .healthy_threshold_count(3)
            .unhealthy_threshold_count(4)
            .matcher(elb::Matcher::builder().http_code("200-299").build())
            .tags(elb_tag("app", "web"))
            .tags(elb_tag("env", "prod"))
            .send()
            .await,
    );
    let target_group_arn = tg.target_groups()[0]
        .target_group_arn()
        .expect("target group ARN")
        .to_owned();

    let mut attrs = aws
        .elbv2
        .modify_target_group_attributes()
        .target_group_arn(&target_group_arn);
    for (key, value) in TARGET_GROUP_ATTRIBUTES {
        attrs = attrs.attributes(
            elb::TargetGroupAttribute::builder()
                .key(key)
                .value(value)
                .build(),
        );
    }
    ok("ModifyTargetGroupAttributes", attrs.send().await);

    let listener = ok(
        "CreateListener",
        aws.elbv2
            .create_listener()
            .load_balancer_arn(&load_balancer_arn)
            .protocol(elb::ProtocolEnum::Http)
            .port(LISTENER_PORT)
            .default_actions(
                elb::Action::builder()
                    .r#type(elb::ActionTypeEnum::Forward)
                    .target_group_arn(&target_group_arn)
                    .build(),
            )
            .send()
            .await,
    );
    let listener_arn = listener.listeners()[0]
        .listener_arn()
        .expect("listener ARN")
        .to_owned();
    LoadBalancer {
        load_balancer_arn,
        listener_arn,
        target_group_arn,
    }
}

// ------------------------------------------------------------------------------ IAM and tasks

fn trust_policy(service: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Service": service },
            "Action": "sts:AssumeRole"
        }]
    })
    .to_string()
}

async fn create_role(aws: &AwsClients, name: &str, service: &str, description: &str) -> String {
    let role = ok(
        &format!("CreateRole {name}"),
        aws.iam
            .create_role()
            .role_name(name)
            .assume_role_policy_document(trust_policy(service))
            .description(description)
            .tags(ok(
                "IAM tag",
                aws_sdk_iam::types::Tag::builder()
                    .key("app")
                    .value("web")
                    .build(),
            ))
            .send()
            .await,
    );
    role.role().expect("created role").arn().to_owned()
}

/// Returns (execution role ARN, task role ARN, task definition ARN).
async fn seed_task_definition(aws: &AwsClients, account: &str) -> (String, String, String) {
    let (execution_role_arn, task_role_arn) = tokio::join!(
        async {
            let arn = create_role(
                aws,
                "web-execution-role",
                "ecs-tasks.amazonaws.com",
                "ECS task execution",
            )
            .await;
            ok(
                "AttachRolePolicy",
                aws.iam
                    .attach_role_policy()
                    .role_name("web-execution-role")
                    .policy_arn(
                        "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
                    )
                    .send()
                    .await,
            );
            arn
        },
        create_role(
            aws,
            "web-task-role",
            "ecs-tasks.amazonaws.com",
            "what the web containers may call"
        ),
    );

    let secret_arn =
        format!("arn:aws:secretsmanager:{REGION}:{account}:secret:prod/web/db-password-Ab12Cd");
    let container = ecs::ContainerDefinition::builder()
        .name(CONTAINER)
        .image(IMAGE)
        .essential(true)
        .port_mappings(
            ecs::PortMapping::builder()
                .container_port(CONTAINER_PORT)
                .host_port(CONTAINER_PORT)
                .protocol(ecs::TransportProtocol::Tcp)
                .build(),
        )
        .environment(
            ecs::KeyValuePair::builder()
                .name("APP_ENV")
                .value("prod")
                .build(),
        )
        .environment(
            ecs::KeyValuePair::builder()
                .name("LOG_LEVEL")
                .value("info")
                .build(),
        )
        .secrets(ok(
            "Secret",
            ecs::Secret::builder()
                .name("DB_PASSWORD")
                .value_from(secret_arn)
                .build(),
        ))
        .log_configuration(ok(
            "LogConfiguration",
            ecs::LogConfiguration::builder()
                .log_driver(ecs::LogDriver::Awslogs)
                .options("awslogs-group", "/ecs/web")
                .options("awslogs-region", REGION)
                .options("awslogs-stream-prefix", "web")
                .build(),
        ))
        .build();
    let td = ok(
        "RegisterTaskDefinition",
        aws.ecs
            .register_task_definition()
            .family(TASK_FAMILY)
            .requires_compatibilities(ecs::Compatibility::Fargate)
            .network_mode(ecs::NetworkMode::Awsvpc)
            .cpu("256")
            .memory("512")
            .execution_role_arn(&execution_role_arn)
            .task_role_arn(&task_role_arn)
            .container_definitions(container)
            .tags(ecs::Tag::builder().key("app").value("web").build())
            .tags(ecs::Tag::builder().key("team").value("platform").build())
            .send()
            .await,
    );
    let task_definition_arn = td
        .task_definition()
        .and_then(|t| t.task_definition_arn())
        .expect("task definition ARN")
        .to_owned();
    (execution_role_arn, task_role_arn, task_definition_arn)
}

async fn seed_cluster(aws: &AwsClients) -> String {
    let cluster = ok(
        "CreateCluster",
        aws.ecs
            .create_cluster()
            .cluster_name(CLUSTER)
            .tags(ecs::Tag::builder().key("env").value("prod").build())
            .send()
            .await,
    );
    cluster
        .cluster()
        .and_then(|c| c.cluster_arn())
        .expect("cluster ARN")
        .to_owned()
}

async fn seed_service(
    aws: &AwsClients,
    net: &Network,
    target_group_arn: &str,
    task_definition_arn: &str,
) -> String {
    let service = ok(
        "CreateService",
        aws.ecs
            .create_service()
            .cluster(CLUSTER)
            .service_name(SERVICE)
            .task_definition(task_definition_arn)
            .load_balancers(
                ecs::LoadBalancer::builder()
                    .target_group_arn(target_group_arn)
                    .container_name(CONTAINER)
                    .container_port(CONTAINER_PORT)
                    .build(),
            )
            .desired_count(2)
            .launch_type(ecs::LaunchType::Fargate)
            .platform_version("LATEST")
            .network_configuration(
                ecs::NetworkConfiguration::builder()
                    .awsvpc_configuration(ok(
                        "AwsVpcConfiguration",
                        ecs::AwsVpcConfiguration::builder()
                            .set_subnets(Some(net.subnet_ids.clone()))
                            .security_groups(&net.security_group_id)
                            .assign_public_ip(ecs::AssignPublicIp::Disabled)
                            .build(),
                    ))
                    .build(),
            )
            .health_check_grace_period_seconds(60)
            .deployment_controller(ok(
                "DeploymentController",
                ecs::DeploymentController::builder()
                    .r#type(ecs::DeploymentControllerType::Ecs)
                    .build(),
            ))
            .deployment_configuration(
                ecs::DeploymentConfiguration::builder()
                    .maximum_percent(200)
                    .minimum_healthy_percent(100)
                    .deployment_circuit_breaker(
                        ecs::DeploymentCircuitBreaker::builder()
                            .enable(true)
                            .rollback(true)
                            .build(),
                    )
                    .build(),
            )
            .scheduling_strategy(ecs::SchedulingStrategy::Replica)
            .tags(ecs::Tag::builder().key("app").value("web").build())
            .tags(ecs::Tag::builder().key("env").value("prod").build())
            .propagate_tags(ecs::PropagateTags::Service)
            .enable_ecs_managed_tags(true)
            .send()
            .await,
    );
    service
        .service()
        .and_then(|s| s.service_arn())
        .expect("service ARN")
        .to_owned()
}

// ------------------------------------------------------------------------------------ pipeline

fn action(
    name: &str,
    category: cp::ActionCategory,
    provider: &str,
    configuration: &[(&str, &str)],
    input: Option<&str>,
    output: Option<&str>,
) -> cp::ActionDeclaration {
    let mut a = cp::ActionDeclaration::builder()
        .name(name)
        .action_type_id(ok(
            "ActionTypeId",
            cp::ActionTypeId::builder()
                .category(category)
                .owner(cp::ActionOwner::Aws)
                .provider(provider)
                .version("1")
                .build(),
        ))
        .run_order(1);
    for (k, v) in configuration {
        a = a.configuration(*k, *v);
    }
    if let Some(input) = input {
        a = a.input_artifacts(ok(
            "InputArtifact",
            cp::InputArtifact::builder().name(input).build(),
        ));
    }
    if let Some(output) = output {
        a = a.output_artifacts(ok(
            "OutputArtifact",
            cp::OutputArtifact::builder().name(output).build(),
        ));
    }
    ok("ActionDeclaration", a.build())
}

fn stage(name: &str, action: cp::ActionDeclaration) -> cp::StageDeclaration {
    ok(
        "StageDeclaration",
        cp::StageDeclaration::builder()
            .name(name)
            .actions(action)
            .build(),
    )
}

/// The inline policy of the fixture's pipeline role (the `ECS` deploy action's permissions).
pub const PIPELINE_ROLE_POLICY: &str = "web-pipeline-ecs-deploy";

/// Returns the pipeline role ARN.
async fn seed_pipeline(aws: &AwsClients) -> String {
    let role_arn = create_role(
        aws,
        "web-pipeline-role",
        "codepipeline.amazonaws.com",
        "web-pipeline",
    )
    .await;
    // What a least-privilege role written for the ECS deploy action holds: nothing for CodeDeploy.
    ok(
        "PutRolePolicy web-pipeline-role",
        aws.iam
            .put_role_policy()
            .role_name("web-pipeline-role")
            .policy_name(PIPELINE_ROLE_POLICY)
            .policy_document(ecs_bluegreen::testing::sample::ECS_DEPLOY_POLICY)
            .send()
            .await,
    );
    let connection = "arn:aws:codestar-connections:us-east-1:123456789012:connection/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab";
    let pipeline = ok(
        "PipelineDeclaration",
        cp::PipelineDeclaration::builder()
            .name(PIPELINE)
            .role_arn(&role_arn)
            .artifact_store(ok(
                "ArtifactStore",
                cp::ArtifactStore::builder()
                    .r#type(cp::ArtifactStoreType::S3)
                    .location(ARTIFACT_BUCKET)
                    .build(),
            ))
            .stages(stage(
                "Source",
                action(
                    "Source",
                    cp::ActionCategory::Source,
                    "CodeStarSourceConnection",
                    &[
                        ("ConnectionArn", connection),
                        ("FullRepositoryId", "example-org/web"),
                        ("BranchName", "main"),
                        ("OutputArtifactFormat", "CODE_ZIP"),
                    ],
                    None,
                    Some("SourceArtifact"),
                ),
            ))
            .stages(stage(
                "Build",
                action(
                    "Build",
                    cp::ActionCategory::Build,
                    "CodeBuild",
                    &[("ProjectName", "web-build")],
                    Some("SourceArtifact"),
                    Some("BuildArtifact"),
                ),
            ))
            .stages(stage(
                "Deploy",
                action(
                    "Deploy",
                    cp::ActionCategory::Deploy,
                    "ECS",
                    &[
                        ("ClusterName", CLUSTER),
                        ("ServiceName", SERVICE),
                        ("FileName", "imagedefinitions.json"),
                    ],
                    Some("BuildArtifact"),
                    None,
                ),
            ))
            .build(),
    );
    ok(
        "CreatePipeline",
        aws.codepipeline
            .create_pipeline()
            .pipeline(pipeline)
            .tags(ok(
                "pipeline tag",
                cp::Tag::builder().key("app").value("web").build(),
            ))
            .send()
            .await,
    );
    role_arn
}

// ------------------------------------------------------------------------------------- fleets

/// Adds a rolling Fargate service `name` to the fixture's cluster, shaped as `web` (same task
/// definition and network), behind a new target group `<name>-tg` that a new HTTP listener on
/// `listener_port` forwards to: on the load balancer `load_balancer_arn`, or on a new ALB
/// `<name>-alb` when `None`. Returns the load balancer's ARN.
pub async fn seed_extra_service(
    aws: &AwsClients,
    f: &Fixture,
    name: &str,
    load_balancer_arn: Option<&str>,
    listener_port: i32,
) -> String {
    let lb_arn = match load_balancer_arn {
        Some(arn) => arn.to_owned(),
        None => ok(
            "CreateLoadBalancer",
            aws.elbv2
                .create_load_balancer()
                .name(format!("{name}-alb"))
                .r#type(elb::LoadBalancerTypeEnum::Application)
                .set_subnets(Some(f.subnet_ids.clone()))
                .security_groups(&f.security_group_id)
                .send()
                .await,
        )
        .load_balancers()[0]
            .load_balancer_arn()
            .expect("load balancer ARN")
            .to_owned(),
    };
    let tg = ok(
        "CreateTargetGroup",
        aws.elbv2
            .create_target_group()
            .name(format!("{name}-tg"))
            .protocol(elb::ProtocolEnum::Http)
            .port(80)
            .vpc_id(&f.vpc_id)
            .target_type(elb::TargetTypeEnum::Ip)
            .health_check_path("/health")
            .send()
            .await,
    );
    let tg_arn = tg.target_groups()[0].target_group_arn().expect("target group ARN").to_owned();
    ok(
        "CreateListener",
        aws.elbv2
            .create_listener()
            .load_balancer_arn(&lb_arn)
            .protocol(elb::ProtocolEnum::Http)
            .port(listener_port)
            .default_actions(elb::Action::builder().r#type(elb::ActionTypeEnum::Forward).target_group_arn(&tg_arn).build())
            .send()
            .await,
    );
    ok(
        "CreateService",
        aws.ecs
            .create_service()
            .cluster(&f.cluster_name)
            .service_name(name)
            .task_definition(&f.task_definition_arn)
            .load_balancers(
                ecs::LoadBalancer::builder()
                    .target_group_arn(&tg_arn)
                    .container_name(CONTAINER)
                    .container_port(CONTAINER_PORT)
                    .build(),
            )
            .desired_count(1)
            .launch_type(ecs::LaunchType::Fargate)
            .network_configuration(
                ecs::NetworkConfiguration::builder()
                    .awsvpc_configuration(ok(
                        "AwsVpcConfiguration",
                        ecs::AwsVpcConfiguration::builder()
                            .set_subnets(Some(f.subnet_ids.clone()))
                            .security_groups(&f.security_group_id)
                            .build(),
                    ))
                    .build(),
            )
            .deployment_controller(ok(
                "DeploymentController",
                ecs::DeploymentController::builder().r#type(ecs::DeploymentControllerType::Ecs).build(),
            ))
            .send()
            .await,
    );
    lb_arn
}
