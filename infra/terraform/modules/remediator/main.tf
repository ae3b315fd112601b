data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

data "aws_lambda_function" "existing" {
  count         = local.create_function ? 0 : 1
  function_name = var.existing_function_name
}

locals {
  create_function = var.existing_function_name == null
  registry_id     = data.aws_caller_identity.current.account_id
  region          = data.aws_region.current.name
  partition       = data.aws_partition.current.partition
  repository_arn  = "arn:${local.partition}:ecr:${local.region}:${local.registry_id}:repository"

  # The function's configuration, in the shape it reads (camelCase keys).
  config = {
    rules = [for r in var.rules : {
      name         = r.name
      repositories = r.repositories
      exclude      = r.exclude
      principals = {
        accounts          = r.principals.accounts
        roles             = r.principals.roles
        organizations     = r.principals.organizations
        organizationPaths = r.principals.organization_paths
      }
      access             = r.access
      actions            = r.actions
      createOnDeniedPull = r.create_on_denied_pull
      creationTemplates  = r.creation_templates
      pullThroughCache   = r.pull_through_cache
      registryGrant      = r.registry_grant
    }]
    dryRun     = var.dry_run
    deployment = var.deployment
    sweep = {
      concurrency       = var.sweep.concurrency
      requestsPerSecond = var.sweep.requests_per_second
      # The schedule below is made from the same variable: the sweep's idea of its period
      # cannot drift from the real one.
      intervalMinutes     = coalesce(var.sweep_interval_minutes, 60)
      safetyMarginSeconds = var.sweep.safety_margin_seconds
    }
  }
  config_json = jsonencode(local.config)

  environment = merge(
    {
      RUST_LOG = var.log_level
      # Computed, not read from the role: known at plan time, so that the size check below fails
      # the first plan instead of the middle of the first apply.
      REMEDIATOR_SELF_ROLE_ARN = local.create_function ? local.role_arn : ""
    },
    var.config_location == "environment" ? { REMEDIATOR_CONFIG = local.config_json } : { REMEDIATOR_CONFIG_FILE = "/var/task/${var.config_package_path}" },
  )
  # Lambda refuses more than 4 KB of environment variables, keys and values together.
  environment_bytes = sum([for k, v in local.environment : length(k) + length(v)])
  role_arn          = "arn:${local.partition}:iam::${local.registry_id}:role/${var.name}"

  function_name = local.create_function ? aws_lambda_function.this[0].function_name : data.aws_lambda_function.existing[0].function_name
  function_arn  = local.create_function ? aws_lambda_function.this[0].arn : data.aws_lambda_function.existing[0].arn
  role_name     = local.create_function ? aws_iam_role.function[0].name : element(split("/", data.aws_lambda_function.existing[0].role), length(split("/", data.aws_lambda_function.existing[0].role)) - 1)

  # The rules' glob patterns are IAM resource patterns too: `*` and `?` mean the same in both.
  creatable_arns = distinct(flatten([for r in var.rules : [for p in r.repositories : "${local.repository_arn}/${p}"] if r.create_on_denied_pull]))
  # A creation template is authorized as the repositories it will create: those under the
  # namespaces of the rules that ask for templates (their patterns are `PREFIX/*` or `*`).
  template_arns = distinct(flatten([for r in var.rules : [for p in r.repositories : "${local.repository_arn}/${p}"] if length(r.creation_templates) > 0]))

  alarm_actions = var.alarm_topic_arn != null ? [var.alarm_topic_arn] : (var.create_alarm_topic ? [aws_sns_topic.alarms[0].arn] : [])

  # The event patterns. Creations: both detail-types (pull-through cache sends a service event)
  # and both event sources (replication); failed calls carry errorCode and are not creations.
  patterns = {
    "repository-created" = {
      state = "ENABLED"
      pattern = {
        source        = ["aws.ecr"]
        "detail-type" = ["AWS API Call via CloudTrail", "AWS Service Event via CloudTrail"]
        detail = {
          eventSource = ["ecr.amazonaws.com", "replication.ecr.amazonaws.com"]
          eventName   = ["CreateRepository"]
          errorCode   = [{ exists = false }]
        }
      }
    }
    # Pulls are read-only calls: the ordinary ENABLED state drops them.
    "pull-denied" = {
      state = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
      pattern = {
        source        = ["aws.ecr"]
        "detail-type" = ["AWS API Call via CloudTrail"]
        detail = {
          eventSource       = ["ecr.amazonaws.com"]
          eventName         = ["BatchGetImage", "GetDownloadUrlForLayer", "BatchCheckLayerAvailability"]
          errorCode         = ["AccessDenied", "AccessDeniedException", "RepositoryNotFoundException"]
          requestParameters = { registryId = [local.registry_id] }
        }
      }
    }
    "policy-changed" = {
      state = "ENABLED"
      pattern = {
        source        = ["aws.ecr"]
        "detail-type" = ["AWS API Call via CloudTrail"]
        detail = {
          eventSource = ["ecr.amazonaws.com"]
          eventName   = ["SetRepositoryPolicy", "DeleteRepositoryPolicy"]
          errorCode   = [{ exists = false }]
        }
      }
    }
    # Drift of the registry's own documents: its policy and the creation templates.
    "registry-changed" = {
      state = "ENABLED"
      pattern = {
        source        = ["aws.ecr"]
        "detail-type" = ["AWS API Call via CloudTrail"]
        detail = {
          eventSource = ["ecr.amazonaws.com"]
          eventName = ["PutRegistryPolicy", "DeleteRegistryPolicy", "CreateRepositoryCreationTemplate",
          "UpdateRepositoryCreationTemplate", "DeleteRepositoryCreationTemplate"]
          errorCode = [{ exists = false }]
        }
      }
    }
    # ECR's own events reach the default bus without any trail.
    "image-pushed" = {
      state = "ENABLED"
      pattern = {
        source        = ["aws.ecr"]
        "detail-type" = ["ECR Image Action"]
        detail = {
          "action-type" = ["PUSH"]
          result        = ["SUCCESS"]
        }
      }
    }
    "pull-through-cache" = {
      state = "ENABLED"
      pattern = {
        source        = ["aws.ecr"]
        "detail-type" = ["ECR Pull Through Cache Action"]
      }
    }
  }
  rule_arns = merge(
    { for k, r in aws_cloudwatch_event_rule.events : k => r.arn },
    var.sweep_interval_minutes == null ? {} : { sweep = aws_cloudwatch_event_rule.sweep[0].arn },
  )
}

# ---------------------------------------------------------------- the function and its role

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "function" {
  count              = local.create_function ? 1 : 0
  name               = var.name
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "function" {
  statement {
    sid       = "LearnOwnRegistry"
    actions   = ["ecr:DescribeRegistry"]
    resources = ["*"]
  }
  statement {
    sid       = "ListRepositoriesForTheSweep"
    actions   = ["ecr:DescribeRepositories"]
    resources = ["${local.repository_arn}/*"]
  }
  # Every repository, not only those the rules match now: a rule that is removed or narrowed
  # leaves grants on repositories it no longer matches, and taking them back is the function's
  # job. The code only ever changes the statements it owns (their Sids), never anyone else's.
  statement {
    sid       = "RepositoryPolicies"
    actions   = ["ecr:GetRepositoryPolicy", "ecr:SetRepositoryPolicy", "ecr:DeleteRepositoryPolicy"]
    resources = ["${local.repository_arn}/*"]
  }
  # The registry's own documents. These actions have no resource type: "*" is the only resource
  # IAM accepts, and it is this account's registry in this region.
  statement {
    sid = "RegistryDocuments"
    actions = ["ecr:GetRegistryPolicy", "ecr:PutRegistryPolicy", "ecr:DeleteRegistryPolicy",
      "ecr:GetAccountSetting", "ecr:DescribePullThroughCacheRules",
      "ecr:DescribeRepositoryCreationTemplates", "ecr:CreateRepositoryCreationTemplate",
    "ecr:UpdateRepositoryCreationTemplate", "ecr:DeleteRepositoryCreationTemplate"]
    resources = ["*"]
  }
  # Creating or updating a template is also authorized as the repositories it will create.
  dynamic "statement" {
    for_each = length(local.template_arns) > 0 ? [1] : []
    content {
      sid       = "TemplatesTheRulesAskFor"
      actions   = ["ecr:CreateRepository", "ecr:PutLifecyclePolicy"]
      resources = local.template_arns
    }
  }
  dynamic "statement" {
    for_each = length(local.creatable_arns) > 0 ? [1] : []
    content {
      sid       = "CreateOnDeniedPull"
      actions   = ["ecr:CreateRepository"]
      resources = local.creatable_arns
    }
  }
  statement {
    sid       = "OwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.function.arn}:*"]
  }
  statement {
    sid       = "OnFailureDestination"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.function_failures.arn]
  }
  dynamic "statement" {
    for_each = var.tracing_mode == "Active" ? [1] : []
    content {
      sid       = "Tracing"
      actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
      resources = ["*"]
    }
  }
}

resource "aws_iam_role_policy" "function" {
  name   = "${var.name}-ecr"
  role   = local.role_name
  policy = data.aws_iam_policy_document.function.json
}

resource "aws_cloudwatch_log_group" "function" {
  #checkov:skip=CKV_AWS_158:The logs hold repository names and outcomes, no secrets; the default encryption of CloudWatch Logs applies.
  name              = "/aws/lambda/${local.create_function ? var.name : var.existing_function_name}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_117:The function only calls the ECR API; a VPC would add NAT or endpoints and nothing it needs.
  #checkov:skip=CKV_AWS_272:The package is built by cargo-lambda from this repository; code signing is left to the deployer.
  #checkov:skip=CKV_AWS_173:The environment holds the rules, which are not secret; Lambda encrypts it at rest with its own key.
  #checkov:skip=CKV_AWS_116:Failed asynchronous invocations go to the on-failure destination (aws_lambda_function_event_invoke_config), which carries more context than a DLQ.
  count            = local.create_function ? 1 : 0
  function_name    = var.name
  role             = aws_iam_role.function[0].arn
  filename         = var.package_path
  source_code_hash = var.package_path == null ? null : filebase64sha256(var.package_path)
  handler          = "bootstrap"
  runtime          = "provided.al2023"
  architectures    = [var.architecture]
  memory_size      = var.memory_size
  timeout          = var.timeout

  reserved_concurrent_executions = var.reserved_concurrency == null ? -1 : var.reserved_concurrency

  environment {
    variables = local.environment
  }

  tracing_config {
    mode = var.tracing_mode
  }

  tags       = var.tags
  depends_on = [aws_cloudwatch_log_group.function, aws_iam_role_policy.function]

  lifecycle {
    precondition {
      condition     = var.package_path != null
      error_message = "Set package_path to the zip from `cargo lambda build --release --arm64 --output-format zip`, or existing_function_name to a function deployed with `cargo lambda deploy`."
    }
    precondition {
      condition     = local.environment_bytes <= 4096
      error_message = "The rules encode to ${local.environment_bytes} bytes of environment, over Lambda's 4 KB limit. Set config_location = \"package\": write the config_json output to rules.json and build with `cargo lambda build --release --arm64 --output-format zip --include rules.json`."
    }
  }
}

# ---------------------------------------------------------------- delivery you can trust

resource "aws_sqs_queue" "eventbridge_dlq" {
  name                      = "${var.name}-eventbridge-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
  tags                      = var.tags
}

data "aws_iam_policy_document" "eventbridge_dlq" {
  statement {
    sid       = "EventBridgeRulesOfThisModule"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.eventbridge_dlq.arn]
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
  queue_url = aws_sqs_queue.eventbridge_dlq.id
  policy    = data.aws_iam_policy_document.eventbridge_dlq.json
}

resource "aws_sqs_queue" "function_failures" {
  name                      = "${var.name}-failures"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
  tags                      = var.tags
}

resource "aws_lambda_function_event_invoke_config" "this" {
  function_name                = local.function_name
  maximum_event_age_in_seconds = var.event_retry.lambda_maximum_event_age_seconds
  maximum_retry_attempts       = var.event_retry.lambda_maximum_retry_attempts

  destination_config {
    on_failure {
      destination = aws_sqs_queue.function_failures.arn
    }
  }
  depends_on = [aws_iam_role_policy.function]
}

# ---------------------------------------------------------------- the rules that feed it

resource "aws_cloudwatch_event_rule" "events" {
  for_each      = local.patterns
  name          = "${var.name}-${each.key}"
  description   = "ecr-policy-remediator: ${each.key}"
  event_pattern = jsonencode(each.value.pattern)
  state         = each.value.state
  tags          = var.tags
}

resource "aws_cloudwatch_event_rule" "sweep" {
  count               = var.sweep_interval_minutes == null ? 0 : 1
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
    arn = aws_sqs_queue.eventbridge_dlq.arn
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
  for_each     = toset(var.pulling_account_ids)
  principal    = each.value
  statement_id = "${var.name}-${each.value}"
}

resource "aws_cloudwatch_event_permission" "organization" {
  count        = var.organization_id == null ? 0 : 1
  principal    = "*"
  statement_id = "${var.name}-organization"

  condition {
    key   = "aws:PrincipalOrgID"
    type  = "StringEquals"
    value = var.organization_id
  }
}

# ---------------------------------------------------------------- alarms

resource "aws_sns_topic" "alarms" {
  count             = var.create_alarm_topic && var.alarm_topic_arn == null ? 1 : 0
  name              = "${var.name}-alarms"
  kms_master_key_id = "alias/aws/sns"
  tags              = var.tags
}

# Every alarm fires on the first occurrence: each one means a repository may be missing its grant.
locals {
  alarms = {
    errors = {
      description = "The remediator returned errors (throttling or 5xx that outlasted retries): repositories may be missing their grant."
      namespace   = "AWS/Lambda"
      metric      = "Errors"
      dimensions  = { FunctionName = local.function_name }
      statistic   = "Sum"
    }
    eventbridge-dlq = {
      description = "Events EventBridge could not deliver to the remediator are waiting in ${aws_sqs_queue.eventbridge_dlq.name}."
      namespace   = "AWS/SQS"
      metric      = "ApproximateNumberOfMessagesVisible"
      dimensions  = { QueueName = aws_sqs_queue.eventbridge_dlq.name }
      statistic   = "Maximum"
    }
    failures = {
      description = "Events the remediator failed after its retries are waiting in ${aws_sqs_queue.function_failures.name}."
      namespace   = "AWS/SQS"
      metric      = "ApproximateNumberOfMessagesVisible"
      dimensions  = { QueueName = aws_sqs_queue.function_failures.name }
      statistic   = "Maximum"
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each            = local.alarms
  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

# ---------------------------------------------------------------- optional: the trail

module "trail" {
  source      = "../trail"
  count       = var.create_trail ? 1 : 0
  name        = "${var.name}-management-events"
  bucket_name = var.trail_bucket_name
  kms_key_arn = var.trail_kms_key_arn
  tags        = var.tags
}
