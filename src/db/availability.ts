/**
 * Is this error the database being unreachable (rather than a bug)? Then the request gets 503
 * with Retry-After — the instance recovers by itself when the database is back — instead of 500.
 */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  // PostgreSQL SQLSTATE class 08 (connection exception) and 57P0x (server shutting down / starting).
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '57P01',
  '57P02',
  '57P03',
  // SQLite: the file is locked longer than the busy timeout, or the disk failed.
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_IOERR',
  'SQLITE_FULL',
  'SQLITE_CANTOPEN',
])

const CONNECTION_MESSAGES =
  /Connection terminated|Query read timeout|timeout exceeded when trying to connect|Client has encountered a connection error|connect ECONNREFUSED|the database system is (starting up|shutting down)/i

export function isDatabaseUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false
  const { code, message, errors } = error as { code?: unknown; message?: unknown; errors?: unknown }
  if (typeof code === 'string' && (CONNECTION_CODES.has(code) || code.startsWith('SQLITE_IOERR'))) return true
  if (typeof message === 'string' && CONNECTION_MESSAGES.test(message)) return true
  // AggregateError from a dual-stack connect: unavailable when every attempt was.
  return Array.isArray(errors) && errors.length > 0 && errors.every(isDatabaseUnavailable)
}
