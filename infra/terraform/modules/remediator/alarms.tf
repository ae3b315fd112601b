# ---------------------------------------------------------------- alarms

resource "aws_sns_topic" "alarms" {
  count             = var.create && var.create_alarm_topic && var.alarm_topic_arn == null ? 1 : 0
  name              = "${var.name}-alarms"
  kms_master_key_id = coalesce(var.sns_kms_key_arn, "alias/aws/sns")
  tags              = var.tags
}

# Every alarm fires on the first occurrence: each one means a repository may be missing its grant
# or keeping one it should not. The function's own metrics (embedded metric format, namespace
# EcrPolicyRemediator) carry the FunctionName dimension, so two deployments never mix.
locals {
  own_metrics = { FunctionName = local.function_name }
  dlq_name    = try(aws_sqs_queue.eventbridge_dlq[0].name, "")
  failed_name = try(aws_sqs_queue.function_failures[0].name, "")
  alarm_definitions = {
    errors = {
      description = "The remediator returned errors (throttling, 5xx or network errors that outlasted its retries): repositories may be missing their grant. Look at the function's log for the error; the event is retried, then lands in ${local.failed_name}."
      namespace   = "AWS/Lambda"
      metric      = "Errors"
      dimensions  = { FunctionName = local.function_name }
      statistic   = "Sum"
      threshold   = 0
    }
    eventbridge-dlq = {
      description = "Events EventBridge could not deliver to the remediator are waiting in ${local.dlq_name}: check the function's resource policy and concurrency, then run `ecr-policy-remediator reconcile` (or wait for the sweep) and purge the queue."
      namespace   = "AWS/SQS"
      metric      = "ApproximateNumberOfMessagesVisible"
      dimensions  = { QueueName = local.dlq_name }
      statistic   = "Maximum"
      threshold   = 0
    }
    failures = {
      description = "Events the remediator failed after its retries are waiting in ${local.failed_name}: read one, fix the cause the log names, then run `ecr-policy-remediator reconcile`."
      namespace   = "AWS/SQS"
      metric      = "ApproximateNumberOfMessagesVisible"
      dimensions  = { QueueName = local.failed_name }
      statistic   = "Maximum"
      threshold   = 0
    }
    failed-outcomes = {
      description = "An event or a sweep ended with outcome failed (access denied to the function, a policy over 10,240 characters, an unparseable policy, a principal IAM does not know...): Logs Insights `filter message = \"event handled\" and outcome = \"failed\"` names each repository and the reason; fix it, then run `ecr-policy-remediator reconcile`."
      namespace   = "EcrPolicyRemediator"
      metric      = "FailedOutcomes"
      dimensions  = local.own_metrics
      statistic   = "Sum"
      threshold   = 0
    }
    missed-events = {
      description = "The sweep gave grants to repositories older than ten minutes that had none of them: the event path missed them (the first sweep after a new rule counts the repositories it newly covers too). Check in the registry account: a trail recording read and write management events in this region, the module's EventBridge rules enabled and targeting the function, the forwarders in the pulling accounts; `ecr-policy-remediator reconcile --dry-run` shows what is still missing."
      namespace   = "EcrPolicyRemediator"
      metric      = "MissedEvents"
      dimensions  = local.own_metrics
      statistic   = "Sum"
      threshold   = 0
    }
    event-age = {
      description = "Events reached the remediator more than ${var.event_age_alarm_seconds} s after they happened (CloudTrail delivery or retries are slow): pods wait that long for their grant. Check the function's throttles and errors and EventBridge's FailedInvocations for the rules; `ecr-policy-remediator reconcile` makes every repository right at once."
      namespace   = "EcrPolicyRemediator"
      metric      = "EventAgeSeconds"
      dimensions  = local.own_metrics
      statistic   = "Maximum"
      threshold   = var.event_age_alarm_seconds
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each            = { for k, v in local.alarm_definitions : k => v if var.create }
  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = 300
  evaluation_periods  = 1
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}
