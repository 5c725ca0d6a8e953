"""Starts moto's server with the project's small extension (pinned to moto 5.2.5).

Usage: moto_server.py --host 127.0.0.1 --port PORT   (run by scripts/moto; needs moto[server] installed)

The extension is applied to moto's own response classes and backend objects before the server starts,
so state stays per account (x-moto-account-id) and per region like the rest of moto. Operation by
operation:

Operations moto lacks (AWS's documented semantics):

- CodeDeploy ``DeleteApplication``: removes the application, its deployment groups, its deployments and
  their tags. Succeeds when the application is already gone. Returns ``{}``.
- CodeDeploy ``DeleteDeploymentGroup``: removes the deployment group and its tags. Succeeds when the group
  (or its application) is already gone. Returns ``{"hooksNotCleanedUp": []}``.
- CodeDeploy ``CreateDeploymentConfig``: stores a custom config (name, ``computePlatform`` default
  ``Server``, ``trafficRoutingConfig``, ``minimumHealthyHosts``) per account and region; a name taken by a
  predefined or custom config -> 400 ``DeploymentConfigAlreadyExistsException``. Returns
  ``{"deploymentConfigId": ...}``.
- CodeDeploy ``GetDeploymentConfig``: a custom config, or one of AWS's predefined ones (ECS, Server and
  Lambda ``CodeDeployDefault.*`` configs with their compute platform and traffic routing); an unknown
  name -> 400 ``DeploymentConfigDoesNotExistException``.

Answers moto gets wrong:

- CodeDeploy ``ListDeploymentGroups``: every group on one page, with no ``nextToken`` (AWS sends none
  on the last page). moto 5.2.5 echoes the request's token, ``""`` at first, so a client paging until
  the token is absent asks forever.

Refusals moto lacks (AWS refuses these; the order of a migration's calls depends on it):

- CodeDeploy ``CreateDeploymentGroup`` naming an ECS service (``ecsServices``) that is not found / not
  ACTIVE in moto's ECS backend of the same account and region, or whose deploymentController is not
  ``CODE_DEPLOY`` -> 400 ``InvalidECSServiceException`` "Deployment group's ECS service must be
  configured for a CODE_DEPLOY deployment controller." (a missing service gets its own message).
  Checked only when the application exists and the group does not, so moto's own errors keep their
  precedence.
- CodeDeploy ``CreateDeploymentGroup`` naming a ``deploymentConfigName`` that is neither predefined nor
  created -> 400 ``DeploymentConfigDoesNotExistException`` (moto stores any name); one of another compute
  platform than the application's -> 400 ``InvalidDeploymentConfigNameException`` (the code AWS uses for
  this is inferred, not documented). Same precedence as above.
- ECS ``CreateService`` with a name that is still ACTIVE in that cluster -> 400
  ``InvalidParameterException`` "Creation of service was not idempotent." (moto would silently replace it),
  unless the request repeats the ``clientToken`` that created it: then the existing service, as AWS
  answers an idempotent retry.
- ECS ``UpdateService`` with ``deploymentController.type = CODE_DEPLOY`` -> 400
  ``InvalidParameterException`` (AWS has no in-place path into CODE_DEPLOY; the service must be recreated).
- ECS ``UpdateService`` on a ``CODE_DEPLOY`` service changing ``taskDefinition``,
  ``networkConfiguration``, ``loadBalancers`` or setting ``forceNewDeployment`` -> 400
  ``InvalidParameterException`` with AWS's texts ("Unable to update task definition on services with a
  CODE_DEPLOY deployment controller. Use AWS CodeDeploy to trigger a new deployment." etc.).
- ELBv2 ``CreateListener`` on a port the load balancer already listens on: AWS answers with the
  existing listener when protocol, port and default actions are the same (the call is idempotent, as a
  retry after a lost answer needs), else 400 ``DuplicateListener``. moto 5.2.5 compares the port with
  listener ARNs, so it never refuses and makes a second listener on the port.
- ELBv2 ``authenticate-oidc`` actions: AWS never returns ``ClientSecret`` in DescribeListeners /
  DescribeRules; a ModifyListener / ModifyRule re-sending an OIDC action keeps the stored secret when
  the action says ``UseExistingClientSecret: true`` and is refused (400 ``ValidationError``) when it has
  neither (ELBv2 API reference, AuthenticateOidcActionConfig). moto 5.2.5 returns the secret, echoes
  ``UseExistingClientSecret`` and forgets the secret.

- IAM ``SimulatePrincipalPolicy`` (moto lacks it): the identity policies of the role or user named by
  ``PolicySourceArn`` (inline, attached, and for a user its groups'; a permissions boundary limits them)
  evaluated for each action on each of ``ResourceArns`` with ``ContextEntries``: ``Action``/``NotAction``
  (case-insensitive), ``Resource``/``NotResource``, ``*``/``?`` wildcards, the String and Arn condition
  operators (``...IfExists`` too; an operator not modelled never allows and always denies), explicit deny
  first. One ``EvaluationResult`` per action with the most restrictive decision over the resources and
  ``ResourceSpecificResults`` per resource, as IAM answers now. moto's own evaluator
  (``moto.iam.access_control.IAMPolicyStatement``) is not used as it is: it treats an ``Allow`` whose
  condition fails as a deny, knows only ``StringEquals``, and matches actions case-sensitively.
- Reserved tag keys: a key starting with ``aws:`` (any case) in ELBv2 ``CreateTargetGroup`` /
  ``CreateListener`` / ``AddTags`` -> 400 ``ValidationError`` "Tag key '<key>' cannot start with 'aws:'"
  (the text AWS returns, seen in aws/elastic-load-balancing-tools#6); IAM ``CreateRole`` / ``TagRole`` ->
  400 ``InvalidInput``; CodeDeploy ``CreateApplication`` / ``TagResource`` -> 400
  ``InvalidTagsToAddException`` and ``CreateDeploymentGroup`` -> 400 ``InvalidTagException``; ECS
  ``CreateService`` / ``TagResource`` -> 400 ``InvalidParameterException`` (the codes are the APIs'
  documented errors for invalid tags; the texts other than ELBv2's are not documented). A test seeds
  AWS-set tags (CloudFormation's ``aws:cloudformation:*``) by sending the header
  ``x-ecs-bluegreen-seed-reserved-tags``.
- ELBv2 ``CreateListener`` / ``ModifyListener`` with a non-HTTPS listener protocol forwarding to a target
  group whose ``ProtocolVersion`` is ``GRPC`` or ``HTTP2`` -> 400 ``UnsupportedProtocol`` "Listener
  protocol 'HTTP' is not supported with a target group with the protocol-version 'HTTP2'" (the ALB
  target group docs: for those versions "the only supported listener protocol is HTTPS"; the text is
  AWS's as seen in aws/copilot-cli#4551, the code ELBv2's modeled UnsupportedProtocolException, inferred).
  ModifyListener is checked with the listener's protocol and actions as they would become.

IAM enforcement (on once ``POST /moto-api/reset-auth`` set the free-request count; server-wide):

- Requests are checked against the caller's policies under the IAM action name AWS documents: moto
  names the action by the request's signing name, which for CloudWatch is ``monitoring``; AWS's IAM
  prefix is ``cloudwatch`` (the service authorization reference), so ``monitoring:X`` is checked as
  ``cloudwatch:X``.
- moto knows the resource of a request only for IAM role calls (the role's ARN); for the others it
  checks ``*``, which no ARN-scoped ``Resource`` matches, so a least-privilege policy would be denied
  everything AWS allows. A request whose resource moto does not know is checked by its action only
  (any ``Resource`` of a statement applies); role calls keep their ARN check. More lenient than AWS in
  that one respect: resource scoping of the other services is checked by the library's own tests
  (the declared permissions cover the ARNs each call names) and by ``SimulatePrincipalPolicy``.

- Signatures are not verified: moto recomputes each request's SigV4 signature from its own copy of
  the request and disagrees with the Rust SDK's for some of them (seen: IAM ``CreateRole`` with tags
  and a description; boto3's same request passes), refusing it with ``SignatureDoesNotMatch``. The
  access key still names the caller (an unknown key is refused) and its policies are checked.

Behaviour moto lacks:

- ECS ``DeleteService`` deregisters the service's Application Auto Scaling scalable target
  (``service/<cluster>/<service>``, ``ecs:service:DesiredCount``) with its scaling policies (and the
  ``TargetTracking-`` alarms those created) and its scheduled actions, as AWS does
  (DeregisterScalableTarget "deletes the scaling policies and the scheduled actions"). moto 5.2.5 keeps
  them.
- Application Auto Scaling ``RegisterScalableTarget`` for an ECS service that is not ACTIVE -> 400
  ``ValidationException`` "ECS service doesn't exist: <resource id>". moto 5.2.5 refuses a service it
  never had with that error but accepts a deleted (INACTIVE) one; it has no DRAINING state (a deleted
  service is INACTIVE at once).

- ECS ``CreateService`` with a ``desiredCount`` above ``MOTO_ECS_SERVICE_RUNNING`` (when that is set):
  the service reports its desired count running, as moto's own ``UpdateService`` already does and as
  AWS does once the tasks start (moto would report ``MOTO_ECS_SERVICE_RUNNING`` tasks forever, so a
  service restored with a larger count than the fixture's never looked stable).

ECS-native blue/green (aws-facts.md §14; moto 5.2.5 has none of it):

- ECS ``CreateService`` keeps ``deploymentConfiguration`` (moto drops it) and a ``CODE_DEPLOY`` service
  gets its PRIMARY task set, as AWS creates one ("Service creation results in the creation of a (blue)
  task set").
- ECS ``CreateService`` / ``UpdateService`` check ``deploymentConfiguration`` as documented: strategy
  ROLLING | BLUE_GREEN | LINEAR | CANARY; ``bakeTimeInMinutes`` 0-1440 and required with BLUE_GREEN;
  ``linearConfiguration.stepPercent`` 3-100, ``canaryConfiguration.canaryPercent`` 0.1-100, their bake
  times 0-1440; no PAUSE hook at the two ``*_TRAFFIC_SHIFT`` stages -> 400 ``InvalidParameterException``
  (the texts are ours). UpdateService merges the given members into the stored configuration.
- ECS ``UpdateService`` from ``CODE_DEPLOY`` to ``ECS``: refused with more than one task set or without a
  PRIMARY one (AWS's texts); otherwise the service runs its primary task set's task definition as an
  ECS deployment, the task sets are gone, and the same call may carry ``loadBalancers`` (the documented
  migration), which a CODE_DEPLOY service otherwise refuses.
- Service deployments: CreateService of an ECS-controller service, and an UpdateService that changes
  what runs (task definition, load balancers, network, Service Connect, volumes, capacity, platform,
  registries, ``forceNewDeployment``, the switch to ECS) record one finished service deployment and its
  service revision; ``deploymentConfiguration`` or ``desiredCount`` alone record none. With a BLUE_GREEN /
  LINEAR / CANARY strategy the deployment is ROLLBACK_SUCCESSFUL (service back on the source revision's
  task definition) with AWS's reason "... Both targetGroup and alternateTargetGroup must be associated
  with the productionListenerRule or testListenerRule." unless both target groups are forwarded to by
  the production rule (ALB rule ARN or NLB listener ARN) or the test rule, and when a rule also
  redirects or answers fixed responses; otherwise SUCCESSFUL, and the production rule's forward then
  sends weight 100 to the group that had none (ECS swings the weights).
- ECS ``ListServiceDeployments`` (newest first, ``status`` filter), ``DescribeServiceDeployments``,
  ``DescribeServiceRevisions`` over those records; unknown ARNs are ``failures`` with reason MISSING.
- IAM: ``AmazonECSInfrastructureRolePolicyForLoadBalancers`` is among the loaded managed policies.

Server economy (no behaviour the project relies on changes):

- IAM AWS-managed policies: with ``MOTO_IAM_LOAD_MANAGED_POLICIES=true`` moto parses and builds all
  ~1,300 AWS-managed policies for every new account (~1 s and ~40 MiB per account; hundreds of test
  accounts exhausted memory and stalled the server). The extension parses the data once and builds
  only the policies the project attaches (``LOADED_MANAGED_POLICIES``), unchanged from moto's data.

All errors use the JSON protocol shape the SDKs parse: HTTP 400, ``{"__type": CODE, "message": TEXT}``.
Covered by tests/moto/moto_ext.rs.
"""

import argparse
import functools
import sys

import moto
from moto.codedeploy.exceptions import CodeDeployException
from moto.codedeploy.models import CodeDeployBackend
from moto.codedeploy.responses import CodeDeployResponse
from moto.core.responses import ActionResult, EmptyResult
from moto.ecs.exceptions import InvalidParameterException
from moto.ecs.models import ecs_backends
from moto.ecs.responses import EC2ContainerServiceResponse

PINNED_MOTO = "5.2.5"

CODE_DEPLOY = "CODE_DEPLOY"


class InvalidECSServiceException(CodeDeployException):
    code = 400

    def __init__(self, message: str):
        super().__init__("InvalidECSServiceException", message)


class _CodeDeployError(CodeDeployException):
    code = 400

    def __init__(self, error_type: str, message: str):
        super().__init__(error_type, message)


# AWS's predefined deployment configs: name -> (computePlatform, trafficRoutingConfig type or None).
PREDEFINED_CONFIGS = {
    "CodeDeployDefault.ECSAllAtOnce": ("ECS", "AllAtOnce"),
    "CodeDeployDefault.ECSLinear10PercentEvery1Minutes": ("ECS", "TimeBasedLinear"),
    "CodeDeployDefault.ECSLinear10PercentEvery3Minutes": ("ECS", "TimeBasedLinear"),
    "CodeDeployDefault.ECSCanary10Percent5Minutes": ("ECS", "TimeBasedCanary"),
    "CodeDeployDefault.ECSCanary10Percent15Minutes": ("ECS", "TimeBasedCanary"),
    "CodeDeployDefault.OneAtATime": ("Server", None),
    "CodeDeployDefault.HalfAtATime": ("Server", None),
    "CodeDeployDefault.AllAtOnce": ("Server", None),
    "CodeDeployDefault.LambdaAllAtOnce": ("Lambda", "AllAtOnce"),
    "CodeDeployDefault.LambdaCanary10Percent5Minutes": ("Lambda", "TimeBasedCanary"),
    "CodeDeployDefault.LambdaCanary10Percent10Minutes": ("Lambda", "TimeBasedCanary"),
    "CodeDeployDefault.LambdaCanary10Percent15Minutes": ("Lambda", "TimeBasedCanary"),
    "CodeDeployDefault.LambdaCanary10Percent30Minutes": ("Lambda", "TimeBasedCanary"),
    "CodeDeployDefault.LambdaLinear10PercentEvery1Minute": ("Lambda", "TimeBasedLinear"),
    "CodeDeployDefault.LambdaLinear10PercentEvery2Minutes": ("Lambda", "TimeBasedLinear"),
    "CodeDeployDefault.LambdaLinear10PercentEvery3Minutes": ("Lambda", "TimeBasedLinear"),
    "CodeDeployDefault.LambdaLinear10PercentEvery10Minutes": ("Lambda", "TimeBasedLinear"),
}


def _custom_configs(backend: CodeDeployBackend) -> dict:
    """The custom deployment configs of one account and region, kept on moto's backend object."""
    if not hasattr(backend, "_ebg_deployment_configs"):
        backend._ebg_deployment_configs = {}
    return backend._ebg_deployment_configs


def _find_config(backend: CodeDeployBackend, name: str):
    """The config's info as GetDeploymentConfig returns it, or None."""
    custom = _custom_configs(backend).get(name)
    if custom is not None:
        return custom
    if name in PREDEFINED_CONFIGS:
        platform, routing = PREDEFINED_CONFIGS[name]
        info = {"deploymentConfigName": name, "deploymentConfigId": name, "computePlatform": platform}
        if routing is not None:
            info["trafficRoutingConfig"] = {"type": routing}
        return info
    return None


# ---------------------------------------------------------------- CodeDeploy: missing operations


def _delete_deployment_group(backend: CodeDeployBackend, app_name: str, group_name: str) -> None:
    groups = backend.deployment_groups.get(app_name, {})
    if groups.pop(group_name, None) is not None:
        backend.tagger.delete_all_tags_for_resource(backend._deployment_group_arn(app_name, group_name))


def delete_application(self: CodeDeployResponse) -> EmptyResult:
    """DeleteApplication: the application, its groups and its deployment history; idempotent."""
    backend = self.codedeploy_backend
    app_name = self._get_param("applicationName")
    for group_name in list(backend.deployment_groups.get(app_name, {})):
        _delete_deployment_group(backend, app_name, group_name)
    backend.deployment_groups.pop(app_name, None)
    for deployment_id, deployment in list(backend.deployments.items()):
        if deployment.application_name == app_name:
            del backend.deployments[deployment_id]
    if backend.applications.pop(app_name, None) is not None:
        backend.tagger.delete_all_tags_for_resource(backend._application_arn(app_name))
    return EmptyResult()


def delete_deployment_group(self: CodeDeployResponse) -> ActionResult:
    """DeleteDeploymentGroup: the group only; idempotent."""
    _delete_deployment_group(
        self.codedeploy_backend,
        self._get_param("applicationName"),
        self._get_param("deploymentGroupName"),
    )
    return ActionResult({"hooksNotCleanedUp": []})


def list_deployment_groups(self: CodeDeployResponse) -> ActionResult:
    """ListDeploymentGroups as one last page: no ``nextToken`` (moto echoes the request's, ``""``)."""
    application_name = self._get_param("applicationName")
    groups = self.codedeploy_backend.list_deployment_groups(
        application_name=application_name, next_token=self._get_param("nextToken", "")
    )
    return ActionResult({"applicationName": application_name, "deploymentGroups": groups})


def create_deployment_config(self: CodeDeployResponse) -> ActionResult:
    """CreateDeploymentConfig: a custom config in this account and region."""
    import uuid
    from datetime import datetime, timezone

    backend = self.codedeploy_backend
    name = self._get_param("deploymentConfigName")
    if _find_config(backend, name) is not None:
        raise _CodeDeployError(
            "DeploymentConfigAlreadyExistsException", f"A deployment configuration with the name {name} already exists."
        )
    config_id = str(uuid.uuid4())
    info = {
        "deploymentConfigName": name,
        "deploymentConfigId": config_id,
        "computePlatform": self._get_param("computePlatform") or "Server",
        "createTime": datetime.now(timezone.utc),
    }
    for member in ("trafficRoutingConfig", "minimumHealthyHosts", "zonalConfig"):
        value = self._get_param(member)
        if value is not None:
            info[member] = value
    _custom_configs(backend)[name] = info
    return ActionResult({"deploymentConfigId": config_id})


def get_deployment_config(self: CodeDeployResponse) -> ActionResult:
    """GetDeploymentConfig: a custom or predefined config."""
    name = self._get_param("deploymentConfigName")
    info = _find_config(self.codedeploy_backend, name)
    if info is None:
        raise _CodeDeployError("DeploymentConfigDoesNotExistException", f"No deployment configuration found for name: {name}")
    return ActionResult({"deploymentConfigInfo": info})


# ---------------------------------------------------------------- CodeDeploy: refusals


def _wrap_create_deployment_group(original):
    @functools.wraps(original)
    def create_deployment_group(self: CodeDeployResponse):
        backend = self.codedeploy_backend
        app_name = self._get_param("applicationName")
        group_name = self._get_param("deploymentGroupName")
        if app_name in backend.applications and group_name not in backend.deployment_groups.get(app_name, {}):
            config_name = self._get_param("deploymentConfigName")
            if config_name is not None:
                config = _find_config(backend, config_name)
                if config is None:
                    raise _CodeDeployError(
                        "DeploymentConfigDoesNotExistException", f"No deployment configuration found for name: {config_name}"
                    )
                app_platform = backend.applications[app_name].compute_platform or "Server"
                if config["computePlatform"] != app_platform:
                    raise _CodeDeployError(
                        "InvalidDeploymentConfigNameException",
                        f"Deployment config {config_name} is for the {config['computePlatform']} compute platform, "
                        f"not {app_platform}",
                    )
            ecs = ecs_backends[self.current_account][self.region]
            for entry in self._get_param("ecsServices") or []:
                cluster = (entry.get("clusterName") or "").split("/")[-1]
                service_name = (entry.get("serviceName") or "").split("/")[-1]
                service = ecs.services.get(f"{cluster}:{service_name}")
                if service is None or service.status != "ACTIVE":
                    raise InvalidECSServiceException(
                        f"Deployment group's ECS service {cluster}:{service_name} does not exist."
                    )
                if (service.deployment_controller or {}).get("type") != CODE_DEPLOY:
                    raise InvalidECSServiceException(
                        "Deployment group's ECS service must be configured for a CODE_DEPLOY deployment controller."
                    )
        return original(self)

    return create_deployment_group


# ---------------------------------------------------------------- ELBv2: one listener per port


def _action_key(action) -> str:
    import json

    return json.dumps(action.data, sort_keys=True, default=str)


def _wrap_create_listener(original):
    @functools.wraps(original)
    def create_listener(self, load_balancer_arn, protocol, port, ssl_policy, certificate, actions, *args, **kwargs):
        from moto.elbv2.exceptions import DuplicateListenerError
        from moto.elbv2.models import FakeAction

        balancer = self.load_balancers.get(load_balancer_arn)
        if balancer is not None:
            for listener in balancer.listeners.values():
                if str(listener.port) != str(port):
                    continue
                wanted = [_action_key(FakeAction(a)) for a in actions]
                have = [_action_key(a) for a in listener.default_actions]
                if listener.protocol == protocol and wanted == have:
                    return listener
                raise DuplicateListenerError()
        return original(self, load_balancer_arn, protocol, port, ssl_policy, certificate, actions, *args, **kwargs)

    return create_listener


# ---------------------------------------------------------------- ELBv2: OIDC client secrets


def _wrap_fake_action_init(original):
    @functools.wraps(original)
    def __init__(self, data):
        cfg = data.get("AuthenticateOidcConfig")
        secret, use_existing = None, False
        if isinstance(cfg, dict):
            # Kept out of `data`, which moto serialises into every describe.
            secret = cfg.pop("ClientSecret", None)
            use_existing = str(cfg.pop("UseExistingClientSecret", "false")).lower() == "true"
        original(self, data)
        self._oidc_secret = secret
        self._oidc_use_existing = use_existing

    return __init__


def _carry_oidc_secrets(old_actions, new_actions):
    from moto.elbv2.exceptions import ELBClientError as RESTError

    old = [a for a in old_actions if getattr(a, "_oidc_secret", None)]
    for action in new_actions:
        if action.type != "authenticate-oidc" or action._oidc_secret:
            continue
        if action._oidc_use_existing and old:
            action._oidc_secret = old[0]._oidc_secret
        else:
            raise RESTError("ValidationError", "A client secret must be specified for an authenticate-oidc action")


def _wrap_modify_listener(original):
    @functools.wraps(original)
    def modify_listener(self, arn, *args, **kwargs):
        listener = self.describe_listeners(load_balancer_arn=None, listener_arns=[arn])[0]
        old = list(listener.default_actions)
        result = original(self, arn, *args, **kwargs)
        try:
            _carry_oidc_secrets(old, result.default_actions)
        except Exception:
            listener.default_actions = old
            raise
        return result

    return modify_listener


# ---------------------------------------------------------------- ECS: refusals


def _wrap_create_service(original):
    @functools.wraps(original)
    def create_service(self: EC2ContainerServiceResponse):
        cluster_name = self._get_param("cluster", "default").split("/")[-1]
        service_name = self._get_param("serviceName")
        token = self._get_param("clientToken")
        existing = self.ecs_backend.services.get(f"{cluster_name}:{service_name}")
        if existing is not None and existing.status == "ACTIVE":
            # The same client token again (a retry after a lost answer): the service it made.
            if token and getattr(existing, "_ebg_client_token", None) == token:
                return ActionResult({"service": existing})
            raise InvalidParameterException("Creation of service was not idempotent.")
        result = original(self)
        created = self.ecs_backend.services.get(f"{cluster_name}:{service_name}")
        if token and created is not None:
            created._ebg_client_token = token
        return result

    return create_service


# UpdateService members AWS refuses on a CODE_DEPLOY service, with AWS's messages.
_CODE_DEPLOY_FIXED = [
    (
        "taskDefinition",
        "Unable to update task definition on services with a CODE_DEPLOY deployment controller. "
        "Use AWS CodeDeploy to trigger a new deployment.",
    ),
    (
        "networkConfiguration",
        "Unable to update network parameters on services with a CODE_DEPLOY deployment controller. "
        "Use AWS CodeDeploy to trigger a new deployment.",
    ),
    (
        "loadBalancers",
        "Unable to update load balancers on services with a CODE_DEPLOY deployment controller. "
        "Use AWS CodeDeploy to trigger a new deployment.",
    ),
    (
        "forceNewDeployment",
        "Unable to update network parameters on services with a CODE_DEPLOY deployment controller. "
        "Use AWS CodeDeploy to trigger a new deployment.",
    ),
]


def _wrap_update_service(original):
    @functools.wraps(original)
    def update_service(self: EC2ContainerServiceResponse):
        controller = self._get_param("deploymentController") or {}
        if controller.get("type") == CODE_DEPLOY:
            raise InvalidParameterException(
                "Unable to update the deployment controller of a service to CODE_DEPLOY. "
                "Create a new service with a CODE_DEPLOY deployment controller."
            )
        cluster_name = self._get_param("cluster", "default").split("/")[-1]
        service_name = (self._get_param("service") or "").split("/")[-1]
        service = self.ecs_backend.services.get(f"{cluster_name}:{service_name}")
        # Unknown services fall through to moto's own ServiceNotFoundException.
        # The call that switches a CODE_DEPLOY service to ECS may carry them (the documented migration).
        switching_to_ecs = controller.get("type") == "ECS"
        if service is not None and (service.deployment_controller or {}).get("type") == CODE_DEPLOY and not switching_to_ecs:
            for member, message in _CODE_DEPLOY_FIXED:
                value = self._get_param(member)
                if value is not None and value is not False:
                    raise InvalidParameterException(message)
        return original(self)

    return update_service


def _wrap_backend_create_service(original):
    @functools.wraps(original)
    def create_service(self, *args, **kwargs):
        import os

        service = original(self, *args, **kwargs)
        try:
            started = int(os.environ.get("MOTO_ECS_SERVICE_RUNNING", "0")) > 0
        except ValueError:
            started = False
        if started and service.desired_count > service.running_count:
            extra = service.desired_count - service.running_count
            cluster = self._get_cluster(service.cluster_name)
            self.update_cluster_resources(cluster, extra, task_state="RUNNING")
            self.update_cluster_resources(cluster, -service.pending_count, task_state="PENDING")
            service.running_count = service.desired_count
            service.pending_count = 0
            for d in service.deployments:
                d.update(runningCount=service.desired_count, pendingCount=0, rolloutState="COMPLETED")
        return service

    return create_service


# ---------------------------------------------------------------- ECS-native blue/green

_NATIVE_STRATEGIES = ("BLUE_GREEN", "LINEAR", "CANARY")
_STRATEGIES = ("ROLLING",) + _NATIVE_STRATEGIES
# UpdateService members that start a new service deployment (deploymentConfiguration and desiredCount
# alone do not: "doesn't trigger a new service deployment").
_DEPLOYING_MEMBERS = (
    "taskDefinition",
    "loadBalancers",
    "networkConfiguration",
    "serviceConnectConfiguration",
    "volumeConfigurations",
    "vpcLatticeConfigurations",
    "capacityProviderStrategy",
    "platformVersion",
    "serviceRegistries",
)
_INVALID_NETWORKING = (
    "Service deployment rolled back because of invalid networking configuration. "
    "Both targetGroup and alternateTargetGroup must be associated with the productionListenerRule or "
    "testListenerRule."
)


def _check_range(name: str, value, low: float, high: float) -> None:
    if value is None:
        return
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidParameterException(f"{name} must be a number.")
    if not low <= number <= high:
        raise InvalidParameterException(f"{name} must be between {low:g} and {high:g}.")


def _validate_deployment_configuration(config: dict) -> None:
    """The documented ranges and requirements of DeploymentConfiguration (ECS API reference)."""
    strategy = config.get("strategy") or "ROLLING"
    if strategy not in _STRATEGIES:
        raise InvalidParameterException(f"Invalid deployment strategy: {strategy}.")
    _check_range("bakeTimeInMinutes", config.get("bakeTimeInMinutes"), 0, 1440)
    if strategy == "BLUE_GREEN" and config.get("bakeTimeInMinutes") is None:
        raise InvalidParameterException("bakeTimeInMinutes is required for the BLUE_GREEN deployment strategy.")
    linear = config.get("linearConfiguration") or {}
    _check_range("linearConfiguration.stepPercent", linear.get("stepPercent"), 3.0, 100.0)
    _check_range("linearConfiguration.stepBakeTimeInMinutes", linear.get("stepBakeTimeInMinutes"), 0, 1440)
    canary = config.get("canaryConfiguration") or {}
    _check_range("canaryConfiguration.canaryPercent", canary.get("canaryPercent"), 0.1, 100.0)
    _check_range("canaryConfiguration.canaryBakeTimeInMinutes", canary.get("canaryBakeTimeInMinutes"), 0, 1440)
    for hook in config.get("lifecycleHooks") or []:
        if hook.get("targetType") == "PAUSE":
            for stage in hook.get("lifecycleStages") or []:
                if stage in ("TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT"):
                    raise InvalidParameterException(f"A PAUSE lifecycle hook is not supported at the {stage} stage.")


def _native_state(backend) -> dict:
    """Service deployments and revisions of one account and region, kept on moto's ECS backend."""
    if not hasattr(backend, "_ebg_native"):
        backend._ebg_native = {"deployments": {}, "revisions": {}}
    return backend._ebg_native


def _forward_groups(actions) -> list:
    groups = []
    for action in actions:
        data = action.data
        if data.get("Type") != "forward":
            continue
        if data.get("TargetGroupArn"):
            groups.append(data["TargetGroupArn"])
        for tg in (data.get("ForwardConfig") or {}).get("TargetGroups") or []:
            if tg.get("TargetGroupArn") and tg["TargetGroupArn"] not in groups:
                groups.append(tg["TargetGroupArn"])
    return groups


def _find_route(elb, arn: str):
    """The rule (ALB: a rule ARN) or listener (NLB: a listener ARN) of an advanced configuration."""
    if not arn:
        return None
    for balancer in elb.load_balancers.values():
        for listener in balancer.listeners.values():
            if listener.arn == arn:
                return listener._default_rule[0]
            for rule in listener.rules.values():
                if rule.arn == arn:
                    return rule
    return None


def _networking_problem(backend, service):
    """Why a native blue/green deployment of `service` would roll back, or None."""
    from moto.elbv2.models import elbv2_backends

    elb = elbv2_backends[backend.account_id][backend.region_name]
    for lb in service.load_balancers or []:
        advanced = lb.get("advancedConfiguration")
        if not advanced:
            continue
        production = _find_route(elb, advanced.get("productionListenerRule"))
        test = _find_route(elb, advanced.get("testListenerRule"))
        associated = set()
        for route in (production, test):
            if route is None:
                continue
            if any(a.data.get("Type") in ("redirect", "fixed-response") for a in route.actions):
                return _INVALID_NETWORKING
            associated.update(_forward_groups(route.actions))
        if production is None or not {lb.get("targetGroupArn"), advanced.get("alternateTargetGroupArn")} <= associated:
            return _INVALID_NETWORKING
    return None


def _swing_production_traffic(backend, service) -> None:
    """After a native blue/green deployment, production traffic is on the other target group."""
    from moto.elbv2.models import FakeAction, elbv2_backends

    elb = elbv2_backends[backend.account_id][backend.region_name]
    for lb in service.load_balancers or []:
        advanced = lb.get("advancedConfiguration") or {}
        route = _find_route(elb, advanced.get("productionListenerRule"))
        if route is None:
            continue
        pair = [lb.get("targetGroupArn"), advanced.get("alternateTargetGroupArn")]
        new_actions = []
        for action in route.actions:
            data = dict(action.data)
            if data.get("Type") == "forward":
                weights = {tg["TargetGroupArn"]: int(tg.get("Weight", 1)) for tg in (data.get("ForwardConfig") or {}).get("TargetGroups") or []}
                if data.get("TargetGroupArn") and not weights:
                    weights = {data["TargetGroupArn"]: 1}
                serving = max(pair, key=lambda arn: weights.get(arn, 0))
                idle = pair[1] if serving == pair[0] else pair[0]
                stickiness = (data.get("ForwardConfig") or {}).get("TargetGroupStickinessConfig") or {"Enabled": False}
                data.pop("TargetGroupArn", None)
                data["ForwardConfig"] = {
                    "TargetGroups": [{"TargetGroupArn": idle, "Weight": 100}, {"TargetGroupArn": serving, "Weight": 0}],
                    "TargetGroupStickinessConfig": stickiness,
                }
                replacement = FakeAction(data)
                for attr in ("_oidc_secret", "_oidc_use_existing"):
                    if hasattr(action, attr):
                        setattr(replacement, attr, getattr(action, attr))
                new_actions.append(replacement)
            else:
                new_actions.append(action)
        route.actions = new_actions
        if route.is_default:
            for balancer in elb.load_balancers.values():
                listener = balancer.listeners.get(route.listener_arn)
                if listener is not None:
                    listener.default_actions = new_actions


def _record_service_deployment(backend, service) -> dict:
    """One finished service deployment (and its revision), as ListServiceDeployments shows it."""
    import copy
    import uuid

    from moto.core.utils import utcnow

    state = _native_state(backend)
    now = utcnow()
    cluster, name = service.cluster_name, service.name
    prefix = f"arn:{service.arn.split(':')[1]}:ecs:{backend.region_name}:{backend.account_id}"
    previous = [
        d for d in state["deployments"].values() if d["serviceArn"] == service.arn and d["status"] == "SUCCESSFUL"
    ]
    source = previous[-1]["targetServiceRevision"]["arn"] if previous else None
    revision_arn = f"{prefix}:service-revision/{cluster}/{name}/{uuid.uuid4().int % 10**19}"
    config = copy.deepcopy(getattr(service, "deployment_configuration", None) or {})
    strategy = config.get("strategy") or "ROLLING"
    problem = _networking_problem(backend, service) if strategy in _NATIVE_STRATEGIES and source else None
    state["revisions"][revision_arn] = {
        "serviceRevisionArn": revision_arn,
        "serviceArn": service.arn,
        "clusterArn": service.cluster_arn,
        "taskDefinition": service.task_definition,
        "loadBalancers": copy.deepcopy(service.load_balancers or []),
        "launchType": service.launch_type,
        "createdAt": now,
    }
    deployment = {
        "serviceDeploymentArn": f"{prefix}:service-deployment/{cluster}/{name}/{uuid.uuid4().hex[:22]}",
        "serviceArn": service.arn,
        "clusterArn": service.cluster_arn,
        "createdAt": now,
        "startedAt": now,
        "finishedAt": now,
        "updatedAt": now,
        "targetServiceRevision": {
            "arn": revision_arn,
            "requestedTaskCount": service.desired_count,
            "runningTaskCount": service.desired_count if problem is None else 0,
            "pendingTaskCount": 0,
        },
        "sourceServiceRevisions": (
            [{"arn": source, "requestedTaskCount": 0, "runningTaskCount": 0, "pendingTaskCount": 0}] if source else []
        ),
        "status": "SUCCESSFUL" if problem is None else "ROLLBACK_SUCCESSFUL",
        "deploymentConfiguration": config,
    }
    if problem is not None:
        # Rolled back: the service keeps running the source revision.
        service.task_definition = state["revisions"][source]["taskDefinition"]
        deployment["statusReason"] = problem
        deployment["rollback"] = {"reason": problem, "startedAt": now, "serviceRevisionArn": source}
    elif strategy in _NATIVE_STRATEGIES and source:
        _swing_production_traffic(backend, service)
    state["deployments"][deployment["serviceDeploymentArn"]] = deployment
    return deployment


def _wrap_native_create_service(original):
    @functools.wraps(original)
    def create_service(self: EC2ContainerServiceResponse):
        config = self._get_param("deploymentConfiguration")
        if config is not None:
            _validate_deployment_configuration(config)
        cluster_name = self._get_param("cluster", "default").split("/")[-1]
        service_name = self._get_param("serviceName")
        before = self.ecs_backend.services.get(f"{cluster_name}:{service_name}")
        result = original(self)
        service = self.ecs_backend.services.get(f"{cluster_name}:{service_name}")
        if service is None or service is before:
            return result
        if config is not None:
            # moto drops it; AWS returns what was given.
            service.deployment_configuration = config
        controller = (service.deployment_controller or {}).get("type")
        if controller == CODE_DEPLOY and service.task_definition:
            # "Service creation results in the creation of a (blue) task set registered with the
            # specified target group" (ECS developer guide).
            task_set = self.ecs_backend.create_task_set(
                service.arn,
                cluster_name,
                service.task_definition,
                load_balancers=service.load_balancers,
                launch_type=service.launch_type or "FARGATE",
                network_configuration=self._get_param("networkConfiguration"),
                service_registries=service.service_registries,
            )
            task_set.status = "PRIMARY"
            task_set.computedDesiredCount = service.desired_count
            task_set.runningCount = service.running_count
        elif controller == "ECS":
            _record_service_deployment(self.ecs_backend, service)
        return result

    return create_service


def _wrap_native_update_service(original):
    @functools.wraps(original)
    def update_service(self: EC2ContainerServiceResponse):
        import copy

        cluster_name = self._get_param("cluster", "default").split("/")[-1]
        service_name = (self._get_param("service") or "").split("/")[-1]
        service = self.ecs_backend.services.get(f"{cluster_name}:{service_name}")
        if service is None:
            return original(self)
        config = self._get_param("deploymentConfiguration")
        merged = None
        if config is not None:
            merged = {**(copy.deepcopy(getattr(service, "deployment_configuration", None) or {})), **config}
            _validate_deployment_configuration(merged)
        controller = (self._get_param("deploymentController") or {}).get("type")
        current = (service.deployment_controller or {}).get("type")
        switching_to_ecs = controller == "ECS" and current == CODE_DEPLOY
        if switching_to_ecs:
            if len(service.task_sets) > 1:
                raise InvalidParameterException(
                    "Updating the deployment controller is not supported when there are multiple tasksets in the service."
                )
            primary = [t for t in service.task_sets if t.status == "PRIMARY"]
            if not primary:
                raise InvalidParameterException("Updating the deployment controller requires a primary taskset in the service.")
        result = original(self)
        if merged is not None:
            service.deployment_configuration = merged
        if switching_to_ecs:
            from moto.core.utils import utcnow

            task_set = service.task_sets[0]
            if not self._get_param("taskDefinition"):
                service.task_definition = task_set.task_definition
            service.task_sets = []
            service.deployments = [
                {
                    "createdAt": utcnow(),
                    "desiredCount": service.desired_count,
                    "failedTasks": 0,
                    "id": task_set.id,
                    "launchType": service.launch_type,
                    "pendingCount": 0,
                    "rolloutState": "COMPLETED",
                    "rolloutStateReason": f"ECS deployment {task_set.id} completed.",
                    "runningCount": service.desired_count,
                    "status": "PRIMARY",
                    "taskDefinition": service.task_definition,
                    "updatedAt": utcnow(),
                }
            ]
        if (service.deployment_controller or {}).get("type", "ECS") == "ECS" and (
            switching_to_ecs
            or self._get_param("forceNewDeployment")
            or any(self._get_param(member) is not None for member in _DEPLOYING_MEMBERS)
        ):
            _record_service_deployment(self.ecs_backend, service)
        return result

    return update_service


def _service_deployment_brief(deployment: dict) -> dict:
    brief = {k: deployment[k] for k in ("serviceDeploymentArn", "serviceArn", "clusterArn", "startedAt", "createdAt",
                                        "finishedAt", "status") if k in deployment}
    brief["targetServiceRevisionArn"] = deployment["targetServiceRevision"]["arn"]
    if "statusReason" in deployment:
        brief["statusReason"] = deployment["statusReason"]
    return brief


def list_service_deployments(self: EC2ContainerServiceResponse) -> ActionResult:
    """ListServiceDeployments: newest first, optionally filtered by status."""
    from moto.ecs.exceptions import ServiceNotFoundException

    cluster_name = self._get_param("cluster", "default").split("/")[-1]
    service_name = (self._get_param("service") or "").split("/")[-1]
    service = self.ecs_backend.services.get(f"{cluster_name}:{service_name}")
    if service is None:
        raise ServiceNotFoundException
    statuses = self._get_param("status") or []
    found = [
        _service_deployment_brief(d)
        for d in reversed(list(_native_state(self.ecs_backend)["deployments"].values()))
        if d["serviceArn"] == service.arn and (not statuses or d["status"] in statuses)
    ]
    return ActionResult({"serviceDeployments": found})


def describe_service_deployments(self: EC2ContainerServiceResponse) -> ActionResult:
    """DescribeServiceDeployments: the deployments asked for; unknown ARNs are failures."""
    deployments = _native_state(self.ecs_backend)["deployments"]
    found, failures = [], []
    for arn in self._get_param("serviceDeploymentArns") or []:
        if arn in deployments:
            found.append(deployments[arn])
        else:
            failures.append({"arn": arn, "reason": "MISSING"})
    return ActionResult({"serviceDeployments": found, "failures": failures})


def describe_service_revisions(self: EC2ContainerServiceResponse) -> ActionResult:
    """DescribeServiceRevisions: the revisions asked for; unknown ARNs are failures."""
    revisions = _native_state(self.ecs_backend)["revisions"]
    found, failures = [], []
    for arn in self._get_param("serviceRevisionArns") or []:
        if arn in revisions:
            found.append(revisions[arn])
        else:
            failures.append({"arn": arn, "reason": "MISSING"})
    return ActionResult({"serviceRevisions": found, "failures": failures})


def _deregister_scaling(account_id: str, region: str, cluster_name: str, service_name: str) -> None:
    """Removes the scalable target of an ECS service with its policies and scheduled actions."""
    from moto.applicationautoscaling.models import applicationautoscaling_backends

    backend = applicationautoscaling_backends[account_id][region]
    rid = f"service/{cluster_name}/{service_name}"
    dimension = "ecs:service:DesiredCount"
    backend.targets.get(dimension, {}).pop(rid, None)
    for key, policy in list(backend.policies.items()):
        if policy.service_namespace == "ecs" and policy.resource_id == rid:
            policy.delete_alarms(account_id, region)
            del backend.policies[key]
    backend.scheduled_actions = [
        a for a in backend.scheduled_actions if not (a.service_namespace == "ecs" and a.resource_id == rid)
    ]


def _wrap_backend_delete_service(original):
    @functools.wraps(original)
    def delete_service(self, cluster_name, service_name, force):
        service = original(self, cluster_name, service_name, force)
        _deregister_scaling(self.account_id, self.region_name, service.cluster_name, service.name)
        return service

    return delete_service


def _wrap_ecs_service_exists_for_target(original):
    @functools.wraps(original)
    def ecs_service_exists(self, r_id):
        original(self, r_id)
        _, cluster, service = r_id.split("/")
        found, _ = self.ecs_backend.describe_services(cluster, [service])
        if not found or found[0].status != "ACTIVE":
            from moto.applicationautoscaling.exceptions import AWSValidationException

            raise AWSValidationException(f"ECS service doesn't exist: {r_id}")
        return True

    return ecs_service_exists


# AWS-managed policies the project's fixtures and migrations attach.
LOADED_MANAGED_POLICIES = (
    "AWSCodeDeployRoleForECS",
    "AWSCodeDeployRoleForECSLimited",
    "AmazonECSTaskExecutionRolePolicy",
    "AmazonECSInfrastructureRolePolicyForLoadBalancers",
)


def _init_selected_aws_policies(self):
    """IAMBackend._init_aws_policies, restricted to LOADED_MANAGED_POLICIES; data parsed once."""
    import json

    from moto.iam import models as iam_models
    from moto.settings import load_iam_aws_managed_policies

    if not load_iam_aws_managed_policies():
        return []
    parsed = getattr(_init_selected_aws_policies, "_parsed", None)
    if parsed is None:
        data = json.loads(iam_models.aws_managed_policies_data)
        parsed = {name: d for name, d in data.items() if name in LOADED_MANAGED_POLICIES}
        _init_selected_aws_policies._parsed = parsed
    return [
        iam_models.AWSManagedPolicy.from_data(name, self.account_id, self.region_name, d) for name, d in parsed.items()
    ]


# ---------------------------------------------------------------- IAM: SimulatePrincipalPolicy

_DECISION_ORDER = {"allowed": 0, "implicitDeny": 1, "explicitDeny": 2}


def _policy_documents(backend, source_arn: str) -> list:
    """Every identity policy document of a role or user (inline, attached; a user's groups' too)."""
    import json

    from moto.iam.access_control import IAMPolicy

    def doc(policy) -> dict:
        return IAMPolicy(policy)._policy_json

    def managed(policy_arn: str) -> dict:
        return doc(backend.get_policy(policy_arn))

    kind, _, name = source_arn.split(":", 5)[-1].partition("/")
    name = name.rsplit("/", 1)[-1]
    docs = []
    if kind == "role":
        role = backend.get_role(name)
        docs += [json.loads(d) if isinstance(d, str) else d for d in role.policies.values()]
        docs += [doc(p) for p in role.managed_policies.values()]
        boundary = managed(role.permissions_boundary_arn) if role.permissions_boundary_arn else None
    elif kind == "user":
        backend.get_user(name)
        for policy_name in backend.list_user_policies(name):
            docs.append(doc(backend.get_user_policy(name, policy_name)))
        attached, _ = backend.list_attached_user_policies(name)
        docs += [doc(p) for p in attached]
        for group in backend.get_groups_for_user(name):
            for policy_name in backend.list_group_policies(group.name):
                docs.append(doc(backend.get_group_policy(group.name, policy_name)))
            attached, _ = backend.list_attached_group_policies(group.name)
            docs += [doc(p) for p in attached]
        user = backend.get_user(name)
        boundary_arn = getattr(user, "permissions_boundary_arn", None)
        boundary = managed(boundary_arn) if boundary_arn else None
    else:
        from moto.iam.exceptions import InvalidInput

        raise InvalidInput(f"Invalid ARN: {source_arn}. PolicySourceArn must name a user, group or role.")
    return docs, boundary


def _glob(pattern: str, value: str, ignore_case: bool) -> bool:
    import re

    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE if ignore_case else 0) is not None


def _strings(value) -> list:
    return [value] if isinstance(value, str) else [v for v in (value or []) if isinstance(v, str)]


def _element(statement: dict, key: str, not_key: str, value: str, ignore_case: bool):
    """moto's IAMPolicyStatement._check_element_matches, with IAM's `?` and case rules."""
    if key in statement:
        return any(_glob(p, value, ignore_case) for p in _strings(statement[key]))
    if not_key in statement:
        return not any(_glob(p, value, ignore_case) for p in _strings(statement[not_key]))
    return None


def _condition(op: str, actual, expected: list):
    """One condition operator on one key; None when the operator is not modelled here."""
    if_exists = op.endswith("IfExists")
    op = op[: -len("IfExists")] if if_exists else op
    checks = {
        "StringEquals": lambda e: e == actual,
        "ArnEquals": lambda e: e == actual,
        "StringEqualsIgnoreCase": lambda e: e.lower() == actual.lower(),
        "StringLike": lambda e: _glob(e, actual, False),
        "ArnLike": lambda e: _glob(e, actual, False),
    }
    negated = {
        "StringNotEquals": "StringEquals",
        "ArnNotEquals": "ArnEquals",
        "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
        "StringNotLike": "StringLike",
        "ArnNotLike": "ArnLike",
    }
    if op not in checks and op not in negated:
        return None
    if actual is None:
        # A key missing from the request: ...IfExists holds, a negated operator holds.
        return if_exists or op in negated
    if op in checks:
        return any(checks[op](e) for e in expected)
    if op in negated:
        return not any(checks[negated[op]](e) for e in expected)
    return None


def _statement_applies(statement: dict, action: str, resource: str, context: dict):
    """True / False, or None when a condition cannot be decided."""
    matched = _element(statement, "Action", "NotAction", action, True)
    if not matched:
        return False
    if not _element(statement, "Resource", "NotResource", resource, False):
        return False
    undecided = False
    for op, keys in (statement.get("Condition") or {}).items():
        for key, expected in keys.items():
            held = _condition(op, context.get(key.lower()), _strings(expected))
            if held is False:
                return False
            if held is None:
                undecided = True
    return None if undecided else True


def _decide(docs: list, action: str, resource: str, context: dict) -> str:
    allowed = False
    for document in docs:
        statements = document.get("Statement", [])
        for statement in statements if isinstance(statements, list) else [statements]:
            applies = _statement_applies(statement, action, resource, context)
            if statement.get("Effect") == "Deny" and applies is not False:
                return "explicitDeny"
            if statement.get("Effect") == "Allow" and applies is True:
                allowed = True
    return "allowed" if allowed else "implicitDeny"


def simulate_principal_policy(self) -> "ActionResult":
    """SimulatePrincipalPolicy: the role's or user's identity policies (inline, attached, a user's
    groups'; a permissions boundary limits them), one result per action with the most restrictive
    decision over the resources and ResourceSpecificResults per resource, as IAM answers now."""
    docs, boundary = _policy_documents(self.backend, self._get_param("PolicySourceArn"))
    docs += [__import__("json").loads(p) for p in self._get_param("PolicyInputList", []) or []]
    actions = self._get_param("ActionNames", []) or []
    resources = self._get_param("ResourceArns", []) or ["*"]
    context = {}
    for entry in self._get_param("ContextEntries", []) or []:
        values = entry.get("ContextKeyValues") or []
        if values:
            context[entry["ContextKeyName"].lower()] = values[0]
    results = []
    for action in actions:
        per_resource = []
        for resource in resources:
            decision = _decide(docs, action, resource, context)
            if decision == "allowed" and boundary is not None and _decide([boundary], action, resource, context) != "allowed":
                decision = "implicitDeny"
            per_resource.append({"EvalResourceName": resource, "EvalResourceDecision": decision, "MatchedStatements": [], "MissingContextValues": []})
        overall = max((r["EvalResourceDecision"] for r in per_resource), key=_DECISION_ORDER.get)
        result = {
            "EvalActionName": action,
            "EvalResourceName": resources[0] if len(resources) == 1 else "*",
            "EvalDecision": overall,
            "MatchedStatements": [],
            "MissingContextValues": [],
        }
        if resources != ["*"]:
            result["ResourceSpecificResults"] = per_resource
        results.append(result)
    return ActionResult({"EvaluationResults": results, "IsTruncated": False})


# ---------------------------------------------------------------- reserved `aws:` tag keys


def _reserved(tags) -> list:
    """Keys of `tags` (a list of {Key, Value} or a dict) that start with `aws:`, in any case."""
    if isinstance(tags, dict):
        keys = list(tags)
    else:
        keys = [t.get("Key", t.get("key", "")) for t in (tags or [])]
    return [k for k in keys if isinstance(k, str) and k[:4].lower() == "aws:"]


# A test seeds a resource with AWS's own `aws:` tags (as CloudFormation's aws:cloudformation:* on
# what it creates) by sending this header; nothing else may set such keys.
SEED_RESERVED_TAGS_HEADER = "x-ecs-bluegreen-seed-reserved-tags"


def _refuse_reserved_tags(original, tags_of, error):
    @functools.wraps(original)
    def wrapped(self, *args, **kwargs):
        reserved = _reserved(tags_of(self))
        if reserved and self.headers.get(SEED_RESERVED_TAGS_HEADER) is None:
            raise error(reserved[0])
        return original(self, *args, **kwargs)

    return wrapped


def _ecs_reserved(key: str):
    return InvalidParameterException(f"Tag key '{key}' is invalid: tag keys starting with 'aws:' are reserved for AWS use.")


def _elb_reserved(key: str):
    from moto.elbv2.exceptions import ELBClientError

    return ELBClientError("ValidationError", f"Tag key '{key}' cannot start with 'aws:'")


def _iam_reserved(key: str):
    from moto.iam.exceptions import InvalidInput

    return InvalidInput(f"Tag key '{key}' is invalid: tag keys starting with 'aws:' are reserved for AWS use.")


def _codedeploy_reserved(code: str):
    return lambda key: _CodeDeployError(code, f"Tag key '{key}' is invalid: tag keys starting with 'aws:' are reserved for AWS use.")


# ---------------------------------------------------------------- ELBv2: gRPC / HTTP2 need HTTPS

_HTTPS_ONLY_VERSIONS = ("GRPC", "HTTP2")


def _forwarded_groups(actions) -> list:
    arns = []
    for action in actions or []:
        if action.get("TargetGroupArn"):
            arns.append(action["TargetGroupArn"])
        for tg in (action.get("ForwardConfig") or {}).get("TargetGroups") or []:
            if tg.get("TargetGroupArn"):
                arns.append(tg["TargetGroupArn"])
    return arns


def _check_listener_protocol(backend, protocol, actions) -> None:
    from moto.elbv2.exceptions import ELBClientError

    if protocol is None or protocol.upper() == "HTTPS":
        return
    for arn in _forwarded_groups(actions):
        group = backend.target_groups.get(arn)
        version = getattr(group, "protocol_version", None)
        if version and version.upper() in _HTTPS_ONLY_VERSIONS:
            raise ELBClientError(
                "UnsupportedProtocol",
                f"Listener protocol '{protocol}' is not supported with a target group with the protocol-version '{version}'",
            )


def _wrap_listener_protocol(original, new_listener: bool):
    @functools.wraps(original)
    def wrapped(self):
        protocol = self._get_param("Protocol")
        actions = self._get_param("DefaultActions", []) or []
        if not new_listener and (protocol is None or not actions):
            # ModifyListener: what is not sent stays; check the listener as it would become.
            arn = self._get_param("ListenerArn")
            listener = self.elbv2_backend.describe_listeners(load_balancer_arn=None, listener_arns=[arn])[0]
            protocol = protocol or listener.protocol
            actions = actions or [a.data for a in listener.default_actions]
        _check_listener_protocol(self.elbv2_backend, protocol, actions)
        return original(self)

    return wrapped


def _wrap_iam_request_init(original):
    @functools.wraps(original)
    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        service, _, operation = self._action.partition(":")
        if service == "monitoring":
            self._action = f"cloudwatch:{operation}"

    return __init__


def _wrap_check_element_matches(original):
    @functools.wraps(original)
    def check(self, statement_element, value):
        # `*`: moto does not know the request's resource (see the module docs).
        if statement_element == "Resource" and value == "*":
            return True
        return original(self, statement_element, value)

    return check


def install() -> None:
    """Applies the extension to moto's classes (idempotent)."""
    if getattr(CodeDeployResponse, "_ecs_bluegreen_ext", False):
        return
    from moto.elbv2.models import ELBv2Backend
    from moto.iam.models import IAMBackend

    ELBv2Backend.create_listener = _wrap_create_listener(ELBv2Backend.create_listener)
    ELBv2Backend.modify_listener = _wrap_modify_listener(ELBv2Backend.modify_listener)
    from moto.elbv2.models import FakeAction

    FakeAction.__init__ = _wrap_fake_action_init(FakeAction.__init__)

    IAMBackend._init_aws_policies = _init_selected_aws_policies
    from moto.iam.access_control import IAMPolicyStatement, IAMRequestBase

    IAMRequestBase.__init__ = _wrap_iam_request_init(IAMRequestBase.__init__)
    IAMRequestBase.check_signature = lambda self: None
    IAMPolicyStatement._check_element_matches = _wrap_check_element_matches(IAMPolicyStatement._check_element_matches)
    from moto.elbv2.responses import ELBV2Response
    from moto.iam.responses import IamResponse

    IamResponse.simulate_principal_policy = simulate_principal_policy
    IamResponse.create_role = _refuse_reserved_tags(IamResponse.create_role, lambda r: r._get_param("Tags", []), _iam_reserved)
    IamResponse.tag_role = _refuse_reserved_tags(IamResponse.tag_role, lambda r: r._get_param("Tags", []), _iam_reserved)
    for name in ("create_target_group", "create_listener", "add_tags"):
        setattr(
            ELBV2Response,
            name,
            _refuse_reserved_tags(getattr(ELBV2Response, name), lambda r: r._get_param("Tags", []), _elb_reserved),
        )
    ELBV2Response.create_listener = _wrap_listener_protocol(ELBV2Response.create_listener, new_listener=True)
    ELBV2Response.modify_listener = _wrap_listener_protocol(ELBV2Response.modify_listener, new_listener=False)
    CodeDeployResponse.create_application = _refuse_reserved_tags(
        CodeDeployResponse.create_application, lambda r: r._get_param("tags"), _codedeploy_reserved("InvalidTagsToAddException")
    )
    CodeDeployResponse.tag_resource = _refuse_reserved_tags(
        CodeDeployResponse.tag_resource, lambda r: r._get_param("Tags"), _codedeploy_reserved("InvalidTagsToAddException")
    )
    CodeDeployResponse.delete_application = delete_application
    CodeDeployResponse.delete_deployment_group = delete_deployment_group
    CodeDeployResponse.list_deployment_groups = list_deployment_groups
    CodeDeployResponse.create_deployment_config = create_deployment_config
    CodeDeployResponse.get_deployment_config = get_deployment_config
    CodeDeployResponse.create_deployment_group = _refuse_reserved_tags(
        _wrap_create_deployment_group(CodeDeployResponse.create_deployment_group),
        lambda r: r._get_param("tags"),
        _codedeploy_reserved("InvalidTagException"),
    )
    EC2ContainerServiceResponse.create_service = _refuse_reserved_tags(
        _wrap_create_service(EC2ContainerServiceResponse.create_service), lambda r: r._get_param("tags"), _ecs_reserved
    )
    EC2ContainerServiceResponse.tag_resource = _refuse_reserved_tags(
        EC2ContainerServiceResponse.tag_resource, lambda r: r._get_param("tags"), _ecs_reserved
    )
    EC2ContainerServiceResponse.create_service = _wrap_native_create_service(
        _wrap_create_service(EC2ContainerServiceResponse.create_service)
    )
    EC2ContainerServiceResponse.update_service = _wrap_native_update_service(
        _wrap_update_service(EC2ContainerServiceResponse.update_service)
    )
    EC2ContainerServiceResponse.list_service_deployments = list_service_deployments
    EC2ContainerServiceResponse.describe_service_deployments = describe_service_deployments
    EC2ContainerServiceResponse.describe_service_revisions = describe_service_revisions
    from moto.ecs.models import EC2ContainerServiceBackend

    EC2ContainerServiceBackend.create_service = _wrap_backend_create_service(EC2ContainerServiceBackend.create_service)
    EC2ContainerServiceBackend.delete_service = _wrap_backend_delete_service(EC2ContainerServiceBackend.delete_service)
    from moto.applicationautoscaling.models import ApplicationAutoscalingBackend

    ApplicationAutoscalingBackend._ecs_service_exists_for_target = _wrap_ecs_service_exists_for_target(
        ApplicationAutoscalingBackend._ecs_service_exists_for_target
    )
    CodeDeployResponse._ecs_bluegreen_ext = True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    if moto.__version__ != PINNED_MOTO:
        sys.exit(f"moto_server.py: the extension is written for moto {PINNED_MOTO}, found {moto.__version__}")
    install()
    from moto.server import main as moto_main

    print(f"moto {moto.__version__} with the ecs-bluegreen extension on {args.host}:{args.port}", flush=True)
    moto_main(["-H", args.host, "-p", str(args.port)])


if __name__ == "__main__":
    main()
