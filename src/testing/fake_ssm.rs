//! SSM Parameter Store in the mock account, as far as the run lock uses it: a parameter is
//! created only if absent unless `Overwrite` is set (AWS answers `ParameterAlreadyExists`),
//! read, and deleted (`ParameterNotFound` when absent).

use aws_sdk_ssm::Client;
use aws_sdk_ssm::operation::delete_parameter::DeleteParameterOutput;
use aws_sdk_ssm::operation::get_parameter::GetParameterOutput;
use aws_sdk_ssm::operation::put_parameter::PutParameterOutput;
use aws_sdk_ssm::types::{Parameter, ParameterType};
use aws_smithy_mocks::mock;

use super::account::{Answer, Shared, answer, aws_error};

fn not_found(name: &str) -> String {
    format!("Parameter {name} not found.")
}

pub(crate) fn rules(acct: &Shared) -> Vec<Answer> {
    let put = answer(acct, "PutParameter", mock!(Client::put_parameter), |st, input| {
        let name = input.name().unwrap_or_default().to_owned();
        let Some(value) = input.value() else {
            return Err(aws_error("ValidationException", "1 validation error detected: Value must not be null"));
        };
        if st.parameters.contains_key(&name) && !input.overwrite().unwrap_or(false) {
            return Err(aws_error(
                "ParameterAlreadyExists",
                "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.",
            ));
        }
        st.parameters.insert(name.clone(), value.to_owned());
        st.log.push(format!("PutParameter {name}"));
        Ok(PutParameterOutput::builder().version(1).build())
    });
    let get = answer(acct, "GetParameter", mock!(Client::get_parameter), |st, input| {
        let name = input.name().unwrap_or_default();
        match st.parameters.get(name) {
            Some(v) => Ok(GetParameterOutput::builder()
                .parameter(Parameter::builder().name(name).value(v.clone()).r#type(ParameterType::String).version(1).build())
                .build()),
            None => Err(aws_error("ParameterNotFound", &not_found(name))),
        }
    });
    let delete = answer(acct, "DeleteParameter", mock!(Client::delete_parameter), |st, input| {
        let name = input.name().unwrap_or_default().to_owned();
        if st.parameters.remove(&name).is_none() {
            return Err(aws_error("ParameterNotFound", &not_found(&name)));
        }
        st.log.push(format!("DeleteParameter {name}"));
        Ok(DeleteParameterOutput::builder().build())
    });
    vec![put, get, delete]
}
