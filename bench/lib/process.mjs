// Child processes for the benchmark: servers started with `node`, waited for, stopped with SIGTERM.
import { spawn, execFile } from 'node:child_process'
import net from 'node:net'
import { promisify } from 'node:util'

const run = promisify(execFile)

/**
 * Starts a Node script and resolves once `ready(line)` matches a line of its stdout, or once
 * `readyUrl` answers 200.
 */
export function startNode(script, { args = [], env = {}, ready = () => false, readyUrl, timeoutMs = 60_000, nodeArgs = [] }) {
  const child = spawn(process.execPath, [...nodeArgs, script, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-4000)
  })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not become ready in ${timeoutMs} ms: ${stderr}`)), timeoutMs)
    let buffered = ''
    const onData = (chunk) => {
      buffered += chunk
      const lines = buffered.split('\n')
      buffered = lines.pop()
      for (const line of lines) {
        if (ready(line)) {
          clearTimeout(timer)
          // Keep draining stdout so a chatty server never blocks on a full pipe.
          child.stdout.off('data', onData)
          child.stdout.resume()
          resolve(child)
          return
        }
      }
    }
    child.stdout.on('data', onData)
    if (readyUrl) {
      const poll = async () => {
        if (child.exitCode !== null) return
        const ok = await fetch(readyUrl).then(
          (response) => response.ok,
          () => false,
        )
        if (!ok) return void setTimeout(poll, 100)
        clearTimeout(timer)
        child.stdout.off('data', onData)
        child.stdout.resume()
        resolve(child)
      }
      void poll()
    }
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${script} exited with ${code} before it was ready: ${stderr}`))
    })
  })
}

/** SIGTERM, then SIGKILL if it has not exited within the grace period. */
export async function stopProcess(child, graceMs = 30_000) {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(timer)
}

/** Runs a Node script to completion and returns its stdout; `timeoutMs` (without `input`): killed and rejected after that long. */
export async function runNode(script, args, { env = {}, input, timeoutMs = 0 } = {}) {
  if (input === undefined)
    return (
      await run(process.execPath, [script, ...args], {
        env: { ...process.env, ...env },
        maxBuffer: 16 << 20,
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
      })
    ).stdout
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (chunk) => (out += chunk))
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${script} ${args.join(' ')} exited with ${code}`))))
    child.stdin.end(input)
  })
}

/** Processes whose parent is `pid` (cluster workers), from /proc. */
export async function childPids(pid) {
  try {
    const { stdout } = await run('ps', ['-o', 'pid=', '--ppid', String(pid)])
    return stdout
      .split('\n')
      .map((s) => Number(s.trim()))
      .filter((n) => n > 0)
  } catch {
    return []
  }
}

/** A TCP port free on 127.0.0.1 right now (the kernel picks it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
    server.once('error', reject)
  })
}
