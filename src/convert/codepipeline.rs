//! CodePipeline: the pipeline declaration.

use aws_sdk_codepipeline::types as cp;

use crate::inventory::{ActionInfo, PipelineInfo, StageInfo};

/// The pipeline as GetPipeline declares it.
pub(crate) fn pipeline_from_sdk(p: &cp::PipelineDeclaration) -> PipelineInfo {
    PipelineInfo {
        name: p.name().to_owned(),
        role_arn: Some(p.role_arn().to_owned()).filter(|r| !r.is_empty()),
        version: p.version(),
        stages: p
            .stages()
            .iter()
            .map(|s| StageInfo {
                name: s.name().to_owned(),
                actions: s
                    .actions()
                    .iter()
                    .map(|a| {
                        let t = a.action_type_id();
                        ActionInfo {
                            name: a.name().to_owned(),
                            category: t.map(|t| t.category().as_str().to_owned()).unwrap_or_default(),
                            owner: t.map(|t| t.owner().as_str().to_owned()).unwrap_or_default(),
                            provider: t.map(|t| t.provider().to_owned()).unwrap_or_default(),
                            version: t.map(|t| t.version().to_owned()).unwrap_or_default(),
                            configuration: a
                                .configuration()
                                .map(|c| c.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                                .unwrap_or_default(),
                            input_artifacts: a.input_artifacts().iter().map(|i| i.name().to_owned()).collect(),
                            output_artifacts: a.output_artifacts().iter().map(|o| o.name().to_owned()).collect(),
                            run_order: a.run_order(),
                        }
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// The SDK declaration of `p` in account `account_id` (the inverse of [`pipeline_from_sdk`];
/// role and artifact store made up from the pipeline's name).
#[cfg(feature = "test-util")]
pub(crate) fn pipeline_to_sdk(p: &PipelineInfo, account_id: &str) -> cp::PipelineDeclaration {
    let stages = p
        .stages
        .iter()
        .map(|s| {
            let actions = s
                .actions
                .iter()
                .map(|a| {
                    cp::ActionDeclaration::builder()
                        .name(&a.name)
                        .action_type_id(
                            cp::ActionTypeId::builder()
                                .category(cp::ActionCategory::from(a.category.as_str()))
                                .owner(cp::ActionOwner::from(a.owner.as_str()))
                                .provider(&a.provider)
                                .version(&a.version)
                                .build()
                                .expect("all fields set"),
                        )
                        .set_configuration(Some(a.configuration.clone().into_iter().collect()))
                        .set_input_artifacts(Some(
                            a.input_artifacts.iter().filter_map(|n| cp::InputArtifact::builder().name(n).build().ok()).collect(),
                        ))
                        .set_output_artifacts(Some(
                            a.output_artifacts.iter().filter_map(|n| cp::OutputArtifact::builder().name(n).build().ok()).collect(),
                        ))
                        .set_run_order(a.run_order)
                        .build()
                        .expect("name and type set")
                })
                .collect();
            cp::StageDeclaration::builder().name(&s.name).set_actions(Some(actions)).build().expect("name and actions set")
        })
        .collect();
    cp::PipelineDeclaration::builder()
        .name(&p.name)
        .role_arn(p.role_arn.clone().unwrap_or_else(|| format!("arn:aws:iam::{account_id}:role/{}-role", p.name)))
        .artifact_store(
            cp::ArtifactStore::builder()
                .r#type(cp::ArtifactStoreType::S3)
                .location(format!("{}-artifacts", p.name))
                .build()
                .expect("type and location set"),
        )
        .set_stages(Some(stages))
        .set_version(p.version)
        .build()
        .expect("name, role and stages set")
}
