//! The bundle of the SDK clients the migration talks to.

use aws_smithy_runtime_api::client::interceptors::{Intercept, SharedInterceptor};
use aws_types::SdkConfig;

/// One client per AWS service the migration uses.
///
/// Build it from an [`SdkConfig`] (so `AWS_ENDPOINT_URL`, profiles, regions and
/// retry settings work as everywhere else in the SDK), or from ready-made
/// clients, e.g. mocked ones in tests.
#[derive(Debug, Clone)]
pub struct AwsClients {
    /// Amazon ECS.
    pub ecs: aws_sdk_ecs::Client,
    /// Elastic Load Balancing v2.
    pub elbv2: aws_sdk_elasticloadbalancingv2::Client,
    /// AWS CodeDeploy.
    pub codedeploy: aws_sdk_codedeploy::Client,
    /// AWS CodePipeline.
    pub codepipeline: aws_sdk_codepipeline::Client,
    /// AWS IAM.
    pub iam: aws_sdk_iam::Client,
    /// AWS STS: the caller's account, recorded in the journal and checked against it.
    pub sts: aws_sdk_sts::Client,
    /// AWS Systems Manager: the run lock (a parameter per service, see [`crate::lock`]).
    pub ssm: aws_sdk_ssm::Client,
}

impl AwsClients {
    /// Clients for every service from one shared SDK configuration.
    pub fn from_conf(config: &SdkConfig) -> Self {
        Self::builder(config).build()
    }

    /// A builder that can add interceptors (call accounting, test headers) to every client.
    pub fn builder(config: &SdkConfig) -> AwsClientsBuilder<'_> {
        AwsClientsBuilder { config, interceptors: Vec::new() }
    }

    /// Bundles ready-made clients (mocks, or clients configured by the caller).
    #[allow(clippy::too_many_arguments)]
    pub fn from_clients(
        ecs: aws_sdk_ecs::Client,
        elbv2: aws_sdk_elasticloadbalancingv2::Client,
        codedeploy: aws_sdk_codedeploy::Client,
        codepipeline: aws_sdk_codepipeline::Client,
        iam: aws_sdk_iam::Client,
        sts: aws_sdk_sts::Client,
        ssm: aws_sdk_ssm::Client,
    ) -> Self {
        Self { ecs, elbv2, codedeploy, codepipeline, iam, sts, ssm }
    }
}

/// Builds [`AwsClients`] from an [`SdkConfig`] with extra interceptors.
#[must_use]
#[derive(Debug)]
pub struct AwsClientsBuilder<'a> {
    config: &'a SdkConfig,
    interceptors: Vec<SharedInterceptor>,
}

impl AwsClientsBuilder<'_> {
    /// Adds an interceptor to every client.
    pub fn interceptor(mut self, interceptor: impl Intercept + 'static) -> Self {
        self.interceptors.push(SharedInterceptor::new(interceptor));
        self
    }

    /// Builds the clients.
    pub fn build(self) -> AwsClients {
        macro_rules! client {
            ($krate:ident) => {{
                let mut b = $krate::config::Builder::from(self.config);
                for i in &self.interceptors {
                    b.push_interceptor(i.clone());
                }
                $krate::Client::from_conf(b.build())
            }};
        }
        AwsClients {
            ecs: client!(aws_sdk_ecs),
            elbv2: client!(aws_sdk_elasticloadbalancingv2),
            codedeploy: client!(aws_sdk_codedeploy),
            codepipeline: client!(aws_sdk_codepipeline),
            iam: client!(aws_sdk_iam),
            sts: client!(aws_sdk_sts),
            ssm: client!(aws_sdk_ssm),
        }
    }
}
