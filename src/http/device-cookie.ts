/**
 * Device cookies (OWASP "Slow Down Online Guessing Attacks with Device Cookies"): after a
 * successful sign-in the browser keeps a signed, HttpOnly cookie naming the accounts it signed in
 * to. Failed logins from that browser for those accounts are counted against the browser alone,
 * so an attacker failing elsewhere can never lock its owner out (throttle/rules.ts). The cookie
 * proves only "this browser signed in to this account before"; it never signs anyone in.
 *
 * Value: `v1~DEVICE_ID~TAG.TAG…`, signed by @fastify/cookie (HMAC-SHA256 under a key derived from
 * the key-encryption key, so every instance accepts it). A tag is a short hash of the canonical
 * email, so the cookie carries no address in the clear.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import { normaliseEmail } from '../accounts/email-address.js'
import { hashSecret, randomId } from '../secrets.js'

const COOKIE = { https: '__Host-tessera_device', http: 'tessera_device' } as const
/** A browser unused for half a year starts again as an unknown one. */
const LIFETIME_SECONDS = 180 * 86400
/** Most recent accounts first; a shared family computer rarely has more. */
const MAX_ACCOUNTS = 10
const FORMAT = /^v1~([A-Za-z0-9_-]{16,43})~([A-Za-z0-9_.-]{0,400})$/

export interface DeviceCookie {
  readonly deviceId: string
  readonly tags: readonly string[]
}

const accountTag = (email: string): string => hashSecret(`device-cookie:${normaliseEmail(email)}`).slice(0, 22)

/** The browser's device cookie when it carries a valid signature; undefined otherwise. */
export function readDeviceCookie(request: FastifyRequest, https: boolean): DeviceCookie | undefined {
  const raw = request.cookies[https ? COOKIE.https : COOKIE.http]
  if (raw === undefined || raw.length > 1000) return undefined
  const unsigned = request.unsignCookie(raw)
  const match = unsigned.valid && unsigned.value !== null ? FORMAT.exec(unsigned.value) : null
  if (!match) return undefined
  return { deviceId: match[1]!, tags: match[2] === '' ? [] : match[2]!.split('.') }
}

/** The device id when this browser signed in to the account of `email` before; else null. */
export function trustedDeviceFor(device: DeviceCookie | undefined, email: string): string | null {
  return device !== undefined && device.tags.includes(accountTag(email)) ? device.deviceId : null
}

/** After a successful sign-in: add (or move to the front) the account, keep the device id. */
export function rememberDevice(reply: FastifyReply, https: boolean, device: DeviceCookie | undefined, email: string): void {
  const tag = accountTag(email)
  const tags = [tag, ...(device?.tags ?? []).filter((other) => other !== tag)].slice(0, MAX_ACCOUNTS)
  const value = `v1~${device?.deviceId ?? randomId()}~${tags.join('.')}`
  reply.setCookie(https ? COOKIE.https : COOKIE.http, value, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: https,
    maxAge: LIFETIME_SECONDS,
    signed: true,
  })
}
