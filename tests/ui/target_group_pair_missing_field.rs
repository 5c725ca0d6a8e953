// A TargetGroupPair without its required field does not compile.
use ecs_bluegreen::spec::TargetGroupPair;

fn main() {
    let _ = TargetGroupPair::builder().build();
}
