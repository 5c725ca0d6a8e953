//! The reference CLI (`examples/migrate.rs`) against moto: plan makes no mutating call and
//! prints every change; JSON gives the same plan; refusals exit 2 and change nothing; apply,
//! status and rollback round-trip with exit 0.

use crate::common;

use std::path::PathBuf;
use std::process::Output;

use common::fixture::seed_rolling_account;
use common::snapshot::{assert_same, snapshot};
use common::cli::{migrate_with, text};
use common::{fresh_account, moto_clients, moto_endpoint};

fn migrate(account: &str, journal_dir: &std::path::Path, args: &[&str]) -> Output {
    migrate_with(account, journal_dir, args, None)
}

const ARGS: &[&str] = &["--cluster", "prod", "--service", "web", "--pipeline", "web-pipeline", "--test-listener-port", "8080"];

async fn setup() -> (String, ecs_bluegreen::AwsClients, common::fixture::Fixture, PathBuf) {
    let account = fresh_account();
    let aws = moto_clients(&account);
    let f = seed_rolling_account(&aws, &moto_endpoint(), &account).await;
    let dir = std::env::temp_dir().join(format!("ebg-cli-{account}"));
    std::fs::create_dir_all(&dir).unwrap();
    (account, aws, f, dir)
}

#[tokio::test]
async fn plan_prints_every_change_makes_no_mutating_call_and_json_matches() {
    let (account, aws, f, dir) = setup().await;
    let before = snapshot(&aws, &f.cluster_name, &f.load_balancer_arn, &f.pipeline_name).await;
    let out = migrate(&account, &dir, &[&["plan", "--stats"], ARGS].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for line in [
        "+ create target group web-tg-1-green (clone of web-tg-1)",
        "+ create test listener HTTP:8080 -> web-tg-1-green",
        "+ create IAM role prod-web-codedeploy",
        "+ create CodeDeploy application prod-web",
        "-/+ replace ECS service web -> web (controller ECS -> CODE_DEPLOY, cutover parallel-keep-name, no downtime)",
        "+ create deployment group prod-web/web-bluegreen",
        "+ create inline policy ecs-bluegreen-prod-web-fdddfe6b1236f9c5 on pipeline role web-pipeline-role",
        "~ update pipeline web-pipeline: action Deploy/Deploy",
        "Plan: 6 to create, 1 to update, 1 to replace, 0 to delete, 0 unchanged.",
    ] {
        assert!(stdout.contains(line), "plan output lacks {line:?}:\n{stdout}");
    }
    let stderr = text(&out.stderr);
    assert!(stderr.contains("(0 mutating)"), "plan made mutating calls:\n{stderr}");
    assert_same(&before, &snapshot(&aws, &f.cluster_name, &f.load_balancer_arn, &f.pipeline_name).await, "after plan");

    let json = migrate(&account, &dir, &[&["plan", "--output", "json"], ARGS].concat());
    assert!(json.status.success());
    let plan: ecs_bluegreen::Plan = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(plan.to_string(), stdout, "the JSON plan renders exactly as the text plan");
}

#[tokio::test]
async fn refused_plans_and_bad_input_exit_2_and_change_nothing() {
    let (account, aws, f, dir) = setup().await;
    let before = snapshot(&aws, &f.cluster_name, &f.load_balancer_arn, &f.pipeline_name).await;
    let cases: &[(&[&str], &str)] = &[
        (&["apply", "--yes", "--cluster", "prod", "--service", "web", "--test-listener-port", "80"], "production listener's port"),
        (&["apply", "--yes", "--cluster", "prod", "--service", "nope"], "was not found"),
        (&["apply", "--yes", "--cluster", "prod", "--service", "web", "--pipeline", "missing-pipeline"], "does not exist"),
        (&["apply", "--yes", "--cluster", "prod", "--service", "web", "--deployment-config", "CodeDeployDefault.OneAtATime"], "not a predefined ECS config"),
        (&["apply", "--yes", "--cluster", "prod", "--service", "web.api"], "invalid service name"),
        (&["apply", "--yes", "--cluster", "prod", "--service", "web", "--cutover", "parallel"], "--new-service-name"),
        (&["apply", "--yes", "--cluster", "prod", "--service", "web", "--drain-timeout", "0"], "drain timeout"),
        (&["apply", "--yes", "--cluster", "prod", "--service", "web", "--drain-timeout", "172801"], "48 hours"),
        (&["apply", "--yes", "--cluster", "prod", "--service", "web", "--drain-timeout", "ten"], "--drain-timeout"),
        (&["rollback", "--cluster", "prod", "--service", "web", "--drain-timeout", "0"], "drain timeout"),
    ];
    for (args, needle) in cases {
        let out = migrate(&account, &dir, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains(needle), "{args:?}: stderr lacks {needle:?}: {}", text(&out.stderr));
    }
    assert_same(&before, &snapshot(&aws, &f.cluster_name, &f.load_balancer_arn, &f.pipeline_name).await, "after refusals");
}

#[tokio::test]
async fn apply_status_rerun_and_rollback_through_the_cli() {
    let (account, aws, f, dir) = setup().await;
    let before = snapshot(&aws, &f.cluster_name, &f.load_balancer_arn, &f.pipeline_name).await;
    let out = migrate(&account, &dir, &[&["apply", "--yes"], ARGS].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("==> service-cutover"), "progress goes to stderr");
    let svc = ecs_bluegreen::discover::describe_service(&aws, "prod", "web").await.unwrap().unwrap();
    assert_eq!(svc.deployment_controller, "CODE_DEPLOY");

    let status = migrate(&account, &dir, &["status", "--cluster", "prod", "--service", "web", "--output", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(v["status"], "applied");
    assert_eq!(v["undoable"].as_array().unwrap().len(), 11);

    let again = migrate(&account, &dir, &[&["apply", "--yes"], ARGS].concat());
    assert!(again.status.success());
    assert!(text(&again.stdout).contains("nothing to do"), "{}", text(&again.stdout));

    let rb = migrate(&account, &dir, &["rollback", "--cluster", "prod", "--service", "web"]);
    assert!(rb.status.success(), "{}", text(&rb.stderr));
    assert_same(&before, &snapshot(&aws, &f.cluster_name, &f.load_balancer_arn, &f.pipeline_name).await, "after CLI rollback");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_failed_apply_exits_1_after_a_full_rollback_and_3_when_the_rollback_is_incomplete() {
    let (account, aws, f, dir) = setup().await;
    let snap = || snapshot(&aws, &f.cluster_name, &f.load_balancer_arn, &f.pipeline_name);
    let before = snap().await;

    // The 13th mutating call is UpdatePipeline, the last one of the migration.
    let out = migrate_with(&account, &dir, &[&["apply", "--yes"], ARGS].concat(), Some("13"));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("injected fault"), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("<== undo"), "rollback progress is shown: {}", text(&out.stderr));
    assert_same(&before, &snap().await, "after a failed apply");

    // Fail UpdatePipeline and then the first undo (DeleteDeploymentGroup): rollback is incomplete.
    let journal = dir.join("incomplete.journal.json");
    let journal = journal.to_str().unwrap();
    let out = migrate_with(&account, &dir, &[&["apply", "--yes", "--journal", journal], ARGS].concat(), Some("13,14"));
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("rollback INCOMPLETE") && stderr.contains("deployment group prod-web/web-bluegreen"), "{stderr}");
    assert!(stderr.contains("aws deploy delete-deployment-group"), "the report says how to remove it: {stderr}");

    // A new apply refuses to start (exit 2); a second rollback finishes the job.
    let refused = migrate(&account, &dir, &[&["apply", "--yes", "--journal", journal], ARGS].concat());
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    let rb = migrate(&account, &dir, &["rollback", "--journal", journal]);
    assert_eq!(rb.status.code(), Some(0), "{}", text(&rb.stderr));
    assert_same(&before, &snap().await, "after the second rollback");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn plan_writes_the_deploy_artifacts_and_a_patched_buildspec() {
    let (account, aws, f, dir) = setup().await;
    let before = snapshot(&aws, &f.cluster_name, &f.load_balancer_arn, &f.pipeline_name).await;
    let buildspec = dir.join("buildspec.yml");
    std::fs::write(
        &buildspec,
        "version: 0.2\nphases:\n  build:\n    commands:\n      - docker build -t $REPOSITORY_URI:$IMAGE_TAG .\n  post_build:\n    commands:\n      # the ECS deploy action reads this\n      - printf '[{\"name\":\"web\",\"imageUri\":\"%s\"}]' $REPOSITORY_URI:$IMAGE_TAG > imagedefinitions.json\nartifacts:\n  files: imagedefinitions.json\n",
    )
    .unwrap();
    let out_dir = dir.join("artifacts");
    let args = [&["plan", "--artifacts-dir", out_dir.to_str().unwrap(), "--buildspec", buildspec.to_str().unwrap()], ARGS].concat();
    let out = migrate(&account, &dir, &args);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let taskdef: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out_dir.join("taskdef.json")).unwrap()).unwrap();
    assert_eq!(taskdef["containerDefinitions"][0]["image"], "<IMAGE1_NAME>");
    for key in ["taskDefinitionArn", "revision", "status", "compatibilities", "tags"] {
        assert!(taskdef.get(key).is_none(), "taskdef.json keeps {key}");
    }
    let appspec = std::fs::read_to_string(out_dir.join("appspec.yml")).unwrap();
    assert!(appspec.contains("<TASK_DEFINITION>") && appspec.contains("ContainerPort: 80"), "{appspec}");
    let detail: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out_dir.join("imageDetail.json")).unwrap()).unwrap();
    assert!(detail["ImageURI"].is_string());
    let patched = std::fs::read_to_string(out_dir.join("buildspec.yml")).unwrap();
    assert!(patched.contains("imageDetail.json") && !patched.contains("> imagedefinitions.json"), "{patched}");
    assert!(patched.contains("# the ECS deploy action reads this"), "comments are kept: {patched}");
    assert!(std::fs::read_to_string(&buildspec).unwrap().contains("imagedefinitions.json"), "the user's file is untouched");
    assert_same(&before, &snapshot(&aws, &f.cluster_name, &f.load_balancer_arn, &f.pipeline_name).await, "after plan with artifacts");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Onward from CodeDeploy the `ECS` action reads imagedefinitions.json only: plan with
/// `--artifacts-dir --buildspec` writes the buildspec patched back (for the service's container)
/// and the snippet, no templates, and changes nothing; an unreadable buildspec exits 2 and
/// writes nothing.
#[tokio::test]
async fn an_onward_plan_writes_the_buildspec_patched_back_to_imagedefinitions() {
    let (account, aws, f, dir) = setup().await;
    let applied = migrate(&account, &dir, &[&["apply", "--yes"], ARGS].concat());
    assert!(applied.status.success(), "{}", text(&applied.stderr));
    let before = snapshot(&aws, &f.cluster_name, &f.load_balancer_arn, &f.pipeline_name).await;

    let tutorial = "version: 0.2\nphases:\n  post_build:\n    commands:\n      # the ECS deploy action reads this\n      - printf '[{\"name\":\"web\",\"imageUri\":\"%s\"}]' \"$REPOSITORY_URI:$IMAGE_TAG\" > imagedefinitions.json\nartifacts:\n  files:\n    - imagedefinitions.json\n";
    let buildspec = dir.join("codedeploy-buildspec.yml");
    std::fs::write(&buildspec, ecs_bluegreen::artifacts::patch_buildspec(tutorial).unwrap()).unwrap();
    let out_dir = dir.join("onward-artifacts");
    let onward = ["--cluster", "prod", "--service", "web", "--pipeline", "web-pipeline", "--target", "rolling"];
    let args = [&["plan", "--artifacts-dir", out_dir.to_str().unwrap(), "--buildspec", buildspec.to_str().unwrap()], &onward[..]].concat();
    let out = migrate(&account, &dir, &args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(out_dir.join("buildspec.yml")).unwrap(), tutorial);
    let snippet = std::fs::read_to_string(out_dir.join("buildspec-snippet.yml")).unwrap();
    assert!(snippet.contains("> imagedefinitions.json") && snippet.contains("\"name\":\"web\""), "{snippet}");
    for absent in ["taskdef.json", "appspec.yml", "imageDetail.json"] {
        assert!(!out_dir.join(absent).exists(), "{absent} is written, but the ECS action does not read it");
    }

    // A buildspec it cannot edit: exit 2, nothing written.
    std::fs::write(&buildspec, "version: 0.2\n").unwrap();
    let empty_dir = dir.join("refused-artifacts");
    let args = [&["plan", "--artifacts-dir", empty_dir.to_str().unwrap(), "--buildspec", buildspec.to_str().unwrap()], &onward[..]].concat();
    let refused = migrate(&account, &dir, &args);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    assert!(text(&refused.stderr).contains("phases"), "{}", text(&refused.stderr));
    assert!(!empty_dir.exists(), "nothing is written for a refused buildspec");
    assert_same(&before, &snapshot(&aws, &f.cluster_name, &f.load_balancer_arn, &f.pipeline_name).await, "after the onward plans");
    let _ = std::fs::remove_dir_all(&dir);
}

/// moto's deployments never leave `Created`: deploy-check shows progress, stops waiting at the
/// deadline (exit 1, the deployment named and left running), and a second run is refused while
/// that deployment is in flight (exit 2, nothing created).
#[tokio::test]
async fn deploy_check_reports_the_deadline_and_refuses_while_a_deployment_is_in_flight() {
    let (account, aws, _f, dir) = setup().await;
    let applied = migrate(&account, &dir, &[&["apply", "--yes"], ARGS].concat());
    assert!(applied.status.success(), "{}", text(&applied.stderr));

    let first = migrate(&account, &dir, &[&["deploy-check", "--deadline", "2"], ARGS].concat());
    let stderr = text(&first.stderr);
    assert_eq!(first.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("created deployment"), "no progress:\n{stderr}");
    assert!(stderr.contains("status: Created"), "no status progress:\n{stderr}");
    let listed = aws
        .codedeploy
        .list_deployments()
        .application_name("prod-web")
        .deployment_group_name("web-bluegreen")
        .send()
        .await
        .unwrap();
    let [id] = listed.deployments() else { panic!("expected one deployment: {listed:?}") };
    assert!(stderr.contains(id.as_str()), "the deployment is not named:\n{stderr}");

    let second = migrate(&account, &dir, &[&["deploy-check", "--deadline", "2"], ARGS].concat());
    let stderr = text(&second.stderr);
    assert_eq!(second.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(id.as_str()), "the refusal does not name the active deployment:\n{stderr}");
    let listed = aws.codedeploy.list_deployments().application_name("prod-web").deployment_group_name("web-bluegreen").send().await.unwrap();
    assert_eq!(listed.deployments().len(), 1, "a refused deploy-check created a deployment");
}

/// A custom `--deployment-config` is checked at plan time: a typo or a config of another compute
/// platform exits 2 naming it with nothing changed; a custom ECS config created beforehand plans
/// and applies, and the deployment group uses it.
#[tokio::test]
async fn a_custom_deployment_config_is_checked_before_any_change() {
    use aws_sdk_codedeploy::types::{ComputePlatform, TrafficRoutingConfig, TrafficRoutingType};
    let (account, aws, f, dir) = setup().await;
    aws.codedeploy.create_deployment_config().deployment_config_name("web-servers").compute_platform(ComputePlatform::Server).send().await.unwrap();
    aws.codedeploy
        .create_deployment_config()
        .deployment_config_name("web-all-at-once")
        .compute_platform(ComputePlatform::Ecs)
        .traffic_routing_config(TrafficRoutingConfig::builder().r#type(TrafficRoutingType::AllAtOnce).build())
        .send()
        .await
        .unwrap();
    let before = snapshot(&aws, &f.cluster_name, &f.load_balancer_arn, &f.pipeline_name).await;
    for (config, needle) in [("web-all-at-onse", "does not exist"), ("web-servers", "Server compute platform")] {
        for command in ["plan", "apply"] {
            let out = migrate(&account, &dir, &[&[command, "--yes", "--deployment-config", config], ARGS].concat());
            let stderr = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{command} {config}: {stderr}");
            assert!(stderr.contains(config) && stderr.contains(needle), "{command} {config}: {stderr}");
        }
    }
    assert_same(&before, &snapshot(&aws, &f.cluster_name, &f.load_balancer_arn, &f.pipeline_name).await, "after refused configs");

    let out = migrate(&account, &dir, &[&["apply", "--yes", "--deployment-config", "web-all-at-once"], ARGS].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let dg = aws.codedeploy.get_deployment_group().application_name("prod-web").deployment_group_name("web-bluegreen").send().await.unwrap();
    assert_eq!(dg.deployment_group_info().and_then(|d| d.deployment_config_name()), Some("web-all-at-once"));
    let _ = std::fs::remove_dir_all(&dir);
}
