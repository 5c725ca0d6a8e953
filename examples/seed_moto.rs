//! Seeds the realistic rolling-update "before" account into a local moto server: VPC, ALB,
//! listener, target group `web-tg-1`, ECS cluster `prod` with the rolling Fargate service
//! `web`, and CodePipeline `web-pipeline` whose Deploy action uses the `ECS` provider.
//!
//! `seed_moto show` prints the live state the migration is about instead: the service's
//! controller, the deployment group, and the pipeline's Deploy action; `seed_moto deployments`
//! lists the deployment group's CodeDeploy deployments.
//!
//! `seed_moto fleet` seeds a small fleet instead: that account, plus the rolling services `cart`
//! (behind a second ALB `cart-alb`, listener :80) and `search` (behind `cart-alb` too, listener
//! :81), shaped as `web`; `seed_moto show-fleet` prints each one's controller and deployment
//! group.
//!
//! Used by `scripts/demo`. Needs `AWS_ENDPOINT_URL` pointing at moto; `MOTO_ACCOUNT_ID` picks
//! the moto account (default 123456789012).

#[path = "../tests/common/fixture.rs"]
mod fixture;

#[path = "../tests/common/account_header.rs"]
mod account_header;

use account_header::AccountHeader;

#[tokio::main]
async fn main() {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL must point at moto (see scripts/moto)");
    let account = std::env::var("MOTO_ACCOUNT_ID").unwrap_or_else(|_| "123456789012".to_owned());
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let aws = ecs_bluegreen::AwsClients::builder(&config).interceptor(AccountHeader(account.clone())).build();
    match std::env::args().nth(1).as_deref() {
        Some("show") => return show(&aws).await,
        Some("deployments") => return deployments(&aws).await,
        Some("show-fleet") => return show_fleet(&aws).await,
        _ => {}
    }
    if std::env::args().nth(1).as_deref() == Some("fleet") {
        let f = fixture::seed_rolling_account(&aws, &endpoint, &account).await;
        let cart_lb = fixture::seed_extra_service(&aws, &f, "cart", None, 80).await;
        fixture::seed_extra_service(&aws, &f, "search", Some(&cart_lb), 81).await;
        println!("seeded moto account {account} with a fleet of three rolling services in cluster {}:", f.cluster_name);
        println!("  web    behind {} (listener :80 -> {}), pipeline {}", f.load_balancer_name, f.target_group_name, f.pipeline_name);
        println!("  cart   behind cart-alb (listener :80 -> cart-tg)");
        println!("  search behind cart-alb (listener :81 -> search-tg)");
        return;
    }
    let f = fixture::seed_rolling_account(&aws, &endpoint, &account).await;
    println!("seeded moto account {account}:");
    println!("  cluster {} / service {} (rolling, {} tasks)", f.cluster_name, f.service_name, 2);
    println!("  load balancer {} -> listener :80 -> target group {}", f.load_balancer_name, f.target_group_name);
    println!("  pipeline {} (Source -> Build -> Deploy[ECS])", f.pipeline_name);
}

/// Prints the ids and statuses of the deployments in `prod-web/web-bluegreen`, on one line.
async fn deployments(aws: &ecs_bluegreen::AwsClients) {
    let listed = aws
        .codedeploy
        .list_deployments()
        .application_name("prod-web")
        .deployment_group_name("web-bluegreen")
        .send()
        .await
        .expect("ListDeployments");
    let mut shown = Vec::new();
    for id in listed.deployments() {
        let d = aws.codedeploy.get_deployment().deployment_id(id).send().await.expect("GetDeployment");
        let status = d.deployment_info().and_then(|i| i.status()).map(|s| s.as_str().to_owned()).unwrap_or_default();
        shown.push(format!("{id} ({status})"));
    }
    println!("{}", if shown.is_empty() { "none".to_owned() } else { shown.join(", ") });
}

/// The fleet `seed_moto fleet` seeds: each service's controller and deployment group.
async fn show_fleet(aws: &ecs_bluegreen::AwsClients) {
    for name in ["web", "cart", "search"] {
        let svc = ecs_bluegreen::discover::describe_service(aws, "prod", name).await.expect("DescribeServices");
        let controller = svc.map_or_else(|| "missing".to_owned(), |s| format!("{} controller", s.deployment_controller));
        let (app, group) = (format!("prod-{name}"), format!("{name}-bluegreen"));
        let dg = match aws.codedeploy.get_deployment_group().application_name(&app).deployment_group_name(&group).send().await {
            Ok(out) => {
                let style = out.deployment_group_info().and_then(|d| d.deployment_style()).and_then(|s| s.deployment_type());
                format!("deployment group {app}/{group} ({})", style.map(|t| t.as_str()).unwrap_or_default())
            }
            Err(_) => "no deployment group".to_owned(),
        };
        println!("  service prod/{name:<6}: {controller}, {dg}");
    }
}

async fn show(aws: &ecs_bluegreen::AwsClients) {
    let svc = ecs_bluegreen::discover::describe_service(aws, "prod", "web").await.expect("DescribeServices");
    match svc {
        Some(s) => println!(
            "  service prod/web: {} controller, {} desired / {} running, task definition {}",
            s.deployment_controller,
            s.desired_count,
            s.running_count,
            s.task_definition.unwrap_or_default()
        ),
        None => println!("  service prod/web: missing"),
    }
    match aws.codedeploy.get_deployment_group().application_name("prod-web").deployment_group_name("web-bluegreen").send().await {
        Ok(out) => {
            let dg = out.deployment_group_info().expect("deployment group");
            let tgs: Vec<&str> = dg
                .load_balancer_info()
                .and_then(|l| l.target_group_pair_info_list().first())
                .map(|p| p.target_groups().iter().filter_map(|t| t.name()).collect())
                .unwrap_or_default();
            println!(
                "  deployment group prod-web/web-bluegreen: {} / {}, target groups {}",
                dg.deployment_config_name().unwrap_or_default(),
                dg.deployment_style().and_then(|s| s.deployment_type()).map(|t| t.as_str()).unwrap_or_default(),
                tgs.join(" + ")
            );
        }
        Err(_) => println!("  deployment group prod-web/web-bluegreen: none"),
    }
    let p = aws.codepipeline.get_pipeline().name("web-pipeline").send().await.expect("GetPipeline");
    for stage in p.pipeline().map(|p| p.stages()).unwrap_or_default() {
        for a in stage.actions() {
            if stage.name() == "Deploy" {
                let provider = a.action_type_id().map(|t| t.provider()).unwrap_or_default();
                let mut cfg: Vec<String> =
                    a.configuration().map(|c| c.iter().map(|(k, v)| format!("{k}={v}")).collect()).unwrap_or_default();
                cfg.sort();
                println!("  pipeline web-pipeline Deploy action {}: provider {provider} ({})", a.name(), cfg.join(", "));
            }
        }
    }
}
