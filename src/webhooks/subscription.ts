/**
 * What a webhook may be: where it goes and which events it takes. Pure; the registry applies it
 * and words nothing else. A subscription is an event type (`user.created`), every event of a
 * category (`user.*`) or every event (`*`).
 */
import { checkWebUrl, isLocalIssuer } from '../oauth/web-url.js'
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from './catalogue.js'

const CATEGORIES: ReadonlySet<string> = new Set(WEBHOOK_EVENT_TYPES.map((type) => type.slice(0, type.indexOf('.'))))

/**
 * https; plain http only on a loopback host and only while Tessera's own issuer is on localhost
 * (development); no fragment, no credentials (they would be shown by `idp webhooks list` and logged).
 */
export function webhookUrlProblem(value: string, issuer: string): string | null {
  const local = isLocalIssuer(issuer)
  const { url, problem } = checkWebUrl(value, { loopbackHttp: local })
  if (problem === 'not_absolute') return `--url ${value} is not an absolute URL`
  if (url === null)
    return local
      ? `--url ${value} must be https (http only on localhost, 127.0.0.1 or [::1])`
      : `--url ${value} must be https (http only on a loopback host while ISSUER is on localhost)`
  if (url.hash !== '' || value.includes('#')) return `--url ${value} must not contain a fragment`
  if (url.username !== '' || url.password !== '') return `--url must not contain credentials`
  return null
}

/** Why `pattern` is not an event type, a category with `.*`, or `*`; null when it is one. */
export function eventPatternProblem(pattern: string): string | null {
  if (pattern === '*' || (WEBHOOK_EVENT_TYPES as readonly string[]).includes(pattern)) return null
  if (pattern.endsWith('.*') && CATEGORIES.has(pattern.slice(0, -2))) return null
  return `unknown event ${pattern} (events: ${WEBHOOK_EVENT_TYPES.join(', ')}; or ${[...CATEGORIES].map((c) => `${c}.*`).join(', ')}, or *)`
}

/** Does a webhook subscribed to `patterns` take events of `type`? */
export function subscribes(patterns: readonly string[], type: WebhookEventType): boolean {
  return patterns.some(
    (pattern) => pattern === '*' || pattern === type || (pattern.endsWith('.*') && type.startsWith(pattern.slice(0, -1))),
  )
}
