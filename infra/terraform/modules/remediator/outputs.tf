output "function_name" {
  description = "Name of the remediator function."
  value       = local.function_name
}

output "function_arn" {
  description = "ARN of the remediator function."
  value       = local.function_arn
}

output "role_name" {
  description = "Name of the function's execution role (the module's, or the one cargo-lambda created)."
  value       = local.role_name
}

output "rule_arns" {
  description = "EventBridge rules by purpose: repository-created, pull-denied, policy-changed, registry-changed, image-pushed, image-replicated, pull-through-cache, sweep."
  value       = local.rule_arns
}

output "eventbridge_dead_letter_queue_url" {
  description = "Events EventBridge could not deliver to the function."
  value       = try(aws_sqs_queue.eventbridge_dlq[0].url, null)
}

output "failure_queue_url" {
  description = "Invocations that failed after the function's asynchronous retries."
  value       = try(aws_sqs_queue.function_failures[0].url, null)
}

output "alarm_topic_arn" {
  description = "The SNS topic the module created for the alarms (alarm_emails, create_alarm_topic), else alarm_topic_arn; null if neither."
  value       = try(aws_sns_topic.alarms[0].arn, var.alarm_topic_arn)
}

output "alarm_actions" {
  description = "Every ARN the alarms notify, when they fire and when they recover; empty means they notify nobody."
  value       = local.alarm_actions
}

output "config_json" {
  description = "The function's configuration as JSON, as the module hands it to the function (with config_file: that file, its sweep period set from sweep_interval_minutes)."
  value       = local.config_json
}

output "registry_id" {
  description = "The registry (account) the function manages."
  value       = local.registry_id
}

output "role_arn" {
  description = "ARN of the function's execution role (the module's, when it creates the function)."
  value       = var.create && local.create_function ? aws_iam_role.function[0].arn : null
}

output "alarm_names" {
  description = "The alarms, by purpose: errors, eventbridge-dlq, failures, failed-outcomes, missed-events, event-age, untrusted-grants, pull-through-cache-failures."
  value       = { for k, a in aws_cloudwatch_metric_alarm.this : k => a.alarm_name }
}
