/** The `idp` CLI in-process, against a test app's database and keys (or any environment). */
import path from 'node:path'
import { runCli } from '../../src/cli/main.js'
import type { TestApp } from './test-app.js'

export interface CliRun {
  readonly code: number
  readonly stdout: string[]
  readonly stderr: string[]
  /** The last stdout line parsed (what --json prints); {} when it is not JSON. */
  readonly json: Record<string, unknown>
}

export type Cli = (argv: readonly string[], stdin?: string) => Promise<CliRun>

export function cliWith(env: Readonly<Record<string, string>>): Cli {
  return async (argv, stdin = '') => {
    const stdout: string[] = []
    const stderr: string[] = []
    const code = await runCli(argv, {
      env: { LOG_LEVEL: 'silent', ...env },
      stdout: (line) => stdout.push(line),
      stderr: (line) => stderr.push(line),
      readStdin: async () => stdin,
    })
    let json: Record<string, unknown> = {}
    try {
      json = JSON.parse(stdout.at(-1) ?? '{}') as Record<string, unknown>
    } catch {
      // Text output: json stays empty.
    }
    return { code, stdout, stderr, json }
  }
}

/** The CLI on a test app's database and keys, with its issuer (and any extra environment). */
export const cliFor = (ctx: TestApp, env: Readonly<Record<string, string>> = {}): Cli =>
  cliWith({ DATABASE_URL: ctx.databaseUrl, KEYS_DIR: path.join(ctx.dir, 'keys'), ISSUER: ctx.issuer, ...env })
