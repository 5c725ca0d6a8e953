// A CodeDeployRole without its required field does not compile.
use ecs_bluegreen::spec::CodeDeployRole;

fn main() {
    let _ = CodeDeployRole::builder().build();
}
