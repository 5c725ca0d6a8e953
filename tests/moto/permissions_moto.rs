//! Operator permissions under IAM enforcement, on a moto server of this test's own (enforcement
//! is server-wide): an IAM user whose only policy is what `migrate permissions` printed runs
//! `apply`, then `rollback`, to the end, for each cutover strategy; a user whose policy lacks one
//! of its actions is refused by `plan`'s preflight, naming that action, with nothing changed.

use crate::common;

use common::AccountHeader;
use common::cli::{migrate_env_at, text};
use common::fixture::seed_rolling_account;
use common::private_moto::PrivateMoto;
use common::snapshot::{assert_same, snapshot};
use common::{fresh_account, moto_sdk_config};
use ecs_bluegreen::AwsClients;

const ARGS: &[&str] = &["--cluster", "prod", "--service", "web", "--pipeline", "web-pipeline", "--test-listener-port", "8080"];

/// An IAM user of `account` whose only policy is `document`; its access key.
async fn user_with(aws: &AwsClients, name: &str, document: &str) -> (String, String) {
    aws.iam.create_user().user_name(name).send().await.unwrap();
    let policy = aws.iam.create_policy().policy_name(format!("{name}-policy")).policy_document(document).send().await.unwrap();
    let arn = policy.policy().and_then(|p| p.arn()).unwrap().to_owned();
    aws.iam.attach_user_policy().user_name(name).policy_arn(arn).send().await.unwrap();
    let key = aws.iam.create_access_key().user_name(name).send().await.unwrap();
    let key = key.access_key().unwrap();
    (key.access_key_id().to_owned(), key.secret_access_key().to_owned())
}

/// `document` without `action`.
fn without(document: &str, action: &str) -> String {
    let mut doc: serde_json::Value = serde_json::from_str(document).unwrap();
    let statements = doc["Statement"].as_array_mut().unwrap();
    for s in statements.iter_mut() {
        s["Action"].as_array_mut().unwrap().retain(|a| a != action);
    }
    statements.retain(|s| !s["Action"].as_array().unwrap().is_empty());
    doc.to_string()
}

#[tokio::test]
async fn the_printed_policy_is_enough_for_apply_and_rollback_and_one_action_less_is_refused_at_plan() {
    let moto = PrivateMoto::start();
    let cases: [(&str, &[&str], &str); 3] = [
        ("parallel-keep-name", &[], "ecs:CreateService"),
        ("recreate", &[], "iam:CreateRole"),
        ("parallel", &["--new-service-name", "web-bg"], "codedeploy:CreateDeploymentGroup"),
    ];
    for (cutover, extra, removed) in cases {
        moto.stop_enforcing();
        let account = fresh_account();
        let aws = AwsClients::builder(&moto_sdk_config(&moto.endpoint)).interceptor(AccountHeader(account.clone())).build();
        let f = seed_rolling_account(&aws, &moto.endpoint, &account).await;
        let dir = std::env::temp_dir().join(format!("ebg-permissions-{account}"));
        std::fs::create_dir_all(&dir).unwrap();
        let args: Vec<&str> = [ARGS, &["--cutover", cutover], extra].concat();
        let run = |cmd: &[&str], key: &(String, String)| {
            let env = [("AWS_ACCESS_KEY_ID", key.0.as_str()), ("AWS_SECRET_ACCESS_KEY", key.1.as_str())];
            migrate_env_at(&moto.endpoint, &account, &dir, &[cmd, &args].concat(), &env)
        };
        let root = ("test".to_owned(), "test".to_owned());

        let printed = run(&["permissions", "--output", "json"], &root);
        assert!(printed.status.success(), "{cutover}: {}", text(&printed.stderr));
        let policy = text(&printed.stdout);
        let parsed: serde_json::Value = serde_json::from_str(&policy).unwrap_or_else(|e| panic!("{cutover}: not JSON ({e}):\n{policy}"));
        assert!(policy.contains(removed), "{cutover}: {removed} in the policy:\n{policy}");
        assert!(!parsed["Statement"].as_array().unwrap().iter().any(|s| s["Action"].as_array().unwrap().iter().any(|a| a == "*")));
        let deployer = user_with(&aws, "deployer", &policy).await;
        let short = user_with(&aws, "short", &without(&policy, removed)).await;
        let before = snapshot(&aws, &f.cluster_name, &f.load_balancer_arn, &f.pipeline_name).await;

        moto.enforce_iam();
        // Enforcement is on: the root's dummy key is no IAM user's.
        let refused = run(&["plan"], &root);
        assert!(!refused.status.success(), "{cutover}: the dummy key is refused once IAM is enforced");

        let plan = run(&["plan"], &short);
        let stderr = text(&plan.stderr);
        assert_eq!(plan.status.code(), Some(2), "{cutover}: {stderr}\n{}", text(&plan.stdout));
        assert!(stderr.contains(removed) && stderr.contains("user/short"), "{cutover}: the refusal names {removed}:\n{stderr}");

        let applied = run(&["apply", "--yes"], &deployer);
        assert!(applied.status.success(), "{cutover}: apply as deployer: {}\n{}", text(&applied.stderr), text(&applied.stdout));
        assert!(!text(&applied.stdout).contains("permissions not checked"), "{cutover}: the preflight ran:\n{}", text(&applied.stdout));
        let rolled = run(&["rollback", "--yes"], &deployer);
        assert!(rolled.status.success(), "{cutover}: rollback as deployer: {}\n{}", text(&rolled.stderr), text(&rolled.stdout));

        moto.stop_enforcing();
        let after = snapshot(&aws, &f.cluster_name, &f.load_balancer_arn, &f.pipeline_name).await;
        assert_same(&before, &after, &format!("{cutover}: after the refused plan, apply and rollback"));
    }
}
