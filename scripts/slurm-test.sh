#!/usr/bin/env bash
# A real Slurm run of a sharded sgdlab ensemble on this machine: installs slurm-wlm and
# munge (as root, with apt), starts a single-node cluster (slurmctld + slurmd, the node's real
# CPUs and memory), submits an escape ensemble as a job array (each task reads its shard
# from SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT and writes its own store), merges the
# shard stores, reruns the command on the merged store (which computes nothing), and checks
# that the result equals an unsharded run's, record for record and rate for rate.
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

CMD=(escape --model linear --data gauss:N=10000,d=1 --eta 0.1 --batch 1 --sampling replacement --exit loss:c=1.5,2
  --runs "$RUNS" --seed 7 --workers 1 --quiet --json)
start=$(date +%s.%N)
JOB=$(sbatch --parsable --array=0-$((TASKS - 1)) --cpus-per-task=1 --output="$WORK/task-%a.log" \
  --wrap "\"$WORK/sgdlab\" ${CMD[*]} --store \"$WORK/shard\$SLURM_ARRAY_TASK_ID.db\" > \"$WORK/shard\$SLURM_ARRAY_TASK_ID.json\"")
echo "submitted job array $JOB ($TASKS tasks, $RUNS runs)"
while squeue -h -j "$JOB" 2>/dev/null | grep -q .; do sleep 1; done
array=$(echo "$(date +%s.%N) - $start" | bc)
sacct -j "$JOB" -X -n -o JobID,State,ExitCode,Elapsed 2>/dev/null || true
for i in $(seq 0 $((TASKS - 1))); do
  grep -q '"shard": "'"$i/$TASKS"'"' "$WORK/shard$i.json" || { echo "task $i did not run shard $i/$TASKS"; cat "$WORK/task-$i.log"; exit 1; }
done
"$WORK/sgdlab" merge "$WORK/merged.db" "$WORK"/shard*.db
"$WORK/sgdlab" "${CMD[@]}" --store "$WORK/merged.db" > "$WORK/merged.json"
start=$(date +%s.%N)
"$WORK/sgdlab" "${CMD[@]}" --workers 0 > "$WORK/single.json"
single=$(echo "$(date +%s.%N) - $start" | bc)
python3 - "$WORK/merged.json" "$WORK/single.json" <<'PY'
import json, sys
m, s = (json.load(open(p)) for p in sys.argv[1:3])
assert m["trajectories"]["computed"] == 0, "the merged store should hold every run"
for a, b in zip(m["rates"], s["rates"]):
    for k in ("level", "escaped", "censored", "rate", "mfpt"):
        assert a[k] == b[k], (k, a[k], b[k])
print("merged shards equal the unsharded run at every level:",
      ", ".join(f'c={r["level"]}: MFPT {r["mfpt"]:.5g} t' for r in m["rates"]))
PY
echo "job array of $TASKS tasks: ${array}s wall; the same ensemble unsharded on $(nproc) workers: ${single}s"
echo PASS
