output "arn" {
  description = "ARN of the trail."
  value       = aws_cloudtrail.management_events.arn
}
