//! STS in the mock account: who the clients act as (the scenario's account).

use aws_sdk_sts::Client;
use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput;
use aws_smithy_mocks::mock;

use super::account::{Answer, Shared, answer};

/// The ARN the kit's clients act as.
pub(crate) fn caller_arn(account_id: &str, region: &str) -> String {
    format!("arn:{}:iam::{account_id}:user/ecs-bluegreen-kit", crate::inventory::partition_of_region(region))
}

pub(crate) fn rules(acct: &Shared) -> Vec<Answer> {
    let who = answer(acct, "GetCallerIdentity", mock!(Client::get_caller_identity), |st, _| {
        Ok(GetCallerIdentityOutput::builder()
            .account(st.account_id.clone())
            .arn(st.caller_arn.clone().unwrap_or_else(|| caller_arn(&st.account_id, &st.region)))
            .user_id("AIDAMOCKACCOUNTKIT")
            .build())
    });
    vec![who]
}
