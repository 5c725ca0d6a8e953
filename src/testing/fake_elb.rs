//! Elastic Load Balancing v2 in the mock account: the load balancer, its listeners, target
//! groups with attributes and tags.

use aws_sdk_elasticloadbalancingv2::Client;
use aws_sdk_elasticloadbalancingv2::operation::add_listener_certificates::AddListenerCertificatesOutput;
use aws_sdk_elasticloadbalancingv2::operation::create_listener::CreateListenerOutput;
use aws_sdk_elasticloadbalancingv2::operation::describe_listener_certificates::DescribeListenerCertificatesOutput;
use aws_sdk_elasticloadbalancingv2::operation::create_target_group::CreateTargetGroupOutput;
use aws_sdk_elasticloadbalancingv2::operation::delete_listener::DeleteListenerOutput;
use aws_sdk_elasticloadbalancingv2::operation::delete_target_group::DeleteTargetGroupOutput;
use aws_sdk_elasticloadbalancingv2::operation::describe_listeners::DescribeListenersOutput;
use aws_sdk_elasticloadbalancingv2::operation::describe_load_balancers::DescribeLoadBalancersOutput;
use aws_sdk_elasticloadbalancingv2::operation::describe_rules::DescribeRulesOutput;
use aws_sdk_elasticloadbalancingv2::operation::describe_tags::DescribeTagsOutput;
use aws_sdk_elasticloadbalancingv2::operation::describe_target_group_attributes::DescribeTargetGroupAttributesOutput;
use aws_sdk_elasticloadbalancingv2::operation::describe_target_groups::DescribeTargetGroupsOutput;
use aws_sdk_elasticloadbalancingv2::operation::modify_listener::ModifyListenerOutput;
use aws_sdk_elasticloadbalancingv2::operation::modify_target_group_attributes::ModifyTargetGroupAttributesOutput;
use aws_sdk_elasticloadbalancingv2::operation::describe_target_health::DescribeTargetHealthOutput;
use aws_sdk_elasticloadbalancingv2::types::{
    TargetDescription, TargetHealth, TargetHealthDescription, TargetHealthReasonEnum, TargetHealthStateEnum,
};
use aws_sdk_elasticloadbalancingv2::types::{Rule as ElbRule, TagDescription};
use aws_smithy_mocks::mock;

use super::account::{AccountState, Answer, Condition, Shared, answer, aws_error};
use crate::convert::{
    elb_tags_to_sdk, forward_targets, listener_from_create, listener_to_sdk, load_balancer_to_sdk, target_group_attributes_to_sdk,
    target_group_from_create, target_group_to_sdk,
};
use crate::inventory::{ListenerInfo, Tags};

const TG_NOT_FOUND: &str = "One or more target groups not found";
const LISTENER_NOT_FOUND: &str = "One or more listeners not found";

fn listener<'a>(st: &'a AccountState, arn: &str) -> Option<&'a ListenerInfo> {
    st.load_balancer.listeners.iter().find(|l| l.arn == arn)
}

pub(crate) fn rules(acct: &Shared) -> Vec<Answer> {
    let describe_tgs = answer(acct, "DescribeTargetGroups", mock!(Client::describe_target_groups), |st, input| {
        let mut found = Vec::new();
        if input.names().is_empty() && input.target_group_arns().is_empty() {
            found.extend(
                st.target_groups
                    .values()
                    .filter(|t| input.load_balancer_arn().is_none_or(|lb| t.load_balancer_arns.iter().any(|x| x == lb)))
                    .map(target_group_to_sdk),
            );
        }
        for name in input.names() {
            match st.target_groups.values().find(|t| t.name == *name) {
                Some(t) => found.push(target_group_to_sdk(t)),
                None => return Err(aws_error("TargetGroupNotFound", TG_NOT_FOUND)),
            }
        }
        for arn in input.target_group_arns() {
            match st.target_groups.get(arn) {
                Some(t) => found.push(target_group_to_sdk(t)),
                None => return Err(aws_error("TargetGroupNotFound", TG_NOT_FOUND)),
            }
        }
        Ok(DescribeTargetGroupsOutput::builder().set_target_groups(Some(found)).build())
    });

    let describe_attrs = answer(acct, "DescribeTargetGroupAttributes", mock!(Client::describe_target_group_attributes), |st, input| match st.target_groups.get(input.target_group_arn().unwrap_or_default()) {
        Some(tg) => Ok(DescribeTargetGroupAttributesOutput::builder()
            .set_attributes(Some(target_group_attributes_to_sdk(&tg.attributes)))
            .build()),
        None => Err(aws_error("TargetGroupNotFound", TG_NOT_FOUND)),
    });

    let describe_tags = answer(acct, "DescribeTags", mock!(Client::describe_tags), |st, input| {
        let mut out = DescribeTagsOutput::builder();
        for arn in input.resource_arns() {
            let tags = if arn.contains(":targetgroup/") {
                st.target_groups.get(arn).map(|t| t.tags.clone()).ok_or(("TargetGroupNotFound", TG_NOT_FOUND))
            } else if arn.contains(":listener/") {
                listener(st, arn).map(|l| l.tags.clone()).ok_or(("ListenerNotFound", LISTENER_NOT_FOUND))
            } else if *arn == st.load_balancer.arn {
                Ok(Tags::new())
            } else {
                Err(("LoadBalancerNotFound", "One or more load balancers not found"))
            };
            match tags {
                Ok(t) => out = out.tag_descriptions(TagDescription::builder().resource_arn(arn).set_tags(Some(elb_tags_to_sdk(&t))).build()),
                Err((code, msg)) => return Err(aws_error(code, msg)),
            }
        }
        Ok(out.build())
    });

    let create_tg = answer(acct, "CreateTargetGroup", mock!(Client::create_target_group), |st, input| {
        let name = input.name().unwrap_or_default().to_owned();
        // Tag rules AWS enforces (the error code is inferred: ELBv2 documents only the rules).
        if input.tags().iter().any(|t| t.key().is_some_and(crate::inventory::is_reserved_tag_key)) {
            return Err(aws_error("ValidationError", "Tag keys starting with 'aws:' are reserved for internal use"));
        }
        if input.tags().len() > crate::inventory::MAX_TAGS_PER_RESOURCE {
            return Err(aws_error("TooManyTags", "You've reached the limit on the number of tags for this resource"));
        }
        if st.target_groups.values().any(|t| t.name == name) {
            return Err(aws_error(
                "DuplicateTargetGroupName",
                "A target group with the same name exists, but with different settings",
            ));
        }
        let id = st.fresh_id();
        let arn = format!("arn:{}:elasticloadbalancing:{}:{}:targetgroup/{name}/{id}", crate::inventory::partition_of_region(&st.region), st.region, st.account_id);
        let tg = target_group_from_create(input, arn.clone());
        let out = CreateTargetGroupOutput::builder().target_groups(target_group_to_sdk(&tg)).build();
        st.target_groups.insert(arn, tg);
        st.log.push(format!("CreateTargetGroup {name}"));
        Ok(out)
    });

    let modify_attrs = answer(acct, "ModifyTargetGroupAttributes", mock!(Client::modify_target_group_attributes), |st, input| {
        let Some(tg) = st.target_groups.get_mut(input.target_group_arn().unwrap_or_default()) else {
            return Err(aws_error("TargetGroupNotFound", TG_NOT_FOUND));
        };
        for attr in input.attributes() {
            tg.attributes.insert(attr.key().unwrap_or_default().to_owned(), attr.value().unwrap_or_default().to_owned());
        }
        let name = tg.name.clone();
        st.log.push(format!("ModifyTargetGroupAttributes {name}"));
        Ok(ModifyTargetGroupAttributesOutput::builder().set_attributes(Some(input.attributes().to_vec())).build())
    });

    let delete_tg = answer(acct, "DeleteTargetGroup", mock!(Client::delete_target_group), |st, input| {
        let arn = input.target_group_arn().unwrap_or_default().to_owned();
        let in_use = st.load_balancer.listeners.iter().any(|l| l.default_forward.iter().any(|w| w.target_group_arn == arn));
        if in_use {
            return Err(aws_error("ResourceInUse", "Target group is currently in use by a listener or a rule"));
        }
        // AWS answers success for a target group that is already gone.
        if let Some(tg) = st.target_groups.remove(&arn) {
            st.log.push(format!("DeleteTargetGroup {}", tg.name));
        }
        Ok(DeleteTargetGroupOutput::builder().build())
    });

    let describe_lbs = answer(acct, "DescribeLoadBalancers", mock!(Client::describe_load_balancers), |st, input| {
        let wanted = input.load_balancer_arns().is_empty() && input.names().is_empty()
            || input.load_balancer_arns().contains(&st.load_balancer.arn)
            || input.names().contains(&st.load_balancer.name);
        if !wanted {
            return Err(aws_error("LoadBalancerNotFound", "One or more load balancers not found"));
        }
        Ok(DescribeLoadBalancersOutput::builder().load_balancers(load_balancer_to_sdk(&st.load_balancer)).build())
    });

    let describe_listeners = answer(acct, "DescribeListeners", mock!(Client::describe_listeners), |st, input| {
        let lb = &st.load_balancer;
        let mut out = DescribeListenersOutput::builder();
        if let Some(asked) = input.load_balancer_arn() {
            if asked != lb.arn {
                return Err(aws_error("LoadBalancerNotFound", "One or more load balancers not found"));
            }
            for l in &lb.listeners {
                out = out.listeners(listener_to_sdk(l, &lb.arn));
            }
        }
        for arn in input.listener_arns() {
            match listener(st, arn) {
                Some(l) => out = out.listeners(listener_to_sdk(l, &lb.arn)),
                None => return Err(aws_error("ListenerNotFound", LISTENER_NOT_FOUND)),
            }
        }
        Ok(out.build())
    });

    let describe_rules = answer(acct, "DescribeRules", mock!(Client::describe_rules), |st, input| {
        // By rule ARN: the listeners' default rules (ELB answers RuleNotFound for any unknown one).
        if !input.rule_arns().is_empty() {
            let mut out = DescribeRulesOutput::builder();
            for arn in input.rule_arns() {
                let Some(l) = st.load_balancer.listeners.iter().find(|l| {
                    l.default_rule_arn.clone().unwrap_or_else(|| super::sample::default_rule_of(&l.arn)) == *arn
                }) else {
                    return Err(aws_error("RuleNotFound", "One or more rules not found"));
                };
                out = out.rules(
                    ElbRule::builder().rule_arn(arn).priority("default").is_default(true).set_actions(listener_to_sdk(l, "").default_actions.clone()).build(),
                );
            }
            return Ok(out.build());
        }
        let Some(l) = listener(st, input.listener_arn().unwrap_or_default()) else {
            return Err(aws_error("ListenerNotFound", LISTENER_NOT_FOUND));
        };
        // Only the default rule: the fake's listeners have no path or host rules.
        let default = ElbRule::builder()
            // The rule the account was given (e.g. read from moto), else one named after the listener.
            .rule_arn(l.default_rule_arn.clone().unwrap_or_else(|| super::sample::default_rule_of(&l.arn)))
            .priority("default")
            .is_default(true)
            .set_actions(listener_to_sdk(l, "").default_actions.clone())
            .build();
        Ok(DescribeRulesOutput::builder().rules(default).build())
    });

    let create_listener = answer(acct, "CreateListener", mock!(Client::create_listener), |st, input| {
        if input.load_balancer_arn() != Some(st.load_balancer.arn.as_str()) {
            return Err(aws_error("LoadBalancerNotFound", "One or more load balancers not found"));
        }
        let port = input.port().unwrap_or_default();
        // AWS: an HTTPS or TLS listener needs a default certificate.
        let secure = matches!(input.protocol().map(|p| p.as_str()), Some("HTTPS" | "TLS"));
        if secure && input.certificates().iter().all(|c| c.certificate_arn().is_none()) {
            return Err(aws_error("ValidationError", "A certificate must be specified for HTTPS and TLS listeners"));
        }
        if st.load_balancer.listeners.iter().any(|l| l.port == Some(port)) {
            return Err(aws_error("DuplicateListener", "A listener already exists on this port for this load balancer"));
        }
        let forward = forward_targets(input.default_actions());
        if let Some(missing) = forward.iter().find(|w| !st.target_groups.contains_key(&w.target_group_arn)) {
            return Err(aws_error("TargetGroupNotFound", &format!("Target group '{}' not found", missing.target_group_arn)));
        }
        let id = st.fresh_id();
        let arn = format!("{}/{id}", st.load_balancer.arn.replace(":loadbalancer/", ":listener/"));
        let l = listener_from_create(input, arn);
        let out = CreateListenerOutput::builder().listeners(listener_to_sdk(&l, &st.load_balancer.arn)).build();
        st.load_balancer.listeners.push(l);
        st.link_target_groups();
        st.log.push(format!("CreateListener {port}"));
        Ok(out)
    });

    let delete_listener = answer(acct, "DeleteListener", mock!(Client::delete_listener), |st, input| {
        let arn = input.listener_arn().unwrap_or_default();
        let Some(i) = st.load_balancer.listeners.iter().position(|l| l.arn == arn) else {
            return Err(aws_error("ListenerNotFound", LISTENER_NOT_FOUND));
        };
        let l = st.load_balancer.listeners.remove(i);
        st.link_target_groups();
        st.log.push(format!("DeleteListener {}", l.port.unwrap_or_default()));
        Ok(DeleteListenerOutput::builder().build())
    });

    let modify_listener = answer(acct, "ModifyListener", mock!(Client::modify_listener), |st, input| {
        let arn = input.listener_arn().unwrap_or_default();
        // AWS never returns an OIDC client secret, so a re-sent OIDC action needs the secret or
        // UseExistingClientSecret (ELBv2 API reference, AuthenticateOidcActionConfig).
        let oidc_without_secret = input.default_actions().iter().filter_map(|a| a.authenticate_oidc_config()).any(|c| {
            c.client_secret().is_none() && c.use_existing_client_secret() != Some(true)
        });
        if oidc_without_secret {
            return Err(aws_error("ValidationError", "An OIDC action needs ClientSecret or UseExistingClientSecret"));
        }
        let forward = forward_targets(input.default_actions());
        if let Some(missing) = forward.iter().find(|w| !st.target_groups.contains_key(&w.target_group_arn)) {
            return Err(aws_error("TargetGroupNotFound", &format!("Target group '{}' not found", missing.target_group_arn)));
        }
        let lb_arn = st.load_balancer.arn.clone();
        let Some(l) = st.load_balancer.listeners.iter_mut().find(|l| l.arn == arn) else {
            return Err(aws_error("ListenerNotFound", LISTENER_NOT_FOUND));
        };
        if !input.default_actions().is_empty() {
            // AWS keeps the whole list as sent (authentication, order, stickiness).
            l.default_forward = forward;
            l.default_actions = input.default_actions().iter().map(crate::convert::action_from_sdk).collect();
        }
        if let Some(p) = input.port() {
            l.port = Some(p);
        }
        let out = ModifyListenerOutput::builder().listeners(listener_to_sdk(l, &lb_arn)).build();
        let port = l.port.unwrap_or_default();
        st.link_target_groups();
        st.log.push(format!("ModifyListener {port}"));
        Ok(out)
    });

    let target_health = answer(acct, "DescribeTargetHealth", mock!(Client::describe_target_health), |st, input| {
        let tg_arn = input.target_group_arn().unwrap_or_default().to_owned();
        if !st.target_groups.contains_key(&tg_arn) {
            return Err(aws_error("TargetGroupNotFound", TG_NOT_FOUND));
        }
        // ECS registers each awsvpc task of a service behind this group by IP and port.
        let mut registered: Vec<(String, i32, String)> = Vec::new();
        for t in st.tasks() {
            let svc = &st.services[&t.service];
            let Some(entry) = svc.load_balancers.iter().find(|l| l.target_group_arn.as_deref() == Some(tg_arn.as_str())) else {
                continue;
            };
            if let Some(ip) = t.ip {
                registered.push((ip, entry.container_port.unwrap_or_default(), t.service.clone()));
            }
            // bridge/host tasks: instance targets, registered by instance id and host port.
            if let Some(i) = t.instance {
                registered.push((i.ec2_instance_id, i.host_port, t.service.clone()));
            }
        }
        let mut out = DescribeTargetHealthOutput::builder();
        let asked: Vec<(String, Option<i32>)> =
            input.targets().iter().map(|t| (t.id().unwrap_or_default().to_owned(), t.port())).collect();
        let report: Vec<(String, i32, Option<String>)> = if asked.is_empty() {
            registered.iter().map(|(ip, port, svc)| (ip.clone(), *port, Some(svc.clone()))).collect()
        } else {
            asked
                .iter()
                .map(|(id, port)| {
                    let found = registered.iter().find(|(ip, p, _)| ip == id && port.is_none_or(|x| x == *p));
                    (id.clone(), port.unwrap_or_default(), found.map(|(_, _, svc)| svc.clone()))
                })
                .collect()
        };
        for (id, port, service) in report {
            let health = match service {
                Some(svc) if st.targets_healthy(&svc) => {
                    st.noticed(&svc, &[Condition::TargetsHealthy]);
                    TargetHealth::builder().state(TargetHealthStateEnum::Healthy).build()
                }
                Some(_) => TargetHealth::builder()
                    .state(TargetHealthStateEnum::Initial)
                    .reason(TargetHealthReasonEnum::InitialHealthChecking)
                    .build(),
                None => TargetHealth::builder()
                    .state(TargetHealthStateEnum::Unused)
                    .reason(TargetHealthReasonEnum::NotRegistered)
                    .build(),
            };
            out = out.target_health_descriptions(
                TargetHealthDescription::builder()
                    .target(TargetDescription::builder().id(id).port(port).build())
                    .target_health(health)
                    .build(),
            );
        }
        Ok(out.build())
    });

    let describe_certs = answer(acct, "DescribeListenerCertificates", mock!(Client::describe_listener_certificates), |st, input| {
        let Some(l) = listener(st, input.listener_arn().unwrap_or_default()) else {
            return Err(aws_error("ListenerNotFound", LISTENER_NOT_FOUND));
        };
        let cert = |arn: &str, default: bool| {
            aws_sdk_elasticloadbalancingv2::types::Certificate::builder().certificate_arn(arn).is_default(default).build()
        };
        let mut out = DescribeListenerCertificatesOutput::builder();
        if let Some(tls) = &l.tls {
            out = out.set_certificates(Some(
                tls.certificate_arn
                    .iter()
                    .map(|a| cert(a, true))
                    .chain(tls.additional_certificates.iter().map(|a| cert(a, false)))
                    .collect(),
            ));
        }
        Ok(out.build())
    });

    let add_certs = answer(acct, "AddListenerCertificates", mock!(Client::add_listener_certificates), |st, input| {
        let arn = input.listener_arn().unwrap_or_default().to_owned();
        let Some(l) = st.load_balancer.listeners.iter_mut().find(|l| l.arn == arn) else {
            return Err(aws_error("ListenerNotFound", LISTENER_NOT_FOUND));
        };
        let Some(tls) = l.tls.as_mut() else {
            return Err(aws_error("ValidationError", "Certificates can only be added to HTTPS and TLS listeners"));
        };
        for c in input.certificates().iter().filter_map(|c| c.certificate_arn()) {
            // Adding a certificate the listener has is a no-op in ELBv2.
            if tls.certificate_arn.as_deref() != Some(c) && !tls.additional_certificates.iter().any(|a| a == c) {
                tls.additional_certificates.push(c.to_owned());
            }
        }
        tls.additional_certificates.sort();
        let port = l.port.unwrap_or_default();
        st.log.push(format!("AddListenerCertificates {port}"));
        Ok(AddListenerCertificatesOutput::builder().set_certificates(Some(input.certificates().to_vec())).build())
    });

    vec![
        describe_certs,
        add_certs,
        target_health,
        describe_tgs,
        describe_attrs,
        describe_tags,
        create_tg,
        modify_attrs,
        delete_tg,
        describe_lbs,
        describe_listeners,
        describe_rules,
        create_listener,
        delete_listener,
        modify_listener,
    ]
}
