//! The `x-moto-account-id` header: moto acts in the account it names. Shared by the tests and
//! the examples (`#[path]`), so it depends only on the SDK crates.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// The header moto reads to pick the account a request acts in.
pub const ACCOUNT_HEADER: &str = "x-moto-account-id";

/// Adds `x-moto-account-id: <account>` to every request, so moto acts in that account.
#[derive(Debug, Clone)]
pub struct AccountHeader(pub String);

impl Intercept for AccountHeader {
    fn name(&self) -> &'static str {
        "moto::AccountHeader"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        context.request_mut().headers_mut().insert(ACCOUNT_HEADER, self.0.clone());
        Ok(())
    }
}
