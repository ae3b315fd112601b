output "rule_arn" {
  description = "The forwarding rule."
  value       = aws_cloudwatch_event_rule.denied_pulls.arn
}

output "role_arn" {
  description = "The role EventBridge uses to put events on the registry account's bus."
  value       = aws_iam_role.forwarder.arn
}

output "target_bus_arn" {
  description = "The registry account's default bus."
  value       = local.target_bus_arn
}
