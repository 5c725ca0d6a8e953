//! Test traffic route: a listener on the test port forwarding to the green group, or the
//! green group added at weight 0 to the production listener's forward action.

use aws_sdk_elasticloadbalancingv2::types as elb;

use super::{Ctx, has_code};
use crate::discover::elb_tags;
use crate::error::{Result, SdkResultExt};
use crate::inventory::{OWNERSHIP_TAG, Tags, WeightedTargetGroup};
use crate::plan::TestRoute;
use crate::journal::Effect;
use crate::AwsClients;


/// Applies the route; returns the test listener ARN when a listener is used.
pub(crate) async fn apply(
    ctx: &Ctx<'_>,
    load_balancer_arn: &str,
    route: &TestRoute,
    tags: &Tags,
    green_arn: &str,
) -> Result<Option<String>> {
    let aws = ctx.aws;
    match route {
        TestRoute::Listener { port, protocol, tls, .. } => {
            if !ctx.fresh {
                // describe-then-create: moto would create a duplicate; AWS would refuse.
                if let Some(arn) = listener_on_port(aws, load_balancer_arn, *port).await? {
                    add_certificates(ctx, &arn, tls.as_ref()).await?;
                    return Ok(Some(arn));
                }
            }
            let mut req = aws
                .elbv2
                .create_listener()
                .load_balancer_arn(load_balancer_arn)
                .port(i32::from(*port))
                .protocol(elb::ProtocolEnum::from(protocol.as_str()))
                .default_actions(forward(&[WeightedTargetGroup { target_group_arn: green_arn.to_owned(), weight: 1 }]));
            if let Some(t) = tls {
                req = req
                    .set_ssl_policy(t.ssl_policy.clone())
                    .set_certificates(t.certificate_arn.as_ref().map(|a| vec![elb::Certificate::builder().certificate_arn(a).build()]))
                    .set_alpn_policy((!t.alpn_policy.is_empty()).then(|| t.alpn_policy.clone()));
            }
            for (k, v) in tags {
                req = req.tags(elb::Tag::builder().key(k).value(v).build());
            }
            let intent = Effect::ListenerCreated { load_balancer_arn: load_balancer_arn.to_owned(), port: *port, arn: None };
            let arn = ctx
                .mutate_or_adopt(
                    intent,
                    async {
                        let out = req.send().await.ctx("CreateListener", format!("{load_balancer_arn}:{port}"))?;
                        Ok(out.listeners().first().and_then(|l| l.listener_arn()).unwrap_or_default().to_owned())
                    },
                    // The first attempt's answer was lost: the listener it made carries our tag.
                    || async {
                        let Some(arn) = listener_on_port(aws, load_balancer_arn, *port).await? else { return Ok(None) };
                        let tags = elb_tags(aws, std::slice::from_ref(&arn)).await?;
                        let ours = tags.get(&arn).and_then(|t| t.get(OWNERSHIP_TAG)).map(String::as_str) == Some(ctx.migration_id());
                        Ok(ours.then_some(arn))
                    },
                    |arn: &String, e| match e {
                        Effect::ListenerCreated { load_balancer_arn, port, .. } => {
                            Effect::ListenerCreated { load_balancer_arn, port, arn: Some(arn.clone()) }
                        }
                        other => other,
                    },
                )
                .await?;
            add_certificates(ctx, &arn, tls.as_ref()).await?;
            Ok(Some(arn))
        }
        TestRoute::ProductionWeightZero { listener_arn, before: planned, actions } => {
            // Only the forward's target groups change: authentication actions, order and
            // stickiness stay, so production traffic keeps its path.
            let current = if ctx.fresh && !actions.is_empty() {
                actions.clone()
            } else {
                let out =
                    aws.elbv2.describe_listeners().listener_arns(listener_arn).send().await.ctx("DescribeListeners", listener_arn)?;
                out.listeners().first().map(|l| l.default_actions().iter().map(crate::convert::action_from_sdk).collect()).unwrap_or_default()
            };
            let _ = planned;
            let Some(after) = crate::convert::with_green_at_zero(&current, green_arn) else {
                return Ok(None);
            };
            let intent = Effect::ListenerActionsChanged { listener_arn: listener_arn.clone(), before: current };
            ctx.mutate(intent,
                async {
                    aws.elbv2
                        .modify_listener()
                        .listener_arn(listener_arn)
                        .set_default_actions(Some(crate::convert::actions_to_sdk(&after)))
                        .send()
                        .await
                        .ctx("ModifyListener", listener_arn)
                },
                |_, e| e,
            )
            .await?;
            Ok(None)
        }
    }
}

pub(crate) use crate::convert::forward;

/// Adds the production listener's additional certificates to the test listener (idempotent in
/// ELBv2; deleting the listener on undo removes them with it).
async fn add_certificates(ctx: &Ctx<'_>, listener_arn: &str, tls: Option<&crate::inventory::ListenerTls>) -> Result<()> {
    let Some(tls) = tls.filter(|t| !t.additional_certificates.is_empty()) else { return Ok(()) };
    let certificates: Vec<elb::Certificate> =
        tls.additional_certificates.iter().map(|a| elb::Certificate::builder().certificate_arn(a).build()).collect();
    ctx.call(format!("add {} certificate(s) to listener {listener_arn}", certificates.len()), async {
        ctx.aws
            .elbv2
            .add_listener_certificates()
            .listener_arn(listener_arn)
            .set_certificates(Some(certificates))
            .send()
            .await
            .ctx("AddListenerCertificates", listener_arn)
    })
    .await?;
    Ok(())
}

/// The ARN of the load balancer's listener on `port`, if any.
async fn listener_on_port(aws: &AwsClients, load_balancer_arn: &str, port: u16) -> Result<Option<String>> {
    let out = aws.elbv2.describe_listeners().load_balancer_arn(load_balancer_arn).send().await.ctx("DescribeListeners", load_balancer_arn)?;
    Ok(out.listeners().iter().find(|l| l.port() == Some(i32::from(port))).and_then(|l| l.listener_arn()).map(str::to_owned))
}

/// Deletes the test listener if it exists and carries this migration's ownership tag.
pub(crate) async fn undo_create(
    aws: &AwsClients,
    migration_id: &str,
    load_balancer_arn: &str,
    port: u16,
    arn: Option<&str>,
) -> Result<()> {
    let arn = match arn {
        Some(a) => a.to_owned(),
        None => match listener_on_port(aws, load_balancer_arn, port).await {
            Ok(Some(a)) => a,
            Ok(None) => return Ok(()),
            Err(crate::Error::Aws(e)) if e.code() == Some("LoadBalancerNotFound") => return Ok(()),
            Err(e) => return Err(e),
        },
    };
    let tags = match elb_tags(aws, std::slice::from_ref(&arn)).await {
        Ok(t) => t,
        Err(crate::Error::Aws(e)) if e.code() == Some("ListenerNotFound") => return Ok(()),
        Err(e) => return Err(e),
    };
    if tags.get(&arn).and_then(|t| t.get(OWNERSHIP_TAG)).map(String::as_str) != Some(migration_id) {
        return Ok(());
    }
    match aws.elbv2.delete_listener().listener_arn(&arn).send().await {
        Ok(_) => Ok(()),
        Err(e) if has_code(&e, &["ListenerNotFound"]) => Ok(()),
        Err(e) => Err(e).ctx("DeleteListener", arn),
    }
}

/// Restores the production listener's forward action.
pub(crate) async fn undo_forward(aws: &AwsClients, listener_arn: &str, before: &[WeightedTargetGroup]) -> Result<()> {
    match aws.elbv2.modify_listener().listener_arn(listener_arn).default_actions(forward(before)).send().await {
        Ok(_) => Ok(()),
        Err(e) if has_code(&e, &["ListenerNotFound"]) => Ok(()),
        Err(e) => Err(e).ctx("ModifyListener", listener_arn),
    }
}

/// Restores the production listener's whole default action list.
pub(crate) async fn undo_actions(aws: &AwsClients, listener_arn: &str, before: &[crate::inventory::ListenerAction]) -> Result<()> {
    match aws.elbv2.modify_listener().listener_arn(listener_arn).set_default_actions(Some(crate::convert::actions_to_sdk(before))).send().await {
        Ok(_) => Ok(()),
        Err(e) if has_code(&e, &["ListenerNotFound"]) => Ok(()),
        Err(e) => Err(e).ctx("ModifyListener", listener_arn),
    }
}

/// The built-in step: its planned change.
pub(crate) struct TestListenerStep(pub(crate) crate::plan::Change);

impl crate::step::Step for TestListenerStep {
    super::from_planned_change!();

    fn permissions(&self, cx: &crate::permission::PermissionContext<'_>) -> Vec<crate::permission::Permission> {
        let crate::plan::ChangeDetail::TestListener { load_balancer_arn, route, .. } = &self.0.detail else { return Vec::new() };
        let elb = |a: &str| format!("elasticloadbalancing:{a}");
        let mut out: Vec<crate::permission::Permission> =
            ["DescribeListeners", "DescribeTags", "DescribeTargetGroups", "DescribeListenerCertificates"].map(|a| crate::permission::Permission::any_resource(elb(a))).into();
        match route {
            crate::plan::TestRoute::Listener { .. } => {
                let listeners = cx.listeners_of(load_balancer_arn);
                out.push(crate::permission::Permission::on(elb("CreateListener"), load_balancer_arn.clone()));
                out.push(crate::permission::Permission::new(elb("AddTags"), [load_balancer_arn.clone(), listeners.clone()]));
                for a in ["DeleteListener", "AddListenerCertificates"] {
                    out.push(crate::permission::Permission::on(elb(a), listeners.clone()));
                }
            }
            crate::plan::TestRoute::ProductionWeightZero { listener_arn, .. } => out.push(crate::permission::Permission::on(elb("ModifyListener"), listener_arn.clone())),
        }
        out
    }

    fn reads(&self) -> Vec<&'static str> {
        vec!["elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeTags", "elasticloadbalancing:DescribeTargetGroups"]
    }

    fn apply<'a>(&'a self, cx: &'a Ctx<'a>) -> futures::future::BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let crate::plan::ChangeDetail::TestListener { load_balancer_arn, route, tags, green_arn } = &self.0.detail else {
                return Err(super::wrong_detail(&self.0));
            };
            // Made (or found unchanged) by this run's green step; else the group the plan found
            // (a partial transaction without the green step: the plan checked that it exists).
            let green = cx
                .output(crate::step::outputs::GREEN_TARGET_GROUP_ARN)
                .or_else(|| green_arn.clone())
                .ok_or_else(|| crate::Error::custom("the plan names no green target group for the test route"))?;
            if let Some(arn) = apply(cx, load_balancer_arn, route, tags, &green).await? {
                cx.set_output(crate::step::outputs::TEST_LISTENER_ARN, arn);
            }
            Ok(())
        })
    }

    fn unchanged(&self, cx: &Ctx<'_>) {
        if let crate::plan::ChangeDetail::TestListener { route: TestRoute::Listener { arn, .. }, .. } = &self.0.detail {
            cx.set_output(crate::step::outputs::TEST_LISTENER_ARN, arn.clone());
        }
    }
}
