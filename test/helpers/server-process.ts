/**
 * The real server process (not a test file): `node dist/src/main.js` in a temporary installation
 * with only the given environment, and the `idp` CLI as a child process with the same
 * environment. Talk to it with the real-HTTP client (http-client.ts).
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { freePort } from './free-port.js'
import { ROOT, runToCompletion, startChild, type Child, type Teardown } from './processes.js'

export const MAIN = path.join(ROOT, 'dist/src/main.js')
export const IDP = path.join(ROOT, 'bin/idp.js')

/** The suites run the compiled server; without dist/ there is nothing to run. */
export function requireBuild(): void {
  if (!fs.existsSync(MAIN)) throw new Error(`${MAIN} is missing: run "npm run build" first`)
}

export interface Installation {
  readonly dir: string
  readonly port: number
  /** ISSUER: http://127.0.0.1:PORT, so mailed links point at the test server. */
  readonly issuer: string
  readonly env: Record<string, string>
}

/** A temporary directory with a database and keys dir, removed by the teardown. */
export async function installation(t: Teardown, env: Record<string, string> = {}): Promise<Installation> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-server-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const port = await freePort()
  const issuer = `http://127.0.0.1:${port}`
  return {
    dir,
    port,
    issuer,
    env: {
      PORT: String(port),
      HOST: '127.0.0.1',
      ISSUER: issuer,
      DATABASE_URL: `sqlite:${path.join(dir, 'idp.db')}`,
      KEYS_DIR: path.join(dir, 'keys'),
      ...env,
    },
  }
}

/** Starts the server with nothing but PATH and the installation's environment. */
export function startServer(t: Teardown, install: Pick<Installation, 'dir' | 'env'>, env: Record<string, string> = install.env): Child {
  return startChild(t, 'tessera', process.execPath, [MAIN], { cwd: install.dir, env, inheritEnv: false })
}

/** Polls /healthz on its port until it answers 200 (bounded); fails early with the output if the process exits. */
export async function waitHealthy(server: Child, install: Pick<Installation, 'port'>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms
  for (;;) {
    if (server.exitStatus)
      throw new Error(
        `server exited ${JSON.stringify(server.exitStatus)} before becoming healthy\nstderr: ${server.stderr}\nstdout: ${server.stdout.slice(-2000)}`,
      )
    try {
      const response = await fetch(`http://127.0.0.1:${install.port}/healthz`, { signal: AbortSignal.timeout(2_000) })
      await response.body?.cancel()
      if (response.status === 200) return
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline)
      throw new Error(`server not healthy after ${ms} ms\nstderr: ${server.stderr}\nstdout: ${server.stdout.slice(-2000)}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

export interface CliRun {
  /** The JSON object of the last stdout line (every command runs with --json). */
  readonly json: Record<string, unknown>
  readonly stdout: string
  readonly stderr: string
}

/** `idp … --json` with the installation's environment (or `env`); fails on a non-zero exit. */
export async function idp(
  t: Teardown,
  install: Pick<Installation, 'dir' | 'env'>,
  args: readonly string[],
  options: { stdin?: string; env?: Record<string, string> } = {},
): Promise<CliRun> {
  const { exit, stdout, stderr } = await runToCompletion(
    t,
    `idp ${args.slice(0, 2).join(' ')}`,
    process.execPath,
    [IDP, ...args, '--json'],
    {
      cwd: install.dir,
      env: options.env ?? install.env,
      inheritEnv: false,
      stdin: options.stdin ?? '',
      timeoutMs: 60_000,
    },
  )
  if (exit.code !== 0) throw new Error(`idp ${args.join(' ')} exited ${JSON.stringify(exit)}\nstderr: ${stderr}\nstdout: ${stdout}`)
  const lines = stdout.trimEnd().split('\n')
  return { json: JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>, stdout, stderr }
}
