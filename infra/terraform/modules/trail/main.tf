# The default bus only receives CloudTrail events when a trail records them; the pull events are
# read-only, so the trail must record reads as well as writes.
resource "aws_cloudtrail" "management_events" {
  #checkov:skip=CKV_AWS_35:Encryption with a customer key is the deployer's choice: set kms_key_arn.
  #checkov:skip=CKV_AWS_252:No SNS notification per log file is needed for EventBridge delivery.
  #checkov:skip=CKV2_AWS_10:CloudWatch Logs delivery of the trail is not needed: EventBridge receives the events.
  name                          = var.name
  s3_bucket_name                = var.bucket_name
  kms_key_id                    = var.kms_key_arn
  is_multi_region_trail         = true
  include_global_service_events = true
  enable_log_file_validation    = true

  event_selector {
    read_write_type           = "All"
    include_management_events = true
  }

  tags = var.tags
}
