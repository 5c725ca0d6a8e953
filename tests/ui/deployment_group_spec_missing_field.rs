// A DeploymentGroupSpec without its required field does not compile.
use ecs_bluegreen::spec::DeploymentGroupSpec;

fn main() {
    let _ = DeploymentGroupSpec::builder().build();
}
