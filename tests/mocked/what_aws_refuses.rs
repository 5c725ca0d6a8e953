//! What AWS would refuse or break later, handled at plan time (on the test kit, whose fakes
//! enforce AWS's tag rules; moto does not): tags reserved for AWS (`aws:...`, set by
//! CloudFormation) are not copied onto what the migration creates, a copy that would exceed 50
//! tags is refused, and EBS volumes attached at deployment time, which CodeDeploy cannot carry,
//! are refused instead of dropped; ARNs carry the partition of the region (aws-cn, aws-us-gov).

use ecs_bluegreen::plan::RefusalKind;
use ecs_bluegreen::testing::{MockAccount, Scenario};
use ecs_bluegreen::wait::WaitPolicy;
use ecs_bluegreen::{ApplyOptions, Error, InMemoryJournal, Migration, Outcome};

fn opts() -> ApplyOptions {
    ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST)
}

fn migration() -> Migration {
    Migration::for_service("prod", "web").unwrap().build()
}

const STACK_TAG: &str = "aws:cloudformation:stack-name";

#[tokio::test(start_paused = true)]
async fn tags_reserved_for_aws_are_not_copied_and_the_plan_says_so() {
    let mut scenario = Scenario::default();
    scenario.target_groups[0].tags.insert(STACK_TAG.into(), "shop".into());
    scenario.target_groups[0].tags.insert("team".into(), "checkout".into());
    scenario.service.tags.insert("AWS:CloudFormation:logical-id".into(), "WebService".into());
    scenario.service.tags.insert("team".into(), "checkout".into());
    let account = MockAccount::new(scenario);
    let aws = account.clients();
    let plan = migration().plan(&aws).await.unwrap();
    let warned = |what: &str| plan.warnings.iter().any(|w| w.contains(what) && w.contains("reserved for AWS"));
    assert!(warned(STACK_TAG) && warned("AWS:CloudFormation:logical-id"), "{:?}", plan.warnings);

    let journal = InMemoryJournal::new();
    assert_eq!(plan.apply(&aws, &journal, &opts()).await.unwrap(), Outcome::Applied);
    let st = account.state();
    let green = st.target_groups.values().find(|t| t.name.ends_with("-green")).expect("green group");
    assert_eq!(green.tags.get("team").map(String::as_str), Some("checkout"));
    assert!(!green.tags.contains_key(STACK_TAG), "{:?}", green.tags);
    let web = &st.services["web"];
    assert_eq!(web.tags.get("team").map(String::as_str), Some("checkout"));
    assert!(!web.tags.keys().any(|k| k.to_lowercase().starts_with("aws:")), "{:?}", web.tags);

    // The rollback restores the original service, also without the tags only AWS can set.
    let report = ecs_bluegreen::rollback(&aws, &journal, &opts()).await.unwrap();
    assert!(report.is_clean(), "{report}");
    let restored = &account.state().services["web"];
    assert_eq!(restored.deployment_controller, "ECS");
    assert_eq!(restored.tags.get("team").map(String::as_str), Some("checkout"));
}

#[tokio::test(start_paused = true)]
async fn a_copy_that_would_carry_more_than_fifty_tags_is_refused_at_plan() {
    let mut scenario = Scenario::default();
    scenario.target_groups[0].tags.clear();
    for i in 0..50 {
        scenario.target_groups[0].tags.insert(format!("k{i:02}"), "v".into());
    }
    let account = MockAccount::new(scenario);
    let start = account.state();
    let err = migration().plan(&account.clients()).await.unwrap_err();
    let Error::Plan(p) = &err else { panic!("{err:?}") };
    let r = p.refusals().iter().find(|r| r.kind == RefusalKind::TooManyTags).unwrap_or_else(|| panic!("{p:?}"));
    assert!(r.problem.contains("50 tags") && r.problem.contains("51"), "{}", r.problem);
    assert!(account.mutating_operations().is_empty());
    assert_eq!(start.differences(&account.state()), Vec::<String>::new());

    // Not copying the tags is the way out.
    let mut scenario = Scenario::default();
    scenario.target_groups[0].tags.clear();
    for i in 0..50 {
        scenario.target_groups[0].tags.insert(format!("k{i:02}"), "v".into());
    }
    let account = MockAccount::new(scenario);
    let green = ecs_bluegreen::spec::TargetGroupName::new("web-tg-1-green").unwrap();
    let m = Migration::for_service("prod", "web")
        .unwrap()
        .target_groups(ecs_bluegreen::spec::TargetGroupPair::builder().green_name(green).copy_tags(false).build())
        .build();
    let plan = m.plan(&account.clients()).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(plan.apply(&account.clients(), &InMemoryJournal::new(), &opts()).await.unwrap(), Outcome::Applied);
}

#[tokio::test(start_paused = true)]
async fn ebs_volumes_attached_at_deployment_are_refused_not_dropped() {
    let mut scenario = Scenario::default();
    scenario.service.deployments[0].volume_configurations = 1;
    let account = MockAccount::new(scenario);
    let err = migration().plan(&account.clients()).await.unwrap_err();
    let Error::Plan(p) = &err else { panic!("{err:?}") };
    let r = p.refusals().iter().find(|r| r.kind == RefusalKind::ManagedEbsVolumes).unwrap_or_else(|| panic!("{p:?}"));
    assert!(r.fix.contains("ECS-native"), "{}", r.fix);
    assert!(account.mutating_operations().is_empty());
}

/// In the China and GovCloud partitions every ARN the library builds carries the partition
/// (`arn:aws-cn:iam::aws:policy/...`); the kit, like AWS, knows the managed policy only under
/// its partition's ARN.
#[tokio::test(start_paused = true)]
async fn arns_carry_the_partition_of_the_region() {
    assert_eq!(ecs_bluegreen::inventory::partition_of_region("cn-north-1"), "aws-cn");
    assert_eq!(ecs_bluegreen::inventory::partition_of_region("us-gov-west-1"), "aws-us-gov");
    assert_eq!(ecs_bluegreen::inventory::partition_of_region("eu-west-1"), "aws");
    let mut scenario = Scenario::default();
    scenario.region = "cn-north-1".into();
    let to_cn = |arn: &Option<String>| arn.as_ref().map(|a| a.replace("arn:aws:", "arn:aws-cn:").replace("us-east-1", "cn-north-1"));
    scenario.service.arn = to_cn(&scenario.service.arn);
    scenario.service.cluster_arn = to_cn(&scenario.service.cluster_arn);
    let account = MockAccount::new(scenario);
    let start = account.state();
    let aws = account.clients();
    let plan = migration().plan(&aws).await.unwrap();
    let Some(ecs_bluegreen::plan::ChangeDetail::ServiceRole { managed_policy_arn, .. }) =
        plan.change(ecs_bluegreen::StepId::ServiceRole).map(|c| c.detail.clone())
    else {
        panic!("the plan creates no role")
    };
    assert_eq!(managed_policy_arn, "arn:aws-cn:iam::aws:policy/AWSCodeDeployRoleForECS");
    let journal = InMemoryJournal::new();
    assert_eq!(plan.apply(&aws, &journal, &opts()).await.unwrap(), Outcome::Applied);
    let records = ecs_bluegreen::Journal::records(&journal).unwrap();
    let run = ecs_bluegreen::journal::last_run_info(&records).unwrap();
    assert_eq!(run.identity.partition, "aws-cn");
    let role = &account.state().roles["prod-web-codedeploy"];
    assert!(role.arn.starts_with("arn:aws-cn:iam::"), "{}", role.arn);
    assert_eq!(role.policies, ["arn:aws-cn:iam::aws:policy/AWSCodeDeployRoleForECS"]);
    let report = ecs_bluegreen::rollback(&aws, &journal, &opts()).await.unwrap();
    assert!(report.is_clean(), "{report}");
    assert_eq!(start.differences(&account.state()), Vec::<String>::new());
}

/// `AWSCodeDeployRoleForECSLimited` lets CodeDeploy pass only roles named
/// `ecsTaskExecutionRole` / `ECSTaskExecution*`: a task definition with other role names would
/// fail every deployment, so the plan refuses it.
#[tokio::test(start_paused = true)]
async fn the_limited_policy_is_refused_when_it_cannot_pass_the_task_roles() {
    use ecs_bluegreen::spec::{CodeDeployRole, ManagedPolicy};
    let limited = || {
        Migration::for_service("prod", "web")
            .unwrap()
            .role(CodeDeployRole::builder().managed_policy(ManagedPolicy::Limited).build())
            .build()
    };
    // The sample's execution role is ecsTaskExecutionRole and it has no task role: fine.
    let account = MockAccount::new(Scenario::default());
    let plan = limited().plan(&account.clients()).await.unwrap();
    assert!(plan.change(ecs_bluegreen::StepId::ServiceRole).is_some());

    let mut scenario = Scenario::default();
    scenario.task_definition.task_role_arn = Some("arn:aws:iam::123456789012:role/web-task".into());
    let account = MockAccount::new(scenario);
    let err = limited().plan(&account.clients()).await.unwrap_err();
    let Error::Plan(p) = &err else { panic!("{err:?}") };
    let r = p.refusals().iter().find(|r| r.kind == RefusalKind::LimitedPolicyPassRole).unwrap_or_else(|| panic!("{p:?}"));
    assert!(r.problem.contains("role/web-task") && r.fix.contains("ManagedPolicy::Full"), "{r:?}");
    assert!(account.mutating_operations().is_empty());
    // The full policy passes any role.
    assert!(migration().plan(&account.clients()).await.is_ok());
}
