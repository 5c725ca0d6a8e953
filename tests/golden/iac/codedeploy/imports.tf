import {
  to = aws_lb_target_group.web_tg_1_green
  id = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-tg-1-green/0f6f3e5ab56bc1d2"
}

import {
  to = aws_lb_listener.test_8080
  id = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web-alb/50dc6c495c0c9188/2a8c4b3d1e0f9a77"
}

import {
  to = aws_iam_role.prod_web_codedeploy
  id = "prod-web-codedeploy"
}

import {
  to = aws_iam_role_policy_attachment.prod_web_codedeploy_awscodedeployroleforecs
  id = "prod-web-codedeploy/arn:aws:iam::aws:policy/AWSCodeDeployRoleForECS"
}

import {
  to = aws_codedeploy_app.prod_web
  id = "prod-web"
}

import {
  to = aws_ecs_service.web
  id = "prod/web"
}

import {
  to = aws_appautoscaling_target.web
  id = "ecs/service/prod/web/ecs:service:DesiredCount"
}

import {
  to = aws_appautoscaling_policy.web_scale_out
  id = "ecs/service/prod/web/ecs:service:DesiredCount/web-scale-out"
}

import {
  to = aws_codedeploy_deployment_group.web_bluegreen
  id = "prod-web:web-bluegreen"
}

import {
  to = aws_iam_role_policy.web_pipeline_role_ecs_bluegreen_prod_web
  id = "web-pipeline-role:ecs-bluegreen-prod-web"
}

import {
  to = aws_codepipeline.web_pipeline
  id = "web-pipeline"
}
