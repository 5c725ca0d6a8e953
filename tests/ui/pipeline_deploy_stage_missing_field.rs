// A PipelineDeployStage without its required field does not compile.
use ecs_bluegreen::spec::PipelineDeployStage;

fn main() {
    let _ = PipelineDeployStage::builder().build();
}
