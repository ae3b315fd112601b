"""moto_server, started the same way (-H HOST -p PORT), with what moto's ECR lacks and this
project needs, added to moto's own backend and response class (state in the backend, moto's
request parsing and error format, the shapes of the ECR API reference):

- repository creation templates: CreateRepositoryCreationTemplate,
  DescribeRepositoryCreationTemplates, UpdateRepositoryCreationTemplate,
  DeleteRepositoryCreationTemplate;
- account settings: GetAccountSetting, PutAccountSetting (REGISTRY_POLICY_SCOPE: V1 or V2; a new
  registry is V2, as ECR's are since 2024-12; BASIC_SCAN_TYPE_VERSION);
- pull-through cache rules: CreatePullThroughCacheRule, DescribePullThroughCacheRules;
- the registry policy's action check follows the scope: V1 accepts ecr:ReplicateImage,
  ecr:BatchImportUpstreamImage and ecr:CreateRepository, V2 every ecr: action.

And, for tests of throttling and a slow registry, faults injected into chosen operations:
MOTO_EXT_FAULTS is a JSON object from operation name to fault, for example
    {"GetRepositoryPolicy": {"delaySeconds": 0.25, "throttleEvery": 3}}
delaySeconds: every call waits this long before moto answers it; throttleEvery: every n-th call
is answered as ECR throttles (HTTP 400, ThrottlingException, "Rate exceeded").
"""

import json
import os
import sys
import threading
import time
from datetime import datetime, timezone

from moto import server
from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult
from moto.ecr.exceptions import InvalidParameterException
from moto.iam.exceptions import MalformedPolicyDocument
from moto.ecr.models import ECRBackend
from moto.ecr.responses import ECRResponse
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

# ---------------------------------------------------------------- errors, as the API names them


class ValidationException(ServiceException):
    code = "ValidationException"


class TemplateAlreadyExistsException(ServiceException):
    code = "TemplateAlreadyExistsException"


class TemplateNotFoundException(ServiceException):
    code = "TemplateNotFoundException"


class PullThroughCacheRuleAlreadyExistsException(ServiceException):
    code = "PullThroughCacheRuleAlreadyExistsException"


class PullThroughCacheRuleNotFoundException(ServiceException):
    code = "PullThroughCacheRuleNotFoundException"


# ---------------------------------------------------------------- backend state

APPLIED_FOR = {"PULL_THROUGH_CACHE", "REPLICATION", "CREATE_ON_PUSH"}
TEMPLATE_FIELDS = ["description", "encryptionConfiguration", "resourceTags", "imageTagMutability",
                   "imageTagMutabilityExclusionFilters", "repositoryPolicy", "lifecyclePolicy",
                   "appliedFor", "customRoleArn"]
SETTINGS = {"REGISTRY_POLICY_SCOPE": {"V1", "V2"}, "BASIC_SCAN_TYPE_VERSION": {"AWS_NATIVE", "CLAIR"}}
V1_REGISTRY_ACTIONS = {"ecr:replicateimage", "ecr:batchimportupstreamimage", "ecr:createrepository"}


def _state(backend):
    if not hasattr(backend, "ext_templates"):
        backend.ext_templates = {}
        backend.ext_settings = {"REGISTRY_POLICY_SCOPE": "V2", "BASIC_SCAN_TYPE_VERSION": "AWS_NATIVE"}
        backend.ext_ptc_rules = {}
    return backend


def _now():
    return datetime.now(timezone.utc)


def _check_template(fields):
    applied = fields.get("appliedFor")
    if applied is not None and (not applied or set(applied) - APPLIED_FOR):
        raise ValidationException(f"Invalid value for appliedFor: {applied}")
    policy = fields.get("repositoryPolicy")
    if policy:
        try:
            json.loads(policy)
        except ValueError:
            raise InvalidParameterException(
                "Invalid parameter at 'repositoryPolicy' failed to satisfy constraint: "
                "'Invalid repository policy provided'")


def create_template(self, prefix, fields):
    templates = _state(self).ext_templates
    if prefix in templates:
        raise TemplateAlreadyExistsException(f"Template with prefix '{prefix}' already exists")
    if not fields.get("appliedFor"):
        raise ValidationException("appliedFor is required")
    _check_template(fields)
    template = {"prefix": prefix, "createdAt": _now(), "updatedAt": _now()}
    template.update({k: v for k, v in fields.items() if v is not None})
    templates[prefix] = template
    return template


def update_template(self, prefix, fields):
    templates = _state(self).ext_templates
    if prefix not in templates:
        raise TemplateNotFoundException(f"Template with prefix '{prefix}' does not exist")
    _check_template(fields)
    templates[prefix].update({k: v for k, v in fields.items() if v is not None})
    templates[prefix]["updatedAt"] = _now()
    return templates[prefix]


def delete_template(self, prefix):
    templates = _state(self).ext_templates
    if prefix not in templates:
        raise TemplateNotFoundException(f"Template with prefix '{prefix}' does not exist")
    return templates.pop(prefix)


def validate_registry_policy(self, policy_text):
    """moto's own check knows only the pre-2024 actions; ECR's follows the policy scope."""
    scope = _state(self).ext_settings["REGISTRY_POLICY_SCOPE"]
    for statement in json.loads(policy_text)["Statement"]:
        actions = statement["Action"]
        actions = [actions] if isinstance(actions, str) else actions
        for action in actions:
            action = action.lower()
            allowed = action.startswith("ecr:") if scope == "V2" else action in V1_REGISTRY_ACTIONS
            if not allowed:
                raise MalformedPolicyDocument()


ECRBackend._validate_registry_policy_action = validate_registry_policy

# ---------------------------------------------------------------- the API


def _fields(self):
    return {k: self._get_param(k) for k in TEMPLATE_FIELDS}


def create_repository_creation_template(self):
    template = create_template(self.ecr_backend, self._get_param("prefix"), _fields(self))
    return ActionResult({"registryId": self.current_account, "repositoryCreationTemplate": template})


def update_repository_creation_template(self):
    template = update_template(self.ecr_backend, self._get_param("prefix"), _fields(self))
    return ActionResult({"registryId": self.current_account, "repositoryCreationTemplate": template})


def delete_repository_creation_template(self):
    template = delete_template(self.ecr_backend, self._get_param("prefix"))
    return ActionResult({"registryId": self.current_account, "repositoryCreationTemplate": template})


def describe_repository_creation_templates(self):
    templates = _state(self.ecr_backend).ext_templates
    prefixes = self._get_param("prefixes")
    found = [t for p, t in sorted(templates.items()) if not prefixes or p in prefixes]
    return ActionResult({"registryId": self.current_account, "repositoryCreationTemplates": found})


def get_account_setting(self):
    name = self._get_param("name")
    if name not in SETTINGS:
        raise ValidationException(f"Invalid account setting name: {name}")
    return ActionResult({"name": name, "value": _state(self.ecr_backend).ext_settings[name]})


def put_account_setting(self):
    name, value = self._get_param("name"), self._get_param("value")
    if name not in SETTINGS or value not in SETTINGS[name]:
        raise ValidationException(f"Invalid value {value} for account setting {name}")
    _state(self.ecr_backend).ext_settings[name] = value
    return ActionResult({"name": name, "value": value})


def create_pull_through_cache_rule(self):
    rules = _state(self.ecr_backend).ext_ptc_rules
    prefix = self._get_param("ecrRepositoryPrefix")
    if prefix in rules:
        raise PullThroughCacheRuleAlreadyExistsException(
            f"A pull through cache rule with prefix '{prefix}' already exists")
    rule = {"ecrRepositoryPrefix": prefix, "upstreamRegistryUrl": self._get_param("upstreamRegistryUrl"),
            "registryId": self.current_account, "createdAt": _now()}
    if self._get_param("upstreamRegistry"):
        rule["upstreamRegistry"] = self._get_param("upstreamRegistry")
    rules[prefix] = rule
    return ActionResult(rule)


def describe_pull_through_cache_rules(self):
    rules = _state(self.ecr_backend).ext_ptc_rules
    prefixes = self._get_param("ecrRepositoryPrefixes")
    for p in prefixes or []:
        if p not in rules:
            raise PullThroughCacheRuleNotFoundException(f"No pull through cache rule with prefix '{p}'")
    found = [r for p, r in sorted(rules.items()) if not prefixes or p in prefixes]
    return ActionResult({"pullThroughCacheRules": found})


for _handler in [create_repository_creation_template, update_repository_creation_template,
                 delete_repository_creation_template, describe_repository_creation_templates,
                 get_account_setting, put_account_setting, create_pull_through_cache_rule,
                 describe_pull_through_cache_rules]:
    setattr(ECRResponse, _handler.__name__, _handler)

# ---------------------------------------------------------------- faults

FAULTS = json.loads(os.environ.get("MOTO_EXT_FAULTS") or "{}")


class FaultyApplication(DomainDispatcherApplication):
    counts: dict = {}
    lock = threading.Lock()

    def __call__(self, environ, start_response):
        operation = environ.get("HTTP_X_AMZ_TARGET", "").rsplit(".", 1)[-1]
        fault = FAULTS.get(operation)
        if fault:
            with self.lock:
                n = self.counts[operation] = self.counts.get(operation, 0) + 1
            time.sleep(float(fault.get("delaySeconds", 0)))
            every = int(fault.get("throttleEvery", 0))
            if every and n % every == 0:
                body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
                start_response("400 Bad Request", [
                    ("Content-Type", "application/x-amz-json-1.1"),
                    ("Content-Length", str(len(body))),
                ])
                return [body]
        return super().__call__(environ, start_response)


server.DomainDispatcherApplication = FaultyApplication

if __name__ == "__main__":
    server.main(sys.argv[1:])
