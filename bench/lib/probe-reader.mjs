// Reads the figures bench/lib/loop-probe.cjs keeps inside a server process: `start()` before a
// run, `read()` after it (each sends SIGUSR2 and waits for the probe's answer in its file).
import fs from 'node:fs'

export const PROBE = new URL('./loop-probe.cjs', import.meta.url).pathname

export function probeOf(pid, file) {
  let sequence = 0
  const snapshot = async () => {
    process.kill(pid, 'SIGUSR2')
    const deadline = Date.now() + 5000
    for (;;) {
      const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : ''
      const parsed = text ? JSON.parse(text) : undefined
      if (parsed && parsed.sequence > sequence) {
        sequence = parsed.sequence
        return parsed
      }
      if (Date.now() > deadline) throw new Error(`the server's loop probe did not answer (${file})`)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }
  return { start: () => snapshot().then(() => undefined), read: snapshot }
}
