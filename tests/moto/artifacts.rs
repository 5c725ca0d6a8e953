//! Deploy artifacts: taskdef.json, appspec.yml, imageDetail.json and the buildspec patch.
//!
//! Run with `cargo test --test moto artifacts::` (the moto tests start moto if `MOTO_ENDPOINT`
//! is unset, see `tests/moto/main.rs`) or `scripts/test artifacts::`; the buildspec and appspec
//! tests are pure.

use crate::common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput;
use aws_sdk_ecs::types::{ContainerDefinition, TaskDefinitionField};
use aws_smithy_json::codec::{JsonCodec, JsonCodecSettings};
use aws_smithy_schema::codec::Codec;
use common::fixture::{self, Fixture, seed_rolling_account};
use common::{fresh_account, moto_clients, moto_endpoint};
use ecs_bluegreen::artifacts::{
    self, AppSpec, ArtifactOptions, BuildspecSnippet, DESCRIBE_ONLY_KEYS, HookEvent, Hooks, ImageDetail,
    TaskDefOptions, TaskDefTemplate, fetch_task_definition_json, patch_buildspec,
};
use ecs_bluegreen::inventory::{CapacityProviderItem, ServiceDefinition};
use ecs_bluegreen::plan::{ChangeDetail, StepId};
use ecs_bluegreen::spec::{Migration, PipelineDeployStage, PipelineName, Port};
use ecs_bluegreen::{AwsClients, ErrorKind};
use serde_json::{Value, json};

const NEW_IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:2.0";

async fn seeded() -> (AwsClients, Fixture) {
    let account = fresh_account();
    let aws = moto_clients(&account);
    let f = seed_rolling_account(&aws, &moto_endpoint(), &account).await;
    (aws, f)
}

fn secret_arn(f: &Fixture) -> String {
    format!("arn:aws:secretsmanager:{}:{}:secret:prod/web/db-password-Ab12Cd", f.region, f.account)
}

fn web_opts() -> TaskDefOptions {
    TaskDefOptions::builder().load_balanced_container(fixture::CONTAINER).build()
}

/// Member names of an SDK shape (its wire keys).
fn members(schema: &aws_smithy_schema::Schema<'_>) -> BTreeSet<String> {
    schema.members().iter().filter_map(|m| m.member_name()).map(str::to_owned).collect()
}

/// Parses taskdef.json with the SDK's own awsJson 1.1 codec settings into the input shape of
/// RegisterTaskDefinition, after checking every key is a member of that shape.
fn parse_register_input(text: &str) -> RegisterTaskDefinitionInput {
    let doc: Value = serde_json::from_str(text).expect("taskdef.json is JSON");
    let allowed = members(RegisterTaskDefinitionInput::SCHEMA);
    for key in doc.as_object().expect("an object").keys() {
        assert!(allowed.contains(key), "RegisterTaskDefinition has no member {key:?} (it would refuse the file)");
    }
    let container_keys = members(ContainerDefinition::SCHEMA);
    for c in doc["containerDefinitions"].as_array().expect("containers") {
        for key in c.as_object().expect("a container object").keys() {
            assert!(container_keys.contains(key), "ContainerDefinition has no member {key:?}");
        }
    }
    let codec = JsonCodec::new(
        JsonCodecSettings::builder()
            .use_json_name(false)
            .default_timestamp_format(aws_smithy_types::date_time::Format::EpochSeconds)
            .build(),
    );
    let mut de = codec.create_deserializer(text.as_bytes());
    RegisterTaskDefinitionInput::deserialize(&mut de)
        .expect("the SDK reads taskdef.json as RegisterTaskDefinition input")
}

/// Sends every member of the parsed input through the SDK's fluent builder; returns the new ARN.
async fn register(aws: &AwsClients, input: RegisterTaskDefinitionInput) -> String {
    #[allow(deprecated)] // inferenceAccelerators: still a member, so still sent
    let req = aws
        .ecs
        .register_task_definition()
        .set_family(input.family.clone())
        .set_task_role_arn(input.task_role_arn.clone())
        .set_execution_role_arn(input.execution_role_arn.clone())
        .set_network_mode(input.network_mode.clone())
        .set_container_definitions(input.container_definitions.clone())
        .set_volumes(input.volumes.clone())
        .set_placement_constraints(input.placement_constraints.clone())
        .set_requires_compatibilities(input.requires_compatibilities.clone())
        .set_cpu(input.cpu.clone())
        .set_memory(input.memory.clone())
        .set_tags(input.tags.clone())
        .set_pid_mode(input.pid_mode.clone())
        .set_ipc_mode(input.ipc_mode.clone())
        .set_proxy_configuration(input.proxy_configuration.clone())
        .set_inference_accelerators(input.inference_accelerators.clone())
        .set_ephemeral_storage(input.ephemeral_storage.clone())
        .set_runtime_platform(input.runtime_platform.clone())
        .set_enable_fault_injection(input.enable_fault_injection);
    let out = req.send().await.expect("RegisterTaskDefinition accepts the template");
    out.task_definition().and_then(|t| t.task_definition_arn()).expect("new ARN").to_owned()
}

/// `taskDefinition` of a describe body without the keys that differ between revisions.
fn comparable(describe: &Value) -> Value {
    let mut td = describe["taskDefinition"].clone();
    let m = td.as_object_mut().unwrap();
    for k in DESCRIBE_ONLY_KEYS {
        m.remove(k);
    }
    td
}

fn yaml(text: &str) -> Value {
    serde_norway::from_str(text).unwrap_or_else(|e| panic!("not valid YAML ({e}):\n{text}"))
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("ecs-bluegreen-{tag}-{}-{}", std::process::id(), fresh_account()));
        Self(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ------------------------------------------------------------------------------ moto: fetch

#[tokio::test]
async fn fetch_returns_the_raw_describe_body_with_tags() {
    let (aws, f) = seeded().await;
    let body = fetch_task_definition_json(&aws, &f.task_definition_arn).await.unwrap();
    let td = &body["taskDefinition"];
    assert_eq!(td["taskDefinitionArn"], f.task_definition_arn.as_str());
    assert_eq!(td["family"], fixture::TASK_FAMILY);
    assert_eq!(td["cpu"], "256");
    assert_eq!(td["containerDefinitions"][0]["image"], fixture::IMAGE);
    assert_eq!(td["containerDefinitions"][0]["secrets"], json!([{"name": "DB_PASSWORD", "valueFrom": secret_arn(&f)}]));
    assert_eq!(body["tags"], json!([{"key": "app", "value": "web"}, {"key": "team", "value": "platform"}]));

    // The same call through the SDK's typed output agrees on what both can see.
    let typed = aws
        .ecs
        .describe_task_definition()
        .task_definition(&f.task_definition_arn)
        .include(TaskDefinitionField::Tags)
        .send()
        .await
        .unwrap();
    let t = typed.task_definition().unwrap();
    assert_eq!(td["revision"], t.revision());
    assert_eq!(td["executionRoleArn"], t.execution_role_arn().unwrap());
    assert_eq!(body["tags"].as_array().unwrap().len(), typed.tags().len());
}

#[tokio::test]
async fn fetch_of_a_missing_task_definition_is_an_aws_error() {
    let (aws, f) = seeded().await;
    let missing = f.task_definition_arn.replace("web:1", "nope:9");
    let err = fetch_task_definition_json(&aws, &missing).await.unwrap_err();
    let ecs_bluegreen::Error::Aws(api) = &err else { panic!("expected an AWS error, got {err:?}") };
    assert_eq!(api.operation(), "DescribeTaskDefinition");
    assert_eq!(api.resource(), missing);
    assert_ne!(err.kind(), ErrorKind::Timeout);
}

/// Clients whose ECS answers DescribeTaskDefinition from `rule`; no HTTP leaves the process.
fn mocked_ecs(rule: aws_smithy_mocks::Rule) -> AwsClients {
    let cfg = aws_types::SdkConfig::builder()
        .behavior_version(aws_smithy_runtime_api::client::behavior_version::BehaviorVersion::latest())
        .region(aws_types::region::Region::new(common::REGION))
        .credentials_provider(aws_types::sdk_config::SharedCredentialsProvider::new(
            aws_sdk_ecs::config::Credentials::new("AKIDMOCKED", "mocked", None, None, "mocks"),
        ))
        .http_client(aws_smithy_mocks::create_mock_http_client())
        .build();
    let mut aws = AwsClients::from_conf(&cfg);
    aws.ecs = aws_sdk_ecs::Client::from_conf(
        aws_sdk_ecs::config::Builder::from(&cfg)
            .interceptor(aws_smithy_mocks::MockResponseInterceptor::new().with_rule(&rule))
            .build(),
    );
    aws
}

#[tokio::test]
async fn fetch_with_mocks_needs_an_http_response() {
    let body = r#"{"taskDefinition":{"family":"web","revision":3,"containerDefinitions":[{"name":"web","image":"nginx"}],"newField":1},"tags":[]}"#;
    let rule = aws_smithy_mocks::mock!(aws_sdk_ecs::Client::describe_task_definition).then_http_response(move || {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(200).unwrap(),
            aws_smithy_types::body::SdkBody::from(body),
        )
    });
    let got = fetch_task_definition_json(&mocked_ecs(rule), "web:3").await.unwrap();
    assert_eq!(got, serde_json::from_str::<Value>(body).unwrap(), "every field, the SDK's unknown ones too");

    // A modeled output has no body: the call is refused rather than guessed.
    let rule = aws_smithy_mocks::mock!(aws_sdk_ecs::Client::describe_task_definition).then_output(|| {
        aws_sdk_ecs::operation::describe_task_definition::DescribeTaskDefinitionOutput::builder().build()
    });
    let err = fetch_task_definition_json(&mocked_ecs(rule), "web:3").await.unwrap_err();
    assert!(err.to_string().contains("could not be captured"), "{err}");
}

// --------------------------------------------------------------------------- moto: taskdef

#[tokio::test]
async fn template_registers_and_round_trips_every_field() {
    let (aws, f) = seeded().await;
    let original = fetch_task_definition_json(&aws, &f.task_definition_arn).await.unwrap();
    let template = TaskDefTemplate::from_describe_json(&original, &web_opts()).unwrap();
    let text = template.to_json_pretty();
    let doc: Value = serde_json::from_str(&text).unwrap();

    for k in DESCRIBE_ONLY_KEYS {
        assert!(doc.get(k).is_none(), "describe-only key {k} in taskdef.json:\n{text}");
    }
    assert!(doc.get("tags").is_none(), "tags are left out by default");
    let web = &doc["containerDefinitions"][0];
    assert_eq!(web["image"], "<IMAGE1_NAME>");
    assert_eq!(web["secrets"], json!([{"name": "DB_PASSWORD", "valueFrom": secret_arn(&f)}]));
    assert_eq!(template.placeholders()[0].original_image.as_deref(), Some(fixture::IMAGE));

    // What CodePipeline does: substitute the image, then register.
    let deployed = text.replace("<IMAGE1_NAME>", NEW_IMAGE);
    let input = parse_register_input(&deployed);
    assert_eq!(input.family(), Some(fixture::TASK_FAMILY));
    assert_eq!(input.container_definitions()[0].image(), Some(NEW_IMAGE));
    let new_arn = register(&aws, input).await;
    assert!(new_arn.ends_with(":2"), "{new_arn}");

    let registered = fetch_task_definition_json(&aws, &new_arn).await.unwrap();
    let mut expected = comparable(&original);
    expected["containerDefinitions"][0]["image"] = json!(NEW_IMAGE);
    assert_eq!(comparable(&registered), expected, "the new revision differs from the original beyond its image");
    assert!(registered.get("tags").is_none_or(|t| t.as_array().is_some_and(Vec::is_empty)));
}

#[tokio::test]
async fn tags_are_written_when_asked_and_register() {
    let (aws, f) = seeded().await;
    let original = fetch_task_definition_json(&aws, &f.task_definition_arn).await.unwrap();
    let mut opts = web_opts();
    opts.include_tags = true;
    let template = TaskDefTemplate::from_describe_json(&original, &opts).unwrap();
    let text = template.to_json_pretty();
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["tags"], json!([{"key": "app", "value": "web"}, {"key": "team", "value": "platform"}]));

    let new_arn = register(&aws, parse_register_input(&text.replace("<IMAGE1_NAME>", NEW_IMAGE))).await;
    let registered = fetch_task_definition_json(&aws, &new_arn).await.unwrap();
    assert_eq!(registered["tags"], doc["tags"]);
}

#[tokio::test]
async fn staging_template_from_the_production_one_registers() {
    let (aws, f) = seeded().await;
    let original = fetch_task_definition_json(&aws, &f.task_definition_arn).await.unwrap();
    let opts = TaskDefOptions::builder()
        .load_balanced_container(fixture::CONTAINER)
        .substitution("prod", "staging")
        .substitution("web", "web-staging")
        .build();
    let template = TaskDefTemplate::from_describe_json(&original, &opts).unwrap();
    let doc = template.to_value();
    assert_eq!(doc["family"], "web-staging");
    let c = &doc["containerDefinitions"][0];
    assert_eq!(c["name"], "web-staging");
    assert_eq!(c["image"], "<IMAGE1_NAME>");
    assert_eq!(c["environment"][0], json!({"name": "APP_ENV", "value": "staging"}));
    assert_eq!(c["secrets"][0]["valueFrom"], secret_arn(&f).replace("prod/web/", "staging/web-staging/"));
    assert_eq!(c["logConfiguration"]["options"]["awslogs-group"], "/ecs/web-staging");

    let input = parse_register_input(&template.to_json_pretty().replace("<IMAGE1_NAME>", NEW_IMAGE));
    let arn = register(&aws, input).await;
    assert!(arn.contains(":task-definition/web-staging:1"), "{arn}");
}

// -------------------------------------------------------------------------- moto: generate

#[tokio::test]
async fn generate_builds_and_writes_every_artifact_from_the_plan() {
    let (aws, f) = seeded().await;
    let migration = Migration::for_service(&f.cluster_name, &f.service_name)
        .unwrap()
        .test_listener_port(Port::new(8080).unwrap())
        .pipeline(PipelineDeployStage::named(PipelineName::new(&f.pipeline_name).unwrap()))
        .build();
    let plan = migration.plan(&aws).await.unwrap();
    let Some(ChangeDetail::ServiceCutover { to, .. }) = plan.change(StepId::ServiceCutover).map(|c| &c.detail) else {
        panic!("no cutover change")
    };
    assert_eq!(to.task_definition.as_deref(), Some(f.task_definition_arn.as_str()));

    let hooks = Hooks::new().with(HookEvent::AfterAllowTestTraffic, "CodeDeployHook_smoke");
    let arts = artifacts::generate(&aws, &plan, &ArtifactOptions::builder().hooks(hooks).build()).await.unwrap();

    assert_eq!(arts.appspec.container_name, fixture::CONTAINER);
    assert_eq!(i32::from(arts.appspec.container_port), fixture::CONTAINER_PORT);
    assert_eq!(arts.image_detail, ImageDetail::new(fixture::IMAGE));
    assert_eq!(arts.taskdef.placeholders().len(), 1);
    assert_eq!(arts.taskdef.placeholders()[0].container, fixture::CONTAINER);
    assert_eq!(arts.buildspec_snippet.artifact_files, ["imageDetail.json", "taskdef.json", "appspec.yml"]);

    let dir = TempDir::new("artifacts");
    let paths = arts.write_to(&dir.0).unwrap();
    let names: Vec<_> = paths.iter().map(|p| p.file_name().unwrap().to_str().unwrap().to_owned()).collect();
    assert_eq!(names, ["taskdef.json", "appspec.yml", "imageDetail.json", "buildspec-snippet.yml"]);
    let read = |name: &str| std::fs::read_to_string(dir.0.join(name)).unwrap();

    let taskdef: Value = serde_json::from_str(&read("taskdef.json")).unwrap();
    assert_eq!(taskdef["containerDefinitions"][0]["image"], "<IMAGE1_NAME>");
    assert!(DESCRIBE_ONLY_KEYS.iter().all(|k| taskdef.get(k).is_none()));

    let detail: Value = serde_json::from_str(&read("imageDetail.json")).unwrap();
    assert_eq!(detail, json!({"ImageURI": fixture::IMAGE}));

    let appspec = yaml(&read("appspec.yml"));
    assert_eq!(appspec["version"], json!(0.0));
    let props = &appspec["Resources"][0]["TargetService"]["Properties"];
    assert_eq!(appspec["Resources"][0]["TargetService"]["Type"], "AWS::ECS::Service");
    assert_eq!(props["TaskDefinition"], "<TASK_DEFINITION>");
    assert_eq!(props["LoadBalancerInfo"], json!({"ContainerName": "web", "ContainerPort": 80}));
    assert!(props["LoadBalancerInfo"]["ContainerPort"].is_u64(), "ContainerPort must be a number");
    assert_eq!(props["PlatformVersion"], "LATEST");
    assert_eq!(
        props["NetworkConfiguration"]["AwsvpcConfiguration"],
        json!({"Subnets": f.subnet_ids, "SecurityGroups": [f.security_group_id], "AssignPublicIp": "DISABLED"})
    );
    assert_eq!(appspec["Hooks"], json!([{"AfterAllowTestTraffic": "CodeDeployHook_smoke"}]));

    let snippet = yaml(&read("buildspec-snippet.yml"));
    assert_eq!(
        snippet["phases"]["post_build"]["commands"],
        json!([r#"printf '{"ImageURI":"%s"}' "$REPOSITORY_URI:$IMAGE_TAG" > imageDetail.json"#])
    );
    assert_eq!(snippet["artifacts"]["files"], json!(["imageDetail.json", "taskdef.json", "appspec.yml"]));
}

#[tokio::test]
async fn generate_refuses_a_port_the_task_definition_does_not_map() {
    let (aws, f) = seeded().await;
    let migration = Migration::for_service(&f.cluster_name, &f.service_name).unwrap().build();
    let mut plan = migration.plan(&aws).await.unwrap();
    for c in &mut plan.changes {
        if let ChangeDetail::ServiceCutover { to, .. } = &mut c.detail {
            to.load_balancers[0].container_port = Some(8443);
        }
    }
    let err = artifacts::generate(&aws, &plan, &ArtifactOptions::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("8443"), "{err}");
}

// ------------------------------------------------------------------------------ appspec (pure)

#[test]
fn appspec_with_capacity_providers_and_hooks_parses_as_yaml() {
    let svc = ServiceDefinition {
        name: "api".into(),
        load_balancers: vec![ecs_bluegreen::inventory::LoadBalancerEntry {
            target_group_arn: Some("arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/api/1".into()),
            load_balancer_name: None,
            container_name: Some("api: \"main\"".into()),
            container_port: Some(8080),
            advanced_configuration: None,
        }],
        capacity_provider_strategy: vec![
            CapacityProviderItem { capacity_provider: "FARGATE".into(), weight: 1, base: 2 },
            CapacityProviderItem { capacity_provider: "FARGATE_SPOT".into(), weight: 4, base: 0 },
        ],
        platform_version: Some("1.4.0".into()),
        ..Default::default()
    };
    let hooks = Hooks::new()
        .with(HookEvent::AfterAllowTraffic, "CodeDeployHook_after")
        .with(HookEvent::BeforeInstall, "CodeDeployHook_before");
    let spec = AppSpec::from_service(&svc, hooks).unwrap();
    let v = yaml(&spec.to_string());
    let props = &v["Resources"][0]["TargetService"]["Properties"];
    assert_eq!(props["LoadBalancerInfo"], json!({"ContainerName": "api: \"main\"", "ContainerPort": 8080}));
    assert_eq!(
        props["CapacityProviderStrategy"],
        json!([{"Base": 2, "CapacityProvider": "FARGATE", "Weight": 1}, {"Base": 0, "CapacityProvider": "FARGATE_SPOT", "Weight": 4}])
    );
    assert!(props.get("NetworkConfiguration").is_none());
    assert_eq!(
        v["Hooks"],
        json!([{"BeforeInstall": "CodeDeployHook_before"}, {"AfterAllowTraffic": "CodeDeployHook_after"}])
    );
}

#[test]
fn ec2_bridge_two_containers_two_images() {
    let describe = json!({
        "taskDefinition": {
            "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/shop:12",
            "family": "shop", "revision": 12, "status": "ACTIVE",
            "networkMode": "bridge", "requiresCompatibilities": ["EC2"], "compatibilities": ["EC2"],
            "requiresAttributes": [{"name": "ecs.capability.secrets.ssm.environment-variables"}],
            "registeredAt": 1_714_000_000.5, "registeredBy": "arn:aws:sts::123456789012:assumed-role/ci/x",
            "placementConstraints": [], "volumes": [{"name": "cache", "host": {"sourcePath": "/var/cache/shop"}}],
            "containerDefinitions": [
                {"name": "nginx", "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop-nginx:41", "memory": 128,
                 "portMappings": [{"containerPort": 80, "hostPort": 0, "protocol": "tcp"}], "links": ["app"], "essential": true},
                {"name": "app", "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop-app:41", "memory": 512,
                 "secrets": [{"name": "API_KEY", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/shop/api-key"}],
                 "mountPoints": [{"sourceVolume": "cache", "containerPath": "/cache"}], "essential": true}
            ]
        },
        "tags": []
    });
    let opts = TaskDefOptions::builder()
        .image_container("app")
        .image_container("nginx")
        .load_balanced_container("nginx")
        .include_tags(true)
        .build();
    let t = TaskDefTemplate::from_describe_json(&describe, &opts).unwrap();
    let expected = json!({
        "family": "shop",
        "networkMode": "bridge", "requiresCompatibilities": ["EC2"],
        "placementConstraints": [], "volumes": [{"name": "cache", "host": {"sourcePath": "/var/cache/shop"}}],
        "containerDefinitions": [
            {"name": "nginx", "image": "<IMAGE1_NAME>", "memory": 128,
             "portMappings": [{"containerPort": 80, "hostPort": 0, "protocol": "tcp"}], "links": ["app"], "essential": true},
            {"name": "app", "image": "<IMAGE2_NAME>", "memory": 512,
             "secrets": [{"name": "API_KEY", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/shop/api-key"}],
             "mountPoints": [{"sourceVolume": "cache", "containerPath": "/cache"}], "essential": true}
        ]
    });
    assert_eq!(serde_json::from_str::<Value>(&t.to_string()).unwrap(), expected);
    assert_eq!(
        t.placeholders().iter().map(|p| (p.token(), p.container.clone())).collect::<Vec<_>>(),
        [("IMAGE1_NAME".to_owned(), "nginx".to_owned()), ("IMAGE2_NAME".to_owned(), "app".to_owned())]
    );
    // The SDK reads it as RegisterTaskDefinition input once the images are substituted.
    let deployed = t.to_json_pretty().replace("<IMAGE1_NAME>", "nginx:1.27").replace("<IMAGE2_NAME>", "app:42");
    let input = parse_register_input(&deployed);
    assert_eq!(
        input.container_definitions()[1].secrets()[0].value_from(),
        "arn:aws:ssm:us-east-1:123456789012:parameter/shop/api-key"
    );
    assert!(input.tags().is_empty(), "empty tags are never written");
}

// ---------------------------------------------------------------------------- buildspec (pure)

const TUTORIAL_BUILDSPEC: &str = r#"version: 0.2

phases:
  pre_build:
    commands:
      - echo Logging in to Amazon ECR...
      - aws --version
      - aws ecr get-login-password --region $AWS_DEFAULT_REGION | docker login --username AWS --password-stdin 123456789012.dkr.ecr.us-east-1.amazonaws.com
      - REPOSITORY_URI=123456789012.dkr.ecr.us-east-1.amazonaws.com/web
      - COMMIT_HASH=$(echo $CODEBUILD_RESOLVED_SOURCE_VERSION | cut -c 1-7)
      - IMAGE_TAG=${COMMIT_HASH:=latest}
  build:
    commands:
      - echo Build started on `date`
      - echo Building the Docker image...
      - docker build -t $REPOSITORY_URI:latest .
      - docker tag $REPOSITORY_URI:latest $REPOSITORY_URI:$IMAGE_TAG
  post_build:
    commands:
      - echo Build completed on `date`
      - echo Pushing the Docker images...
      - docker push $REPOSITORY_URI:latest
      - docker push $REPOSITORY_URI:$IMAGE_TAG
      - echo Writing image definitions file...
      - printf '[{"name":"web","imageUri":"%s"}]' $REPOSITORY_URI:$IMAGE_TAG > imagedefinitions.json
artifacts:
    files: imagedefinitions.json
"#;

const COMMENTED_BUILDSPEC: &str = r#"# Build for the web service.
version: 0.2

env:
  variables:
    IMAGE_REPO_NAME: "web"   # ECR repository
  parameter-store:
    NPM_TOKEN: /ci/npm-token

phases:
  install:
    runtime-versions:
      nodejs: 20
    commands:
      - npm ci
  pre_build:
    commands:
      # Log in to ECR
      - aws ecr get-login-password | docker login --username AWS --password-stdin $ACCOUNT.dkr.ecr.$AWS_REGION.amazonaws.com
      - IMAGE_URI=$ACCOUNT.dkr.ecr.$AWS_REGION.amazonaws.com/$IMAGE_REPO_NAME:${CODEBUILD_RESOLVED_SOURCE_VERSION:0:7}
  build:
    commands:
      - npm test
      - docker build -t "$IMAGE_URI" .
  post_build:
    commands:
      - docker push "$IMAGE_URI"
      # The ECS deploy action reads this file.
      - printf '[{"name":"%s","imageUri":"%s"}]' "$CONTAINER_NAME" "$IMAGE_URI" > imagedefinitions.json  # for ECS
      - cat imagedefinitions.json
    finally:
      - echo "post_build done"

reports:
  unit:
    files:
      - "junit.xml"
    base-directory: reports

artifacts:
  files:
    - imagedefinitions.json
    - "**/*.map"   # source maps
  discard-paths: yes

cache:
  paths:
    - '/root/.npm/**/*'
"#;

#[test]
fn patches_the_aws_tutorial_buildspec() {
    let after = patch_buildspec(TUTORIAL_BUILDSPEC).unwrap();
    let expected = TUTORIAL_BUILDSPEC
        .replace(
            r#"      - printf '[{"name":"web","imageUri":"%s"}]' $REPOSITORY_URI:$IMAGE_TAG > imagedefinitions.json"#,
            r#"      - printf '{"ImageURI":"%s"}' "$REPOSITORY_URI:$IMAGE_TAG" > imageDetail.json"#,
        )
        .replace(
            "    files: imagedefinitions.json\n",
            "    files:\n      - imageDetail.json\n      - taskdef.json\n      - appspec.yml\n",
        );
    assert_eq!(after, expected);

    // As YAML: only the command and the files list changed.
    let (before, after) = (yaml(TUTORIAL_BUILDSPEC), yaml(&after));
    let mut want = before.clone();
    want["phases"]["post_build"]["commands"][5] =
        json!(r#"printf '{"ImageURI":"%s"}' "$REPOSITORY_URI:$IMAGE_TAG" > imageDetail.json"#);
    want["artifacts"]["files"] = json!(["imageDetail.json", "taskdef.json", "appspec.yml"]);
    assert_eq!(after, want);
    // Patching again changes nothing.
    assert_eq!(patch_buildspec(&expected).unwrap(), expected);
}

#[test]
fn patches_a_commented_buildspec_with_extra_phases() {
    let patch = BuildspecSnippet::default().patch(COMMENTED_BUILDSPEC).unwrap();
    let expected = COMMENTED_BUILDSPEC
        .replace(
            r#"      - printf '[{"name":"%s","imageUri":"%s"}]' "$CONTAINER_NAME" "$IMAGE_URI" > imagedefinitions.json  # for ECS"#,
            r#"      - printf '{"ImageURI":"%s"}' "$IMAGE_URI" > imageDetail.json # for ECS"#,
        )
        .replace("      - cat imagedefinitions.json\n", "      - cat imageDetail.json\n")
        .replace(
            "    - imagedefinitions.json\n    - \"**/*.map\"   # source maps\n",
            "    - imageDetail.json\n    - taskdef.json\n    - appspec.yml\n",
        );
    assert_eq!(patch.text, expected);
    assert!(patch.notes.iter().any(|n| n.contains("now reads imageDetail.json")), "{:?}", patch.notes);

    let (before, after) = (yaml(COMMENTED_BUILDSPEC), yaml(&patch.text));
    let mut want = before.clone();
    want["phases"]["post_build"]["commands"][1] =
        json!(r#"printf '{"ImageURI":"%s"}' "$IMAGE_URI" > imageDetail.json"#);
    want["phases"]["post_build"]["commands"][2] = json!("cat imageDetail.json");
    want["artifacts"]["files"] = json!(["imageDetail.json", "taskdef.json", "appspec.yml"]);
    assert_eq!(after, want, "anything but the command, its reader and artifacts.files changed");
    assert_eq!(after["reports"]["unit"]["files"], json!(["junit.xml"]), "other `files:` lists are untouched");
    assert_eq!(patch_buildspec(&patch.text).unwrap(), patch.text, "patching again changes nothing");
}

#[test]
fn buildspec_without_the_old_command_gets_it_appended() {
    let before = "version: 0.2\nphases:\n  build:\n    commands:\n      - make image\n  post_build:\n    finally:\n      - echo bye\nartifacts:\n  files:\n    - '**/*'\n";
    let patch = BuildspecSnippet { image_uri_expr: "\"$IMAGE\"".into(), ..Default::default() }.patch(before).unwrap();
    let v = yaml(&patch.text);
    assert_eq!(
        v["phases"]["post_build"]["commands"],
        json!([r#"printf '{"ImageURI":"%s"}' "$IMAGE" > imageDetail.json"#])
    );
    assert_eq!(v["phases"]["post_build"]["finally"], json!(["echo bye"]));
    assert_eq!(v["phases"]["build"]["commands"], json!(["make image"]));
    assert_eq!(v["artifacts"]["files"], json!(["imageDetail.json", "taskdef.json", "appspec.yml"]));
    assert!(patch.notes.iter().any(|n| n.contains("\"$IMAGE\"")), "{:?}", patch.notes);
}
