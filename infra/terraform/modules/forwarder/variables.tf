variable "create" {
  description = "Create the module's resources; false creates nothing."
  type        = bool
  default     = true
}

variable "name" {
  description = "Name of the forwarding rule (and, with the region, of its role)."
  type        = string
  default     = "ecr-policy-remediator-forwarder"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,50}$", var.name))
    error_message = "name must be 1-50 letters, digits, '-' or '_'."
  }
}

variable "registry_account_id" {
  description = "The account that holds the ECR registry and the remediator."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.registry_account_id))
    error_message = "registry_account_id must be a 12-digit account ID."
  }
}

variable "registry_region" {
  description = "Region of the registry account's default bus; null means this provider's region."
  type        = string
  default     = null
}

variable "role_name" {
  description = "Name of the forwarding role; null means \"NAME-REGION\" (at most 64 characters)."
  type        = string
  default     = null

  validation {
    condition     = var.role_name == null || can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.role_name))
    error_message = "role_name must be 1-64 characters: letters, digits and +=,.@_-."
  }
}

variable "role_path" {
  description = "Path of the forwarding role."
  type        = string
  default     = "/"

  validation {
    condition     = can(regex("^/([!-~]+/)?$", var.role_path)) && length(var.role_path) <= 512
    error_message = "role_path must begin and end with '/', e.g. \"/service-roles/\"."
  }
}

variable "role_permissions_boundary" {
  description = "ARN of a policy to set as the permissions boundary of the forwarding role."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
