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
  description = "EventBridge rules by purpose: repository-created, pull-denied, policy-changed, sweep."
  value       = local.rule_arns
}

output "eventbridge_dead_letter_queue_url" {
  description = "Events EventBridge could not deliver to the function."
  value       = aws_sqs_queue.eventbridge_dlq.url
}

output "failure_queue_url" {
  description = "Invocations that failed after the function's asynchronous retries."
  value       = aws_sqs_queue.function_failures.url
}

output "alarm_topic_arn" {
  description = "SNS topic of the alarms, if any."
  value       = try(local.alarm_actions[0], null)
}

output "config_json" {
  description = "The function's configuration as JSON: with config_location = \"package\", write it to rules.json and build with --include rules.json."
  value       = local.config_json
}

output "registry_id" {
  description = "The registry (account) the function manages."
  value       = local.registry_id
}
