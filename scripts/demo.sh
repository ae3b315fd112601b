#!/usr/bin/env bash
# The README's first command (`make demo`): a local ECR (moto) holding the repositories the sample
# events talk about, the function under `cargo lambda watch`, every sample sent with
# `cargo lambda invoke`, then the policies it left. Stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 1 "${2:-600}"); do
    "$PY" -c "import socket,sys; socket.create_connection(('127.0.0.1', $1), 1)" 2>/dev/null && return 0
    sleep 1
  done
  echo "nothing listens on 127.0.0.1:$1" >&2; return 1
}

drift() {
  "$PY" - "$1" "$2" <<'PY'
import boto3, json, sys
action, repo = sys.argv[1], sys.argv[2]
ecr = boto3.client("ecr")
if action == "delete":
    ecr.delete_repository_policy(repositoryName=repo)
    print(f"   (someone deletes the policy of {repo})")
elif action == "registry-delete":
    ecr.delete_registry_policy()
    print("   (someone deletes the registry policy)")
elif action == "template-edit":
    ecr.update_repository_creation_template(prefix=repo, appliedFor=["REPLICATION"],
                                            repositoryPolicy='{"Version":"2012-10-17","Statement":[]}')
    print(f"   (someone empties the policy of template {repo} and changes what it applies for)")
else:
    ecr.set_repository_policy(repositoryName=repo, policyText=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "PlatformBreakGlass", "Effect": "Allow",
         "Principal": {"AWS": "arn:aws:iam::111111111111:role/platform-admin"}, "Action": ["ecr:*"]}]}))
    print(f"   (someone rewrites the policy of {repo}, keeping only their own statement)")
PY
}

MOTO_PORT=$(free_port)
INVOKE_PORT=$(free_port)
LOGS=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

export AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT" AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_EC2_METADATA_DISABLED=true

echo "==> moto (ECR emulator, registry 111111111111) on 127.0.0.1:$MOTO_PORT, with the ECR operations it lacks"
MOTO_ACCOUNT_ID=111111111111 "$PY" scripts/moto_ext.py -H 127.0.0.1 -p "$MOTO_PORT" >"$LOGS/moto.log" 2>&1 &
pids+=($!)
wait_port "$MOTO_PORT" 60
"$PY" - <<'PY'
import boto3
ecr = boto3.client("ecr")
for prefix, upstream in [("registry.k8s.io", "registry.k8s.io"), ("ecr-public", "public.ecr.aws")]:
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix=prefix, upstreamRegistryUrl=upstream)
    print(f"   pull-through-cache rule {prefix} -> {upstream}")
PY

echo "==> before any repository exists: what the rules imply for the registry (plan --registry)"
cargo run --quiet --bin ecr-policy-remediator -- plan --config events/config.json --registry 2>>"$LOGS/cli.log" | sed 's/^/   /'
echo "==> reconcile puts the registry policy and the creation templates in place"
cargo run --quiet --bin ecr-policy-remediator -- reconcile --config events/config.json 2>>"$LOGS/cli.log" | sed 's/^/   /'

echo "==> the registry before: six repositories, one with a statement of its own"
"$PY" - <<'PY'
import boto3, json
ecr = boto3.client("ecr")
# team-a/legacy-api predates the function: no event will ever name it; the sweep finds it.
for name in ["team-a/payments-api", "team-a/billing-worker", "team-a/ledger", "scratch/experiment", "team-a/legacy-api"]:
    ecr.create_repository(repositoryName=name)
    print("   created", name)
# Pull-through cache creates registry.k8s.io/pause on the first pull, from the template: the
# repository has its policy from its first moment (moto has no pull-through cache; this is what
# ECR does with the template).
template = ecr.describe_repository_creation_templates(prefixes=["registry.k8s.io"])["repositoryCreationTemplates"][0]
ecr.create_repository(repositoryName="registry.k8s.io/pause")
ecr.set_repository_policy(repositoryName="registry.k8s.io/pause", policyText=template["repositoryPolicy"])
print("   pull-through cache created registry.k8s.io/pause from template registry.k8s.io: its policy is there already")
ecr.set_repository_policy(repositoryName="team-a/payments-api", policyText=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Sid": "PlatformBreakGlass", "Effect": "Allow",
                   "Principal": {"AWS": "arn:aws:iam::111111111111:role/platform-admin"}, "Action": ["ecr:*"]}]}))
print("   team-a/payments-api has statement PlatformBreakGlass")
PY

echo "==> cargo lambda watch on 127.0.0.1:$INVOKE_PORT (first build can take a minute)"
cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$INVOKE_PORT" \
  --env-vars "REMEDIATOR_CONFIG_FILE=$PWD/events/config.json,REMEDIATOR_SELF_ROLE_ARN=arn:aws:iam::111111111111:role/ecr-xacct-grant-role,AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL,AWS_REGION=$AWS_REGION,AWS_ACCESS_KEY_ID=testing,AWS_SECRET_ACCESS_KEY=testing,AWS_EC2_METADATA_DISABLED=true" \
  >"$LOGS/watch.log" 2>&1 &
pids+=($!)
wait_port "$INVOKE_PORT" 600

"$PY" - "$LOGS/before.json" <<'PY'
import boto3, json, sys
ecr = boto3.client("ecr")
policies = {}
for r in ecr.describe_repositories()["repositories"]:
    try:
        policies[r["repositoryName"]] = json.loads(ecr.get_repository_policy(repositoryName=r["repositoryName"])["policyText"])
    except ecr.exceptions.RepositoryPolicyNotFoundException:
        policies[r["repositoryName"]] = None
json.dump(policies, open(sys.argv[1], "w"))
PY

echo "==> every sample event, in order (rules: events/config.json)"
for event in events/*.json; do
  [ "$event" = events/config.json ] && continue
  # The drift samples record a change; make that change for real first.
  case "$event" in
    */policy-changed-statement-removed.json) drift "set" "team-a/payments-api" ;;
    */policy-changed-deleted.json) drift "delete" "team-a/ledger" ;;
    */registry-policy-deleted.json) drift "registry-delete" "-" ;;
    */template-updated.json) drift "template-edit" "registry.k8s.io" ;;
  esac
  out=$(cargo lambda invoke ecr-policy-remediator-lambda --invoke-address 127.0.0.1 --invoke-port "$INVOKE_PORT" \
        --data-file "$event" --output-format json 2>&1) || true
  printf '%s\n' "$out" | "$PY" scripts/outcome_line.py "$(basename "$event")"
done

echo "==> the registry after, each repository's change by statement (Sid) since before the events"
"$PY" - "$LOGS/before.json" <<'PY'
import boto3, json, sys
ecr = boto3.client("ecr")
before = json.load(open(sys.argv[1]))
def sids(doc):
    return {s.get("Sid", "(no Sid)"): s for s in (doc or {}).get("Statement", [])}
for repo in sorted(r["repositoryName"] for r in ecr.describe_repositories()["repositories"]):
    try:
        after = json.loads(ecr.get_repository_policy(repositoryName=repo)["policyText"])
    except ecr.exceptions.RepositoryPolicyNotFoundException:
        after = None
    old, new = sids(before.get(repo)), sids(after)
    lines = [f"+ {sid}" for sid in new if sid not in old]
    lines += [f"- {sid}" for sid in old if sid not in new]
    lines += [f"~ {sid}" for sid in new if sid in old and old[sid] != new[sid]]
    lines += [f"  {sid}" for sid in new if sid in old and old[sid] == new[sid]]
    state = "no policy" if after is None else f"{len(new)} statement(s)"
    print(f"   {repo} ({'new' if repo not in before else 'existing'}, now {state})")
    for line in lines:
        print(f"      {line}")
PY
echo "==> who can pull and push what, and which rule explains it (access)"
cargo run --quiet --bin ecr-policy-remediator -- access --config events/config.json 2>>"$LOGS/cli.log" | sed 's/^/   /'
echo "==> warnings and errors the function and the command line logged:"
# Their own log lines only: JSON objects at level WARN or ERROR, and a panic's line should one ever
# happen. The watch log also holds cargo's and cargo-lambda's lines, and the function's metrics.
# lambda_runtime warns that AWS_LAMBDA_MAX_CONCURRENCY is set: cargo lambda watch sets it for every
# function it runs, Lambda does not (outside Managed Instances), so that line is the emulator's.
"$PY" - "$LOGS/watch.log" "$LOGS/cli.log" <<'PY'
import json, sys
shown = emulator = 0
for path in sys.argv[1:]:
    for line in open(path, errors="replace"):
        line = line.rstrip("\n")
        try:
            record = json.loads(line)
        except ValueError:
            if "panicked at" in line:
                print("   " + line)
                shown += 1
            continue
        if not isinstance(record, dict) or record.get("level") not in ("WARN", "ERROR"):
            continue
        if str(record.get("message", "")).startswith("AWS_LAMBDA_MAX_CONCURRENCY is set"):
            emulator += 1
            continue
        print("   " + line)
        shown += 1
if not shown:
    print("   none")
if emulator:
    print("   (left out: the runtime's warning that cargo lambda watch set AWS_LAMBDA_MAX_CONCURRENCY,"
          " which Lambda does not)")
PY

echo "==> two rules are taken away: k8s-mirror (templates, registry policy, pull-through cache) and team-a-ci"
"$PY" - "$LOGS/config-smaller.json" <<'PY'
import json, sys
config = json.load(open("events/config.json"))
config["rules"] = [r for r in config["rules"] if r["name"] not in ("k8s-mirror", "team-a-ci")]
json.dump(config, open(sys.argv[1], "w"), indent=2)
PY
echo "   reconcile --dry-run: the diff of every grant it would take back, in all three kinds of document"
cargo run --quiet --bin ecr-policy-remediator -- reconcile --config "$LOGS/config-smaller.json" --dry-run 2>>"$LOGS/cli.log" | sed 's/^/   /'
echo "   reconcile: and now for real"
cargo run --quiet --bin ecr-policy-remediator -- reconcile --config "$LOGS/config-smaller.json" 2>>"$LOGS/cli.log" | sed 's/^/   /'
"$PY" - <<'PY'
import boto3, json
ecr = boto3.client("ecr")
text = ecr.get_repository_policy(repositoryName="team-a/payments-api")["policyText"]
sids = [s.get("Sid") for s in json.loads(text)["Statement"]]
print("   team-a/payments-api now holds:", ", ".join(sids))
assert "EcrPolicyRemediator-team-a-ci-Principals" not in sids, "the CI grant is gone"
assert "PlatformBreakGlass" in sids, "the foreign statement stays"
templates = ecr.describe_repository_creation_templates()["repositoryCreationTemplates"]
print("   creation templates left:", [t["prefix"] for t in templates] or "none")
assert not templates, "the function's templates are gone with their rule"
try:
    ecr.get_registry_policy()
    raise SystemExit("the registry policy should be gone: it held only the function's statements")
except ecr.exceptions.RegistryPolicyNotFoundException:
    print("   registry policy: deleted, nothing was left in it")
PY
