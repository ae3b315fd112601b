# ---------------------------------------------------------------- alarms, and who hears them

# Who the alarms notify: the ARNs given (alarm_actions, and alarm_topic_arn from before it existed)
# plus the topic the module creates for alarm_emails (or create_alarm_topic). With none of them the
# alarms still change state in the console, and notify nobody.
locals {
  create_alarm_topic = var.create && (length(var.alarm_emails) > 0 || (var.create_alarm_topic && var.alarm_topic_arn == null))
  # CloudWatch cannot publish to a topic encrypted with the AWS-managed key alias/aws/sns (its key
  # policy cannot grant cloudwatch.amazonaws.com kms:GenerateDataKey, and cannot be changed): the
  # alarm's action fails and the email never comes. Without sns_kms_key_arn the module makes a key
  # CloudWatch may use.
  create_alarm_key = local.create_alarm_topic && var.sns_kms_key_arn == null
  alarm_actions = !var.create ? [] : distinct(concat(
    var.alarm_actions,
    var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn],
    aws_sns_topic.alarms[*].arn,
  ))
}

data "aws_iam_policy_document" "alarm_key" {
  count = local.create_alarm_key ? 1 : 0
  # A key policy's "*" resource is the key itself.
  statement {
    sid       = "AccountAdministersTheKey"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.registry_id}:root"]
    }
  }
  statement {
    sid       = "CloudWatchAlarmsPublishToTheTopic"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
  }
}

resource "aws_kms_key" "alarms" {
  count               = local.create_alarm_key ? 1 : 0
  description         = "${var.name}: the alarm topic (CloudWatch alarms publish to it)"
  enable_key_rotation = true
  policy              = data.aws_iam_policy_document.alarm_key[0].json
  tags                = var.tags
}

resource "aws_sns_topic" "alarms" {
  count             = local.create_alarm_topic ? 1 : 0
  name              = "${var.name}-alarms"
  kms_master_key_id = local.create_alarm_key ? aws_kms_key.alarms[0].arn : var.sns_kms_key_arn
  tags              = var.tags
}

# Each address gets a confirmation email from AWS: nothing reaches it until its owner confirms.
resource "aws_sns_topic_subscription" "alarm_emails" {
  for_each  = local.create_alarm_topic ? toset(var.alarm_emails) : toset([])
  topic_arn = aws_sns_topic.alarms[0].arn
  protocol  = "email"
  endpoint  = each.value
}

# Every alarm fires on the first occurrence: each one means a repository may be missing its grant
# or keeping one it should not. The function's own metrics (embedded metric format, namespace
# EcrPolicyRemediator) carry the FunctionName dimension, so two deployments never mix.
locals {
  own_metrics = { FunctionName = local.function_name }
  dlq_name    = try(aws_sqs_queue.eventbridge_dlq[0].name, "")
  failed_name = try(aws_sqs_queue.function_failures[0].name, "")
  # The sweep's own counts are summed over one sweep period (CloudWatch allows a day at most).
  sweep_period_seconds = min(local.interval_minutes * 60, 86400)
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
    untrusted-grants = {
      description = "A repository policy lets in a principal outside the rules' trust boundary. Run `ecr-policy-remediator access --untrusted` to list each repository and principal; then either add the principal to the rules' `trust` object (it is meant to have access) or switch `trust.mode` to `revoke` (the function then takes such grants away)."
      namespace   = "EcrPolicyRemediator"
      metric      = "UntrustedGrants"
      dimensions  = local.own_metrics
      statistic   = "Sum"
      threshold   = 0
      period      = local.sweep_period_seconds
    }
    pull-through-cache-failures = {
      description = "A pull-through cache rule failed to sync from its upstream registry (ECR Pull Through Cache Action with a failed sync-status): pulls of images it has not cached yet fail. Read the function's WARN lines \"pull-through cache sync failed\" (Logs Insights `filter message = \"pull-through cache sync failed\"`) for the repository, failure-code and failure-reason; then check the rule's credentials secret (Secrets Manager, ecr-pullthroughcache/ prefix) and its upstream URL (`aws ecr describe-pull-through-cache-rules`)."
      namespace   = "EcrPolicyRemediator"
      metric      = "PullThroughCacheFailures"
      dimensions  = local.own_metrics
      statistic   = "Sum"
      threshold   = 0
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
  period              = try(each.value.period, 300)
  evaluation_periods  = 1
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags

  lifecycle {
    precondition {
      condition     = length(local.alarm_actions) <= 5
      error_message = "The alarms would have ${length(local.alarm_actions)} actions (alarm_actions, alarm_topic_arn and the topic for alarm_emails); CloudWatch allows 5."
    }
  }
}
