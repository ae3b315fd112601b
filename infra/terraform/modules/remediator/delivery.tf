# ---------------------------------------------------------------- delivery you can trust

locals {
  # SQS-managed encryption unless a customer key is given.
  sqs_managed_sse = var.sqs_kms_key_arn == null
}

resource "aws_sqs_queue" "eventbridge_dlq" {
  count                     = var.create ? 1 : 0
  name                      = "${var.name}-eventbridge-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = local.sqs_managed_sse ? true : null
  kms_master_key_id         = var.sqs_kms_key_arn
  tags                      = var.tags
}

data "aws_iam_policy_document" "eventbridge_dlq" {
  count = var.create ? 1 : 0
  statement {
    sid       = "EventBridgeRulesOfThisModule"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.eventbridge_dlq[0].arn]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = values(local.rule_arns)
    }
  }
}

resource "aws_sqs_queue_policy" "eventbridge_dlq" {
  count     = var.create ? 1 : 0
  queue_url = aws_sqs_queue.eventbridge_dlq[0].id
  policy    = data.aws_iam_policy_document.eventbridge_dlq[0].json
}

resource "aws_sqs_queue" "function_failures" {
  count                     = var.create ? 1 : 0
  name                      = "${var.name}-failures"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = local.sqs_managed_sse ? true : null
  kms_master_key_id         = var.sqs_kms_key_arn
  tags                      = var.tags
}

resource "aws_lambda_function_event_invoke_config" "this" {
  count                        = var.create ? 1 : 0
  function_name                = local.function_name
  maximum_event_age_in_seconds = var.event_retry.lambda_maximum_event_age_seconds
  maximum_retry_attempts       = var.event_retry.lambda_maximum_retry_attempts

  destination_config {
    on_failure {
      destination = aws_sqs_queue.function_failures[0].arn
    }
  }
  depends_on = [aws_iam_role_policy.function]
}
