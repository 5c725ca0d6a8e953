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

resource "aws_lb_listener" "production_80" {
  load_balancer_arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web-alb/50dc6c495c0c9188"
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "forward"

    forward {
      target_group {
        arn    = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-tg-1/73e2d6bc24d8a067"
        weight = 100
      }

      target_group {
        arn    = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-tg-1-green/0f6f3e5ab56bc1d2"
        weight = 0
      }
    }
  }

  lifecycle {
    ignore_changes = [
      default_action
    ]
  }
}

resource "aws_iam_role" "prod_web_ecs_infra" {
  name               = "prod-web-ecs-infra"
  assume_role_policy = jsonencode({ "Version" = "2012-10-17", "Statement" = [{ "Effect" = "Allow", "Principal" = { "Service" = "ecs.amazonaws.com" }, "Action" = "sts:AssumeRole", "Condition" = { "StringEquals" = { "aws:SourceAccount" = "123456789012" } } }] })
  tags = {
    "ecs-bluegreen:migration-id" = "prod/web"
  }
}

resource "aws_iam_role_policy_attachment" "prod_web_ecs_infra_amazonecsinfrastructurerolepolicyforloadbalancers" {
  role       = "prod-web-ecs-infra"
  policy_arn = "arn:aws:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers"
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
    type = "ECS"
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  deployment_configuration {
    strategy             = "BLUE_GREEN"
    bake_time_in_minutes = 5
  }

  load_balancer {
    target_group_arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-tg-1/73e2d6bc24d8a067"
    container_name   = "app"
    container_port   = 8080

    advanced_configuration {
      alternate_target_group_arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-tg-1-green/0f6f3e5ab56bc1d2"
      production_listener_rule   = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web-alb/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee"
      role_arn                   = "arn:aws:iam::123456789012:role/prod-web-ecs-infra"
    }
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
      load_balancer
    ]
  }
}
