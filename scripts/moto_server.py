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

Refusals moto lacks (AWS refuses these; the order of a migration's calls depends on it):

- CodeDeploy ``CreateDeploymentGroup`` naming an ECS service (``ecsServices``) that is not found / not
  ACTIVE in moto's ECS backend of the same account and region, or whose deploymentController is not
  ``CODE_DEPLOY`` -> 400 ``InvalidECSServiceException`` "Deployment group's ECS service must be
  configured for a CODE_DEPLOY deployment controller." (a missing service gets its own message).
  Checked only when the application exists and the group does not, so moto's own errors keep their
  precedence.
- ECS ``CreateService`` with a name that is still ACTIVE in that cluster -> 400
  ``InvalidParameterException`` "Creation of service was not idempotent." (moto would silently replace it).
- ECS ``UpdateService`` with ``deploymentController.type = CODE_DEPLOY`` -> 400
  ``InvalidParameterException`` (AWS has no in-place path into CODE_DEPLOY; the service must be recreated).
- ECS ``UpdateService`` on a ``CODE_DEPLOY`` service changing ``taskDefinition``,
  ``networkConfiguration``, ``loadBalancers`` or setting ``forceNewDeployment`` -> 400
  ``InvalidParameterException`` with AWS's texts ("Unable to update task definition on services with a
  CODE_DEPLOY deployment controller. Use AWS CodeDeploy to trigger a new deployment." etc.).

Behaviour moto lacks:

- ECS ``CreateService`` with a ``desiredCount`` above ``MOTO_ECS_SERVICE_RUNNING`` (when that is set):
  the service reports its desired count running, as moto's own ``UpdateService`` already does and as
  AWS does once the tasks start (moto would report ``MOTO_ECS_SERVICE_RUNNING`` tasks forever, so a
  service restored with a larger count than the fixture's never looked stable).

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


# ---------------------------------------------------------------- CodeDeploy: refusals


def _wrap_create_deployment_group(original):
    @functools.wraps(original)
    def create_deployment_group(self: CodeDeployResponse):
        backend = self.codedeploy_backend
        app_name = self._get_param("applicationName")
        group_name = self._get_param("deploymentGroupName")
        if app_name in backend.applications and group_name not in backend.deployment_groups.get(app_name, {}):
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


# ---------------------------------------------------------------- ECS: refusals


def _wrap_create_service(original):
    @functools.wraps(original)
    def create_service(self: EC2ContainerServiceResponse):
        cluster_name = self._get_param("cluster", "default").split("/")[-1]
        service_name = self._get_param("serviceName")
        existing = self.ecs_backend.services.get(f"{cluster_name}:{service_name}")
        if existing is not None and existing.status == "ACTIVE":
            raise InvalidParameterException("Creation of service was not idempotent.")
        return original(self)

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
        if service is not None and (service.deployment_controller or {}).get("type") == CODE_DEPLOY:
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


# AWS-managed policies the project's fixtures and migrations attach.
LOADED_MANAGED_POLICIES = (
    "AWSCodeDeployRoleForECS",
    "AWSCodeDeployRoleForECSLimited",
    "AmazonECSTaskExecutionRolePolicy",
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


def install() -> None:
    """Applies the extension to moto's classes (idempotent)."""
    if getattr(CodeDeployResponse, "_ecs_bluegreen_ext", False):
        return
    from moto.iam.models import IAMBackend

    IAMBackend._init_aws_policies = _init_selected_aws_policies
    CodeDeployResponse.delete_application = delete_application
    CodeDeployResponse.delete_deployment_group = delete_deployment_group
    CodeDeployResponse.create_deployment_group = _wrap_create_deployment_group(
        CodeDeployResponse.create_deployment_group
    )
    EC2ContainerServiceResponse.create_service = _wrap_create_service(EC2ContainerServiceResponse.create_service)
    EC2ContainerServiceResponse.update_service = _wrap_update_service(EC2ContainerServiceResponse.update_service)
    from moto.ecs.models import EC2ContainerServiceBackend

    EC2ContainerServiceBackend.create_service = _wrap_backend_create_service(EC2ContainerServiceBackend.create_service)
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
