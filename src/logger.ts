import { createRequire } from 'node:module'
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

/**
 * Where pino-pretty is, when the logs should go through it: on a terminal outside production, and
 * only if it resolves — it is a devDependency, absent after `npm ci --omit=dev`, and a terminal
 * must not stop a production install from starting. Otherwise undefined: JSON lines.
 */
export function prettyTarget(terminal: boolean, nodeEnv: Config['nodeEnv'] | undefined, resolve: () => string): string | undefined {
  if (!terminal || nodeEnv === 'production') return undefined
  try {
    return resolve()
  } catch {
    return undefined
  }
}

const require = createRequire(import.meta.url)
const resolvePinoPretty = () => require.resolve('pino-pretty')

/**
 * The process logger. JSON lines by default (what log collectors want); on a terminal outside
 * production (`terminal: true`) pino-pretty, when installed, makes them readable — redaction
 * happens before either.
 */
export function createLogger(
  config: Pick<Config, 'logLevel'> & Partial<Pick<Config, 'nodeEnv'>>,
  destination?: pino.DestinationStream,
  options: { terminal?: boolean } = {},
): Logger {
  const pretty = destination === undefined ? prettyTarget(options.terminal === true, config.nodeEnv, resolvePinoPretty) : undefined
  const target =
    pretty === undefined
      ? destination
      : pino.transport({ target: pretty, options: { colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' } })
  return pino({ level: config.logLevel, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, target)
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const

interface LazyState {
  bindings: pino.Bindings
  options: pino.ChildLoggerOptions | undefined
  child: Logger | undefined
}

const STATE = Symbol('lazy child logger state')
type LazyLogger = Logger & { [STATE]: LazyState }

/** One prototype per parent logger: the per-request object then holds only its own state. */
const prototypes = new WeakMap<Logger, object>()

function lazyPrototype(parent: Logger): object {
  let proto = prototypes.get(parent)
  if (proto) return proto
  const real = (self: LazyLogger): Logger => {
    const state = self[STATE]
    return (state.child ??= state.options ? parent.child(state.bindings, state.options) : parent.child(state.bindings))
  }
  proto = Object.create(parent) as object
  for (const level of LEVELS) {
    Object.defineProperty(proto, level, {
      value(this: LazyLogger, ...args: unknown[]) {
        if (parent.isLevelEnabled(level)) (real(this)[level] as (...a: unknown[]) => void)(...args)
      },
    })
  }
  Object.defineProperty(proto, 'child', {
    value(this: LazyLogger, more: pino.Bindings, moreOptions?: pino.ChildLoggerOptions) {
      return real(this).child(more, moreOptions)
    },
  })
  Object.defineProperty(proto, 'bindings', {
    value(this: LazyLogger) {
      return real(this).bindings()
    },
  })
  prototypes.set(parent, proto)
  return proto
}

/**
 * Fastify binds a child logger to every request (for its id); with redaction configured, pino runs
 * the redaction over those bindings for each child. Most requests never log below `info`, so the
 * child is made on first use: this object inherits from the parent (through a prototype made once
 * per parent) and creates the child when a method at an enabled level is called.
 */
export function lazyChildLogger(parent: Logger, bindings: pino.Bindings, options?: pino.ChildLoggerOptions): Logger {
  const lazy = Object.create(lazyPrototype(parent)) as LazyLogger
  lazy[STATE] = { bindings, options, child: undefined }
  return lazy
}
