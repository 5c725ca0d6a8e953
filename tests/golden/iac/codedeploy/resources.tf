resource "aws_lb_target_group" "web_tg_1_green" {
  name                          = "web-tg-1-green"
  port                          = 8080
  protocol                      = "HTTP"
  protocol_version              = "HTTP1"
  vpc_id                        = "vpc-0abc"
  target_type                   = "ip"
  ip_address_type               = "ipv4"
  deregistration_delay          = 300
  slow_start                    = 0
  load_balancing_algorithm_type = "round_robin"

  health_check {
    enabled             = true
    healthy_threshold   = 5
    interval            = 30
    matcher             = "200"
    path                = "/health"
    port                = "traffic-port"
    protocol            = "HTTP"
    timeout             = 5
    unhealthy_threshold = 2
  }

  stickiness {
    type            = "lb_cookie"
    enabled         = false
    cookie_duration = 86400
  }

  tags = {
    "ecs-bluegreen:migration-id" = "prod/web"
    team                         = "payments"
  }
}

resource "aws_lb_listener" "test_8080" {
  load_balancer_arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web-alb/50dc6c495c0c9188"
  port              = 8080
  protocol          = "HTTP"

  default_action {
    type             = "forward"
    target_group_arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-tg-1-green/0f6f3e5ab56bc1d2"
  }

  tags = {
    "ecs-bluegreen:migration-id" = "prod/web"
  }
}

resource "aws_iam_role" "prod_web_codedeploy" {
  name               = "prod-web-codedeploy"
  assume_role_policy = jsonencode({ "Version" = "2012-10-17", "Statement" = [{ "Effect" = "Allow", "Principal" = { "Service" = "codedeploy.amazonaws.com" }, "Action" = "sts:AssumeRole", "Condition" = { "StringEquals" = { "aws:SourceAccount" = "123456789012" } } }] })
  tags = {
    "ecs-bluegreen:migration-id" = "prod/web"
  }
}

resource "aws_iam_role_policy_attachment" "prod_web_codedeploy_awscodedeployroleforecs" {
  role       = "prod-web-codedeploy"
  policy_arn = "arn:aws:iam::aws:policy/AWSCodeDeployRoleForECS"
}

resource "aws_codedeploy_app" "prod_web" {
  name             = "prod-web"
  compute_platform = "ECS"
  tags = {
    "ecs-bluegreen:migration-id" = "prod/web"
  }
}

resource "aws_ecs_service" "web" {
  name                               = "web"
  cluster                            = "arn:aws:ecs:us-east-1:123456789012:cluster/prod"
  task_definition                    = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7"
  desired_count                      = 3
  launch_type                        = "FARGATE"
  platform_version                   = "LATEST"
  scheduling_strategy                = "REPLICA"
  health_check_grace_period_seconds  = 60
  enable_ecs_managed_tags            = false
  enable_execute_command             = false
  propagate_tags                     = "SERVICE"
  deployment_maximum_percent         = 200
  deployment_minimum_healthy_percent = 100

  deployment_controller {
    type = "CODE_DEPLOY"
  }

  load_balancer {
    target_group_arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-tg-1/73e2d6bc24d8a067"
    container_name   = "app"
    container_port   = 8080
  }

  network_configuration {
    subnets = [
      "subnet-1",
      "subnet-2"
    ]
    security_groups = [
      "sg-1"
    ]
    assign_public_ip = false
  }

  tags = {
    team = "payments"
  }

  lifecycle {
    ignore_changes = [
      task_definition,
      load_balancer,
      desired_count
    ]
  }
}

resource "aws_appautoscaling_target" "web" {
  service_namespace  = "ecs"
  resource_id        = "service/prod/web"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = 2
  max_capacity       = 10
}

resource "aws_appautoscaling_policy" "web_scale_out" {
  name               = "web-scale-out"
  policy_type        = "StepScaling"
  resource_id        = "service/prod/web"
  scalable_dimension = "ecs:service:DesiredCount"
  service_namespace  = "ecs"

  step_scaling_policy_configuration {
    adjustment_type         = "ChangeInCapacity"
    cooldown                = 60
    metric_aggregation_type = "Average"

    step_adjustment {
      metric_interval_lower_bound = 0
      scaling_adjustment          = 2
    }
  }
}

resource "aws_codedeploy_deployment_group" "web_bluegreen" {
  app_name               = "prod-web"
  deployment_group_name  = "web-bluegreen"
  service_role_arn       = "arn:aws:iam::123456789012:role/prod-web-codedeploy"
  deployment_config_name = "CodeDeployDefault.ECSAllAtOnce"

  auto_rollback_configuration {
    enabled = true
    events = [
      "DEPLOYMENT_FAILURE",
      "DEPLOYMENT_STOP_ON_REQUEST"
    ]
  }

  blue_green_deployment_config {
    deployment_ready_option {
      action_on_timeout = "CONTINUE_DEPLOYMENT"
    }

    terminate_blue_instances_on_deployment_success {
      action                           = "TERMINATE"
      termination_wait_time_in_minutes = 60
    }
  }

  deployment_style {
    deployment_option = "WITH_TRAFFIC_CONTROL"
    deployment_type   = "BLUE_GREEN"
  }

  ecs_service {
    cluster_name = "prod"
    service_name = "web"
  }

  load_balancer_info {
    target_group_pair_info {
      prod_traffic_route {
        listener_arns = [
          "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web-alb/50dc6c495c0c9188/f2f7dc8efc522ab2"
        ]
      }

      target_group {
        name = "web-tg-1"
      }

      target_group {
        name = "web-tg-1-green"
      }

      test_traffic_route {
        listener_arns = [
          "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web-alb/50dc6c495c0c9188/2a8c4b3d1e0f9a77"
        ]
      }
    }
  }

  tags = {
    "ecs-bluegreen:migration-id" = "prod/web"
  }
}

resource "aws_iam_role_policy" "web_pipeline_role_ecs_bluegreen_prod_web" {
  name   = "ecs-bluegreen-prod-web"
  role   = "web-pipeline-role"
  policy = jsonencode({ "Version" = "2012-10-17", "Statement" = [{ "Effect" = "Allow", "Action" = ["codedeploy:CreateDeployment"], "Resource" = "*" }] })
}

resource "aws_codepipeline" "web_pipeline" {
  name     = "web-pipeline"
  role_arn = "arn:aws:iam::123456789012:role/web-pipeline-role"

  artifact_store {
    location = "web-artifacts"
    type     = "S3"
  }

  stage {
    name = "Deploy"

    action {
      name     = "Deploy"
      category = "Deploy"
      owner    = "AWS"
      provider = "CodeDeployToECS"
      version  = "1"
      input_artifacts = [
        "BuildOutput"
      ]
      run_order = 1
      configuration = {
        ApplicationName            = "prod-web"
        DeploymentGroupName        = "web-bluegreen"
        TaskDefinitionTemplatePath = "taskdef.json"
      }
    }
  }
}
