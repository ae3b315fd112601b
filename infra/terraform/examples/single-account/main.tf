# The minimal deployment: the registry and the clusters in one account (or pulling accounts that
# forward nothing; creations and policy changes still reach the function).
terraform {
  required_version = ">= 1.9.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 7.0"
    }
  }
}

provider "aws" {
  region = var.region
}

variable "region" {
  description = "Region of the registry."
  type        = string
  default     = "us-east-1"
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

variable "trail_bucket_name" {
  description = "An existing S3 bucket for a trail that records management events (read and write); null when the account already has such a trail."
  type        = string
  default     = null
}

module "remediator" {
  source       = "../../modules/remediator"
  package_path = var.package_path
  alarm_emails = var.alarm_emails

  rules = [
    {
      name         = "k8s-mirror"
      repositories = ["registry.k8s.io/*", "ecr-public/*"]
      exclude      = ["registry.k8s.io/internal/*"]
      principals = {
        accounts      = ["222222222222"]
        organizations = ["o-a1b2c3d4e5"]
      }
      actions = ["ecr:BatchImportUpstreamImage"]
    },
    {
      name         = "team-a"
      repositories = ["team-a/*"]
      principals = {
        accounts = ["333333333333"]
        roles    = ["arn:aws:iam::222222222222:role/eks-node-role"]
      }
      create_on_denied_pull = true
    },
  ]
}

# The default bus only receives CloudTrail events when a trail records them: creations, denied
# pulls and policy changes need one. An organization trail serves as well.
module "trail" {
  source      = "../../modules/trail"
  count       = var.trail_bucket_name == null ? 0 : 1
  name        = "ecr-policy-remediator-management-events"
  bucket_name = var.trail_bucket_name
}

output "function_name" {
  value = module.remediator.function_name
}

output "rule_arns" {
  value = module.remediator.rule_arns
}
