// On the compile-checked Migration builder a setting and its `_opt` fallback fill the same
// slot: once `deployment_config` is given, `deployment_config_opt` is no longer offered.
use ecs_bluegreen::spec::{ClusterName, DeploymentConfig, Migration, ServiceName};

fn main() {
    let _ = Migration::builder()
        .cluster(ClusterName::new("prod").unwrap())
        .service(ServiceName::new("web").unwrap())
        .deployment_config(DeploymentConfig::EcsAllAtOnce)
        .deployment_config_opt(None)
        .build();
}
