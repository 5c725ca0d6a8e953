// A Migration needs a cluster as well as a service.
use ecs_bluegreen::spec::{Migration, ServiceName};

fn main() {
    let _ = Migration::builder().service(ServiceName::new("web").unwrap()).build();
}
