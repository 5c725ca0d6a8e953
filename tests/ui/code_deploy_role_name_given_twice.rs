// A CodeDeployRole needs no field (an unnamed role gets the derived name), but a field and its
// `_opt` fallback fill the same slot: giving the name through both does not compile.
use ecs_bluegreen::spec::{CodeDeployRole, RoleName};

fn main() {
    let from_file: Option<RoleName> = None;
    let _ = CodeDeployRole::builder().role_name_opt(from_file).role_name(RoleName::new("web-cd").unwrap()).build();
}
