// Resident memory of the serving processes, read from /proc (Linux).
import fs from 'node:fs'

export function rssMiB(pid) {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1])
    return Number.isFinite(kb) ? Math.round(kb / 102.4) / 10 : null
  } catch {
    return null
  }
}

export function fileMiB(...files) {
  let bytes = 0
  for (const file of files) {
    try {
      bytes += fs.statSync(file).size
    } catch {
      // -wal and -shm files come and go
    }
  }
  return Math.round(bytes / 104857.6) / 10
}
