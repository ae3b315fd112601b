# Read as .id, the region's name in provider 5.100 and 6 alike: 6 deprecates .name, and .region
# does not exist in 5 (versions.tf).
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  registry_region = coalesce(var.registry_region, data.aws_region.current.id)
  target_bus_arn  = "arn:${data.aws_partition.current.partition}:events:${local.registry_region}:${var.registry_account_id}:event-bus/default"

  # Denied pulls of the registry's images, as this account's trail records them. Pulls are
  # read-only calls: the ordinary ENABLED state drops them. Nothing else: ECR's native events
  # (image pushes, pull-through cache, replication) are sent in the registry's own account, where
  # the remediator's rules take them. infra/cloudformation/forwarder.yaml forwards the same.
  pattern = {
    source        = ["aws.ecr"]
    "detail-type" = ["AWS API Call via CloudTrail"]
    detail = {
      eventSource       = ["ecr.amazonaws.com"]
      eventName         = ["BatchGetImage", "GetDownloadUrlForLayer", "BatchCheckLayerAvailability"]
      errorCode         = ["AccessDenied", "AccessDeniedException", "RepositoryNotFoundException"]
      requestParameters = { registryId = [var.registry_account_id] }
    }
  }
}

resource "aws_cloudwatch_event_rule" "denied_pulls" {
  count         = var.create ? 1 : 0
  name          = var.name
  description   = "Forwards denied pulls from registry ${var.registry_account_id} to its remediator"
  event_pattern = jsonencode(local.pattern)
  state         = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
  tags          = var.tags
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
  }
}

# A target bus in another account needs a role; it is mandatory when the registry's bus admits
# the organization rather than this account.
# IAM role names are global to the account: the region keeps two deployments apart.
resource "aws_iam_role" "forwarder" {
  count                = var.create ? 1 : 0
  name                 = coalesce(var.role_name, substr("${var.name}-${data.aws_region.current.id}", 0, 64))
  path                 = var.role_path
  permissions_boundary = var.role_permissions_boundary
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  tags                 = var.tags
}

data "aws_iam_policy_document" "put_events" {
  statement {
    actions   = ["events:PutEvents"]
    resources = [local.target_bus_arn]
  }
}

resource "aws_iam_role_policy" "forwarder" {
  count  = var.create ? 1 : 0
  name   = "put-events-on-the-registry-bus"
  role   = aws_iam_role.forwarder[0].name
  policy = data.aws_iam_policy_document.put_events.json
}

resource "aws_cloudwatch_event_target" "registry_bus" {
  count    = var.create ? 1 : 0
  rule     = aws_cloudwatch_event_rule.denied_pulls[0].name
  arn      = local.target_bus_arn
  role_arn = aws_iam_role.forwarder[0].arn

  retry_policy {
    maximum_event_age_in_seconds = 86400
    maximum_retry_attempts       = 185
  }
}
