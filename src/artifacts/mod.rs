//! The files a `CodeDeployToECS` pipeline needs: `taskdef.json`, `appspec.yml`,
//! `imageDetail.json`, and the buildspec change that produces the last one.
//!
//! After the cutover the service deploys only through CodeDeploy. The build must then output
//! `imageDetail.json` (not `imagedefinitions.json`) together with a task definition template
//! (`<IMAGE1_NAME>` for the built image) and an AppSpec (`<TASK_DEFINITION>` for the revision
//! the action registers). These are the files users get wrong most often.
//!
//! - Pure generators, no I/O: [`TaskDefTemplate`], [`AppSpec`], [`ImageDetail`],
//!   [`BuildspecSnippet`] / [`patch_buildspec`]; for the way back to the `ECS` deploy action
//!   (onward from CodeDeploy), [`ecs_action_snippet`] and [`ImageDefinitionsSnippet`].
//! - I/O: [`fetch_task_definition_json`] reads the live task definition as raw JSON (every
//!   field, tags included); [`generate`] builds all artifacts for a [`Plan`];
//!   [`Artifacts::write_to`] writes them to a directory.
//!
//! Secrets stay `valueFrom` references throughout: nothing here reads a secret.

mod appspec;
mod buildspec;
mod taskdef;
mod yaml;

// The hand-off's CloudFormation snippet quotes its scalars the same way.
pub(crate) use yaml::quote as yaml_quote;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::AfterDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use typed_builder::TypedBuilder;

pub use appspec::{AppSpec, AppSpecNetwork, HookEvent, Hooks, TASK_DEFINITION_PLACEHOLDER};
pub use buildspec::{
    BuildspecPatch, BuildspecSnippet, DEFAULT_IMAGE_URI_EXPR, IMAGE_DEFINITIONS_FILE, IMAGE_DETAIL_FILE, ImageDefinitionsSnippet,
    ImageDetail,
    patch_buildspec,
};
pub use taskdef::{
    DESCRIBE_ONLY_KEYS, ImagePlaceholder, MAX_IMAGES, TaskDefOptions, TaskDefTemplate, TemplateContainer,
};

use crate::AwsClients;
use crate::error::{AwsApiError, Error, Result, SdkResultExt};
use crate::plan::{ChangeDetail, Plan, StepId};
use crate::spec::ValidationError;

/// File names [`Artifacts::write_to`] writes.
pub const TASKDEF_FILE: &str = "taskdef.json";
/// AppSpec file name (the deploy action's default `AppSpecTemplatePath` in this crate).
pub const APPSPEC_FILE: &str = "appspec.yml";
/// The buildspec snippet's file name.
pub const BUILDSPEC_SNIPPET_FILE: &str = "buildspec-snippet.yml";

/// Why an artifact could not be generated. Nothing was written.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArtifactError {
    /// The task definition cannot become a template.
    #[error("task definition {family}: {reason}")]
    TaskDefinition {
        /// Family, or a description of the input when it has none.
        family: String,
        /// What is wrong.
        reason: String,
    },
    /// The service cannot be described by an AppSpec.
    #[error("appspec for service {service}: {reason}")]
    AppSpec {
        /// Service name.
        service: String,
        /// What is wrong.
        reason: String,
    },
    /// The buildspec cannot be patched.
    #[error("buildspec: {reason}")]
    Buildspec {
        /// What is wrong.
        reason: String,
    },
    /// The plan lacks what the artifacts are made from.
    #[error("plan: {reason}")]
    Plan {
        /// What is missing.
        reason: String,
    },
    /// The files the deploy action reads are larger than its input artifact may be.
    #[error(
        "{files} come to {bytes} bytes, over the {limit} bytes CodePipeline allows a CodeDeployToECS input artifact; \
         the action would fail reading the task definition"
    )]
    TooLarge {
        /// The files counted.
        files: String,
        /// Their size together.
        bytes: usize,
        /// The limit ([`MAX_INPUT_ARTIFACT_BYTES`]).
        limit: usize,
    },
}

/// The most a `CodeDeployToECS` action's input artifact may hold (3 MB, CodePipeline quotas;
/// counted in decimal megabytes to stay on the safe side).
pub const MAX_INPUT_ARTIFACT_BYTES: usize = 3_000_000;

impl From<ArtifactError> for Error {
    fn from(e: ArtifactError) -> Self {
        let (what, value, reason) = match e {
            ArtifactError::TaskDefinition { family, reason } => ("task definition", family, reason),
            ArtifactError::AppSpec { service, reason } => ("service for the appspec", service, reason),
            ArtifactError::Buildspec { reason } => ("buildspec", "buildspec.yml".to_owned(), reason),
            ArtifactError::Plan { reason } => ("plan", "service-cutover".to_owned(), reason),
            e @ ArtifactError::TooLarge { .. } => ("deploy artifacts", TASKDEF_FILE.to_owned(), e.to_string()),
        };
        Error::Validation(ValidationError::new(what, value, reason))
    }
}

/// Every artifact of the pipeline, ready to write.
#[derive(Debug, Clone, PartialEq)]
pub struct Artifacts {
    /// `taskdef.json`.
    pub taskdef: TaskDefTemplate,
    /// `appspec.yml`.
    pub appspec: AppSpec,
    /// An example `imageDetail.json` (the image the service runs now); the build writes the
    /// real one.
    pub image_detail: ImageDetail,
    /// The buildspec change; its YAML goes to `buildspec-snippet.yml`.
    pub buildspec_snippet: BuildspecSnippet,
}

impl Artifacts {
    /// Checks that `taskdef.json`, `appspec.yml` and `imageDetail.json` together fit in the
    /// deploy action's input artifact ([`MAX_INPUT_ARTIFACT_BYTES`]); the build ships them in one.
    ///
    /// # Errors
    /// [`ArtifactError::TooLarge`] when they do not.
    pub fn check_size(&self) -> Result<(), ArtifactError> {
        let bytes = self.taskdef.to_json_pretty().len() + self.appspec.to_yaml().len() + self.image_detail.to_json().len();
        if bytes > MAX_INPUT_ARTIFACT_BYTES {
            return Err(ArtifactError::TooLarge {
                files: format!("{TASKDEF_FILE}, {APPSPEC_FILE} and {IMAGE_DETAIL_FILE}"),
                bytes,
                limit: MAX_INPUT_ARTIFACT_BYTES,
            });
        }
        Ok(())
    }

    /// Writes `taskdef.json`, `appspec.yml`, `imageDetail.json` and `buildspec-snippet.yml`
    /// into `dir` (created if missing), replacing files of those names, and returns their
    /// paths in that order.
    ///
    /// # Errors
    /// Any I/O error; files written before it stay.
    pub fn write_to(&self, dir: impl AsRef<Path>) -> io::Result<Vec<PathBuf>> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir)?;
        let files = [
            (TASKDEF_FILE, self.taskdef.to_json_pretty()),
            (APPSPEC_FILE, self.appspec.to_yaml()),
            (IMAGE_DETAIL_FILE, self.image_detail.to_json()),
            (BUILDSPEC_SNIPPET_FILE, self.buildspec_snippet.to_yaml()),
        ];
        let mut written = Vec::with_capacity(files.len());
        for (name, content) in files {
            let path = dir.join(name);
            std::fs::write(&path, content)?;
            written.push(path);
        }
        Ok(written)
    }
}

/// What [`generate`] makes.
///
/// ```
/// use ecs_bluegreen::artifacts::{ArtifactOptions, HookEvent, Hooks};
/// let opts = ArtifactOptions::builder()
///     .hooks(Hooks::new().with(HookEvent::AfterAllowTestTraffic, "CodeDeployHook_smoke"))
///     .build();
/// assert!(!opts.taskdef.include_tags);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, TypedBuilder)]
#[builder(doc)]
pub struct ArtifactOptions {
    /// Task definition template options. `load_balanced_container` defaults to the plan's
    /// load balancer entry.
    #[builder(default)]
    pub taskdef: TaskDefOptions,
    /// Lifecycle hook Lambdas for the AppSpec.
    #[builder(default)]
    pub hooks: Hooks,
    /// The buildspec change. Its `artifact_files` default to the deploy action's template
    /// paths when the plan rewrites a pipeline.
    #[builder(default, setter(strip_option))]
    pub buildspec: Option<BuildspecSnippet>,
}

/// Reads a task definition as the raw JSON body of DescribeTaskDefinition
/// (`{"taskDefinition": {...}, "tags": [...]}`), asking for its tags.
///
/// The SDK's typed `TaskDefinition` has no serde support and drops fields newer than the
/// SDK, so the response body itself is captured by an interceptor on this one call: every
/// field AWS sends survives.
///
/// With `aws-smithy-mocks`, answer DescribeTaskDefinition with `then_http_response` and a
/// JSON body; a modeled `then_output` has no body to capture, and this fails.
///
/// # Errors
/// [`Error::Aws`] when the call fails, or when the body could not be captured or is not a
/// JSON object with a `taskDefinition`.
pub async fn fetch_task_definition_json(aws: &AwsClients, arn: &str) -> Result<serde_json::Value> {
    const OP: &str = "DescribeTaskDefinition";
    let capture = CaptureBody::default();
    aws.ecs
        .describe_task_definition()
        .task_definition(arn)
        .include(aws_sdk_ecs::types::TaskDefinitionField::Tags)
        .customize()
        .interceptor(capture.clone())
        .send()
        .await
        .ctx(OP, arn)?;
    let bytes = capture
        .take()
        .ok_or_else(|| Error::Aws(AwsApiError::new(OP, arn, None, "the response body could not be captured")))?;
    let value: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| Error::Aws(AwsApiError::new(OP, arn, None, format!("the response is not JSON: {e}"))))?;
    if !value.get("taskDefinition").is_some_and(serde_json::Value::is_object) {
        return Err(Error::Aws(AwsApiError::new(OP, arn, None, "the response has no taskDefinition object")));
    }
    Ok(value)
}

/// Builds every artifact for a plan: the task definition its service-cutover change runs
/// (read live with [`fetch_task_definition_json`]) and the service settings of that change's
/// target definition.
///
/// # Errors
/// [`Error::Validation`] when the artifacts would not fit in the deploy action's input
/// artifact ([`Artifacts::check_size`]), the plan has no service-cutover change, its service has no
/// task definition or not exactly one load balancer entry, the load-balanced container or
/// its port is missing from the task definition, or an option is refused (see
/// [`TaskDefTemplate::from_describe_json`]); [`Error::Aws`] when reading the task
/// definition fails.
pub async fn generate(aws: &AwsClients, plan: &Plan, opts: &ArtifactOptions) -> Result<Artifacts> {
    let service = match plan.change(StepId::ServiceCutover).map(|c| &c.detail) {
        Some(ChangeDetail::ServiceCutover { to, .. }) => to,
        _ => return Err(ArtifactError::Plan { reason: "it has no service-cutover change".into() }.into()),
    };
    let arn = service
        .task_definition
        .as_deref()
        .ok_or_else(|| ArtifactError::Plan { reason: format!("service {} has no task definition", service.name) })?;
    let appspec = AppSpec::from_service(service, opts.hooks.clone())?;
    let describe = fetch_task_definition_json(aws, arn).await?;
    let mut td_opts = opts.taskdef.clone();
    if td_opts.load_balanced_container.is_none() {
        td_opts.load_balanced_container = Some(appspec.container_name.clone());
    }
    let taskdef = TaskDefTemplate::from_describe_json(&describe, &td_opts)?;
    check_container_port(&taskdef, &appspec)?;

    let image_detail = ImageDetail::new(
        taskdef
            .placeholders()
            .iter()
            .find(|p| p.container == appspec.container_name)
            .or(taskdef.placeholders().first())
            .and_then(|p| p.original_image.clone())
            .unwrap_or_else(|| "<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>".into()),
    );
    let buildspec_snippet = opts.buildspec.clone().unwrap_or_else(|| snippet_for(plan));
    let artifacts = Artifacts { taskdef, appspec, image_detail, buildspec_snippet };
    artifacts.check_size()?;
    Ok(artifacts)
}

/// The default snippet, listing the deploy action's template paths when the plan has one.
fn snippet_for(plan: &Plan) -> BuildspecSnippet {
    let mut snippet = BuildspecSnippet::default();
    if let Some(ChangeDetail::PipelineDeployAction { after, .. }) =
        plan.change(StepId::PipelineDeployAction).map(|c| &c.detail)
    {
        let path = |key: &str, default: &str| after.configuration.get(key).cloned().unwrap_or_else(|| default.into());
        snippet.artifact_files = vec![
            IMAGE_DETAIL_FILE.into(),
            path("TaskDefinitionTemplatePath", TASKDEF_FILE),
            path("AppSpecTemplatePath", "appspec.yaml"),
        ];
    }
    snippet
}

/// The buildspec change for a plan that moves a service onward from CodeDeploy (a controller
/// switch; its pipeline's deploy action goes back to `ECS`): the build must write
/// `imagedefinitions.json` for the service's load-balanced container instead of
/// `imageDetail.json`. `None` for other plans, whose artifacts [`generate`] makes. Pure.
///
/// # Errors
/// [`ArtifactError::Plan`] when the switched service's load balancer entry names no container.
pub fn ecs_action_snippet(plan: &Plan) -> Result<Option<ImageDefinitionsSnippet>, ArtifactError> {
    let Some(ChangeDetail::ControllerSwitch(switch)) = plan.change(StepId::ControllerSwitch).map(|c| &c.detail) else {
        return Ok(None);
    };
    let container = switch.load_balancers.first().and_then(|e| e.container_name.clone()).ok_or_else(|| {
        ArtifactError::Plan { reason: format!("the load balancer entry of service {} names no container", switch.service) }
    })?;
    let mut snippet = ImageDefinitionsSnippet::new(container);
    // The file the rewritten action reads (`FileName`), when the plan rewrites one.
    if let Some(ChangeDetail::PipelineDeployAction { after, .. }) =
        plan.change(StepId::PipelineDeployAction).map(|c| &c.detail)
        && let Some(file) = after.configuration.get("FileName")
    {
        snippet.artifact_files = vec![file.clone()];
    }
    Ok(Some(snippet))
}

/// The AppSpec's container must publish its port in the template (CodeDeploy checks each
/// revision against `LoadBalancerInfo`).
fn check_container_port(taskdef: &TaskDefTemplate, appspec: &AppSpec) -> Result<(), ArtifactError> {
    let family = taskdef.family().unwrap_or_default().to_owned();
    let container = taskdef.containers().into_iter().find(|c| c.name == appspec.container_name).ok_or_else(|| {
        ArtifactError::TaskDefinition {
            family: family.clone(),
            reason: format!("it has no container {:?}, the appspec's ContainerName", appspec.container_name),
        }
    })?;
    if !container.container_ports.contains(&i64::from(appspec.container_port)) {
        return Err(ArtifactError::TaskDefinition {
            family,
            reason: format!(
                "container {:?} maps ports {:?}, not {}, the appspec's ContainerPort",
                container.name, container.container_ports, appspec.container_port
            ),
        });
    }
    Ok(())
}

/// Copies the buffered response body of a successful attempt.
///
/// Runs in `read_after_deserialization`: the orchestrator buffers a non-streaming body
/// before deserializing it, so the bytes are there (in `read_before_deserialization` the body
/// is still a stream and `bytes()` is `None`).
#[derive(Debug, Clone, Default)]
struct CaptureBody(Arc<Mutex<Option<Vec<u8>>>>);

impl CaptureBody {
    fn take(&self) -> Option<Vec<u8>> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take()
    }
}

impl Intercept for CaptureBody {
    fn name(&self) -> &'static str {
        "ecs_bluegreen::artifacts::CaptureBody"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> std::result::Result<(), BoxError> {
        let response = context.response();
        if response.status().is_success()
            && let Some(bytes) = response.body().bytes()
        {
            *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(bytes.to_vec());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{LoadBalancerEntry, ServiceDefinition};

    fn artifacts(env_value_len: usize) -> Artifacts {
        let describe = serde_json::json!({
            "taskDefinition": {
                "family": "web",
                "containerDefinitions": [{
                    "name": "web",
                    "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1",
                    "portMappings": [{"containerPort": 80}],
                    "environment": [{"name": "BIG", "value": "x".repeat(env_value_len)}]
                }]
            }
        });
        let taskdef = TaskDefTemplate::from_describe_json(&describe, &TaskDefOptions::default()).unwrap();
        let service = ServiceDefinition {
            name: "web".into(),
            load_balancers: vec![LoadBalancerEntry {
                target_group_arn: Some("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/1".into()),
                load_balancer_name: None,
                container_name: Some("web".into()),
                container_port: Some(80),
                advanced_configuration: None,
            }],
            ..Default::default()
        };
        let appspec = AppSpec::from_service(&service, Hooks::new()).unwrap();
        Artifacts { taskdef, appspec, image_detail: ImageDetail::new("web:1"), buildspec_snippet: BuildspecSnippet::default() }
    }

    #[test]
    fn artifacts_over_the_input_artifact_limit_are_refused_with_their_size() {
        assert_eq!(artifacts(1_000).check_size(), Ok(()));
        let big = artifacts(MAX_INPUT_ARTIFACT_BYTES);
        let err = big.check_size().unwrap_err();
        let ArtifactError::TooLarge { bytes, limit, .. } = &err else { panic!("{err:?}") };
        assert!(*bytes > MAX_INPUT_ARTIFACT_BYTES && *limit == MAX_INPUT_ARTIFACT_BYTES);
        assert!(err.to_string().contains("taskdef.json, appspec.yml and imageDetail.json"), "{err}");
        // A validation error: the CLI exits 2, nothing changed.
        assert!(matches!(Error::from(err), Error::Validation(_)));
    }
}
