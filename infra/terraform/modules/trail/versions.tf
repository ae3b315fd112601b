terraform {
  required_version = ">= 1.9.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # Tested with 5.100 (infra/tests/check_infra.py; the only version installable offline).
      # Provider 6 was checked against its "Version 6 Upgrade Guide": aws_cloudtrail is not in it
      # (only aws_cloudtrail_event_data_store is, for its suspend argument, which this module does
      # not use), and "Enhanced Region Support" only adds an optional region argument, unset here.
      version = ">= 5.100, < 7.0"
    }
  }
}
