"""Offline checks of infra/: formatting, validation, an apply of both Terraform examples against
moto, the event patterns against every sample in events/, checkov and cfn-lint.

Run by `make test` (through `make infra-test`). Nothing leaves the machine: Terraform takes its AWS
provider from a local mirror (TF_PLUGIN_DIR, else a directory named tf-plugins), and every AWS call
goes to a moto server on 127.0.0.1. Without a mirror the checks that need the provider are skipped,
and the script says so.
"""

import json
import re
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
TERRAFORM = INFRA / "terraform"
EVENTS = ROOT / "events"
# Where `make build` leaves the zip: cargo honours CARGO_TARGET_DIR, and so must the check.
TARGET = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target").resolve()
VENV_BIN = Path(sys.executable).parent
REGISTRY = "111111111111"
PULLING = "222222222222"
SERVICES = ["cloudwatch", "cloudtrail", "ecr", "events", "iam", "kms", "lambda", "logs", "sns", "sqs", "sts"]

passed, failed = 0, 0


def check(what, condition, detail=""):
    global passed, failed
    if condition:
        passed += 1
        print(f"ok      {what}")
    else:
        failed += 1
        print(f"FAILED  {what}" + (f": {detail}" if detail else ""))


def run(cmd, cwd=None, env=None, quiet=True):
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0 or not quiet:
        sys.stdout.write(result.stdout[-4000:])
        sys.stdout.write(result.stderr[-4000:])
    return result


def plugin_dir():
    configured = os.environ.get("TF_PLUGIN_DIR")
    if configured:
        return Path(configured) if Path(configured).is_dir() else None
    for candidate in [Path("/opt/tf-plugins"), Path.home() / "tf-plugins", Path("/usr/share/tf-plugins")]:
        if candidate.is_dir():
            return candidate
    found = subprocess.run(["find", "/", "-maxdepth", "3", "-type", "d", "-name", "tf-plugins"],
                           capture_output=True, text=True).stdout.split()
    return Path(found[0]) if found else None


def tf_env():
    env = dict(os.environ)
    # The machine's own CLI config may point anywhere; the plugin directory is given explicitly.
    env["TF_CLI_CONFIG_FILE"] = os.devnull
    env["TF_IN_AUTOMATION"] = "1"
    env["CHECKPOINT_DISABLE"] = "1"
    return env


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Moto:
    """A moto server without MOTO_ACCOUNT_ID: credentials from sts:AssumeRole act in the role's
    account, so one server holds the registry account and the pulling account."""

    def __init__(self):
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k != "MOTO_ACCOUNT_ID"}
        self.log = tempfile.NamedTemporaryFile("w+", prefix="moto-", suffix=".log")
        # moto's own server with the ECR operations it lacks (creation templates, account
        # settings, pull-through-cache rules), which `doctor` reads.
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "moto_ext.py"), "-H", "127.0.0.1",
                                      "-p", str(self.port)], env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                break
            except OSError:
                if time.time() > deadline or self.proc.poll() is not None:
                    raise SystemExit("moto_server did not start: run `make venv`")
                time.sleep(0.2)

    def client(self, service, account):
        base = dict(endpoint_url=self.endpoint, region_name="us-east-1",
                    aws_access_key_id="testing", aws_secret_access_key="testing")
        creds = boto3.client("sts", **base).assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/terraform", RoleSessionName="checks")["Credentials"]
        return boto3.client(service, endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id=creds["AccessKeyId"],
                            aws_secret_access_key=creds["SecretAccessKey"],
                            aws_session_token=creds["SessionToken"])

    def credentials(self, account):
        """The environment of a command acting in `account` (moto maps assumed-role keys to it)."""
        creds = boto3.client("sts", endpoint_url=self.endpoint, region_name="us-east-1",
                             aws_access_key_id="testing", aws_secret_access_key="testing").assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/terraform", RoleSessionName="doctor")["Credentials"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_ENDPOINT_URL=self.endpoint, AWS_REGION="us-east-1", AWS_ACCESS_KEY_ID=creds["AccessKeyId"],
                   AWS_SECRET_ACCESS_KEY=creds["SecretAccessKey"], AWS_SESSION_TOKEN=creds["SessionToken"],
                   AWS_EC2_METADATA_DISABLED="true")
        return env

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def provider_override(endpoint, aliases_and_accounts):
    blocks = []
    for alias, account in aliases_and_accounts:
        endpoints = "\n".join(f'    {s} = "{endpoint}"' for s in SERVICES)
        alias_line = f'  alias                       = "{alias}"\n' if alias else ""
        blocks.append(f'''provider "aws" {{
{alias_line}  region                      = "us-east-1"
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  assume_role {{
    role_arn = "arn:aws:iam::{account}:role/terraform"
  }}
  endpoints {{
{endpoints}
  }}
}}
''')
    return "\n".join(blocks)


def prepare_example(name, plugins, moto, workdir, aliases_and_accounts):
    """Copies the example (and the modules it uses) to workdir, points its providers at moto
    and runs terraform init; returns its directory, or None."""
    # The repository's layout, so that an example's relative default (the zip under target/)
    # points where `make build` put it.
    shutil.copytree(TERRAFORM, workdir / "infra" / "terraform", ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    (workdir / "target").symlink_to(TARGET)
    example = workdir / "infra" / "terraform" / "examples" / name
    (example / "override.tf").write_text(provider_override(moto.endpoint, aliases_and_accounts))
    init = run(["terraform", "init", "-backend=false", "-input=false", f"-plugin-dir={plugins}"],
               cwd=example, env=tf_env())
    return example if init.returncode == 0 else None


def terraform(example, command, variables, *extra):
    args = ["terraform", command, "-input=false", "-no-color", *extra]
    for k, v in variables.items():
        args += ["-var", f"{k}={v}"]
    return run(args, cwd=example, env=tf_env())


def apply_example(name, plugins, moto, workdir, aliases_and_accounts, variables):
    example = prepare_example(name, plugins, moto, workdir, aliases_and_accounts)
    return example is not None and terraform(example, "apply", variables, "-auto-approve").returncode == 0


def fake_package(directory):
    """A stand-in for the function's zip: moto stores the code and never runs it."""
    package = directory / "bootstrap.zip"
    with zipfile.ZipFile(package, "w") as z:
        z.writestr("bootstrap", "#!/bin/sh\n")
    return package


def sample(name):
    return json.loads((EVENTS / name).read_text())


def samples():
    return sorted(p.name for p in EVENTS.glob("*.json") if p.name != "config.json")


def routed(moto, account, rule_names, event_names):
    """Puts each sample on the account's default bus and returns, per sample, the rules (among
    rule_names) whose pattern delivered it, observed at an SQS target added to each rule."""
    events = moto.client("events", account)
    sqs = moto.client("sqs", account)
    # moto would try to run the function (in Docker) or reach the other account's bus; the
    # targets were checked already, and only the patterns are under test here.
    for rule in events.list_rules()["Rules"]:
        existing = [t["Id"] for t in events.list_targets_by_rule(Rule=rule["Name"])["Targets"]]
        if existing:
            events.remove_targets(Rule=rule["Name"], Ids=existing)
    queues = {}
    for rule in rule_names:
        url = sqs.create_queue(QueueName=f"probe-{rule}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_targets(Rule=rule, Targets=[{"Id": "probe", "Arn": arn}])
        queues[rule] = url
    result = {}
    for name in event_names:
        e = sample(name)
        entry = {"Source": e["source"], "DetailType": e["detail-type"], "Detail": json.dumps(e["detail"]),
                 "Resources": e.get("resources", [])}
        events.put_events(Entries=[entry])
        hits = []
        for rule, url in queues.items():
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            for m in messages:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            if messages:
                hits.append(rule)
        result[name] = sorted(hits)
    return result


def expected_rule(name):
    """Which of the remediator's pattern rules each sample is meant for (None: no rule)."""
    if name.startswith("create-repository-") or name == "skip-create-repository-other-region.json":
        return "repository-created"  # other region: the rule matches, the function skips it
    if name.startswith("pull-denied-"):
        return "pull-denied"
    if name.startswith("policy-changed-"):
        return "policy-changed"
    if name.startswith("registry-policy-") or name.startswith("template-"):
        return "registry-changed"
    if name == "native-image-pushed.json":
        return "image-pushed"
    if name == "native-image-replicated.json":
        return "image-replicated"
    if name.startswith("native-pull-through-cache"):
        return "pull-through-cache"  # a failed sync too: the function warns and counts it
    # skip-native-image-deleted.json: a deletion is no push; skip-native-image-replication-failed.json:
    # a failed replica put nothing in the registry.
    return None


ALARMS = ["errors", "event-age", "eventbridge-dlq", "failed-outcomes", "failures", "missed-events",
          "pull-through-cache-failures", "untrusted-grants"]
# The alarms on the function's own metrics: the metric, and what each description must tell the
# person it wakes (the commands and fields to look at).
OWN_METRIC_ALARMS = {
    "failed-outcomes": ("FailedOutcomes", ['filter message = "event handled"', "`ecr-policy-remediator reconcile`"]),
    "missed-events": ("MissedEvents", ["trail", "`ecr-policy-remediator reconcile --dry-run`"]),
    "event-age": ("EventAgeSeconds", ["`ecr-policy-remediator reconcile`"]),
    "untrusted-grants": ("UntrustedGrants", ["`ecr-policy-remediator access --untrusted`", "`trust`",
                                             "`trust.mode`", "`revoke`"]),
    "pull-through-cache-failures": ("PullThroughCacheFailures", ['"pull-through cache sync failed"', "failure-code",
                                                                 "failure-reason", "credentials secret",
                                                                 "upstream URL"]),
}

BUILT_PACKAGE = TARGET / "lambda" / "ecr-policy-remediator-lambda" / "bootstrap.zip"
# The package has two binaries (the command line and the Lambda): `cargo run` must name one.
CLI = ["cargo", "run", "--quiet", "--bin", "ecr-policy-remediator", "--"]


def check_single_account(plugins, moto):
    # The example as a user runs it after `make build`: its default package_path, no variable.
    check("make build left the zip the module consumes", BUILT_PACKAGE.is_file(), f"{BUILT_PACKAGE}: run `make build`")
    if not BUILT_PACKAGE.is_file():
        return
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        example = prepare_example("single-account", plugins, moto, tmp, [(None, REGISTRY)])
        ok = example is not None and terraform(example, "apply", {}, "-auto-approve").returncode == 0
        check("`make build`, then terraform apply of examples/single-account against moto", ok)
        if not ok:
            return
    prefix = "ecr-policy-remediator"
    events = moto.client("events", REGISTRY)
    rules = {r["Name"][len(prefix) + 1:]: r for r in events.list_rules(NamePrefix=prefix)["Rules"]}
    check("eight rules: repository-created, pull-denied, policy-changed, registry-changed, image-pushed, "
          "image-replicated, pull-through-cache, sweep",
          sorted(rules) == ["image-pushed", "image-replicated", "policy-changed", "pull-denied",
                            "pull-through-cache", "registry-changed", "repository-created", "sweep"],
          sorted(rules))
    check("pull-denied rule state is ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS",
          rules.get("pull-denied", {}).get("State") == "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS")
    check("creation, policy, registry and native-event rules are ENABLED",
          all(rules.get(r, {}).get("State") == "ENABLED"
              for r in ["repository-created", "policy-changed", "registry-changed", "image-pushed",
                        "image-replicated", "pull-through-cache"]))
    check("sweep rule runs hourly, from the same variable as the function's sweep interval",
          rules.get("sweep", {}).get("ScheduleExpression") == "rate(60 minutes)", rules.get("sweep"))
    created = json.loads(rules["repository-created"]["EventPattern"])
    native = json.loads(rules["pull-through-cache"]["EventPattern"])
    check("the pull-through-cache rule takes every sync, failed ones too (issue 19)",
          native["detail-type"] == ["ECR Pull Through Cache Action"] and "detail" not in native, native)
    replicated = json.loads(rules["image-replicated"]["EventPattern"])
    check("the image-replicated rule takes successful ECR Replication Actions (issue 19)",
          replicated["detail-type"] == ["ECR Replication Action"]
          and replicated["detail"]["result"] == ["SUCCESS"], replicated)
    check("creation rule matches both detail-types and both event sources",
          sorted(created["detail-type"]) == ["AWS API Call via CloudTrail", "AWS Service Event via CloudTrail"]
          and sorted(created["detail"]["eventSource"]) == ["ecr.amazonaws.com", "replication.ecr.amazonaws.com"])
    denied = json.loads(rules["pull-denied"]["EventPattern"])
    check("pull-denied rule is filtered to this registry",
          denied["detail"]["requestParameters"]["registryId"] == [REGISTRY], denied)

    function_arn = f"arn:aws:lambda:us-east-1:{REGISTRY}:function:{prefix}"
    for short, rule in rules.items():
        targets = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
        target = targets[0] if targets else {}
        check(f"{short}: targets the function, with retries and a dead-letter queue",
              target.get("Arn") == function_arn
              and target.get("RetryPolicy", {}).get("MaximumRetryAttempts") == 185
              and target.get("DeadLetterConfig", {}).get("Arn", "").endswith(f"{prefix}-eventbridge-dlq"), target)

    lam = moto.client("lambda", REGISTRY)
    fn = lam.get_function(FunctionName=prefix)["Configuration"]
    check("function: provided.al2023 on x86_64, as `make build` makes it",
          fn["Runtime"] == "provided.al2023" and fn["Architectures"] == ["x86_64"], fn["Architectures"])
    with zipfile.ZipFile(BUILT_PACKAGE) as z:
        check("the zip holds the bootstrap Lambda runs", "bootstrap" in z.namelist(), z.namelist())
    check("no RUST_LOG: Lambda's log level is the one setting", "RUST_LOG" not in fn["Environment"]["Variables"])
    check("role named with the region, so the module in two regions of one account does not collide",
          fn["Role"] == f"arn:aws:iam::{REGISTRY}:role/{prefix}-us-east-1", fn["Role"])
    env = fn["Environment"]["Variables"]
    check("function knows its own role", env.get("REMEDIATOR_SELF_ROLE_ARN") == fn["Role"], env)
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        f.write(env.get("REMEDIATOR_CONFIG", ""))
        f.flush()
        valid = run([*CLI, "check-config", f.name], cwd=ROOT)
        check("the rules Terraform encodes pass the function's own validation", valid.returncode == 0)
    invoke = lam.get_function_event_invoke_config(FunctionName=prefix)
    check("asynchronous retries and an on-failure destination",
          invoke.get("MaximumRetryAttempts") == 2
          and invoke.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination", "").endswith(f"{prefix}-failures"),
          invoke)
    concurrency = lam.get_function_concurrency(FunctionName=prefix).get("ReservedConcurrentExecutions")
    check("reserved concurrency", concurrency == 5, concurrency)

    iam = moto.client("iam", REGISTRY)
    policy = iam.get_role_policy(RoleName=f"{prefix}-us-east-1", PolicyName=f"{prefix}-ecr")["PolicyDocument"]
    if isinstance(policy, str):
        policy = json.loads(policy)
    statements = {s["Sid"]: s for s in policy["Statement"]}
    repo = f"arn:aws:ecr:us-east-1:{REGISTRY}:repository"
    policies = statements.get("RepositoryPolicies", {})
    check("role: policy calls on every repository of this registry and region (revocation reaches "
          "repositories no rule matches any more), nowhere else",
          policies.get("Resource") == f"{repo}/*"
          and sorted(policies.get("Action", [])) == ["ecr:DeleteRepositoryPolicy", "ecr:GetRepositoryPolicy",
                                                     "ecr:SetRepositoryPolicy"], policies)
    create = statements.get("CreateOnDeniedPull", {})
    check("role: CreateRepository only where a rule creates on denied pulls",
          create.get("Resource") == f"{repo}/team-a/*" and create.get("Action") == "ecr:CreateRepository", create)
    actions = sorted({a for s in policy["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])})
    check("role: nothing beyond what the function calls",
          actions == sorted(["ecr:CreateRepository", "ecr:DeleteRepositoryPolicy", "ecr:DescribeRegistry",
                             "ecr:DescribeRepositories", "ecr:GetRepositoryPolicy",
                             "ecr:GetRegistryPolicy", "ecr:PutRegistryPolicy", "ecr:DeleteRegistryPolicy",
                             "ecr:GetAccountSetting", "ecr:DescribePullThroughCacheRules",
                             "ecr:DescribeRepositoryCreationTemplates", "ecr:CreateRepositoryCreationTemplate",
                             "ecr:UpdateRepositoryCreationTemplate", "ecr:DeleteRepositoryCreationTemplate", "ecr:SetRepositoryPolicy", "logs:CreateLogStream",
                             "logs:PutLogEvents", "sqs:SendMessage", "xray:PutTelemetryRecords",
                             "xray:PutTraceSegments"]), actions)

    cw = moto.client("cloudwatch", REGISTRY)
    alarms = sorted(a["AlarmName"] for a in cw.describe_alarms(AlarmNamePrefix=prefix)["MetricAlarms"])
    check("alarms on function errors, both dead-letter queues, failed outcomes, missed events, event age, "
          "untrusted grants and pull-through-cache failures",
          alarms == [f"{prefix}-{a}" for a in ALARMS], alarms)
    own = {a["AlarmName"]: a for a in cw.describe_alarms(AlarmNamePrefix=prefix)["MetricAlarms"]}
    for name, (metric, says) in OWN_METRIC_ALARMS.items():
        alarm = own.get(f"{prefix}-{name}", {})
        description = alarm.get("AlarmDescription", "")
        check(f"alarm {name} watches the function's {metric}, FunctionName dimension, fires on the first one",
              alarm.get("Namespace") == "EcrPolicyRemediator" and alarm.get("MetricName") == metric
              and alarm.get("Dimensions") == [{"Name": "FunctionName", "Value": prefix}]
              and alarm.get("ComparisonOperator") == "GreaterThanThreshold"
              and (name == "event-age" or (alarm.get("Statistic") == "Sum" and alarm.get("Threshold") == 0)), alarm)
        missing = [s for s in says if s not in description]
        check(f"alarm {name} says what to do ({'; '.join(says)})", not missing, f"missing {missing}: {description}")
    untrusted = own.get(f"{prefix}-untrusted-grants", {})
    check("alarm untrusted-grants sums over one sweep period (the example's hourly sweep)",
          untrusted.get("Period") == 3600 and untrusted.get("EvaluationPeriods") == 1, untrusted)
    silent = {name: a.get("AlarmActions") for name, a in own.items() if a.get("AlarmActions") or a.get("OKActions")}
    check("without alarm_emails or alarm_actions the alarms exist and notify nobody (as the module README says)",
          len(own) == len(ALARMS) and not silent, silent)
    logs = moto.client("logs", REGISTRY)
    group = logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{prefix}")["logGroups"]
    check("log group with retention", group and group[0].get("retentionInDays") == 365, group)

    check_doctor(moto, prefix)
    names = {short: rule["Name"] for short, rule in rules.items() if short != "sweep"}
    hits = routed(moto, REGISTRY, list(names.values()), samples())
    for name, matched in hits.items():
        want = expected_rule(name)
        want = [names[want]] if want else []
        check(f"event pattern: {name} -> {', '.join(matched) or 'no rule'}", matched == want, f"expected {want}")


def doctor(moto):
    """`doctor` against the applied example, as an operator runs it: the rules are the function's."""
    result = subprocess.run([*CLI, "doctor", "--output", "json"], cwd=ROOT,
                            env=moto.credentials(REGISTRY), capture_output=True, text=True)
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        return result.returncode, [], result.stderr[-600:]
    return result.returncode, [c["check"] for c in report["checks"] if not c["ok"]], report


def check_doctor(moto, prefix):
    code, missing, report = doctor(moto)
    check("doctor: the example alone misses a trail, and a bus that admits the rules' pulling accounts",
          code == 1 and missing == ["trail", "bus"], report)
    s3, trail = moto.client("s3", REGISTRY), moto.client("cloudtrail", REGISTRY)
    s3.create_bucket(Bucket="doctor-trail")
    trail.create_trail(Name="management", S3BucketName="doctor-trail", IsMultiRegionTrail=True)
    trail.put_event_selectors(TrailName="management", EventSelectors=[
        {"ReadWriteType": "All", "IncludeManagementEvents": True}])
    trail.start_logging(Name="management")
    events = moto.client("events", REGISTRY)
    for account in ["222222222222", "333333333333"]:
        events.put_permission(EventBusName="default", Action="events:PutEvents", Principal=account,
                              StatementId=f"forwarder-{account}")
    code, missing, report = doctor(moto)
    check("doctor: a complete setup passes every check, exit 0", code == 0 and missing == [], report)

    denied = events.describe_rule(Name=f"{prefix}-pull-denied")
    events.put_rule(Name=denied["Name"], EventPattern=denied["EventPattern"], State="ENABLED")
    sweep = events.list_targets_by_rule(Rule=f"{prefix}-sweep")["Targets"][0]
    events.put_targets(Rule=f"{prefix}-sweep", Targets=[{"Id": sweep["Id"], "Arn": sweep["Arn"]}])
    trail.stop_logging(Name="management")
    code, missing, report = doctor(moto)
    check("doctor: a broken setup names each miss (trail stopped, pull-denied ENABLED, sweep without "
          "dead-letter queue), exit 1",
          code == 1 and missing == ["trail", "rule pull-denied", "rule sweep"], report)
    events.put_rule(Name=denied["Name"], EventPattern=denied["EventPattern"], State=denied["State"])


def check_two_accounts(plugins, moto):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        package = fake_package(tmp)
        variables = {"package_path": package, "pulling_account_id": PULLING,
                     "registry_role_arn": f"arn:aws:iam::{REGISTRY}:role/terraform",
                     "pulling_role_arn": f"arn:aws:iam::{PULLING}:role/terraform"}
        example = prepare_example("two-accounts", plugins, moto, tmp, [("registry", REGISTRY), ("pulling", PULLING)])
        check("terraform init of examples/two-accounts", example is not None)
        if example is None:
            return
        # The registry policy is the function's to merge now: Terraform writes none, and the
        # rules it encodes ask the function for the pull-through-cache statements and template.
        planned = terraform(example, "plan", variables, "-out=plan.bin").returncode == 0
        shown = run(["terraform", "show", "-json", "plan.bin"], cwd=example, env=tf_env()) if planned else None
        changes = json.loads(shown.stdout).get("resource_changes", []) if shown is not None and shown.returncode == 0 else []
        check("the module writes no registry policy of its own (it would replace every other statement)",
              planned and not any(c["type"] == "aws_ecr_registry_policy" for c in changes))
        ok = terraform(example, "apply", variables, "-auto-approve").returncode == 0
        check("terraform apply of examples/two-accounts against moto (two accounts)", ok)
        if not ok:
            return
    fn = moto.client("lambda", REGISTRY).get_function_configuration(FunctionName="ecr-policy-remediator")
    config = json.loads(fn.get("Environment", {}).get("Variables", {}).get("REMEDIATOR_CONFIG", "{}"))
    k8s = next((r for r in config.get("rules", []) if r["name"] == "k8s-mirror"), {})
    check("the k8s-mirror rule asks the function for a pull-through-cache template and the registry statements",
          k8s.get("creationTemplates") == ["PULL_THROUGH_CACHE"] and k8s.get("pullThroughCache") is True, k8s)
    pulling = moto.client("events", PULLING)
    rules = pulling.list_rules(NamePrefix="ecr-policy-remediator-forwarder")["Rules"]
    check("forwarder rule in the pulling account", len(rules) == 1, rules)
    if not rules:
        return
    rule = rules[0]
    check("forwarder rule state is ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS",
          rule.get("State") == "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS")
    target = pulling.list_targets_by_rule(Rule=rule["Name"])["Targets"][0]
    check("forwarder targets the registry account's default bus with a role",
          target["Arn"] == f"arn:aws:events:us-east-1:{REGISTRY}:event-bus/default"
          and target.get("RoleArn", "").startswith(f"arn:aws:iam::{PULLING}:role/"), target)
    bus = moto.client("events", REGISTRY).describe_event_bus(Name="default")
    check("registry bus admits the pulling account", PULLING in bus.get("Policy", ""), bus.get("Policy"))
    # The StackSet template must forward exactly what the Terraform module forwards.
    from cfnlint.decode import cfn_yaml
    template = cfn_yaml.load(str(INFRA / "cloudformation" / "forwarder.yaml"))
    cfn_pattern = json.loads(json.dumps(template["Resources"]["DeniedPullsRule"]["Properties"]["EventPattern"]))
    cfn_pattern["detail"]["requestParameters"]["registryId"] = [REGISTRY]
    check("the CloudFormation forwarder's pattern equals the Terraform forwarder's",
          cfn_pattern == json.loads(rule["EventPattern"]), cfn_pattern)
    hits = routed(moto, PULLING, [rule["Name"]], samples())
    for name, matched in hits.items():
        want = [rule["Name"]] if name.startswith("pull-denied-") else []
        check(f"forwarder pattern: {name} -> {', '.join(matched) or 'no rule'}", matched == want, f"expected {want}")


# Configurations the binary refuses; Terraform must refuse them at plan time too, or the case
# says why it cannot (the function then fails its init with check-config's message).
GOOD_RULE = {"name": "k8s", "repositories": ["registry.k8s.io/*"], "principals": {"accounts": ["222222222222"]}}
REFUSED = [
    ("rule name with a space", [{**GOOD_RULE, "name": "team a"}], True),
    ("pattern with capitals (Team-A/*)", [{**GOOD_RULE, "repositories": ["Team-A/*"]}], True),
    ("pattern a//b", [{**GOOD_RULE, "repositories": ["a//b"]}], True),
    ("pattern *- (a name never ends with '-')", [{**GOOD_RULE, "repositories": ["*-"]}], True),
    ("an exclusion that can never match (UPPER/*)", [{**GOOD_RULE, "exclude": ["UPPER/*"]}], True),
    ("no repository pattern", [{**GOOD_RULE, "repositories": []}], True),
    ("an 11-digit account", [{**GOOD_RULE, "principals": {"accounts": ["22222222222"]}}], True),
    ("an assumed-role session ARN", [{**GOOD_RULE, "principals": {"roles": ["arn:aws:sts::222222222222:assumed-role/node/i-1"]}}], True),
    ("a wildcard role ARN", [{**GOOD_RULE, "principals": {"roles": ["arn:aws:iam::222222222222:role/*"]}}], True),
    ("an organization ID too short", [{**GOOD_RULE, "principals": {"organizations": ["o-short"]}}], True),
    ("an organization path without its ending", [{**GOOD_RULE, "principals": {"organization_paths": ["o-a1b2c3d4e5"]}}], True),
    ("extra action ecr:*", [{**GOOD_RULE, "actions": ["ecr:*"]}], True),
    ("extra action ecr:SetRepositoryPolicy", [{**GOOD_RULE, "actions": ["ecr:SetRepositoryPolicy"]}], True),
    ("create_on_denied_pull naming no account or role", [{**GOOD_RULE, "principals": {"organizations": ["o-a1b2c3d4e5"]}, "create_on_denied_pull": True}], True),
    ("creation_templates on a pattern that is not a namespace", [{**GOOD_RULE, "repositories": ["team-a/api-*"], "creation_templates": ["PULL_THROUGH_CACHE"]}], True),
    ("creation_templates of an unknown kind", [{**GOOD_RULE, "creation_templates": ["ON_PULL"]}], True),
    ("pull_through_cache with exclude", [{**GOOD_RULE, "exclude": ["registry.k8s.io/x"], "pull_through_cache": True}], True),
    ("two rules whose registry Sids collide (team-a, team_a)",
     [{**GOOD_RULE, "name": "team-a", "pull_through_cache": True}, {**GOOD_RULE, "name": "team_a", "registry_grant": True}], True),
    ("two rules with one name", [GOOD_RULE, GOOD_RULE], True),
    ("no rule at all", [], True),
    # Terraform has no way to render the statements and count their characters as ECR does;
    # check-config refuses it, and so does the function's init, with the size.
    ("a rule whose statements alone exceed 10,240 characters",
     [{**GOOD_RULE, "principals": {"roles": [f"arn:aws:iam::222222222222:role/eks-node-role-number-{i:04}" for i in range(200)]}}], False),
]


# The `trust` object: the binary's refusals, and whether Terraform's validation can see them.
GOOD_TRUST = {"mode": "revoke", "accounts": ["555555555555"], "organizations": ["o-a1b2c3d4e5"],
              "organization_paths": ["o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*"], "services": ["lambda.amazonaws.com"]}
REFUSED_TRUST = [
    ("trust.mode other than report or revoke", {"mode": "delete"}, True),
    ("an ARN in trust.accounts", {"accounts": ["arn:aws:iam::555555555555:root"]}, True),
    ("a wildcard in trust.accounts", {"accounts": ["*"]}, True),
    ("an 11-digit trust account", {"accounts": ["55555555555"]}, True),
    ("a wildcard organization in trust.organizations", {"organizations": ["o-*"]}, True),
    ("a trust organization path with an inner wildcard", {"organization_paths": ["o-a1b2c3d4e5/*/ou-ab12-11111111/"]}, True),
    ("a wildcard service in trust.services", {"services": ["*.amazonaws.com"]}, True),
    ("a trust service that is not a service principal", {"services": ["lambda"]}, True),
    # An object variable drops attributes its type does not name, so Terraform cannot see an
    # unknown key; check-config refuses it, and so does the function's init.
    ("an unknown key in trust", {"account": ["555555555555"]}, False),
]


def camel(rule):
    keys = {"create_on_denied_pull": "createOnDeniedPull", "creation_templates": "creationTemplates",
            "pull_through_cache": "pullThroughCache", "registry_grant": "registryGrant",
            "organization_paths": "organizationPaths"}
    if isinstance(rule, list):
        return [camel(r) for r in rule]
    out = {}
    for k, v in rule.items():
        out[keys.get(k, k)] = camel(v) if isinstance(v, dict) else v
    return out


def check_refusals(plugins, moto):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        shutil.copytree(TERRAFORM, tmp / "terraform", ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
        root = tmp / "terraform" / "refusals"
        root.mkdir()
        (root / "main.tf").write_text(
            'variable "rules_json" {\n  type = string\n}\n\n'
            'variable "trust_json" {\n  type    = string\n  default = "null"\n}\n\n'
            'module "remediator" {\n  source       = "../modules/remediator"\n'
            f'  package_path = "{fake_package(tmp)}"\n  rules        = jsondecode(var.rules_json)\n'
            '  trust        = jsondecode(var.trust_json)\n}\n')
        (root / "override.tf").write_text(provider_override(moto.endpoint, [(None, REGISTRY)]))
        init = run(["terraform", "init", "-backend=false", "-input=false", f"-plugin-dir={plugins}"], cwd=root, env=tf_env())
        check("terraform init of the refusal root", init.returncode == 0)
        if init.returncode != 0:
            return
        plan = terraform(root, "plan", {"rules_json": json.dumps([GOOD_RULE])})
        check("a good rule plans", plan.returncode == 0, plan.stdout[-400:] if plan.stdout else "")
        # Rules too large for Lambda's 4 KB of environment fail the first plan, with the way out
        # (the function's role ARN, part of that environment, is known at plan time).
        many = [{**GOOD_RULE, "name": f"rule-{i:02}", "repositories": [f"team-{i:02}/*"],
                 "principals": {"roles": [f"arn:aws:iam::222222222222:role/eks-node-role-{i:02}"]}}
                for i in range(40)]
        big = subprocess.run(["terraform", "plan", "-input=false", "-no-color", "-var",
                              f"rules_json={json.dumps(many)}"], cwd=root, env=tf_env(),
                             capture_output=True, text=True)
        output = big.stdout + big.stderr
        check("rules over Lambda's 4 KB of environment fail the first plan, naming the way out",
              big.returncode != 0 and "4 KB" in output and "config_location" in output, output[-600:])
        print(f"        {'check-config':<13}{'terraform plan':<16}case")
        for what, rules, terraform_can in REFUSED:
            f = tmp / "rules.json"
            f.write_text(json.dumps({"rules": [camel(r) for r in rules]}))
            binary = subprocess.run([*CLI, "check-config", str(f)], cwd=ROOT,
                                    capture_output=True, text=True).returncode == 2
            planned = subprocess.run(["terraform", "plan", "-input=false", "-no-color", "-var",
                                      f"rules_json={json.dumps(rules)}"], cwd=root, env=tf_env(),
                                     capture_output=True, text=True)
            refused = planned.returncode != 0 and "Invalid value for" in (planned.stdout + planned.stderr)
            verdict = lambda r: "refuses" if r else "accepts"
            print(f"        {verdict(binary):<13}{verdict(refused):<16}{what}")
            want = "both refuse" if terraform_can else "check-config refuses; Terraform cannot tell"
            check(f"refused config, {want}: {what}", binary and refused == terraform_can,
                  (planned.stdout + planned.stderr)[-600:])
        check_trust_refusals(root, tmp)


def check_trust_refusals(root, tmp):
    """A good trust object plans and reaches the function as `trust` with camelCase keys, which
    check-config accepts; each bad one is refused by both, or by check-config alone where
    Terraform cannot tell."""
    good = terraform(root, "plan", {"rules_json": json.dumps([GOOD_RULE]), "trust_json": json.dumps(GOOD_TRUST)},
                     "-out=trust.bin")
    shown = run(["terraform", "show", "-json", "trust.bin"], cwd=root, env=tf_env()) if good.returncode == 0 else None
    changes = json.loads(shown.stdout).get("resource_changes", []) if shown else []
    function = next((c["change"]["after"] for c in changes if c["address"] == "module.remediator.aws_lambda_function.this[0]"), {})
    config = json.loads(function.get("environment", [{}])[0].get("variables", {}).get("REMEDIATOR_CONFIG", "{}"))
    check("trust plans and is encoded into REMEDIATOR_CONFIG with camelCase keys",
          config.get("trust") == camel(GOOD_TRUST), config.get("trust") or good.stdout[-400:])
    f = tmp / "trusted.json"
    f.write_text(json.dumps(config))
    accepted = subprocess.run([*CLI, "check-config", str(f)], cwd=ROOT, capture_output=True, text=True)
    check("check-config accepts the rules the module encodes with trust", accepted.returncode == 0, accepted.stderr[-400:])
    plain = terraform(root, "plan", {"rules_json": json.dumps([GOOD_RULE])}, "-out=plain.bin")
    shown = run(["terraform", "show", "-json", "plain.bin"], cwd=root, env=tf_env()) if plain.returncode == 0 else None
    changes = json.loads(shown.stdout).get("resource_changes", []) if shown else []
    function = next((c["change"]["after"] for c in changes if c["address"] == "module.remediator.aws_lambda_function.this[0]"), {})
    config = json.loads(function.get("environment", [{}])[0].get("variables", {}).get("REMEDIATOR_CONFIG", "{}"))
    check("without trust the encoded rules have no trust key", bool(config) and "trust" not in config, config)
    for what, trust, terraform_can in REFUSED_TRUST:
        f = tmp / "rules.json"
        f.write_text(json.dumps({"rules": [camel(GOOD_RULE)], "trust": camel(trust)}))
        binary = subprocess.run([*CLI, "check-config", str(f)], cwd=ROOT, capture_output=True, text=True).returncode == 2
        planned = subprocess.run(["terraform", "plan", "-input=false", "-no-color", "-var",
                                  f"rules_json={json.dumps([GOOD_RULE])}", "-var", f"trust_json={json.dumps(trust)}"],
                                 cwd=root, env=tf_env(), capture_output=True, text=True)
        refused = planned.returncode != 0 and "Invalid value for" in (planned.stdout + planned.stderr)
        want = "both refuse" if terraform_can else "check-config refuses; Terraform cannot tell"
        check(f"refused trust, {want}: {what}", binary and refused == terraform_can,
              (planned.stdout + planned.stderr)[-600:])


def module_root(tmp, plugins, moto, body):
    """A root module in the copied tree that calls the remediator module with body; initialised."""
    if not (tmp / "terraform").exists():
        shutil.copytree(TERRAFORM, tmp / "terraform", ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    root = Path(tempfile.mkdtemp(dir=tmp / "terraform"))
    (root / "main.tf").write_text(f'module "remediator" {{\n  source = "../modules/remediator"\n{body}}}\n')
    (root / "override.tf").write_text(provider_override(moto.endpoint, [(None, REGISTRY)]))
    init = run(["terraform", "init", "-backend=false", "-input=false", f"-plugin-dir={plugins}"], cwd=root, env=tf_env())
    return root if init.returncode == 0 else None


def planned_changes(root):
    plan = terraform(root, "plan", {}, "-out=plan.bin")
    if plan.returncode != 0:
        return None, plan.stdout + plan.stderr
    shown = run(["terraform", "show", "-json", "plan.bin"], cwd=root, env=tf_env())
    return json.loads(shown.stdout), ""


def check_one_rules_file(plugins, moto):
    """Route 2 and the package route read the function's own rules file; the module scopes the
    role from that same file, so the rules and the IAM scoping cannot drift."""
    config = ROOT / "events" / "config.json"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        root = module_root(tmp, plugins, moto, f'  package_path = "{fake_package(tmp)}"\n'
                           f'  config_file = "{config}"\n  config_location = "package"\n')
        plan, error = planned_changes(root) if root else (None, "init failed")
        check("the module plans from the function's rules file (config_file)", plan is not None, error[-600:])
        if plan is None:
            return
        after = {c["address"]: c["change"]["after"] for c in plan.get("resource_changes", [])}
        policy = json.loads(after.get("module.remediator.aws_iam_role_policy.function[0]", {}).get("policy", "{}"))
        statements = {s["Sid"]: s for s in policy.get("Statement", [])}
        repo = f"arn:aws:ecr:us-east-1:{REGISTRY}:repository"
        create = statements.get("CreateOnDeniedPull", {}).get("Resource")
        check("config_file: CreateRepository scoped from the file's createOnDeniedPull rule",
              create == f"{repo}/team-a/*", create)
        templates = statements.get("TemplatesTheRulesAskFor", {}).get("Resource")
        check("config_file: template prerequisites scoped from the file's creationTemplates rule",
              sorted(templates or []) == [f"{repo}/ecr-public/*", f"{repo}/registry.k8s.io/*"], templates)
        env = after.get("module.remediator.aws_lambda_function.this[0]", {}).get("environment", [{}])[0].get("variables", {})
        check("config_file with config_location = package: the function reads the packaged file",
              env.get("REMEDIATOR_CONFIG_FILE") == "/var/task/rules.json" and "REMEDIATOR_CONFIG" not in env, env)
        # In the plan: moto does not keep a function's LoggingConfig.
        logging = after.get("module.remediator.aws_lambda_function.this[0]", {}).get("logging_config", [{}])[0]
        check("function logs JSON lines at the module's level, into its log group (logging_config, planned)",
              logging.get("log_format") == "JSON" and logging.get("application_log_level") == "INFO"
              and logging.get("log_group") == "/aws/lambda/ecr-policy-remediator", logging)

        both = module_root(tmp, plugins, moto, f'  package_path = "{fake_package(tmp)}"\n  config_file = "{config}"\n'
                           '  rules = [{ name = "x", repositories = ["x/*"], principals = { accounts = ["222222222222"] } }]\n')
        plan, error = planned_changes(both) if both else (None, "")
        check("rules and config_file together are refused at plan time",
              plan is None and "not both" in error, error[-400:])
        with_trust = module_root(tmp, plugins, moto, f'  package_path = "{fake_package(tmp)}"\n  config_file = "{config}"\n'
                                 '  trust = { mode = "revoke" }\n')
        plan, error = planned_changes(with_trust) if with_trust else (None, "")
        check("trust and config_file together are refused at plan time (the file's trust is the one read)",
              plan is None and "cannot both be set" in error, error[-400:])

        off = module_root(tmp, plugins, moto, f'  create = false\n  config_file = "{config}"\n')
        plan, error = planned_changes(off) if off else (None, "init failed")
        changes = [c["address"] for c in (plan or {}).get("resource_changes", []) if c["change"]["actions"] != ["no-op"]]
        check("create = false plans nothing", plan is not None and changes == [], changes or error[-400:])


def check_alarm_notifications(plugins, moto):
    """alarm_emails and alarm_actions: every alarm notifies the ARNs given and the topic the module
    creates for the addresses, a topic CloudWatch can publish to (its own KMS key, not aws/sns)."""
    given = f"arn:aws:sns:us-east-1:{REGISTRY}:on-call"
    emails = ["on-call@example.com", "second@example.org"]
    rule = '  rules = [{ name = "k8s", repositories = ["registry.k8s.io/*"], principals = { accounts = ["222222222222"] } }]\n'
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        bad = module_root(tmp, plugins, moto, f'  package_path = "{fake_package(tmp)}"\n{rule}'
                          '  alarm_emails = ["on-call.example.com", "a@b@example.com"]\n')
        plan, error = planned_changes(bad) if bad else (None, "init failed")
        check("alarm_emails without exactly one '@' are refused at plan time",
              plan is None and "Invalid value for variable" in error and "alarm_emails" in error, error[-400:])
        root = module_root(tmp, plugins, moto, f'  package_path = "{fake_package(tmp)}"\n{rule}'
                           f'  alarm_emails  = {json.dumps(emails)}\n  alarm_actions = ["{given}"]\n')
        ok = root is not None and terraform(root, "apply", {}, "-auto-approve").returncode == 0
        check("terraform apply of the module with alarm_emails and alarm_actions against moto", ok)
        if not ok:
            return
    prefix = "ecr-policy-remediator"
    sns, kms, cw = moto.client("sns", REGISTRY), moto.client("kms", REGISTRY), moto.client("cloudwatch", REGISTRY)
    topic = f"arn:aws:sns:us-east-1:{REGISTRY}:{prefix}-alarms"
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    check("alarm_emails: one email subscription per address on the module's topic",
          sorted((s["Protocol"], s["Endpoint"]) for s in subscriptions) == [("email", e) for e in emails], subscriptions)
    alarms = cw.describe_alarms(AlarmNamePrefix=prefix)["MetricAlarms"]
    wrong = {a["AlarmName"]: (a.get("AlarmActions"), a.get("OKActions")) for a in alarms
             if sorted(a.get("AlarmActions", [])) != sorted([given, topic])
             or sorted(a.get("OKActions", [])) != sorted([given, topic])}
    check("every alarm notifies the ARNs of alarm_actions and the topic of alarm_emails, firing and recovering",
          len(alarms) == len(ALARMS) and not wrong, wrong)
    key_id = sns.get_topic_attributes(TopicArn=topic)["Attributes"].get("KmsMasterKeyId", "")
    check("the alarm topic is encrypted with a key of its own, not alias/aws/sns (CloudWatch cannot use that one)",
          key_id.startswith(f"arn:aws:kms:us-east-1:{REGISTRY}:key/"), key_id)
    if not key_id.startswith("arn:"):
        return
    policy = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    cloudwatch = [s for s in policy["Statement"] if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    actions = sorted(a for s in cloudwatch for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))
    check("the topic's key lets CloudWatch publish (kms:Decrypt, kms:GenerateDataKey*) and rotates",
          actions == ["kms:Decrypt", "kms:GenerateDataKey*"]
          and kms.get_key_rotation_status(KeyId=key_id).get("KeyRotationEnabled") is True, policy)


TF_VARIABLE = re.compile(r'^variable "([a-z0-9_]+)"', re.M)
TF_OUTPUT = re.compile(r'^output "([a-z0-9_]+)"', re.M)
README_ROW = re.compile(r"^\| `([a-z0-9_]+)` \|", re.M)


def readme_table(readme, heading):
    """The names in the first column of the table under a '## heading' of a module README."""
    text = readme.read_text()
    start = text.find(f"## {heading}")
    if start < 0:
        return None
    end = text.find("\n## ", start + 1)
    return sorted(README_ROW.findall(text[start:end if end > 0 else len(text)]))


def check_module_docs():
    for module in sorted(TERRAFORM.glob("modules/*")):
        tf = "".join(p.read_text() for p in module.glob("*.tf"))
        readme = module / "README.md"
        for heading, pattern in [("Inputs", TF_VARIABLE), ("Outputs", TF_OUTPUT)]:
            want = sorted(pattern.findall(tf))
            have = readme_table(readme, heading)
            check(f"{module.name}/README.md: the {heading.lower()} table names exactly the module's {heading.lower()}",
                  have == want, f"README {have}, .tf {want}")
    for example in sorted(TERRAFORM.glob("examples/*")):
        check(f"examples/{example.name} has a README", (example / "README.md").is_file())


def check_checkov():
    """checkov skips a file it cannot parse and still exits 0: count parse errors as failures,
    or a whole file's resources go unchecked without anyone noticing."""
    result = run([str(VENV_BIN / "checkov"), "-d", str(INFRA), "--framework", "terraform",
                  "cloudformation", "--skip-download", "-o", "json"])
    try:
        reports = json.loads(result.stdout)
    except json.JSONDecodeError:
        check("checkov over infra/: runs", False, result.stderr[-2000:])
        return
    for report in reports if isinstance(reports, list) else [reports]:
        kind, summary = report.get("check_type"), report.get("summary", {})
        failed = [f"{c['check_id']} {c['resource']} ({c['file_path']})"
                  for c in report.get("results", {}).get("failed_checks", [])]
        check(f"checkov {kind}: {summary.get('passed')} passed, no failed check", not failed, failed)
        check(f"checkov {kind}: every file parsed", summary.get("parsing_errors") == 0,
              report.get("results", {}).get("parsing_errors"))


def check_build_commands():
    """Route 2's build and the command the module's 4 KB error suggests work as written, with no
    zig: Cargo.toml sets cargo-lambda's compiler to cargo. `make build` compiled the release
    binary already, so these only link and zip again; `make build`'s own zip is made again last."""
    lambda_dir = TARGET / "lambda" / "ecr-policy-remediator-lambda"
    route2 = run(["cargo", "lambda", "build", "--release", "--bin", "ecr-policy-remediator-lambda"], cwd=ROOT)
    check("route 2's `cargo lambda build --release --bin ecr-policy-remediator-lambda` works as written",
          route2.returncode == 0 and (lambda_dir / "bootstrap").is_file(), route2.stderr[-500:])
    main_tf = (TERRAFORM / "modules" / "remediator" / "main.tf").read_text()
    suggested = re.search(r"build with `(cargo lambda build [^`]*)`", main_tf)
    rules = ROOT / "rules.json"  # the file name the suggestion packages, relative to the checkout
    made_here = not rules.exists()
    try:
        if made_here:
            shutil.copy(EVENTS / "config.json", rules)
        argv = suggested.group(1).split() if suggested else []
        result = run(argv, cwd=ROOT) if argv else None
        zipped = lambda_dir / "bootstrap.zip"
        names = zipfile.ZipFile(zipped).namelist() if zipped.is_file() else []
    finally:
        if made_here:
            rules.unlink(missing_ok=True)
    check("the module's 4 KB error suggests a build command that works and packages rules.json",
          result is not None and result.returncode == 0 and "bootstrap" in names and "rules.json" in names,
          f"{suggested and suggested.group(1)}: {names}")
    again = run(["make", "build"], cwd=ROOT)
    check("make build's zip is made again after the route 2 builds", again.returncode == 0)


def main():
    env = tf_env()
    fmt = run(["terraform", "fmt", "-check", "-recursive", str(TERRAFORM)], env=env, quiet=False)
    check("terraform fmt -check -recursive", fmt.returncode == 0)
    check_module_docs()

    plugins = plugin_dir()
    if plugins is None:
        print("no local Terraform provider mirror (set TF_PLUGIN_DIR, or provide a tf-plugins "
              "directory): skipping terraform init, validate and the applies against moto")
    else:
        print(f"Terraform providers from {plugins}")
        for module in sorted(TERRAFORM.glob("modules/*")) + sorted(TERRAFORM.glob("examples/*")):
            with tempfile.TemporaryDirectory() as tmp:
                copy = Path(tmp) / "terraform"
                shutil.copytree(TERRAFORM, copy, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
                where = copy / module.relative_to(TERRAFORM)
                init = run(["terraform", "init", "-backend=false", "-input=false", f"-plugin-dir={plugins}"], cwd=where, env=env)
                valid = init.returncode == 0 and run(["terraform", "validate"], cwd=where, env=env).returncode == 0
                check(f"terraform init and validate {module.relative_to(TERRAFORM)}", valid)
        for check_example in [check_single_account, check_two_accounts, check_refusals, check_one_rules_file,
                              check_alarm_notifications]:
            moto = Moto()
            try:
                check_example(plugins, moto)
            finally:
                moto.stop()

    check_build_commands()
    check_checkov()
    cfn = run([str(VENV_BIN / "cfn-lint"), str(INFRA / "cloudformation" / "forwarder.yaml")], quiet=False)
    check("cfn-lint infra/cloudformation/forwarder.yaml", cfn.returncode == 0)

    print(f"infra: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
