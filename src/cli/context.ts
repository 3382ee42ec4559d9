import type { Logger } from 'pino'
import { loadConfig, type Config } from '../config/config.js'
import { closeDeps, createDeps, type Deps } from '../deps.js'
import { createLogger } from '../logger.js'
import { SecurityEvents } from '../audit.js'
import { systemClock } from '../clock.js'
import { openStore } from '../db/store.js'
import pino from 'pino'
import type { CommandResult } from './output.js'

/** A user-facing CLI failure: printed as one line, exit code 1. */
export class CliError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'CliError'
  }
}

export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>
  readonly stdout: (line: string) => void
  readonly stderr: (line: string) => void
  readonly readStdin: () => Promise<string>
  /** Width of the terminal help is wrapped to (80 when absent, e.g. when stdout is not a terminal). */
  readonly columns?: number | undefined
}

export interface CommandContext {
  readonly io: CliIo
  readonly config: Config
  /** Opens the full dependency set (database, migrations, keys) for the duration of `use`. */
  withDeps<T>(use: (deps: Deps) => Promise<T>): Promise<T>
  /**
   * Opens only the database (migrated unless `migrate` is false) and its security events, for
   * commands that must not create keys in it (`idp import` into an empty database, `idp backup`).
   */
  withStore<T>(use: (target: StoreContext) => Promise<T>, options?: { readonly migrate?: boolean }): Promise<T>
}

/** What withStore lends: the database's repositories, its security events, the clock and the configuration. */
export type StoreContext = Pick<Deps, 'config' | 'repos' | 'audit' | 'clock'>

/**
 * How a command's action runs its work: with a context made on first use (so help and usage errors
 * need no valid configuration); runCli prints the result.
 */
export type RunCommand = (work: (context: CommandContext) => Promise<CommandResult>) => Promise<void>

/** CLI logs go to stderr at warn level so stdout stays clean for --json consumers. */
function cliLogger(config: Config): Logger {
  return createLogger({ logLevel: config.logLevel === 'info' ? 'warn' : config.logLevel, nodeEnv: config.nodeEnv }, pino.destination(2))
}

export function commandContext(io: CliIo): CommandContext {
  const config = loadConfig(io.env)
  return {
    io,
    config,
    async withDeps(use) {
      const deps = await createDeps(config, { log: cliLogger(config) })
      try {
        return await use(deps)
      } finally {
        await closeDeps(deps)
      }
    },
    async withStore(use, options = {}) {
      const store = await openStore(config.database, { migrate: options.migrate !== false })
      try {
        const audit = new SecurityEvents(store.repos.auditEvents, cliLogger(config), systemClock)
        return await use({ config, repos: store.repos, audit, clock: systemClock })
      } finally {
        await store.close()
      }
    },
  }
}
