/**
 * Shared by the key-lifecycle tests that drive the compiled server and the `idp` CLI as separate
 * processes (from a private copy of the build, helpers/processes.ts): an installation's
 * environment, CLI runs, a server child that is ready once discovery answers, the published kids.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { eventually, scratchDir, sleep, withTimeout } from '../helpers/processes.js'

export interface Install {
  readonly dir: string
  readonly env: Record<string, string>
}

/**
 * A fresh installation directory and the environment shared by its server and CLI. Only the
 * variables named here reach the children: tap's NODE_OPTIONS loaders and any Tessera settings in
 * the outer environment stay out.
 */
export function newInstall(port: number, extra: Record<string, string> = {}): Install {
  const dir = scratchDir('tessera-keys-')
  const env: Record<string, string> = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: process.env['HOME'] ?? dir,
    PORT: String(port),
    HOST: '127.0.0.1',
    ISSUER: `http://127.0.0.1:${port}`,
    DATABASE_URL: `sqlite:${path.join(dir, 'idp.db')}`,
    KEYS_DIR: path.join(dir, 'keys'),
    KEY_REFRESH_INTERVAL: '1s',
    // A next key signs only once published for KEY_REFRESH_INTERVAL + CLOCK_SKEW: 2 s here.
    CLOCK_SKEW: '1s',
    LOG_LEVEL: 'warn',
    NODE_ENV: 'test',
    ...extra,
  }
  return { dir, env }
}

export interface CliRun {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  /** The JSON object on the last line of stdout (every command prints one with --json). */
  readonly json: Record<string, unknown>
}

/** Runs `idp ARGS` to completion (bounded). */
export async function idp(bin: string, args: readonly string[], env: Record<string, string>, stdin = '', ms = 60_000): Promise<CliRun> {
  const child = spawn(process.execPath, [bin, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  child.stdin.end(stdin)
  const code = await withTimeout(
    new Promise<number | null>((resolve) => child.on('close', (exit) => resolve(exit))),
    ms,
    `idp ${args.join(' ')}`,
  ).catch((error: unknown) => {
    child.kill('SIGKILL')
    throw error
  })
  const last = stdout.trim().split('\n').at(-1) ?? ''
  let json: Record<string, unknown> = {}
  try {
    json = JSON.parse(last) as Record<string, unknown>
  } catch {
    // Not a --json run, or it crashed before printing: callers assert on code and stderr.
  }
  return { code, stdout, stderr, json }
}

export interface KeyRow {
  readonly kid: string
  readonly state: string
  readonly alg: string
  readonly created_at: number
  readonly activated_at: number | null
  readonly retires_at: number | null
}

export async function listKeys(bin: string, env: Record<string, string>): Promise<KeyRow[]> {
  const run = await idp(bin, ['keys', 'list', '--json'], env)
  if (run.code !== 0) throw new Error(`idp keys list failed (${run.code}): ${run.stderr}`)
  return run.json['keys'] as KeyRow[]
}

export interface ServerChild {
  readonly process: ChildProcess
  readonly issuer: string
  /** Where this instance listens (equal to the issuer unless instances share one). */
  readonly url: string
  output(): string
  exited(): boolean
}

/** Spawns the compiled server; resolves once discovery answers; stopped by the test's teardown. */
export async function startServer(t: { teardown(fn: () => unknown): void }, main: string, env: Record<string, string>): Promise<ServerChild> {
  const child = spawn(process.execPath, [main], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  let exited = false
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()))
  child.on('exit', () => (exited = true))
  t.teardown(async () => {
    if (exited) return
    child.kill('SIGTERM')
    const stopped = await Promise.race([closed.then(() => true), sleep(10_000).then(() => false)])
    if (!stopped) child.kill('SIGKILL')
  })
  const issuer = env['ISSUER']!
  // Its own address, not the issuer: several instances may share one issuer.
  const url = `http://${env['HOST'] ?? '127.0.0.1'}:${env['PORT']}`
  await eventually(
    'the server answers discovery',
    async () => {
      if (exited) throw new Error(`server exited during startup:\n${output}`)
      const response = await fetch(`${url}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5000) })
      return response.ok ? true : undefined
    },
    60_000,
    200,
  ).catch((error: unknown) => {
    throw new Error(`${String(error)}\nserver output:\n${output}`)
  })
  return { process: child, issuer, url, output: () => output, exited: () => exited }
}

export async function jwksKids(issuer: string): Promise<string[]> {
  const response = await fetch(`${issuer}/.well-known/jwks.json`, { signal: AbortSignal.timeout(10_000) })
  const body = (await response.json()) as { keys: { kid: string }[] }
  return body.keys.map((key) => key.kid)
}
