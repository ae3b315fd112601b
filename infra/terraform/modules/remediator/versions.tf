terraform {
  required_version = ">= 1.9.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # Tested with 5.100 (infra/tests/check_infra.py); 6.x is not tested.
      version = ">= 5.100, < 6.0"
    }
  }
}
