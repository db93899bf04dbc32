"""CPU seconds and memory from /proc: the whole machine's, and a process's (with its pool)."""

import os

CLK_TCK = os.sysconf("SC_CLK_TCK")


def machine_cpu():
    """CPU seconds the whole machine has been busy (every core, all but idle and iowait), from /proc/stat."""
    with open("/proc/stat") as fh:
        fields = [int(v) for v in fh.readline().split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / CLK_TCK


def proc_cpu(pid, children=()):
    """CPU seconds (user + system) of `pid` (with its reaped children) and of live `children`."""
    total = 0
    for p, with_reaped in [(pid, True), *((c, False) for c in children)]:
        try:
            with open(f"/proc/{p}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks = int(fields[11]) + int(fields[12])  # utime, stime
        if with_reaped:
            ticks += int(fields[13]) + int(fields[14])  # cutime, cstime: recycled pool processes
        total += ticks
    return total / CLK_TCK


def proc_rss_kib(pid, children=()):
    """Resident memory (KiB) of `pid` and of its live `children` (a prefork pool), from /proc/PID/status."""
    total = 0
    for p in (pid, *children):
        try:
            with open(f"/proc/{p}/status") as fh:
                total += next((int(line.split()[1]) for line in fh if line.startswith("VmRSS:")), 0)
        except OSError:
            continue
    return total
