//! The bundle of the SDK clients the migration talks to, and the time limits of their calls.
//!
//! # Time limits
//! Every call the library makes has an *attempt timeout* (one HTTP attempt) and an *operation
//! timeout* (all attempts, retries included), so an endpoint that accepts the connection and
//! never answers cannot hang a plan or a run. Defaults ([`CallTimeouts::DEFAULT`]): 20 s per
//! attempt, 60 s per call. AWS control-plane calls answer in well under a second; the slowest
//! the migration makes (CreateService, UpdatePipeline) take a few seconds, so 20 s is far above a
//! healthy answer yet lets the SDK's standard retry (3 attempts) try a stuck connection again
//! within one minute.
//!
//! The rule, per timeout: a value (or an explicit "disabled") the caller put on their own
//! [`SdkConfig`] is kept; the library only fills in what the caller left unset. Only
//! [`AwsClientsBuilder::call_timeout`] or [`AwsClientsBuilder::timeouts`] override the caller's
//! operation and attempt timeouts (connect and read timeouts stay theirs). Clients bundled with
//! [`AwsClients::from_clients`] are used as they are.
//!
//! A call that runs out of time gets no answer: the journal records a mutating call as
//! *uncertain* (not "failed, nothing changed"), and its undo looks the resource up.
//!
//! # Retries and the rate of calls
//! Retries are the SDK's, as the caller's [`SdkConfig`] sets them (the SDK's default: the
//! `standard` mode, 3 attempts; `AWS_RETRY_MODE`, `AWS_MAX_ATTEMPTS` and profiles work).
//! [`AwsClientsBuilder::adaptive_retry`] switches to the `adaptive` mode, keeping the caller's
//! maximum attempts: on throttling errors the clients also slow down before sending. The
//! SDK keeps one such rate limiter (and one retry token bucket) per AWS service and region
//! for the whole process, so every client of a fleet run (each service's own) slows down
//! together against, say, ECS in `eu-west-1`. What the library bounds itself: the services a
//! fleet runs at once ([`crate::fleet::FleetOptions::concurrency`]) and the reads of their
//! waits, shared ([`crate::wait::shared`]). The CLI uses adaptive retry for `--spec` runs.

use std::time::Duration;

use aws_smithy_runtime_api::client::interceptors::{Intercept, SharedInterceptor};
use aws_smithy_types::retry::{RetryConfig, RetryMode};
use aws_smithy_types::timeout::TimeoutConfig;
use aws_types::SdkConfig;

/// The time limits of every AWS call: per attempt and per call (all attempts).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallTimeouts {
    /// One HTTP attempt, from sending the request to the end of the answer.
    pub attempt: Duration,
    /// The whole call, retries included.
    pub operation: Duration,
}

impl CallTimeouts {
    /// 20 s per attempt, 60 s per call (see the [module docs](self) for why).
    pub const DEFAULT: CallTimeouts = CallTimeouts { attempt: Duration::from_secs(20), operation: Duration::from_secs(60) };

    /// Explicit limits. An attempt limit above the call's is cut to the call's.
    pub fn new(attempt: Duration, operation: Duration) -> Self {
        Self { attempt: attempt.min(operation), operation }
    }

    /// No call takes longer than `limit` in all; an attempt gets the default 20 s, or `limit`
    /// when that is shorter. This is what the CLI's `--call-timeout SECONDS` sets.
    pub fn total(limit: Duration) -> Self {
        Self::new(Self::DEFAULT.attempt, limit)
    }

    fn to_config(self) -> TimeoutConfig {
        TimeoutConfig::builder().operation_attempt_timeout(self.attempt).operation_timeout(self.operation).build()
    }
}

impl Default for CallTimeouts {
    fn default() -> Self {
        Self::DEFAULT
    }
}

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
    /// Application Auto Scaling: the service's scalable target, policies and scheduled actions,
    /// which deleting the service removes and the cutover registers again. `None` only for
    /// clients bundled with [`AwsClients::from_clients`] without
    /// [`AwsClients::with_autoscaling`]: discovery then fails rather than lose the scaling.
    pub autoscaling: Option<aws_sdk_applicationautoscaling::Client>,
    /// Amazon CloudWatch: the alarms that invoke the service's step scaling policies (`None`
    /// as for [`AwsClients::autoscaling`]).
    pub cloudwatch: Option<aws_sdk_cloudwatch::Client>,
}

impl AwsClients {
    /// Clients for every service from one shared SDK configuration, with the default time
    /// limits where `config` sets none (see [`CallTimeouts`]).
    pub fn from_conf(config: &SdkConfig) -> Self {
        Self::builder(config).build()
    }

    /// A builder that can add interceptors (call accounting, test headers) to every client and
    /// set the time limits of every call.
    pub fn builder(config: &SdkConfig) -> AwsClientsBuilder<'_> {
        AwsClientsBuilder { config, interceptors: Vec::new(), timeouts: None, adaptive_retry: false }
    }

    /// Bundles ready-made clients (mocks, or clients configured by the caller).
    ///
    /// Add the Application Auto Scaling and CloudWatch clients with
    /// [`AwsClients::with_autoscaling`] and [`AwsClients::with_cloudwatch`]: without them,
    /// discovery refuses to plan (it could not see the service's auto scaling, which the
    /// cutover must carry).
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
        Self { ecs, elbv2, codedeploy, codepipeline, iam, sts, ssm, autoscaling: None, cloudwatch: None }
    }

    /// These clients with `client` for Application Auto Scaling.
    #[must_use]
    pub fn with_autoscaling(mut self, client: aws_sdk_applicationautoscaling::Client) -> Self {
        self.autoscaling = Some(client);
        self
    }

    /// These clients with `client` for CloudWatch.
    #[must_use]
    pub fn with_cloudwatch(mut self, client: aws_sdk_cloudwatch::Client) -> Self {
        self.cloudwatch = Some(client);
        self
    }

    /// The Application Auto Scaling client, or why there is none.
    pub(crate) fn scaling_client(&self) -> crate::Result<&aws_sdk_applicationautoscaling::Client> {
        self.autoscaling.as_ref().ok_or_else(|| missing_client("Application Auto Scaling", "with_autoscaling"))
    }

    /// The CloudWatch client, or why there is none.
    pub(crate) fn cloudwatch_client(&self) -> crate::Result<&aws_sdk_cloudwatch::Client> {
        self.cloudwatch.as_ref().ok_or_else(|| missing_client("CloudWatch", "with_cloudwatch"))
    }
}

fn missing_client(what: &str, setter: &str) -> crate::Error {
    crate::Error::custom(format!(
        "the AWS clients have no {what} client (bundled with AwsClients::from_clients): add one with AwsClients::{setter}, \
         so that the service's auto scaling is read and registered again after the cutover"
    ))
}

/// Builds [`AwsClients`] from an [`SdkConfig`] with extra interceptors.
#[must_use]
#[derive(Debug)]
pub struct AwsClientsBuilder<'a> {
    config: &'a SdkConfig,
    interceptors: Vec<SharedInterceptor>,
    /// Set by the caller: overrides the config's operation and attempt timeouts.
    timeouts: Option<CallTimeouts>,
    /// Set by the caller: the `adaptive` retry mode over the config's.
    adaptive_retry: bool,
}

impl AwsClientsBuilder<'_> {
    /// Adds an interceptor to every client.
    pub fn interceptor(mut self, interceptor: impl Intercept + 'static) -> Self {
        self.interceptors.push(SharedInterceptor::new(interceptor));
        self
    }

    /// Limits every call to `limit` in all ([`CallTimeouts::total`]), overriding the operation
    /// and attempt timeouts of the [`SdkConfig`].
    pub fn call_timeout(self, limit: Duration) -> Self {
        self.timeouts(CallTimeouts::total(limit))
    }

    /// Sets both time limits of every call, overriding those of the [`SdkConfig`].
    pub fn timeouts(mut self, timeouts: CallTimeouts) -> Self {
        self.timeouts = Some(timeouts);
        self
    }

    /// Retries in the SDK's `adaptive` mode (client-side rate limiting on throttling, shared by
    /// every client of an AWS service and region in the process), with the [`SdkConfig`]'s
    /// maximum attempts (see the [module docs](self)).
    pub fn adaptive_retry(mut self) -> Self {
        self.adaptive_retry = true;
        self
    }

    /// The retry configuration the clients get instead of the caller's: the caller's in the
    /// adaptive mode, if asked.
    fn retry_override(&self) -> Option<RetryConfig> {
        let theirs = self.config.retry_config().cloned();
        self.adaptive_retry.then(|| theirs.unwrap_or_else(RetryConfig::standard).with_retry_mode(RetryMode::Adaptive))
    }

    /// The timeout configuration the clients get: the caller's values win unless
    /// [`call_timeout`](Self::call_timeout) / [`timeouts`](Self::timeouts) asked otherwise.
    fn timeout_config(&self) -> TimeoutConfig {
        let theirs = self.config.timeout_config().cloned().unwrap_or_else(|| TimeoutConfig::builder().build());
        match self.timeouts {
            Some(asked) => {
                let mut ours = asked.to_config();
                ours.take_defaults_from(&theirs);
                ours
            }
            None => {
                let mut merged = theirs;
                merged.take_defaults_from(&CallTimeouts::DEFAULT.to_config());
                merged
            }
        }
    }

    /// Builds the clients.
    pub fn build(self) -> AwsClients {
        let timeouts = self.timeout_config();
        let retry = self.retry_override();
        macro_rules! client {
            ($krate:ident) => {{
                let mut b = $krate::config::Builder::from(self.config);
                // The whole merged config: the service builder would merge again otherwise.
                b.set_timeout_config(Some(timeouts.clone()));
                if retry.is_some() {
                    b.set_retry_config(retry.clone());
                }
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
            autoscaling: Some(client!(aws_sdk_applicationautoscaling)),
            cloudwatch: Some(client!(aws_sdk_cloudwatch)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(timeouts: Option<TimeoutConfig>) -> SdkConfig {
        let mut b = SdkConfig::builder()
            .behavior_version(aws_smithy_runtime_api::client::behavior_version::BehaviorVersion::latest())
            .region(aws_types::region::Region::new("us-east-1"));
        b.set_timeout_config(timeouts);
        b.build()
    }

    /// The timeout config of every client, asserted equal across the nine.
    fn effective(aws: &AwsClients) -> TimeoutConfig {
        let all = [
            aws.ecs.config().timeout_config(),
            aws.elbv2.config().timeout_config(),
            aws.codedeploy.config().timeout_config(),
            aws.codepipeline.config().timeout_config(),
            aws.iam.config().timeout_config(),
            aws.sts.config().timeout_config(),
            aws.ssm.config().timeout_config(),
            aws.autoscaling.as_ref().expect("built").config().timeout_config(),
            aws.cloudwatch.as_ref().expect("built").config().timeout_config(),
        ];
        let first = all[0].cloned().expect("a timeout config");
        assert!(all.iter().all(|t| *t == Some(&first)), "{all:?}");
        first
    }

    const fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn without_timeouts_of_the_callers_every_call_gets_the_defaults() {
        let connect_only = TimeoutConfig::builder().connect_timeout(secs(3)).build();
        for given in [None, Some(connect_only)] {
            let t = effective(&AwsClients::from_conf(&config(given.clone())));
            assert_eq!(t.operation_attempt_timeout(), Some(secs(20)), "{given:?}");
            assert_eq!(t.operation_timeout(), Some(secs(60)), "{given:?}");
        }
        let t = effective(&AwsClients::from_conf(&config(Some(TimeoutConfig::builder().connect_timeout(secs(3)).build()))));
        assert_eq!(t.connect_timeout(), Some(secs(3)), "the caller's connect timeout is kept");
    }

    #[test]
    fn the_callers_own_timeouts_are_kept_unless_asked_otherwise() {
        let theirs = TimeoutConfig::builder().operation_attempt_timeout(secs(5)).connect_timeout(secs(1)).build();
        let t = effective(&AwsClients::from_conf(&config(Some(theirs.clone()))));
        assert_eq!(t.operation_attempt_timeout(), Some(secs(5)), "the caller's attempt timeout is kept");
        assert_eq!(t.operation_timeout(), Some(secs(60)), "what the caller left unset gets the default");

        // Explicitly disabled by the caller: stays disabled.
        let t = effective(&AwsClients::from_conf(&config(Some(TimeoutConfig::disabled()))));
        assert_eq!((t.operation_attempt_timeout(), t.operation_timeout()), (None, None));

        // Asked: the call limits override theirs; connect stays theirs.
        let t = effective(&AwsClients::builder(&config(Some(theirs))).call_timeout(secs(2)).build());
        assert_eq!((t.operation_attempt_timeout(), t.operation_timeout()), (Some(secs(2)), Some(secs(2))));
        assert_eq!(t.connect_timeout(), Some(secs(1)));
        let t = effective(&AwsClients::builder(&config(None)).call_timeout(secs(300)).build());
        assert_eq!((t.operation_attempt_timeout(), t.operation_timeout()), (Some(secs(20)), Some(secs(300))));
        let t = effective(&AwsClients::builder(&config(None)).timeouts(CallTimeouts::new(secs(9), secs(4))).build());
        assert_eq!((t.operation_attempt_timeout(), t.operation_timeout()), (Some(secs(4)), Some(secs(4))), "attempt cut to the call's limit");
    }

    fn config_without_retry() -> SdkConfig {
        config(None)
    }

    #[test]
    fn adaptive_retry_is_asked_for_and_keeps_the_callers_attempts() {
        let mut b = SdkConfig::builder()
            .behavior_version(aws_smithy_runtime_api::client::behavior_version::BehaviorVersion::latest())
            .region(aws_types::region::Region::new("us-east-1"));
        b.set_retry_config(Some(RetryConfig::standard().with_max_attempts(7)));
        let config = b.build();
        let retry = |aws: &AwsClients| {
            let all = [
                aws.ecs.config().retry_config(),
                aws.elbv2.config().retry_config(),
                aws.codedeploy.config().retry_config(),
                aws.codepipeline.config().retry_config(),
                aws.iam.config().retry_config(),
                aws.sts.config().retry_config(),
                aws.ssm.config().retry_config(),
                aws.autoscaling.as_ref().expect("built").config().retry_config(),
                aws.cloudwatch.as_ref().expect("built").config().retry_config(),
            ];
            let first = all[0].cloned().expect("a retry config");
            assert!(all.iter().all(|r| *r == Some(&first)), "{all:?}");
            first
        };
        let theirs = retry(&AwsClients::from_conf(&config));
        assert_eq!((theirs.mode(), theirs.max_attempts()), (RetryMode::Standard, 7), "the caller's, untouched");
        let adaptive = retry(&AwsClients::builder(&config).adaptive_retry().build());
        assert_eq!((adaptive.mode(), adaptive.max_attempts()), (RetryMode::Adaptive, 7));
        let unset = retry(&AwsClients::builder(&config_without_retry()).adaptive_retry().build());
        assert_eq!((unset.mode(), unset.max_attempts()), (RetryMode::Adaptive, 3), "the SDK's attempts");
    }
}
