import pino, { type Logger } from 'pino'
import type { Config } from './config/config.js'

/** Paths that may hold secrets; pino replaces them before anything is written. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.password',
  '*.client_secret',
  '*.code_verifier',
  '*.refresh_token',
  '*.access_token',
  '*.id_token',
  '*.id_token_hint',
  '*.token',
  '*._csrf',
  // Node's HTTP parse errors carry the raw request bytes (cookies, Authorization) in rawPacket.
  '*.rawPacket',
]

export function createLogger(config: Pick<Config, 'logLevel'>, destination?: pino.DestinationStream): Logger {
  return pino({ level: config.logLevel, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, destination)
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const

/**
 * Fastify binds a child logger to every request (for its id); with redaction configured, pino runs
 * the redaction over those bindings for each child. Most requests never log below `info`, so the
 * child is made on first use: this object inherits from the parent and creates it when a method at
 * an enabled level is called.
 */
export function lazyChildLogger(parent: Logger, bindings: pino.Bindings, options?: pino.ChildLoggerOptions): Logger {
  let child: Logger | undefined
  const real = () => (child ??= options ? parent.child(bindings, options) : parent.child(bindings))
  const lazy = Object.create(parent) as Logger
  for (const level of LEVELS) {
    Object.defineProperty(lazy, level, {
      value: (...args: unknown[]) => {
        if (parent.isLevelEnabled(level)) (real()[level] as (...a: unknown[]) => void)(...args)
      },
    })
  }
  Object.defineProperty(lazy, 'child', { value: (more: pino.Bindings, moreOptions?: pino.ChildLoggerOptions) => real().child(more, moreOptions) })
  Object.defineProperty(lazy, 'bindings', { value: () => real().bindings() })
  return lazy
}
