//! The account's fault injection and call recording for SDK clients it does not answer.

use std::fmt;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    AfterDeserializationInterceptorContextRef, BeforeDeserializationInterceptorContextMut, BeforeSerializationInterceptorContextRef,
    BeforeTransmitInterceptorContextMut, FinalizerInterceptorContextMut,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpResponse, Metadata};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::client::ser_de::{DeserializeResponse, SharedResponseDeserializer};
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

use super::account::{Shared, injected_timeout};
use super::faults::{InjectedError, Verdict};

/// Attaches a [`MockAccount`](super::MockAccount)'s faults and call recording to an SDK client
/// the account does not answer: [`MockAccount::interceptor`](super::MockAccount::interceptor).
///
/// Every call through the client is recorded in [`MockAccount::calls`](super::MockAccount::calls)
/// under its operation name (and counted by [`Fault::nth_mutation`](super::Fault::nth_mutation)
/// when it mutates), and an armed [`Fault`](super::Fault) naming it fires:
/// - an AWS error ([`InjectedError::Throttling`], [`InjectedError::aws`], ...): the client
///   returns the operation's error with that code and message, parsed from an error answer in
///   the client's own protocol as the service would send it (modeled variants included, e.g.
///   `is_client_exception()`). The request still reaches the client's HTTP client, whose
///   answer is replaced: with [`MockAccount::sdk_config`](super::MockAccount::sdk_config)'s
///   mock HTTP client, nowhere;
/// - [`InjectedError::Timeout`]: the request is not sent; the client sees a timeout;
/// - [`InjectedError::ResponseLost`]: the request is sent, its answer replaced by a timeout.
///
/// The protocol is told by the request's content type: query/XML (ELBv2, IAM, ...) or JSON
/// (ECS, CodeDeploy, most others). Clients of S3 (unwrapped XML errors) or of CBOR services
/// get an error without the code.
///
/// Add it to clients the account does not answer, not to
/// [`MockAccount::clients`](super::MockAccount::clients) (the account records those calls
/// already: they would count twice), and after any `aws-smithy-mocks` interceptor of the
/// client, so the fault wins over the rule's answer.
#[derive(Clone)]
pub struct AccountInterceptor {
    inner: Shared,
}

impl fmt::Debug for AccountInterceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountInterceptor").finish_non_exhaustive()
    }
}

impl AccountInterceptor {
    pub(crate) fn new(inner: Shared) -> Self {
        Self { inner }
    }
}

/// The fault decided for the call being made, kept for its attempts.
#[derive(Debug, Clone)]
struct Planned {
    operation: String,
    error: InjectedError,
    /// Whether the client speaks the query protocol (known before transmit).
    query_protocol: bool,
}

impl Planned {
    /// Whether the fault is a timeout rather than an AWS error.
    fn times_out(&self) -> bool {
        matches!(self.error, InjectedError::Timeout | InjectedError::ResponseLost | InjectedError::LostAnswer)
    }

    /// The service's error answer.
    fn error_response(&self) -> HttpResponse {
        let (code, message) = self.error.code_and_message_in(&self.operation, self.query_protocol);
        error_response(&code, &message, self.query_protocol)
    }
}

impl Storable for Planned {
    type Storer = StoreReplace<Self>;
}

/// Marks an attempt whose answer the client deserialized (so an operation error may replace it).
#[derive(Debug, Clone, Copy)]
struct Deserialized;

impl Storable for Deserialized {
    type Storer = StoreReplace<Self>;
}

impl Intercept for AccountInterceptor {
    fn name(&self) -> &'static str {
        "MockAccountInterceptor"
    }

    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(operation) = cfg.load::<Metadata>().map(|m| m.name().to_owned()) else { return Ok(()) };
        // `Input(TypeErasedBox[!Clone]:FooInput { .. })`: keep what the input's own Debug prints,
        // as the account records the calls it answers.
        let shown = format!("{:?}", context.input());
        let input = shown
            .strip_prefix("Input(TypeErasedBox[")
            .and_then(|s| s.strip_suffix(')'))
            .and_then(|s| s.split_once("]:"))
            .map_or_else(|| shown.clone(), |(_, input)| input.to_owned());
        let (st, verdict) = self.inner.admit(&operation, input);
        drop(st);
        let error = match verdict {
            Verdict::Proceed => return Ok(()),
            // Through the interceptor the call is the client's own: a lost answer becomes a
            // timeout, and the client's own retry (if on) sends the call again.
            Verdict::Fail(error) | Verdict::Lose { error, .. } | Verdict::Retried(error) => error,
        };
        cfg.interceptor_state().store_put(Planned { operation, error, query_protocol: false });
        Ok(())
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(mut planned) = cfg.load::<Planned>().cloned() else { return Ok(()) };
        let content_type = context.request().headers().get("content-type").unwrap_or_default();
        planned.query_protocol = content_type.contains("x-www-form-urlencoded") || content_type.contains("xml");
        let not_sent = planned.error == InjectedError::Timeout;
        cfg.interceptor_state().store_put(planned);
        // A timeout before the request reached the service: stop here (the answer becomes a
        // timeout when the attempt completes).
        if not_sent { Err("injected fault: the request timed out before it was sent".into()) } else { Ok(()) }
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(planned) = cfg.load::<Planned>().filter(|p| !p.times_out()) {
            *context.response_mut() = planned.error_response();
        }
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        _context: &AfterDeserializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state().store_put(Deserialized);
        Ok(())
    }

    fn modify_before_attempt_completion(
        &self,
        context: &mut FinalizerInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(planned) = cfg.load::<Planned>().cloned() else { return Ok(()) };
        if planned.times_out() {
            context.inner_mut().set_output_or_error(Err(injected_timeout()));
        } else if cfg.load::<Deserialized>().is_some() {
            // The client parsed the error answer already; parse it again in case an interceptor
            // before this one (an aws-smithy-mocks rule) put its own answer in its place.
            let cfg: &ConfigBag = cfg;
            if let Some(deserializer) = cfg.load::<SharedResponseDeserializer>() {
                let outcome = deserializer.deserialize_nonstreaming_with_config(&planned.error_response(), cfg);
                context.inner_mut().set_output_or_error(outcome);
            }
        }
        Ok(())
    }
}

/// The HTTP answer a service gives with an error `code`: query/XML or JSON.
fn error_response(code: &str, message: &str, query_protocol: bool) -> HttpResponse {
    let (content_type, body) = if query_protocol {
        let escape = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
        let body = format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>{}</Code><Message>{}</Message></Error>\
             <RequestId>mock-account</RequestId></ErrorResponse>",
            escape(code),
            escape(message)
        );
        ("text/xml", body)
    } else {
        ("application/x-amz-json-1.1", serde_json::json!({ "__type": code, "message": message }).to_string())
    };
    let mut response = HttpResponse::new(StatusCode::try_from(400).expect("400 is a status"), SdkBody::from(body));
    response.headers_mut().insert("content-type", content_type);
    if !query_protocol {
        response.headers_mut().insert("x-amzn-errortype", code.to_owned());
    }
    response
}
