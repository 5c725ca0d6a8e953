//! Elastic Load Balancing v2: target groups, listeners, the load balancer.

use aws_sdk_elasticloadbalancingv2::types as elb;

use super::text;
#[cfg(feature = "test-util")]
use super::{pairs, sdk_enum};
use crate::inventory::{AuthSettings, ForwardSettings, ListenerAction, ListenerInfo, ListenerTls, LoadBalancerInfo, Tags, TargetGroupInfo, WeightedTargetGroup};

/// The target group as DescribeTargetGroups reports it, with its attributes and tags (read
/// by other calls).
pub(crate) fn target_group_from_sdk(tg: &elb::TargetGroup, attributes: Tags, tags: Tags) -> TargetGroupInfo {
    TargetGroupInfo {
        arn: tg.target_group_arn().unwrap_or_default().to_owned(),
        name: tg.target_group_name().unwrap_or_default().to_owned(),
        protocol: text(tg.protocol()),
        protocol_version: tg.protocol_version().map(str::to_owned),
        port: tg.port(),
        vpc_id: tg.vpc_id().map(str::to_owned),
        target_type: text(tg.target_type()),
        ip_address_type: text(tg.ip_address_type()),
        health_check_protocol: text(tg.health_check_protocol()),
        health_check_port: tg.health_check_port().map(str::to_owned),
        health_check_enabled: tg.health_check_enabled(),
        health_check_path: tg.health_check_path().map(str::to_owned),
        health_check_interval_seconds: tg.health_check_interval_seconds(),
        health_check_timeout_seconds: tg.health_check_timeout_seconds(),
        healthy_threshold_count: tg.healthy_threshold_count(),
        unhealthy_threshold_count: tg.unhealthy_threshold_count(),
        matcher_http_code: tg.matcher().and_then(|m| m.http_code()).map(str::to_owned),
        matcher_grpc_code: tg.matcher().and_then(|m| m.grpc_code()).map(str::to_owned),
        load_balancer_arns: tg.load_balancer_arns().to_vec(),
        attributes,
        tags,
    }
}

/// The listener as DescribeListeners reports it, with the rules that forward to the blue
/// target group and its tags (read by other calls).
pub(crate) fn listener_from_sdk(l: &elb::Listener, rules_to_blue: Vec<String>, default_rule_arn: Option<String>, tags: Tags) -> ListenerInfo {
    ListenerInfo {
        arn: l.listener_arn().unwrap_or_default().to_owned(),
        port: l.port(),
        protocol: text(l.protocol()),
        default_forward: forward_targets(l.default_actions()),
        default_actions: l.default_actions().iter().map(action_from_sdk).collect(),
        // Only HTTPS/TLS listeners have TLS settings (moto also reports a policy on HTTP ones).
        tls: matches!(l.protocol().map(|p| p.as_str()), Some("HTTPS" | "TLS")).then(|| ListenerTls {
            ssl_policy: l.ssl_policy().map(str::to_owned),
            certificate_arn: l.certificates().first().and_then(|c| c.certificate_arn()).map(str::to_owned),
            alpn_policy: l.alpn_policy().to_vec(),
            // DescribeListeners names only the default certificate; discovery adds the others.
            additional_certificates: Vec::new(),
        }),
        rules_to_blue,
        default_rule_arn,
        tags,
    }
}

/// The load balancer as DescribeLoadBalancers reports it, with its listeners (read by
/// other calls).
pub(crate) fn load_balancer_from_sdk(lb: &elb::LoadBalancer, listeners: Vec<ListenerInfo>) -> LoadBalancerInfo {
    LoadBalancerInfo {
        arn: lb.load_balancer_arn().unwrap_or_default().to_owned(),
        name: lb.load_balancer_name().unwrap_or_default().to_owned(),
        r#type: text(lb.r#type()).unwrap_or_default(),
        vpc_id: lb.vpc_id().map(str::to_owned),
        listeners,
    }
}

/// The target groups (with weights) a listener's or rule's forward action sends to.
pub(crate) fn forward_targets(actions: &[elb::Action]) -> Vec<WeightedTargetGroup> {
    let Some(fwd) = actions.iter().find(|a| a.r#type() == Some(&elb::ActionTypeEnum::Forward)) else {
        return Vec::new();
    };
    if let Some(cfg) = fwd.forward_config() {
        let tgs: Vec<_> = cfg
            .target_groups()
            .iter()
            .filter_map(|t| {
                Some(WeightedTargetGroup { target_group_arn: t.target_group_arn()?.to_owned(), weight: t.weight().unwrap_or(1) })
            })
            .collect();
        if !tgs.is_empty() {
            return tgs;
        }
    }
    fwd.target_group_arn()
        .map(|a| vec![WeightedTargetGroup { target_group_arn: a.to_owned(), weight: 1 }])
        .unwrap_or_default()
}

/// The SDK target group for `tg` (the inverse of [`target_group_from_sdk`]; attributes and
/// tags go in other answers: [`target_group_attributes_to_sdk`], [`elb_tags_to_sdk`]).
#[cfg(feature = "test-util")]
pub(crate) fn target_group_to_sdk(tg: &TargetGroupInfo) -> elb::TargetGroup {
    elb::TargetGroup::builder()
        .target_group_arn(&tg.arn)
        .target_group_name(&tg.name)
        .set_protocol(sdk_enum(&tg.protocol))
        .set_protocol_version(tg.protocol_version.clone())
        .set_port(tg.port)
        .set_vpc_id(tg.vpc_id.clone())
        .set_target_type(sdk_enum(&tg.target_type))
        .set_ip_address_type(sdk_enum(&tg.ip_address_type))
        .set_health_check_protocol(sdk_enum(&tg.health_check_protocol))
        .set_health_check_port(tg.health_check_port.clone())
        .set_health_check_enabled(tg.health_check_enabled)
        .set_health_check_path(tg.health_check_path.clone())
        .set_health_check_interval_seconds(tg.health_check_interval_seconds)
        .set_health_check_timeout_seconds(tg.health_check_timeout_seconds)
        .set_healthy_threshold_count(tg.healthy_threshold_count)
        .set_unhealthy_threshold_count(tg.unhealthy_threshold_count)
        .set_matcher(
            (tg.matcher_http_code.is_some() || tg.matcher_grpc_code.is_some()).then(|| {
                elb::Matcher::builder().set_http_code(tg.matcher_http_code.clone()).set_grpc_code(tg.matcher_grpc_code.clone()).build()
            }),
        )
        .set_load_balancer_arns(Some(tg.load_balancer_arns.clone()))
        .build()
}

/// The target group a CreateTargetGroup request makes (target type `instance` unless
/// named; AWS's default attributes), read with [`target_group_from_sdk`].
#[cfg(feature = "test-util")]
pub(crate) fn target_group_from_create(
    i: &aws_sdk_elasticloadbalancingv2::operation::create_target_group::CreateTargetGroupInput,
    arn: String,
) -> TargetGroupInfo {
    let tg = elb::TargetGroup::builder()
        .target_group_arn(arn)
        .set_target_group_name(i.name().map(str::to_owned))
        .set_protocol(i.protocol().cloned())
        .set_protocol_version(i.protocol_version().map(str::to_owned))
        .set_port(i.port())
        .set_vpc_id(i.vpc_id().map(str::to_owned))
        .target_type(i.target_type().cloned().unwrap_or(elb::TargetTypeEnum::Instance))
        .set_ip_address_type(i.ip_address_type().cloned())
        .set_health_check_protocol(i.health_check_protocol().cloned())
        .set_health_check_port(i.health_check_port().map(str::to_owned))
        .set_health_check_enabled(i.health_check_enabled())
        .set_health_check_path(i.health_check_path().map(str::to_owned))
        .set_health_check_interval_seconds(i.health_check_interval_seconds())
        .set_health_check_timeout_seconds(i.health_check_timeout_seconds())
        .set_healthy_threshold_count(i.healthy_threshold_count())
        .set_unhealthy_threshold_count(i.unhealthy_threshold_count())
        .set_matcher(i.matcher().cloned())
        .build();
    let attributes = [("deregistration_delay.timeout_seconds", "300"), ("stickiness.enabled", "false")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    target_group_from_sdk(&tg, attributes, pairs(i.tags(), |t| (t.key(), t.value())))
}

/// The SDK attributes DescribeTargetGroupAttributes answers for `attributes`.
#[cfg(feature = "test-util")]
pub(crate) fn target_group_attributes_to_sdk(attributes: &Tags) -> Vec<elb::TargetGroupAttribute> {
    attributes.iter().map(|(k, v)| elb::TargetGroupAttribute::builder().key(k).value(v).build()).collect()
}

/// The SDK listener for `l` on load balancer `lb_arn` (the inverse of [`listener_from_sdk`]):
/// forwarding as `l` says, or a fixed 404 when it forwards nowhere.
#[cfg(feature = "test-util")]
pub(crate) fn listener_to_sdk(l: &ListenerInfo, lb_arn: &str) -> elb::Listener {
    // The kit keeps whole action lists (as AWS does); a hand-built listener may name only its forward.
    if !l.default_actions.is_empty() {
        return elb::Listener::builder()
            .listener_arn(&l.arn)
            .load_balancer_arn(lb_arn)
            .set_port(l.port)
            .set_protocol(sdk_enum(&l.protocol))
            .set_default_actions(Some(actions_to_sdk(&l.default_actions)))
            .set_ssl_policy(l.tls.as_ref().and_then(|t| t.ssl_policy.clone()))
            .set_certificates(tls_certificates(l))
            .set_alpn_policy(l.tls.as_ref().map(|t| t.alpn_policy.clone()).filter(|a| !a.is_empty()))
            .build();
    }
    let action = match l.default_forward.as_slice() {
        [] => elb::Action::builder()
            .r#type(elb::ActionTypeEnum::FixedResponse)
            .fixed_response_config(elb::FixedResponseActionConfig::builder().status_code("404").build())
            .build(),
        targets => forward(targets),
    };
    elb::Listener::builder()
        .listener_arn(&l.arn)
        .load_balancer_arn(lb_arn)
        .set_port(l.port)
        .set_protocol(sdk_enum(&l.protocol))
        .default_actions(action)
        .set_ssl_policy(l.tls.as_ref().and_then(|t| t.ssl_policy.clone()))
        .set_certificates(tls_certificates(l))
        .set_alpn_policy(l.tls.as_ref().map(|t| t.alpn_policy.clone()).filter(|a| !a.is_empty()))
        .build()
}

#[cfg(feature = "test-util")]
fn tls_certificates(l: &ListenerInfo) -> Option<Vec<elb::Certificate>> {
    let arn = l.tls.as_ref()?.certificate_arn.as_ref()?;
    Some(vec![elb::Certificate::builder().certificate_arn(arn).build()])
}

/// The listener a CreateListener request makes, read with [`listener_from_sdk`].
#[cfg(feature = "test-util")]
pub(crate) fn listener_from_create(
    i: &aws_sdk_elasticloadbalancingv2::operation::create_listener::CreateListenerInput,
    arn: String,
) -> ListenerInfo {
    let l = elb::Listener::builder()
        .listener_arn(arn)
        .set_load_balancer_arn(i.load_balancer_arn().map(str::to_owned))
        .port(i.port().unwrap_or_default())
        .set_protocol(i.protocol().cloned())
        .set_default_actions(Some(i.default_actions().to_vec()))
        .set_ssl_policy(i.ssl_policy().map(str::to_owned))
        .set_certificates((!i.certificates().is_empty()).then(|| i.certificates().to_vec()))
        .set_alpn_policy((!i.alpn_policy().is_empty()).then(|| i.alpn_policy().to_vec()))
        .build();
    listener_from_sdk(&l, vec![], None, pairs(i.tags(), |t| (t.key(), t.value())))
}

/// The SDK load balancer for `lb`, internet-facing and active (the inverse of
/// [`load_balancer_from_sdk`]; listeners go in another answer).
#[cfg(feature = "test-util")]
pub(crate) fn load_balancer_to_sdk(lb: &LoadBalancerInfo) -> elb::LoadBalancer {
    elb::LoadBalancer::builder()
        .load_balancer_arn(&lb.arn)
        .load_balancer_name(&lb.name)
        .r#type(elb::LoadBalancerTypeEnum::from(lb.r#type.as_str()))
        .set_vpc_id(lb.vpc_id.clone())
        .scheme(elb::LoadBalancerSchemeEnum::InternetFacing)
        .state(elb::LoadBalancerState::builder().code(elb::LoadBalancerStateEnum::Active).build())
        .build()
}

/// ELBv2 tags for `tags`.
#[cfg(feature = "test-util")]
pub(crate) fn elb_tags_to_sdk(tags: &Tags) -> Vec<elb::Tag> {
    tags.iter().map(|(k, v)| elb::Tag::builder().key(k).value(v).build()).collect()
}

/// A forward action to the given groups (a weighted forward config when there are several).
pub(crate) fn forward(targets: &[WeightedTargetGroup]) -> elb::Action {
    let b = elb::Action::builder().r#type(elb::ActionTypeEnum::Forward);
    match targets {
        [one] => b.target_group_arn(&one.target_group_arn).build(),
        many => b
            .forward_config(
                elb::ForwardActionConfig::builder()
                    .set_target_groups(Some(
                        many.iter()
                            .map(|t| elb::TargetGroupTuple::builder().target_group_arn(&t.target_group_arn).weight(t.weight).build())
                            .collect(),
                    ))
                    .build(),
            )
            .build(),
    }
}


/// An action as [`ListenerAction`]: every field but the OIDC client secret, which AWS never
/// returns (moto does) and which must not reach a plan or journal.
pub(crate) fn action_from_sdk(a: &elb::Action) -> ListenerAction {
    let mut response = Tags::new();
    let mut put = |k: &str, v: Option<&str>| {
        if let Some(v) = v {
            response.insert(k.to_owned(), v.to_owned());
        }
    };
    if let Some(r) = a.redirect_config() {
        put("Protocol", r.protocol());
        put("Port", r.port());
        put("Host", r.host());
        put("Path", r.path());
        put("Query", r.query());
        put("StatusCode", r.status_code().map(|c| c.as_str()));
    }
    if let Some(f) = a.fixed_response_config() {
        put("StatusCode", f.status_code());
        put("MessageBody", f.message_body());
        put("ContentType", f.content_type());
    }
    let auth = |fields: Vec<(&str, Option<&str>)>, timeout: Option<i64>, extra: Option<&std::collections::HashMap<String, String>>| AuthSettings {
        fields: fields.into_iter().filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned()))).collect(),
        session_timeout: timeout,
        extra_params: extra.map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default(),
    };
    ListenerAction {
        r#type: text(a.r#type()).unwrap_or_default(),
        order: a.order(),
        target_group_arn: a.target_group_arn().map(str::to_owned),
        forward_config: a.forward_config().map(|f| ForwardSettings {
            target_groups: f
                .target_groups()
                .iter()
                .filter_map(|t| Some(WeightedTargetGroup { target_group_arn: t.target_group_arn()?.to_owned(), weight: t.weight().unwrap_or(1) }))
                .collect(),
            stickiness_enabled: f.target_group_stickiness_config().and_then(|s| s.enabled()),
            stickiness_duration_seconds: f.target_group_stickiness_config().and_then(|s| s.duration_seconds()),
        }),
        authenticate_oidc: a.authenticate_oidc_config().map(|c| {
            auth(
                vec![
                    ("Issuer", c.issuer()),
                    ("AuthorizationEndpoint", c.authorization_endpoint()),
                    ("TokenEndpoint", c.token_endpoint()),
                    ("UserInfoEndpoint", c.user_info_endpoint()),
                    ("ClientId", c.client_id()),
                    ("SessionCookieName", c.session_cookie_name()),
                    ("Scope", c.scope()),
                    ("OnUnauthenticatedRequest", c.on_unauthenticated_request().map(|b| b.as_str())),
                ],
                c.session_timeout(),
                c.authentication_request_extra_params(),
            )
        }),
        authenticate_cognito: a.authenticate_cognito_config().map(|c| {
            auth(
                vec![
                    ("UserPoolArn", c.user_pool_arn()),
                    ("UserPoolClientId", c.user_pool_client_id()),
                    ("UserPoolDomain", c.user_pool_domain()),
                    ("SessionCookieName", c.session_cookie_name()),
                    ("Scope", c.scope()),
                    ("OnUnauthenticatedRequest", c.on_unauthenticated_request().map(|b| b.as_str())),
                ],
                c.session_timeout(),
                c.authentication_request_extra_params(),
            )
        }),
        response,
    }
}

/// The SDK actions for `actions` (the inverse of [`action_from_sdk`]); an OIDC action is
/// sent with `UseExistingClientSecret`, since the secret is never read back.
pub(crate) fn actions_to_sdk(actions: &[ListenerAction]) -> Vec<elb::Action> {
    actions.iter().map(action_to_sdk).collect()
}

fn action_to_sdk(a: &ListenerAction) -> elb::Action {
    let get = |m: &Tags, k: &str| m.get(k).cloned();
    let extra = |s: &AuthSettings| {
        (!s.extra_params.is_empty()).then(|| s.extra_params.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    };
    let r = &a.response;
    let mut b = elb::Action::builder()
        .r#type(elb::ActionTypeEnum::from(a.r#type.as_str()))
        .set_order(a.order)
        .set_target_group_arn(a.target_group_arn.clone())
        .set_forward_config(a.forward_config.as_ref().map(|f| {
            let sticky = (f.stickiness_enabled.is_some() || f.stickiness_duration_seconds.is_some()).then(|| {
                elb::TargetGroupStickinessConfig::builder()
                    .set_enabled(f.stickiness_enabled)
                    .set_duration_seconds(f.stickiness_duration_seconds)
                    .build()
            });
            elb::ForwardActionConfig::builder()
                .set_target_groups(Some(
                    f.target_groups
                        .iter()
                        .map(|t| elb::TargetGroupTuple::builder().target_group_arn(&t.target_group_arn).weight(t.weight).build())
                        .collect(),
                ))
                .set_target_group_stickiness_config(sticky)
                .build()
        }));
    if let Some(c) = &a.authenticate_oidc {
        let f = &c.fields;
        b = b.authenticate_oidc_config(
            elb::AuthenticateOidcActionConfig::builder()
                .set_issuer(get(f, "Issuer"))
                .set_authorization_endpoint(get(f, "AuthorizationEndpoint"))
                .set_token_endpoint(get(f, "TokenEndpoint"))
                .set_user_info_endpoint(get(f, "UserInfoEndpoint"))
                .set_client_id(get(f, "ClientId"))
                .set_session_cookie_name(get(f, "SessionCookieName"))
                .set_scope(get(f, "Scope"))
                .set_on_unauthenticated_request(get(f, "OnUnauthenticatedRequest").map(|v| v.as_str().into()))
                .set_session_timeout(c.session_timeout)
                .set_authentication_request_extra_params(extra(c))
                .use_existing_client_secret(true)
                .build(),
        );
    }
    if let Some(c) = &a.authenticate_cognito {
        let f = &c.fields;
        b = b.authenticate_cognito_config(
            elb::AuthenticateCognitoActionConfig::builder()
                .set_user_pool_arn(get(f, "UserPoolArn"))
                .set_user_pool_client_id(get(f, "UserPoolClientId"))
                .set_user_pool_domain(get(f, "UserPoolDomain"))
                .set_session_cookie_name(get(f, "SessionCookieName"))
                .set_scope(get(f, "Scope"))
                .set_on_unauthenticated_request(get(f, "OnUnauthenticatedRequest").map(|v| v.as_str().into()))
                .set_session_timeout(c.session_timeout)
                .set_authentication_request_extra_params(extra(c))
                .build(),
        );
    }
    match a.r#type.as_str() {
        "redirect" => {
            b = b.redirect_config(
                elb::RedirectActionConfig::builder()
                    .set_protocol(get(r, "Protocol"))
                    .set_port(get(r, "Port"))
                    .set_host(get(r, "Host"))
                    .set_path(get(r, "Path"))
                    .set_query(get(r, "Query"))
                    .set_status_code(get(r, "StatusCode").map(|v| v.as_str().into()))
                    .build()
            );
        }
        "fixed-response" => {
            b = b.fixed_response_config(
                elb::FixedResponseActionConfig::builder()
                    .set_status_code(get(r, "StatusCode"))
                    .set_message_body(get(r, "MessageBody"))
                    .set_content_type(get(r, "ContentType"))
                    .build()
            );
        }
        _ => {}
    }
    b.build()
}

/// `actions` with the green group added at weight 0 to the forward action, every other action
/// and the forward's stickiness unchanged; `None` when there is no forward or green is already in it.
pub(crate) fn with_green_at_zero(actions: &[ListenerAction], green_arn: &str) -> Option<Vec<ListenerAction>> {
    let mut out = actions.to_vec();
    let fwd = out.iter_mut().find(|a| a.r#type == "forward")?;
    let mut settings = fwd.forward_config.clone().unwrap_or_default();
    if settings.target_groups.is_empty() {
        settings.target_groups = fwd.target_group_arn.iter().map(|a| WeightedTargetGroup { target_group_arn: a.clone(), weight: 1 }).collect();
    }
    if settings.target_groups.iter().any(|t| t.target_group_arn == green_arn) {
        return None;
    }
    settings.target_groups.push(WeightedTargetGroup { target_group_arn: green_arn.to_owned(), weight: 0 });
    // Two groups need the weighted form; AWS refuses TargetGroupArn next to several groups.
    fwd.target_group_arn = None;
    fwd.forward_config = Some(settings);
    Some(out)
}
