//! CodePipeline in the mock account: get and update (the whole declaration, version bumped).

use aws_sdk_codepipeline::Client;
use aws_sdk_codepipeline::operation::get_pipeline::GetPipelineOutput;
use aws_sdk_codepipeline::operation::update_pipeline::UpdatePipelineOutput;
use aws_smithy_mocks::mock;

use super::account::{Answer, Shared, answer, aws_error};

pub(crate) fn rules(acct: &Shared) -> Vec<Answer> {
    let get = answer(acct, "GetPipeline", mock!(Client::get_pipeline), |st, input| match st.pipelines.get(input.name().unwrap_or_default()) {
        Some(p) => Ok(GetPipelineOutput::builder().pipeline(p.clone()).build()),
        None => Err(aws_error("PipelineNotFoundException", "Account does not have a pipeline with this name")),
    });
    let update = answer(acct, "UpdatePipeline", mock!(Client::update_pipeline), |st, input| {
        let Some(mut p) = input.pipeline().cloned() else {
            return Err(aws_error("ValidationException", "pipeline is required"));
        };
        let Some(current) = st.pipelines.get(p.name()) else {
            return Err(aws_error("PipelineNotFoundException", "Account does not have a pipeline with this name"));
        };
        p.version = Some(current.version().unwrap_or(1) + 1);
        let name = p.name().to_owned();
        st.pipelines.insert(name.clone(), p.clone());
        st.log.push(format!("UpdatePipeline {name}"));
        Ok(UpdatePipelineOutput::builder().pipeline(p).build())
    });
    vec![get, update]
}
