// A CodeDeployApp without its required field does not compile.
use ecs_bluegreen::spec::CodeDeployApp;

fn main() {
    let _ = CodeDeployApp::builder().build();
}
