//! Seeds the realistic rolling-update "before" account into a local moto server: VPC, ALB,
//! listener, target group `web-tg-1`, ECS cluster `prod` with the rolling Fargate service
//! `web`, and CodePipeline `web-pipeline` whose Deploy action uses the `ECS` provider.
//!
//! Used by `scripts/demo` and the CLI tests. Needs `AWS_ENDPOINT_URL` pointing at moto;
//! `MOTO_ACCOUNT_ID` picks the moto account (default 123456789012).

#[path = "../tests/common/fixture.rs"]
mod fixture;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

#[derive(Debug)]
struct AccountHeader(String);

impl Intercept for AccountHeader {
    fn name(&self) -> &'static str {
        "MotoAccountHeader"
    }
    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        context.request_mut().headers_mut().insert("x-moto-account-id", self.0.clone());
        Ok(())
    }
}

#[tokio::main]
async fn main() {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL must point at moto (see scripts/moto)");
    let account = std::env::var("MOTO_ACCOUNT_ID").unwrap_or_else(|_| "123456789012".to_owned());
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let aws = ecs_bluegreen::AwsClients::builder(&config).interceptor(AccountHeader(account.clone())).build();
    let f = fixture::seed_rolling_account(&aws, &endpoint, &account).await;
    println!("seeded moto account {account}:");
    println!("  cluster {} / service {} (rolling, {} tasks)", f.cluster_name, f.service_name, 2);
    println!("  load balancer {} -> listener :80 -> target group {}", f.load_balancer_name, f.target_group_name);
    println!("  pipeline {} (Source -> Build -> Deploy[ECS])", f.pipeline_name);
}
