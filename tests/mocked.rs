//! The handler's ECR paths that moto cannot produce (throttling, server errors, IAM's "Principal
//! not found", a stored policy that does not parse), with aws-smithy-mocks. Each test checks the
//! requests it expects, and that nothing else was sent.

use aws_sdk_ecr::config::retry::RetryConfig;
use aws_sdk_ecr::operation::create_repository::CreateRepositoryOutput;
use aws_sdk_ecr::operation::get_repository_policy::{
    GetRepositoryPolicyError, GetRepositoryPolicyOutput,
};
use aws_sdk_ecr::operation::set_repository_policy::{
    SetRepositoryPolicyError, SetRepositoryPolicyOutput,
};
use aws_sdk_ecr::types::error::{
    InvalidParameterException, RepositoryNotFoundException, RepositoryPolicyNotFoundException,
};
use aws_sdk_ecr::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use ecr_policy_remediator::Config;
use ecr_policy_remediator::SdkEcr;
use ecr_policy_remediator::{Remediator, Status};
use serde_json::Value;
use std::sync::Arc;

const CONFIG: &str = r#"{"rules":[{"name":"team-a","repositories":["team-a/*"],
  "principals":{"roles":["arn:aws:iam::222222222222:role/eks-node-role"]},"createOnDeniedPull":true}]}"#;

fn event(name: &str) -> Value {
    let path = format!("{}/events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn remediator(client: Client) -> Remediator {
    Remediator::new(
        Config::from_json(CONFIG).unwrap(),
        Arc::new(SdkEcr::new(client)),
        "111111111111".into(),
        "us-east-1".into(),
    )
}

fn error_response(status: u16, code: &str, message: &str) -> HttpResponse {
    HttpResponse::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(format!(r#"{{"__type":"{code}","message":"{message}"}}"#)),
    )
}

macro_rules! client {
    ($($rule:expr),*) => {
        mock_client!(aws_sdk_ecr, RuleMode::MatchAny, [$($rule),*], |c| c
            .retry_config(RetryConfig::disabled()))
    };
}

fn no_policy() -> aws_smithy_mocks::Rule {
    mock!(Client::get_repository_policy)
        .match_requests(|r| {
            r.registry_id() == Some("111111111111")
                && r.repository_name() == Some("team-a/payments-api")
        })
        .then_error(|| {
            GetRepositoryPolicyError::RepositoryPolicyNotFoundException(
                RepositoryPolicyNotFoundException::builder().build(),
            )
        })
}

#[tokio::test]
async fn throttling_on_write_is_returned_as_retryable() {
    let get = no_policy();
    let set = mock!(Client::set_repository_policy)
        .match_requests(|r| {
            r.registry_id() == Some("111111111111")
                && r.repository_name() == Some("team-a/payments-api")
                && r.policy_text()
                    .is_some_and(|t| t.contains("EcrPolicyRemediator-team-a-Principals"))
                && r.force().is_none()
        })
        .then_http_response(|| error_response(400, "ThrottlingException", "Rate exceeded"));
    let r = remediator(client!(&get, &set));
    let err = r
        .handle(&event("create-repository-api.json"), None)
        .await
        .unwrap_err();
    assert_eq!(err.outcome.status, Status::Failed);
    assert!(
        err.outcome.reason.as_deref().unwrap().contains("retryable"),
        "{err}"
    );
    assert!(err.source.as_ref().is_some_and(|e| e.is_retryable()));
    assert_eq!((get.num_calls(), set.num_calls()), (1, 1));
}

#[tokio::test]
async fn a_server_error_on_read_is_retryable_and_nothing_is_written() {
    let get = mock!(Client::get_repository_policy)
        .then_http_response(|| error_response(500, "ServerException", "internal"));
    let set = mock!(Client::set_repository_policy)
        .then_output(|| SetRepositoryPolicyOutput::builder().build());
    let r = remediator(client!(&get, &set));
    let err = r
        .handle(&event("create-repository-api.json"), None)
        .await
        .unwrap_err();
    assert!(
        err.source.as_ref().is_some_and(|e| e.is_retryable()),
        "{err}"
    );
    assert_eq!((get.num_calls(), set.num_calls()), (1, 0));
}

const TWO_RULES: &str = r#"{"rules":[
  {"name":"team-a","repositories":["team-a/*"],"principals":{"roles":["arn:aws:iam::222222222222:role/eks-node-role"]}},
  {"name":"audit","repositories":["team-a/*"],"principals":{"accounts":["333333333333"]}}]}"#;

fn principal_not_found() -> SetRepositoryPolicyError {
    SetRepositoryPolicyError::InvalidParameterException(
        InvalidParameterException::builder()
            .message("Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Principal not found'")
            .build(),
    )
}

/// The API-creation sample, `age_seconds` old.
fn creation_event(age_seconds: u64) -> Value {
    let mut event = event("create-repository-api.json");
    let at = std::time::SystemTime::now() - std::time::Duration::from_secs(age_seconds);
    let at = aws_smithy_types::DateTime::from(at)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap();
    event["time"] = Value::String(at);
    event
}

/// A rule naming a role IAM does not know: the role's statement is refused, the other rule's
/// lands. Returns the two write mocks: refused, accepted.
fn isolation_mocks() -> (aws_smithy_mocks::Rule, aws_smithy_mocks::Rule) {
    let refused = mock!(Client::set_repository_policy)
        .match_requests(|r| {
            r.policy_text()
                .is_some_and(|t| t.contains("role/eks-node-role"))
        })
        .then_error(principal_not_found);
    let accepted = mock!(Client::set_repository_policy)
        .match_requests(|r| {
            r.policy_text().is_some_and(|t| {
                t.contains("EcrPolicyRemediator-audit-Principals")
                    && !t.contains("EcrPolicyRemediator-team-a-Principals")
            }) && r.force().is_none()
        })
        .then_output(|| SetRepositoryPolicyOutput::builder().build());
    (refused, accepted)
}

fn with_two_rules(client: Client) -> Remediator {
    Remediator::new(
        Config::from_json(TWO_RULES).unwrap(),
        Arc::new(SdkEcr::new(client)),
        "111111111111".into(),
        "us-east-1".into(),
    )
}

#[tokio::test]
async fn an_unknown_principal_fails_its_rule_alone_and_the_other_rules_land() {
    let (get, (refused, accepted)) = (no_policy(), isolation_mocks());
    let r = with_two_rules(client!(&get, &refused, &accepted));
    // An old event: IAM has had all the time it needs, so no retry.
    let out = r
        .handle(&creation_event(3600), None)
        .await
        .expect("no retry");
    assert_eq!(out.status, Status::Failed, "{out:?}");
    let reason = out.reason.as_deref().unwrap();
    assert!(
        reason.contains("rule team-a")
            && reason.contains("arn:aws:iam::222222222222:role/eks-node-role"),
        "{reason}"
    );
    assert!(
        reason.contains("other rules' statements were written"),
        "{reason}"
    );
    // The full policy, then the role's rule added to the other's, both refused; then the
    // other rule's statement alone, accepted.
    assert_eq!(
        (get.num_calls(), refused.num_calls(), accepted.num_calls()),
        (1, 2, 1)
    );
}

#[tokio::test]
async fn an_unknown_principal_is_retried_only_while_the_event_is_young() {
    let (get, (refused, accepted)) = (no_policy(), isolation_mocks());
    let r = with_two_rules(client!(&get, &refused, &accepted));
    let err = r
        .handle(&creation_event(30), None)
        .await
        .expect_err("a young event is retried");
    assert!(
        err.to_string()
            .contains("retryable while IAM may still be propagating"),
        "{err}"
    );
    assert_eq!(
        accepted.num_calls(),
        1,
        "the other rule landed before the retry"
    );
}

#[tokio::test]
async fn any_other_invalid_parameter_fails_without_retry() {
    let get = no_policy();
    let set = mock!(Client::set_repository_policy).then_error(|| {
        SetRepositoryPolicyError::InvalidParameterException(
            InvalidParameterException::builder()
                .message("Invalid repository policy provided")
                .build(),
        )
    });
    let r = remediator(client!(&get, &set));
    let out = r
        .handle(&event("create-repository-api.json"), None)
        .await
        .expect("not retryable");
    assert_eq!(out.status, Status::Failed);
    assert!(
        out.reason
            .as_deref()
            .unwrap()
            .contains("Invalid repository policy"),
        "{out:?}"
    );
}

#[tokio::test]
async fn a_stored_policy_that_does_not_parse_is_never_overwritten() {
    let get = mock!(Client::get_repository_policy).then_output(|| {
        GetRepositoryPolicyOutput::builder()
            .policy_text("{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":")
            .build()
    });
    let set = mock!(Client::set_repository_policy)
        .then_output(|| SetRepositoryPolicyOutput::builder().build());
    let r = remediator(client!(&get, &set));
    let out = r
        .handle(&event("create-repository-api.json"), None)
        .await
        .unwrap();
    assert_eq!(out.status, Status::Failed);
    assert!(
        out.reason.as_deref().unwrap().contains("cannot be parsed"),
        "{out:?}"
    );
    assert_eq!((get.num_calls(), set.num_calls()), (1, 0));
}

#[tokio::test]
async fn creation_on_a_denied_pull_creates_in_our_registry_then_attaches_the_policy() {
    // Before the creation the repository does not exist; after it, it has no policy.
    let get = mock!(Client::get_repository_policy)
        .match_requests(|r| r.repository_name() == Some("team-a/checkout"))
        .sequence()
        .error(|| {
            GetRepositoryPolicyError::RepositoryNotFoundException(
                RepositoryNotFoundException::builder().build(),
            )
        })
        .error(|| {
            GetRepositoryPolicyError::RepositoryPolicyNotFoundException(
                RepositoryPolicyNotFoundException::builder().build(),
            )
        })
        .build();
    let create = mock!(Client::create_repository)
        .match_requests(|r| {
            r.registry_id() == Some("111111111111")
                && r.repository_name() == Some("team-a/checkout")
        })
        .then_output(|| CreateRepositoryOutput::builder().build());
    let set = mock!(Client::set_repository_policy)
        .match_requests(|r| {
            r.repository_name() == Some("team-a/checkout")
                && r.policy_text()
                    .is_some_and(|t| t.contains("arn:aws:iam::222222222222:role/eks-node-role"))
        })
        .then_output(|| SetRepositoryPolicyOutput::builder().build());
    let r = remediator(client!(&get, &create, &set));
    let out = r
        .handle(&event("pull-denied-repository-not-found.json"), None)
        .await
        .unwrap();
    assert_eq!(out.status, Status::Created, "{out:?}");
    assert_eq!(
        (get.num_calls(), create.num_calls(), set.num_calls()),
        (2, 1, 1)
    );
}

#[tokio::test]
async fn throttling_slows_a_sweep_down_but_never_fails_it() {
    use aws_sdk_ecr::operation::describe_repositories::DescribeRepositoriesOutput;
    use aws_sdk_ecr::types::Repository;
    use ecr_policy_remediator::{NoObserver, SweepOptions};

    let list = mock!(Client::describe_repositories)
        .match_requests(|r| {
            r.max_results() == Some(1000) && r.registry_id() == Some("111111111111")
        })
        .then_output(|| {
            DescribeRepositoriesOutput::builder()
                .repositories(Repository::builder().repository_name("team-a/one").build())
                .repositories(Repository::builder().repository_name("team-a/two").build())
                .repositories(Repository::builder().repository_name("other/three").build())
                .build()
        });
    let throttled = mock!(Client::get_repository_policy)
        .match_requests(|r| r.repository_name() == Some("team-a/one"))
        .sequence()
        .http_response(|| error_response(400, "ThrottlingException", "Rate exceeded"))
        .error(|| {
            GetRepositoryPolicyError::RepositoryPolicyNotFoundException(
                RepositoryPolicyNotFoundException::builder().build(),
            )
        })
        .build();
    let other = mock!(Client::get_repository_policy)
        .match_requests(|r| r.repository_name() == Some("team-a/two"))
        .then_error(|| {
            GetRepositoryPolicyError::RepositoryPolicyNotFoundException(
                RepositoryPolicyNotFoundException::builder().build(),
            )
        });
    let set = mock!(Client::set_repository_policy)
        .match_requests(|r| {
            r.repository_name()
                .is_some_and(|n| n.starts_with("team-a/"))
        })
        .then_output(|| SetRepositoryPolicyOutput::builder().build());
    let unmatched = mock!(Client::get_repository_policy)
        .match_requests(|r| r.repository_name() == Some("other/three"))
        .then_error(|| {
            GetRepositoryPolicyError::RepositoryPolicyNotFoundException(
                RepositoryPolicyNotFoundException::builder().build(),
            )
        });
    // The registry's own documents: one read each, nothing there, nothing wanted.
    let registry = mock!(Client::get_registry_policy).then_error(|| {
        aws_sdk_ecr::operation::get_registry_policy::GetRegistryPolicyError::RegistryPolicyNotFoundException(
            aws_sdk_ecr::types::error::RegistryPolicyNotFoundException::builder().build(),
        )
    });
    let templates = mock!(Client::describe_repository_creation_templates).then_output(|| {
        aws_sdk_ecr::operation::describe_repository_creation_templates::DescribeRepositoryCreationTemplatesOutput::builder().build()
    });
    let r = remediator(client!(
        &list, &throttled, &other, &unmatched, &set, &registry, &templates
    ));
    let opts = SweepOptions {
        requests_per_second: 1000.0,
        ..SweepOptions::from(&r.config().sweep)
    };
    let report = r.sweep(&opts, &NoObserver).await.unwrap();
    assert_eq!((report.listed, report.matching), (3, 2));
    assert_eq!(
        (
            report.checked,
            report.applied,
            report.unchanged,
            report.failed
        ),
        (3, 2, 1, 0),
        "{report:?}"
    );
    assert!(report.complete);
    assert_eq!(list.num_calls(), 1);
    assert_eq!(throttled.num_calls(), 2, "throttled once, then tried again");
    assert_eq!(
        (other.num_calls(), unmatched.num_calls(), set.num_calls()),
        (1, 1, 2)
    );
}

#[tokio::test]
async fn the_sweep_follows_every_listing_page_asking_for_1000_at_a_time() {
    use aws_sdk_ecr::operation::describe_repositories::DescribeRepositoriesOutput;
    use aws_sdk_ecr::types::Repository;

    // moto ignores maxResults and nextToken, so the paging is checked here.
    let page = |names: &[&str], next: Option<&str>| {
        let mut out =
            DescribeRepositoriesOutput::builder().set_next_token(next.map(str::to_string));
        for n in names {
            out = out.repositories(Repository::builder().repository_name(*n).build());
        }
        out.build()
    };
    let first = page(&["team-a/one", "other/x"], Some("page-2"));
    let second = page(&["team-a/two"], Some("page-3"));
    let third = page(&["team-a/three"], None);
    let p1 = mock!(Client::describe_repositories)
        .match_requests(|r| r.next_token().is_none() && r.max_results() == Some(1000))
        .then_output(move || first.clone());
    let p2 = mock!(Client::describe_repositories)
        .match_requests(|r| r.next_token() == Some("page-2") && r.max_results() == Some(1000))
        .then_output(move || second.clone());
    let p3 = mock!(Client::describe_repositories)
        .match_requests(|r| r.next_token() == Some("page-3") && r.max_results() == Some(1000))
        .then_output(move || third.clone());
    let r = remediator(client!(&p1, &p2, &p3));
    let listing = r.list().await.unwrap();
    assert_eq!(
        listing.names,
        ["other/x", "team-a/one", "team-a/three", "team-a/two"]
    );
    assert_eq!(listing.matching, 3);
    assert_eq!((p1.num_calls(), p2.num_calls(), p3.num_calls()), (1, 1, 1));
}

#[tokio::test]
async fn a_throttled_registry_policy_write_is_retried_by_lambda_and_nothing_else_is_written() {
    use aws_sdk_ecr::operation::describe_pull_through_cache_rules::DescribePullThroughCacheRulesOutput;
    use aws_sdk_ecr::operation::describe_repository_creation_templates::DescribeRepositoryCreationTemplatesOutput;
    use aws_sdk_ecr::operation::get_registry_policy::GetRegistryPolicyError;
    use aws_sdk_ecr::types::error::RegistryPolicyNotFoundException;

    const PTC: &str = r#"{"rules":[{"name":"k8s","repositories":["registry.k8s.io/*"],
      "principals":{"accounts":["222222222222"]},"pullThroughCache":true}]}"#;
    let get = mock!(Client::get_registry_policy).then_error(|| {
        GetRegistryPolicyError::RegistryPolicyNotFoundException(
            RegistryPolicyNotFoundException::builder().build(),
        )
    });
    let put = mock!(Client::put_registry_policy)
        .match_requests(|r| {
            r.policy_text().is_some_and(|t| {
                t.contains("EcrPolicyRemediatorD00Rk8sPullThroughCachePrincipals")
                    && t.contains("arn:aws:ecr:us-east-1:111111111111:repository/registry.k8s.io/*")
            })
        })
        .then_http_response(|| error_response(400, "ThrottlingException", "Rate exceeded"));
    let rules = mock!(Client::describe_pull_through_cache_rules)
        .then_output(|| DescribePullThroughCacheRulesOutput::builder().build());
    let templates = mock!(Client::describe_repository_creation_templates)
        .then_output(|| DescribeRepositoryCreationTemplatesOutput::builder().build());
    let r = Remediator::new(
        Config::from_json(PTC).unwrap(),
        Arc::new(SdkEcr::new(client!(&get, &put, &rules, &templates))),
        "111111111111".into(),
        "us-east-1".into(),
    );
    let err = r
        .handle(&event("registry-policy-changed.json"), None)
        .await
        .expect_err("throttling is for Lambda to retry");
    assert!(err.to_string().contains("registry policy"), "{err}");
    assert_eq!(
        err.outcome.documents.len(),
        1,
        "{:?}",
        err.outcome.documents
    );
    assert_eq!((get.num_calls(), put.num_calls()), (1, 1));
    assert_eq!(templates.num_calls(), 1);
}
