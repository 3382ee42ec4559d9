/**
 * Child processes for tests that run real programs: output captured, every wait bounded, and
 * every child stopped by the test's teardown (SIGTERM, then SIGKILL if it lingers); scratch
 * directories; a private copy of the build for suites that must not see it rebuilt under them.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root (test/helpers → ../..). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const FIXTURES = path.join(ROOT, 'test/clients/fixtures')

/** The part of a tap Test this module needs. */
export interface Teardown {
  teardown(fn: () => unknown): void
}

export interface Exit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Rejects after `ms` with a message naming what was awaited. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** Polls `check` until it returns a value other than undefined. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, ms = 15_000, every = 250): Promise<T> {
  const deadline = Date.now() + ms
  let last: unknown
  for (;;) {
    try {
      const value = await check()
      if (value !== undefined) return value
    } catch (error) {
      last = error
    }
    if (Date.now() > deadline) throw new Error(`${what}: not true after ${ms} ms${last ? ` (last error: ${String(last)})` : ''}`)
    await sleep(every)
  }
}

/** Temporary directories removed when the test process exits (after every child is stopped). */
const scratch = new Set<string>()
process.once('exit', () => {
  for (const dir of scratch) fs.rmSync(dir, { recursive: true, force: true })
})

export function scratchDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  scratch.add(dir)
  return dir
}

export interface Build {
  /** node <main> starts the server. */
  readonly main: string
  /** node <bin> is the `idp` CLI (bin/idp.js beside the copied dist/). */
  readonly bin: string
}

let build: Promise<Build> | undefined

/**
 * A private copy of dist/ and bin/ (node_modules linked): scripts/build.mjs deletes dist/ before
 * compiling, so another test run rebuilding while a server child starts would otherwise break it.
 */
export function snapshotBuild(): Promise<Build> {
  build ??= (async () => {
    const dist = path.join(ROOT, 'dist')
    const complete = () =>
      ['src/main.js', 'src/cli/bin.js', 'src/http/views/templates'].every((part) => fs.existsSync(path.join(dist, part)))
    const deadline = Date.now() + 90_000
    while (!complete()) {
      if (Date.now() > deadline) throw new Error('dist/ is missing: run "npm run build" (npm test does it first)')
      await sleep(1000)
    }
    const copy = scratchDir('tessera-keys-build-')
    fs.cpSync(dist, path.join(copy, 'dist'), { recursive: true })
    fs.cpSync(path.join(ROOT, 'bin'), path.join(copy, 'bin'), { recursive: true })
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'), 'dir')
    fs.writeFileSync(path.join(copy, 'package.json'), JSON.stringify({ type: 'module' }))
    return { main: path.join(copy, 'dist/src/main.js'), bin: path.join(copy, 'bin/idp.js') }
  })()
  return build
}

export class Child {
  readonly process: ChildProcess
  #stdout = ''
  #stderr = ''
  #exit: Exit | undefined
  /** Set at 'exit', before the output is drained: what exitStatus reports once stop() returns. */
  #exitStatus: Exit | undefined
  readonly #exited: Promise<Exit>
  /** Resolves once the process has exited (or could not be started), its output perhaps not yet all read. */
  readonly #gone: Promise<void>
  readonly #listeners = new Set<() => void>()

  constructor(
    readonly name: string,
    command: string,
    args: readonly string[],
    options: SpawnOptions,
  ) {
    this.process = spawn(command, args, { ...options, stdio: ['pipe', 'pipe', 'pipe'] })
    // A child that exits before reading its input makes the write fail (EPIPE): without a listener
    // that 'error' would end the test process. What the child did is in its exit and output.
    this.process.stdin!.on('error', () => undefined)
    this.#gone = new Promise((resolve) => {
      // The exit status is known at 'exit'; 'close' (below) comes later, once the output is drained.
      this.process.once('exit', (code, signal) => {
        this.#exitStatus ??= { code, signal }
        resolve()
      })
      this.process.once('error', () => {
        if (this.process.pid === undefined) resolve()
      })
    })
    this.process.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      this.#stdout += chunk
      this.#notify()
    })
    this.process.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.#stderr += chunk
      this.#notify()
    })
    this.#exited = new Promise((resolve) => {
      this.process.on('error', (error) => {
        this.#stderr += `spawn error: ${error.message}\n`
        this.#exit ??= { code: null, signal: null }
        this.#notify()
        resolve(this.#exit)
      })
      // 'close' fires after the output streams are drained, so stdout/stderr are complete.
      this.process.on('close', (code, signal) => {
        this.#exit ??= { code, signal }
        this.#notify()
        resolve(this.#exit)
      })
    })
  }

  get stdout(): string {
    return this.#stdout
  }

  get stderr(): string {
    return this.#stderr
  }

  get exitStatus(): Exit | undefined {
    return this.#exit ?? this.#exitStatus
  }

  #notify(): void {
    for (const listener of this.#listeners) listener()
  }

  /** Waits until stdout matches `pattern`; fails early, with the output, if the child exits first. */
  waitForStdout(pattern: RegExp, ms = 15_000): Promise<RegExpExecArray> {
    const wait = new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(this.#stdout)
        if (match) {
          this.#listeners.delete(check)
          resolve(match)
        } else if (this.#exit) {
          this.#listeners.delete(check)
          reject(
            new Error(
              `${this.name} exited (${JSON.stringify(this.#exit)}) before printing ${pattern}\nstdout: ${this.#stdout}\nstderr: ${this.#stderr}`,
            ),
          )
        }
      }
      this.#listeners.add(check)
      check()
    })
    return withTimeout(wait, ms, `${this.name} to print ${pattern} (stderr so far: ${this.#stderr.slice(-500)})`)
  }

  /** Writes `input` to stdin and closes it. */
  send(input: string): void {
    this.process.stdin!.end(input)
  }

  exited(ms = 15_000): Promise<Exit> {
    return withTimeout(this.#exited, ms, `${this.name} to exit`)
  }

  /**
   * SIGTERM, then SIGKILL if it has not exited after `graceMs`; resolves once the process has
   * exited. (Not once its output is closed: a grandchild that inherited the pipes, such as the
   * server's hashing process, may hold them a moment longer, and that is no reason to give up.)
   */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.#exit || this.process.exitCode !== null || this.process.signalCode !== null) return
    this.process.kill('SIGTERM')
    const timer = setTimeout(() => this.process.kill('SIGKILL'), graceMs)
    try {
      await this.#gone
    } finally {
      clearTimeout(timer)
    }
  }
}

export interface StartOptions {
  readonly env?: Readonly<Record<string, string>>
  readonly cwd?: string
  /** Keep the parent's environment (PATH, HOME…) under `env`; true unless told otherwise. */
  readonly inheritEnv?: boolean
}

/** Spawns a child whose teardown is registered on `t`. */
export function startChild(t: Teardown, name: string, command: string, args: readonly string[], options: StartOptions = {}): Child {
  const base = options.inheritEnv === false ? { PATH: process.env['PATH'] ?? '' } : process.env
  const child = new Child(name, command, args, { cwd: options.cwd ?? ROOT, env: { ...base, ...options.env } })
  t.teardown(() => child.stop())
  return child
}

/** Runs a command to completion (bounded) and returns its exit and output. */
export async function runToCompletion(
  t: Teardown,
  name: string,
  command: string,
  args: readonly string[],
  options: StartOptions & { stdin?: string; timeoutMs?: number } = {},
): Promise<{ exit: Exit; stdout: string; stderr: string }> {
  const child = startChild(t, name, command, args, options)
  child.send(options.stdin ?? '')
  const exit = await child.exited(options.timeoutMs ?? 30_000)
  return { exit, stdout: child.stdout, stderr: child.stderr }
}

/**
 * Starts one of the plain-JS fixtures in test/clients/fixtures. Each prints `{"listening":PORT}` as
 * a line on stdout once it accepts connections.
 */
export async function startFixture(
  t: Teardown,
  file: string,
  env: Readonly<Record<string, string>>,
): Promise<{ child: Child; port: number; url: string }> {
  const child = startChild(t, file, process.execPath, [path.join(FIXTURES, file)], { env })
  const match = await child.waitForStdout(/^\{"listening":(\d+)\}$/m, 15_000)
  const port = Number(match[1])
  return { child, port, url: `http://127.0.0.1:${port}` }
}
