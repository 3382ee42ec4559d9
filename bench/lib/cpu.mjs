// CPU time of processes on this machine, from /proc: what each part of a run (the servers, the
// database, the balancer, the load generator) spent per request.
import fs from 'node:fs'

const TICKS = 100 // USER_HZ on Linux

function processTable() {
  const table = new Map()
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      // Fields after the command (which may hold spaces) start at the last ')'.
      const text = fs.readFileSync(`/proc/${entry}/stat`, 'utf8')
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
      // utime + stime, and cutime + cstime: what its exited children used.
      const cpu = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])
      table.set(Number(entry), { ppid: Number(fields[1]), cpu })
    } catch {
      // The process exited while being read.
    }
  }
  return table
}

/** CPU seconds of each process in `roots` and all its living descendants (a server's hashing process, cluster workers, database backends). */
export function treeCpuSeconds(roots) {
  const table = processTable()
  let ticks = 0
  const visit = (pid) => {
    ticks += table.get(pid)?.cpu ?? 0
    for (const [child, stat] of table) if (stat.ppid === pid) visit(child)
  }
  for (const pid of roots) visit(pid)
  return ticks / TICKS
}

/** CPU seconds of this process (the load generator: autocannon runs here). */
export function ownCpuSeconds() {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1e6
}
