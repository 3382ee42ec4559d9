/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): the secret is `whsec_` and the
 * base64 of random bytes; each attempt is signed with HMAC-SHA256 over `id.timestamp.body` and sent
 * as `webhook-signature: v1,<base64>`, beside `webhook-id` (the same for every attempt of a
 * message, so receivers can drop duplicates) and `webhook-timestamp` (epoch seconds of the attempt,
 * so receivers can refuse replays). Pure.
 */
import { createHmac, randomBytes } from 'node:crypto'

const PREFIX = 'whsec_'

/** A new signing secret: 256 random bits. */
export function newWebhookSecret(): string {
  return `${PREFIX}${randomBytes(32).toString('base64')}`
}

/** The HMAC key inside a `whsec_…` secret. */
function secretKey(secret: string): Buffer {
  if (!secret.startsWith(PREFIX)) throw new TypeError('a webhook secret starts with whsec_')
  const key = Buffer.from(secret.slice(PREFIX.length), 'base64')
  if (key.length < 24) throw new TypeError('a webhook secret holds at least 24 bytes')
  return key
}

export interface SignedMessage {
  /** The message id: the same for every attempt. */
  readonly id: string
  /** Epoch seconds of this attempt. */
  readonly timestamp: number
  /** The exact bytes sent. */
  readonly body: string
}

/** `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`. */
export function webhookSignature(secret: string, message: SignedMessage): string {
  const mac = createHmac('sha256', secretKey(secret)).update(`${message.id}.${message.timestamp}.${message.body}`, 'utf8').digest('base64')
  return `v1,${mac}`
}

/** The three Standard Webhooks headers of one attempt. */
export function webhookHeaders(secret: string, message: SignedMessage): Record<string, string> {
  return {
    'webhook-id': message.id,
    'webhook-timestamp': String(message.timestamp),
    'webhook-signature': webhookSignature(secret, message),
  }
}
