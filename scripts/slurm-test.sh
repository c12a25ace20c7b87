#!/usr/bin/env bash
# A real Slurm run of sharded sgdlab ensembles on this machine: installs slurm-wlm and munge
# (as root, with apt), starts a single-node cluster (slurmctld + slurmd, the node's real CPUs
# and memory) and submits two job arrays whose tasks read their shard from
# SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT and write their own stores:
#  1. an escape ensemble: the shard stores are merged, the command rerun on the merged store
#     computes nothing, and its rates and stored trajectories equal an unsharded run's;
#  2. the README's array job for `reproduce E5`: merged, the report equals the unsharded
#     report and every stored run is identical, trajectory for trajectory.
# Then it times the escape ensemble with 1 and 2 workers (the scaling on this machine).
#
#   sudo scripts/slurm-test.sh            # prints the timings and PASS, or the difference
set -euo pipefail
cd "$(dirname "$0")/.."
TASKS=${TASKS:-4}
RUNS=${RUNS:-2000}
WORK=$(mktemp -d /tmp/sgdlab-slurm.XXXXXX)
trap 'scancel --user=root >/dev/null 2>&1 || true; pkill slurmd || true; pkill slurmctld || true' EXIT

if ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi
go build -o "$WORK/sgdlab" ./cmd/sgdlab

# munge: a key and the daemon.
if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
fi
mkdir -p /run/munge /var/lib/munge /var/log/munge
chown -R munge:munge /etc/munge /var/lib/munge /var/log/munge /run/munge 2>/dev/null || true
chmod 400 /etc/munge/munge.key
pgrep munged >/dev/null || runuser -u munge -- /usr/sbin/munged

# A single-node cluster with the machine's real resources.
HOST=$(hostname -s)
CPUS=$(nproc)
MEM=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=sgdlab
SlurmctldHost=$HOST
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmdSpoolDir=/var/spool/slurmd
StateSaveLocation=/var/spool/slurmctld
SlurmUser=root
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
NodeName=$HOST CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
pgrep slurmctld >/dev/null || slurmctld
pgrep slurmd >/dev/null || slurmd
for _ in $(seq 60); do
  sinfo -h -o %T 2>/dev/null | grep -qE 'idle|mixed' && break
  sleep 1
done
sinfo

# submit NAME TASKS COMMAND...: a job array whose task i runs COMMAND with its shard taken from
# SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT (as in the README), waits for it and prints
# the wall time; each task's output goes to $WORK/NAME-i.log.
submit() {
  local name=$1 tasks=$2
  shift 2
  local start job
  start=$(date +%s.%N)
  job=$(sbatch --parsable --array=0-$((tasks - 1)) --cpus-per-task=1 --output="$WORK/$name-%a.log" \
    --wrap "cd $PWD && $*")
  echo "submitted job array $job ($name, $tasks tasks)"
  while squeue -h -j "$job" 2>/dev/null | grep -q .; do sleep 1; done
  echo "$name: job array of $tasks tasks took $(echo "$(date +%s.%N) - $start" | bc) s wall"
}

# same_records A.db B.db: every run of B is in A with the same trajectories, record for record.
same_records() {
  "$WORK/sgdlab" runs "$1" --json > "$WORK/a.json"
  "$WORK/sgdlab" runs "$2" --json > "$WORK/b.json"
  python3 - "$WORK/a.json" "$WORK/b.json" <<'PY' | while read -r key; do
import json, sys
a, b = ({r["key"]: r for r in json.load(open(p))} for p in sys.argv[1:3])
assert a.keys() == b.keys(), ("different runs", sorted(a), sorted(b))
for k in sorted(b):
    print(k)
PY
    "$WORK/sgdlab" runs "$1" --run "key:$key" --export json --out "$WORK/a-$key.json"
    "$WORK/sgdlab" runs "$2" --run "key:$key" --export json --out "$WORK/b-$key.json"
    python3 - "$WORK/a-$key.json" "$WORK/b-$key.json" "$key" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for r in (a, b):
    r["run"].pop("created", None)  # when the record was opened: differs between stores, nothing else may
assert a == b, f"run {sys.argv[3]} differs"
print(f"run {sys.argv[3]} ({a['run']['kind']}): {len(a['trajectories'])} trajectories, identical")
PY
  done
}

# 1. An escape ensemble of 1-D regression, two loss levels.
CMD=(escape --model linear --data gauss:N=10000,d=1 --eta 0.1 --batch 1 --sampling replacement --exit loss:c=1.5,2
  --runs "$RUNS" --seed 7 --workers 1 --quiet --json)
submit escape "$TASKS" "\"$WORK/sgdlab\" ${CMD[*]} --store \"$WORK/shard\$SLURM_ARRAY_TASK_ID.db\"" \
  "> \"$WORK/shard\$SLURM_ARRAY_TASK_ID.json\""
for i in $(seq 0 $((TASKS - 1))); do
  grep -q '"shard": "'"$i/$TASKS"'"' "$WORK/shard$i.json" ||
    { echo "task $i did not run shard $i/$TASKS"; cat "$WORK/escape-$i.log"; exit 1; }
done
"$WORK/sgdlab" merge "$WORK/merged.db" "$WORK"/shard*.db
"$WORK/sgdlab" "${CMD[@]}" --store "$WORK/merged.db" > "$WORK/merged.json"
"$WORK/sgdlab" "${CMD[@]}" --workers 0 --store "$WORK/single.db" > "$WORK/single.json"
python3 - "$WORK/merged.json" "$WORK/single.json" <<'PY'
import json, sys
m, s = (json.load(open(p)) for p in sys.argv[1:3])
assert m["trajectories"]["computed"] == 0, "the merged store should hold every run"
for a, b in zip(m["rates"], s["rates"]):
    for k in ("level", "escaped", "censored", "rate", "mfpt"):
        assert a[k] == b[k], (k, a[k], b[k])
print("escape: merged shards equal the unsharded run at every level:",
      ", ".join(f'c={r["level"]}: MFPT {r["mfpt"]:.5g} t' for r in m["rates"]))
PY
same_records "$WORK/merged.db" "$WORK/single.db"

# 2. The README's array job for the quick E5 (every ensemble of the experiment sharded).
submit e5 "$TASKS" "\"$WORK/sgdlab\" reproduce E5 --quiet --out \"$WORK/e5-\$SLURM_ARRAY_TASK_ID\"" \
  "--store \"$WORK/e5-\$SLURM_ARRAY_TASK_ID.db\" > /dev/null"
"$WORK/sgdlab" merge "$WORK/e5all.db" "$WORK"/e5-*.db
start=$(date +%s.%N)
"$WORK/sgdlab" reproduce E5 --quiet --out "$WORK/e5merged" --store "$WORK/e5all.db" > /dev/null
echo "E5 on the merged store: $(echo "$(date +%s.%N) - $start" | bc) s (renders the report, computes no ensemble)"
start=$(date +%s.%N)
"$WORK/sgdlab" reproduce E5 --quiet --out "$WORK/e5single" > /dev/null
echo "E5 unsharded on $(nproc) cores: $(echo "$(date +%s.%N) - $start" | bc) s"
python3 - "$WORK/e5merged/report.json" "$WORK/e5single/report.json" <<'PY'
import json, sys
def strip(x):
    # the start time and wall times differ between runs; nothing else may
    if isinstance(x, dict):
        return {k: strip(v) for k, v in x.items() if k not in ("elapsed_s", "started")}
    if isinstance(x, list):
        return [strip(v) for v in x]
    return x
m, s = (strip(json.load(open(p))) for p in sys.argv[1:3])
assert m == s, "the E5 report from the merged shards differs from the unsharded one"
print("E5: the report from the merged shard stores equals the unsharded report")
PY
same_records "$WORK/e5all.db" "$WORK/e5single/runs.db"

# 3. How the ensemble time scales from 1 to 2 workers on this machine (ten times the runs,
# so that the fixed costs of a command are small beside the ensemble).
for w in 1 2; do
  start=$(date +%s.%N)
  "$WORK/sgdlab" escape --model linear --data gauss:N=10000,d=1 --eta 0.1 --batch 1 --sampling replacement \
    --exit loss:c=1.5,2 --runs $((10 * RUNS)) --seed 7 --workers "$w" --quiet --json > /dev/null
  echo "escape ensemble, $((10 * RUNS)) runs, $w worker(s): $(echo "$(date +%s.%N) - $start" | bc) s"
done
echo PASS
