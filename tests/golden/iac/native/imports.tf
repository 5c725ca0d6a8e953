import {
  to = aws_lb_target_group.web_tg_1_green
  id = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-tg-1-green/0f6f3e5ab56bc1d2"
}

import {
  to = aws_lb_listener.production_80
  id = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web-alb/50dc6c495c0c9188/f2f7dc8efc522ab2"
}

import {
  to = aws_iam_role.prod_web_ecs_infra
  id = "prod-web-ecs-infra"
}

import {
  to = aws_iam_role_policy_attachment.prod_web_ecs_infra_amazonecsinfrastructurerolepolicyforloadbalancers
  id = "prod-web-ecs-infra/arn:aws:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers"
}

import {
  to = aws_ecs_service.web
  id = "prod/web"
}
