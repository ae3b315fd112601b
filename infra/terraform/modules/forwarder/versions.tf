terraform {
  required_version = ">= 1.9.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # Tested with 5.100 (infra/tests/check_infra.py; the only version installable offline).
      # Provider 6 was checked against its "Version 6 Upgrade Guide" for everything this module
      # uses: resources aws_cloudwatch_event_rule, aws_cloudwatch_event_target, aws_iam_role,
      # aws_iam_role_policy; data sources aws_iam_policy_document, aws_partition, aws_region. None
      # of them is removed or renamed. The one item that applies: "Data Source aws_region: name
      # has been deprecated. Use region instead"; region does not exist in 5.100, so the module
      # reads id, which both versions set to the region's name. "Enhanced Region Support" adds an
      # optional region argument to most resources: the module sets none (registry_region only
      # names the target bus), so everything stays in the provider's region, as in 5.x.
      version = ">= 5.100, < 7.0"
    }
  }
}
