// CPU time of processes on this machine, from /proc: what each part of a run (the servers, the
// database, the balancer, the load generator) spent per request.
import fs from 'node:fs'

const TICKS = 100 // USER_HZ on Linux

/** Every process: its parent, its own CPU ticks (utime + stime) and those of its exited children (cutime + cstime). */
function processTable() {
  const table = new Map()
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      // Fields after the command (which may hold spaces) start at the last ')'.
      const text = fs.readFileSync(`/proc/${entry}/stat`, 'utf8')
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
      table.set(Number(entry), {
        ppid: Number(fields[1]),
        own: Number(fields[11]) + Number(fields[12]),
        reaped: Number(fields[13]) + Number(fields[14]),
      })
    } catch {
      // The process exited while being read.
    }
  }
  return table
}

/** The living descendants of `pid` in `table`. */
function descendants(table, pid) {
  const found = []
  const visit = (parent) => {
    for (const [child, stat] of table)
      if (stat.ppid === parent) {
        found.push(child)
        visit(child)
      }
  }
  visit(pid)
  return found
}

/** CPU seconds of each process in `roots` and all its living descendants (a server's hashing process, cluster workers, database backends), with what their exited children used. */
export function treeCpuSeconds(roots) {
  const table = processTable()
  let ticks = 0
  for (const root of roots)
    for (const pid of [root, ...descendants(table, root)]) ticks += (table.get(pid)?.own ?? 0) + (table.get(pid)?.reaped ?? 0)
  return ticks / TICKS
}

/** CPU seconds of the living processes below `pid` (not `pid` itself: its own time is counted elsewhere). */
export function descendantsCpuSeconds(pid) {
  const table = processTable()
  return descendants(table, pid).reduce((ticks, child) => ticks + table.get(child).own, 0) / TICKS
}

/** CPU seconds of the living processes whose command line `matches`. */
export function cpuSecondsWhere(matches) {
  let ticks = 0
  for (const [pid, stat] of processTable()) {
    try {
      if (matches(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' '))) ticks += stat.own
    } catch {
      // The process exited while being read.
    }
  }
  return ticks / TICKS
}

/** CPU seconds of this process (the load generator: autocannon runs here). */
export function ownCpuSeconds() {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1e6
}
