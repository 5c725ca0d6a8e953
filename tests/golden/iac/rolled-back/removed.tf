removed {
  from = aws_lb_target_group.web_tg_1_green

  lifecycle {
    destroy = false
  }
}

removed {
  from = aws_lb_listener.test_8080

  lifecycle {
    destroy = false
  }
}

removed {
  from = aws_iam_role.prod_web_codedeploy

  lifecycle {
    destroy = false
  }
}

removed {
  from = aws_iam_role_policy_attachment.prod_web_codedeploy_awscodedeployroleforecs

  lifecycle {
    destroy = false
  }
}

removed {
  from = aws_codedeploy_app.prod_web

  lifecycle {
    destroy = false
  }
}

removed {
  from = aws_codedeploy_deployment_group.web_bluegreen

  lifecycle {
    destroy = false
  }
}
