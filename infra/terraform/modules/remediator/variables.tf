variable "create" {
  description = "Create the module's resources; false creates nothing (for a module instance switched off per environment)."
  type        = bool
  default     = true
}

variable "name" {
  description = "Name of the function, its log group, queues, rules and alarms (and, with the region, its role)."
  type        = string
  default     = "ecr-policy-remediator"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,50}$", var.name))
    error_message = "name must be 1-50 letters, digits, '-' or '_' (it prefixes other resource names)."
  }
}

variable "package_path" {
  description = "Path of the zip that `make build` produces (target/lambda/ecr-policy-remediator-lambda/bootstrap.zip). Leave null when existing_function_name is set."
  type        = string
  default     = null
}

variable "existing_function_name" {
  description = "Name of a function deployed with `cargo lambda deploy`. When set, the module creates no function and wires the rules, permissions and alarms to this one; its configuration (environment, memory, timeout) stays with cargo-lambda."
  type        = string
  default     = null
}

variable "architecture" {
  description = "Instruction set of the function: x86_64 (the default: what `make build` makes on any machine) or arm64 (Graviton: build with `cargo lambda build --release --arm64 --compiler cargo-zigbuild --bin ecr-policy-remediator-lambda --output-format zip`, which needs zig and the aarch64 Rust target). Must match the build."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be \"arm64\" or \"x86_64\"."
  }
}

variable "role_name" {
  description = "Name of the function's execution role; null means \"NAME-REGION\" (at most 64 characters), so that the module deployed in two regions of one account does not collide."
  type        = string
  default     = null

  validation {
    condition     = var.role_name == null || can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.role_name))
    error_message = "role_name must be 1-64 characters: letters, digits and +=,.@_-."
  }
}

variable "role_path" {
  description = "Path of the function's execution role."
  type        = string
  default     = "/"

  validation {
    condition     = can(regex("^/([!-~]+/)?$", var.role_path)) && length(var.role_path) <= 512
    error_message = "role_path must begin and end with '/', e.g. \"/service-roles/\"."
  }
}

variable "role_permissions_boundary" {
  description = "ARN of a policy to set as the permissions boundary of the function's execution role."
  type        = string
  default     = null
}

variable "config_file" {
  description = "Path of the function's own rules file (the JSON that `check-config` validates and `cargo lambda deploy --include` packages). When set, the module takes the rules (and dryRun, deployment, the sweep's pace) from it instead of `rules`, and scopes the role from the same file: the two routes share one rules file. Validate it with `ecr-policy-remediator check-config FILE`."
  type        = string
  default     = null

  validation {
    condition     = var.config_file == null || can(jsondecode(file(var.config_file)).rules[0].name)
    error_message = "config_file must be a JSON file with a \"rules\" list, as `ecr-policy-remediator check-config` reads it."
  }
}

variable "rules" {
  description = "The remediator's rules (see the project README), unless config_file is set. Each grants `access` on the repositories its patterns match to the listed principals."
  type = list(object({
    name         = string
    repositories = list(string)
    exclude      = optional(list(string), [])
    principals = object({
      accounts           = optional(list(string), [])
      roles              = optional(list(string), [])
      organizations      = optional(list(string), [])
      organization_paths = optional(list(string), [])
    })
    access                = optional(string, "pull")
    actions               = optional(list(string), [])
    create_on_denied_pull = optional(bool, false)
    creation_templates    = optional(list(string), [])
    pull_through_cache    = optional(bool, false)
    registry_grant        = optional(bool, false)
  }))
  default = []

  validation {
    condition     = (length(var.rules) > 0) != (var.config_file != null)
    error_message = "At least one rule is required: set rules, or config_file to the function's rules file (not both)."
  }

  validation {
    condition     = alltrue([for r in var.rules : contains(["pull", "push"], r.access)])
    error_message = "Each rule's access must be \"pull\" or \"push\"."
  }

  validation {
    condition = alltrue(flatten([
      for r in var.rules : [for t in r.creation_templates : contains(["CREATE_ON_PUSH", "PULL_THROUGH_CACHE", "REPLICATION"], t)]
    ]))
    error_message = "creation_templates entries must be CREATE_ON_PUSH, PULL_THROUGH_CACHE or REPLICATION."
  }

  validation {
    condition = alltrue(flatten([
      for r in var.rules : [for a in r.principals.accounts : can(regex("^[0-9]{12}$", a))]
    ]))
    error_message = "Every principals.accounts entry must be a 12-digit account ID."
  }

  validation {
    condition = alltrue([
      for r in var.rules : length(concat(r.principals.accounts, r.principals.roles, r.principals.organizations, r.principals.organization_paths)) > 0
    ])
    error_message = "Every rule needs at least one principal (accounts, roles, organizations or organization_paths)."
  }

  validation {
    condition     = length(distinct([for r in var.rules : r.name])) == length(var.rules)
    error_message = "Rule names must be unique."
  }

  # The checks below are check-config's, so that a plan fails where the function's init would.
  validation {
    condition     = alltrue([for r in var.rules : can(regex("^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$", r.name))])
    error_message = "A rule name is not valid: use 1-64 letters, digits, '-' or '_', starting with a letter or digit (it becomes part of the statement Sid)."
  }

  validation {
    condition     = alltrue([for r in var.rules : length(r.repositories) > 0])
    error_message = "Every rule needs at least one repository pattern, e.g. \"registry.k8s.io/*\"."
  }

  validation {
    condition = alltrue(flatten([for r in var.rules : [for p in concat(r.repositories, r.exclude) :
      can(regex("^[a-z0-9._/*?-]+$", p)) && !can(regex("^[._/-]", p)) && !can(regex("[._/-]$", p)) &&
      !can(regex("[._/-][._/-]", p)) && length(replace(p, "*", "")) <= 256 &&
    (length(regexall("[*]", p)) > 0 || length(p) >= 2)]]))
    error_message = "A repository pattern can never match a repository name: names are 2 to 256 lowercase characters, components separated by '/', each made of letters and digits joined by single '.', '_' or '-' (wildcards '*' and '?')."
  }

  validation {
    condition = alltrue(flatten([for r in var.rules : [for a in r.principals.roles :
    can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/[A-Za-z0-9+=,.@_/-]*[A-Za-z0-9+=,.@_-]$", a))]]))
    error_message = "A principals.roles entry is not an IAM role or user ARN such as \"arn:aws:iam::123456789012:role/eks-node-role\" (no wildcards; assumed-role session ARNs change with every session)."
  }

  validation {
    condition     = alltrue(flatten([for r in var.rules : [for o in r.principals.organizations : can(regex("^o-[a-z0-9]{10,32}$", o))]]))
    error_message = "A principals.organizations entry is not an organization ID: use \"o-\" and 10 to 32 lowercase letters or digits."
  }

  validation {
    condition = alltrue(flatten([for r in var.rules : [for p in r.principals.organization_paths :
    can(regex("^o-[a-z0-9]{10,32}/((r-[a-z0-9]+|ou-[a-z0-9]+-[a-z0-9]+)/)?(ou-[a-z0-9]+-[a-z0-9]+/)*[*]?$", p))]]))
    error_message = "A principals.organization_paths entry is not an organization path: use e.g. \"o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*\" (ending '/' or '/*')."
  }

  validation {
    condition = alltrue(flatten([for r in var.rules : [for a in r.actions : contains([
      "ecr:batchchecklayeravailability", "ecr:batchgetimage", "ecr:describeimages", "ecr:describerepositories",
      "ecr:getdownloadurlforlayer", "ecr:listimages", "ecr:completelayerupload", "ecr:initiatelayerupload",
      "ecr:putimage", "ecr:uploadlayerpart", "ecr:batchdeleteimage", "ecr:batchimportupstreamimage",
      "ecr:describeimagereplicationstatus", "ecr:describeimagescanfindings", "ecr:replicateimage",
    ], lower(a))]]))
    error_message = "An extra action cannot be granted: only actions on images are allowed (the pull and push actions, ecr:BatchDeleteImage, ecr:BatchImportUpstreamImage, ecr:DescribeImageReplicationStatus, ecr:DescribeImageScanFindings, ecr:ReplicateImage); wildcards and actions that administer the repository are refused."
  }

  validation {
    condition     = alltrue([for r in var.rules : !r.create_on_denied_pull || length(concat(r.principals.accounts, r.principals.roles)) > 0])
    error_message = "create_on_denied_pull needs principals.accounts or principals.roles: a repository is only created for a caller the rule names."
  }

  validation {
    condition = alltrue(flatten([for r in var.rules : [for p in r.repositories :
    p == "*" || can(regex("^[a-z0-9._/-]*[a-z0-9]/[*]$", p))] if length(r.creation_templates) > 0]))
    error_message = "creation_templates need whole namespaces: patterns \"*\" (the ROOT template) or \"PREFIX/*\" with no other wildcard."
  }

  validation {
    condition     = alltrue([for r in var.rules : length(r.exclude) == 0 if length(r.creation_templates) > 0 || r.pull_through_cache || r.registry_grant])
    error_message = "creation_templates, pull_through_cache and registry_grant cannot be used with exclude: a template or registry statement cannot leave the excluded repositories out."
  }

  validation {
    condition = length(distinct([for r in var.rules : replace(r.name, "/[^A-Za-z0-9]/", "") if r.pull_through_cache || r.registry_grant])) == length([
    for r in var.rules : r.name if r.pull_through_cache || r.registry_grant])
    error_message = "Two rules with registry statements are the same in letters and digits, which is all a registry policy Sid can hold: rename one."
  }
}

variable "trust" {
  description = "The trust boundary (docs/configuration.md#trust), unless config_file is set: grants in the registry's documents to anyone but the rules' principals, the registry's own account and what this lists are reported (mode \"report\", the default) or also taken back (\"revoke\"). null (the default) leaves other grants unjudged. With config_file: the file's trust."
  type = object({
    mode               = optional(string, "report")
    accounts           = optional(list(string), [])
    organizations      = optional(list(string), [])
    organization_paths = optional(list(string), [])
    services           = optional(list(string), [])
  })
  default = null

  # check-config's checks, so that a plan fails where the function's init would.
  validation {
    condition     = var.trust == null || var.config_file == null
    error_message = "trust and config_file cannot both be set: with config_file, the file's trust object is the one the function reads."
  }

  validation {
    condition     = var.trust == null ? true : contains(["report", "revoke"], var.trust.mode)
    error_message = "trust.mode must be \"report\" (log untrusted grants) or \"revoke\" (also take them out of the documents)."
  }

  validation {
    condition     = var.trust == null ? true : alltrue([for a in var.trust.accounts : can(regex("^[0-9]{12}$", a))])
    error_message = "Every trust.accounts entry must be a 12-digit account ID (no ARN, no wildcard: a single role belongs in a rule's principals.roles)."
  }

  validation {
    condition     = var.trust == null ? true : alltrue([for o in var.trust.organizations : can(regex("^o-[a-z0-9]{10,32}$", o))])
    error_message = "A trust.organizations entry is not an organization ID: use \"o-\" and 10 to 32 lowercase letters or digits."
  }

  validation {
    condition = var.trust == null ? true : alltrue([for p in var.trust.organization_paths :
    can(regex("^o-[a-z0-9]{10,32}/((r-[a-z0-9]+|ou-[a-z0-9]+-[a-z0-9]+)/)?(ou-[a-z0-9]+-[a-z0-9]+/)*[*]?$", p))])
    error_message = "A trust.organization_paths entry is not an organization path: use e.g. \"o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*\" (ending '/' or '/*')."
  }

  validation {
    condition = var.trust == null ? true : alltrue([for s in var.trust.services :
    length(s) <= 128 && can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?[.])+amazonaws[.]com([.]cn)?$", s))])
    error_message = "A trust.services entry is not a service principal: use a name such as \"lambda.amazonaws.com\" (lowercase labels ending in .amazonaws.com or .amazonaws.com.cn, no wildcard)."
  }
}

variable "dry_run" {
  description = "Decide and log, write nothing (with config_file: the file's dryRun)."
  type        = bool
  default     = false
}

variable "config_location" {
  description = "Where the function reads its rules: \"environment\" (REMEDIATOR_CONFIG; Lambda allows 4 KB of environment in all) or \"package\" (a file added to the zip with `cargo lambda build --include rules.json`: the file config_file names)."
  type        = string
  default     = "environment"

  validation {
    condition     = contains(["environment", "package"], var.config_location)
    error_message = "config_location must be \"environment\" or \"package\"."
  }
}

variable "config_package_path" {
  description = "With config_location = \"package\": the rules file's path inside the package."
  type        = string
  default     = "rules.json"
}

variable "sweep_interval_minutes" {
  description = "Period of the reconcile sweep in minutes; the schedule and the function's sweep numbering (where each sweep starts) both come from it. null disables the sweep."
  type        = number
  default     = 60

  validation {
    condition     = var.sweep_interval_minutes == null ? true : (var.sweep_interval_minutes >= 1 && var.sweep_interval_minutes <= 10080 && floor(var.sweep_interval_minutes) == var.sweep_interval_minutes)
    error_message = "sweep_interval_minutes must be a whole number of minutes, 1 to 10080 (a week), or null."
  }
}

variable "deployment" {
  description = "Name of this deployment, when several share one registry: it namespaces the statement Sids each owns (EcrPolicyRemediator_NAME-...). Letters and digits only. null keeps the plain EcrPolicyRemediator- Sids. With config_file: the file's deployment."
  type        = string
  default     = null

  validation {
    condition     = var.deployment == null ? true : can(regex("^[A-Za-z0-9]{1,20}$", var.deployment))
    error_message = "deployment must be 1-20 letters or digits (no '-': no deployment's Sids may start with another's)."
  }
}

variable "sweep" {
  description = "Pace of the sweep (its period is sweep_interval_minutes). With config_file: the file's sweep."
  type = object({
    concurrency           = optional(number, 4)
    requests_per_second   = optional(number, 10)
    safety_margin_seconds = optional(number, 20)
  })
  default = {}

  validation {
    condition     = var.sweep.concurrency >= 1 && var.sweep.concurrency <= 64 && var.sweep.requests_per_second >= 0.1 && var.sweep.requests_per_second <= 1000 && var.sweep.safety_margin_seconds >= 0 && var.sweep.safety_margin_seconds <= 600
    error_message = "sweep.concurrency must be 1-64, sweep.requests_per_second 0.1-1000 and sweep.safety_margin_seconds 0-600."
  }
}

variable "memory_size" {
  description = "Memory of the function in MB."
  type        = number
  default     = 256
}

variable "timeout" {
  description = "Timeout of the function in seconds; the sweep uses all of it but a safety margin."
  type        = number
  default     = 900

  validation {
    condition     = var.timeout >= 30 && var.timeout <= 900
    error_message = "timeout must be 30 to 900 seconds."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions of the function; null leaves it unreserved. A few are enough: each invocation handles one event."
  type        = number
  default     = 5
}

variable "log_level" {
  description = "The function's application log level (Lambda's logging_config, JSON format): error, warn, info or debug (debug logs each policy before and after)."
  type        = string
  default     = "info"

  validation {
    condition     = contains(["error", "warn", "info", "debug", "trace"], var.log_level)
    error_message = "log_level must be error, warn, info, debug or trace."
  }
}

variable "log_retention_days" {
  description = "Retention of the function's log group."
  type        = number
  default     = 365
}

variable "tracing_mode" {
  description = "X-Ray tracing of the function: Active or PassThrough."
  type        = string
  default     = "Active"
}

variable "event_retry" {
  description = "Delivery retries: EventBridge to the function (up to 24 h and 185 attempts), then the function's own asynchronous retries."
  type = object({
    eventbridge_maximum_event_age_seconds = optional(number, 86400)
    eventbridge_maximum_retry_attempts    = optional(number, 185)
    lambda_maximum_event_age_seconds      = optional(number, 21600)
    lambda_maximum_retry_attempts         = optional(number, 2)
  })
  default = {}
}

variable "pulling_account_ids" {
  description = "Accounts whose forwarder rules may put denied-pull events on this account's default bus."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.pulling_account_ids : can(regex("^[0-9]{12}$", a))])
    error_message = "pulling_account_ids must be 12-digit account IDs."
  }
}

variable "organization_id" {
  description = "An organization (o-...) whose accounts may put events on this account's default bus; null for none."
  type        = string
  default     = null

  validation {
    condition     = var.organization_id == null || can(regex("^o-[a-z0-9]{10,32}$", var.organization_id))
    error_message = "organization_id must look like o-a1b2c3d4e5."
  }
}

variable "alarm_actions" {
  description = "ARNs every alarm notifies when it fires and when it recovers (an SNS topic your on-call tooling already reads, or any other CloudWatch alarm action), next to the topic alarm_emails creates. With neither, the alarms change state in the CloudWatch console and notify nobody."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for a in var.alarm_actions : can(regex("^arn:aws[a-z-]*:[a-z0-9-]+:", a))])
    error_message = "alarm_actions must be ARNs, e.g. \"arn:aws:sns:us-east-1:111111111111:on-call\"."
  }

  validation {
    condition     = length(var.alarm_actions) <= 4
    error_message = "CloudWatch allows 5 actions per alarm state: at most 4 in alarm_actions, one is kept for the topic alarm_emails creates."
  }
}

variable "alarm_emails" {
  description = "Email addresses to notify: the module creates an SNS topic for the alarms (encrypted, see sns_kms_key_arn) and subscribes each address. AWS sends each a confirmation email; nothing reaches an address until its owner confirms."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for e in var.alarm_emails : can(regex("^[^@\\s]+@[^@\\s]+$", e))])
    error_message = "Each alarm_emails entry must be one email address, with exactly one '@' and no spaces, e.g. \"on-call@example.com\"."
  }
}

variable "alarm_topic_arn" {
  description = "An SNS topic for the alarms, from before alarm_actions existed: the same as listing it in alarm_actions (prefer that)."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:", var.alarm_topic_arn))
    error_message = "alarm_topic_arn must be an SNS topic ARN."
  }
}

variable "create_alarm_topic" {
  description = "Create the alarm topic even without alarm_emails, to subscribe to it yourself (its ARN is the alarm_topic_arn output). Ignored when alarm_topic_arn is set, as before."
  type        = bool
  default     = false
}

variable "event_age_alarm_seconds" {
  description = "The event-age alarm fires when an event reaches the function this many seconds after it happened (CloudTrail's own delivery takes up to about 5 minutes)."
  type        = number
  default     = 900
}

variable "sqs_kms_key_arn" {
  description = "KMS key for the two queues; null uses SQS-managed encryption. Its key policy must let events.amazonaws.com and the function's role use it."
  type        = string
  default     = null
}

variable "sns_kms_key_arn" {
  description = "KMS key for the alarm topic the module creates; null makes one for it. Its key policy must let cloudwatch.amazonaws.com use it (kms:Decrypt, kms:GenerateDataKey*): CloudWatch cannot publish to a topic encrypted with the AWS-managed alias/aws/sns."
  type        = string
  default     = null
}

variable "cloudwatch_logs_kms_key_arn" {
  description = "KMS key for the function's log group; null uses CloudWatch Logs' own encryption. Its key policy must let logs.REGION.amazonaws.com use it."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
