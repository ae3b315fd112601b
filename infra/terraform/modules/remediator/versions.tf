terraform {
  required_version = ">= 1.9.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # Tested with 5.100 (infra/tests/check_infra.py; the only version installable offline).
      # Provider 6 was checked against its "Version 6 Upgrade Guide" for everything this module
      # uses: resources aws_cloudwatch_event_permission, _event_rule, _event_target,
      # aws_cloudwatch_log_group, aws_cloudwatch_metric_alarm, aws_iam_role, aws_iam_role_policy,
      # aws_kms_key, aws_lambda_function, aws_lambda_function_event_invoke_config,
      # aws_lambda_permission, aws_sns_topic, aws_sns_topic_subscription, aws_sqs_queue,
      # aws_sqs_queue_policy; data sources aws_caller_identity, aws_iam_policy_document,
      # aws_lambda_function, aws_partition, aws_region. None of them is removed or renamed, and no
      # argument set here is (the guide's "Nullable Boolean Validation Update" table names none of
      # them). The one item that applies: "Data Source aws_region: name has been deprecated. Use
      # region instead"; region does not exist in 5.100, so the module reads id, which both
      # versions set to the region's name. "Enhanced Region Support" adds an optional region
      # argument to most resources: the module sets none, so everything stays in the provider's
      # region, as in 5.x. The removed provider arguments (endpoints.opsworks, simpledb, sdb,
      # worklink) are not used.
      version = ">= 5.100, < 7.0"
    }
  }
}
