# The registry ("artifacts") account runs the remediator; a workload account forwards its denied
# pulls to it. Add one forwarder module (or the CloudFormation StackSet in
# infra/cloudformation/forwarder.yaml) per pulling account.
terraform {
  required_version = ">= 1.9.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 7.0"
    }
  }
}

variable "region" {
  description = "Region of the registry and of the clusters that pull from it."
  type        = string
  default     = "us-east-1"
}

variable "registry_role_arn" {
  description = "A role in the registry account that Terraform may assume."
  type        = string
}

variable "pulling_role_arn" {
  description = "A role in the pulling account that Terraform may assume."
  type        = string
}

variable "pulling_account_id" {
  description = "The pulling account."
  type        = string
}

variable "registry_trail_bucket_name" {
  description = "An existing S3 bucket of the registry account for a trail that records management events (read and write); null when the account already has such a trail."
  type        = string
  default     = null
}

variable "pulling_trail_bucket_name" {
  description = "The same for the pulling account: its denied pulls reach its default bus only through such a trail."
  type        = string
  default     = null
}

variable "alarm_emails" {
  description = "Who the alarms email (each address confirms its subscription first); [] leaves the alarms in the console, notifying nobody."
  type        = list(string)
  default     = []
}

variable "package_path" {
  description = "The zip from `make build` (x86_64, what the module expects by default)."
  type        = string
  default     = "../../../../target/lambda/ecr-policy-remediator-lambda/bootstrap.zip"
}

provider "aws" {
  alias  = "registry"
  region = var.region
  assume_role {
    role_arn = var.registry_role_arn
  }
}

provider "aws" {
  alias  = "pulling"
  region = var.region
  assume_role {
    role_arn = var.pulling_role_arn
  }
}

module "remediator" {
  source    = "../../modules/remediator"
  providers = { aws = aws.registry }

  package_path        = var.package_path
  pulling_account_ids = [var.pulling_account_id]
  alarm_emails        = var.alarm_emails

  rules = [
    {
      name         = "k8s-mirror"
      repositories = ["registry.k8s.io/*"]
      principals   = { accounts = [var.pulling_account_id] }
      actions      = ["ecr:BatchImportUpstreamImage"]
      # The template gives a repository that pull-through cache creates its policy from the
      # first moment; pull_through_cache lets the pulling account trigger the cache at all
      # (ecr:CreateRepository and ecr:BatchImportUpstreamImage in the registry policy).
      creation_templates = ["PULL_THROUGH_CACHE"]
      pull_through_cache = true
    },
    {
      name         = "workloads"
      repositories = ["team-a/*"]
      principals = {
        roles = ["arn:aws:iam::${var.pulling_account_id}:role/eks-node-role"]
      }
      create_on_denied_pull = true
    },
  ]
}

module "forwarder" {
  source    = "../../modules/forwarder"
  providers = { aws = aws.pulling }

  registry_account_id = module.remediator.registry_id
}

# The default bus of each account only receives CloudTrail events when a trail records them
# (reads too: pulls are read-only calls). An organization trail serves as well.
module "registry_trail" {
  source      = "../../modules/trail"
  count       = var.registry_trail_bucket_name == null ? 0 : 1
  providers   = { aws = aws.registry }
  name        = "ecr-policy-remediator-management-events"
  bucket_name = var.registry_trail_bucket_name
}

module "pulling_trail" {
  source      = "../../modules/trail"
  count       = var.pulling_trail_bucket_name == null ? 0 : 1
  providers   = { aws = aws.pulling }
  name        = "ecr-policy-remediator-management-events"
  bucket_name = var.pulling_trail_bucket_name
}

output "function_name" {
  value = module.remediator.function_name
}

output "forwarding_rule_arn" {
  value = module.forwarder.rule_arn
}
