# ---------------------------------------------------------------- the rules that feed it

resource "aws_cloudwatch_event_rule" "events" {
  for_each      = { for k, v in local.patterns : k => v if var.create }
  name          = "${var.name}-${each.key}"
  description   = "ecr-policy-remediator: ${each.key}"
  event_pattern = jsonencode(each.value.pattern)
  state         = each.value.state
  tags          = var.tags
}

resource "aws_cloudwatch_event_rule" "sweep" {
  count               = var.create && var.sweep_interval_minutes != null ? 1 : 0
  name                = "${var.name}-sweep"
  description         = "ecr-policy-remediator: the reconcile sweep"
  schedule_expression = "rate(${var.sweep_interval_minutes} ${var.sweep_interval_minutes == 1 ? "minute" : "minutes"})"
  tags                = var.tags
}

resource "aws_cloudwatch_event_target" "function" {
  for_each = local.rule_arns
  rule     = each.key == "sweep" ? aws_cloudwatch_event_rule.sweep[0].name : aws_cloudwatch_event_rule.events[each.key].name
  arn      = local.function_arn

  retry_policy {
    maximum_event_age_in_seconds = var.event_retry.eventbridge_maximum_event_age_seconds
    maximum_retry_attempts       = var.event_retry.eventbridge_maximum_retry_attempts
  }

  dead_letter_config {
    arn = aws_sqs_queue.eventbridge_dlq[0].arn
  }
}

resource "aws_lambda_permission" "eventbridge" {
  for_each      = local.rule_arns
  statement_id  = "AllowEventBridge-${each.key}"
  action        = "lambda:InvokeFunction"
  function_name = local.function_name
  principal     = "events.amazonaws.com"
  source_arn    = each.value
}

# Forwarded denied pulls from the pulling accounts land on this account's default bus.
resource "aws_cloudwatch_event_permission" "accounts" {
  for_each     = var.create ? toset(var.pulling_account_ids) : []
  principal    = each.value
  statement_id = "${var.name}-${each.value}"
}

resource "aws_cloudwatch_event_permission" "organization" {
  count        = var.create && var.organization_id != null ? 1 : 0
  principal    = "*"
  statement_id = "${var.name}-organization"

  condition {
    key   = "aws:PrincipalOrgID"
    type  = "StringEquals"
    value = var.organization_id
  }
}

