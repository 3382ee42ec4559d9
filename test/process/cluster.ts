/**
 * Several real Tessera processes sharing one database and one KEYS_DIR, as behind a load balancer
 * (not a test file): each listens on its own loopback port, all share one ISSUER. The children get
 * only the environment given here (no tap loaders, no outer Tessera settings). The caller stops
 * them (`stopAll`) so it controls the order of teardown (processes before their database).
 */
import { Child, withTimeout } from '../helpers/processes.js'

export interface Instance {
  readonly name: string
  /** Where this instance listens (not the issuer, which all instances share). */
  readonly url: string
  readonly port: number
  readonly child: Child
}

/** Spawns `node main` with exactly `env` plus PORT; does not wait. */
export function spawnInstance(name: string, main: string, env: Record<string, string>, port: number, cwd: string): Instance {
  const child = new Child(name, process.execPath, [main], { cwd, env: { ...env, PORT: String(port), HOST: '127.0.0.1' } })
  child.process.stdin?.end()
  return { name, url: `http://127.0.0.1:${port}`, port, child }
}

/** Polls /healthz until it answers 200; fails early, with the output, when the process exits. */
export async function waitServing(instance: Instance, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms
  for (;;) {
    if (instance.child.exitStatus)
      throw new Error(`${instance.name} exited ${JSON.stringify(instance.child.exitStatus)} during startup\n${output(instance)}`)
    try {
      const response = await fetch(`${instance.url}/healthz`, { signal: AbortSignal.timeout(2_000) })
      await response.body?.cancel()
      if (response.status === 200) return
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${instance.name} not serving after ${ms} ms\n${output(instance)}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

export function output(instance: Instance): string {
  return `stdout: ${instance.child.stdout.slice(-3000)}\nstderr: ${instance.child.stderr.slice(-3000)}`
}

/** The JSON log lines of an instance at `level` or above (pino: 40 warn, 50 error, 60 fatal). */
export function logLines(instance: Instance, minLevel: number): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = []
  for (const line of instance.child.stdout.split('\n')) {
    if (!line.startsWith('{')) continue
    try {
      const entry = JSON.parse(line) as Record<string, unknown>
      if (typeof entry['level'] === 'number' && entry['level'] >= minLevel) lines.push(entry)
    } catch {
      // a partial line at the end of the buffer
    }
  }
  return lines
}

export async function stopAll(instances: readonly Instance[]): Promise<void> {
  await Promise.all(instances.map((instance) => instance.child.stop(10_000)))
}

export interface CliRun {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  /** The JSON object on the last line of stdout (undefined if there is none). */
  readonly json: Record<string, unknown> | undefined
}

/** `node bin ARGS --json` with exactly `env`, bounded; never throws on a non-zero exit. */
export async function runIdp(bin: string, args: readonly string[], env: Record<string, string>, cwd: string, stdin = ''): Promise<CliRun> {
  const child = new Child(`idp ${args.slice(0, 2).join(' ')}`, process.execPath, [bin, ...args, '--json'], { cwd, env })
  child.send(stdin)
  try {
    await withTimeout(child.exited(60_000), 61_000, `idp ${args.join(' ')}`)
  } catch (error) {
    await child.stop(1_000)
    throw error
  }
  const last = child.stdout.trim().split('\n').at(-1) ?? ''
  let json: Record<string, unknown> | undefined
  try {
    json = JSON.parse(last) as Record<string, unknown>
  } catch {
    json = undefined
  }
  return { code: child.exitStatus?.code ?? null, stdout: child.stdout, stderr: child.stderr, json }
}

/** Like runIdp, but a non-zero exit or a missing JSON answer is an error carrying the output. */
export async function idpJson(
  bin: string,
  args: readonly string[],
  env: Record<string, string>,
  cwd: string,
  stdin = '',
): Promise<Record<string, unknown>> {
  const run = await runIdp(bin, args, env, cwd, stdin)
  if (run.code !== 0 || run.json === undefined)
    throw new Error(`idp ${args.join(' ')} exited ${run.code}\nstderr: ${run.stderr}\nstdout: ${run.stdout}`)
  return run.json
}
