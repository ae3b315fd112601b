output "rule_arn" {
  description = "The forwarding rule."
  value       = try(aws_cloudwatch_event_rule.denied_pulls[0].arn, null)
}

output "role_arn" {
  description = "The role EventBridge uses to put events on the registry account's bus."
  value       = try(aws_iam_role.forwarder[0].arn, null)
}

output "target_bus_arn" {
  description = "The registry account's default bus."
  value       = local.target_bus_arn
}
