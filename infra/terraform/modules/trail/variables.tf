variable "name" {
  description = "Name of the trail."
  type        = string
}

variable "bucket_name" {
  description = "An existing S3 bucket whose policy lets CloudTrail write to it (cloudtrail.amazonaws.com: s3:GetBucketAcl on the bucket, s3:PutObject on AWSLogs/ACCOUNT/*)."
  type        = string
  nullable    = false
}

variable "kms_key_arn" {
  description = "A KMS key for the trail's log files; null for S3's default encryption."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags of the trail."
  type        = map(string)
  default     = {}
}
