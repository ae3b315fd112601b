terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS as a rule state needs 5.x.
      version = ">= 5.40, < 7.0"
    }
  }
}
