#!/usr/bin/env bash
# The README's first command (`make demo`): a local ECR (moto) holding the repositories the sample
# events talk about, the function under `cargo lambda watch`, every sample sent with
# `cargo lambda invoke`, then the policies it left. Stops everything it started.
#
# It never hangs and never lies: the watch does not reload the function when a file in the
# checkout changes (`--ignore-changes`: `make demo > demo.log` inside the clone, or an editor saving
# a file, used to leave the pending invocation waiting for ever), every wait and every invocation
# has a deadline, and an invocation that times out, exits non-zero, answers no outcome, or answers
# `failed` when its sample is not meant to, makes the demo exit non-zero with the event named on
# its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
# Seconds one `cargo lambda invoke` may take (both binaries are built before the watch starts), and
# one run of the command line.
INVOKE_TIMEOUT=${DEMO_INVOKE_TIMEOUT:-120}
CLI_TIMEOUT=${DEMO_CLI_TIMEOUT:-300}

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# wait_port PORT SECONDS PID: until something listens on PORT, for at most SECONDS, and only while
# process PID (the server meant to listen there) lives.
wait_port() {
  "$PY" -c '
import os, socket, sys, time
port, seconds, pid = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
deadline = time.monotonic() + seconds
while time.monotonic() < deadline:
    try:
        socket.create_connection(("127.0.0.1", port), 1).close()
        sys.exit(0)
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit(f"the server meant to listen on 127.0.0.1:{port} exited")
    time.sleep(0.5)
sys.exit(f"nothing listens on 127.0.0.1:{port} after {seconds:.0f}s")
' "$@"
}
# bounded SECONDS COMMAND...: COMMAND in a session (process group) of its own, the whole group
# killed when SECONDS pass (exit 124, as timeout(1), which macOS lacks) or the demo is interrupted.
bounded() {
  "$PY" -c '
import os, signal, subprocess, sys
p = subprocess.Popen(sys.argv[2:], start_new_session=True)
def stop(signum, _frame):
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    sys.exit(128 + signum)
signal.signal(signal.SIGINT, stop)
signal.signal(signal.SIGTERM, stop)
try:
    sys.exit(p.wait(timeout=float(sys.argv[1])))
except subprocess.TimeoutExpired:
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    sys.exit(124)
' "$@"
}
# The command line, as built at the start (a file changed since then rebuilds nothing mid-demo),
# under its deadline, its log appended to cli.log. When it fails, the step is named among the
# failures and the end of its log shown, and the demo stops there.
cli() {
  local rc=0 why
  bounded "$CLI_TIMEOUT" "$CLI_BIN" "$@" 2>"$LOGS/cli-last.log" || rc=$?
  cat "$LOGS/cli-last.log" >>"$LOGS/cli.log"
  if [ "$rc" -ne 0 ]; then
    if [ "$rc" -eq 124 ]; then why="no answer after ${CLI_TIMEOUT}s"; else why="exit $rc"; fi
    echo "ecr-policy-remediator $* ($why)" >>"$LOGS/failures"
    tail -n 20 "$LOGS/cli-last.log" | sed 's/^/   ! /' >&2
  fi
  return "$rc"
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
: >"$LOGS/failures"
pids=""  # a string, not an array: an empty array is "unbound" to bash 3 under set -u
cleanup() {
  local pid alive
  for pid in $pids; do kill "$pid" 2>/dev/null || true; done
  # A bounded wait: what has not stopped after ten seconds is killed.
  for _ in $(seq 1 20); do
    alive=0
    for pid in $pids; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" -eq 0 ] && break
    sleep 0.5
  done
  for pid in $pids; do kill -9 "$pid" 2>/dev/null || true; done
}
# The last line says whether the demo did what it showed: every failure named, or where it stopped.
finish() {
  local rc=$?
  trap - EXIT INT TERM
  cleanup
  if [ -s "$LOGS/failures" ]; then
    echo "==> demo FAILED, $(wc -l <"$LOGS/failures" | tr -d ' ') failure(s) (logs in $LOGS): $(awk 'NR > 1 { printf "; " } { printf "%s", $0 }' "$LOGS/failures")" >&2
    [ "$rc" -eq 0 ] && rc=1
  elif [ "$rc" -ne 0 ]; then
    echo "==> demo FAILED: it stopped at the step above (exit $rc; logs in $LOGS)" >&2
  fi
  exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT" AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_EC2_METADATA_DISABLED=true

echo "==> moto (ECR emulator, registry 111111111111) on 127.0.0.1:$MOTO_PORT, with the ECR operations it lacks"
MOTO_ACCOUNT_ID=111111111111 "$PY" scripts/moto_ext.py -H 127.0.0.1 -p "$MOTO_PORT" >"$LOGS/moto.log" 2>&1 &
pids="$pids $!"
wait_port "$MOTO_PORT" 60 "$!"
"$PY" - <<'PY'
import boto3
ecr = boto3.client("ecr")
for prefix, upstream in [("registry.k8s.io", "registry.k8s.io"), ("ecr-public", "public.ecr.aws")]:
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix=prefix, upstreamRegistryUrl=upstream)
    print(f"   pull-through-cache rule {prefix} -> {upstream}")
PY

echo "==> building the function and the command line (the first build takes a few minutes)"
# Built before the watch starts, so that no invocation waits on a compiler; cargo names the binaries.
CLI_BIN=$(cargo build --quiet --bin ecr-policy-remediator-lambda --bin ecr-policy-remediator \
            --message-format json-render-diagnostics | "$PY" -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "ecr-policy-remediator" and m.get("executable"):
        print(m["executable"])
')
[ -x "$CLI_BIN" ] || { echo "cargo build named no ecr-policy-remediator binary" >&2; exit 1; }

echo "==> before any repository exists: what the rules imply for the registry (plan --registry)"
cli plan --config events/config.json --registry | sed 's/^/   /'
echo "==> reconcile puts the registry policy and the creation templates in place"
cli reconcile --config events/config.json | sed 's/^/   /'

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

echo "==> cargo lambda watch on 127.0.0.1:$INVOKE_PORT, not reloading on changes (--ignore-changes)"
cargo lambda watch --ignore-changes --invoke-address 127.0.0.1 --invoke-port "$INVOKE_PORT" \
  --env-vars "REMEDIATOR_CONFIG_FILE=$PWD/events/config.json,REMEDIATOR_SELF_ROLE_ARN=arn:aws:iam::111111111111:role/ecr-xacct-grant-role,AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL,AWS_REGION=$AWS_REGION,AWS_ACCESS_KEY_ID=testing,AWS_SECRET_ACCESS_KEY=testing,AWS_EC2_METADATA_DISABLED=true" \
  >"$LOGS/watch.log" 2>&1 &
pids="$pids $!"
wait_port "$INVOKE_PORT" 120 "$!"

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
# After two invocations in a row time out, the function is taken as wedged: the events left are
# named as not sent rather than each waiting out its own deadline.
timeouts=0
stalled=""
not_sent=""
for event in events/*.json; do
  [ "$event" = events/config.json ] && continue
  name=$(basename "$event")
  if [ -n "$stalled" ]; then
    printf '   %-50s %s\n' "$name" "NOT SENT: the function stopped answering at $stalled"
    not_sent="$not_sent${not_sent:+, }$name"
    continue
  fi
  # The drift samples record a change; make that change for real first.
  case "$event" in
    */policy-changed-statement-removed.json) drift "set" "team-a/payments-api" ;;
    */policy-changed-deleted.json) drift "delete" "team-a/ledger" ;;
    */registry-policy-deleted.json) drift "registry-delete" "-" ;;
    */template-updated.json) drift "template-edit" "registry.k8s.io" ;;
  esac
  rc=0
  bounded "$INVOKE_TIMEOUT" cargo lambda invoke ecr-policy-remediator-lambda \
    --invoke-address 127.0.0.1 --invoke-port "$INVOKE_PORT" --data-file "$event" --output-format json \
    >"$LOGS/invoke.out" 2>"$LOGS/invoke.err" || rc=$?
  cat "$LOGS/invoke.err" >>"$LOGS/invoke.log"
  # The line of the table; a failure also goes to the failures file, with why.
  "$PY" scripts/outcome_line.py "$name" --exit "$rc" --timeout "$INVOKE_TIMEOUT" \
    --stderr "$LOGS/invoke.err" --failures "$LOGS/failures" <"$LOGS/invoke.out"
  if [ "$rc" -eq 124 ]; then timeouts=$((timeouts + 1)); else timeouts=0; fi
  if [ "$timeouts" -ge 2 ]; then stalled=$name; fi
done
if [ -n "$not_sent" ]; then
  echo "not sent, the function having stopped answering at $stalled: $not_sent" >>"$LOGS/failures"
fi

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
cli access --config events/config.json | sed 's/^/   /'
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
cli reconcile --config "$LOGS/config-smaller.json" --dry-run | sed 's/^/   /'
echo "   reconcile: and now for real"
cli reconcile --config "$LOGS/config-smaller.json" | sed 's/^/   /'
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

echo "==> a trust boundary: nobody outside the rules may pull (issue 16)"
"$PY" - "$LOGS" <<'PY'
import boto3, json, sys
logs = sys.argv[1]
ecr = boto3.client("ecr")
repo = "team-a/ledger"
try:
    policy = json.loads(ecr.get_repository_policy(repositoryName=repo)["policyText"])
except ecr.exceptions.RepositoryPolicyNotFoundException:
    policy = {"Version": "2012-10-17", "Statement": []}
policy["Statement"] += [
    {"Sid": "ContractorPull", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
     "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]},
    {"Sid": "Everyone", "Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage"},
    {"Sid": "LambdaECRImageRetrievalPolicy", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
     "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]},
]
ecr.set_repository_policy(repositoryName=repo, policyText=json.dumps(policy))
print(f"   (someone grants {repo} to account 999999999999, to everyone, and to Lambda's service)")
config = json.load(open(f"{logs}/config-smaller.json"))
for mode in ("report", "revoke"):
    json.dump({**config, "trust": {"mode": mode}}, open(f"{logs}/config-trust-{mode}.json", "w"), indent=2)
PY
echo "   mode report: access --untrusted lists every grant outside the rules; nothing is changed"
cli access --config "$LOGS/config-trust-report.json" --untrusted | sed 's/^/   /'
echo "   mode revoke: reconcile --dry-run shows each principal it would take back"
cli reconcile --config "$LOGS/config-trust-revoke.json" --dry-run | sed 's/^/   /'
echo "   mode revoke: and now for real"
cli reconcile --config "$LOGS/config-trust-revoke.json" | sed 's/^/   /'
"$PY" - <<'PY'
import boto3, json
ecr = boto3.client("ecr")
statements = json.loads(ecr.get_repository_policy(repositoryName="team-a/ledger")["policyText"])["Statement"]
sids = [s.get("Sid") for s in statements]
print("   team-a/ledger now holds:", ", ".join(sids))
assert "ContractorPull" not in sids and "Everyone" not in sids, "the untrusted and public grants are gone"
assert "LambdaECRImageRetrievalPolicy" in sids, "a service statement is reported, never removed"
assert any(s.startswith("EcrPolicyRemediator-team-a-") for s in sids), "the rules' own grant stays"
PY
