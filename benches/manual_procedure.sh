#!/usr/bin/env bash
# The manual rolling -> CodeDeploy blue/green migration of one ECS service, done the way a person
# does it by hand: one AWS CLI (v1) command at a time, reading values from the previous command's
# JSON output with jq. This is the baseline `scripts/bench` compares the library against.
#
#   benches/manual_procedure.sh
#
# Environment:
#   AWS_ENDPOINT_URL      required: a moto server seeded by `seed_moto` (default account 123456789012;
#                         the AWS CLI cannot send moto's x-moto-account-id header)
#   AWS_CLI               the aws binary (default: .venv/bin/aws, from `pip install awscli==1.46.3`)
#   MANUAL_COUNT_FILE     file that gets one line per AWS CLI command run (default: a temp file)
#   CLUSTER SERVICE PIPELINE TEST_LISTENER_PORT   default prod / web / web-pipeline / 8080
#
# On success prints, on stdout:
#   MANUAL_COMMANDS=N       AWS CLI commands of the procedure itself
#   MANUAL_PROCEDURE_MS=T   wall time of the procedure itself (without the final verification)
#   VERIFY_COMMANDS=M       AWS CLI commands used to check the end state
# Exits non-zero (set -e, or an explicit check) as soon as anything is not as expected.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
AWS_CLI="${AWS_CLI:-$ROOT/.venv/bin/aws}"
CLUSTER="${CLUSTER:-prod}"
SERVICE="${SERVICE:-web}"
PIPELINE="${PIPELINE:-web-pipeline}"
TEST_LISTENER_PORT="${TEST_LISTENER_PORT:-8080}"
APP="$CLUSTER-$SERVICE"
DG="$SERVICE-bluegreen"
ROLE="$CLUSTER-$SERVICE-codedeploy"

die() { echo "manual_procedure.sh: FAILED: $*" >&2; exit 1; }
[[ -n "${AWS_ENDPOINT_URL:-}" ]] || die "AWS_ENDPOINT_URL must point at moto"
[[ -x "$AWS_CLI" ]] || die "no AWS CLI at $AWS_CLI (pip install awscli into .venv)"
command -v jq >/dev/null || die "jq is required"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_DEFAULT_REGION="${AWS_REGION:-us-east-1}" AWS_PAGER="" AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN

COUNT_FILE="${MANUAL_COUNT_FILE:-$(mktemp)}"
: >"$COUNT_FILE"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Every AWS CLI command goes through here: counted (a file, since $(...) runs in a subshell).
aws() {
    echo "aws $1 $2" >>"$COUNT_FILE"
    "$AWS_CLI" --output json "$@"
}
step() { echo "--> $*" >&2; }
now_ms() { date +%s%3N; }

t0="$(now_ms)"

step "1. read the service"
svc="$(aws ecs describe-services --cluster "$CLUSTER" --services "$SERVICE" --include TAGS | jq -e '.services[0]')"
[[ "$(jq -r .status <<<"$svc")" == ACTIVE ]] || die "service $CLUSTER/$SERVICE is not ACTIVE"
[[ "$(jq -r '.deploymentController.type // "ECS"' <<<"$svc")" == ECS ]] || die "service is not on the ECS (rolling) controller"
blue_tg_arn="$(jq -er '.loadBalancers[0].targetGroupArn' <<<"$svc")"

step "2. describe the target group and its attributes"
blue_tg="$(aws elbv2 describe-target-groups --target-group-arns "$blue_tg_arn" | jq -e '.TargetGroups[0]')"
blue_attrs="$(aws elbv2 describe-target-group-attributes --target-group-arn "$blue_tg_arn" | jq -c '.Attributes')"
blue_name="$(jq -er .TargetGroupName <<<"$blue_tg")"
green_name="${blue_name:0:26}-green"
lb_arn="$(jq -er '.LoadBalancerArns[0]' <<<"$blue_tg")"

step "3. create the green target group with the same settings"
jq '{Name: $name, Protocol, ProtocolVersion, Port, VpcId, TargetType, IpAddressType,
     HealthCheckProtocol, HealthCheckPort, HealthCheckEnabled, HealthCheckPath,
     HealthCheckIntervalSeconds, HealthCheckTimeoutSeconds, HealthyThresholdCount,
     UnhealthyThresholdCount, Matcher} | with_entries(select(.value != null))' \
    --arg name "$green_name" <<<"$blue_tg" >"$work/green-tg.json"
green_tg_arn="$(aws elbv2 create-target-group --cli-input-json "file://$work/green-tg.json" \
    | jq -er '.TargetGroups[0].TargetGroupArn')"

step "4. copy the attributes to the green target group"
aws elbv2 modify-target-group-attributes --target-group-arn "$green_tg_arn" --attributes "$blue_attrs" >/dev/null

step "5. find the production listener, create the test listener :$TEST_LISTENER_PORT"
prod_listener_arn="$(aws elbv2 describe-listeners --load-balancer-arn "$lb_arn" \
    | jq -er --arg tg "$blue_tg_arn" '[.Listeners[] | select(any(.DefaultActions[]; .TargetGroupArn == $tg))][0].ListenerArn')"
test_listener_arn="$(aws elbv2 create-listener --load-balancer-arn "$lb_arn" --protocol HTTP \
    --port "$TEST_LISTENER_PORT" --default-actions "Type=forward,TargetGroupArn=$green_tg_arn" \
    | jq -er '.Listeners[0].ListenerArn')"

step "6. create the CodeDeploy service role, attach AWSCodeDeployRoleForECS"
cat >"$work/trust.json" <<'JSON'
{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "codedeploy.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
JSON
role_arn="$(aws iam create-role --role-name "$ROLE" --assume-role-policy-document "file://$work/trust.json" \
    | jq -er '.Role.Arn')"
aws iam attach-role-policy --role-name "$ROLE" --policy-arn arn:aws:iam::aws:policy/AWSCodeDeployRoleForECS >/dev/null

step "7. create the CodeDeploy application"
aws deploy create-application --application-name "$APP" --compute-platform ECS >/dev/null

step "8. delete the service and wait until it is gone"
aws ecs delete-service --cluster "$CLUSTER" --service "$SERVICE" --force >/dev/null
aws ecs wait services-inactive --cluster "$CLUSTER" --services "$SERVICE"

step "9. recreate the service with the CODE_DEPLOY controller and the same settings"
jq --arg cluster "$CLUSTER" '{
      cluster: $cluster, serviceName, taskDefinition, loadBalancers, serviceRegistries, desiredCount,
      launchType, capacityProviderStrategy, platformVersion, placementConstraints, placementStrategy,
      networkConfiguration, healthCheckGracePeriodSeconds, schedulingStrategy,
      deploymentConfiguration: (if .deploymentConfiguration then (.deploymentConfiguration
          | {maximumPercent, minimumHealthyPercent} | with_entries(select(.value != null))) else null end),
      deploymentController: {type: "CODE_DEPLOY"},
      tags, enableECSManagedTags, propagateTags, enableExecuteCommand}
    | with_entries(select(.value != null and .value != [] and .value != {}))' <<<"$svc" >"$work/service.json"
aws ecs create-service --cli-input-json "file://$work/service.json" >/dev/null

step "10. create the deployment group"
jq -n --arg app "$APP" --arg dg "$DG" --arg role "$role_arn" --arg cluster "$CLUSTER" --arg svc "$SERVICE" \
      --arg blue "$blue_name" --arg green "$green_name" --arg prod "$prod_listener_arn" --arg test "$test_listener_arn" '{
    applicationName: $app, deploymentGroupName: $dg, serviceRoleArn: $role,
    deploymentConfigName: "CodeDeployDefault.ECSAllAtOnce",
    deploymentStyle: {deploymentType: "BLUE_GREEN", deploymentOption: "WITH_TRAFFIC_CONTROL"},
    blueGreenDeploymentConfiguration: {
      terminateBlueInstancesOnDeploymentSuccess: {action: "TERMINATE", terminationWaitTimeInMinutes: 60},
      deploymentReadyOption: {actionOnTimeout: "CONTINUE_DEPLOYMENT"}},
    autoRollbackConfiguration: {enabled: true, events: ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_REQUEST"]},
    ecsServices: [{serviceName: $svc, clusterName: $cluster}],
    loadBalancerInfo: {targetGroupPairInfoList: [{
      targetGroups: [{name: $blue}, {name: $green}],
      prodTrafficRoute: {listenerArns: [$prod]}, testTrafficRoute: {listenerArns: [$test]}}]}}' >"$work/dg.json"
aws deploy create-deployment-group --cli-input-json "file://$work/dg.json" >/dev/null

step "11. switch the pipeline's Deploy action to CodeDeployToECS"
aws codepipeline get-pipeline --name "$PIPELINE" >"$work/pipeline.json"
APP="$APP" DG="$DG" CLUSTER="$CLUSTER" SERVICE="$SERVICE" python3 - "$work/pipeline.json" "$work/pipeline-new.json" <<'PY'
import json, os, sys
doc = json.load(open(sys.argv[1]))
pipeline = doc["pipeline"]  # update-pipeline takes the pipeline without its metadata
changed = 0
for stage in pipeline["stages"]:
    for action in stage["actions"]:
        t = action["actionTypeId"]
        cfg = action.get("configuration", {})
        if (t["category"] == "Deploy" and t["provider"] == "ECS"
                and cfg.get("ClusterName") == os.environ["CLUSTER"] and cfg.get("ServiceName") == os.environ["SERVICE"]):
            artifact = action["inputArtifacts"][0]["name"]
            t["provider"] = "CodeDeployToECS"
            action["configuration"] = {
                "ApplicationName": os.environ["APP"],
                "DeploymentGroupName": os.environ["DG"],
                "TaskDefinitionTemplateArtifact": artifact,
                "TaskDefinitionTemplatePath": "taskdef.json",
                "AppSpecTemplateArtifact": artifact,
                "AppSpecTemplatePath": "appspec.yml",
                "Image1ArtifactName": artifact,
                "Image1ContainerName": "IMAGE1_NAME",
            }
            changed += 1
if changed != 1:
    sys.exit(f"expected exactly one ECS Deploy action for the service, found {changed}")
json.dump({"pipeline": pipeline}, open(sys.argv[2], "w"))
PY
aws codepipeline update-pipeline --cli-input-json "file://$work/pipeline-new.json" >/dev/null

t1="$(now_ms)"
procedure_commands="$(wc -l <"$COUNT_FILE")"

step "check the end state"
controller="$(aws ecs describe-services --cluster "$CLUSTER" --services "$SERVICE" \
    | jq -r '[.services[] | select(.status == "ACTIVE")][0].deploymentController.type')"
[[ "$controller" == CODE_DEPLOY ]] || die "service controller is '$controller', expected CODE_DEPLOY"
dg_type="$(aws deploy get-deployment-group --application-name "$APP" --deployment-group-name "$DG" \
    | jq -r '.deploymentGroupInfo.deploymentStyle.deploymentType')"
[[ "$dg_type" == BLUE_GREEN ]] || die "deployment group $APP/$DG: type '$dg_type', expected BLUE_GREEN"
provider="$(aws codepipeline get-pipeline --name "$PIPELINE" \
    | jq -r '[.pipeline.stages[].actions[] | select(.actionTypeId.category == "Deploy")][0].actionTypeId.provider')"
[[ "$provider" == CodeDeployToECS ]] || die "pipeline Deploy action provider is '$provider', expected CodeDeployToECS"
echo "manual procedure OK: controller $controller, deployment group $APP/$DG ($dg_type), pipeline provider $provider" >&2

echo "MANUAL_COMMANDS=$procedure_commands"
echo "MANUAL_PROCEDURE_MS=$((t1 - t0))"
echo "VERIFY_COMMANDS=$(( $(wc -l <"$COUNT_FILE") - procedure_commands ))"
