data "aws_caller_identity" "current" {}
# Read as .id, the region's name in provider 5.100 and 6 alike: 6 deprecates .name, and .region
# does not exist in 5 (versions.tf).
data "aws_region" "current" {}
data "aws_partition" "current" {}

data "aws_lambda_function" "existing" {
  count         = var.create && !local.create_function ? 1 : 0
  function_name = var.existing_function_name
}

locals {
  create_function = var.existing_function_name == null
  registry_id     = data.aws_caller_identity.current.account_id
  region          = data.aws_region.current.id
  partition       = data.aws_partition.current.partition
  repository_arn  = "arn:${local.partition}:ecr:${local.region}:${local.registry_id}:repository"

  # One rules file can serve both routes: the file the function reads (and cargo-lambda
  # packages) is the file the IAM scoping below is made from, so the two cannot drift.
  file_config = var.config_file == null ? null : jsondecode(file(var.config_file))
  # Exactly one of the two is non-empty (the variables' validation).
  rules = concat(var.rules, var.config_file == null ? [] : [for r in local.file_config.rules : {
    name         = r.name
    repositories = r.repositories
    exclude      = try(r.exclude, [])
    principals = {
      accounts           = try(r.principals.accounts, [])
      roles              = try(r.principals.roles, [])
      organizations      = try(r.principals.organizations, [])
      organization_paths = try(r.principals.organizationPaths, [])
    }
    access                = try(r.access, "pull")
    actions               = try(r.actions, [])
    create_on_denied_pull = try(r.createOnDeniedPull, false)
    creation_templates    = try(r.creationTemplates, [])
    pull_through_cache    = try(r.pullThroughCache, false)
    registry_grant        = try(r.registryGrant, false)
  }])
  interval_minutes = coalesce(var.sweep_interval_minutes, 60)

  # The function's configuration, in the shape it reads (camelCase keys). The schedule below is
  # made from sweep_interval_minutes: the sweep's idea of its period cannot drift from the real
  # one (a rules file that says otherwise fails the plan, below).
  config_from_file = var.config_file == null ? "" : jsonencode(merge(local.file_config, {
    sweep = merge(try(local.file_config.sweep, {}), { intervalMinutes = local.interval_minutes })
  }))
  config_from_rules = {
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
      concurrency         = var.sweep.concurrency
      requestsPerSecond   = var.sweep.requests_per_second
      intervalMinutes     = local.interval_minutes
      safetyMarginSeconds = var.sweep.safety_margin_seconds
    }
  }
  # `trust` only when set: without it the function judges no foreign grant, and the encoded rules
  # stay exactly as they were.
  config_trust = { for k, t in { trust = var.trust } : k => {
    mode              = t.mode
    accounts          = t.accounts
    organizations     = t.organizations
    organizationPaths = t.organization_paths
    services          = t.services
  } if t != null }
  config_json = var.config_file == null ? jsonencode(merge(local.config_from_rules, local.config_trust)) : local.config_from_file

  # Lambda's advanced logging controls set AWS_LAMBDA_LOG_LEVEL and AWS_LAMBDA_LOG_FORMAT, which
  # the function follows; no RUST_LOG is needed.
  environment = merge(
    {
      # Computed, not read from the role: known at plan time, so that the size check below fails
      # the first plan instead of the middle of the first apply.
      REMEDIATOR_SELF_ROLE_ARN = local.create_function ? local.role_arn : ""
    },
    var.config_location == "environment" ? { REMEDIATOR_CONFIG = local.config_json } : { REMEDIATOR_CONFIG_FILE = "/var/task/${var.config_package_path}" },
  )
  # Lambda refuses more than 4 KB of environment variables, keys and values together.
  environment_bytes = sum([for k, v in local.environment : length(k) + length(v)])
  # IAM role names are global to the account: the region keeps two deployments of the module
  # (one per region) from colliding.
  role_name_wanted = coalesce(var.role_name, substr("${var.name}-${local.region}", 0, 64))
  role_arn         = "arn:${local.partition}:iam::${local.registry_id}:role${var.role_path}${local.role_name_wanted}"

  function_name = !var.create ? null : local.create_function ? aws_lambda_function.this[0].function_name : data.aws_lambda_function.existing[0].function_name
  function_arn  = !var.create ? null : local.create_function ? aws_lambda_function.this[0].arn : data.aws_lambda_function.existing[0].arn
  role_name     = !var.create ? null : local.create_function ? aws_iam_role.function[0].name : element(split("/", data.aws_lambda_function.existing[0].role), length(split("/", data.aws_lambda_function.existing[0].role)) - 1)

  # The rules' glob patterns are IAM resource patterns too: `*` and `?` mean the same in both.
  creatable_arns = distinct(flatten([for r in local.rules : [for p in r.repositories : "${local.repository_arn}/${p}"] if r.create_on_denied_pull]))
  # A creation template is authorized as the repositories it will create: those under the
  # namespaces of the rules that ask for templates (their patterns are `PREFIX/*` or `*`).
  template_arns = distinct(flatten([for r in local.rules : [for p in r.repositories : "${local.repository_arn}/${p}"] if length(r.creation_templates) > 0]))

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
    # A replica: the destination registry (this one) receives the event. A failed replication put
    # nothing here, so only successes are delivered.
    "image-replicated" = {
      state = "ENABLED"
      pattern = {
        source        = ["aws.ecr"]
        "detail-type" = ["ECR Replication Action"]
        detail = {
          result = ["SUCCESS"]
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
    length(aws_cloudwatch_event_rule.sweep) == 0 ? {} : { sweep = aws_cloudwatch_event_rule.sweep[0].arn },
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
  count                = var.create && local.create_function ? 1 : 0
  name                 = local.role_name_wanted
  path                 = var.role_path
  permissions_boundary = var.role_permissions_boundary
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  tags                 = var.tags
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
    resources = ["arn:${local.partition}:logs:${local.region}:${local.registry_id}:log-group:${local.log_group_name}:*"]
  }
  statement {
    sid       = "OnFailureDestination"
    actions   = ["sqs:SendMessage"]
    resources = ["arn:${local.partition}:sqs:${local.region}:${local.registry_id}:${var.name}-failures"]
  }
  # A customer key on the failure queue: SendMessage needs it too.
  dynamic "statement" {
    for_each = var.sqs_kms_key_arn != null ? [1] : []
    content {
      sid       = "FailureQueueKey"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [var.sqs_kms_key_arn]
    }
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
  count  = var.create ? 1 : 0
  name   = "${var.name}-ecr"
  role   = local.role_name
  policy = data.aws_iam_policy_document.function.json
}

locals {
  log_group_name = "/aws/lambda/${local.create_function ? var.name : var.existing_function_name}"
}

resource "aws_cloudwatch_log_group" "function" {
  #checkov:skip=CKV_AWS_158:The logs hold repository names and outcomes, no secrets; set cloudwatch_logs_kms_key_arn for a customer key.
  count             = var.create ? 1 : 0
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.cloudwatch_logs_kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_117:The function only calls the ECR API; a VPC would add NAT or endpoints and nothing it needs.
  #checkov:skip=CKV_AWS_272:The package is built by cargo-lambda from this repository; code signing is left to the deployer.
  #checkov:skip=CKV_AWS_173:The environment holds the rules, which are not secret; Lambda encrypts it at rest with its own key.
  #checkov:skip=CKV_AWS_116:Failed asynchronous invocations go to the on-failure destination (aws_lambda_function_event_invoke_config), which carries more context than a DLQ.
  count            = var.create && local.create_function ? 1 : 0
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

  # JSON lines at the level asked for: Lambda sets AWS_LAMBDA_LOG_FORMAT and AWS_LAMBDA_LOG_LEVEL
  # from this, and the function's own logging follows both.
  logging_config {
    log_format            = "JSON"
    application_log_level = upper(var.log_level)
    system_log_level      = "INFO"
    log_group             = local.log_group_name
  }

  tracing_config {
    mode = var.tracing_mode
  }

  tags       = var.tags
  depends_on = [aws_cloudwatch_log_group.function, aws_iam_role_policy.function]

  lifecycle {
    precondition {
      condition     = var.package_path != null
      error_message = "Set package_path to the zip from `make build` (target/lambda/ecr-policy-remediator-lambda/bootstrap.zip), or existing_function_name to a function deployed with `cargo lambda deploy`."
    }
    precondition {
      condition     = local.environment_bytes <= 4096
      error_message = "The rules encode to ${local.environment_bytes} bytes of environment, over Lambda's 4 KB limit. Set config_location = \"package\" and config_file = \"rules.json\" (the function's rules file), and build with `cargo lambda build --release --bin ecr-policy-remediator-lambda --output-format zip --include rules.json`."
    }
    precondition {
      condition     = try(local.file_config.sweep.intervalMinutes, local.interval_minutes) == local.interval_minutes
      error_message = "The rules file's sweep.intervalMinutes differs from sweep_interval_minutes, the schedule's period: drop it from the file or make them equal."
    }
  }
}
