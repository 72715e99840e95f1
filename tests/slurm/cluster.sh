#!/usr/bin/env bash
# A real single-node SLURM on this machine, for tox -e slurm: munged, slurmctld and slurmd, all under DIR.
#
#   cluster.sh run DIR -- COMMAND...   start, run COMMAND with SLURM_CONF set, stop (also on failure or a signal)
#   cluster.sh start DIR | stop DIR    the two halves (stop ends only the daemons whose pid files are in DIR)
#
# Installs Debian's slurm-wlm and munge with apt-get when slurmctld is absent (needs root, as on the CI machines).
# slurm.conf: this host only, 2 CPUs, no accounting database, processes tracked by lineage (no cgroups needed),
# ports 16817/16818 so that a system SLURM, if any, is left alone.
set -euo pipefail

CPUS=${GNN1000_SLURM_CPUS:-2}
MEMORY_MB=${GNN1000_SLURM_MEMORY_MB:-4096}

install_when_absent() {
    if command -v slurmctld >/dev/null && command -v munged >/dev/null; then return; fi
    echo "cluster.sh: installing slurm-wlm and munge (apt-get)" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
}

write_config() {
    local dir=$1 host
    host=$(hostname -s)
    mkdir -p "$dir"/{state,spool,munge,log}
    chmod 700 "$dir/munge"
    cat >"$dir/slurm.conf" <<EOF
ClusterName=gnn1000-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=16817
SlurmdPort=16818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
KillWait=5
MinJobAge=60
SchedulerParameters=sched_interval=2
NodeName=$host NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEMORY_MB State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
}

start() {
    local dir
    dir=$(mkdir -p "$1" && cd "$1" && pwd)
    install_when_absent
    stop "$dir" 2>/dev/null || true
    write_config "$dir"
    export SLURM_CONF=$dir/slurm.conf
    if [ ! -f "$dir/munge/munge.key" ]; then
        dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
        chmod 400 "$dir/munge/munge.key"
    fi
    munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
        --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" --seed-file="$dir/munge/munge.seed"
    slurmctld -f "$SLURM_CONF"
    slurmd -f "$SLURM_CONF"
    for _ in $(seq 60); do  # the node is idle once slurmd has registered with slurmctld
        if sinfo --noheader --format=%t 2>/dev/null | grep -qx idle; then
            echo "cluster.sh: SLURM up on $(hostname -s) with $CPUS CPUs (SLURM_CONF=$SLURM_CONF)" >&2
            return 0
        fi
        sleep 1
    done
    echo "cluster.sh: the node did not come up in 60 s; logs in $dir/log" >&2
    tail -n 5 "$dir"/log/*.log >&2 || true
    return 1
}

stop() {
    local dir=$1 pidfile pid
    for pidfile in "$dir/slurmd.pid" "$dir/slurmctld.pid" "$dir/munge/munged.pid"; do
        [ -f "$pidfile" ] || continue
        pid=$(cat "$pidfile")
        if kill "$pid" 2>/dev/null; then
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -9 "$pid" 2>/dev/null || true
        fi
        rm -f "$pidfile"
    done
}

case ${1:-} in
    start) start "$2" ;;
    stop) stop "$2" ;;
    run)
        dir=$(mkdir -p "$2" && cd "$2" && pwd)
        [ "${3:-}" = "--" ] || { echo "usage: cluster.sh run DIR -- COMMAND..." >&2; exit 2; }
        shift 3
        trap 'stop "$dir"' EXIT
        trap 'exit 130' INT TERM
        start "$dir"
        SLURM_CONF=$dir/slurm.conf "$@"
        ;;
    *) echo "usage: cluster.sh {run DIR -- COMMAND...|start DIR|stop DIR}" >&2; exit 2 ;;
esac
